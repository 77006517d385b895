'use strict'
// Runs `members` KafkaJS consumers in one group until they have received `expect` messages between them.
// Spec: {brokers, groupId, topics, members, fromBeginning, expect, timeoutMs, consumer: {...options},
// produce: {topic, messages} (sent once every member holds a share of `partitions` partitions, no two the same),
// describeGroup: true (the admin client describes the group before the members leave)}.
// Result: {members: [{assignment, messages: [{topic, partition, offset, key, value, headers}]}], timedOut,
// group: {state, protocol, members: [{memberId, clientHost, assignment}]}, crash, versions}; `crash` is the error
// that stopped a consumer (KafkaJS's CRASH event), which ends the run early.
// Offsets are committed by KafkaJS's auto-commit (after each batch) and on disconnect.

const { AssignerProtocol, Partitioners } = require('kafkajs')
const { kafka, recordVersions, describeError, main } = require('./common')

const text = buffer => (buffer === null || buffer === undefined ? null : buffer.toString('utf8'))

function balanced(members, partitions) {
  const owned = new Set()
  for (const member of members) {
    const pairs = Object.entries(member.assignment || {}).flatMap(([t, ps]) => ps.map(p => `${t}/${p}`))
    if (pairs.length === 0) return false
    for (const pair of pairs) {
      if (owned.has(pair)) return false
      owned.add(pair)
    }
  }
  return owned.size === partitions
}

const until = (condition, deadline) =>
  new Promise(resolve => {
    const check = () => (condition() || Date.now() > deadline ? resolve(condition()) : setTimeout(check, 50))
    check()
  })

main(async spec => {
  const versions = {}
  const client = kafka(spec)
  const deadline = Date.now() + (spec.timeoutMs || 30000)
  const members = []
  let received = 0
  let crash = null
  for (let i = 0; i < (spec.members || 1); i++) {
    const consumer = client.consumer({
      groupId: spec.groupId,
      sessionTimeout: 6000,
      heartbeatInterval: 300,
      rebalanceTimeout: 10000,
      maxWaitTimeInMs: 500, // a stopping consumer waits for its long poll to end
      ...(spec.consumer || {}),
    })
    recordVersions(consumer, versions)
    const member = { consumer, assignment: null, messages: [] }
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      member.assignment = payload.memberAssignment
    })
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      crash = crash || describeError(payload.error)
    })
    await consumer.connect()
    for (const topic of spec.topics) await consumer.subscribe({ topic, fromBeginning: spec.fromBeginning !== false })
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        received += 1
        member.messages.push({
          topic,
          partition,
          offset: Number(message.offset),
          key: text(message.key),
          value: text(message.value),
          headers: Object.fromEntries(Object.entries(message.headers || {}).map(([k, v]) => [k, text(v)])),
        })
      },
    })
    members.push(member)
  }
  let timedOut = false
  if (spec.produce) {
    timedOut = !(await until(() => crash || balanced(members, spec.partitions), deadline))
    if (!timedOut && !crash) {
      const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner })
      await producer.connect()
      await producer.send(spec.produce)
      await producer.disconnect()
    }
  }
  timedOut = timedOut || !(await until(() => crash || received >= spec.expect, deadline))
  // As they were while the members shared the group (the last to leave gets every partition).
  const shares = members.map(({ assignment, messages }) => ({ assignment, messages: [...messages] }))
  let group = null
  if (spec.describeGroup) {
    const admin = client.admin()
    recordVersions(admin, versions)
    await admin.connect()
    const [described] = (await admin.describeGroups([spec.groupId])).groups
    await admin.disconnect()
    group = {
      state: described.state,
      protocol: described.protocol,
      members: described.members.map(({ memberId, clientHost, memberAssignment }) => ({
        memberId,
        clientHost,
        assignment: AssignerProtocol.MemberAssignment.decode(memberAssignment).assignment,
      })),
    }
  }
  for (const member of members) await member.consumer.disconnect()
  return {
    members: shares,
    group,
    crash,
    timedOut,
    versions,
  }
})

'use strict'
// Runs admin calls in order on one KafkaJS admin client. Spec: {brokers, steps: [{op, args: [...]}]}; each step
// calls admin[op](...args) (op "sleep" waits args[0] ms). Result: {steps: [{ok: value} | {error: describeError(...)}], versions}: a failing step
// is recorded and the next one still runs. A client that cannot connect (TLS, SASL) gets {connectError, steps: []}.

const { kafka, recordVersions, describeError, main } = require('./common')

main(async spec => {
  const versions = {}
  const admin = kafka(spec).admin()
  recordVersions(admin, versions)
  try {
    await admin.connect()
  } catch (err) {
    return { connectError: describeError(err), steps: [], versions }
  }
  try {
    const steps = []
    for (const { op, args } of spec.steps) {
      try {
        const value = op === 'sleep' ? await new Promise(resolve => setTimeout(resolve, args[0])) : await admin[op](...(args || []))
        steps.push({ ok: value === undefined ? null : value })
      } catch (err) {
        steps.push({ error: describeError(err) })
      }
    }
    return { steps, versions }
  } finally {
    await admin.disconnect()
  }
})

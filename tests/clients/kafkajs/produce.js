'use strict'
// Produces with one KafkaJS producer. Spec: {brokers, producer: {idempotent, ...}, sends: [{topic, acks,
// compression: "gzip" | null, messages: [{key, value, partition, headers, timestamp}]}]}.
// Result: {results: [RecordMetadata[] | {error} per send], versions}: a send that fails is recorded as
// describeError(...) and the next one still goes.

const { CompressionTypes, Partitioners } = require('kafkajs')
const { kafka, recordVersions, describeError, main } = require('./common')

main(async spec => {
  const versions = {}
  const producer = kafka(spec).producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    ...(spec.producer || {}),
  })
  recordVersions(producer, versions)
  await producer.connect()
  try {
    const results = []
    for (const send of spec.sends) {
      try {
        results.push(
          await producer.send({
            topic: send.topic,
            acks: send.acks === undefined ? -1 : send.acks,
            compression: send.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
            messages: send.messages,
          })
        )
      } catch (err) {
        results.push({ error: describeError(err) })
      }
    }
    return { results, versions }
  } finally {
    await producer.disconnect()
  }
})

'use strict'
// What every script here shares: read the JSON spec from stdin, build the Kafka client it describes, record the
// API versions KafkaJS uses, and print one JSON result on stdout (with `requests` per API and `errorLogs`).
// KafkaJS's log lines go to stderr, so stdout holds nothing but the result; a script that throws exits 1 with the
// stack on stderr.

const fs = require('fs')
const { Kafka, logLevel } = require('kafkajs')

const LEVELS = { nothing: logLevel.NOTHING, error: logLevel.ERROR, warn: logLevel.WARN, info: logLevel.INFO, debug: logLevel.DEBUG }

// Kept for the result: how many requests of each API went out, and KafkaJS's error log lines (a connection the
// server closed, a request that failed) with their error text.
const requests = {}
const errorLogs = []

function logCreator() {
  return ({ namespace, level, label, log }) => {
    const { message, ...extra } = log
    if (level === logLevel.ERROR) errorLogs.push(`[${namespace}] ${message}: ${extra.error || ''}`)
    process.stderr.write(`${label} [${namespace}] ${message} ${JSON.stringify(extra)}\n`)
  }
}

function tlsOptions(ssl) {
  if (!ssl || ssl === true) return ssl
  const read = path => (path ? fs.readFileSync(path, 'utf8') : undefined)
  return {
    ca: ssl.caFile ? [read(ssl.caFile)] : undefined,
    cert: read(ssl.certFile),
    key: read(ssl.keyFile),
    servername: ssl.servername,
    rejectUnauthorized: ssl.rejectUnauthorized !== false,
  }
}

// The client a spec describes: brokers, and optionally ssl ({caFile, certFile, keyFile, servername}), sasl
// ({mechanism, username, password}), reauthenticationThreshold (ms before a SASL session ends that KafkaJS
// authenticates again, KIP-368), logLevel, retries.
function kafka(spec) {
  return new Kafka({
    clientId: spec.clientId || 'hub-kafkajs-test',
    brokers: spec.brokers,
    ssl: tlsOptions(spec.ssl),
    sasl: spec.sasl,
    reauthenticationThreshold: spec.reauthenticationThreshold,
    connectionTimeout: 5000,
    requestTimeout: 15000,
    retry: { retries: spec.retries === undefined ? 5 : spec.retries, initialRetryTime: 100, maxRetryTime: 2000 },
    logLevel: LEVELS[spec.logLevel || 'warn'],
    logCreator,
  })
}

// Collects {apiName: [versions]} of every request the instance (producer, consumer or admin) sends.
function recordVersions(instance, versions) {
  instance.on(instance.events.REQUEST, ({ payload }) => {
    requests[payload.apiName] = (requests[payload.apiName] || 0) + 1
    const seen = versions[payload.apiName] || (versions[payload.apiName] = [])
    if (!seen.includes(payload.apiVersion)) seen.push(payload.apiVersion)
  })
}

// An error as data, for the test to assert on: KafkaJS's class name, Kafka's error type and code, and the nested
// errors of aggregate errors (per topic, per group, per partition).
function describeError(err) {
  const perItem = items => items.map(item => item.error).filter(Boolean)
  const nested =
    err.errors || (err.groups && perItem(err.groups)) || (err.partitions && perItem(err.partitions)) || (err.cause ? [err.cause] : [])
  return {
    name: err.name,
    type: err.type,
    code: err.code,
    message: err.message,
    retriable: err.retriable,
    errors: Array.isArray(nested) ? nested.map(describeError) : [],
  }
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = []
    process.stdin.on('data', chunk => chunks.push(chunk))
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    process.stdin.on('error', reject)
  })
}

function main(run) {
  readStdin()
    .then(text => run(JSON.parse(text)))
    .then(result => process.stdout.write(JSON.stringify({ ...result, requests, errorLogs }), () => process.exit(0)))
    .catch(err => {
      process.stderr.write(`${err && err.stack ? err.stack : err}\n`)
      process.exit(1)
    })
}

module.exports = { kafka, recordVersions, describeError, main }

// Invocations and activations (spec §2.7, §3.4, §3.5): blocking and non-blocking invokes, the
// activation record, result-only responses, the action environment, warm state, parameter merge,
// activation list filters, and the invoke-time HTTP details.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ACTIVATION_ID, DEFAULT_LIMITS, GUEST, activation, annotation, assertEnvelope, createAction,
  eventually, ow, raw, rejects, uniq
} from './helpers.mjs'

const HELLO = 'function main(p) { return { payload: `Hello ${p.name}` } }'

test('blocking invoke returns the full activation record', async () => {
  const name = uniq('blocking')
  await createAction(name, HELLO)

  const cold = await ow.actions.invoke({ name, blocking: true, params: { name: 'Ada' } })
  assert.match(cold.activationId, ACTIVATION_ID)
  assert.equal(cold.namespace, GUEST)
  assert.equal(cold.name, name)
  assert.equal(cold.subject, GUEST)
  assert.equal(cold.version, '0.0.1')
  assert.equal(cold.publish, false)
  assert.deepEqual(cold.response.result, { payload: 'Hello Ada' })
  assert.equal(cold.response.success, true)
  assert.equal(cold.response.status, 'success')
  assert.equal(cold.response.statusCode, undefined, 'statusCode is not part of the API response')
  assert.deepEqual(cold.logs, [])
  assert.equal(typeof cold.start, 'number')
  assert.equal(typeof cold.end, 'number')
  assert.ok(cold.end >= cold.start)
  assert.equal(cold.duration, cold.end - cold.start)
  assert.equal(cold.cause, undefined)
  assert.equal(annotation(cold, 'path'), `${GUEST}/${name}`)
  assert.equal(annotation(cold, 'kind'), 'nodejs:20')
  assert.deepEqual(annotation(cold, 'limits'), DEFAULT_LIMITS)
  assert.equal(annotation(cold, 'timeout'), false)
  assert.equal(typeof annotation(cold, 'waitTime'), 'number')
  assert.equal(typeof annotation(cold, 'initTime'), 'number', 'initTime on the cold start')

  const warm = await ow.actions.invoke({ name, blocking: true, params: { name: 'Bo' } })
  assert.notEqual(warm.activationId, cold.activationId)
  assert.deepEqual(warm.response.result, { payload: 'Hello Bo' })
  assert.equal(typeof annotation(warm, 'waitTime'), 'number')
  assert.equal(annotation(warm, 'initTime'), undefined, 'no initTime on a warm invoke')

  // the stored record matches what the blocking response said
  const stored = await activation(cold.activationId)
  assert.equal(stored.activationId, cold.activationId)
  assert.deepEqual(stored.response.result, { payload: 'Hello Ada' })
  assert.equal(stored.response.status, 'success')
  assert.equal(stored.start, cold.start)
  assert.equal(annotation(stored, 'path'), `${GUEST}/${name}`)
})

test('numbers keep every bit through the request, the action, the result and the record', async () => {
  // Shortest texts of doubles that a best-effort float parser reads one unit off.
  const x = 1.0715660391465826e-75
  const y = -1.603964615428183e143
  const name = uniq('floats')
  await ow.actions.create({
    name,
    action: 'function main(p) { return { x: p.x, y: p.y, at: new Date(0) } }',
    params: { y }
  })
  const done = await ow.actions.invoke({ name, blocking: true, params: { x } })
  const want = { x, y, at: '1970-01-01T00:00:00.000Z' }
  assert.deepEqual(done.response.result, want)
  assert.deepEqual((await activation(done.activationId)).response.result, want)
})

test('blocking invoke with result:true returns only the result', async () => {
  const name = uniq('result')
  await createAction(name, HELLO)
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'Cy' } })
  assert.deepEqual(result, { payload: 'Hello Cy' })

  const res = await raw('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { body: { name: 'Di' } })
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, { payload: 'Hello Di' })
  assert.match(res.headers.get('x-openwhisk-activation-id') ?? '', ACTIVATION_ID)
  assert.match(res.headers.get('content-type'), /^application\/json/)
})

test('non-blocking invoke returns an activation id; get/result/logs fetch it', async () => {
  const name = uniq('nonblocking')
  await createAction(name, HELLO)
  const ack = await ow.actions.invoke({ name, params: { name: 'Ed' } })
  assert.deepEqual(Object.keys(ack), ['activationId'])
  assert.match(ack.activationId, ACTIVATION_ID)

  const record = await activation(ack.activationId)
  assert.equal(record.activationId, ack.activationId)
  assert.equal(record.name, name)
  assert.equal(record.namespace, GUEST)
  assert.deepEqual(record.response.result, { payload: 'Hello Ed' })
  assert.equal(record.response.success, true)
  assert.ok(Array.isArray(record.logs))

  const result = await ow.activations.result({ activationId: ack.activationId })
  assert.deepEqual(result.result, { payload: 'Hello Ed' })
  assert.equal(result.success, true)
  assert.equal(result.status, 'success')
  assert.equal(result.statusCode, undefined)

  const logs = await ow.activations.logs({ activationId: ack.activationId })
  assert.deepEqual(Object.keys(logs), ['logs'])
  assert.deepEqual(logs.logs, [])

  // the plain-string form of the id works too
  assert.equal((await ow.activations.get(ack.activationId)).activationId, ack.activationId)
})

test('invoke responses carry x-openwhisk-activation-id', async () => {
  const name = uniq('header')
  await createAction(name, HELLO)
  const path = `/api/v1/namespaces/_/actions/${name}`

  const nonBlocking = await raw('POST', path, { body: { name: 'Fi' } })
  assert.equal(nonBlocking.status, 202)
  assert.deepEqual(Object.keys(nonBlocking.json), ['activationId'])
  assert.equal(nonBlocking.headers.get('x-openwhisk-activation-id'), nonBlocking.json.activationId)

  const blocking = await raw('POST', `${path}?blocking=true`, { body: { name: 'Gu' } })
  assert.equal(blocking.status, 200)
  assert.equal(blocking.headers.get('x-openwhisk-activation-id'), blocking.json.activationId)
  assert.deepEqual(blocking.json.response.result, { payload: 'Hello Gu' })

  // an empty body is accepted as {}
  const empty = await raw('POST', `${path}?blocking=true&result=true`)
  assert.equal(empty.status, 200)
  assert.deepEqual(empty.json, { payload: 'Hello undefined' })
})

test('an array result is returned bare, even without result=true', async () => {
  const name = uniq('array')
  await createAction(name, 'function main() { return [1, "two", { three: 3 }] }')
  const bare = await ow.actions.invoke({ name, blocking: true })
  assert.deepEqual(bare, [1, 'two', { three: 3 }])

  const res = await raw('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`)
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, [1, 'two', { three: 3 }])
  const id = res.headers.get('x-openwhisk-activation-id')
  assert.match(id ?? '', ACTIVATION_ID)
  const stored = await activation(id)
  assert.deepEqual(stored.response.result, [1, 'two', { three: 3 }])
  assert.equal(stored.response.success, true)
})

test('a Promise that resolves from setTimeout is awaited', async () => {
  const name = uniq('promise')
  await createAction(name, `function main(p) {
    return new Promise(resolve => setTimeout(() => resolve({ done: true, v: p.v }), 50))
  }`)
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { v: 42 } })
  assert.deepEqual(result, { done: true, v: 42 })
})

test('an async main function is awaited', async () => {
  const name = uniq('async')
  await createAction(name, 'async function main(p) { const v = await Promise.resolve(p.v * 2); return { v } }')
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { v: 21 } })
  assert.deepEqual(result, { v: 42 })
})

test('the action sees __OW_NAMESPACE, __OW_ACTION_NAME and __OW_ACTIVATION_ID', async () => {
  const name = uniq('env')
  await createAction(name, `function main() {
    return {
      namespace: process.env.__OW_NAMESPACE,
      action: process.env.__OW_ACTION_NAME,
      activation: process.env.__OW_ACTIVATION_ID
    }
  }`)
  for (let i = 0; i < 2; i++) {
    const act = await ow.actions.invoke({ name, blocking: true })
    assert.deepEqual(act.response.result, {
      namespace: GUEST,
      action: `/${GUEST}/${name}`,
      activation: act.activationId
    })
  }
})

test('module globals persist across warm invokes', async () => {
  const name = uniq('globals')
  await createAction(name, 'let count = 0\nfunction main() { count += 1; return { count } }')
  const first = await ow.actions.invoke({ name, blocking: true, result: true })
  const second = await ow.actions.invoke({ name, blocking: true, result: true })
  assert.deepEqual(first, { count: 1 })
  assert.deepEqual(second, { count: 2 })
})

test('default parameters are merged with the payload, the payload wins', async () => {
  const name = uniq('params')
  await createAction(name, 'function main(p) { return p }', { params: { a: 'stored', b: 'stored', nested: { x: 1 } } })
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { b: 'payload', c: 'payload' } })
  assert.deepEqual(result, { a: 'stored', b: 'payload', c: 'payload', nested: { x: 1 } })
  const defaults = await ow.actions.invoke({ name, blocking: true, result: true })
  assert.deepEqual(defaults, { a: 'stored', b: 'stored', nested: { x: 1 } })
})

test('a blocking invoke that outlasts ?timeout answers 202 and the activation completes later', async () => {
  const name = uniq('slow')
  await createAction(name, 'function main() { return new Promise(r => setTimeout(() => r({ slept: true }), 2000)) }')
  const res = await raw('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&timeout=100`)
  assert.equal(res.status, 202)
  assert.deepEqual(Object.keys(res.json), ['activationId'])
  assert.match(res.json.activationId, ACTIVATION_ID)
  assert.equal(res.headers.get('x-openwhisk-activation-id'), res.json.activationId)

  const done = await eventually(() => ow.activations.get({ activationId: res.json.activationId }), 15000)
  assert.deepEqual(done.response.result, { slept: true })
  assert.equal(done.response.success, true)
})

test('an invoke payload over 1 MiB is rejected with 413', async () => {
  const name = uniq('big')
  await createAction(name, HELLO)
  const body = JSON.stringify({ blob: 'x'.repeat(1048576) })
  const res = await raw('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true`, { body })
  assert.equal(res.status, 413)
  assertEnvelope(res.json, `Request larger than allowed: ${Buffer.byteLength(body)} > 1048576 bytes.`)
  // nothing ran
  assert.ok(!(await ow.activations.list({ name })).length)
})

test('activation ids are validated and unknown ids are 404', async () => {
  await rejects(ow.activations.get('abcde'), 400, 'Activation id length is 5 but must be 32.')
  await rejects(ow.activations.result('abcde'), 400, 'Activation id length is 5 but must be 32.')
  await rejects(ow.activations.logs('a'.repeat(33)), 400, 'Activation id length is 33 but must be 32.')
  await rejects(ow.activations.get('z'.repeat(32)), 400, 'The activation id is not valid.')
  await rejects(ow.activations.get('0'.repeat(32)), 404, 'The requested resource does not exist.')
  await rejects(ow.activations.result('0'.repeat(32)), 404, 'The requested resource does not exist.')
  await rejects(ow.activations.logs('0'.repeat(32)), 404, 'The requested resource does not exist.')
})

test('activation list: newest first, name, limit, skip, since/upto, docs, count', async () => {
  const name = uniq('listed')
  // the sleep keeps the start times of consecutive blocking invokes distinct
  await createAction(name, 'function main(p) { return new Promise(r => setTimeout(() => r({ n: p.n }), 5)) }')
  const ids = []
  for (let n = 1; n <= 3; n++) {
    ids.push((await ow.actions.invoke({ name, blocking: true, params: { n } })).activationId)
  }
  const newestFirst = [...ids].reverse()

  const listed = await eventually(async () => {
    const list = await ow.activations.list({ name })
    assert.deepEqual(list.map(a => a.activationId), newestFirst)
    return list
  })
  for (const summary of listed) {
    assert.equal(summary.name, name)
    assert.equal(summary.namespace, GUEST)
    assert.equal(summary.version, '0.0.1')
    assert.equal(typeof summary.start, 'number')
    assert.equal(summary.statusCode, 0)
    assert.equal(summary.response, undefined, 'summaries carry no response')
    assert.equal(summary.logs, undefined, 'summaries carry no logs')
    assert.equal(annotation(summary, 'path'), `${GUEST}/${name}`)
  }
  const [third, second, first] = listed
  assert.ok(third.start > second.start && second.start > first.start)

  // the unfiltered list has them too, newest first
  const everything = await ow.activations.list({ limit: 200 })
  const positions = ids.map(id => everything.findIndex(a => a.activationId === id))
  assert.ok(positions.every(p => p >= 0), `missing from the full list: ${positions}`)
  assert.ok(positions[2] < positions[1] && positions[1] < positions[0])

  const limited = await ow.activations.list({ name, limit: 1 })
  assert.deepEqual(limited.map(a => a.activationId), [ids[2]])
  const skipped = await ow.activations.list({ name, limit: 1, skip: 1 })
  assert.deepEqual(skipped.map(a => a.activationId), [ids[1]])

  const since = await ow.activations.list({ name, since: second.start })
  assert.deepEqual(since.map(a => a.activationId), [ids[2], ids[1]])
  const upto = await ow.activations.list({ name, upto: second.start })
  assert.deepEqual(upto.map(a => a.activationId), [ids[1], ids[0]])
  const window = await ow.activations.list({ name, since: second.start, upto: second.start })
  assert.deepEqual(window.map(a => a.activationId), [ids[1]])

  const docs = await ow.activations.list({ name, docs: true })
  assert.deepEqual(docs.map(a => a.activationId), newestFirst)
  assert.deepEqual(docs.map(a => a.response.result), [{ n: 3 }, { n: 2 }, { n: 1 }])
  assert.ok(docs.every(a => a.response.success === true && Array.isArray(a.logs)))

  assert.deepEqual(await ow.activations.list({ name, count: true }), { activations: 3 })
  const count = await raw('GET', '/api/v1/namespaces/_/activations?count=true')
  assert.equal(count.status, 200)
  assert.deepEqual(Object.keys(count.json), ['activations'])
  assert.ok(count.json.activations >= 3)

  assert.deepEqual(await ow.activations.list({ name: uniq('never-invoked') }), [])
})

test('activation list validates its query parameters', async () => {
  await rejects(ow.activations.list({ limit: 201 }), 400, 'The value \'201\' is not in the range of 0 to 200 for activations.')
  await rejects(ow.activations.list({ skip: -1 }), 400, 'The value \'-1\' is not greater than or equal to 0 for activations.')
  await rejects(ow.activations.list({ count: true, docs: true }), 400, 'The parameter \'docs\' is not permitted with \'count\'.')
})

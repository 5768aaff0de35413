// Failed activations (spec §3.4 status table, §3.5): application errors, thrown errors, time and
// memory limits, plus log capture. Each failure must be an outcome (502 + activation), never a
// stuck or crashed host: after them, other actions still answer.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  GUEST, activation, annotation, assertEnvelope, createAction, eventually, logLine, ow, raw, rejects, uniq
} from './helpers.mjs'

/** Invokes blocking and expects a 502 whose body is the failed activation; returns it. */
async function failedActivation (name) {
  const err = await rejects(ow.actions.invoke({ name, blocking: true }), 502)
  const act = err.error
  assert.equal(act.name, name, `body is not the activation: ${JSON.stringify(act)}`)
  assert.equal(act.namespace, GUEST)
  assert.equal(act.response.success, false)
  assert.equal(act.code, undefined, 'an activation body, not an error envelope')
  return act
}

test('an action returning {error} is an application error (502)', async () => {
  const name = uniq('apperror')
  await createAction(name, 'function main() { return { error: { msg: "bad" }, ignored: 1 } }')
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'application error')
  assert.deepEqual(act.response.result, { error: { msg: 'bad' } })

  // result=true gives just the error result, still 502
  const res = await raw('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`)
  assert.equal(res.status, 502)
  assert.deepEqual(res.json, { error: { msg: 'bad' } })
  assert.match(res.headers.get('x-openwhisk-activation-id') ?? '', /^[0-9a-f]{32}$/)

  const stored = await activation(act.activationId)
  assert.equal(stored.response.status, 'application error')
  assert.equal(stored.response.success, false)
})

test('a rejected Promise is an application error wrapping the rejection value', async () => {
  const name = uniq('reject')
  await createAction(name, 'function main() { return Promise.reject({ reason: "nope" }) }')
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'application error')
  assert.deepEqual(act.response.result, { error: { reason: 'nope' } })
})

test('an action returning nothing succeeds with {}; a scalar is a developer error', async () => {
  const empty = uniq('undefined')
  await createAction(empty, 'function main() {}')
  assert.deepEqual(await ow.actions.invoke({ name: empty, blocking: true, result: true }), {})

  const scalar = uniq('scalar')
  await createAction(scalar, 'function main() { return 42 }')
  const act = await failedActivation(scalar)
  assert.equal(act.response.status, 'action developer error')
  assert.deepEqual(act.response.result, { error: 'The action did not return a dictionary.' })
})

test('an action that throws is an action developer error (502)', async () => {
  const name = uniq('throws')
  await createAction(name, 'function main() { throw new Error("boom") }')
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'action developer error')
  assert.deepEqual(Object.keys(act.response.result), ['error'])
  assert.equal(typeof act.response.result.error, 'string')
  assert.ok(act.response.result.error.startsWith('An error has occurred: '), act.response.result.error)
  assert.ok(act.response.result.error.includes('boom'), act.response.result.error)
})

test('an action without a main function is an action developer error', async () => {
  const name = uniq('nomain')
  await createAction(name, 'const notMain = 1')
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'action developer error')
  assert.equal(typeof act.response.result.error, 'string')
})

// As in OpenWhisk, code that does not compile is stored (the npm client's own suite creates an
// action whose code is "update test") and every activation fails at initialisation.
test('an action with a syntax error is stored and fails at initialisation', async () => {
  const name = uniq('syntax')
  const broken = 'function main( { return {} }'
  const created = await createAction(name, broken)
  assert.equal(created.exec.code, broken)
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'action developer error')
  assert.match(act.response.result.error, /^Initialization has failed due to: SyntaxError/)

  await ow.actions.update({ name, action: 'function main() { return { ok: true } }' })
  assert.deepEqual(await ow.actions.invoke({ name, blocking: true, result: true }), { ok: true })
  const again = await ow.actions.update({ name, action: 'update test' })
  assert.equal(again.version, '0.0.3')
  assert.match((await failedActivation(name)).response.result.error, /^Initialization has failed due to: /)
})

test('an action that runs past its time limit is stopped', async () => {
  const name = uniq('timeout')
  await createAction(name, 'function main() { while (true) {} }', { limits: { timeout: 300 } })
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'action developer error')
  assert.deepEqual(act.response.result, { error: 'The action exceeded its time limits of 300 milliseconds.' })
  assert.equal(annotation(act, 'timeout'), true)
  assert.equal(annotation(act, 'limits').timeout, 300)
})

test('an async action that never resolves is stopped at its time limit', async () => {
  const name = uniq('hang')
  await createAction(name, 'function main() { return new Promise(() => {}) }', { limits: { timeout: 300 } })
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'action developer error')
  assert.deepEqual(act.response.result, { error: 'The action exceeded its time limits of 300 milliseconds.' })
  assert.equal(annotation(act, 'timeout'), true)
})

test('an action that exhausts its memory is aborted', async () => {
  const name = uniq('membomb')
  await createAction(name, `function main() {
    const hoard = []
    while (true) { hoard.push(new Array(1 << 20).fill(hoard.length)) }
  }`, { limits: { memory: 128 } })
  const act = await failedActivation(name)
  assert.equal(act.response.status, 'action developer error')
  assert.deepEqual(act.response.result, { error: 'The action exhausted its memory and was aborted.' })
  assert.equal(annotation(act, 'limits').memory, 128)
})

test('after failures, actions (including the failed ones, fixed) still answer', async () => {
  const bomb = uniq('bomb-then-ok')
  await createAction(bomb, 'function main() { const a = []; while (true) a.push("x".repeat(1 << 16) + a.length) }', { limits: { memory: 128 } })
  const loop = uniq('loop-then-ok')
  await createAction(loop, 'function main() { for (;;) {} }', { limits: { timeout: 200 } })
  await failedActivation(bomb)
  await failedActivation(loop)

  const ok = uniq('still-ok')
  await createAction(ok, 'function main(p) { return { alive: p.v } }')
  assert.deepEqual(await ow.actions.invoke({ name: ok, blocking: true, result: true, params: { v: 1 } }), { alive: 1 })

  await ow.actions.update({ name: loop, action: 'function main() { return { fixed: true } }' })
  assert.deepEqual(await ow.actions.invoke({ name: loop, blocking: true, result: true }), { fixed: true })
})

test('console output is captured into the activation logs', async () => {
  const name = uniq('logs')
  await createAction(name, `function main() {
    console.log("hello")
    console.error("oops")
    console.log("two", "parts")
    return { logged: true }
  }`)
  const act = await ow.actions.invoke({ name, blocking: true })
  assert.deepEqual(act.response.result, { logged: true })
  assert.deepEqual(act.logs, [], 'logs are not part of the blocking response')

  const { logs } = await eventually(async () => {
    const got = await ow.activations.logs({ activationId: act.activationId })
    assert.ok(got.logs.length >= 3, `logs so far: ${JSON.stringify(got.logs)}`)
    return got
  })
  assert.equal(logs.length, 3, JSON.stringify(logs))
  assert.match(logs[0], logLine('stdout', 'hello'))
  assert.match(logs[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z\s+stdout: hello$/)
  assert.match(logs[1], logLine('stderr', 'oops'))
  assert.match(logs[2], logLine('stdout', 'two parts'))

  const stored = await activation(act.activationId)
  assert.deepEqual(stored.logs, logs)
})

test('logs of a failed activation are kept', async () => {
  const name = uniq('logs-fail')
  await createAction(name, 'function main() { console.log("before"); throw new Error("after") }')
  const act = await failedActivation(name)
  const { logs } = await eventually(async () => {
    const got = await ow.activations.logs({ activationId: act.activationId })
    assert.ok(got.logs.length >= 1)
    return got
  })
  assert.match(logs[0], logLine('stdout', 'before'))
})

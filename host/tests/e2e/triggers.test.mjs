// Triggers (spec §2.5, §5.2): CRUD with OpenWhisk's defaults, and firing with 0, 1 and 2 rules:
// 204 without an active rule, else 202 `{activationId}`; each rule's action runs with trigger
// parameters, `__ow_headers` and the payload; the trigger activation logs one line per rule.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  ACTIVATION_ID, AUTH2, GUEST, activation, assertEnvelope, createAction, eventually, ow, raw, rejects, uniq
} from './helpers.mjs'

const ECHO = 'function main(params) { return params }'

test('trigger CRUD', async () => {
  const name = uniq('trig')
  const created = await ow.triggers.create({ name })
  assert.equal(created.namespace, GUEST)
  assert.deepEqual(created.annotations, [])
  assert.deepEqual(created.limits, {})
  assert.deepEqual(created.parameters, [])
  assert.equal(created.version, '0.0.1')
  await rejects(ow.triggers.create({ name }), 409, 'resource already exists')
  const updated = await ow.triggers.update({ name, trigger: { parameters: [{ key: 'a', value: 1 }] } })
  assert.equal(updated.version, '0.0.2')
  assert.deepEqual(updated.parameters, [{ key: 'a', value: 1 }])
  assert.deepEqual((await ow.triggers.get({ name })).parameters, [{ key: 'a', value: 1 }])
  const list = await ow.triggers.list({ limit: 0 })
  const summary = list.find(t => t.name === name)
  assert.equal(summary.namespace, GUEST)
  assert.equal(summary.parameters, undefined)
  assert.deepEqual(await ow.triggers.list({ count: true }), { triggers: list.length })

  const feed = await raw('PUT', `/api/v1/namespaces/_/triggers/${uniq('feed')}`, { body: { annotations: [{ key: 'feed', value: 'not a path' }] } })
  assert.equal(feed.status, 400)
  assertEnvelope(feed.json, 'Feed name is not valid')

  const other = await raw('GET', `/api/v1/namespaces/${GUEST}/triggers/${name}`, { auth: AUTH2 })
  assert.equal(other.status, 403)

  await ow.triggers.delete({ name })
  await rejects(ow.triggers.get({ name }), 404, 'The requested resource does not exist.')
  await rejects(ow.triggers.delete({ name }), 404)
  await rejects(ow.triggers.invoke({ name }), 404)
})

test('firing a trigger without rules is a 204', async () => {
  const name = uniq('lonely')
  await ow.triggers.create({ name })
  const fired = await raw('POST', `/api/v1/namespaces/_/triggers/${name}`, { body: { a: 1 } })
  assert.equal(fired.status, 204)
  assert.equal(fired.text, '')
})

test('one trigger fires two rules; the trigger activation logs each', async () => {
  const trigger = uniq('fan-out')
  const [a1, a2] = [uniq('act'), uniq('act')]
  await createAction(a1, ECHO)
  await createAction(a2, ECHO)
  await ow.triggers.create({ name: trigger, trigger: { parameters: [{ key: 'fromTrigger', value: true }, { key: 'n', value: 0 }] } })
  const [r1, r2] = [uniq('rule'), uniq('rule')]
  await ow.rules.create({ name: r1, trigger, action: a1 })
  await ow.rules.create({ name: r2, trigger, action: a2 })

  const fired = await raw('POST', `/api/v1/namespaces/_/triggers/${trigger}`, { body: { n: 7 }, headers: { 'X-Custom': 'yes' } })
  assert.equal(fired.status, 202)
  assert.match(fired.json.activationId, ACTIVATION_ID)
  assert.equal(fired.headers.get('x-openwhisk-activation-id'), fired.json.activationId)

  const record = await activation(fired.json.activationId)
  assert.equal(record.name, trigger)
  assert.equal(record.namespace, GUEST)
  assert.equal(record.end, undefined)
  assert.equal(record.duration, undefined)
  assert.deepEqual(record.response.result, { n: 7 })
  assert.deepEqual(record.annotations, [])
  assert.equal(record.logs.length, 2)
  const lines = record.logs.map(l => JSON.parse(l))
  for (const [rule, action] of [[r1, a1], [r2, a2]]) {
    const line = lines.find(l => l.rule === `${GUEST}/${rule}`)
    assert.equal(line.statusCode, 0)
    assert.equal(line.success, true)
    assert.equal(line.action, `${GUEST}/${action}`)
    assert.match(line.activationId, ACTIVATION_ID)
    const run = await activation(line.activationId)
    assert.equal(run.name, action)
    assert.equal(run.response.result.n, 7)
    assert.equal(run.response.result.fromTrigger, true)
    assert.equal(run.response.result.__ow_headers['x-custom'], 'yes')
    assert.equal(run.response.result.__ow_headers.authorization, undefined)
  }
})

test('N triggers fire one action', async () => {
  const action = uniq('shared')
  await createAction(action, ECHO)
  const triggers = [uniq('t'), uniq('t'), uniq('t')]
  for (const t of triggers) {
    await ow.triggers.create({ name: t })
    await ow.rules.create({ name: uniq('r'), trigger: t, action })
  }
  const ids = []
  for (const [i, t] of triggers.entries()) {
    const res = await ow.triggers.invoke({ name: t, params: { i } })
    ids.push(res.activationId)
  }
  const seen = []
  for (const id of ids) {
    const record = await activation(id)
    const line = JSON.parse(record.logs[0])
    seen.push((await activation(line.activationId)).response.result.i)
  }
  assert.deepEqual(seen.sort(), [0, 1, 2])
  await eventually(async () => {
    const runs = await ow.activations.list({ name: action, limit: 0 })
    assert.equal(runs.length, 3)
  })
})

test('fire logs rules whose action is gone or inactive', async () => {
  const trigger = uniq('broken')
  const [live, gone] = [uniq('live'), uniq('gone')]
  await createAction(live, ECHO)
  await createAction(gone, ECHO)
  await ow.triggers.create({ name: trigger })
  const [rGone, rOff] = [uniq('r-gone'), uniq('r-off')]
  await ow.rules.create({ name: rGone, trigger, action: gone })
  await ow.rules.create({ name: rOff, trigger, action: live })
  await ow.rules.disable({ name: rOff })
  await ow.actions.delete({ name: gone })

  const fired = await ow.triggers.invoke({ name: trigger })
  const record = await activation(fired.activationId)
  const lines = record.logs.map(l => JSON.parse(l))
  assert.deepEqual(lines.find(l => l.rule === `${GUEST}/${rGone}`), {
    statusCode: 1, success: false, error: 'The requested resource does not exist.', rule: `${GUEST}/${rGone}`, action: `${GUEST}/${gone}`
  })
  assert.deepEqual(lines.find(l => l.rule === `${GUEST}/${rOff}`), {
    statusCode: 1,
    success: false,
    error: `Rule '${GUEST}/${rOff}' is inactive, action '${GUEST}/${live}' was not activated.`,
    rule: `${GUEST}/${rOff}`,
    action: `${GUEST}/${live}`
  })
})

// Conductor actions (spec §6.2) through the npm client: the conductor picks each next action,
// the primary activation links every step, and resolution failures are fed back to it.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { annotation, createAction, eventually, ow, uniq } from './helpers.mjs'

const CONDUCTOR = { conductor: true }

test('a conductor runs the actions it names, then returns its params', async () => {
  const inc = uniq('inc')
  await createAction(inc, 'function main(p) { return { n: p.n + 1 } }')
  const conductor = uniq('conductor')
  await createAction(conductor, `function main(p) {
    const step = p.$step || 0
    if (step < 2) return { action: '${inc}', params: { n: p.n }, state: { $step: step + 1 } }
    return { params: { n: p.n, done: true } }
  }`, { annotations: CONDUCTOR })
  const act = await ow.actions.invoke({ name: conductor, blocking: true, params: { n: 1 } })
  assert.deepEqual(act.response.result, { n: 3, done: true })
  assert.equal(act.response.success, true)
  assert.equal(annotation(act, 'conductor'), true)
  assert.equal(annotation(act, 'kind'), 'sequence')
  assert.equal(annotation(act, 'topmost'), true)
  assert.equal(act.logs.length, 5, 'conductor, inc, conductor, inc, conductor')
  const steps = await Promise.all(act.logs.map(id => ow.activations.get({ name: id })))
  assert.deepEqual(steps.map(s => s.name), [conductor, inc, conductor, inc, conductor])
  for (const s of steps) {
    assert.equal(s.cause, act.activationId)
    assert.equal(annotation(s, 'causedBy'), 'sequence')
  }
  assert.equal(act.duration, steps.reduce((sum, s) => sum + s.duration, 0))
})

test('an unresolvable action is reported back to the conductor with its state', async () => {
  const conductor = uniq('conductor-missing')
  await createAction(conductor, `function main(p) {
    if (p.error) return { params: { saw: p.error, kept: p.kept } }
    return { action: 'no-such-action', state: { kept: 'yes' } }
  }`, { annotations: CONDUCTOR })
  const result = await ow.actions.invoke({ name: conductor, blocking: true, result: true })
  assert.deepEqual(result, {
    saw: "Failed to resolve action with name 'no-such-action' during composition.",
    kept: 'yes'
  })
})

test('a conductor that fails ends the composition with its error', async () => {
  const conductor = uniq('conductor-error')
  await createAction(conductor, 'function main(p) { return { error: "conductor gave up" } }', { annotations: CONDUCTOR })
  const act = await ow.actions.invoke({ name: conductor, blocking: true }).catch(e => e.error)
  assert.equal(act.response.status, 'application error')
  assert.deepEqual(act.response.result, { error: 'conductor gave up' })
  assert.equal(act.logs.length, 1)
})

test('a conductor that names itself ends once the whole tree has run 2n+1 conductor steps', async () => {
  const loop = uniq('conductor-self')
  await createAction(loop, `function main() { return { action: '${loop}' } }`, { annotations: CONDUCTOR })
  // Each step starts a nested composition of the same conductor; the nested ones share the
  // topmost one's counts (spec §6.2, n = 50), so the invoke answers instead of running on.
  const act = await ow.actions.invoke({ name: loop, blocking: true }).catch(e => e.error)
  assert.equal(act.response.status, 'application error')
  assert.deepEqual(act.response.result, { error: 'Too many actions in the composition.' })
  // At most 2n+1 = 101 conductor steps ran, each with at most one nested composition's record
  // besides its own, plus the topmost record. The records are written after the answer.
  const { activations } = await eventually(async () => {
    const counted = await ow.activations.list({ name: loop, count: true })
    assert.ok(counted.activations >= 101, JSON.stringify(counted))
    return counted
  })
  assert.ok(activations <= 2 * 101 + 1, `${activations} records`)
})

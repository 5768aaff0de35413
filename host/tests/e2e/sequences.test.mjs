// Sequences (spec §6.1) through the npm client: creation and its checks, parameter passing,
// short-circuit on error, nested sequences and the activation records' links.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { annotation, createAction, ow, rejects, uniq } from './helpers.mjs'

async function incAndFail () {
  const inc = uniq('inc')
  const fail = uniq('fail')
  await createAction(inc, 'function main(p) { return { n: (p.n || 0) + 1, step: p.step } }', { params: { step: 'inc' } })
  await createAction(fail, 'function main(p) { return { error: `stopped at ${p.n}` } }')
  return { inc, fail }
}

test('a sequence is created with fully qualified components and the _actions parameter', async () => {
  const name = uniq('seq')
  const created = await ow.actions.create({ name, sequence: ['/whisk.system/utils/echo'] })
  assert.equal(created.exec.kind, 'sequence')
  assert.deepEqual(created.exec.components, ['/whisk.system/utils/echo'])
  assert.deepEqual(created.parameters, [{ key: '_actions', value: ['/whisk.system/utils/echo'] }])
  const got = await ow.actions.get({ name, code: false })
  assert.deepEqual(got.exec, { kind: 'sequence', components: ['/whisk.system/utils/echo'] })
})

test('sequence creation checks: empty, missing component, self reference', async () => {
  const name = uniq('seq-bad')
  await rejects(ow.actions.create({ name, action: { exec: { kind: 'sequence', components: [] } } }), 400, 'No component specified for the sequence.')
  await rejects(ow.actions.create({ name, sequence: ['/_/does-not-exist'] }), 400, 'Sequence component does not exist.')
  const { inc } = await incAndFail()
  await ow.actions.create({ name, sequence: [`/_/${inc}`] })
  const outer = uniq('seq-outer')
  await ow.actions.create({ name: outer, sequence: [`/_/${name}`] })
  await rejects(ow.actions.update({ name, sequence: [`/_/${outer}`] }), 400, 'Sequence may not refer to itself.')
})

test('each component gets the previous result; the record links its components', async () => {
  const { inc } = await incAndFail()
  const name = uniq('seq-run')
  await ow.actions.create({ name, sequence: [`/_/${inc}`, `/_/${inc}`, '/whisk.system/utils/echo'] })
  const act = await ow.actions.invoke({ name, blocking: true, params: { n: 10 } })
  assert.deepEqual(act.response.result, { n: 12, step: 'inc' })
  assert.equal(act.response.success, true)
  assert.equal(act.logs.length, 3, 'logs are the component activation ids')
  assert.equal(annotation(act, 'kind'), 'sequence')
  assert.equal(annotation(act, 'topmost'), true)
  const components = await Promise.all(act.logs.map(id => ow.activations.get({ name: id })))
  assert.deepEqual(components.map(c => c.name), [inc, inc, 'echo'])
  for (const c of components) {
    assert.equal(c.cause, act.activationId)
    assert.equal(annotation(c, 'causedBy'), 'sequence')
  }
  assert.equal(act.duration, components.reduce((sum, c) => sum + c.duration, 0))
})

test('a component error ends the sequence with that component\'s response', async () => {
  const { inc, fail } = await incAndFail()
  const name = uniq('seq-stop')
  await ow.actions.create({ name, sequence: [`/_/${inc}`, `/_/${fail}`, `/_/${inc}`] })
  const err = await rejects(ow.actions.invoke({ name, blocking: true, params: { n: 1 } }), 502)
  const act = err.error
  assert.equal(act.response.status, 'application error')
  assert.deepEqual(act.response.result, { error: 'stopped at 2' })
  assert.equal(act.logs.length, 2, 'the third component never ran')
})

test('nested sequences: the inner one is a component with its own record', async () => {
  const { inc } = await incAndFail()
  const inner = uniq('seq-inner')
  const outer = uniq('seq-outer')
  await ow.actions.create({ name: inner, sequence: [`/_/${inc}`, `/_/${inc}`] })
  await ow.actions.create({ name: outer, sequence: [`/_/${inner}`, `/_/${inc}`] })
  const result = await ow.actions.invoke({ name: outer, blocking: true, result: true, params: { n: 0 } })
  assert.deepEqual(result, { n: 3, step: 'inc' })
  const [latest] = await ow.activations.list({ name: outer, limit: 1, docs: true })
  assert.equal(latest.logs.length, 2)
  const innerAct = await ow.activations.get({ name: latest.logs[0] })
  assert.equal(innerAct.name, inner)
  assert.equal(innerAct.cause, latest.activationId)
  assert.equal(annotation(innerAct, 'topmost'), false)
  assert.equal(innerAct.logs.length, 2)
})

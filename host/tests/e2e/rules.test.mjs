// Rules (spec §2.6, §5.3): CRUD with status kept on the trigger, enable/disable, references
// resolved (`_`, packages, bindings) and the spec's error texts.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  AUTH2, GUEST, activation, assertEnvelope, createAction, ow, ow2, raw, rejects, uniq
} from './helpers.mjs'

const ECHO = 'function main(params) { return params }'

async function setup () {
  const trigger = uniq('t')
  const action = uniq('a')
  await ow.triggers.create({ name: trigger })
  await createAction(action, ECHO)
  return { trigger, action }
}

test('rule CRUD keeps the status on the trigger', async () => {
  const { trigger, action } = await setup()
  const name = uniq('rule')
  const created = await ow.rules.create({ name, trigger, action })
  assert.equal(created.status, 'active')
  assert.deepEqual(created.action, { path: GUEST, name: action })
  assert.deepEqual(created.trigger, { path: GUEST, name: trigger })
  assert.deepEqual(created.annotations, [])
  assert.equal(created.version, '0.0.1')
  await rejects(ow.rules.create({ name, trigger, action }), 409, 'resource already exists')

  const t = await ow.triggers.get({ name: trigger })
  assert.deepEqual(t.rules, { [`${GUEST}/${name}`]: { action: { path: GUEST, name: action }, status: 'active' } })

  const listed = (await ow.rules.list({ limit: 0 })).find(r => r.name === name)
  assert.equal(listed.status, undefined)
  assert.deepEqual(listed.action, { path: GUEST, name: action })

  assert.equal(await ow.rules.disable({ name }), 'OK')
  assert.equal((await ow.rules.get({ name })).status, 'inactive')
  const fired = await raw('POST', `/api/v1/namespaces/_/triggers/${trigger}`, { body: {} })
  assert.equal(fired.status, 204)
  const again = await raw('POST', `/api/v1/namespaces/_/rules/${name}`, { body: { status: 'inactive' } })
  assert.equal(again.status, 200)
  assert.equal(again.text, 'OK')

  const updated = await ow.rules.update({ name, trigger, action })
  assert.equal(updated.status, 'inactive')
  assert.equal(updated.version, '0.0.2')
  await ow.rules.enable({ name })
  assert.equal((await ow.rules.get({ name })).status, 'active')
  assert.equal((await raw('POST', `/api/v1/namespaces/_/triggers/${trigger}`, { body: {} })).status, 202)

  const bad = await raw('POST', `/api/v1/namespaces/_/rules/${name}`, { body: { status: 'sleepy' } })
  assert.equal(bad.status, 400)
  assertEnvelope(bad.json, "The request content was malformed:\n'sleepy' is not a recognized rule state, must be one of ['active', 'inactive']")

  const deleted = await ow.rules.delete({ name })
  assert.equal(deleted.status, 'inactive')
  assert.equal((await ow.triggers.get({ name: trigger })).rules[`${GUEST}/${name}`], undefined)
  await rejects(ow.rules.get({ name }), 404, 'The requested resource does not exist.')
  await rejects(ow.rules.delete({ name }), 404)
})

test('rule errors: missing fields, trigger or action; activating without a trigger', async () => {
  const { trigger, action } = await setup()
  const missing = uniq('missing')
  const noFields = await raw('PUT', `/api/v1/namespaces/_/rules/${uniq('r')}`, { body: { trigger: `/_/${trigger}` } })
  assert.equal(noFields.status, 400)
  assertEnvelope(noFields.json, 'rule requires a valid trigger and a valid action')
  await rejects(ow.rules.create({ name: uniq('r'), trigger: missing, action }), 400, `trigger /${GUEST}/${missing} does not exist`)
  await rejects(ow.rules.create({ name: uniq('r'), trigger, action: missing }), 400, `action /${GUEST}/${missing} does not exist`)

  const name = uniq('orphan')
  await ow.rules.create({ name, trigger, action })
  await ow.triggers.delete({ name: trigger })
  assert.equal((await ow.rules.get({ name })).status, 'inactive')
  await rejects(ow.rules.enable({ name }), 404, 'Only rules with existing triggers can be activated')
  assert.equal(await ow.rules.disable({ name }), 'OK')
  await ow.rules.delete({ name })
})

test('rules reach actions in packages, bindings and public packages of other namespaces', async () => {
  const pub = uniq('shared-pkg')
  await ow.packages.create({ name: pub, package: { publish: true, parameters: [{ key: 'pkg', value: true }] } })
  await ow.actions.create({ name: `${pub}/echo`, action: ECHO })
  const binding = uniq('bind')
  await ow.packages.create({ name: binding, package: { binding: { namespace: '_', name: pub }, parameters: [{ key: 'bound', value: true }] } })

  const trigger = uniq('t')
  await ow.triggers.create({ name: trigger })
  const rule = uniq('r')
  const created = await ow.rules.create({ name: rule, trigger, action: `${binding}/echo` })
  assert.deepEqual(created.action, { path: `${GUEST}/${binding}`, name: 'echo' })
  const fired = await ow.triggers.invoke({ name: trigger, params: { x: 1 } })
  const line = JSON.parse((await activation(fired.activationId)).logs[0])
  assert.equal(line.success, true, JSON.stringify(line))
  const run = await activation(line.activationId)
  assert.equal(run.response.result.pkg, true)
  assert.equal(run.response.result.bound, true)
  assert.equal(run.response.result.x, 1)

  // the other namespace wires its own trigger to the guest's public package
  const t2 = uniq('t2')
  await ow2.triggers.create({ name: t2 })
  const r2 = uniq('r2')
  const theirs = await ow2.rules.create({ name: r2, trigger: t2, action: `/${GUEST}/${pub}/echo` })
  assert.deepEqual(theirs.action, { path: `${GUEST}/${pub}`, name: 'echo' })
  const fired2 = await ow2.triggers.invoke({ name: t2, params: { y: 2 } })
  const line2 = JSON.parse((await activation(fired2.activationId, ow2)).logs[0])
  assert.equal(line2.success, true, JSON.stringify(line2))
  assert.equal((await activation(line2.activationId, ow2)).response.result.y, 2)

  // but not to the guest's private actions or triggers
  const priv = uniq('priv')
  await createAction(priv, ECHO)
  await rejects(ow2.rules.create({ name: uniq('r'), trigger: t2, action: `/${GUEST}/${priv}` }), 403)
  await rejects(ow2.rules.create({ name: uniq('r'), trigger: `/${GUEST}/${trigger}`, action: `/${GUEST}/${pub}/echo` }), 403)
  const list = await raw('GET', `/api/v1/namespaces/${GUEST}/rules`, { auth: AUTH2 })
  assert.equal(list.status, 403)
})

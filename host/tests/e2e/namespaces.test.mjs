// Namespace isolation (spec §1.2): a second namespace cannot see or use the guest's actions and
// activations, and `_` always means the caller's own namespace.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  AUTH2, GUEST, NS2, activation, assertEnvelope, createAction, ow, ow2, raw, rejects, uniq
} from './helpers.mjs'

const forbidden = fqname => `The supplied authentication is not authorized to access '${fqname}'.`

test('the guest\'s actions are forbidden to another namespace', async () => {
  const name = uniq('private')
  await createAction(name, 'function main() { return { secret: true } }')

  const get = await raw('GET', `/api/v1/namespaces/${GUEST}/actions/${name}`, { auth: AUTH2 })
  assert.equal(get.status, 403)
  assertEnvelope(get.json, forbidden(`${GUEST}/${name}`))

  await rejects(ow2.actions.get({ name: `/${GUEST}/${name}` }), 403, forbidden(`${GUEST}/${name}`))
  await rejects(ow2.actions.invoke({ name: `/${GUEST}/${name}`, blocking: true }), 403, forbidden(`${GUEST}/${name}`))
  await rejects(ow2.actions.update({ name: `/${GUEST}/${name}`, action: 'function main() { return {} }' }), 403, forbidden(`${GUEST}/${name}`))
  await rejects(ow2.actions.delete({ name: `/${GUEST}/${name}` }), 403, forbidden(`${GUEST}/${name}`))

  const list = await raw('GET', `/api/v1/namespaces/${GUEST}/actions`, { auth: AUTH2 })
  assert.equal(list.status, 403)
  assertEnvelope(list.json, forbidden(GUEST))

  // the guest's action is untouched
  const mine = await ow.actions.get({ name })
  assert.equal(mine.version, '0.0.1')
  assert.deepEqual(await ow.actions.invoke({ name, blocking: true, result: true }), { secret: true })
})

test('each namespace lists only its own actions, even with equal names', async () => {
  const name = uniq('shared-name')
  await createAction(name, 'function main() { return { owner: "guest" } }')
  const theirs = await ow2.actions.create({ name, action: 'function main() { return { owner: "other" } }' })
  assert.equal(theirs.namespace, NS2)
  assert.equal(theirs.version, '0.0.1')

  const guestOnly = uniq('guest-only')
  await createAction(guestOnly, 'function main() { return {} }')

  const list2 = await ow2.actions.list({ limit: 0 })
  assert.ok(list2.every(a => a.namespace === NS2), JSON.stringify(list2.map(a => a.namespace)))
  assert.ok(!list2.some(a => a.name === guestOnly), `${guestOnly} visible to ${NS2}`)
  assert.ok(list2.some(a => a.name === name))

  assert.deepEqual(await ow.actions.invoke({ name, blocking: true, result: true }), { owner: 'guest' })
  assert.deepEqual(await ow2.actions.invoke({ name, blocking: true, result: true }), { owner: 'other' })
  // explicit own namespace works for the second namespace too
  const own = await raw('GET', `/api/v1/namespaces/${encodeURIComponent(NS2)}/actions/${name}`, { auth: AUTH2 })
  assert.equal(own.status, 200)
  assert.equal(own.json.namespace, NS2)

  await ow2.actions.delete({ name })
  assert.equal((await ow.actions.get({ name })).namespace, GUEST, 'deleting theirs left ours alone')
})

test('the guest\'s activations are invisible to another namespace', async () => {
  const name = uniq('activation-private')
  await createAction(name, 'function main() { return { mine: true } }')
  const { activationId } = await ow.actions.invoke({ name, blocking: true })
  await activation(activationId) // stored for the guest

  for (const suffix of ['', '/result', '/logs']) {
    const res = await raw('GET', `/api/v1/namespaces/_/activations/${activationId}${suffix}`, { auth: AUTH2 })
    assert.equal(res.status, 404, `activations/${activationId}${suffix}`)
    assertEnvelope(res.json, 'The requested resource does not exist.')
  }
  await rejects(ow2.activations.get({ activationId }), 404, 'The requested resource does not exist.')

  const theirs = await ow2.activations.list({ limit: 200 })
  assert.ok(!theirs.some(a => a.activationId === activationId))
  assert.ok(theirs.every(a => a.namespace === NS2))
  assert.deepEqual(await ow2.activations.list({ name }), [])
})

test('activations are recorded in the invoking namespace', async () => {
  const name = uniq('ns2-activation')
  await ow2.actions.create({ name, action: 'function main() { return { ns: process.env.__OW_NAMESPACE } }' })
  const act = await ow2.actions.invoke({ name, blocking: true })
  assert.equal(act.namespace, NS2)
  assert.deepEqual(act.response.result, { ns: NS2 })
  const stored = await activation(act.activationId, ow2)
  assert.equal(stored.activationId, act.activationId)
  await rejects(ow.activations.get({ activationId: act.activationId }), 404, 'The requested resource does not exist.')
})

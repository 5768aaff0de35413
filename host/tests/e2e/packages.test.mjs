// Packages and bindings (spec §2.4): CRUD with OpenWhisk's texts, actions inside packages,
// bindings with parameter precedence package < binding < action < payload, and public packages
// readable and invokable from another namespace (and nothing else).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  AUTH2, GUEST, NS2, annotation, assertEnvelope, createAction, ow, ow2, raw, rejects, uniq
} from './helpers.mjs'

const ECHO = 'function main(params) { return params }'
const forbidden = fqname => `The supplied authentication is not authorized to access '${fqname}'.`

test('package CRUD with summaries, versions and force delete', async () => {
  const name = uniq('pkg')
  const created = await ow.packages.create({ name, package: { parameters: [{ key: 'a', value: 1 }] } })
  assert.equal(created.namespace, GUEST)
  assert.deepEqual(created.annotations, [])
  assert.deepEqual(created.binding, {})
  assert.equal(created.version, '0.0.1')
  await rejects(ow.packages.create({ name }), 409, 'resource already exists')

  const updated = await ow.packages.update({ name, package: { publish: true } })
  assert.equal(updated.version, '0.0.2')
  assert.equal(updated.publish, true)
  assert.deepEqual(updated.parameters, [{ key: 'a', value: 1 }])

  const list = await ow.packages.list({ limit: 0 })
  const summary = list.find(p => p.name === name)
  assert.equal(summary.binding, false)
  assert.equal(summary.parameters, undefined)

  await ow.actions.create({ name: `${name}/one`, action: ECHO })
  const got = await ow.packages.get({ name })
  assert.deepEqual(got.actions.map(a => a.name), ['one'])
  assert.deepEqual(got.feeds, [])

  const inPkg = await ow.actions.list({ limit: 0 })
  assert.ok(inPkg.some(a => a.name === 'one' && a.namespace === `${GUEST}/${name}`))
  const pkgList = await raw('GET', `/api/v1/namespaces/_/actions/${name}/`)
  assert.equal(pkgList.status, 200)
  assert.deepEqual(pkgList.json.map(a => a.name), ['one'])

  const notEmpty = await raw('DELETE', `/api/v1/namespaces/_/packages/${name}`)
  assert.equal(notEmpty.status, 409)
  assertEnvelope(notEmpty.json, 'Package not empty (contains 1 entity). Set force param or delete package contents.')
  const forced = await raw('DELETE', `/api/v1/namespaces/_/packages/${name}?force=true`)
  assert.equal(forced.status, 200)
  await rejects(ow.actions.get({ name: `${name}/one` }), 404)
  await rejects(ow.packages.get({ name }), 404, `The requested resource '${GUEST}/${name}' does not exist.`)
  await rejects(ow.packages.delete({ name }), 404)
})

test('package errors: reserved name, POST, binding targets, actions in bindings', async () => {
  const reserved = await raw('PUT', '/api/v1/namespaces/_/packages/default', { body: {} })
  assert.equal(reserved.status, 400)
  assertEnvelope(reserved.json, "Package name 'default' is reserved.")

  const pkg = uniq('base')
  await ow.packages.create({ name: pkg })
  const post = await raw('POST', `/api/v1/namespaces/_/packages/${pkg}`, { body: {} })
  assert.equal(post.status, 405)

  await rejects(ow.packages.create({ name: uniq('b'), package: { binding: { namespace: '_', name: uniq('missing') } } }),
    400, 'Binding references a package that does not exist.')
  const bound = uniq('bound')
  await ow.packages.create({ name: bound, package: { binding: { namespace: '_', name: pkg } } })
  await rejects(ow.packages.create({ name: uniq('b'), package: { binding: { namespace: GUEST, name: bound } } }),
    400, 'Cannot bind to another package binding.')
  await rejects(ow.packages.update({ name: pkg, package: { binding: { namespace: GUEST, name: bound } } }),
    409, 'Resource is a package and cannot be converted into a binding.')
  const action = uniq('not-a-package')
  await ow.actions.create({ name: action, action: ECHO })
  await rejects(ow.packages.create({ name: uniq('b'), package: { binding: { namespace: GUEST, name: action } } }),
    409, 'Cannot bind to a resource that is not a package.')
  await ow.actions.delete({ name: action })

  const inBinding = await raw('PUT', `/api/v1/namespaces/_/actions/${bound}/x`, { body: { exec: { kind: 'nodejs:default', code: ECHO } } })
  assert.equal(inBinding.status, 400)
  assertEnvelope(inBinding.json, 'Operation not permitted on package binding.')
  const inMissing = await raw('PUT', `/api/v1/namespaces/_/actions/${uniq('nopkg')}/x`, { body: { exec: { kind: 'nodejs:default', code: ECHO } } })
  assert.equal(inMissing.status, 404)
})

test('bindings layer parameters package < binding < action < payload', async () => {
  const pkg = uniq('params')
  await ow.packages.create({
    name: pkg,
    package: { parameters: [{ key: 'p', value: 'pkg' }, { key: 'b', value: 'pkg' }, { key: 'a', value: 'pkg' }, { key: 'x', value: 'pkg' }] }
  })
  await ow.actions.create({ name: `${pkg}/echo`, action: ECHO, params: { a: 'action', x: 'action' } })
  const binding = uniq('binding')
  const created = await ow.packages.create({
    name: binding,
    package: { binding: { namespace: '_', name: pkg }, parameters: [{ key: 'b', value: 'binding' }, { key: 'a', value: 'binding' }] }
  })
  assert.deepEqual(created.binding, { namespace: GUEST, name: pkg })
  assert.deepEqual(annotation(created, 'binding'), { namespace: GUEST, name: pkg })

  const direct = await ow.actions.invoke({ name: `${pkg}/echo`, blocking: true, result: true })
  assert.deepEqual(direct, { p: 'pkg', b: 'pkg', a: 'action', x: 'action' })

  const res = await ow.actions.invoke({ name: `${binding}/echo`, params: { x: 'payload' }, blocking: true })
  assert.deepEqual(res.response.result, { p: 'pkg', b: 'binding', a: 'action', x: 'payload' })
  assert.equal(annotation(res, 'binding'), `${GUEST}/${binding}`)
  assert.equal(annotation(res, 'path'), `${GUEST}/${pkg}/echo`)
  // Listed under the binding it was reached through (`wsk activation list <binding>/echo`),
  // the direct one under its package.
  const byBinding = await ow.activations.list({ name: `${binding}/echo`, limit: 0 })
  assert.deepEqual(byBinding.map(a => a.activationId), [res.activationId])
  const byPackage = await ow.activations.list({ name: `${pkg}/echo`, limit: 0 })
  assert.ok(byPackage.length >= 1)
  assert.ok(!byPackage.some(a => a.activationId === res.activationId))

  const got = await ow.packages.get({ name: binding })
  assert.deepEqual(got.actions.map(a => a.name), ['echo'])
  const params = Object.fromEntries(got.parameters.map(p => [p.key, p.value]))
  assert.deepEqual(params, { p: 'pkg', b: 'binding', a: 'binding', x: 'pkg' })
  const listed = await raw('GET', `/api/v1/namespaces/_/actions/${binding}/`)
  assert.deepEqual(listed.json.map(a => a.name), ['echo'])
  assert.equal((await ow.actions.get({ name: `${binding}/echo` })).namespace, `${GUEST}/${pkg}`)
})

test('public packages are readable and invokable from another namespace, private ones are not', async () => {
  const pub = uniq('public')
  const priv = uniq('private')
  await ow.packages.create({ name: pub, package: { publish: true, parameters: [{ key: 'from', value: 'package' }] } })
  await ow.packages.create({ name: priv })
  await ow.actions.create({ name: `${pub}/echo`, action: ECHO })
  await ow.actions.create({ name: `${priv}/echo`, action: ECHO })

  const seen = await ow2.packages.list({ namespace: GUEST, limit: 0 })
  assert.ok(seen.some(p => p.name === pub))
  assert.ok(seen.every(p => p.publish === true && p.binding === false), JSON.stringify(seen))
  assert.deepEqual(await ow2.packages.list({ namespace: GUEST, count: true }), { packages: seen.length })
  assert.equal((await ow2.packages.get({ name: `/${GUEST}/${pub}` })).name, pub)
  const result = await ow2.actions.invoke({ name: `/${GUEST}/${pub}/echo`, params: { n: 1 }, blocking: true })
  assert.deepEqual(result.response.result, { from: 'package', n: 1 })
  assert.equal(result.namespace, NS2)

  await rejects(ow2.packages.get({ name: `/${GUEST}/${priv}` }), 403, forbidden(`${GUEST}/${priv}`))
  await rejects(ow2.actions.invoke({ name: `/${GUEST}/${priv}/echo`, blocking: true }), 403, forbidden(`${GUEST}/${priv}/echo`))
  const put = await raw('PUT', `/api/v1/namespaces/${GUEST}/actions/${pub}/evil`, { auth: AUTH2, body: { exec: { kind: 'nodejs:default', code: ECHO } } })
  assert.equal(put.status, 403)
  await rejects(ow2.packages.delete({ name: `/${GUEST}/${pub}` }), 403)
  await rejects(ow2.packages.update({ name: `/${GUEST}/${pub}`, package: {} }), 403)

  // another namespace may bind to the public package and invoke through the binding
  const mine = uniq('their-binding')
  await ow2.packages.create({ name: mine, package: { binding: { namespace: GUEST, name: pub }, parameters: [{ key: 'from', value: 'binding' }] } })
  const viaBinding = await ow2.actions.invoke({ name: `${mine}/echo`, blocking: true, result: true })
  assert.deepEqual(viaBinding, { from: 'binding' })
  await rejects(ow2.packages.create({ name: uniq('bad'), package: { binding: { namespace: GUEST, name: priv } } }), 403)
})

test('final protects the parameters an action inherits from its package and binding', async () => {
  const pkg = uniq('final-pkg')
  const binding = uniq('final-bind')
  await ow.packages.create({ name: pkg, package: { parameters: [{ key: 'fromPkg', value: 'p' }] } })
  await ow.packages.create({ name: binding, package: { binding: { namespace: '_', name: pkg }, parameters: [{ key: 'fromBinding', value: 'b' }] } })
  await createAction(`${pkg}/act`, 'function main(p) { return p }', { annotations: { final: true } })
  for (const key of ['fromPkg']) {
    await rejects(ow.actions.invoke({ name: `${pkg}/act`, blocking: true, params: { [key]: 'x' } }), 400,
      'Request defines parameters that are not allowed (e.g., reserved properties).')
  }
  for (const key of ['fromPkg', 'fromBinding']) {
    await rejects(ow.actions.invoke({ name: `${binding}/act`, blocking: true, params: { [key]: 'x' } }), 400,
      'Request defines parameters that are not allowed (e.g., reserved properties).')
  }
  const ok = await ow.actions.invoke({ name: `${binding}/act`, blocking: true, result: true, params: { other: 1 } })
  assert.deepEqual(ok, { fromPkg: 'p', fromBinding: 'b', other: 1 })
})

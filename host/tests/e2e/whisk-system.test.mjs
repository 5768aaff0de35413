// The built-in catalog: namespace `whisk.system` with the public package `utils`, whose actions
// any namespace may read and invoke directly, from a rule, or through its own binding.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GUEST, NS2, activation, ow, ow2, rejects, uniq } from './helpers.mjs'

const invoke = (name, params, api = ow) =>
  api.actions.invoke({ name: `/whisk.system/utils/${name}`, params, blocking: true, result: true })

test('/whisk.system/utils is public and lists its actions', async () => {
  const listed = await ow.packages.list({ namespace: 'whisk.system' })
  const utils = listed.find(p => p.name === 'utils')
  assert.equal(utils.publish, true)
  assert.equal(utils.binding, false)
  const pkg = await ow.packages.get({ name: '/whisk.system/utils' })
  assert.deepEqual(pkg.actions.map(a => a.name).sort(),
    ['cat', 'date', 'echo', 'head', 'namespace', 'smash', 'sort', 'split'])
  await rejects(ow.actions.delete({ name: '/whisk.system/utils/echo' }), 403)
})

test('the utils actions compute what the OpenWhisk catalog documents', async () => {
  assert.deepEqual(await invoke('echo', { payload: 'hi' }), { payload: 'hi' })
  assert.deepEqual(await invoke('cat', { lines: [4, 2, 3] }), { lines: [4, 2, 3], payload: '4\n2\n3' })
  assert.deepEqual(await invoke('sort', { lines: [4, 2, 3] }), { lines: [2, 3, 4], length: 3 })
  assert.deepEqual(await invoke('split', { payload: 'one,two,three', separator: ',' }),
    { lines: ['one', 'two', 'three'], payload: 'one,two,three' })
  assert.deepEqual(await invoke('head', { lines: [4, 2, 3], num: 2 }), { lines: [4, 2], num: 2 })
  assert.deepEqual(await invoke('smash', { a: 1, b: { c: 2 }, $fieldName: 'p' }), { p: { a: 1, b: { c: 2 } } })
  assert.match((await invoke('date', {})).date, /^\d{4}-\d\d-\d\dT/)
  assert.deepEqual(await invoke('namespace', {}), { namespace: GUEST })
  assert.deepEqual(await invoke('namespace', {}, ow2), { namespace: NS2 })
})

test('a rule fires /whisk.system/utils/echo', async () => {
  const trigger = uniq('t')
  const rule = uniq('r')
  await ow.triggers.create({ name: trigger })
  await ow.rules.create({ name: rule, trigger, action: '/whisk.system/utils/echo' })
  const fired = await ow.triggers.invoke({ name: trigger, params: { hello: 'world' } })
  assert.ok(fired.activationId)
  const line = JSON.parse((await activation(fired.activationId)).logs[0])
  assert.equal(line.action, 'whisk.system/utils/echo')
  assert.equal((await activation(line.activationId)).response.result.hello, 'world')
  await ow.triggers.delete({ name: trigger })
  await ow.rules.delete({ name: rule })
})

// One tenant can never hurt another: stored entities that would make shoal recurse without
// bound (sequence cycles, hidden by a binding or made behind the create-time check) end as
// OpenWhisk errors, and the server keeps answering.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { AUTH2, GUEST, createAction, ow, ow2, raw, rejects, uniq } from './helpers.mjs'

function bind (name, target, overwrite = false) {
  return raw('PUT', `/api/v1/namespaces/_/packages/${name}?overwrite=${overwrite}`, {
    body: { binding: { namespace: GUEST, name: target } }
  })
}

test('a sequence cycle hidden by a binding is refused at create time', async () => {
  const [pkg, bound, seq] = [uniq('cyc'), uniq('cycb'), uniq('seqA')]
  await ow.packages.create({ name: pkg })
  await createAction(`${pkg}/a`, 'function main() { return {} }')
  assert.equal((await bind(bound, pkg)).status, 200)
  await ow.actions.create({ name: seq, sequence: [`/${GUEST}/${bound}/a`] })
  await rejects(
    ow.actions.update({ name: `${pkg}/a`, sequence: [`/${GUEST}/${seq}`] }),
    400,
    'Sequence may not refer to itself.'
  )
})

test('a cycle made by rebinding after creation ends as "Too many actions" and shoal stays up', async () => {
  const [p1, p2, bound, seq] = [uniq('p1'), uniq('p2'), uniq('b'), uniq('seqA')]
  await ow.packages.create({ name: p1 })
  await ow.packages.create({ name: p2 })
  await createAction(`${p1}/a`, 'function main() { return {} }')
  assert.equal((await bind(bound, p1)).status, 200)
  await ow.actions.create({ name: seq, sequence: [`/${GUEST}/${bound}/a`] })
  await ow.actions.create({ name: `${p2}/a`, sequence: [`/${GUEST}/${seq}`] })
  // The binding now leads seqA -> b/a = p2/a -> seqA -> …
  assert.equal((await bind(bound, p2, true)).status, 200)
  const err = await rejects(ow.actions.invoke({ name: seq, blocking: true }), 502)
  assert.equal(err.error.response.status, 'application error')
  assert.deepEqual(err.error.response.result, { error: 'Too many actions in the sequence.' })
  assert.equal((await raw('GET', '/ping', { auth: null })).status, 200)
  // A second time, and non-blocking: the stored cycle never takes the process down.
  const { activationId } = await ow.actions.invoke({ name: seq })
  assert.ok(activationId)
  assert.equal((await raw('GET', '/ping', { auth: null })).status, 200)
})

test('a sequence whose nested sequences grew past 50 atomic actions stops at the dynamic count', async () => {
  const inc = uniq('inc')
  await createAction(inc, 'function main(p) { return { n: (p.n || 0) + 1 } }')
  const inner = uniq('inner')
  await ow.actions.create({ name: inner, sequence: [`/_/${inc}`] })
  const outer = uniq('outer')
  await ow.actions.create({ name: outer, sequence: Array(30).fill(`/_/${inner}`) })
  // Each inner sequence now runs two atomic actions: 60 in all, over sequenceMaxLength.
  await ow.actions.update({ name: inner, sequence: [`/_/${inc}`, `/_/${inc}`] })
  const err = await rejects(ow.actions.invoke({ name: outer, blocking: true, params: { n: 0 } }), 502)
  assert.deepEqual(err.error.response.result, { error: 'Too many actions in the sequence.' })
})

test('another namespace\'s triggers and packages are all the same 403, whether they exist or not', async () => {
  const [trigger, pkg, action] = [uniq('t'), uniq('private'), uniq('a')]
  await ow.triggers.create({ name: trigger })
  await ow.packages.create({ name: pkg })
  await createAction(action, 'function main() { return {} }')
  const a2 = uniq('a2')
  await ow2.actions.create({ name: a2, action: 'function main() { return {} }' })
  for (const target of [trigger, uniq('missing')]) {
    const err = await rejects(ow2.rules.create({ name: uniq('r'), trigger: `/${GUEST}/${target}`, action: a2 }), 403)
    assert.match(err.error.error, /not authorized/)
  }
  for (const target of [pkg, uniq('missing'), action]) {
    const res = await raw('PUT', `/api/v1/namespaces/_/packages/${uniq('b')}`, {
      auth: AUTH2,
      body: { binding: { namespace: GUEST, name: target } }
    })
    assert.equal(res.status, 403, `${target}: ${res.text}`)
  }
})

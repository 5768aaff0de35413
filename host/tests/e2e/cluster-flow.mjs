// A wsk-style session with the npm `openwhisk` client through a load balancer in front of
// several shoal nodes, where consecutive requests land on different nodes: actions, a
// package, blocking and non-blocking invokes, an update, a trigger with a rule, activation
// reads and lists, then clean-up. Not part of the single-node suite (no `.test.mjs`):
// `host/tests/all/nodes.rs` runs it against `deploy/cluster.sh`, before and after it kills
// a node and restarts PostgreSQL.
//
//   SHOAL_API_HOST  the balancer's URL
//   SHOAL_AUTH      the guest namespace's `uuid:key`
//   argv[2]         a tag that makes this run's entity names unique

import assert from 'node:assert/strict'
import openwhisk from 'openwhisk'

const ow = openwhisk({ apihost: process.env.SHOAL_API_HOST, api_key: process.env.SHOAL_AUTH })
const tag = process.argv[2]
assert.ok(tag, 'usage: node cluster-flow.mjs TAG')
const [action, pkg, trigger, rule] = ['flow', 'flowpkg', 'flowt', 'flowr'].map(n => `${n}-${tag}`)
const HELLO = 'function main(p) { return { hello: p.name || "world", version: 1 } }'
const ECHO = 'function main(p) { return p }'

/** Retries `fn` every 50 ms for up to a minute (a bound on a hang, not a timing guess). */
async function eventually (fn) {
  const deadline = Date.now() + 60000
  for (;;) {
    try {
      return await fn()
    } catch (e) {
      if (Date.now() > deadline) throw e
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }
}

await ow.actions.create({ name: action, action: HELLO })
await ow.packages.create({ name: pkg, package: { parameters: [{ key: 'name', value: 'pkg' }] } })
await ow.actions.create({ name: `${pkg}/echo`, action: ECHO })

// Blocking invokes: each record is durable before its answer, so every node serves it.
const ids = []
for (let i = 0; i < 6; i++) {
  const run = await ow.actions.invoke({ name: action, blocking: true, params: { name: `n${i}` } })
  assert.equal(run.response.result.hello, `n${i}`)
  ids.push(run.activationId)
}
for (const id of ids) {
  const read = await ow.activations.get({ activationId: id })
  assert.equal(read.activationId, id)
  assert.equal(read.name, action)
}
const listed = await ow.activations.list({ name: action, limit: 50 })
assert.deepEqual(new Set(listed.map(a => a.activationId)), new Set(ids))
const inPackage = await ow.actions.invoke({ name: `${pkg}/echo`, blocking: true, result: true })
assert.equal(inPackage.name, 'pkg')

// A non-blocking invoke finishes on one node and is read back through any.
const accepted = await ow.actions.invoke({ name: action, params: { name: 'later' } })
const later = await eventually(() => ow.activations.get({ activationId: accepted.activationId }))
assert.equal(later.response.result.hello, 'later')

// An update reaches every node (through the change stream, within a bounded delay).
await ow.actions.update({ name: action, action: HELLO.replace('version: 1', 'version: 2') })
for (let i = 0; i < 4; i++) {
  await eventually(async () => {
    const run = await ow.actions.invoke({ name: action, blocking: true, result: true })
    assert.equal(run.version, 2)
  })
}

// A trigger fired through one node runs its rule's action; both records are readable.
await ow.triggers.create({ name: trigger })
await ow.rules.create({ name: rule, trigger, action })
const fired = await ow.triggers.invoke({ name: trigger, params: { name: 'fired' } })
const fire = await eventually(() => ow.activations.get({ activationId: fired.activationId }))
const line = JSON.parse(fire.logs[0])
assert.equal(line.success, true, JSON.stringify(line))
const ruled = await eventually(() => ow.activations.get({ activationId: line.activationId }))
assert.equal(ruled.response.result.hello, 'fired')

await ow.rules.delete({ name: rule })
await ow.triggers.delete({ name: trigger })
await ow.actions.delete({ name: `${pkg}/echo` })
await ow.packages.delete({ name: pkg })
await ow.actions.delete({ name: action })
await eventually(() => assert.rejects(ow.actions.get({ name: action }), e => e.statusCode === 404))
console.log(`cluster flow ${tag}: ok`)

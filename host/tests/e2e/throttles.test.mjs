// Namespace throttles (spec §8.1) through the npm client: a namespace allowed 3 invokes a
// minute (set with `shoal namespace set-limits` by the test driver) gets OpenWhisk's 429.
import { test } from 'node:test'
import assert from 'node:assert/strict'

import { AUTH3, client, raw, rejects } from './helpers.mjs'

test('a namespace over its invocationsPerMinute gets 429 with the OpenWhisk text', async () => {
  const ow3 = client(AUTH3)
  await ow3.actions.create({ name: 'limited', action: 'function main() { return { ok: true } }' })
  const limits = await raw('GET', '/api/v1/namespaces/_/limits', { auth: AUTH3 })
  assert.equal(limits.json.invocationsPerMinute, 3)
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await ow3.actions.invoke({ name: 'limited', blocking: true, result: true }), { ok: true })
  }
  // Three a minute: of the next four calls at least one is refused, even if a minute turns
  // over among them (at most six can pass within two minutes).
  let refused
  for (let i = 0; i < 4 && !refused; i++) {
    try {
      await ow3.actions.invoke({ name: 'limited', blocking: true, result: true })
    } catch (e) {
      refused = e
    }
  }
  await rejects(
    refused ? Promise.reject(refused) : Promise.resolve('seven calls passed'),
    429,
    'Too many requests in the last minute (count: 3, allowed: 3).'
  )
})

// Action CRUD with the npm client (spec §2.2, §2.3, §3.2, §9.3): create, conflicts, update merge
// rules, get with and without code, list order and count, delete, validation errors, `_`.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DEFAULT_LIMITS, GUEST, annotation, assertEnvelope, createAction, ow, raw, rejects, sleep, uniq
} from './helpers.mjs'

const ECHO = 'function main(params) { return params }'

test('create echoes the action with resolved kind, defaults and system annotations', async () => {
  const name = uniq('create')
  const created = await createAction(name, ECHO, { params: { hello: 'world' } })
  assert.equal(created.name, name)
  assert.equal(created.namespace, GUEST)
  assert.equal(created.exec.kind, 'nodejs:20')
  assert.equal(created.exec.code, ECHO)
  assert.equal(created.exec.binary, false)
  assert.deepEqual(created.parameters, [{ key: 'hello', value: 'world' }])
  assert.deepEqual(created.limits, DEFAULT_LIMITS)
  assert.equal(created.version, '0.0.1')
  assert.equal(created.publish, false)
  assert.equal(annotation(created, 'exec'), 'nodejs:20')
  assert.equal(annotation(created, 'provide-api-key'), false)
  assert.equal(typeof created.updated, 'number')

  const fetched = await ow.actions.get({ name })
  assert.equal(fetched.name, name)
  assert.equal(fetched.exec.code, ECHO)
  assert.deepEqual(fetched.parameters, created.parameters)
  assert.equal(fetched.version, '0.0.1')
})

test('an explicit nodejs:18 kind is kept', async () => {
  const name = uniq('node18')
  const created = await createAction(name, ECHO, { kind: 'nodejs:18' })
  assert.equal(created.exec.kind, 'nodejs:18')
  assert.equal(annotation(created, 'exec'), 'nodejs:18')
})

test('creating an existing action again is a 409 conflict', async () => {
  const name = uniq('conflict')
  await createAction(name, ECHO)
  await rejects(createAction(name, ECHO), 409, 'resource already exists')
  await rejects(createAction(name, ECHO, { overwrite: false }), 409, 'resource already exists')
  // the original is untouched
  assert.equal((await ow.actions.get({ name })).version, '0.0.1')
})

test('update replaces parameters, bumps the version, merges annotations and limits per field', async () => {
  const name = uniq('update')
  await createAction(name, ECHO, {
    params: { hello: 'world', stale: true },
    annotations: { description: 'first', kept: 1 },
    limits: { memory: 128, timeout: 2000 }
  })

  const updated = await ow.actions.update({
    name,
    params: { fresh: 'yes' },
    annotations: { description: 'second', added: true },
    limits: { timeout: 5000 }
  })
  assert.equal(updated.name, name)
  assert.equal(updated.version, '0.0.2')
  assert.deepEqual(updated.parameters, [{ key: 'fresh', value: 'yes' }])
  assert.deepEqual(updated.limits, { ...DEFAULT_LIMITS, memory: 128, timeout: 5000 })
  assert.equal(annotation(updated, 'description'), 'second')
  assert.equal(annotation(updated, 'kept'), 1)
  assert.equal(annotation(updated, 'added'), true)
  assert.equal(annotation(updated, 'exec'), 'nodejs:20')
  assert.equal(annotation(updated, 'provide-api-key'), false)
  assert.equal(updated.annotations.filter(a => a.key === 'description').length, 1)
  // code kept when the update carries no exec
  assert.equal(updated.exec.code, ECHO)

  const newCode = 'function main() { return { v: 3 } }'
  const third = await ow.actions.update({ name, action: newCode })
  assert.equal(third.version, '0.0.3')
  assert.equal(third.exec.code, newCode)
  // parameters kept when the update carries none
  assert.deepEqual(third.parameters, [{ key: 'fresh', value: 'yes' }])

  const fetched = await ow.actions.get({ name })
  assert.equal(fetched.version, '0.0.3')
  assert.equal(fetched.exec.code, newCode)
})

test('update of a missing action creates it', async () => {
  const name = uniq('upsert')
  const created = await ow.actions.update({ name, action: ECHO })
  assert.equal(created.version, '0.0.1')
  assert.equal(created.exec.code, ECHO)
})

test('get with code:false omits the code', async () => {
  const name = uniq('nocode')
  await createAction(name, ECHO)
  const meta = await ow.actions.get({ name, code: false })
  assert.equal(meta.name, name)
  assert.equal(meta.exec.kind, 'nodejs:20')
  assert.equal(meta.exec.binary, false)
  assert.equal(meta.exec.code, undefined)
  const full = await ow.actions.get({ name, code: true })
  assert.equal(full.exec.code, ECHO)
})

test('list returns summaries newest first, and count=true counts them', async () => {
  const older = uniq('list-older')
  const newer = uniq('list-newer')
  await createAction(older, ECHO)
  await sleep(5) // distinct `updated` stamps
  await createAction(newer, ECHO)

  const list = await ow.actions.list()
  assert.ok(Array.isArray(list))
  const names = list.map(a => a.name)
  assert.ok(names.includes(newer), `${newer} missing from ${names}`)
  assert.ok(names.includes(older), `${older} missing from ${names}`)
  assert.ok(names.indexOf(newer) < names.indexOf(older), `not newest first: ${names}`)
  for (const item of list) {
    assert.equal(item.namespace, GUEST)
    assert.equal(typeof item.version, 'string')
    assert.equal(item.exec?.code, undefined, 'list items are summaries without code')
  }
  for (let i = 1; i < list.length; i++) {
    assert.ok(list[i - 1].updated >= list[i].updated, 'list is ordered by updated, descending')
  }

  const limited = await ow.actions.list({ limit: 1 })
  assert.equal(limited.length, 1)
  assert.equal(limited[0].name, newer)
  const skipped = await ow.actions.list({ limit: 1, skip: 1 })
  assert.equal(skipped[0].name, older)

  const all = await ow.actions.list({ limit: 0 })
  const count = await raw('GET', '/api/v1/namespaces/_/actions?count=true')
  assert.equal(count.status, 200)
  assert.deepEqual(Object.keys(count.json), ['actions'])
  assert.equal(count.json.actions, all.length)
  assert.deepEqual(await ow.actions.list({ count: true }), { actions: all.length })
})

test('list rejects a limit above 200', async () => {
  await rejects(ow.actions.list({ limit: 201 }), 400, 'The value \'201\' is not in the range of 0 to 200 for actions.')
})

test('delete returns the action, then get and delete are 404', async () => {
  const name = uniq('delete')
  await createAction(name, ECHO)
  const deleted = await ow.actions.delete({ name })
  assert.equal(deleted.name, name)
  assert.equal(deleted.namespace, GUEST)
  const err = await rejects(ow.actions.get({ name }), 404, 'The requested resource does not exist.')
  assert.equal(err.error.error, 'The requested resource does not exist.')
  await rejects(ow.actions.delete({ name }), 404, 'The requested resource does not exist.')
  await rejects(ow.actions.invoke({ name, blocking: true }), 404, 'The requested resource does not exist.')
  assert.ok(!(await ow.actions.list()).some(a => a.name === name))
})

test('get, invoke and delete of a missing action are 404', async () => {
  const name = uniq('missing')
  await rejects(ow.actions.get({ name }), 404, 'The requested resource does not exist.')
  await rejects(ow.actions.invoke({ name }), 404, 'The requested resource does not exist.')
  await rejects(ow.actions.delete({ name }), 404, 'The requested resource does not exist.')
})

test('limits outside the allowed range are rejected with the OpenWhisk texts', async () => {
  const cases = [
    [{ memory: 64 }, 'memory size 64 MB below allowed threshold of 128 MB'],
    [{ timeout: 50 }, 'duration 50 milliseconds below allowed threshold of 100 milliseconds'],
    [{ timeout: 300001 }, 'duration 300001 milliseconds exceeds allowed threshold of 300000 milliseconds'],
    [{ logs: 11 }, 'log size 11 MB exceeds allowed threshold of 10 MB']
  ]
  for (const [limits, text] of cases) {
    const name = uniq('limits')
    await rejects(createAction(name, ECHO, { limits }), 400, text)
    await rejects(ow.actions.get({ name }), 404)
  }
})

test('an unknown kind is rejected and the valid kinds are listed', async () => {
  const name = uniq('badkind')
  const err = await rejects(createAction(name, 'def main(args): return args', { kind: 'python:9' }), 400)
  assertEnvelope(err.error)
  const prefix = 'The request content was malformed:\nThe specified runtime \'python:9\' is not supported by this platform. Valid values are:'
  assert.ok(err.error.error.startsWith(prefix), `got: ${JSON.stringify(err.error.error)}`)
  assert.ok(err.error.error.includes('\'nodejs:20\''), err.error.error)
  assert.ok(err.error.error.includes('\'nodejs:18\''), err.error.error)
  await rejects(ow.actions.get({ name }), 404)
})

test('create without exec is rejected with "exec undefined"', async () => {
  const name = uniq('noexec')
  // a plain-object `action` is sent verbatim as the request body
  await rejects(ow.actions.create({ name, action: { parameters: [] } }), 400, 'exec undefined')
  const res = await raw('PUT', `/api/v1/namespaces/_/actions/${name}`, { body: {} })
  assert.equal(res.status, 400)
  assertEnvelope(res.json, 'exec undefined')
  await rejects(ow.actions.get({ name }), 404)
})

test('malformed JSON bodies are rejected as 400 with the envelope', async () => {
  const name = uniq('badjson')
  const res = await raw('PUT', `/api/v1/namespaces/_/actions/${name}`, { body: '{"exec": ' })
  assert.equal(res.status, 400)
  assertEnvelope(res.json, /^The request content was malformed:/)
})

test('namespace `_` and the explicit namespace name address the same action', async () => {
  const name = uniq('underscore')
  const created = await createAction(name, 'function main(p) { return { got: p.x } }')
  const viaName = await raw('GET', `/api/v1/namespaces/${GUEST}/actions/${name}`)
  const viaUnderscore = await raw('GET', `/api/v1/namespaces/_/actions/${name}`)
  assert.equal(viaName.status, 200)
  assert.equal(viaUnderscore.status, 200)
  assert.deepEqual(viaName.json, viaUnderscore.json)
  assert.equal(viaName.json.updated, created.updated)
  assert.equal(viaName.json.namespace, GUEST)

  const invoked = await raw('POST', `/api/v1/namespaces/${GUEST}/actions/${name}?blocking=true&result=true`, { body: { x: 7 } })
  assert.equal(invoked.status, 200)
  assert.deepEqual(invoked.json, { got: 7 })

  // the client with an explicit namespace in the name
  const viaClient = await ow.actions.get({ name: `/${GUEST}/${name}` })
  assert.equal(viaClient.name, name)
  const deleted = await raw('DELETE', `/api/v1/namespaces/${GUEST}/actions/${name}`)
  assert.equal(deleted.status, 200)
  await rejects(ow.actions.get({ name }), 404)
})

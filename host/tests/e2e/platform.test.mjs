// Platform-level routes and HTTP conventions (spec §1, §2.1, §8.5), checked with raw fetch and the
// npm client: info routes, authentication, the error envelope, X-Request-ID, CORS.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  AUTH, AUTH2, GUEST, NS2, assertEnvelope, basic, client, ow, raw, rejects
} from './helpers.mjs'

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, DELETE, POST, PUT, HEAD',
  'access-control-allow-headers': 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent'
}

function assertCors (headers) {
  for (const [name, value] of Object.entries(CORS)) {
    assert.equal(headers.get(name), value, `header ${name}`)
  }
}

test('GET /api/v1 describes the API without authentication', async () => {
  for (const path of ['/api/v1', '/api/v1/']) {
    const res = await raw('GET', path, { auth: null })
    assert.equal(res.status, 200, path)
    assert.match(res.headers.get('content-type'), /^application\/json/)
    const info = res.json
    assert.equal(info.description, 'OpenWhisk API')
    assert.equal(info.api_version, '1.0.0')
    assert.equal(info.api_version_path, 'v1')
    assert.equal(typeof info.build, 'string')
    assert.equal(typeof info.buildno, 'string')
    assert.deepEqual(info.swagger_paths, { ui: '/docs', 'api-docs': '/api-docs' })
  }
})

test('GET / lists the API paths, limits and the nodejs runtimes with nodejs:20 as default', async () => {
  const res = await raw('GET', '/', { auth: null })
  assert.equal(res.status, 200)
  const info = res.json
  assert.equal(info.description, 'OpenWhisk')
  assert.deepEqual(info.api_paths, ['/api/v1'])
  assert.equal(typeof info.limits, 'object')
  for (const key of ['min_action_duration', 'max_action_duration', 'min_action_memory', 'max_action_memory']) {
    assert.equal(typeof info.limits[key], 'number', `limits.${key}`)
  }
  const nodejs = info.runtimes.nodejs
  assert.ok(Array.isArray(nodejs), 'runtimes.nodejs is an array')
  const kinds = nodejs.map(r => r.kind)
  assert.ok(kinds.includes('nodejs:20'), `kinds: ${kinds}`)
  assert.ok(kinds.includes('nodejs:18'), `kinds: ${kinds}`)
  const defaults = nodejs.filter(r => r.default === true).map(r => r.kind)
  assert.deepEqual(defaults, ['nodejs:20'])
})

test('GET /ping answers pong', async () => {
  const res = await raw('GET', '/ping', { auth: null })
  assert.equal(res.status, 200)
  assert.equal(res.text, 'pong')
})

test('GET /api/v1/namespaces lists only the caller\'s namespace', async () => {
  assert.deepEqual(await ow.namespaces.list(), [GUEST])
  assert.deepEqual(await client(AUTH2).namespaces.list(), [NS2])
  const res = await raw('GET', '/api/v1/namespaces/')
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, [GUEST])
})

test('GET /api/v1/namespaces/_/limits has the spec keys and action limits', async () => {
  const res = await raw('GET', '/api/v1/namespaces/_/limits')
  assert.equal(res.status, 200)
  const limits = res.json
  for (const key of ['invocationsPerMinute', 'concurrentInvocations', 'firesPerMinute', 'maxActionInstances']) {
    assert.ok(Number.isInteger(limits[key]), `${key}: ${limits[key]}`)
  }
  assert.equal(limits.maxActionInstances, limits.concurrentInvocations)
  assert.equal(limits.minActionMemory, 128)
  assert.equal(limits.maxActionMemory, 512)
  assert.equal(limits.minActionLogs, 0)
  assert.equal(limits.maxActionLogs, 10)
  assert.equal(limits.minActionTimeout, 100)
  assert.equal(limits.maxActionTimeout, 300000)
  assert.equal(limits.minActionConcurrency, 1)
  assert.equal(limits.maxActionConcurrency, 1)
  assert.equal(limits.maxParameterSize, '1 MB')
  // the same object through the explicit namespace name
  const named = await raw('GET', `/api/v1/namespaces/${GUEST}/limits`)
  assert.equal(named.status, 200)
  assert.deepEqual(named.json, limits)
})

test('a wrong key is rejected with 401 and the OpenWhisk text', async () => {
  const [uuid] = AUTH.split(':')
  const wrongKey = client(`${uuid}:${'x'.repeat(64)}`)
  await rejects(wrongKey.actions.list(), 401, 'The supplied authentication is invalid')
  const unknownSubject = client(`00000000-0000-4000-8000-000000000000:${'y'.repeat(64)}`)
  await rejects(unknownSubject.namespaces.list(), 401, 'The supplied authentication is invalid')
  const res = await raw('GET', '/api/v1/namespaces/_/actions', { auth: 'not-a-pair' })
  assert.equal(res.status, 401)
  assertEnvelope(res.json, 'The supplied authentication is invalid')
})

test('missing credentials are rejected with 401 and a WWW-Authenticate challenge', async () => {
  for (const path of ['/api/v1/namespaces', '/api/v1/namespaces/_/actions', '/api/v1/namespaces/_/activations']) {
    const res = await raw('GET', path, { auth: null })
    assert.equal(res.status, 401, path)
    assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/, path)
    assertEnvelope(res.json)
  }
})

test('every response carries X-Request-ID; error codes are the request id', async () => {
  const ok = await raw('GET', '/api/v1/namespaces')
  assert.match(ok.headers.get('x-request-id') ?? '', /^\S+$/)

  const info = await raw('GET', '/api/v1', { auth: null })
  assert.match(info.headers.get('x-request-id') ?? '', /^\S+$/)

  const unauthorized = await raw('GET', '/api/v1/namespaces', { auth: null })
  assert.equal(unauthorized.status, 401)
  assert.equal(unauthorized.json.code, unauthorized.headers.get('x-request-id'))

  const missing = await raw('GET', '/api/v1/namespaces/_/actions/does-not-exist-anywhere')
  assert.equal(missing.status, 404)
  assertEnvelope(missing.json, 'The requested resource does not exist.')
  assert.equal(missing.json.code, missing.headers.get('x-request-id'))

  const distinct = await raw('GET', '/api/v1/namespaces')
  assert.notEqual(distinct.headers.get('x-request-id'), ok.headers.get('x-request-id'))
})

test('an incoming X-Request-ID is adopted as the transaction id', async () => {
  const tid = randomBytes(16).toString('hex')
  const ok = await raw('GET', '/api/v1/namespaces', { headers: { 'x-request-id': tid } })
  assert.equal(ok.status, 200)
  assert.equal(ok.headers.get('x-request-id'), tid)

  const tid2 = randomBytes(16).toString('hex')
  const missing = await raw('GET', '/api/v1/namespaces/_/actions/no-such-action-here', { headers: { 'x-request-id': tid2 } })
  assert.equal(missing.status, 404)
  assert.equal(missing.headers.get('x-request-id'), tid2)
  assertEnvelope(missing.json, 'The requested resource does not exist.')
  assert.equal(missing.json.code, tid2)
})

test('/api/v1 responses carry CORS headers and OPTIONS is answered without auth', async () => {
  assertCors((await raw('GET', '/api/v1/namespaces')).headers)
  assertCors((await raw('GET', '/api/v1/namespaces/_/actions')).headers)
  for (const path of ['/api/v1/namespaces/_/actions/anything', '/api/v1/namespaces/_/activations', '/api/v1/namespaces']) {
    const res = await raw('OPTIONS', path, { auth: null })
    assert.equal(res.status, 200, path)
    assertCors(res.headers)
  }
})

test('error bodies are exactly {error, code} for 400, 401 and 404', async () => {
  const badId = await raw('GET', '/api/v1/namespaces/_/activations/abcde')
  assert.equal(badId.status, 400)
  assertEnvelope(badId.json, 'Activation id length is 5 but must be 32.')

  const unauthorized = await raw('GET', '/api/v1/namespaces', { headers: { authorization: basic(`${AUTH}x`) }, auth: null })
  assert.equal(unauthorized.status, 401)
  assertEnvelope(unauthorized.json, 'The supplied authentication is invalid')

  const notFound = await raw('DELETE', '/api/v1/namespaces/_/actions/never-created-action')
  assert.equal(notFound.status, 404)
  assertEnvelope(notFound.json, 'The requested resource does not exist.')
  assert.match(notFound.headers.get('content-type'), /^application\/json/)
})

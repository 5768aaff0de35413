// Shared helpers for the end-to-end suite: the npm `openwhisk` client pointed at a running shoal,
// raw `fetch` calls for what the client does not expose (headers, status codes, odd routes), and
// small utilities (unique names, polling, OpenWhisk error assertions).
//
// The suite is driven by `host/tests/all/e2e.rs`, which starts the real `shoal` binary and sets:
//   SHOAL_API_HOST  http://127.0.0.1:<port>
//   SHOAL_AUTH      the guest namespace's `uuid:key`
//   SHOAL_AUTH2     a second namespace's `uuid:key`
//   SHOAL_NS2       that second namespace's name
//   SHOAL_AUTH3     a third namespace's `uuid:key`, allowed 3 invokes a minute
//   SHOAL_AUTH4     a fourth namespace's `uuid:key`, allowed 2 invokes a minute (web 429 test)
//   SHOAL_NS4       that fourth namespace's name

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import openwhisk from 'openwhisk'

function required (name) {
  const value = process.env[name]
  if (!value) {
    throw new Error(`${name} is not set: run this suite through \`cargo test -p shoal --test all e2e\``)
  }
  return value
}

export const API_HOST = required('SHOAL_API_HOST').replace(/\/+$/, '')
export const AUTH = required('SHOAL_AUTH')
export const AUTH2 = required('SHOAL_AUTH2')
export const NS2 = required('SHOAL_NS2')
export const AUTH3 = required('SHOAL_AUTH3')
export const AUTH4 = required('SHOAL_AUTH4')
export const NS4 = required('SHOAL_NS4')

/** The guest namespace name (spec §1.2: subject = namespace name = `guest`). */
export const GUEST = 'guest'

/** Default action limits (spec §3.2). */
export const DEFAULT_LIMITS = Object.freeze({ timeout: 60000, memory: 256, logs: 10, concurrency: 1 })

/** One log line as formatted by OpenWhisk (spec §3.4): RFC 3339 with nanoseconds, stream, text. */
export function logLine (stream, text) {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z\\s+${stream}: ${escaped}$`)
}

/** An npm `openwhisk` client for the given `uuid:key` (the guest namespace by default). */
export function client (apiKey = AUTH) {
  return openwhisk({ apihost: API_HOST, api_key: apiKey })
}

/** Client for the guest namespace. */
export const ow = client(AUTH)
/** Client for the second namespace. */
export const ow2 = client(AUTH2)

/** A name unique to this run, so tests never share entities. */
export function uniq (prefix) {
  return `${prefix}-${randomBytes(4).toString('hex')}`
}

export function sleep (ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

/** Basic authorization header value for `uuid:key`. */
export function basic (apiKey) {
  return `Basic ${Buffer.from(apiKey).toString('base64')}`
}

/**
 * A raw HTTP call. `path` is absolute (`/api/v1/...`). `auth` is a `uuid:key` (guest by default) or
 * `null` for none. `body` is JSON-encoded unless it is already a string. Returns the status, the
 * headers, the raw text and the parsed JSON body (or `undefined` when it is not JSON).
 */
export async function raw (method, path, { auth = AUTH, body, headers = {} } = {}) {
  const h = { ...headers }
  if (auth !== null) h.authorization = basic(auth)
  let payload
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body)
    h['content-type'] = 'application/json'
  }
  const res = await fetch(`${API_HOST}${path}`, { method, headers: h, body: payload })
  const text = await res.text()
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

/** Asserts a body is exactly the OpenWhisk error envelope `{error, code}` (spec §1.3) with `error`. */
export function assertEnvelope (body, error) {
  assert.ok(body && typeof body === 'object' && !Array.isArray(body), `not an object: ${JSON.stringify(body)}`)
  assert.deepEqual(Object.keys(body).sort(), ['code', 'error'])
  assert.equal(typeof body.code, 'string')
  assert.ok(body.code.length > 0, 'empty code')
  if (error instanceof RegExp) {
    assert.match(body.error, error)
  } else if (error !== undefined) {
    assert.equal(body.error, error)
  }
}

/**
 * Awaits a client call that must fail with HTTP `status`; when `error` is given, the body must be the
 * error envelope with that text (string: exact, RegExp: match). Returns the OpenWhiskError.
 */
export async function rejects (promise, status, error) {
  let err
  try {
    const value = await promise
    assert.fail(`expected HTTP ${status}, got success: ${JSON.stringify(value)}`)
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e
    err = e
  }
  assert.equal(err.name, 'OpenWhiskError', `not an OpenWhiskError: ${err.stack}`)
  assert.equal(err.statusCode, status, `status of: ${err.message}`)
  if (error !== undefined) assertEnvelope(err.error, error)
  return err
}

/**
 * Retries `fn` (which throws or fails an assertion while the condition is not met) every 50 ms until
 * it succeeds or `timeoutMs` passes; returns its value or rethrows its last error.
 */
export async function eventually (fn, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await fn()
    } catch (e) {
      if (Date.now() > deadline) throw e
      await sleep(50)
    }
  }
}

/** Creates a JS action in the guest namespace (kind `nodejs:default` unless given). */
export function createAction (name, code, options = {}) {
  return ow.actions.create({ name, action: code, ...options })
}

/** The value of an annotation, or `undefined` when absent. */
export function annotation (entity, key) {
  assert.ok(Array.isArray(entity.annotations), `annotations is not an array: ${JSON.stringify(entity)}`)
  const found = entity.annotations.find(a => a.key === key)
  return found === undefined ? undefined : found.value
}

/** Fetches an activation, polling until the store has it (non-blocking invokes finish later). */
export function activation (id, api = ow) {
  return eventually(() => api.activations.get({ activationId: id }))
}

/** An activation id: 32 lowercase hex characters (spec §3.4). */
export const ACTIVATION_ID = /^[0-9a-f]{32}$/

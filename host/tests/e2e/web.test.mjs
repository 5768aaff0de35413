// Web actions (spec §4), at the HTTP level: `fetch` against
// `/api/v1/web/{ns}/{pkg|default}/{action}[.ext][/rest]` with no API key. Covers URL matching and
// methods, every extension, the `__ow_*` arguments, query/body merging by content type, raw mode,
// response shaping and its error texts, error projection, CORS and OPTIONS, `require-whisk-auth`,
// `final` and reserved parameters, the payload limit, the owner's throttle, the 404s, and the
// activation record and its id header. (The 202 past the 60 s wait is a unit test in web.rs,
// on a paused clock.)
// Actions are created with the annotations exactly as `wsk action create --web true|raw` sets them
// (spec §3.3).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import {
  ACTIVATION_ID, API_HOST, AUTH, AUTH2, AUTH4, GUEST, NS2, NS4, assertEnvelope, basic, eventually,
  ow, ow2, raw, rejects, sleep, uniq
} from './helpers.mjs'

/** `wsk action create --web true`. */
const WEB_TRUE = { 'web-export': true, 'raw-http': false, final: true }
/** `wsk action create --web raw`. */
const WEB_RAW = { 'web-export': true, 'raw-http': true, final: true }

const NOT_FOUND = 'The requested resource does not exist.'
const NOT_ALLOWED = 'Request defines parameters that are not allowed (e.g., reserved properties).'
const CORS_METHODS = 'OPTIONS, GET, DELETE, POST, PUT, HEAD, PATCH'
const CORS_HEADERS = 'Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent'
/** Pekko's default text for 401, which `require-whisk-auth` failures carry (spec §4.4). */
const UNAUTHORIZED = 'Authentication is possible but has failed or not yet been provided.'

/** A 1×1 PNG, to check that binary bodies round-trip byte for byte. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64'
)

/** Returns its arguments: with `.json` the response is exactly what the action received. */
const ECHO = 'function main(p) { return p }'
/** Returns `p.r` (posted as JSON), or an application error `{error: p.err}` when given. */
const SHAPE = 'function main(p) { return p.err !== undefined ? { error: p.err } : p.r }'

/** Creates (or replaces) a JS action in the guest namespace with annotations given as an object. */
async function action (name, code, annotations = WEB_TRUE, parameters = {}) {
  const res = await raw('PUT', `/api/v1/namespaces/_/actions/${name}?overwrite=true`, {
    body: {
      exec: { kind: 'nodejs:default', code },
      annotations: Object.entries(annotations).map(([key, value]) => ({ key, value })),
      parameters: Object.entries(parameters).map(([key, value]) => ({ key, value }))
    }
  })
  assert.equal(res.status, 200, `creating ${name}: ${res.text}`)
  return name
}

/**
 * A web request: `path` follows `/api/v1/web/` (e.g. `guest/default/echo.json/a`). No API key unless
 * `auth` (a `uuid:key`) is given. Redirects are not followed. Returns status, headers, raw bytes,
 * text and parsed JSON (`undefined` when not JSON).
 */
async function web (path, { method = 'GET', headers = {}, body, auth } = {}) {
  const h = { ...headers }
  if (auth) h.authorization = basic(auth)
  const res = await fetch(`${API_HOST}/api/v1/web/${path}`, { method, headers: h, body, redirect: 'manual' })
  const bytes = Buffer.from(await res.arrayBuffer())
  const text = bytes.toString('utf8')
  let json
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, bytes, text, json }
}

/**
 * One request over a fresh TCP connection, read until the server closes it: what is on the wire,
 * with no client in between that could drop bytes (fetch discards any body of a HEAD response).
 * `path` follows `/api/v1/web/`. Returns the status, the headers (lower-cased names) and the
 * bytes after the head.
 */
function onTheWire (method, path) {
  const { hostname, port } = new URL(API_HOST)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${method} /api/v1/web/${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`)
    })
    const chunks = []
    socket.on('data', chunk => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('end', () => {
      const all = Buffer.concat(chunks)
      const split = all.indexOf('\r\n\r\n')
      const [statusLine, ...lines] = all.subarray(0, split).toString('latin1').split('\r\n')
      const headers = Object.fromEntries(lines.map(line => {
        const colon = line.indexOf(':')
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]
      }))
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: all.subarray(split + 4) })
    })
  })
}

/** A guest action without a package. */
const guest = (segment) => `${GUEST}/default/${segment}`

/** POSTs `value` as JSON to the SHAPE action with extension `ext`. */
function shaped (name, ext, value) {
  return web(guest(`${name}${ext}`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value)
  })
}

/** Asserts an error reply: `status` with the OpenWhisk error envelope carrying `error`. */
function assertError (res, status, error) {
  assert.equal(res.status, status, `status of ${res.text}`)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  assertEnvelope(res.json, error)
}

/** The ids of the guest's activations of `name`. */
async function activationIds (name) {
  const list = await ow.activations.list({ name, limit: 200 })
  return list.map(a => a.activationId).sort()
}

// ---------------------------------------------------------------------------------------------
// 4.1 URL, methods, extensions

test('--web true|raw annotations as the CLI sets them make an action reachable', async () => {
  const name = await action(uniq('web-annotations'), ECHO, WEB_TRUE)
  const stored = await ow.actions.get({ name })
  const get = k => stored.annotations.find(a => a.key === k)?.value
  assert.equal(get('web-export'), true)
  assert.equal(get('raw-http'), false)
  assert.equal(get('final'), true)
  const res = await web(guest(`${name}.json`))
  assert.equal(res.status, 200)
  assert.equal(res.json.__ow_method, 'get')

  const rawName = await action(uniq('web-annotations-raw'), ECHO, WEB_RAW)
  const rawRes = await web(guest(`${rawName}.json?x=1`))
  assert.equal(rawRes.status, 200)
  assert.equal(rawRes.json.__ow_query, 'x=1')
})

test('web annotations count only when JSON true: "true", "false", 1 and {} set nothing', async () => {
  for (const value of ['false', 'true', 1, {}]) {
    const name = await action(uniq('web-loose-export'), ECHO, { 'web-export': value })
    assertError(await web(guest(`${name}.json`)), 404, NOT_FOUND)
  }
  for (const value of ['true', 1, {}]) {
    const name = await action(uniq('web-loose-flags'), ECHO,
      { 'web-export': true, 'raw-http': value, 'web-custom-options': value })
    let res = await web(guest(`${name}.json?q=1`))
    assert.equal(res.status, 200, res.text)
    assert.equal(res.json.q, '1', 'not raw: the query is expanded')
    assert.equal('__ow_query' in res.json, false)
    res = await web(guest(`${name}.json`), { method: 'OPTIONS' })
    assert.equal(res.status, 200)
    assert.equal(res.bytes.length, 0, 'OPTIONS is answered without the action')
    assert.equal(res.headers.get('access-control-allow-origin'), '*', 'automatic CORS')
    assert.equal(res.headers.get('x-openwhisk-activation-id'), null)
  }
})

test('every method reaches the action with __ow_method in lower case', async () => {
  const name = await action(uniq('web-methods'),
    'function main(p) { return { headers: { "x-method": p.__ow_method }, body: p.__ow_method } }')
  for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
    const res = await web(guest(name), { method })
    assert.equal(res.status, 200, method)
    assert.equal(res.text, method.toLowerCase())
    assert.equal(res.headers.get('x-method'), method.toLowerCase())
  }
  const head = await onTheWire('HEAD', guest(name))
  assert.equal(head.status, 200)
  assert.equal(head.headers['x-method'], 'head', 'HEAD reaches the action')
  assert.equal(head.body.length, 0, `no body after the head of a HEAD response: ${head.body}`)
  const options = await web(guest(name), { method: 'OPTIONS' })
  assert.equal(options.status, 200)
  assert.equal(options.headers.get('x-method'), null, 'OPTIONS is answered without the action')
})

test('.json answers the whole result as JSON; anything but an object or array is a 400', async () => {
  const name = await action(uniq('web-json'), SHAPE)
  let res = await shaped(name, '.json', { r: { a: 1, b: [true, null] } })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /^application\/json/)
  assert.deepEqual(res.json, { a: 1, b: [true, null] })

  res = await shaped(name, '.json', { err: 'just a string' })
  assertError(res, 400, "Response is not valid 'application/json'.")
  res = await shaped(name, '.json', { err: 42 })
  assertError(res, 400, "Response is not valid 'application/json'.")
})

test('.html answers body, else html, as text/html; a non-string is a 400', async () => {
  const name = await action(uniq('web-html'), SHAPE)
  let res = await shaped(name, '.html', { r: { html: '<h1>hi</h1>' } })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'text/html; charset=UTF-8')
  assert.equal(res.text, '<h1>hi</h1>')

  res = await shaped(name, '.html', { r: { body: '<p>body wins</p>', html: '<p>not me</p>' } })
  assert.equal(res.text, '<p>body wins</p>')

  res = await shaped(name, '.html', { r: { html: 5 } })
  assertError(res, 400, "Response is not valid 'text/html'.")
  res = await shaped(name, '.html', { r: { other: 'x' } })
  assertError(res, 400, "Response is not valid 'text/html'.")
})

test('.svg answers body, else svg, as image/svg+xml; a non-string is a 400', async () => {
  const name = await action(uniq('web-svg'), SHAPE)
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
  let res = await shaped(name, '.svg', { r: { svg } })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /^image\/svg\+xml/)
  assert.equal(res.text, svg)
  res = await shaped(name, '.svg', { r: { body: svg, svg: 'no' } })
  assert.equal(res.text, svg)
  res = await shaped(name, '.svg', { r: {} })
  assertError(res, 400, "Response is not valid 'image/svg+xml'.")
})

test('.text answers body, else text, as text/plain; a missing field is a 404', async () => {
  const name = await action(uniq('web-text'), SHAPE)
  let res = await shaped(name, '.text', { r: { text: 'plain words' } })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /^text\/plain/)
  assert.equal(res.text, 'plain words')

  res = await shaped(name, '.text', { r: { body: 'body wins', text: 'no' } })
  assert.equal(res.text, 'body wins')
  res = await shaped(name, '.text', { r: { text: { a: [1] } } })
  assert.equal(res.status, 200)
  assert.deepEqual(JSON.parse(res.text), { a: [1] })
  assert.match(res.text, /\n/, 'objects are pretty-printed')
  res = await shaped(name, '.text', { r: { text: 42 } })
  assert.equal(res.text, '42')
  res = await shaped(name, '.text', { r: { text: true } })
  assert.equal(res.text, 'true')
  res = await shaped(name, '.text', { r: { text: null } })
  assert.equal(res.status, 200, 'a null value is present')
  assert.match(res.headers.get('content-type'), /^text\/plain/)
  assert.equal(res.text, 'null')
  res = await shaped(name, '.text', { r: { body: null, text: 'not me' } })
  assert.equal(res.status, 200)
  assert.equal(res.text, 'null', 'a null body is still the body')

  res = await shaped(name, '.text', { r: { other: 'x' } })
  assertError(res, 404, 'Response does not include requested property.')
})

test('.http is the default: no extension and .http answer alike', async () => {
  const name = await action(uniq('web-http'), SHAPE)
  const value = { r: { statusCode: 201, headers: { 'x-a': 'b' }, body: 'made' } }
  for (const ext of ['', '.http']) {
    const res = await shaped(name, ext, value)
    assert.equal(res.status, 201, `ext ${ext}`)
    assert.equal(res.headers.get('x-a'), 'b')
    assert.equal(res.headers.get('content-type'), 'text/html', 'text/html by default')
    assert.equal(res.text, 'made')
  }
  // an unknown suffix is part of the action name, not an extension
  const res = await shaped(name, '.xml', value)
  assertError(res, 404, NOT_FOUND)
})

// ---------------------------------------------------------------------------------------------
// 4.2 Arguments

test('__ow_path is what follows the action segment, "" when nothing does', async () => {
  const name = await action(uniq('web-path'), ECHO)
  let res = await web(guest(`${name}.json`))
  assert.equal(res.json.__ow_path, '')
  res = await web(guest(`${name}.json/a/b/c`))
  assert.equal(res.status, 200)
  assert.equal(res.json.__ow_path, '/a/b/c')
  const http = await action(uniq('web-path-http'), 'function main(p) { return { body: `path=${p.__ow_path}` } }')
  res = await web(guest(`${http}/x/y`))
  assert.equal(res.text, 'path=/x/y')
  res = await web(guest(http))
  assert.equal(res.text, 'path=')
})

test('__ow_headers has every request header with lower-cased names', async () => {
  const name = await action(uniq('web-headers'), ECHO)
  const res = await web(guest(`${name}.json`), {
    method: 'POST',
    headers: { 'X-Custom-Thing': 'Yes It Is', 'Content-Type': 'application/json' },
    body: '{}'
  })
  assert.equal(res.status, 200)
  const headers = res.json.__ow_headers
  assert.equal(typeof headers, 'object')
  assert.equal(headers['x-custom-thing'], 'Yes It Is')
  assert.equal(headers['content-type'], 'application/json')
  for (const key of Object.keys(headers)) assert.equal(key, key.toLowerCase(), `header ${key}`)
})

test('__ow_headers: no content-length; the entity\'s type, application/octet-stream when none was sent', async () => {
  const name = await action(uniq('web-entity'), ECHO)
  let res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'abc' })
  assert.equal(res.json.__ow_headers['content-type'], 'text/plain')
  assert.equal('content-length' in res.json.__ow_headers, false, 'the length belongs to the entity')
  // a body sent without a type (fetch types no byte buffer) is binary
  res = await web(guest(`${name}.json`), { method: 'POST', body: Buffer.from('abc') })
  assert.equal(res.json.__ow_headers['content-type'], 'application/octet-stream')
  assert.equal(res.json.__ow_body, Buffer.from('abc').toString('base64'))
  // an empty body with a text or binary type is an empty __ow_body; without a type, nothing
  for (const type of ['text/plain', 'image/png']) {
    res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': type } })
    assert.equal(res.json.__ow_body, '', type)
  }
  res = await web(guest(`${name}.json`), { method: 'POST' })
  assert.equal('__ow_body' in res.json, false)
  assert.equal('content-type' in res.json.__ow_headers, false)
})

test('__ow_user is the caller\'s namespace only with valid Basic auth', async () => {
  const name = await action(uniq('web-user'), ECHO)
  let res = await web(guest(`${name}.json`))
  assert.equal(res.status, 200)
  assert.equal('__ow_user' in res.json, false, 'anonymous: no __ow_user')
  res = await web(guest(`${name}.json`), { auth: AUTH })
  assert.equal(res.json.__ow_user, GUEST)
  res = await web(guest(`${name}.json`), { auth: AUTH2 })
  assert.equal(res.json.__ow_user, NS2)
  // invalid credentials fall back to anonymous
  res = await web(guest(`${name}.json`), { auth: `${AUTH.split(':')[0]}:wrong` })
  assert.equal(res.status, 200)
  assert.equal('__ow_user' in res.json, false)
})

test('query parameters become string arguments; a JSON object body is merged over them', async () => {
  const name = await action(uniq('web-merge-json'), ECHO)
  let res = await web(guest(`${name}.json?a=1&b=2&name=J%20D`))
  assert.equal(res.json.a, '1')
  assert.equal(res.json.b, '2')
  assert.equal(res.json.name, 'J D')
  assert.equal('__ow_body' in res.json, false)
  assert.equal('__ow_query' in res.json, false, 'no __ow_query outside raw mode')

  res = await web(guest(`${name}.json?a=1&b=2`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ b: 'body', c: 3, d: { e: [1] } })
  })
  assert.equal(res.json.a, '1')
  assert.equal(res.json.b, 'body', 'the body wins over the query')
  assert.equal(res.json.c, 3)
  assert.deepEqual(res.json.d, { e: [1] })
  assert.equal('__ow_body' in res.json, false)

  // a non-object JSON body goes to __ow_body as a JSON value
  res = await web(guest(`${name}.json`), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,"two"]'
  })
  assert.deepEqual(res.json.__ow_body, [1, 'two'])
  // *+json counts as JSON
  res = await web(guest(`${name}.json`), {
    method: 'POST', headers: { 'content-type': 'application/vnd.api+json' }, body: '{"v":true}'
  })
  assert.equal(res.json.v, true)
  // a malformed JSON body is refused with the framework's text and the parser's detail
  res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' })
  assertError(res, 400, /^The request content was malformed:\n\S/)
  // an empty JSON body adds nothing
  res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': 'application/json' } })
  assert.equal(res.status, 200)
  assert.equal('__ow_body' in res.json, false)
})

test('form, text and binary bodies: fields, __ow_body text, __ow_body base64', async () => {
  const name = await action(uniq('web-merge-other'), ECHO)
  let res = await web(guest(`${name}.json?q=1`), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'first=Ada&last=Love+lace&q=form'
  })
  assert.equal(res.json.first, 'Ada')
  assert.equal(res.json.last, 'Love lace')
  assert.equal(res.json.q, 'form')
  assert.equal('__ow_body' in res.json, false)

  res = await web(guest(`${name}.json?q=1`), {
    method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'just text, not {json}'
  })
  assert.equal(res.json.__ow_body, 'just text, not {json}')
  assert.equal(res.json.q, '1')

  const bytes = Buffer.from([0, 1, 2, 250, 255, 0x89, 0x50])
  res = await web(guest(`${name}.json`), {
    method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes
  })
  assert.equal(res.json.__ow_body, bytes.toString('base64'))
  res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': 'image/png' }, body: PNG })
  assert.equal(res.json.__ow_body, PNG.toString('base64'))
})

test('binary media as Pekko classifies them: image/svg+xml and untyped text are base64 both ways', async () => {
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'
  const b64 = Buffer.from(svg).toString('base64')
  const echo = await action(uniq('web-media-in'), ECHO)
  const rawEcho = await action(uniq('web-media-in-raw'), ECHO, WEB_RAW)
  for (const [type, binary] of [
    ['image/svg+xml', true],
    ['text/javascript', true], // not a type Pekko knows, and no charset
    ['text/javascript; charset=utf-8', false],
    ['application/xml', false],
    ['text/plain', false]
  ]) {
    for (const target of [echo, rawEcho]) {
      const res = await web(guest(`${target}.json`), { method: 'POST', headers: { 'content-type': type }, body: svg })
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.__ow_body, binary ? b64 : svg, `${type} to ${target}`)
    }
  }

  const name = await action(uniq('web-media-out'), SHAPE)
  let res = await shaped(name, '', { r: { headers: { 'content-type': 'image/svg+xml' }, body: b64 } })
  assert.equal(res.status, 200, res.text)
  assert.equal(res.headers.get('content-type'), 'image/svg+xml')
  assert.equal(res.text, svg, 'an image/svg+xml body is base64-decoded')
  res = await shaped(name, '', { r: { headers: { 'content-type': 'image/svg+xml' }, body: svg } })
  assertError(res, 400, 'Response type in header did not match generated content type.')
  res = await shaped(name, '', { r: { headers: { 'content-type': 'application/xml' }, body: svg } })
  assert.equal(res.text, svg, 'a text type is sent as is')

  // an SVG posted in and echoed out comes back byte for byte
  const round = await action(uniq('web-media-round'),
    'function main(p) { return { headers: { "content-type": "image/svg+xml" }, body: p.__ow_body } }')
  res = await web(guest(round), { method: 'POST', headers: { 'content-type': 'image/svg+xml' }, body: svg })
  assert.equal(res.status, 200, res.text)
  assert.equal(res.text, svg)
})

test('raw mode: __ow_query and __ow_body as sent (base64 for JSON and binary)', async () => {
  const name = await action(uniq('web-raw'), ECHO, WEB_RAW)
  let res = await web(guest(`${name}.json?name=Jane&x=1`))
  assert.equal(res.status, 200)
  assert.equal(res.json.__ow_query, 'name=Jane&x=1')
  assert.equal(res.json.__ow_body, '', 'empty body → ""')
  assert.equal('name' in res.json, false, 'query parameters are not expanded')
  assert.equal(res.json.__ow_method, 'get')
  assert.equal(typeof res.json.__ow_headers, 'object')
  assert.equal(res.json.__ow_path, '')

  res = await web(guest(`${name}.json`))
  assert.equal(res.json.__ow_query, '')

  const json = '{"a":1,"b":"two"}'
  res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': 'application/json' }, body: json })
  assert.equal(res.json.__ow_body, Buffer.from(json).toString('base64'))
  assert.equal('a' in res.json, false, 'JSON fields are not expanded')

  res = await web(guest(`${name}.json`), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello raw' })
  assert.equal(res.json.__ow_body, 'hello raw')

  res = await web(guest(`${name}.json`), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=2'
  })
  assert.equal(res.json.__ow_body, 'a=1&b=2')
  assert.equal('a' in res.json, false)

  res = await web(guest(`${name}.json/p/q`), { method: 'POST', headers: { 'content-type': 'image/png' }, body: PNG })
  assert.equal(res.json.__ow_body, PNG.toString('base64'))
  assert.equal(res.json.__ow_path, '/p/q')
})

test('final parameters and reserved __ow_* keys are refused (but not in raw mode)', async () => {
  const name = await action(uniq('web-final'), ECHO, WEB_TRUE, { fixed: 'server', other: 'x' })
  let res = await web(guest(`${name}.json`))
  assert.equal(res.json.fixed, 'server')

  for (const query of ['fixed=client', '__ow_method=get', '__ow_user=root', '__ow_body=x', '__ow_query=x', '__ow_path=/', '__ow_headers=x']) {
    res = await web(guest(`${name}.json?${query}`))
    assertError(res, 400, NOT_ALLOWED)
  }
  for (const body of [{ fixed: 'client' }, { __ow_headers: {} }, { __ow_user: 'root' }]) {
    res = await web(guest(`${name}.json`), {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body)
    })
    assertError(res, 400, NOT_ALLOWED)
  }
  res = await web(guest(`${name}.json`), {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'other=y&fixed=z'
  })
  assertError(res, 400, NOT_ALLOWED)

  // without `final`, defined parameters may be overridden (query < body)
  const open = await action(uniq('web-not-final'), ECHO, { 'web-export': true }, { fixed: 'server' })
  res = await web(guest(`${open}.json?fixed=query`))
  assert.equal(res.status, 200)
  assert.equal(res.json.fixed, 'query')
  // ...but reserved keys never
  res = await web(guest(`${open}.json?__ow_method=put`))
  assertError(res, 400, NOT_ALLOWED)

  // raw mode skips the check
  const rawName = await action(uniq('web-final-raw'), ECHO, WEB_RAW, { fixed: 'server' })
  res = await web(guest(`${rawName}.json?fixed=client&__ow_method=put`), {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fixed":"c","__ow_user":"root"}'
  })
  assert.equal(res.status, 200, res.text)
  assert.equal(res.json.fixed, 'server')
  assert.equal(res.json.__ow_method, 'post')
  assert.equal(res.json.__ow_query, 'fixed=client&__ow_method=put')
  assert.equal('__ow_user' in res.json, false)
})

test('final parameters inherited from a package or a binding are refused too', async () => {
  const pkg = uniq('web-final-pkg')
  let res = await raw('PUT', `/api/v1/namespaces/_/packages/${pkg}`, {
    body: { parameters: [{ key: 'fromPkg', value: 'p' }] }
  })
  assert.equal(res.status, 200, res.text)
  await action(`${pkg}/echo`, ECHO, WEB_TRUE, { own: 'a' })
  const bound = uniq('web-final-bound')
  res = await raw('PUT', `/api/v1/namespaces/_/packages/${bound}`, {
    body: { binding: { namespace: GUEST, name: pkg }, parameters: [{ key: 'fromBinding', value: 'b' }] }
  })
  assert.equal(res.status, 200, res.text)

  for (const [via, keys] of [[pkg, ['fromPkg', 'own']], [bound, ['fromPkg', 'fromBinding', 'own']]]) {
    for (const key of keys) {
      assertError(await web(`${GUEST}/${via}/echo.json?${key}=client`), 400, NOT_ALLOWED)
      res = await web(`${GUEST}/${via}/echo.json`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ [key]: 'client' })
      })
      assertError(res, 400, NOT_ALLOWED)
    }
  }
  res = await web(`${GUEST}/${bound}/echo.json?other=client`)
  assert.equal(res.status, 200, res.text)
  assert.deepEqual([res.json.fromPkg, res.json.fromBinding, res.json.own, res.json.other], ['p', 'b', 'a', 'client'])
})

test('a body over 1,048,576 bytes is a 413; one at the limit goes through', async () => {
  const name = await action(uniq('web-413'),
    'function main(p) { return { body: String((p.__ow_body || "").length) } }')
  const limit = 1048576
  let res = await web(guest(name), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(limit) })
  assert.equal(res.status, 200, res.text.slice(0, 200))
  assert.equal(res.text, String(limit))
  res = await web(guest(name), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(limit + 1) })
  assertError(res, 413, `Request larger than allowed: ${limit + 1} > ${limit} bytes.`)
  assert.equal(res.headers.get('x-openwhisk-activation-id'), null, 'refused before any activation')
})

test('the owner\'s invocationsPerMinute applies on the web path, whoever calls: 429', async () => {
  const name = uniq('web-throttled')
  const res = await raw('PUT', `/api/v1/namespaces/_/actions/${name}`, {
    auth: AUTH4,
    body: { exec: { kind: 'nodejs:default', code: ECHO }, annotations: [{ key: 'web-export', value: true }] }
  })
  assert.equal(res.status, 200, res.text)
  // The owner may start 2 a minute (a fixed window: should one end between two calls, the
  // next window allows 2 more before the 429)
  const answers = []
  for (let i = 0; i < 6 && answers.at(-1)?.status !== 429; i++) {
    answers.push(await web(`${NS4}/default/${name}.json`, { auth: AUTH }))
  }
  const refused = answers.at(-1)
  assertError(refused, 429, 'Too many requests in the last minute (count: 2, allowed: 2).')
  assert.ok(answers.length >= 3, `${answers.length - 1} calls went through`)
  assert.ok(answers.slice(0, -1).every(r => r.status === 200 && r.json.__ow_user === GUEST))
  assert.equal(refused.headers.get('access-control-allow-origin'), '*')
  assert.equal(refused.headers.get('x-openwhisk-activation-id'), null)
  // the caller's namespace is not what is counted
  const mine = await action(uniq('web-not-throttled'), ECHO)
  assert.equal((await web(guest(`${mine}.json`), { auth: AUTH4 })).status, 200)
})

// ---------------------------------------------------------------------------------------------
// 4.3 Response shaping

test('.http statusCode (number or numeric string), headers and text bodies', async () => {
  const name = await action(uniq('web-status'), SHAPE)
  let res = await shaped(name, '', { r: { statusCode: 201, body: 'created' } })
  assert.equal(res.status, 201)
  assert.equal(res.text, 'created')
  res = await shaped(name, '', { r: { statusCode: '418', body: 'teapot' } })
  assert.equal(res.status, 418)
  res = await shaped(name, '', { r: { statusCode: 299, body: 'unregistered code' } })
  assert.equal(res.status, 299, 'unknown status codes are allowed')
  assert.equal(res.text, 'unregistered code')
  res = await shaped(name, '', { r: { statusCode: 404, headers: { 'content-type': 'text/plain' }, body: 'nope' } })
  assert.equal(res.status, 404)
  assert.equal(res.headers.get('content-type'), 'text/plain')
  assert.equal(res.text, 'nope')
  res = await shaped(name, '', {
    r: { headers: { 'x-num': 5, 'x-bool': true, 'content-type': 'text/css' }, body: 'b { }' }
  })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-num'), '5')
  assert.equal(res.headers.get('x-bool'), 'true')
  assert.equal(res.headers.get('content-type'), 'text/css')
  assert.equal(res.text, 'b { }')
})

test('.http header arrays become repeated headers', async () => {
  const name = await action(uniq('web-repeated'), SHAPE)
  const res = await shaped(name, '', {
    r: { headers: { 'set-cookie': ['a=1', 'b=2'], 'x-multi': ['one', 'two'] }, body: 'ok' }
  })
  assert.equal(res.status, 200)
  assert.deepEqual(res.headers.getSetCookie(), ['a=1', 'b=2'])
  assert.equal(res.headers.get('x-multi'), 'one, two')
})

test('.http binary content types are base64-decoded: a PNG round-trips byte for byte', async () => {
  const name = await action(uniq('web-png'), SHAPE)
  const res = await shaped(name, '', { r: { headers: { 'content-type': 'image/png' }, body: PNG.toString('base64') } })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('content-type'), 'image/png')
  assert.deepEqual(res.bytes, PNG)
  // and the same bytes come back when posted in and echoed out
  const echo = await action(uniq('web-png-echo'),
    'function main(p) { return { headers: { "content-type": "image/png" }, body: p.__ow_body } }')
  const round = await web(guest(echo), { method: 'POST', headers: { 'content-type': 'image/png' }, body: PNG })
  assert.equal(round.status, 200)
  assert.deepEqual(round.bytes, PNG)
})

test('.http JSON bodies, 204 without a body, 302 redirects', async () => {
  const name = await action(uniq('web-json-body'), SHAPE)
  let res = await shaped(name, '', { r: { body: { a: 1, b: ['x'] } } })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type'), /^application\/json/)
  assert.deepEqual(res.json, { a: 1, b: ['x'] })
  res = await shaped(name, '', { r: { headers: { 'content-type': 'application/vnd.x+json' }, body: [1, 2] } })
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, [1, 2])
  // a JSON-typed string body is sent as is, or decoded when it is base64 (legacy)
  res = await shaped(name, '', { r: { headers: { 'content-type': 'application/json' }, body: '{"s":1}' } })
  assert.equal(res.text, '{"s":1}')
  res = await shaped(name, '', {
    r: { headers: { 'content-type': 'application/json' }, body: Buffer.from('{"b64":true}').toString('base64') }
  })
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, { b64: true })

  for (const r of [{}, { body: '' }, { body: null }, { headers: { 'content-type': 'text/plain' } }]) {
    res = await shaped(name, '', { r })
    assert.equal(res.status, 204, JSON.stringify(r))
    assert.equal(res.bytes.length, 0)
    assert.equal(res.headers.get('content-type'), null, 'no content type without content')
  }

  res = await shaped(name, '', { r: { statusCode: 302, headers: { location: 'https://openwhisk.apache.org/' } } })
  assert.equal(res.status, 302)
  assert.equal(res.headers.get('location'), 'https://openwhisk.apache.org/')
  assert.equal(res.bytes.length, 0)
})

test('.http error texts for invalid responses', async () => {
  const name = await action(uniq('web-http-errors'), SHAPE)
  const invalid = "Response is not valid 'message/http'."
  for (const r of [
    { headers: 'x' },
    { headers: { 'x-nested': { a: 1 } } },
    { statusCode: 'abc' },
    { statusCode: true },
    { statusCode: 99999 }
  ]) {
    assertError(await shaped(name, '', { r }), 400, invalid)
  }
  // a result that is not an object (projected from an application error)
  assertError(await shaped(name, '', { err: 'a string' }), 400, invalid)

  assertError(await shaped(name, '', { r: { headers: { 'content-type': 'text/plain' }, body: { a: 1 } } }),
    400, 'Response type in header did not match generated content type.')
  assertError(await shaped(name, '', { r: { headers: { 'content-type': 'image/png' }, body: '!!not base64!!' } }),
    400, 'Response type in header did not match generated content type.')
  assertError(await shaped(name, '', { r: { headers: { 'content-type': 'nonsense' }, body: 'x' } }),
    400, 'Response did not specify a known content-type.')
})

test('an application error is projected and shaped; a developer error is a 400', async () => {
  const name = await action(uniq('web-app-error'), SHAPE)
  let res = await shaped(name, '', { err: { statusCode: 400, body: 'bad' } })
  assert.equal(res.status, 400)
  assert.equal(res.text, 'bad')
  res = await shaped(name, '.json', { err: { reason: 'x' } })
  assert.equal(res.status, 200, 'an error object is a valid .json response')
  assert.deepEqual(res.json, { reason: 'x' })

  const thrower = await action(uniq('web-throws'), 'function main() { throw new Error("boom") }')
  res = await web(guest(thrower))
  assertError(res, 400, 'There was an error processing your request.')
  assert.doesNotMatch(res.text, /boom/)
  res = await web(guest(`${thrower}.json`))
  assertError(res, 400, 'There was an error processing your request.')
})

// ---------------------------------------------------------------------------------------------
// 4.4 CORS, OPTIONS, auth annotations

test('automatic CORS headers, and OPTIONS answered 200 without invoking the action', async () => {
  const name = await action(uniq('web-cors'), 'function main(p) { return { body: "invoked" } }')
  let res = await web(guest(name))
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('access-control-allow-origin'), '*')
  assert.equal(res.headers.get('access-control-allow-methods'), CORS_METHODS)
  assert.equal(res.headers.get('access-control-allow-headers'), CORS_HEADERS)
  const first = res.headers.get('x-openwhisk-activation-id')
  assert.match(first, ACTIVATION_ID)

  res = await web(guest(name), { headers: { 'access-control-request-headers': 'x-foo, content-type' } })
  assert.equal(res.headers.get('access-control-allow-headers'), 'x-foo, content-type')
  const second = res.headers.get('x-openwhisk-activation-id')
  assert.match(second, ACTIVATION_ID)

  for (const ext of ['', '.json', '.text']) {
    res = await web(guest(`${name}${ext}`), {
      method: 'OPTIONS',
      headers: { origin: 'http://example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-bar' }
    })
    assert.equal(res.status, 200)
    assert.equal(res.bytes.length, 0)
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.equal(res.headers.get('access-control-allow-methods'), CORS_METHODS)
    assert.equal(res.headers.get('access-control-allow-headers'), 'x-bar')
    assert.equal(res.headers.get('x-openwhisk-activation-id'), null, 'no activation for OPTIONS')
  }

  res = await web(guest(name))
  const third = res.headers.get('x-openwhisk-activation-id')
  assert.match(third, ACTIVATION_ID)
  // exactly the three GETs were invoked: the three OPTIONS were not
  const expected = [first, second, third].sort()
  await eventually(async () => assert.deepEqual(await activationIds(name), expected))
  await sleep(300)
  assert.deepEqual(await activationIds(name), expected)
})

test('web-custom-options: OPTIONS reaches the action and there are no automatic CORS headers', async () => {
  const name = await action(uniq('web-custom-options'),
    'function main(p) { return { headers: { "x-method": p.__ow_method, "access-control-allow-origin": "https://mine.example" }, body: "custom" } }',
    { ...WEB_TRUE, 'web-custom-options': true, 'require-whisk-auth': true })
  let res = await web(guest(name), { method: 'OPTIONS', headers: { 'access-control-request-headers': 'x-bar' } })
  assert.equal(res.status, 200, 'OPTIONS passes even though require-whisk-auth would fail')
  assert.equal(res.headers.get('x-method'), 'options')
  assert.equal(res.text, 'custom')
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://mine.example')
  assert.equal(res.headers.get('access-control-allow-methods'), null)
  assert.equal(res.headers.get('access-control-allow-headers'), null)
  assert.match(res.headers.get('x-openwhisk-activation-id'), ACTIVATION_ID)

  res = await web(guest(name), { auth: AUTH })
  assert.equal(res.status, 200)
  assert.equal(res.headers.get('x-method'), 'get')
  assert.equal(res.headers.get('access-control-allow-methods'), null)
})

test('require-whisk-auth: true needs valid Basic auth', async () => {
  const name = await action(uniq('web-auth'), ECHO, { ...WEB_TRUE, 'require-whisk-auth': true })
  let res = await web(guest(`${name}.json`))
  assertError(res, 401, UNAUTHORIZED)
  res = await web(guest(`${name}.json`), { auth: `${AUTH.split(':')[0]}:wrong` })
  assertError(res, 401, UNAUTHORIZED)
  res = await web(guest(`${name}.json`), { auth: AUTH })
  assert.equal(res.status, 200)
  assert.equal(res.json.__ow_user, GUEST)
  res = await web(guest(`${name}.json`), { auth: AUTH2 })
  assert.equal(res.status, 200)
  assert.equal(res.json.__ow_user, NS2)
  // OPTIONS is still answered automatically
  res = await web(guest(`${name}.json`), { method: 'OPTIONS' })
  assert.equal(res.status, 200)
})

test('require-whisk-auth: a secret string or number must match X-Require-Whisk-Auth', async () => {
  const secret = await action(uniq('web-secret'), ECHO, { ...WEB_TRUE, 'require-whisk-auth': 'sh-h-h 42' })
  assertError(await web(guest(`${secret}.json`)), 401, UNAUTHORIZED)
  assertError(await web(guest(`${secret}.json`), { headers: { 'x-require-whisk-auth': 'wrong' } }), 401, UNAUTHORIZED)
  assertError(await web(guest(`${secret}.json`), { auth: AUTH }), 401, UNAUTHORIZED)
  let res = await web(guest(`${secret}.json`), { headers: { 'X-Require-Whisk-Auth': 'sh-h-h 42' } })
  assert.equal(res.status, 200)
  assert.equal(res.json.__ow_method, 'get')
  assert.equal('__ow_user' in res.json, false)

  const number = await action(uniq('web-secret-num'), ECHO, { ...WEB_TRUE, 'require-whisk-auth': 7482953 })
  assertError(await web(guest(`${number}.json`)), 401, UNAUTHORIZED)
  assertError(await web(guest(`${number}.json`), { headers: { 'x-require-whisk-auth': '7482954' } }), 401, UNAUTHORIZED)
  res = await web(guest(`${number}.json`), { headers: { 'x-require-whisk-auth': '7482953' } })
  assert.equal(res.status, 200)

  const off = await action(uniq('web-secret-off'), ECHO, { ...WEB_TRUE, 'require-whisk-auth': false })
  assert.equal((await web(guest(`${off}.json`))).status, 200)
  const odd = await action(uniq('web-secret-odd'), ECHO, { ...WEB_TRUE, 'require-whisk-auth': { a: 1 } })
  assertError(await web(guest(`${odd}.json`), { auth: AUTH, headers: { 'x-require-whisk-auth': '{"a":1}' } }), 401, UNAUTHORIZED)
})

// ---------------------------------------------------------------------------------------------
// Lookup, 404s and the activation record

test('404 for an action without web-export, a missing action or namespace, a short path', async () => {
  const plain = uniq('web-plain')
  await ow.actions.create({ name: plain, action: ECHO })
  assertError(await web(guest(`${plain}.json`)), 404, NOT_FOUND)
  assertError(await web(guest(plain), { auth: AUTH }), 404, NOT_FOUND)
  const off = await action(uniq('web-off'), ECHO, { 'web-export': false, 'raw-http': false, final: false })
  assertError(await web(guest(`${off}.json`)), 404, NOT_FOUND)
  assertError(await web(guest(`${uniq('web-missing')}.json`)), 404, NOT_FOUND)
  const exported = await action(uniq('web-exported'), ECHO)
  assertError(await web(`${uniq('no-such-ns')}/default/${exported}.json`), 404, NOT_FOUND)
  assertError(await web(`_/default/${exported}.json`), 404, NOT_FOUND)
  assertError(await web(`${GUEST}/no-such-package/${exported}.json`), 404, NOT_FOUND)
  assertError(await web(`${GUEST}/default`), 404, NOT_FOUND)
  // the guest's action is not reachable under the other namespace's name
  assertError(await web(`${NS2}/default/${exported}.json`), 404, NOT_FOUND)
})

test('the activation id header names an activation in the owner\'s log, whoever calls', async () => {
  const name = await action(uniq('web-activation'), 'function main(p) { return { body: { user: p.__ow_user ?? null } } }')
  let res = await web(guest(name), { auth: AUTH2 })
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, { user: NS2 })
  const id = res.headers.get('x-openwhisk-activation-id')
  assert.match(id, ACTIVATION_ID)

  const record = await eventually(() => ow.activations.get({ activationId: id }))
  assert.equal(record.activationId, id)
  assert.equal(record.namespace, GUEST)
  assert.equal(record.name, name)
  assert.equal(record.subject, GUEST, 'the owner is billed, not the caller')
  assert.equal(record.response.status, 'success')
  assert.deepEqual(record.response.result.body, { user: NS2 })
  assert.ok(record.annotations.some(a => a.key === 'path' && a.value === `${GUEST}/${name}`))
  // it is not in the caller's log
  await rejects(ow2.activations.get({ activationId: id }), 404)
  const theirs = await ow2.activations.list({ limit: 200 })
  assert.equal(theirs.some(a => a.activationId === id), false)

  // anonymous calls land in the owner's log too
  res = await web(guest(name))
  const anon = res.headers.get('x-openwhisk-activation-id')
  assert.match(anon, ACTIVATION_ID)
  await eventually(async () => assert.ok((await activationIds(name)).includes(anon)))
  // an application error projected into a response carries the header as well
  const shape = await action(uniq('web-activation-err'), SHAPE)
  res = await shaped(shape, '', { err: { statusCode: 409, body: 'conflict' } })
  assert.equal(res.status, 409)
  const failed = res.headers.get('x-openwhisk-activation-id')
  assert.match(failed ?? '', ACTIVATION_ID)
  const errRecord = await eventually(() => ow.activations.get({ activationId: failed }))
  assert.equal(errRecord.response.status, 'application error')
})

test('every answer shaped after the action ran names its activation, errors included', async () => {
  const name = await action(uniq('web-id-errors'), SHAPE)
  const mismatch = 'Response type in header did not match generated content type.'
  for (const [ext, value, status, error] of [
    ['.json', { err: 'a string' }, 400, "Response is not valid 'application/json'."],
    ['.html', { r: { html: 1 } }, 400, "Response is not valid 'text/html'."],
    ['.svg', { r: {} }, 400, "Response is not valid 'image/svg+xml'."],
    ['.text', { r: {} }, 404, 'Response does not include requested property.'],
    ['', { r: { headers: 'x' } }, 400, "Response is not valid 'message/http'."],
    ['', { r: { headers: { 'content-type': 'text/plain' }, body: { a: 1 } } }, 400, mismatch],
    ['', { r: { headers: { 'content-type': 'image/png' }, body: '!!' } }, 400, mismatch],
    ['', { r: { headers: { 'content-type': 'nonsense' }, body: 'x' } }, 400, 'Response did not specify a known content-type.']
  ]) {
    const res = await shaped(name, ext, value)
    assertError(res, status, error)
    const id = res.headers.get('x-openwhisk-activation-id')
    assert.match(id ?? '', ACTIVATION_ID, `${ext} ${JSON.stringify(value)}`)
    const record = await eventually(() => ow.activations.get({ activationId: id }))
    assert.equal(record.name, name)
  }

  const thrower = await action(uniq('web-id-throws'), 'function main() { throw new Error("boom") }')
  let res = await web(guest(thrower))
  assertError(res, 400, 'There was an error processing your request.')
  const id = res.headers.get('x-openwhisk-activation-id')
  assert.match(id ?? '', ACTIVATION_ID)
  const record = await eventually(() => ow.activations.get({ activationId: id }))
  assert.notEqual(record.response.status, 'success')

  // with web-custom-options too (no automatic CORS headers)
  const custom = await action(uniq('web-id-custom'), 'function main() { return { body: 5 } }',
    { ...WEB_TRUE, 'web-custom-options': true })
  res = await web(guest(`${custom}.html`))
  assertError(res, 400, "Response is not valid 'text/html'.")
  assert.match(res.headers.get('x-openwhisk-activation-id') ?? '', ACTIVATION_ID)
  assert.equal(res.headers.get('access-control-allow-origin'), null)
})

test('a web action stays invocable with a key through the REST API', async () => {
  const name = await action(uniq('web-rest'), ECHO)
  const res = await raw('POST', `/api/v1/namespaces/_/actions/${name}?blocking=true&result=true`, { body: { a: 1 } })
  assert.equal(res.status, 200)
  assert.deepEqual(res.json, { a: 1 })
})

// ---------------------------------------------------------------------------------------------
// Actions in packages and bindings (spec §4.1)

test('web actions in packages and bindings: /web/{ns}/{pkg}/{action}, parameters layered', async () => {
  const pkg = uniq('web-pkg')
  let res = await raw('PUT', `/api/v1/namespaces/_/packages/${pkg}`, {
    body: { parameters: [{ key: 'fromPkg', value: 'p' }, { key: 'shared', value: 'package' }] }
  })
  assert.equal(res.status, 200, res.text)
  const echo = `${pkg}/echo`
  await action(echo, ECHO, { 'web-export': true }, { fromAction: 'a', shared: 'action' })
  await action(`${pkg}/hidden`, ECHO, {})

  res = await web(`${GUEST}/${pkg}/echo.json/x/y?q=1`)
  assert.equal(res.status, 200, res.text)
  assert.equal(res.json.fromPkg, 'p')
  assert.equal(res.json.fromAction, 'a')
  assert.equal(res.json.shared, 'action', 'package < action')
  assert.equal(res.json.q, '1')
  assert.equal(res.json.__ow_path, '/x/y')
  const id = res.headers.get('x-openwhisk-activation-id')
  assert.match(id, ACTIVATION_ID)
  const record = await eventually(() => ow.activations.get({ activationId: id }))
  assert.equal(record.namespace, GUEST)
  assert.equal(record.name, 'echo')
  assert.ok(record.annotations.some(a => a.key === 'path' && a.value === `${GUEST}/${echo}`))

  assertError(await web(`${GUEST}/${pkg}/hidden.json`), 404, NOT_FOUND)
  assertError(await web(`${GUEST}/${pkg}/missing.json`), 404, NOT_FOUND)
  // a packaged action is not reachable as if it were not in a package
  assertError(await web(guest('echo.json')), 404, NOT_FOUND)

  // through a binding in the owner's namespace: package < binding < action < request
  const bound = uniq('web-bound')
  res = await raw('PUT', `/api/v1/namespaces/_/packages/${bound}`, {
    body: { binding: { namespace: GUEST, name: pkg }, parameters: [{ key: 'fromBinding', value: 'b' }, { key: 'fromPkg', value: 'bound' }] }
  })
  assert.equal(res.status, 200, res.text)
  res = await web(`${GUEST}/${bound}/echo.json?fromAction=query`)
  assert.equal(res.status, 200, res.text)
  assert.equal(res.json.fromPkg, 'bound', 'package < binding')
  assert.equal(res.json.fromBinding, 'b')
  assert.equal(res.json.fromAction, 'query', 'action < query (not final)')
  assertError(await web(`${GUEST}/${bound}/hidden.json`), 404, NOT_FOUND)

  // another namespace's binding to the published package reaches the action, and the
  // binding's owner owns the activation; once unpublished, it does not
  const publish = async (flag) => {
    const r = await raw('PUT', `/api/v1/namespaces/_/packages/${pkg}?overwrite=true`, {
      body: { publish: flag, parameters: [{ key: 'fromPkg', value: 'p' }] }
    })
    assert.equal(r.status, 200, r.text)
  }
  await publish(true)
  const theirs = uniq('web-theirs')
  res = await raw('PUT', `/api/v1/namespaces/_/packages/${theirs}`, {
    auth: AUTH2, body: { binding: { namespace: GUEST, name: pkg } }
  })
  assert.equal(res.status, 200, res.text)
  res = await web(`${NS2}/${theirs}/echo.json`)
  assert.equal(res.status, 200, res.text)
  assert.equal(res.json.fromPkg, 'p')
  assert.equal(res.json.fromAction, 'a')
  const theirId = res.headers.get('x-openwhisk-activation-id')
  const theirRecord = await eventually(() => ow2.activations.get({ activationId: theirId }))
  assert.equal(theirRecord.namespace, NS2)
  await publish(false)
  assertError(await web(`${NS2}/${theirs}/echo.json`), 404, NOT_FOUND)
})

test('.http headers cannot set the framing: the length on the wire is the body\'s', async () => {
  const forged = 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}'
  const name = await action(uniq('web-framing'), `function main() {
    return { headers: { 'Content-Length': '0', 'Transfer-Encoding': 'chunked', 'content-type': 'text/plain' },
             body: ${JSON.stringify(forged)} }
  }`)
  const res = await onTheWire('GET', guest(`${name}.http`))
  assert.equal(res.status, 200)
  assert.equal(res.headers['content-length'], String(Buffer.byteLength(forged)))
  assert.equal(res.headers['transfer-encoding'], undefined)
  assert.equal(res.body.toString('utf8'), forged)
})

test('.http with an informational statusCode (1xx) is not a valid response', async () => {
  const name = await action(uniq('web-1xx'), 'function main(p) { return { statusCode: Number(p.code), body: "x" } }')
  for (const code of [100, 101, 103]) {
    const res = await web(guest(`${name}.http?code=${code}`))
    assertError(res, 400, "Response is not valid 'message/http'.")
  }
})

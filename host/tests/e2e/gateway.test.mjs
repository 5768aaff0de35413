// The built-in API gateway: route management through the npm client's `routes` and through the
// requests `wsk api` sends (`createApi.http`/`getApi.http`/`deleteApi.http` with `accesstoken`
// and `spaceguid`, `--config-file` swaggers), then the routes themselves over plain HTTP at
// `/api/{tenant}/{basePath}{relPath}`: response types, path templates and `__ow_path`, secure
// keys, CORS, API keys and client secrets, rate limits, the gateway's status codes and texts,
// and namespace isolation.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import { API_HOST, AUTH, AUTH2, ow, ow2, raw, uniq } from './helpers.mjs'

const TENANT = AUTH.split(':')[0]
const TENANT2 = AUTH2.split(':')[0]
const WEB = { 'web-export': true, 'raw-http': false, final: true }
const MGMT = '/api/v1/web/whisk.system/apimgmt'

/** Answers with its arguments, and as an `.http` response (201, a header, a body). */
const ECHO = `function main(p) {
  return { name: p.name, path: p.__ow_path, method: p.__ow_method, statusCode: 201,
    headers: { 'x-made': 'yes' }, body: 'made ' + p.__ow_path }
}`

/** Answers with a field for each response type. */
const TYPES = `function main(p) {
  return { html: '<p>hi</p>', text: 'hi', svg: '<svg xmlns="http://www.w3.org/2000/svg"/>',
    statusCode: 201, headers: { 'x-made': 'yes' } }
}`

/** Creates a web action in the guest namespace (or with `auth`'s key) and returns its name. */
async function webAction (name, annotations = WEB, auth = AUTH, code = ECHO) {
  const res = await raw('PUT', `/api/v1/namespaces/_/actions/${name}?overwrite=true`, {
    auth,
    body: {
      exec: { kind: 'nodejs:default', code },
      annotations: Object.entries(annotations).map(([key, value]) => ({ key, value }))
    }
  })
  assert.equal(res.status, 200, `creating ${name}: ${res.text}`)
  return name
}

/** A request to a gateway route (no OpenWhisk key unless given in headers). */
async function call (path, { method = 'GET', headers = {}, tenant = TENANT } = {}) {
  const res = await fetch(`${API_HOST}/api/${tenant}${path}`, { method, headers })
  const text = await res.text()
  let json
  try { json = JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}

/** Asserts a gateway error: `{"status": N, "message": "Error: …"}`. */
function assertRefused (res, status, message) {
  assert.equal(res.status, status, res.text)
  assert.deepEqual(res.json, { status, message: `Error: ${message}` })
  assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8')
}

/** What `wsk api create BASE REL VERB ACTION --response-type TYPE` posts. */
function wskCreate (base, rel, verb, action, type, extra = {}) {
  const apidoc = {
    namespace: '_',
    gatewayBasePath: base,
    gatewayPath: rel,
    gatewayMethod: verb,
    id: `API:_:${base}`,
    action: {
      name: action,
      namespace: '_',
      backendMethod: verb,
      backendUrl: `https://127.0.0.1/api/v1/web/_/default/${action}.http`,
      authkey: AUTH
    },
    ...extra
  }
  const qs = `accesstoken=DUMMY+TOKEN&responsetype=${type}&spaceguid=${TENANT}`
  return raw('POST', `${MGMT}/createApi.http?${qs}`, { body: { apidoc } })
}

test('npm client routes: create, list, get and delete, then the route answers', async () => {
  const action = await webAction(uniq('gw-hello'))
  const basepath = `/${uniq('hello')}`
  const created = await ow.routes.create({ relpath: '/world', operation: 'GET', action, basepath })
  assert.equal(created.gwApiUrl, `${API_HOST}/api/${TENANT}${basepath}`)
  assert.equal(created.gwApiActivated, true)
  const op = created.apidoc.paths['/world'].get
  assert.deepEqual(op['x-openwhisk'], {
    namespace: 'guest', package: 'default', action, url: `${API_HOST}/api/v1/web/guest/default/${action}.json`
  })
  assert.equal(op.operationId, 'getWorld')

  const hit = await call(`${basepath}/world?name=gw`)
  assert.equal(hit.status, 200, hit.text)
  assert.equal(hit.json.name, 'gw')
  assert.equal(hit.json.path, '', 'json routes do not get the request path')
  const below = await call(`${basepath}/world/a/b`)
  assert.equal(below.json.path, '/a/b', 'only what lies below the route')
  assert.match(hit.headers.get('x-openwhisk-activation-id'), /^[0-9a-f]{32}$/)

  await ow.routes.create({ relpath: '/world', operation: 'POST', action, basepath })
  const got = await ow.routes.get({ basepath })
  assert.equal(got.apis.length, 1)
  assert.deepEqual(Object.keys(got.apis[0].value.apidoc.paths['/world']).sort(), ['get', 'post'])
  const listed = await ow.routes.list()
  assert.ok(listed.apis.some(a => a.value.apidoc.basePath === basepath), JSON.stringify(listed))
  assert.equal((await call(`${basepath}/world`, { method: 'POST' })).status, 200)

  await ow.routes.delete({ basepath, relpath: '/world', operation: 'POST' })
  assertRefused(await call(`${basepath}/world`, { method: 'POST' }), 404, 'Whoops. Verb not supported.')
  assert.equal((await call(`${basepath}/world`)).status, 200, 'GET stays')

  await ow.routes.delete({ basepath })
  assertRefused(await call(`${basepath}/world`), 404, 'Not found.')
  assert.deepEqual((await ow.routes.get({ basepath })).apis, [])
  const again = await ow.routes.delete({ basepath }).then(() => null, e => e)
  assert.equal(again.statusCode, 502)
  assert.deepEqual(again.error, { error: `API deletion failure: API '${basepath}' does not exist.` })
})

test('wsk api create, list, get and delete as the CLI sends them, with path parameters', async () => {
  const action = await webAction(uniq('gw-books'))
  const base = `/${uniq('club')}`
  const pathParameters = [{ name: 'isbn', in: 'path', description: "Default description for 'isbn'", required: true, type: 'string' }]
  const res = await wskCreate(base, '/books/{isbn}', 'GET', action, 'http', { pathParameters })
  assert.equal(res.status, 200, res.text)
  assert.equal(res.json.gwApiUrl, `${API_HOST}/api/${TENANT}${base}`)
  assert.deepEqual(res.json.apidoc.paths['/books/{isbn}'].get.parameters, pathParameters)
  assert.equal(res.json.apidoc.paths['/books/{isbn}'].get.operationId, 'getBooksIsbn')

  const book = await call(`${base}/books/978-0596517748?name=reader`)
  assert.equal(book.status, 201, book.text)
  assert.equal(book.text, `made ${base}/books/978-0596517748`, '__ow_path is the whole gateway path')
  assert.equal(book.headers.get('x-made'), 'yes')
  assertRefused(await call(`${base}/books`), 404, 'Not found.')
  // As OpenWhisk's gateway, a route also serves the paths below it.
  const below = await call(`${base}/books/978/extra`)
  assert.equal(below.status, 201, below.text)
  assert.equal(below.text, `made ${base}/books/978/extra`)

  const qs = `accesstoken=DUMMY+TOKEN&spaceguid=${TENANT}`
  const list = await raw('GET', `${MGMT}/getApi.http?${qs}&limit=30&skip=0`)
  assert.equal(list.status, 200, list.text)
  const entry = list.json.apis.find(a => a.value.apidoc.basePath === base)
  assert.ok(entry, list.text)
  assert.equal(entry.value.gwApiUrl, `${API_HOST}/api/${TENANT}${base}`)
  const get = await raw('GET', `${MGMT}/getApi.http?${qs}&basepath=${encodeURIComponent(base)}`)
  assert.equal(get.json.apis.length, 1)

  // An API name instead of a base path (`wsk api create NAME BASE …` keeps the title).
  const named = await wskCreate(base, '/authors', 'GET', action, 'json', { apiName: 'ignored once created' })
  assert.equal(named.status, 200, named.text)
  const byName = await raw('GET', `${MGMT}/getApi.http?${qs}&basepath=${encodeURIComponent(base)}`)
  assert.equal(byName.json.apis[0].value.apidoc.info.title, base, 'an existing API keeps its title')

  const del = await raw('DELETE', `${MGMT}/deleteApi.http?${qs}&basepath=${encodeURIComponent(base)}&relpath=%2Fbooks%2F%7Bisbn%7D&operation=GET`)
  assert.equal(del.status, 200, del.text)
  assert.deepEqual(del.json, {})
  assertRefused(await call(`${base}/books/1`), 404, 'Not found.')
  assert.equal((await call(`${base}/authors`)).status, 200)
  const last = await raw('DELETE', `${MGMT}/deleteApi.http?${qs}&basepath=${encodeURIComponent(base)}&relpath=%2Fauthors`)
  assert.equal(last.status, 200, last.text)
  assert.deepEqual((await raw('GET', `${MGMT}/getApi.http?${qs}&basepath=${encodeURIComponent(base)}`)).json.apis, [],
    'removing the last path removes the API')
})

test('each response type shapes the action result as the web action extension does', async () => {
  const action = await webAction(uniq('gw-types'), WEB, AUTH, TYPES)
  const basepath = `/${uniq('types')}`
  for (const responsetype of ['json', 'http', 'html', 'text', 'svg']) {
    await ow.routes.create({ relpath: `/${responsetype}`, operation: 'GET', action, basepath, responsetype })
  }
  const json = await call(`${basepath}/json`)
  assert.equal(json.headers.get('content-type'), 'application/json')
  assert.equal(json.json.html, '<p>hi</p>')
  const http = await call(`${basepath}/http`)
  assert.equal(http.status, 201)
  assert.equal(http.headers.get('x-made'), 'yes')
  const html = await call(`${basepath}/html`)
  assert.equal(html.text, '<p>hi</p>')
  assert.match(html.headers.get('content-type'), /^text\/html/)
  const text = await call(`${basepath}/text`)
  assert.equal(text.text, 'hi')
  assert.match(text.headers.get('content-type'), /^text\/plain/)
  const svg = await call(`${basepath}/svg`)
  assert.match(svg.headers.get('content-type'), /^image\/svg\+xml/)
  await ow.routes.delete({ basepath })
})

test('a route supplies the action\'s secure key, which a direct web call lacks', async () => {
  const secret = 'the-secret-1234'
  const action = await webAction(uniq('gw-secure'), { ...WEB, 'require-whisk-auth': secret })
  const basepath = `/${uniq('secure')}`
  await ow.routes.create({ relpath: '/s', operation: 'GET', action, basepath, secure_key: secret })
  const hit = await call(`${basepath}/s`)
  assert.equal(hit.status, 200, hit.text)
  const direct = await fetch(`${API_HOST}/api/v1/web/guest/default/${action}.json`)
  assert.equal(direct.status, 401)
  await ow.routes.delete({ basepath })
})

test('CORS: preflights are answered by the gateway, and an API can turn CORS off', async () => {
  const action = await webAction(uniq('gw-cors'))
  const basepath = `/${uniq('cors')}`
  await ow.routes.create({ relpath: '/c', operation: 'GET', action, basepath })
  const pre = await call(`${basepath}/c`, {
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-headers': 'x-custom' }
  })
  assert.equal(pre.status, 200)
  assert.equal(pre.text, '')
  assert.equal(pre.headers.get('access-control-allow-origin'), 'https://app.example')
  assert.equal(pre.headers.get('access-control-allow-headers'), 'x-custom')
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true')
  const get = await call(`${basepath}/c`, { headers: { origin: 'https://app.example' } })
  assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.example')
  assert.match(get.headers.get('vary'), /Origin/)

  const swagger = (await ow.routes.get({ basepath })).apis[0].value.apidoc
  swagger['x-ibm-configuration'].cors.enabled = false
  await ow.routes.create({ swagger })
  const closed = await call(`${basepath}/c`, { headers: { origin: 'https://app.example' } })
  assert.equal(closed.status, 200, closed.text)
  assert.equal(closed.headers.get('access-control-allow-origin'), null, 'the action\'s CORS headers are removed')
  assertRefused(await call(`${basepath}/c`, { method: 'OPTIONS' }), 404, 'Whoops. Verb not supported.')
  await ow.routes.delete({ basepath })
})

/** An imported API (`wsk api create --config-file`, serverless) over `action`. */
function swaggerApi (basePath, action, extra = {}) {
  return {
    swagger: '2.0',
    basePath,
    info: { title: 'keys', version: '1.0' },
    paths: {
      '/k': {
        get: {
          operationId: 'getK',
          responses: { 200: { description: 'ok' } },
          'x-openwhisk': { namespace: '_', package: 'default', action, url: `https://h/api/v1/web/_/default/${action}.json` }
        }
      }
    },
    ...extra
  }
}

/** Subscription management (shoal's addition): `op` is create, get or delete. */
function subscription (op, args) {
  const name = { create: 'createSubscription', get: 'getSubscriptions', delete: 'deleteSubscription' }[op]
  const method = { create: 'POST', get: 'GET', delete: 'DELETE' }[op]
  if (method === 'POST') return raw('POST', `${MGMT}/${name}`, { body: args })
  return raw(method, `${MGMT}/${name}?${new URLSearchParams(args)}`)
}

test('API keys must be subscribed, and rate limits hold per key', async () => {
  const action = await webAction(uniq('gw-keys'))
  const basepath = `/${uniq('keys')}`
  const swagger = swaggerApi(basepath, action, {
    securityDefinitions: { key: { type: 'apiKey', in: 'header', name: 'X-Api-Key' } },
    'x-ibm-rate-limit': [{ rate: 2, unit: 'day', units: 1 }]
  })
  // `--config-file` sends the swagger as JSON text.
  const created = await raw('POST', `${MGMT}/createApi.http?accesstoken=DUMMY+TOKEN&spaceguid=${TENANT}`, {
    body: { apidoc: { namespace: '_', swagger: JSON.stringify(swagger) } }
  })
  assert.equal(created.status, 200, created.text)

  const anonymous = await call(`${basepath}/k`)
  assertRefused(anonymous, 401, 'Unauthorized')
  assert.equal(anonymous.headers.get('www-authenticate'), null, 'no browser login prompt for a public API')
  assertRefused(await call(`${basepath}/k`, { headers: { 'x-api-key': 'k1' } }), 401, 'Unauthorized')
  for (const id of ['k1', 'k2']) {
    const sub = await subscription('create', { basepath, client_id: id })
    assert.equal(sub.status, 200, sub.text)
    assert.deepEqual(sub.json, { message: `Subscription '${id}' created for API '${basepath}'` })
  }
  assert.deepEqual((await subscription('get', { basepath })).json.subscriptions.sort(), ['k1', 'k2'])
  // A client id subscribed with a secret is no plain API key.
  assert.equal((await subscription('create', { basepath, client_id: 'paired', client_secret: 's' })).status, 200)
  assertRefused(await call(`${basepath}/k`, { headers: { 'x-api-key': 'paired' } }), 401, 'Unauthorized')
  const huge = await subscription('create', { basepath, client_id: 'x'.repeat(300) })
  assert.equal(huge.status, 502, 'client ids are bounded')

  // Two a day per key: the third is refused, another key has its own budget.
  assert.equal((await call(`${basepath}/k`, { headers: { 'x-api-key': 'k1' } })).status, 200)
  assert.equal((await call(`${basepath}/k`, { headers: { 'x-api-key': 'k1' } })).status, 200)
  assertRefused(await call(`${basepath}/k`, { headers: { 'x-api-key': 'k1' } }), 429, 'Rate limit exceeded')
  assert.equal((await call(`${basepath}/k`, { headers: { 'x-api-key': 'k2' } })).status, 200)

  // Re-importing the API (a second deploy) keeps its subscriptions; deleting one revokes it.
  await ow.routes.create({ swagger: swaggerApi(basepath, action, { securityDefinitions: swagger.securityDefinitions }) })
  assert.equal((await call(`${basepath}/k`, { headers: { 'x-api-key': 'k1' } })).status, 200)
  assert.equal((await subscription('delete', { basepath, client_id: 'k1' })).status, 200)
  assertRefused(await call(`${basepath}/k`, { headers: { 'x-api-key': 'k1' } }), 401, 'Unauthorized')
  const gone = await subscription('delete', { basepath, client_id: 'k1' })
  assert.equal(gone.status, 502)
  assert.deepEqual(gone.json, { error: "Subscription doesn't exist" })
  await ow.routes.delete({ basepath })
})

test('client secrets: both headers are required and the secret must match', async () => {
  const action = await webAction(uniq('gw-secret'))
  const basepath = `/${uniq('secret')}`
  await ow.routes.create({
    swagger: swaggerApi(basepath, action, {
      securityDefinitions: {
        client_id: { type: 'apiKey', in: 'header', name: 'X-Client-ID', 'x-key-type': 'clientId' },
        client_secret: { type: 'apiKey', in: 'header', name: 'X-Client-Secret', 'x-key-type': 'clientSecret' }
      }
    })
  })
  const sub = await subscription('create', { basepath, client_id: 'app', client_secret: 's3cret' })
  assert.equal(sub.status, 200, sub.text)
  assert.ok(!JSON.stringify((await subscription('get', { basepath })).json).includes('s3cret'), 'secrets are never listed')
  assertRefused(await call(`${basepath}/k`), 401, 'X-Client-ID required')
  assertRefused(await call(`${basepath}/k`, { headers: { 'x-client-id': 'app' } }), 401, 'X-Client-Secret required')
  assertRefused(await call(`${basepath}/k`, { headers: { 'x-client-id': 'app', 'x-client-secret': 'wrong' } }),
    401, 'Secret mismatch or not subscribed to this api.')
  assert.equal((await call(`${basepath}/k`, { headers: { 'x-client-id': 'app', 'x-client-secret': 's3cret' } })).status, 200)
  await ow.routes.delete({ basepath })
})

test('route management refuses bad requests with OpenWhisk\'s texts and changes nothing', async () => {
  const noAuth = await raw('POST', `${MGMT}/createApi`, { auth: null, body: {} })
  assert.equal(noAuth.status, 401)
  const cases = [
    [{}, 'apidoc is required.'],
    [{ apidoc: '{not json' }, 'apidoc field cannot be parsed. Ensure it is valid JSON.'],
    [{ apidoc: { gatewayBasePath: '/x' } }, 'apidoc is missing the namespace field'],
    [{ apidoc: { namespace: '_', gatewayBasePath: '/x', gatewayPath: '/y', gatewayMethod: 'GET' } }, 'apidoc is missing the action field.'],
    [{ apidoc: { namespace: '_', swagger: { basePath: '/x', info: {} } } }, 'swagger is missing the paths field.']
  ]
  for (const [body, error] of cases) {
    const res = await raw('POST', `${MGMT}/createApi`, { body })
    assert.equal(res.status, 502, JSON.stringify(body))
    assert.deepEqual(res.json, { error })
  }
  const action = await webAction(uniq('gw-bad'))
  const base = `/${uniq('bad')}`
  const jsonParams = await wskCreate(base, '/b/{id}', 'GET', action, 'json')
  assert.equal(jsonParams.status, 502)
  assert.match(jsonParams.json.error, /response type of '\.http' in order to receive the path parameters/)
  const oauth = await raw('POST', `${MGMT}/createApi`, {
    body: { apidoc: { namespace: '_', swagger: swaggerApi(base, action, { securityDefinitions: { google: { type: 'oauth2' } } }) } }
  })
  assert.equal(oauth.status, 502)
  assert.match(oauth.json.error, /not supported/)
  assert.deepEqual((await ow.routes.get({ basepath: base })).apis, [], 'nothing was stored')
  assertRefused(await call('/whatever'), 404, 'Not found.')
  assertRefused(await call('/x', { tenant: '00000000-0000-0000-0000-000000000000' }), 404, 'Not found.')
  const unknown = await raw('GET', `${MGMT}/nope`)
  assert.equal(unknown.status, 404)
  const wrongMethod = await raw('GET', `${MGMT}/createApi`)
  assert.equal(wrongMethod.status, 405, 'createApi takes POST only')
})

test('one namespace can neither see nor change another\'s APIs', async () => {
  const action = await webAction(uniq('gw-mine'))
  const basepath = `/${uniq('mine')}`
  await ow.routes.create({ relpath: '/m', operation: 'GET', action, basepath })
  assert.ok(!(await ow2.routes.list()).apis.some(a => a.value.apidoc.basePath === basepath))
  const del = await ow2.routes.delete({ basepath }).then(() => null, e => e)
  assert.equal(del.statusCode, 502)
  assert.equal((await call(`${basepath}/m`)).status, 200, 'still served')
  assertRefused(await call(`${basepath}/m`, { tenant: TENANT2 }), 404, 'Not found.')

  // The same base path in the other namespace is its own API, at its own tenant.
  const theirs = await webAction(uniq('gw-theirs'), WEB, AUTH2)
  const created = await ow2.routes.create({ relpath: '/m', operation: 'GET', action: theirs, basepath })
  assert.equal(created.gwApiUrl, `${API_HOST}/api/${TENANT2}${basepath}`)
  assert.equal((await call(`${basepath}/m?name=two`, { tenant: TENANT2 })).json.name, 'two')
  const sub = await raw('POST', `${MGMT}/createSubscription`, { auth: AUTH2, body: { basepath: '/nope', client_id: 'x' } })
  assert.equal(sub.status, 502)
  await ow2.routes.delete({ basepath })
  assert.equal((await call(`${basepath}/m`)).status, 200, 'deleting theirs leaves mine')
  await ow.routes.delete({ basepath })
})

test('concurrent route changes to one API all land', async () => {
  const action = await webAction(uniq('gw-many'))
  const basepath = `/${uniq('many')}`
  const paths = ['/p1', '/p2', '/p3', '/p4', '/p5', '/p6']
  await Promise.all(paths.map(relpath => ow.routes.create({ relpath, operation: 'GET', action, basepath })))
  const doc = (await ow.routes.get({ basepath })).apis[0].value.apidoc
  assert.deepEqual(Object.keys(doc.paths).sort(), paths)
  await Promise.all(paths.slice(0, 3).map(relpath => ow.routes.delete({ basepath, relpath })))
  const left = (await ow.routes.get({ basepath })).apis[0].value.apidoc
  assert.deepEqual(Object.keys(left.paths).sort(), paths.slice(3))
  for (const p of paths.slice(3)) assert.equal((await call(`${basepath}${p}`)).status, 200)
  await ow.routes.delete({ basepath })
})

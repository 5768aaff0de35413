// The OpenAPI document shoal serves (`GET /api/v1/api-docs`), made from its route table: a
// validator accepts it, and every operation it lists is routed by the live server (answered
// by the route's own handler, never with the dispatcher's "could not be found" or a 405).

import { test } from 'node:test'
import assert from 'node:assert/strict'
import SwaggerParser from '@apidevtools/swagger-parser'
import { API_HOST, AUTH, raw } from './helpers.mjs'

const NO_ROUTE = 'The requested resource could not be found.'
const TENANT = AUTH.split(':')[0]
const RUN = Math.random().toString(36).slice(2, 8)
// A PUT may create what it names: each path's DELETE comes after it.
const ORDER = ['get', 'head', 'put', 'post', 'patch', 'delete']

// A value for each path parameter; the entities named do not exist.
function sample (path, name) {
  const web = path.startsWith('/api/v1/web/')
  switch (name) {
    case 'namespace': return web ? 'guest' : '_'
    case 'packageName': return web ? 'default' : `no-such-package-${RUN}`
    case 'actionName': return web ? `no-such-action-${RUN}.json` : `no-such-action-${RUN}`
    case 'activationId': return '0'.repeat(32)
    case 'tenant': return TENANT
    case 'path': return 'no/such/path'
    default: return `no-such-${name.toLowerCase()}-${RUN}`
  }
}

async function document () {
  const res = await raw('GET', '/api/v1/api-docs', { auth: null })
  assert.equal(res.status, 200, res.text)
  assert.match(res.headers.get('content-type'), /^application\/json/)
  return res.json
}

test('the document is valid OpenAPI 3 and names this server', async () => {
  const doc = await document()
  assert.equal(doc.openapi, '3.0.3')
  assert.deepEqual(doc.servers, [{ url: API_HOST }])
  // validate() dereferences its argument in place: give it a copy.
  await SwaggerParser.validate(structuredClone(doc))
})

test('every documented operation is routed by the live server', async () => {
  const doc = await document()
  let operations = 0
  for (const [template, item] of Object.entries(doc.paths)) {
    const path = template.replace(/\{([^}]+)\}/g, (_, name) => sample(template, name))
    const methods = Object.keys(item).sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b))
    for (const method of methods) {
      const operation = item[method]
      const basic = operation.security.some((s) => 'basic' in s)
      const res = await raw(method.toUpperCase(), path, { auth: basic ? AUTH : null })
      const where = `${method.toUpperCase()} ${path} (${operation.operationId}): ${res.status} ${res.text.slice(0, 200)}`
      assert.notEqual(res.status, 405, where)
      assert.ok(!(res.status === 404 && res.json && res.json.error === NO_ROUTE), where)
      operations++
    }
  }
  assert.ok(operations >= 40, `only ${operations} operations documented`)
})

test('what the document does not list is not served', async () => {
  const doc = await document()
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/actions/{actionName}'].patch, undefined)
  const patch = await raw('PATCH', '/api/v1/namespaces/_/actions/a')
  assert.equal(patch.status, 405)
  for (const path of ['/api/v1/nothing', '/api/v1/namespaces/_/things', '/no/such/route']) {
    const res = await raw('GET', path)
    assert.equal(res.status, 404, path)
    assert.equal(res.json.error, NO_ROUTE, path)
  }
})

test('the docs page lists every documented path', async () => {
  const doc = await document()
  const page = await raw('GET', '/api/v1/docs', { auth: null })
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type'), /^text\/html/)
  for (const template of Object.keys(doc.paths)) {
    assert.ok(page.text.includes(`<code>${template}</code>`), template)
  }
})

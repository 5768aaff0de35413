// The OpenAPI document shoal serves (`GET /api/v1/api-docs`), made from its route table and
// the model's types: a validator accepts it, every operation it lists is routed by the live
// server (answered by the route's own handler, never with the dispatcher's "could not be
// found" or a 405), and what the live server answers fits the schema the document names.

import { test } from 'node:test'
import assert from 'node:assert/strict'
import SwaggerParser from '@apidevtools/swagger-parser'
import Ajv from 'ajv'
import { API_HOST, AUTH, raw, uniq } from './helpers.mjs'

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

// The schema an operation's 200 answer is documented with, as one Ajv can check.
function answerSchema (doc, path, method) {
  const schema = doc.paths[path][method].responses['200'].content?.['application/json']?.schema
  assert.ok(schema, `${method} ${path} documents no schema`)
  return { ...schema, components: doc.components }
}

test('what the live server answers fits the schemas the document names', async () => {
  const doc = await document()
  // OpenAPI 3.0's dialect: `nullable`, and formats Ajv does not know (`uint64`).
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true })
  const check = (path, method, body) => {
    const validate = ajv.compile(answerSchema(doc, path, method))
    assert.ok(validate(body), `${method} ${path}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`)
  }
  const [pkg, action, trigger, rule, binding] = ['p', 'a', 't', 'r', 'b'].map(uniq)
  const put = async (path, body) => {
    const res = await raw('PUT', path, { body })
    assert.equal(res.status, 200, `${path}: ${res.text}`)
    return res.json
  }
  const ns = '/api/v1/namespaces/_'
  const entity = '/api/v1/namespaces/{namespace}'
  check(`${entity}/packages/{packageName}`, 'put', await put(`${ns}/packages/${pkg}`, { parameters: [{ key: 'k', value: 1 }] }))
  check(`${entity}/packages/{packageName}`, 'put', await put(`${ns}/packages/${binding}`, { binding: { namespace: '_', name: pkg } }))
  const code = { kind: 'nodejs:20', code: 'function main(p) { return p }' }
  check(`${entity}/actions/{actionName}`, 'put', await put(`${ns}/actions/${action}`, { exec: code, parameters: [{ key: 'i', value: 2, init: true }] }))
  check(`${entity}/actions/{packageName}/{actionName}`, 'put', await put(`${ns}/actions/${pkg}/${action}`, { exec: code }))
  check(`${entity}/triggers/{triggerName}`, 'put', await put(`${ns}/triggers/${trigger}`, {}))
  check(`${entity}/rules/{ruleName}`, 'put', await put(`${ns}/rules/${rule}`, { trigger: `/_/${trigger}`, action: `/_/${action}` }))
  const invoked = await raw('POST', `${ns}/actions/${action}?blocking=true`, { body: { x: 1 } })
  assert.equal(invoked.status, 200, invoked.text)
  const id = invoked.json.activationId
  for (const [path, live] of [
    [`${entity}/packages/{packageName}`, `${ns}/packages/${pkg}`],
    [`${entity}/packages/{packageName}`, `${ns}/packages/${binding}`],
    [`${entity}/actions/{actionName}`, `${ns}/actions/${action}`],
    [`${entity}/actions/{packageName}/{actionName}`, `${ns}/actions/${binding}/${action}`],
    [`${entity}/triggers/{triggerName}`, `${ns}/triggers/${trigger}`],
    [`${entity}/rules/{ruleName}`, `${ns}/rules/${rule}`],
    [`${entity}/activations/{activationId}`, `${ns}/activations/${id}`],
    [`${entity}/actions`, `${ns}/actions`],
    [`${entity}/actions/{packageName}/`, `${ns}/actions/${pkg}/`],
    [`${entity}/packages`, `${ns}/packages`],
    [`${entity}/triggers`, `${ns}/triggers`],
    [`${entity}/rules`, `${ns}/rules`],
    [`${entity}/activations`, `${ns}/activations`]
  ]) {
    const res = await raw('GET', live)
    assert.equal(res.status, 200, `${live}: ${res.text}`)
    check(path, 'get', res.json)
  }
  for (const [path, live] of [
    [`${entity}/rules/{ruleName}`, `${ns}/rules/${rule}`],
    [`${entity}/triggers/{triggerName}`, `${ns}/triggers/${trigger}`],
    [`${entity}/actions/{packageName}/{actionName}`, `${ns}/actions/${pkg}/${action}`],
    [`${entity}/actions/{actionName}`, `${ns}/actions/${action}`],
    [`${entity}/packages/{packageName}`, `${ns}/packages/${binding}`],
    [`${entity}/packages/{packageName}`, `${ns}/packages/${pkg}`]
  ]) {
    const res = await raw('DELETE', live)
    assert.equal(res.status, 200, `${live}: ${res.text}`)
    check(path, 'delete', res.json)
  }
})

test('a schema rejects what does not fit it', async () => {
  const doc = await document()
  const ajv = new Ajv({ strict: false, validateFormats: false })
  const validate = ajv.compile(answerSchema(doc, '/api/v1/namespaces/{namespace}/actions/{actionName}', 'get'))
  assert.equal(validate({ namespace: 'guest', name: 'a' }), false, 'an action without exec and version')
  assert.equal(validate({ namespace: 'guest', name: 'a', version: '0.0.1', exec: { kind: 3 } }), false)
})

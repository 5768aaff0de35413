// Real Node.js actions as users deploy them: zip actions in the layouts serverless-openwhisk
// and wskdeploy produce, an action calling another through the preinstalled `openwhisk`
// client (answered in-process by shoal), and `fetch` / Node's `http` client against a local
// server, within the egress policy the suite's shoal runs with (127.0.0.1 allowed,
// `localhost` not listed, so refused).

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import http from 'node:http'
import https from 'node:https'
import { readFileSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import crypto from 'node:crypto'
import * as jose from 'jose'
import { ow, uniq } from './helpers.mjs'

const requireHere = createRequire(import.meta.url)
const jwt = requireHere('jsonwebtoken')

/** The files of npm package `name` and of every package it depends on, as `npm install` left
 * them in this suite's `node_modules`, keyed by their path in an action's zip. */
function packageFiles (name, files = {}) {
  const root = new URL(`node_modules/${name}/`, import.meta.url)
  if (files[`node_modules/${name}/package.json`]) return files
  const walk = (dir, prefix) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`)
      else files[`node_modules/${name}/${prefix}${entry.name}`] = readFileSync(new URL(entry.name, dir), 'utf8')
    }
  }
  walk(root, '')
  const manifest = JSON.parse(files[`node_modules/${name}/package.json`])
  for (const dependency of Object.keys(manifest.dependencies || {})) packageFiles(dependency, files)
  return files
}

/** A zip (as a Buffer) of `files`, made with Python's zipfile as a packaging tool would. */
function zip (files) {
  const script = 'import sys, json, io, zipfile\nfiles = json.load(sys.stdin)\nbuf = io.BytesIO()\nwith zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:\n    [z.writestr(k, v) for k, v in files.items()]\nsys.stdout.buffer.write(buf.getvalue())'
  return execFileSync('python3', ['-c', script], { input: JSON.stringify(files) })
}

let server
let port
let secure
let securePort
before(async () => {
  const tls = { cert: readFileSync(process.env.SHOAL_TLS_CERT), key: readFileSync(process.env.SHOAL_TLS_KEY) }
  secure = https.createServer(tls, (req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ secure: true, url: req.url }))
  })
  await new Promise((resolve) => secure.listen(0, '127.0.0.1', resolve))
  securePort = secure.address().port
  server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += c })
    req.on('end', () => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ method: req.method, url: req.url, body, agent: req.headers['user-agent'] ?? null }))
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = server.address().port
})
after(() => {
  server.close()
  secure.close()
})

test('a zip with jsonwebtoken from npm makes and checks HS256, RS256, PS256 and ES256 tokens as Node does', async () => {
  const name = uniq('jwt')
  const main = `const jwt = require('jsonwebtoken');
exports.main = ({ keys, tokens }) => {
  const claims = { sub: 'shoal', n: 1 };
  const made = {};
  for (const alg of ['HS256', 'RS256', 'PS256', 'ES256']) {
    const key = alg === 'HS256' ? 'secret' : alg === 'ES256' ? keys.ec : keys.rsa;
    made[alg] = jwt.sign(claims, key, { algorithm: alg, noTimestamp: true });
  }
  const checked = {};
  for (const [alg, token] of Object.entries(tokens)) {
    const key = alg === 'HS256' ? 'secret' : alg === 'ES256' ? keys.ecPub : keys.rsaPub;
    checked[alg] = jwt.verify(token, key, { algorithms: [alg] }).sub;
  }
  let wrong = 'accepted';
  try { jwt.verify(made.RS256, keys.ecPub); } catch (e) { wrong = e.message; }
  let forged = 'accepted';
  try { jwt.verify(made.HS256, 'other'); } catch (e) { forged = e.message; }
  return { made, checked, wrong, forged };
};
`
  const action = zip({ 'package.json': JSON.stringify({ name: 'jwt', main: 'index.js' }), 'index.js': main, ...packageFiles('jsonwebtoken') })
  await ow.actions.create({ name, action, kind: 'nodejs:20' })
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const pem = (key, type) => key.export({ type, format: 'pem' })
  const keys = { rsa: pem(rsa.privateKey, 'pkcs1'), rsaPub: pem(rsa.publicKey, 'spki'), ec: pem(ec.privateKey, 'sec1'), ecPub: pem(ec.publicKey, 'spki') }
  const claims = { sub: 'shoal', n: 1 }
  const tokens = {}
  for (const alg of ['HS256', 'RS256', 'PS256', 'ES256']) {
    const key = alg === 'HS256' ? 'secret' : alg === 'ES256' ? keys.ec : keys.rsa
    tokens[alg] = jwt.sign(claims, key, { algorithm: alg, noTimestamp: true })
  }
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { keys, tokens } })
  // HS256 and RS256 are deterministic: the very same tokens as Node's.
  assert.equal(result.made.HS256, tokens.HS256)
  assert.equal(result.made.RS256, tokens.RS256)
  assert.deepEqual(jwt.verify(result.made.PS256, keys.rsaPub, { algorithms: ['PS256'] }), claims)
  assert.deepEqual(jwt.verify(result.made.ES256, keys.ecPub, { algorithms: ['ES256'] }), claims)
  assert.deepEqual(result.checked, { HS256: 'shoal', RS256: 'shoal', PS256: 'shoal', ES256: 'shoal' })
  assert.equal(result.wrong, 'invalid algorithm')
  assert.equal(result.forged, 'invalid signature')
})

test('a zip with jose from npm verifies a token against a JWKS and signs with an imported JWK', async () => {
  const name = uniq('jose')
  const main = `const jose = require('jose');
exports.main = async ({ jwks, token, privateJwk }) => {
  const keys = jose.createLocalJWKSet(jwks);
  const { payload } = await jose.jwtVerify(token, keys);
  const key = await jose.importJWK(privateJwk, 'ES256');
  const made = await new jose.SignJWT({ sub: 'from-shoal' }).setProtectedHeader({ alg: 'ES256' }).sign(key);
  let rejected = 'accepted';
  try { await jose.jwtVerify(token.slice(0, -6) + 'AAAAAA', keys); } catch (e) { rejected = e.code; }
  return { sub: payload.sub, made, rejected };
};
`
  const action = zip({ 'package.json': JSON.stringify({ name: 'jose-action', main: 'index.js' }), 'index.js': main, ...packageFiles('jose') })
  await ow.actions.create({ name, action, kind: 'nodejs:20' })
  const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] }
  const token = await new jose.SignJWT({ sub: 'shoal' }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).sign(privateKey)
  const params = { jwks, token, privateJwk: privateKey.export({ format: 'jwk' }) }
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params })
  assert.equal(result.sub, 'shoal')
  assert.equal((await jose.jwtVerify(result.made, publicKey)).payload.sub, 'from-shoal')
  assert.equal(result.rejected, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
})

test('a serverless-openwhisk style zip with node_modules runs', async () => {
  const name = uniq('svc')
  const action = zip({
    'package.json': JSON.stringify({ name: 'svc', main: 'handler.js', dependencies: { 'left-pad': '1.3.0' } }),
    'handler.js': "const pad = require('left-pad');\nconst { greet } = require('./lib/greet');\nfunction hello (params) { return { payload: greet(params.name), padded: pad(params.name, 6, '.') } }\nexports.hello = hello;\n",
    'lib/greet.js': "exports.greet = (n) => `Hello, ${n}!`;\n",
    'node_modules/left-pad/package.json': JSON.stringify({ name: 'left-pad', main: 'index.js' }),
    'node_modules/left-pad/index.js': "module.exports = (s, n, c) => String(c).repeat(Math.max(0, n - String(s).length)) + s;\n"
  })
  await ow.actions.create({ name, action, kind: 'nodejs:20', exec: { main: 'hello' } })
  const result = await ow.actions.invoke({ name, blocking: true, result: true, params: { name: 'zip' } })
  assert.deepEqual(result, { payload: 'Hello, zip!', padded: '...zip' })
})

test('an action invokes another through require("openwhisk") and sees its errors', async () => {
  const callee = uniq('callee')
  const caller = uniq('caller')
  await ow.actions.create({ name: callee, action: 'function main(p) { return { doubled: p.n * 2 } }' })
  const code = `const openwhisk = require('openwhisk');
async function main(p) {
  const ow = openwhisk();
  const result = await ow.actions.invoke({ name: p.callee, blocking: true, result: true, params: { n: 21 } });
  let missing;
  try { await ow.actions.get({ name: 'no-such-action-anywhere' }); } catch (e) { missing = { status: e.statusCode, name: e.name, message: e.message }; }
  return { result, missing };
}`
  await ow.actions.create({ name: caller, action: code, annotations: { 'provide-api-key': true } })
  const out = await ow.actions.invoke({ name: caller, blocking: true, result: true, params: { callee } })
  assert.deepEqual(out.result, { doubled: 42 })
  assert.equal(out.missing.status, 404)
  assert.equal(out.missing.name, 'OpenWhiskError')
  assert.match(out.missing.message, /The requested resource does not exist/)
  // The callee's activation is in the activation log like any other.
  const acts = await ow.activations.list({ name: callee, limit: 5 })
  assert.ok(acts.length >= 1)
})

test('fetch and the http client reach allowed servers over http and https; other addresses are refused', async () => {
  const name = uniq('egress')
  const code = `const http = require('http');
async function main(p) {
  const r = await fetch(p.url + '/f?x=1', { method: 'POST', body: JSON.stringify({ a: 1 }), headers: { 'content-type': 'application/json' } });
  const fetched = await r.json();
  const viaHttp = await new Promise((resolve, reject) => {
    http.get(p.url + '/h', (res) => { let b = ''; res.setEncoding('utf8'); res.on('data', (c) => { b += c }); res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(b) })) }).on('error', reject);
  });
  let refused;
  try { await fetch(p.denied); } catch (e) { refused = { name: e.name, message: e.message, cause: String(e.cause && e.cause.message) }; }
  const overTls = await (await fetch(p.secure + '/tls')).json();
  return { status: r.status, fetched, viaHttp, refused, overTls };
}`
  await ow.actions.create({ name, action: code })
  const out = await ow.actions.invoke({
    name,
    blocking: true,
    result: true,
    params: { url: `http://127.0.0.1:${port}`, denied: `http://localhost:${port}/`, secure: `https://127.0.0.1:${securePort}` }
  })
  assert.equal(out.status, 200)
  assert.deepEqual({ method: out.fetched.method, url: out.fetched.url, body: out.fetched.body }, { method: 'POST', url: '/f?x=1', body: '{"a":1}' })
  assert.deepEqual({ status: out.viaHttp.status, url: out.viaHttp.body.url }, { status: 200, url: '/h' })
  assert.equal(out.refused.name, 'TypeError')
  assert.equal(out.refused.message, 'fetch failed')
  assert.match(out.refused.cause, /egress policy/)
  // https, trusting the suite's CA from `[egress] ca_files`.
  assert.deepEqual(out.overTls, { secure: true, url: '/tls' })
})

test('a webpack-style bundle sets global.main and uses crypto and Buffer', async () => {
  const name = uniq('bundle')
  const code = "(function () { const crypto = require('crypto'); global.main = function (p) { const h = crypto.createHmac('sha256', 'k').update(Buffer.from(p.text, 'utf8')).digest('hex'); return { h, b64: Buffer.from(p.text).toString('base64'), id: crypto.randomUUID().length } } })();"
  await ow.actions.create({ name, action: code })
  const out = await ow.actions.invoke({ name, blocking: true, result: true, params: { text: 'héllo' } })
  assert.deepEqual(out, {
    h: (await import('node:crypto')).createHmac('sha256', 'k').update('héllo').digest('hex'),
    b64: Buffer.from('héllo').toString('base64'),
    id: 36
  })
})

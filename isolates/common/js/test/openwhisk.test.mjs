// shoal's built-in `openwhisk` client (`../node/openwhisk.js`) against the real npm client
// (host/tests/e2e/node_modules/openwhisk): both make the same calls, against a real shoal
// (`target/debug/shoal serve`) and against a local recorder that
// captures the requests, and must resolve to the same values and reject with the same errors.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { isolate } from "./harness.mjs";

const require = createRequire(import.meta.url);
const npmOpenwhisk = require("../../../../host/tests/e2e/node_modules/openwhisk");
const SOURCE = readFileSync(new URL("../node/openwhisk.js", import.meta.url), "utf8");
// The shoal binary `cargo build -p shoal` made (or `$SHOAL_BIN`).
const BIN = process.env.SHOAL_BIN ?? new URL("../../../../target/debug/shoal", import.meta.url).pathname;
const KEY = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

// The two members of the engines' host object the module uses, made of Node's own fetch.
const host = {
  async request({ method, url, headers, redirect }, body) {
    // The engines reject with the reason itself (fetch wraps it in "fetch failed").
    const res = await fetch(url, { method, headers, body, redirect }).catch((e) => { throw e.cause ?? e; });
    return { status: res.status, statusText: res.statusText, headers: [...res.headers], body: new Uint8Array(await res.arrayBuffer()) };
  },
  utf8Decode: (bytes) => new TextDecoder().decode(bytes),
};

// Our module, run in plain Node as a CommonJS module that may not require anything.
function loadOwn() {
  const module = { exports: {} };
  const noRequire = (id) => { throw new Error(`openwhisk.js must not require '${id}'`); };
  new Function("exports", "require", "module", "host", SOURCE)(module.exports, noRequire, module, host);
  return module.exports;
}
const ownOpenwhisk = loadOwn();

for (const key of Object.keys(process.env)) if (key.startsWith("__OW_")) delete process.env[key];

// --- normalizing results so the two clients' runs compare equal ---
const VOLATILE_ANNOTATIONS = new Set(["initTime", "waitTime"]);
function norm(v, tag) {
  if (typeof v === "string") {
    return v.replace(/\b(npm|own)-/g, "X-")
      .replace(/\b[0-9A-Za-z]{32}\b/g, "<id>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>");
  }
  if (typeof v === "number") return v > 1e12 ? "<timestamp>" : v;
  if (Buffer.isBuffer(v)) return { buffer: v.toString("hex") };
  if (Array.isArray(v)) {
    return v.filter((x) => !(x && VOLATILE_ANNOTATIONS.has(x.key) && "value" in x)).map((x) => norm(x, tag));
  }
  if (v && typeof v === "object") {
    const out = {};
    for (const key of Object.keys(v)) out[key] = key === "duration" ? "<n>" : norm(v[key], tag);
    return out;
  }
  return v;
}
// The keys and value types only (for listings whose content differs between runs).
function shape(v) {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : [];
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, shape(v[k])]));
  return typeof v;
}
function describeError(e, tag) {
  return {
    isError: e instanceof Error, name: e.name, message: norm(e.message, tag), statusCode: e.statusCode,
    error: norm(e.error, tag), keys: Object.keys(e), proto: Object.getPrototypeOf(Object.getPrototypeOf(e)) === Error.prototype,
  };
}
async function settle(fn, tag) {
  try {
    return { value: norm(await fn(), tag) };
  } catch (e) {
    return { rejected: e instanceof Error ? describeError(e, tag) : norm(e, tag) };
  }
}
function syncError(fn) {
  let p;
  try {
    p = fn();
  } catch (e) {
    return { sync: e.constructor.name, message: e.message };
  }
  if (p && typeof p.catch === "function") p.catch(() => {});
  return { sync: false };
}

// Runs `fn(client, tag)` with the npm client then ours and asserts equal outcomes (`view`
// picks what to compare); returns [npm, own] outcomes.
async function same(clients, fn, view = (x) => x) {
  const npm = await settle(() => fn(clients.npm, "npm"), "npm");
  const own = await settle(() => fn(clients.own, "own"), "own");
  const shown = (o) => ("value" in o ? { value: view(o.value) } : o);
  assert.deepEqual(shown(own), shown(npm));
  return [npm, own];
}
const pair = (options) => ({ npm: npmOpenwhisk({ ...options }), own: ownOpenwhisk({ ...options }) });

// --- a real shoal ---
let shoal;
before(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`cargo build -p shoal\` first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), "shoal-owclient-"));
  const child = spawn(BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
  child.stderr.resume();
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("shoal did not start: " + out)), 60000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`shoal exited (${code}): ${out}`)));
  });
  shoal = { child, dir, url, clients: pair({ apihost: url, api_key: KEY }) };
});
after(() => {
  if (shoal) {
    shoal.child.kill();
    rmSync(shoal.dir, { recursive: true, force: true });
  }
  recorder.server.close();
});

// --- a recorder: answers `reply` and keeps the requests ---
const recorder = { requests: [], reply: null };
recorder.server = http.createServer((req, res) => {
  let data = "";
  req.on("data", (d) => { data += d; });
  req.on("end", () => {
    const url = new URL(req.url, "http://x");
    let body = data;
    try { body = data ? JSON.parse(data) : undefined; } catch {}
    const h = req.headers;
    recorder.requests.push({
      method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams), body,
      headers: { authorization: h.authorization, "user-agent": h["user-agent"], "x-namespace-id": h["x-namespace-id"],
        "x-request-id": h["x-request-id"], "content-type": h["content-type"], accept: h.accept, "x-extra": h["x-extra"] },
    });
    const r = recorder.reply || { status: 200, type: "application/json", body: '{"ok":true}' };
    res.writeHead(r.status, r.type ? { "content-type": r.type } : {});
    res.end(r.body);
  });
});
const recorderUrl = new Promise((resolve) => recorder.server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${recorder.server.address().port}`)));

// Both clients make the call against the recorder: same requests, same outcome.
async function sameRequests(options, fn, { reply, view } = {}) {
  const clients = pair({ apihost: await recorderUrl, api_key: KEY, ...options });
  const seen = {};
  for (const tag of ["npm", "own"]) {
    recorder.requests = [];
    recorder.reply = reply;
    seen[tag] = { outcome: await settle(() => fn(clients[tag]), tag), requests: recorder.requests };
  }
  recorder.reply = null;
  const order = (rs) => rs.slice().sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  const viewed = (s) => ({ outcome: s.outcome, requests: order(s.requests).map(view || ((r) => r)) });
  assert.deepEqual(viewed(seen.own), viewed(seen.npm));
  return seen.own;
}

const until = async (fn) => {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
};

// --- construction ---
test("constructor options, defaults and errors are the npm client's", () => {
  const fields = (ow) => {
    const o = ow.actions.client.options;
    return { api: o.api, apiKey: o.apiKey, namespace: o.namespace, apigwToken: o.apigwToken, apigwSpaceGuid: o.apigwSpaceGuid, ignoreCerts: o.ignoreCerts };
  };
  const both = (options) => {
    const npm = syncError(() => npmOpenwhisk(options));
    const own = syncError(() => ownOpenwhisk(options));
    assert.deepEqual(own, npm);
    if (!npm.sync) assert.deepEqual(fields(ownOpenwhisk(options)), fields(npmOpenwhisk(options)));
    return own;
  };
  assert.match(both(undefined).message, /^Invalid constructor options. Missing api_key parameter or token plugin.$/);
  assert.match(both({ api_key: "k" }).message, /Missing either api or apihost parameters/);
  assert.match(both({ api_key: "k", apihost: "h", retry: 3 }).message, /'retry' option must be an object/);
  both({ apihost: "openwhisk.example.com", api_key: "u:p" });
  both({ apihost: "http://127.0.0.1:3233", api_key: "u:p", namespace: "ns", ignore_certs: true });
  both({ api: "https://example.com/api/v1", api_key: "u:p", apigw_token: "tok" });
  both({ apihost: "h", api_key: "u:p", apigw_token: "tok", apigw_space_guid: "space", noUserAgent: true, cert: "c", key: "k" });
  const saved = { ...process.env };
  Object.assign(process.env, { __OW_API_HOST: "env.example.com", __OW_API_KEY: "envu:envp", __OW_APIGW_TOKEN: "t", __OW_IGNORE_CERTS: "TRUE" });
  try {
    both({});
    both({ apihost: "http://other:1" });
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  }
  // The npm client's function is an arrow function; ours also works with `new`.
  assert.equal(syncError(() => new npmOpenwhisk({ apihost: "h", api_key: "k" })).sync, "TypeError");
  assert.ok(new ownOpenwhisk({ apihost: "h", api_key: "k" }).actions);
  assert.equal(ownOpenwhisk.OpenWhiskError, npmOpenwhisk.OpenWhiskError);
});

test("argument errors are thrown synchronously with the npm client's texts", () => {
  const { npm, own } = pair({ apihost: "http://127.0.0.1:9", api_key: KEY });
  const calls = [
    (c) => c.actions.get({}),
    (c) => c.actions.get({ name: "/x" }),
    (c) => c.actions.get({ name: "a/b/c/d" }),
    (c) => c.actions.create({ name: "a" }),
    (c) => c.actions.create({ name: "a", action: "x", sequence: ["/ns/b"] }),
    (c) => c.actions.create({ name: "a", sequence: "b" }),
    (c) => c.actions.create({ name: "a", sequence: [] }),
    (c) => c.actions.create([{ name: "a", action: "x" }]),
    (c) => c.actions.invoke({ name: "a", params: "x" }),
    (c) => c.actions.invoke(),
    (c) => c.packages.invoke({ name: "p" }),
    (c) => c.rules.invoke({ name: "r" }),
    (c) => c.rules.create({ name: "r", trigger: "t" }),
    (c) => c.rules.create({ name: "r", action: "a" }),
    (c) => c.rules.get({ triggerName: "x" }),
    (c) => c.activations.get({}),
    (c) => c.activations.logs(),
    (c) => c.feeds.create({ trigger: "t" }),
    (c) => c.feeds.create({ name: "f" }),
    (c) => c.routes.get({}),
    (c) => c.routes.delete({ name: "a", basepath: "/b" }),
    (c) => c.routes.create({ relpath: "/x" }),
    (c) => c.routes.list({ name: "n", basepath: "/b" }),
    // these go out and fail later: no synchronous error
    (c) => c.actions.get("a"),
    (c) => c.actions.update({ name: "a" }),
    (c) => c.packages.create("p"),
  ];
  for (const call of calls) assert.deepEqual(syncError(() => call(own)), syncError(() => call(npm)), call.toString());
});

// --- against shoal ---
test("actions: create, get, list, update, delete and their errors", async () => {
  const c = shoal.clients;
  const code = "function main(p) { console.log('hi ' + p.who); return { greeting: 'hello ' + (p.who || 'world'), n: p.n } }";
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-hello`, action: code, annotations: { a: 1 }, params: { n: 7 } }));
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-hello`, action: code })); // 409
  await same(c, (ow, t) => ow.actions.get(`${t}-hello`));
  await same(c, (ow, t) => ow.actions.get({ name: `/guest/${t}-hello`, code: false }));
  await same(c, (ow, t) => ow.actions.get({ actionName: `${t}-missing` })); // 404
  await same(c, (ow, t) => ow.actions.update({ name: `${t}-hello`, params: { n: 8 }, limits: { timeout: 5000 } }));
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-seq`, sequence: [`/guest/${t}-hello`] }));
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-zip`, action: Buffer.from("PK\u0003\u0004 not a zip"), kind: "nodejs:20" }));
  await same(c, (ow) => ow.actions.list());
  await same(c, (ow) => ow.actions.list({ limit: 2, skip: 1 }));
  await same(c, (ow) => ow.actions.list({ count: true }));
  await same(c, (ow, t) => ow.actions.get([`${t}-hello`, `${t}-seq`]));
  await same(c, (ow, t) => ow.actions.delete({ name: `${t}-zip` }));
  await same(c, (ow, t) => ow.actions.delete(`${t}-zip`)); // 404
});

test("actions: invocations, results and failures", async () => {
  const c = shoal.clients;
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-echo`, action: "function main(p) { console.log('got', p.who); return { greeting: 'hello ' + p.who } }" }));
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-fail`, action: "function main() { return { error: 'nope' } }" }));
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-fail2`, action: "function main() { return { error: { error: 'deep' } } }" }));
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-throw`, action: "function main() { throw new Error('boom') }" }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-echo`, blocking: true, result: true, params: { who: "you" } }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-echo`, blocking: true, params: { who: "me" } }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-fail`, blocking: true, result: true }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-fail2`, blocking: true, result: true }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-fail`, blocking: true }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-throw`, blocking: true, result: true }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-nothere`, blocking: true, result: true }));
  const [npm, own] = await same(c, (ow, t) => ow.actions.invoke({ name: `${t}-echo`, params: { who: "later" } }));
  assert.deepEqual(own.value, { activationId: "<id>" });
  assert.deepEqual(npm.value, own.value);
  await same(c, (ow, t) => ow.actions.invoke([{ name: `${t}-echo`, params: { who: "a" } }, { name: `${t}-echo`, blocking: true }]));
});

test("activations: get, list, result and logs", async () => {
  const c = shoal.clients;
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-act`, action: "function main(p) { console.log('line', p.x); return { x: p.x } }" }));
  await same(c, async (ow, t) => {
    const { activationId } = await ow.actions.invoke({ name: `${t}-act`, params: { x: 3 } });
    const record = await until(() => ow.activations.get(activationId));
    const result = await ow.activations.result({ activationId });
    const logs = await ow.activations.logs({ activation: activationId });
    const byName = await ow.activations.get({ name: activationId });
    return { record, result, logs, same: byName.activationId === activationId };
  });
  await same(c, (ow, t) => ow.activations.list({ name: `${t}-act`, limit: 1, docs: true }));
  await same(c, (ow) => ow.activations.list({ limit: 2 }), shape);
  await same(c, (ow) => ow.activations.list({ count: true }), shape);
  await same(c, (ow) => ow.activations.get("0123456789abcdef0123456789abcdef")); // 404
});

test("triggers and rules: create, fire, enable, disable, delete", async () => {
  const c = shoal.clients;
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-ruled`, action: "function main(p) { return p }" }));
  await same(c, (ow, t) => ow.triggers.create({ name: `${t}-trig`, annotations: { feed: "none" }, trigger: { parameters: [{ key: "k", value: 1 }] } }));
  await same(c, (ow, t) => ow.triggers.create({ triggerName: `${t}-trig` })); // 409
  await same(c, (ow, t) => ow.triggers.get(`${t}-trig`));
  await same(c, (ow, t) => ow.triggers.invoke({ name: `${t}-trig`, params: { a: 1 } })); // no rule: 204
  await same(c, (ow, t) => ow.rules.create({ name: `${t}-rule`, action: `${t}-ruled`, trigger: `${t}-trig` }));
  await same(c, (ow, t) => ow.rules.get({ ruleName: `${t}-rule` }));
  await same(c, (ow, t) => ow.triggers.invoke({ name: `${t}-trig`, params: { a: 1 } }));
  await same(c, (ow, t) => ow.rules.disable({ name: `${t}-rule` }));
  await same(c, (ow, t) => ow.rules.get(`${t}-rule`), (v) => v.status);
  await same(c, (ow, t) => ow.rules.enable({ name: `${t}-rule` }));
  await same(c, (ow, t) => ow.rules.update({ name: `${t}-rule`, action: `/guest/${t}-ruled`, trigger: `/guest/${t}-trig` }));
  await same(c, (ow) => ow.triggers.list({ limit: 10 }));
  await same(c, (ow) => ow.rules.list());
  await same(c, (ow, t) => ow.rules.disable({ name: `${t}-rule` }).then(() => ow.rules.delete({ name: `${t}-rule` })));
  await same(c, (ow, t) => ow.rules.get(`${t}-rule`)); // 404
  await same(c, (ow, t) => ow.triggers.delete({ name: `${t}-trig` }));
  await same(c, (ow, t) => ow.triggers.invoke({ name: `${t}-trig` })); // 404
});

test("packages and namespaces", async () => {
  const c = shoal.clients;
  await same(c, (ow, t) => ow.packages.create({ name: `${t}-pkg`, package: { parameters: [{ key: "p", value: 1 }] }, annotations: { x: "y" } }));
  await same(c, (ow, t) => ow.packages.create({ packageName: `${t}-pkg` })); // 409
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-pkg/inner`, action: "function main(p) { return { p: p.p } }" }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `/guest/${t}-pkg/inner`, blocking: true, result: true }));
  await same(c, (ow, t) => ow.actions.invoke({ name: `guest/${t}-pkg/inner`, blocking: true, result: true }));
  await same(c, (ow, t) => ow.packages.update({ name: `${t}-pkg`, package: { publish: true } }));
  await same(c, (ow, t) => ow.packages.get(`${t}-pkg`));
  await same(c, (ow) => ow.packages.list());
  await same(c, (ow) => ow.packages.list({ public: true, limit: 5 }));
  await same(c, (ow) => ow.namespaces.list());
  await same(c, (ow) => ow.namespaces.get(), shape);
  await same(c, (ow, t) => ow.packages.delete(`${t}-pkg`)); // 409: not empty
  await same(c, (ow, t) => ow.actions.delete(`${t}-pkg/inner`).then(() => ow.packages.delete({ name: `${t}-pkg` })));
  await same(c, (ow, t) => ow.packages.get(`${t}-pkg`)); // 404
});

test("errors: bad key, unreachable host, routes without a gateway", async () => {
  await same(pair({ apihost: shoal.url, api_key: "nobody:nothing" }), (ow) => ow.actions.list()); // 401
  await same(pair({ apihost: shoal.url, api_key: KEY, namespace: "someone-else" }), (ow) => ow.actions.list());
  const closed = await new Promise((resolve) => {
    const s = http.createServer().listen(0, "127.0.0.1", () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
  await same(pair({ apihost: `http://127.0.0.1:${closed}`, api_key: KEY }), (ow) => ow.actions.get("x"));
  // shoal has no API gateway yet: both clients report the same error for each route call.
  const c = shoal.clients;
  await same(c, (ow) => ow.routes.list());
  await same(c, (ow) => ow.routes.get({ basepath: "/b" }));
  await same(c, (ow, t) => ow.routes.create({ relpath: "/r", operation: "GET", action: `${t}-x` }));
  await same(c, (ow) => ow.routes.delete({ name: "api" }));
});

test("feeds invoke the feed action with the lifecycle event against shoal", async () => {
  const c = shoal.clients;
  await same(c, (ow, t) => ow.actions.create({ name: `${t}-feed`, action: "function main(p) { return { event: p.lifecycleEvent, trigger: p.triggerName, key: typeof p.authKey, extra: p.extra } }" }));
  for (const op of ["create", "get", "update", "delete"]) {
    await same(c, (ow, t) => ow.feeds[op]({ feedName: `${t}-feed`, trigger: "tr", params: { extra: op } }));
  }
});

// --- request shapes, against the recorder ---
test("requests: paths, names, query strings, bodies and headers", async () => {
  const calls = [
    (ow) => ow.actions.list({ skip: 1, limit: 2, count: false, namespace: "other ns" }),
    (ow) => ow.actions.get({ name: "ns/pkg/a", code: false }),
    (ow) => ow.actions.get({ name: "/ns/pkg/a" }),
    (ow) => ow.actions.get({ name: "pkg/a", namespace: "given" }),
    (ow) => ow.actions.delete({ name: "/ns/a", namespace: "ignored", params: { x: 1 } }),
    (ow) => ow.actions.create({ name: "a", action: "code", kind: "python:3", exec: { main: "run" }, params: { p: 1 }, annotations: { web: true }, limits: { memory: 128 }, version: "1.2.3", overwrite: false }),
    (ow) => ow.actions.create({ name: "b", action: Buffer.from([0x50, 0x4b, 3, 4, 255, 0]) }),
    (ow) => ow.actions.create({ name: "c", action: { exec: { kind: "blackbox", image: "x" } }, annotations: { a: 1 } }),
    (ow) => ow.actions.create({ name: "d", sequence: ["/ns/a", "/ns/b"], params: { q: 2 } }),
    (ow) => ow.actions.update({ name: "a", params: { p: 2 } }),
    (ow) => ow.actions.update("a"),
    (ow) => ow.actions.update([{ name: "a" }, { name: "b", overwrite: true }]),
    (ow) => ow.actions.invoke({ name: "a", blocking: false, result: true, params: { deep: { x: [1, 2] } } }),
    (ow) => ow.actions.invoke("a"),
    (ow) => ow.actions.invoke([{ name: "a", params: { x: 1 }, blocking: true }, "b"]),
    (ow) => ow.activations.list({ name: "a b", skip: 0, limit: 5, upto: 10, docs: true, since: 1, count: undefined, namespace: "n" }),
    (ow) => ow.activations.get("abc"),
    (ow) => ow.activations.result({ activationId: "abc", namespace: "n" }),
    (ow) => ow.activations.logs({ name: "abc" }),
    (ow) => ow.namespaces.list(),
    (ow) => ow.namespaces.get(),
    (ow) => ow.packages.create({ name: "p", package: { binding: { namespace: "whisk.system", name: "utils" } }, overwrite: true }),
    (ow) => ow.packages.update({ packageName: "p" }),
    (ow) => ow.packages.list({ public: true }),
    (ow) => ow.packages.create([{ name: "p1" }, { name: "p2", package: { publish: true } }]),
    (ow) => ow.triggers.create({ name: "t", trigger: { parameters: [] }, annotations: { feed: "/whisk.system/alarms/alarm" } }),
    (ow) => ow.triggers.invoke({ name: "/other/t", params: { a: 1 } }),
    (ow) => ow.triggers.update({ name: "t", trigger: { limits: {} } }),
    (ow) => ow.rules.create({ name: "r", action: "a", trigger: "/x/t", namespace: "n" }),
    (ow) => ow.rules.update({ name: "r", action: "pkg/a", trigger: "t" }),
    (ow) => ow.rules.enable({ name: "r" }),
    (ow) => ow.rules.disable({ ruleName: "r" }),
    (ow) => ow.rules.list({ limit: 1 }),
    (ow) => ow.feeds.create({ name: "/whisk.system/alarms/alarm", trigger: "t", params: { cron: "* * * * *" } }),
    (ow) => ow.feeds.delete({ feedName: "alarms/alarm", trigger: "/ns/t", namespace: "n" }),
    (ow) => ow.feeds.get({ name: "f", trigger: "t" }),
    (ow) => ow.feeds.update({ name: "f", trigger: "t", params: { authKey: "override" } }),
    (ow) => ow.routes.list({ name: "api", relpath: "/x", operation: "GET", limit: 1, skip: 2 }),
    (ow) => ow.routes.get({ basepath: "/b" }),
    (ow) => ow.routes.delete({ basepath: "/b", relpath: "/r", operation: "POST" }),
    (ow) => ow.routes.create({ relpath: "/books/{id}/{page}", operation: "GET", action: "/ns/pkg/act", basepath: "/lib", name: "Library", secure_key: "s", responsetype: "http" }),
    (ow) => ow.routes.create({ relpath: "/x", operation: "PUT", action: "act" }),
    (ow) => ow.routes.create({ swagger: "{}" }),
    (ow) => ow.actions.get({ name: "a", headers: { "x-extra": "yes" }, "User-Agent": "mine" }),
  ];
  for (const call of calls) {
    await sameRequests({}, call);
    await sameRequests({ namespace: "client ns", apigw_token: "gw" }, call);
  }
});

test("requests: environment defaults, user agent, transaction id, responses and HTTP errors", async () => {
  const saved = { ...process.env };
  Object.assign(process.env, { __OW_NAMESPACE: "env-ns", __OW_USER_AGENT: "agent/1", __OW_TRANSACTION_ID: "tx-1" });
  try {
    await sameRequests({}, (ow) => ow.actions.invoke({ name: "a", blocking: true }));
    await sameRequests({}, (ow) => ow.rules.create({ name: "r", action: "a", trigger: "t" }));
    await sameRequests({}, (ow) => ow.feeds.create({ name: "f", trigger: "t" }));
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  }
  // `noUserAgent`: the npm client (on needle 3.5 and Node 20) fails every call with it; ours
  // leaves the header to `fetch`.
  const quiet = { apihost: await recorderUrl, api_key: KEY, noUserAgent: true };
  await assert.rejects(npmOpenwhisk(quiet).actions.list(), /Invalid value "undefined" for header "user-agent"/);
  recorder.requests = [];
  await ownOpenwhisk(quiet).actions.list();
  assert.notEqual(recorder.requests[0].headers["user-agent"], "openwhisk-client-js");
  recorder.requests = [];
  await ownOpenwhisk({ ...quiet, noUserAgent: false }).actions.list({ noUserAgent: true });
  assert.notEqual(recorder.requests[0].headers["user-agent"], "openwhisk-client-js");
  const replies = [
    { status: 200, type: "text/plain", body: "plain" },
    { status: 200, type: "application/json", body: "not json" },
    { status: 200, type: "application/json", body: "[1,2]" },
    { status: 204 },
    { status: 202, type: "application/json", body: '{"activationId":"abc"}' },
    { status: 500, type: "text/plain", body: "oops" },
    { status: 404, type: "application/json", body: "" },
    { status: 404 },
    { status: 400, type: "application/json", body: '{"error":"bad","code":"c"}' },
    { status: 502, type: "application/json", body: '{"response":{"result":{"error":{"statusCode":418}}}}' },
    { status: 418, type: "application/json", body: '{"response":{"result":{"error":7}}}' },
    { status: 599, type: "application/json", body: '{"error":"odd"}' },
  ];
  for (const reply of replies) {
    await sameRequests({}, (ow) => ow.actions.invoke({ name: "a", blocking: true }), { reply });
    await sameRequests({}, (ow) => ow.actions.invoke({ name: "a", blocking: true, result: true }), { reply });
  }
});

test("requests: retry option retries failed calls", async () => {
  const own = await sameRequests({ retry: { retries: 2, minTimeout: 1 } }, (ow) => ow.actions.get("a"),
    { reply: { status: 503, type: "application/json", body: '{"error":"busy"}' } });
  assert.equal(own.requests.length, 3);
});

test("require('openwhisk') in the Node layer's bare context sends through host.request", async () => {
  const recorded = [];
  let answer = { status: 202, type: "application/json", text: '{"activationId":"42"}' };
  const iso = isolate({}, {
    request: (descriptor, body) => {
      recorded.push({ url: descriptor.url, method: descriptor.method, headers: Object.fromEntries(descriptor.headers), body: body && Buffer.from(body).toString() });
      const bytes = new (iso.run("Uint8Array"))(Buffer.from(answer.text));
      return Promise.resolve({ status: answer.status, statusText: "", headers: [["content-type", answer.type]], body: bytes });
    },
  });
  const openwhisk = iso.require("openwhisk");
  assert.throws(() => openwhisk(), /^Error: Invalid constructor options. Missing api_key parameter or token plugin.$/);
  iso.context.process.env.__OW_API_HOST = "shoal.test";
  iso.context.process.env.__OW_API_KEY = "u:p";
  iso.context.process.env.__OW_NAMESPACE = "ns";
  const ow = openwhisk();
  const res = await ow.actions.invoke({ name: "pkg/a", blocking: false, params: { x: "é" } });
  assert.deepEqual({ ...res }, { activationId: "42" });
  assert.deepEqual(recorded.map((r) => ({ ...r, headers: { ...r.headers } })), [{
    url: "https://shoal.test/api/v1/namespaces/ns/actions/pkg/a?blocking=false",
    method: "POST",
    headers: { "User-Agent": "openwhisk-client-js", Authorization: "Basic dTpw", accept: "application/json", "content-type": "application/json; charset=utf-8" },
    body: '{"x":"é"}',
  }]);
  // Bytes become base64 code without Node's Buffer.
  iso.run("globalThis.bytes = new Uint8Array([0x50, 0x4b, 3, 4, 0xff])");
  await ow.actions.create({ name: "zip", action: iso.context.bytes });
  assert.equal(JSON.parse(recorded[1].body).exec.code, Buffer.from([0x50, 0x4b, 3, 4, 0xff]).toString("base64"));
  answer = { status: 404, type: "application/json", text: '{"error":"The requested resource does not exist.","code":"x"}' };
  await assert.rejects(ow.actions.get("a"), (e) => {
    assert.equal(e.name, "OpenWhiskError");
    assert.equal(e.message, 'GET https://shoal.test/api/v1/namespaces/ns/actions/a Returned HTTP 404 (Not Found) --> "The requested resource does not exist."');
    assert.equal(e.statusCode, 404);
    assert.equal(e.error.code, "x");
    assert.ok(e instanceof iso.run("Error"));
    return true;
  });
});

// shoal's own `openwhisk` module: the OpenWhisk JavaScript client that OpenWhisk's nodejs image
// preinstalls (npm `openwhisk`, API of v3.21.x). `require('openwhisk')(options)` gives
// `actions`, `activations`, `namespaces`, `packages`, `rules`, `triggers`, `feeds` and `routes`
// with the npm client's options (and `__OW_*` defaults), name forms, request shapes, batch
// (array) forms, results and errors: an `OpenWhiskError` with the npm client's `message`,
// `error` (the response body) and `statusCode`. Argument errors are thrown synchronously, as
// the npm client does. Requests go straight to the host's egress (`host.request`, what `fetch`
// stands on, without building WHATWG Request/Response objects: the engines answer calls to
// shoal's API host in-process). Loading it does nothing but define what follows.
// Left out: `proxy`, `agent`, `ignore_certs`, `cert`/`key` and the per-call `timeout` (needle's
// connect timeout) are accepted and have no effect; XML response bodies come back as text
// (needle parses them into element trees); redirects are followed (needle returns the 3xx).
// Where the npm client breaks, this one works: `new openwhisk()` (an arrow function there),
// `noUserAgent` (every call fails on needle 3.5 there; here the request carries no User-Agent), and
// a plain string for `rules.enable/disable/create` and `triggers.create` (a TypeError there).
// `retry.onRetry` gets the `OpenWhiskError` (there: needle's raw error). Like the npm client,
// the module exports only the function (no `OpenWhiskError`).
"use strict";

const MISSING = "Response Missing Error Message.";
const BAD_NAME = 'Invalid resource identifier from options. Should be "resource", "/namespace/resource" or "/namespace/package/resource".';
const BAD_OPTIONS = "Invalid constructor options.";
const JSON_TYPES = ["application/json", "application/hal+json", "text/javascript", "application/vnd.api+json"];
// Node's `http.STATUS_CODES`, unpacked on the first HTTP error.
const REASONS = "100 Continue|101 Switching Protocols|102 Processing|103 Early Hints|200 OK|201 Created|202 Accepted|203 Non-Authoritative Information|204 No Content|205 Reset Content|206 Partial Content|207 Multi-Status|208 Already Reported|226 IM Used|300 Multiple Choices|301 Moved Permanently|302 Found|303 See Other|304 Not Modified|305 Use Proxy|307 Temporary Redirect|308 Permanent Redirect|400 Bad Request|401 Unauthorized|402 Payment Required|403 Forbidden|404 Not Found|405 Method Not Allowed|406 Not Acceptable|407 Proxy Authentication Required|408 Request Timeout|409 Conflict|410 Gone|411 Length Required|412 Precondition Failed|413 Payload Too Large|414 URI Too Long|415 Unsupported Media Type|416 Range Not Satisfiable|417 Expectation Failed|418 I'm a Teapot|421 Misdirected Request|422 Unprocessable Entity|423 Locked|424 Failed Dependency|425 Too Early|426 Upgrade Required|428 Precondition Required|429 Too Many Requests|431 Request Header Fields Too Large|451 Unavailable For Legal Reasons|500 Internal Server Error|501 Not Implemented|502 Bad Gateway|503 Service Unavailable|504 Gateway Timeout|505 HTTP Version Not Supported|506 Variant Also Negotiates|507 Insufficient Storage|508 Loop Detected|509 Bandwidth Limit Exceeded|510 Not Extended|511 Network Authentication Required";
let reasons;
const reasonOf = (status) => {
  if (!reasons) reasons = new Map(REASONS.split("|").map((r) => [+r.slice(0, 3), r.slice(4)]));
  return reasons.get(status);
};

const env = () => (typeof process === "object" && process && process.env) || {};
const own = (o, key) => o != null && Object.prototype.hasOwnProperty.call(o, key);
const homeNamespace = () => env().__OW_NAMESPACE || "_";
const asOptions = (o) => (typeof o === "string" ? { name: o } : o || {});

// The keys of `keys` that `o` has itself, with their values (even `undefined` ones).
function pick(o, keys) {
  const out = {};
  for (const key of keys) if (own(o, key)) out[key] = o[key];
  return out;
}

// "a" and "pkg/a" are in the default namespace; "/ns/a" is `a` in `ns`; "ns/pkg/a" and
// "/ns/pkg/a" are `pkg/a` in `ns`.
function splitName(name) {
  const seg = name.split("/");
  const rooted = name.startsWith("/");
  switch (seg.length - 1) {
    case 0: return { ns: homeNamespace(), id: name };
    case 1: if (!rooted) return { ns: homeNamespace(), id: name }; break;
    case 2: return rooted ? { ns: seg[1], id: seg[2] } : { ns: seg[0], id: `${seg[1]}/${seg[2]}` };
    case 3: if (rooted) return { ns: seg[1], id: `${seg[2]}/${seg[3]}` }; break;
  }
  throw new Error(BAD_NAME);
}

function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}
let encoder;
const utf8 = (text) => (encoder || (encoder = new TextEncoder())).encode(text);

// `qs` as a query string, as `URLSearchParams` writes it; plain keys and values (the usual
// `blocking=true`, `limit=30`) skip its character-by-character encoding.
const PLAIN = /^[\w*.-]*$/;
function formEncode(qs) {
  let out = "";
  for (const key of Object.keys(qs)) {
    const value = String(qs[key]);
    if (!PLAIN.test(key) || !PLAIN.test(value)) return new URLSearchParams(qs).toString();
    out += (out ? "&" : "") + key + "=" + value;
  }
  return out;
}

const bytesOf = (v) => (ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : undefined);

function OpenWhiskError(message, error, statusCode) {
  if (Error.captureStackTrace) Error.captureStackTrace(this, this.constructor);
  else Object.defineProperty(this, "stack", { value: new Error(message).stack, writable: true, configurable: true });
  this.name = this.constructor.name;
  this.message = message;
  this.error = error;
  this.statusCode = statusCode;
}
OpenWhiskError.prototype = Object.create(Error.prototype, {
  constructor: { value: OpenWhiskError, writable: true, configurable: true },
});

// What the platform said went wrong: its `error`, else the failed action's.
function complaint(body) {
  if (!body) return MISSING;
  if (typeof body.error === "string") return body.error;
  const result = body.response && body.response.result;
  const err = result && result.error;
  if (err) {
    if (typeof err === "string") return err;
    if (typeof err.error === "string") return err.error;
    if (err.statusCode) return `application error, status code: ${err.statusCode}`;
  }
  return MISSING;
}

// A response body as needle (the npm client's transport) gives it: JSON parsed (left as text
// when it does not parse), other text as a string, anything else as bytes. `res` is what
// `host.request` resolves to (`headers` as [name, value] pairs, `body` as bytes).
function readBody(res) {
  const header = res.headers.find((h) => h[0].toLowerCase() === "content-type");
  const type = (header ? header[1] : "").split(";")[0].trim().toLowerCase();
  const bytes = res.body instanceof Uint8Array ? res.body : new Uint8Array(0);
  const text = () => host.utf8Decode(bytes, false);
  if (JSON_TYPES.includes(type)) {
    const body = text();
    try {
      return JSON.parse(body);
    } catch {
      return body;
    }
  }
  if (type.includes("text/") || /[/+](xml|json)$/.test(type)) return text();
  let B;
  try {
    B = globalThis.Buffer; // the layer loads `buffer` on first use
  } catch {}
  return typeof B === "function" ? B.from(bytes.buffer, bytes.byteOffset, bytes.length) : bytes;
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Tries `attempt` up to 1 + `retries` times on any error (async-retry's schedule).
async function persist(attempt, plan) {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (n > plan.retries) throw e;
      if (typeof plan.onRetry === "function") plan.onRetry(e, n);
      const wait = plan.minTimeout * plan.factor ** (n - 1) * (plan.randomize ? 1 + Math.random() : 1);
      await pause(Math.min(wait, plan.maxTimeout));
    }
  }
}

// The connection settings and the one way requests are made.
class Client {
  constructor(o) {
    const vars = env();
    const apiKey = o.api_key || vars.__OW_API_KEY;
    const apiVersion = o.apiversion || "v1";
    let api = o.api;
    const host = o.apihost || vars.__OW_API_HOST;
    if (!api && host) {
      api = `${host}/api/${apiVersion}/`;
      if (!/https?:\/\//.test(api)) api = "https://" + api;
    }
    const apigwToken = o.apigw_token || vars.__OW_APIGW_TOKEN;
    let apigwSpaceGuid = o.apigw_space_guid || vars.__OW_APIGW_SPACE_GUID;
    if (apigwToken && !apigwSpaceGuid && apiKey) apigwSpaceGuid = String(apiKey).split(":")[0];
    if (!apiKey && !o.auth_handler) throw new Error(`${BAD_OPTIONS} Missing api_key parameter or token plugin.`);
    if (!api) throw new Error(`${BAD_OPTIONS} Missing either api or apihost parameters.`);
    let retry = o.retry;
    if (retry && typeof retry !== "object") {
      throw new Error(`${BAD_OPTIONS} 'retry' option must be an object, e.g. '{ retries: 2 }'.`);
    }
    if (retry) {
      retry = Object.assign({}, retry, {
        retries: retry.retries || 2, factor: retry.factor || 2, minTimeout: retry.minTimeout || 100,
        maxTimeout: retry.maxTimeout || Infinity, randomize: true,
      });
    }
    const ignoreCerts = o.ignore_certs || String(vars.__OW_IGNORE_CERTS).toLowerCase() === "true";
    this.options = {
      apiKey, api, apiVersion, ignoreCerts, namespace: o.namespace, apigwToken, apigwSpaceGuid,
      authHandler: o.auth_handler, noUserAgent: o.noUserAgent, cert: o.cert, key: o.key,
      proxy: o.proxy, agent: o.agent, retry,
    };
  }

  // `path` resolved against the API root; remembered, as a client calls a few paths over and
  // over (at most 64 kept, then started over).
  url(path) {
    const api = this.options.api;
    if (this.urlsFor !== api || this.urlCount === 64) {
      this.urlsFor = api;
      this.urls = new Map();
      this.urlCount = 0;
    }
    let href = this.urls.get(path);
    if (href === undefined) {
      href = new URL(path, api.endsWith("/") ? api : api + "/").href;
      this.urls.set(path, href);
      this.urlCount++;
    }
    return href;
  }

  // The Basic credentials of `key`, computed once per key.
  basic(key) {
    if (this.basicFor !== key) {
      this.basicFor = key;
      this.basicAuth = "Basic " + (/^[\x00-\x7f]*$/.test(key) ? btoa(key) : base64(utf8(key)));
    }
    return this.basicAuth;
  }

  // The namespace segment of a path: the call's, the client's, `__OW_NAMESPACE`'s or `_`.
  space(ns) {
    const mine = this.options.namespace;
    return encodeURIComponent(typeof ns === "string" ? ns : typeof mine === "string" ? mine : homeNamespace());
  }

  // `call` may carry `qs`, `body` (else `params`) as the JSON body, `headers`, `User-Agent`
  // and `noUserAgent`.
  async request(method, path, call) {
    const o = call !== null && typeof call === "object" ? call : {};
    const settings = this.options;
    let url, pairs, body;
    try {
      const auth = settings.authHandler ? await settings.authHandler.getAuthHeader() : this.basic(settings.apiKey);
      url = this.url(path);
      const vars = env();
      const headers = Object.assign({
        "User-Agent": o["User-Agent"] || vars.__OW_USER_AGENT || "openwhisk-client-js",
        Authorization: auth,
      }, o.headers);
      if (settings.noUserAgent || o.noUserAgent) delete headers["User-Agent"];
      if (typeof settings.namespace === "string") headers["x-namespace-id"] = settings.namespace;
      if (vars.__OW_TRANSACTION_ID) headers["x-request-id"] = vars.__OW_TRANSACTION_ID;
      const named = (h) => Object.keys(headers).some((k) => k.toLowerCase() === h);
      if (!named("accept")) headers.accept = "application/json";
      const data = o.body || o.params;
      if (data != null && method !== "GET" && method !== "HEAD") {
        const bytes = bytesOf(data);
        body = bytes || utf8(typeof data === "string" ? data : JSON.stringify(data));
        if (!named("content-type")) headers["content-type"] = "application/json; charset=utf-8";
      }
      pairs = Object.keys(headers).filter((k) => headers[k] !== undefined).map((k) => [k, String(headers[k])]);
    } catch (e) {
      throw new OpenWhiskError(`Unknown Error From API: ${e && e.message}`, undefined, undefined);
    }
    const query = o.qs && typeof o.qs === "object" ? formEncode(o.qs) : "";
    const target = query ? `${url}?${query}` : url;
    const attempt = async () => {
      let res, answer;
      try {
        res = await host.request({ method, url: target, headers: pairs, redirect: "follow" }, body);
        answer = readBody(res);
      } catch (e) {
        const why = e && e.message;
        throw new OpenWhiskError(`Unknown Error From API: ${why}`, { error: why }, undefined);
      }
      if (res.status >= 400) {
        // An empty body is reported by the status line, as needle's callers see it.
        if (!answer) answer = { error: res.statusText || reasonOf(res.status) };
        throw new OpenWhiskError(
          `${method} ${url} Returned HTTP ${res.status} (${reasonOf(res.status)}) --> "${complaint(answer)}"`,
          answer, res.status);
      }
      return answer;
    };
    return settings.retry ? persist(attempt, settings.retry) : attempt();
  }
}

// Actions, packages, triggers and rules: entities under `namespaces/{ns}/{kind}/{id}`.
class Entities {
  constructor(client, kind, alias, listKeys) {
    this.client = client;
    this.kind = kind;
    this.ids = ["name", alias];
    this.listKeys = listKeys;
  }

  list(o) {
    o = asOptions(o);
    const path = `namespaces/${this.client.space(o.namespace)}/${this.kind}` + (o.id ? `/${o.id}` : "");
    return this.client.request("GET", path, Object.assign({}, o, { qs: pick(o, this.listKeys) }));
  }

  get(o) {
    return this.byId("GET", o);
  }

  delete(o) {
    return this.byId("DELETE", o);
  }

  invoke(o) {
    return this.fire(o, []);
  }

  create(o) {
    return this.put(o, false);
  }

  update(o) {
    return this.put(o, true);
  }

  // `prepare(o)` (run first, even for a batch, whose entries then go out as they are) gives the
  // call's `qs` and `body`.
  byId(method, o, prepare) {
    const extra = prepare ? prepare(o) : undefined;
    if (Array.isArray(o)) return Promise.all(o.map((each) => this.byId(method, each)));
    o = asOptions(o);
    const key = this.ids.find((k) => own(o, k));
    if (!key) {
      throw new Error(`Missing resource identifier from parameters, supported parameter names: ${this.ids.join(", ")}`);
    }
    const name = o[key];
    const { ns, id } = splitName(name);
    const path = `namespaces/${this.client.space(name.startsWith("/") ? ns : o.namespace)}/${this.kind}/${id}`;
    return this.client.request(method, path, Object.assign({}, o, extra));
  }

  fire(o, qsKeys) {
    return this.byId("POST", o || {}, (x) => {
      if (typeof x !== "object" || Array.isArray(x)) return undefined;
      let body = {};
      if (own(x, "params")) {
        if (typeof x.params !== "object") throw new Error("Invalid payload type, must be an object.");
        body = x.params;
      }
      return { qs: pick(x, qsKeys), body };
    });
  }

  put(o, overwrite) {
    return this.byId("PUT", o, (x) => {
      if (!Array.isArray(x)) x = asOptions(x);
      let body = this.body(x, overwrite || x.overwrite === true);
      const notes = x.annotations;
      if (notes !== null && typeof notes === "object") {
        body = Object.assign({ annotations: Object.keys(notes).map((key) => ({ key, value: notes[key] })) }, body);
      }
      return { qs: overwrite ? { overwrite: true } : pick(x, ["overwrite"]), body };
    });
  }

  body() {
    return {};
  }
}

const pairs = (o) => Object.keys(o).map((key) => ({ key, value: o[key] }));

class Actions extends Entities {
  constructor(client) {
    super(client, "actions", "actionName", ["skip", "limit", "count"]);
  }

  get(o) {
    return this.byId("GET", o, (x) => ({ qs: pick(asOptions(x), ["code"]) }));
  }

  invoke(o) {
    const pending = this.fire(o, ["blocking"]);
    if (!(o && o.blocking && o.result)) return pending;
    return pending.then((activation) => (activation.response ? activation.response.result : Promise.reject(activation)));
  }

  body(o, overwrite) {
    const code = own(o, "action");
    const sequence = own(o, "sequence");
    if (!code && !sequence && !overwrite) throw new Error("Missing mandatory action or sequence parameter from options.");
    if (code && sequence) throw new Error('Invalid options parameters, contains both "action" and "sequence" parameters in options.');
    const bytes = bytesOf(o.action);
    // An object (other than bytes) is the whole action as the API takes it.
    if (code && typeof o.action === "object" && !bytes) return o.action;
    let body = {};
    if (code) {
      body.exec = Object.assign({ kind: o.kind || "nodejs:default", code: o.action }, o.exec);
      if (bytes) body.exec.code = base64(bytes);
    } else if (sequence) {
      if (!Array.isArray(o.sequence)) throw new Error("Invalid sequence parameter from options. Must be an array.");
      if (!o.sequence.length) throw new Error("Invalid sequence parameter from options. Array must not be empty.");
      body.exec = { kind: "sequence", components: o.sequence };
    }
    if (typeof o.params === "object") body.parameters = pairs(o.params);
    if (o.version) body.version = o.version;
    if (o.limits) body.limits = o.limits;
    return body;
  }
}

const NO_INVOKE = "Operation (invoke) not supported for rule resource.";

class Packages extends Entities {
  constructor(client) {
    super(client, "packages", "packageName", ["skip", "limit", "public", "count"]);
  }

  invoke() {
    throw new Error(NO_INVOKE);
  }

  body(o) {
    return o.package || {};
  }
}

class Triggers extends Entities {
  constructor(client) {
    super(client, "triggers", "triggerName", ["skip", "limit", "count"]);
  }

  body(o) {
    return o.trigger || {};
  }
}

class Rules extends Entities {
  constructor(client) {
    super(client, "rules", "ruleName", ["skip", "limit", "count"]);
  }

  invoke() {
    throw new Error(NO_INVOKE);
  }

  enable(o) {
    return this.setStatus(o, "active");
  }

  disable(o) {
    return this.setStatus(o, "inactive");
  }

  setStatus(o, status) {
    const call = Array.isArray(o) ? o : Object.assign({}, asOptions(o), { params: { status } });
    return this.fire(call, []);
  }

  body(o) {
    if (!own(o, "action")) throw new Error("Missing mandatory action parameter from options.");
    if (!own(o, "trigger")) throw new Error("Missing mandatory trigger parameter from options.");
    const full = (name) => (name.startsWith("/") ? name
      : `/${o.namespace || this.client.options.namespace || homeNamespace()}/${name}`);
    return { action: full(o.action), trigger: full(o.trigger) };
  }
}

class Activations {
  constructor(client) {
    this.client = client;
  }

  list(o) {
    o = o || {};
    const qs = pick(o, ["name", "skip", "limit", "upto", "docs", "since", "count"]);
    return this.client.request("GET", `namespaces/${this.client.space(o.namespace)}/activations`, Object.assign({}, o, { qs }));
  }

  get(o) {
    return this.record(o, "");
  }

  logs(o) {
    return this.record(o, "/logs");
  }

  result(o) {
    return this.record(o, "/result");
  }

  record(o, tail) {
    const call = typeof o === "object" && o ? o : {};
    const id = typeof o === "string" ? o : call.name || call.activation || call.activationId;
    if (!id) throw new Error("Missing mandatory activation parameter from options.");
    return this.client.request("GET", `namespaces/${this.client.space(call.namespace)}/activations/${id}${tail}`, call);
  }
}

class Namespaces {
  constructor(client) {
    this.client = client;
  }

  list(o) {
    return this.client.request("GET", "namespaces", o);
  }

  async get(o) {
    const kinds = ["actions", "packages", "triggers", "rules"];
    const lists = await Promise.all(kinds.map((kind) => this.client.request("GET", `namespaces/_/${kind}`, o)));
    const out = {};
    kinds.forEach((kind, i) => { out[kind] = lists[i]; });
    return out;
  }
}

// Feed actions are invoked (blocking) with the lifecycle event, the trigger and the API key.
class Feeds {
  constructor(client, actions) {
    this.client = client;
    this.actions = actions;
  }

  create(o) {
    return this.lifecycle("CREATE", o);
  }

  delete(o) {
    return this.lifecycle("DELETE", o);
  }

  get(o) {
    return this.lifecycle("READ", o);
  }

  update(o) {
    return this.lifecycle("UPDATE", o);
  }

  lifecycle(event, o) {
    const name = o.feedName || o.name;
    if (!name) throw new Error("Missing mandatory feedName or id parameters from options.");
    if (!o.trigger) throw new Error("Missing mandatory trigger parameter from options.");
    const trigger = o.trigger.startsWith("/") ? o.trigger
      : `/${this.client.options.namespace || homeNamespace()}/${o.trigger}`;
    const params = Object.assign({ lifecycleEvent: event, authKey: this.client.options.apiKey, triggerName: trigger }, o.params || {});
    return this.actions.invoke({ name, namespace: o.namespace, blocking: true, params });
  }
}

// API gateway routes, managed through the `whisk.system/apimgmt` web actions.
class Routes {
  constructor(client) {
    this.client = client;
  }

  query(o, keys) {
    const qs = pick(o || {}, keys);
    const { apigwToken, apigwSpaceGuid } = this.client.options;
    if (apigwToken) Object.assign(qs, { accesstoken: apigwToken, spaceguid: apigwSpaceGuid });
    return qs;
  }

  basepath(o, required) {
    if (!(o.name || o.basepath)) {
      if (required) throw new Error("Missing mandatory parameters: basepath or name.");
      return undefined;
    }
    if (o.name && o.basepath) throw new Error("Invalid parameters: use basepath or name, not both.");
    return o.basepath || o.name;
  }

  get(o) {
    return this.list({ basepath: this.basepath(o || {}, true) });
  }

  list(o) {
    o = o || {};
    const basepath = this.basepath(o, false);
    const from = basepath === undefined ? o : Object.assign({}, o, { basepath });
    const qs = this.query(from, ["relpath", "basepath", "operation", "limit", "skip"]);
    return this.client.request("GET", "web/whisk.system/apimgmt/getApi", { qs });
  }

  delete(o) {
    o = o || {};
    const from = Object.assign({}, o, { basepath: this.basepath(o, true) });
    const qs = Object.assign(this.query(from, ["relpath", "basepath", "operation"]), { force: true });
    return this.client.request("DELETE", "web/whisk.system/apimgmt/deleteApi", { qs });
  }

  create(o) {
    const body = this.apidoc(o || {});
    return this.client.request("POST", "web/whisk.system/apimgmt/createApi", { body, qs: this.query(o, ["responsetype"]) });
  }

  apidoc(o) {
    if (o.swagger) return { apidoc: { namespace: "_", swagger: o.swagger } };
    const missing = ["relpath", "operation", "action"].filter((k) => !own(o, k));
    if (missing.length) throw new Error(`Missing mandatory parameters: ${missing.join(", ")}`);
    const base = o.basepath || "/";
    const { id } = splitName(o.action);
    const ns = o.action.startsWith("/") ? splitName(o.action).ns : decodeURIComponent(this.client.space(o.namespace));
    const action = {
      name: id,
      namespace: ns,
      backendMethod: "GET",
      backendUrl: this.client.url(`web/${ns}/${id.includes("/") ? id : "default/" + id}.http`),
      authkey: this.client.options.apiKey,
    };
    if (o.secure_key) action.secureKey = o.secure_key;
    const apidoc = { namespace: "_", gatewayBasePath: base, gatewayPath: o.relpath, gatewayMethod: o.operation, id: `API:_:${base}`, action };
    const names = [];
    for (const segment of o.relpath.split("/")) {
      for (const m of segment.matchAll(/\{([^}]+)\}/g)) names.push(m[1]);
    }
    if (names.length) {
      apidoc.pathParameters = names.map((name) => ({
        name, in: "path", description: `Default description for '${name}'`, required: true, type: "string",
      }));
    }
    if (o.name) apidoc.apiName = o.name;
    return { apidoc };
  }
}

module.exports = function openwhisk(options) {
  const client = new Client(options || {});
  const actions = new Actions(client);
  return {
    actions,
    activations: new Activations(client),
    namespaces: new Namespaces(client),
    packages: new Packages(client),
    rules: new Rules(client),
    triggers: new Triggers(client),
    feeds: new Feeds(client, actions),
    routes: new Routes(client),
  };
};

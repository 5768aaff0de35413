// The HTTP client shared by node:http and node:https in shoal's JS isolates: `ClientRequest`
// (a Writable that buffers its body and hands the request to `host.request` at `end()`),
// `IncomingMessage` (a Readable with Node's header joining rules), a stub `Agent`,
// `STATUS_CODES`, `METHODS`, header validation.
// The host buffers whole responses: a response's body arrives as a few `data` chunks right
// after `response`, so nothing streams. Redirects are not followed (as in Node). Servers,
// upgrades/CONNECT, trailers, informational (1xx) responses and sockets are left out: `socket`
// is an inert stand-in and agents do no pooling.
"use strict";

const EE = require("events");
const EventEmitter = EE.EventEmitter || EE;
const { Readable, Writable } = require("stream");
const { Buffer } = require("buffer");

const STATUS_CODES = {};
for (const entry of ("100Continue|101Switching Protocols|102Processing|103Early Hints|200OK|201Created|" +
  "202Accepted|203Non-Authoritative Information|204No Content|205Reset Content|206Partial Content|" +
  "207Multi-Status|208Already Reported|226IM Used|300Multiple Choices|301Moved Permanently|302Found|" +
  "303See Other|304Not Modified|305Use Proxy|307Temporary Redirect|308Permanent Redirect|400Bad Request|" +
  "401Unauthorized|402Payment Required|403Forbidden|404Not Found|405Method Not Allowed|406Not Acceptable|" +
  "407Proxy Authentication Required|408Request Timeout|409Conflict|410Gone|411Length Required|" +
  "412Precondition Failed|413Payload Too Large|414URI Too Long|415Unsupported Media Type|" +
  "416Range Not Satisfiable|417Expectation Failed|418I'm a Teapot|421Misdirected Request|" +
  "422Unprocessable Entity|423Locked|424Failed Dependency|425Too Early|426Upgrade Required|" +
  "428Precondition Required|429Too Many Requests|431Request Header Fields Too Large|" +
  "451Unavailable For Legal Reasons|500Internal Server Error|501Not Implemented|502Bad Gateway|" +
  "503Service Unavailable|504Gateway Timeout|505HTTP Version Not Supported|506Variant Also Negotiates|" +
  "507Insufficient Storage|508Loop Detected|509Bandwidth Limit Exceeded|510Not Extended|" +
  "511Network Authentication Required").split("|")) {
  STATUS_CODES[entry.slice(0, 3)] = entry.slice(3);
}
const METHODS = ("ACL BIND CHECKOUT CONNECT COPY DELETE GET HEAD LINK LOCK M-SEARCH MERGE MKACTIVITY " +
  "MKCALENDAR MKCOL MOVE NOTIFY OPTIONS PATCH POST PROPFIND PROPPATCH PURGE PUT QUERY REBIND REPORT " +
  "SEARCH SOURCE SUBSCRIBE TRACE UNBIND UNLINK UNLOCK UNSUBSCRIBE").split(" ");

const { nodeError } = require("internal/errors");
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
function validateHeaderName(name) {
  if (typeof name !== "string" || !name || !TOKEN.test(name)) {
    throw nodeError(TypeError, "ERR_INVALID_HTTP_TOKEN", `Header name must be a valid HTTP token ["${name}"]`);
  }
}
function validateHeaderValue(name, value) {
  if (value === undefined) {
    throw nodeError(TypeError, "ERR_HTTP_INVALID_HEADER_VALUE", `Invalid value "${value}" for header "${name}"`);
  }
  if (/[^\t\x20-\x7e\x80-\xff]/.test(Array.isArray(value) ? value.join("") : String(value))) {
    throw nodeError(TypeError, "ERR_INVALID_CHAR", `Invalid character in header content ["${name}"]`);
  }
}

// --- Agent ---
function makeAgent(protocol, defaultPort) {
  return class Agent extends EventEmitter {
    constructor(options) {
      super();
      this.options = { path: null, ...options };
      this.defaultPort = defaultPort;
      this.protocol = protocol;
      this.keepAlive = !!this.options.keepAlive;
      this.keepAliveMsecs = this.options.keepAliveMsecs || 1000;
      this.maxSockets = this.options.maxSockets || Infinity;
      this.maxFreeSockets = this.options.maxFreeSockets || 256;
      this.maxTotalSockets = this.options.maxTotalSockets || Infinity;
      this.scheduling = this.options.scheduling || "lifo";
      this.requests = Object.create(null);
      this.sockets = Object.create(null);
      this.freeSockets = Object.create(null);
      this.totalSocketCount = 0;
    }
    getName(options = {}) {
      return `${options.host || "localhost"}:${options.port || ""}:${options.localAddress || ""}` +
        (options.family === 4 || options.family === 6 ? `:${options.family}` : "");
    }
    destroy() {}
  };
}

// An inert stand-in for the socket Node would give.
function fakeSocket(encrypted, host, port) {
  const s = new EventEmitter();
  Object.assign(s, {
    connecting: false, destroyed: false, readable: true, writable: true, encrypted, authorized: encrypted,
    remoteAddress: host, remotePort: port, remoteFamily: host.includes(":") ? "IPv6" : "IPv4",
    localAddress: undefined, localPort: undefined, bytesRead: 0, bytesWritten: 0, timeout: 0,
    setTimeout(ms, cb) {
      if (typeof cb === "function") this.once("timeout", cb);
      return this;
    },
    setNoDelay() { return this; },
    setKeepAlive() { return this; },
    ref() { return this; },
    unref() { return this; },
    destroy() {
      this.destroyed = true;
      return this;
    },
    end() { return this; },
    address: () => ({}),
    getPeerCertificate: () => ({}),
  });
  return s;
}

// --- IncomingMessage ---
const DROP_DUPLICATES = new Set(["age", "authorization", "content-length", "content-type", "etag",
  "expires", "from", "host", "if-modified-since", "if-unmodified-since", "last-modified", "location",
  "max-forwards", "proxy-authorization", "referer", "retry-after", "server", "user-agent"]);

class IncomingMessage extends Readable {
  constructor(socket) {
    super();
    this.socket = socket || null;
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.httpVersion = "1.1";
    this.complete = false;
    this.rawHeaders = [];
    this.rawTrailers = [];
    this.trailers = {};
    this.aborted = false;
    this.upgrade = false;
    this.url = "";
    this.method = null;
    this.statusCode = null;
    this.statusMessage = null;
    this.headers = {};
    this.headersDistinct = {};
    this._body = null;
  }
  get connection() {
    return this.socket;
  }
  _addHeaders(pairs) {
    const headers = {};
    const distinct = {};
    for (const [rawName, rawValue] of pairs) {
      const name = String(rawName);
      const value = String(rawValue);
      this.rawHeaders.push(name, value);
      const key = name.toLowerCase();
      (distinct[key] = distinct[key] || []).push(value);
      if (key === "set-cookie") (headers[key] = headers[key] || []).push(value);
      else if (!(key in headers)) headers[key] = value;
      else if (DROP_DUPLICATES.has(key)) continue;
      else headers[key] += (key === "cookie" ? "; " : ", ") + value;
    }
    this.headers = headers;
    this.headersDistinct = distinct;
  }
  _read() {
    const body = this._body;
    if (body === null) return;
    this._body = null;
    const size = 65536;
    for (let i = 0; i < body.length; i += size) this.push(body.subarray(i, i + size));
    this.complete = true;
    this.push(null);
  }
  setTimeout(ms, cb) {
    if (typeof cb === "function") this.once("timeout", cb);
    return this;
  }
  _dump() {
    this.resume();
  }
}

// --- ClientRequest ---
function parseArgs(input, options, cb) {
  const { URL, urlToHttpOptions } = require("url");
  let opts;
  if (typeof input === "string") {
    let parsed;
    try {
      parsed = new URL(input);
    } catch {
      throw nodeError(TypeError, "ERR_INVALID_URL", "Invalid URL");
    }
    opts = urlToHttpOptions(parsed);
  } else if (input instanceof URL) opts = urlToHttpOptions(input);
  else {
    cb = options;
    options = input;
    opts = {};
  }
  if (typeof options === "function") {
    cb = options;
    options = undefined;
  }
  if (options) opts = Object.assign(opts, options);
  return [opts, cb];
}

function makeClientRequest(defaultAgentRef) {
  return class ClientRequest extends Writable {
    constructor(input, options, cb) {
      super({ autoDestroy: false, emitClose: false, decodeStrings: true });
      const [opts, callback] = parseArgs(input, options, cb);
      const defaultAgent = opts._defaultAgent || defaultAgentRef();
      let agent = opts.agent;
      if (agent === false) agent = new defaultAgent.constructor();
      else if (agent === null || agent === undefined) agent = typeof opts.createConnection === "function" ? undefined : defaultAgent;
      this.agent = agent;
      const protocol = opts.protocol || defaultAgent.protocol;
      const expected = agent && agent.protocol ? agent.protocol : defaultAgent.protocol;
      if (protocol !== expected) {
        throw nodeError(TypeError, "ERR_INVALID_PROTOCOL", `Protocol "${protocol}" not supported. Expected "${expected}"`);
      }
      const defaultPort = opts.defaultPort || (agent && agent.defaultPort) || defaultAgent.defaultPort;
      this.protocol = protocol;
      this.host = opts.hostname || opts.host || "localhost";
      this.port = Number(opts.port) || defaultPort;
      this._defaultPort = defaultPort;
      const method = opts.method === undefined || opts.method === null ? "GET" : opts.method;
      if (typeof method !== "string" || !TOKEN.test(method)) {
        throw nodeError(TypeError, "ERR_INVALID_HTTP_TOKEN", `Method must be a valid HTTP token ["${method}"]`);
      }
      this.method = method.toUpperCase();
      this.path = opts.path || "/";
      if (/[\u0000-\u0020]/.test(this.path)) {
        throw nodeError(TypeError, "ERR_UNESCAPED_CHARACTERS", "Request path contains unescaped characters");
      }
      this._headers = new Map();
      const headers = opts.headers;
      if (Array.isArray(headers)) {
        for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(headers[i], headers[i + 1]);
      } else if (headers) {
        for (const key of Object.keys(headers)) if (headers[key] !== undefined) this.setHeader(key, headers[key]);
      }
      if (opts.auth && !this.hasHeader("authorization")) {
        this.setHeader("Authorization", "Basic " + Buffer.from(String(opts.auth)).toString("base64"));
      }
      if (opts.setHost !== false && !this.hasHeader("host")) {
        let hostHeader = this.host.includes(":") && !this.host.startsWith("[") ? `[${this.host}]` : this.host;
        if (this.port !== defaultPort) hostHeader += ":" + this.port;
        this.setHeader("Host", hostHeader);
      }
      this._chunks = [];
      this.headersSent = false;
      this.finished = false;
      this.aborted = false;
      this.reusedSocket = false;
      this.maxHeadersCount = null;
      this.res = null;
      this.socket = fakeSocket(protocol === "https:", this.host, this.port);
      this._timer = null;
      this._done = false;
      if (typeof callback === "function") this.once("response", callback);
      if (opts.timeout !== undefined) this.setTimeout(opts.timeout);
      if (opts.signal) {
        const signal = opts.signal;
        const onAbort = () => {
          const e = nodeError(Error, "ABORT_ERR", "The operation was aborted");
          e.name = "AbortError";
          e.cause = signal.reason;
          this.destroy(e);
        };
        if (signal.aborted) process.nextTick(onAbort);
        else signal.addEventListener("abort", onAbort, { once: true });
      }
      process.nextTick(() => {
        if (!this._done) this.emit("socket", this.socket);
      });
    }
    get connection() {
      return this.socket;
    }
    setHeader(name, value) {
      if (this.headersSent) throw nodeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot set headers after they are sent to the client");
      validateHeaderName(name);
      validateHeaderValue(name, value);
      this._headers.set(name.toLowerCase(), [name, value]);
      return this;
    }
    appendHeader(name, value) {
      const key = String(name).toLowerCase();
      const existing = this._headers.get(key);
      if (!existing) return this.setHeader(name, value);
      validateHeaderValue(name, value);
      existing[1] = [].concat(existing[1], value);
      return this;
    }
    getHeader(name) {
      const entry = this._headers.get(String(name).toLowerCase());
      return entry ? entry[1] : undefined;
    }
    getHeaders() {
      const out = Object.create(null);
      for (const [key, [, value]] of this._headers) out[key] = value;
      return out;
    }
    getHeaderNames() {
      return [...this._headers.keys()];
    }
    getRawHeaderNames() {
      return [...this._headers.values()].map(([name]) => name);
    }
    hasHeader(name) {
      return this._headers.has(String(name).toLowerCase());
    }
    removeHeader(name) {
      if (this.headersSent) throw nodeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot remove headers after they are sent to the client");
      this._headers.delete(String(name).toLowerCase());
    }
    flushHeaders() {}
    setNoDelay() {}
    setSocketKeepAlive() {}
    setTimeout(ms, cb) {
      if (typeof cb === "function") this.once("timeout", cb);
      if (this._timer) clearTimeout(this._timer);
      this._timer = null;
      ms = Number(ms);
      if (ms > 0 && !this._done) {
        this._timer = setTimeout(() => {
          this._timer = null;
          if (!this._done) {
            this.emit("timeout");
            this.socket.emit("timeout");
          }
        }, ms);
      }
      return this;
    }
    _write(chunk, encoding, cb) {
      this._chunks.push(chunk);
      cb();
    }
    _final(cb) {
      this.finished = true;
      this._send();
      cb();
    }
    _send() {
      if (this._done || this.headersSent) return;
      this.headersSent = true;
      const headers = [];
      for (const [name, value] of this._headers.values()) {
        for (const v of [].concat(value)) headers.push([name, String(v)]);
      }
      const host = this.host.includes(":") && !this.host.startsWith("[") ? `[${this.host}]` : this.host;
      const defaultPort = this.protocol === "https:" ? 443 : 80;
      const port = Number(this.port) === defaultPort ? "" : `:${this.port}`;
      const url = `${this.protocol}//${host}${port}${this.path.startsWith("/") ? this.path : "/" + this.path}`;
      const body = this._chunks.length ? new Uint8Array(Buffer.concat(this._chunks)) : undefined;
      this._chunks = [];
      let pending;
      try {
        pending = Promise.resolve(host_.request({ method: this.method, url, headers, redirect: "manual" }, body));
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then((res) => this._onResponse(res), (err) => this._fail(err));
    }
    _onResponse(r) {
      if (this._done) return;
      this._done = true;
      this._clearTimer();
      const res = new IncomingMessage(this.socket);
      res.req = this;
      res.statusCode = r.status;
      res.statusMessage = r.statusText || STATUS_CODES[r.status] || "";
      res._addHeaders(r.headers || []);
      const body = r.body || new Uint8Array(0);
      res._body = this.method === "HEAD" ? Buffer.alloc(0) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
      if (r.url) res.responseUrl = r.url;
      this.res = res;
      res.once("end", () => {
        process.nextTick(() => this.emit("close"));
      });
      if (this.listenerCount("response") > 0) this.emit("response", res);
      else res._dump();
    }
    _fail(err) {
      if (this._done) return;
      this._done = true;
      this._clearTimer();
      if (!(err instanceof Error)) err = new Error(String(err));
      this.emit("error", err);
      this.emit("close");
    }
    _clearTimer() {
      if (this._timer) clearTimeout(this._timer);
      this._timer = null;
    }
    abort() {
      if (this.aborted) return;
      this.aborted = true;
      process.nextTick(() => this.emit("abort"));
      this.destroy();
    }
    destroy(err) {
      if (this.destroyed) return this;
      this._writableState.destroyed = true;
      this.socket.destroyed = true;
      const res = this.res;
      if (res && !res.complete) {
        res.aborted = true;
        res.emit("aborted");
        res.destroy(nodeError(Error, "ECONNRESET", "aborted"));
      }
      if (!this._done) {
        this._done = true;
        this._clearTimer();
        const error = err || (this.aborted ? null : nodeError(Error, "ECONNRESET", "socket hang up"));
        process.nextTick(() => {
          if (error) this.emit("error", error);
          this.emit("close");
        });
      }
      return this;
    }
    get destroyed() {
      return this._writableState.destroyed;
    }
  };
}

// `host` of the module wrapper, under a name that does not clash with the request's host.
const host_ = host;

function makeHttp(protocol, defaultPort) {
  const Agent = makeAgent(protocol, defaultPort);
  const globalAgent = new Agent({ keepAlive: true, scheduling: "lifo", timeout: 5000 });
  const mod = {};
  const ClientRequest = makeClientRequest(() => mod.globalAgent);
  const request = (input, options, cb) => new ClientRequest(input, options, cb);
  const get = (input, options, cb) => {
    const req = request(input, options, cb);
    req.end();
    return req;
  };
  const noServer = () => {
    throw new Error("http servers cannot run in shoal's JS isolates: an action answers its invocation by returning a value");
  };
  function Server() {
    noServer();
  }
  Object.assign(mod, {
    Agent, globalAgent, ClientRequest, IncomingMessage, OutgoingMessage: Writable, request, get,
    STATUS_CODES, METHODS: METHODS.slice(), maxHeaderSize: 16384, validateHeaderName, validateHeaderValue,
    createServer: noServer, Server, ServerResponse: noServer, setMaxIdleHTTPParsers() {},
  });
  return mod;
}

module.exports = { makeHttp };

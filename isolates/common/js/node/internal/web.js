// The web platform globals of shoal's JS isolates: `Event`, `EventTarget`, `AbortController`,
// `AbortSignal`, `DOMException`, `structuredClone`, `Blob`, `File`, `FormData`, `Headers`,
// `Request`, `Response` and `fetch` over `host.request` (the host follows redirects and
// buffers the whole response body).
// Left out: streaming bodies (`body` is a minimal one-chunk reader over the buffered bytes,
// and request bodies must be strings, buffers, Blobs, URLSearchParams or FormData), CORS and
// the other browser-only Request fields (kept as inert values), `Response.formData()` for
// multipart bodies, transfer lists of `structuredClone`, and cancelling a request already
// handed to the host (an aborted fetch rejects at once and its response is dropped).
"use strict";

const enc = () => require("internal/encoding");
const utf8 = (s) => new (enc().TextEncoder)().encode(s);
const fromUtf8 = (b) => new (enc().TextDecoder)().decode(b);

// --- DOMException ---
const DOM_CODES = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
  SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};
class DOMException extends Error {
  #name;
  constructor(message = "", options = "Error") {
    super(String(message), options && typeof options === "object" && "cause" in options ? { cause: options.cause } : undefined);
    this.#name = options && typeof options === "object" ? String(options.name ?? "Error") : String(options);
  }
  get name() {
    return this.#name;
  }
  get code() {
    return DOM_CODES[this.#name] || 0;
  }
}

// --- events ---
const kTarget = Symbol("target");
const kStop = Symbol("stop");
class Event {
  #type;
  #init;
  #defaultPrevented = false;
  #timeStamp = typeof performance === "object" ? performance.now() : Date.now();
  constructor(type, init = {}) {
    if (arguments.length === 0) throw new TypeError("The \"type\" argument must be specified");
    this.#type = String(type);
    this.#init = { bubbles: !!init?.bubbles, cancelable: !!init?.cancelable, composed: !!init?.composed };
    this[kTarget] = null;
    this[kStop] = 0;
  }
  get type() {
    return this.#type;
  }
  get bubbles() {
    return this.#init.bubbles;
  }
  get cancelable() {
    return this.#init.cancelable;
  }
  get composed() {
    return this.#init.composed;
  }
  get defaultPrevented() {
    return this.#defaultPrevented;
  }
  get returnValue() {
    return !this.#defaultPrevented;
  }
  get timeStamp() {
    return this.#timeStamp;
  }
  get isTrusted() {
    return false;
  }
  get target() {
    return this[kTarget];
  }
  get currentTarget() {
    return this[kStop] === -1 ? null : this[kTarget];
  }
  get srcElement() {
    return this[kTarget];
  }
  get eventPhase() {
    return this[kTarget] ? 2 : 0;
  }
  get cancelBubble() {
    return this[kStop] > 0;
  }
  composedPath() {
    return this[kTarget] ? [this[kTarget]] : [];
  }
  preventDefault() {
    if (this.#init.cancelable) this.#defaultPrevented = true;
  }
  stopPropagation() {
    if (!this[kStop]) this[kStop] = 1;
  }
  stopImmediatePropagation() {
    this[kStop] = 2;
  }
}
Object.assign(Event, { NONE: 0, CAPTURING_PHASE: 1, AT_TARGET: 2, BUBBLING_PHASE: 3 });

const kListeners = Symbol("listeners");
function reportError(err) {
  setTimeout(() => {
    throw err;
  }, 0);
}
class EventTarget {
  constructor() {
    this[kListeners] = new Map();
  }
  addEventListener(type, callback, options) {
    if (callback == null) return;
    const opts = typeof options === "boolean" ? { capture: options } : options || {};
    const capture = !!opts.capture;
    type = String(type);
    if (!this[kListeners]) this[kListeners] = new Map();
    const list = this[kListeners].get(type) || [];
    if (list.some((l) => l.callback === callback && l.capture === capture)) return;
    const signal = opts.signal;
    if (signal && signal.aborted) return;
    const listener = { callback, capture, once: !!opts.once, passive: !!opts.passive, removed: false };
    list.push(listener);
    this[kListeners].set(type, list);
    if (signal) signal.addEventListener("abort", () => this.removeEventListener(type, callback, { capture }), { once: true });
  }
  removeEventListener(type, callback, options) {
    const capture = typeof options === "boolean" ? options : !!options?.capture;
    const list = this[kListeners]?.get(String(type));
    if (!list) return;
    const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
    if (i >= 0) {
      list[i].removed = true;
      list.splice(i, 1);
    }
  }
  dispatchEvent(event) {
    if (!(event instanceof Event)) throw new TypeError("The \"event\" argument must be an instance of Event");
    event[kTarget] = this;
    event[kStop] = 0;
    const list = (this[kListeners]?.get(event.type) || []).slice();
    for (const l of list) {
      if (l.removed) continue;
      if (l.once) this.removeEventListener(event.type, l.callback, { capture: l.capture });
      try {
        const cb = l.callback;
        if (typeof cb === "function") cb.call(this, event);
        else if (cb && typeof cb.handleEvent === "function") cb.handleEvent(event);
      } catch (err) {
        reportError(err);
      }
      if (event[kStop] === 2) break;
    }
    event[kStop] = -1;
    return !event.defaultPrevented;
  }
}
// `on<type>` event handler attributes, as listeners registered when first set.
const kHandlers = Symbol("handlers");
function defineHandler(proto, type) {
  Object.defineProperty(proto, "on" + type, {
    configurable: true,
    enumerable: true,
    get() {
      return this[kHandlers]?.[type]?.fn ?? null;
    },
    set(fn) {
      if (!this[kHandlers]) this[kHandlers] = {};
      let h = this[kHandlers][type];
      if (!h) {
        h = this[kHandlers][type] = { fn: null };
        this.addEventListener(type, (e) => (typeof h.fn === "function" ? h.fn.call(this, e) : undefined));
      }
      h.fn = typeof fn === "function" ? fn : null;
    },
  });
}

// --- abort ---
const kAbort = Symbol("abort");
const kInternal = Symbol("internal");
class AbortSignal extends EventTarget {
  #aborted = false;
  #reason = undefined;
  constructor(key) {
    if (key !== kInternal) throw new TypeError("Illegal constructor");
    super();
  }
  get aborted() {
    return this.#aborted;
  }
  get reason() {
    return this.#reason;
  }
  throwIfAborted() {
    if (this.#aborted) throw this.#reason;
  }
  [kAbort](reason) {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
    this.dispatchEvent(new Event("abort"));
  }
  static abort(reason) {
    const s = new AbortSignal(kInternal);
    s[kAbort](reason);
    return s;
  }
  static timeout(ms) {
    ms = Number(ms);
    if (!(ms >= 0)) throw new RangeError(`The value of "delay" is out of range. It must be >= 0. Received ${ms}`);
    const s = new AbortSignal(kInternal);
    setTimeout(() => s[kAbort](new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
    return s;
  }
  static any(signals) {
    const s = new AbortSignal(kInternal);
    for (const signal of signals) {
      if (signal.aborted) {
        s[kAbort](signal.reason);
        return s;
      }
    }
    for (const signal of signals) signal.addEventListener("abort", () => s[kAbort](signal.reason), { once: true });
    return s;
  }
  get [Symbol.toStringTag]() {
    return "AbortSignal";
  }
}
defineHandler(AbortSignal.prototype, "abort");
class AbortController {
  #signal = new AbortSignal(kInternal);
  get signal() {
    return this.#signal;
  }
  abort(reason) {
    this.#signal[kAbort](reason);
  }
  get [Symbol.toStringTag]() {
    return "AbortController";
  }
}

// --- structuredClone ---
function cloneError(message) {
  return new DOMException(message, "DataCloneError");
}
const ERRORS = { Error, EvalError, RangeError, ReferenceError, SyntaxError, TypeError, URIError };
function structuredClone(value, options) {
  const seen = new Map();
  const clone = (v) => {
    if (typeof v === "symbol") throw cloneError(`${String(v)} could not be cloned.`);
    if (typeof v === "function") throw cloneError(`${String(v)} could not be cloned.`);
    if (v === null || typeof v !== "object") return v;
    if (seen.has(v)) return seen.get(v);
    const tag = Object.prototype.toString.call(v).slice(8, -1);
    let out;
    const keep = (o) => (seen.set(v, o), o);
    if (Array.isArray(v)) {
      out = keep(new Array(v.length));
      for (const k of Object.keys(v)) out[k] = clone(v[k]);
      return out;
    }
    switch (tag) {
      case "Date": return keep(new Date(v.getTime()));
      case "RegExp": return keep(new RegExp(v.source, v.flags));
      case "Boolean": return keep(Object(Boolean.prototype.valueOf.call(v)));
      case "Number": return keep(Object(Number.prototype.valueOf.call(v)));
      case "String": return keep(Object(String.prototype.valueOf.call(v)));
      case "BigInt": return keep(Object(BigInt.prototype.valueOf.call(v)));
      case "ArrayBuffer": return keep(v.slice(0));
      case "Map": {
        out = keep(new Map());
        for (const [k, x] of v) out.set(clone(k), clone(x));
        return out;
      }
      case "Set": {
        out = keep(new Set());
        for (const x of v) out.add(clone(x));
        return out;
      }
      case "Error": {
        const Ctor = ERRORS[v.name] || Error;
        out = keep(Object.create(Ctor.prototype));
        const d = (k, x) => Object.defineProperty(out, k, { value: x, writable: true, configurable: true });
        if (v.message !== undefined) d("message", String(v.message));
        if (v.stack !== undefined) d("stack", String(v.stack));
        if ("cause" in v) d("cause", clone(v.cause));
        return out;
      }
    }
    if (ArrayBuffer.isView(v)) {
      const buffer = clone(v.buffer);
      if (tag === "DataView") return keep(new DataView(buffer, v.byteOffset, v.byteLength));
      const Ctor = globalThis[tag] && tag.endsWith("Array") ? globalThis[tag] : Uint8Array;
      return keep(new Ctor(buffer, v.byteOffset, v.length));
    }
    if (tag !== "Object" && tag !== "Arguments" && !(v instanceof Blob)) {
      throw cloneError(`${tag === "Promise" || tag.startsWith("Weak") ? "#<" + tag + ">" : tag} could not be cloned.`);
    }
    if (v instanceof Blob) return keep(v.slice(0, v.size, v.type));
    out = keep({});
    for (const k of Object.keys(v)) out[k] = clone(v[k]);
    return out;
  };
  void options;
  return clone(value);
}

// --- Blob, File ---
const kBytes = Symbol("bytes");
function toBytes(part) {
  if (part instanceof Blob) return part[kBytes];
  if (part instanceof ArrayBuffer) return new Uint8Array(part.slice(0));
  if (ArrayBuffer.isView(part)) return new Uint8Array(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
  return utf8(String(part));
}
const concat = (chunks) => enc().concatBytes(chunks);
class Blob {
  #type;
  constructor(parts = [], options = {}) {
    if (parts === null || typeof parts !== "object" || typeof parts[Symbol.iterator] !== "function") {
      throw new TypeError("The \"sources\" argument must be a sequence.");
    }
    this[kBytes] = concat(Array.from(parts, toBytes));
    const type = options?.type === undefined ? "" : String(options.type);
    this.#type = /^[\x20-\x7e]*$/.test(type) ? type.toLowerCase() : "";
  }
  get size() {
    return this[kBytes].length;
  }
  get type() {
    return this.#type;
  }
  slice(start = 0, end = this.size, type = "") {
    const b = new Blob([], { type });
    b[kBytes] = this[kBytes].slice(start, end);
    return b;
  }
  text() {
    return Promise.resolve(fromUtf8(this[kBytes]));
  }
  arrayBuffer() {
    return Promise.resolve(this[kBytes].slice().buffer);
  }
  bytes() {
    return Promise.resolve(this[kBytes].slice());
  }
  get [Symbol.toStringTag]() {
    return "Blob";
  }
}
Object.defineProperty(Blob.prototype, kBytes, { writable: true, value: new Uint8Array(0) });
class File extends Blob {
  #name;
  #lastModified;
  constructor(parts, name, options = {}) {
    if (arguments.length < 2) throw new TypeError("The \"fileName\" argument must be specified");
    super(parts, options);
    this.#name = String(name);
    this.#lastModified = options?.lastModified === undefined ? Date.now() : Number(options.lastModified);
  }
  get name() {
    return this.#name;
  }
  get lastModified() {
    return this.#lastModified;
  }
  get [Symbol.toStringTag]() {
    return "File";
  }
}

// --- FormData ---
class FormData {
  #list = [];
  constructor(form) {
    if (form !== undefined) throw new TypeError("FormData from a form element is not supported");
  }
  static #entry(name, value, filename) {
    if (value instanceof Blob) {
      if (!(value instanceof File) || filename !== undefined) {
        value = new File([value], filename !== undefined ? String(filename) : value instanceof File ? value.name : "blob", { type: value.type });
      }
      return [String(name), value];
    }
    return [String(name), String(value)];
  }
  append(name, value, filename) {
    this.#list.push(FormData.#entry(name, value, filename));
  }
  set(name, value, filename) {
    const entry = FormData.#entry(name, value, filename);
    const i = this.#list.findIndex((e) => e[0] === entry[0]);
    if (i < 0) this.#list.push(entry);
    else {
      this.#list[i] = entry;
      this.#list = this.#list.filter((e, j) => j <= i || e[0] !== entry[0]);
    }
  }
  delete(name) {
    this.#list = this.#list.filter((e) => e[0] !== String(name));
  }
  get(name) {
    const e = this.#list.find((x) => x[0] === String(name));
    return e ? e[1] : null;
  }
  getAll(name) {
    return this.#list.filter((x) => x[0] === String(name)).map((x) => x[1]);
  }
  has(name) {
    return this.#list.some((x) => x[0] === String(name));
  }
  forEach(callback, thisArg) {
    for (const [k, v] of this.#list) callback.call(thisArg, v, k, this);
  }
  *entries() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i].slice();
  }
  *keys() {
    for (const [k] of this.entries()) yield k;
  }
  *values() {
    for (const [, v] of this.entries()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "FormData";
  }
}
function multipart(form) {
  let boundary = "----formdata-shoal-";
  for (let i = 0; i < 24; i++) boundary += Math.floor(Math.random() * 10);
  const escName = (s) => s.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
  const chunks = [];
  for (const [name, value] of form) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escName(name)}"`;
    if (typeof value === "string") {
      chunks.push(utf8(`${head}\r\n\r\n${value.replace(/\r\n|\r|\n/g, "\r\n")}\r\n`));
    } else {
      head += `; filename="${escName(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
      chunks.push(utf8(head), value[kBytes], utf8("\r\n"));
    }
  }
  chunks.push(utf8(`--${boundary}--\r\n`));
  return { bytes: concat(chunks), type: `multipart/form-data; boundary=${boundary}` };
}

// --- Headers ---
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const kGuard = Symbol("guard");
function headerName(name) {
  name = String(name);
  if (!TOKEN.test(name)) throw new TypeError(`Header name must be a valid HTTP token ["${name}"]`);
  return name.toLowerCase();
}
function headerValue(value, name) {
  value = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
  if (/[\0\r\n]/.test(value)) throw new TypeError(`Invalid value for header "${name}"`);
  return value;
}
class Headers {
  #list = [];
  constructor(init) {
    this[kGuard] = "none";
    if (init == null) return;
    if (init instanceof Headers) {
      this.#list = init.#list.map((p) => p.slice());
      return;
    }
    if (typeof init !== "object") throw new TypeError("The provided value is not of type 'HeadersInit'");
    if (typeof init[Symbol.iterator] === "function") {
      for (const pair of init) {
        const p = typeof pair === "string" ? [pair] : Array.from(pair);
        if (p.length !== 2) throw new TypeError("Header pairs must contain exactly two items");
        this.append(p[0], p[1]);
      }
    } else {
      for (const key of Object.keys(init)) this.append(key, init[key]);
    }
  }
  #check() {
    if (this[kGuard] === "immutable") throw new TypeError("immutable");
  }
  append(name, value) {
    this.#check();
    const n = headerName(name);
    this.#list.push([n, headerValue(value, n)]);
  }
  delete(name) {
    this.#check();
    const n = headerName(name);
    this.#list = this.#list.filter((p) => p[0] !== n);
  }
  get(name) {
    const n = headerName(name);
    const values = this.#list.filter((p) => p[0] === n).map((p) => p[1]);
    return values.length ? values.join(", ") : null;
  }
  getSetCookie() {
    return this.#list.filter((p) => p[0] === "set-cookie").map((p) => p[1]);
  }
  has(name) {
    const n = headerName(name);
    return this.#list.some((p) => p[0] === n);
  }
  set(name, value) {
    this.#check();
    const n = headerName(name);
    const v = headerValue(value, n);
    const i = this.#list.findIndex((p) => p[0] === n);
    if (i < 0) this.#list.push([n, v]);
    else {
      this.#list[i] = [n, v];
      this.#list = this.#list.filter((p, j) => j <= i || p[0] !== n);
    }
  }
  // The sorted and combined view that iteration shows.
  #sorted() {
    const names = [...new Set(this.#list.map((p) => p[0]))].sort();
    const out = [];
    for (const n of names) {
      if (n === "set-cookie") for (const v of this.getSetCookie()) out.push([n, v]);
      else out.push([n, this.get(n)]);
    }
    return out;
  }
  forEach(callback, thisArg) {
    for (const [k, v] of this.#sorted()) callback.call(thisArg, v, k, this);
  }
  *entries() {
    yield* this.#sorted();
  }
  *keys() {
    for (const [k] of this.#sorted()) yield k;
  }
  *values() {
    for (const [, v] of this.#sorted()) yield v;
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  get [Symbol.toStringTag]() {
    return "Headers";
  }
  static raw(headers) {
    return headers.#list.map((p) => p.slice());
  }
}

// --- bodies ---
// The bytes and content type of a body init, or null for no body.
function extractBody(body) {
  if (body == null) return null;
  if (typeof body === "string") return { bytes: utf8(body), type: "text/plain;charset=UTF-8" };
  const { URLSearchParams } = require("url");
  if (body instanceof URLSearchParams) {
    return { bytes: utf8(body.toString()), type: "application/x-www-form-urlencoded;charset=UTF-8" };
  }
  if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return { bytes: toBytes(body), type: null };
  if (body instanceof Blob) return { bytes: body[kBytes].slice(), type: body.type || null };
  if (body instanceof FormData) return multipart(body);
  if (typeof body === "object" && Object.prototype.toString.call(body) === "[object ArrayBuffer]") {
    return { bytes: new Uint8Array(body.slice(0)), type: null };
  }
  return { bytes: utf8(String(body)), type: "text/plain;charset=UTF-8" };
}
const kBody = Symbol("body");
const kUsed = Symbol("used");
class Body {
  constructor(bytes) {
    this[kBody] = bytes;
    this[kUsed] = false;
  }
  get bodyUsed() {
    return this[kUsed];
  }
  // A minimal stand-in for a ReadableStream: one chunk, then done.
  get body() {
    const self = this;
    if (this[kBody] === null) return null;
    let done = false;
    const read = () => {
      if (done || self[kUsed]) return Promise.resolve({ done: true, value: undefined });
      done = true;
      self[kUsed] = true;
      return Promise.resolve({ done: false, value: self[kBody].slice() });
    };
    return {
      locked: false,
      getReader: () => ({ read, releaseLock() {}, cancel: () => ((done = true), Promise.resolve()), closed: Promise.resolve() }),
      cancel: () => ((done = true), Promise.resolve()),
      async *[Symbol.asyncIterator]() {
        for (let r = await read(); !r.done; r = await read()) yield r.value;
      },
    };
  }
  #consume() {
    if (this[kUsed]) return Promise.reject(new TypeError("Body is unusable: Body has already been read"));
    this[kUsed] = true;
    return Promise.resolve(this[kBody] === null ? new Uint8Array(0) : this[kBody]);
  }
  arrayBuffer() {
    return this.#consume().then((b) => b.slice().buffer);
  }
  bytes() {
    return this.#consume().then((b) => b.slice());
  }
  text() {
    return this.#consume().then(fromUtf8);
  }
  json() {
    return this.text().then(JSON.parse);
  }
  blob() {
    const type = this.headers.get("content-type") || "";
    return this.#consume().then((b) => new Blob([b], { type }));
  }
  formData() {
    const type = this.headers.get("content-type") || "";
    return this.text().then((text) => {
      if (!/^application\/x-www-form-urlencoded/i.test(type)) {
        throw new TypeError("Response.formData: only application/x-www-form-urlencoded bodies are supported in shoal's JS isolates");
      }
      const form = new FormData();
      const { URLSearchParams } = require("url");
      for (const [k, v] of new URLSearchParams(text)) form.append(k, v);
      return form;
    });
  }
}

const METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH"]);
function normalizeMethod(method) {
  method = String(method);
  if (!TOKEN.test(method)) throw new TypeError(`'${method}' is not a valid HTTP method.`);
  const upper = method.toUpperCase();
  if (["CONNECT", "TRACE", "TRACK"].includes(upper)) throw new TypeError(`'${method}' HTTP method is unsupported.`);
  return METHODS.has(upper) && upper !== "PATCH" ? upper : method;
}

class Request extends Body {
  #method;
  #url;
  #headers;
  #signal;
  #redirect;
  #init;
  constructor(input, init = {}) {
    let base = null;
    if (input instanceof Request) base = input;
    else {
      const { URL } = require("url");
      let parsed;
      try {
        parsed = new URL(String(input));
      } catch (cause) {
        const e = new TypeError(`Failed to parse URL from ${String(input)}`);
        e.cause = cause;
        throw e;
      }
      if (parsed.username || parsed.password) {
        throw new TypeError(`Request cannot be constructed from a URL that includes credentials: ${String(input)}`);
      }
      input = parsed.href;
    }
    init = init ?? {};
    const method = init.method !== undefined ? normalizeMethod(init.method) : base ? base.method : "GET";
    let body = null;
    let type = null;
    if (init.body != null) {
      if (method === "GET" || method === "HEAD") throw new TypeError("Request with GET/HEAD method cannot have body.");
      ({ bytes: body, type } = extractBody(init.body));
    } else if (base && base[kBody] !== null && init.body === undefined) {
      if (base.bodyUsed) throw new TypeError("Cannot construct a Request with a Request object that has already been used.");
      body = base[kBody];
    }
    super(body);
    this.#method = method;
    this.#url = base ? base.url : input;
    this.#headers = new Headers(init.headers !== undefined ? init.headers : base ? base.headers : undefined);
    if (type !== null && !this.#headers.has("content-type")) this.#headers.set("content-type", type);
    const redirect = init.redirect ?? (base ? base.redirect : "follow");
    if (!["follow", "manual", "error"].includes(redirect)) {
      throw new TypeError(`Failed to construct 'Request': The provided value '${redirect}' is not a valid enum value of type RequestRedirect.`);
    }
    this.#redirect = redirect;
    const signal = init.signal !== undefined ? init.signal : base ? base.signal : null;
    if (signal != null && !(signal instanceof AbortSignal)) {
      throw new TypeError("Failed to construct 'Request': member signal is not of type AbortSignal.");
    }
    this.#signal = signal ? AbortSignal.any([signal]) : new AbortController().signal;
    const pick = (k, d) => (init[k] !== undefined ? init[k] : base ? base[k] : d);
    this.#init = {
      cache: pick("cache", "default"), credentials: pick("credentials", "same-origin"),
      mode: pick("mode", "cors"), referrer: pick("referrer", "about:client") === "" ? "" : "about:client",
      referrerPolicy: pick("referrerPolicy", ""), integrity: pick("integrity", ""),
      keepalive: !!pick("keepalive", false), duplex: "half", destination: "",
    };
  }
  get method() {
    return this.#method;
  }
  get url() {
    return this.#url;
  }
  get headers() {
    return this.#headers;
  }
  get signal() {
    return this.#signal;
  }
  get redirect() {
    return this.#redirect;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError("Request.clone: Body has already been consumed.");
    return new Request(this);
  }
  get [Symbol.toStringTag]() {
    return "Request";
  }
  static {
    for (const key of ["cache", "credentials", "mode", "referrer", "referrerPolicy", "integrity", "keepalive", "duplex", "destination"]) {
      Object.defineProperty(Request.prototype, key, {
        configurable: true,
        enumerable: true,
        get() {
          return this.#init[key];
        },
      });
    }
  }
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);
const kMake = Symbol("make");
class Response extends Body {
  #status;
  #statusText;
  #headers;
  #meta;
  constructor(body = null, init = {}, internal) {
    const extracted = internal === kMake ? null : extractBody(body);
    super(internal === kMake ? body : extracted ? extracted.bytes : null);
    init = init ?? {};
    const status = init.status === undefined ? 200 : Number(init.status);
    if (internal !== kMake) {
      if (!(status >= 200 && status <= 599) || !Number.isInteger(status)) {
        throw new RangeError(`init["status"] must be in the range of 200 to 599, inclusive.`);
      }
      if (extracted && NULL_BODY.has(status)) throw new TypeError("Response constructor: Invalid response status code " + status);
    }
    this.#status = status;
    this.#statusText = init.statusText === undefined ? "" : String(init.statusText);
    this.#headers = new Headers(init.headers);
    if (extracted && extracted.type && !this.#headers.has("content-type")) this.#headers.set("content-type", extracted.type);
    this.#meta = { type: "default", url: "", redirected: false, ...(internal === kMake ? init.meta : {}) };
  }
  get status() {
    return this.#status;
  }
  get statusText() {
    return this.#statusText;
  }
  get ok() {
    return this.#status >= 200 && this.#status <= 299;
  }
  get headers() {
    return this.#headers;
  }
  get type() {
    return this.#meta.type;
  }
  get url() {
    return this.#meta.url;
  }
  get redirected() {
    return this.#meta.redirected;
  }
  clone() {
    if (this.bodyUsed) throw new TypeError("Response.clone: Body has already been consumed.");
    return new Response(this[kBody], {
      status: this.#status, statusText: this.#statusText, headers: this.#headers, meta: this.#meta,
    }, kMake);
  }
  static json(data, init = {}) {
    const text = JSON.stringify(data);
    if (text === undefined) throw new TypeError("Value is not JSON serializable");
    const headers = new Headers(init?.headers);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
    return new Response(text, { ...init, headers });
  }
  static error() {
    const r = new Response(null, { status: 0, meta: { type: "error" } }, kMake);
    r.headers[kGuard] = "immutable";
    return r;
  }
  static redirect(url, status = 302) {
    const { URL } = require("url");
    const href = new URL(String(url)).href;
    if (![301, 302, 303, 307, 308].includes(status)) throw new RangeError(`Invalid status code ${status}`);
    return new Response(null, { status, headers: { location: href } }, kMake);
  }
  get [Symbol.toStringTag]() {
    return "Response";
  }
}

// --- fetch ---
function fetch(input, init) {
  return new Promise((resolve, reject) => {
    const request = new Request(input, init);
    const signal = request.signal;
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const scheme = request.url.slice(0, request.url.indexOf(":"));
    if (scheme !== "http" && scheme !== "https") {
      const e = new TypeError("fetch failed");
      e.cause = new Error(scheme === "data" || scheme === "blob" ? `${scheme}: URLs are not supported in shoal's JS isolates` : "unknown scheme");
      reject(e);
      return;
    }
    let settled = false;
    const onAbort = () => {
      if (settled) return;
      settled = true;
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const headers = Headers.raw(request.headers);
    const has = (n) => headers.some((p) => p[0] === n);
    if (!has("accept")) headers.push(["accept", "*/*"]);
    if (!has("accept-language")) headers.push(["accept-language", "*"]);
    if (!has("user-agent")) headers.push(["user-agent", "node"]);
    const body = request[kBody] === null ? undefined : request[kBody];
    request[kUsed] = body !== undefined;
    let pending;
    try {
      pending = Promise.resolve(host.request({ method: request.method, url: request.url, headers, redirect: request.redirect }, body));
    } catch (err) {
      pending = Promise.reject(err);
    }
    pending.then((res) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort, { once: true });
      const bytes = res.body instanceof Uint8Array ? res.body : new Uint8Array(res.body || 0);
      resolve(new Response(request.method === "HEAD" || NULL_BODY.has(res.status) ? null : bytes, {
        status: res.status, statusText: res.statusText || "", headers: res.headers || [],
        meta: { type: "basic", url: res.url || request.url, redirected: !!res.redirected },
      }, kMake));
    }, (err) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort, { once: true });
      const e = new TypeError("fetch failed");
      e.cause = err;
      reject(e);
    });
  });
}

module.exports = {
  DOMException, Event, EventTarget, AbortController, AbortSignal, structuredClone, Blob, File,
  FormData, Headers, Request, Response, fetch,
};

// node:url for shoal's JS isolates: the WHATWG `URL` (parsed and edited by the host's URL
// Standard implementation, `host.url`) with a live `searchParams`, `URLSearchParams`, and Node's
// legacy API (`parse`, `format`, `resolve`, `Url`), `fileURLToPath`, `pathToFileURL`,
// `urlToHttpOptions`, `domainToASCII`/`domainToUnicode` (UTS #46, `host.domain`).
// Left out: `URL.createObjectURL` and non-UTF-8 query encodings. Legacy `url.resolve` resolves
// with the WHATWG algorithm.
"use strict";

// The host object, under a name the legacy parser's `host` variables do not shadow.
const native = host;

// --- percent-encoding ---
const C0 = (c) => c < 0x20 || c > 0x7e;
const QUERY = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e;
const PATH = (c) => QUERY(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d;
const USERINFO = (c) => PATH(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d ||
  c === 0x40 || (c >= 0x5b && c <= 0x5e) || c === 0x7c;
const COMPONENT = (c) => USERINFO(c) || (c >= 0x24 && c <= 0x26) || c === 0x2b || c === 0x2c;
const FORM = (c) => COMPONENT(c) || c === 0x21 || (c >= 0x27 && c <= 0x29) || c === 0x7e;

function utf8(cp) {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}
const hex2 = (b) => "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
function pct(ch, set) {
  const cp = ch.codePointAt(0);
  if (cp < 0x80) return set(cp) ? hex2(cp) : ch;
  return utf8(cp).map(hex2).join("");
}
function pctString(s, set, spaceAsPlus) {
  let out = "";
  for (const ch of s) out += spaceAsPlus && ch === " " ? "+" : pct(ch, set);
  return out;
}
const isHex = (ch) => ch !== undefined && /^[0-9A-Fa-f]$/.test(ch);
function percentDecode(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "%" && isHex(s[i + 1]) && isHex(s[i + 2])) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const cp = s.codePointAt(i);
      if (cp > 0xffff) i++;
      bytes.push(...utf8(cp));
    }
  }
  return bytes;
}
// UTF-8 decoding with U+FFFD for each maximal invalid subpart, as the Encoding Standard does.
function utf8Decode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let n, cp, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) [n, cp] = [1, b & 0x1f];
    else if (b >= 0xe0 && b <= 0xef) {
      [n, cp] = [2, b & 0xf];
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      [n, cp] = [3, b & 7];
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      out += "\ufffd";
      i++;
      continue;
    }
    let j = 1;
    for (; j <= n; j++) {
      const c = bytes[i + j];
      if (c === undefined || c < lo || c > hi) break;
      [lo, hi] = [0x80, 0xbf];
      cp = (cp << 6) | (c & 0x3f);
    }
    if (j <= n) {
      out += "\ufffd";
      i += j;
    } else {
      out += String.fromCodePoint(cp);
      i += n + 1;
    }
  }
  return out;
}
// A string as the USVString WebIDL makes of it: lone surrogates become U+FFFD.
const toUSV = (v) => String(v).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

function invalidURL(input, base) {
  const e = new TypeError("Invalid URL");
  e.code = "ERR_INVALID_URL";
  e.input = input;
  if (base !== undefined) e.base = base;
  return e;
}

// --- application/x-www-form-urlencoded ---
function parseForm(s) {
  const list = [];
  for (const part of s.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    const decode = (x) => utf8Decode(percentDecode(x.replace(/\+/g, " ")));
    list.push([decode(name), decode(value)]);
  }
  return list;
}
const serializeForm = (list) =>
  list.map(([n, v]) => pctString(n, FORM, true) + "=" + pctString(v, FORM, true)).join("&");

let attachParams, updateURLQuery;

class URLSearchParams {
  #list = [];
  #url = null;
  constructor(init = "") {
    if (init instanceof URLSearchParams) this.#list = init.#list.map((p) => p.slice());
    else if (init !== null && (typeof init === "object" || typeof init === "function")) {
      if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") {
            throw new TypeError("Each query pair must be an iterable [name, value] tuple");
          }
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple");
          this.#list.push([toUSV(p[0]), toUSV(p[1])]);
        }
      } else {
        for (const key of Object.keys(init)) this.#list.push([toUSV(key), toUSV(init[key])]);
      }
    } else {
      const s = toUSV(init);
      this.#list = parseForm(s[0] === "?" ? s.slice(1) : s);
    }
  }
  static {
    attachParams = (params, url, query) => {
      params.#url = url;
      params.#list = query ? parseForm(query) : [];
    };
  }
  #update() {
    if (this.#url) updateURLQuery(this.#url, serializeForm(this.#list));
  }
  get size() {
    return this.#list.length;
  }
  append(name, value) {
    this.#list.push([toUSV(name), toUSV(value)]);
    this.#update();
  }
  delete(name, value) {
    name = toUSV(name);
    if (value === undefined) this.#list = this.#list.filter((p) => p[0] !== name);
    else {
      value = toUSV(value);
      this.#list = this.#list.filter((p) => p[0] !== name || p[1] !== value);
    }
    this.#update();
  }
  get(name) {
    name = toUSV(name);
    const p = this.#list.find((x) => x[0] === name);
    return p ? p[1] : null;
  }
  getAll(name) {
    name = toUSV(name);
    return this.#list.filter((x) => x[0] === name).map((x) => x[1]);
  }
  has(name, value) {
    name = toUSV(name);
    if (value === undefined) return this.#list.some((x) => x[0] === name);
    value = toUSV(value);
    return this.#list.some((x) => x[0] === name && x[1] === value);
  }
  set(name, value) {
    [name, value] = [toUSV(name), toUSV(value)];
    const i = this.#list.findIndex((x) => x[0] === name);
    if (i < 0) this.#list.push([name, value]);
    else {
      this.#list[i][1] = value;
      this.#list = this.#list.filter((x, j) => j <= i || x[0] !== name);
    }
    this.#update();
  }
  sort() {
    const cmp = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    this.#list = this.#list.map((p, i) => [p, i]).sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]).map((x) => x[0]);
    this.#update();
  }
  forEach(callback, thisArg) {
    if (typeof callback !== "function") throw new TypeError("The \"callback\" argument must be of type function");
    for (let i = 0; i < this.#list.length; i++) callback.call(thisArg, this.#list[i][1], this.#list[i][0], this);
  }
  *entries() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i].slice();
  }
  *keys() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i][0];
  }
  *values() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i][1];
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    return serializeForm(this.#list);
  }
  get [Symbol.toStringTag]() {
    return "URLSearchParams";
  }
}

// The parts `host.url` returns, in order.
const [HREF, ORIGIN, PROTOCOL, USERNAME, PASSWORD, HOST, HOSTNAME, PORT, PATHNAME, SEARCH, HASH] =
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

// The URL Standard's parser, natively (`host.url`): the parts of `input` against `base`, or null.
function parseURL(input, base) {
  if (base === "") return null;
  return native.url(input, base === undefined ? "" : base, "", "");
}

class URL {
  #parts;
  #params;
  constructor(input, base) {
    if (arguments.length === 0) throw new TypeError("The \"url\" argument must be specified");
    input = toUSV(input);
    const b = base === undefined ? undefined : toUSV(base);
    const parts = parseURL(input, b);
    if (parts === null) throw invalidURL(input, b);
    this.#parts = parts;
    this.#params = new URLSearchParams();
    attachParams(this.#params, this, parts[SEARCH].slice(1));
  }
  static {
    updateURLQuery = (url, query) => {
      url.#set("search", query);
    };
  }
  static canParse(input, base) {
    return parseURL(toUSV(input), base === undefined ? undefined : toUSV(base)) !== null;
  }
  // Runs the URL API's setter of `part` (a refused value changes nothing).
  #set(part, value) {
    this.#parts = native.url(this.#parts[HREF], "", part, toUSV(value)) ?? this.#parts;
  }
  get href() {
    return this.#parts[HREF];
  }
  set href(value) {
    const parts = parseURL(toUSV(value));
    if (parts === null) throw invalidURL(String(value));
    this.#parts = parts;
    attachParams(this.#params, this, parts[SEARCH].slice(1));
  }
  get origin() {
    return this.#parts[ORIGIN];
  }
  get protocol() {
    return this.#parts[PROTOCOL];
  }
  set protocol(value) {
    this.#set("protocol", value);
  }
  get username() {
    return this.#parts[USERNAME];
  }
  set username(value) {
    this.#set("username", value);
  }
  get password() {
    return this.#parts[PASSWORD];
  }
  set password(value) {
    this.#set("password", value);
  }
  get host() {
    return this.#parts[HOST];
  }
  set host(value) {
    this.#set("host", value);
  }
  get hostname() {
    return this.#parts[HOSTNAME];
  }
  set hostname(value) {
    this.#set("hostname", value);
  }
  get port() {
    return this.#parts[PORT];
  }
  set port(value) {
    this.#set("port", value);
  }
  get pathname() {
    return this.#parts[PATHNAME];
  }
  set pathname(value) {
    this.#set("pathname", value);
  }
  get search() {
    return this.#parts[SEARCH];
  }
  set search(value) {
    this.#set("search", value);
    attachParams(this.#params, this, this.#parts[SEARCH].slice(1));
  }
  get searchParams() {
    return this.#params;
  }
  get hash() {
    return this.#parts[HASH];
  }
  set hash(value) {
    this.#set("hash", value);
  }
  toString() {
    return this.href;
  }
  toJSON() {
    return this.href;
  }
  get [Symbol.toStringTag]() {
    return "URL";
  }
}
for (const key of ["href", "origin", "protocol", "username", "password", "host", "hostname", "port",
  "pathname", "search", "searchParams", "hash", "toString", "toJSON"]) {
  Object.defineProperty(URL.prototype, key, { enumerable: true });
}
for (const key of ["append", "delete", "get", "getAll", "has", "set", "sort", "forEach", "entries",
  "keys", "values", "toString", "size"]) {
  Object.defineProperty(URLSearchParams.prototype, key, { enumerable: true });
}

// --- Node's legacy API ---
const SLASHED = new Set(["http:", "https:", "ftp:", "gopher:", "file:", "ws:", "wss:"]);
const HOSTLESS = new Set(["javascript:"]);

function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}
const querystring = () => require("querystring");

Url.prototype.parse = function (str, parseQuery, slashesDenoteHost) {
  if (typeof str !== "string") {
    const e = new TypeError(`The "url" argument must be of type string. Received ${str === null ? "null" : typeof str}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  let rest = str.trim();
  // Backslashes before the query or hash become slashes, as browsers treat them.
  const qh = rest.search(/[?#]/);
  rest = qh < 0 ? rest.replace(/\\/g, "/") : rest.slice(0, qh).replace(/\\/g, "/") + rest.slice(qh);
  const proto = /^[a-zA-Z0-9.+-]+:/.exec(rest);
  let lowerProto;
  if (proto) {
    lowerProto = proto[0].toLowerCase();
    this.protocol = lowerProto;
    rest = rest.slice(proto[0].length);
  }
  let slashes = false;
  if (slashesDenoteHost || proto || /^\/\/[^@/]+@[^@/]+/.test(rest)) {
    slashes = rest.startsWith("//");
    if (slashes && !(proto && HOSTLESS.has(lowerProto))) {
      rest = rest.slice(2);
      this.slashes = true;
    }
  }
  if (!HOSTLESS.has(lowerProto) && (slashes || (proto && !SLASHED.has(lowerProto)))) {
    let hostEnd = rest.search(/[/?#]/);
    if (hostEnd < 0) hostEnd = rest.length;
    const at = rest.lastIndexOf("@", hostEnd);
    if (at >= 0) {
      this.auth = decodeURIComponent(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
    hostEnd = rest.search(/[\t\n\r "#%';<>?\\^`{|}/]/);
    if (hostEnd < 0) hostEnd = rest.length;
    let host = rest.slice(0, hostEnd);
    rest = rest.slice(hostEnd);
    const port = /:[0-9]*$/.exec(host);
    if (port) {
      if (port[0] !== ":") this.port = port[0].slice(1);
      host = host.slice(0, host.length - port[0].length);
    }
    const ipv6 = host[0] === "[" && host[host.length - 1] === "]";
    let hostname = ipv6 ? host.slice(1, -1) : host;
    if (!ipv6) {
      // Node moves what follows an invalid hostname character into the path.
      const bad = hostname.search(/[^A-Za-z0-9_.+\u0080-\uffff-]/);
      if (bad >= 0) {
        rest = "/" + hostname.slice(bad) + rest;
        hostname = hostname.slice(0, bad);
      }
      hostname = hostname.length > 255 ? ""
        : /^[\x00-\x7f]*$/.test(hostname) ? hostname.toLowerCase()
          : native.domain(hostname, false) || hostname.toLowerCase();
    } else hostname = hostname.toLowerCase();
    this.hostname = hostname;
    this.host = (ipv6 ? "[" + hostname + "]" : hostname) + (this.port ? ":" + this.port : "");
    if (ipv6 && rest[0] !== "/") rest = "/" + rest;
  }
  if (!HOSTLESS.has(lowerProto)) {
    rest = rest.replace(/[\t\n\r "'<>\\^`{|}]/g, (ch) => encodeURIComponent(ch) === ch ? "%" + ch.charCodeAt(0).toString(16).toUpperCase() : encodeURIComponent(ch));
  }
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    this.hash = rest.slice(hash);
    rest = rest.slice(0, hash);
  }
  const qm = rest.indexOf("?");
  if (qm >= 0) {
    this.search = rest.slice(qm);
    this.query = rest.slice(qm + 1);
    if (parseQuery) this.query = querystring().parse(this.query);
    rest = rest.slice(0, qm);
  } else if (parseQuery) {
    this.search = null;
    this.query = Object.create(null);
  }
  if (rest) this.pathname = rest;
  if (SLASHED.has(lowerProto) && this.hostname && !this.pathname) this.pathname = "/";
  if (this.pathname || this.search) this.path = (this.pathname || "") + (this.search || "");
  this.href = this.format();
  return this;
};

Url.prototype.format = function () {
  let auth = this.auth || "";
  if (auth) auth = encodeURIComponent(auth).replace(/%3A/i, ":") + "@";
  let protocol = this.protocol || "";
  let pathname = this.pathname || "";
  let hash = this.hash || "";
  let host = "";
  let query = "";
  if (this.host) host = auth + this.host;
  else if (this.hostname) {
    const h = this.hostname;
    host = auth + (h.includes(":") && !(h[0] === "[") ? "[" + h + "]" : h);
    if (this.port) host += ":" + this.port;
  }
  if (this.query !== null && typeof this.query === "object") query = querystring().stringify(this.query);
  let search = this.search || (query && "?" + query) || "";
  if (protocol && !protocol.endsWith(":")) protocol += ":";
  pathname = pathname.replace(/[?#]/g, encodeURIComponent);
  if (this.slashes || SLASHED.has(protocol)) {
    if (this.slashes || host) {
      if (pathname && pathname[0] !== "/") pathname = "/" + pathname;
      host = "//" + host;
    } else if (protocol.startsWith("file")) host = "//";
  }
  search = search.replace(/#/g, "%23");
  if (hash && hash[0] !== "#") hash = "#" + hash;
  if (search && search[0] !== "?") search = "?" + search;
  return protocol + host + pathname + search + hash;
};

Url.prototype.resolve = function (relative) {
  return resolve(this.format(), relative);
};

function urlParse(str, parseQuery, slashesDenoteHost) {
  if (str instanceof Url) return str;
  return new Url().parse(str, parseQuery, slashesDenoteHost);
}

function urlFormat(obj, options) {
  if (typeof obj === "string") return urlParse(obj).format();
  if (obj instanceof URL) {
    const o = { auth: true, fragment: true, search: true, unicode: false, ...options };
    const u = new URL(obj.href);
    if (!o.auth) {
      u.username = "";
      u.password = "";
    }
    if (!o.search) u.search = "";
    if (!o.fragment) u.hash = "";
    return u.href;
  }
  if (obj === null || typeof obj !== "object") {
    const e = new TypeError(`The "urlObject" argument must be one of type object or string. Received ${obj === null ? "null" : typeof obj}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  return Url.prototype.format.call(obj);
}

function resolve(from, to) {
  const r = new URL(to, new URL(from, "resolve://"));
  if (r.protocol !== "resolve:") return r.href;
  const out = r.pathname + r.search + r.hash;
  return from.startsWith("/") || to.startsWith("/") ? out : out.slice(1);
}

const { nodeError } = require("internal/errors");

function fileURLToPath(path) {
  const u = typeof path === "string" ? new URL(path) : path;
  if (!(u instanceof URL)) {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"path\" argument must be of type string or an instance of URL");
  }
  if (u.protocol !== "file:") throw nodeError(TypeError, "ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
  if (u.hostname !== "") {
    throw nodeError(TypeError, "ERR_INVALID_FILE_URL_HOST", "File URL host must be \"localhost\" or empty on linux");
  }
  const pathname = u.pathname;
  if (/%2f/i.test(pathname)) {
    throw nodeError(TypeError, "ERR_INVALID_FILE_URL_PATH", "File URL path must not include encoded / characters");
  }
  return decodeURIComponent(pathname);
}

function pathToFileURL(filepath) {
  let path = String(filepath);
  const cwd = typeof process === "object" && typeof process.cwd === "function" ? process.cwd() : "/";
  const trailing = path.endsWith("/");
  const parts = [];
  for (const part of (path.startsWith("/") ? path : cwd + "/" + path).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  path = "/" + parts.join("/") + (trailing && parts.length ? "/" : "");
  const u = new URL("file://");
  u.pathname = path.replace(/%/g, "%25").replace(/\\/g, "%5C").replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/\t/g, "%09");
  return u;
}

function urlToHttpOptions(url) {
  const options = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ""}${url.search || ""}`,
    href: url.href,
  };
  if (url.port !== "") options.port = Number(url.port);
  if (url.username || url.password) {
    options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  return options;
}

const domainToASCII = (domain) => native.domain(toUSV(domain), false);
const domainToUnicode = (domain) => native.domain(toUSV(domain), true);

module.exports = {
  URL, URLSearchParams, Url, parse: urlParse, format: urlFormat, resolve,
  resolveObject: (from, to) => urlParse(resolve(from, to)),
  fileURLToPath, pathToFileURL, urlToHttpOptions, domainToASCII, domainToUnicode,
};

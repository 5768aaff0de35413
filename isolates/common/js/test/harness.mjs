// Runs the Node layer (`../node.js` and the built-in modules in `../node/`) in a bare `vm`
// context with a host object made of Node's own crypto and zlib, so the JS half of the layer
// can be tested quickly with `node --test isolates/common/js/test/`. The engines' own tests
// run the same layer on QuickJS and V8 through the real host objects.
import vm from "node:vm";
import { readFileSync } from "node:fs";
import {
  createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey,
  hkdfSync, pbkdf2Sync, randomFillSync, scryptSync, sign as nodeSign, verify as nodeVerify,
} from "node:crypto";
import zlib from "node:zlib";
import { performance } from "node:perf_hooks";
import { domainToASCII, domainToUnicode } from "node:url";

const here = new URL("..", import.meta.url);

function builtin(id) {
  try {
    return readFileSync(new URL(`node/${id}.js`, here), "utf8");
  } catch {
    return undefined;
  }
}

// `host.url` on Node's own WHATWG parser: the parts in the engines' order, or null.
function nodeUrl(input, base, part, value) {
  let u;
  try {
    u = base === "" ? new URL(input) : new URL(input, base);
    if (part !== "") u[part] = value;
  } catch {
    return null;
  }
  return [u.href, u.origin, u.protocol, u.username, u.password, u.host, u.hostname, u.port,
    u.pathname, u.search, u.hash];
}

// The host's crypto primitives (`shoal_isolates::node::crypto`) on Node's own crypto.
const DER_TYPES = { "PRIVATE KEY": "pkcs8", "RSA PRIVATE KEY": "pkcs1", "EC PRIVATE KEY": "sec1",
  "PUBLIC KEY": "spki", "RSA PUBLIC KEY": "pkcs1" };
function keyObjectOf(label, der) {
  if (label === "JWK") {
    const jwk = JSON.parse(Buffer.from(der).toString());
    return (jwk.d ? createPrivateKey : createPublicKey)({ key: jwk, format: "jwk" });
  }
  if (label === "CERTIFICATE") {
    return createPublicKey(`-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64")}\n-----END CERTIFICATE-----\n`);
  }
  const type = DER_TYPES[label];
  if (!type) throw new Error(`Unsupported key format: ${label}`);
  const key = { key: Buffer.from(der), format: "der", type };
  return /PRIVATE/.test(label) ? createPrivateKey(key) : createPublicKey(key);
}
function keyImport(label, der) {
  const parsed = keyObjectOf(label, der);
  const pub = parsed.type === "private" ? createPublicKey(parsed) : parsed;
  const details = Object.assign({}, parsed.asymmetricKeyDetails);
  if (details.publicExponent !== undefined) details.publicExponent = Number(details.publicExponent);
  return JSON.stringify({
    type: parsed.type, asymmetricKeyType: parsed.asymmetricKeyType, asymmetricKeyDetails: details,
    pkcs8: parsed.type === "private" ? parsed.export({ type: "pkcs8", format: "der" }).toString("base64") : undefined,
    spki: pub.export({ type: "spki", format: "der" }).toString("base64"),
  });
}
// Node's sign/verify arguments for one of the host's signature names.
function signing(alg, key) {
  if (alg === "ed25519") return [null, key];
  const [family, padding, digest] = alg.split("-");
  if (family === "rsa") return [digest, Object.assign(key, padding === "pss" ? { padding: 6, saltLength: -1 } : {})];
  return [padding, Object.assign(key, { dsaEncoding: alg.endsWith("-p1363") ? "ieee-p1363" : "der" })];
}
function cipherOnNode(name, mode, key, iv, data, aad) {
  const decrypt = mode.startsWith("decrypt");
  const gcm = name.endsWith("-gcm");
  const c = (decrypt ? createDecipheriv : createCipheriv)(name, key, iv);
  if (!gcm) c.setAutoPadding(!mode.endsWith("-nopad"));
  if (gcm) c.setAAD(aad);
  let input = data;
  if (gcm && decrypt) {
    c.setAuthTag(data.subarray(data.length - 16));
    input = data.subarray(0, data.length - 16);
  }
  const out = Buffer.concat([c.update(input), c.final()]);
  return gcm && !decrypt ? Buffer.concat([out, c.getAuthTag()]) : out;
}

const zlibOps = {
  compress: { gzip: zlib.gzipSync, deflate: zlib.deflateSync, raw: zlib.deflateRawSync },
  decompress: { gzip: zlib.gunzipSync, deflate: zlib.inflateSync, raw: zlib.inflateRawSync },
};

/// A fresh isolate-like context: `files` maps relative paths to the action's file texts.
/// Returns `{ context, run(src), require(id), loadEntry(main), logs }`.
export function isolate(files = {}, { request } = {}) {
  const logs = [];
  const context = vm.createContext({});
  const run = (src, filename = "test.js") => vm.runInContext(src, context, { filename });
  const bytes = (b) => new (run("Uint8Array"))(b);
  const host = {
    builtin,
    file: (path) => files[path],
    has: (path) => Object.hasOwn(files, path),
    evaluate: (src, filename) => run(src, filename),
    digest: (alg, data) => bytes(createHash(alg).update(data).digest()),
    hmac: (alg, key, data) => bytes(createHmac(alg, key).update(data).digest()),
    keyImport,
    sign: (alg, pkcs8, data) => {
      const [digest, key] = signing(alg, { key: Buffer.from(pkcs8), format: "der", type: "pkcs8" });
      return bytes(nodeSign(digest, data, key));
    },
    verify: (alg, spki, data, sig) => {
      const [digest, key] = signing(alg, { key: Buffer.from(spki), format: "der", type: "spki" });
      return nodeVerify(digest, data, key, sig);
    },
    cipher: (name, mode, key, iv, data, aad) => bytes(cipherOnNode(name, mode, key, iv, data, aad)),
    pbkdf2: (digest, password, salt, n, length) => bytes(pbkdf2Sync(password, salt, n, length, digest)),
    hkdf: (digest, ikm, salt, info, length) => new Uint8Array(hkdfSync(digest, ikm, salt, info, length)),
    scrypt: (password, salt, length, [N, r, p, maxmem]) =>
      bytes(scryptSync(password, salt, length, { N, r, p, maxmem: Math.min(maxmem, 32 << 20) })),
    randomFill: (data) => { randomFillSync(data); },
    now: () => performance.now(),
    memory: () => ({ rss: 1, heapTotal: 1, heapUsed: 1, external: 0, arrayBuffers: 0 }),
    zlib: (op, format, data) => bytes(zlibOps[op][format](data)),
    url: (input, base, part, value) => nodeUrl(input, base, part, value),
    domain: (name, unicode) => (unicode ? domainToUnicode : domainToASCII)(name),
    utf8Decode: (data, fatal) => {
      try {
        return new TextDecoder("utf-8", { fatal, ignoreBOM: true }).decode(data);
      } catch {
        return null;
      }
    },
    base64: (data, url) => Buffer.from(data.buffer, data.byteOffset, data.length).toString(url ? "base64url" : "base64"),
    request: request ?? (() => Promise.reject(new Error("no network in this test"))),
    arch: "x64",
    unavailable: ["fs", "fs/promises", "child_process", "net", "tls", "vm", "worker_threads"],
  };
  const log = (...a) => logs.push(a.map(String).join(" "));
  run(`globalThis.console = { log: ${log}, info: ${log}, warn: ${log}, error: ${log}, debug: ${log} };`);
  context.__log = log;
  run("globalThis.console = { log: __log, info: __log, warn: __log, error: __log, debug: __log }; delete globalThis.__log; globalThis.process = { env: {} };");
  context.setTimeout = setTimeout;
  context.clearTimeout = clearTimeout;
  context.setInterval = setInterval;
  context.clearInterval = clearInterval;
  const layer = run(readFileSync(new URL("node.js", here), "utf8"), "node.js")(host);
  return { context, run, require: layer.require, loadEntry: layer.loadEntry, logs };
}

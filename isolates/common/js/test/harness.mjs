// Runs the Node layer (`../node.js` and the built-in modules in `../node/`) in a bare `vm`
// context with a host object made of Node's own crypto and zlib, so the JS half of the layer
// can be tested quickly with `node --test isolates/common/js/test/`. The engines' own tests
// run the same layer on QuickJS and V8 through the real host objects.
import vm from "node:vm";
import { readFileSync } from "node:fs";
import { createHash, createHmac, randomFillSync } from "node:crypto";
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

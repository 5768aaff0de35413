// The Node.js layer of shoal's JS isolates, shared by QuickJS and V8: CommonJS `require` with
// Node's resolution over the action's files, the built-in modules (loaded on first use from
// `node/`), the preinstalled packages of OpenWhisk's nodejs image, Node's globals (most of
// them lazy, so an action that never touches `Buffer` never pays for it) and `process`.
//
// An engine evaluates this file once per isolate, before the action's code, and calls the
// function it yields with its host object; nothing here keeps `host` reachable from action
// code. What the host object offers (every engine the same):
//   builtin(id)           source of built-in module `id` (e.g. "events", "internal/web"), or undefined
//   file(path)            text of the action's file at `path` (relative, no leading slash), or undefined
//   has(path)             whether the action has a file at `path`
//   evaluate(src, name)   runs `src` as a classic script named `name`, returns its completion value
//   digest(alg, bytes), hmac(alg, key, bytes), randomBytes(n), now(), memory(),
//   zlib(op, format, bytes), request(descriptor, body), arch,
//   url(input, base, part, value), domain(name, unicode),
//   utf8Decode(bytes, fatal), base64(bytes, url),
//   keyImport(label, der), sign(alg, pkcs8, data), verify(alg, spki, data, sig),
//   cipher(name, mode, key, iv, data, aad), pbkdf2(digest, password, salt, n, length),
//   hkdf(digest, ikm, salt, info, length), scrypt(password, salt, length, [N, r, p, maxmem])
//                                                               used by the built-in modules
//   unavailable           the Node modules the isolates refuse (an array of ids)
// (which also get `randomFill(bytes)`, made here from `randomBytes`).
// It returns the loader: `{ require, loadEntry(main) }`.
(function (host) {
  "use strict";
  const g = globalThis;
  // Intrinsics captured before any action code runs: the loader never calls through
  // something an action can replace (`Function.prototype.call`, …) while it holds `host`.
  const apply = Reflect.apply;
  // Where the action's files appear to be (OpenWhisk unzips into a directory of its own).
  const ROOT = "/action";
  // Node built-ins that can never run in an isolate: no file system, processes or sockets
  // (`shoal_isolates::node::UNAVAILABLE`).
  const REFUSED = new Set(host.unavailable || []);
  // Packages OpenWhisk's nodejs image installs globally, found after the action's own
  // `node_modules`.
  const PREINSTALLED = new Set(["openwhisk"]);

  const cache = Object.create(null);
  const builtins = Object.create(null);

  function moduleNotFound(request, from) {
    const e = new Error(`Cannot find module '${request}'` + (from ? `\nRequire stack:\n- ${from}` : ""));
    e.code = "MODULE_NOT_FOUND";
    return e;
  }

  // --- paths (POSIX, absolute) ---
  function normalize(path) {
    const out = [];
    for (const part of path.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") out.pop();
      else out.push(part);
    }
    return "/" + out.join("/");
  }
  const dirname = (path) => path.slice(0, path.lastIndexOf("/")) || "/";
  const join = (dir, rel) => normalize(dir + "/" + rel);

  const inRoot = (abs) => abs.startsWith(ROOT + "/");
  const readFile = (abs) => (inRoot(abs) ? host.file(abs.slice(ROOT.length + 1)) : undefined);
  const isFile = (abs) => inRoot(abs) && host.has(abs.slice(ROOT.length + 1));
  if (typeof host.randomFill !== "function") {
    host.randomFill = (bytes) => {
      for (let at = 0; at < bytes.length; at += 65536) {
        bytes.set(host.randomBytes(Math.min(65536, bytes.length - at)), at);
      }
    };
  }
  // No lookup on `host` may reach a getter an action defines on `Object.prototype`.
  Object.setPrototypeOf(host, null);
  Object.freeze(host);

  // --- Node's resolution algorithm over the action's files ---
  function asFile(x) {
    for (const candidate of [x, x + ".js", x + ".json", x + ".cjs", x + ".node"]) {
      if (isFile(candidate)) return candidate;
    }
    return undefined;
  }
  function asIndex(x) {
    for (const candidate of [x + "/index.js", x + "/index.json", x + "/index.node"]) {
      if (isFile(candidate)) return candidate;
    }
    return undefined;
  }
  function packageJson(dir) {
    const text = readFile(dir + "/package.json");
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text);
    } catch (e) {
      e.message = `${dir}/package.json: ${e.message}`;
      throw e;
    }
  }
  function asDirectory(x) {
    const pkg = packageJson(x);
    if (pkg && typeof pkg.main === "string" && pkg.main !== "") {
      const m = join(x, pkg.main);
      const found = asFile(m) || asIndex(m);
      if (found) return found;
    }
    return asIndex(x);
  }
  // The target of a package's `exports` for `sub` ("." or "./x"), under the conditions
  // `require`, `node` and `default`.
  function exportsTarget(exp, sub) {
    const pick = (target) => {
      if (typeof target === "string" || target === null) return target;
      if (Array.isArray(target)) {
        for (const t of target) {
          const r = pick(t);
          if (r) return r;
        }
        return undefined;
      }
      if (typeof target === "object") {
        for (const cond of ["require", "node", "default"]) {
          if (cond in target) {
            const r = pick(target[cond]);
            if (r !== undefined) return r;
          }
        }
      }
      return undefined;
    };
    const keyed = typeof exp === "object" && exp !== null && !Array.isArray(exp) &&
      Object.keys(exp).some((k) => k.startsWith("."));
    if (!keyed) return sub === "." ? pick(exp) : undefined;
    if (sub in exp) return pick(exp[sub]);
    for (const key of Object.keys(exp)) {
      const star = key.indexOf("*");
      if (star < 0) continue;
      const [pre, post] = [key.slice(0, star), key.slice(star + 1)];
      if (sub.startsWith(pre) && sub.endsWith(post) && sub.length >= key.length - 1) {
        const target = pick(exp[key]);
        if (typeof target === "string") {
          return target.split("*").join(sub.slice(pre.length, sub.length - post.length));
        }
      }
    }
    return undefined;
  }
  function fromNodeModules(request, dir) {
    const parts = request.split("/");
    const nameLength = request.startsWith("@") ? 2 : 1;
    const name = parts.slice(0, nameLength).join("/");
    const sub = parts.slice(nameLength).join("/");
    for (let d = dir; ; d = dirname(d)) {
      if (!d.endsWith("/node_modules")) {
        const pkgDir = join(d, "node_modules/" + name);
        const pkg = isFile(pkgDir + "/package.json") ? packageJson(pkgDir) : undefined;
        if (pkg && pkg.exports !== undefined) {
          const target = exportsTarget(pkg.exports, sub ? "./" + sub : ".");
          if (typeof target === "string") {
            const found = asFile(join(pkgDir, target));
            if (found) return found;
          }
        }
        const x = join(d, "node_modules/" + request);
        const found = asFile(x) || asDirectory(x);
        if (found) return found;
      }
      if (d === "/") return undefined;
    }
  }
  // The filename `request` names from directory `dir`, or `builtin:<id>`.
  function resolve(request, dir, from) {
    if (typeof request !== "string" || request === "") {
      throw new TypeError("The \"id\" argument must be a non-empty string");
    }
    const bare = request.startsWith("node:") ? request.slice(5) : request;
    if (REFUSED.has(bare)) {
      const e = moduleNotFound(request, from);
      e.message = `Cannot find module '${request}': Node's '${bare}' module is not available in shoal's JS isolates (no file system, processes or raw sockets); annotate the action with engine=container to run it in a container`;
      throw e;
    }
    if (!bare.startsWith("internal/") && builtinSource(bare) !== undefined &&
        (request.startsWith("node:") || !PREINSTALLED.has(bare))) {
      return "builtin:" + bare;
    }
    let found;
    if (/^(\.\.?(\/|$)|\/)/.test(request)) {
      const x = request.startsWith("/") ? normalize(request) : join(dir, request);
      found = asFile(x) || asDirectory(x);
    } else {
      found = fromNodeModules(request, dir);
      if (!found && PREINSTALLED.has(request)) return "builtin:" + request;
    }
    if (!found) throw moduleNotFound(request, from);
    return found;
  }

  // Resolutions made so far, by directory and request: an action's files never change, so a
  // repeated `require` (often inside `main`) costs one lookup, as Node's path cache makes it.
  // Holds at most MAX_RESOLVED entries and starts over when full.
  const MAX_RESOLVED = 1024;
  let resolved = Object.create(null);
  let resolvedCount = 0;
  function resolveCached(request, dir, from) {
    if (typeof request !== "string") return resolve(request, dir, from);
    const key = dir + "\0" + request;
    const known = resolved[key];
    if (known !== undefined) return known;
    const id = resolve(request, dir, from);
    if (resolvedCount === MAX_RESOLVED) {
      resolved = Object.create(null);
      resolvedCount = 0;
    }
    resolved[key] = id;
    resolvedCount++;
    return id;
  }

  function builtinSource(id) {
    if (!(id in builtins)) builtins[id] = host.builtin(id);
    return builtins[id];
  }

  // --- modules ---
  function Module(id, parent) {
    this.id = id;
    this.filename = id;
    this.path = id.startsWith("builtin:") ? "." : dirname(id);
    this.exports = {};
    this.loaded = false;
    this.parent = parent;
    this.children = [];
    this.paths = [];
  }

  function makeRequire(module) {
    const dir = module.path === "." ? ROOT : module.path;
    const require = function require(request) {
      const id = resolveCached(request, dir, module.filename);
      return load(id, module);
    };
    require.resolve = (request) => {
      const id = resolveCached(request, dir, module.filename);
      return id.startsWith("builtin:") ? id.slice(8) : id;
    };
    require.resolve.paths = (request) => null;
    require.cache = cache;
    require.main = mainModule;
    return require;
  }

  // Wraps CommonJS source on one line, so line numbers in stacks stay the file's own.
  function compile(source, filename, params) {
    const body = source.startsWith("#!") ? "//" + source : source;
    return host.evaluate(`(function (${params}) {${body}\n})`, filename);
  }

  function load(id, parent) {
    const cached = cache[id];
    if (cached) {
      if (parent && !parent.children.includes(cached)) parent.children.push(cached);
      return cached.exports;
    }
    const module = new Module(id, parent);
    if (parent) parent.children.push(module);
    cache[id] = module;
    try {
      if (id.startsWith("builtin:")) {
        const name = id.slice(8);
        const fn = compile(builtinSource(name), `node:${name}`,
          "exports, require, module, __filename, __dirname, host");
        apply(fn, module.exports, [module.exports, builtinRequire, module, name, ".", host]);
      } else if (id.endsWith(".json")) {
        try {
          module.exports = JSON.parse(readFile(id));
        } catch (e) {
          e.message = id + ": " + e.message;
          throw e;
        }
      } else if (id.endsWith(".node")) {
        throw new Error(`Cannot load native addon '${id}': native addons do not run in shoal's JS isolates; annotate the action with engine=container to run it in a container`);
      } else {
        const fn = compile(readFile(id), id, "exports, require, module, __filename, __dirname");
        apply(fn, module.exports, [module.exports, makeRequire(module), module, id, module.path]);
      }
    } catch (e) {
      delete cache[id];
      throw e;
    }
    module.loaded = true;
    return module.exports;
  }

  // Built-in modules require one another (and `internal/*`) by plain id.
  function builtinRequire(request) {
    const name = request.startsWith("node:") ? request.slice(5) : request;
    if (builtinSource(name) === undefined) throw moduleNotFound(request);
    return load("builtin:" + name, undefined);
  }

  // The root module: what a single-file action's `require` resolves from.
  const mainModule = new Module(ROOT + "/index.js", undefined);
  const rootRequire = makeRequire(mainModule);

  // --- globals ---
  function lazy(name, load) {
    if (name in g) return;
    Object.defineProperty(g, name, {
      configurable: true,
      enumerable: false,
      get() {
        const value = load();
        Object.defineProperty(g, name, { value, writable: true, configurable: true });
        return value;
      },
      set(value) {
        Object.defineProperty(g, name, { value, writable: true, configurable: true });
      },
    });
  }
  const fromBuiltin = (id, key) => () => builtinRequire(id)[key];
  lazy("Buffer", fromBuiltin("buffer", "Buffer"));
  for (const key of ["URL", "URLSearchParams"]) lazy(key, fromBuiltin("url", key));
  for (const key of ["TextEncoder", "TextDecoder", "atob", "btoa"]) {
    lazy(key, fromBuiltin("internal/encoding", key));
  }
  for (const key of ["EventTarget", "Event", "AbortController", "AbortSignal", "structuredClone",
    "fetch", "Headers", "Request", "Response", "FormData", "Blob"]) {
    lazy(key, fromBuiltin("internal/web", key));
  }
  lazy("crypto", fromBuiltin("crypto", "webcrypto"));
  lazy("performance", () => ({ now: () => host.now(), timeOrigin: Date.now() - host.now() }));
  if (typeof g.queueMicrotask !== "function") {
    g.queueMicrotask = (callback) => {
      if (typeof callback !== "function") throw new TypeError("The \"callback\" argument must be of type function");
      Promise.resolve().then(callback);
    };
  }
  // Node's timers return `Timeout` objects (`unref()`, `ref()`, `refresh()`, `+t` is the id);
  // the engine's return numbers. Nothing outlives an activation's result here, so
  // `unref` changes nothing.
  const engineTimer = { set: g.setTimeout, every: g.setInterval, clear: g.clearTimeout };
  class Timeout {
    #id;
    #arm;
    constructor(arm) {
      this.#arm = arm;
      this.#id = arm();
    }
    ref() { return this; }
    unref() { return this; }
    hasRef() { return true; }
    refresh() {
      engineTimer.clear(this.#id);
      this.#id = this.#arm();
      return this;
    }
    close() {
      engineTimer.clear(this.#id);
      return this;
    }
    [Symbol.toPrimitive]() { return typeof this.#id === "number" ? this.#id : NaN; }
    static idOf(timer) { return timer !== null && typeof timer === "object" && #id in timer ? timer.#id : timer; }
  }
  const idOf = Timeout.idOf;
  g.setTimeout = (callback, ms, ...args) => new Timeout(() => engineTimer.set(callback, ms, ...args));
  g.setInterval = (callback, ms, ...args) => new Timeout(() => engineTimer.every(callback, ms, ...args));
  g.clearTimeout = (timer) => engineTimer.clear(idOf(timer));
  g.clearInterval = g.clearTimeout;
  g.setImmediate = (callback, ...args) => g.setTimeout(callback, 0, ...args);
  g.clearImmediate = g.clearTimeout;
  g.require = rootRequire;
  g.module = mainModule;
  g.exports = mainModule.exports;

  // --- process ---
  const process = g.process;
  const noop = function () { return process; };
  Object.assign(process, {
    version: "v20.19.0",
    versions: { node: "20.19.0" },
    platform: "linux",
    arch: host.arch || "x64",
    release: { name: "node" },
    argv: ["/usr/local/bin/node", ROOT],
    execArgv: [],
    pid: 1,
    ppid: 0,
    title: "node",
    exitCode: undefined,
    cwd: () => ROOT,
    chdir() {
      throw new Error("process.chdir() is not supported in shoal's JS isolates");
    },
    exit() {
      throw new Error("process.exit() is not supported in shoal's JS isolates");
    },
    nextTick(callback, ...args) {
      g.queueMicrotask(() => callback(...args));
    },
    hrtime(previous) {
      const ns = Math.round(host.now() * 1e6);
      let [s, n] = [Math.floor(ns / 1e9), ns % 1e9];
      if (previous) {
        s -= previous[0];
        n -= previous[1];
        if (n < 0) {
          s -= 1;
          n += 1e9;
        }
      }
      return [s, n];
    },
    uptime: () => host.now() / 1000,
    memoryUsage: Object.assign(() => host.memory(), { rss: () => host.memory().rss }),
    emitWarning(warning) {
      g.console.warn(String(warning instanceof Error ? warning.message : warning));
    },
    on: noop, once: noop, off: noop, addListener: noop, removeListener: noop,
    removeAllListeners: noop, prependListener: noop, emit: () => false,
    listeners: () => [], listenerCount: () => 0,
  });
  process.hrtime.bigint = () => BigInt(Math.round(host.now() * 1e6));

  // The entry point of a zip action: `package.json`'s `main`, else `index.js`; `main` names
  // the export (OpenWhisk also accepts `file.function`).
  function loadEntry(main) {
    const pkg = packageJson(ROOT);
    let entry;
    if (pkg && typeof pkg.main === "string" && pkg.main !== "") {
      entry = asFile(join(ROOT, pkg.main)) || asIndex(join(ROOT, pkg.main));
      if (!entry) throw moduleNotFound(join(ROOT, pkg.main));
    } else if (pkg || isFile(ROOT + "/index.js")) {
      entry = asFile(ROOT + "/index.js");
      if (!entry) throw moduleNotFound(ROOT + "/index.js");
    } else {
      throw new Error("Zipped actions must contain either package.json or index.js at the root.");
    }
    mainModule.id = ".";
    mainModule.filename = entry;
    mainModule.path = dirname(entry);
    cache[entry] = mainModule;
    const fn = compile(readFile(entry), entry, "exports, require, module, __filename, __dirname");
    apply(fn, mainModule.exports, [mainModule.exports, makeRequire(mainModule), mainModule, entry, mainModule.path]);
    mainModule.loaded = true;
    const exported = mainModule.exports;
    if (exported != null && typeof exported[main] === "function") return exported[main];
    const dot = main.lastIndexOf(".");
    if (dot > 0) {
      const inner = rootRequire("./" + main.slice(0, dot));
      if (inner != null && typeof inner[main.slice(dot + 1)] === "function") {
        return inner[main.slice(dot + 1)];
      }
    }
    if (typeof exported === "function") return exported;
    return undefined;
  }

  return { require: rootRequire, loadEntry };
})

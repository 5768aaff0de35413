// The host globals of a shoal V8 isolate and the JS half of the action ABI. Runs once, at
// build time (build.rs), into the snapshot every isolate starts from, right after the Node
// layer's prelude (`isolates/common/js/node.js`, left on `globalThis.__shoalNode`), which it
// installs with a host object made of the `shoal_host` ops. Everything the Rust side calls lives
// on a hidden, frozen `__shoal` global; the Rust side removes `Deno` once an isolate is
// created (deno_core still needs it then), so actions see only Node-like globals.
//
// Every `__shoal` function returns a string, so the Rust side needs one conversion only.
((globalThis) => {
  "use strict";
  const core = globalThis.Deno.core;
  const {
    op_shoal_log, op_shoal_builtin, op_shoal_file, op_shoal_has, op_shoal_digest, op_shoal_hmac,
    op_shoal_key_import, op_shoal_sign, op_shoal_verify, op_shoal_cipher, op_shoal_pbkdf2, op_shoal_hkdf, op_shoal_scrypt,
    op_shoal_random, op_shoal_zlib, op_shoal_url, op_shoal_domain, op_shoal_utf8_decode, op_shoal_base64, op_shoal_now, op_shoal_arch, op_shoal_request, op_shoal_unavailable, op_memory_usage,
  } = core.ops;
  const installNode = globalThis.__shoalNode;
  // Captured now: an action may replace the global `eval`.
  const indirectEval = globalThis.eval;
  delete globalThis.__shoalNode;

  // `String(e)`, plus the stack trace when asked and available (V8's stack starts with it).
  function describe(value, withStack) {
    if (withStack && value instanceof Error && typeof value.stack === "string") {
      return value.stack;
    }
    try {
      return String(value);
    } catch {
      return typeof value;
    }
  }

  // Like Node for the common cases: strings as they are, errors with their stack, objects
  // and arrays as JSON, everything else as `String(v)`; joined by spaces.
  function formatConsole(args) {
    return args.map((arg) => {
      if (typeof arg === "string") return arg;
      if (arg instanceof Error) return describe(arg, true);
      if (typeof arg === "object" && arg !== null) {
        try {
          const json = JSON.stringify(arg);
          if (json !== undefined) return json;
        } catch {
          // Cycles and bigints fall back to String(v).
        }
      }
      return describe(arg, false);
    }).join(" ");
  }

  const logTo = (isErr) => (...args) => op_shoal_log(formatConsole(args), isErr);
  globalThis.console = {
    log: logTo(false),
    info: logTo(false),
    debug: logTo(false),
    error: logTo(true),
    warn: logTo(true),
  };

  // Timers on deno_core's timer wheel, with numeric ids like Node's `+timeout`.
  const timers = new Map();
  let nextTimer = 0;
  const schedule = (repeat) => (callback, ms, ...args) => {
    const id = ++nextTimer;
    const fire = () => {
      if (!repeat) timers.delete(id);
      callback(...args);
    };
    timers.set(id, core.createTimer(fire, ms, undefined, repeat, true));
    return id;
  };
  const cancel = (id) => {
    const timer = timers.get(id);
    if (timer !== undefined) {
      timers.delete(id);
      core.cancelTimer(timer);
    }
  };
  globalThis.setTimeout = schedule(false);
  globalThis.setInterval = schedule(true);
  globalThis.clearTimeout = cancel;
  globalThis.clearInterval = cancel;

  // Node's name for the global object (webpack bundles set `global.main`).
  globalThis.global = globalThis;
  const env = {};
  globalThis.process = { env };
  // Bytes an op returns live in a backing store the isolate's ArrayBuffer budget never saw
  // (deno_core makes it from the op's Vec): the layer gets a copy made by the isolate's own
  // allocator, which counts it (and throws RangeError past the budget); the op's store is
  // garbage at once.
  // Captured now, as every intrinsic used after action code has run.
  const U8 = Uint8Array;
  const promiseThen = Promise.prototype.then;
  const reflectApply = Reflect.apply;
  const counted = (bytes) => new U8(bytes);
  const loader = installNode({
    arch: op_shoal_arch(),
    unavailable: op_shoal_unavailable(),
    builtin: (id) => op_shoal_builtin(id) ?? undefined,
    file: (path) => op_shoal_file(path) ?? undefined,
    has: (path) => op_shoal_has(path),
    evaluate: (source, name) => indirectEval(`${source}\n//# sourceURL=${String(name).replace(/[\r\n]/g, " ")}`),
    digest: (alg, bytes) => counted(op_shoal_digest(alg, bytes)),
    hmac: (alg, key, bytes) => counted(op_shoal_hmac(alg, key, bytes)),
    keyImport: (label, der) => op_shoal_key_import(label, der),
    sign: (alg, key, data) => counted(op_shoal_sign(alg, key, data)),
    verify: (alg, key, data, sig) => op_shoal_verify(alg, key, data, sig),
    cipher: (name, mode, key, iv, data, aad) => counted(op_shoal_cipher(name, mode, key, iv, data, aad)),
    pbkdf2: (digest, password, salt, iterations, length) => counted(op_shoal_pbkdf2(digest, password, salt, iterations, length)),
    hkdf: (digest, ikm, salt, info, length) => counted(op_shoal_hkdf(digest, ikm, salt, info, length)),
    scrypt: (password, salt, length, costs) => counted(op_shoal_scrypt(password, salt, costs[0], costs[1], costs[2], length, costs[3])),
    randomBytes: (n) => counted(op_shoal_random(n)),
    zlib: (op, format, bytes) => counted(op_shoal_zlib(op, format, bytes)),
    url: (input, base, part, value) => op_shoal_url(input, base, part, value),
    domain: (name, unicode) => op_shoal_domain(name, unicode),
    utf8Decode(bytes, fatal) {
      try {
        return op_shoal_utf8_decode(bytes, fatal);
      } catch {
        return null;
      }
    },
    base64: (bytes, url) => op_shoal_base64(bytes, url),
    now: () => op_shoal_now(),
    request: (descriptor, body) => reflectApply(promiseThen, op_shoal_request(descriptor, body ?? new U8(0)), [(res) => {
      res.body = counted(res.body);
      return res;
    }]),
    memory() {
      const m = op_memory_usage();
      return { rss: m.physicalTotal, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: 0 };
    },
  });

  let main;
  let owKeys = [];

  // The largest result, as `shoal_router::MAX_RESULT_BYTES`: a longer JSON text is refused
  // here, in the isolate, instead of being handed to the host to parse.
  const MAX_RESULT_BYTES = 1048576;

  // The descriptor of `kind` carrying the value of JSON text `json`, or, when the text is
  // over the limit (in UTF-16 units: bytes for ASCII, fewer than its bytes otherwise), its
  // length and first KiB, which the host quotes in OpenWhisk's "exceeded" error.
  function parsed(kind, json) {
    return json.length > MAX_RESULT_BYTES
      ? { kind: "too_large", length: json.length, head: json.slice(0, 1024) }
      : { kind, value: JSON.parse(json) };
  }

  // What the entry point produced, as the descriptor the Rust side classifies.
  function returned(value) {
    if (value === undefined) return { kind: "undefined" };
    if (typeof value !== "object" || value === null) return { kind: "scalar" };
    const json = JSON.stringify(value);
    return json === undefined ? { kind: "scalar" } : parsed("object", json);
  }

  function rejected(reason) {
    if (!reason) return { kind: "rejected", value: null };
    if (reason instanceof Error) {
      return {
        kind: "rejected",
        error: { name: String(reason.name), message: String(reason.message), stack: reason.stack },
      };
    }
    try {
      const json = JSON.stringify(reason);
      return json === undefined ? { kind: "rejected", value: null } : parsed("rejected", json);
    } catch {
      return { kind: "rejected", value: null };
    }
  }

  const shoal = {
    // Sets the `init: true` parameters (already rendered as strings) in `process.env`.
    init(initEnv) {
      Object.assign(env, initEnv);
      return "";
    },

    // Finds the entry point: a global named `name` (also `const`/`let` at top level), else
    // `module.exports[name]`, else `module.exports` when it is a function. "" when found.
    findMain(name) {
      let found = globalThis[name];
      const exported = globalThis.module?.exports;
      if (typeof found !== "function" && exported != null) {
        found = typeof exported[name] === "function" ? exported[name] : exported;
      }
      if (typeof found !== "function" && /^[\p{L}_$][\p{L}\p{N}_$]*$/u.test(name)) {
        try {
          found = (0, eval)(`typeof ${name} === "function" ? ${name} : undefined`);
        } catch {
          found = undefined;
        }
      }
      if (typeof found !== "function") return "missing";
      main = found;
      return "";
    },

    // Loads a zip action's entry module and finds the export `name`: "" when found. Throws
    // what loading threw.
    loadEntry(name) {
      const found = loader.loadEntry(name);
      if (typeof found !== "function") return "missing";
      main = found;
      return "";
    },

    // Compiles `source` without running it: "" or why it can never run.
    check(source, file) {
      try {
        new Function(`${source}\n//# sourceURL=${file}`);
        return "";
      } catch (e) {
        return `${describe(e, false)} (${file})`;
      }
    },

    // One activation: sets the `__OW_*` variables, calls the entry point and settles its
    // promise. Resolves with the JSON text of the descriptor.
    async run(params, owEnv) {
      for (const key of owKeys) {
        if (!(key in owEnv)) delete env[key];
      }
      Object.assign(env, owEnv);
      owKeys = Object.keys(owEnv);
      let result;
      try {
        result = main(params);
      } catch (e) {
        return JSON.stringify({ kind: "thrown", text: describe(e, false) });
      }
      let outcome;
      if (result instanceof Promise) {
        try {
          result = await result;
        } catch (reason) {
          return JSON.stringify(rejected(reason));
        }
      }
      try {
        outcome = returned(result);
      } catch (e) {
        outcome = { kind: "thrown", text: describe(e, false) };
      }
      return JSON.stringify(outcome);
    },
  };
  Object.defineProperty(globalThis, "__shoal", { value: Object.freeze(shoal) });
})(globalThis);

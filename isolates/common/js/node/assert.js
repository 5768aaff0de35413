// Node's `assert`: `assert`/`ok`, `equal`/`notEqual`, `strictEqual`/`notStrictEqual`,
// `deepEqual`/`deepStrictEqual` and their negations, `throws`/`doesNotThrow`,
// `rejects`/`doesNotReject`, `match`/`doesNotMatch`, `fail`, `ifError`, `AssertionError`
// and `assert.strict` (also module `assert/strict`).
// Left out: Node's line-by-line diffs in messages (both values are shown inspected instead),
// the source text of the failing `assert.ok(...)` call, `CallTracker`.
"use strict";

const { inspect } = require("util");
const { isDeepEqual } = require("internal/compare");

const show = (v) => inspect(v, { depth: 1000, compact: false, sorted: true, getters: true, breakLength: Infinity });

class AssertionError extends Error {
  constructor(options) {
    if (options === null || typeof options !== "object") {
      const e = new TypeError(`The "options" argument must be of type object. Received ${String(options)}`);
      e.code = "ERR_INVALID_ARG_TYPE";
      throw e;
    }
    const { message, actual, expected, operator, stackStartFn } = options;
    super(message !== undefined ? String(message) : defaultMessage(actual, expected, operator));
    this.generatedMessage = message === undefined;
    this.code = "ERR_ASSERTION";
    this.actual = actual;
    this.expected = expected;
    this.operator = operator;
    if (typeof Error.captureStackTrace === "function") Error.captureStackTrace(this, stackStartFn || this.constructor);
  }
  get name() {
    return "AssertionError";
  }
  toString() {
    return `${this.name} [${this.code}]: ${this.message}`;
  }
}

const HEADS = {
  deepStrictEqual: "Expected values to be strictly deep-equal:",
  strictEqual: "Expected values to be strictly equal:",
  strictEqualObject: 'Expected "actual" to be reference-equal to "expected":',
  deepEqual: "Expected values to be loosely deep-equal:",
  notDeepStrictEqual: 'Expected "actual" not to be strictly deep-equal to:',
  notStrictEqual: 'Expected "actual" to be strictly unequal to:',
  notStrictEqualObject: 'Expected "actual" not to be reference-equal to "expected":',
  notDeepEqual: 'Expected "actual" not to be loosely deep-equal to:',
  notIdentical: "Values identical but not reference-equal:",
};

function defaultMessage(actual, expected, operator) {
  const a = show(actual);
  const e = show(expected);
  switch (operator) {
    case "deepStrictEqual":
    case "strictEqual": {
      const objects = typeof actual === "object" && actual !== null && typeof expected === "object" && expected !== null;
      if (operator === "strictEqual" && !objects && !a.includes("\n") && !e.includes("\n")) {
        return `${HEADS.strictEqual}\n\n${a} !== ${e}\n`;
      }
      const head = operator === "strictEqual" && objects ? HEADS.strictEqualObject : HEADS[operator];
      if (a === e) return `${HEADS.notIdentical}\n\n${a}\n`;
      return `${head}\n+ actual - expected\n\n${prefixLines("+ ", a)}\n${prefixLines("- ", e)}`;
    }
    case "deepEqual":
      return `${HEADS.deepEqual}\n\n${a}\n\nshould loosely deep-equal\n\n${e}`;
    case "notDeepStrictEqual":
    case "notStrictEqual":
    case "notDeepEqual": {
      const objects = typeof actual === "object" && actual !== null;
      const head = operator === "notStrictEqual" && objects ? HEADS.notStrictEqualObject : HEADS[operator];
      if (operator === "notStrictEqual" && !a.includes("\n")) return `${head} ${a}`;
      return `${head}\n\n${a}\n`;
    }
    case "==":
    case "!=":
    case "fail":
    default:
      if (operator === undefined) return "Failed";
      return `${a} ${operator} ${e}`;
  }
}

const isError = (v) => v instanceof Error || Object.prototype.toString.call(v) === "[object Error]";
const prefixLines = (p, s) => s.split("\n").map((l) => p + l).join("\n");

function fail(obj) {
  if (isError(obj.message)) throw obj.message;
  throw new AssertionError(obj);
}

// An AssertionError whose message is the user's `message` or else `generated`.
function failure(message, generated, options) {
  if (isError(message)) throw message;
  const err = new AssertionError(Object.assign({}, options, { message: message || generated }));
  err.generatedMessage = !message;
  return err;
}

function ok(...args) {
  innerOk(ok, args.length, ...args);
}

function innerOk(fn, argLen, value, message) {
  if (value) return;
  let generated = false;
  if (argLen === 0) {
    generated = true;
    message = "No value argument passed to `assert.ok()`";
  } else if (message === undefined) {
    generated = true;
    message = "The expression evaluated to a falsy value:\n\n  assert" +
      (fn.name === "ok" ? ".ok" : "") + `(${show(value)})\n`;
  } else if (isError(message)) throw message;
  const err = new AssertionError({ actual: value, expected: true, message, operator: "==", stackStartFn: fn });
  err.generatedMessage = generated;
  throw err;
}

function assert(...args) {
  innerOk(assert, args.length, ...args);
}

function equal(actual, expected, message) {
  // eslint-disable-next-line eqeqeq
  if (actual == expected || (actual !== actual && expected !== expected)) return;
  fail({ actual, expected, message, operator: "==", stackStartFn: equal });
}
function notEqual(actual, expected, message) {
  // eslint-disable-next-line eqeqeq
  if (!(actual == expected || (actual !== actual && expected !== expected))) return;
  fail({ actual, expected, message, operator: "!=", stackStartFn: notEqual });
}
function strictEqual(actual, expected, message) {
  if (Object.is(actual, expected)) return;
  fail({ actual, expected, message, operator: "strictEqual", stackStartFn: strictEqual });
}
function notStrictEqual(actual, expected, message) {
  if (!Object.is(actual, expected)) return;
  fail({ actual, expected, message, operator: "notStrictEqual", stackStartFn: notStrictEqual });
}
function deepEqual(actual, expected, message) {
  if (isDeepEqual(actual, expected, false)) return;
  fail({ actual, expected, message, operator: "deepEqual", stackStartFn: deepEqual });
}
function notDeepEqual(actual, expected, message) {
  if (!isDeepEqual(actual, expected, false)) return;
  fail({ actual, expected, message, operator: "notDeepEqual", stackStartFn: notDeepEqual });
}
function deepStrictEqual(actual, expected, message) {
  if (isDeepEqual(actual, expected, true)) return;
  fail({ actual, expected, message, operator: "deepStrictEqual", stackStartFn: deepStrictEqual });
}
function notDeepStrictEqual(actual, expected, message) {
  if (!isDeepEqual(actual, expected, true)) return;
  fail({ actual, expected, message, operator: "notDeepStrictEqual", stackStartFn: notDeepStrictEqual });
}

function argType(name, type, value) {
  const e = new TypeError(`The "${name}" argument must be ${type}. Received ${value === null ? "null" : typeof value === "object" ? "an instance of " + (value.constructor?.name || "Object") : `type ${typeof value} (${show(value)})`}`);
  e.code = "ERR_INVALID_ARG_TYPE";
  return e;
}

const NO_EXCEPTION = Symbol("no exception");
const isRe = (v) => Object.prototype.toString.call(v) === "[object RegExp]";

function thrownBy(fn) {
  if (typeof fn !== "function") throw argType("fn", "of type function", fn);
  try {
    fn();
  } catch (e) {
    return e;
  }
  return NO_EXCEPTION;
}

async function rejectionOf(promiseFn) {
  let p;
  if (typeof promiseFn === "function") {
    p = promiseFn();
    if (!p || typeof p.then !== "function") {
      const e = new TypeError(`Expected instance of Promise to be returned from the "promiseFn" function but got ${p === undefined ? "undefined" : `type ${typeof p}`}.`);
      e.code = "ERR_INVALID_RETURN_VALUE";
      throw e;
    }
  } else if (promiseFn && typeof promiseFn.then === "function") p = promiseFn;
  else throw argType("promiseFn", "of type function or an instance of Promise", promiseFn);
  try {
    await p;
  } catch (e) {
    return e;
  }
  return NO_EXCEPTION;
}

// Whether `expected` is meant as an error class rather than a validation function.
function isClass(f) {
  if (f.prototype === undefined) return false;
  if (f === Error || Error.isPrototypeOf(f) || f.prototype instanceof Error) return true;
  const src = Function.prototype.toString.call(f);
  return /^class\b/.test(src) || (/\[native code\]\s*\}$/.test(src) && /^[A-Z]/.test(f.name));
}

// Checks a caught error against `expected` (RegExp, class, validation function, object or
// Error); throws when it does not match.
function checkError(actual, expected, message, fn) {
  if (expected === undefined) return;
  if (isRe(expected)) {
    const str = String(actual);
    if (RegExp.prototype.exec.call(expected, str) !== null) return;
    throw failure(message, `The input did not match the regular expression ${expected}. Input:\n\n${show(str)}\n`, { actual, expected, operator: fn.name, stackStartFn: fn });
  }
  if (typeof expected === "function") {
    if (expected.prototype !== undefined && actual instanceof expected) return;
    if (isClass(expected)) {
      if (isError(message)) throw message;
      const name = actual && actual.constructor && actual.constructor.name;
      throw failure(message, `The error is expected to be an instance of "${expected.name}". Received "${name || typeof actual}"` +
          (actual && actual.message !== undefined ? `\n\nError message:\n\n${actual.message}` : ""), { actual, expected, operator: fn.name, stackStartFn: fn });
    }
    const r = expected.call({}, actual);
    if (r === true) return;
    throw failure(message, `The ${expected.name ? `"${expected.name}" ` : ""}validation function is expected to return "true". Received ${show(r)}` +
        (actual && actual.message !== undefined ? `\n\nCaught error:\n\n${actual}` : ""), { actual, expected, operator: fn.name, stackStartFn: fn });
  }
  if (typeof expected === "object" && expected !== null) {
    const keys = Object.keys(expected);
    if (expected instanceof Error) keys.push("name", "message");
    else if (keys.length === 0) {
      const e = new TypeError("The argument 'error' may not be an empty object. Received {}");
      e.code = "ERR_INVALID_ARG_VALUE";
      throw e;
    }
    for (const k of keys) {
      const want = expected[k];
      const got = actual == null ? undefined : actual[k];
      const matches = typeof got === "string" && isRe(want) ? want.test(got)
        : isDeepEqual(got, want, true);
      if (!matches) {
        throw failure(message, `Expected values to be strictly deep-equal:\n+ actual - expected\n\n  Comparison {\n+   ${k}: ${show(got)}\n-   ${k}: ${show(want)}\n  }`, { actual, expected, operator: fn.name, stackStartFn: fn });
      }
    }
    return;
  }
  throw argType("expected", "of type function or an instance of Error, RegExp, or Object", expected);
}

function expectsError(fn, actual, expected, message) {
  if (typeof expected === "string") {
    if (message !== undefined) {
      throw argType("error", "of type function or an instance of Error, RegExp, or Object", expected);
    }
    message = expected;
    expected = undefined;
  }
  if (actual === NO_EXCEPTION) {
    let details = "";
    if (expected && expected.name) details += ` (${expected.name})`;
    details += message ? `: ${message}` : ".";
    const verb = fn.name === "rejects" ? "rejection" : "exception";
    const err = new AssertionError({ actual: undefined, expected, operator: fn.name, stackStartFn: fn,
      message: `Missing expected ${verb}${details}` });
    err.generatedMessage = !message;
    throw err;
  }
  checkError(actual, expected, message, fn);
}

function expectsNoError(fn, actual, expected, message) {
  if (actual === NO_EXCEPTION) return;
  if (typeof expected === "string") {
    message = expected;
    expected = undefined;
  }
  if (expected === undefined || (typeof expected === "function" && isClass(expected) && actual instanceof expected) ||
    (isRe(expected) && expected.test(String(actual)))) {
    const details = message ? `: ${message}` : ".";
    const verb = fn.name === "doesNotReject" ? "rejection" : "exception";
    const err = new AssertionError({ actual, expected, operator: fn.name, stackStartFn: fn,
      message: `Got unwanted ${verb}${details}\nActual message: "${actual && actual.message}"` });
    err.generatedMessage = !message;
    throw err;
  }
  throw actual;
}

function throws(fn, expected, message) {
  expectsError(throws, thrownBy(fn), expected, message);
}
function doesNotThrow(fn, expected, message) {
  expectsNoError(doesNotThrow, thrownBy(fn), expected, message);
}
async function rejects(promiseFn, expected, message) {
  expectsError(rejects, await rejectionOf(promiseFn), expected, message);
}
async function doesNotReject(promiseFn, expected, message) {
  expectsNoError(doesNotReject, await rejectionOf(promiseFn), expected, message);
}

function matching(fn, string, regexp, message, negate) {
  if (!isRe(regexp)) throw argType("regexp", "an instance of RegExp", regexp);
  if (typeof string === "string" && regexp.test(string) !== negate) return;
  const text = typeof string !== "string"
    ? `The "string" argument must be of type string. Received type ${typeof string} (${show(string)})`
    : `The input ${negate ? "was expected to not match" : "did not match"} the regular expression ${regexp}. Input:\n\n${show(string)}\n`;
  throw failure(message, text, { actual: string, expected: regexp, operator: fn.name, stackStartFn: fn });
}
function match(string, regexp, message) {
  matching(match, string, regexp, message, false);
}
function doesNotMatch(string, regexp, message) {
  matching(doesNotMatch, string, regexp, message, true);
}

function failFn(actual, expected, message, operator, stackStartFn) {
  if (arguments.length === 0) message = "Failed";
  else if (arguments.length === 1) {
    message = actual;
    actual = undefined;
  } else if (arguments.length === 2) operator = "!=";
  if (isError(message)) throw message;
  const err = new AssertionError({ actual, expected, operator: operator === undefined ? "fail" : operator,
    stackStartFn: stackStartFn || failFn, message });
  err.generatedMessage = arguments.length === 0 || (arguments.length >= 2 && message === undefined);
  throw err;
}
Object.defineProperty(failFn, "name", { value: "fail" });

function ifError(err) {
  if (err === null || err === undefined) return;
  let message = "ifError got unwanted exception: ";
  if (typeof err === "object" && typeof err.message === "string") {
    message += err.message.length === 0 && err.constructor ? err.constructor.name : err.message;
  } else message += show(err);
  const e = new AssertionError({ actual: err, expected: null, operator: "ifError", message, stackStartFn: ifError });
  e.origStack = err && err.stack;
  throw e;
}

const shared = {
  ok, fail: failFn, throws, doesNotThrow, rejects, doesNotReject, match, doesNotMatch, ifError,
  strictEqual, notStrictEqual, deepStrictEqual, notDeepStrictEqual, AssertionError,
};

Object.assign(assert, shared, { equal, notEqual, deepEqual, notDeepEqual });

function strict(...args) {
  innerOk(strict, args.length, ...args);
}
Object.assign(strict, shared, {
  equal: strictEqual, notEqual: notStrictEqual, deepEqual: deepStrictEqual, notDeepEqual: notDeepStrictEqual,
});
assert.strict = strict;
strict.strict = strict;

module.exports = assert;

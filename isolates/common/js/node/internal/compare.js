// Deep equality for `assert.deepEqual`/`deepStrictEqual` and `util.isDeepStrictEqual`:
// primitives (Object.is when strict, == when loose, NaN equal to NaN), arrays, plain objects
// and class instances (prototypes compared when strict), Dates, RegExps, Errors (name and
// message too), boxed primitives, typed arrays, ArrayBuffers, Maps and Sets (keys compared
// deeply when they are objects), cycles. Left out: WeakMap/WeakSet/Promise contents (compared
// as plain objects).
"use strict";

const tagOf = (v) => Object.prototype.toString.call(v);
const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const isObj = (v) => v !== null && (typeof v === "object" || typeof v === "function");

function primitiveEqual(a, b, strict) {
  if (strict) return Object.is(a, b);
  // eslint-disable-next-line eqeqeq
  return a == b || (a !== a && b !== b);
}

function keysOf(o, strict) {
  const keys = Object.keys(o);
  if (strict) {
    for (const s of Object.getOwnPropertySymbols(o)) {
      if (Object.prototype.propertyIsEnumerable.call(o, s)) keys.push(s);
    }
  }
  return keys;
}

function isDeepEqual(a, b, strict, memo) {
  if (a === b) return a !== 0 || !strict || Object.is(a, b);
  if (!isObj(a) || !isObj(b)) {
    if (isObj(a) || isObj(b)) return false;
    return primitiveEqual(a, b, strict);
  }
  if (strict && Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const tag = tagOf(a);
  if (tag !== tagOf(b)) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;

  if (tag === "[object Date]") {
    if (Date.prototype.getTime.call(a) !== Date.prototype.getTime.call(b)) return false;
  } else if (tag === "[object RegExp]") {
    if (String(a.source) !== String(b.source) || String(a.flags) !== String(b.flags)) return false;
    if (strict && a.lastIndex !== b.lastIndex) return false;
  } else if (tag === "[object Error]" || a instanceof Error) {
    if (a.message !== b.message || a.name !== b.name) return false;
  } else if (ArrayBuffer.isView(a)) {
    if (!ArrayBuffer.isView(b) || a.byteLength !== b.byteLength) return false;
    if (typeof a.length === "number" && a.length !== b.length) return false;
    if (!strict && (tag === "[object Float32Array]" || tag === "[object Float64Array]")) {
      // eslint-disable-next-line eqeqeq
      for (let i = 0; i < a.length; i++) if (a[i] != b[i]) return false;
    } else if (strict && (tag === "[object Float32Array]" || tag === "[object Float64Array]")) {
      for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
    } else {
      const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
      const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    }
    // Only extra (non-index) keys remain to compare.
    return compareKeys(a, b, strict, memo, (k) => !/^\d+$/.test(k));
  } else if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") {
    if (a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a), y = new Uint8Array(b);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  } else if (tag === "[object Number]" || tag === "[object String]" || tag === "[object Boolean]" ||
    tag === "[object BigInt]" || tag === "[object Symbol]") {
    if (!Object.is(a.valueOf(), b.valueOf())) return false;
  } else if (typeof a === "function") {
    return false;
  }

  // Cycles: a pair already being compared counts as equal.
  if (!memo) memo = new Map();
  let seen = memo.get(a);
  if (seen && seen.has(b)) return true;
  if (!seen) memo.set(a, (seen = new Set()));
  seen.add(b);
  try {
    if (Array.isArray(a) && a.length !== b.length) return false;
    if (tag === "[object Map]") {
      if (a.size !== b.size || !mapsEqual(a, b, strict, memo)) return false;
    } else if (tag === "[object Set]") {
      if (a.size !== b.size || !setsEqual(a, b, strict, memo)) return false;
    }
    return compareKeys(a, b, strict, memo);
  } finally {
    seen.delete(b);
  }
}

function compareKeys(a, b, strict, memo, filter) {
  let ka = keysOf(a, strict);
  let kb = keysOf(b, strict);
  if (filter) {
    ka = ka.filter(filter);
    kb = kb.filter(filter);
  }
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!Object.prototype.propertyIsEnumerable.call(b, k)) return false;
  }
  if (Array.isArray(a)) {
    // Holes only equal holes in strict mode.
    if (strict) {
      for (let i = 0; i < a.length; i++) if (hasOwn(a, i) !== hasOwn(b, i)) return false;
    }
  }
  for (const k of ka) {
    if (!isDeepEqual(a[k], b[k], strict, memo)) return false;
  }
  return true;
}

function findDeep(candidates, value, strict, memo) {
  for (const c of candidates) {
    if (isDeepEqual(value, c, strict, memo)) {
      candidates.delete(c);
      return true;
    }
  }
  return false;
}

function setsEqual(a, b, strict, memo) {
  let pending = null;
  for (const v of a) {
    if (isObj(v) || !strict) {
      if (!b.has(v)) (pending ||= []).push(v);
    } else if (!b.has(v)) return false;
  }
  if (!pending) return true;
  const rest = new Set();
  for (const v of b) if (!a.has(v)) rest.add(v);
  return pending.every((v) => findDeep(rest, v, strict, memo));
}

function mapsEqual(a, b, strict, memo) {
  let pending = null;
  for (const [k, v] of a) {
    if (b.has(k)) {
      if (!isDeepEqual(v, b.get(k), strict, memo)) return false;
    } else if (isObj(k) || !strict) (pending ||= []).push([k, v]);
    else return false;
  }
  if (!pending) return true;
  const rest = new Map();
  for (const [k, v] of b) if (!a.has(k)) rest.set(k, v);
  for (const [k, v] of pending) {
    let found = false;
    for (const [k2, v2] of rest) {
      if (isDeepEqual(k, k2, strict, memo) && isDeepEqual(v, v2, strict, memo)) {
        rest.delete(k2);
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

module.exports = { isDeepEqual: (a, b, strict) => isDeepEqual(a, b, strict, undefined) };

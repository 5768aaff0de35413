// Node's `util`: `format`/`formatWithOptions`, `inspect` (Node-style output for primitives,
// arrays, objects, class instances, Maps, Sets, typed arrays, ArrayBuffers, Dates, RegExps,
// Errors, functions, boxed primitives, circular references; options depth, showHidden,
// breakLength, compact, maxArrayLength, maxStringLength, sorted, getters, customInspect),
// `inherits`, `promisify`, `callbackify`, `deprecate`, `isDeepStrictEqual`, `types`, the
// legacy `is*` predicates, `debuglog`, `toUSVString`, `stripVTControlCharacters`,
// `TextEncoder`/`TextDecoder`. Left out: colors (accepted, never used), Proxy detection and
// Promise state (shown as `<unknown>`: no engine hook), `parseArgs`, `MIMEType`, `styleText`,
// `getSystemErrorName`; long arrays are grouped in columns like Node but not always with
// exactly Node's column count.
"use strict";

const { TextEncoder, TextDecoder } = require("internal/encoding");
const { isDeepEqual } = require("internal/compare");

const hasOwn = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
const tagOf = (v) => Object.prototype.toString.call(v).slice(8, -1);

// --- types ---

const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag).get;
const brand = (fn) => (v) => {
  if (v === null || typeof v !== "object") return false;
  try {
    fn(v);
    return true;
  } catch {
    return false;
  }
};
const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
const abByteLength = getter(ArrayBuffer.prototype, "byteLength");
const sabByteLength = typeof SharedArrayBuffer === "function" ? getter(SharedArrayBuffer.prototype, "byteLength") : null;

const isArrayBuffer = brand((v) => abByteLength.call(v));
const isSharedArrayBuffer = sabByteLength ? brand((v) => sabByteLength.call(v)) : () => false;
const isTypedArray = (v) => typedArrayTag.call(v) !== undefined;
const typedIs = (name) => (v) => typedArrayTag.call(v) === name;
const isDate = brand((v) => Date.prototype.getTime.call(v));
const isMap = brand((v) => Map.prototype.has.call(v));
const isSet = brand((v) => Set.prototype.has.call(v));
const isWeakMap = brand((v) => WeakMap.prototype.has.call(v));
const isWeakSet = brand((v) => WeakSet.prototype.has.call(v));
const isRegExp = (v) => v !== null && typeof v === "object" && tagOf(v) === "RegExp" &&
  brand((x) => getter(RegExp.prototype, "flags").call(x) && RegExp.prototype.exec.length)(v);
const boxed = (proto) => brand((v) => proto.valueOf.call(v));
const isNumberObject = boxed(Number.prototype);
const isStringObject = boxed(String.prototype);
const isBooleanObject = boxed(Boolean.prototype);
const isBigIntObject = typeof BigInt === "function" ? boxed(BigInt.prototype) : () => false;
const isSymbolObject = boxed(Symbol.prototype);
const fnTag = (...tags) => (v) => typeof v === "function" && tags.includes(tagOf(v));

const types = {
  isAnyArrayBuffer: (v) => isArrayBuffer(v) || isSharedArrayBuffer(v),
  isArrayBuffer,
  isSharedArrayBuffer,
  isArrayBufferView: (v) => ArrayBuffer.isView(v),
  isTypedArray,
  isUint8Array: typedIs("Uint8Array"),
  isUint8ClampedArray: typedIs("Uint8ClampedArray"),
  isUint16Array: typedIs("Uint16Array"),
  isUint32Array: typedIs("Uint32Array"),
  isInt8Array: typedIs("Int8Array"),
  isInt16Array: typedIs("Int16Array"),
  isInt32Array: typedIs("Int32Array"),
  isFloat32Array: typedIs("Float32Array"),
  isFloat64Array: typedIs("Float64Array"),
  isBigInt64Array: typedIs("BigInt64Array"),
  isBigUint64Array: typedIs("BigUint64Array"),
  isDataView: (v) => ArrayBuffer.isView(v) && !isTypedArray(v),
  isDate,
  isMap,
  isSet,
  isWeakMap,
  isWeakSet,
  isMapIterator: (v) => v !== null && typeof v === "object" && tagOf(v) === "Map Iterator",
  isSetIterator: (v) => v !== null && typeof v === "object" && tagOf(v) === "Set Iterator",
  isRegExp,
  isPromise: (v) => v !== null && typeof v === "object" && tagOf(v) === "Promise",
  isNativeError: (v) => v !== null && typeof v === "object" && tagOf(v) === "Error",
  isAsyncFunction: fnTag("AsyncFunction", "AsyncGeneratorFunction"),
  isGeneratorFunction: fnTag("GeneratorFunction", "AsyncGeneratorFunction"),
  isGeneratorObject: (v) => v !== null && typeof v === "object" && ["Generator", "AsyncGenerator"].includes(tagOf(v)),
  isNumberObject,
  isStringObject,
  isBooleanObject,
  isBigIntObject,
  isSymbolObject,
  isBoxedPrimitive: (v) => isNumberObject(v) || isStringObject(v) || isBooleanObject(v) ||
    isBigIntObject(v) || isSymbolObject(v),
  isArgumentsObject: (v) => v !== null && typeof v === "object" && tagOf(v) === "Arguments",
  isModuleNamespaceObject: (v) => v !== null && typeof v === "object" && tagOf(v) === "Module" &&
    Object.getPrototypeOf(v) === null,
  isWeakRef: (v) => typeof WeakRef === "function" && v instanceof WeakRef,
  isProxy: () => false,
  isExternal: () => false,
  isKeyObject: (v) => v !== null && typeof v === "object" && v instanceof require("internal/crypto/keys").KeyObject,
  isCryptoKey: () => false,
};

// --- inspect ---

const customInspect = Symbol.for("nodejs.util.inspect.custom");

const defaultOptions = {
  showHidden: false,
  depth: 2,
  colors: false,
  customInspect: true,
  showProxy: false,
  maxArrayLength: 100,
  maxStringLength: 10000,
  breakLength: 80,
  compact: 3,
  sorted: false,
  getters: false,
  numericSeparator: false,
};

const ESCAPES = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r", 92: "\\\\" };

function quote(str, ctx) {
  let q = "'";
  if (str.includes("'")) {
    if (!str.includes('"')) q = '"';
    else if (!str.includes("`") && !str.includes("${")) q = "`";
  }
  let trailer = "";
  if (ctx && str.length > ctx.maxStringLength) {
    const rest = str.length - ctx.maxStringLength;
    str = str.slice(0, ctx.maxStringLength);
    trailer = `... ${rest} more character${rest > 1 ? "s" : ""}`;
  }
  let out = "";
  let last = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    let rep;
    if (c === q.charCodeAt(0)) rep = "\\" + q;
    else if (c < 0x20 || c === 0x7f) rep = ESCAPES[c] || "\\x" + c.toString(16).toUpperCase().padStart(2, "0");
    else if (c === 92) rep = "\\\\";
    else if (c >= 0xd800 && c <= 0xdfff) {
      const d = str.charCodeAt(i + 1);
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        i++;
        continue;
      }
      rep = "\\u" + c.toString(16);
    } else continue;
    out += str.slice(last, i) + rep;
    last = i + 1;
  }
  return q + out + str.slice(last) + q + trailer;
}

function formatNumber(n, sep) {
  if (Object.is(n, -0)) return "-0";
  const s = String(n);
  if (!sep || !Number.isFinite(n)) return s;
  const [int, frac] = s.split(".");
  const group = (x) => x.replace(/\B(?=(\d{3})+$)/g, "_");
  return group(int) + (frac ? "." + frac.replace(/(\d{3})(?=\d)/g, "$1_") : "");
}

function formatPrimitive(v, ctx) {
  switch (typeof v) {
    case "string": return quote(v, ctx);
    case "number": return formatNumber(v, ctx.numericSeparator);
    case "bigint": return `${ctx.numericSeparator ? String(v).replace(/\B(?=(\d{3})+$)/g, "_") : v}n`;
    case "symbol": return v.toString();
    default: return String(v);
  }
}

function constructorName(obj) {
  let o = obj;
  while (o !== null && o !== undefined) {
    const d = Object.getOwnPropertyDescriptor(o, "constructor");
    if (d && typeof d.value === "function" && d.value.name !== "") return d.value.name;
    o = Object.getPrototypeOf(o);
  }
  return null;
}

function functionBase(fn, ctor) {
  let src = "";
  try {
    src = Function.prototype.toString.call(fn);
  } catch {}
  const name = typeof fn.name === "string" ? fn.name : "";
  if (/^class\b/.test(src)) {
    let s = `[class ${name || "(anonymous)"}`;
    const sup = Object.getPrototypeOf(fn);
    if (sup && sup !== Function.prototype && sup.name) s += ` extends ${sup.name}`;
    return s + "]";
  }
  let type = tagOf(fn);
  if (!["AsyncFunction", "GeneratorFunction", "AsyncGeneratorFunction"].includes(type)) type = "Function";
  if (ctor === null) type += " (null prototype)";
  return name ? `[${type}: ${name}]` : `[${type} (anonymous)]`;
}

function errorBase(err, ctx) {
  let head;
  try {
    head = Error.prototype.toString.call(err);
  } catch {
    head = "Error";
  }
  let stack = typeof err.stack === "string" ? err.stack.replace(/\n+$/, "") : "";
  if (!stack) return `[${head}]`;
  if (/^\s+at /.test(stack)) stack = head + "\n" + stack;
  if (!/\n\s+at /.test(stack) && !stack.includes("@")) return `[${stack}]`;
  if (ctx.indentationLvl) stack = stack.replace(/\n/g, "\n" + " ".repeat(ctx.indentationLvl));
  return stack;
}

const IDENT = /^[a-zA-Z_][a-zA-Z_0-9]*$/;

function formatKey(key, enumerable) {
  let name;
  if (typeof key === "symbol") name = `[${key.toString()}]`;
  else if (IDENT.test(key)) name = key;
  else name = quote(key);
  return enumerable ? name : `[${name}]`;
}

function formatProperty(ctx, obj, key, depth, asEntry) {
  const desc = Object.getOwnPropertyDescriptor(obj, key) || { value: obj[key], enumerable: true };
  let str;
  if ("value" in desc) {
    ctx.indentationLvl += 2;
    str = formatValue(ctx, desc.value, depth + 1);
    ctx.indentationLvl -= 2;
  } else if (desc.get) {
    if (ctx.getters) {
      try {
        const v = desc.get.call(obj);
        ctx.indentationLvl += 2;
        str = `[Getter${desc.set ? "/Setter" : ""}: ${formatValue(ctx, v, depth + 1)}]`;
        ctx.indentationLvl -= 2;
      } catch (e) {
        str = `[Getter: <Inspection threw (${e && e.message})>]`;
      }
    } else str = desc.set ? "[Getter/Setter]" : "[Getter]";
  } else str = desc.set ? "[Setter]" : "undefined";
  if (asEntry) return str;
  return `${formatKey(key, desc.enumerable)}: ${str}`;
}

function ownKeys(obj, ctx) {
  let keys = ctx.showHidden ? Object.getOwnPropertyNames(obj) : Object.keys(obj);
  const syms = Object.getOwnPropertySymbols(obj);
  if (ctx.showHidden) keys = keys.concat(syms);
  else keys = keys.concat(syms.filter((s) => Object.prototype.propertyIsEnumerable.call(obj, s)));
  return keys;
}

const isIndex = (k) => typeof k === "string" && /^(0|[1-9][0-9]*)$/.test(k) && +k < 4294967295;

function formatValue(ctx, value, depth) {
  if (value === null) return "null";
  if (typeof value !== "object" && typeof value !== "function") return formatPrimitive(value, ctx);
  if (ctx.customInspect) {
    let fn;
    try {
      fn = value[customInspect];
    } catch {}
    if (typeof fn === "function" && fn !== inspect) {
      const opts = Object.assign({}, ctx.options, {
        depth: ctx.depth === null ? null : ctx.depth - depth,
        stylize: (s) => s,
        seen: ctx.seen.slice(),
      });
      const r = fn.call(value, opts.depth, opts, inspect);
      if (r !== value) {
        if (typeof r !== "string") return formatValue(ctx, r, depth);
        return r.replace(/\n/g, "\n" + " ".repeat(ctx.indentationLvl));
      }
    }
  }
  if (ctx.seen.includes(value)) {
    let n = ctx.circular.get(value);
    if (n === undefined) {
      n = ctx.circular.size + 1;
      ctx.circular.set(value, n);
    }
    return `[Circular *${n}]`;
  }
  return formatRaw(ctx, value, depth);
}

function formatRaw(ctx, value, depth) {
  const ctor = constructorName(value);
  let tag = value[Symbol.toStringTag];
  if (typeof tag !== "string" || tag === ctor ||
    (ctx.showHidden ? hasOwn(value, Symbol.toStringTag) : Object.prototype.propertyIsEnumerable.call(value, Symbol.toStringTag))) tag = "";
  let keys = ownKeys(value, ctx);
  let base = "";
  let braces;
  let entries = null; // formatted entries before the keys
  let kind = "object";
  const prefix = (fallback, size = "") => {
    if (ctor === null) return `[${fallback}${size}: null prototype]${tag ? ` [${tag}]` : ""} `;
    return `${ctor}${size}${tag ? ` [${tag}]` : ""} `;
  };
  const tooDeep = ctx.depth !== null && depth > ctx.depth;
  const deepName = () => `[${ctor === null ? (Array.isArray(value) ? "Array" : "Object") + ": null prototype" : ctor || tag || "Object"}]`;
  const later = [];

  if (Array.isArray(value)) {
    keys = keys.filter((k) => !isIndex(k) && (k !== "length" || ctx.showHidden));
    braces = [`${ctor === "Array" && !tag ? "" : prefix("Array", `(${value.length})`)}[`, "]"];
    if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
    if (tooDeep) return "[Array]";
    kind = "array";
    later.push(() => formatArrayEntries(ctx, value, depth));
  } else if (isTypedArray(value)) {
    const name = typedArrayTag.call(value);
    keys = keys.filter((k) => !isIndex(k));
    braces = [`${ctor === name && !tag ? name : prefix(name)}(${value.length}) [`, "]"];
    if (ctor !== name || tag) braces[0] = `${prefix(name, `(${value.length})`)}[`;
    if (value.length === 0 && keys.length === 0) return `${braces[0]}]`;
    if (tooDeep) return `[${name}]`;
    kind = "array";
    later.push(() => {
      const n = Math.min(value.length, ctx.maxArrayLength);
      const out = [];
      for (let i = 0; i < n; i++) out.push(formatPrimitive(value[i], ctx));
      if (value.length > n) out.push(`... ${value.length - n} more item${value.length - n > 1 ? "s" : ""}`);
      return out;
    });
  } else if (isMap(value)) {
    braces = [`${prefix("Map", `(${value.size})`)}{`, "}"];
    if (value.size === 0 && keys.length === 0) return `${braces[0]}}`;
    if (tooDeep) return deepName();
    later.push(() => {
      const out = [];
      let i = 0;
      for (const [k, v] of value) {
        if (i++ >= ctx.maxArrayLength) break;
        ctx.indentationLvl += 2;
        out.push(`${formatValue(ctx, k, depth + 1)} => ${formatValue(ctx, v, depth + 1)}`);
        ctx.indentationLvl -= 2;
      }
      if (value.size > ctx.maxArrayLength) {
        const rest = value.size - ctx.maxArrayLength;
        out.push(`... ${rest} more item${rest > 1 ? "s" : ""}`);
      }
      return out;
    });
  } else if (isSet(value)) {
    braces = [`${prefix("Set", `(${value.size})`)}{`, "}"];
    if (value.size === 0 && keys.length === 0) return `${braces[0]}}`;
    if (tooDeep) return deepName();
    kind = "set";
    later.push(() => {
      const out = [];
      let i = 0;
      for (const v of value) {
        if (i++ >= ctx.maxArrayLength) break;
        ctx.indentationLvl += 2;
        out.push(formatValue(ctx, v, depth + 1));
        ctx.indentationLvl -= 2;
      }
      if (value.size > ctx.maxArrayLength) {
        const rest = value.size - ctx.maxArrayLength;
        out.push(`... ${rest} more item${rest > 1 ? "s" : ""}`);
      }
      return out;
    });
  } else {
    braces = ["{", "}"];
    let noKeysResult;
    if (typeof value === "function") {
      base = functionBase(value, ctor);
      keys = keys.filter((k) => !(ctx.showHidden && ["length", "name", "prototype", "arguments", "caller"].includes(k)));
      noKeysResult = base;
    } else if (isRegExp(value)) {
      base = RegExp.prototype.toString.call(value);
      if (ctor !== "RegExp") base = `${prefix("RegExp")}${base}`;
      noKeysResult = base;
      if (ctx.showHidden) keys = keys.filter((k) => k !== "lastIndex");
    } else if (isDate(value)) {
      const t = Date.prototype.getTime.call(value);
      base = Number.isNaN(t) ? "Invalid Date" : Date.prototype.toISOString.call(value);
      if (ctor !== "Date") base = `${prefix("Date")}${base}`;
      noKeysResult = base;
    } else if (types.isNativeError(value) || value instanceof Error) {
      base = errorBase(value, ctx);
      keys = keys.filter((k) => k !== "stack" && !(k === "message" && !Object.getOwnPropertyDescriptor(value, k).enumerable));
      if (hasOwn(value, "cause") && !keys.includes("cause")) keys.push("cause");
      noKeysResult = base;
    } else if (types.isBoxedPrimitive(value)) {
      let type, prim;
      if (isNumberObject(value)) [type, prim] = ["Number", Number.prototype.valueOf.call(value)];
      else if (isStringObject(value)) {
        [type, prim] = ["String", String.prototype.valueOf.call(value)];
        keys = keys.filter((k) => !isIndex(k) && k !== "length");
      } else if (isBooleanObject(value)) [type, prim] = ["Boolean", Boolean.prototype.valueOf.call(value)];
      else if (isBigIntObject(value)) [type, prim] = ["BigInt", BigInt.prototype.valueOf.call(value)];
      else [type, prim] = ["Symbol", Symbol.prototype.valueOf.call(value)];
      base = `[${type}${ctor !== type ? ` (${ctor === null ? "null prototype" : ctor})` : ""}: ${formatPrimitive(prim, ctx)}]`;
      noKeysResult = base;
    } else if (types.isAnyArrayBuffer(value)) {
      const name = isArrayBuffer(value) ? "ArrayBuffer" : "SharedArrayBuffer";
      braces[0] = `${prefix(name)}{`;
      if (tooDeep) return `[${name}]`;
      later.push(() => {
        const bytes = new Uint8Array(value);
        const n = Math.min(bytes.length, ctx.maxArrayLength);
        let hex = "";
        for (let i = 0; i < n; i++) hex += (i ? " " : "") + bytes[i].toString(16).padStart(2, "0");
        if (bytes.length > n) hex += ` ... ${bytes.length - n} more byte${bytes.length - n > 1 ? "s" : ""}`;
        return [`[Uint8Contents]: <${hex}>`, `byteLength: ${formatNumber(bytes.length)}`];
      });
    } else if (types.isDataView(value)) {
      braces[0] = `${prefix("DataView")}{`;
      if (tooDeep) return "[DataView]";
      later.push(() => {
        ctx.indentationLvl += 2;
        const buf = formatValue(ctx, value.buffer, depth + 1);
        ctx.indentationLvl -= 2;
        return [`byteLength: ${value.byteLength}`, `byteOffset: ${value.byteOffset}`, `buffer: ${buf}`];
      });
    } else if (types.isPromise(value)) {
      braces[0] = `${prefix("Promise")}{`;
      later.push(() => ["<unknown>"]);
    } else if (isWeakMap(value) || isWeakSet(value)) {
      braces[0] = `${prefix(isWeakMap(value) ? "WeakMap" : "WeakSet")}{`;
      later.push(() => ["<items unknown>"]);
    } else if (types.isArgumentsObject(value)) {
      keys = keys.filter((k) => !isIndex(k));
      braces = ["[Arguments] [", "]"];
      kind = "array";
      if (value.length === 0 && keys.length === 0) return "[Arguments] []";
      later.push(() => formatArrayEntries(ctx, value, depth));
    } else {
      if (ctor === "Object" && !tag) {
        if (types.isMapIterator(value) || types.isSetIterator(value)) braces[0] = `[${tag}] {`;
      } else braces[0] = `${prefix("Object")}{`;
      if (keys.length === 0) return `${braces[0]}}`;
      if (tooDeep) return deepName();
    }
    if (noKeysResult !== undefined && keys.length === 0) return noKeysResult;
    if (tooDeep && noKeysResult !== undefined) return noKeysResult.split("\n")[0];
  }

  ctx.seen.push(value);
  const height = ctx.height;
  ctx.height = 0;
  let output;
  try {
    output = [];
    for (const f of later) output.push(...f());
    if (ctx.sorted && kind !== "array") {
      output.sort(typeof ctx.sorted === "function" ? ctx.sorted : undefined);
    }
    const props = keys.map((k) => formatProperty(ctx, value, k, depth, false));
    if (ctx.sorted) props.sort(typeof ctx.sorted === "function" ? ctx.sorted : undefined);
    output.push(...props);
  } finally {
    ctx.seen.pop();
  }
  const myHeight = ctx.height + 1;
  ctx.height = Math.max(height, myHeight);
  const ref = ctx.circular.get(value);
  if (ref !== undefined) {
    const r = `<ref *${ref}>`;
    if (base) base = `${r} ${base}`;
    else braces[0] = `${r} ${braces[0]}`;
  }
  return layout(ctx, output, base, braces, kind, myHeight, value);
}

function formatArrayEntries(ctx, arr, depth) {
  const out = [];
  const len = arr.length;
  const max = Math.min(len, ctx.maxArrayLength);
  let i = 0;
  let shown = 0;
  for (; i < len && shown < max; shown++) {
    if (!hasOwn(arr, i)) {
      let j = i;
      while (j < len && !hasOwn(arr, j)) j++;
      const n = j - i;
      out.push(`<${n} empty item${n > 1 ? "s" : ""}>`);
      i = j;
      continue;
    }
    out.push(formatProperty(ctx, arr, String(i), depth, true));
    i++;
  }
  if (i < len) {
    const rest = len - i;
    out.push(`... ${rest} more item${rest > 1 ? "s" : ""}`);
  }
  return out;
}

// Lays entries out on one line when they fit and the value holds at most `compact` levels of
// nesting, else one per line (short array items in aligned columns).
function layout(ctx, output, base, braces, kind, height, value) {
  if (ctx.compact !== true) {
    const compact = typeof ctx.compact === "number" ? ctx.compact : 0;
    let entries = output.length;
    if (kind === "array" && output.length > 6) output = columns(ctx, output, value);
    if (height <= compact && entries === output.length) {
      const total = output.reduce((n, s) => n + s.length, 0) + output.length * 2 +
        ctx.indentationLvl + braces[0].length + base.length + 10;
      if (total <= ctx.breakLength && !output.some((s) => s.includes("\n")) && !base.includes("\n")) {
        return `${base ? base + " " : ""}${braces[0]} ${output.join(", ")} ${braces[1]}`;
      }
    }
    const ind = "\n" + " ".repeat(ctx.indentationLvl);
    return `${base ? base + " " : ""}${braces[0]}${ind}  ${output.join(`,${ind}  `)}${ind}${braces[1]}`;
  }
  // compact: true puts the first entry beside the opening brace and the last before the closing one.
  const start = output.length + ctx.indentationLvl + braces[0].length + base.length + 10;
  const total = output.reduce((n, s) => n + s.length, start) + output.length;
  const pre = base ? base + " " : "";
  if (total <= ctx.breakLength && !base.includes("\n") && !output.some((s) => s.includes("\n"))) {
    return `${pre}${braces[0]} ${output.join(", ")} ${braces[1]}`;
  }
  const ind = "\n" + " ".repeat(ctx.indentationLvl + 2);
  return `${pre}${braces[0]} ${output.join(`,${ind}`)} ${braces[1]}`;
}

// Groups many short array items into rows of aligned columns.
function columns(ctx, output, value) {
  let n = output.length;
  if (/^\.\.\. \d+ more item/.test(output[n - 1])) n--;
  let widest = 0;
  for (let i = 0; i < n; i++) {
    if (output[i].includes("\n")) return output;
    widest = Math.max(widest, output[i].length);
  }
  const cell = widest + 2;
  if (cell * 3 + ctx.indentationLvl >= ctx.breakLength) return output;
  // A roughly square block on screen, a line being about 2.5 characters high: c columns of
  // w characters each against n / c lines gives c = sqrt(2.5 * n / w).
  const w = Math.max(widest - 1, 1);
  const cols = Math.min(Math.round(Math.sqrt(2.5 * n / w)), Math.floor((ctx.breakLength - ctx.indentationLvl) / cell),
    ctx.compact * 4, 15);
  if (cols <= 1) return output;
  const widths = [];
  for (let c = 0; c < cols; c++) {
    let w = 0;
    for (let i = c; i < n; i += cols) w = Math.max(w, output[i].length);
    widths.push(w + 2);
  }
  let numeric = value !== undefined;
  if (numeric) {
    for (let i = 0; i < n; i++) {
      if (typeof value[i] !== "number" && typeof value[i] !== "bigint") {
        numeric = false;
        break;
      }
    }
  }
  const rows = [];
  for (let i = 0; i < n; i += cols) {
    const end = Math.min(i + cols, n);
    let row = "";
    for (let j = i; j < end; j++) {
      const last = j === end - 1;
      const cellText = last ? output[j] : output[j] + ", ";
      const w = last ? widths[j - i] - 2 : widths[j - i];
      row += numeric ? cellText.padStart(w) : last ? cellText : cellText.padEnd(w);
    }
    rows.push(row);
  }
  if (n < output.length) rows.push(output[n]);
  return rows;
}

function inspect(value, opts) {
  const ctx = Object.assign({}, inspect.defaultOptions);
  if (arguments.length > 1 && (typeof opts !== "object" || opts === null)) {
    // Legacy signature: inspect(value, showHidden, depth, colors).
    if (opts !== undefined) ctx.showHidden = Boolean(opts);
    if (arguments.length > 2 && arguments[2] !== undefined) ctx.depth = arguments[2];
  } else if (opts) {
    for (const k of Object.keys(opts)) {
      if (k in defaultOptions || k === "stylize") ctx[k] = opts[k];
    }
  }
  if (ctx.depth === Infinity) ctx.depth = null;
  ctx.options = Object.assign({}, ctx);
  ctx.seen = [];
  ctx.circular = new Map();
  ctx.indentationLvl = 0;
  ctx.height = 0;
  return formatValue(ctx, value, 0);
}
inspect.custom = customInspect;
inspect.defaultOptions = Object.assign({}, defaultOptions);
inspect.colors = Object.assign(Object.create(null), {
  bold: [1, 22], italic: [3, 23], underline: [4, 24], inverse: [7, 27], white: [37, 39], grey: [90, 39],
  black: [30, 39], blue: [34, 39], cyan: [36, 39], green: [32, 39], magenta: [35, 39], red: [31, 39],
  yellow: [33, 39],
});
inspect.styles = Object.assign(Object.create(null), {
  special: "cyan", number: "yellow", bigint: "yellow", boolean: "yellow", undefined: "grey",
  null: "bold", string: "green", symbol: "green", date: "magenta", regexp: "red", module: "underline",
});

// --- format ---

// Whether %s should inspect `v` rather than call its own toString.
function usesBuiltinToString(v) {
  if (hasOwn(v, "toString")) return false;
  let p = v;
  do {
    p = Object.getPrototypeOf(p);
  } while (p !== null && !hasOwn(p, "toString"));
  if (p === null) return true;
  const d = Object.getOwnPropertyDescriptor(p, "constructor");
  return !!d && typeof d.value === "function" && globalThis[d.value.name] === d.value;
}

function formatWithOptions(inspectOptions, ...args) {
  if (inspectOptions === null || typeof inspectOptions !== "object") {
    const e = new TypeError(`The "inspectOptions" argument must be of type object. Received ${typeof inspectOptions}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  const show = (v) => (typeof v === "string" ? v : inspect(v, inspectOptions));
  const first = args[0];
  let out = "";
  let next = 1;
  if (typeof first === "string") {
    if (args.length === 1) return first;
    let last = 0;
    for (let i = 0; i < first.length - 1; i++) {
      if (first.charCodeAt(i) !== 37) continue;
      const c = first[i + 1];
      let rep;
      if (c === "%") {
        out += first.slice(last, i) + "%";
        last = i + 2;
        i++;
        continue;
      }
      if (next >= args.length) {
        if ("sdifjoOc".includes(c)) continue;
        continue;
      }
      const arg = args[next];
      switch (c) {
        case "s":
          if (typeof arg === "number") rep = formatNumber(arg);
          else if (typeof arg === "bigint") rep = `${arg}n`;
          else if (arg === null || typeof arg !== "object" || !usesBuiltinToString(arg)) rep = String(arg);
          else rep = inspect(arg, Object.assign({}, inspectOptions, { depth: 0, colors: false, compact: 3 }));
          break;
        case "j":
          try {
            rep = JSON.stringify(arg);
          } catch (e) {
            if (/circular/i.test(e && e.message)) rep = "[Circular]";
            else throw e;
          }
          break;
        case "d":
          rep = typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? "NaN" :
            formatNumber(typeof arg === "object" && arg !== null ? Number(arg) : Number(arg));
          break;
        case "i":
          rep = typeof arg === "bigint" ? `${arg}n` : typeof arg === "symbol" ? "NaN" : formatNumber(parseInt(arg));
          break;
        case "f":
          rep = typeof arg === "symbol" ? "NaN" : formatNumber(parseFloat(arg));
          break;
        case "o":
          rep = inspect(arg, Object.assign({}, inspectOptions, { showHidden: true, showProxy: true, depth: 4 }));
          break;
        case "O":
          rep = inspect(arg, inspectOptions);
          break;
        case "c":
          rep = "";
          break;
        default:
          continue;
      }
      out += first.slice(last, i) + rep;
      last = i + 2;
      i++;
      next++;
    }
    out += first.slice(last);
  } else {
    next = 0;
  }
  for (; next < args.length; next++) {
    out += (out.length || next > 0 ? " " : "") + show(args[next]);
  }
  return out;
}

function format(...args) {
  return formatWithOptions({}, ...args);
}

// --- functions ---

function invalidArgType(name, type, value) {
  const e = new TypeError(`The "${name}" argument must be of type ${type}. Received ${
    value === null ? "null" : typeof value === "function" ? `function ${value.name}` :
      typeof value === "object" ? `an instance of ${constructorName(value) || "Object"}` : `type ${typeof value} (${inspect(value)})`}`);
  e.code = "ERR_INVALID_ARG_TYPE";
  return e;
}

function inherits(ctor, superCtor) {
  if (typeof ctor !== "function") throw invalidArgType("ctor", "function", ctor);
  if (typeof superCtor !== "function") throw invalidArgType("superCtor", "function", superCtor);
  if (superCtor.prototype === undefined) throw invalidArgType("superCtor.prototype", "object", superCtor.prototype);
  Object.defineProperty(ctor, "super_", { value: superCtor, writable: true, configurable: true });
  Object.setPrototypeOf(ctor.prototype, superCtor.prototype);
}

const promisifyCustom = Symbol.for("nodejs.util.promisify.custom");

function promisify(original) {
  if (typeof original !== "function") throw invalidArgType("original", "function", original);
  if (original[promisifyCustom]) {
    const fn = original[promisifyCustom];
    if (typeof fn !== "function") throw invalidArgType("util.promisify.custom", "function", fn);
    return Object.defineProperty(fn, promisifyCustom, { value: fn, enumerable: false, writable: false, configurable: true });
  }
  function fn(...args) {
    return new Promise((resolve, reject) => {
      Reflect.apply(original, this, [...args, (err, ...values) => {
        if (err) reject(err);
        else resolve(values[0]);
      }]);
    });
  }
  Object.setPrototypeOf(fn, Object.getPrototypeOf(original));
  Object.defineProperty(fn, promisifyCustom, { value: fn, enumerable: false, writable: false, configurable: true });
  Object.defineProperties(fn, Object.getOwnPropertyDescriptors(original));
  return fn;
}
promisify.custom = promisifyCustom;

function callbackify(original) {
  if (typeof original !== "function") throw invalidArgType("original", "function", original);
  function callbackified(...args) {
    const cb = args.pop();
    if (typeof cb !== "function") throw invalidArgType("last argument", "function", cb);
    const onError = (reason) => {
      if (!reason) {
        const e = new Error("Promise was rejected with a falsy value");
        e.code = "ERR_FALSY_VALUE_REJECTION";
        e.reason = reason;
        reason = e;
      }
      return cb(reason);
    };
    Reflect.apply(original, this, args).then(
      (v) => process.nextTick(cb, null, v),
      (r) => process.nextTick(onError, r));
  }
  const d = Object.getOwnPropertyDescriptors(original);
  delete d.prototype;
  Object.defineProperties(callbackified, d);
  Object.setPrototypeOf(callbackified, Object.getPrototypeOf(original));
  return callbackified;
}

const warnedCodes = new Set();
function deprecate(fn, msg, code) {
  if (typeof fn !== "function") throw invalidArgType("fn", "function", fn);
  let warned = false;
  function deprecated(...args) {
    if (!warned && !(typeof process !== "undefined" && process.noDeprecation)) {
      warned = true;
      if (code === undefined || !warnedCodes.has(code)) {
        if (code !== undefined) warnedCodes.add(code);
        const w = new Error(msg);
        w.name = "DeprecationWarning";
        if (code !== undefined) w.code = code;
        if (typeof process !== "undefined" && typeof process.emitWarning === "function") process.emitWarning(w);
      }
    }
    return new.target ? Reflect.construct(fn, args, new.target) : Reflect.apply(fn, this, args);
  }
  Object.setPrototypeOf(deprecated, fn);
  if (fn.prototype) deprecated.prototype = fn.prototype;
  return deprecated;
}

function debuglog(section, cb) {
  const logger = () => {};
  logger.enabled = false;
  return logger;
}

function toUSVString(s) {
  return String(s).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

function stripVTControlCharacters(s) {
  return String(s).replace(/[\u001b\u009b][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-ntqry=><~]))/g, "");
}

const isPrimitive = (v) => v === null || (typeof v !== "object" && typeof v !== "function");

module.exports = {
  format,
  formatWithOptions,
  inspect,
  inherits,
  promisify,
  callbackify,
  deprecate,
  debuglog,
  debug: debuglog,
  isDeepStrictEqual: (a, b) => isDeepEqual(a, b, true),
  types,
  TextEncoder,
  TextDecoder,
  toUSVString,
  stripVTControlCharacters,
  isArray: Array.isArray,
  isBoolean: (v) => typeof v === "boolean",
  isBuffer: (v) => {
    const B = globalThis.Buffer;
    return typeof B === "function" && B.isBuffer(v);
  },
  isDate,
  isError: (v) => types.isNativeError(v) || v instanceof Error,
  isFunction: (v) => typeof v === "function",
  isNull: (v) => v === null,
  isNullOrUndefined: (v) => v == null,
  isNumber: (v) => typeof v === "number",
  isObject: (v) => v !== null && typeof v === "object",
  isPrimitive,
  isRegExp,
  isString: (v) => typeof v === "string",
  isSymbol: (v) => typeof v === "symbol",
  isUndefined: (v) => v === undefined,
  _extend(target, source) {
    if (source === null || typeof source !== "object") return target;
    for (const k of Object.keys(source)) target[k] = source[k];
    return target;
  },
  log(...args) {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    console.log("%s - %s", `${d.getDate()} ${months[d.getMonth()]} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`, format(...args));
  },
};

// Node's `querystring`: `parse`/`decode` (custom separators, maxKeys, decodeURIComponent
// option, lenient on malformed escapes), `stringify`/`encode` (encodeURIComponent option),
// `escape`, `unescape`, `unescapeBuffer`.
"use strict";

const enc = require("internal/encoding");

function hexValue(c) {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  return c >= 97 && c <= 102 ? c - 87 : -1;
}

// Decodes %XX escapes into bytes, leaving malformed ones as they are.
function unescapeBytes(s, decodeSpaces) {
  const bytes = enc.utf8Encode(s);
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 37 && i + 2 < bytes.length) {
      const hi = hexValue(bytes[i + 1]);
      const lo = hexValue(bytes[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out[n++] = (hi << 4) | lo;
        i += 2;
        continue;
      }
    }
    out[n++] = decodeSpaces && b === 43 ? 32 : b;
  }
  return out.subarray(0, n);
}

function unescapeBuffer(s, decodeSpaces) {
  const { Buffer } = require("buffer");
  return Buffer.from(unescapeBytes(String(s), decodeSpaces));
}

function unescape(s, decodeSpaces) {
  try {
    return decodeURIComponent(s);
  } catch {
    const bytes = unescapeBytes(String(s), decodeSpaces);
    return enc.utf8Decode(bytes, 0, bytes.length);
  }
}

function escape(str) {
  if (typeof str !== "string") {
    if (typeof str === "object") str = String(str);
    else str += "";
  }
  try {
    return encodeURIComponent(str);
  } catch {
    // Like Node, a lead surrogate pairs with whatever unit follows it; only one at the very
    // end (or a lone trail surrogate) is an error.
    let out = "";
    for (let i = 0; i < str.length; i++) {
      const c = str.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
        const cp = 0x10000 + (((c & 0x3ff) << 10) | (str.charCodeAt(++i) & 0x3ff));
        out += encodeURIComponent(String.fromCodePoint(cp));
      } else if (c >= 0xd800 && c <= 0xdfff) {
        const e = new URIError("URI malformed");
        e.code = "ERR_INVALID_URI";
        throw e;
      } else out += encodeURIComponent(str[i]);
    }
    return out;
  }
}

function primitive(v) {
  switch (typeof v) {
    case "string": return v;
    case "number": return Number.isFinite(v) ? String(v) : "";
    case "bigint": return String(v);
    case "boolean": return v ? "true" : "false";
    default: return "";
  }
}

function stringify(obj, sep, eq, options) {
  sep = sep || "&";
  eq = eq || "=";
  const encode = options && typeof options.encodeURIComponent === "function" ? options.encodeURIComponent : qs.escape;
  if (obj === null || typeof obj !== "object") return "";
  const out = [];
  for (const key of Object.keys(obj)) {
    const value = obj[key];
    const k = encode(primitive(key)) + eq;
    if (Array.isArray(value)) {
      for (const v of value) out.push(k + encode(primitive(v)));
    } else out.push(k + encode(primitive(value)));
  }
  return out.join(sep);
}

function parse(str, sep, eq, options) {
  const result = Object.create(null);
  if (typeof str !== "string" || str.length === 0) return result;
  sep = sep ? String(sep) : "&";
  eq = eq ? String(eq) : "=";
  let maxKeys = 1000;
  if (options && typeof options.maxKeys === "number") maxKeys = options.maxKeys;
  const custom = options && typeof options.decodeURIComponent === "function" && options.decodeURIComponent !== qs.unescape;
  const decode = custom ? options.decodeURIComponent : qs.unescape;
  const decodePart = (s) => {
    if (s === "") return s;
    const plus = s.includes("+") ? s.replace(/\+/g, " ") : s;
    if (!custom && !plus.includes("%")) return plus;
    try {
      return decode(plus);
    } catch {
      return qs.unescape(plus, true);
    }
  };
  let parts = str.split(sep);
  if (maxKeys > 0 && parts.length > maxKeys) parts = parts.slice(0, maxKeys);
  for (const part of parts) {
    if (part === "") continue;
    const at = part.indexOf(eq);
    const key = decodePart(at >= 0 ? part.slice(0, at) : part);
    const value = at >= 0 ? decodePart(part.slice(at + eq.length)) : "";
    const prev = result[key];
    if (prev === undefined) result[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else result[key] = [prev, value];
  }
  return result;
}

const qs = {
  unescapeBuffer,
  unescape,
  escape,
  stringify,
  encode: stringify,
  parse,
  decode: parse,
};

module.exports = qs;

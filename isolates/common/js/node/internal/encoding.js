// The text codecs of shoal's Node layer: WHATWG `TextEncoder`/`TextDecoder` (utf-8,
// utf-16le and windows-1252 with its latin1/ascii labels; no other legacy encodings), the
// globals `atob`/`btoa`, and the byte <-> string codecs `buffer`, `string_decoder` and
// `querystring` share (utf8, utf16le, latin1, ascii, hex, base64, base64url).
// Not provided: TextDecoderStream/TextEncoderStream, and encodings beyond the three above.
"use strict";

// --- UTF-8 ---

// Number of UTF-8 bytes `str` encodes to (lone surrogates become U+FFFD, 3 bytes).
function utf8Length(str) {
  let n = str.length;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length &&
      (str.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2;
      i++;
    } else n += 2;
  }
  return n;
}

// Writes `str` as UTF-8 into `out` from `at`, never past `limit` and never splitting a
// character. Returns [code units read, bytes written].
function utf8Write(str, out, at = 0, limit = out.length) {
  let o = at;
  let i = 0;
  for (; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c < 0x80) {
      if (o >= limit) break;
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      if (o + 2 > limit) break;
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < str.length ? str.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && (d & 0xfc00) === 0xdc00) {
        if (o + 4 > limit) break;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        out[o++] = 0xf0 | (c >> 18);
        out[o++] = 0x80 | ((c >> 12) & 0x3f);
        out[o++] = 0x80 | ((c >> 6) & 0x3f);
        out[o++] = 0x80 | (c & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
    }
    if (o + 3 > limit) break;
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  }
  return [i, o - at];
}

function utf8Encode(str) {
  const out = new Uint8Array(utf8Length(str));
  utf8Write(str, out);
  return out;
}

// Joins UTF-16 code units into a string without overflowing the argument limit.
class Units {
  constructor() {
    this.parts = [];
    this.units = [];
  }
  push(c) {
    this.units.push(c);
    if (this.units.length >= 4096) this.flush();
  }
  flush() {
    this.parts.push(String.fromCharCode.apply(null, this.units));
    this.units = [];
  }
  done() {
    if (this.units.length) this.flush();
    return this.parts.length === 1 ? this.parts[0] : this.parts.join("");
  }
}

function invalidData(encoding) {
  const e = new TypeError(`The encoded data was not valid for encoding ${encoding}`);
  e.code = "ERR_ENCODING_INVALID_ENCODED_DATA";
  return e;
}

// The bytes[start, end) of a Uint8Array (or of anything array-like, copied).
function span(bytes, start, end) {
  if (!(bytes instanceof Uint8Array)) return Uint8Array.from(bytes).subarray(start, end);
  return start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end);
}

// Decodes bytes[start, end) as UTF-8, replacing each maximal invalid subpart with U+FFFD
// (or throwing when `fatal`), as the WHATWG decoder and Node's Buffer do. Native
// (`host.utf8Decode`): Rust's lossy decoding replaces the same subparts.
function utf8Decode(bytes, start = 0, end = bytes.length, fatal = false) {
  const text = host.utf8Decode(span(bytes, start, end), fatal);
  if (text === null) throw invalidData("utf-8");
  return text;
}

// How many bytes at the end of bytes[start, end) begin a UTF-8 character that more bytes
// could still complete (0 to 3).
function utf8Incomplete(bytes, start, end) {
  for (let k = 1; k <= 3 && end - k >= start; k++) {
    const b = bytes[end - k];
    if (b >= 0x80 && b <= 0xbf) continue;
    const need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (need <= k) return 0;
    // The second byte has a narrower range after some leads.
    if (k > 1) {
      const c = bytes[end - k + 1];
      if ((b === 0xe0 && c < 0xa0) || (b === 0xed && c > 0x9f) ||
        (b === 0xf0 && c < 0x90) || (b === 0xf4 && c > 0x8f)) return 0;
    }
    return k;
  }
  return 0;
}

// --- single-byte and UTF-16 ---

function latin1Decode(bytes, start = 0, end = bytes.length, mask = 0xff) {
  const u = new Units();
  for (let i = start; i < end; i++) u.push(bytes[i] & mask);
  return u.done();
}

function latin1Encode(str) {
  const out = new Uint8Array(str.length);
  for (let i = 0; i < str.length; i++) out[i] = str.charCodeAt(i);
  return out;
}

function utf16leDecode(bytes, start = 0, end = bytes.length) {
  const u = new Units();
  for (let i = start; i + 1 < end; i += 2) u.push(bytes[i] | (bytes[i + 1] << 8));
  return u.done();
}

function utf16leEncode(str) {
  const out = new Uint8Array(str.length * 2);
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >> 8;
  }
  return out;
}

// --- hex ---

const HEX = "0123456789abcdef";

function hexEncode(bytes, start = 0, end = bytes.length) {
  let s = "";
  for (let i = start; i < end; i++) s += HEX[bytes[i] >> 4] + HEX[bytes[i] & 15];
  return s;
}

function hexValue(c) {
  if (c >= 48 && c <= 57) return c - 48;
  c |= 0x20;
  return c >= 97 && c <= 102 ? c - 87 : -1;
}

// Decodes pairs of hex digits up to the first invalid pair (Node's lenient behaviour).
function hexDecode(str) {
  const out = new Uint8Array(str.length >> 1);
  let n = 0;
  for (; n < out.length; n++) {
    const hi = hexValue(str.charCodeAt(2 * n) & 0xff);
    const lo = hexValue(str.charCodeAt(2 * n + 1) & 0xff);
    if (hi < 0 || lo < 0) break;
    out[n] = (hi << 4) | lo;
  }
  return n === out.length ? out : out.subarray(0, n);
}

// --- base64 ---


// Base64 (or, with `url`, base64url without padding) of bytes[start, end), natively
// (`host.base64`).
function base64Encode(bytes, start = 0, end = bytes.length, url = false) {
  return host.base64(span(bytes, start, end), url);
}

// The 6-bit value of a base64 or base64url digit, or -1.
function b64Value(c) {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c === 43 || c === 45) return 62;
  if (c === 47 || c === 95) return 63;
  return -1;
}

// Node's lenient decoder: both alphabets, skips other characters, stops at the first '='.
// Like Node, it only looks at the low byte of each UTF-16 code unit.
function base64Decode(str) {
  const out = new Uint8Array((str.length * 3) >> 2);
  let n = 0, acc = 0, bits = 0;
  for (let i = 0; i < str.length; i++) {
    const c = str.charCodeAt(i) & 0xff;
    if (c === 61) break;
    const v = b64Value(c);
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return n === out.length ? out : out.subarray(0, n);
}

// Node's estimate (an upper bound) of the bytes a base64 string decodes to.
function base64Length(str) {
  let n = str.length;
  if (n > 0 && str.charCodeAt(n - 1) === 61) n--;
  if (n > 0 && str.charCodeAt(n - 1) === 61) n--;
  return (n * 3) >>> 2;
}

// --- encodings by Node name ---

// Node's canonical name for a Buffer encoding, or undefined.
function normalizeEncoding(enc) {
  if (enc === undefined || enc === null || enc === "utf8" || enc === "utf-8") return "utf8";
  switch (String(enc).toLowerCase()) {
    case "utf8": case "utf-8": return "utf8";
    case "hex": return "hex";
    case "base64": return "base64";
    case "base64url": return "base64url";
    case "latin1": case "binary": return "latin1";
    case "ascii": return "ascii";
    case "ucs2": case "ucs-2": case "utf16le": case "utf-16le": return "utf16le";
    default: return undefined;
  }
}

function unknownEncoding(enc) {
  const e = new TypeError(`Unknown encoding: ${enc}`);
  e.code = "ERR_UNKNOWN_ENCODING";
  return e;
}

// Bytes of `str` in Node encoding `enc` (already normalized).
function encode(str, enc) {
  switch (enc) {
    case "utf8": return utf8Encode(str);
    case "hex": return hexDecode(str);
    case "base64": case "base64url": return base64Decode(str);
    case "latin1": case "ascii": return latin1Encode(str);
    case "utf16le": return utf16leEncode(str);
  }
  throw unknownEncoding(enc);
}

// String of bytes[start, end) in Node encoding `enc` (already normalized).
function decode(bytes, enc, start = 0, end = bytes.length) {
  switch (enc) {
    case "utf8": return utf8Decode(bytes, start, end);
    case "hex": return hexEncode(bytes, start, end);
    case "base64": return base64Encode(bytes, start, end);
    case "base64url": return base64Encode(bytes, start, end, true);
    case "latin1": return latin1Decode(bytes, start, end);
    case "ascii": return latin1Decode(bytes, start, end, 0x7f);
    case "utf16le": return utf16leDecode(bytes, start, end);
  }
  throw unknownEncoding(enc);
}

// --- WHATWG TextEncoder / TextDecoder ---

function invalidArgType(name, expected, value) {
  const shown = value == null ? String(value) : typeof value === "function" ? `function ${value.name}` : typeof value === "object"
    ? `an instance of ${value.constructor && value.constructor.name || "Object"}`
    : `type ${typeof value} (${typeof value === "string" ? `'${value}'` : String(value)})`;
  const what = name.endsWith(" argument") ? `The ${name}` : name.includes(".") ? `The "${name}" property` : `The "${name}" argument`;
  const e = new TypeError(`${what} must be ${expected}. Received ${shown}`);
  e.code = "ERR_INVALID_ARG_TYPE";
  return e;
}

class TextEncoder {
  get encoding() {
    return "utf-8";
  }
  encode(input = "") {
    return utf8Encode(String(input));
  }
  encodeInto(src, dest) {
    const [read, written] = utf8Write(String(src), dest);
    return { read, written };
  }
}

// windows-1252's code points for bytes 0x80-0x9f (the rest map to themselves).
const CP1252 = "\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f" +
  "\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178";

function decoderEncoding(label) {
  switch (String(label).trim().toLowerCase()) {
    case "utf-8": case "utf8": case "unicode-1-1-utf-8": case "unicode11utf8": case "unicode20utf8":
    case "x-unicode20utf8":
      return "utf-8";
    case "utf-16le": case "utf-16": case "ucs-2": case "unicode": case "csunicode": case "iso-10646-ucs-2":
    case "unicodefeff":
      return "utf-16le";
    case "windows-1252": case "latin1": case "iso-8859-1": case "iso8859-1": case "iso88591":
    case "iso_8859-1": case "iso_8859-1:1987": case "l1": case "ascii": case "us-ascii": case "cp1252":
    case "cp819": case "csisolatin1": case "ibm819": case "iso-ir-100": case "x-cp1252":
    case "ansi_x3.4-1968":
      return "windows-1252";
    default:
      return undefined;
  }
}

function viewBytes(input, name) {
  if (input === undefined) return new Uint8Array(0);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const tag = Object.prototype.toString.call(input);
  if (tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]") return new Uint8Array(input);
  throw invalidArgType(name, "an instance of ArrayBuffer or ArrayBufferView", input);
}

class TextDecoder {
  #encoding;
  #fatal;
  #ignoreBOM;
  #pending = null; // bytes held back from the previous streaming call
  #bomSeen = false;

  constructor(label = "utf-8", options = {}) {
    const encoding = decoderEncoding(label);
    if (encoding === undefined) {
      const e = new RangeError(`The "${label}" encoding is not supported`);
      e.code = "ERR_ENCODING_NOT_SUPPORTED";
      throw e;
    }
    this.#encoding = encoding;
    this.#fatal = Boolean(options && options.fatal);
    this.#ignoreBOM = Boolean(options && options.ignoreBOM);
  }
  get encoding() {
    return this.#encoding;
  }
  get fatal() {
    return this.#fatal;
  }
  get ignoreBOM() {
    return this.#ignoreBOM;
  }
  decode(input, options = {}) {
    let bytes = viewBytes(input, "input");
    const stream = Boolean(options && options.stream);
    if (this.#pending) {
      const joined = new Uint8Array(this.#pending.length + bytes.length);
      joined.set(this.#pending);
      joined.set(bytes, this.#pending.length);
      bytes = joined;
      this.#pending = null;
    }
    let start = 0;
    let end = bytes.length;
    let keep = 0;
    const enc = this.#encoding;
    if (enc === "utf-8") {
      if (stream) keep = utf8Incomplete(bytes, 0, end);
      if (!this.#bomSeen && !this.#ignoreBOM) {
        if (end - keep >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
        else if (stream && end < 3 && (end === 0 || bytes[0] === 0xef) && (end < 2 || bytes[1] === 0xbb)) {
          this.#pending = bytes.slice();
          return "";
        }
      }
    } else if (enc === "utf-16le") {
      if (stream) {
        keep = (end - start) & 1;
        // A trailing lead surrogate waits for its partner.
        if (end - keep >= 2 && (bytes[end - keep - 1] & 0xfc) === 0xd8) keep += 2;
      }
      if (!this.#bomSeen && !this.#ignoreBOM) {
        if (end >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) start = 2;
        else if (stream && end < 2 && (end === 0 || bytes[0] === 0xff)) {
          this.#pending = bytes.slice();
          return "";
        }
      }
    }
    if (end > 0) this.#bomSeen = true;
    if (keep) {
      this.#pending = bytes.slice(end - keep);
      end -= keep;
    }
    let out;
    if (enc === "utf-8") out = utf8Decode(bytes, start, end, this.#fatal);
    else if (enc === "utf-16le") out = this.#utf16(bytes, start, end);
    else {
      const u = new Units();
      for (let i = start; i < end; i++) {
        const b = bytes[i];
        u.push(b >= 0x80 && b < 0xa0 ? CP1252.charCodeAt(b - 0x80) : b);
      }
      out = u.done();
    }
    if (!stream) {
      this.#bomSeen = false;
      this.#pending = null;
    }
    return out;
  }
  #utf16(bytes, start, end) {
    const u = new Units();
    const bad = () => {
      if (this.#fatal) throw invalidData("utf-16le");
      u.push(0xfffd);
    };
    let i = start;
    for (; i + 1 < end; i += 2) {
      const c = bytes[i] | (bytes[i + 1] << 8);
      if (c >= 0xd800 && c <= 0xdbff) {
        const d = i + 3 < end ? bytes[i + 2] | (bytes[i + 3] << 8) : 0;
        if ((d & 0xfc00) === 0xdc00) {
          u.push(c);
          u.push(d);
          i += 2;
        } else bad();
      } else if (c >= 0xdc00 && c <= 0xdfff) bad();
      else u.push(c);
    }
    if (i < end) bad();
    return u.done();
  }
}

// --- atob / btoa ---

function domError(message) {
  const e = new Error(message);
  e.name = "InvalidCharacterError";
  e.code = 5;
  return e;
}

function atob(input) {
  if (arguments.length === 0) throw invalidArgType("input", "of type string", undefined);
  let s = String(input).replace(/[\t\n\f\r ]/g, "");
  if (s.length % 4 === 0) s = s.replace(/={1,2}$/, "");
  if (s.length % 4 === 1) throw domError("The string to be decoded is not correctly encoded.");
  if (/[^A-Za-z0-9+/]/.test(s)) throw domError("Invalid character");
  const bytes = base64Decode(s);
  return latin1Decode(bytes);
}

function btoa(input) {
  if (arguments.length === 0) throw invalidArgType("input", "of type string", undefined);
  const s = String(input);
  if (/[^\x00-\xff]/.test(s)) throw domError("Invalid character");
  return base64Encode(latin1Encode(s));
}

/** One new Uint8Array holding `chunks` (Uint8Arrays) one after another. */
function concatBytes(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

module.exports = {
  TextEncoder, TextDecoder, atob, btoa, concatBytes,
  // For the other built-in modules.
  utf8Length, utf8Write, utf8Encode, utf8Decode, utf8Incomplete, latin1Encode, latin1Decode,
  utf16leEncode, utf16leDecode, hexEncode, hexDecode, base64Encode, base64Decode, base64Length,
  normalizeEncoding, unknownEncoding, encode, decode, invalidArgType,
};

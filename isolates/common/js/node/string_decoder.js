// Node's `string_decoder`: `StringDecoder` turns a stream of byte chunks into strings without
// splitting characters (utf8, utf16le/ucs2, base64, base64url, hex, latin1, ascii).
// Left out: the legacy `lastChar`/`lastNeed`/`lastTotal` fields and `text()`.
"use strict";

const enc = require("internal/encoding");

const kPending = Symbol("pending");

function bytesOf(buf) {
  if (typeof buf === "string") return buf;
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  throw enc.invalidArgType("buf", "an instance of Buffer, TypedArray, or DataView", buf);
}

class StringDecoder {
  constructor(encoding) {
    const e = enc.normalizeEncoding(encoding);
    if (e === undefined) throw enc.unknownEncoding(encoding);
    this.encoding = e;
    this[kPending] = null;
  }

  write(buf) {
    let bytes = bytesOf(buf);
    if (typeof bytes === "string") return bytes;
    const pending = this[kPending];
    if (pending) {
      const joined = new Uint8Array(pending.length + bytes.length);
      joined.set(pending);
      joined.set(bytes, pending.length);
      bytes = joined;
      this[kPending] = null;
    }
    let keep = 0;
    switch (this.encoding) {
      case "utf8":
        keep = enc.utf8Incomplete(bytes, 0, bytes.length);
        break;
      case "utf16le":
        keep = bytes.length & 1;
        if (bytes.length - keep >= 2 && (bytes[bytes.length - keep - 1] & 0xfc) === 0xd8) keep += 2;
        break;
      case "base64":
      case "base64url":
        keep = bytes.length % 3;
        break;
    }
    if (keep) this[kPending] = bytes.slice(bytes.length - keep);
    return enc.decode(bytes, this.encoding, 0, bytes.length - keep);
  }

  end(buf) {
    let out = buf === undefined ? "" : this.write(buf);
    const pending = this[kPending];
    if (pending) {
      this[kPending] = null;
      out += enc.decode(pending, this.encoding, 0, this.encoding === "utf16le" ? pending.length & ~1 : pending.length);
    }
    return out;
  }
}

module.exports = { StringDecoder };

// node:crypto's ciphers over `host.cipher`: `createCipheriv` and
// `createDecipheriv` for aes-128/192/256-cbc, aes-128/192/256-ctr and aes-128/256-gcm with
// Node's streaming behaviour — `update()` returns all it can so far (whole blocks for CBC,
// holding the last one back when unpadding; every byte for CTR and GCM), `final()` the rest,
// checking GCM's tag — plus `setAutoPadding`, `setAAD`, `getAuthTag` and `setAuthTag`.
// CTR and GCM bytes are produced as AES-CTR from the block they
// fall in, so work stays linear in the data; GCM keeps its input until `final()` computes
// or checks the tag. Left out: other ciphers (ECB, DES, ChaCha20…), GCM tags shorter than
// 16 bytes or IVs other than 12 bytes, and `createCipher` without an IV.
"use strict";

const { Buffer } = require("buffer");
const { nodeError } = require("internal/errors");
const { concatBytes: concat } = require("internal/encoding");
const { secretBytes } = require("internal/crypto/keys");

const CIPHERS = ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes-128-ctr", "aes-192-ctr", "aes-256-ctr",
  "aes-128-gcm", "aes-256-gcm"];
const ALIASES = { aes128: "aes-128-cbc", aes192: "aes-192-cbc", aes256: "aes-256-cbc" };
const NONE = new Uint8Array(0);
const kState = Symbol("cipher");

const { toBytes } = require("internal/crypto/input");

const asBuffer = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// `base` (16 bytes, big-endian) plus `blocks`.
function counterAt(base, blocks) {
  const c = base.slice();
  let carry = blocks;
  for (let i = 15; i >= 0 && carry > 0; i--) {
    const sum = c[i] + (carry % 256);
    c[i] = sum & 255;
    carry = Math.floor(carry / 256) + (sum >> 8);
  }
  return c;
}

const invalidState = (what) => nodeError(Error, "ERR_CRYPTO_INVALID_STATE", `Invalid state for operation ${what}`);

class CipherBase {
  constructor(name, key, iv, options, decrypt) {
    const lower = typeof name === "string" ? name.toLowerCase() : name;
    const cipher = ALIASES[lower] || lower;
    if (!CIPHERS.includes(cipher)) {
      throw nodeError(TypeError, "ERR_CRYPTO_UNKNOWN_CIPHER", `Unknown cipher${typeof name === "string" ? ` ${name}` : ""} (shoal's JS isolates have ${CIPHERS.join(", ")})`);
    }
    const [, bits, mode] = cipher.split("-");
    const secret = secretBytes(key) || toBytes(key, undefined, "key").slice();
    if (secret.length * 8 !== Number(bits)) throw nodeError(RangeError, "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length");
    const vector = iv === null || iv === undefined ? NONE : toBytes(iv, undefined, "iv").slice();
    if (vector.length !== (mode === "gcm" ? 12 : 16)) {
      throw nodeError(TypeError, "ERR_CRYPTO_INVALID_IV", "Invalid initialization vector");
    }
    const tagLength = options && options.authTagLength;
    if (mode === "gcm" && tagLength !== undefined && tagLength !== 16) {
      throw new Error(`GCM tags of ${tagLength} bytes are not supported in shoal's JS isolates (16 are)`);
    }
    // CTR and GCM: the counter block of byte 0 (GCM's data starts at counter 2).
    const base = mode === "ctr" ? vector : mode === "gcm" ? concat([vector, new Uint8Array([0, 0, 0, 2])]) : undefined;
    this[kState] = { cipher, bits, mode, key: secret, iv: vector, decrypt, pad: true, chain: vector, pending: NONE,
      base, position: 0, kept: [], aad: NONE, tag: undefined, done: false };
  }

  update(data, inputEncoding, outputEncoding) {
    const s = this[kState];
    if (s.done) throw invalidState("update");
    return this.output(this.next(toBytes(data, inputEncoding, "data")), outputEncoding, false);
  }

  // `bytes` as the caller asked: a Buffer, or text through one decoder for the cipher's life
  // (as Node does), so base64 padding and characters split across calls come out whole.
  output(bytes, encoding, last) {
    if (encoding === undefined || encoding === "buffer") return asBuffer(bytes);
    const s = this[kState];
    if (!s.decoder) {
      const { StringDecoder } = require("string_decoder");
      s.decoder = new StringDecoder(encoding);
      s.encoding = encoding;
    } else if (s.encoding !== encoding) {
      throw new Error("Cannot change encoding");
    }
    const text = s.decoder.write(asBuffer(bytes));
    return last ? text + s.decoder.end() : text;
  }

  // What `bytes` turn into now.
  next(bytes) {
    const s = this[kState];
    if (s.mode !== "cbc") {
      if (s.mode === "gcm") s.kept.push(bytes.slice());
      const skip = s.position % 16;
      const counter = counterAt(s.base, Math.floor(s.position / 16));
      const out = host.cipher(`aes-${s.bits}-ctr`, "encrypt", s.key, counter, concat([new Uint8Array(skip), bytes]), NONE);
      s.position += bytes.length;
      return out.subarray(skip);
    }
    const all = concat([s.pending, bytes]);
    let whole = all.length - (all.length % 16);
    // Unpadding needs the last block: keep it for final().
    if (s.decrypt && s.pad && whole === all.length && whole > 0) whole -= 16;
    s.pending = all.slice(whole);
    if (whole === 0) return NONE;
    const input = all.subarray(0, whole);
    const out = host.cipher(s.cipher, s.decrypt ? "decrypt-nopad" : "encrypt-nopad", s.key, s.chain, input, NONE);
    s.chain = (s.decrypt ? input : out).slice(whole - 16);
    return out;
  }

  final(outputEncoding) {
    const s = this[kState];
    if (s.done) throw invalidState("final");
    s.done = true;
    let out = NONE;
    if (s.mode === "cbc") {
      if (s.pad) {
        if (s.decrypt && s.pending.length !== 16) throw new Error("wrong final block length");
        out = host.cipher(s.cipher, s.decrypt ? "decrypt" : "encrypt", s.key, s.chain, s.pending, NONE);
      } else if (s.pending.length) {
        throw new Error("wrong final block length");
      }
    } else if (s.mode === "gcm") {
      if (s.decrypt) {
        if (!s.tag) throw new Error("Unsupported state or unable to authenticate data");
        host.cipher(s.cipher, "decrypt", s.key, s.iv, concat([...s.kept, s.tag]), s.aad);
      } else {
        const sealed = host.cipher(s.cipher, "encrypt", s.key, s.iv, concat(s.kept), s.aad);
        s.tag = sealed.slice(sealed.length - 16);
      }
      s.kept = [];
    }
    return this.output(out, outputEncoding, true);
  }

  setAutoPadding(autoPadding) {
    this[kState].pad = autoPadding !== false;
    return this;
  }

  setAAD(buffer) {
    const s = this[kState];
    if (s.mode !== "gcm" || s.position > 0) throw invalidState("setAAD");
    s.aad = toBytes(buffer, undefined, "buffer").slice();
    return this;
  }

  // A minimal stream face: write() then read() and end().
  write(data, encoding) {
    const out = this.update(data, typeof encoding === "string" ? encoding : undefined);
    this[kState].out = concat([this[kState].out || NONE, out]);
    return true;
  }
  end(data, encoding) {
    if (data !== undefined && data !== null && typeof data !== "function") this.write(data, encoding);
    this[kState].out = concat([this[kState].out || NONE, this.final()]);
    return this;
  }
  read() {
    const out = this[kState].out;
    this[kState].out = undefined;
    return out && out.length ? asBuffer(out) : null;
  }
}

class Cipheriv extends CipherBase {
  constructor(name, key, iv, options) {
    super(name, key, iv, options, false);
  }
  getAuthTag() {
    const s = this[kState];
    if (s.mode !== "gcm" || !s.done) throw invalidState("getAuthTag");
    return Buffer.from(s.tag);
  }
}

class Decipheriv extends CipherBase {
  constructor(name, key, iv, options) {
    super(name, key, iv, options, true);
  }
  setAuthTag(tag) {
    const s = this[kState];
    if (s.mode !== "gcm" || s.done) throw invalidState("setAuthTag");
    const bytes = toBytes(tag, undefined, "buffer").slice();
    if (bytes.length !== 16) {
      throw nodeError(TypeError, "ERR_CRYPTO_INVALID_AUTH_TAG", `Invalid authentication tag length: ${bytes.length}`);
    }
    s.tag = bytes;
    return this;
  }
}

module.exports = {
  createCipheriv: (name, key, iv, options) => new Cipheriv(name, key, iv, options),
  createDecipheriv: (name, key, iv, options) => new Decipheriv(name, key, iv, options),
  Cipheriv,
  Decipheriv,
  getCiphers: () => CIPHERS.concat(Object.keys(ALIASES)).sort(),
};

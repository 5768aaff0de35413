// node:crypto for shoal's JS isolates over `host.digest`, `host.hmac` and `host.randomFill`:
// `createHash` (md5, sha1, sha256, sha384, sha512), `createHmac`, `hash`, `randomBytes`,
// `randomFill(Sync)`, `randomInt`, `randomUUID`, `getRandomValues`, `timingSafeEqual`,
// `getHashes`, and `webcrypto` (the `crypto` global: `getRandomValues`, `randomUUID`).
// Hash and Hmac objects keep what `update()` is given and hash it all at `digest()`.
// Key objects and signatures (`internal/crypto/keys`), ciphers (`internal/crypto/cipher`)
// and key derivation — PBKDF2, HKDF, scrypt (`internal/crypto/kdf`) — load on first use.
// Left out: `webcrypto.subtle` (but `digest`), key generation, RSA encryption,
// Diffie-Hellman and primes: they throw a clear Error.
"use strict";

const { Buffer } = require("buffer");

const ALGORITHMS = { md5: "md5", sha1: "sha1", sha256: "sha256", sha384: "sha384", sha512: "sha512",
  "sha-1": "sha1", "sha-256": "sha256", "sha-384": "sha384", "sha-512": "sha512" };

const { nodeError } = require("internal/errors");
function algorithm(name) {
  const alg = typeof name === "string" ? ALGORITHMS[name.toLowerCase()] : undefined;
  if (!alg) {
    if (typeof name !== "string") {
      throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "algorithm" argument must be of type string. Received ${name === null ? "null" : typeof name}`);
    }
    throw new Error(`Digest method not supported: ${name} is not available in shoal's JS isolates (md5, sha1, sha256, sha384 and sha512 are)`);
  }
  return alg;
}
const { toBytes } = require("internal/crypto/input");
const { concatBytes: concat } = require("internal/encoding");
function encode(bytes, encoding) {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return encoding === undefined || encoding === "buffer" ? buf : buf.toString(encoding);
}

const kState = Symbol("state");
// Hash and Hmac share this: input kept until digest().
class Digest {
  constructor(alg, key) {
    this[kState] = { alg, key, chunks: [], done: false };
  }
  update(data, encoding) {
    const s = this[kState];
    if (s.done) throw nodeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    s.chunks.push(toBytes(data, encoding).slice());
    return this;
  }
  digest(encoding) {
    const s = this[kState];
    if (s.done) throw nodeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    s.done = true;
    const data = concat(s.chunks);
    s.chunks = [];
    return encode(s.key ? host.hmac(s.alg, s.key, data) : host.digest(s.alg, data), encoding);
  }
  // A minimal stream face, so `hash.end(data); hash.read()` and pipe-into-hash work.
  write(data, encoding, cb) {
    this.update(data, typeof encoding === "string" ? encoding : undefined);
    if (typeof encoding === "function") cb = encoding;
    if (typeof cb === "function") process.nextTick(cb);
    return true;
  }
  end(data, encoding, cb) {
    if (typeof data === "function") [cb, data] = [data, undefined];
    if (data !== undefined && data !== null) this.update(data, typeof encoding === "string" ? encoding : undefined);
    this[kState].result = this.digest();
    if (typeof cb === "function") process.nextTick(cb);
    const listeners = this[kState].listeners;
    if (listeners) {
      process.nextTick(() => {
        for (const fn of listeners.readable || []) fn.call(this);
        for (const fn of listeners.data || []) fn.call(this, this[kState].result);
        for (const fn of listeners.finish || []) fn.call(this);
        for (const fn of listeners.end || []) fn.call(this);
      });
    }
    return this;
  }
  read() {
    const r = this[kState].result;
    this[kState].result = null;
    return r ?? null;
  }
  on(event, fn) {
    const s = this[kState];
    s.listeners = s.listeners || {};
    (s.listeners[event] = s.listeners[event] || []).push(fn);
    return this;
  }
  once(event, fn) {
    return this.on(event, fn);
  }
  emit() {
    return false;
  }
  removeListener() {
    return this;
  }
  setEncoding() {
    return this;
  }
}
class Hash extends Digest {
  constructor(alg) {
    super(algorithm(alg), null);
  }
  copy() {
    const s = this[kState];
    if (s.done) throw nodeError(Error, "ERR_CRYPTO_HASH_FINALIZED", "Digest already called");
    const h = new Hash(s.alg);
    h[kState].chunks = s.chunks.slice();
    return h;
  }
}
class Hmac extends Digest {
  constructor(alg, key, options) {
    if (key === null || key === undefined) {
      throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"key\" argument must be of type string or an instance of ArrayBuffer, Buffer, TypedArray, DataView, KeyObject, or CryptoKey.");
    }
    // A secret key object gives its bytes (without loading the key module for a check).
    const secret = typeof key === "object" && key.type === "secret" && typeof key.export === "function";
    const bytes = toBytes(secret ? key.export() : key, options && options.encoding, "key").slice();
    super(algorithm(alg), bytes);
    // An empty key is still a key.
    this[kState].key = bytes;
  }
  digest(encoding) {
    const s = this[kState];
    // Node answers a second digest() of an Hmac with an empty result.
    if (s.done) return encode(new Uint8Array(0), encoding);
    s.done = true;
    const data = concat(s.chunks);
    s.chunks = [];
    return encode(host.hmac(s.alg, s.key, data), encoding);
  }
}

function randomFillSync(buf, offset = 0, size) {
  if (!ArrayBuffer.isView(buf) && !(buf instanceof ArrayBuffer)) {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"buf\" argument must be an instance of ArrayBuffer or ArrayBufferView.");
  }
  const view = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const elementSize = buf.BYTES_PER_ELEMENT || 1;
  const start = offset * elementSize;
  const end = size === undefined ? view.length : start + size * elementSize;
  if (start < 0 || start > view.length) throw nodeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "offset" is out of range. Received ${offset}`);
  if (end > view.length || end < start) throw nodeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "size" is out of range. Received ${size}`);
  for (let at = start; at < end; at += 65536) host.randomFill(view.subarray(at, Math.min(end, at + 65536)));
  return buf;
}
function randomFill(buf, offset, size, cb) {
  if (typeof offset === "function") [cb, offset, size] = [offset, 0, undefined];
  else if (typeof size === "function") [cb, size] = [size, undefined];
  randomFillSync(buf, offset, size);
  process.nextTick(cb, null, buf);
}
function randomBytes(size, cb) {
  if (typeof size !== "number") {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "size" argument must be of type number. Received type ${typeof size}`);
  }
  if (!(size >= 0) || size > 2 ** 31 - 1) {
    throw nodeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "size" is out of range. It must be >= 0 && <= 2147483647. Received ${size}`);
  }
  const buf = randomFillSync(Buffer.alloc(size));
  if (typeof cb === "function") {
    process.nextTick(cb, null, buf);
    return undefined;
  }
  return buf;
}
function randomInt(min, max, cb) {
  if (max === undefined || typeof max === "function") [cb, max, min] = [max, min, 0];
  if (!Number.isSafeInteger(min)) throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"min\" argument must be a safe integer.");
  if (!Number.isSafeInteger(max)) throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"max\" argument must be a safe integer.");
  const range = max - min;
  if (!(range > 0) || range > 2 ** 48 - 1) {
    throw nodeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "max" is out of range. It must be greater than the value of "min" (${min}) and less than or equal to ${min + 2 ** 48 - 1}. Received ${max}`);
  }
  // Rejection sampling over 48 random bits.
  const limit = 2 ** 48 - (2 ** 48 % range);
  const bytes = new Uint8Array(6);
  let x;
  do {
    host.randomFill(bytes);
    x = bytes.reduce((n, b) => n * 256 + b, 0);
  } while (x >= limit);
  const n = min + (x % range);
  if (typeof cb === "function") {
    process.nextTick(cb, null, n);
    return undefined;
  }
  return n;
}
function randomUUID() {
  const b = new Uint8Array(16);
  host.randomFill(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
function getRandomValues(array) {
  const ok = ArrayBuffer.isView(array) && !(array instanceof DataView) &&
    !/Float/.test(Object.prototype.toString.call(array));
  if (!ok) {
    const e = new TypeError("The data argument must be an integer-type TypedArray");
    e.name = "TypeMismatchError";
    e.code = 17;
    throw e;
  }
  if (array.byteLength > 65536) {
    const e = new Error(`The ArrayBufferView's byte length (${array.byteLength}) exceeds the number of bytes of entropy available via this API (65536)`);
    e.name = "QuotaExceededError";
    e.code = 22;
    throw e;
  }
  host.randomFill(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
  return array;
}
function timingSafeEqual(a, b) {
  const x = toBytes(a, undefined, "buf1");
  const y = toBytes(b, undefined, "buf2");
  if (x.length !== y.length) throw nodeError(RangeError, "ERR_CRYPTO_TIMING_SAFE_EQUAL_LENGTH", "Input buffers must have the same byte length");
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

function unsupported(name) {
  return function () {
    throw new Error(`crypto.${name}() is not supported in shoal's JS isolates (hashes, HMAC, random values, key objects, signatures, AES ciphers and PBKDF2 are); annotate the action with engine=container to run it in a container`);
  };
}

// `subtle` offers `digest` only; its other methods reject.
const subtle = { digest(alg, data) {
  return new Promise((resolve) => {
    const name = typeof alg === "object" && alg !== null ? alg.name : alg;
    const bytes = host.digest(algorithm(String(name)), toBytes(data, undefined).slice());
    resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  });
} };
for (const name of ["encrypt", "decrypt", "sign", "verify", "generateKey", "deriveKey", "deriveBits",
  "importKey", "exportKey", "wrapKey", "unwrapKey"]) {
  subtle[name] = () => Promise.reject(new Error(`crypto.subtle.${name}() is not supported in shoal's JS isolates (only digest is)`));
}
const webcrypto = {
  getRandomValues,
  randomUUID,
  subtle,
  get [Symbol.toStringTag]() {
    return "Crypto";
  },
};

const crypto = {
  createHash: (alg, options) => new Hash(alg),
  createHmac: (alg, key, options) => new Hmac(alg, key, options),
  hash: (alg, data, encoding = "hex") => new Hash(alg).update(data).digest(encoding),
  Hash, Hmac,
  randomBytes, pseudoRandomBytes: randomBytes, prng: randomBytes, rng: randomBytes,
  randomFillSync, randomFill, randomInt, randomUUID, getRandomValues, timingSafeEqual,
  getHashes: () => ["md5", "sha1", "sha256", "sha384", "sha512"],
  getCurves: () => ["prime256v1", "secp384r1"],
  webcrypto,
  subtle,
};
// What another module defines, loaded when an action first reads it (an action may also
// replace it, as Node's exports allow).
function lazyFrom(id, names) {
  for (const name of names) {
    const settle = (value) => Object.defineProperty(crypto, name, { value, writable: true, enumerable: true, configurable: true });
    Object.defineProperty(crypto, name, {
      enumerable: true,
      configurable: true,
      get() {
        const value = require(id)[name];
        settle(value);
        return value;
      },
      set: settle,
    });
  }
}
lazyFrom("internal/crypto/keys", ["KeyObject", "createPrivateKey", "createPublicKey", "createSecretKey",
  "createSign", "createVerify", "Sign", "Verify", "sign", "verify", "constants"]);
lazyFrom("internal/crypto/cipher", ["createCipheriv", "createDecipheriv", "Cipheriv", "Decipheriv",
  "getCiphers"]);
lazyFrom("internal/crypto/kdf", ["pbkdf2", "pbkdf2Sync", "hkdf", "hkdfSync", "scrypt", "scryptSync"]);
for (const name of ["createCipher", "createDecipher", "publicEncrypt", "privateDecrypt", "privateEncrypt",
  "publicDecrypt", "generateKeyPair", "generateKeyPairSync", "generateKey", "generateKeySync",
  "createDiffieHellman", "createDiffieHellmanGroup", "getDiffieHellman",
  "createECDH", "diffieHellman", "generatePrime", "generatePrimeSync", "checkPrime", "checkPrimeSync",
  "X509Certificate"]) {
  crypto[name] = unsupported(name);
}
module.exports = crypto;

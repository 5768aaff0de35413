// node:crypto's key derivation over `host.pbkdf2`, `host.hkdf` and `host.scrypt`: `pbkdf2`,
// `hkdf` and `scrypt`, each with its `Sync` form, taking and returning what Node's do (a
// Buffer, or an ArrayBuffer for HKDF) with its argument errors. The callback forms run the
// derivation at once and call back on the next tick. The native side bounds the work of one
// call (see `shoal_isolates::node::crypto`): scrypt's memory is capped at Node's default
// `maxmem`, 32 MiB, whatever `maxmem` asks.
"use strict";

const { Buffer } = require("buffer");
const { nodeError } = require("internal/errors");
const { toBytes } = require("internal/crypto/input");
const { secretBytes } = require("internal/crypto/keys");

// Digest sizes, by the names the native side knows.
const DIGESTS = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const MAX_INT = 2147483647;

const asBuffer = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const typeName = (v) => (v === null ? "null" : typeof v);

function checkInt(name, value, least, most = MAX_INT) {
  if (!Number.isInteger(value) || value < least || value > most) {
    throw nodeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "${name}" is out of range. It must be >= ${least} && <= ${most}. Received ${value}`);
  }
}

function checkCallback(callback) {
  if (typeof callback !== "function") {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "callback" argument must be of type function. Received ${typeName(callback)}`);
  }
}

// Runs `derive` now and hands its result to `callback` on the next tick.
function later(callback, derive) {
  checkCallback(callback);
  const key = derive();
  process.nextTick(() => callback(null, key));
}

// --- PBKDF2 ---

function pbkdf2Sync(password, salt, iterations, keylen, digest) {
  if (typeof digest !== "string") {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "digest" argument must be of type string. Received ${typeName(digest)}`);
  }
  checkInt("iterations", iterations, 1);
  checkInt("keylen", keylen, 0);
  return asBuffer(host.pbkdf2(digest, toBytes(password, undefined, "password"), toBytes(salt, undefined, "salt"), iterations, keylen));
}

function pbkdf2(password, salt, iterations, keylen, digest, callback) {
  if (typeof digest === "function") [callback, digest] = [digest, undefined];
  later(callback, () => pbkdf2Sync(password, salt, iterations, keylen, digest));
}

// --- HKDF ---

function hkdfSync(digest, ikm, salt, info, keylen) {
  if (typeof digest !== "string") {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "digest" argument must be of type string. Received ${typeName(digest)}`);
  }
  const size = DIGESTS[digest.toLowerCase()];
  if (size === undefined) throw nodeError(TypeError, "ERR_CRYPTO_INVALID_DIGEST", `Invalid digest: ${digest}`);
  const key = secretBytes(ikm) || toBytes(ikm, undefined, "ikm");
  const saltBytes = toBytes(salt, undefined, "salt");
  const infoBytes = toBytes(info, undefined, "info");
  if (infoBytes.length > 1024) {
    throw nodeError(RangeError, "ERR_OUT_OF_RANGE", `The value of "info" is out of range. It must be <= 1024. Received ${infoBytes.length}`);
  }
  checkInt("length", keylen, 0);
  if (keylen > 255 * size) throw nodeError(RangeError, "ERR_CRYPTO_INVALID_KEYLEN", "Invalid key length");
  const out = host.hkdf(digest, key, saltBytes, infoBytes, keylen);
  // Node hands HKDF's key over as an ArrayBuffer of its own.
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}

function hkdf(digest, ikm, salt, info, keylen, callback) {
  later(callback, () => hkdfSync(digest, ikm, salt, info, keylen));
}

// --- scrypt ---

// Node's options: `N` or `cost`, `r` or `blockSize`, `p` or `parallelization`, `maxmem`.
function scryptOptions(options) {
  const o = options == null ? {} : options;
  const pick = (a, b, fallback) => {
    if (o[a] !== undefined && o[b] !== undefined) {
      throw nodeError(TypeError, "ERR_INCOMPATIBLE_OPTION_PAIR", `Option "${a}" cannot be used in combination with option "${b}"`);
    }
    const value = o[a] !== undefined ? o[a] : o[b] !== undefined ? o[b] : fallback;
    checkInt(o[a] !== undefined ? a : b, value, 0, a === "N" ? Number.MAX_SAFE_INTEGER : MAX_INT);
    return value;
  };
  const N = pick("N", "cost", 16384);
  const r = pick("r", "blockSize", 8);
  const p = pick("p", "parallelization", 1);
  const maxmem = o.maxmem === undefined ? 32 << 20 : o.maxmem;
  checkInt("maxmem", maxmem, 0, Number.MAX_SAFE_INTEGER);
  return { N, r, p, maxmem };
}

function scryptSync(password, salt, keylen, options) {
  const pw = toBytes(password, undefined, "password");
  const saltBytes = toBytes(salt, undefined, "salt");
  checkInt("keylen", keylen, 0);
  const { N, r, p, maxmem } = scryptOptions(options);
  let out;
  try {
    out = host.scrypt(pw, saltBytes, keylen, [N, r, p, maxmem]);
  } catch (e) {
    throw nodeError(RangeError, "ERR_CRYPTO_INVALID_SCRYPT_PARAMS", e.message);
  }
  return asBuffer(out);
}

function scrypt(password, salt, keylen, options, callback) {
  if (typeof options === "function") [callback, options] = [options, undefined];
  later(callback, () => scryptSync(password, salt, keylen, options));
}

module.exports = { pbkdf2, pbkdf2Sync, hkdf, hkdfSync, scrypt, scryptSync };

// node:crypto's key objects and signatures over `host.keyImport`, `host.sign` and
// `host.verify`: `KeyObject`, `createSecretKey`, `createPrivateKey`, `createPublicKey`,
// `createSign`, `createVerify`, `sign` and `verify`, for RSA (PKCS #1 v1.5 and PSS with
// SHA-256/384/512), ECDSA (P-256 with SHA-256, P-384 with SHA-384; DER or IEEE P1363) and
// Ed25519 keys in PEM or DER (PKCS #8, PKCS #1, SEC1, SPKI, and X.509 certificates for their
// public key) or as JWK. An asymmetric key object holds its DER (PKCS #8 for private keys,
// SPKI for public ones); the host reads it at each use.
// Left out (each throws a clear Error): encrypted private keys, exporting asymmetric keys as
// JWK, DSA/DH/X25519 keys, RSA keys under 2048 bits for signing, and other pairings of curve
// and digest.
"use strict";

const { Buffer } = require("buffer");
const { nodeError } = require("internal/errors");
const { concatBytes: concat } = require("internal/encoding");

const DIGESTS = { sha256: "sha256", sha384: "sha384", sha512: "sha512", "sha-256": "sha256",
  "sha-384": "sha384", "sha-512": "sha512" };
const DIGEST_BYTES = { sha256: 32, sha384: 48, sha512: 64 };
const CURVE_DIGEST = { prime256v1: "sha256", secp384r1: "sha384" };
const RSA_PKCS1_PSS_PADDING = 6;
const RSA_PSS_SALTLEN_DIGEST = -1;
// Signing: the largest salt; verifying: whatever the signature has.
const RSA_PSS_SALTLEN_MAX_SIGN = -2;
// PEM labels by DER type, for keys given as DER.
const DER_LABELS = { pkcs8: "PRIVATE KEY", sec1: "EC PRIVATE KEY", spki: "PUBLIC KEY" };

const kKey = Symbol("key");
const bytes = (b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const fromBase64 = (text) => bytes(Buffer.from(text, "base64"));

const { toBytes } = require("internal/crypto/input");

function unsupported(what) {
  return new Error(`${what} ${/s$/.test(what) ? "are" : "is"} not supported in shoal's JS isolates`);
}

class KeyObject {
  constructor(type, key) {
    if (type !== "secret" && type !== "public" && type !== "private") {
      throw nodeError(TypeError, "ERR_INVALID_ARG_VALUE", `The argument 'type' is invalid. Received '${type}'`);
    }
    this[kKey] = Object.assign({ type }, key);
  }
  get type() {
    return this[kKey].type;
  }
  get symmetricKeySize() {
    const k = this[kKey];
    return k.type === "secret" ? k.secret.length : undefined;
  }
  get asymmetricKeyType() {
    return this[kKey].asymmetricKeyType;
  }
  get asymmetricKeyDetails() {
    const details = this[kKey].asymmetricKeyDetails;
    if (!details) return undefined;
    const copy = Object.assign({}, details);
    if (copy.publicExponent !== undefined) copy.publicExponent = BigInt(copy.publicExponent);
    return copy;
  }
  export(options) {
    const k = this[kKey];
    const format = options && options.format;
    if (k.type === "secret") {
      if (format === "jwk") return { kty: "oct", k: Buffer.from(k.secret).toString("base64url") };
      return Buffer.from(k.secret);
    }
    const type = options && options.type;
    const want = k.type === "private" ? "pkcs8" : "spki";
    if (format === "jwk") throw unsupported("Exporting asymmetric keys as JWK");
    if (type !== want) throw unsupported(`Exporting a ${k.type} key as ${type === undefined ? "undefined type" : `'${type}'`} (only '${want}' is supported)`);
    const der = Buffer.from(k.type === "private" ? k.pkcs8 : k.spki);
    if (format === "der") return der;
    if (format !== "pem") throw nodeError(TypeError, "ERR_INVALID_ARG_VALUE", `The property 'options.format' must be one of: 'pem', 'der', 'jwk'. Received ${format}`);
    const label = k.type === "private" ? "PRIVATE KEY" : "PUBLIC KEY";
    const lines = der.toString("base64").match(/.{1,64}/g).join("\n");
    return `-----BEGIN ${label}-----\n${lines}\n-----END ${label}-----\n`;
  }
  equals(other) {
    if (!(other instanceof KeyObject)) {
      throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", 'The "otherKeyObject" argument must be an instance of KeyObject.');
    }
    const [a, b] = [this[kKey], other[kKey]];
    if (a.type !== b.type) return false;
    const x = a.type === "secret" ? a.secret : a.type === "private" ? a.pkcs8 : a.spki;
    const y = b.type === "secret" ? b.secret : b.type === "private" ? b.pkcs8 : b.spki;
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
}

function secretKey(secret) {
  return new KeyObject("secret", { secret });
}

// The public half of a private key object.
function publicOf(key) {
  const k = key[kKey];
  return new KeyObject("public", { asymmetricKeyType: k.asymmetricKeyType, asymmetricKeyDetails: k.asymmetricKeyDetails, spki: k.spki });
}

function imported(label, der) {
  const info = JSON.parse(host.keyImport(label, der));
  return new KeyObject(info.type, {
    asymmetricKeyType: info.asymmetricKeyType,
    asymmetricKeyDetails: info.asymmetricKeyDetails,
    pkcs8: info.pkcs8 ? fromBase64(info.pkcs8) : undefined,
    spki: fromBase64(info.spki),
  });
}

// The first PEM block of `text`: its label and DER.
function pem(text) {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(text);
  if (!m) throw nodeError(Error, "ERR_OSSL_UNSUPPORTED", "error:1E08010C:DECODER routines::unsupported");
  const [, label, body] = m;
  if (label === "ENCRYPTED PRIVATE KEY" || /Proc-Type:\s*4,ENCRYPTED/.test(body)) throw unsupported("Encrypted private keys");
  return { label, der: fromBase64(body.replace(/[^A-Za-z0-9+/=]/g, "")) };
}

// A private or public key object from what Node's createPrivateKey/createPublicKey take:
// PEM text or bytes, `{ key, format, type, encoding }`, or a key object.
function asymmetricKey(input, wantPrivate) {
  if (input instanceof KeyObject) {
    const type = input.type;
    if (type === "private") return wantPrivate ? input : publicOf(input);
    if (type === "public" && !wantPrivate) return input;
    throw nodeError(TypeError, "ERR_CRYPTO_INVALID_KEY_OBJECT_TYPE", `Invalid key object type ${type}, expected ${wantPrivate ? "private" : "public"}.`);
  }
  const o = input !== null && typeof input === "object" && !ArrayBuffer.isView(input) && !(input instanceof ArrayBuffer) ? input : { key: input };
  if (o.key instanceof KeyObject) return asymmetricKey(o.key, wantPrivate);
  const format = o.format || "pem";
  if (format === "jwk") return jwkKey(o.key, wantPrivate);
  if (typeof o.key !== "string" && !ArrayBuffer.isView(o.key) && !(o.key instanceof ArrayBuffer)) {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "key.key" property must be of type string or an instance of ArrayBuffer, Buffer, TypedArray, or DataView. Received ${o.key === null ? "null" : typeof o.key}`);
  }
  let label, der;
  if (format === "der") {
    label = o.type === "pkcs1" ? (wantPrivate ? "RSA PRIVATE KEY" : "RSA PUBLIC KEY") : DER_LABELS[o.type];
    if (!label) throw nodeError(TypeError, "ERR_INVALID_ARG_VALUE", `The property 'key.type' is invalid. Received ${o.type}`);
    der = toBytes(o.key, o.encoding, "key");
  } else {
    ({ label, der } = pem(typeof o.key === "string" ? o.key : Buffer.from(toBytes(o.key)).toString("latin1")));
  }
  const key = imported(label, der);
  if (key.type === "private") return wantPrivate ? key : publicOf(key);
  if (wantPrivate) throw nodeError(TypeError, "ERR_INVALID_ARG_VALUE", "error:1E08010C:DECODER routines::unsupported (a public key where a private key is needed)");
  return key;
}

// A key object from a JSON Web Key (`kty` RSA, EC or OKP; `oct` keys are secrets).
function jwkKey(jwk, wantPrivate) {
  if (jwk === null || typeof jwk !== "object") {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "key.key" property must be of type object. Received ${jwk === null ? "null" : typeof jwk}`);
  }
  if (wantPrivate && typeof jwk.d !== "string") throw nodeError(TypeError, "ERR_CRYPTO_INVALID_JWK", "Invalid JWK private key: \"d\" is missing");
  const key = imported("JWK", bytes(Buffer.from(JSON.stringify(jwk))));
  return key.type === "private" && !wantPrivate ? publicOf(key) : key;
}

const createPrivateKey = (key) => asymmetricKey(key, true);
const createPublicKey = (key) => asymmetricKey(key, false);
function createSecretKey(key, encoding) {
  return secretKey(toBytes(key, encoding, "key").slice());
}

// The host's name for signing with `key` under digest `name` and the caller's options.
function scheme(name, key, options) {
  const k = key[kKey];
  const o = options || {};
  const type = k.asymmetricKeyType;
  if (type === "ed25519") {
    if (name !== null && name !== undefined) throw unsupported(`Digest ${name} with Ed25519 keys`);
    return "ed25519";
  }
  // No digest: what Node's OpenSSL defaults to for RSA and EC keys.
  const given = name === null || name === undefined ? "sha256" : name;
  const lower = typeof given === "string" ? given.toLowerCase().replace(/^(rsa-|ecdsa-with-)/, "") : given;
  const digest = DIGESTS[lower];
  if (!digest) throw new Error(`Invalid digest: ${name} (shoal's JS isolates sign with sha256, sha384 and sha512)`);
  if (type === "rsa") {
    if (o.padding !== undefined && o.padding !== 1 && o.padding !== RSA_PKCS1_PSS_PADDING) throw unsupported(`RSA padding ${o.padding}`);
    if (o.padding !== RSA_PKCS1_PSS_PADDING) return `rsa-pkcs1-${digest}`;
    const salt = o.saltLength;
    if (salt !== undefined && salt !== RSA_PSS_SALTLEN_DIGEST && salt !== RSA_PSS_SALTLEN_MAX_SIGN && salt !== DIGEST_BYTES[digest]) {
      throw unsupported(`PSS salt length ${salt} (the digest's length is used)`);
    }
    return `rsa-pss-${digest}`;
  }
  if (type === "ec") {
    const curve = k.asymmetricKeyDetails.namedCurve;
    if (CURVE_DIGEST[curve] !== digest) throw unsupported(`ECDSA on ${curve} with ${digest}`);
    return `ecdsa-${digest}` + (o.dsaEncoding === "ieee-p1363" ? "-p1363" : "");
  }
  throw unsupported(`Signing with ${type} keys`);
}

// Key options (`padding`, `saltLength`, `dsaEncoding`) given beside the key.
const keyOptions = (key) => (key !== null && typeof key === "object" && !(key instanceof KeyObject) && !ArrayBuffer.isView(key) ? key : {});

function signBytes(name, data, key) {
  const priv = createPrivateKey(key);
  return Buffer.from(host.sign(scheme(name, priv, keyOptions(key)), priv[kKey].pkcs8, data));
}

function verifyBytes(name, data, key, signature) {
  const pub = createPublicKey(key);
  return host.verify(scheme(name, pub, keyOptions(key)), pub[kKey].spki, data, signature);
}

// Sign and Verify keep what `update()` is given and sign it all at the end.
class Signer {
  constructor(name) {
    if (typeof name !== "string") {
      throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "algorithm" argument must be of type string. Received ${name === null ? "null" : typeof name}`);
    }
    this[kKey] = { name, chunks: [] };
  }
  update(data, encoding) {
    this[kKey].chunks.push(toBytes(data, encoding, "data").slice());
    return this;
  }
  write(data, encoding) {
    this.update(data, typeof encoding === "string" ? encoding : undefined);
    return true;
  }
  end(data, encoding) {
    if (data !== undefined && data !== null && typeof data !== "function") this.update(data, encoding);
    return this;
  }
}
class Sign extends Signer {
  sign(key, encoding) {
    const out = signBytes(this[kKey].name, concat(this[kKey].chunks), key);
    return encoding === undefined || encoding === "buffer" ? out : out.toString(encoding);
  }
}
class Verify extends Signer {
  verify(key, signature, encoding) {
    return verifyBytes(this[kKey].name, concat(this[kKey].chunks), key, toBytes(signature, encoding, "signature"));
  }
}

// crypto.sign/verify: synchronous, or through `callback` on the next tick.
function later(callback, work) {
  if (typeof callback !== "function") return work();
  let result, error = null;
  try {
    result = work();
  } catch (e) {
    error = e;
  }
  process.nextTick(() => callback(error, result));
  return undefined;
}

module.exports = {
  KeyObject,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  createSign: (name) => new Sign(name),
  createVerify: (name) => new Verify(name),
  Sign,
  Verify,
  sign: (name, data, key, callback) => later(callback, () => signBytes(name, toBytes(data, undefined, "data"), key)),
  verify: (name, data, key, signature, callback) =>
    later(callback, () => verifyBytes(name, toBytes(data, undefined, "data"), key, toBytes(signature, undefined, "signature"))),
  secretBytes: (key) => (key instanceof KeyObject && key.type === "secret" ? key[kKey].secret : undefined),
  constants: {
    RSA_PKCS1_PADDING: 1, RSA_NO_PADDING: 3, RSA_PKCS1_OAEP_PADDING: 4, RSA_PKCS1_PSS_PADDING,
    RSA_PSS_SALTLEN_DIGEST, RSA_PSS_SALTLEN_MAX_SIGN, RSA_PSS_SALTLEN_AUTO: -2,
  },
};

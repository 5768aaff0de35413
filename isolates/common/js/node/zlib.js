// node:zlib for shoal's JS isolates over `host.zlib(op, format, bytes)`: the sync, callback
// (and so `util.promisify`-able) forms of gzip/gunzip/deflate/inflate/deflateRaw/inflateRaw/
// unzip, their stream classes and `create*` factories, `crc32` and `constants`.
// Left out: compression options (`level`, `windowBits`, `dictionary`… are accepted and
// ignored: the host uses its defaults), brotli (throws), `flush()` mid-stream. The streams
// buffer their whole input and (de)compress it at `end()`.
"use strict";

const { Buffer } = require("buffer");
const { Transform } = require("stream");

const constants = {
  Z_NO_FLUSH: 0, Z_PARTIAL_FLUSH: 1, Z_SYNC_FLUSH: 2, Z_FULL_FLUSH: 3, Z_FINISH: 4, Z_BLOCK: 5,
  Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3,
  Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6, Z_NO_COMPRESSION: 0, Z_BEST_SPEED: 1,
  Z_BEST_COMPRESSION: 9, Z_DEFAULT_COMPRESSION: -1, Z_FILTERED: 1, Z_HUFFMAN_ONLY: 2, Z_RLE: 3,
  Z_FIXED: 4, Z_DEFAULT_STRATEGY: 0, ZLIB_VERNUM: 4865, DEFLATE: 1, INFLATE: 2, GZIP: 3,
  GUNZIP: 4, DEFLATERAW: 5, INFLATERAW: 6, UNZIP: 7, BROTLI_DECODE: 8, BROTLI_ENCODE: 9,
  Z_MIN_WINDOWBITS: 8, Z_MAX_WINDOWBITS: 15, Z_DEFAULT_WINDOWBITS: 15, Z_MIN_CHUNK: 64,
  Z_MAX_CHUNK: Infinity, Z_DEFAULT_CHUNK: 16384, Z_MIN_MEMLEVEL: 1, Z_MAX_MEMLEVEL: 9,
  Z_DEFAULT_MEMLEVEL: 8, Z_MIN_LEVEL: -1, Z_MAX_LEVEL: 9, Z_DEFAULT_LEVEL: -1,
};
const CODES = { "-1": "Z_ERRNO", "-2": "Z_STREAM_ERROR", "-3": "Z_DATA_ERROR", "-4": "Z_MEM_ERROR", "-5": "Z_BUF_ERROR" };

function toBytes(data, name = "buffer") {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const e = new TypeError(`The "${name}" argument must be of type string or an instance of Buffer, TypedArray, DataView, or ArrayBuffer. Received ${data === null ? "null" : typeof data}`);
  e.code = "ERR_INVALID_ARG_TYPE";
  throw e;
}

// What Node's zlib says about corrupt or truncated input.
function zlibError(err) {
  const text = String(err && err.message || err);
  let errno = -3, message = text;
  if (/end of (file|stream|input)|unexpected end|truncat|eof/i.test(text)) [errno, message] = [-5, "unexpected end of file"];
  else if (/header/i.test(text)) message = "incorrect header check";
  const e = new Error(message);
  e.errno = errno;
  e.code = CODES[errno];
  return e;
}

// op: "compress" | "decompress"; format: "gzip" | "deflate" | "raw" | "auto" (unzip).
function run(op, format, data) {
  const bytes = toBytes(data);
  if (format === "auto") format = bytes[0] === 0x1f && bytes[1] === 0x8b ? "gzip" : "deflate";
  let out;
  try {
    out = host.zlib(op, format, bytes);
  } catch (err) {
    throw zlibError(err);
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

const KINDS = {
  Gzip: ["compress", "gzip"], Gunzip: ["decompress", "gzip"], Deflate: ["compress", "deflate"],
  Inflate: ["decompress", "deflate"], DeflateRaw: ["compress", "raw"], InflateRaw: ["decompress", "raw"],
  Unzip: ["decompress", "auto"],
};

const kChunks = Symbol("chunks");
class Zlib extends Transform {
  constructor(kind, options) {
    super({ ...options, objectMode: false, readableObjectMode: false, writableObjectMode: false });
    this._kind = KINDS[kind];
    this[kChunks] = [];
    this.bytesWritten = 0;
    this._closed = false;
  }
  _transform(chunk, encoding, cb) {
    this[kChunks].push(chunk);
    this.bytesWritten += chunk.length;
    cb();
  }
  _flush(cb) {
    let out;
    try {
      out = run(this._kind[0], this._kind[1], Buffer.concat(this[kChunks]));
    } catch (err) {
      cb(err);
      return;
    }
    this[kChunks] = [];
    const size = this.readableHighWaterMark || 16384;
    for (let i = 0; i < out.length; i += size) this.push(out.subarray(i, i + size));
    cb();
  }
  flush(kind, cb) {
    if (typeof kind === "function") cb = kind;
    if (typeof cb === "function") process.nextTick(cb);
  }
  params(level, strategy, cb) {
    if (typeof cb === "function") process.nextTick(cb);
  }
  reset() {
    this[kChunks] = [];
  }
  close(cb) {
    if (typeof cb === "function") this.once("close", cb);
    this._closed = true;
    this.destroy();
  }
}

const zlib = { constants, Zlib, codes: { Z_OK: 0, Z_STREAM_END: 1, Z_NEED_DICT: 2, Z_ERRNO: -1, Z_STREAM_ERROR: -2, Z_DATA_ERROR: -3, Z_MEM_ERROR: -4, Z_BUF_ERROR: -5, Z_VERSION_ERROR: -6 } };
for (const [kind, [op, format]] of Object.entries(KINDS)) {
  const Class = {
    [kind]: class extends Zlib {
      constructor(options) {
        super(kind, options);
      }
    },
  }[kind];
  const name = kind[0].toLowerCase() + kind.slice(1);
  zlib[kind] = Class;
  zlib["create" + kind] = (options) => new Class(options);
  zlib[name + "Sync"] = (buffer, options) => run(op, format, buffer);
  zlib[name] = (buffer, options, callback) => {
    if (typeof options === "function") callback = options;
    if (typeof callback !== "function") {
      const e = new TypeError("The \"callback\" argument must be of type function");
      e.code = "ERR_INVALID_ARG_TYPE";
      throw e;
    }
    let result, error = null;
    try {
      result = run(op, format, buffer);
    } catch (err) {
      error = err;
    }
    process.nextTick(() => (error ? callback(error) : callback(null, result)));
  };
}

const brotli = () => {
  throw new Error("brotli is not supported in shoal's JS isolates");
};
for (const name of ["BrotliCompress", "BrotliDecompress"]) {
  zlib[name] = function () {
    brotli();
  };
  zlib["create" + name] = brotli;
}
for (const name of ["brotliCompress", "brotliDecompress", "brotliCompressSync", "brotliDecompressSync"]) zlib[name] = brotli;

let crcTable;
zlib.crc32 = (data, value = 0) => {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  const bytes = toBytes(data, "data");
  let crc = ~value;
  for (let i = 0; i < bytes.length; i++) crc = crcTable[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
};

for (const [k, v] of Object.entries(constants)) {
  if (k.startsWith("Z_")) zlib[k] = v;
}
module.exports = zlib;

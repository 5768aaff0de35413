// Node's `buffer` module for shoal's isolates: `Buffer` (a Uint8Array subclass, callable with
// or without `new` like Node's), its encodings (codecs shared with `internal/encoding`),
// reads/writes of every integer/float/BigInt width, search, compare, fill and swap, plus
// `SlowBuffer`, `kMaxLength`, `constants`, `atob`, `btoa`, `isUtf8`, `isAscii` and `Blob`
// (from `internal/web`). Left out: the 8 KiB allocation pool (every Buffer owns its memory),
// `transcode`, `File`, `resolveObjectURL`.
"use strict";

const enc = require("internal/encoding");
const { normalizeEncoding, unknownEncoding, invalidArgType } = enc;

const kMaxLength = 2 ** 32;
const kStringMaxLength = 2 ** 29 - 24;
const INSPECT_MAX_BYTES = 50;
const customInspect = Symbol.for("nodejs.util.inspect.custom");

function rangeError(name, range, value) {
  let shown = String(value);
  const big = typeof value === "bigint" ? value > 2n ** 32n || value < -(2n ** 32n)
    : Number.isInteger(value) && Math.abs(value) > 2 ** 32;
  if (big) shown = shown.replace(/\B(?=(\d{3})+$)/g, "_");
  if (typeof value === "bigint") shown += "n";
  const e = new RangeError(`The value of "${name}" is out of range. It must be ${range}. Received ${shown}`);
  e.code = "ERR_OUT_OF_RANGE";
  return e;
}

function bufferBounds() {
  const e = new RangeError("Attempt to access memory outside buffer bounds");
  e.code = "ERR_BUFFER_OUT_OF_BOUNDS";
  return e;
}

function isAnyArrayBuffer(v) {
  const tag = Object.prototype.toString.call(v);
  return tag === "[object ArrayBuffer]" || tag === "[object SharedArrayBuffer]";
}

function encodingOf(encoding) {
  const e = normalizeEncoding(encoding);
  if (e === undefined) throw unknownEncoding(encoding);
  return e;
}

// Buffers are instances of this class; `Buffer` itself is a function sharing its prototype,
// so that it works without `new` and as the species constructor of typed-array methods.
class FastBuffer extends Uint8Array {}

// Wraps memory as a Buffer without copying.
function wrap(bytes) {
  return new FastBuffer(bytes.buffer, bytes.byteOffset, bytes.length);
}

function Buffer(arg, encodingOrOffset, length) {
  if (typeof arg === "number") {
    return alloc(arg);
  }
  return from(arg, encodingOrOffset, length);
}
Object.setPrototypeOf(Buffer, Uint8Array);
Buffer.prototype = FastBuffer.prototype;
Object.defineProperty(FastBuffer.prototype, "constructor", {
  value: Buffer, writable: true, configurable: true, enumerable: false,
});
Buffer.poolSize = 8192;

function checkSize(size) {
  if (typeof size !== "number") throw invalidArgType("size", "of type number", size);
  if (!(size >= 0 && size <= kMaxLength)) throw rangeError("size", `>= 0 && <= ${kMaxLength}`, size);
}

function alloc(size, fill, encoding) {
  checkSize(size);
  const buf = new FastBuffer(size);
  if (fill !== undefined && fill !== 0 && size > 0) buf.fill(fill, 0, size, encoding);
  return buf;
}

function allocUnsafe(size) {
  checkSize(size);
  return new FastBuffer(size);
}

function fromString(string, encoding) {
  const e = typeof encoding === "string" && encoding.length ? encodingOf(encoding) : "utf8";
  return wrap(enc.encode(string, e));
}

function fromArrayLike(obj) {
  const len = obj.length >>> 0;
  const buf = new FastBuffer(len);
  for (let i = 0; i < len; i++) buf[i] = obj[i];
  return buf;
}

function from(value, encodingOrOffset, length) {
  if (typeof value === "string") return fromString(value, encodingOrOffset);
  if (typeof value === "object" && value !== null) {
    if (isAnyArrayBuffer(value)) {
      const offset = encodingOrOffset === undefined ? 0 : +encodingOrOffset || 0;
      const max = value.byteLength - offset;
      if (max < 0) throw bufferRange("offset");
      let len = max;
      if (length !== undefined) {
        len = +length || 0;
        if (len > max) throw bufferRange("length");
        if (len < 0) len = 0;
      }
      return new FastBuffer(value, offset, len);
    }
    if (ArrayBuffer.isView(value)) {
      if (value instanceof Uint8Array || Object.prototype.toString.call(value) === "[object Uint8Array]") {
        return wrap(new Uint8Array(value.buffer, value.byteOffset, value.length).slice());
      }
      if (typeof value.length !== "number") {
        return wrap(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice());
      }
      return fromArrayLike(value);
    }
    const primitive = value.valueOf && value.valueOf();
    if (primitive != null && primitive !== value) return from(primitive, encodingOrOffset, length);
    if (typeof value.length === "number" || Array.isArray(value)) return fromArrayLike(value);
    if (value.type === "Buffer" && Array.isArray(value.data)) return fromArrayLike(value.data);
    if (typeof value[Symbol.toPrimitive] === "function") {
      const p = value[Symbol.toPrimitive]("string");
      if (typeof p === "string") return fromString(p, encodingOrOffset);
    }
  }
  throw invalidArgType("first argument",
    "of type string or an instance of Buffer, ArrayBuffer, or Array or an Array-like Object", value);
}

function bufferRange(name) {
  const e = new RangeError(`"${name}" is outside of buffer bounds`);
  e.code = "ERR_BUFFER_OUT_OF_BOUNDS";
  return e;
}

function isBuffer(b) {
  return b instanceof Buffer;
}

function isUint8(v) {
  return v instanceof Uint8Array || Object.prototype.toString.call(v) === "[object Uint8Array]";
}

function byteLength(string, encoding) {
  if (typeof string !== "string") {
    if (ArrayBuffer.isView(string) || isAnyArrayBuffer(string)) return string.byteLength;
    throw invalidArgType("string", "of type string or an instance of Buffer or ArrayBuffer", string);
  }
  switch (normalizeEncoding(encoding) || "utf8") {
    case "utf8": return enc.utf8Length(string);
    case "utf16le": return string.length * 2;
    case "latin1": case "ascii": return string.length;
    case "hex": return string.length >>> 1;
    default: return enc.base64Length(string);
  }
}

function compare(a, b) {
  if (!isUint8(a)) throw invalidArgType("buf1", "an instance of Buffer or Uint8Array", a);
  if (!isUint8(b)) throw invalidArgType("buf2", "an instance of Buffer or Uint8Array", b);
  return compareRange(a, 0, a.length, b, 0, b.length);
}

function compareRange(a, aStart, aEnd, b, bStart, bEnd) {
  const n = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i], y = b[bStart + i];
    if (x !== y) return x < y ? -1 : 1;
  }
  const la = aEnd - aStart, lb = bEnd - bStart;
  return la < lb ? -1 : la > lb ? 1 : 0;
}

function concat(list, totalLength) {
  if (!Array.isArray(list)) throw invalidArgType("list", "an instance of Array", list);
  if (list.length === 0) return new FastBuffer(0);
  if (totalLength === undefined) {
    totalLength = 0;
    for (let i = 0; i < list.length; i++) {
      if (!isUint8(list[i])) throw invalidArgType(`list[${i}]`, "an instance of Buffer or Uint8Array", list[i]);
      totalLength += list[i].length;
    }
  }
  const out = alloc(totalLength >>> 0);
  let pos = 0;
  for (let i = 0; i < list.length && pos < out.length; i++) {
    const b = list[i];
    if (!isUint8(b)) throw invalidArgType(`list[${i}]`, "an instance of Buffer or Uint8Array", b);
    const n = Math.min(b.length, out.length - pos);
    out.set(n === b.length ? b : b.subarray(0, n), pos);
    pos += n;
  }
  return out;
}

Object.assign(Buffer, {
  from,
  alloc,
  allocUnsafe,
  allocUnsafeSlow: allocUnsafe,
  isBuffer,
  isEncoding: (e) => typeof e === "string" && e.length !== 0 && normalizeEncoding(e) !== undefined,
  byteLength,
  compare,
  concat,
  copyBytesFrom(view, offset = 0, length) {
    if (!ArrayBuffer.isView(view)) throw invalidArgType("view", "an instance of TypedArray", view);
    const size = view.BYTES_PER_ELEMENT || 1;
    const end = length === undefined ? view.length : Math.min(view.length, offset + length);
    const start = Math.min(offset, view.length);
    return wrap(new Uint8Array(view.buffer, view.byteOffset + start * size, Math.max(0, end - start) * size).slice());
  },
});

// --- instance methods ---

const proto = FastBuffer.prototype;

// Clamps [start, end) to the buffer the way Buffer#toString does.
function clampRange(len, start, end) {
  start = start === undefined ? 0 : Math.max(0, Math.trunc(+start) || 0);
  end = end === undefined ? len : Math.min(len, Math.trunc(+end) || 0);
  return [start, end];
}

proto.toString = function toString(encoding, start, end) {
  if (arguments.length === 0) return enc.utf8Decode(this, 0, this.length);
  [start, end] = clampRange(this.length, start, end);
  if (end <= start) return "";
  return enc.decode(this, encodingOf(encoding), start, end);
};
proto.toLocaleString = proto.toString;
Object.defineProperty(proto, "parent", { configurable: true, enumerable: true, get() { return this.buffer; } });
Object.defineProperty(proto, "offset", { configurable: true, enumerable: true, get() { return this.byteOffset; } });

proto.toJSON = function toJSON() {
  return { type: "Buffer", data: Array.from(this) };
};

proto.equals = function equals(other) {
  if (!isUint8(other)) throw invalidArgType("otherBuffer", "an instance of Buffer or Uint8Array", other);
  return this === other || compareRange(this, 0, this.length, other, 0, other.length) === 0;
};

function offsetArg(name, value, dflt, max) {
  if (value === undefined) return dflt;
  if (typeof value !== "number") throw invalidArgType(name, "of type number", value);
  if (!Number.isInteger(value)) throw rangeError(name, "an integer", value);
  if (value < 0 || value > max) throw rangeError(name, `>= 0 && <= ${max}`, value);
  return value;
}

proto.compare = function compare(target, targetStart, targetEnd, sourceStart, sourceEnd) {
  if (!isUint8(target)) throw invalidArgType("target", "an instance of Buffer or Uint8Array", target);
  targetStart = offsetArg("targetStart", targetStart, 0, kMaxLength);
  targetEnd = offsetArg("targetEnd", targetEnd, target.length, target.length);
  sourceStart = offsetArg("sourceStart", sourceStart, 0, kMaxLength);
  sourceEnd = offsetArg("sourceEnd", sourceEnd, this.length, this.length);
  if (sourceStart >= sourceEnd) return targetStart >= targetEnd ? 0 : -1;
  if (targetStart >= targetEnd) return 1;
  return compareRange(this, sourceStart, sourceEnd, target, targetStart, targetEnd);
};

proto.copy = function copy(target, targetStart, sourceStart, sourceEnd) {
  if (!isUint8(target) && !ArrayBuffer.isView(target)) {
    throw invalidArgType("target", "an instance of Buffer or Uint8Array", target);
  }
  targetStart = targetStart === undefined ? 0 : Math.trunc(+targetStart) || 0;
  sourceStart = sourceStart === undefined ? 0 : Math.trunc(+sourceStart) || 0;
  sourceEnd = sourceEnd === undefined ? this.length : Math.trunc(+sourceEnd) || 0;
  if (targetStart < 0) throw rangeError("targetStart", `>= 0 && <= ${target.byteLength}`, targetStart);
  if (sourceStart < 0 || sourceStart > this.length) {
    throw rangeError("sourceStart", `>= 0 && <= ${this.length}`, sourceStart);
  }
  if (sourceEnd < 0) throw rangeError("sourceEnd", ">= 0", sourceEnd);
  const dest = isUint8(target) ? target : new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  sourceEnd = Math.min(sourceEnd, this.length);
  if (targetStart >= dest.length || sourceStart >= sourceEnd) return 0;
  const n = Math.min(sourceEnd - sourceStart, dest.length - targetStart);
  dest.set(this.subarray(sourceStart, sourceStart + n), targetStart);
  return n;
};

// Node's slice shares memory (unlike Uint8Array#slice).
function relIndex(value, len, dflt) {
  if (value === undefined) return dflt;
  value = Math.trunc(+value) || 0;
  if (value < 0) return Math.max(0, len + value);
  return Math.min(value, len);
}
proto.slice = function slice(start, end) {
  const len = this.length;
  const s = relIndex(start, len, 0);
  const e = relIndex(end, len, len);
  return new FastBuffer(this.buffer, this.byteOffset + s, Math.max(0, e - s));
};
proto.subarray = function subarray(start, end) {
  return proto.slice.call(this, start, end);
};

proto.write = function write(string, offset, length, encoding) {
  if (typeof string !== "string") throw invalidArgType("argument", "of type string", string);
  if (typeof offset === "string") {
    encoding = offset;
    offset = 0;
    length = this.length;
  } else if (typeof length === "string") {
    encoding = length;
    length = undefined;
  }
  offset = offsetArg("offset", offset, 0, this.length);
  const room = this.length - offset;
  length = length === undefined ? room : Math.min(room, offsetArg("length", length, room, this.length));
  const e = encodingOf(encoding);
  if (e === "utf8") return enc.utf8Write(string, this, offset, offset + length)[1];
  let bytes = enc.encode(string, e);
  let n = Math.min(bytes.length, length);
  if (e === "utf16le") n -= n & 1;
  this.set(n === bytes.length ? bytes : bytes.subarray(0, n), offset);
  return n;
};

proto.fill = function fill(value, offset, end, encoding) {
  if (typeof offset === "string") {
    encoding = offset;
    offset = 0;
    end = this.length;
  } else if (typeof end === "string") {
    encoding = end;
    end = this.length;
  }
  offset = offsetArg("offset", offset, 0, this.length);
  end = offsetArg("end", end, this.length, this.length);
  if (end <= offset) return this;
  if (typeof value === "number" || typeof value === "boolean") {
    Uint8Array.prototype.fill.call(this, Number(value) & 255, offset, end);
    return this;
  }
  let bytes;
  if (typeof value === "string") {
    const e = encodingOf(encoding);
    if (value.length === 1 && e === "utf8" && value.charCodeAt(0) < 128) {
      Uint8Array.prototype.fill.call(this, value.charCodeAt(0), offset, end);
      return this;
    }
    bytes = enc.encode(value, e);
    if (bytes.length === 0 && value.length !== 0) {
      const err = new TypeError(`The argument 'value' is invalid. Received '${value}'`);
      err.code = "ERR_INVALID_ARG_VALUE";
      throw err;
    }
  } else if (isUint8(value) || ArrayBuffer.isView(value)) {
    bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (bytes.length === 0) {
      const err = new TypeError("The argument 'value' is invalid. Received " + (isBuffer(value) ? "<Buffer >" : "Uint8Array(0) []"));
      err.code = "ERR_INVALID_ARG_VALUE";
      throw err;
    }
  } else {
    Uint8Array.prototype.fill.call(this, Number(value) & 255, offset, end);
    return this;
  }
  if (bytes.length === 0) bytes = [0];
  if (bytes.buffer === this.buffer) bytes = bytes.slice();
  for (let i = offset, j = 0; i < end; i++) {
    this[i] = bytes[j];
    if (++j === bytes.length) j = 0;
  }
  return this;
};

// --- search ---

function needleBytes(value, encoding) {
  if (typeof value === "string") return enc.encode(value, encodingOf(encoding));
  if (isUint8(value)) return value;
  throw invalidArgType("value", "one of type number or string or an instance of Buffer or Uint8Array", value);
}

function search(buf, value, byteOffset, encoding, forward) {
  if (typeof byteOffset === "string") {
    encoding = byteOffset;
    byteOffset = undefined;
  }
  const len = buf.length;
  let from;
  byteOffset = byteOffset === undefined || byteOffset === null ? undefined : +byteOffset;
  if (byteOffset === undefined || Number.isNaN(byteOffset)) from = forward ? 0 : len;
  else {
    from = Math.trunc(byteOffset);
    if (from < 0) from += len;
  }
  if (typeof value === "number") {
    const v = value >>> 0 & 255;
    if (forward) {
      for (let i = Math.max(0, from); i < len; i++) if (buf[i] === v) return i;
    } else {
      for (let i = Math.min(from, len - 1); i >= 0; i--) if (buf[i] === v) return i;
    }
    return -1;
  }
  const needle = needleBytes(value, encoding);
  const n = needle.length;
  if (n === 0) return Math.min(Math.max(from, 0), len);
  const step = encoding !== undefined && normalizeEncoding(encoding) === "utf16le" ? 2 : 1;
  const match = (i) => {
    for (let k = 0; k < n; k++) if (buf[i + k] !== needle[k]) return false;
    return true;
  };
  if (forward) {
    for (let i = Math.max(0, from); i + n <= len; i += step) if (match(i)) return i;
  } else {
    if (from < 0) return -1;
    for (let i = Math.min(from, len - n); i >= 0; i -= step) if (match(i)) return i;
  }
  return -1;
}

proto.indexOf = function indexOf(value, byteOffset, encoding) {
  return search(this, value, byteOffset, encoding, true);
};
proto.lastIndexOf = function lastIndexOf(value, byteOffset, encoding) {
  return search(this, value, byteOffset, encoding, false);
};
proto.includes = function includes(value, byteOffset, encoding) {
  return search(this, value, byteOffset, encoding, true) !== -1;
};

// --- swaps ---

function swapper(size) {
  return function () {
    if (this.length % size !== 0) {
      const e = new RangeError(`Buffer size must be a multiple of ${size * 8}-bits`);
      e.code = "ERR_INVALID_BUFFER_SIZE";
      throw e;
    }
    for (let i = 0; i < this.length; i += size) {
      for (let a = i, b = i + size - 1; a < b; a++, b--) {
        const t = this[a];
        this[a] = this[b];
        this[b] = t;
      }
    }
    return this;
  };
}
proto.swap16 = swapper(2);
proto.swap32 = swapper(4);
proto.swap64 = swapper(8);

// --- numeric reads and writes ---

function checkOffsetType(offset) {
  if (offset === undefined) return 0;
  if (typeof offset !== "number") throw invalidArgType("offset", "of type number", offset);
  return offset;
}

function checkOffset(buf, offset, size) {
  offset = checkOffsetType(offset);
  if (!Number.isInteger(offset)) throw rangeError("offset", "an integer", offset);
  if (offset < 0 || offset + size > buf.length) {
    if (buf.length - size < 0) throw bufferBounds();
    throw rangeError("offset", `>= 0 and <= ${buf.length - size}`, offset);
  }
  return offset;
}

function checkByteLength(n) {
  if (typeof n !== "number") throw invalidArgType("byteLength", "of type number", n);
  if (!Number.isInteger(n) || n < 1 || n > 6) throw rangeError("byteLength", ">= 1 and <= 6", n);
}

function readUInt(buf, offset, size, little) {
  let v = 0;
  if (little) for (let i = size - 1; i >= 0; i--) v = v * 256 + buf[offset + i];
  else for (let i = 0; i < size; i++) v = v * 256 + buf[offset + i];
  return v;
}

function readInt(buf, offset, size, little) {
  const v = readUInt(buf, offset, size, little);
  const limit = 2 ** (size * 8 - 1);
  return v >= limit ? v - limit * 2 : v;
}

function writeInt(buf, value, offset, size, little, min, max) {
  checkOffsetType(offset);
  if (typeof value !== "number") value = +value;
  if (value > max || value < min) {
    const bits = size * 8;
    let range;
    if (size > 4) {
      range = min === 0 ? `>= 0 and < 2 ** ${bits}` : `>= -(2 ** ${bits - 1}) and < 2 ** ${bits - 1}`;
    } else {
      range = `>= ${min} and <= ${max}`;
    }
    throw rangeError("value", range, value);
  }
  offset = checkOffset(buf, offset, size);
  let v = Math.trunc(value) || 0;
  if (v < 0) v += 2 ** (size * 8);
  for (let i = 0; i < size; i++) {
    buf[offset + (little ? i : size - 1 - i)] = v % 256;
    v = Math.floor(v / 256);
  }
  return offset + size;
}

const widths = { 8: 1, 16: 2, 32: 4 };
for (const bits of [8, 16, 32]) {
  const size = widths[bits];
  for (const end of bits === 8 ? [""] : ["LE", "BE"]) {
    const little = end === "LE";
    const umax = 2 ** bits - 1;
    const smax = 2 ** (bits - 1) - 1;
    const names = {
      [`readUInt${bits}${end}`]: function (offset) {
        return readUInt(this, checkOffset(this, offset, size), size, little);
      },
      [`readInt${bits}${end}`]: function (offset) {
        return readInt(this, checkOffset(this, offset, size), size, little);
      },
      [`writeUInt${bits}${end}`]: function (value, offset) {
        return writeInt(this, value, offset, size, little, 0, umax);
      },
      [`writeInt${bits}${end}`]: function (value, offset) {
        return writeInt(this, value, offset, size, little, -smax - 1, smax);
      },
    };
    for (const [name, fn] of Object.entries(names)) {
      Object.defineProperty(fn, "name", { value: name });
      proto[name] = fn;
      if (name.includes("UInt")) proto[name.replace("UInt", "Uint")] = fn;
    }
  }
}

for (const end of ["LE", "BE"]) {
  const little = end === "LE";
  const define = (name, fn) => {
    proto[name] = fn;
    if (name.includes("UInt")) proto[name.replace("UInt", "Uint")] = fn;
  };
  const required = (offset) => {
    if (offset === undefined) throw invalidArgType("offset", "of type number", offset);
  };
  define(`readUInt${end}`, function (offset, byteLength) {
    required(offset);
    checkByteLength(byteLength);
    return readUInt(this, checkOffset(this, offset, byteLength), byteLength, little);
  });
  define(`readInt${end}`, function (offset, byteLength) {
    required(offset);
    checkByteLength(byteLength);
    return readInt(this, checkOffset(this, offset, byteLength), byteLength, little);
  });
  define(`writeUInt${end}`, function (value, offset, byteLength) {
    checkByteLength(byteLength);
    return writeInt(this, value, offset, byteLength, little, 0, 2 ** (8 * byteLength) - 1);
  });
  define(`writeInt${end}`, function (value, offset, byteLength) {
    checkByteLength(byteLength);
    const max = 2 ** (8 * byteLength - 1);
    return writeInt(this, value, offset, byteLength, little, -max, max - 1);
  });

  const view = (buf) => new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataView = [["Float", 4, "Float32"], ["Double", 8, "Float64"]];
  for (const [name, size, dv] of dataView) {
    proto[`read${name}${end}`] = function (offset) {
      offset = checkOffset(this, offset, size);
      return view(this)[`get${dv}`](offset, little);
    };
    proto[`write${name}${end}`] = function (value, offset) {
      offset = checkOffset(this, offset, size);
      view(this)[`set${dv}`](offset, +value, little);
      return offset + size;
    };
  }
  define(`readBigUInt64${end}`, function (offset) {
    offset = checkOffset(this, offset, 8);
    return view(this).getBigUint64(offset, little);
  });
  define(`readBigInt64${end}`, function (offset) {
    offset = checkOffset(this, offset, 8);
    return view(this).getBigInt64(offset, little);
  });
  const bigWrite = (signed) => function (value, offset) {
    const lo = signed ? -(2n ** 63n) : 0n;
    const hi = signed ? 2n ** 63n : 2n ** 64n;
    if (value < lo || value >= hi) {
      throw rangeError("value", signed ? ">= -(2n ** 63n) and < 2n ** 63n" : ">= 0n and < 2n ** 64n", value);
    }
    offset = checkOffset(this, offset, 8);
    if (typeof value !== "bigint") throw new TypeError("Cannot mix BigInt and other types, use explicit conversions");
    view(this)[signed ? "setBigInt64" : "setBigUint64"](offset, value, little);
    return offset + 8;
  };
  define(`writeBigUInt64${end}`, bigWrite(false));
  define(`writeBigInt64${end}`, bigWrite(true));
}

// --- inspection ---

proto[customInspect] = function inspect(depth, options) {
  const max = INSPECT_MAX_BYTES;
  const shown = Math.min(max, this.length);
  let s = enc.hexEncode(this, 0, shown).replace(/(.{2})(?!$)/g, "$1 ");
  if (this.length > max) s += ` ... ${this.length - max} more byte${this.length - max > 1 ? "s" : ""}`;
  return `<${this.constructor.name} ${s}>`;
};
proto.inspect = proto[customInspect];

// --- the rest of the module ---

function SlowBuffer(size) {
  return allocUnsafe(size);
}
SlowBuffer.prototype = FastBuffer.prototype;
Object.setPrototypeOf(SlowBuffer, Uint8Array);

function isUtf8(input) {
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : isAnyArrayBuffer(input) ? new Uint8Array(input) : undefined;
  if (!bytes) throw invalidArgType("input", "an instance of ArrayBuffer, Buffer, or TypedArray", input);
  try {
    enc.utf8Decode(bytes, 0, bytes.length, true);
    return true;
  } catch {
    return false;
  }
}

function isAscii(input) {
  const bytes = ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
    : isAnyArrayBuffer(input) ? new Uint8Array(input) : undefined;
  if (!bytes) throw invalidArgType("input", "an instance of ArrayBuffer, Buffer, or TypedArray", input);
  return bytes.every((b) => b < 0x80);
}

module.exports = {
  Buffer,
  SlowBuffer,
  kMaxLength,
  kStringMaxLength,
  INSPECT_MAX_BYTES,
  constants: { MAX_LENGTH: kMaxLength, MAX_STRING_LENGTH: kStringMaxLength },
  atob: enc.atob,
  btoa: enc.btoa,
  isUtf8,
  isAscii,
};
Object.defineProperty(module.exports, "Blob", {
  enumerable: true,
  configurable: true,
  get: () => require("internal/web").Blob,
});

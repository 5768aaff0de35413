// How node:crypto's functions take bytes: a string (in `encoding`, UTF-8 by default), an
// ArrayBuffer or any view of one, as a Uint8Array (over the caller's memory for buffers and
// views, so `.slice()` makes the copy a function keeps); anything else is Node's
// ERR_INVALID_ARG_TYPE naming argument `name`.
"use strict";

const { Buffer } = require("buffer");
const { nodeError } = require("internal/errors");

function toBytes(data, encoding, name = "data") {
  if (typeof data === "string") {
    const b = Buffer.from(data, encoding || "utf8");
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", `The "${name}" argument must be of type string or an instance of Buffer, TypedArray, or DataView. Received ${data === null ? "null" : typeof data}`);
}

module.exports = { toBytes };

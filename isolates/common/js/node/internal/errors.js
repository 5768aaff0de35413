// Error shapes the built-in modules share: Node's coded errors (`err.code`) and the
// `AbortError` an aborted operation rejects with.
"use strict";

/** A `Type` error with Node's `code` (e.g. `ERR_INVALID_ARG_TYPE`). */
function nodeError(Type, code, message) {
  const e = new Type(message);
  e.code = code;
  return e;
}

/** The error an operation aborted through `signal` rejects with. */
function abortError(signal) {
  const e = new Error("The operation was aborted");
  e.name = "AbortError";
  e.code = "ABORT_ERR";
  if (signal && signal.reason !== undefined) e.cause = signal.reason;
  return e;
}

module.exports = { nodeError, abortError };

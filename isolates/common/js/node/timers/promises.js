// Node's `timers/promises`: `setTimeout(ms, value, {signal})`, `setImmediate(value, {signal})`,
// `setInterval(ms, value, {signal})` (an async iterator) and `scheduler.wait`/`scheduler.yield`.
// Left out: the `ref` option (there is no event loop to keep alive).
"use strict";

const g = globalThis;

const { abortError } = require("internal/errors");

function checkOptions(options) {
  if (options === null || typeof options !== "object") {
    const e = new TypeError(`The "options" argument must be of type object. Received ${options === null ? "null" : `type ${typeof options} (${String(options)})`}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  return options.signal;
}

function delayed(schedule, cancel, value, options) {
  let signal;
  try {
    signal = checkOptions(options);
  } catch (e) {
    return Promise.reject(e);
  }
  if (signal && signal.aborted) return Promise.reject(abortError(signal));
  return new Promise((resolve, reject) => {
    let onAbort;
    const id = schedule(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve(value);
    });
    if (signal) {
      onAbort = () => {
        cancel(id);
        reject(abortError(signal));
      };
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
}

function setTimeout(delay, value, options = {}) {
  return delayed((f) => g.setTimeout(f, delay), (id) => g.clearTimeout(id), value, options);
}

function setImmediate(value, options = {}) {
  return delayed((f) => g.setImmediate(f), (id) => g.clearImmediate(id), value, options);
}

function setInterval(delay, value, options = {}) {
  const signal = checkOptions(options);
  let ticks = 0;
  let wake = null;
  let done = false;
  let id;
  const start = () => {
    id = g.setInterval(() => {
      ticks++;
      if (wake) {
        const w = wake;
        wake = null;
        w();
      }
    }, delay);
  };
  const stop = () => {
    done = true;
    g.clearInterval(id);
    if (signal) signal.removeEventListener("abort", onAbort);
  };
  const onAbort = () => {
    stop();
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  if (signal) {
    if (signal.aborted) done = true;
    else signal.addEventListener("abort", onAbort, { once: true });
  }
  const aborted = signal && signal.aborted;
  if (!done) start();
  return {
    async next() {
      if (aborted || (signal && signal.aborted)) {
        stop();
        throw abortError(signal);
      }
      if (done) return { value: undefined, done: true };
      if (ticks === 0) await new Promise((r) => (wake = r));
      if (signal && signal.aborted) throw abortError(signal);
      if (done) return { value: undefined, done: true };
      ticks--;
      return { value, done: false };
    },
    async return() {
      stop();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

const scheduler = {
  wait: (delay, options) => setTimeout(delay, undefined, options),
  yield: () => setImmediate(),
};

module.exports = { setTimeout, setImmediate, setInterval, scheduler };

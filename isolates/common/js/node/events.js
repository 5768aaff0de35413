// Node's `events`: `EventEmitter` (callable as a function for old-style inheritance, listeners
// kept in `_events` like Node so libraries that peek at it keep working), `once` (promise
// form, AbortSignal aware), `on` (async iterator), `listenerCount`, `getEventListeners`,
// `setMaxListeners`, `errorMonitor`, `defaultMaxListeners`.
// Left out: `captureRejections` (accepted, ignored), domains, `EventEmitterAsyncResource`.
"use strict";

let defaultMaxListeners = 10;
const errorMonitor = Symbol("events.errorMonitor");
const captureRejectionSymbol = Symbol.for("nodejs.rejection");
const kWarned = Symbol("warned");

function checkListener(listener) {
  if (typeof listener !== "function") {
    const e = new TypeError(`The "listener" argument must be of type function. Received ${
      listener === null ? "null" : typeof listener === "object" ? "an instance of " + (listener.constructor?.name || "Object") : `type ${typeof listener} (${String(listener)})`}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
}

function checkCount(name, n) {
  if (typeof n !== "number" || n < 0 || Number.isNaN(n)) {
    const e = new RangeError(`The value of "${name}" is out of range. It must be a non-negative number. Received ${String(n)}`);
    e.code = "ERR_OUT_OF_RANGE";
    throw e;
  }
}

function EventEmitter(opts) {
  EventEmitter.init.call(this, opts);
}

EventEmitter.init = function (opts) {
  if (this._events === undefined || this._events === Object.getPrototypeOf(this)._events) {
    this._events = Object.create(null);
    this._eventsCount = 0;
  }
  this._maxListeners = this._maxListeners || undefined;
  if (opts && opts.captureRejections) this[Symbol.for("kCapture")] = true;
};

function events(emitter) {
  if (emitter._events === undefined) {
    emitter._events = Object.create(null);
    emitter._eventsCount = 0;
  }
  return emitter._events;
}

function maxOf(emitter) {
  return emitter._maxListeners === undefined ? defaultMaxListeners : emitter._maxListeners;
}

function addListener(target, type, listener, prepend) {
  checkListener(listener);
  let list = events(target);
  if (list.newListener !== undefined) {
    target.emit("newListener", type, listener.listener ? listener.listener : listener);
    list = target._events;
  }
  let existing = list[type];
  if (existing === undefined) {
    list[type] = listener;
    target._eventsCount++;
    return target;
  }
  if (typeof existing === "function") {
    existing = list[type] = prepend ? [listener, existing] : [existing, listener];
  } else if (prepend) existing.unshift(listener);
  else existing.push(listener);
  const max = maxOf(target);
  if (max > 0 && existing.length > max && !existing[kWarned]) {
    existing[kWarned] = true;
    const name = typeof type === "symbol" ? type.toString() : type;
    const w = new Error(`Possible EventEmitter memory leak detected. ${existing.length} ${name} listeners added to ${
      "[" + (target.constructor?.name || "EventEmitter") + "]"}. MaxListeners is ${max}. Use emitter.setMaxListeners() to increase limit`);
    w.name = "MaxListenersExceededWarning";
    w.emitter = target;
    w.type = type;
    w.count = existing.length;
    if (typeof process !== "undefined" && typeof process.emitWarning === "function") process.emitWarning(w);
  }
  return target;
}

function onceWrapper(target, type, listener) {
  const state = { fired: false, target, type, listener };
  const wrapped = function (...args) {
    if (state.fired) return undefined;
    state.fired = true;
    target.removeListener(type, wrapped);
    return listener.apply(target, args);
  };
  wrapped.listener = listener;
  return wrapped;
}

const proto = EventEmitter.prototype;
proto._events = undefined;
proto._eventsCount = 0;
proto._maxListeners = undefined;

proto.setMaxListeners = function setMaxListeners(n) {
  checkCount("n", n);
  this._maxListeners = n;
  return this;
};
proto.getMaxListeners = function getMaxListeners() {
  return maxOf(this);
};

proto.emit = function emit(type, ...args) {
  const list = this._events;
  if (type === "error") {
    if (list !== undefined && list[errorMonitor] !== undefined) this.emit(errorMonitor, ...args);
    if (list === undefined || list.error === undefined) {
      const er = args[0];
      if (er instanceof Error || (er && typeof er === "object" && typeof er.stack === "string" && "message" in er)) throw er;
      let shown;
      try {
        shown = require("util").inspect(er);
      } catch {
        shown = String(er);
      }
      const e = new Error(`Unhandled error. (${shown})`);
      e.code = "ERR_UNHANDLED_ERROR";
      e.context = er;
      throw e;
    }
  }
  if (list === undefined) return false;
  const handler = list[type];
  if (handler === undefined) return false;
  if (typeof handler === "function") {
    handler.apply(this, args);
  } else {
    const listeners = handler.slice();
    for (let i = 0; i < listeners.length; i++) listeners[i].apply(this, args);
  }
  return true;
};

proto.addListener = function addListener_(type, listener) {
  return addListener(this, type, listener, false);
};
proto.on = proto.addListener;
proto.prependListener = function prependListener(type, listener) {
  return addListener(this, type, listener, true);
};
proto.once = function once(type, listener) {
  checkListener(listener);
  return addListener(this, type, onceWrapper(this, type, listener), false);
};
proto.prependOnceListener = function prependOnceListener(type, listener) {
  checkListener(listener);
  return addListener(this, type, onceWrapper(this, type, listener), true);
};

proto.removeListener = function removeListener(type, listener) {
  checkListener(listener);
  const list = this._events;
  if (list === undefined) return this;
  const existing = list[type];
  if (existing === undefined) return this;
  if (existing === listener || existing.listener === listener) {
    if (--this._eventsCount === 0) this._events = Object.create(null);
    else delete list[type];
    if (list.removeListener !== undefined) this.emit("removeListener", type, existing.listener || listener);
    return this;
  }
  if (typeof existing === "function") return this;
  for (let i = existing.length - 1; i >= 0; i--) {
    if (existing[i] === listener || existing[i].listener === listener) {
      const removed = existing[i];
      if (i === 0) existing.shift();
      else existing.splice(i, 1);
      if (existing.length === 1) list[type] = existing[0];
      if (list.removeListener !== undefined) this.emit("removeListener", type, removed.listener || removed);
      break;
    }
  }
  return this;
};
proto.off = proto.removeListener;

proto.removeAllListeners = function removeAllListeners(type) {
  const list = this._events;
  if (list === undefined) return this;
  if (list.removeListener === undefined) {
    if (arguments.length === 0) {
      this._events = Object.create(null);
      this._eventsCount = 0;
    } else if (list[type] !== undefined) {
      if (--this._eventsCount === 0) this._events = Object.create(null);
      else delete list[type];
    }
    return this;
  }
  if (arguments.length === 0) {
    for (const key of Reflect.ownKeys(list)) {
      if (key !== "removeListener") this.removeAllListeners(key);
    }
    this.removeAllListeners("removeListener");
    this._events = Object.create(null);
    this._eventsCount = 0;
    return this;
  }
  const listeners = list[type];
  if (typeof listeners === "function") this.removeListener(type, listeners);
  else if (listeners !== undefined) {
    for (let i = listeners.length - 1; i >= 0; i--) this.removeListener(type, listeners[i]);
  }
  return this;
};

function listenersOf(target, type, unwrap) {
  const list = target._events;
  if (list === undefined || list[type] === undefined) return [];
  const l = list[type];
  if (typeof l === "function") return [unwrap && l.listener ? l.listener : l];
  return unwrap ? l.map((f) => f.listener || f) : l.slice();
}

proto.listeners = function listeners(type) {
  return listenersOf(this, type, true);
};
proto.rawListeners = function rawListeners(type) {
  return listenersOf(this, type, false);
};
proto.listenerCount = function listenerCount(type, listener) {
  const l = this._events !== undefined ? this._events[type] : undefined;
  if (l === undefined) return 0;
  if (typeof l === "function") return listener === undefined || l === listener || l.listener === listener ? 1 : 0;
  if (listener === undefined) return l.length;
  return l.filter((f) => f === listener || f.listener === listener).length;
};
proto.eventNames = function eventNames() {
  return this._eventsCount > 0 ? Reflect.ownKeys(this._events) : [];
};

// --- static helpers ---

const { abortError } = require("internal/errors");

function once(emitter, name, options = {}) {
  const signal = options && options.signal;
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(abortError(signal));
      return;
    }
    if (typeof emitter.addEventListener === "function" && typeof emitter.on !== "function") {
      const listener = (...args) => {
        if (signal) signal.removeEventListener("abort", abort);
        resolve(args);
      };
      const abort = () => {
        emitter.removeEventListener(name, listener);
        reject(abortError(signal));
      };
      emitter.addEventListener(name, listener, { once: true });
      if (signal) signal.addEventListener("abort", abort, { once: true });
      return;
    }
    const cleanup = () => {
      emitter.removeListener(name, resolver);
      if (name !== "error") emitter.removeListener("error", errorListener);
      if (signal) signal.removeEventListener("abort", abort);
    };
    const resolver = (...args) => {
      cleanup();
      resolve(args);
    };
    const errorListener = (err) => {
      cleanup();
      reject(err);
    };
    const abort = () => {
      cleanup();
      reject(abortError(signal));
    };
    emitter.on(name, resolver);
    if (name !== "error") emitter.on("error", errorListener);
    if (signal) signal.addEventListener("abort", abort, { once: true });
  });
}

// An async iterator over `name` events; rejects on 'error'.
function on(emitter, name, options = {}) {
  const signal = options && options.signal;
  const queue = [];
  const waiting = [];
  let error = null;
  let done = false;
  const listener = (...args) => {
    const w = waiting.shift();
    if (w) w.resolve({ value: args, done: false });
    else queue.push(args);
  };
  const errorListener = (err) => {
    done = true;
    const w = waiting.shift();
    if (w) w.reject(err);
    else error = err;
    iterator.return();
  };
  const abort = () => errorListener(abortError(signal));
  const iterator = {
    next() {
      if (queue.length) return Promise.resolve({ value: queue.shift(), done: false });
      if (error) {
        const p = Promise.reject(error);
        error = null;
        return p;
      }
      if (done) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return() {
      emitter.removeListener(name, listener);
      emitter.removeListener("error", errorListener);
      if (signal) signal.removeEventListener("abort", abort);
      done = true;
      for (const w of waiting.splice(0)) w.resolve({ value: undefined, done: true });
      return Promise.resolve({ value: undefined, done: true });
    },
    throw(err) {
      errorListener(err);
      return Promise.reject(err);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  if (signal && signal.aborted) {
    error = abortError(signal);
    done = true;
    return iterator;
  }
  emitter.on(name, listener);
  if (name !== "error") emitter.on("error", errorListener);
  if (signal) signal.addEventListener("abort", abort, { once: true });
  return iterator;
}

function getEventListeners(emitter, name) {
  if (typeof emitter.listeners === "function") return emitter.listeners(name);
  return [];
}

Object.defineProperty(EventEmitter, "defaultMaxListeners", {
  enumerable: true,
  get: () => defaultMaxListeners,
  set(n) {
    checkCount("defaultMaxListeners", n);
    defaultMaxListeners = n;
  },
});

Object.assign(EventEmitter, {
  EventEmitter,
  once,
  on,
  errorMonitor,
  captureRejectionSymbol,
  captureRejections: false,
  usingDomains: false,
  getEventListeners,
  listenerCount: (emitter, type) => typeof emitter.listenerCount === "function"
    ? emitter.listenerCount(type) : proto.listenerCount.call(emitter, type),
  setMaxListeners(n = defaultMaxListeners, ...targets) {
    checkCount("n", n);
    if (targets.length === 0) defaultMaxListeners = n;
    for (const t of targets) if (typeof t.setMaxListeners === "function") t.setMaxListeners(n);
  },
});

module.exports = EventEmitter;

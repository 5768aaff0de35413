// node:stream for shoal's JS isolates: `Stream` (legacy, with `pipe`), `Readable` (paused and
// flowing modes, `readable` events, `pipe` with backpressure, `unshift`, `setEncoding`, async
// iteration, `Readable.from`), `Writable` (`_write`/`_writev`/`_final`, `cork`, `drain`),
// `Duplex`, `Transform`, `PassThrough`, `pipeline` and `finished` (callbacks; `promises` for
// the promise forms), `addAbortSignal`, `isReadable`/`isErrored`/`isDisturbed`.
// Left out: `construct`, the `Readable` operators (`map`, `filter`, `toArray`…), `compose`,
// `Duplex.from`, web-stream adapters, and `readable.wrap`.
"use strict";

const EE = require("events");
const EventEmitter = EE.EventEmitter || EE;
const { Buffer } = require("buffer");
const nextTick = (fn, ...args) => process.nextTick(fn, ...args);

const { nodeError } = require("internal/errors");

// --- legacy Stream ---
class Stream extends EventEmitter {
  pipe(dest, options) {
    const source = this;
    const ondata = (chunk) => {
      if (dest.writable && dest.write(chunk) === false && source.pause) source.pause();
    };
    const ondrain = () => {
      if (source.readable && source.resume) source.resume();
    };
    source.on("data", ondata);
    dest.on("drain", ondrain);
    if (!dest._isStdio && (!options || options.end !== false)) source.once("end", () => dest.end());
    dest.emit("pipe", source);
    return dest;
  }
}

const isStream = (s) => s !== null && typeof s === "object" && typeof s.on === "function" &&
  (typeof s.pipe === "function" || typeof s.write === "function");
const chunkLength = (state, chunk) => (state.objectMode ? 1 : chunk.length);

// --- Readable ---
class ReadableState {
  constructor(options, stream, duplexKey) {
    const o = options || {};
    this.objectMode = !!(o.objectMode || (duplexKey && o.readableObjectMode));
    const hwm = o.readableHighWaterMark !== undefined && duplexKey ? o.readableHighWaterMark : o.highWaterMark;
    this.highWaterMark = hwm !== undefined ? Math.floor(hwm) : this.objectMode ? 16 : 16384;
    this.buffer = [];
    this.length = 0;
    this.pipes = [];
    this.flowing = null;
    this.ended = false;
    this.endEmitted = false;
    this.reading = false;
    this.sync = false;
    this.needReadable = false;
    this.emittedReadable = false;
    this.readableListening = false;
    this.scheduled = false;
    this.destroyed = false;
    this.closed = false;
    this.errored = null;
    this.errorEmitted = false;
    this.emitClose = o.emitClose !== false;
    this.autoDestroy = o.autoDestroy !== false;
    this.decoder = null;
    this.encoding = null;
    this.dataEmitted = false;
    this.awaitDrain = 0;
    if (o.encoding) this.setEncoding(o.encoding);
  }
  setEncoding(enc) {
    const { StringDecoder } = require("string_decoder");
    this.decoder = new StringDecoder(enc);
    this.encoding = this.decoder.encoding;
  }
}

class Readable extends Stream {
  constructor(options) {
    super(options);
    this._readableState = new ReadableState(options, this, this instanceof Duplex);
    if (options) {
      if (typeof options.read === "function") this._read = options.read;
      if (typeof options.destroy === "function") this._destroy = options.destroy;
      if (options.signal) addAbortSignal(options.signal, this);
    }
  }
  _read() {
    throw nodeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", "The _read() method is not implemented");
  }
  push(chunk, encoding) {
    return addChunk(this, chunk, encoding, false);
  }
  unshift(chunk, encoding) {
    return addChunk(this, chunk, encoding, true);
  }
  read(n) {
    const state = this._readableState;
    if (n === undefined) n = NaN;
    else n = Number(n);
    const wantAll = Number.isNaN(n);
    if (n === 0 && (state.length >= state.highWaterMark || state.ended) && state.length > 0) {
      emitReadable(this);
      return null;
    }
    if (state.ended && state.length === 0) {
      endMaybe(this);
      return null;
    }
    // Ask for more before taking from the buffer, so sources keep ahead of the consumer.
    if (!state.ended && !state.reading && !state.destroyed && state.length - (wantAll ? state.length : n) < state.highWaterMark) {
      state.reading = true;
      state.sync = true;
      try {
        this._read(state.highWaterMark);
      } catch (err) {
        this.destroy(err);
      }
      state.sync = false;
    }
    let out = null;
    if (state.length > 0 && n !== 0) {
      if (state.objectMode || (wantAll && state.flowing)) out = takeObject(state);
      else if (wantAll) out = takeAll(state);
      else if (n <= state.length || state.ended) out = takeBytes(state, Math.min(n, state.length));
    }
    if (out === null) {
      state.needReadable = true;
    } else {
      state.length -= chunkLength(state, out);
      if (state.length === 0 && !state.ended) state.needReadable = true;
    }
    if (state.ended && state.length === 0) endMaybe(this);
    if (out !== null) {
      state.dataEmitted = true;
      this.emit("data", out);
    }
    return out;
  }
  setEncoding(enc) {
    const state = this._readableState;
    state.setEncoding(enc);
    if (!state.objectMode && state.buffer.length) {
      const all = state.buffer.map((c) => (typeof c === "string" ? c : state.decoder.write(c))).join("");
      state.buffer = all ? [all] : [];
      state.length = all.length;
    }
    return this;
  }
  on(event, fn) {
    const res = super.on(event, fn);
    const state = this._readableState;
    if (event === "data") {
      state.readableListening = this.listenerCount("readable") > 0;
      if (state.flowing !== false) this.resume();
    } else if (event === "readable" && !state.endEmitted && !state.readableListening) {
      state.readableListening = state.needReadable = true;
      state.flowing = false;
      state.emittedReadable = false;
      if (state.length) emitReadable(this);
      else if (!state.reading) nextTick(() => this.read(0));
    }
    return res;
  }
  removeListener(event, fn) {
    const res = super.removeListener(event, fn);
    if (event === "readable") nextTick(() => updateReadableListening(this));
    return res;
  }
  off(event, fn) {
    return this.removeListener(event, fn);
  }
  removeAllListeners(event) {
    const res = super.removeAllListeners(event);
    if (event === "readable" || event === undefined) nextTick(() => updateReadableListening(this));
    return res;
  }
  resume() {
    const state = this._readableState;
    if (!state.flowing) {
      state.flowing = !state.readableListening;
      scheduleFlow(this);
    }
    return this;
  }
  pause() {
    const state = this._readableState;
    if (state.flowing !== false) {
      state.flowing = false;
      this.emit("pause");
    }
    return this;
  }
  isPaused() {
    return this._readableState.flowing === false;
  }
  pipe(dest, options) {
    const src = this;
    const state = this._readableState;
    state.pipes.push(dest);
    const doEnd = (!options || options.end !== false) && dest !== process.stdout && dest !== process.stderr;
    let waiting = false;
    const ondata = (chunk) => {
      if (dest.write(chunk) === false && !waiting) {
        waiting = true;
        state.awaitDrain++;
        src.pause();
      }
    };
    const ondrain = () => {
      if (waiting) {
        waiting = false;
        state.awaitDrain--;
      }
      if (state.awaitDrain === 0) src.resume();
    };
    const onend = () => {
      if (doEnd) dest.end();
    };
    const onerror = (err) => {
      unpipe();
      dest.removeListener("error", onerror);
      if (dest.listenerCount("error") === 0) dest.emit("error", err);
    };
    const onclose = () => unpipe();
    const unpipe = () => {
      src.removeListener("data", ondata);
      src.removeListener("end", onend);
      dest.removeListener("drain", ondrain);
      dest.removeListener("close", onclose);
      dest.removeListener("finish", onclose);
      dest.removeListener("unpipe", onunpipe);
      if (waiting) state.awaitDrain--;
      waiting = false;
      const i = state.pipes.indexOf(dest);
      if (i >= 0) state.pipes.splice(i, 1);
    };
    const onunpipe = (s) => {
      if (s === src) unpipe();
    };
    src.on("data", ondata);
    if (state.endEmitted) nextTick(onend);
    else src.once("end", onend);
    dest.on("drain", ondrain);
    prependOnce(dest, "error", onerror);
    dest.once("close", onclose);
    dest.once("finish", onclose);
    dest.on("unpipe", onunpipe);
    dest.emit("pipe", src);
    if (!state.flowing) src.resume();
    return dest;
  }
  unpipe(dest) {
    const state = this._readableState;
    const targets = dest ? (state.pipes.includes(dest) ? [dest] : []) : state.pipes.slice();
    for (const d of targets) d.emit("unpipe", this, { hasUnpiped: false });
    if (state.pipes.length === 0) this.pause();
    return this;
  }
  destroy(err, cb) {
    return destroy(this, err, cb);
  }
  _destroy(err, cb) {
    cb(err);
  }
  [Symbol.asyncIterator]() {
    return iterate(this);
  }
  get readable() {
    const s = this._readableState;
    return !s.destroyed && !s.errored && !s.endEmitted && this._readableEnabled !== false;
  }
  set readable(v) {
    this._readableEnabled = !!v;
  }
  get readableEnded() {
    return this._readableState.endEmitted;
  }
  get readableFlowing() {
    return this._readableState.flowing;
  }
  set readableFlowing(v) {
    this._readableState.flowing = v;
  }
  get readableLength() {
    return this._readableState.length;
  }
  get readableHighWaterMark() {
    return this._readableState.highWaterMark;
  }
  get readableObjectMode() {
    return this._readableState.objectMode;
  }
  get readableEncoding() {
    return this._readableState.encoding;
  }
  get readableAborted() {
    const s = this._readableState;
    return s.destroyed && !s.endEmitted;
  }
  get readableDidRead() {
    return this._readableState.dataEmitted;
  }
  get destroyed() {
    return this._readableState.destroyed;
  }
  set destroyed(v) {
    this._readableState.destroyed = !!v;
  }
  get closed() {
    return this._readableState.closed;
  }
  get errored() {
    return this._readableState.errored;
  }
  static from(iterable, options) {
    return from(iterable, options);
  }
}

function prependOnce(emitter, event, fn) {
  if (typeof emitter.prependListener === "function") {
    const wrapped = (...a) => {
      emitter.removeListener(event, wrapped);
      fn(...a);
    };
    emitter.prependListener(event, wrapped);
  } else emitter.once(event, fn);
}

function updateReadableListening(stream) {
  const state = stream._readableState;
  state.readableListening = stream.listenerCount("readable") > 0;
  if (!state.readableListening && stream.listenerCount("data") > 0) stream.resume();
}

function addChunk(stream, chunk, encoding, front) {
  const state = stream._readableState;
  if (chunk === null) {
    state.reading = false;
    if (!state.ended) {
      state.ended = true;
      if (state.decoder) {
        const rest = state.decoder.end();
        if (rest) {
          state.buffer.push(rest);
          state.length += rest.length;
        }
      }
      if (state.sync) emitReadable(stream);
      else {
        state.needReadable = false;
        state.emittedReadable = true;
        emitReadableNow(stream);
      }
    }
    return false;
  }
  if (state.ended && !front) {
    errorOrDestroy(stream, nodeError(Error, "ERR_STREAM_PUSH_AFTER_EOF", "stream.push() after EOF"));
    return false;
  }
  if (state.destroyed || state.errored) return false;
  if (!state.objectMode) {
    if (typeof chunk === "string") {
      if (!state.decoder || (encoding && encoding !== state.encoding)) chunk = Buffer.from(chunk, encoding || "utf8");
    } else if (chunk instanceof Uint8Array) {
      if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      errorOrDestroy(stream, nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"chunk\" argument must be of type string or an instance of Buffer or Uint8Array"));
      return false;
    }
    if (state.decoder && typeof chunk !== "string") chunk = front ? state.decoder.write(chunk) : state.decoder.write(chunk);
    if (chunk.length === 0) {
      state.reading = false;
      if (!front) maybeReadMore(stream);
      return state.length < state.highWaterMark;
    }
  }
  if (!front) state.reading = false;
  if (!front && state.flowing && state.length === 0 && !state.sync && stream.listenerCount("data") > 0) {
    state.dataEmitted = true;
    stream.emit("data", chunk);
  } else {
    state.length += chunkLength(state, chunk);
    if (front) state.buffer.unshift(chunk);
    else state.buffer.push(chunk);
    if (state.needReadable) emitReadable(stream);
  }
  maybeReadMore(stream);
  return state.length < state.highWaterMark;
}

function takeObject(state) {
  return state.buffer.shift();
}
function takeAll(state) {
  const b = state.buffer;
  state.buffer = [];
  if (b.length === 1) return b[0];
  return state.decoder ? b.join("") : Buffer.concat(b);
}
function takeBytes(state, n) {
  let out = state.decoder ? "" : [];
  let need = n;
  while (need > 0) {
    const first = state.buffer[0];
    if (first.length <= need) {
      state.buffer.shift();
      need -= first.length;
      if (state.decoder) out += first;
      else out.push(first);
    } else {
      state.buffer[0] = first.slice(need);
      if (state.decoder) out += first.slice(0, need);
      else out.push(first.slice(0, need));
      need = 0;
    }
  }
  return state.decoder ? out : out.length === 1 ? out[0] : Buffer.concat(out);
}

function emitReadable(stream) {
  const state = stream._readableState;
  state.needReadable = false;
  if (!state.emittedReadable) {
    state.emittedReadable = true;
    nextTick(emitReadableNow, stream);
  }
}
function emitReadableNow(stream) {
  const state = stream._readableState;
  if (!state.destroyed && !state.errored && (state.length || state.ended)) {
    stream.emit("readable");
    state.emittedReadable = false;
  }
  state.needReadable = !state.flowing && !state.ended && state.length <= state.highWaterMark;
  flow(stream);
}

function maybeReadMore(stream) {
  const state = stream._readableState;
  if (state.readingMore) return;
  state.readingMore = true;
  nextTick(() => {
    while (!state.reading && !state.ended && !state.destroyed &&
      (state.length < state.highWaterMark || (state.flowing && state.length === 0))) {
      const len = state.length;
      stream.read(0);
      if (len === state.length) break;
    }
    state.readingMore = false;
  });
}

function scheduleFlow(stream) {
  const state = stream._readableState;
  if (state.scheduled) return;
  state.scheduled = true;
  nextTick(() => {
    state.scheduled = false;
    if (!state.reading) stream.read(0);
    stream.emit("resume");
    flow(stream);
    if (state.flowing && !state.reading) stream.read(0);
  });
}
function flow(stream) {
  const state = stream._readableState;
  while (state.flowing && !state.destroyed && stream.read() !== null);
}

function endMaybe(stream) {
  const state = stream._readableState;
  if (state.endEmitted || state.endScheduled) return;
  state.endScheduled = true;
  nextTick(() => {
    if (state.endEmitted || state.length !== 0 || state.errored || state.destroyed) {
      state.endScheduled = false;
      return;
    }
    state.endEmitted = true;
    stream.emit("end");
    const ws = stream._writableState;
    if (ws && stream.allowHalfOpen === false && !ws.ending) stream.end();
    if (state.autoDestroy && (!ws || (ws.finished && ws.autoDestroy !== false) || stream._writableEnabled === false)) {
      stream.destroy();
    }
  });
}

function iterate(stream) {
  let error = null, done = false, wake = null;
  const kick = () => {
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
  };
  stream.on("readable", kick);
  const onend = () => {
    done = true;
    kick();
  };
  stream.on("end", onend);
  stream.on("error", (e) => {
    error = e;
    kick();
  });
  stream.on("close", () => {
    if (!stream._readableState.endEmitted && !error) {
      error = nodeError(Error, "ERR_STREAM_PREMATURE_CLOSE", "Premature close");
    }
    done = true;
    kick();
  });
  async function* gen() {
    let finishedOk = false;
    try {
      for (;;) {
        if (error && !(stream._readableState.endEmitted && error.code === "ERR_STREAM_PREMATURE_CLOSE")) throw error;
        const chunk = stream.destroyed ? null : stream.read();
        if (chunk !== null) yield chunk;
        else if (done || stream._readableState.endEmitted) break;
        else await new Promise((resolve) => (wake = resolve));
      }
      finishedOk = true;
    } finally {
      if (!finishedOk || !stream._readableState.endEmitted) {
        if (!stream.destroyed) stream.destroy();
      } else stream.removeListener("end", onend);
    }
  }
  return gen();
}

function from(iterable, options) {
  if (iterable === null || iterable === undefined) {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"iterable\" argument must be an instance of Iterable. Received " + iterable);
  }
  if (typeof iterable === "string" || iterable instanceof Uint8Array) {
    return new Readable({
      objectMode: true, ...options,
      read() {
        this.push(iterable);
        this.push(null);
      },
    });
  }
  let it;
  if (typeof iterable[Symbol.asyncIterator] === "function") it = iterable[Symbol.asyncIterator]();
  else if (typeof iterable[Symbol.iterator] === "function") it = iterable[Symbol.iterator]();
  else throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"iterable\" argument must be an instance of Iterable");
  let reading = false;
  const readable = new Readable({
    objectMode: true, highWaterMark: 1, ...options,
    read() {
      if (reading) return;
      reading = true;
      const next = async () => {
        try {
          for (;;) {
            const { value, done } = await it.next();
            if (done) {
              this.push(null);
              break;
            }
            const v = await value;
            if (v === null) throw nodeError(TypeError, "ERR_STREAM_NULL_VALUES", "May not write null values to stream");
            if (!this.push(v)) break;
          }
        } catch (err) {
          this.destroy(err);
        }
        reading = false;
      };
      next();
    },
    destroy(err, cb) {
      const ret = typeof it.return === "function" && !this._readableState.endEmitted ? it.return() : undefined;
      Promise.resolve(ret).then(() => cb(err), (e) => cb(err || e));
    },
  });
  return readable;
}

// --- Writable ---
class WritableState {
  constructor(options, stream, duplexKey) {
    const o = options || {};
    this.objectMode = !!(o.objectMode || (duplexKey && o.writableObjectMode));
    const hwm = o.writableHighWaterMark !== undefined && duplexKey ? o.writableHighWaterMark : o.highWaterMark;
    this.highWaterMark = hwm !== undefined ? Math.floor(hwm) : this.objectMode ? 16 : 16384;
    this.decodeStrings = o.decodeStrings !== false;
    this.defaultEncoding = o.defaultEncoding || "utf8";
    this.length = 0;
    this.writing = false;
    this.corked = 0;
    this.queue = [];
    this.needDrain = false;
    this.ending = false;
    this.ended = false;
    this.finalCalled = false;
    this.prefinished = false;
    this.finished = false;
    this.destroyed = false;
    this.closed = false;
    this.errored = null;
    this.errorEmitted = false;
    this.pendingcb = 0;
    this.emitClose = o.emitClose !== false;
    this.autoDestroy = o.autoDestroy !== false;
    this.endCallbacks = [];
  }
}

class Writable extends Stream {
  constructor(options) {
    super(options);
    initWritable(this, options);
  }
  static [Symbol.hasInstance](obj) {
    if (this !== Writable) return Function.prototype[Symbol.hasInstance].call(this, obj);
    return obj != null && (Function.prototype[Symbol.hasInstance].call(Writable, obj) || obj._writableState instanceof WritableState);
  }
}
function initWritable(stream, options) {
  stream._writableState = new WritableState(options, stream, stream instanceof Duplex);
  if (options) {
    if (typeof options.write === "function") stream._write = options.write;
    if (typeof options.writev === "function") stream._writev = options.writev;
    if (typeof options.final === "function") stream._final = options.final;
    if (typeof options.destroy === "function") stream._destroy = options.destroy;
    if (options.signal && !(stream instanceof Readable)) addAbortSignal(options.signal, stream);
  }
}
const writableMethods = {
  _write(chunk, encoding, cb) {
    if (this._writev) this._writev([{ chunk, encoding }], cb);
    else throw nodeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", "The _write() method is not implemented");
  },
  write(chunk, encoding, cb) {
    const state = this._writableState;
    if (typeof encoding === "function") [cb, encoding] = [encoding, null];
    if (!encoding) encoding = state.defaultEncoding;
    if (typeof cb !== "function") cb = () => {};
    let err;
    if (chunk === null) err = nodeError(TypeError, "ERR_STREAM_NULL_VALUES", "May not write null values to stream");
    else if (!state.objectMode) {
      if (typeof chunk === "string") {
        if (state.decodeStrings) {
          chunk = Buffer.from(chunk, encoding);
          encoding = "buffer";
        }
      } else if (chunk instanceof Uint8Array) {
        if (!Buffer.isBuffer(chunk)) chunk = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        encoding = "buffer";
      } else {
        err = nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"chunk\" argument must be of type string or an instance of Buffer or Uint8Array");
      }
    }
    if (!err && state.ending) err = nodeError(Error, "ERR_STREAM_WRITE_AFTER_END", "write after end");
    else if (!err && state.destroyed) err = nodeError(Error, "ERR_STREAM_DESTROYED", "Cannot call write after a stream was destroyed");
    if (err) {
      nextTick(cb, err);
      errorOrDestroy(this, err, true);
      return false;
    }
    const len = state.objectMode ? 1 : chunk.length;
    state.length += len;
    const ret = state.length < state.highWaterMark;
    if (!ret) state.needDrain = true;
    state.pendingcb++;
    if (state.writing || state.corked || state.errored) state.queue.push({ chunk, encoding, cb, len });
    else doWrite(this, [{ chunk, encoding, cb, len }]);
    return ret && !state.errored && !state.destroyed;
  },
  cork() {
    this._writableState.corked++;
  },
  uncork() {
    const state = this._writableState;
    if (state.corked) {
      state.corked--;
      if (!state.writing && !state.corked) clearQueue(this);
    }
  },
  setDefaultEncoding(encoding) {
    this._writableState.defaultEncoding = String(encoding).toLowerCase();
    return this;
  },
  end(chunk, encoding, cb) {
    const state = this._writableState;
    if (typeof chunk === "function") [cb, chunk, encoding] = [chunk, null, null];
    else if (typeof encoding === "function") [cb, encoding] = [encoding, null];
    if (chunk !== null && chunk !== undefined) this.write(chunk, encoding);
    if (state.corked) {
      state.corked = 1;
      this.uncork();
    }
    let err;
    if (!state.errored && !state.ending) {
      state.ending = true;
      finishMaybe(this);
      state.ended = true;
    } else if (state.finished) err = nodeError(Error, "ERR_STREAM_ALREADY_FINISHED", "Cannot call end after a stream was finished");
    else if (state.destroyed) err = nodeError(Error, "ERR_STREAM_DESTROYED", "Cannot call end after a stream was destroyed");
    if (typeof cb === "function") {
      if (err || state.finished) nextTick(cb, err);
      else state.endCallbacks.push(cb);
    }
    return this;
  },
  destroy(err, cb) {
    return destroy(this, err, cb);
  },
  _destroy(err, cb) {
    cb(err);
  },
};
const writableGetters = {
  writable() {
    const s = this._writableState;
    return !s.destroyed && !s.errored && !s.ending && this._writableEnabled !== false;
  },
  writableEnded() {
    return this._writableState.ending;
  },
  writableFinished() {
    return this._writableState.finished;
  },
  writableLength() {
    return this._writableState.length;
  },
  writableHighWaterMark() {
    return this._writableState.highWaterMark;
  },
  writableObjectMode() {
    return this._writableState.objectMode;
  },
  writableCorked() {
    return this._writableState.corked;
  },
  writableNeedDrain() {
    const s = this._writableState;
    return !s.destroyed && !s.ending && s.needDrain;
  },
};
function installWritable(proto, own) {
  for (const [k, fn] of Object.entries(writableMethods)) {
    if (k === "destroy" || k === "_destroy") {
      if (!own) continue;
    }
    Object.defineProperty(proto, k, { value: fn, writable: true, configurable: true });
  }
  for (const [k, get] of Object.entries(writableGetters)) {
    const desc = { get, configurable: true };
    if (k === "writable") desc.set = function (v) {
      this._writableEnabled = !!v;
    };
    Object.defineProperty(proto, k, desc);
  }
  if (own) {
    for (const k of ["destroyed", "closed", "errored"]) {
      Object.defineProperty(proto, k, {
        configurable: true,
        get() {
          return k === "destroyed" ? this._writableState.destroyed : this._writableState[k];
        },
        set(v) {
          if (k === "destroyed") this._writableState.destroyed = !!v;
        },
      });
    }
  }
}
installWritable(Writable.prototype, true);

function doWrite(stream, entries) {
  const state = stream._writableState;
  state.writing = true;
  state.sync = true;
  let called = false;
  const onwrite = (err) => {
    if (called) {
      errorOrDestroy(stream, nodeError(Error, "ERR_MULTIPLE_CALLBACK", "Callback called multiple times"));
      return;
    }
    called = true;
    state.writing = false;
    for (const e of entries) state.length -= e.len;
    if (err) {
      state.errored = state.errored || err;
      for (const e of entries) {
        state.pendingcb--;
        nextTick(e.cb, err);
      }
      errorOrDestroy(stream, err, true);
      return;
    }
    const after = () => {
      for (const e of entries) {
        state.pendingcb--;
        e.cb(null);
      }
      if (state.needDrain && state.length === 0 && !state.ending && !state.destroyed) {
        state.needDrain = false;
        stream.emit("drain");
      }
      finishMaybe(stream);
    };
    if (state.queue.length && !state.corked && !state.destroyed) clearQueue(stream);
    if (state.sync) nextTick(after);
    else after();
  };
  try {
    if (entries.length > 1) stream._writev(entries.map(({ chunk, encoding }) => ({ chunk, encoding })), onwrite);
    else stream._write(entries[0].chunk, entries[0].encoding, onwrite);
  } catch (err) {
    onwrite(err);
  }
  state.sync = false;
}
function clearQueue(stream) {
  const state = stream._writableState;
  if (!state.queue.length || state.writing || state.destroyed) return;
  const hasWritev = typeof stream._writev === "function" && stream._writev !== null;
  if (hasWritev && state.queue.length > 1) {
    const entries = state.queue;
    state.queue = [];
    doWrite(stream, entries);
  } else doWrite(stream, [state.queue.shift()]);
}

function finishMaybe(stream) {
  const state = stream._writableState;
  if (!state.ending || state.length !== 0 || state.queue.length || state.writing || state.finished ||
    state.errored || state.destroyed || state.pendingcb > 0) return;
  if (!state.prefinished) {
    state.prefinished = true;
    if (typeof stream._final === "function" && !state.finalCalled) {
      state.finalCalled = true;
      state.pendingcb++;
      nextTick(() => {
        let called = false;
        try {
          stream._final((err) => {
            if (called) return;
            called = true;
            state.pendingcb--;
            if (err) {
              for (const cb of state.endCallbacks.splice(0)) cb(err);
              errorOrDestroy(stream, err, true);
              return;
            }
            stream.emit("prefinish");
            finishMaybe(stream);
          });
        } catch (err) {
          state.pendingcb--;
          errorOrDestroy(stream, err, true);
        }
      });
      return;
    }
    stream.emit("prefinish");
  }
  if (state.pendingcb > 0 || state.finishScheduled) return;
  state.finishScheduled = true;
  const finish = () => {
    if (state.errored || state.destroyed || state.finished) return;
    state.finished = true;
    for (const cb of state.endCallbacks.splice(0)) cb(null);
    stream.emit("finish");
    const rs = stream._readableState;
    if (state.autoDestroy && (!rs || (rs.autoDestroy && (rs.endEmitted || stream._readableEnabled === false)))) {
      stream.destroy();
    }
  };
  nextTick(finish);
}

// --- destroy & errors ---
function destroy(stream, err, cb) {
  const r = stream._readableState;
  const w = stream._writableState;
  const s = r || w;
  if (s.destroyed) {
    if (typeof cb === "function") cb(err);
    return stream;
  }
  if (err) {
    if (r && !r.errored) r.errored = err;
    if (w && !w.errored) w.errored = err;
  }
  if (r) r.destroyed = true;
  if (w) w.destroyed = true;
  const done = (er) => {
    if (er) {
      if (r && !r.errored) r.errored = er;
      if (w && !w.errored) w.errored = er;
    }
    if (r) r.closed = true;
    if (w) w.closed = true;
    if (typeof cb === "function") cb(er);
    nextTick(() => {
      if (er && !(r && r.errorEmitted) && !(w && w.errorEmitted)) {
        if (r) r.errorEmitted = true;
        if (w) w.errorEmitted = true;
        stream.emit("error", er);
      }
      if ((r || w).emitClose) stream.emit("close");
    });
  };
  try {
    stream._destroy(err || null, done);
  } catch (e) {
    done(e);
  }
  return stream;
}
function errorOrDestroy(stream, err, sync) {
  const r = stream._readableState;
  const w = stream._writableState;
  if ((w && w.destroyed) || (r && r.destroyed)) return;
  if ((r && r.autoDestroy) || (w && w.autoDestroy)) stream.destroy(err);
  else if (err) {
    if (r && !r.errored) r.errored = err;
    if (w && !w.errored) w.errored = err;
    const emit = () => stream.emit("error", err);
    if (sync) nextTick(emit);
    else emit();
  }
}

// --- Duplex, Transform, PassThrough ---
class Duplex extends Readable {
  constructor(options) {
    super(options);
    initWritable(this, options);
    this.allowHalfOpen = !options || options.allowHalfOpen !== false;
    if (options) {
      if (options.readable === false) this._readableEnabled = false;
      if (options.writable === false) this._writableEnabled = false;
    }
  }
}
installWritable(Duplex.prototype, false);

const kCallback = Symbol("callback");
class Transform extends Duplex {
  constructor(options) {
    super(options);
    this[kCallback] = null;
    if (options) {
      if (typeof options.transform === "function") this._transform = options.transform;
      if (typeof options.flush === "function") this._flush = options.flush;
    }
  }
  _transform() {
    throw nodeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", "The _transform() method is not implemented");
  }
  _write(chunk, encoding, callback) {
    const rs = this._readableState;
    const length = rs.length;
    this._transform(chunk, encoding, (err, data) => {
      if (err) {
        callback(err);
        return;
      }
      if (data != null) this.push(data);
      if (this._writableState.ended || length === rs.length || rs.length < rs.highWaterMark) callback();
      else this[kCallback] = callback;
    });
  }
  _read() {
    const cb = this[kCallback];
    if (cb) {
      this[kCallback] = null;
      cb();
    }
  }
  _final(cb) {
    if (typeof this._flush === "function" && !this.destroyed) {
      this._flush((err, data) => {
        if (err) {
          cb(err);
          return;
        }
        if (data != null) this.push(data);
        this.push(null);
        cb();
      });
    } else {
      this.push(null);
      cb();
    }
  }
}

class PassThrough extends Transform {
  _transform(chunk, encoding, cb) {
    cb(null, chunk);
  }
}

// --- finished, pipeline ---
function finished(stream, options, callback) {
  if (typeof options === "function") [callback, options] = [options, {}];
  options = options || {};
  let called = false;
  const cb = (err) => {
    if (called) return;
    called = true;
    callback.call(stream, err);
  };
  const r = stream._readableState;
  const w = stream._writableState;
  const readable = options.readable !== false && !!r && stream._readableEnabled !== false &&
    !(r && stream.readable === undefined);
  const writable = options.writable !== false && !!w && stream._writableEnabled !== false;
  let readDone = !readable || (r && r.endEmitted);
  let writeDone = !writable || (w && w.finished);
  const check = () => {
    if (readDone && writeDone) cb();
  };
  const onend = () => {
    readDone = true;
    check();
  };
  const onfinish = () => {
    writeDone = true;
    check();
  };
  const onerror = (err) => cb(err);
  const onclose = () => {
    const err = (r && r.errored) || (w && w.errored);
    if (err) cb(err);
    else if ((readable && !readDone) || (writable && !writeDone)) {
      cb(nodeError(Error, "ERR_STREAM_PREMATURE_CLOSE", "Premature close"));
    } else cb();
  };
  const isLegacy = !r && !w;
  const onlegacyfinish = () => cb();
  stream.on("end", onend);
  stream.on("finish", onfinish);
  if (options.error !== false) stream.on("error", onerror);
  stream.on("close", onclose);
  if (isLegacy) {
    stream.on("end", onlegacyfinish);
    stream.on("finish", onlegacyfinish);
  }
  function cleanup() {
    stream.removeListener("end", onend);
    stream.removeListener("finish", onfinish);
    stream.removeListener("error", onerror);
    stream.removeListener("close", onclose);
    stream.removeListener("end", onlegacyfinish);
    stream.removeListener("finish", onlegacyfinish);
  }
  const err = (r && r.errored) || (w && w.errored);
  if (err) nextTick(() => cb(err));
  else if ((r || w) && (r || w).closed) nextTick(onclose);
  else if (!isLegacy && readDone && writeDone) nextTick(() => cb());
  if (options.signal) {
    const abort = () => cb(options.signal.reason);
    if (options.signal.aborted) nextTick(abort);
    else options.signal.addEventListener("abort", abort, { once: true });
  }
  return cleanup;
}

function pipeline(...streams) {
  const callback = streams.pop();
  if (typeof callback !== "function") {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"callback\" argument must be of type function");
  }
  return pipelineImpl(streams, {}, callback);
}
function pipelineImpl(streams, options, callback) {
  if (streams.length === 1 && Array.isArray(streams[0])) streams = streams[0];
  if (streams.length < 2) throw nodeError(TypeError, "ERR_MISSING_ARGS", "The \"streams\" argument must be specified");
  let error = null;
  let done = false;
  let value;
  const finish = (err) => {
    if (err && !error && !(err.code === "ERR_STREAM_PREMATURE_CLOSE" && error)) error = err;
    if (err && !done) {
      done = true;
      for (const s of all) if (isStream(s) && typeof s.destroy === "function" && !s.destroyed) s.destroy(err);
      nextTick(callback, error);
    }
  };
  const all = [];
  let prev = null;
  const last = streams.length - 1;
  const onLastDone = (err) => {
    if (done) return;
    if (err) return finish(err);
    done = true;
    nextTick(callback, null, value);
  };
  streams.forEach((s, i) => {
    const fromFunction = typeof s === "function";
    if (fromFunction) {
      s = s(i === 0 ? undefined : prev, { signal: options.signal });
      if (i === last && s && typeof s.then === "function" && !isStream(s)) {
        s.then((v) => {
          value = v;
          onLastDone();
        }, (e) => finish(e));
        if (prev) finished(prev, { writable: false }, (err) => err && finish(err));
        return;
      }
    }
    if (!isStream(s)) {
      if (s && (typeof s[Symbol.asyncIterator] === "function" || typeof s[Symbol.iterator] === "function")) s = from(s);
      else throw nodeError(TypeError, "ERR_INVALID_RETURN_VALUE", "Expected a stream or an iterable in pipeline");
    }
    all.push(s);
    if (prev && !fromFunction) prev.pipe(s);
    const isLast = i === last;
    finished(s, { readable: !isLast || !s._writableState, writable: i > 0 }, (err) => {
      if (err) finish(err);
      else if (isLast) onLastDone();
    });
    prev = s;
  });
  if (options.signal) {
    const abort = () => finish(Object.assign(options.signal.reason ?? new Error("The operation was aborted"), {}));
    if (options.signal.aborted) abort();
    else options.signal.addEventListener("abort", abort, { once: true });
  }
  return prev;
}

function addAbortSignal(signal, stream) {
  const onAbort = () => {
    const reason = signal.reason;
    const e = nodeError(Error, "ABORT_ERR", "The operation was aborted");
    e.name = "AbortError";
    e.cause = reason;
    stream.destroy(e);
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return stream;
}

const promises = {
  pipeline(...streams) {
    let options = {};
    const lastArg = streams[streams.length - 1];
    if (lastArg && typeof lastArg === "object" && !isStream(lastArg) && !Array.isArray(lastArg) &&
      typeof lastArg[Symbol.iterator] !== "function" && typeof lastArg[Symbol.asyncIterator] !== "function") {
      options = streams.pop();
    }
    return new Promise((resolve, reject) => {
      pipelineImpl(streams, options, (err, value) => (err ? reject(err) : resolve(value)));
    });
  },
  finished(stream, options) {
    return new Promise((resolve, reject) => {
      finished(stream, options || {}, (err) => (err ? reject(err) : resolve()));
    });
  },
};

Object.assign(Stream, {
  Stream, Readable, Writable, Duplex, Transform, PassThrough, pipeline, finished, addAbortSignal,
  promises,
  isReadable: (s) => !!(s && s._readableState && s.readable),
  isErrored: (s) => !!(s && ((s._readableState && s._readableState.errored) || (s._writableState && s._writableState.errored))),
  isDisturbed: (s) => !!(s && s._readableState && (s._readableState.dataEmitted || s._readableState.endEmitted || s.destroyed)),
  getDefaultHighWaterMark: (objectMode) => (objectMode ? 16 : 16384),
  setDefaultHighWaterMark() {},
  destroy: (s, err) => s.destroy(err),
});
module.exports = Stream;

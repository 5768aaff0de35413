// The core built-in modules (buffer, internal/encoding, string_decoder, events, util, assert,
// path, querystring, os, timers) run in a bare context and compared with Node's own.
import { test } from "node:test";
import assert from "node:assert/strict";
import nodePath from "node:path";
import nodeQs from "node:querystring";
import nodeUtil from "node:util";
import { StringDecoder as NodeStringDecoder } from "node:string_decoder";
import { EventEmitter as NodeEventEmitter } from "node:events";
import legacyAssert from "node:assert";
import { isolate } from "./harness.mjs";

const iso = isolate();
const req = (id) => iso.require(id);
const { Buffer: B } = req("buffer");
const hex = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
// Runs `fn` and returns its result or its error's name/code/message.
const outcome = (fn) => {
  try {
    const v = fn();
    return { ok: typeof v === "object" && v !== null && ArrayBuffer.isView(v) ? hex(v) : v };
  } catch (e) {
    return { name: e.name, code: e.code, message: e.message };
  }
};

const ENCODINGS = ["utf8", "utf-8", "hex", "base64", "base64url", "latin1", "binary", "ascii", "ucs2", "utf16le", "UTF8", "Hex"];
const STRINGS = ["", "a", "hello world", "héllo", "€uro", "😀 emoji", "\ud800 lone", "lone \udc00", "\u0000\u007f\u0080\u00ff",
  "0123456789abcdefABCDEF", "abz1", "0g12", "abc", "YQ==YQ==", "Y Q = =", "YW-_", "a===b", "SGVsbG8gV29ybGQ", "not base64 !!",
  "aGk", "\n\t\r", "ÿþ", "日本語テキスト"];
const BYTES = [[], [0], [0x61], [0xff, 0xfe], [0xe2, 0x82, 0xac], [0xe2, 0x82], [0xc0, 0x80], [0xed, 0xa0, 0x80],
  [0xf0, 0x9f, 0x98, 0x80], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80], [0x80, 0x81, 0xbf], [0xef, 0xbb, 0xbf, 0x41],
  [0xe0, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x41, 0xc3], [0x00, 0xd8, 0x00, 0xdc], [0x3d, 0xd8], [1, 2, 3, 4, 5],
  Array.from({ length: 300 }, (_, i) => i & 255)];

test("Buffer.from(string, encoding) and toString match Node for every encoding", () => {
  for (const e of ENCODINGS) {
    for (const s of STRINGS) {
      const mine = outcome(() => B.from(s, e));
      const node = outcome(() => Buffer.from(s, e));
      assert.deepEqual(mine, node, `Buffer.from(${JSON.stringify(s)}, ${e})`);
      assert.equal(B.byteLength(s, e), Buffer.byteLength(s, e), `byteLength(${JSON.stringify(s)}, ${e})`);
    }
    for (const bytes of BYTES) {
      assert.equal(B.from(bytes).toString(e), Buffer.from(bytes).toString(e), `toString(${e}) of ${bytes}`);
      assert.equal(B.from(bytes).toString(e, 1, 3), Buffer.from(bytes).toString(e, 1, 3));
    }
  }
  assert.deepEqual(outcome(() => B.from("x", "nope")), outcome(() => Buffer.from("x", "nope")));
  assert.deepEqual(outcome(() => B.from([1]).toString("nope")), outcome(() => Buffer.from([1]).toString("nope")));
  for (const e of ["utf8", "UTF-8", "ucs-2", "binary", "latin1", "foo", "", "base64url"]) {
    assert.equal(B.isEncoding(e), Buffer.isEncoding(e), e);
  }
});

test("Buffer construction from arrays, buffers, ArrayBuffers and JSON", () => {
  const ctx = iso.run(`(() => {
    const ab = new ArrayBuffer(8); new Uint8Array(ab).set([1,2,3,4,5,6,7,8]);
    const shared = Buffer.from(ab, 2, 3); shared[0] = 99;
    const copied = Buffer.from(new Uint8Array([1,2,3])); 
    return {
      arr: Buffer.from([1, 256, -1, 1.7, "7", "x"]).toString("hex"),
      shared: [shared.toString("hex"), new Uint8Array(ab)[2]],
      u16: Buffer.from(new Uint16Array([0x1234, 0x5678])).toString("hex"),
      json: Buffer.from(JSON.parse(JSON.stringify(Buffer.from("hi")))).toString(),
      obj: Buffer.from({ length: 2, 0: 5, 1: 6 }).toString("hex"),
      str: Buffer.from(new String("abc")).toString(),
      copied: copied.toString("hex"),
      isBuf: [Buffer.isBuffer(copied), copied instanceof Uint8Array, copied instanceof Buffer, Buffer.isBuffer(new Uint8Array(1))],
      alloc: [Buffer.alloc(3).toString("hex"), Buffer.alloc(5, "ab").toString(), Buffer.alloc(4, 0x101).toString("hex"), Buffer.alloc(6, "YWI=", "base64").toString()],
      unsafe: [Buffer.allocUnsafe(4).length, Buffer.allocUnsafeSlow(2).length, new Buffer(3).toString("hex"), Buffer("ab").toString()],
      concat: [Buffer.concat([Buffer.from("ab"), new Uint8Array([99])]).toString(), Buffer.concat([Buffer.from("abc")], 2).toString(), Buffer.concat([Buffer.from("a")], 3).toString("hex"), Buffer.concat([]).length],
      json2: JSON.stringify(Buffer.from([1, 2])),
      of: Buffer.of(1, 2).toString("hex"),
      species: [Buffer.isBuffer(Buffer.from([1,2,3]).map((x) => x * 2)), Buffer.from([1,2,3]).filter((x) => x > 1).toString("hex")],
    };
  })()`);
  assert.deepEqual(JSON.parse(JSON.stringify(ctx)), {
    arr: Buffer.from([1, 256, -1, 1.7, "7", "x"]).toString("hex"),
    shared: ["630405", 99],
    u16: Buffer.from(new Uint16Array([0x1234, 0x5678])).toString("hex"),
    json: "hi",
    obj: "0506",
    str: "abc",
    copied: "010203",
    isBuf: [true, true, true, false],
    alloc: ["000000", "ababa", "01010101", "ababab"],
    unsafe: [4, 2, "000000", "ab"],
    concat: ["abc", "ab", "610000", 0],
    json2: '{"type":"Buffer","data":[1,2]}',
    of: "0102",
    species: [true, "0203"],
  });
  assert.deepEqual(outcome(() => B.from(5)), outcome(() => Buffer.from(5)));
  assert.deepEqual(outcome(() => B.alloc(-1)), outcome(() => Buffer.alloc(-1)));
  assert.deepEqual(outcome(() => B.from(iso.run("new ArrayBuffer(4)"), 5)), outcome(() => Buffer.from(new ArrayBuffer(4), 5)));
});

test("Buffer slice, subarray, copy, compare, equals, fill, write", () => {
  const mine = B.from("hello world"), node = Buffer.from("hello world");
  for (const [s, e] of [[0, 5], [-5], [3, -2], [8, 2], [undefined, 100], [-100, 3], ["2", "4"]]) {
    assert.equal(mine.slice(s, e).toString(), node.slice(s, e).toString(), `slice(${s}, ${e})`);
    assert.equal(mine.subarray(s, e).toString(), node.subarray(s, e).toString());
  }
  const sl = mine.slice(0, 5);
  sl[0] = 0x48;
  assert.equal(mine.toString(), "Hello world");
  assert.equal(B.isBuffer(sl), true);
  mine[0] = 0x68;

  const cases = [["abc", "abd"], ["abc", "ab"], ["", ""], ["b", "abc"], ["abc", "abc"]];
  for (const [x, y] of cases) {
    assert.equal(B.compare(B.from(x), B.from(y)), Buffer.compare(Buffer.from(x), Buffer.from(y)));
    assert.equal(B.from(x).equals(B.from(y)), Buffer.from(x).equals(Buffer.from(y)));
    for (const args of [[1, 2, 0, 1], [0, 1], [1], [0, 5], [-1], [0, 1, 3], [0, 1, 0, 9], [1.5], ["1"], [3, 3, 1, 1]]) {
      assert.deepEqual(outcome(() => B.from(x).compare(B.from(y), ...args)), outcome(() => Buffer.from(x).compare(Buffer.from(y), ...args)), `compare ${args}`);
    }
  }

  for (const args of [[0], [2, 1], [0, 3, 7], [5, 0, 100], [20], [1, 9, 2]]) {
    const a = B.alloc(8, 0x2e), b = Buffer.alloc(8, 0x2e);
    assert.deepEqual(outcome(() => mine.copy(a, ...args)), outcome(() => node.copy(b, ...args)), `copy ${args}`);
    assert.equal(hex(a), b.toString("hex"));
  }
  const overlap = B.from("abcdef");
  overlap.copy(overlap, 2, 0, 4);
  assert.equal(overlap.toString(), "ababcd");

  const fills = [[0x41], ["ab"], ["ab", 1, 5], ["€"], ["6162", "hex"], ["YQ==", 2, "base64"], [B.from("xy"), 1], [300], ["", 0], [true]];
  for (const args of fills) {
    const nodeArgs = args.map((a) => (B.isBuffer(a) ? Buffer.from(a) : a));
    const a = B.alloc(7), b = Buffer.alloc(7);
    assert.deepEqual(outcome(() => hex(a.fill(...args))), outcome(() => b.fill(...nodeArgs).toString("hex")), `fill ${args}`);
  }
  assert.deepEqual(outcome(() => B.alloc(3).fill("zz", "hex")), outcome(() => Buffer.alloc(3).fill("zz", "hex")));

  const writes = [["hi"], ["héllo", 2], ["€€", 0, 4], ["abcd", 6], ["6162", 1, "hex"], ["ab", "ucs2"], ["YWJj", 0, 2, "base64"], ["zz", 100]];
  for (const args of writes) {
    const a = B.alloc(8), b = Buffer.alloc(8);
    assert.deepEqual(outcome(() => a.write(...args)), outcome(() => b.write(...args)), `write ${args}`);
    assert.equal(hex(a), b.toString("hex"), `write ${args}`);
  }
});

test("Buffer search, swaps and inspection", () => {
  const text = "abc abc €uro abc";
  const mine = B.from(text), node = Buffer.from(text);
  const needles = ["abc", "c a", "€", "zzz", "", 0x61, 97 + 256, B.from("bc"), "ab", "6162", new Uint8Array([0x20])];
  for (const needle of needles) {
    const nn = B.isBuffer(needle) ? Buffer.from(needle) : needle;
    for (const off of [undefined, 0, 1, 5, -3, -100, 100, "hex", NaN]) {
      for (const m of ["indexOf", "lastIndexOf", "includes"]) {
        assert.deepEqual(outcome(() => mine[m](needle, off)), outcome(() => node[m](nn, off)), `${m}(${needle}, ${off})`);
      }
    }
  }
  assert.equal(mine.indexOf("6162", 0, "hex"), node.indexOf("6162", 0, "hex"));
  for (const m of ["swap16", "swap32", "swap64"]) {
    for (const len of [0, 2, 4, 8, 16, 3]) {
      const bytes = Array.from({ length: len }, (_, i) => i);
      assert.deepEqual(outcome(() => B.from(bytes)[m]()), outcome(() => Buffer.from(bytes)[m]()), `${m} ${len}`);
    }
  }
  const util = req("util");
  for (const bytes of [[], [1, 2, 255], Array.from({ length: 60 }, (_, i) => i)]) {
    assert.equal(util.inspect(B.from(bytes)), nodeUtil.inspect(Buffer.from(bytes)));
    assert.equal(util.inspect({ b: B.from(bytes) }), nodeUtil.inspect({ b: Buffer.from(bytes) }));
  }
  assert.equal(B.from("hi").toLocaleString(), "hi");
});

test("Buffer numeric reads and writes match Node, including range errors", () => {
  const bytes = [0x01, 0x82, 0xff, 0x7f, 0x00, 0x80, 0x3f, 0xf0, 0x12, 0x34];
  const mine = B.from(bytes), node = Buffer.from(bytes);
  const readers = Object.getOwnPropertyNames(Buffer.prototype).filter((n) => /^read/.test(n));
  for (const r of readers) {
    if (typeof mine[r] !== "function") assert.fail(`missing ${r}`);
    for (const off of [0, 1, 2, 6, 9, 10, -1, 1.5, "1", undefined]) {
      if (/^read(U?Int|Uint)(LE|BE)$/.test(r)) {
        for (const len of [1, 3, 6, 7, 0]) {
          assert.deepEqual(outcome(() => mine[r](off, len)), outcome(() => node[r](off, len)), `${r}(${off}, ${len})`);
        }
      } else {
        assert.deepEqual(outcome(() => mine[r](off)), outcome(() => node[r](off)), `${r}(${off})`);
      }
    }
  }
  const writers = Object.getOwnPropertyNames(Buffer.prototype).filter((n) => /^write./.test(n));
  const values = [0, 1, -1, 127, 128, 255, 256, -129, 65535, 65536, -32769, 2 ** 31, 2 ** 32, -(2 ** 31) - 1, 1.5, -1.5, NaN, 3.14159, 2 ** 48, "12"];
  const bigs = [0n, 1n, -1n, 2n ** 63n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 63n), -(2n ** 63n) - 1n];
  for (const w of writers) {
    if (typeof mine[w] !== "function") assert.fail(`missing ${w}`);
    const vals = /Big/.test(w) ? bigs.concat([1]) : values;
    for (const v of vals) {
      for (const off of [0, 3, 9]) {
        const a = B.alloc(10), b = Buffer.alloc(10);
        if (/^write(U?Int|Uint)(LE|BE)$/.test(w)) {
          for (const len of [1, 3, 6]) {
            assert.deepEqual(outcome(() => a[w](v, off, len)), outcome(() => b[w](v, off, len)), `${w}(${v}, ${off}, ${len})`);
            assert.equal(hex(a), b.toString("hex"), `${w}(${v}, ${off}, ${len})`);
          }
        } else {
          assert.deepEqual(outcome(() => a[w](v, off)), outcome(() => b[w](v, off)), `${w}(${v}, ${off})`);
          assert.equal(hex(a), b.toString("hex"), `${w}(${v}, ${off})`);
        }
      }
    }
  }
});

test("TextEncoder, TextDecoder, atob and btoa", () => {
  const { TextEncoder, TextDecoder, atob, btoa } = iso.run("({ TextEncoder, TextDecoder, atob, btoa })");
  for (const s of STRINGS) {
    assert.equal(hex(new TextEncoder().encode(s)), Buffer.from(new globalThis.TextEncoder().encode(s)).toString("hex"));
    const dest = new Uint8Array(5), nodeDest = new Uint8Array(5);
    assert.deepEqual({ ...new TextEncoder().encodeInto(s, dest) }, new globalThis.TextEncoder().encodeInto(s, nodeDest), s);
    assert.deepEqual([...dest], [...nodeDest]);
  }
  for (const label of ["utf-8", "utf8", "UTF-8", "utf-16le", "utf-16", "latin1", "ascii", "windows-1252"]) {
    assert.equal(new TextDecoder(label).encoding, new globalThis.TextDecoder(label).encoding, label);
  }
  assert.deepEqual(outcome(() => new TextDecoder("nope")), outcome(() => new globalThis.TextDecoder("nope")));
  for (const bytes of BYTES) {
    const u8 = new Uint8Array(bytes);
    for (const label of ["utf-8", "utf-16le"]) {
      for (const opts of [{}, { ignoreBOM: true }]) {
        assert.equal(new TextDecoder(label, opts).decode(u8), new globalThis.TextDecoder(label, opts).decode(u8), `${label} ${bytes}`);
      }
      assert.deepEqual(outcome(() => new TextDecoder(label, { fatal: true }).decode(u8)),
        outcome(() => new globalThis.TextDecoder(label, { fatal: true }).decode(u8)), `fatal ${label} ${bytes}`);
      // Streaming, one byte at a time.
      const mine = new TextDecoder(label), node = new globalThis.TextDecoder(label);
      let a = "", b = "";
      for (const byte of bytes) {
        a += mine.decode(new Uint8Array([byte]), { stream: true });
        b += node.decode(new Uint8Array([byte]), { stream: true });
      }
      assert.equal(a + mine.decode(), b + node.decode(), `stream ${label} ${bytes}`);
    }
  }
  const cp = new TextDecoder("windows-1252").decode(new Uint8Array([0x41, 0x80, 0x9f, 0xe9]));
  assert.equal(cp, "A\u20ac\u0178\u00e9");
  assert.equal(new TextDecoder().decode(new Uint16Array([0x6968]).buffer), "hi");
  assert.equal(new TextDecoder().decode(new DataView(new Uint8Array([0x68]).buffer)), "h");
  const sameAs = (mine, node, what) => {
    if (node.ok !== undefined) assert.deepEqual(mine, node, what);
    else assert.deepEqual([mine.name, mine.message], [node.name, node.message], what);
  };
  for (const s of ["", "YQ", "YQ==", " YQ = = ", "YQ=", "YR==", "Y===", "a", "ab*c", "SGVsbG8=", "YW-_", undefined, null, 12]) {
    sameAs(outcome(() => atob(s)), outcome(() => globalThis.atob(s)), `atob(${s})`);
  }
  for (const s of ["", "a", "hello", "\u00ff\u0000", "€", 12, null]) {
    sameAs(outcome(() => btoa(s)), outcome(() => globalThis.btoa(s)), `btoa(${s})`);
  }
  // The prelude's lazy globals come from this module.
  assert.equal(iso.run("new TextDecoder().decode(new TextEncoder().encode('ok ✓'))"), "ok ✓");
  assert.equal(iso.run("atob(btoa('hi'))"), "hi");
});

test("StringDecoder matches Node on split characters and every encoding", () => {
  const { StringDecoder } = req("string_decoder");
  const inputs = BYTES.concat([[0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80, 0x41], [0x3d, 0xd8, 0x00, 0xde, 0x41, 0x00]]);
  for (const e of ["utf8", "utf-8", "hex", "base64", "base64url", "latin1", "ascii", "utf16le", "ucs2", undefined]) {
    for (const bytes of inputs) {
      for (const chunk of [1, 2, 3, 5]) {
        const mine = new StringDecoder(e), node = new NodeStringDecoder(e);
        let a = "", b = "";
        for (let i = 0; i < bytes.length; i += chunk) {
          a += mine.write(B.from(bytes.slice(i, i + chunk)));
          b += node.write(Buffer.from(bytes.slice(i, i + chunk)));
        }
        assert.equal(a + mine.end(), b + node.end(), `${e} ${bytes} by ${chunk}`);
      }
      const mine = new StringDecoder(e), node = new NodeStringDecoder(e);
      assert.equal(mine.end(B.from(bytes)), node.end(Buffer.from(bytes)));
      assert.equal(mine.encoding, node.encoding);
    }
  }
  assert.deepEqual(outcome(() => new StringDecoder("nope")), outcome(() => new NodeStringDecoder("nope")));
  assert.equal(new StringDecoder().write("str"), "str");
});

// Runs the same script against a given EventEmitter class, returning what it logged.
function eventsScript(EE) {
  const log = [];
  const e = new EE();
  e.on("newListener", (n) => typeof n === "string" && log.push("new:" + n));
  e.on("removeListener", (n) => log.push("rm:" + n));
  const a = (x) => log.push("a" + x);
  const b = (x) => log.push("b" + x);
  e.on("x", a);
  e.prependListener("x", b);
  e.once("x", (x) => log.push("once" + x));
  e.prependOnceListener("x", (x) => log.push("ponce" + x));
  log.push(e.listenerCount("x"), e.listeners("x").length, e.rawListeners("x").length);
  log.push(e.emit("x", 1), e.emit("x", 2), e.emit("nothing"));
  e.off("x", a);
  e.emit("x", 3);
  e.removeAllListeners("x");
  log.push(e.emit("x", 4), e.eventNames().join(","));
  // A listener removed during emit still runs for that emit.
  const c = () => { log.push("c"); e.removeListener("y", d); };
  const d = () => log.push("d");
  e.on("y", c).on("y", d);
  e.emit("y");
  e.emit("y");
  try {
    e.emit("error", new Error("boom"));
  } catch (err) {
    log.push("threw:" + err.message);
  }
  try {
    e.emit("error", "str");
  } catch (err) {
    log.push("threw:" + err.message + ":" + err.code);
  }
  e.on("error", (err) => log.push("handled:" + err.message));
  e.emit("error", new Error("ok"));
  log.push(e.getMaxListeners());
  e.setMaxListeners(1);
  log.push(e.getMaxListeners(), EE.listenerCount(e, "y"), EE.defaultMaxListeners);
  e.removeAllListeners();
  log.push(e.eventNames().length);
  return log;
}

test("EventEmitter ordering, once, removal and error semantics match Node", () => {
  const EE = req("events");
  assert.equal(EE.EventEmitter, EE);
  assert.deepEqual(eventsScript(EE), eventsScript(NodeEventEmitter));
  // Old-style inheritance and errorMonitor.
  const util = req("util");
  const out = iso.run(`(() => {
    const EE = require("events"); const util = require("util");
    function Old() { EE.call(this); }
    util.inherits(Old, EE);
    const o = new Old(); const seen = [];
    o.on(EE.errorMonitor, (e) => seen.push("monitor:" + e.message));
    o.on("error", (e) => seen.push("error:" + e.message));
    o.emit("error", new Error("x"));
    class Sub extends EE {}
    const s = new Sub(); s.on("a", function () { seen.push(this === s); }); s.emit("a");
    return seen.join(",");
  })()`);
  assert.equal(out, "monitor:x,error:x,true");
  void util;
  assert.throws(() => new EE().on("x", 5), { code: "ERR_INVALID_ARG_TYPE" });
});

test("events.once resolves with the arguments and rejects on error", async () => {
  const EE = req("events");
  const e = new EE();
  const p = EE.once(e, "ready");
  e.emit("ready", 1, 2);
  assert.deepEqual([...(await p)], [1, 2]);
  const q = EE.once(e, "ready");
  e.emit("error", new Error("bad"));
  await assert.rejects(q, /bad/);
  assert.equal(e.listenerCount("ready"), 0);
  assert.equal(e.listenerCount("error"), 0);
  const it = EE.on(e, "tick");
  e.emit("tick", "a");
  e.emit("tick", "b");
  assert.deepEqual([...(await it.next()).value], ["a"]);
  assert.deepEqual([...(await it.next()).value], ["b"]);
  await it.return();
  assert.equal(e.listenerCount("tick"), 0);
});

test("util.format matches Node", () => {
  const util = req("util");
  const src = String.raw`[
    [], ["plain"], ["%s", "a"], ["%s", 1], ["%s", -0], ["%s", 5n], ["%s", Symbol("q")], ["%s", null], ["%s", undefined],
    ["%s", { a: 1 }], ["%s", [1, [2, [3]]]], ["%s", new Date(0)], ["%s", { toString() { return "custom"; } }],
    ["%d", "42"], ["%d", 1.5], ["%d", -0], ["%d", 7n], ["%d", {}], ["%i", "42.9px"], ["%i", 3n], ["%f", "1.25e2"], ["%f", "x"],
    ["%j", { a: [1, "b"] }], ["%j", "s"], ["%O", { a: { b: { c: { d: {} } } } }], ["%o", { a: 1 }], ["%o", [1, 2]], ["%c", "color: red"],
    ["%%"], ["%%", 1], ["100%"], ["%s %s", "a"], ["%x %s", 1], ["a", "b", 1, { c: 2 }], [1, "a", [3]], [{ a: 1 }, "b"],
    ["%s:%d", "x", 3, "extra", 4], ["%%s", 1], ["%", 1], ["%s%", 1], ["%s", "a\nb"], ["%d %i %f", Symbol("s"), Symbol("s"), Symbol("s")],
    [null, undefined], ["%s", () => 1], ["%s", new Error("e").message],
  ]`;
  const cases = (0, eval)(src);
  const mineCases = iso.run(src);
  for (let i = 0; i < cases.length; i++) {
    assert.equal(util.format(...mineCases[i]), nodeUtil.format(...cases[i]), `case ${i}: ${nodeUtil.format(...cases[i])}`);
  }
  const circular = { a: 1 };
  circular.self = circular;
  assert.equal(util.format("%j", circular), nodeUtil.format("%j", circular));
});

test("util.inspect matches Node for common values", () => {
  const util = req("util");
  const src = `[
    1, -0, 1.5, NaN, -Infinity, 10n, "a", "it's", "say \\"hi\\" it's", "tab\\tnew\\nline", "\\u0001\\u007f", "x\\ud800", true, null, undefined,
    Symbol("s"), Symbol(), [], [1, 2, 3], [1, [2, [3, [4, [5]]]]], [, 1, , , 2], new Array(5), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    Array.from({ length: 120 }, (_, i) => i), ["a", "b", "c", "d", "e", "f", "g"],
    {}, { a: 1, b: "two", c: [3] }, { "a-b": 1, 1: 2, [Symbol("k")]: 3, $ok: 4 }, { a: { b: { c: { d: { e: 1 } } } } },
    { get g() { return 1; }, set s(v) {}, get gs() { return 1; }, set gs(v) {} }, Object.create(null),
    Object.assign(Object.create(null), { x: 1 }), new (class Foo { constructor() { this.x = 1; } })(), new (class Bar {})(),
    new Map(), new Map([["a", 1], [{ k: 1 }, [2]]]), new Set(), new Set([1, "2", [3]]), new Date(0), new Date(NaN), /re+/gi,
    function named() {}, () => {}, async function af() {}, function* gen() {}, async function* ag() {}, class K {}, class L extends Array {},
    Object.assign(function withProps() {}, { p: 1 }), new Number(3), new String("str"), new Boolean(false), Object(5n),
    new Uint8Array([1, 2, 3]), new Float64Array(2), new Uint8Array(0), new ArrayBuffer(3), new DataView(new ArrayBuffer(2)),
    new WeakMap(), new WeakSet(), Object.assign([1, 2], { extra: true }),
    { long: "x".repeat(60), other: "y".repeat(30) }, { arr: [{ a: 1, b: 2 }, { a: 3, b: 4 }] },
    { a: [1, 2, 3], b: new Map([[1, { deep: { deeper: { deepest: 1 } } }]]) },
    Array.from({ length: 8 }, (_, i) => "item" + i), { [Symbol.toStringTag]: "Tagged", a: 1 },
    { und: undefined, nul: null, fn() {}, arrow: () => {} }, [undefined, null], "x".repeat(20),
  ]`;
  const mine = iso.run(src);
  const node = (0, eval)(src);
  assert.equal(mine.length, node.length);
  for (let i = 0; i < mine.length; i++) {
    assert.equal(util.inspect(mine[i]), nodeUtil.inspect(node[i]), `value ${i}: ${nodeUtil.inspect(node[i])}`);
  }
  const opts = [{ depth: 0 }, { depth: null }, { depth: 1 }, { breakLength: 20 }, { compact: false }, { compact: true },
    { sorted: true }, { maxArrayLength: 2 }, { maxStringLength: 3 }, { showHidden: true }];
  const nested = `({ z: 1, a: { b: { c: { d: [1, 2, 3] } } }, s: "string", arr: [3, 2, 1], m: new Map([[1, 2]]) })`;
  for (const o of opts) {
    assert.equal(util.inspect(iso.run(nested), o), nodeUtil.inspect((0, eval)(nested), o), JSON.stringify(o));
  }
  const circ = `(() => { const o = { name: "o", list: [] }; o.list.push(o, { back: o }); const m = new Map(); m.set("self", m); return [o, m]; })()`;
  assert.equal(util.inspect(iso.run(circ)), nodeUtil.inspect((0, eval)(circ)));
  // Custom inspection, including the symbol registry key.
  const custom = `({ [Symbol.for("nodejs.util.inspect.custom")](depth, opts, inspect) { return "CUSTOM:" + depth + ":" + typeof opts.stylize + ":" + (typeof inspect); } })`;
  assert.equal(util.inspect(iso.run(custom)), nodeUtil.inspect((0, eval)(custom)));
  assert.equal(util.inspect.custom, Symbol.for("nodejs.util.inspect.custom"));
  assert.equal(util.inspect(iso.run(`({ inner: { [Symbol.for("nodejs.util.inspect.custom")]() { return { replaced: true }; } } })`)),
    "{ inner: { replaced: true } }");
  // Errors: the message line, the stack, extra properties.
  const err = util.inspect(iso.run(`Object.assign(new TypeError("bad thing"), { code: "E_X" })`));
  assert.match(err, /^TypeError: bad thing\n {4}at /);
  assert.match(err, /\{\n {2}code: 'E_X'\n\}$/);
  assert.equal(util.inspect(iso.run(`(() => { const e = new Error("nostack"); e.stack = ""; return e; })()`)), "[Error: nostack]");
  assert.equal(util.inspect(iso.run(`({ e: Object.assign(new RangeError("r"), { stack: "RangeError: r" }) })`)), "{ e: [RangeError: r] }");
});

test("util helpers: inherits, promisify, callbackify, deprecate, types, legacy predicates", async () => {
  const util = req("util");
  const result = await iso.run(`(async () => {
    const util = require("util");
    const out = [];
    function A() {} A.prototype.hello = () => "hi";
    function B() { A.call(this); }
    util.inherits(B, A);
    out.push(new B().hello(), B.super_ === A);
    const cbFn = (x, cb) => setTimeout(() => (x < 0 ? cb(new Error("neg")) : cb(null, x * 2)), 0);
    const p = util.promisify(cbFn);
    out.push(await p(21));
    try { await p(-1); } catch (e) { out.push("rejected:" + e.message); }
    const custom = () => {}; custom[util.promisify.custom] = () => Promise.resolve("custom");
    out.push(await util.promisify(custom)(), util.promisify.custom === Symbol.for("nodejs.util.promisify.custom"));
    const cbd = util.callbackify(async (x) => { if (x) throw new Error("x"); return "fine"; });
    out.push(await new Promise((r) => cbd(0, (e, v) => r([e, v]))));
    out.push(await new Promise((r) => cbd(1, (e) => r(e.message))));
    const nul = util.callbackify(() => Promise.reject(null));
    out.push(await new Promise((r) => nul((e) => r(e.code))));
    const dep = util.deprecate((a) => a + 1, "old api", "DEP0");
    out.push(dep(1), dep(2));
    return out;
  })()`);
  assert.deepEqual(JSON.parse(JSON.stringify(result)), ["hi", true, 42, "rejected:neg", "custom", true, [null, "fine"], "x", "ERR_FALSY_VALUE_REJECTION", 2, 3]);
  assert.equal(iso.logs.filter((l) => l.includes("old api")).length, 1);
  const values = `[new Date(), /x/, Promise.resolve(), new Uint8Array(1), new Float32Array(1), new ArrayBuffer(1), new Map(), new Set(),
    new WeakMap(), new Error("e"), new TypeError("t"), async () => {}, function* () {}, async function* () {}, () => {}, {}, [],
    new Number(1), new String(""), Object(Symbol()), new DataView(new ArrayBuffer(1)), null, 1, "s",
    { __proto__: Date.prototype }, { [Symbol.toStringTag]: "Date" }, new Map().keys(), new Set().values()]`;
  const mine = iso.run(values), node = (0, eval)(values);
  const names = Object.keys(nodeUtil.types).filter((n) => typeof util.types[n] === "function" && !["isProxy", "isExternal", "isKeyObject", "isCryptoKey", "isModuleNamespaceObject"].includes(n));
  assert.ok(names.length > 30);
  for (const n of names) {
    for (let i = 0; i < mine.length; i++) {
      assert.equal(util.types[n](mine[i]), nodeUtil.types[n](node[i]), `${n} on value ${i}`);
    }
  }
  for (const n of ["isArray", "isBoolean", "isNull", "isNullOrUndefined", "isNumber", "isObject", "isPrimitive", "isString", "isSymbol", "isUndefined", "isFunction", "isRegExp", "isDate", "isError"]) {
    for (let i = 0; i < mine.length; i++) assert.equal(util[n](mine[i]), nodeUtil[n](node[i]), `${n} on ${i}`);
  }
  assert.equal(util.isBuffer(B.from("x")), true);
  assert.equal(typeof util.debuglog("x"), "function");
  assert.equal(util.TextEncoder, iso.run("TextEncoder"));
  assert.equal(util.toUSVString("a\ud800b"), "a\ufffdb");
});

test("deep equality matches Node's isDeepStrictEqual and assert.deepEqual", () => {
  const util = req("util");
  const pairs = `[
    [1, 1], [1, "1"], [NaN, NaN], [0, -0], [{ a: 1 }, { a: 1 }], [{ a: 1 }, { a: 1, b: undefined }], [{ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }],
    [[1, 2], [1, 2]], [[1, 2], [2, 1]], [[1, , 3], [1, undefined, 3]], [new Date(1), new Date(1)], [new Date(1), new Date(2)],
    [/a/g, /a/g], [/a/g, /a/i], [new Map([[1, { x: 1 }]]), new Map([[1, { x: 1 }]])], [new Map([[{ k: 1 }, 1]]), new Map([[{ k: 1 }, 1]])],
    [new Set([1, { a: 1 }]), new Set([{ a: 1 }, 1])], [new Set([1]), new Set(["1"])], [new Uint8Array([1, 2]), new Uint8Array([1, 2])],
    [new Uint8Array([1]), new Int8Array([1])], [new Error("a"), new Error("a")], [new Error("a"), new TypeError("a")],
    [Object.create(null), {}], [new Number(1), new Number(1)], [new Number(1), new Number(2)], [[1], { 0: 1, length: 1 }],
    [{ [Symbol.for("s")]: 1 }, { [Symbol.for("s")]: 2 }], [new (class A {})(), new (class B {})()], [{ a: "1" }, { a: 1 }],
    [(() => { const a = { x: 1 }; a.self = a; return a; })(), (() => { const b = { x: 1 }; b.self = b; return b; })()],
    [new ArrayBuffer(2), new ArrayBuffer(2)], [[new Set([[1]])], [new Set([[1]])]], [null, undefined], [null, {}], [new Float64Array([NaN]), new Float64Array([NaN])],
  ]`;
  const mine = iso.run(pairs), node = (0, eval)(pairs);
  const a = req("assert");
  for (let i = 0; i < mine.length; i++) {
    assert.equal(util.isDeepStrictEqual(...mine[i]), nodeUtil.isDeepStrictEqual(...node[i]), `strict pair ${i}`);
    const looseMine = outcome(() => a.deepEqual(...mine[i]));
    let nodeLoose = true;
    try {
      legacyAssert.deepEqual(...node[i]);
    } catch {
      nodeLoose = false;
    }
    assert.equal(looseMine.name === undefined, nodeLoose, `loose pair ${i}`);
  }
});

test("assert throws AssertionErrors with Node's properties", async () => {
  const a = req("assert");
  const props = (fn) => {
    try {
      fn();
    } catch (e) {
      return { name: e.name, code: e.code, actual: e.actual, expected: e.expected, operator: e.operator, generatedMessage: e.generatedMessage, message: e.message, isAE: e instanceof a.AssertionError };
    }
    return "no throw";
  };
  const nodeProps = (fn) => {
    try {
      fn();
    } catch (e) {
      return { name: e.name, code: e.code, actual: e.actual, expected: e.expected, operator: e.operator, generatedMessage: e.generatedMessage, message: e.message, isAE: e instanceof legacyAssert.AssertionError };
    }
    return "no throw";
  };
  const calls = [
    ["ok", 0], ["ok", ""], ["ok", 1], ["equal", 1, "1"], ["equal", 1, 2], ["equal", NaN, NaN], ["notEqual", 1, "1"], ["notEqual", 1, 2],
    ["strictEqual", 1, 1], ["strictEqual", 1, 2], ["strictEqual", "a", "b"], ["strictEqual", 1, 2, "custom message"],
    ["notStrictEqual", 1, 1], ["notStrictEqual", 1, 2], ["deepStrictEqual", 1, 1], ["deepEqual", 1, "1"],
    ["fail"], ["fail", "boom"], ["ifError", null], ["ifError", undefined], ["match", "abc", /b/], ["doesNotMatch", "abc", /b/],
    ["match", "abc", /x/], ["notDeepStrictEqual", 1, 1], ["notDeepEqual", 1, "1"],
  ];
  for (const [m, ...args] of calls) {
    const mine = props(() => a[m](...args));
    const node = nodeProps(() => legacyAssert[m](...args));
    if (mine === "no throw" || node === "no throw") {
      assert.equal(mine, node, `${m}(${args})`);
      continue;
    }
    for (const k of ["name", "code", "actual", "expected", "operator", "generatedMessage", "isAE"]) {
      assert.deepEqual(mine[k], node[k], `${m}(${args}).${k}`);
    }
    if (["strictEqual", "equal", "notEqual", "fail", "match", "doesNotMatch"].includes(m) && args.length <= 2) {
      assert.equal(mine.message, node.message, `${m}(${args}).message`);
    }
  }
  // Object operands: properties match, the message names both values.
  const deep = props(() => a.deepStrictEqual({ a: 1 }, { a: 2 }));
  assert.equal(deep.operator, "deepStrictEqual");
  assert.match(deep.message, /^Expected values to be strictly deep-equal:/);
  assert.match(deep.message, /a: 1/);
  assert.match(deep.message, /a: 2/);
  assert.equal(props(() => a.ifError(new Error("inner"))).message, nodeProps(() => legacyAssert.ifError(new Error("inner"))).message);
  // throws / doesNotThrow.
  const thrower = () => { throw new TypeError("wrong value"); };
  a.throws(thrower);
  a.throws(thrower, TypeError);
  a.throws(thrower, /wrong/);
  a.throws(thrower, { name: "TypeError", message: "wrong value" });
  a.throws(thrower, { message: /wrong/ });
  a.throws(thrower, (e) => e instanceof TypeError);
  for (const [fn, expected, msg] of [[() => {}, undefined, undefined], [() => {}, TypeError, undefined], [() => {}, undefined, "why"],
    [thrower, /right/, undefined], [thrower, RangeError, undefined], [thrower, { message: "other" }, undefined]]) {
    const mine = props(() => a.throws(fn, expected, msg));
    const node = nodeProps(() => legacyAssert.throws(fn, expected, msg));
    assert.equal(mine.code, node.code);
    assert.equal(mine.operator, node.operator);
    if (fn !== thrower || expected instanceof RegExp || expected === RangeError) assert.equal(mine.message, node.message);
  }
  assert.equal(props(() => a.doesNotThrow(thrower)).message, nodeProps(() => legacyAssert.doesNotThrow(thrower)).message);
  assert.equal(props(() => a.doesNotThrow(thrower, "msg")).message, nodeProps(() => legacyAssert.doesNotThrow(thrower, "msg")).message);
  a.doesNotThrow(() => {});
  await a.rejects(Promise.reject(new Error("r")), /r/);
  await a.rejects(async () => { throw new TypeError("t"); }, TypeError);
  await assert.rejects(a.rejects(Promise.resolve(1)), (e) => e.code === "ERR_ASSERTION" && e.message === "Missing expected rejection.");
  await a.doesNotReject(Promise.resolve(1));
  await assert.rejects(a.doesNotReject(Promise.reject(new Error("no"))), (e) => e.code === "ERR_ASSERTION" && /Got unwanted rejection/.test(e.message));
  // strict variants and the assert/strict module.
  const strict = req("assert/strict");
  assert.equal(strict, a.strict);
  assert.throws(() => strict.equal(1, "1"), { code: "ERR_ASSERTION", operator: "strictEqual" });
  assert.throws(() => strict.deepEqual([1], ["1"]), { code: "ERR_ASSERTION", operator: "deepStrictEqual" });
  a.deepEqual([1], ["1"]);
  assert.throws(() => a(false), { code: "ERR_ASSERTION" });
  assert.throws(() => a.ok(false, new RangeError("mine")), RangeError);
  const e = new a.AssertionError({ actual: 1, expected: 2, operator: "strictEqual" });
  assert.equal(e.message, new legacyAssert.AssertionError({ actual: 1, expected: 2, operator: "strictEqual" }).message);
});

test("path matches node:path posix exactly", () => {
  const path = req("path");
  const P = nodePath.posix;
  const samples = ["", ".", "..", "/", "//", "///", "a", "a/", "/a", "/a/", "a/b", "/a/b/c", "a//b", "a/./b", "a/../b", "../a", "../../a/b",
    "/../a", "/a/../..", "a/b/../../..", "./", "./a", "a/.", "/a/b/", "//a", "//a/b", "///a//b//", "foo.txt", ".bashrc", "a.b.c", "a.",
    "a..", "..a", "...", ".a.b", "/dir/file.tar.gz", "/dir.d/file", "dir/.hidden", "file.", "/x/y/z.js/", "a/b/.", "a/b/..", ".../x"];
  for (const p of samples) {
    for (const f of ["normalize", "dirname", "basename", "extname", "isAbsolute"]) {
      assert.deepEqual(outcome(() => path[f](p)), outcome(() => P[f](p)), `${f}(${JSON.stringify(p)})`);
    }
    assert.deepEqual({ ...path.parse(p) }, P.parse(p), `parse(${JSON.stringify(p)})`);
    assert.equal(path.format(path.parse(p)), P.format(P.parse(p)), `format(parse(${JSON.stringify(p)}))`);
    for (const ext of [".txt", "txt", "c", ".c", p, "a"]) {
      assert.equal(path.basename(p, ext), P.basename(p, ext), `basename(${JSON.stringify(p)}, ${ext})`);
    }
  }
  const withCwd = (fn) => {
    const saved = process.cwd;
    process.cwd = () => "/action";
    try {
      return fn();
    } finally {
      process.cwd = saved;
    }
  };
  for (let i = 0; i < samples.length; i++) {
    const a = samples[i], b = samples[(i * 7 + 3) % samples.length];
    assert.equal(path.join(a, b), P.join(a, b), `join(${a}, ${b})`);
    assert.equal(path.join(a), P.join(a));
    assert.equal(path.resolve(a, b), withCwd(() => P.resolve(a, b)), `resolve(${a}, ${b})`);
    assert.equal(path.relative(a, b), withCwd(() => P.relative(a, b)), `relative(${a}, ${b})`);
  }
  assert.equal(path.join(), P.join());
  assert.equal(path.resolve(), "/action");
  assert.equal(path.join("a", "", "b", "/"), P.join("a", "", "b", "/"));
  assert.deepEqual(outcome(() => path.join("a", 1)), outcome(() => P.join("a", 1)));
  assert.deepEqual(outcome(() => path.basename(null)), outcome(() => P.basename(null)));
  for (const obj of [{ root: "/", dir: "/a", base: "b.txt" }, { name: "x", ext: ".js" }, { name: "x", ext: "js" }, { dir: "d", name: "n" }, { root: "/", name: "f" }, {}]) {
    assert.equal(path.format(obj), P.format(obj), JSON.stringify(obj));
  }
  assert.equal(path.sep, "/");
  assert.equal(path.delimiter, ":");
  assert.equal(path.posix, path);
});

test("querystring matches node:querystring", () => {
  const qs = req("querystring");
  const strings = ["", "a=1", "a=1&b=2", "a=1&a=2&a=3", "a", "a=", "=x", "&&a=1&&", "a+b=c+d", "a%20b=%E2%82%AC", "bad=%E2%82", "pct=%zz&x=%",
    "a=1;b=2", "k:v,k2:v2", "x=%ff%fe", "dup=1&dup=&dup", "é=ü", "a=%2B+%2b", "__proto__=1&constructor=2"];
  for (const s of strings) {
    const same = (a, b, what) => {
      assert.equal(Object.getPrototypeOf(a), null);
      assert.equal(JSON.stringify(a), JSON.stringify(b), what);
    };
    same(qs.parse(s), nodeQs.parse(s), s);
    same(qs.parse(s, ";"), nodeQs.parse(s, ";"), s);
    same(qs.parse(s, ",", ":"), nodeQs.parse(s, ",", ":"), s);
    same(qs.decode(s, null, null, { maxKeys: 1 }), nodeQs.decode(s, null, null, { maxKeys: 1 }), s);
    assert.equal(qs.unescape(s), nodeQs.unescape(s), s);
  }
  const parsed = qs.parse("a=b", null, null, { decodeURIComponent: (s) => s.toUpperCase() });
  assert.deepEqual({ ...parsed }, { ...nodeQs.parse("a=b", null, null, { decodeURIComponent: (s) => s.toUpperCase() }) });
  const objs = [{}, { a: 1, b: "two" }, { a: [1, 2], b: true, c: null, d: undefined, e: NaN, f: { g: 1 }, h: 5n, i: Infinity },
    { "sp ace": "va lue", "€": "ü&=", "*()!'~": "-._" }, { empty: [] }, { a: "" }];
  for (const o of objs) {
    assert.equal(qs.stringify(o), nodeQs.stringify(o), JSON.stringify(o, (k, v) => (typeof v === "bigint" ? String(v) : v)));
    assert.equal(qs.encode(o, ";", ":"), nodeQs.encode(o, ";", ":"));
    assert.equal(qs.stringify(o, null, null, { encodeURIComponent: (s) => `<${s}>` }), nodeQs.stringify(o, null, null, { encodeURIComponent: (s) => `<${s}>` }));
  }
  for (const s of ["abc", "a b&c", "€", 12, true, "\ud800x"]) {
    assert.deepEqual(outcome(() => qs.escape(s)), outcome(() => nodeQs.escape(s)), String(s));
  }
  assert.equal(qs.stringify("str"), nodeQs.stringify("str"));
});

test("os, timers and timers/promises", async () => {
  const os = req("os");
  assert.equal(os.EOL, "\n");
  assert.equal(os.platform(), "linux");
  assert.equal(os.type(), "Linux");
  assert.equal(os.arch(), "x64");
  assert.equal(os.tmpdir(), "/tmp");
  assert.equal(os.endianness(), "LE");
  assert.equal(os.hostname(), "localhost");
  assert.equal(os.cpus().length, 1);
  assert.ok(os.totalmem() >= os.freemem());
  assert.deepEqual([...os.loadavg()], [0, 0, 0]);
  assert.equal(typeof os.uptime(), "number");
  assert.equal(os.userInfo().homedir, os.homedir());
  assert.equal(os.constants.signals.SIGTERM, 15);
  const timers = req("timers");
  const order = [];
  await new Promise((resolve) => {
    timers.setTimeout(() => order.push("timeout"), 5);
    timers.setImmediate((x) => order.push(x), "immediate");
    const id = timers.setInterval(() => {
      order.push("interval");
      timers.clearInterval(id);
      timers.setTimeout(resolve, 10);
    }, 1);
    const never = timers.setTimeout(() => order.push("never"), 1);
    timers.clearTimeout(never);
  });
  assert.ok(order.includes("timeout") && order.includes("immediate") && order.includes("interval") && !order.includes("never"));
  const tp = req("timers/promises");
  assert.equal(timers.promises, tp);
  assert.equal(await tp.setTimeout(1, "value"), "value");
  assert.equal(await tp.setImmediate("now"), "now");
  const ticks = [];
  for await (const v of tp.setInterval(1, "tick")) {
    ticks.push(v);
    if (ticks.length === 3) break;
  }
  assert.deepEqual(ticks, ["tick", "tick", "tick"]);
  const controller = new AbortController();
  const aborted = tp.setTimeout(1000, "late", { signal: controller.signal });
  controller.abort();
  await assert.rejects(aborted, { name: "AbortError", code: "ABORT_ERR" });
});

test("built-ins load lazily through require and the prelude's globals", () => {
  const fresh = isolate({ "index.js": "exports.main = () => ({ b: Buffer.from('hi').toString('base64'), e: typeof require('events'), p: require('node:path').join('a', 'b'), u: require('util').format('%d', 5) })" });
  const main = fresh.loadEntry("main");
  assert.deepEqual({ ...main() }, { b: "aGk=", e: "function", p: "a/b", u: "5" });
  assert.throws(() => fresh.require("internal/encoding"), /Cannot find module/);
});

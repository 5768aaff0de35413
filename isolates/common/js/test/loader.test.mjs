import { test } from "node:test";
import assert from "node:assert/strict";
import { isolate } from "./harness.mjs";

test("relative requires, index.js, package.json main, json and cycles", () => {
  const files = {
    "package.json": JSON.stringify({ main: "lib/entry.js" }),
    "lib/entry.js": "const a = require('./a'); const data = require('../data.json'); exports.main = (p) => ({a: a.name, b: a.b(), data, dir: __dirname, file: __filename});",
    "lib/a.js": "exports.name = 'a'; const b = require('./b'); exports.b = () => b.seen;",
    "lib/b.js": "const a = require('./a'); exports.seen = a.name;",
    "data.json": "{\"x\": 1}",
  };
  const iso = isolate(files);
  const main = iso.loadEntry("main");
  assert.deepEqual(JSON.parse(JSON.stringify(main({}))), {
    a: "a", b: "a", data: { x: 1 }, dir: "/action/lib", file: "/action/lib/entry.js",
  });
});

test("node_modules up the tree, exports maps and scoped packages", () => {
  const files = {
    "index.js": "exports.main = () => ({ l: require('left-pad')(1), s: require('@scope/pkg').v, e: require('exp/feature').f })",
    "node_modules/left-pad/package.json": "{\"main\": \"./lib\"}",
    "node_modules/left-pad/lib/index.js": "module.exports = (n) => 'pad' + n;",
    "node_modules/@scope/pkg/index.js": "exports.v = 'scoped';",
    "node_modules/exp/package.json": JSON.stringify({ exports: { ".": "./main.js", "./feature": { require: "./f.cjs", import: "./f.mjs" } } }),
    "node_modules/exp/f.cjs": "exports.f = 'cjs';",
  };
  const main = isolate(files).loadEntry("main");
  assert.deepEqual({ ...main() }, { l: "pad1", s: "scoped", e: "cjs" });
});

test("missing modules, refused built-ins and zips without an entry", () => {
  const iso = isolate({});
  assert.throws(() => iso.require("./nope"), /Cannot find module '\.\/nope'/);
  assert.throws(() => iso.require("fs"), /not available in shoal's JS isolates/);
  assert.throws(() => iso.loadEntry("main"), /Zipped actions must contain either package.json or index.js at the root./);
});

test("require.cache is shared and a failed module is not cached", () => {
  const files = { "index.js": "exports.main = () => 1", "bad.js": "throw new Error('boom')", "once.js": "globalThis.count = (globalThis.count || 0) + 1" };
  const iso = isolate(files);
  iso.require("./once");
  iso.require("./once.js");
  assert.equal(iso.context.count, 1);
  // Resolutions are remembered; modules are still looked up in require.cache each time.
  delete iso.require.cache[iso.require.resolve("./once")];
  iso.require("./once");
  assert.equal(iso.context.count, 2);
  assert.throws(() => iso.require("./bad"), /boom/);
  assert.throws(() => iso.require("./bad"), /boom/);
  assert.equal(Object.keys(iso.require.cache).some((k) => k.endsWith("bad.js")), false);
});

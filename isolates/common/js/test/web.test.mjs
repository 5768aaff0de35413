// url, internal/web, http(s), stream, zlib and crypto of the Node layer, run in the harness's
// bare context and compared with Node's own implementations; HTTP goes to a local server
// through a fake `host.request` made of Node's fetch.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import nodeUrl from "node:url";
import zlib from "node:zlib";
import crypto from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isolate as bareIsolate } from "./harness.mjs";

// The harness's host makes its byte arrays with `context.Uint8Array`, which a vm context's
// sandbox object does not carry: give it the context's own.
function isolate(files, options) {
  const iso = bareIsolate(files, options);
  iso.context.Uint8Array = iso.run("Uint8Array");
  return iso;
}
// internal/web is not requirable from action code: reach it through the prelude's globals.
function webOf(iso) {
  return iso.run(`({ EventTarget, Event, AbortController, AbortSignal,
    structuredClone, Blob, FormData, Headers, Request, Response, fetch })`);
}

let server, origin;
const seen = [];
before(async () => {
  server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === "/redirect") {
        res.writeHead(302, { location: "/json" });
        res.end();
      } else if (req.url === "/slow") {
        setTimeout(() => res.end("late"), 200);
      } else if (req.url === "/cookies") {
        res.setHeader("set-cookie", ["a=1", "b=2"]);
        res.setHeader("x-multi", ["one", "two"]);
        res.end("ok");
      } else {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({
          method: req.method, url: req.url, type: req.headers["content-type"] ?? null,
          length: body.length, body: body.toString("latin1"), host: req.headers.host,
        }));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});
after(() => server.close());

// A fresh isolate whose host.request is Node's fetch.
function withNetwork() {
  let iso;
  const request = async (d, body) => {
    const headers = d.headers.filter(([n]) => !["host", "connection"].includes(n.toLowerCase()));
    const r = await fetch(d.url, { method: d.method, headers, body, redirect: d.redirect });
    const bytes = new Uint8Array(await r.arrayBuffer());
    return {
      status: r.status, statusText: r.statusText, url: r.url, redirected: r.redirected,
      headers: [...r.headers], body: new iso.context.Uint8Array(bytes),
    };
  };
  iso = isolate({}, { request });
  return iso;
}
const plain = (x) => JSON.parse(JSON.stringify(x));

// --- url ---
const URL_CASES = [
  ["http://example.com/a/./b/../c?x=1#f"], ["../x", "http://a/b/c/d;p?q"], ["//g", "http://a/b/c/d"],
  ["?y", "http://a/b/c/d;p?q"], ["g;x?y#s", "http://a/b/c/d;p?q"], ["../../../g", "http://a/b/c/d;p?q"],
  ["/./g", "http://a/b/c/d;p?q"], ["g..", "http://a/b/c/d;p?q"], ["./g/.", "http://a/b/c/d;p?q"],
  ["http://EXAMPLE.com:80/"], ["https://u:p@h:443/"], ["https://u:p@h:444/"], ["HTTPS://ü.com/ä b?q w#f g"],
  ["mailto:John.Doe@example.com"], ["file:///C:/x/../y"], ["file://localhost/etc/passwd"],
  ["http://0x7f.0.0.1/"], ["http://[::FFFF:1.2.3.4]/"], ["http://[2001:db8:0:0:1:0:0:1]:8080/"],
  ["http://1.2.3.4.5/"], ["http://999999999999/"], ["foo://host/p a/t?q'#x"], ["http://a/%2e%2E/b"],
  ["a:\t foo.com"], ["http://f:999999/"], ["http://f:b/c"], ["non-spec:/.//p"], ["http:\\\\a\\b"],
  ["/\\a", "http://x"], ["data:text/plain,hello world"], ["javascript:alert(1)"], ["blob:https://a.com/uuid"],
  ["http://a b/"], ["http://[1::2::3]/"], ["http://ex%41mple.com/"], ["sc://ñ.test/"], ["http://user@/"],
  ["ws://x/?'"], ["http://a/b?c=d'e"], ["", "http://a/b?c#d"], ["#x", "mailto:a"], ["x", "mailto:a"],
  ["http://[0:0:0:0:0:0:13.1.68.3]"], ["http://192.168.0.257"], ["http://0300.0250.0.1"],
  ["file:c:/x", "file:///d:/y"], ["..", "file:///C:/"], ["http://a/\u{1F600}"], ["  http://a/  "],
  ["http://a/b\nc"], ["http://@:@a"], ["http://a:b@c:d@e/"], ["git+ssh://git@github.com:org/repo.git"],
  ["urn:isbn:0451450523"], ["HTTP://%E2%98%83.com/"], ["http://xn--n3h.com/"], ["http://a.b.c./"],
  ["http://%zz/"], ["/path", "about:blank"], ["http://a/?%zz%20+é"], ["http://a/#%zz é`"], ["tel:+1 555"],
  ["http://[::1]:0/"], ["https://a:0443/"], ["ftp://f:21/p"], ["wss://x:443/"], ["ws://x:80"],
];
const urlParts = (x) => [x.href, x.origin, x.protocol, x.username, x.password, x.host, x.hostname, x.port,
  x.pathname, x.search, x.hash].join(" | ");

test("URL parses like Node's URL", () => {
  const { URL } = isolate().require("url");
  for (const [input, base] of URL_CASES) {
    let mine, theirs;
    try {
      mine = urlParts(new URL(input, base));
    } catch (e) {
      mine = `${e.name} ${e.code}`;
    }
    try {
      theirs = urlParts(new globalThis.URL(input, base));
    } catch (e) {
      theirs = `${e.name} ${e.code}`;
    }
    assert.equal(mine, theirs, `${JSON.stringify(input)} against ${base}`);
    assert.equal(URL.canParse(input, base), globalThis.URL.canParse(input, base));
  }
  assert.throws(() => new URL("nope"), { name: "TypeError", code: "ERR_INVALID_URL", message: "Invalid URL" });
  assert.equal(JSON.stringify({ u: new URL("http://a/b") }), "{\"u\":\"http://a/b\"}");
  assert.equal(String(new URL("http://a/b")), "http://a/b");
});

test("URL setters behave like Node's", () => {
  const { URL } = isolate().require("url");
  const edits = [
    ["http://a/b?c#d", "protocol", "https"], ["http://a/b", "protocol", "foo"], ["foo://a/b", "protocol", "bar"],
    ["http://a:8080/", "protocol", "https:"], ["http://a/", "protocol", "file"], ["http://a/", "username", "us er@"],
    ["http://a/", "password", "p:w"], ["file:///x", "username", "u"], ["http://a/b", "host", "x.org:99"],
    ["http://a/b", "host", "x.org:http"], ["http://a/b", "hostname", "x.org:99"], ["http://a/b", "hostname", "Ex.ORG"],
    ["http://a:1/b", "port", "80"], ["http://a/b", "port", "8080abc"], ["http://a/b", "port", "99999"],
    ["http://a:5/b", "port", ""], ["http://a/b", "pathname", "x y/../z?#"], ["mailto:x", "pathname", "y"],
    ["http://a/b", "search", "?q=1 2&r=é"], ["http://a/b?x", "search", ""], ["http://a/b", "hash", "#f g"],
    ["http://a/b#x", "hash", ""], ["http://a/b", "href", "https://c/d"], ["foo:a b", "hash", "x"],
    ["http://a/b", "host", ""], ["foo://a/b", "host", ""], ["http://a/b", "hostname", "[::1]"],
  ];
  for (const [start, key, value] of edits) {
    const mine = new URL(start);
    const theirs = new globalThis.URL(start);
    mine[key] = value;
    theirs[key] = value;
    assert.equal(urlParts(mine), urlParts(theirs), `${start} .${key} = ${value}`);
  }
  assert.throws(() => (new URL("http://a").href = "nope"), { code: "ERR_INVALID_URL" });
});

test("URLSearchParams and searchParams live both ways", () => {
  const { URL, URLSearchParams } = isolate().require("url");
  for (const init of ["a=1&b=2&a=3", "?x=%20+y&=z&w", "q=%zz&é=ü+%F0%9F%98%80", "", "a&&b=&=c", "%E9=%FF"]) {
    const mine = new URLSearchParams(init);
    const theirs = new globalThis.URLSearchParams(init);
    assert.equal(mine.toString(), theirs.toString(), init);
    assert.deepEqual([...mine].map((p) => [...p]), [...theirs]);
    assert.equal(mine.size, theirs.size);
  }
  const p = new URLSearchParams({ b: "2", a: "x y", c: "~!'()*" });
  p.append("a", "1+1");
  assert.equal(p.toString(), new globalThis.URLSearchParams([["b", "2"], ["a", "x y"], ["c", "~!'()*"], ["a", "1+1"]]).toString());
  assert.deepEqual([...p.getAll("a")], ["x y", "1+1"]);
  assert.equal(p.get("zz"), null);
  assert.equal(p.has("a", "1+1"), true);
  p.sort();
  assert.deepEqual([...p.keys()], ["a", "a", "b", "c"]);
  p.set("a", "only");
  p.delete("c");
  assert.equal(p.toString(), "a=only&b=2");
  const seenPairs = [];
  p.forEach((v, k) => seenPairs.push(k + v));
  assert.deepEqual(seenPairs, ["aonly", "b2"]);
  assert.throws(() => new URLSearchParams([["a"]]), { name: "TypeError" });
  assert.equal(new URLSearchParams(new Map([["m", "1"]])).toString(), "m=1");

  const u = new URL("https://h/p?x=1#frag");
  u.searchParams.append("y", "a b");
  assert.equal(u.href, "https://h/p?x=1&y=a+b#frag");
  u.searchParams.delete("x");
  u.searchParams.delete("y");
  assert.equal(u.href, "https://h/p#frag");
  u.search = "?k=v&k=w";
  assert.deepEqual([...u.searchParams.getAll("k")], ["v", "w"]);
  u.href = "http://other/?n=1";
  assert.equal(u.searchParams.get("n"), "1");
});

test("legacy url.parse, format and resolve match Node", () => {
  const url = isolate().require("url");
  const inputs = [
    "http://user:pw@Host.com:8080/p/a/t/h?query=string#hash", "/a b?x=1", "mailto:x@y.com",
    "https://example.com", "//host/path", "HTTP://EX.com/A?B#C", "file:///etc/hosts", "http://[::1]:3000/x",
    "javascript:alert(1)", "?q=1", "http://a.com/\\b\\c?d\\e", "x.com/path", "http://a.com:/p",
    "http://ünicode.com/p", "http://a.com/p?q=\"<>`", "redis://:secret@localhost:6379/0",
  ];
  for (const input of inputs) {
    for (const [pq, sdh] of [[false, false], [true, false], [false, true]]) {
      const mine = url.parse(input, pq, sdh);
      const theirs = nodeUrl.parse(input, pq, sdh);
      assert.deepEqual(plain(mine), plain(theirs), `${input} ${pq} ${sdh}`);
      assert.equal(url.format(mine), nodeUrl.format(theirs), input);
    }
  }
  const obj = { protocol: "https", hostname: "x.org", port: 8443, pathname: "/a", query: { q: "1 2", r: ["a", "b"] }, hash: "h" };
  assert.equal(url.format(obj), nodeUrl.format(obj));
  assert.equal(url.format({ host: "h:1", pathname: "p" }), nodeUrl.format({ host: "h:1", pathname: "p" }));
  const { URL } = url;
  assert.equal(url.format(new URL("http://u:p@a/b?c#d"), { auth: false, search: false, fragment: false }),
    nodeUrl.format(new globalThis.URL("http://u:p@a/b?c#d"), { auth: false, search: false, fragment: false }));
  for (const [from, to] of [["/one/two/three", "four"], ["http://example.com/", "/one"], ["http://example.com/one", "/two"],
    ["http://a/b/c", "../d"], ["http://a/b", "https://c/d"], ["http://a/b/c?x", "?y"], ["http://a/b", "#h"]]) {
    assert.equal(url.resolve(from, to), nodeUrl.resolve(from, to), `${from} + ${to}`);
  }
  assert.equal(url.fileURLToPath("file:///tmp/a%20b/c"), "/tmp/a b/c");
  assert.equal(url.fileURLToPath(new URL("file://localhost/x")), "/x");
  assert.throws(() => url.fileURLToPath("http://a/b"), { code: "ERR_INVALID_URL_SCHEME" });
  assert.throws(() => url.fileURLToPath("file:///a%2fb"), { code: "ERR_INVALID_FILE_URL_PATH" });
  for (const p of ["/tmp/a b/%c#d?e", "/x/../y/", "/ü"]) assert.equal(url.pathToFileURL(p).href, nodeUrl.pathToFileURL(p).href);
  assert.equal(url.pathToFileURL("rel/x").href, "file:///action/rel/x");
  assert.equal(url.domainToASCII("EXAMPLE.com"), "example.com");
  assert.equal(url.domainToASCII("bücher.de"), nodeUrl.domainToASCII("bücher.de"));
  assert.equal(url.domainToASCII("a b.com"), "");
  assert.deepEqual(plain(url.urlToHttpOptions(new URL("http://u:p@[::1]:81/a?b"))),
    plain(nodeUrl.urlToHttpOptions(new globalThis.URL("http://u:p@[::1]:81/a?b"))));
});

// --- internal/web ---
test("EventTarget, AbortController and AbortSignal", async () => {
  const web = webOf(isolate());
  const target = new web.EventTarget();
  const calls = [];
  const once = () => calls.push("once");
  target.addEventListener("ping", once, { once: true });
  target.addEventListener("ping", { handleEvent: (e) => calls.push("obj:" + e.type) });
  target.addEventListener("ping", once, { once: true });
  const ev = new web.Event("ping", { cancelable: true });
  target.addEventListener("ping", (e) => e.preventDefault());
  assert.equal(target.dispatchEvent(ev), false);
  target.dispatchEvent(new web.Event("ping"));
  assert.deepEqual(calls, ["once", "obj:ping", "obj:ping"]);
  assert.equal(ev.target, target);

  const c = new web.AbortController();
  let fired = 0;
  c.signal.onabort = () => fired++;
  c.signal.addEventListener("abort", () => fired++);
  c.abort();
  c.abort();
  assert.equal(fired, 2);
  assert.equal(c.signal.aborted, true);
  assert.equal(c.signal.reason.name, "AbortError");
  assert.equal(c.signal.reason.code, 20);
  assert.throws(() => c.signal.throwIfAborted(), { name: "AbortError" });
  assert.equal(web.AbortSignal.abort("why").reason, "why");
  const any = web.AbortSignal.any([new web.AbortController().signal, web.AbortSignal.abort("first")]);
  assert.equal(any.reason, "first");
  const t = web.AbortSignal.timeout(5);
  await new Promise((resolve) => t.addEventListener("abort", resolve));
  assert.equal(t.reason.name, "TimeoutError");
  assert.throws(() => new web.AbortSignal(), { name: "TypeError" });
});

test("structuredClone copies plain data and refuses functions", () => {
  const iso = isolate();
  const { structuredClone } = webOf(iso);
  const v = iso.run(`({ a: [1, 'two', null, undefined, 3n], d: new Date(5), r: /x/gi, m: new Map([[{k: 1}, new Set([1, 2])]]),
    u: new Uint16Array([1, 2, 3]).subarray(1), b: new ArrayBuffer(4), e: new RangeError('bad'), n: -0, s: new String('s') })`);
  v.self = v;
  const c = structuredClone(v);
  assert.notEqual(c, v);
  assert.equal(c.self, c);
  assert.deepEqual(plain(c.a.slice(0, 4)), [1, "two", null, null]);
  assert.equal(c.a[4], 3n);
  assert.equal(c.d.getTime(), 5);
  assert.equal(c.r.flags, "gi");
  const [[key, set]] = [...c.m];
  assert.deepEqual(plain(key), { k: 1 });
  assert.deepEqual([...set], [1, 2]);
  assert.deepEqual([...c.u], [2, 3]);
  assert.equal(c.u.byteOffset, 2);
  assert.equal(c.b.byteLength, 4);
  assert.equal(c.e.message, "bad");
  assert.equal(c.e instanceof iso.run("RangeError"), true);
  assert.equal(Object.is(c.n, -0), true);
  assert.equal(c.s.valueOf(), "s");
  assert.throws(() => structuredClone({ f() {} }), { name: "DataCloneError" });
  assert.throws(() => structuredClone(Symbol("x")), { name: "DataCloneError" });
  assert.equal(Object.getPrototypeOf(structuredClone(new (iso.run("(class K { constructor() { this.x = 1 } })"))())), iso.run("Object.prototype"));
});

test("Headers, Request, Response, Blob and FormData", async () => {
  const web = webOf(isolate());
  const h = new web.Headers({ "X-B": " 2 ", "x-a": "1" });
  h.append("x-a", "3");
  h.append("Set-Cookie", "a=1");
  h.append("set-cookie", "b=2");
  assert.equal(h.get("X-A"), "1, 3");
  assert.deepEqual(plain([...h]), [["set-cookie", "a=1"], ["set-cookie", "b=2"], ["x-a", "1, 3"], ["x-b", "2"]]);
  assert.deepEqual([...h.getSetCookie()], ["a=1", "b=2"]);
  assert.throws(() => h.set("bad name", "x"), { name: "TypeError" });
  assert.throws(() => h.set("x", "a\nb"), { name: "TypeError" });

  const r = new web.Response("héllo", { status: 201, statusText: "Made", headers: [["x", "y"]] });
  assert.equal(r.ok, true);
  assert.equal(r.status, 201);
  assert.equal(r.headers.get("content-type"), "text/plain;charset=UTF-8");
  const clone = r.clone();
  assert.equal(await r.text(), "héllo");
  assert.equal(r.bodyUsed, true);
  await assert.rejects(r.text(), { name: "TypeError" });
  assert.equal(new Uint8Array(await clone.arrayBuffer()).length, 6);
  const j = web.Response.json({ a: 1 }, { status: 404 });
  assert.equal(j.ok, false);
  assert.equal(j.headers.get("content-type"), "application/json");
  assert.deepEqual(plain(await j.json()), { a: 1 });
  assert.equal(web.Response.error().type, "error");
  assert.equal(web.Response.error().status, 0);
  assert.throws(() => new web.Response("x", { status: 204 }), { name: "TypeError" });
  assert.throws(() => new web.Response(null, { status: 99 }), { name: "RangeError" });
  assert.equal(new web.Response(new Uint8Array([104, 105])).headers.get("content-type"), null);
  assert.equal(await new web.Response(new Uint8Array([104, 105]).buffer).text(), "hi");
  const chunks = [];
  for await (const c of new web.Response("stream me").body) chunks.push(...c);
  assert.equal(String.fromCharCode(...chunks), "stream me");

  const blob = new web.Blob(["ab", new Uint8Array([99])], { type: "Text/Plain" });
  assert.equal(blob.size, 3);
  assert.equal(blob.type, "text/plain");
  assert.equal(await blob.text(), "abc");
  assert.equal(await blob.slice(1).text(), "bc");

  const req = new web.Request("http://x.org/a b", { method: "post", body: new URLSearchParams({ a: "1" }).toString(), headers: { "x-y": "z" } });
  assert.equal(req.method, "POST");
  assert.equal(req.url, "http://x.org/a%20b");
  assert.equal(req.headers.get("x-y"), "z");
  assert.equal(await req.clone().text(), "a=1");
  assert.throws(() => new web.Request("http://x", { method: "GET", body: "no" }), { name: "TypeError" });
  assert.throws(() => new web.Request("/relative"), { name: "TypeError" });
  assert.equal(new web.Request("http://x", { method: "patch" }).method, "patch");

  const fd = new web.FormData();
  fd.append("a", "1");
  fd.append("f", new web.Blob(["data"], { type: "text/csv" }), "x.csv");
  fd.set("a", "2");
  assert.equal(fd.get("a"), "2");
  assert.equal(fd.get("f").name, "x.csv");
  assert.deepEqual([...fd.keys()], ["a", "f"]);
});

test("fetch sends each body type with its content type", async () => {
  const iso = withNetwork();
  const { fetch, Blob, FormData } = webOf(iso);
  const { URLSearchParams } = iso.require("url");
  const form = new FormData();
  form.append("field", "value");
  form.append("file", new Blob(["abc"], { type: "text/plain" }), "a.txt");
  const cases = [
    ["text", "hi ✓", "text/plain;charset=UTF-8", "hi \u00e2\u009c\u0093"],
    ["params", new URLSearchParams({ a: "1 2", b: "&" }), "application/x-www-form-urlencoded;charset=UTF-8", "a=1+2&b=%26"],
    ["bytes", new Uint8Array([1, 2, 255]), null, "\u0001\u0002\u00ff"],
    ["arraybuffer", new Uint8Array([65, 66]).buffer, null, "AB"],
    ["blob", new Blob(["blob!"], { type: "application/x-thing" }), "application/x-thing", "blob!"],
  ];
  for (const [name, body, type, echoed] of cases) {
    const res = await fetch(`${origin}/echo/${name}`, { method: "POST", body });
    assert.equal(res.status, 200);
    assert.equal(res.ok, true);
    assert.equal(res.headers.get("content-type"), "application/json");
    const got = await res.json();
    assert.equal(got.type, type, name);
    assert.equal(got.body, echoed, name);
  }
  const res = await fetch(`${origin}/echo/form`, { method: "PUT", body: form });
  const got = await res.json();
  assert.match(got.type, /^multipart\/form-data; boundary=/);
  assert.match(got.body, /name="field"\r\n\r\nvalue\r\n/);
  assert.match(got.body, /name="file"; filename="a.txt"\r\nContent-Type: text\/plain\r\n\r\nabc\r\n/);
  const custom = await fetch(`${origin}/echo`, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
  assert.equal((await custom.json()).type, "application/json");
  const redirected = await fetch(`${origin}/redirect`);
  assert.equal(redirected.redirected, true);
  assert.equal(redirected.url, `${origin}/json`);
  const manual = await fetch(`${origin}/redirect`, { redirect: "manual" });
  assert.equal(manual.status, 302);
  const head = await fetch(`${origin}/x`, { method: "HEAD" });
  assert.equal(await head.text(), "");
  const cookies = await fetch(`${origin}/cookies`);
  assert.deepEqual([...cookies.headers.getSetCookie()], ["a=1", "b=2"]);
  assert.equal(cookies.headers.get("x-multi"), "one, two");
});

test("fetch honours signals and reports failures like Node", async () => {
  const iso = withNetwork();
  const { fetch, AbortController, AbortSignal } = webOf(iso);
  const c = new AbortController();
  c.abort();
  await assert.rejects(fetch(`${origin}/x`, { signal: c.signal }), { name: "AbortError" });
  const late = new AbortController();
  const pending = fetch(`${origin}/slow`, { signal: late.signal });
  setTimeout(() => late.abort(), 20);
  await assert.rejects(pending, { name: "AbortError", message: "This operation was aborted" });
  await assert.rejects(fetch(`${origin}/slow`, { signal: AbortSignal.timeout(20) }), { name: "TimeoutError" });
  await assert.rejects(fetch(`${origin}/x`, { signal: AbortSignal.abort("mine") }), (e) => e === "mine");
  const offline = webOf(isolate());
  await assert.rejects(offline.fetch("http://127.0.0.1:1/"), (e) => e.name === "TypeError" && e.message === "fetch failed" && /no network/.test(e.cause.message));
  await assert.rejects(offline.fetch("not a url"), { name: "TypeError", message: "Failed to parse URL from not a url" });
  await assert.rejects(offline.fetch("http://x", { method: "GET", body: "b" }), { name: "TypeError" });
});

// --- http ---
test("http.get and http.request talk to a local server", async () => {
  const iso = withNetwork();
  const httpMod = iso.require("http");
  const res = await new Promise((resolve, reject) => httpMod.get(`${origin}/json?q=1`, resolve).on("error", reject));
  assert.equal(res.statusCode, 200);
  assert.equal(res.statusMessage, "OK");
  assert.equal(res.headers["content-type"], "application/json");
  assert.equal(res.httpVersion, "1.1");
  res.setEncoding("utf8");
  let text = "";
  res.on("data", (c) => (text += c));
  await new Promise((resolve) => res.on("end", resolve));
  const body = JSON.parse(text);
  assert.equal(body.method, "GET");
  assert.equal(body.url, "/json?q=1");

  const posted = await new Promise((resolve, reject) => {
    const req = httpMod.request({ hostname: "127.0.0.1", port: new URL(origin).port, path: "/post", method: "POST",
      headers: { "Content-Type": "text/plain" } }, (r) => {
      const chunks = [];
      r.on("data", (c) => chunks.push(c));
      r.on("end", () => resolve({ r, text: iso.context.Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    assert.equal(req.getHeader("content-type"), "text/plain");
    req.setHeader("X-Extra", ["a", "b"]);
    req.write("part1,");
    req.end("part2");
  });
  assert.deepEqual(JSON.parse(posted.text).body, "part1,part2");
  assert.equal(seen.at(-1).headers["x-extra"], "a, b");
  assert.equal(JSON.parse(posted.text).host, new URL(origin).host);

  const cookies = await new Promise((resolve) => httpMod.get(`${origin}/cookies`, (r) => {
    r.resume();
    r.on("end", () => resolve(r));
  }));
  assert.deepEqual([...cookies.headers["set-cookie"]], ["a=1", "b=2"]);
  assert.equal(cookies.headers["x-multi"], "one, two");
  assert.ok(cookies.rawHeaders.length >= 4);

  const redirect = await new Promise((resolve) => httpMod.get(`${origin}/redirect`, resolve));
  assert.equal(redirect.statusCode, 302);
  assert.equal(redirect.headers.location, "/json");

  // pipe a response into a Writable
  const { Writable } = iso.require("stream");
  const collected = [];
  await new Promise((resolve) => httpMod.get(`${origin}/json`, (r) => {
    r.pipe(new Writable({ write(c, e, cb) { collected.push(c); cb(); } })).on("finish", resolve);
  }));
  assert.equal(JSON.parse(iso.context.Buffer.concat(collected).toString()).url, "/json");
});

test("http errors, timeouts, aborts and refusals", async () => {
  const offline = isolate().require("http");
  const err = await new Promise((resolve) => offline.get("http://127.0.0.1:1/", () => {}).on("error", resolve));
  assert.match(err.message, /no network/);
  assert.throws(() => offline.get("https://x/"), { code: "ERR_INVALID_PROTOCOL" });
  assert.throws(() => offline.createServer(), /http servers cannot run in shoal's JS isolates/);
  assert.equal(offline.STATUS_CODES[418], http.STATUS_CODES[418]);
  assert.deepEqual(plain(offline.STATUS_CODES), plain(http.STATUS_CODES));
  assert.ok(offline.METHODS.includes("PATCH"));
  assert.equal(new offline.Agent({ keepAlive: true }).keepAlive, true);
  assert.equal(offline.globalAgent.defaultPort, 80);
  const https = isolate().require("https");
  assert.equal(https.globalAgent.defaultPort, 443);
  assert.equal(https.request("https://x.org/p").getHeader("host"), "x.org");
  assert.equal(https.request({ host: "x.org", port: 8443 }).getHeader("host"), "x.org:8443");

  const iso = withNetwork();
  const httpMod = iso.require("http");
  const events = [];
  const req = httpMod.get(`${origin}/slow`);
  req.setTimeout(20, () => {
    events.push("timeout");
    req.destroy();
  });
  req.on("error", (e) => events.push("error:" + e.code));
  await new Promise((resolve) => req.on("close", resolve));
  assert.deepEqual(events, ["timeout", "error:ECONNRESET"]);
  const aborted = httpMod.get(`${origin}/slow`);
  const order = [];
  aborted.on("abort", () => order.push("abort"));
  aborted.on("error", () => order.push("error"));
  aborted.abort();
  await new Promise((resolve) => aborted.on("close", resolve));
  assert.deepEqual(order, ["abort"]);
  assert.equal(aborted.aborted, true);
});

// --- stream ---
test("stream: Readable, Writable, Transform, pipe and pipeline", async () => {
  const iso = isolate();
  const result = await iso.run(`(async () => {
    const { Readable, Writable, Transform, PassThrough, Duplex, pipeline, finished } = require('stream');
    const out = {};
    const chunks = [];
    await new Promise((res) => { const r = Readable.from(['a', 'b', 'c']); r.on('data', (c) => chunks.push(c)); r.on('end', res); });
    out.from = chunks.join(',');
    const got = [];
    let drains = 0;
    const w = new Writable({ highWaterMark: 2, write(c, e, cb) { got.push(c.toString()); setTimeout(cb, 1); } });
    w.on('drain', () => drains++);
    const up = new Transform({ transform(c, e, cb) { cb(null, c.toString().toUpperCase()); } });
    let i = 0;
    const src = new Readable({ read() { i++; if (i > 5) this.push(null); else this.push('x' + i); } });
    await new Promise((res, rej) => pipeline(src, up, w, (err) => err ? rej(err) : res()));
    out.pipeline = got.join(',');
    out.drained = drains > 0;
    const it = [];
    for await (const c of Readable.from([1, 2, 3])) it.push(c);
    out.iter = it.join(',');
    const p = new PassThrough();
    p.write('hello ');
    p.end('world');
    await new Promise((res) => p.once('readable', res));
    out.read = String(p.read());
    const bad = new Transform({ transform(c, e, cb) { cb(new Error('boom')); } });
    out.err = await new Promise((res) => pipeline(Readable.from(['a']), bad, new PassThrough(), (err) => res(err && err.message)));
    const e = new PassThrough();
    e.setEncoding('utf8');
    const s = [];
    e.on('data', (c) => s.push(typeof c + ':' + c));
    e.write(Buffer.from([0x68, 0xc3]));
    e.end(Buffer.from([0xa9]));
    await new Promise((res) => e.on('end', res));
    out.enc = s.join('|');
    const w2 = new Writable({ write(c, e, cb) { cb(); } });
    const fin = new Promise((res) => finished(w2, (err) => res('fin:' + err)));
    w2.end('x');
    out.fin = await fin;
    const acc = [];
    await require('stream/promises').pipeline(Readable.from(['q', 'r']),
      async function* (source) { for await (const c of source) yield c + '!'; },
      new Writable({ objectMode: true, write(c, e, cb) { acc.push(c); cb(); } }));
    out.promises = acc.join('');
    const paused = new Readable({ read() {} });
    paused.push('ab');
    paused.push('cd');
    paused.push(null);
    out.readN = [String(paused.read(3)), String(paused.read(3)), String(paused.read())].join('/');
    const objs = [];
    const om = new Writable({ objectMode: true, write(c, e, cb) { objs.push(c.n); cb(); } });
    om.write({ n: 1 });
    om.end({ n: 2 });
    await new Promise((res) => om.on('finish', res));
    out.objectMode = objs.join(',');
    const d = new Duplex({ read() { this.push('dx'); this.push(null); }, write(c, e, cb) { out.duplexWrote = c.toString(); cb(); } });
    d.end('in');
    out.duplexRead = await new Promise((res) => d.on('data', (c) => res(c.toString())));
    out.isWritable = d instanceof Writable;
    const destroyed = new Readable({ read() {} });
    const events = [];
    destroyed.on('error', (err) => events.push('error:' + err.message));
    destroyed.on('close', () => events.push('close'));
    destroyed.destroy(new Error('gone'));
    await new Promise((res) => setTimeout(res, 5));
    out.destroyed = events.join(',');
    const written = [];
    const slow = new Writable({ highWaterMark: 3, write(c, e, cb) { written.push(c.toString()); setTimeout(cb, 1); } });
    out.writeRet = [slow.write('ab'), slow.write('cd')].join(',');
    await new Promise((res) => slow.once('drain', res));
    out.afterDrain = written.join('');
    const flushed = [];
    const tf = new Transform({ transform(c, e, cb) { cb(null, c); }, flush(cb) { cb(null, 'END'); } });
    tf.on('data', (c) => flushed.push(c.toString()));
    tf.end('body');
    await new Promise((res) => tf.on('end', res));
    out.flush = flushed.join('+');
    return JSON.stringify(out);
  })()`);
  assert.deepEqual(JSON.parse(result), {
    from: "a,b,c", pipeline: "X1,X2,X3,X4,X5", drained: true, iter: "1,2,3", read: "hello world", err: "boom",
    enc: "string:h|string:é", fin: "fin:undefined", promises: "q!r!", readN: "abc/d/null", objectMode: "1,2",
    duplexWrote: "in", duplexRead: "dx", isWritable: true, destroyed: "error:gone,close", writeRet: "true,false",
    afterDrain: "abcd", flush: "body+END",
  });
});

// --- zlib ---
test("zlib round-trips, interoperates with Node and reports corrupt input", async () => {
  const iso = isolate();
  const z = iso.require("zlib");
  const text = "shoal ".repeat(1000) + "✓";
  const pairs = [["gzipSync", "gunzipSync"], ["deflateSync", "inflateSync"], ["deflateRawSync", "inflateRawSync"]];
  for (const [c, d] of pairs) {
    const packed = z[c](text);
    assert.equal(iso.context.Buffer.isBuffer(packed), true);
    assert.ok(packed.length < text.length);
    assert.equal(z[d](packed).toString(), text);
    assert.equal(zlib[d](Buffer.from(packed)).toString(), text);
    assert.equal(z[d](new Uint8Array(zlib[c](text))).toString(), text);
  }
  assert.equal(z.unzipSync(zlib.gzipSync("g")).toString(), "g");
  assert.equal(z.unzipSync(zlib.deflateSync("d")).toString(), "d");
  assert.throws(() => z.gunzipSync(new Uint8Array([1, 2, 3, 4])), (e) => e.code === "Z_DATA_ERROR" && e.errno === -3 && e.message === "incorrect header check");
  assert.throws(() => z.gunzipSync(zlib.gzipSync(text).subarray(0, 20)), (e) => e.code === "Z_BUF_ERROR" && e.message === "unexpected end of file");
  assert.throws(() => z.gzipSync(42), { code: "ERR_INVALID_ARG_TYPE" });
  const viaCallback = await new Promise((resolve, reject) => z.gzip("cb", (err, out) => (err ? reject(err) : resolve(out))));
  assert.equal(zlib.gunzipSync(Buffer.from(viaCallback)).toString(), "cb");
  const failed = await new Promise((resolve) => z.inflate(new Uint8Array([9, 9]), {}, (err) => resolve(err)));
  assert.equal(failed.code, "Z_DATA_ERROR");
  const util = await import("node:util");
  assert.equal((await util.promisify(z.deflate)("p")).length > 0, true);
  const streamed = await iso.run(`new Promise((resolve, reject) => {
    const zlib = require('zlib');
    const gz = zlib.createGzip();
    const gunzip = zlib.createGunzip();
    const parts = [];
    gunzip.on('data', (c) => parts.push(c));
    gunzip.on('end', () => resolve(Buffer.concat(parts).toString()));
    gunzip.on('error', reject);
    gz.pipe(gunzip);
    gz.write('streamed ');
    gz.end('data');
  })`);
  assert.equal(streamed, "streamed data");
  const streamErr = await iso.run(`new Promise((resolve) => {
    const s = require('zlib').createInflate();
    s.on('error', (e) => resolve(e.code));
    s.end(Buffer.from('garbage'));
    s.resume();
  })`);
  assert.equal(streamErr, "Z_DATA_ERROR");
  assert.equal(z.constants.Z_BEST_COMPRESSION, zlib.constants.Z_BEST_COMPRESSION);
  for (const k of ["Z_NO_FLUSH", "Z_SYNC_FLUSH", "Z_FINISH", "Z_OK", "Z_STREAM_END", "Z_DATA_ERROR", "Z_BUF_ERROR", "Z_DEFAULT_COMPRESSION", "GZIP", "UNZIP"]) {
    assert.equal(z.constants[k], zlib.constants[k], k);
  }
  if (zlib.crc32) assert.equal(z.crc32("hello"), zlib.crc32("hello"));
  assert.throws(() => z.brotliCompressSync("x"), /not supported/);
});

// --- crypto ---
test("crypto hashes, HMACs and random values match Node", async () => {
  const iso = isolate();
  const c = iso.require("crypto");
  const inputs = ["", "abc", "The quick brown fox jumps over the lazy dog", "✓".repeat(1000)];
  for (const alg of ["md5", "sha1", "sha256", "sha384", "SHA512"]) {
    for (const input of inputs) {
      for (const enc of ["hex", "base64", "base64url", "latin1"]) {
        assert.equal(c.createHash(alg).update(input).digest(enc), crypto.createHash(alg).update(input).digest(enc));
        assert.equal(c.createHmac(alg, "key").update(input).digest(enc), crypto.createHmac(alg, "key").update(input).digest(enc));
      }
    }
  }
  const h = c.createHash("sha256").update("a").update(new Uint8Array([98]));
  const copy = h.copy().update("c");
  assert.equal(h.digest("hex"), crypto.createHash("sha256").update("ab").digest("hex"));
  assert.equal(copy.digest("hex"), crypto.createHash("sha256").update("abc").digest("hex"));
  assert.throws(() => h.digest(), { code: "ERR_CRYPTO_HASH_FINALIZED" });
  const buf = c.createHash("md5").update("68656c6c6f", "hex").digest();
  assert.equal(iso.context.Buffer.isBuffer(buf), true);
  assert.equal(buf.toString("hex"), crypto.createHash("md5").update("hello").digest("hex"));
  assert.equal(c.createHmac("sha256", Buffer.alloc(0)).update("x").digest("hex"), crypto.createHmac("sha256", Buffer.alloc(0)).update("x").digest("hex"));
  assert.equal(c.createHmac("sha1", "k".repeat(200)).update("x").digest("hex"), crypto.createHmac("sha1", "k".repeat(200)).update("x").digest("hex"));
  assert.throws(() => c.createHash("whirlpool"), /Digest method not supported/);
  assert.deepEqual([...c.getHashes()].sort(), ["md5", "sha1", "sha256", "sha384", "sha512"]);

  assert.equal(c.randomBytes(100000).length, 100000);
  const big = c.randomFillSync(new Uint32Array(40000));
  assert.ok(big.some((x) => x !== 0));
  const partial = c.randomFillSync(new Uint8Array(8), 4);
  assert.deepEqual([...partial.subarray(0, 4)], [0, 0, 0, 0]);
  assert.equal((await new Promise((resolve) => c.randomBytes(8, (err, b) => resolve(b)))).length, 8);
  for (let i = 0; i < 200; i++) {
    const n = c.randomInt(3, 7);
    assert.ok(n >= 3 && n < 7 && Number.isInteger(n));
  }
  assert.ok(c.randomInt(5) < 5);
  assert.throws(() => c.randomInt(5, 5), { name: "RangeError" });
  assert.match(c.randomUUID(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(c.webcrypto.getRandomValues(new Uint8Array(16)).length, 16);
  assert.throws(() => c.webcrypto.getRandomValues(new Uint8Array(65537)), { name: "QuotaExceededError" });
  assert.throws(() => c.getRandomValues(new Float64Array(2)), { name: "TypeMismatchError" });
  assert.equal(c.timingSafeEqual(Buffer.from("ab"), new Uint8Array([97, 98])), true);
  assert.equal(c.timingSafeEqual(Buffer.from("ab"), Buffer.from("ac")), false);
  assert.throws(() => c.timingSafeEqual(Buffer.from("a"), Buffer.from("ab")), { name: "RangeError" });
  assert.throws(() => c.generateKeyPairSync("ed25519"), /not supported in shoal's JS isolates/);
  const digest = await c.webcrypto.subtle.digest("SHA-256", new Uint8Array([97]));
  assert.equal(Buffer.from(digest).toString("hex"), crypto.createHash("sha256").update("a").digest("hex"));
  await assert.rejects(c.webcrypto.subtle.importKey("raw"), /not supported/);
});

// Key pairs made by Node, in every PEM form the layer reads.
function keyPairs() {
  const rsa = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const ec384 = crypto.generateKeyPairSync("ec", { namedCurve: "secp384r1" });
  const ed = crypto.generateKeyPairSync("ed25519");
  return { rsa, ec, ec384, ed };
}

test("crypto key objects read PEM and DER keys as Node does", () => {
  const c = isolate().require("crypto");
  const { rsa, ec, ed } = keyPairs();
  const forms = [
    [rsa.privateKey.export({ type: "pkcs8", format: "pem" }), "private", "rsa"],
    [rsa.privateKey.export({ type: "pkcs1", format: "pem" }), "private", "rsa"],
    [rsa.publicKey.export({ type: "spki", format: "pem" }), "public", "rsa"],
    [rsa.publicKey.export({ type: "pkcs1", format: "pem" }), "public", "rsa"],
    [ec.privateKey.export({ type: "sec1", format: "pem" }), "private", "ec"],
    [ec.privateKey.export({ type: "pkcs8", format: "pem" }), "private", "ec"],
    [ed.privateKey.export({ type: "pkcs8", format: "pem" }), "private", "ed25519"],
  ];
  for (const [pem, type, kind] of forms) {
    const key = type === "private" ? c.createPrivateKey(pem) : c.createPublicKey(pem);
    assert.ok(key instanceof c.KeyObject);
    assert.equal(key.type, type);
    assert.equal(key.asymmetricKeyType, kind);
    const mine = c.createPublicKey(key).export({ type: "spki", format: "pem" });
    const nodes = crypto.createPublicKey(pem).export({ type: "spki", format: "pem" });
    assert.equal(mine, nodes, pem);
  }
  const priv = c.createPrivateKey({ key: rsa.privateKey.export({ type: "pkcs8", format: "der" }), format: "der", type: "pkcs8" });
  assert.deepEqual({ ...priv.asymmetricKeyDetails }, { modulusLength: 2048, publicExponent: 65537n });
  assert.equal(priv.export({ type: "pkcs8", format: "pem" }), rsa.privateKey.export({ type: "pkcs8", format: "pem" }));
  assert.deepEqual({ ...c.createPublicKey(ec.publicKey.export({ type: "spki", format: "pem" })).asymmetricKeyDetails }, { namedCurve: "prime256v1" });
  assert.equal(c.createPrivateKey(Buffer.from(rsa.privateKey.export({ type: "pkcs8", format: "pem" }))).type, "private");
  assert.ok(c.createPublicKey(ed.publicKey.export({ type: "spki", format: "pem" })).equals(c.createPublicKey(c.createPrivateKey(ed.privateKey.export({ type: "pkcs8", format: "pem" })))));
  const secret = c.createSecretKey("s3cret", "utf8");
  assert.equal(secret.type, "secret");
  assert.equal(secret.symmetricKeySize, 6);
  assert.equal(secret.export().toString(), "s3cret");
  assert.equal(c.createHmac("sha256", secret).update("x").digest("hex"), crypto.createHmac("sha256", "s3cret").update("x").digest("hex"));
  // jsonwebtoken tells a secret from a key by whether createPublicKey throws.
  assert.throws(() => c.createPublicKey("s3cret"), { code: "ERR_OSSL_UNSUPPORTED" });
  assert.throws(() => c.createPrivateKey(rsa.publicKey.export({ type: "spki", format: "pem" })));
  assert.throws(() => c.createPrivateKey(rsa.privateKey.export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "p" })), /Encrypted private keys are not supported/);
  assert.throws(() => c.createPrivateKey({ key: {}, format: "jwk" }), { code: "ERR_CRYPTO_INVALID_JWK" });
  assert.throws(() => c.createPublicKey({ key: { kty: "oct", k: "c2VjcmV0" }, format: "jwk" }), /oct/);
});

test("crypto reads JWKs and X.509 certificates as Node does", () => {
  const iso = isolate();
  const c = iso.require("crypto");
  const util = iso.require("util");
  const { rsa, ec, ec384, ed } = keyPairs();
  for (const pair of [rsa, ec, ec384, ed]) {
    const spki = pair.publicKey.export({ type: "spki", format: "pem" });
    const pub = c.createPublicKey({ key: pair.publicKey.export({ format: "jwk" }), format: "jwk" });
    assert.equal(pub.export({ type: "spki", format: "pem" }), spki);
    const priv = c.createPrivateKey({ key: pair.privateKey.export({ format: "jwk" }), format: "jwk" });
    assert.equal(priv.type, "private");
    // The private key made from the JWK signs what Node verifies.
    const alg = pair === ed ? null : pair === ec384 ? "sha384" : "sha256";
    assert.ok(crypto.verify(alg, Buffer.from("jwk"), spki, c.sign(alg, Buffer.from("jwk"), priv)));
    assert.equal(c.createPublicKey({ key: pair.privateKey.export({ format: "jwk" }), format: "jwk" }).type, "public");
  }
  assert.equal(util.types.isKeyObject(c.createSecretKey(Buffer.from("k"))), true);
  assert.equal(util.types.isKeyObject({}), false);
  // A certificate made by openssl: its public key is the certificate's subject key.
  const dir = mkdtempSync(join(tmpdir(), "shoal-cert-"));
  try {
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=shoal",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    const cert = readFileSync(join(dir, "cert.pem"), "utf8");
    const key = c.createPublicKey(cert);
    assert.equal(key.export({ type: "spki", format: "pem" }), crypto.createPublicKey(cert).export({ type: "spki", format: "pem" }));
    const signature = crypto.sign("sha256", Buffer.from("cert"), readFileSync(join(dir, "key.pem")));
    assert.equal(c.verify("sha256", Buffer.from("cert"), cert, signature), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("crypto signatures match Node's and verify both ways", () => {
  const c = isolate().require("crypto");
  const { rsa, ec, ec384, ed } = keyPairs();
  const data = Buffer.from("payload to sign");
  const cases = [
    ["RSA-SHA256", rsa, {}],
    ["sha512", rsa, {}],
    ["sha256", rsa, { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST }],
    ["sha256", ec, {}],
    ["sha256", ec, { dsaEncoding: "ieee-p1363" }],
    ["sha384", ec384, {}],
    [null, ed, {}],
  ];
  for (const [alg, pair, options] of cases) {
    const pem = pair.privateKey.export({ type: "pkcs8", format: "pem" });
    const pub = pair.publicKey.export({ type: "spki", format: "pem" });
    const mine = alg === null ? c.sign(null, data, pem) : c.createSign(alg).update(data).sign({ key: pem, ...options });
    assert.ok(crypto.verify(alg, data, { key: pub, ...options }, mine), `${alg} ${JSON.stringify(options)}`);
    const nodes = crypto.sign(alg, data, { key: pem, ...options });
    assert.equal(c.createVerify(alg || "sha256").update(data).verify !== undefined, true);
    assert.equal(c.verify(alg, data, { key: pub, ...options }, nodes), true);
    assert.equal(c.verify(alg, Buffer.from("tampered"), { key: pub, ...options }, nodes), false);
    if (alg === "RSA-SHA256") {
      // PKCS #1 v1.5 is deterministic: the very same bytes as Node's.
      assert.equal(c.createSign(alg).update("a").update("b").sign(pem, "base64"), crypto.createSign(alg).update("ab").sign(pem, "base64"));
      assert.equal(c.createVerify(alg).update("ab").verify(c.createPublicKey(pem), crypto.sign("sha256", Buffer.from("ab"), pem).toString("hex"), "hex"), true);
    }
  }
  assert.throws(() => c.createSign("sha384").update(data).sign(ec.privateKey.export({ type: "pkcs8", format: "pem" })), /ECDSA on prime256v1 with sha384 is not supported/);
  assert.throws(() => c.createSign("md5").update(data).sign(rsa.privateKey.export({ type: "pkcs8", format: "pem" })), /Invalid digest/);
});

test("crypto ciphers stream as Node's do and PBKDF2 matches", async () => {
  const c = isolate().require("crypto");
  const text = Buffer.from("x".repeat(50) + "✓ tail");
  for (const name of ["aes-128-cbc", "aes-192-cbc", "aes-256-cbc", "aes-128-ctr", "aes-256-ctr", "aes-128-gcm", "aes-256-gcm"]) {
    const key = crypto.randomBytes(Number(name.split("-")[1]) / 8);
    const iv = crypto.randomBytes(name.endsWith("gcm") ? 12 : 16);
    for (const cuts of [[], [7], [16, 33], [5, 6, 7]]) {
      const pieces = [];
      let at = 0;
      for (const cut of [...cuts, text.length]) {
        pieces.push(text.subarray(at, cut));
        at = cut;
      }
      const mine = c.createCipheriv(name, key, iv);
      const nodes = crypto.createCipheriv(name, key, iv);
      if (name.endsWith("gcm")) {
        mine.setAAD(Buffer.from("aad"));
        nodes.setAAD(Buffer.from("aad"));
      }
      // Piece by piece, the same bytes at the same time as Node.
      const sealed = [];
      for (const piece of pieces) {
        const out = mine.update(piece);
        assert.equal(out.toString("hex"), nodes.update(piece).toString("hex"), `${name} ${cuts}`);
        sealed.push(out);
      }
      const last = mine.final();
      assert.equal(last.toString("hex"), nodes.final("hex"));
      const body = Buffer.concat([...sealed, last]);
      const decipher = c.createDecipheriv(name, key, iv);
      if (name.endsWith("gcm")) {
        assert.equal(mine.getAuthTag().toString("hex"), nodes.getAuthTag().toString("hex"));
        decipher.setAAD(Buffer.from("aad")).setAuthTag(mine.getAuthTag());
      }
      const nodeDecipher = crypto.createDecipheriv(name, key, iv);
      if (name.endsWith("gcm")) nodeDecipher.setAAD(Buffer.from("aad")).setAuthTag(nodes.getAuthTag());
      const parts = [decipher.update(body.subarray(0, 20)), decipher.update(body.subarray(20))];
      assert.equal(parts[0].toString("hex"), nodeDecipher.update(body.subarray(0, 20)).toString("hex"));
      parts.push(decipher.final());
      assert.equal(Buffer.concat(parts).toString(), text.toString());
    }
  }
  // Text output runs through one decoder, as Node's: base64 across calls, characters split
  // across the held-back block.
  const k16 = crypto.randomBytes(16);
  const v16 = crypto.randomBytes(16);
  const text64 = (lib) => {
    const x = lib.createCipheriv("aes-128-cbc", k16, v16);
    return x.update("abcdefghij", "utf8", "base64") + x.update("✓✓✓✓✓✓", "utf8", "base64") + x.final("base64");
  };
  assert.equal(text64(c), text64(crypto));
  const sealed64 = text64(crypto);
  const plain = (lib) => {
    const x = lib.createDecipheriv("aes-128-cbc", k16, v16);
    const raw = Buffer.from(sealed64, "base64");
    return x.update(raw.subarray(0, 17), undefined, "utf8") + x.update(raw.subarray(17), undefined, "utf8") + x.final("utf8");
  };
  assert.equal(plain(c), plain(crypto));
  assert.equal(plain(c), "abcdefghij✓✓✓✓✓✓");
  const rsaSigned = keyPairs().rsa;
  assert.ok(crypto.verify("sha256", Buffer.from("d"), rsaSigned.publicKey, c.sign(null, Buffer.from("d"), rsaSigned.privateKey.export({ type: "pkcs8", format: "pem" }))));

  const key = crypto.randomBytes(32);
  const iv = crypto.randomBytes(12);
  const enc = c.createCipheriv("aes-256-gcm", key, iv);
  const sealed = Buffer.concat([enc.update("secret"), enc.final()]);
  const forged = c.createDecipheriv("aes-256-gcm", key, iv).setAuthTag(Buffer.alloc(16));
  forged.update(sealed);
  assert.throws(() => forged.final(), /Unsupported state or unable to authenticate data/);
  const unpadded = c.createCipheriv("aes-128-cbc", Buffer.alloc(16), Buffer.alloc(16)).setAutoPadding(false);
  unpadded.update("short");
  assert.throws(() => unpadded.final(), /wrong final block length/);
  assert.throws(() => c.createCipheriv("aes-256-cbc", Buffer.alloc(16), Buffer.alloc(16)), { code: "ERR_CRYPTO_INVALID_KEYLEN" });
  assert.throws(() => c.createCipheriv("aes-256-cbc", Buffer.alloc(32), Buffer.alloc(8)), { code: "ERR_CRYPTO_INVALID_IV" });
  assert.throws(() => c.createCipheriv("des-ede3-cbc", Buffer.alloc(24), Buffer.alloc(8)), { code: "ERR_CRYPTO_UNKNOWN_CIPHER" });
  const badPad = c.createDecipheriv("aes-128-cbc", Buffer.alloc(16, 1), Buffer.alloc(16));
  badPad.update(Buffer.alloc(16));
  assert.throws(() => badPad.final(), /bad decrypt/);

  assert.equal(c.pbkdf2Sync("pw", "salt", 1000, 40, "sha256").toString("hex"), crypto.pbkdf2Sync("pw", "salt", 1000, 40, "sha256").toString("hex"));
  const derived = await new Promise((resolve, reject) => c.pbkdf2("pw", "salt", 10, 16, "sha512", (err, k) => (err ? reject(err) : resolve(k))));
  assert.equal(derived.toString("hex"), crypto.pbkdf2Sync("pw", "salt", 10, 16, "sha512").toString("hex"));
  assert.throws(() => c.pbkdf2Sync("pw", "salt", 0, 16, "sha256"), { code: "ERR_OUT_OF_RANGE" });
});

test("crypto derives keys with HKDF and scrypt as Node does", async () => {
  const c = isolate({}).require("crypto");
  const ours = c.hkdfSync("sha256", "key", "salt", "info", 42);
  assert.ok(ours instanceof ArrayBuffer, "HKDF gives an ArrayBuffer");
  assert.deepEqual(Buffer.from(ours), Buffer.from(crypto.hkdfSync("sha256", "key", "salt", "info", 42)));
  const secret = c.createSecretKey(Buffer.from("key"));
  assert.deepEqual(Buffer.from(c.hkdfSync("sha512", secret, "", "", 64)), Buffer.from(crypto.hkdfSync("sha512", "key", "", "", 64)));
  const later = await new Promise((resolve, reject) => c.hkdf("sha1", "k", "s", "i", 20, (e, k) => (e ? reject(e) : resolve(k))));
  assert.deepEqual(Buffer.from(later), Buffer.from(crypto.hkdfSync("sha1", "k", "s", "i", 20)));
  assert.throws(() => c.hkdfSync("sha256", "k", "", "", 255 * 32 + 1), { code: "ERR_CRYPTO_INVALID_KEYLEN" });
  assert.throws(() => c.hkdfSync("md55", "k", "", "", 16), { code: "ERR_CRYPTO_INVALID_DIGEST" });
  assert.throws(() => c.hkdfSync("sha256", "k", "", Buffer.alloc(1025), 16), { code: "ERR_OUT_OF_RANGE" });

  assert.equal(c.scryptSync("pw", "salt", 32).toString("hex"), crypto.scryptSync("pw", "salt", 32).toString("hex"));
  const options = { cost: 1024, blockSize: 4, parallelization: 2 };
  assert.equal(c.scryptSync("pw", "salt", 16, options).toString("hex"), crypto.scryptSync("pw", "salt", 16, options).toString("hex"));
  const derived = await new Promise((resolve, reject) => c.scrypt("pw", "salt", 24, (e, k) => (e ? reject(e) : resolve(k))));
  assert.equal(derived.toString("hex"), crypto.scryptSync("pw", "salt", 24).toString("hex"));
  assert.throws(() => c.scryptSync("pw", "salt", 16, { N: 1000 }), { code: "ERR_CRYPTO_INVALID_SCRYPT_PARAMS" });
  assert.throws(() => c.scryptSync("pw", "salt", 16, { N: 1 << 16, r: 8 }), { code: "ERR_CRYPTO_INVALID_SCRYPT_PARAMS" });
  assert.throws(() => c.scryptSync("pw", "salt", 16, { N: 1024, cost: 1024 }), { code: "ERR_INCOMPATIBLE_OPTION_PAIR" });
});

test("the prelude's lazy globals come from these modules", async () => {
  const iso = withNetwork();
  const out = await iso.run(`(async () => {
    const u = new URL('/p?q=1', 'http://h');
    const res = await fetch(${JSON.stringify(origin + "/json")});
    return [u.href, new URLSearchParams('a=1').get('a'), typeof AbortController, crypto.randomUUID().length,
      structuredClone({ a: [1] }).a[0], new Headers({ a: 'b' }).get('a'), typeof Blob, res.status].join(' ');
  })()`);
  assert.equal(out, "http://h/p?q=1 1 function 36 1 b function 200");
});

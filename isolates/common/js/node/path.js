// Node's `path`, POSIX flavour (the process's cwd is `/action`): `join`, `resolve`,
// `normalize`, `dirname`, `basename`, `extname`, `relative`, `isAbsolute`, `parse`, `format`,
// `toNamespacedPath`, `matchesGlob` is left out; `sep`, `delimiter`, `posix` (itself) and
// `win32` (the same POSIX functions: Windows paths are not understood).
"use strict";

function checkString(value, name) {
  if (typeof value !== "string") {
    const shown = value === null ? "null" : typeof value === "object" ? `an instance of ${value.constructor?.name || "Object"}` :
      typeof value === "function" ? `function ${value.name}` : `type ${typeof value} (${String(value)})`;
    const e = new TypeError(`The "${name}" argument must be of type string. Received ${shown}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
}

const cwd = () => (typeof process !== "undefined" && typeof process.cwd === "function" ? process.cwd() : "/action");

// Resolves "." and ".." in the segments of `path`; ".." above the start of a relative path
// is kept.
function normalizeSegments(path, absolute) {
  const out = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(seg);
  }
  return out.join("/");
}

function normalize(path) {
  checkString(path, "path");
  if (path === "") return ".";
  const absolute = path.charCodeAt(0) === 47;
  const trailing = path.charCodeAt(path.length - 1) === 47;
  let body = normalizeSegments(path, absolute);
  if (body === "" && !absolute) body = ".";
  if (body !== "" && trailing) body += "/";
  return absolute ? "/" + body : body;
}

function join(...parts) {
  let joined = "";
  for (const p of parts) {
    checkString(p, "path");
    if (p !== "") joined = joined === "" ? p : joined + "/" + p;
  }
  return joined === "" ? "." : normalize(joined);
}

function resolve(...parts) {
  let path = "";
  let absolute = false;
  for (let i = parts.length - 1; i >= -1 && !absolute; i--) {
    const p = i >= 0 ? parts[i] : cwd();
    checkString(p, `paths[${i}]`);
    if (p === "") continue;
    path = path === "" ? p : p + "/" + path;
    absolute = p.charCodeAt(0) === 47;
  }
  const body = normalizeSegments(path, absolute);
  if (absolute) return "/" + body;
  return body === "" ? "." : body;
}

function isAbsolute(path) {
  checkString(path, "path");
  return path.charCodeAt(0) === 47;
}

function relative(from, to) {
  checkString(from, "from");
  checkString(to, "to");
  if (from === to) return "";
  const a = resolve(from).split("/").filter(Boolean);
  const b = resolve(to).split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  const up = new Array(a.length - common).fill("..");
  return up.concat(b.slice(common)).join("/");
}

// `path` without its trailing slashes (a root stays "/").
function trimTrailing(path) {
  let end = path.length;
  while (end > 1 && path.charCodeAt(end - 1) === 47) end--;
  return path.slice(0, end);
}

function dirname(path) {
  checkString(path, "path");
  if (path === "") return ".";
  const absolute = path.charCodeAt(0) === 47;
  const trimmed = trimTrailing(path);
  const slash = trimmed.lastIndexOf("/");
  if (slash === -1) return absolute ? "/" : ".";
  if (slash === 0) return "/";
  if (slash === 1 && absolute) return "//";
  return trimmed.slice(0, slash);
}

function basename(path, suffix) {
  checkString(path, "path");
  if (suffix !== undefined) checkString(suffix, "suffix");
  if (suffix !== undefined && suffix !== "" && suffix.length <= path.length) {
    // Node's quirks: a suffix equal to the whole path leaves nothing, and a path of only
    // slashes comes back unchanged.
    if (suffix === path) return "";
    if (/^\/+$/.test(path)) return path;
  }
  const trimmed = trimTrailing(path);
  if (trimmed === "/") return "";
  const base = trimmed.slice(trimmed.lastIndexOf("/") + 1);
  if (suffix !== undefined && suffix !== "" && base !== suffix && base.endsWith(suffix)) {
    return base.slice(0, base.length - suffix.length);
  }
  return base;
}

function extname(path) {
  checkString(path, "path");
  const base = basename(path);
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return "";
  if (dot === 1 && base === "..") return "";
  // A name made only of leading dots and one more ("..", "...") has no extension... except
  // that Node treats "..." as ".".
  let leading = 0;
  while (base.charCodeAt(leading) === 46) leading++;
  if (leading === base.length && base.length <= 2) return "";
  return base.slice(dot);
}

function parse(path) {
  checkString(path, "path");
  const out = { root: "", dir: "", base: "", ext: "", name: "" };
  if (path === "") return out;
  if (path.charCodeAt(0) === 47) out.root = "/";
  const trimmed = trimTrailing(path);
  if (trimmed === "/") {
    out.dir = path.slice(0, 1);
    return out;
  }
  out.base = basename(trimmed);
  out.ext = extname(trimmed);
  out.name = out.ext ? out.base.slice(0, out.base.length - out.ext.length) : out.base;
  const slash = trimmed.lastIndexOf("/");
  if (slash > 0) out.dir = trimmed.slice(0, slash);
  else if (slash === 0) out.dir = "/";
  return out;
}

function format(obj) {
  if (obj === null || typeof obj !== "object") {
    const e = new TypeError(`The "pathObject" argument must be of type object. Received ${obj === null ? "null" : `type ${typeof obj} (${String(obj)})`}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  const dir = obj.dir || obj.root;
  const base = obj.base || `${obj.name || ""}${obj.ext ? (obj.ext[0] === "." ? "" : ".") + obj.ext : ""}`;
  if (!dir) return base;
  return dir === obj.root ? `${dir}${base}` : `${dir}/${base}`;
}

const path = {
  sep: "/",
  delimiter: ":",
  normalize,
  join,
  resolve,
  isAbsolute,
  relative,
  dirname,
  basename,
  extname,
  parse,
  format,
  toNamespacedPath: (p) => p,
};
path.posix = path;
path.win32 = path;

module.exports = path;

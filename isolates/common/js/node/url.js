// node:url for shoal's JS isolates: the WHATWG `URL` and `URLSearchParams` (the URL Standard's
// parser state machine, with setters and a live `searchParams`), and Node's legacy API
// (`parse`, `format`, `resolve`, `Url`), `fileURLToPath`, `pathToFileURL`, `urlToHttpOptions`,
// `domainToASCII`/`domainToUnicode`.
// Left out: full UTS #46 IDNA mapping (non-ASCII hosts are lower-cased, NFC-normalised and
// punycoded; `domainToUnicode` does not decode punycode), `URL.createObjectURL`, and non-UTF-8
// query encodings. Legacy `url.resolve` resolves with the WHATWG algorithm.
"use strict";

const FAIL = null;
const SPECIAL = { ftp: 21, file: null, http: 80, https: 443, ws: 80, wss: 443 };
const isSpecial = (scheme) => Object.prototype.hasOwnProperty.call(SPECIAL, scheme);

// --- percent-encoding ---
const C0 = (c) => c < 0x20 || c > 0x7e;
const FRAGMENT = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60;
const QUERY = (c) => C0(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e;
const SPECIAL_QUERY = (c) => QUERY(c) || c === 0x27;
const PATH = (c) => QUERY(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d;
const USERINFO = (c) => PATH(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d ||
  c === 0x40 || (c >= 0x5b && c <= 0x5e) || c === 0x7c;
const COMPONENT = (c) => USERINFO(c) || (c >= 0x24 && c <= 0x26) || c === 0x2b || c === 0x2c;
const FORM = (c) => COMPONENT(c) || c === 0x21 || (c >= 0x27 && c <= 0x29) || c === 0x7e;

function utf8(cp) {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 63)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63)];
}
const hex2 = (b) => "%" + (b < 16 ? "0" : "") + b.toString(16).toUpperCase();
function pct(ch, set) {
  const cp = ch.codePointAt(0);
  if (cp < 0x80) return set(cp) ? hex2(cp) : ch;
  return utf8(cp).map(hex2).join("");
}
function pctString(s, set, spaceAsPlus) {
  let out = "";
  for (const ch of s) out += spaceAsPlus && ch === " " ? "+" : pct(ch, set);
  return out;
}
const isHex = (ch) => ch !== undefined && /^[0-9A-Fa-f]$/.test(ch);
function percentDecode(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === "%" && isHex(s[i + 1]) && isHex(s[i + 2])) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      const cp = s.codePointAt(i);
      if (cp > 0xffff) i++;
      bytes.push(...utf8(cp));
    }
  }
  return bytes;
}
// UTF-8 decoding with U+FFFD for each maximal invalid subpart, as the Encoding Standard does.
function utf8Decode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i];
    if (b < 0x80) {
      out += String.fromCharCode(b);
      i++;
      continue;
    }
    let n, cp, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) [n, cp] = [1, b & 0x1f];
    else if (b >= 0xe0 && b <= 0xef) {
      [n, cp] = [2, b & 0xf];
      if (b === 0xe0) lo = 0xa0;
      if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      [n, cp] = [3, b & 7];
      if (b === 0xf0) lo = 0x90;
      if (b === 0xf4) hi = 0x8f;
    } else {
      out += "\ufffd";
      i++;
      continue;
    }
    let j = 1;
    for (; j <= n; j++) {
      const c = bytes[i + j];
      if (c === undefined || c < lo || c > hi) break;
      [lo, hi] = [0x80, 0xbf];
      cp = (cp << 6) | (c & 0x3f);
    }
    if (j <= n) {
      out += "\ufffd";
      i += j;
    } else {
      out += String.fromCodePoint(cp);
      i += n + 1;
    }
  }
  return out;
}
// A string as the USVString WebIDL makes of it: lone surrogates become U+FFFD.
const toUSV = (v) => String(v).replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

// --- hosts ---
function punycode(label) {
  const cps = Array.from(label, (ch) => ch.codePointAt(0));
  let out = cps.filter((c) => c < 0x80).map((c) => String.fromCharCode(c)).join("");
  const basic = out.length;
  let h = basic, n = 128, delta = 0, bias = 72;
  if (basic) out += "-";
  const digit = (d) => String.fromCharCode(d < 26 ? 97 + d : 22 + d);
  const adapt = (d, num, first) => {
    d = first ? Math.floor(d / 700) : d >> 1;
    d += Math.floor(d / num);
    let k = 0;
    for (; d > 455; k += 36) d = Math.floor(d / 35);
    return k + Math.floor((36 * d) / (d + 38));
  };
  while (h < cps.length) {
    const m = Math.min(...cps.filter((c) => c >= n));
    delta += (m - n) * (h + 1);
    n = m;
    for (const c of cps) {
      if (c < n) delta++;
      if (c !== n) continue;
      let q = delta;
      for (let k = 36; ; k += 36) {
        const t = k <= bias ? 1 : k >= bias + 26 ? 26 : k - bias;
        if (q < t) break;
        out += digit(t + ((q - t) % (36 - t)));
        q = Math.floor((q - t) / (36 - t));
      }
      out += digit(q);
      bias = adapt(delta, h + 1, h === basic);
      delta = 0;
      h++;
    }
    delta++;
    n++;
  }
  return out;
}
function toASCII(domain) {
  let d = domain.toLowerCase();
  if (!/[^\x00-\x7f]/.test(d)) return d;
  d = d.normalize("NFC").replace(/[\u3002\uff0e\uff61]/g, ".");
  return d.split(".").map((l) => (/[^\x00-\x7f]/.test(l) ? "xn--" + punycode(l) : l)).join(".");
}
function endsInNumber(s) {
  const parts = s.split(".");
  if (parts[parts.length - 1] === "") {
    if (parts.length === 1) return false;
    parts.pop();
  }
  const last = parts[parts.length - 1];
  return /^[0-9]+$/.test(last) || /^0[xX][0-9a-fA-F]*$/.test(last);
}
function ipv4Number(s) {
  if (s === "") return FAIL;
  let radix = 10;
  if (/^0[xX]/.test(s)) [s, radix] = [s.slice(2), 16];
  else if (s.length > 1 && s[0] === "0") [s, radix] = [s.slice(1), 8];
  if (s === "") return 0;
  const re = radix === 10 ? /^[0-9]+$/ : radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/;
  return re.test(s) ? parseInt(s, radix) : FAIL;
}
function parseIPv4(s) {
  const parts = s.split(".");
  if (parts[parts.length - 1] === "" && parts.length > 1) parts.pop();
  if (parts.length > 4) return FAIL;
  const nums = parts.map(ipv4Number);
  if (nums.includes(FAIL)) return FAIL;
  const last = nums.length - 1;
  if (nums.slice(0, last).some((x) => x > 255) || nums[last] >= 256 ** (4 - last)) return FAIL;
  let ip = nums[last];
  for (let i = 0; i < last; i++) ip += nums[i] * 256 ** (3 - i);
  const out = [];
  for (let i = 0; i < 4; i++, ip = Math.floor(ip / 256)) out.unshift(ip % 256);
  return out.join(".");
}
function parseIPv6(s) {
  const a = [0, 0, 0, 0, 0, 0, 0, 0];
  let piece = 0, compress = null, p = 0;
  const hexAt = (i) => isHex(s[i]);
  const digitAt = (i) => s[i] !== undefined && s[i] >= "0" && s[i] <= "9";
  if (s[0] === ":") {
    if (s[1] !== ":") return FAIL;
    p = 2;
    compress = ++piece;
  }
  while (p < s.length) {
    if (piece === 8) return FAIL;
    if (s[p] === ":") {
      if (compress !== null) return FAIL;
      p++;
      compress = ++piece;
      continue;
    }
    let value = 0, length = 0;
    for (; length < 4 && hexAt(p); p++, length++) value = value * 16 + parseInt(s[p], 16);
    if (s[p] === ".") {
      if (length === 0 || piece > 6) return FAIL;
      p -= length;
      let seen = 0;
      while (p < s.length) {
        let v4 = null;
        if (seen > 0) {
          if (s[p] === "." && seen < 4) p++;
          else return FAIL;
        }
        if (!digitAt(p)) return FAIL;
        for (; digitAt(p); p++) {
          const n = +s[p];
          if (v4 === 0) return FAIL;
          v4 = v4 === null ? n : v4 * 10 + n;
          if (v4 > 255) return FAIL;
        }
        a[piece] = a[piece] * 256 + v4;
        seen++;
        if (seen === 2 || seen === 4) piece++;
      }
      if (seen !== 4) return FAIL;
      break;
    } else if (s[p] === ":") {
      p++;
      if (p >= s.length) return FAIL;
    } else if (p < s.length) return FAIL;
    a[piece++] = value;
  }
  if (compress !== null) {
    let swaps = piece - compress;
    for (piece = 7; piece !== 0 && swaps > 0; piece--, swaps--) {
      [a[piece], a[compress + swaps - 1]] = [a[compress + swaps - 1], a[piece]];
    }
  } else if (piece !== 8) return FAIL;
  return a;
}
function serializeIPv6(a) {
  let best = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (a[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && a[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += i === 0 ? "::" : ":";
      i += bestLen - 1;
    } else out += a[i].toString(16) + (i < 7 ? ":" : "");
  }
  return out;
}
function parseHost(input, opaque) {
  if (input[0] === "[") {
    if (input[input.length - 1] !== "]") return FAIL;
    const a = parseIPv6(input.slice(1, -1));
    return a === FAIL ? FAIL : "[" + serializeIPv6(a) + "]";
  }
  if (opaque) {
    if (/[\0\t\n\r #/:<>?@[\\\]^|]/.test(input)) return FAIL;
    return pctString(input, C0);
  }
  const ascii = toASCII(utf8Decode(percentDecode(input)));
  if (ascii === "" || /[\0-\x20#%/:<>?@[\\\]^|\x7f]/.test(ascii)) return FAIL;
  return endsInNumber(ascii) ? parseIPv4(ascii) : ascii;
}

// --- the basic URL parser ---
const isAlpha = (c) => c !== undefined && /^[A-Za-z]$/.test(c);
const isDigit = (c) => c !== undefined && c >= "0" && c <= "9";
const isDriveLetter = (s) => /^[A-Za-z][:|]$/.test(s);
const isNormalizedDriveLetter = (s) => /^[A-Za-z]:$/.test(s);
const startsWithDriveLetter = (cs, p) => cs.length - p >= 2 && isDriveLetter(cs[p] + cs[p + 1]) &&
  (cs.length - p === 2 || "/\\?#".includes(cs[p + 2]));
const isSingleDot = (s) => s === "." || s.toLowerCase() === "%2e";
const isDoubleDot = (s) => /^(\.|%2e)(\.|%2e)$/i.test(s);
const hasCredentials = (u) => u.username !== "" || u.password !== "";
const newRecord = () => ({
  scheme: "", username: "", password: "", host: null, port: null, path: [], opaque: false,
  query: null, fragment: null,
});
function shorten(u) {
  if (u.scheme === "file" && u.path.length === 1 && isNormalizedDriveLetter(u.path[0])) return;
  u.path.pop();
}

// Parses `input` against record `base`; with `url` and `override` (a state) it is the setter
// form that edits `url` in place. Returns the record, or null on failure.
function parse(input, base, url, override) {
  if (!url) {
    url = newRecord();
    input = input.replace(/^[\0-\x20]+|[\0-\x20]+$/g, "");
  }
  const cs = Array.from(input.replace(/[\t\n\r]/g, ""));
  let state = override || "schemeStart";
  let buf = "", atSign = false, inBrackets = false, passwordSeen = false;
  for (let p = 0; p <= cs.length; p++) {
    const c = cs[p];
    const special = isSpecial(url.scheme);
    const slash = c === "/" || (special && c === "\\");
    const end = c === undefined;
    switch (state) {
      case "schemeStart":
        if (isAlpha(c)) {
          buf += c.toLowerCase();
          state = "scheme";
        } else if (!override) {
          state = "noScheme";
          p--;
        } else return FAIL;
        break;
      case "scheme":
        if (isAlpha(c) || isDigit(c) || c === "+" || c === "-" || c === ".") {
          buf += c.toLowerCase();
        } else if (c === ":") {
          if (override) {
            if (isSpecial(url.scheme) !== isSpecial(buf)) return url;
            if ((hasCredentials(url) || url.port !== null) && buf === "file") return url;
            if (url.scheme === "file" && url.host === "") return url;
          }
          url.scheme = buf;
          if (override) {
            if (url.port === SPECIAL[buf]) url.port = null;
            return url;
          }
          buf = "";
          if (url.scheme === "file") state = "file";
          else if (isSpecial(url.scheme) && base && base.scheme === url.scheme) state = "specialRelativeOrAuthority";
          else if (isSpecial(url.scheme)) state = "specialAuthoritySlashes";
          else if (cs[p + 1] === "/") {
            state = "pathOrAuthority";
            p++;
          } else {
            url.opaque = true;
            url.path = "";
            state = "opaquePath";
          }
        } else if (!override) {
          buf = "";
          state = "noScheme";
          p = -1;
        } else return FAIL;
        break;
      case "noScheme":
        if (!base || (base.opaque && c !== "#")) return FAIL;
        if (base.opaque) {
          Object.assign(url, { scheme: base.scheme, path: base.path, opaque: true, query: base.query, fragment: "" });
          state = "fragment";
        } else {
          state = base.scheme === "file" ? "file" : "relative";
          p--;
        }
        break;
      case "specialRelativeOrAuthority":
        if (c === "/" && cs[p + 1] === "/") {
          state = "specialAuthorityIgnoreSlashes";
          p++;
        } else {
          state = "relative";
          p--;
        }
        break;
      case "pathOrAuthority":
        if (c === "/") state = "authority";
        else {
          state = "path";
          p--;
        }
        break;
      case "relative":
        url.scheme = base.scheme;
        if (c === "/" || (isSpecial(url.scheme) && c === "\\")) state = "relativeSlash";
        else {
          Object.assign(url, {
            username: base.username, password: base.password, host: base.host, port: base.port,
            path: base.path.slice(), query: base.query,
          });
          if (c === "?") {
            url.query = "";
            state = "query";
          } else if (c === "#") {
            url.fragment = "";
            state = "fragment";
          } else if (!end) {
            url.query = null;
            shorten(url);
            state = "path";
            p--;
          }
        }
        break;
      case "relativeSlash":
        if (special && (c === "/" || c === "\\")) state = "specialAuthorityIgnoreSlashes";
        else if (c === "/") state = "authority";
        else {
          Object.assign(url, { username: base.username, password: base.password, host: base.host, port: base.port });
          state = "path";
          p--;
        }
        break;
      case "specialAuthoritySlashes":
        state = "specialAuthorityIgnoreSlashes";
        if (c === "/" && cs[p + 1] === "/") p++;
        else p--;
        break;
      case "specialAuthorityIgnoreSlashes":
        if (c !== "/" && c !== "\\") {
          state = "authority";
          p--;
        }
        break;
      case "authority":
        if (c === "@") {
          if (atSign) buf = "%40" + buf;
          atSign = true;
          for (const ch of buf) {
            if (ch === ":" && !passwordSeen) {
              passwordSeen = true;
              continue;
            }
            if (passwordSeen) url.password += pct(ch, USERINFO);
            else url.username += pct(ch, USERINFO);
          }
          buf = "";
        } else if (end || slash || c === "?" || c === "#") {
          if (atSign && buf === "") return FAIL;
          p -= Array.from(buf).length + 1;
          buf = "";
          state = "host";
        } else buf += c;
        break;
      case "host":
      case "hostname":
        if (override && url.scheme === "file") {
          p--;
          state = "fileHost";
        } else if (c === ":" && !inBrackets) {
          if (buf === "" || override === "hostname") return FAIL;
          const host = parseHost(buf, !special);
          if (host === FAIL) return FAIL;
          url.host = host;
          buf = "";
          state = "port";
        } else if (end || slash || c === "?" || c === "#") {
          p--;
          if (special && buf === "") return FAIL;
          if (override && buf === "" && (hasCredentials(url) || url.port !== null)) return url;
          const host = parseHost(buf, !special);
          if (host === FAIL) return FAIL;
          url.host = host;
          buf = "";
          state = "pathStart";
          if (override) return url;
        } else {
          if (c === "[") inBrackets = true;
          if (c === "]") inBrackets = false;
          buf += c;
        }
        break;
      case "port":
        if (isDigit(c)) buf += c;
        else if (end || slash || c === "?" || c === "#" || override) {
          if (buf !== "") {
            const port = parseInt(buf, 10);
            if (port > 65535) return FAIL;
            url.port = port === SPECIAL[url.scheme] ? null : port;
            buf = "";
          }
          if (override) return url;
          state = "pathStart";
          p--;
        } else return FAIL;
        break;
      case "file":
        url.scheme = "file";
        url.host = "";
        if (c === "/" || c === "\\") state = "fileSlash";
        else if (base && base.scheme === "file") {
          Object.assign(url, { host: base.host, path: base.path.slice(), query: base.query });
          if (c === "?") {
            url.query = "";
            state = "query";
          } else if (c === "#") {
            url.fragment = "";
            state = "fragment";
          } else if (!end) {
            url.query = null;
            if (!startsWithDriveLetter(cs, p)) shorten(url);
            else url.path = [];
            state = "path";
            p--;
          }
        } else {
          state = "path";
          p--;
        }
        break;
      case "fileSlash":
        if (c === "/" || c === "\\") state = "fileHost";
        else {
          if (base && base.scheme === "file") {
            url.host = base.host;
            if (!startsWithDriveLetter(cs, p) && isNormalizedDriveLetter(base.path[0] || "")) url.path.push(base.path[0]);
          }
          state = "path";
          p--;
        }
        break;
      case "fileHost":
        if (end || c === "/" || c === "\\" || c === "?" || c === "#") {
          p--;
          if (!override && isDriveLetter(buf)) state = "path";
          else if (buf === "") {
            url.host = "";
            if (override) return url;
            state = "pathStart";
          } else {
            let host = parseHost(buf, false);
            if (host === FAIL) return FAIL;
            if (host === "localhost") host = "";
            url.host = host;
            if (override) return url;
            buf = "";
            state = "pathStart";
          }
        } else buf += c;
        break;
      case "pathStart":
        if (special) {
          state = "path";
          if (c !== "/" && c !== "\\") p--;
        } else if (!override && c === "?") {
          url.query = "";
          state = "query";
        } else if (!override && c === "#") {
          url.fragment = "";
          state = "fragment";
        } else if (!end) {
          state = "path";
          if (c !== "/") p--;
        } else if (override && url.host === null) url.path.push("");
        break;
      case "path":
        if (end || slash || (!override && (c === "?" || c === "#"))) {
          if (isDoubleDot(buf)) {
            shorten(url);
            if (!slash) url.path.push("");
          } else if (isSingleDot(buf) && !slash) url.path.push("");
          else if (!isSingleDot(buf)) {
            if (url.scheme === "file" && url.path.length === 0 && isDriveLetter(buf)) buf = buf[0] + ":";
            url.path.push(buf);
          }
          buf = "";
          if (c === "?") {
            url.query = "";
            state = "query";
          } else if (c === "#") {
            url.fragment = "";
            state = "fragment";
          }
        } else buf += pct(c, PATH);
        break;
      case "opaquePath":
        if (c === "?") {
          url.query = "";
          state = "query";
        } else if (c === "#") {
          url.fragment = "";
          state = "fragment";
        } else if (!end) url.path += pct(c, C0);
        break;
      case "query":
        if ((!override && c === "#") || end) {
          url.query += pctString(buf, special ? SPECIAL_QUERY : QUERY);
          buf = "";
          if (c === "#") {
            url.fragment = "";
            state = "fragment";
          }
        } else buf += c;
        break;
      case "fragment":
        if (!end) url.fragment += pct(c, FRAGMENT);
        break;
    }
  }
  return url;
}

const pathString = (u) => (u.opaque ? u.path : u.path.map((s) => "/" + s).join(""));
function serialize(u, excludeFragment) {
  let out = u.scheme + ":";
  if (u.host !== null) {
    out += "//";
    if (hasCredentials(u)) out += u.username + (u.password ? ":" + u.password : "") + "@";
    out += u.host + (u.port !== null ? ":" + u.port : "");
  } else if (!u.opaque && u.path.length > 1 && u.path[0] === "") out += "/.";
  out += pathString(u);
  if (u.query !== null) out += "?" + u.query;
  if (!excludeFragment && u.fragment !== null) out += "#" + u.fragment;
  return out;
}

function invalidURL(input, base) {
  const e = new TypeError("Invalid URL");
  e.code = "ERR_INVALID_URL";
  e.input = input;
  if (base !== undefined) e.base = base;
  return e;
}

// --- application/x-www-form-urlencoded ---
function parseForm(s) {
  const list = [];
  for (const part of s.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    const decode = (x) => utf8Decode(percentDecode(x.replace(/\+/g, " ")));
    list.push([decode(name), decode(value)]);
  }
  return list;
}
const serializeForm = (list) =>
  list.map(([n, v]) => pctString(n, FORM, true) + "=" + pctString(v, FORM, true)).join("&");

let attachParams, updateURLQuery;

class URLSearchParams {
  #list = [];
  #url = null;
  constructor(init = "") {
    if (init instanceof URLSearchParams) this.#list = init.#list.map((p) => p.slice());
    else if (init !== null && (typeof init === "object" || typeof init === "function")) {
      if (typeof init[Symbol.iterator] === "function") {
        for (const pair of init) {
          if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") {
            throw new TypeError("Each query pair must be an iterable [name, value] tuple");
          }
          const p = Array.from(pair);
          if (p.length !== 2) throw new TypeError("Each query pair must be an iterable [name, value] tuple");
          this.#list.push([toUSV(p[0]), toUSV(p[1])]);
        }
      } else {
        for (const key of Object.keys(init)) this.#list.push([toUSV(key), toUSV(init[key])]);
      }
    } else {
      const s = toUSV(init);
      this.#list = parseForm(s[0] === "?" ? s.slice(1) : s);
    }
  }
  static {
    attachParams = (params, url, query) => {
      params.#url = url;
      params.#list = query ? parseForm(query) : [];
    };
  }
  #update() {
    if (this.#url) updateURLQuery(this.#url, this.#list.length ? serializeForm(this.#list) : null);
  }
  get size() {
    return this.#list.length;
  }
  append(name, value) {
    this.#list.push([toUSV(name), toUSV(value)]);
    this.#update();
  }
  delete(name, value) {
    name = toUSV(name);
    if (value === undefined) this.#list = this.#list.filter((p) => p[0] !== name);
    else {
      value = toUSV(value);
      this.#list = this.#list.filter((p) => p[0] !== name || p[1] !== value);
    }
    this.#update();
  }
  get(name) {
    name = toUSV(name);
    const p = this.#list.find((x) => x[0] === name);
    return p ? p[1] : null;
  }
  getAll(name) {
    name = toUSV(name);
    return this.#list.filter((x) => x[0] === name).map((x) => x[1]);
  }
  has(name, value) {
    name = toUSV(name);
    if (value === undefined) return this.#list.some((x) => x[0] === name);
    value = toUSV(value);
    return this.#list.some((x) => x[0] === name && x[1] === value);
  }
  set(name, value) {
    [name, value] = [toUSV(name), toUSV(value)];
    const i = this.#list.findIndex((x) => x[0] === name);
    if (i < 0) this.#list.push([name, value]);
    else {
      this.#list[i][1] = value;
      this.#list = this.#list.filter((x, j) => j <= i || x[0] !== name);
    }
    this.#update();
  }
  sort() {
    const cmp = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
    this.#list = this.#list.map((p, i) => [p, i]).sort((a, b) => cmp(a[0], b[0]) || a[1] - b[1]).map((x) => x[0]);
    this.#update();
  }
  forEach(callback, thisArg) {
    if (typeof callback !== "function") throw new TypeError("The \"callback\" argument must be of type function");
    for (let i = 0; i < this.#list.length; i++) callback.call(thisArg, this.#list[i][1], this.#list[i][0], this);
  }
  *entries() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i].slice();
  }
  *keys() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i][0];
  }
  *values() {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i][1];
  }
  [Symbol.iterator]() {
    return this.entries();
  }
  toString() {
    return serializeForm(this.#list);
  }
  get [Symbol.toStringTag]() {
    return "URLSearchParams";
  }
}

class URL {
  #u;
  #params;
  constructor(input, base) {
    if (arguments.length === 0) throw new TypeError("The \"url\" argument must be specified");
    input = toUSV(input);
    let b;
    if (base !== undefined) {
      b = parse(toUSV(base), null);
      if (b === FAIL) throw invalidURL(input, String(base));
    }
    const u = parse(input, b);
    if (u === FAIL) throw invalidURL(input, base === undefined ? undefined : String(base));
    this.#u = u;
    this.#params = new URLSearchParams();
    attachParams(this.#params, this, u.query);
  }
  static {
    updateURLQuery = (url, query) => {
      url.#u.query = query;
    };
  }
  static canParse(input, base) {
    let b;
    if (base !== undefined) {
      b = parse(toUSV(base), null);
      if (b === FAIL) return false;
    }
    return parse(toUSV(input), b) !== FAIL;
  }
  get href() {
    return serialize(this.#u);
  }
  set href(value) {
    const u = parse(toUSV(value), null);
    if (u === FAIL) throw invalidURL(String(value));
    this.#u = u;
    attachParams(this.#params, this, u.query);
  }
  get origin() {
    const u = this.#u;
    if (u.scheme === "blob") {
      try {
        const inner = new URL(pathString(u));
        if (inner.protocol === "http:" || inner.protocol === "https:") return inner.origin;
      } catch {}
      return "null";
    }
    if (!isSpecial(u.scheme) || u.scheme === "file") return "null";
    return u.scheme + "://" + u.host + (u.port !== null ? ":" + u.port : "");
  }
  get protocol() {
    return this.#u.scheme + ":";
  }
  set protocol(value) {
    parse(toUSV(value) + ":", null, this.#u, "schemeStart");
  }
  #noCredentials() {
    const u = this.#u;
    return u.host === null || u.host === "" || u.scheme === "file";
  }
  get username() {
    return this.#u.username;
  }
  set username(value) {
    if (!this.#noCredentials()) this.#u.username = pctString(toUSV(value), USERINFO);
  }
  get password() {
    return this.#u.password;
  }
  set password(value) {
    if (!this.#noCredentials()) this.#u.password = pctString(toUSV(value), USERINFO);
  }
  get host() {
    const u = this.#u;
    if (u.host === null) return "";
    return u.port === null ? u.host : u.host + ":" + u.port;
  }
  set host(value) {
    if (!this.#u.opaque) this.#edit(value, "host");
  }
  get hostname() {
    return this.#u.host === null ? "" : this.#u.host;
  }
  set hostname(value) {
    if (!this.#u.opaque) this.#edit(value, "hostname");
  }
  get port() {
    return this.#u.port === null ? "" : String(this.#u.port);
  }
  set port(value) {
    if (this.#noCredentials()) return;
    value = toUSV(value);
    if (value === "") this.#u.port = null;
    else this.#edit(value, "port");
  }
  get pathname() {
    return pathString(this.#u);
  }
  set pathname(value) {
    if (this.#u.opaque) return;
    const path = this.#u.path;
    this.#u.path = [];
    if (!this.#edit(value, "pathStart")) this.#u.path = path;
  }
  get search() {
    const q = this.#u.query;
    return q === null || q === "" ? "" : "?" + q;
  }
  set search(value) {
    value = toUSV(value);
    if (value === "") {
      this.#u.query = null;
      attachParams(this.#params, this, "");
      this.#stripOpaque();
      return;
    }
    const input = value[0] === "?" ? value.slice(1) : value;
    this.#u.query = "";
    parse(input, null, this.#u, "query");
    attachParams(this.#params, this, input);
  }
  get searchParams() {
    return this.#params;
  }
  get hash() {
    const f = this.#u.fragment;
    return f === null || f === "" ? "" : "#" + f;
  }
  set hash(value) {
    value = toUSV(value);
    if (value === "") {
      this.#u.fragment = null;
      this.#stripOpaque();
      return;
    }
    this.#u.fragment = "";
    parse(value[0] === "#" ? value.slice(1) : value, null, this.#u, "fragment");
  }
  #stripOpaque() {
    const u = this.#u;
    if (u.opaque && u.fragment === null && u.query === null) u.path = u.path.replace(/ +$/, "");
  }
  // Runs a setter on a copy, so that a failure leaves the URL as it was.
  #edit(value, state) {
    const copy = { ...this.#u, path: this.#u.opaque ? this.#u.path : this.#u.path.slice() };
    if (parse(toUSV(value), null, copy, state) === FAIL) return false;
    this.#u = copy;
    return true;
  }
  toString() {
    return this.href;
  }
  toJSON() {
    return this.href;
  }
  get [Symbol.toStringTag]() {
    return "URL";
  }
}
for (const key of ["href", "origin", "protocol", "username", "password", "host", "hostname", "port",
  "pathname", "search", "searchParams", "hash", "toString", "toJSON"]) {
  Object.defineProperty(URL.prototype, key, { enumerable: true });
}
for (const key of ["append", "delete", "get", "getAll", "has", "set", "sort", "forEach", "entries",
  "keys", "values", "toString", "size"]) {
  Object.defineProperty(URLSearchParams.prototype, key, { enumerable: true });
}

// --- Node's legacy API ---
const SLASHED = new Set(["http:", "https:", "ftp:", "gopher:", "file:", "ws:", "wss:"]);
const HOSTLESS = new Set(["javascript:"]);

function Url() {
  this.protocol = null;
  this.slashes = null;
  this.auth = null;
  this.host = null;
  this.port = null;
  this.hostname = null;
  this.hash = null;
  this.search = null;
  this.query = null;
  this.pathname = null;
  this.path = null;
  this.href = null;
}
const querystring = () => require("querystring");

Url.prototype.parse = function (str, parseQuery, slashesDenoteHost) {
  if (typeof str !== "string") {
    const e = new TypeError(`The "url" argument must be of type string. Received ${str === null ? "null" : typeof str}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  let rest = str.trim();
  // Backslashes before the query or hash become slashes, as browsers treat them.
  const qh = rest.search(/[?#]/);
  rest = qh < 0 ? rest.replace(/\\/g, "/") : rest.slice(0, qh).replace(/\\/g, "/") + rest.slice(qh);
  const proto = /^[a-zA-Z0-9.+-]+:/.exec(rest);
  let lowerProto;
  if (proto) {
    lowerProto = proto[0].toLowerCase();
    this.protocol = lowerProto;
    rest = rest.slice(proto[0].length);
  }
  let slashes = false;
  if (slashesDenoteHost || proto || /^\/\/[^@/]+@[^@/]+/.test(rest)) {
    slashes = rest.startsWith("//");
    if (slashes && !(proto && HOSTLESS.has(lowerProto))) {
      rest = rest.slice(2);
      this.slashes = true;
    }
  }
  if (!HOSTLESS.has(lowerProto) && (slashes || (proto && !SLASHED.has(lowerProto)))) {
    let hostEnd = rest.search(/[/?#]/);
    if (hostEnd < 0) hostEnd = rest.length;
    const at = rest.lastIndexOf("@", hostEnd);
    if (at >= 0) {
      this.auth = decodeURIComponent(rest.slice(0, at));
      rest = rest.slice(at + 1);
    }
    hostEnd = rest.search(/[\t\n\r "#%';<>?\\^`{|}/]/);
    if (hostEnd < 0) hostEnd = rest.length;
    let host = rest.slice(0, hostEnd);
    rest = rest.slice(hostEnd);
    const port = /:[0-9]*$/.exec(host);
    if (port) {
      if (port[0] !== ":") this.port = port[0].slice(1);
      host = host.slice(0, host.length - port[0].length);
    }
    const ipv6 = host[0] === "[" && host[host.length - 1] === "]";
    let hostname = ipv6 ? host.slice(1, -1) : host;
    if (!ipv6) {
      // Node moves what follows an invalid hostname character into the path.
      const bad = hostname.search(/[^A-Za-z0-9_.+\u0080-\uffff-]/);
      if (bad >= 0) {
        rest = "/" + hostname.slice(bad) + rest;
        hostname = hostname.slice(0, bad);
      }
      hostname = hostname.length > 255 ? "" : toASCII(hostname);
    } else hostname = hostname.toLowerCase();
    this.hostname = hostname;
    this.host = (ipv6 ? "[" + hostname + "]" : hostname) + (this.port ? ":" + this.port : "");
    if (ipv6 && rest[0] !== "/") rest = "/" + rest;
  }
  if (!HOSTLESS.has(lowerProto)) {
    rest = rest.replace(/[\t\n\r "'<>\\^`{|}]/g, (ch) => encodeURIComponent(ch) === ch ? "%" + ch.charCodeAt(0).toString(16).toUpperCase() : encodeURIComponent(ch));
  }
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    this.hash = rest.slice(hash);
    rest = rest.slice(0, hash);
  }
  const qm = rest.indexOf("?");
  if (qm >= 0) {
    this.search = rest.slice(qm);
    this.query = rest.slice(qm + 1);
    if (parseQuery) this.query = querystring().parse(this.query);
    rest = rest.slice(0, qm);
  } else if (parseQuery) {
    this.search = null;
    this.query = Object.create(null);
  }
  if (rest) this.pathname = rest;
  if (SLASHED.has(lowerProto) && this.hostname && !this.pathname) this.pathname = "/";
  if (this.pathname || this.search) this.path = (this.pathname || "") + (this.search || "");
  this.href = this.format();
  return this;
};

Url.prototype.format = function () {
  let auth = this.auth || "";
  if (auth) auth = encodeURIComponent(auth).replace(/%3A/i, ":") + "@";
  let protocol = this.protocol || "";
  let pathname = this.pathname || "";
  let hash = this.hash || "";
  let host = "";
  let query = "";
  if (this.host) host = auth + this.host;
  else if (this.hostname) {
    const h = this.hostname;
    host = auth + (h.includes(":") && !(h[0] === "[") ? "[" + h + "]" : h);
    if (this.port) host += ":" + this.port;
  }
  if (this.query !== null && typeof this.query === "object") query = querystring().stringify(this.query);
  let search = this.search || (query && "?" + query) || "";
  if (protocol && !protocol.endsWith(":")) protocol += ":";
  pathname = pathname.replace(/[?#]/g, encodeURIComponent);
  if (this.slashes || SLASHED.has(protocol)) {
    if (this.slashes || host) {
      if (pathname && pathname[0] !== "/") pathname = "/" + pathname;
      host = "//" + host;
    } else if (protocol.startsWith("file")) host = "//";
  }
  search = search.replace(/#/g, "%23");
  if (hash && hash[0] !== "#") hash = "#" + hash;
  if (search && search[0] !== "?") search = "?" + search;
  return protocol + host + pathname + search + hash;
};

Url.prototype.resolve = function (relative) {
  return resolve(this.format(), relative);
};

function urlParse(str, parseQuery, slashesDenoteHost) {
  if (str instanceof Url) return str;
  return new Url().parse(str, parseQuery, slashesDenoteHost);
}

function urlFormat(obj, options) {
  if (typeof obj === "string") return urlParse(obj).format();
  if (obj instanceof URL) {
    const o = { auth: true, fragment: true, search: true, unicode: false, ...options };
    const u = new URL(obj.href);
    if (!o.auth) {
      u.username = "";
      u.password = "";
    }
    if (!o.search) u.search = "";
    if (!o.fragment) u.hash = "";
    return u.href;
  }
  if (obj === null || typeof obj !== "object") {
    const e = new TypeError(`The "urlObject" argument must be one of type object or string. Received ${obj === null ? "null" : typeof obj}`);
    e.code = "ERR_INVALID_ARG_TYPE";
    throw e;
  }
  return Url.prototype.format.call(obj);
}

function resolve(from, to) {
  const r = new URL(to, new URL(from, "resolve://"));
  if (r.protocol !== "resolve:") return r.href;
  const out = r.pathname + r.search + r.hash;
  return from.startsWith("/") || to.startsWith("/") ? out : out.slice(1);
}

const { nodeError } = require("internal/errors");

function fileURLToPath(path) {
  const u = typeof path === "string" ? new URL(path) : path;
  if (!(u instanceof URL)) {
    throw nodeError(TypeError, "ERR_INVALID_ARG_TYPE", "The \"path\" argument must be of type string or an instance of URL");
  }
  if (u.protocol !== "file:") throw nodeError(TypeError, "ERR_INVALID_URL_SCHEME", "The URL must be of scheme file");
  if (u.hostname !== "") {
    throw nodeError(TypeError, "ERR_INVALID_FILE_URL_HOST", "File URL host must be \"localhost\" or empty on linux");
  }
  const pathname = u.pathname;
  if (/%2f/i.test(pathname)) {
    throw nodeError(TypeError, "ERR_INVALID_FILE_URL_PATH", "File URL path must not include encoded / characters");
  }
  return decodeURIComponent(pathname);
}

function pathToFileURL(filepath) {
  let path = String(filepath);
  const cwd = typeof process === "object" && typeof process.cwd === "function" ? process.cwd() : "/";
  const trailing = path.endsWith("/");
  const parts = [];
  for (const part of (path.startsWith("/") ? path : cwd + "/" + path).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  path = "/" + parts.join("/") + (trailing && parts.length ? "/" : "");
  const u = new URL("file://");
  u.pathname = path.replace(/%/g, "%25").replace(/\\/g, "%5C").replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/\t/g, "%09");
  return u;
}

function urlToHttpOptions(url) {
  const options = {
    protocol: url.protocol,
    hostname: url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname,
    hash: url.hash,
    search: url.search,
    pathname: url.pathname,
    path: `${url.pathname || ""}${url.search || ""}`,
    href: url.href,
  };
  if (url.port !== "") options.port = Number(url.port);
  if (url.username || url.password) {
    options.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  }
  return options;
}

function domainToASCII(domain) {
  const host = parseHost(toUSV(domain), false);
  return host === FAIL ? "" : host;
}
function domainToUnicode(domain) {
  return domainToASCII(domain);
}

module.exports = {
  URL, URLSearchParams, Url, parse: urlParse, format: urlFormat, resolve,
  resolveObject: (from, to) => urlParse(resolve(from, to)),
  fileURLToPath, pathToFileURL, urlToHttpOptions, domainToASCII, domainToUnicode,
};

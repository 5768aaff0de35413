// node:https for shoal's JS isolates: node:http's client with `https:` and port 443 (the host
// does TLS; `ca`, `cert`, `rejectUnauthorized` and the other TLS options are ignored).
// `createServer` throws.
"use strict";
module.exports = require("internal/http").makeHttp("https:", 443);

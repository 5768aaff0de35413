// node:http for shoal's JS isolates: the client (`request`, `get`, `ClientRequest`,
// `IncomingMessage`, `Agent`, `globalAgent`, `STATUS_CODES`, `METHODS`) over `host.request`,
// from `internal/http`. Responses are buffered whole by the host and then emitted as a few
// `data` chunks. `createServer` throws: an action cannot listen for connections.
"use strict";
module.exports = require("internal/http").makeHttp("http:", 80);

// node:stream/promises for shoal's JS isolates: the promise forms of `pipeline` (with an
// optional trailing `{ signal }`) and `finished`, from `stream`.
"use strict";
const { promises } = require("stream");
module.exports = { pipeline: promises.pipeline, finished: promises.finished };

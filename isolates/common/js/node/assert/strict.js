// Node's `assert/strict`: the strict variant of `assert` (equal means strictEqual, deepEqual
// means deepStrictEqual). Everything `assert` leaves out, this leaves out too.
"use strict";

module.exports = require("assert").strict;

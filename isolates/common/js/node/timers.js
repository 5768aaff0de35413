// Node's `timers`: the engine's timer globals (`setTimeout`, `setInterval`, `setImmediate` and
// their `clear*`) and `promises` (module `timers/promises`). Left out: `active`, `unenroll`,
// and Node's Timeout objects (the timers return whatever the engine's globals return).
"use strict";

const g = globalThis;
module.exports = {
  setTimeout: (...args) => g.setTimeout(...args),
  clearTimeout: (id) => g.clearTimeout(id),
  setInterval: (...args) => g.setInterval(...args),
  clearInterval: (id) => g.clearInterval(id),
  setImmediate: (...args) => g.setImmediate(...args),
  clearImmediate: (id) => g.clearImmediate(id),
};
for (const name of Object.keys(module.exports)) {
  Object.defineProperty(module.exports[name], "name", { value: name });
}
Object.defineProperty(module.exports, "promises", {
  enumerable: true,
  configurable: true,
  get: () => require("timers/promises"),
});

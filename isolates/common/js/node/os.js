// Node's `os` for shoal's isolates: fixed, plausible answers for a Linux container (no real
// host information reaches actions). Memory figures come from the isolate's own usage.
// Left out: `setPriority` (throws), real load, network and CPU data.
"use strict";

const memory = () => {
  try {
    return (typeof process !== "undefined" && process.memoryUsage()) || {};
  } catch {
    return {};
  }
};
const HOME = "/home/node";

const signals = {
  SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGIOT: 6, SIGBUS: 7, SIGFPE: 8,
  SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15, SIGCHLD: 17,
  SIGCONT: 18, SIGSTOP: 19, SIGTSTP: 20, SIGTTIN: 21, SIGTTOU: 22, SIGURG: 23, SIGXCPU: 24, SIGXFSZ: 25,
  SIGVTALRM: 26, SIGPROF: 27, SIGWINCH: 28, SIGIO: 29, SIGPOLL: 29, SIGPWR: 30, SIGSYS: 31,
};

module.exports = {
  EOL: "\n",
  devNull: "/dev/null",
  platform: () => "linux",
  type: () => "Linux",
  arch: () => (typeof process !== "undefined" && process.arch) || "x64",
  machine: () => ((typeof process !== "undefined" && process.arch) === "arm64" ? "aarch64" : "x86_64"),
  release: () => "6.1.0",
  version: () => "#1 SMP",
  hostname: () => "localhost",
  homedir: () => HOME,
  tmpdir: () => "/tmp",
  endianness: () => "LE",
  uptime: () => (typeof process !== "undefined" && typeof process.uptime === "function" ? process.uptime() : 0),
  loadavg: () => [0, 0, 0],
  cpus: () => [{ model: "shoal isolate", speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } }],
  availableParallelism: () => 1,
  totalmem: () => Math.max(memory().heapTotal || 0, 256 * 1024 * 1024),
  freemem: () => Math.max(Math.max(memory().heapTotal || 0, 256 * 1024 * 1024) - (memory().heapUsed || 0), 0),
  networkInterfaces: () => ({}),
  userInfo: (options) => {
    const info = { uid: 1000, gid: 1000, username: "node", homedir: HOME, shell: "/bin/sh" };
    if (options && options.encoding === "buffer") {
      const { Buffer } = require("buffer");
      for (const k of ["username", "homedir", "shell"]) info[k] = Buffer.from(info[k]);
    }
    return info;
  },
  getPriority: () => 0,
  setPriority() {
    throw new Error("os.setPriority() is not supported in shoal's JS isolates");
  },
  constants: {
    signals,
    errno: {},
    priority: { PRIORITY_LOW: 19, PRIORITY_BELOW_NORMAL: 10, PRIORITY_NORMAL: 0, PRIORITY_ABOVE_NORMAL: -7, PRIORITY_HIGH: -14, PRIORITY_HIGHEST: -20 },
    dlopen: {},
    UV_UDP_REUSEADDR: 4,
  },
};

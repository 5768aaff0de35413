'use strict';
// shoal's Node.js runner: the Node side of the action proxy's `nodejs` mode.
//
// The proxy (shoal_proxy.py) starts one `node` process running this file per container and
// keeps it for the container's life, so an action's module state survives between warm
// activations as in OpenWhisk's Node.js runtime. Requests arrive as JSON lines on stdin,
// one at a time:
//   {"init": {code, binary, main}}  loads the action (source text, or a base64 zip);
//   {"run": {value, env}}           calls its entry function with `value`.
// Each gets one JSON line on the file descriptor named by SHOAL_REPLY_FD: `{"ok": result}`
// or `{"error": text}`. The action's own stdout and stderr are the process's, inherited from
// the proxy, so its logs reach the container's streams before the proxy's sentinels.

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { execFileSync } = require('child_process');

const ACTION_DIR = process.env.SHOAL_ACTION_DIR || '/action';
const REPLY_FD = Number(process.env.SHOAL_REPLY_FD);
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

let entry = null;

/** Writes `source` as the action's module, exporting the function named `main`. */
function loadSource(source, main) {
  const file = path.join(ACTION_DIR, 'index.js');
  // Plain actions declare `function main` at top level, as OpenWhisk evaluates them; an
  // exported function of that name is taken too.
  const exporter = IDENTIFIER.test(main)
    ? `\n;if (typeof ${main} === 'function') module.exports[${JSON.stringify(main)}] = ${main};\n`
    : '\n';
  fs.writeFileSync(file, source + exporter);
  return file;
}

/** Extracts a base64 zip into the action directory and names its entry module. */
function loadZip(code) {
  const archive = `${ACTION_DIR}.zip`;
  fs.writeFileSync(archive, Buffer.from(code, 'base64'));
  // The image's Python extracts it: Node has no zip reader of its own.
  execFileSync('python3', ['-m', 'zipfile', '-e', archive, ACTION_DIR]);
  fs.unlinkSync(archive);
  const manifest = path.join(ACTION_DIR, 'package.json');
  if (fs.existsSync(manifest)) {
    const main = JSON.parse(fs.readFileSync(manifest, 'utf8')).main || 'index.js';
    return path.resolve(ACTION_DIR, main);
  }
  const index = path.join(ACTION_DIR, 'index.js');
  if (fs.existsSync(index)) return index;
  throw new Error('Zipped actions must contain either package.json or index.js at the root.');
}

function init({ code, binary, main }) {
  if (entry) throw new Error('Cannot initialize the action more than once.');
  if (typeof code !== 'string' || code === '') throw new Error('Missing main/no code to execute.');
  const name = main || 'main';
  fs.mkdirSync(ACTION_DIR, { recursive: true });
  const file = binary ? loadZip(code) : loadSource(code, name);
  const exported = require(file);
  const fn = typeof exported === 'function' && !binary ? exported : exported[name];
  if (typeof fn !== 'function') throw new Error(`Action entrypoint '${name}' is not a function.`);
  entry = fn;
  return true;
}

async function run({ value, env }) {
  if (!entry) throw new Error('System not initialized.');
  Object.assign(process.env, env);
  const result = await entry(value || {});
  if (result === null || typeof result !== 'object') {
    throw new Error('The action did not return a dictionary.');
  }
  return result;
}

function reply(answer) {
  fs.writeSync(REPLY_FD, `${JSON.stringify(answer)}\n`);
}

function describe(error) {
  return error instanceof Error ? error.message : JSON.stringify(error);
}

async function serve() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    try {
      const request = JSON.parse(line);
      const answer = request.init ? init(request.init) : await run(request.run || {});
      reply({ ok: answer });
    } catch (error) {
      console.error(error);
      reply({ error: describe(error) });
    }
  }
}

serve();

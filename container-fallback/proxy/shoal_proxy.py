#!/usr/bin/env python3
"""shoal's action proxy: the in-container side of OpenWhisk's action-container protocol.

It listens on port 8080 and answers `POST /init` (once) and `POST /run` (once per activation),
for one of two kinds of action, chosen by the image with the environment variable
SHOAL_PROXY_MODE:

* ``python`` (default): ``/init`` receives Python source (or a base64 zip holding
  ``__main__.py``); ``/run`` calls its ``main(args)`` function in this process, so module
  globals survive between warm activations, as in OpenWhisk's own Python runtime.
* ``nodejs``: ``/init`` receives Node.js source (or a base64 zip with ``package.json`` or
  ``index.js``); a long-lived ``node`` process running ``node_runner.js`` (beside this file)
  loads it, and ``/run`` calls its entry function there, so module state survives between
  warm activations, as in OpenWhisk's Node.js runtime.
* ``exec``: the action is an executable. ``/init`` may carry it (a script text starting with
  ``#!``, or a base64 zip holding a file named ``exec``); without code, the image's own
  ``/action/exec`` is used. ``/run`` starts it with the arguments as JSON in ``argv[1]``;
  the last line it prints on stdout is the result (a JSON object), earlier lines are logs.

After every activation, and after a failed initialisation, the proxy prints OpenWhisk's
sentinel line on stdout and on stderr so the invoker can cut the container's log streams
into activations (images carrying it say so with the label ``shoal.log-sentinels=true``).

One activation runs at a time: a ``/run`` arriving while another runs is refused with 403
(OpenWhisk's text). When a run fails and the kernel's OOM killer killed a process of the
container meanwhile (its memory cgroup's ``oom_kill`` count went up: an executable, or a
process the action started, exceeded the memory limit while this proxy survived), the answer
carries the header ``X-Shoal-OOM-Killed`` and OpenWhisk's memory text, which shoal reports
as the activation's result.

Only the Python standard library is used; any image with ``python3`` can carry this file (see
the README, "Container actions"), and ``node`` too for the ``nodejs`` mode.
"""

import base64
import io
import json
import os
import subprocess
import sys
import threading
import traceback
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"
ACTION_DIR = os.environ.get("SHOAL_ACTION_DIR", "/action")
MODE = os.environ.get("SHOAL_PROXY_MODE", "python")
MEMORY_EXHAUSTED = "The action exhausted its memory and was aborted."
OOM_KILLED_HEADER = "X-Shoal-OOM-Killed"
# Where the kernel counts this container's OOM kills: cgroup v2, then v1.
OOM_COUNTERS = ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control")


def end_of_activation():
    """Marks the end of an activation's logs on both streams."""
    for stream in (sys.stdout, sys.stderr):
        print(SENTINEL, file=stream, flush=True)


def oom_kills():
    """How many processes the kernel's OOM killer has killed in this container's memory
    cgroup so far, or None when the count cannot be read."""
    for path in OOM_COUNTERS:
        try:
            with open(path) as counters:
                for line in counters:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def unzip(code, where):
    """Extracts a base64 zip archive into `where`."""
    data = base64.b64decode(code)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(where)


class PythonAction:
    """A Python action loaded in this process: `run` calls its entry function."""

    def __init__(self, value):
        main = value.get("main") or "main"
        code = value.get("code")
        if not code:
            raise ValueError("Missing main/no code to execute.")
        module = {"__name__": "__main__"}
        if value.get("binary"):
            os.makedirs(ACTION_DIR, exist_ok=True)
            unzip(code, ACTION_DIR)
            path = os.path.join(ACTION_DIR, "__main__.py")
            if not os.path.exists(path):
                raise ValueError("Zip file does not include __main__.py")
            sys.path.insert(0, ACTION_DIR)
            with open(path) as source:
                code = source.read()
            module["__file__"] = path
        exec(compile(code, "__main__", "exec"), module)
        self.entry = module.get(main)
        if not callable(self.entry):
            raise ValueError(f"'{main}' is not a function in the action's code")

    def run(self, args, env):
        os.environ.update(env)
        return self.entry(args)


class NodeAction:
    """A Node.js action loaded in a `node` child process: `run` asks it to call the entry
    function. Requests go as JSON lines on the child's stdin, answers come back on a pipe of
    their own, so the action's stdout and stderr stay the container's."""

    RUNNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node_runner.js")

    def __init__(self, value):
        replies, reply_end = os.pipe()
        self.child = subprocess.Popen(
            ["node", self.RUNNER],
            stdin=subprocess.PIPE,
            pass_fds=(reply_end,),
            env={**os.environ, "SHOAL_ACTION_DIR": ACTION_DIR, "SHOAL_REPLY_FD": str(reply_end)},
            text=True,
        )
        os.close(reply_end)
        self.replies = os.fdopen(replies)
        self.ask({"init": {key: value.get(key) for key in ("code", "binary", "main")}})

    def ask(self, request):
        """Sends one request to the child and returns its answer, raising its error."""
        try:
            self.child.stdin.write(json.dumps(request) + "\n")
            self.child.stdin.flush()
        except BrokenPipeError:
            pass
        answer = self.replies.readline()
        if not answer:
            raise ValueError(f"the Node.js process exited (status {self.child.wait()})")
        answer = json.loads(answer)
        if "error" in answer:
            raise ValueError(answer["error"])
        return answer["ok"]

    def run(self, args, env):
        return self.ask({"run": {"value": args, "env": env}})


class Executable:
    """An executable action: `run` starts it once per activation."""

    def __init__(self, value):
        code = value.get("code")
        path = os.path.join(ACTION_DIR, "exec")
        if code:
            os.makedirs(ACTION_DIR, exist_ok=True)
            if value.get("binary"):
                unzip(code, ACTION_DIR)
            else:
                with open(path, "w") as out:
                    out.write(code)
            if os.path.exists(path):
                os.chmod(path, 0o755)
        if not os.access(path, os.X_OK):
            raise ValueError(f"no executable at {path}")
        self.path = path

    def run(self, args, env):
        done = subprocess.run(
            [self.path, json.dumps(args)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        lines = done.stdout.rstrip("\n").split("\n") if done.stdout else []
        for line in lines[:-1]:
            print(line, flush=True)
        if done.stderr:
            print(done.stderr.rstrip("\n"), file=sys.stderr, flush=True)
        if not lines:
            raise ValueError(f"the executable printed nothing (exit status {done.returncode})")
        return json.loads(lines[-1])


class Proxy:
    """The one action this container runs, once initialised."""

    def __init__(self):
        self.action = None
        self.lock = threading.Lock()
        self.running = threading.Lock()

    def init(self, body):
        with self.lock:
            if self.action is not None:
                return 403, {"error": "Cannot initialize the action more than once."}
            value = body.get("value") or {}
            os.environ.update({k: str(v) for k, v in (value.get("env") or {}).items()})
            try:
                loader = {"exec": Executable, "nodejs": NodeAction}.get(MODE, PythonAction)
                self.action = loader(value)
            except Exception as error:  # the action's own code failed to load
                traceback.print_exc()
                end_of_activation()
                return 502, {"error": f"Initialization has failed due to: {error}"}
            return 200, {"ok": True}

    def run(self, body):
        if self.action is None:
            return 403, {"error": "System not initialized."}
        if not self.running.acquire(blocking=False):
            return 403, {"error": "System not ready, status is running."}
        try:
            return self.run_alone(body)
        finally:
            self.running.release()

    def run_alone(self, body):
        env = {
            f"__OW_{key.upper()}": value
            for key, value in body.items()
            if key != "value" and isinstance(value, str)
        }
        kills = oom_kills()
        try:
            result = self.action.run(body.get("value", {}), env)
            if isinstance(result, (dict, list)):
                return 200, result
            failure = 502, {"error": "The action did not return a dictionary."}
        except Exception as error:  # the action raised: a developer error
            traceback.print_exc()
            failure = 502, {"error": f"An error has occurred: {error}"}
        finally:
            end_of_activation()
        if kills is not None and (oom_kills() or 0) > kills:
            return 502, {"error": MEMORY_EXHAUSTED}, {OOM_KILLED_HEADER: "true"}
        return failure


PROXY = Proxy()


class Handler(BaseHTTPRequestHandler):
    """Routes `POST /init` and `POST /run`; anything else is a bad request."""

    def do_POST(self):
        try:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            route = {"/init": PROXY.init, "/run": PROXY.run}.get(self.path)
            if route is None or not isinstance(body, dict):
                raise ValueError("bad request")
        except ValueError:
            self.answer(500, {"error": "Bad request."})
            return
        self.answer(*route(body))

    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_):
        """Request lines would pollute the action's logs."""


if __name__ == "__main__":
    address = os.environ.get("SHOAL_PROXY_ADDRESS", "0.0.0.0")
    ThreadingHTTPServer((address, int(os.environ.get("PORT", "8080"))), Handler).serve_forever()

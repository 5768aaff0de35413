#!/usr/bin/env python3
"""Splits a `perf script` dump of a loaded shoal server into the stages of a web request.

Usage (see benches/README.md, "Where a web request's CPU goes"):

    perf record -F 999 --call-graph dwarf,16384 -p PID -o perf.data -- sleep 3
    perf script -i perf.data -F comm,ip,sym --no-inline > stacks.txt
    python3 benches/profile/stages.py stacks.txt [CPU_US_PER_REQUEST]

Each sample is charged to one stage: by its thread (the activation log's appender and indexer,
the isolate threads), then, on the I/O threads, by the first frame from the leaf up that names a stage.
With the CPU per request measured over the same load, it prints each stage's share in µs.
"""

import collections
import sys

# Stages of the I/O threads, by a piece of a frame's symbol, tried from the leaf frame up.
IO_STAGES = [
    ("tracing: request span, access log", ["tracing::", "tracing_subscriber", "tracing_core", "sharded_slab"]),
    ("metrics", ["shoal_api::metrics", "shoal_core::observer", "prometheus"]),
    ("activation record: build, encode JSON", ["Record::to_text", "primitive_record", "log_record", "activation::Record"]),
    ("activation log: hand-off to the writer", ["shoal_store::"]),
    ("web action: arguments, response shape", ["rest::web::arguments", "rest::web::shape", "rest::web::http_response", "rest::web::add_cors"]),
    ("API: route, identity, action lookup", ["rest::routes", "rest::dispatch", "rest::request", "shoal_core::auth", "Controller::resolve", "rest::web::find", "Request::new"]),
    ("controller: throttles, invocation, task", ["Controller::start", "Controller::invocation", "Controller::record", "new_activation_id", "new_transaction_id", "throttle"]),
    ("executor hand-off (router, memory budget, channels)", ["shoal_core::memory", "shoal_router", "QuickJsExecutor", "crossbeam", "mpmc", "oneshot"]),
    ("hyper: parse request", ["Http1Transaction>::parse", "poll_read_head", "poll_read_body"]),
    ("hyper: encode response", ["Http1Transaction>::encode", "write_head"]),
    ("server: headers, reply", ["shoal_api::server::"]),
]


def kernel(ip):
    return ip.startswith("ffffffff")


def classify(comm, frames):
    """The stage of one sample: `frames` are (ip, symbol) from the leaf up."""
    in_kernel = bool(frames) and kernel(frames[0][0])
    symbols = [s for _, s in frames]
    if comm.startswith("shoal-store-ind"):
        return "log indexer thread: " + ("kernel (WAL writes, checkpoints, locks, wake-ups)" if in_kernel else "SQLite")
    if comm.startswith("shoal-store-app"):
        return "log appender thread: " + ("kernel (journal writes, wake-ups)" if in_kernel else "encoding, acknowledgements")
    if comm.startswith("shoal-isolate"):
        if in_kernel:
            return "isolate thread: kernel (wake-ups, sleeps)"
        if any("convert::" in s for s in symbols):
            return "isolate thread: parameters in, result out"
        if any(s.startswith("JS_") or "quickjs" in s.lower() for s in symbols):
            return "isolate thread: QuickJS (the action)"
        return "isolate thread: other"
    if in_kernel:
        joined = " ".join(symbols)
        if "writev" in joined or "sendmsg" in joined:
            return "I/O thread: kernel TCP send (loopback delivery included)"
        if "recvfrom" in joined or "tcp_recvmsg" in joined or "sys_read" in joined:
            return "I/O thread: kernel TCP receive"
        if "epoll" in joined:
            return "I/O thread: kernel epoll"
        if "futex" in joined:
            return "I/O thread: kernel futex (wake-ups)"
        return "I/O thread: kernel, other (scheduling)"
    for _, symbol in frames:
        for stage, keys in IO_STAGES:
            if any(k in symbol for k in keys):
                return "I/O thread: " + stage
    if any("hyper::" in s for s in symbols):
        return "I/O thread: hyper, other"
    if any("tokio::" in s for s in symbols):
        return "I/O thread: tokio scheduler"
    return "I/O thread: other"


def samples(lines):
    comm, frames = None, []
    for line in lines:
        if not line.strip():
            continue
        if not line[0].isspace():
            if comm is not None:
                yield comm, frames
            comm, frames = line.split()[0], []
        else:
            parts = line.strip().split(None, 1)
            frames.append((parts[0], parts[1] if len(parts) > 1 else "?"))
    if comm is not None:
        yield comm, frames


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    per_request = float(sys.argv[2]) if len(sys.argv) > 2 else None
    counts = collections.Counter()
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        for comm, frames in samples(f):
            counts[classify(comm, frames)] += 1
    total = sum(counts.values()) or 1
    for stage, n in counts.most_common():
        share = n / total
        us = f"{share * per_request:6.1f} µs  " if per_request else ""
        print(f"{share * 100:5.1f}%  {us}{stage}")
    print(f"({total} samples)")


if __name__ == "__main__":
    main()

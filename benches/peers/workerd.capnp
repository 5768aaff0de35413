# The workerd peer's config. shoal-peers replaces {{ADDRESS}} with a free loopback address
# and writes it next to worker.js before running `workerd serve`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "{{ADDRESS}}", http = (), service = "main") ],
);

const hello :Workerd.Worker = (
  modules = [ (name = "worker", esModule = embed "worker.js") ],
  compatibilityDate = "2025-01-01",
);

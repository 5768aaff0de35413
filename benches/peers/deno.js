// The deno peer: Deno.serve answering every request with the shared hello-world.
// Usage: deno run --allow-net deno.js PORT
const port = Number(Deno.args[0]);
Deno.serve(
  { hostname: "127.0.0.1", port, onListen() {} },
  () =>
    new Response("Hello, World!", {
      headers: { "content-type": "text/plain" },
    }),
);

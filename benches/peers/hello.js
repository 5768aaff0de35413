// The shoal peer: a JS web action (`web-export: true`) answering with the shared hello-world.
function main() {
  return { headers: { "content-type": "text/plain" }, body: "Hello, World!" };
}

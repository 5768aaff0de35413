// The workerd peer: an ES-module worker answering every request with the shared hello-world.
export default {
  async fetch() {
    return new Response("Hello, World!", {
      headers: { "content-type": "text/plain" },
    });
  },
};

// The Node.js peer: a plain `http` server answering every request with the shared hello-world.
// Usage: node node.js PORT
"use strict";
const http = require("http");
const port = Number(process.argv[2]);
const body = "Hello, World!";
http
  .createServer((req, res) => {
    res.writeHead(200, {
      "content-type": "text/plain",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  })
  .listen(port, "127.0.0.1");

//! The HTTP floor: hyper answering `Hello, World!` (`text/plain`) with the connection settings
//! shoal's own server uses (HTTP/1.1 keep-alive, a header-read timer, `TCP_NODELAY`), on a
//! multi-threaded tokio runtime of one thread per usable core, as shoal's I/O runtime is.
//! Nothing else runs per request: no routing, no identity, no activation, no record. What it
//! costs is what any request to shoal costs before shoal does anything of its own, so shoal's
//! figures minus these are shoal's own work. `shoal-peers` runs it as the `hyper` peer (its
//! own binary with `--serve-hyper PORT`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

/// What shoal's server allows for a request's headers by default.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves the hello-world on `addr` until the process is killed.
pub fn serve(addr: SocketAddr, hello: &'static str) -> anyhow::Result<()> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("hyper-floor")
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(accept_loop(listener, hello).await?)
    })
}

/// Accepts connections on `listener`, each a task answering `hello` to every request, until
/// accepting fails.
async fn accept_loop(listener: TcpListener, hello: &'static str) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let answer = move |_: Request<Incoming>| async move {
            let mut reply = Response::new(Full::new(Bytes::from_static(hello.as_bytes())));
            reply
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
            Ok::<_, Infallible>(reply)
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer));
        tokio::spawn(conn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_hello_world_as_text() {
        use std::io::{Read, Write};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(accept_loop(listener, "Hello, World!"));
        for path in ["/", "/any/path"] {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            conn.write_all(request.as_bytes()).unwrap();
            let mut answer = String::new();
            conn.read_to_string(&mut answer).unwrap();
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
            assert!(
                answer.contains("\r\ncontent-type: text/plain\r\n"),
                "{answer}"
            );
            assert!(answer.ends_with("\r\n\r\nHello, World!"), "{answer}");
        }
        // Dropping the runtime stops the server.
    }
}

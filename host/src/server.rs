//! The HTTP server: accepts connections (HTTP/1.1, keep-alive), turns each request into an
//! [`api::Request`], dispatches it, and writes the reply or the error envelope with the
//! headers every OpenWhisk response carries (`X-Request-ID`, CORS on `/api/v1`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    HeaderName, HeaderValue, WWW_AUTHENTICATE,
};
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, Reply};
use crate::app::App;
use crate::controller::new_transaction_id;
use crate::error::ApiError;

/// Largest request entity accepted at all (spec §1.3: 50 MB).
const MAX_ENTITY_BYTES: usize = 50 * 1024 * 1024;

/// Response headers shoal adds, as constants (a `&str` name is parsed on every insert).
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_ACTIVATION_ID: HeaderName = HeaderName::from_static("x-openwhisk-activation-id");

const CORS_METHODS: &str = "GET, DELETE, POST, PUT, HEAD";
const CORS_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// Binds `count` listening sockets to `addr` with `SO_REUSEPORT`, so that each worker thread
/// accepts its own connections (the kernel spreads them). Port 0 picks one free port for
/// all of them.
pub fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut addr = addr;
    let mut out = Vec::with_capacity(count);
    for _ in 0..count.max(1) {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_reuse_port(true)?;
        socket.bind(&addr.into())?;
        socket.listen(1024)?;
        socket.set_nonblocking(true)?;
        let listener: std::net::TcpListener = socket.into();
        addr = listener.local_addr()?;
        out.push(listener);
    }
    Ok(out)
}

/// Serves `listeners` (one per isolate worker, from [`bind`]) on the isolate worker threads
/// until `shutdown` turns true, then stops accepting and gives open connections `grace` to
/// finish their current request. Resolves when every worker has stopped serving.
pub async fn serve(
    app: Arc<App>,
    listeners: Vec<std::net::TcpListener>,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let listeners = Arc::new(parking_lot::Mutex::new(listeners));
    let workers = app.workers.clone();
    workers
        .run_on_workers(move |_| {
            let listener = listeners.lock().pop();
            serve_worker(app.clone(), listener, shutdown.clone(), grace)
        })
        .await;
}

/// One worker's accept loop; connections are local tasks of that worker.
async fn serve_worker(
    app: Arc<App>,
    listener: Option<std::net::TcpListener>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let Some(listener) = listener.and_then(|l| TcpListener::from_std(l).ok()) else {
        return;
    };
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let service = hyper::service::service_fn(move |req| handle(app.clone(), req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::task::spawn_local(async move {
                    let _ = conn.await;
                });
            }
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

async fn handle(
    app: Arc<App>,
    req: hyper::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let tid = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map_or_else(new_transaction_id, str::to_string);
    let (parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    // Web actions (`/api/v1/web/…`) set their own CORS headers and answer OPTIONS themselves.
    let is_api = path.starts_with("/api/v1") && !path.starts_with("/api/v1/web/");
    let result = match Limited::new(body, MAX_ENTITY_BYTES).collect().await {
        Err(_) => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::messages::request_too_large(MAX_ENTITY_BYTES + 1, MAX_ENTITY_BYTES),
        )),
        Ok(collected) => {
            let request = api::Request::new(
                parts.method,
                &path,
                parts.headers,
                collected.to_bytes(),
                tid.clone(),
            );
            if request.method == Method::OPTIONS && is_api {
                Ok(Reply::empty(StatusCode::OK))
            } else {
                api::dispatch(&app, &request).await
            }
        }
    };
    Ok(respond(result, &tid, is_api))
}

/// Writes a reply or an error envelope with the common headers. The one place errors become
/// HTTP responses.
fn respond(result: Result<Reply, ApiError>, tid: &str, is_api: bool) -> Response<Full<Bytes>> {
    let reply = result.unwrap_or_else(|e| Reply::error(e, tid));
    let mut resp = Response::new(Full::new(reply.body));
    *resp.status_mut() = reply.status;
    let h = resp.headers_mut();
    *h = reply.headers;
    if let Ok(v) = HeaderValue::from_str(tid) {
        h.insert(X_REQUEST_ID, v);
    }
    if let Some(id) = reply.activation_id
        && let Ok(v) = HeaderValue::from_str(id.as_str())
    {
        h.insert(X_ACTIVATION_ID, v);
    }
    if reply.status == StatusCode::UNAUTHORIZED {
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"OpenWhisk secure realm\""),
        );
    }
    if is_api {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        h.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(CORS_METHODS),
        );
        h.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(CORS_HEADERS),
        );
    }
    resp
}

//! The HTTP server: accepts connections (HTTP/1.1, keep-alive), turns each request into an
//! [`api::Request`], dispatches it, and writes the reply or the error envelope with the
//! headers every OpenWhisk response carries (`X-Request-ID`, CORS on `/api/v1`).

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::api::{self, Reply};
use crate::app::App;
use crate::controller::new_transaction_id;
use crate::error::ApiError;

/// Largest request entity accepted at all (spec §1.3: 50 MB).
const MAX_ENTITY_BYTES: usize = 50 * 1024 * 1024;

const CORS_METHODS: &str = "GET, DELETE, POST, PUT, HEAD";
const CORS_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// Serves `listener` until `shutdown` resolves, then stops accepting and gives open
/// connections `grace` to finish their current request.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
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
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut shutdown => break,
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
    let is_api = path.starts_with("/api/v1");
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
                Ok(Reply {
                    status: StatusCode::OK,
                    body: Bytes::new(),
                    content_type: "text/plain; charset=UTF-8",
                    activation_id: None,
                })
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
    let (status, body, content_type, activation_id) = match result {
        Ok(r) => (r.status, r.body, r.content_type, r.activation_id),
        Err(e) => {
            let (status, body) = e.into_envelope(tid);
            (status, Bytes::from(body), "application/json", None)
        }
    };
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(tid) {
        h.insert("x-request-id", v);
    }
    if let Some(id) = activation_id
        && let Ok(v) = HeaderValue::from_str(id.as_str())
    {
        h.insert("x-openwhisk-activation-id", v);
    }
    if status == StatusCode::UNAUTHORIZED {
        h.insert(
            "www-authenticate",
            HeaderValue::from_static("Basic realm=\"OpenWhisk secure realm\""),
        );
    }
    if is_api {
        h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static(CORS_METHODS),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static(CORS_HEADERS),
        );
    }
    resp
}

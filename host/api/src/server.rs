//! The HTTP server: accepts connections (HTTP/1.1, keep-alive), turns each request into an
//! [`rest::Request`], dispatches it, and writes the reply or the error envelope with the
//! headers every OpenWhisk response carries (`X-Request-ID`, CORS on `/api/v1`).
//!
//! It runs on the I/O runtime (a multi-threaded tokio runtime of its own threads), never on
//! the threads that run guest code: accepting, parsing, authenticating, `/ping`, non-blocking
//! acceptance and answering never wait behind an action, whatever the action does.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    CONNECTION, HeaderName, HeaderValue, WWW_AUTHENTICATE,
};
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use crate::app::App;
use crate::buffers::{BUFFERED, Buffers, Held, Payer};
use crate::controller::new_transaction_id;
use crate::error::ApiError;
use crate::observer::Observer;
use crate::rest::routes::route_of;
use crate::rest::{self, Reply};

/// Largest request entity accepted at all (spec §1.3: 50 MB).
const MAX_ENTITY_BYTES: usize = 50 * 1024 * 1024;

/// A request's body and its share of the buffer budget ([`BUFFERED`]), given back when it
/// is dropped. Past the budget (or the tenant's share of it) a request is answered 503
/// ([`crate::messages::BODIES_BUSY`]).
struct Body {
    bytes: Bytes,
    _held: Option<Held>,
}

/// Takes `bytes` (rounded up to KiB) of [`BUFFERED`] for a reply to a caller of `tenant`
/// that may be that large, before it is built: the reply holds it ([`Reply::held`]) until
/// hyper has sent it. 503 ([`crate::messages::REPLIES_BUSY`]) when the budget, or the
/// tenant's share of it, does not have that much left.
pub(crate) fn hold_for_reply(tenant: &str, bytes: usize) -> Result<Held, ApiError> {
    hold(&BUFFERED, Payer::caller(tenant), bytes)
}

fn hold(budget: &'static Buffers, payer: Payer<'_>, bytes: usize) -> Result<Held, ApiError> {
    budget.take(payer, bytes.div_ceil(1024)).ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::messages::REPLIES_BUSY,
        )
    })
}

/// Replies up to this size are sent without a share of [`BUFFERED`]; a larger one (an
/// action's 48 MB of code, a record's 10 MB of logs) takes its size from it, or is refused
/// 503 ([`crate::messages::REPLIES_BUSY`]) when the budget does not have that much left.
const UNBUDGETED_REPLY_BYTES: usize = 1 << 20;

/// How much of a reply is handed to hyper at a time. hyper asks for the next piece only
/// once its write buffer (a few hundred KiB) has room, so a reply's share of [`BUFFERED`]
/// stays held until at most that much of it is still unsent: a client that reads slowly,
/// or not at all, keeps its reply counted.
const REPLY_PIECE: usize = 64 << 10;

/// `reply` with `payer`'s share of `budget` when it is larger than
/// [`UNBUDGETED_REPLY_BYTES`] and holds none yet; 503 when the budget (or the payer's share)
/// does not have that much left (the reply is dropped).
fn budgeted(
    mut reply: Reply,
    budget: &'static Buffers,
    payer: Payer<'_>,
) -> Result<Reply, ApiError> {
    if reply.held.is_none() && reply.body.len() > UNBUDGETED_REPLY_BYTES {
        reply.held = Some(hold(budget, payer, reply.body.len())?);
    }
    Ok(reply)
}

/// A response body: the reply's bytes, handed to hyper [`REPLY_PIECE`] at a time, and the
/// share of [`BUFFERED`] a large reply holds, given back when hyper drops the body (its last
/// piece taken) or the connection closes.
pub(crate) struct Answer {
    bytes: Bytes,
    _held: Option<Held>,
}

impl hyper::body::Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        let bytes = &mut self.get_mut().bytes;
        let piece = bytes.split_to(bytes.len().min(REPLY_PIECE));
        std::task::Poll::Ready((!piece.is_empty()).then(|| Ok(hyper::body::Frame::data(piece))))
    }

    fn is_end_stream(&self) -> bool {
        self.bytes.is_empty()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.bytes.len() as u64)
    }
}

/// Response headers shoal adds, as constants (a `&str` name is parsed on every insert).
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const X_ACTIVATION_ID: HeaderName = HeaderName::from_static("x-openwhisk-activation-id");

const CORS_METHODS: &str = "GET, DELETE, POST, PUT, HEAD";
const CORS_HEADERS: &str =
    "Authorization, Origin, X-Requested-With, Content-Type, Accept, User-Agent";

/// Binds `count` listening sockets to `addr` with `SO_REUSEPORT`, so that each I/O thread
/// can accept its own connections (the kernel spreads them). Port 0 picks one free port for
/// all of them. A port some other socket listens on is refused (`AddrInUse`), even when that
/// socket is another shoal's: `SO_REUSEPORT` alone would let a second shoal share the port
/// and take part of the first one's traffic.
pub fn bind(addr: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    if addr.port() != 0 {
        // A plain bind fails on a port anyone listens on; it is released at once.
        let probe = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        probe.set_reuse_address(true)?;
        probe.bind(&addr.into())?;
    }
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

/// Serves `listeners` (from [`bind`]) on the current tokio runtime, one accept loop each,
/// until `shutdown` turns true, then stops accepting and gives open connections `grace` to
/// finish their current request. Resolves when every loop has stopped serving.
pub async fn serve(
    app: Arc<App>,
    listeners: Vec<std::net::TcpListener>,
    shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let connections = Arc::new(Semaphore::new(app.settings.http.connection_limit()));
    let loops: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            tokio::spawn(accept_loop(
                app.clone(),
                listener,
                connections.clone(),
                shutdown.clone(),
                grace,
            ))
        })
        .collect();
    for serving in loops {
        let _ = serving.await;
    }
}

/// One listener's accept loop; each connection is a task of the runtime. A connection is
/// accepted only while one of the process's `connections` permits is free (beyond that,
/// clients wait in the kernel's backlog), and `accept` errors (such as running out of file
/// descriptors) back off from 10 ms doubling to 1 s instead of spinning.
async fn accept_loop(
    app: Arc<App>,
    listener: std::net::TcpListener,
    connections: Arc<Semaphore>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "cannot serve a listening socket");
            return;
        }
    };
    let http = app.settings.http.clone();
    let graceful = GracefulShutdown::new();
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let accepted = tokio::select! {
            accepted = accept(&listener, &connections) => accepted,
            _ = shutdown.wait_for(|stop| *stop) => break,
        };
        let (stream, permit) = match accepted {
            Ok(accepted) => {
                backoff = ACCEPT_BACKOFF_MIN;
                accepted
            }
            Err(error) => {
                tracing::warn!(%error, ?backoff, "accept failed; backing off");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|stop| *stop) => break,
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let activity = Arc::new(Activity::new());
        let service = {
            let (app, activity) = (app.clone(), activity.clone());
            let body_timeout = http.body_read_timeout();
            hyper::service::service_fn(move |req| {
                let busy = activity.enter();
                let app = app.clone();
                async move {
                    let reply = handle(app, req, body_timeout).await;
                    drop(busy);
                    reply
                }
            })
        };
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(http.header_read_timeout())
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        let idle = http.idle_timeout();
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {}
                _ = activity.idle_for(idle) => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
}

/// First and longest pause after a failed `accept`.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// Waits for a free connection permit, then for a connection.
async fn accept(
    listener: &TcpListener,
    connections: &Arc<Semaphore>,
) -> std::io::Result<(tokio::net::TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = connections
        .clone()
        .acquire_owned()
        .await
        .map_err(std::io::Error::other)?;
    let (stream, _) = listener.accept().await?;
    Ok((stream, permit))
}

/// When a connection last finished a request and how many it is handling now: what its idle
/// timeout looks at. Two atomics per connection, touched twice per request.
struct Activity {
    born: Instant,
    /// Milliseconds after `born` when the last request finished (or the connection opened).
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

/// Held while a request of the connection is being handled.
struct Busy(Arc<Activity>);

impl Activity {
    fn new() -> Activity {
        Activity {
            born: Instant::now(),
            last_ms: AtomicU64::new(0),
            busy: AtomicUsize::new(0),
        }
    }

    fn enter(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.clone())
    }

    /// Resolves once no request has been handled for `limit` (a request in progress, such as
    /// a blocking invoke, keeps the connection open).
    async fn idle_for(&self, limit: Duration) {
        loop {
            let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
            let quiet = self.born.elapsed().saturating_sub(last);
            if self.busy.load(Ordering::Acquire) == 0 && quiet >= limit {
                return;
            }
            tokio::time::sleep(limit.saturating_sub(quiet).max(Duration::from_millis(100))).await;
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let now = u64::try_from(self.0.born.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.0.last_ms.store(now, Ordering::Release);
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn handle(
    app: Arc<App>,
    req: hyper::Request<Incoming>,
    body_timeout: Duration,
) -> Result<Response<Answer>, Infallible> {
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
    let surface = Surface::of(&path);
    let started = Instant::now();
    let method = parts.method.clone();
    let mut request = rest::Request::new(parts.method, &path, parts.headers, Bytes::new(), tid);
    let result = match rest::credentials_first(&app, &mut request).await {
        Ok(()) => {
            // Web actions and gateway APIs take at most an invoke's payload (checked again
            // when the body is used): no one, with or without credentials, makes shoal hold
            // more for them.
            let most = match surface {
                Surface::Api => MAX_ENTITY_BYTES,
                Surface::Web | Surface::Gateway => app.settings.limits.max_payload_bytes,
            };
            read_body(body, body_timeout, request.payer(), most).await
        }
        // Unread, the body is not buffered, and hyper closes the connection after the answer.
        Err(refused) => Err(refused),
    };
    // Every log line written while the request is answered names its transaction id.
    let span = tracing::warn_span!("request", tid = %request.tid);
    async move {
        let response = match result {
            Ok(Body { bytes, _held }) => {
                request.body = bytes;
                answer_request(&app, request, surface).await
            }
            Err(error) => {
                // Refused before its body was read whole: hyper closes the connection after
                // the answer, which says so, so that no client sends its next request on it.
                let mut refused = respond(Err(error), &request, surface);
                let close = HeaderValue::from_static("close");
                refused.headers_mut().insert(CONNECTION, close);
                refused
            }
        };
        let (route, status, elapsed) = (route_of(&path), response.status(), started.elapsed());
        app.metrics.request(route, status.as_u16(), elapsed);
        // The access log (`SHOAL_LOG=info`) names the route template, never the path and
        // query, which may carry names and parameters.
        tracing::info!(%method, route, status = status.as_u16(), micros = elapsed.as_micros() as u64, "answered");
        Ok(response)
    }
    .instrument(span)
    .await
}

/// The request's body, read within `timeout`, at most [`MAX_ENTITY_BYTES`] and within what
/// [`BUFFERED`] (and `payer`'s share of it) has left, and at most `most` bytes (413 past
/// them, at once when the request announces more). A request that announces none (a `GET`,
/// `Content-Length: 0`) costs neither a timer nor a buffer.
async fn read_body(
    body: Incoming,
    timeout: Duration,
    payer: Payer<'_>,
    most: usize,
) -> Result<Body, ApiError> {
    if body.is_end_stream() {
        return Ok(Body {
            bytes: Bytes::new(),
            _held: None,
        });
    }
    match tokio::time::timeout(timeout, receive(body, &BUFFERED, payer, most)).await {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            crate::messages::BODY_TIMEOUT,
        )),
        Ok(read) => read,
    }
}

/// Receives at most `most` bytes of `body` for `payer` frame by frame, taking its share of
/// `budget` as it grows.
async fn receive<B>(
    body: B,
    budget: &'static Buffers,
    payer: Payer<'_>,
    most: usize,
) -> Result<Body, ApiError>
where
    B: hyper::body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let too_large = |announced: usize| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::messages::request_too_large(announced, most),
        )
    };
    let announced = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    if announced > most {
        return Err(too_large(announced));
    }
    let mut body = std::pin::pin!(Limited::new(body, most));
    let mut bytes = bytes::BytesMut::new();
    let mut held: Option<Held> = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                too_large(most + 1)
            } else {
                ApiError::bad_request(crate::messages::malformed(&e.to_string()))
            }
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let have = held.as_ref().map_or(0, Held::kib);
        let more = (bytes.len() + data.len())
            .div_ceil(1024)
            .saturating_sub(have);
        if more > 0 {
            let taken = match held.as_mut() {
                Some(share) => share.grow(more),
                None => {
                    held = budget.take(payer, more);
                    held.is_some()
                }
            };
            if !taken {
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    crate::messages::BODIES_BUSY,
                ));
            }
        }
        bytes.extend_from_slice(&data);
    }
    Ok(Body {
        bytes: bytes.freeze(),
        _held: held,
    })
}

/// The response to one request whose body has arrived: what the listener sends, and what an
/// action's outbound request to shoal's own API host gets without a socket (`egress`).
pub(crate) async fn answer(
    app: &Arc<App>,
    method: Method,
    path: &str,
    headers: hyper::HeaderMap,
    body: Bytes,
    tid: String,
) -> Response<Answer> {
    let surface = Surface::of(path);
    if body.len() > MAX_ENTITY_BYTES {
        // The listener stops reading at the limit; an in-process caller hands the body whole.
        let error = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::messages::request_too_large(body.len(), MAX_ENTITY_BYTES),
        );
        let request = rest::Request::new(method, path, headers, Bytes::new(), tid);
        return respond(Err(error), &request, surface);
    }
    let mut request = rest::Request::new(method, path, headers, body, tid);
    request.from_action = true;
    answer_request(app, request, surface).await
}

/// The response to `request`, on `surface`.
async fn answer_request(
    app: &Arc<App>,
    request: rest::Request,
    surface: Surface,
) -> Response<Answer> {
    let result = if request.method == Method::OPTIONS && surface == Surface::Api {
        Ok(Reply::empty(StatusCode::OK))
    } else {
        rest::dispatch(app, &request).await
    };
    respond(result, &request, surface)
}

/// Which of shoal's HTTP surfaces a path belongs to; each adds different headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Surface {
    /// The REST API: CORS on every answer, `OPTIONS` answered here, a Basic challenge on 401.
    Api,
    /// Web actions (`/api/v1/web/…`) set their own CORS headers and answer `OPTIONS`
    /// themselves; a 401 still carries the Basic challenge. Also `/ping` and the like.
    Web,
    /// Gateway routes (`/api/{tenant}/…`): public APIs whose 401s (missing API keys) must not
    /// make a browser ask for OpenWhisk credentials.
    Gateway,
}

impl Surface {
    fn of(path: &str) -> Surface {
        if path.starts_with("/api/v1/web/") {
            Surface::Web
        } else if path.starts_with("/api/v1") {
            Surface::Api
        } else if path.starts_with("/api/") {
            Surface::Gateway
        } else {
            Surface::Web
        }
    }
}

/// Writes the reply to `request` or an error envelope with the common headers. The one place
/// errors become HTTP responses.
fn respond(
    result: Result<Reply, ApiError>,
    request: &rest::Request,
    surface: Surface,
) -> Response<Answer> {
    let tid = &request.tid;
    let reply = result.unwrap_or_else(|e| Reply::error(e, tid));
    let reply =
        budgeted(reply, &BUFFERED, request.payer()).unwrap_or_else(|e| Reply::error(e, tid));
    let mut resp = Response::new(Answer {
        bytes: reply.body,
        _held: reply.held,
    });
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
    if reply.status == StatusCode::UNAUTHORIZED && surface != Surface::Gateway {
        h.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"OpenWhisk secure realm\""),
        );
    }
    if surface == Surface::Api {
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;

    /// A budget of `kib` for one test.
    fn budget(kib: usize) -> &'static Buffers {
        Box::leak(Box::new(Buffers::new(kib)))
    }

    /// A request to `path`, as the listener builds it.
    fn request_to(path: &str) -> rest::Request {
        let headers = hyper::HeaderMap::new();
        rest::Request::new(Method::GET, path, headers, Bytes::new(), "tid".into())
    }

    #[tokio::test]
    async fn bodies_held_at_once_stay_within_the_budget() {
        // 16 KiB: room for one 3 KiB body per tenant (a quarter each), and no more.
        let small = budget(16);
        let body = || Full::new(Bytes::from(vec![b'x'; 3 * 1024]));
        let first = receive(body(), small, Payer::caller("a"), MAX_ENTITY_BYTES)
            .await
            .ok()
            .unwrap();
        assert_eq!(first.bytes.len(), 3 * 1024);
        assert_eq!(small.available(), 13);
        let refused = receive(body(), small, Payer::caller("a"), MAX_ENTITY_BYTES)
            .await
            .err()
            .unwrap();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.message, crate::messages::BODIES_BUSY);
        let other = receive(body(), small, Payer::caller("b"), MAX_ENTITY_BYTES)
            .await
            .ok()
            .unwrap();
        assert_eq!(small.available(), 10, "another tenant's body is received");
        // Given back when the first is dropped (its request answered).
        drop((first, other));
        assert_eq!(small.available(), 16);
        assert!(
            receive(body(), small, Payer::caller("a"), MAX_ENTITY_BYTES)
                .await
                .is_ok()
        );
        assert_eq!(small.available(), 16);
        let spent = small.take(Payer::default(), 14).unwrap();
        let refused = receive(body(), small, Payer::caller("c"), MAX_ENTITY_BYTES)
            .await
            .err()
            .unwrap();
        assert_eq!(
            refused.message,
            crate::messages::BODIES_BUSY,
            "the whole budget binds"
        );
        drop(spent);
    }

    #[tokio::test]
    async fn a_body_past_its_routes_bound_is_refused_before_it_is_held() {
        let small = budget(16);
        let body = Full::new(Bytes::from(vec![b'x'; 3 * 1024]));
        let refused = receive(body, small, Payer::caller("a"), 1024)
            .await
            .err()
            .unwrap();
        assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            refused.message,
            "Request larger than allowed: 3072 > 1024 bytes."
        );
        assert_eq!(small.available(), 16, "nothing was held");
    }

    #[tokio::test]
    async fn a_large_reply_holds_its_share_until_it_is_sent() {
        let replies = budget(16);
        let reply = || Reply::json(StatusCode::OK, &serde_json::json!([1]));
        let mut first = reply();
        first.held = Some(hold(replies, Payer::caller("a"), 3 * 1024).unwrap());
        let refused = hold(replies, Payer::caller("a"), 3 * 1024).err().unwrap();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.message, crate::messages::REPLIES_BUSY);
        // Answered, the reply's body keeps the share until it has been read out and dropped.
        let response = respond(Ok(first), &request_to("/"), Surface::Api);
        assert_eq!(replies.available(), 13);
        let sent = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(sent, "[1]");
        assert_eq!(replies.available(), 16);
        assert!(hold(replies, Payer::caller("a"), 3 * 1024).is_ok());
    }

    #[test]
    fn requests_without_credentials_are_paid_by_the_anonymous_quarter_alone() {
        let web = request_to("/api/v1/web/owner/default/a.json");
        let payer = web.payer();
        assert_eq!((payer.tenant, payer.anonymous), (None, true));
    }

    /// 12 MiB, in KiB: a quarter is room for one 2 MiB reply per tenant, not two.
    const LARGE: usize = 12 * 1024;

    #[tokio::test]
    async fn a_large_reply_is_budgeted_and_handed_over_in_pieces() {
        let reply = || {
            Reply::new(
                StatusCode::OK,
                Bytes::from(vec![b'x'; 2 << 20]),
                "text/plain",
            )
        };
        let large = budget(LARGE);
        let first = budgeted(reply(), large, Payer::caller("a")).unwrap();
        assert_eq!(large.available(), LARGE - 2048);
        let refused = budgeted(reply(), large, Payer::caller("a")).err().unwrap();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.message, crate::messages::REPLIES_BUSY);
        let small = Reply::json(StatusCode::OK, &serde_json::json!([1]));
        assert!(
            budgeted(small, large, Payer::caller("a"))
                .unwrap()
                .held
                .is_none()
        );

        let mut body = respond(Ok(first), &request_to("/"), Surface::Api).into_body();
        let mut pieces = 0;
        while let Some(frame) = body.frame().await {
            assert_eq!(frame.unwrap().into_data().unwrap().len(), REPLY_PIECE);
            pieces += 1;
            // Until hyper drops the body, the reply is counted.
            assert_eq!(large.available(), LARGE - 2048);
        }
        assert_eq!(pieces, (2 << 20) / REPLY_PIECE);
        drop(body);
        assert_eq!(large.available(), LARGE);
    }

    #[test]
    fn a_port_already_served_is_refused() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let addr = first[0].local_addr().unwrap();
        assert_eq!(first[1].local_addr().unwrap(), addr);
        let second = bind(addr, 2).unwrap_err();
        assert_eq!(second.kind(), std::io::ErrorKind::AddrInUse);
        drop(first);
        assert_eq!(bind(addr, 1).unwrap()[0].local_addr().unwrap(), addr);
    }
}

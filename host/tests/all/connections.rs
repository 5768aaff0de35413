//! Connection handling of the real binary: clients that stall (half headers, half bodies,
//! idle keep-alive) are closed by the `[http]` timeouts, a malformed chunked body is a 400,
//! and beyond `max_connections` new clients wait instead of being dropped. Every wait below
//! is an upper bound for something that must happen, never a margin that must hold.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;

use crate::support::{GUEST_AUTH, Shoal, request};

/// Short timeouts, and room for two connections only.
const TIGHT: &str = "[http]\nheader_read_timeout_secs = 1\nbody_read_timeout_secs = 1\nidle_timeout_secs = 1\nmax_connections = 2\n";
/// Far longer than any timeout above: how long a test waits for the server to act.
const PATIENCE: Duration = Duration::from_secs(60);

/// The `Authorization` header value of Basic credentials `uuid:key`.
fn basic(auth: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(auth)
    )
}

fn connect(shoal: &Shoal) -> TcpStream {
    let stream = TcpStream::connect(&shoal.addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// Reads until the server closes the connection; returns what it sent.
fn until_closed(mut stream: TcpStream) -> String {
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => String::from_utf8_lossy(&out).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            String::from_utf8_lossy(&out).into_owned()
        }
        Err(e) => panic!("the server kept the connection open ({e})"),
    }
}

#[test]
fn stalled_clients_are_closed_and_new_ones_wait_for_room() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(dir.path(), TIGHT);
    // Both connection slots taken: one by half a request line, one by half a body.
    let mut half_header = connect(&shoal);
    half_header
        .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let mut half_body = connect(&shoal);
    let head = format!(
        "PUT /api/v1/namespaces/_/actions/x HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Length: 100\r\n\r\n{{\"exec\"",
        basic(GUEST_AUTH)
    );
    half_body.write_all(head.as_bytes()).unwrap();
    // A third client is answered once a slot frees up: the stalled ones are closed.
    let pong = request(&shoal.addr, "GET", "/ping", None, None);
    assert_eq!(pong.status, 200);
    let _ = until_closed(half_header);
    let answer = until_closed(half_body);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("The request body was not received in time."),
        "{answer}"
    );
    // A kept-alive connection with nothing more to ask is closed once idle.
    let mut idle = connect(&shoal);
    idle.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = until_closed(idle);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    shoal.stop();
}

#[test]
fn a_request_without_valid_credentials_is_refused_before_its_body_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(dir.path(), TIGHT);
    // Announced bodies of 48 MiB that never come: the answers must not wait for them (the
    // body timeout would make them 408s), and nothing of them is buffered.
    for authorization in ["", "Authorization: Basic bm90OnZhbGlk\r\n"] {
        let mut stream = connect(&shoal);
        let head = format!(
            "POST /api/v1/namespaces/_/actions/x HTTP/1.1\r\nHost: x\r\n{authorization}Expect: 100-continue\r\nContent-Length: 50331648\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let answer = until_closed(stream);
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(!answer.contains("100 Continue"), "{answer}");
    }
    shoal.stop();
}

#[test]
fn a_web_body_past_the_payload_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve_with(dir.path(), TIGHT);
    // Anyone may call a web action, of any namespace name: a body announced past the
    // invoke payload limit is a 413 at once, not held until the body timeout.
    for path in [
        "/api/v1/web/nosuch/default/x.json",
        "/api/v1/web/guest/default/x.json",
    ] {
        let mut stream = connect(&shoal);
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40000000\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&[b' '; 1024]).unwrap();
        let answer = until_closed(stream);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(
            answer.contains("Request larger than allowed: 40000000 > 1048576 bytes."),
            "{answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "the client is told not to reuse the connection: {answer}"
        );
    }
    shoal.stop();
}

#[test]
fn a_malformed_chunked_body_is_a_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let mut stream = connect(&shoal);
    let request = format!(
        "PUT /api/v1/namespaces/_/actions/x HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n",
        basic(GUEST_AUTH)
    );
    stream.write_all(request.as_bytes()).unwrap();
    let answer = until_closed(stream);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer.contains("The request content was malformed"),
        "{answer}"
    );
    shoal.stop();
}

/// HEAD on a route that serves GET answers as GET does, without the body (spec §1: every
/// `/api/v1` answer lists HEAD among the allowed methods).
#[test]
fn head_answers_as_get_without_a_body() {
    let dir = tempfile::tempdir().unwrap();
    let shoal = Shoal::serve(dir.path());
    let basic = base64::engine::general_purpose::STANDARD.encode(GUEST_AUTH);
    for path in ["/api/v1", "/api/v1/namespaces/_/actions", "/ping"] {
        let get = request(&shoal.addr, "GET", path, Some(GUEST_AUTH), None);
        let mut stream = TcpStream::connect(&shoal.addr).unwrap();
        let head = format!(
            "HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Basic {basic}\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut raw = String::new();
        stream.read_to_string(&mut raw).unwrap();
        let (headers, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(headers.starts_with("HTTP/1.1 200 "), "{path}: {headers}");
        assert_eq!(body, "", "{path}");
        let length = format!("content-length: {}", get.body.len());
        assert!(headers.lines().any(|l| l == length), "{path}: {headers}");
    }
}

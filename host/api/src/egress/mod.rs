//! The host's egress: every outbound request of every action (`fetch`, Node's `http`
//! client, the `openwhisk` client) goes through [`HostEgress`]. Requests to shoal's own API
//! host are answered in-process by the same code as the listener (same authentication,
//! throttles and namespace rules, no socket); others go over plain HTTP/1.1 to an address the
//! egress policy allows, re-checked on every redirect. Each request runs on the host's
//! runtime and ends at the calling activation's deadline; `in_flight` caps how many run at
//! once per namespace and in all (`[egress] max_in_flight_per_namespace`, `max_in_flight`).

mod in_flight;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use shoal_router::{BoxFuture, Egress, OutboundRequest, OutboundResponse};
use tokio::runtime::Handle;
use tokio_rustls::TlsConnector;

use crate::app::App;
use crate::controller::new_transaction_id;
use crate::server;
use crate::settings::EgressConfig;

use self::in_flight::InFlight;

/// Most bytes of one response body an action may receive.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;
/// Most redirects followed for one request (as browsers and Node's fetch).
const MAX_REDIRECTS: usize = 20;

/// Gives `app`'s actions outbound network through a [`HostEgress`], its requests running on
/// `runtime` (the I/O runtime). Until called, actions' requests fail with a network error;
/// later calls change nothing. Fails with why when `[egress]` names an unreadable CA file.
pub fn open(app: &Arc<App>, runtime: Handle) -> Result<(), String> {
    let host = HostEgress::new(
        Arc::downgrade(app),
        &app.api_host,
        &app.settings.egress,
        runtime,
    )?;
    let _ = app.egress.set(Arc::new(host));
    Ok(())
}

/// Sends actions' outbound requests; see the module docs.
pub struct HostEgress {
    app: Weak<App>,
    /// `scheme://authority` of the API host, lower-cased, default port made explicit.
    api_origin: Option<String>,
    allow_hosts: Vec<String>,
    tls: TlsConnector,
    runtime: Handle,
    in_flight: Arc<InFlight>,
}

impl HostEgress {
    /// An egress for `app`, whose actions see `api_host` as `__OW_API_HOST`; requests run on
    /// `runtime`. Fails when a configured CA file cannot be read.
    pub fn new(
        app: Weak<App>,
        api_host: &str,
        policy: &EgressConfig,
        runtime: Handle,
    ) -> Result<Self, String> {
        Ok(HostEgress {
            app,
            api_origin: api_host.parse::<Uri>().ok().and_then(|u| origin(&u)),
            allow_hosts: policy
                .allow_hosts
                .iter()
                .map(|h| h.trim().trim_matches(['[', ']']).to_ascii_lowercase())
                .collect(),
            tls: tls_connector(&policy.ca_files)?,
            runtime,
            in_flight: InFlight::new(policy.max_in_flight_per_namespace, policy.max_in_flight),
        })
    }
}

impl Egress for HostEgress {
    fn send(&self, request: OutboundRequest) -> BoxFuture<Result<OutboundResponse, String>> {
        let ticket = match self.in_flight.enter(&request.tenant) {
            Ok(ticket) => ticket,
            Err(why) => return Box::pin(std::future::ready(Err(why))),
        };
        let job = Job {
            app: self.app.clone(),
            api_origin: self.api_origin.clone(),
            allow_hosts: self.allow_hosts.clone(),
            tls: self.tls.clone(),
        };
        let deadline = request.deadline;
        let running = self.runtime.spawn(async move {
            let _ticket = ticket;
            tokio::time::timeout_at(deadline.into(), job.fetch(request))
                .await
                .unwrap_or_else(|_| {
                    Err("the request did not finish within the action's time limit".into())
                })
        });
        Box::pin(async move {
            running
                .await
                .unwrap_or_else(|e| Err(format!("the request failed: {e}")))
        })
    }
}

/// One request on its way: what it needs from the egress.
struct Job {
    app: Weak<App>,
    api_origin: Option<String>,
    allow_hosts: Vec<String>,
    tls: TlsConnector,
}

impl Job {
    async fn fetch(&self, mut request: OutboundRequest) -> Result<OutboundResponse, String> {
        let mut redirected = false;
        for _ in 0..=MAX_REDIRECTS {
            let uri: Uri = request
                .url
                .parse()
                .map_err(|_| format!("Invalid URL: {}", request.url))?;
            let response = if origin(&uri).is_some() && origin(&uri) == self.api_origin {
                self.in_process(&uri, &request).await?
            } else {
                self.over_network(&uri, &request).await?
            };
            let location = response
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.clone());
            match location {
                Some(location)
                    if request.follow_redirects
                        && matches!(response.status, 301 | 302 | 303 | 307 | 308) =>
                {
                    let next = resolve(&uri, &location)?;
                    // Credentials go only to the origin they were meant for (as fetch does).
                    let next_origin = next.parse::<Uri>().ok().and_then(|u| origin(&u));
                    if next_origin != origin(&uri) {
                        request.headers.retain(|(name, _)| {
                            !["authorization", "cookie", "proxy-authorization"]
                                .iter()
                                .any(|h| name.eq_ignore_ascii_case(h))
                        });
                    }
                    request.url = next;
                    if response.status == 303
                        || (matches!(response.status, 301 | 302) && request.method == "POST")
                    {
                        request.method = "GET".into();
                        request.body.clear();
                    }
                    redirected = true;
                }
                _ => {
                    return Ok(OutboundResponse {
                        url: request.url,
                        redirected,
                        ..response
                    });
                }
            }
        }
        Err("redirect count exceeded".into())
    }

    /// Shoal's own API, answered by the listener's code without a socket.
    async fn in_process(
        &self,
        uri: &Uri,
        request: &OutboundRequest,
    ) -> Result<OutboundResponse, String> {
        let app = self
            .app
            .upgrade()
            .ok_or_else(|| "shoal is shutting down".to_string())?;
        let method = Method::from_bytes(request.method.as_bytes())
            .map_err(|_| format!("invalid method {}", request.method))?;
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let response = server::answer(
            &app,
            method,
            path,
            header_map(&request.headers)?,
            Bytes::from(request.body.clone()),
            new_transaction_id(),
        )
        .await;
        collect(response, request.max_body_bytes).await
    }

    /// Any other host, over HTTP/1.1 (over TLS for `https`), to an address the policy
    /// allows.
    async fn over_network(
        &self,
        uri: &Uri,
        request: &OutboundRequest,
    ) -> Result<OutboundResponse, String> {
        let (tls, default_port) = match uri.scheme_str() {
            Some("http") => (false, 80),
            Some("https") => (true, 443),
            _ => return Err(format!("unsupported URL scheme in {}", request.url)),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("Invalid URL: {}", request.url))?;
        let bare = host.trim_matches(['[', ']']).to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(default_port);
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((bare.as_str(), port))
            .await
            .map_err(|e| format!("getaddrinfo ENOTFOUND {bare}: {e}"))?
            .collect();
        let allowed = self.allow_hosts.contains(&bare);
        let addr = addrs
            .iter()
            .copied()
            .find(|a| allowed || public(a.ip()))
            .ok_or_else(|| format!("connect EACCES {bare}: the egress policy does not let actions reach this address (see [egress] allow_hosts)"))?;
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect ECONNREFUSED {addr}: {e}"))?;
        let mut outgoing = Request::builder()
            .method(request.method.as_str())
            .uri(uri.path_and_query().map_or("/", |p| p.as_str()))
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| format!("invalid request: {e}"))?;
        *outgoing.headers_mut() = header_map(&request.headers)?;
        if let (Some(authority), false) = (uri.authority(), outgoing.headers().contains_key(HOST)) {
            let value = HeaderValue::from_str(authority.as_str()).map_err(|e| e.to_string())?;
            outgoing.headers_mut().insert(HOST, value);
        }
        if tls {
            let name = ServerName::try_from(bare.clone())
                .map_err(|_| format!("invalid TLS server name {bare}"))?;
            let stream = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| format!("the TLS handshake with {bare} failed: {e}"))?;
            exchange(TokioIo::new(stream), outgoing, addr, request.max_body_bytes).await
        } else {
            exchange(TokioIo::new(stream), outgoing, addr, request.max_body_bytes).await
        }
    }
}

/// One HTTP/1.1 request and its response over an established connection.
async fn exchange<S>(
    io: S,
    request: Request<Full<Bytes>>,
    addr: SocketAddr,
    max_body_bytes: usize,
) -> Result<OutboundResponse, String>
where
    S: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("the connection to {addr} failed: {e}"))?;
    tokio::spawn(connection);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("the request to {addr} failed: {e}"))?;
    collect(response, max_body_bytes).await
}

/// A TLS client trusting Mozilla's roots and the CAs in `ca_files`, speaking HTTP/1.1.
fn tls_connector(ca_files: &[std::path::PathBuf]) -> Result<TlsConnector, String> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for file in ca_files {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("[egress] ca_files: cannot read {}: {e}", file.display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("[egress] ca_files: {}: {e}", file.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("[egress] ca_files: {}: {e}", file.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// documentation, multicast or unspecified).
fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let c = v4.octets()[2];
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (18..20).contains(&b))
                || (a == 192 && b == 0 && c == 0))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public(IpAddr::V4(v4)),
            None => {
                let [first, second, ..] = v6.segments();
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || (first & 0xffc0) == 0xfec0
                    || first == 0x2002
                    || (first == 0x64 && second == 0xff9b)
                    || v6.segments()[..6] == [0; 6])
            }
        },
    }
}

/// `scheme://host:port`, lower-cased, with the scheme's default port made explicit.
fn origin(uri: &Uri) -> Option<String> {
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let port = uri.port_u16().or(match scheme.as_str() {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(format!(
        "{scheme}://{}:{port}",
        uri.host()?.to_ascii_lowercase()
    ))
}

/// A redirect's `Location` resolved against the URL that answered it.
fn resolve(base: &Uri, location: &str) -> Result<String, String> {
    let scheme_end = location.find(':').filter(|&at| {
        at > 0
            && location[..at]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if scheme_end.is_some() && !location.starts_with('/') {
        return Ok(location.to_string());
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map_or("", |a| a.as_str());
    if let Some(rest) = location.strip_prefix("//") {
        return Ok(format!("{scheme}://{rest}"));
    }
    if location.starts_with('/') {
        return Ok(format!("{scheme}://{authority}{location}"));
    }
    let dir = base.path().rsplit_once('/').map_or("", |(d, _)| d);
    Ok(format!("{scheme}://{authority}{dir}/{location}"))
}

fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let value =
            HeaderValue::from_str(value).map_err(|_| format!("invalid value for header {name}"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// The response with its body, which may hold at most `max_body_bytes` (and never more
/// than [`MAX_RESPONSE_BYTES`]).
async fn collect<B>(
    response: hyper::Response<B>,
    max_body_bytes: usize,
) -> Result<OutboundResponse, String>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, max_body_bytes.min(MAX_RESPONSE_BYTES))
        .collect()
        .await
        .map_err(|e| format!("reading the response failed: {e}"))?
        .to_bytes();
    Ok(OutboundResponse {
        status: parts.status.as_u16(),
        status_text: parts
            .status
            .canonical_reason()
            .unwrap_or_default()
            .to_string(),
        url: String::new(),
        redirected: false,
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_reachable_by_default() {
        for denied in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!public(denied.parse().unwrap()), "{denied}");
        }
        for allowed in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(public(allowed.parse().unwrap()), "{allowed}");
        }
    }

    #[test]
    fn origins_and_redirects() {
        let u = |s: &str| s.parse::<Uri>().unwrap();
        assert_eq!(
            origin(&u("http://LocalHost/x")),
            Some("http://localhost:80".into())
        );
        assert_eq!(
            origin(&u("https://a.b:8443")),
            Some("https://a.b:8443".into())
        );
        let base = u("http://h:1/a/b?q");
        assert_eq!(resolve(&base, "/c").unwrap(), "http://h:1/c");
        assert_eq!(resolve(&base, "c").unwrap(), "http://h:1/a/c");
        assert_eq!(resolve(&base, "https://x/y").unwrap(), "https://x/y");
        assert_eq!(
            resolve(&base, "c?next=http://x").unwrap(),
            "http://h:1/a/c?next=http://x"
        );
    }
}

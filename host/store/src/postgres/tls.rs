//! TLS to PostgreSQL. `sslmode=require` in the store URL turns it on, verified by rustls (the
//! server's certificate chain and host name) against Mozilla's roots plus the CAs in
//! `sslrootcert=FILE` (PEM), which shoal reads from the URL and removes before tokio-postgres
//! parses the rest. Any other `sslmode` (or none) connects in plaintext, as before TLS was
//! supported: `prefer` never turns into a failed certificate check.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::{Config, Socket};

/// Where and how to connect: the parsed URL and its TLS set-up. Cloned for each connection
/// owner (the pool, the listener, the activation writer).
#[derive(Clone)]
pub(super) struct Target {
    /// The URL without `sslrootcert`, with `sslmode` disabled unless it was `require`.
    pub(super) config: Config,
    /// What wraps a connection in TLS when `config` asks for it.
    pub(super) tls: Tls,
}

impl Target {
    /// Reads a `postgres://` URL; `Err` says why it cannot be used.
    pub(super) fn parse(url: &str) -> Result<Target, String> {
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let mut ca_files = Vec::new();
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("sslrootcert", file)) => ca_files.push(percent_decoded(file)?),
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        let mut config: Config = url.parse().map_err(|e| format!("{e}"))?;
        let tls = if config.get_ssl_mode() == SslMode::Require {
            Tls(Some(Arc::new(client_config(&ca_files)?)))
        } else {
            config.ssl_mode(SslMode::Disable);
            Tls(None)
        };
        Ok(Target { config, tls })
    }
}

/// A URL query value with its `%XX` escapes decoded (a path with spaces or `&`).
fn percent_decoded(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("sslrootcert: a bad %-escape in {value:?}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("sslrootcert: {value:?} is not UTF-8"))
}

/// rustls with Mozilla's roots and the CAs in `ca_files`.
fn client_config(ca_files: &[String]) -> Result<rustls::ClientConfig, String> {
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for file in ca_files {
        let certs = CertificateDer::pem_file_iter(file)
            .map_err(|e| format!("sslrootcert: cannot read {file}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("sslrootcert: {file}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("sslrootcert: {file}: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The TLS set-up of a [`Target`]: `None` when it connects in plaintext (tokio-postgres then
/// never asks for a TLS session).
#[derive(Clone)]
pub(super) struct Tls(Option<Arc<rustls::ClientConfig>>);

impl MakeTlsConnect<Socket> for Tls {
    type Stream = Stream;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, io::Error> {
        let server = ServerName::try_from(domain.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{domain}: {e}")))?;
        Ok(Connect {
            config: self.0.clone(),
            server,
        })
    }
}

/// One TLS handshake with `server`.
pub(super) struct Connect {
    config: Option<Arc<rustls::ClientConfig>>,
    server: ServerName<'static>,
}

impl TlsConnect<Socket> for Connect {
    type Stream = Stream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream>> + Send>>;

    fn connect(self, socket: Socket) -> Self::Future {
        Box::pin(async move {
            let config = self.config.ok_or_else(|| {
                io::Error::other("the server asked for TLS, which this URL does not turn on")
            })?;
            let connector = tokio_rustls::TlsConnector::from(config);
            connector.connect(self.server, socket).await.map(Stream)
        })
    }
}

/// A TLS session to PostgreSQL.
pub(super) struct Stream(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for Stream {
    /// No channel binding: SCRAM authentication works without it (`channel_binding=prefer`).
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_and_only_require_turns_tls_on() {
        let plain = Target::parse("postgres://u@h:5/db?sslmode=prefer").unwrap();
        assert_eq!(plain.config.get_ssl_mode(), SslMode::Disable);
        assert!(plain.tls.0.is_none());
        let tls = Target::parse("postgres://u@h:5/db?sslmode=require").unwrap();
        assert_eq!(tls.config.get_ssl_mode(), SslMode::Require);
        assert!(tls.tls.0.is_some());
        let missing = Target::parse("postgres://u@h/db?sslmode=require&sslrootcert=/no/such.pem");
        assert!(missing.err().unwrap().contains("/no/such.pem"));
        let unknown = Target::parse("postgres://u@h/db?nonsense=1");
        assert!(unknown.is_err());
        assert_eq!(percent_decoded("/a%20b/c%26d.pem").unwrap(), "/a b/c&d.pem");
        assert!(percent_decoded("/a%2").is_err());
    }
}

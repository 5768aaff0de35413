//! The native primitives under the Node layer's `crypto`, `zlib` and `url` modules: hashes,
//! HMACs, random bytes, deflate/gzip, and the WHATWG URL parser and setters (the `url`
//! crate). Engines expose each as a host function taking and returning byte slices or
//! strings, so both engines share one behaviour.

use std::io::Read;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Digest;

/// The digest of `data` under `alg` (md5, sha1, sha224, sha256, sha384, sha512; any case).
pub fn digest(alg: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    Ok(match alg.to_ascii_lowercase().as_str() {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha224" => sha2::Sha224::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha384" => sha2::Sha384::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        _ => return Err(format!("Digest method not supported: {alg}")),
    })
}

/// HMAC of `data` with `key` under `alg` (the algorithms of [`digest`]).
pub fn hmac(alg: &str, key: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    fn mac<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
            .unwrap_or_else(|_| <M as hmac::digest::KeyInit>::new(&Default::default()));
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
    Ok(match alg.to_ascii_lowercase().as_str() {
        "md5" => mac::<Hmac<md5::Md5>>(key, data),
        "sha1" => mac::<Hmac<sha1::Sha1>>(key, data),
        "sha224" => mac::<Hmac<sha2::Sha224>>(key, data),
        "sha256" => mac::<Hmac<sha2::Sha256>>(key, data),
        "sha384" => mac::<Hmac<sha2::Sha384>>(key, data),
        "sha512" => mac::<Hmac<sha2::Sha512>>(key, data),
        _ => return Err(format!("Invalid digest: {alg}")),
    })
}

/// Fills `buf` with cryptographically secure random bytes.
pub fn random_fill(buf: &mut [u8]) {
    rand::rng().fill_bytes(buf);
}

/// Compresses (`op` = "compress") or decompresses ("decompress") `data` in `format` "gzip",
/// "deflate" (zlib) or "raw". Decompressed output is cut off at `limit` bytes with an error,
/// so a small bomb cannot grow the host past the action's memory limit.
pub fn zlib(op: &str, format: &str, data: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    use flate2::Compression;
    use flate2::read::{
        DeflateDecoder, DeflateEncoder, GzDecoder, GzEncoder, ZlibDecoder, ZlibEncoder,
    };
    let level = Compression::default();
    let reader: Box<dyn Read + '_> = match (op, format) {
        ("compress", "gzip") => Box::new(GzEncoder::new(data, level)),
        ("compress", "deflate") => Box::new(ZlibEncoder::new(data, level)),
        ("compress", "raw") => Box::new(DeflateEncoder::new(data, level)),
        ("decompress", "gzip") => Box::new(GzDecoder::new(data)),
        ("decompress", "deflate") => Box::new(ZlibDecoder::new(data)),
        ("decompress", "raw") => Box::new(DeflateDecoder::new(data)),
        _ => return Err(format!("unknown zlib operation {op} {format}")),
    };
    let mut out = Vec::new();
    reader
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                "incorrect header check".to_string()
            }
            _ => e.to_string(),
        })?;
    if out.len() > limit {
        return Err(format!(
            "Cannot create a Buffer larger than the action's memory limit ({limit} bytes)"
        ));
    }
    Ok(out)
}

/// How many parts [`url()`] returns: `href`, `origin`, `protocol`, `username`, `password`,
/// `host`, `hostname`, `port`, `pathname`, `search`, `hash`, in that order.
pub const URL_PARTS: usize = 11;

/// The URL Standard's parse of `input` (against `base` when given), then, when `set` names a
/// part and its new value, that part's setter as the URL API runs it (a value the setter
/// refuses leaves the URL as it was, except for `href`, which fails). Returns the
/// [`URL_PARTS`] parts, or `None` when `input` or `base` does not parse. One parse (two with
/// a base) and eleven small strings.
pub fn url(input: &str, base: Option<&str>, set: Option<(&str, &str)>) -> Option<Vec<String>> {
    use url::{Url, quirks};
    let mut u = match base {
        Some(base) => Url::options()
            .base_url(Some(&Url::parse(base).ok()?))
            .parse(input),
        None => Url::parse(input),
    }
    .ok()?;
    if let Some((part, value)) = set {
        // A setter that refuses its value leaves the URL as it was, as the URL API does.
        match part {
            "href" => {
                return quirks::set_href(&mut u, value)
                    .ok()
                    .and_then(|()| url_parts(&u));
            }
            "protocol" => drop(quirks::set_protocol(&mut u, value)),
            "username" => drop(quirks::set_username(&mut u, value)),
            "password" => drop(quirks::set_password(&mut u, value)),
            "host" => drop(quirks::set_host(&mut u, value)),
            "hostname" => drop(quirks::set_hostname(&mut u, value)),
            "port" => drop(quirks::set_port(&mut u, value)),
            "pathname" => quirks::set_pathname(&mut u, value),
            "search" => quirks::set_search(&mut u, value),
            "hash" => quirks::set_hash(&mut u, value),
            _ => return None,
        }
    }
    url_parts(&u)
}

fn url_parts(u: &url::Url) -> Option<Vec<String>> {
    use url::quirks;
    Some(vec![
        quirks::href(u).to_string(),
        quirks::origin(u),
        quirks::protocol(u).to_string(),
        quirks::username(u).to_string(),
        quirks::password(u).to_string(),
        quirks::host(u).to_string(),
        quirks::hostname(u).to_string(),
        quirks::port(u).to_string(),
        quirks::pathname(u).to_string(),
        quirks::search(u).to_string(),
        quirks::hash(u).to_string(),
    ])
}

/// Node's `url.domainToASCII` (`unicode == false`) or `url.domainToUnicode`: UTS #46 processing
/// of a domain name; `""` when it is invalid.
pub fn domain(name: &str, unicode: bool) -> String {
    if unicode {
        url::quirks::domain_to_unicode(name)
    } else {
        url::quirks::domain_to_ascii(name)
    }
}

/// UTF-8 decoding as the Encoding Standard's decoder: each maximal invalid subpart becomes
/// U+FFFD, or, with `fatal`, the decode fails (`None`). One pass and one string.
pub fn utf8_decode(bytes: &[u8], fatal: bool) -> Option<String> {
    if fatal {
        std::str::from_utf8(bytes).ok().map(str::to_string)
    } else {
        Some(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Base64 of `bytes`; with `url`, base64url without padding (Node's `base64url`).
pub fn base64(bytes: &[u8], url: bool) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    if url {
        URL_SAFE_NO_PAD.encode(bytes)
    } else {
        STANDARD.encode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn digests_and_hmacs_match_known_vectors() {
        assert_eq!(
            hex(&digest("md5", b"abc").unwrap()),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hex(&digest("SHA1", b"abc").unwrap()),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&hmac(
                "sha256",
                b"key",
                b"The quick brown fox jumps over the lazy dog"
            )
            .unwrap()),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert!(digest("whirlpool", b"").is_err());
    }

    #[test]
    fn zlib_round_trips_and_refuses_bombs_and_garbage() {
        let data = vec![b'a'; 100_000];
        for format in ["gzip", "deflate", "raw"] {
            let packed = zlib("compress", format, &data, usize::MAX).unwrap();
            assert!(packed.len() < 1_000);
            assert_eq!(zlib("decompress", format, &packed, 200_000).unwrap(), data);
            assert!(zlib("decompress", format, &packed, 1_000).is_err());
        }
        assert!(zlib("decompress", "gzip", b"not gzip at all", 1_000).is_err());
    }

    #[test]
    fn random_bytes_differ() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        random_fill(&mut a);
        random_fill(&mut b);
        assert_ne!(a, b);
    }

    #[test]
    fn urls_parse_and_set_as_the_url_standard_says() {
        let parts = url("../b?q=1#h", Some("HTTP://Ex.com:80/a/c"), None).unwrap();
        assert_eq!(parts.len(), URL_PARTS);
        assert_eq!(parts[0], "http://ex.com/b?q=1#h");
        assert_eq!(parts[1], "http://ex.com");
        assert_eq!(parts[7], "", "the default port is dropped");
        assert!(url("no scheme", None, None).is_none());
        assert!(url("x", Some("not a base"), None).is_none());
        let set = url("https://a.com/p", None, Some(("port", "8443"))).unwrap();
        assert_eq!(set[0], "https://a.com:8443/p");
        let refused = url("https://a.com/p", None, Some(("port", "99999"))).unwrap();
        assert_eq!(
            refused[0], "https://a.com/p",
            "a refused value changes nothing"
        );
        assert!(url("https://a.com/", None, Some(("href", "nope"))).is_none());
        assert!(url("https://a.com/", None, Some(("bogus", "x"))).is_none());
        assert_eq!(domain("Bücher.example", false), "xn--bcher-kva.example");
        assert_eq!(domain("xn--bcher-kva.example", true), "bücher.example");
    }

    #[test]
    fn utf8_and_base64_match_the_standards() {
        // A truncated 3-byte sequence is one U+FFFD; a bad lead byte another.
        let bytes = [b'a', 0xe2, 0x82, b'b', 0xff, 0xf0, 0x9f, 0x98, 0x80];
        assert_eq!(
            utf8_decode(&bytes, false).unwrap(),
            "a\u{fffd}b\u{fffd}\u{1f600}"
        );
        assert_eq!(utf8_decode(&bytes, true), None);
        assert_eq!(utf8_decode("héllo".as_bytes(), true).unwrap(), "héllo");
        assert_eq!(base64(b"hi?>", false), "aGk/Pg==");
        assert_eq!(base64(b"hi?>", true), "aGk_Pg");
    }
}

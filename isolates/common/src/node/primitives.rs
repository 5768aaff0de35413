//! The native primitives under the Node layer's `crypto` and `zlib` modules: hashes, HMACs,
//! random bytes and deflate/gzip. Engines expose each as a host function; every input and
//! output is a byte slice, so both engines share one behaviour.

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
}

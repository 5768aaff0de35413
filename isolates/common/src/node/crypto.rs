//! The native half of the Node layer's key objects, signatures, ciphers and key derivation:
//! `crypto.createPrivateKey`/`createPublicKey`, `createSign`/`createVerify`, `sign`/`verify`,
//! `createCipheriv`/`createDecipheriv`, `pbkdf2`, `hkdf` and `scrypt`. Key formats are read
//! with RustCrypto's `pkcs1`/`pkcs8`/`sec1`; signatures, AES-GCM, PBKDF2 and HKDF are
//! `ring`'s (constant-time); AES-CBC and AES-CTR are RustCrypto's `aes`, scrypt its `scrypt`. Keys cross to JS as DER — PKCS #8 for private
//! keys, SPKI for public ones — so a JS key object holds plain bytes and each signature
//! re-reads its key (microseconds for EC, tens of them for RSA).

use base64::Engine as _;
use cbc::cipher::block_padding::{NoPadding, Pkcs7};
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, StreamCipher};
use pkcs8::der::asn1::{AnyRef, BitStringRef, ObjectIdentifier, OctetStringRef};
use pkcs8::der::{Decode, Encode};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair};
use serde_json::{Value, json};

const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// The named curves, by OID and by OpenSSL's name (what Node reports as `namedCurve`).
const CURVES: &[(ObjectIdentifier, &str)] = &[
    (
        ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7"),
        "prime256v1",
    ),
    (ObjectIdentifier::new_unwrap("1.3.132.0.34"), "secp384r1"),
    (ObjectIdentifier::new_unwrap("1.3.132.0.35"), "secp521r1"),
];

/// Most PBKDF2 work one call may ask for, in nanoseconds of one core as measured on a
/// 2-core x86-64 VM (release build: an HMAC round costs ~190 ns with SHA-256, ~415 ns with
/// SHA-1, ~545 ns with SHA-384/512): half a second, so a native call cannot run far past an
/// action's deadline (and the worker pool hands other work to another thread meanwhile).
/// That is 2.6 million SHA-256 iterations per 32-byte block.
pub const MAX_PBKDF2_NANOS: u64 = 500_000_000;
/// Most bytes one PBKDF2 call derives (far more than any key needs).
pub const MAX_PBKDF2_BYTES: usize = 1 << 20;

/// Most memory one scrypt call may use (`128 × r × (N + p)` bytes): Node's default `maxmem`,
/// 32 MiB.
/// It lies outside the isolate's heap limit, so a larger `maxmem` is not honoured.
pub const MAX_SCRYPT_MEMORY: u64 = 32 << 20;
/// Most scrypt work one call may ask for, as `N × r × p`: about half a second of one core
/// (Node's defaults, N = 16384, r = 8, p = 1, are an eighth of it).
pub const MAX_SCRYPT_WORK: u64 = 1 << 20;

/// A key read by [`key_import`], as the JS key object keeps it.
struct KeyInfo {
    algorithm: &'static str,
    details: Value,
    /// PKCS #8 DER, for a private key.
    pkcs8: Option<Vec<u8>>,
    /// SPKI DER (for a private key, of its public half).
    spki: Vec<u8>,
}

impl KeyInfo {
    fn to_json(&self) -> String {
        let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);
        json!({
            "type": if self.pkcs8.is_some() { "private" } else { "public" },
            "asymmetricKeyType": self.algorithm,
            "asymmetricKeyDetails": self.details,
            "pkcs8": self.pkcs8.as_deref().map(b64),
            "spki": b64(&self.spki),
        })
        .to_string()
    }
}

/// Reads an asymmetric key: `der` is the body of a PEM block labelled `label` (`PRIVATE KEY`,
/// `RSA PRIVATE KEY`, `EC PRIVATE KEY`, `PUBLIC KEY`, `RSA PUBLIC KEY`, or `CERTIFICATE` for
/// an X.509 certificate's public key), or DER with that label standing for its format, or
/// with the label `JWK` a JSON Web Key's text. Answers JSON: `type`, `asymmetricKeyType` (`rsa`, `ec`,
/// `ed25519`), `asymmetricKeyDetails`, and the key as base64 DER in `pkcs8` and `spki`.
pub fn key_import(label: &str, der: &[u8]) -> Result<String, String> {
    let info = match label {
        "PRIVATE KEY" => private_key(der.to_vec()),
        "RSA PRIVATE KEY" => pkcs1::RsaPrivateKey::from_der(der)
            .map_err(bad_key)
            .and_then(|_| wrap_private(RSA, Some(AnyRef::NULL), der))
            .and_then(private_key),
        "EC PRIVATE KEY" => {
            let key = sec1::EcPrivateKey::from_der(der).map_err(bad_key)?;
            let curve = key
                .parameters
                .and_then(|p| p.named_curve())
                .ok_or("the EC key does not name its curve")?;
            wrap_private(EC, Some(AnyRef::from(&curve)), der).and_then(private_key)
        }
        "PUBLIC KEY" => public_key(der.to_vec()),
        "CERTIFICATE" => x509_cert::Certificate::from_der(der)
            .map_err(bad_key)
            .and_then(|cert| {
                let spki = cert.tbs_certificate.subject_public_key_info;
                spki.to_der().map_err(bad_key)
            })
            .and_then(public_key),
        "JWK" => jwk(der),
        "RSA PUBLIC KEY" => pkcs1::RsaPublicKey::from_der(der)
            .map_err(bad_key)
            .and_then(|_| spki(RSA, Some(AnyRef::NULL), der))
            .and_then(public_key),
        _ => Err(format!("Unsupported key format: {label}")),
    }?;
    Ok(info.to_json())
}

fn bad_key(e: impl std::fmt::Display) -> String {
    format!("error:1E08010C:DECODER routines::unsupported ({e})")
}

fn wrap_private(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, String> {
    pkcs8::PrivateKeyInfo::new(AlgorithmIdentifierRef { oid, parameters }, key)
        .to_der()
        .map_err(bad_key)
}

fn spki(
    oid: ObjectIdentifier,
    parameters: Option<AnyRef<'_>>,
    key: &[u8],
) -> Result<Vec<u8>, String> {
    SubjectPublicKeyInfoRef {
        algorithm: AlgorithmIdentifierRef { oid, parameters },
        subject_public_key: BitStringRef::from_bytes(key).map_err(bad_key)?,
    }
    .to_der()
    .map_err(bad_key)
}

fn curve_name(parameters: Option<AnyRef<'_>>) -> Result<&'static str, String> {
    let oid = parameters
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or("the EC key does not name its curve")?;
    CURVES
        .iter()
        .find(|(known, _)| *known == oid)
        .map(|(_, name)| *name)
        .ok_or_else(|| format!("Unsupported EC curve {oid}"))
}

fn rsa_details(modulus: pkcs1::UintRef<'_>, exponent: pkcs1::UintRef<'_>) -> Value {
    let bytes = modulus.as_bytes();
    let bits = bytes.len() * 8 - bytes.first().map_or(0, |b| b.leading_zeros() as usize);
    let e = exponent.as_bytes().iter().fold(0u64, |acc, b| {
        acc.saturating_mul(256).saturating_add(u64::from(*b))
    });
    json!({"modulusLength": bits, "publicExponent": e})
}

/// A PKCS #8 private key and its public half.
fn private_key(pkcs8: Vec<u8>) -> Result<KeyInfo, String> {
    let info = pkcs8::PrivateKeyInfo::from_der(&pkcs8).map_err(bad_key)?;
    let alg = info.algorithm;
    let (algorithm, details, public) = if alg.oid == RSA {
        let key = pkcs1::RsaPrivateKey::from_der(info.private_key).map_err(bad_key)?;
        let public = pkcs1::RsaPublicKey {
            modulus: key.modulus,
            public_exponent: key.public_exponent,
        }
        .to_der()
        .map_err(bad_key)?;
        let details = rsa_details(key.modulus, key.public_exponent);
        ("rsa", details, spki(RSA, Some(AnyRef::NULL), &public)?)
    } else if alg.oid == EC {
        let curve = curve_name(alg.parameters)?;
        let key = sec1::EcPrivateKey::from_der(info.private_key).map_err(bad_key)?;
        let point = key
            .public_key
            .ok_or("EC private keys without their public key are not supported")?;
        let details = json!({"namedCurve": curve});
        ("ec", details, spki(EC, alg.parameters, point)?)
    } else if alg.oid == ED25519 {
        let pair =
            signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&pkcs8).map_err(bad_key)?;
        let public = spki(ED25519, None, pair.public_key().as_ref())?;
        ("ed25519", json!({}), public)
    } else {
        return Err(format!("Unsupported key type {}", alg.oid));
    };
    Ok(KeyInfo {
        algorithm,
        details,
        spki: public,
        pkcs8: Some(pkcs8),
    })
}

/// An SPKI public key.
fn public_key(der: Vec<u8>) -> Result<KeyInfo, String> {
    let info = SubjectPublicKeyInfoRef::from_der(&der).map_err(bad_key)?;
    let alg = info.algorithm;
    let (algorithm, details) = if alg.oid == RSA {
        let bits = info.subject_public_key.raw_bytes();
        let key = pkcs1::RsaPublicKey::from_der(bits).map_err(bad_key)?;
        ("rsa", rsa_details(key.modulus, key.public_exponent))
    } else if alg.oid == EC {
        ("ec", json!({"namedCurve": curve_name(alg.parameters)?}))
    } else if alg.oid == ED25519 {
        ("ed25519", json!({}))
    } else {
        return Err(format!("Unsupported key type {}", alg.oid));
    };
    Ok(KeyInfo {
        algorithm,
        details,
        pkcs8: None,
        spki: der,
    })
}

/// `bytes` as a DER INTEGER's content.
fn uint(bytes: &[u8]) -> Result<pkcs1::UintRef<'_>, String> {
    pkcs1::UintRef::new(bytes).map_err(bad_key)
}

/// A JSON Web Key (RFC 7517/7518/8037), public or private: `RSA`, `EC` on P-256, P-384 or
/// P-521, and `OKP` on Ed25519.
fn jwk(json: &[u8]) -> Result<KeyInfo, String> {
    let jwk: Value = serde_json::from_slice(json).map_err(|e| format!("Invalid JWK: {e}"))?;
    let field = |name: &str| -> Result<Vec<u8>, String> {
        let text = jwk[name]
            .as_str()
            .ok_or_else(|| format!("Invalid JWK: \"{name}\" is missing"))?;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text.trim_end_matches('='))
            .map_err(|_| format!("Invalid JWK: \"{name}\" is not base64url"))
    };
    let private = jwk.get("d").is_some();
    match (jwk["kty"].as_str(), jwk["crv"].as_str()) {
        (Some("RSA"), _) => {
            let (n, e) = (field("n")?, field("e")?);
            if !private {
                let key = pkcs1::RsaPublicKey {
                    modulus: uint(&n)?,
                    public_exponent: uint(&e)?,
                };
                return public_key(spki(
                    RSA,
                    Some(AnyRef::NULL),
                    &key.to_der().map_err(bad_key)?,
                )?);
            }
            let parts = ["d", "p", "q", "dp", "dq", "qi"].map(&field);
            let [d, p, q, dp, dq, qi] = parts;
            let (d, p, q, dp, dq, qi) = (d?, p?, q?, dp?, dq?, qi?);
            let key = pkcs1::RsaPrivateKey {
                modulus: uint(&n)?,
                public_exponent: uint(&e)?,
                private_exponent: uint(&d)?,
                prime1: uint(&p)?,
                prime2: uint(&q)?,
                exponent1: uint(&dp)?,
                exponent2: uint(&dq)?,
                coefficient: uint(&qi)?,
                other_prime_infos: None,
            };
            private_key(wrap_private(
                RSA,
                Some(AnyRef::NULL),
                &key.to_der().map_err(bad_key)?,
            )?)
        }
        (Some("EC"), crv) => {
            let curve = match crv {
                Some("P-256") => CURVES[0].0,
                Some("P-384") => CURVES[1].0,
                Some("P-521") => CURVES[2].0,
                _ => return Err(format!("Unsupported JWK curve {}", crv.unwrap_or("(none)"))),
            };
            let size = match crv {
                Some("P-256") => 32,
                Some("P-384") => 48,
                _ => 66,
            };
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != size || y.len() != size {
                return Err(format!(
                    "Invalid JWK EC key: \"x\" and \"y\" must be {size} bytes"
                ));
            }
            let mut point = vec![4];
            point.extend(x);
            point.extend(y);
            if !private {
                return public_key(spki(EC, Some(AnyRef::from(&curve)), &point)?);
            }
            let d = field("d")?;
            let key = sec1::EcPrivateKey {
                private_key: &d,
                parameters: None,
                public_key: Some(&point),
            };
            let der = key.to_der().map_err(bad_key)?;
            private_key(wrap_private(EC, Some(AnyRef::from(&curve)), &der)?)
        }
        (Some("OKP"), Some("Ed25519")) => {
            let x = field("x")?;
            if x.len() != 32 {
                return Err("Invalid JWK Ed25519 key: \"x\" must be 32 bytes".into());
            }
            if !private {
                return public_key(spki(ED25519, None, &x)?);
            }
            let seed = field("d")?;
            let der = OctetStringRef::new(&seed)
                .and_then(|s| s.to_der())
                .map_err(bad_key)?;
            private_key(wrap_private(ED25519, None, &der)?)
        }
        (kty, crv) => Err(format!(
            "Unsupported JWK key type {}{}",
            kty.unwrap_or("(none)"),
            crv.map(|c| format!(" {c}")).unwrap_or_default()
        )),
    }
}

/// Signs `data` with the PKCS #8 key `pkcs8` under `alg`: `rsa-pkcs1-sha256` (and -sha384,
/// -sha512), `rsa-pss-sha256` (…; salt as long as the digest), `ecdsa-sha256` on P-256 and
/// `ecdsa-sha384` on P-384 (DER, or IEEE P1363 with a `-p1363` suffix), or `ed25519`.
pub fn sign(alg: &str, pkcs8: &[u8], data: &[u8]) -> Result<Vec<u8>, String> {
    let rng = SystemRandom::new();
    let failed = |e: ring::error::Unspecified| format!("signing failed ({e})");
    if let Some(padding) = rsa_signing(alg) {
        let pair = signature::RsaKeyPair::from_pkcs8(pkcs8).map_err(bad_key)?;
        let mut out = vec![0; pair.public().modulus_len()];
        pair.sign(padding, &rng, data, &mut out).map_err(failed)?;
        return Ok(out);
    }
    if alg == "ed25519" {
        let pair = signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8).map_err(bad_key)?;
        return Ok(pair.sign(data).as_ref().to_vec());
    }
    let scheme = match alg {
        "ecdsa-sha256" => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        "ecdsa-sha256-p1363" => &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        "ecdsa-sha384" => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
        "ecdsa-sha384-p1363" => &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
        _ => return Err(unsupported_signature(alg)),
    };
    let pair = signature::EcdsaKeyPair::from_pkcs8(scheme, pkcs8, &rng).map_err(bad_key)?;
    Ok(pair.sign(&rng, data).map_err(failed)?.as_ref().to_vec())
}

fn rsa_signing(alg: &str) -> Option<&'static dyn signature::RsaEncoding> {
    Some(match alg {
        "rsa-pkcs1-sha256" => &signature::RSA_PKCS1_SHA256,
        "rsa-pkcs1-sha384" => &signature::RSA_PKCS1_SHA384,
        "rsa-pkcs1-sha512" => &signature::RSA_PKCS1_SHA512,
        "rsa-pss-sha256" => &signature::RSA_PSS_SHA256,
        "rsa-pss-sha384" => &signature::RSA_PSS_SHA384,
        "rsa-pss-sha512" => &signature::RSA_PSS_SHA512,
        _ => return None,
    })
}

fn unsupported_signature(alg: &str) -> String {
    format!(
        "the signature algorithm {alg} is not supported in shoal's JS isolates (RSA PKCS#1 v1.5 and PSS with SHA-256/384/512, ECDSA P-256 with SHA-256 and P-384 with SHA-384, and Ed25519 are)"
    )
}

/// Whether `sig` is a valid signature of `data` under the SPKI key `spki` and `alg` (the
/// names of [`sign`]).
pub fn verify(alg: &str, spki: &[u8], data: &[u8], sig: &[u8]) -> Result<bool, String> {
    let info = SubjectPublicKeyInfoRef::from_der(spki).map_err(bad_key)?;
    let scheme: &dyn signature::VerificationAlgorithm = match alg {
        "rsa-pkcs1-sha256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "rsa-pkcs1-sha384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "rsa-pkcs1-sha512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        "rsa-pss-sha256" => &signature::RSA_PSS_2048_8192_SHA256,
        "rsa-pss-sha384" => &signature::RSA_PSS_2048_8192_SHA384,
        "rsa-pss-sha512" => &signature::RSA_PSS_2048_8192_SHA512,
        "ecdsa-sha256" => &signature::ECDSA_P256_SHA256_ASN1,
        "ecdsa-sha256-p1363" => &signature::ECDSA_P256_SHA256_FIXED,
        "ecdsa-sha384" => &signature::ECDSA_P384_SHA384_ASN1,
        "ecdsa-sha384-p1363" => &signature::ECDSA_P384_SHA384_FIXED,
        "ed25519" => &signature::ED25519,
        _ => return Err(unsupported_signature(alg)),
    };
    let key = info.subject_public_key.raw_bytes();
    Ok(signature::UnparsedPublicKey::new(scheme, key)
        .verify(data, sig)
        .is_ok())
}

/// Encrypts or decrypts `data` whole with cipher `name` (`aes-128-cbc`, `aes-192-cbc`,
/// `aes-256-cbc`, the same with `-ctr`, `aes-128-gcm`, `aes-256-gcm`). `mode` is `encrypt` or
/// `decrypt`, with `-nopad` for CBC without PKCS #7 padding. GCM authenticates `aad`; its
/// encryption appends the 16-byte tag, and its decryption takes `data` with the tag appended.
pub fn cipher(
    name: &str,
    mode: &str,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, String> {
    let (decrypt, pad) = match mode {
        "encrypt" => (false, true),
        "encrypt-nopad" => (false, false),
        "decrypt" => (true, true),
        "decrypt-nopad" => (true, false),
        _ => return Err(format!("unknown cipher mode {mode}")),
    };
    let unknown = || {
        format!(
            "Unknown cipher {name} (shoal's JS isolates have aes-128/192/256-cbc, aes-128/192/256-ctr, aes-128-gcm and aes-256-gcm)"
        )
    };
    let (bits, block_mode) = name
        .strip_prefix("aes-")
        .and_then(|rest| rest.split_once('-'))
        .ok_or_else(unknown)?;
    if !matches!(bits, "128" | "192" | "256") {
        return Err(unknown());
    }
    if bits != (key.len() * 8).to_string() {
        return Err("Invalid key length".into());
    }
    let iv_len = if block_mode == "gcm" { 12 } else { 16 };
    if iv.len() != iv_len {
        return Err("Invalid initialization vector".into());
    }
    match (block_mode, key.len(), decrypt) {
        ("cbc", 16, false) => cbc_encrypt::<aes::Aes128>(key, iv, data, pad),
        ("cbc", 24, false) => cbc_encrypt::<aes::Aes192>(key, iv, data, pad),
        ("cbc", 32, false) => cbc_encrypt::<aes::Aes256>(key, iv, data, pad),
        ("cbc", 16, true) => cbc_decrypt::<aes::Aes128>(key, iv, data, pad),
        ("cbc", 24, true) => cbc_decrypt::<aes::Aes192>(key, iv, data, pad),
        ("cbc", 32, true) => cbc_decrypt::<aes::Aes256>(key, iv, data, pad),
        ("ctr", 16, _) => Ok(ctr_apply::<aes::Aes128>(key, iv, data)),
        ("ctr", 24, _) => Ok(ctr_apply::<aes::Aes192>(key, iv, data)),
        ("ctr", 32, _) => Ok(ctr_apply::<aes::Aes256>(key, iv, data)),
        ("gcm", 16, _) => gcm(&ring::aead::AES_128_GCM, key, iv, data, aad, decrypt),
        ("gcm", 32, _) => gcm(&ring::aead::AES_256_GCM, key, iv, data, aad, decrypt),
        _ => Err(unknown()),
    }
}

fn gcm(
    algorithm: &'static ring::aead::Algorithm,
    key: &[u8],
    iv: &[u8],
    data: &[u8],
    aad: &[u8],
    decrypt: bool,
) -> Result<Vec<u8>, String> {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
    let nonce =
        Nonce::try_assume_unique_for_key(iv).map_err(|_| "Invalid initialization vector")?;
    let key = LessSafeKey::new(UnboundKey::new(algorithm, key).map_err(|_| "Invalid key length")?);
    let mut out = data.to_vec();
    if decrypt {
        let len = key
            .open_in_place(nonce, Aad::from(aad), &mut out)
            .map_err(|_| "Unsupported state or unable to authenticate data")?
            .len();
        out.truncate(len);
    } else {
        key.seal_in_place_append_tag(nonce, Aad::from(aad), &mut out)
            .map_err(|_| "encryption failed")?;
    }
    Ok(out)
}

fn cbc_encrypt<C>(key: &[u8], iv: &[u8], data: &[u8], pad: bool) -> Result<Vec<u8>, String>
where
    C: cbc::cipher::BlockEncryptMut + cbc::cipher::BlockCipher + cbc::cipher::KeyInit,
{
    let cipher = cbc::Encryptor::<C>::new_from_slices(key, iv).map_err(|e| e.to_string())?;
    if pad {
        Ok(cipher.encrypt_padded_vec_mut::<Pkcs7>(data))
    } else if !data.len().is_multiple_of(16) {
        Err("wrong final block length".into())
    } else {
        Ok(cipher.encrypt_padded_vec_mut::<NoPadding>(data))
    }
}

fn cbc_decrypt<C>(key: &[u8], iv: &[u8], data: &[u8], pad: bool) -> Result<Vec<u8>, String>
where
    C: cbc::cipher::BlockDecryptMut + cbc::cipher::BlockCipher + cbc::cipher::KeyInit,
{
    let cipher = cbc::Decryptor::<C>::new_from_slices(key, iv).map_err(|e| e.to_string())?;
    let out = if pad {
        cipher.decrypt_padded_vec_mut::<Pkcs7>(data)
    } else {
        cipher.decrypt_padded_vec_mut::<NoPadding>(data)
    };
    out.map_err(|_| "bad decrypt".to_string())
}

fn ctr_apply<C>(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8>
where
    C: cbc::cipher::BlockEncrypt + cbc::cipher::BlockCipher + cbc::cipher::KeyInit,
    C: cbc::cipher::BlockSizeUser<BlockSize = cbc::cipher::consts::U16>,
{
    let mut out = data.to_vec();
    if let Ok(mut stream) = ctr::Ctr128BE::<C>::new_from_slices(key, iv) {
        stream.apply_keystream(&mut out);
    }
    out
}

/// PBKDF2-HMAC of `password` and `salt` under `digest` (sha1, sha256, sha384, sha512):
/// `length` bytes, refused past [`MAX_PBKDF2_NANOS`] of work or [`MAX_PBKDF2_BYTES`].
pub fn pbkdf2(
    digest: &str,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    length: usize,
) -> Result<Vec<u8>, String> {
    let (algorithm, block, round_nanos) = match digest.to_ascii_lowercase().as_str() {
        "sha1" => (ring::pbkdf2::PBKDF2_HMAC_SHA1, 20, 415),
        "sha256" => (ring::pbkdf2::PBKDF2_HMAC_SHA256, 32, 190),
        "sha384" => (ring::pbkdf2::PBKDF2_HMAC_SHA384, 48, 545),
        "sha512" => (ring::pbkdf2::PBKDF2_HMAC_SHA512, 64, 545),
        _ => return Err(format!("Invalid digest: {digest}")),
    };
    if length > MAX_PBKDF2_BYTES {
        return Err(format!(
            "pbkdf2 derives at most {MAX_PBKDF2_BYTES} bytes in shoal's JS isolates"
        ));
    }
    let Some(rounds) = std::num::NonZeroU32::new(iterations) else {
        return Err("iterations must be at least 1".into());
    };
    let rounds_needed = u64::from(iterations).saturating_mul(length.div_ceil(block).max(1) as u64);
    if rounds_needed.saturating_mul(round_nanos) > MAX_PBKDF2_NANOS {
        return Err(format!(
            "pbkdf2 of {iterations} iterations for {length} bytes with {digest} is more work than shoal's JS isolates do in one call (about {} iterations per {block}-byte block)",
            MAX_PBKDF2_NANOS / round_nanos
        ));
    }
    let mut out = vec![0; length];
    ring::pbkdf2::derive(algorithm, rounds, salt, password, &mut out);
    Ok(out)
}

/// HKDF (RFC 5869) of `ikm` with `salt` and `info` under `digest` (sha1, sha256, sha384,
/// sha512): `length` bytes, at most 255 digests' worth.
pub fn hkdf(
    digest: &str,
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    length: usize,
) -> Result<Vec<u8>, String> {
    let algorithm = match digest.to_ascii_lowercase().as_str() {
        "sha1" => ring::hkdf::HKDF_SHA1_FOR_LEGACY_USE_ONLY,
        "sha256" => ring::hkdf::HKDF_SHA256,
        "sha384" => ring::hkdf::HKDF_SHA384,
        "sha512" => ring::hkdf::HKDF_SHA512,
        _ => return Err(format!("Invalid digest: {digest}")),
    };
    struct Length(usize);
    impl ring::hkdf::KeyType for Length {
        fn len(&self) -> usize {
            self.0
        }
    }
    let mut out = vec![0; length];
    let infos = [info];
    ring::hkdf::Salt::new(algorithm, salt)
        .extract(ikm)
        .expand(&infos, Length(length))
        .and_then(|okm| okm.fill(&mut out))
        .map_err(|_| "Invalid key length".to_string())?;
    Ok(out)
}

/// scrypt (RFC 7914) of `password` and `salt` with cost `n` (a power of two above 1),
/// block size `r` and parallelism `p`: `length` bytes. Refused past `maxmem` (itself capped
/// at [`MAX_SCRYPT_MEMORY`]) or [`MAX_SCRYPT_WORK`].
pub fn scrypt(
    password: &[u8],
    salt: &[u8],
    n: u64,
    r: u32,
    p: u32,
    length: usize,
    maxmem: u64,
) -> Result<Vec<u8>, String> {
    let invalid = |why: &str| format!("Invalid scrypt params: {why}");
    if n < 2 || !n.is_power_of_two() {
        return Err(invalid("N must be a power of two greater than 1"));
    }
    if r == 0 || p == 0 {
        return Err(invalid("r and p must be at least 1"));
    }
    // V is 128·r·N bytes and B 128·r·p (OpenSSL counts both too).
    let memory = 128u64
        .saturating_mul(u64::from(r))
        .saturating_mul(n.saturating_add(u64::from(p)));
    if memory > maxmem.min(MAX_SCRYPT_MEMORY) {
        return Err(invalid(&format!(
            "memory limit exceeded ({memory} bytes; shoal's JS isolates allow {MAX_SCRYPT_MEMORY} at most)"
        )));
    }
    let work = n.saturating_mul(u64::from(r)).saturating_mul(u64::from(p));
    if work > MAX_SCRYPT_WORK {
        return Err(invalid(&format!(
            "N × r × p = {work} is more work than shoal's JS isolates do in one call ({MAX_SCRYPT_WORK})"
        )));
    }
    if length > MAX_PBKDF2_BYTES {
        return Err(invalid(&format!(
            "keylen is more than {MAX_PBKDF2_BYTES} bytes"
        )));
    }
    let log_n = u8::try_from(n.trailing_zeros()).map_err(|_| invalid("N is too large"))?;
    // The last argument is the output length of scrypt's password-hash strings, unused here.
    let params = scrypt::Params::new(log_n, r, p, scrypt::Params::RECOMMENDED_LEN)
        .map_err(|e| invalid(&e.to_string()))?;
    let mut out = vec![0; length];
    if length > 0 {
        scrypt::scrypt(password, salt, &params, &mut out).map_err(|e| invalid(&e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn unhex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn pbkdf2_matches_rfc_6070_and_refuses_too_much_work() {
        let out = pbkdf2("sha1", b"password", b"salt", 2, 20).unwrap();
        assert_eq!(hex(&out), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
        assert!(pbkdf2("sha256", b"p", b"s", 10_000_000, 32).is_err());
        assert!(pbkdf2("md4", b"p", b"s", 1, 32).is_err());
        assert!(pbkdf2("sha256", b"p", b"s", 0, 32).is_err());
        assert!(pbkdf2("sha256", b"p", b"s", 1, MAX_PBKDF2_BYTES + 1).is_err());
        assert!(pbkdf2("sha512", b"p", b"s", 1_000_000, 64).is_err());
        assert!(pbkdf2("sha256", b"p", b"s", 600_000, 32).is_ok());
    }

    #[test]
    fn aes_cbc_matches_nist_and_round_trips() {
        // NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt), first block, no padding.
        let key = unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let iv = unhex("000102030405060708090a0b0c0d0e0f");
        let plain = unhex("6bc1bee22e409f96e93d7e117393172a");
        let out = cipher("aes-256-cbc", "encrypt-nopad", &key, &iv, &plain, &[]).unwrap();
        assert_eq!(hex(&out), "f58c4c04d6e5f1ba779eabfb5f7bfbd6");
        let padded = cipher("aes-256-cbc", "encrypt", &key, &iv, b"hello", &[]).unwrap();
        assert_eq!(padded.len(), 16);
        let back = cipher("aes-256-cbc", "decrypt", &key, &iv, &padded, &[]).unwrap();
        assert_eq!(back, b"hello");
        assert!(cipher("aes-128-cbc", "encrypt", &key, &iv, b"x", &[]).is_err());
    }

    #[test]
    fn hkdf_matches_rfc_5869_and_refuses_too_long_keys() {
        let salt: Vec<u8> = (0..13).collect();
        let info: Vec<u8> = (0xf0..=0xf9).collect();
        let okm = hkdf("sha256", &[0x0b; 22], &salt, &info, 42).unwrap();
        assert_eq!(
            hex(&okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        assert_eq!(
            hkdf("sha512", b"k", b"", b"", 255 * 64).unwrap().len(),
            255 * 64
        );
        assert!(hkdf("sha256", b"k", b"", b"", 255 * 32 + 1).is_err());
        assert!(hkdf("md5", b"k", b"", b"", 16).is_err());
    }

    #[test]
    fn scrypt_matches_rfc_7914_and_refuses_too_much_memory_or_work() {
        let key = scrypt(b"password", b"NaCl", 1024, 8, 16, 64, MAX_SCRYPT_MEMORY).unwrap();
        assert_eq!(
            hex(&key),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640"
        );
        let refused = |n, r, p, maxmem| scrypt(b"pw", b"salt", n, r, p, 32, maxmem).unwrap_err();
        assert!(refused(1000, 8, 1, MAX_SCRYPT_MEMORY).contains("power of two"));
        assert!(refused(1 << 16, 8, 1, u64::MAX).contains("memory limit"));
        assert!(
            refused(1 << 14, 8, 1, 1 << 20).contains("memory limit"),
            "maxmem is honoured"
        );
        assert!(refused(2, 1, 1 << 18, MAX_SCRYPT_MEMORY).contains("memory limit"));
        assert!(refused(1 << 14, 8, 16, MAX_SCRYPT_MEMORY).contains("more work"));
        assert!(
            scrypt(b"pw", b"salt", 16, 1, 1, 0, MAX_SCRYPT_MEMORY)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn aes_gcm_authenticates() {
        let key = [7u8; 32];
        let iv = [1u8; 12];
        let sealed = cipher("aes-256-gcm", "encrypt", &key, &iv, b"secret", b"hdr").unwrap();
        assert_eq!(sealed.len(), 6 + 16);
        let open = cipher("aes-256-gcm", "decrypt", &key, &iv, &sealed, b"hdr").unwrap();
        assert_eq!(open, b"secret");
        let wrong = cipher("aes-256-gcm", "decrypt", &key, &iv, &sealed, b"other");
        assert_eq!(
            wrong.unwrap_err(),
            "Unsupported state or unable to authenticate data"
        );
    }

    #[test]
    fn ed25519_keys_import_sign_and_verify() {
        // RFC 8410 §10.3's example private key.
        let pkcs8 = base64::engine::general_purpose::STANDARD
            .decode("MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC")
            .unwrap();
        let info: Value =
            serde_json::from_str(&key_import("PRIVATE KEY", &pkcs8).unwrap()).unwrap();
        assert_eq!(info["type"], "private");
        assert_eq!(info["asymmetricKeyType"], "ed25519");
        let spki = base64::engine::general_purpose::STANDARD
            .decode(info["spki"].as_str().unwrap())
            .unwrap();
        // RFC 8410 §10.1's public key is that private key's.
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(&spki),
            "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="
        );
        let sig = sign("ed25519", &pkcs8, b"data").unwrap();
        assert!(verify("ed25519", &spki, b"data", &sig).unwrap());
        assert!(!verify("ed25519", &spki, b"other", &sig).unwrap());
        // RFC 8037 §A.1/A.2: the same key as a JWK.
        let jwk = br#"{"kty":"OKP","crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let from_jwk: Value = serde_json::from_str(&key_import("JWK", jwk).unwrap()).unwrap();
        let public: Value = serde_json::from_str(
            &key_import("JWK", br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(from_jwk["type"], "private");
        assert_eq!(
            (public["type"].as_str(), &public["spki"]),
            (Some("public"), &from_jwk["spki"])
        );
        assert!(key_import("JWK", br#"{"kty":"oct","k":"c2VjcmV0"}"#).is_err());
        // A JWK nested deeper than the parser's limit is an error, not a stack overflow.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(key_import("JWK", deep.as_bytes()).is_err());
        assert!(key_import("JWK", br#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#).is_err());
        assert!(key_import("PRIVATE KEY", b"not der").is_err());
        assert!(key_import("CERTIFICATE", &spki).is_err());
    }
}

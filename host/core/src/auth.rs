//! Identities and HTTP Basic authentication (spec §1.2): `uuid:key` pairs looked up in the
//! store, cached in memory by the decoded credentials and asked of the store again after
//! `REVALIDATE`, so keys rotated and limits changed by `shoal namespace …` (another
//! process) reach a running shoal.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

use shoal_store::{Change, Store, Subject};

use crate::coherent::Coherent;
use crate::messages;
use crate::throttle::LimitsConfig;
use crate::throttle::NamespaceLimits;
use shoal_model::WhiskError;

/// The well-known development credentials of namespace `guest` (OpenWhisk's `auth.guest`).
pub const GUEST_AUTH: &str = "23bc46b1-71f6-4ed5-8c54-816aa4f8c502:123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP";

/// An authenticated caller. Shared (`Arc`) by every request that presents its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Subject name.
    pub subject: String,
    /// The namespace it owns.
    pub namespace: String,
    /// `uuid:key`, handed to actions that ask for an API key.
    pub auth: String,
    /// The namespace's throttle limits (system defaults with its own overrides).
    pub limits: NamespaceLimits,
}

impl Identity {
    fn from_subject(s: &Subject, defaults: &LimitsConfig) -> Self {
        Identity {
            subject: s.subject.clone(),
            namespace: s.namespace.clone(),
            auth: format!("{}:{}", s.uuid, s.key),
            limits: NamespaceLimits::resolve(defaults, &s.limits),
        }
    }
}

/// How long a cached identity is trusted before the store is asked again (one indexed read
/// per namespace and period).
const REVALIDATE: Duration = Duration::from_secs(5);

/// An identity and when the store last confirmed it.
#[derive(Clone)]
struct Cached {
    identity: Arc<Identity>,
    checked: Instant,
}

impl Cached {
    /// `identity`, confirmed just now.
    fn now(identity: &Arc<Identity>) -> Cached {
        Cached {
            identity: Arc::clone(identity),
            checked: Instant::now(),
        }
    }
}

/// Looks callers up by their Basic credentials. Lives for the process; the caches hold one
/// entry per valid `uuid:key` and per namespace, however the header spells them.
pub struct Authenticator {
    store: Arc<dyn Store>,
    defaults: LimitsConfig,
    revalidate: Duration,
    cache: Arc<Coherent<Cached>>,
    owners: Arc<Coherent<Cached>>,
}

impl Authenticator {
    /// An authenticator over `store`; namespaces without their own limits get `defaults`.
    /// Cached identities of a namespace are dropped whenever the store announces a change to
    /// its subject (a new key, new limits).
    pub fn new(store: Arc<dyn Store>, defaults: LimitsConfig) -> Self {
        let cache: Arc<Coherent<Cached>> = Arc::default();
        let owners: Arc<Coherent<Cached>> = Arc::default();
        let (by_key, by_namespace) = (Arc::clone(&cache), Arc::clone(&owners));
        store.watch(Box::new(move |change| match change {
            Change::Subject { namespace } => {
                by_key.forget_where(|c| c.identity.namespace == *namespace);
                by_namespace.forget(namespace);
            }
            Change::Missed => {
                by_key.forget_where(|_| true);
                by_namespace.forget_where(|_| true);
            }
            Change::Entity { .. } | Change::Api { .. } | Change::Feed { .. } => {}
        }));
        Authenticator {
            store,
            defaults,
            revalidate: REVALIDATE,
            cache,
            owners,
        }
    }

    /// Authenticates an `Authorization` header value: 401 with OpenWhisk's texts when missing
    /// or invalid, 503 when the store cannot be read.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Arc<Identity>, WhiskError> {
        let header =
            header.ok_or_else(|| WhiskError::Unauthenticated(messages::AUTH_REQUIRED.into()))?;
        self.lookup(header)
            .await?
            .ok_or_else(|| WhiskError::Unauthenticated(messages::AUTH_INVALID.into()))
    }

    /// The identity behind a header, or `None` if it is malformed or unknown (web actions
    /// treat that as anonymous); 503 when the store cannot be read.
    pub async fn lookup(&self, header: &str) -> Result<Option<Arc<Identity>>, WhiskError> {
        let Some((uuid, key)) = parse_basic(header) else {
            return Ok(None);
        };
        let credentials = format!("{uuid}:{key}");
        if let Some(hit) = self.cache.get(&credentials)
            && hit.checked.elapsed() < self.revalidate
        {
            return Ok(Some(hit.identity));
        }
        let seen = self.cache.seen();
        let Some(identity) = self.verify(&uuid, &key).await? else {
            self.cache.drop_entry(&credentials);
            return Ok(None);
        };
        self.cache.keep(credentials, Cached::now(&identity), seen);
        Ok(Some(identity))
    }

    /// The identity behind `uuid:key` credentials (as feeds store them), or `None`. One
    /// indexed read; not cached (feeds fire at most a few times a second).
    pub async fn by_key(&self, credentials: &str) -> Result<Option<Arc<Identity>>, WhiskError> {
        let Some((uuid, key)) = credentials.split_once(':') else {
            return Ok(None);
        };
        self.verify(uuid, key).await
    }

    async fn verify(&self, uuid: &str, key: &str) -> Result<Option<Arc<Identity>>, WhiskError> {
        if key.len() != 64 {
            return Ok(None);
        }
        let subject = self.store.subject_by_uuid(uuid).await.map_err(unreadable)?;
        Ok(subject
            .filter(|s| s.key == key)
            .map(|s| Arc::new(Identity::from_subject(&s, &self.defaults))))
    }
}

impl Authenticator {
    /// The identity that owns namespace `ns` (web actions run as their owner), or `None`
    /// when no such namespace exists; 503 when the store cannot be read. Cached after the
    /// first hit.
    pub async fn owner(&self, ns: &str) -> Result<Option<Arc<Identity>>, WhiskError> {
        if let Some(hit) = self.owners.get(ns)
            && hit.checked.elapsed() < self.revalidate
        {
            return Ok(Some(hit.identity));
        }
        let seen = self.owners.seen();
        let Some(subject) = self
            .store
            .subject_by_namespace(ns)
            .await
            .map_err(unreadable)?
        else {
            self.owners.drop_entry(ns);
            return Ok(None);
        };
        let identity = Arc::new(Identity::from_subject(&subject, &self.defaults));
        self.owners
            .keep(ns.to_string(), Cached::now(&identity), seen);
        Ok(Some(identity))
    }
}

/// A store that cannot be read answers 503: unknown credentials would be the wrong answer.
fn unreadable(e: shoal_store::StoreError) -> WhiskError {
    WhiskError::store_unreadable(&e.to_string())
}

/// Decodes `Basic base64(user:pass)`.
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// Fresh credentials for a new namespace: a random UUID and a 64-character key.
pub fn new_credentials() -> (String, String) {
    use rand::Rng;
    let mut rng = rand::rng();
    let b: [u8; 16] = rng.random();
    let uuid = format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        u16::from_be_bytes([b[4], b[5]]),
        (u16::from_be_bytes([b[6], b[7]]) & 0x0fff) | 0x4000,
        (u16::from_be_bytes([b[8], b[9]]) & 0x3fff) | 0x8000,
        u64::from_be_bytes([0, 0, b[10], b[11], b[12], b[13], b[14], b[15]])
    );
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let key: String = (0..64)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    (uuid, key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_store::{SqliteStore, Subjects};

    #[test]
    fn basic_header_parsing() {
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(GUEST_AUTH)
        );
        let (u, k) = parse_basic(&h).unwrap();
        assert_eq!(u, "23bc46b1-71f6-4ed5-8c54-816aa4f8c502");
        assert_eq!(k.len(), 64);
        assert!(parse_basic("Bearer x").is_none());
        assert!(parse_basic("Basic !!!").is_none());
    }

    #[tokio::test]
    async fn spellings_share_one_entry_and_a_rotated_key_stops_working() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let (uuid, key) = new_credentials();
        let subject = |key: &str| Subject {
            subject: "ns".into(),
            namespace: "ns".into(),
            uuid: uuid.clone(),
            key: key.into(),
            limits: serde_json::json!({}),
        };
        store.put_subject(subject(&key)).await.unwrap();
        let mut auth = Authenticator::new(store.clone(), LimitsConfig::default());
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{uuid}:{key}"));
        for header in [format!("Basic {encoded}"), format!("basic  {encoded} ")] {
            let found = auth.lookup(&header).await.unwrap().unwrap();
            assert_eq!(found.namespace, "ns");
        }
        assert_eq!(auth.cache.len(), 1, "one entry, however spelled");
        assert!(auth.owner("ns").await.unwrap().is_some());
        // Rotated through this store: its change stream drops the cached identities at once.
        let (_, rotated) = new_credentials();
        store.put_subject(subject(&rotated)).await.unwrap();
        assert_eq!((auth.cache.len(), auth.owners.len()), (0, 0));
        assert!(
            auth.lookup(&format!("Basic {encoded}"))
                .await
                .unwrap()
                .is_none()
        );
        let fresh = base64::engine::general_purpose::STANDARD.encode(format!("{uuid}:{rotated}"));
        assert!(
            auth.lookup(&format!("Basic {fresh}"))
                .await
                .unwrap()
                .is_some()
        );
        // Rotated behind the server's back (by `shoal namespace` in another process, which
        // announces nothing here): the cached identity goes on until it is checked again.
        let (_, behind) = new_credentials();
        let other = SqliteStore::open(dir.path()).unwrap();
        other.put_subject(subject(&behind)).await.unwrap();
        drop(other);
        assert!(
            auth.lookup(&format!("Basic {fresh}"))
                .await
                .unwrap()
                .is_some()
        );
        auth.revalidate = Duration::ZERO;
        assert!(
            auth.lookup(&format!("Basic {fresh}"))
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(auth.cache.len(), 0);
    }

    #[tokio::test]
    async fn a_store_that_cannot_be_read_is_a_503_not_unknown_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
        let auth = Authenticator::new(store, LimitsConfig::default());
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(GUEST_AUTH)
        );
        // Another process breaks the database under the running store.
        let db = rusqlite::Connection::open(dir.path().join("shoal.db")).unwrap();
        db.execute_batch("DROP TABLE subjects").unwrap();
        let failed = auth.authenticate(Some(&header)).await.unwrap_err();
        assert!(matches!(failed, WhiskError::Unavailable(_)), "{failed}");
        let owner = auth.owner("guest").await.unwrap_err();
        assert!(matches!(owner, WhiskError::Unavailable(_)), "{owner}");
        assert!(auth.by_key(GUEST_AUTH).await.is_err());
        // Malformed credentials need no store.
        assert!(auth.lookup("Basic !!!").await.unwrap().is_none());
    }

    #[test]
    fn credentials_have_openwhisk_shape() {
        let (u, k) = new_credentials();
        assert_eq!(u.len(), 36);
        assert_eq!(k.len(), 64);
        assert_ne!(new_credentials().1, k);
    }
}

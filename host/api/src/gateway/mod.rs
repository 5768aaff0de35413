//! The built-in API gateway: what OpenWhisk runs as a separate nginx gateway plus the
//! `whisk.system/apimgmt` route-management actions, inside shoal.
//!
//! # How it works
//!
//! Each namespace may publish APIs. An API is one OpenAPI (Swagger 2.0) document per base
//! path, kept in the store ([`apidoc`] edits and reads it) together with the API keys
//! subscribed to it. `wsk api create`, serverless and the npm client's `routes` build the
//! documents through `createApi`/`getApi`/`deleteApi` (see `api::gateway`).
//!
//! The gateway serves `/api/{tenant}/{basePath}{relPath}`, where the tenant is the public half
//! (uuid) of the namespace's API key, as OpenWhisk's CLI names it. A request finds its tenant
//! in [`Gateway::tenant`] (a cache of compiled APIs per tenant, dropped at once by local
//! writes and revalidated every few seconds with one small read of the APIs' versions; only a
//! changed namespace is read and compiled again), its route by path template and method,
//! passes the API's key and rate-limit checks ([`limiter`]), and is answered by the route's
//! web action through the same path as `/api/v1/web`.
//!
//! Route management edits documents read-modify-write; [`Gateway::writing`] serialises those
//! edits so that concurrent ones never lose each other's changes.

pub mod apidoc;
pub mod limiter;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use serde_json::Value;
use sha2::{Digest, Sha256};
use shoal_core::coherent::Coherent;
use shoal_store::{Change, GatewayApi, Store, StoreError};
use tokio::sync::{Mutex, MutexGuard};

use self::apidoc::Api;
use self::limiter::Limiter;

/// How long a tenant's compiled APIs are served before the store is asked again. Changes the
/// store announces (its change stream) drop the tenant at once; this bounds how long a change
/// it did not announce (a document edited behind shoal) goes unseen.
const REVALIDATE: Duration = Duration::from_secs(5);

/// Most APIs one namespace may have.
pub const MAX_APIS: usize = 64;
/// Largest API document, in bytes of JSON.
pub const MAX_DOC_BYTES: usize = 256 * 1024;
/// Most API keys subscribed to one API.
pub const MAX_SUBSCRIPTIONS: usize = 1_000;
/// Longest client id of a subscription.
pub const MAX_CLIENT_ID: usize = 256;
/// Longest client secret of a subscription.
pub const MAX_CLIENT_SECRET: usize = 1_024;

/// One API as the gateway serves it: its routes and the keys subscribed to it.
#[derive(Debug)]
pub struct Served {
    /// Routes and policies.
    pub api: Api,
    /// Client id → SHA-256 hex of its secret (`""` for a key without one).
    pub subscriptions: HashMap<String, String>,
}

impl Served {
    /// Whether `client_id` is subscribed as a plain API key (`secret` `None`: a subscription
    /// without a secret) or as a client id whose secret is `secret`.
    pub fn admits(&self, client_id: &str, secret: Option<&str>) -> bool {
        match (self.subscriptions.get(client_id), secret) {
            (Some(hash), None) => hash.is_empty(),
            (Some(hash), Some(secret)) => !hash.is_empty() && *hash == secret_hash(secret),
            (None, _) => false,
        }
    }
}

/// SHA-256 hex of an API key's secret, as subscriptions keep it.
pub fn secret_hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A namespace's APIs, as its tenant id finds them.
#[derive(Debug)]
pub struct Tenant {
    /// The owning namespace.
    pub namespace: String,
    /// Its APIs.
    pub apis: Vec<Served>,
}

struct Cached {
    tenant: Arc<Tenant>,
    /// The APIs' base paths and `updated` it was compiled from.
    versions: Vec<(String, i64)>,
    checked: Instant,
}

/// The gateway's shared state: compiled APIs per tenant and the rate limiter. One per
/// process; each cached tenant costs its compiled routes.
pub struct Gateway {
    store: Arc<dyn Store>,
    tenants: Arc<Coherent<Arc<Cached>>>,
    /// Per-key and per-API request budgets.
    pub limiter: Limiter,
    writes: Mutex<()>,
    /// One compile at a time per tenant: the first request after a change compiles, those
    /// arriving meanwhile wait for it and take its result.
    compiles: DashMap<String, Arc<Mutex<()>>>,
}

impl Gateway {
    /// A gateway over the APIs in `store`, dropping a namespace's compiled APIs whenever the
    /// store announces a change to them or to the namespace's key.
    pub fn new(store: Arc<dyn Store>) -> Self {
        let tenants: Arc<Coherent<Arc<Cached>>> = Arc::default();
        let cached = Arc::clone(&tenants);
        store.watch(Box::new(move |change| match change {
            Change::Api { namespace } | Change::Subject { namespace } => {
                cached.forget_where(|c| c.tenant.namespace == *namespace);
            }
            Change::Missed => cached.forget_where(|_| true),
            Change::Entity { .. } | Change::Feed { .. } => {}
        }));
        Gateway {
            store,
            tenants,
            limiter: Limiter::default(),
            writes: Mutex::new(()),
            compiles: DashMap::new(),
        }
    }

    /// Held while route management reads, changes and writes back an API (rare, short).
    pub async fn writing(&self) -> MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    /// The APIs of the namespace whose key has public half `uuid`, or `None` when no
    /// namespace has it. Served from the cache while fresh; then one subject read and one read
    /// of the APIs' versions, and only when those changed a read and compile of the documents.
    pub async fn tenant(&self, uuid: &str) -> Result<Option<Arc<Tenant>>, StoreError> {
        if let Some(hit) = self.tenants.get(uuid)
            && hit.checked.elapsed() < REVALIDATE
        {
            return Ok(Some(hit.tenant.clone()));
        }
        let seen = self.tenants.seen();
        let Some(subject) = self.store.subject_by_uuid(uuid).await? else {
            self.tenants.drop_entry(uuid);
            return Ok(None);
        };
        let versions = self.store.api_versions(&subject.namespace).await?;
        let turn = Arc::clone(&self.compiles.entry(uuid.to_owned()).or_default());
        let _turn = turn.lock().await;
        if let Some(hit) = self.tenants.get(uuid)
            && hit.tenant.namespace == subject.namespace
            && hit.versions == versions
        {
            let tenant = hit.tenant.clone();
            let refreshed = Cached {
                tenant: tenant.clone(),
                versions,
                checked: Instant::now(),
            };
            self.tenants
                .keep(uuid.to_string(), Arc::new(refreshed), seen);
            return Ok(Some(tenant));
        }
        let stored = self.store.list_apis(&subject.namespace).await?;
        // Compiling a tenant's APIs (up to 64 documents of 1,024 operations) takes a
        // fraction of a second: not on the thread that serves requests.
        let apis = tokio::task::spawn_blocking(move || compile_all(stored))
            .await
            .map_err(|e| StoreError::Io(format!("compiling gateway APIs stopped: {e}")))?;
        let tenant = Arc::new(Tenant {
            namespace: subject.namespace,
            apis,
        });
        let cached = Cached {
            tenant: tenant.clone(),
            versions,
            checked: Instant::now(),
        };
        self.tenants.keep(uuid.to_string(), Arc::new(cached), seen);
        Ok(Some(tenant))
    }
}

/// The APIs of `stored` that compile (documents are checked when written; one changed behind
/// shoal is logged and not served).
fn compile_all(stored: Vec<GatewayApi>) -> Vec<Served> {
    stored
        .into_iter()
        .filter_map(
            |stored| match apidoc::compile(&stored.doc, &stored.namespace) {
                Ok(api) => Some(Served {
                    api,
                    subscriptions: subscriptions(&stored.subscriptions),
                }),
                Err(e) => {
                    tracing::warn!(namespace = %stored.namespace, base_path = %stored.base_path,
                    error = %e, "gateway API not served");
                    None
                }
            },
        )
        .collect()
}

fn subscriptions(stored: &Value) -> HashMap<String, String> {
    stored
        .as_object()
        .map(|keys| {
            keys.iter()
                .map(|(id, hash)| (id.clone(), hash.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shoal_store::{SqliteStore, Subject};

    /// Requests that arrive together after a change share one compile of the tenant's APIs
    /// (the same compiled tenant), instead of each compiling its own.
    #[tokio::test]
    async fn requests_arriving_together_share_one_compile() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let subject = Subject {
            subject: "guest".into(),
            namespace: "guest".into(),
            uuid: "u1".into(),
            key: "k".into(),
            limits: Value::Object(Default::default()),
        };
        store.put_subject(subject).await.unwrap();
        let doc = apidoc::base_doc("/club", "Book Club");
        let api = GatewayApi {
            namespace: "guest".into(),
            base_path: "/club".into(),
            doc,
            subscriptions: Value::Object(Default::default()),
            updated: 1,
        };
        store.put_api(api).await.unwrap();
        let gateway = Arc::new(Gateway::new(store));
        let asks: Vec<_> = (0..10)
            .map(|_| {
                let gateway = Arc::clone(&gateway);
                tokio::spawn(async move { gateway.tenant("u1").await })
            })
            .collect();
        let mut tenants = Vec::new();
        for ask in asks {
            tenants.push(ask.await.unwrap().unwrap().unwrap());
        }
        for tenant in &tenants {
            assert!(Arc::ptr_eq(&tenants[0], tenant), "a second compile");
        }
    }
}

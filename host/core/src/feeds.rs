//! Feeds: services that fire triggers from outside events, each behind [`FeedProvider`].
//!
//! A provider owns one package of `whisk.system` feed actions (`/whisk.system/alarms/alarm`,
//! …). The catalog installs the package and its actions with the provider's internal kind
//! ([`kind_of`]); the routing table sends that kind to a [`FeedExecutor`], so invoking a feed
//! action (what `wsk trigger create --feed` does) hands the lifecycle event (`CREATE`,
//! `READ`, `UPDATE`, `DELETE`, `PAUSE`, `UNPAUSE`) to the provider. The provider keeps its
//! state in the store and fires triggers through a [`Firer`] from its own background work
//! ([`FeedProvider::run`]). The alarm service is the first provider; another plugs in the
//! same way: implement the trait, list it at start-up.

use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};
use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, Outcome, PrepareError,
};

use crate::entity::KeyValue;

/// Fires triggers for a provider, as the owner of the key its feed was created with.
pub trait Firer: Send + Sync + 'static {
    /// Fires `trigger` (`/ns/name`) as the owner of `auth_key` with `payload`. An `Err` text
    /// means the trigger could not be fired and will not be until fixed (it disables the
    /// feed, as OpenWhisk's alarm provider does on non-retryable errors).
    fn fire(&self, trigger: &str, auth_key: &str, payload: Value) -> BoxFuture<Result<(), String>>;

    /// Deletes `trigger` (and, if `with_rules`, its rules), for a feed that ends its trigger
    /// after firing (a `once` alarm with `deleteAfterFire`).
    fn delete_trigger(&self, trigger: &str, auth_key: &str, with_rules: bool) -> BoxFuture<()>;
}

/// One feed action of a provider's package.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedAction {
    /// The action's name in the package (`alarm`).
    pub name: &'static str,
    /// Its `description` annotation.
    pub description: &'static str,
    /// Parameters bound to it.
    pub parameters: Vec<KeyValue>,
}

/// The `whisk.system` package a provider serves.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPackage {
    /// The package name (`alarms`); also the provider's executor name.
    pub name: &'static str,
    /// Its `description` annotation.
    pub description: &'static str,
    /// Parameters bound to the package.
    pub parameters: Vec<KeyValue>,
    /// Its feed actions.
    pub actions: Vec<FeedAction>,
}

/// A feed service: handles the lifecycle events of its feed actions and fires triggers.
pub trait FeedProvider: Send + Sync + 'static {
    /// The package and feed actions it serves.
    fn package(&self) -> FeedPackage;

    /// Handles one lifecycle event sent to feed action `feed` by namespace `namespace` with
    /// `params` (`lifecycleEvent`, `triggerName`, `authKey` and the feed's own). Returns the
    /// feed action's result, or the text of its application error.
    fn handle<'a>(
        &'a self,
        feed: &'a str,
        params: &'a Map<String, Value>,
        namespace: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Value, String>>;

    /// Its background work (timers, polling), firing through `firer`, until the process ends.
    fn run(self: Arc<Self>, firer: Arc<dyn Firer>) -> BoxFuture<()>;

    /// How many triggers it serves now.
    fn resident(&self) -> u64;

    /// Stored feeds it could not restore at start: logged, skipped, never fired until
    /// recreated (reported by `GET /health`).
    fn skipped(&self) -> Vec<String>;
}

/// The internal kind of the feed actions of package `package` (`shoal:alarms`).
pub fn kind_of(package: &str) -> String {
    format!("shoal:{package}")
}

/// The execution domain of one provider's feed actions: each invocation is one lifecycle
/// event for the provider. Costs what the provider's `handle` costs.
pub struct FeedExecutor {
    provider: Arc<dyn FeedProvider>,
    package: FeedPackage,
}

impl FeedExecutor {
    /// The executor of `provider`'s feed actions.
    pub fn new(provider: Arc<dyn FeedProvider>) -> Self {
        let package = provider.package();
        FeedExecutor { provider, package }
    }

    fn serves(&self, name: &str) -> bool {
        self.package.actions.iter().any(|a| a.name == name)
    }

    fn not_a_feed(&self, name: &str) -> String {
        format!("'{name}' is not a feed of package {}", self.package.name)
    }
}

impl Executor for FeedExecutor {
    fn name(&self) -> &'static str {
        self.package.name
    }

    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        match self.serves(&code.name) {
            true => Ok(()),
            false => Err(PrepareError(self.not_a_feed(&code.name))),
        }
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        let start = SystemTime::now();
        if !self.serves(&invocation.action.name) {
            let refused = Failure::DeveloperError(json!(self.not_a_feed(&invocation.action.name)));
            return Box::pin(std::future::ready(Outcome::failed(refused)));
        }
        let provider = Arc::clone(&self.provider);
        Box::pin(async move {
            let handled = provider
                .handle(
                    &invocation.action.name,
                    &invocation.params,
                    &invocation.env.namespace,
                )
                .await;
            let result = handled.map_err(|message| Failure::ApplicationError(json!(message)));
            Outcome::finished(result, Vec::new(), start, None)
        })
    }

    fn stats(&self) -> ExecutorStats {
        ExecutorStats {
            name: self.package.name,
            resident: self.provider.resident(),
            ..ExecutorStats::default()
        }
    }
}

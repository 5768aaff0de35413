//! The routing table: which kinds exist, how `family:default` resolves, and which executor
//! serves each kind.

use std::sync::Arc;

use crate::Executor;

/// One runtime kind as advertised in `GET /` and accepted in `exec.kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindInfo {
    /// Full kind, e.g. `nodejs:20`.
    pub kind: String,
    /// Whether `<family>:default` resolves to this kind.
    pub default: bool,
    /// Deprecated kinds can be read and deleted but not created, updated or invoked.
    pub deprecated: bool,
    /// Whether actions of this kind must name `exec.main`.
    pub require_main: bool,
    /// Image a container domain would use (informational for isolate domains).
    pub image: Option<String>,
    /// A kind only the platform's own actions use (e.g. the alarm feeds): routed like any
    /// other, but not advertised and not accepted from users.
    pub internal: bool,
}

impl KindInfo {
    /// A non-deprecated kind that needs no `main`.
    pub fn new(kind: &str, default: bool) -> Self {
        KindInfo {
            kind: kind.to_string(),
            default,
            deprecated: false,
            require_main: false,
            image: None,
            internal: false,
        }
    }

    /// A platform-internal kind (see [`KindInfo::internal`]).
    pub fn internal(kind: &str) -> Self {
        KindInfo {
            internal: true,
            ..KindInfo::new(kind, false)
        }
    }

    /// The family (text before `:`), e.g. `nodejs`.
    pub fn family(&self) -> &str {
        self.kind.split(':').next().unwrap_or(&self.kind)
    }
}

/// A kind no domain serves. Displays OpenWhisk's exact text, naming the supported kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "The specified runtime '{kind}' is not supported by this platform. Valid values are: {valid}."
)]
pub struct UnsupportedKind {
    /// The kind that was asked for.
    pub kind: String,
    /// The supported kinds, quoted and comma-separated.
    pub valid: String,
}

/// Why an action cannot be routed: its kind is not served, or its [`ENGINE_ANNOTATION`]
/// names an engine that does not serve the kind in this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// No domain serves the kind.
    #[error(transparent)]
    Kind(#[from] UnsupportedKind),
    /// The annotation names an engine this platform does not run for the kind.
    #[error(
        "The engine '{engine}' named by the action's 'engine' annotation does not run '{kind}' actions on this platform. Valid values are: {valid}."
    )]
    Engine {
        /// The engine the annotation names.
        engine: String,
        /// The action's kind.
        kind: String,
        /// The engines serving the kind, quoted and comma-separated.
        valid: String,
    },
}

/// The action annotation naming the engine an action wants among those serving its kind
/// (e.g. `{"key": "engine", "value": "v8"}`); see [`RoutingTable::executor_for`].
pub const ENGINE_ANNOTATION: &str = "engine";

/// The kind of actions that name their own image (`exec.image`).
pub const BLACKBOX: &str = "blackbox";

struct Entry {
    info: KindInfo,
    executor: Arc<dyn Executor>,
    /// Other executors serving this kind, chosen per action by [`ENGINE_ANNOTATION`].
    alternatives: Vec<Arc<dyn Executor>>,
}

/// Maps action kinds to executors. Built once at start-up by the host; read-only afterwards,
/// so lookups take no lock. Lookup cost: a linear scan of a handful of kinds.
#[derive(Default)]
pub struct RoutingTable {
    entries: Vec<Entry>,
}

impl std::fmt::Debug for RoutingTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.entries
                    .iter()
                    .map(|e| (&e.info.kind, e.executor.name())),
            )
            .finish()
    }
}

impl RoutingTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `info.kind` as served by `executor`. A later registration of the same kind
    /// replaces the earlier one (and its alternatives).
    pub fn add(&mut self, info: KindInfo, executor: Arc<dyn Executor>) {
        self.entries.retain(|e| e.info.kind != info.kind);
        self.entries.push(Entry {
            info,
            executor,
            alternatives: Vec::new(),
        });
    }

    /// Lets actions of the registered `kind` choose `executor` by naming it (its
    /// [`Executor::name`]) in their [`ENGINE_ANNOTATION`]. A later alternative with the same
    /// name replaces the earlier one.
    pub fn add_alternative(
        &mut self,
        kind: &str,
        executor: Arc<dyn Executor>,
    ) -> Result<(), UnsupportedKind> {
        let Some(entry) = self.entries.iter_mut().find(|e| e.info.kind == kind) else {
            return Err(self.unsupported(kind));
        };
        entry.alternatives.retain(|a| a.name() != executor.name());
        entry.alternatives.push(executor);
        Ok(())
    }

    /// Normalises a kind a user asked for (trim, lower-case) and resolves
    /// `<family>:default`. Internal kinds are not found here.
    pub fn resolve(&self, requested: &str) -> Result<&KindInfo, UnsupportedKind> {
        let k = requested.trim().to_ascii_lowercase();
        let mut public = self.entries.iter().filter(|e| !e.info.internal);
        let found = match k.strip_suffix(":default") {
            Some(family) => public.find(|e| e.info.default && e.info.family() == family),
            None => public.find(|e| e.info.kind == k),
        };
        found
            .map(|e| &e.info)
            .ok_or_else(|| self.unsupported(requested))
    }

    /// The executor serving an already resolved kind.
    pub fn executor(&self, kind: &str) -> Result<&Arc<dyn Executor>, UnsupportedKind> {
        self.entries
            .iter()
            .find(|e| e.info.kind == kind)
            .map(|e| &e.executor)
            .ok_or_else(|| self.unsupported(kind))
    }

    /// The executor for an action of an already resolved `kind` whose [`ENGINE_ANNOTATION`]
    /// is `engine`: the kind's own executor when none is named (or the one named is it), else
    /// the alternative of that name (ASCII case-insensitive). An engine that does not serve
    /// the kind here (say `v8` in a build without it) is an error, never a silent fallback.
    /// Same cost as [`RoutingTable::executor`] plus a scan of the kind's few alternatives.
    pub fn executor_for(
        &self,
        kind: &str,
        engine: Option<&str>,
    ) -> Result<&Arc<dyn Executor>, RouteError> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.info.kind == kind)
            .ok_or_else(|| self.unsupported(kind))?;
        let Some(wanted) = engine.map(str::trim) else {
            return Ok(&entry.executor);
        };
        std::iter::once(&entry.executor)
            .chain(&entry.alternatives)
            .find(|e| e.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let valid: Vec<String> = std::iter::once(&entry.executor)
                    .chain(&entry.alternatives)
                    .map(|e| format!("'{}'", e.name()))
                    .collect();
                RouteError::Engine {
                    engine: wanted.to_string(),
                    kind: kind.to_string(),
                    valid: valid.join(", "),
                }
            })
    }

    /// Every kind users may use, with the name of its executor, in registration order.
    pub fn kinds(&self) -> impl Iterator<Item = (&KindInfo, &'static str)> {
        self.entries
            .iter()
            .filter(|e| !e.info.internal)
            .map(|e| (&e.info, e.executor.name()))
    }

    /// Every distinct executor, in registration order.
    pub fn executors(&self) -> Vec<Arc<dyn Executor>> {
        let mut out: Vec<Arc<dyn Executor>> = Vec::new();
        for executor in self
            .entries
            .iter()
            .flat_map(|e| std::iter::once(&e.executor).chain(&e.alternatives))
        {
            if !out.iter().any(|x| Arc::ptr_eq(x, executor)) {
                out.push(executor.clone());
            }
        }
        out
    }

    fn unsupported(&self, kind: &str) -> UnsupportedKind {
        let valid: Vec<String> = self.kinds().map(|(k, _)| format!("'{}'", k.kind)).collect();
        UnsupportedKind {
            kind: kind.to_string(),
            valid: valid.join(", "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ActionCode, BoxFuture, ExecutorStats, Failure, Invocation, Outcome, PrepareError};

    struct Fake(&'static str);
    impl Executor for Fake {
        fn name(&self) -> &'static str {
            self.0
        }
        fn prepare(&self, _: &ActionCode) -> Result<(), PrepareError> {
            Ok(())
        }
        fn invoke(&self, _: Invocation) -> BoxFuture<Outcome> {
            Box::pin(async { Outcome::failed(Failure::Internal("fake".into())) })
        }
        fn stats(&self) -> ExecutorStats {
            ExecutorStats::default()
        }
    }

    fn table() -> RoutingTable {
        let js: Arc<dyn Executor> = Arc::new(Fake("js"));
        let mut t = RoutingTable::new();
        t.add(KindInfo::new("nodejs:18", false), js.clone());
        t.add(KindInfo::new("nodejs:20", true), js);
        t
    }

    #[test]
    fn default_resolves_to_family_default() {
        let t = table();
        assert_eq!(t.resolve("nodejs:default").unwrap().kind, "nodejs:20");
        assert_eq!(t.resolve(" NodeJS:18 ").unwrap().kind, "nodejs:18");
        assert_eq!(t.executor("nodejs:20").unwrap().name(), "js");
    }

    #[test]
    fn unknown_kind_names_the_supported_ones() {
        let err = table().resolve("python:3").unwrap_err();
        assert_eq!(
            err.to_string(),
            "The specified runtime 'python:3' is not supported by this platform. Valid values are: 'nodejs:18', 'nodejs:20'."
        );
    }

    #[test]
    fn internal_kinds_are_routed_but_not_offered() {
        let mut t = table();
        t.add(KindInfo::internal("shoal:feed"), Arc::new(Fake("feed")));
        assert_eq!(t.executor("shoal:feed").unwrap().name(), "feed");
        assert!(t.resolve("shoal:feed").is_err());
        assert!(t.kinds().all(|(k, _)| k.kind != "shoal:feed"));
        assert!(!t.resolve("python:3").unwrap_err().valid.contains("feed"));
    }

    #[test]
    fn executors_are_deduplicated() {
        assert_eq!(table().executors().len(), 1);
    }

    #[test]
    fn the_engine_annotation_picks_an_alternative_executor() {
        let mut t = table();
        let fast: Arc<dyn Executor> = Arc::new(Fake("v8"));
        t.add_alternative("nodejs:20", fast.clone()).unwrap();
        let pick = |engine| t.executor_for("nodejs:20", engine).unwrap().name();
        assert_eq!(pick(Some("v8")), "v8");
        assert_eq!(pick(Some(" V8 ")), "v8");
        assert_eq!(pick(None), "js");
        assert_eq!(pick(Some("js")), "js", "the kind's own engine by name");
        let unknown = t
            .executor_for("nodejs:20", Some("spidermonkey"))
            .err()
            .unwrap();
        assert_eq!(
            unknown.to_string(),
            "The engine 'spidermonkey' named by the action's 'engine' annotation does not run 'nodejs:20' actions on this platform. Valid values are: 'js', 'v8'."
        );
        assert!(
            t.executor_for("nodejs:18", Some("v8")).is_err(),
            "alternatives are per kind: no silent fallback"
        );
        assert!(t.executor_for("python:3", Some("v8")).is_err());
        assert!(t.add_alternative("python:3", fast).is_err());
        assert_eq!(t.executors().len(), 2);
        assert_eq!(t.kinds().count(), 2, "alternatives add no kinds");
    }
}

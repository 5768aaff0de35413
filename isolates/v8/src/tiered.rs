//! Tiered placement: an action starts on a baseline JS engine (QuickJS: fast cold start,
//! small isolates) and moves to an optimizing one (V8) once its warm runs prove slow.

use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use serde_json::json;
use shoal_router::{
    ActionCode, BoxFuture, Executor, ExecutorStats, Failure, Invocation, Outcome, PrepareError,
};

/// The executor name actions ask for with `engine: "tiered"`.
const NAME: &str = "tiered";

/// The activation annotation saying which engine ran the activation and, once moved, why.
pub const TIER_ANNOTATION: &str = "tier";

/// When an action moves from the baseline to the optimizing engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TieredConfig {
    /// A warm run taking longer than this (start to end, on the baseline) counts as slow.
    pub threshold: Duration,
    /// This many consecutive slow warm runs move the action; a fast one resets the count.
    pub slow_runs: u32,
}

impl Default for TieredConfig {
    fn default() -> Self {
        TieredConfig {
            threshold: Duration::from_millis(50),
            slow_runs: 3,
        }
    }
}

/// One action's code for one tenant: (tenant, fully qualified name, code digest).
type ActionKey = (Arc<str>, String, [u8; 32]);

/// What is known of one action version of one tenant.
#[derive(Debug, Default)]
struct Tier {
    /// Consecutive slow warm runs on the baseline.
    slow: u32,
    /// Why the action moved, once it has.
    moved: Option<String>,
}

/// Places each action on `baseline` until its warm runs stay above the threshold, then on
/// `optimizing` for good (until the process restarts). Never changes results: both engines
/// implement the same ABI; only where the code runs changes, and every activation's
/// [`TIER_ANNOTATION`] says where and why. Holds one small record per (tenant, action
/// version) invoked, for the executor's life.
pub struct TieredExecutor {
    baseline: Arc<dyn Executor>,
    optimizing: Arc<dyn Executor>,
    config: TieredConfig,
    tiers: Arc<DashMap<ActionKey, Tier>>,
}

impl TieredExecutor {
    /// Tiers between two executors serving the same kinds.
    pub fn new(
        baseline: Arc<dyn Executor>,
        optimizing: Arc<dyn Executor>,
        config: TieredConfig,
    ) -> Self {
        TieredExecutor {
            baseline,
            optimizing,
            config,
            tiers: Arc::new(DashMap::new()),
        }
    }
}

impl Executor for TieredExecutor {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Both engines must accept the code, since either may run it.
    fn prepare(&self, code: &ActionCode) -> Result<(), PrepareError> {
        self.baseline.prepare(code)?;
        self.optimizing.prepare(code)
    }

    fn invoke(&self, invocation: Invocation) -> BoxFuture<Outcome> {
        let key = (
            Arc::clone(&invocation.tenant),
            invocation.action.fqn.clone(),
            invocation.action.digest,
        );
        let moved = self.tiers.get(&key).and_then(|t| t.moved.clone());
        if let Some(why) = moved {
            let running = self.optimizing.invoke(invocation);
            let engine = self.optimizing.name();
            return Box::pin(async move {
                let mut outcome = running.await;
                let note = json!({"engine": engine, "moved": why});
                outcome.annotations.push((TIER_ANNOTATION.into(), note));
                outcome
            });
        }
        let running = self.baseline.invoke(invocation);
        let (baseline, optimizing) = (self.baseline.name(), self.optimizing.name());
        let (config, tiers) = (self.config, Arc::clone(&self.tiers));
        Box::pin(async move {
            let mut outcome = running.await;
            let took = outcome
                .end
                .duration_since(outcome.start)
                .unwrap_or_default();
            // Only warm runs that ran the action to an answer say how fast it is.
            let measured = outcome.init_ms.is_none()
                && matches!(outcome.result, Ok(_) | Err(Failure::ApplicationError(_)));
            if measured {
                let mut tier = tiers.entry(key).or_default();
                if took > config.threshold {
                    tier.slow += 1;
                } else {
                    tier.slow = 0;
                }
                if tier.slow >= config.slow_runs && tier.moved.is_none() {
                    tier.moved = Some(format!(
                        "{} consecutive warm runs on {baseline} over {} ms (last {} ms): moved to {optimizing}",
                        tier.slow,
                        config.threshold.as_millis(),
                        took.as_millis()
                    ));
                }
            }
            let note = json!({"engine": baseline});
            outcome.annotations.push((TIER_ANNOTATION.into(), note));
            outcome
        })
    }

    /// Trims both engines.
    fn trim(&self) -> BoxFuture<()> {
        let both = [self.baseline.trim(), self.optimizing.trim()];
        Box::pin(async move {
            for trim in both {
                trim.await;
            }
        })
    }

    /// The two engines' figures added up (each also reports its own).
    fn stats(&self) -> ExecutorStats {
        let (a, b) = (self.baseline.stats(), self.optimizing.stats());
        ExecutorStats {
            name: NAME,
            resident: a.resident + b.resident,
            resident_bytes: a.resident_bytes + b.resident_bytes,
            cold_starts: a.cold_starts + b.cold_starts,
            activations: a.activations + b.activations,
            evictions: a.evictions + b.evictions,
            hand_offs: 0,
        }
    }
}

//! Which JS engine runs a `nodejs:*` action: `isolates.js_engine` for actions that name none,
//! their `engine` annotation for those that do. QuickJS is always built in; the `v8` feature
//! adds V8 and tiered placement (QuickJS first, V8 for good once an action's warm runs stay
//! over `isolates.tiering_threshold_ms`).

use std::sync::Arc;

use shoal_router::{EgressSlot, Executor};

use crate::config::Config;

/// The JS engines of the routing table. Built once at start-up; lives with the table.
pub struct JsEngines {
    /// Runs `nodejs:*` actions that name no engine (the configured `js_engine`).
    pub default: Arc<dyn Executor>,
    /// The other engines, which actions choose by name in their `engine` annotation.
    pub alternatives: Vec<Arc<dyn Executor>>,
    /// The engines that hold isolates themselves (QuickJS, V8; not tiered placement, which
    /// uses theirs): what the memory budget counts and trims.
    pub isolates: Vec<Arc<dyn Executor>>,
}

/// Starts the JS engines `config` asks for around the already running QuickJS workers (V8
/// starts its own workers, one per core unless configured, sending actions' outbound requests
/// to `egress`). Fails, saying why, when the configured default engine is not built in.
pub fn js_engines(
    config: &Config,
    quickjs: Arc<dyn Executor>,
    egress: &EgressSlot,
) -> Result<JsEngines, String> {
    let wanted = config.isolates.js_engine;
    wanted.available()?;
    let mut engines = vec![quickjs];
    #[cfg(feature = "v8")]
    engines.extend(v8_engines(config, &engines[0], egress)?);
    #[cfg(not(feature = "v8"))]
    let _ = egress;
    let isolates = engines
        .iter()
        .filter(|e| e.name() != "tiered")
        .cloned()
        .collect();
    let at = engines
        .iter()
        .position(|e| e.name() == wanted.name())
        .ok_or_else(|| format!("no JS engine named {}", wanted.name()))?;
    let default = engines.remove(at);
    Ok(JsEngines {
        default,
        alternatives: engines,
        isolates,
    })
}

/// V8 (always V8) and tiered placement between `quickjs` and that V8.
#[cfg(feature = "v8")]
fn v8_engines(
    config: &Config,
    quickjs: &Arc<dyn Executor>,
    egress: &EgressSlot,
) -> Result<[Arc<dyn Executor>; 2], String> {
    use std::time::Duration;
    let isolates = &config.isolates;
    let v8: Arc<dyn Executor> = Arc::new(
        shoal_v8::V8Executor::with_egress(
            shoal_v8::V8Config {
                workers: config.worker_threads(),
                idle_ttl: Duration::from_secs(isolates.idle_ttl_secs),
                ..shoal_v8::V8Config::default()
            },
            Arc::clone(egress),
        )
        .map_err(|e| e.to_string())?,
    );
    let tiered = shoal_v8::TieredExecutor::new(
        Arc::clone(quickjs),
        Arc::clone(&v8),
        shoal_v8::TieredConfig {
            threshold: Duration::from_millis(isolates.tiering_threshold_ms),
            slow_runs: isolates.tiering_slow_runs,
        },
    );
    Ok([v8, Arc::new(tiered)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JsEngine;
    use shoal_quickjs::{QuickJsConfig, QuickJsExecutor};

    fn quickjs() -> Arc<dyn Executor> {
        Arc::new(
            QuickJsExecutor::new(QuickJsConfig {
                workers: 1,
                ..QuickJsConfig::default()
            })
            .unwrap(),
        )
    }

    fn config(js_engine: JsEngine) -> Config {
        let mut config = Config::default();
        config.isolates.workers = 1;
        config.isolates.js_engine = js_engine;
        config
    }

    #[test]
    fn quickjs_is_the_default_engine() {
        let engines = js_engines(&Config::default(), quickjs(), &EgressSlot::default()).unwrap();
        assert_eq!(engines.default.name(), "quickjs");
    }

    #[cfg(not(feature = "v8"))]
    #[test]
    fn choosing_v8_without_the_v8_feature_is_a_start_up_error() {
        for engine in [JsEngine::V8, JsEngine::Tiered] {
            let Err(why) = js_engines(&config(engine), quickjs(), &EgressSlot::default()) else {
                panic!("{engine:?} started without V8");
            };
            assert!(why.contains("v8 feature"), "{why}");
        }
    }

    #[cfg(feature = "v8")]
    #[test]
    fn the_configured_engine_runs_unannotated_actions_and_the_others_stay_selectable() {
        for engine in [JsEngine::Quickjs, JsEngine::V8, JsEngine::Tiered] {
            let engines = js_engines(&config(engine), quickjs(), &EgressSlot::default()).unwrap();
            let mut names: Vec<_> = engines.alternatives.iter().map(|e| e.name()).collect();
            assert_eq!(engines.default.name(), engine.name());
            names.push(engines.default.name());
            names.sort_unstable();
            assert_eq!(names, ["quickjs", "tiered", "v8"], "{engine:?}");
        }
    }
}

/// The JS suite on tiered placement (which must never change a result), and tiering itself.
#[cfg(all(test, feature = "v8"))]
mod tiering_tests {
    use serde_json::json;
    use shoal_isolates::suite::{Settings, action, invocation};
    use shoal_quickjs::{QuickJsConfig, QuickJsExecutor};
    use shoal_router::Outcome;
    use shoal_v8::{TIER_ANNOTATION, TieredConfig, TieredExecutor, V8Config, V8Executor};

    use super::*;
    use crate::config::JsEngine;

    /// Tiered placement over engines started from the suite's settings.
    fn tiered(settings: Settings) -> Arc<dyn Executor> {
        let egress = shoal_isolates::suite::echo_egress();
        let quickjs = QuickJsExecutor::with_egress(
            QuickJsConfig {
                workers: settings.workers,
                max_resident: settings.max_resident,
                idle_ttl: settings.idle_ttl,
                ..QuickJsConfig::default()
            },
            Arc::clone(&egress),
        )
        .unwrap();
        let v8 = V8Executor::with_egress(
            V8Config {
                workers: settings.workers,
                max_resident: settings.max_resident,
                idle_ttl: settings.idle_ttl,
                ..V8Config::default()
            },
            egress,
        )
        .unwrap();
        let tiering = TieredConfig::default();
        Arc::new(TieredExecutor::new(
            Arc::new(quickjs),
            Arc::new(v8),
            tiering,
        ))
    }

    shoal_isolates::js_action_suite!(tiered);

    fn tier(out: &Outcome) -> serde_json::Value {
        let found = out.annotations.iter().find(|(k, _)| k == TIER_ANNOTATION);
        found.map(|(_, v)| v.clone()).expect("a tier annotation")
    }

    #[tokio::test]
    async fn a_compute_heavy_action_moves_to_v8_with_unchanged_results() {
        let mut config = Config::default();
        config.isolates.workers = 1;
        config.isolates.js_engine = JsEngine::Tiered;
        config.isolates.tiering_threshold_ms = 20;
        config.isolates.tiering_slow_runs = 2;
        let quickjs: Arc<dyn Executor> = Arc::new(
            QuickJsExecutor::new(QuickJsConfig {
                workers: 1,
                ..QuickJsConfig::default()
            })
            .unwrap(),
        );
        let tiered = js_engines(&config, quickjs, &EgressSlot::default())
            .unwrap()
            .default;
        // A hash of 100K numbers, then a sort of them: the same answer on both engines,
        // ~10x faster on V8.
        let heavy = action(
            "heavy",
            "function main(p) { let h = p.seed; for (let i = 0; i < 100000; i++) { h = Math.imul(h ^ i, 16777619) >>> 0; } const a = []; for (let i = 0; i < 100000; i++) { h = Math.imul(h, 16777619) >>> 0; a.push(h); } a.sort((x, y) => x - y); return {h, min: a[0], max: a[a.length - 1]}; }",
            "main",
        );
        let light = action("light", "function main() { return {ok: true}; }", "main");
        let mut engines = Vec::new();
        let mut results = Vec::new();
        for _ in 0..5 {
            let out = tiered
                .invoke(invocation(&heavy, "guest", json!({"seed": 7}), 60_000))
                .await;
            engines.push(tier(&out)["engine"].clone());
            results.push(out.result.clone().unwrap());
            let fast = tiered
                .invoke(invocation(&light, "guest", json!({}), 5_000))
                .await;
            assert_eq!(tier(&fast), json!({"engine": "quickjs"}), "fast stays");
        }
        // Cold (not measured), then two slow warm runs on QuickJS; V8 from then on.
        assert_eq!(engines, ["quickjs", "quickjs", "quickjs", "v8", "v8"]);
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
        let moved = tiered
            .invoke(invocation(&heavy, "guest", json!({"seed": 7}), 60_000))
            .await;
        let why = tier(&moved)["moved"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            why.contains("2 consecutive warm runs on quickjs over 20 ms"),
            "{why}"
        );
        assert_eq!(tiered.stats().name, "tiered");
        assert_eq!(tier(&moved)["engine"], "v8");
    }
}

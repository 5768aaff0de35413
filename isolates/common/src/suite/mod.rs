//! The JS action test suite every JS engine must pass (cargo feature `test-suite`, for the
//! engines' tests only). It is written against `Arc<dyn Executor>` alone, so one suite holds
//! for QuickJS, V8 and any placement between them: the action ABI and every entry-point form,
//! Promises, `console` logs, `process.env.__OW_*`, timers, errors and their classification,
//! timeouts, the memory limit, warm reuse, isolation between tenants and between actions,
//! eviction and the idle TTL. Where engines legitimately differ (the wording of a syntax
//! error, heap sizes) it asserts only the OpenWhisk-visible contract.
//!
//! An engine's integration tests run it with one line, giving a function that starts the
//! engine from [`Settings`] (with [`echo_egress`] as its egress):
//!
//! ```ignore
//! shoal_isolates::js_action_suite!(|settings| std::sync::Arc::new(MyExecutor::new(settings)));
//! ```
//!
//! which expands to one `#[test]` per check of [`checks`], each on its own executor and its
//! own two-thread tokio runtime.

mod cases;
pub mod checks;
mod egress;
pub mod node;

pub use egress::echo_egress;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use shoal_router::{ActionCode, ActivationId, Executor, Failure, Invocation, Limits, OwEnv};

/// What a check asks of the executor it starts; engines map these onto their own configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Worker threads.
    pub workers: usize,
    /// Most isolates resident at once, executor-wide.
    pub max_resident: usize,
    /// An idle isolate unused this long is dropped.
    pub idle_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            workers: 1,
            max_resident: 1_000,
            idle_ttl: Duration::from_secs(600),
        }
    }
}

/// Starts the engine under test.
pub type Make = fn(Settings) -> Arc<dyn Executor>;

/// Runs one check to completion on a fresh two-thread tokio runtime (what the macro's tests
/// call). Panics when the check fails.
pub fn run<F, Fut>(make: Make, check: F)
where
    F: FnOnce(Make) -> Fut,
    Fut: Future<Output = ()>,
{
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the JS suite")
        .block_on(check(make));
}

/// One `#[test]` per check of [`checks`], each starting the engine with `$make` (a closure or
/// function `fn(Settings) -> Arc<dyn Executor>`). Add a new check to this list too.
#[macro_export]
macro_rules! js_action_suite {
    ($make:expr) => {
        $crate::js_action_suite!(@each $make;
            the_case_table_passes,
            a_rejected_error_keeps_name_message_and_stack,
            console_output_is_captured_per_activation,
            process_env_has_ow_variables_and_init_params,
            process_env_reached_late_holds_the_running_activations_variables,
            warm_isolates_keep_globals_and_report_init_only_when_cold,
            tenants_and_actions_never_share_globals,
            an_infinite_loop_times_out_and_everything_keeps_serving,
            async_actions_time_out_without_blocking_their_worker,
            a_memory_bomb_is_stopped_at_the_limit_and_everything_keeps_serving,
            array_buffers_count_against_the_memory_limit,
            engine_internals_and_uncounted_memory_stay_out_of_reach,
            a_result_too_big_to_serialise_fails_and_everything_keeps_serving,
            a_result_over_the_limit_is_refused_in_the_isolate,
            prepare_rejects_syntax_errors,
            concurrent_invocations_and_evictions_interleave_safely,
            least_recently_used_isolates_are_evicted_over_the_resident_limit,
            idle_isolates_expire_after_the_ttl,
            trim_drops_every_idle_isolate,
            results_nest_up_to_the_json_depth_limit,
        );
        $crate::js_action_suite!(@node $make;
            zip_actions_load_their_entry_with_node_resolution,
            broken_zips_fail_at_initialisation,
            single_file_actions_require_builtins,
            builtins_behave_as_in_node,
            crypto_signs_and_encrypts_as_node_does,
            the_loader_never_hands_host_to_action_code,
            outbound_requests_reach_the_egress_and_its_errors_come_back,
        );
    };
    (@node $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::suite::run($make, $crate::suite::node::$check);
            }
        )*
    };
    (@each $make:expr; $($check:ident),* $(,)?) => {
        $(
            #[test]
            fn $check() {
                $crate::suite::run($make, $crate::suite::checks::$check);
            }
        )*
    };
}

/// A number unique in the process: distinct digests and activation ids for every action and
/// invocation, so no two checks ever share an isolate by accident.
fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A `nodejs:20` action `/guest/<name>` with its own code digest.
pub fn action(name: &str, code: &str, main: &str) -> Arc<ActionCode> {
    action_of(name, code, main, false)
}

/// A `nodejs:20` action whose code is base64 (a zip) when `binary`.
pub fn action_of(name: &str, code: &str, main: &str, binary: bool) -> Arc<ActionCode> {
    let mut digest = [0u8; 32];
    digest[..8].copy_from_slice(&unique().to_le_bytes());
    Arc::new(ActionCode {
        fqn: format!("/guest/{name}"),
        name: name.to_string(),
        version: "0.0.1".into(),
        kind: "nodejs:20".into(),
        code: code.into(),
        binary,
        main: main.into(),
        digest,
        image: None,
        host_tags: Default::default(),
    })
}

/// The parameters of a JSON object (anything else: none).
pub fn params(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// An activation of `action` for `tenant` with 128 MiB and a `timeout_ms` deadline from now.
pub fn invocation(
    action: &Arc<ActionCode>,
    tenant: &str,
    args: Value,
    timeout_ms: u64,
) -> Invocation {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&unique().to_le_bytes());
    let activation_id = ActivationId::from_random(id);
    Invocation {
        activation_id,
        action: Arc::clone(action),
        tenant: tenant.into(),
        params: params(args),
        init_env: Map::new(),
        env: OwEnv {
            api_host: "https://shoal.test".into(),
            api_key: None,
            namespace: tenant.into(),
            action_name: action.fqn.clone(),
            action_version: action.version.clone(),
            activation_id: activation_id.to_string(),
            transaction_id: "tid-1".into(),
            deadline: "1700000000000".into(),
        },
        limits: Limits {
            timeout_ms,
            memory_mb: 128,
            ..Limits::default()
        },
        deadline: Instant::now() + Duration::from_millis(timeout_ms),
    }
}

/// What an activation must produce.
pub enum Expect {
    /// Success with exactly this result.
    Ok(Value),
    /// `Failure::ApplicationError` with exactly this value.
    AppError(Value),
    /// `Failure::DeveloperError` whose text starts with this.
    DevError(&'static str),
}

/// Panics (naming `name`) unless `result` is what `expect` says.
pub fn check(name: &str, result: &Result<Value, Failure>, expect: &Expect) {
    match (expect, result) {
        (Expect::Ok(want), Ok(got)) => assert_eq!(got, want, "{name}"),
        (Expect::AppError(want), Err(Failure::ApplicationError(got))) => {
            assert_eq!(got, want, "{name}")
        }
        (Expect::DevError(prefix), Err(Failure::DeveloperError(Value::String(got)))) => {
            assert!(got.starts_with(prefix), "{name}: {got:?} vs {prefix:?}")
        }
        (_, got) => panic!("{name}: unexpected {got:?}"),
    }
}

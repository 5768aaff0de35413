//! Integration tests of the V8 execution domain: the JS action suite every JS engine passes
//! (`shoal_isolates::suite`), driven through `Arc<dyn Executor>` the way the host drives it.
//! Tiering between QuickJS and V8 is tested where both engines meet, in the host.

use std::sync::Arc;

use shoal_isolates::suite::Settings;
use shoal_router::Executor;
use shoal_v8::{V8Config, V8Executor};

fn v8(settings: Settings) -> Arc<dyn Executor> {
    Arc::new(
        V8Executor::with_egress(
            V8Config {
                workers: settings.workers,
                max_resident: settings.max_resident,
                idle_ttl: settings.idle_ttl,
                ..V8Config::default()
            },
            shoal_isolates::suite::echo_egress(),
        )
        .expect("the V8 executor starts"),
    )
}

shoal_isolates::js_action_suite!(v8);

//! The gateway's rate limits (`x-ibm-rate-limit`): one token bucket per API and key (or per
//! API when it takes no keys). A bucket holds `rate` tokens and refills at `rate` per window,
//! so a caller may spend a window's budget at once and then one request per `window / rate`.

use std::time::{Duration, Instant};

use dashmap::DashMap;
use foldhash::fast::RandomState;
use parking_lot::Mutex;

use super::apidoc::RateLimit;

/// Most buckets kept. Buckets exist only for existing APIs and subscribed keys; past this,
/// buckets idle for a whole window (which a fresh bucket equals) are dropped, and when none
/// is, new callers are refused (429) rather than let through unmetered.
const MAX_BUCKETS: usize = 262_144;
/// Least time between two sweeps of the whole table for idle buckets.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
    /// The window of the limit it meters, in seconds.
    window: f64,
}

/// Token buckets by namespace, base path and key; at most `MAX_BUCKETS`.
pub struct Limiter {
    buckets: DashMap<(String, String, String), Bucket, RandomState>,
    last_sweep: Mutex<Instant>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter {
            buckets: DashMap::default(),
            last_sweep: Mutex::new(Instant::now()),
        }
    }
}

impl Limiter {
    /// Takes one request from the bucket of (`namespace`, `base_path`, `key`); false when it is
    /// empty (answer 429). A few hash-map operations; a full table costs a sweep at most once
    /// a second.
    pub fn admit(&self, namespace: &str, base_path: &str, key: &str, limit: RateLimit) -> bool {
        let now = Instant::now();
        let rate = limit.rate as f64;
        let window = limit.per_seconds as f64;
        let id = (
            namespace.to_string(),
            base_path.to_string(),
            key.to_string(),
        );
        if self.buckets.len() >= MAX_BUCKETS && !self.buckets.contains_key(&id) && !self.sweep(now)
        {
            return false;
        }
        let mut bucket = self.buckets.entry(id).or_insert(Bucket {
            tokens: rate,
            last: now,
            window,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * rate / window;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.last = now;
        bucket.window = window;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Drops the buckets idle for their whole window (they are full again); true when that
    /// made room. Sweeps at most once per [`SWEEP_EVERY`].
    fn sweep(&self, now: Instant) -> bool {
        {
            let mut last = self.last_sweep.lock();
            if now.duration_since(*last) < SWEEP_EVERY {
                return false;
            }
            *last = now;
        }
        self.buckets
            .retain(|_, b| now.duration_since(b.last).as_secs_f64() < b.window);
        self.buckets.len() < MAX_BUCKETS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_rate_then_refuses_and_is_per_key() {
        let limiter = Limiter::default();
        // One request per day after the first three: no refill within the test.
        let limit = RateLimit {
            rate: 3,
            per_seconds: 3 * 86_400,
        };
        for _ in 0..3 {
            assert!(limiter.admit("ns", "/a", "k1", limit));
        }
        assert!(
            !limiter.admit("ns", "/a", "k1", limit),
            "fourth within the window"
        );
        assert!(
            limiter.admit("ns", "/a", "k2", limit),
            "another key has its own bucket"
        );
        assert!(
            limiter.admit("ns", "/b", "k1", limit),
            "another API has its own bucket"
        );
        assert!(
            limiter.admit("other", "/a", "k1", limit),
            "another namespace too"
        );
    }
}

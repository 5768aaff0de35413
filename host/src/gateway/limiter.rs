//! The gateway's rate limits (`x-ibm-rate-limit`): one token bucket per API and key (or per
//! API when it takes no keys). A bucket holds `rate` tokens and refills at `rate` per window,
//! so a caller may spend a window's budget at once and then one token per `window / rate`.

use std::time::Instant;

use dashmap::DashMap;
use foldhash::fast::RandomState;

use super::apidoc::RateLimit;

/// Buckets kept before full ones (those idle for a whole window, which a fresh bucket
/// equals) are dropped.
const MAX_BUCKETS: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by `namespace`, base path and key. Bounded: buckets are only made for
/// existing APIs and subscribed keys, and idle ones are dropped past [`MAX_BUCKETS`].
#[derive(Default)]
pub struct Limiter {
    buckets: DashMap<(String, String, String), Bucket, RandomState>,
}

impl Limiter {
    /// Takes one request from the bucket of (`namespace`, `base_path`, `key`); false when it is
    /// empty (answer 429). A few hash-map operations.
    pub fn admit(&self, namespace: &str, base_path: &str, key: &str, limit: RateLimit) -> bool {
        let now = Instant::now();
        let rate = limit.rate as f64;
        let per_second = rate / limit.per_seconds as f64;
        let id = (
            namespace.to_string(),
            base_path.to_string(),
            key.to_string(),
        );
        if self.buckets.len() >= MAX_BUCKETS && !self.buckets.contains_key(&id) {
            let window = limit.per_seconds as f64;
            self.buckets
                .retain(|_, b| now.duration_since(b.last).as_secs_f64() < window);
        }
        let mut bucket = self.buckets.entry(id).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
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

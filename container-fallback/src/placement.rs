//! Which container host runs an activation. [`qualify`] keeps the hosts that can (up, of an
//! architecture the image exists for, carrying the action's tags, big enough for its memory)
//! and names the unmet constraint when none can; a [`Placement`] policy picks one of them.
//!
//! Two policies: [`Home`] (the default) keeps each action on a stable home host, chosen by
//! rendezvous hashing among the hosts that qualify, and spills over to the next one in its
//! order when the home host has no room, so warm containers get reused and adding or losing
//! a host moves only the actions homed there; [`LeastLoaded`] spreads activations to the host
//! with the most free memory. A decision costs one hash mix per qualifying host and a look at
//! the idle containers of the hosts tried.

use std::fmt;

use crate::pool::{PROVISION_FAILED, WarmKey};

/// What placement sees of a host. Implemented by the executor's hosts, and by models in the
/// tests and benchmarks.
pub trait Slot {
    /// A hash of the host's name: its place in every action's rendezvous order.
    fn name_hash(&self) -> u64;
    /// Whether it may take activations: answering its health checks, and still configured.
    fn up(&self) -> bool;
    /// Its CPU architecture (Go's names).
    fn architecture(&self) -> &str;
    /// Whether it carries `tag`.
    fn has_tag(&self, tag: &str) -> bool;
    /// MB of containers it may hold at once.
    fn capacity_mb(&self) -> u64;
    /// MB not held by busy or starting containers (idle and prewarmed ones can be evicted).
    fn free_mb(&self) -> u64;
    /// Whether an idle container is kept warm there for `key`.
    fn has_warm(&self, key: &WarmKey) -> bool;
}

impl<S: Slot> Slot for std::sync::Arc<S> {
    fn name_hash(&self) -> u64 {
        (**self).name_hash()
    }
    fn up(&self) -> bool {
        (**self).up()
    }
    fn architecture(&self) -> &str {
        (**self).architecture()
    }
    fn has_tag(&self, tag: &str) -> bool {
        (**self).has_tag(tag)
    }
    fn capacity_mb(&self) -> u64 {
        (**self).capacity_mb()
    }
    fn free_mb(&self) -> u64 {
        (**self).free_mb()
    }
    fn has_warm(&self, key: &WarmKey) -> bool {
        (**self).has_warm(key)
    }
}

/// What an activation needs of a host.
#[derive(Debug, Clone, Copy)]
pub struct Demand<'a> {
    /// Its warm key: its home among hosts, and whose warm container it can reuse.
    pub key: &'a WarmKey,
    /// The image it runs (named in errors).
    pub image: &'a str,
    /// The architectures the image exists for; `None` when unknown (the host's engine then
    /// checks the image before it starts a container).
    pub architectures: Option<&'a [String]>,
    /// Tags a host must all carry.
    pub tags: &'a [String],
    /// Whether hosts without the tags are refused even when no host with them is up.
    pub strict: bool,
    /// Its memory limit, in MB.
    pub memory_mb: u64,
}

/// A placement policy: picks one of the hosts that qualify.
pub trait Placement: Send + Sync {
    /// The policy's name in config and in `GET /api/v1/nodes`.
    fn name(&self) -> &'static str;
    /// The index (into `hosts`) of the host to run on. `candidates` holds the indexes of the
    /// hosts that qualify; it is never empty.
    fn choose<S: Slot>(&self, demand: &Demand<'_>, hosts: &[S], candidates: &[usize]) -> usize
    where
        Self: Sized;
}

/// The policies config can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// [`Home`].
    Home(Home),
    /// [`LeastLoaded`].
    LeastLoaded(LeastLoaded),
}

impl Policy {
    /// The policy named `name` in config (`home` or `least-loaded`).
    pub fn named(name: &str) -> Option<Policy> {
        match name {
            "home" => Some(Policy::Home(Home)),
            "least-loaded" => Some(Policy::LeastLoaded(LeastLoaded)),
            _ => None,
        }
    }

    /// Its name in config.
    pub fn name(&self) -> &'static str {
        match self {
            Policy::Home(p) => p.name(),
            Policy::LeastLoaded(p) => p.name(),
        }
    }

    /// The host for `demand` among `hosts`, or why none qualifies.
    pub fn place<S: Slot>(&self, demand: &Demand<'_>, hosts: &[S]) -> Result<usize, Unplaced> {
        let candidates = qualify(demand, hosts)?;
        Ok(match self {
            Policy::Home(p) => p.choose(demand, hosts, &candidates),
            Policy::LeastLoaded(p) => p.choose(demand, hosts, &candidates),
        })
    }
}

/// Stable home host per action (rendezvous hashing), spilling over in the action's order when
/// the home host has neither a warm container for it nor room; when none has room, the home
/// host (where the activation waits for capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Home;

impl Placement for Home {
    fn name(&self) -> &'static str {
        "home"
    }

    fn choose<S: Slot>(&self, demand: &Demand<'_>, hosts: &[S], candidates: &[usize]) -> usize {
        let action = demand.key.home_hash();
        let mut order: Vec<(u64, usize)> = candidates
            .iter()
            .map(|&i| (mix(action ^ hosts[i].name_hash()), i))
            .collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        order
            .iter()
            .map(|&(_, i)| i)
            .find(|&i| hosts[i].has_warm(demand.key) || hosts[i].free_mb() >= demand.memory_mb)
            .unwrap_or(order[0].1)
    }
}

/// The host with the most free memory (the first of those tied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeastLoaded;

impl Placement for LeastLoaded {
    fn name(&self) -> &'static str {
        "least-loaded"
    }

    fn choose<S: Slot>(&self, _: &Demand<'_>, hosts: &[S], candidates: &[usize]) -> usize {
        let mut best = candidates[0];
        for &i in &candidates[1..] {
            if hosts[i].free_mb() > hosts[best].free_mb() {
                best = i;
            }
        }
        best
    }
}

/// SplitMix64's finaliser: spreads a combined key over all 64 bits, so every host is first
/// in the order of an equal share of actions.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Why no host can run an activation: the first constraint, in the order checked, that
/// leaves none. Its text is the activation's whisk internal error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unplaced {
    /// No host is configured, or none answers.
    NoneUp {
        /// How many are configured.
        configured: usize,
    },
    /// No host that is up runs an architecture the image exists for.
    Architecture {
        /// The image.
        image: String,
        /// What it exists for.
        architectures: Vec<String>,
    },
    /// No host that is up and of a fitting architecture carries every tag (strict policy).
    Tags {
        /// The action's tags.
        tags: Vec<String>,
    },
    /// The action's memory limit exceeds the capacity of every host left.
    Memory {
        /// The action's memory limit.
        memory_mb: u64,
        /// The largest capacity among them.
        largest_mb: u64,
    },
}

impl fmt::Display for Unplaced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PROVISION_FAILED} ")?;
        match self {
            Unplaced::NoneUp { configured } => {
                write!(f, "None of the {configured} container hosts is up.")
            }
            Unplaced::Architecture {
                image,
                architectures,
            } => write!(
                f,
                "No container host that is up runs an architecture the image '{image}' is built for ({}).",
                architectures.join(", ")
            ),
            Unplaced::Tags { tags } => write!(
                f,
                "No container host that is up carries the tags the action requires ({}).",
                tags.join(", ")
            ),
            Unplaced::Memory {
                memory_mb,
                largest_mb,
            } => write!(
                f,
                "The action's memory limit of {memory_mb} MB exceeds the capacity of every container host that qualifies (the largest is {largest_mb} MB)."
            ),
        }
    }
}

impl std::error::Error for Unplaced {}

/// The indexes of the hosts that can run `demand`: up, of an architecture its image exists
/// for, carrying its tags (or, when none that is up does and the policy is not strict,
/// without them), and with a capacity of at least its memory limit.
pub fn qualify<S: Slot>(demand: &Demand<'_>, hosts: &[S]) -> Result<Vec<usize>, Unplaced> {
    let mut left: Vec<usize> = (0..hosts.len()).filter(|&i| hosts[i].up()).collect();
    if left.is_empty() {
        return Err(Unplaced::NoneUp {
            configured: hosts.len(),
        });
    }
    if let Some(archs) = demand.architectures {
        left.retain(|&i| archs.iter().any(|a| a == hosts[i].architecture()));
        if left.is_empty() {
            return Err(Unplaced::Architecture {
                image: demand.image.to_string(),
                architectures: archs.to_vec(),
            });
        }
    }
    let tagged: Vec<usize> = left
        .iter()
        .copied()
        .filter(|&i| demand.tags.iter().all(|t| hosts[i].has_tag(t)))
        .collect();
    if !tagged.is_empty() || demand.strict {
        left = tagged;
    }
    if left.is_empty() {
        return Err(Unplaced::Tags {
            tags: demand.tags.to_vec(),
        });
    }
    let largest_mb = left
        .iter()
        .map(|&i| hosts[i].capacity_mb())
        .max()
        .unwrap_or(0);
    left.retain(|&i| hosts[i].capacity_mb() >= demand.memory_mb);
    if left.is_empty() {
        return Err(Unplaced::Memory {
            memory_mb: demand.memory_mb,
            largest_mb,
        });
    }
    Ok(left)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host of the model: its facts and the warm keys it holds.
    #[derive(Clone)]
    struct Model {
        name: u64,
        up: bool,
        arch: &'static str,
        tags: Vec<&'static str>,
        capacity_mb: u64,
        free_mb: u64,
        warm: Vec<WarmKey>,
    }

    impl Slot for Model {
        fn name_hash(&self) -> u64 {
            mix(self.name)
        }
        fn up(&self) -> bool {
            self.up
        }
        fn architecture(&self) -> &str {
            self.arch
        }
        fn has_tag(&self, tag: &str) -> bool {
            self.tags.contains(&tag)
        }
        fn capacity_mb(&self) -> u64 {
            self.capacity_mb
        }
        fn free_mb(&self) -> u64 {
            self.free_mb
        }
        fn has_warm(&self, key: &WarmKey) -> bool {
            self.warm.contains(key)
        }
    }

    fn host(name: u64, arch: &'static str, tags: &[&'static str]) -> Model {
        Model {
            name,
            up: true,
            arch,
            tags: tags.to_vec(),
            capacity_mb: 1024,
            free_mb: 1024,
            warm: Vec::new(),
        }
    }

    fn demand<'a>(key: &'a WarmKey, archs: Option<&'a [String]>, tags: &'a [String]) -> Demand<'a> {
        Demand {
            key,
            image: "img",
            architectures: archs,
            tags,
            strict: true,
            memory_mb: 256,
        }
    }

    #[test]
    fn an_image_of_one_architecture_goes_only_to_hosts_of_it_and_names_it_when_none_is_up() {
        let mut hosts = vec![host(1, "amd64", &[]), host(2, "arm64", &[])];
        let arm = vec!["arm64".to_string()];
        let key = WarmKey::from_bytes([3; 32]);
        for policy in [Policy::Home(Home), Policy::LeastLoaded(LeastLoaded)] {
            for n in 0..50u8 {
                let key = WarmKey::from_bytes([n; 32]);
                assert_eq!(policy.place(&demand(&key, Some(&arm), &[]), &hosts), Ok(1));
            }
        }
        hosts[1].up = false;
        let err = Policy::Home(Home)
            .place(&demand(&key, Some(&arm), &[]), &hosts)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Failed to provision resources to run the action. No container host that is up runs an architecture the image 'img' is built for (arm64)."
        );
    }

    #[test]
    fn tags_are_required_unless_the_policy_is_lax_and_no_tagged_host_is_up() {
        let mut hosts = vec![host(1, "amd64", &[]), host(2, "amd64", &["gpu", "big"])];
        let gpu = vec!["gpu".to_string()];
        let key = WarmKey::from_bytes([9; 32]);
        assert_eq!(
            Policy::Home(Home).place(&demand(&key, None, &gpu), &hosts),
            Ok(1)
        );
        hosts[1].up = false;
        let err = Policy::Home(Home)
            .place(&demand(&key, None, &gpu), &hosts)
            .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("carries the tags the action requires (gpu).")
        );
        let lax = Demand {
            strict: false,
            ..demand(&key, None, &gpu)
        };
        assert_eq!(Policy::Home(Home).place(&lax, &hosts), Ok(0));
    }

    #[test]
    fn memory_beyond_every_capacity_is_named_with_the_largest() {
        let hosts = vec![host(1, "amd64", &[]), host(2, "amd64", &[])];
        let key = WarmKey::from_bytes([1; 32]);
        let big = Demand {
            memory_mb: 2048,
            ..demand(&key, None, &[])
        };
        assert_eq!(
            Policy::Home(Home).place(&big, &hosts),
            Err(Unplaced::Memory {
                memory_mb: 2048,
                largest_mb: 1024
            })
        );
        let none: Vec<Model> = Vec::new();
        assert!(
            Policy::Home(Home)
                .place(&big, &none)
                .unwrap_err()
                .to_string()
                .contains("None of the 0 container hosts is up.")
        );
    }

    #[test]
    fn home_is_stable_spills_over_when_full_and_prefers_warm() {
        let mut hosts: Vec<Model> = (0..8).map(|n| host(n, "amd64", &[])).collect();
        let key = WarmKey::from_bytes([42; 32]);
        let home = Policy::Home(Home)
            .place(&demand(&key, None, &[]), &hosts)
            .unwrap();
        for _ in 0..3 {
            assert_eq!(
                Policy::Home(Home).place(&demand(&key, None, &[]), &hosts),
                Ok(home)
            );
        }
        hosts[home].free_mb = 100;
        let spill = Policy::Home(Home)
            .place(&demand(&key, None, &[]), &hosts)
            .unwrap();
        assert_ne!(spill, home, "a full home spills over");
        hosts[home].warm.push(key);
        assert_eq!(
            Policy::Home(Home).place(&demand(&key, None, &[]), &hosts),
            Ok(home),
            "its warm container is reused even when the rest is full"
        );
        // Removing a host that is not an action's home does not move it.
        let others: Vec<Model> = hosts
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != (home + 1) % 8)
            .map(|(_, h)| Model {
                free_mb: 1024,
                ..h.clone()
            })
            .collect();
        let moved = Policy::Home(Home)
            .place(&demand(&key, None, &[]), &others)
            .unwrap();
        assert_eq!(others[moved].name, hosts[home].name);
    }

    #[test]
    fn homes_spread_over_the_hosts() {
        let hosts: Vec<Model> = (0..4).map(|n| host(n, "amd64", &[])).collect();
        let mut per_host = [0u32; 4];
        for n in 0..4000u32 {
            let mut bytes = [0u8; 32];
            bytes[..4].copy_from_slice(&n.to_le_bytes());
            let key = WarmKey::from_bytes(bytes);
            let i = Policy::Home(Home)
                .place(&demand(&key, None, &[]), &hosts)
                .unwrap();
            per_host[i] += 1;
        }
        assert!(per_host.iter().all(|&n| n > 700), "{per_host:?}");
    }

    #[test]
    fn least_loaded_takes_the_most_free_memory() {
        let mut hosts: Vec<Model> = (0..3).map(|n| host(n, "amd64", &[])).collect();
        hosts[0].free_mb = 300;
        hosts[1].free_mb = 900;
        hosts[2].free_mb = 500;
        let key = WarmKey::from_bytes([5; 32]);
        let policy = Policy::named("least-loaded").unwrap();
        assert_eq!(policy.name(), "least-loaded");
        assert_eq!(policy.place(&demand(&key, None, &[]), &hosts), Ok(1));
        assert_eq!(Policy::named("random"), None);
    }
}

//! The alarm service behind `/whisk.system/alarms` (spec §5.4, §5.5): the feed actions
//! `alarm` (cron), `once` (a date) and `interval` (every N minutes) handle the feed lifecycle
//! (`CREATE`, `READ`, `UPDATE`, `DELETE`, `PAUSE`, `UNPAUSE`), and a scheduler fires each
//! trigger on time through a [`Firer`]. It is the first [`FeedProvider`].
//!
//! Schedules live in the store (`feeds`), so they survive restarts. Before a tick fires it is
//! claimed in the store, so a tick is never fired twice; after a restart the next tick is
//! computed from *now*, so ticks missed while shoal was down are not replayed in a burst.
//! Processes sharing a store (PostgreSQL) each arm every schedule and follow its changes
//! through the store's change stream: a tick fires once, on whichever process claims it.
//! Costs nothing between ticks: the scheduler sleeps until the earliest one.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;
use croner::parser::{CronParser, Seconds};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use shoal_router::BoxFuture;
use shoal_store::{Change, FeedSchedule, FeedStore, StoreError};
use tokio::sync::Notify;

use crate::entity::KeyValue;
use crate::entity_path::{EntityPath, Form};
use crate::feeds::{FeedAction, FeedPackage, FeedProvider, Firer};

/// Which feed action was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedKind {
    /// `alarms/alarm`: a cron schedule.
    Alarm,
    /// `alarms/once`: one date.
    Once,
    /// `alarms/interval`: every N minutes.
    Interval,
}

impl FeedKind {
    /// The feed of an action name (`alarm`, `once`, `interval`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "alarm" => Some(FeedKind::Alarm),
            "once" => Some(FeedKind::Once),
            "interval" => Some(FeedKind::Interval),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            FeedKind::Alarm => "alarm",
            FeedKind::Once => "once",
            FeedKind::Interval => "interval",
        }
    }
}

/// When a feed fires.
#[derive(Debug, Clone)]
enum Schedule {
    Cron {
        cron: Box<Cron>,
        timezone: Option<chrono_tz::Tz>,
        start: Option<i64>,
        stop: Option<i64>,
    },
    Once {
        date: i64,
    },
    Interval {
        period: i64,
        base: i64,
        stop: Option<i64>,
    },
}

impl Schedule {
    /// The first tick strictly after `after` (epoch ms), if any is left.
    fn next_after(&self, after: i64) -> Option<i64> {
        match self {
            Schedule::Cron {
                cron,
                timezone,
                start,
                stop,
            } => {
                let from = after.max(start.map_or(i64::MIN, |s| s.saturating_sub(1)));
                let from = Utc.timestamp_millis_opt(from).single()?;
                // Ticks are whole seconds: search from the second after `from`.
                let from = from.checked_add_signed(chrono::Duration::milliseconds(
                    1000 - i64::from(from.timestamp_subsec_millis()),
                ))?;
                let next = match timezone {
                    Some(tz) => cron
                        .find_next_occurrence(&from.with_timezone(tz), true)
                        .ok()?
                        .timestamp_millis(),
                    None => cron
                        .find_next_occurrence(&from, true)
                        .ok()?
                        .timestamp_millis(),
                };
                stop.is_none_or(|s| next <= s).then_some(next)
            }
            Schedule::Once { date } => (*date > after).then_some(*date),
            Schedule::Interval { period, base, stop } => {
                let k = if after < *base {
                    0
                } else {
                    after
                        .checked_sub(*base)?
                        .checked_div(*period)?
                        .checked_add(1)?
                };
                let next = k.checked_mul(*period)?.checked_add(*base)?;
                (next <= MAX_DATE_MS && stop.is_none_or(|s| next <= s)).then_some(next)
            }
        }
    }
}

/// A stored feed's configuration (the JSON kept in the store) and its parsed schedule.
#[derive(Debug, Clone)]
struct Feed {
    config: Map<String, Value>,
    schedule: Schedule,
}

fn bad(message: impl Into<String>) -> String {
    message.into()
}

/// The latest date a feed may name or fire at: 9999-12-31T23:59:59.999Z, epoch ms. Bounding
/// every date and period by it keeps the schedule arithmetic far from `i64` overflow.
const MAX_DATE_MS: i64 = 253_402_300_799_999;

/// Epoch ms of a date given as a number or an ISO 8601 string, between 1970 and
/// [`MAX_DATE_MS`].
fn date(v: &Value, name: &str) -> Result<i64, String> {
    let invalid = || {
        bad(format!(
            "{name} parameter '{}' is not a valid Date",
            text(v)
        ))
    };
    let ms = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok().or_else(|| {
            DateTime::parse_from_rfc3339(s.trim())
                .ok()
                .map(|d| d.timestamp_millis())
        }),
        _ => None,
    };
    ms.filter(|ms| (0..=MAX_DATE_MS).contains(ms))
        .ok_or_else(invalid)
}

/// A parameter as error texts quote it: strings without their JSON quotes.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn optional_date(params: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => date(v, name).map(Some),
    }
}

fn parse_cron(pattern: &str) -> Result<Cron, String> {
    let fields = pattern.split_whitespace().count();
    if !(5..=6).contains(&fields) {
        return Err(bad(format!("cron pattern '{pattern}' is not valid")));
    }
    CronParser::builder()
        .seconds(Seconds::Optional)
        .build()
        .parse(pattern)
        .map_err(|_| bad(format!("cron pattern '{pattern}' is not valid")))
}

impl Feed {
    /// Validates a feed's parameters (as given to `CREATE`/`UPDATE`, or as stored) and builds
    /// the configuration to store. `now` is epoch ms; `created` is when the feed was created;
    /// `new_start` says whether a `startDate` was just given (it must then be in the future).
    fn parse(
        kind: FeedKind,
        params: &Map<String, Value>,
        created: i64,
        now: i64,
        new_start: bool,
    ) -> Result<Feed, String> {
        let mut config = Map::new();
        config.insert("feed".into(), json!(kind.name()));
        let start = optional_date(params, "startDate")?;
        let stop = optional_date(params, "stopDate")?;
        if let (Some(s), Some(e)) = (start, stop)
            && e <= s
        {
            return Err(bad("stopDate parameter must be greater than the startDate"));
        }
        let schedule = match kind {
            FeedKind::Alarm => {
                let pattern = match params.get("cron") {
                    Some(Value::String(c)) if !c.trim().is_empty() => c.trim().to_string(),
                    _ => return Err(bad("alarms trigger feed is missing the cron parameter")),
                };
                let timezone = match params.get("timezone") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(tz)) if tz.is_empty() => None,
                    Some(Value::String(tz)) => Some(
                        chrono_tz::Tz::from_str(tz)
                            .map_err(|_| bad(format!("timezone '{tz}' is not valid")))?,
                    ),
                    Some(other) => return Err(bad(format!("timezone '{other}' is not valid"))),
                };
                let cron = parse_cron(&pattern)?;
                config.insert("cron".into(), json!(pattern));
                if let Some(tz) = timezone {
                    config.insert("timezone".into(), json!(tz.name()));
                }
                Schedule::Cron {
                    cron: Box::new(cron),
                    timezone,
                    start,
                    stop,
                }
            }
            FeedKind::Once => {
                let at = match params.get("date") {
                    None | Some(Value::Null) => {
                        return Err(bad(
                            "alarms once trigger feed is missing the date parameter",
                        ));
                    }
                    Some(v) => date(v, "date")?,
                };
                if at <= created {
                    return Err(bad(format!("date parameter '{at}' must be in the future")));
                }
                let delete = params
                    .get("deleteAfterFire")
                    .cloned()
                    .unwrap_or(json!(false));
                let delete = match delete {
                    Value::Bool(b) => b.to_string(),
                    Value::String(s) if ["false", "true", "rules"].contains(&s.as_str()) => s,
                    _ => {
                        return Err(bad(
                            "deleteAfterFire parameter must be one of [false, true, rules].",
                        ));
                    }
                };
                config.insert("date".into(), json!(at));
                config.insert("deleteAfterFire".into(), json!(delete));
                Schedule::Once { date: at }
            }
            FeedKind::Interval => {
                let minutes = match params.get("minutes") {
                    Some(Value::Number(n)) => n.as_u64(),
                    Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
                    _ => None,
                }
                .filter(|m| *m > 0)
                .ok_or_else(|| bad("the minutes parameter must be an integer greater than zero"))?;
                let period = i64::try_from(minutes)
                    .ok()
                    .and_then(|m| m.checked_mul(60_000))
                    .filter(|p| *p <= MAX_DATE_MS)
                    .ok_or_else(|| {
                        bad(format!(
                            "the minutes parameter must be at most {}",
                            MAX_DATE_MS / 60_000
                        ))
                    })?;
                config.insert("minutes".into(), json!(minutes));
                Schedule::Interval {
                    period,
                    base: start.unwrap_or(created.saturating_add(period)),
                    stop,
                }
            }
        };
        if let Some(s) = start {
            if new_start && s <= now {
                return Err(bad(format!(
                    "startDate parameter '{s}' must be in the future"
                )));
            }
            config.insert("startDate".into(), json!(s));
        }
        if let Some(s) = stop {
            config.insert("stopDate".into(), json!(s));
        }
        let payload = match params
            .get("trigger_payload")
            .or_else(|| params.get("payload"))
        {
            None | Some(Value::Null) => json!({}),
            Some(Value::String(s)) if s.is_empty() => json!({}),
            Some(Value::String(s)) => json!({"payload": s}),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(other) => json!({"payload": other}),
        };
        let size = crate::activation::json_len(&payload);
        if size > MAX_PAYLOAD_BYTES {
            return Err(bad(format!(
                "trigger_payload larger than allowed: {size} > {MAX_PAYLOAD_BYTES} bytes."
            )));
        }
        config.insert("payload".into(), payload);
        config.insert("created".into(), json!(created));
        Ok(Feed { config, schedule })
    }

    /// Re-reads a stored configuration.
    fn from_stored(config: &Value) -> Option<Feed> {
        let map = config.as_object()?;
        let kind = FeedKind::from_name(map.get("feed")?.as_str()?)?;
        let created = map.get("created")?.as_i64()?;
        let mut feed = Feed::parse(kind, map, created, created, false).ok()?;
        for key in ["authKey", "active", "dateChanged", "reason"] {
            if let Some(v) = map.get(key) {
                feed.config.insert(key.into(), v.clone());
            }
        }
        Some(feed)
    }

    fn active(&self) -> bool {
        self.config
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true)
    }
}

struct Armed {
    feed: Feed,
    firing: Arc<Firing>,
    next: Option<i64>,
}

/// What firing one alarm's tick takes, read from its configuration once when it is armed
/// and shared by every tick (not cloned out of the configuration per tick).
struct Firing {
    auth: String,
    payload: Value,
    /// `deleteAfterFire`: `true` deletes the trigger after firing, `rules` also its rules.
    delete: Option<String>,
}

/// Most due ticks claimed in one store write. A round of thousands of alarms (each
/// namespace may have [`MAX_ALARMS_PER_NAMESPACE`]) costs a few writes, and each write
/// holds the entity writer only briefly.
const CLAIM_ROUND: usize = 1_000;

impl Armed {
    fn new(feed: Feed, next: Option<i64>) -> Armed {
        let text = |key| feed.config.get(key).and_then(Value::as_str);
        let firing = Arc::new(Firing {
            auth: text("authKey").unwrap_or_default().to_string(),
            payload: feed.config.get("payload").cloned().unwrap_or(json!({})),
            delete: text("deleteAfterFire").map(str::to_string),
        });
        Armed { feed, firing, next }
    }

    /// A stored schedule armed from now on (ticks missed meanwhile are skipped); `None`, and
    /// logged, when it cannot be scheduled.
    fn from_stored(stored: &FeedSchedule) -> Option<Armed> {
        let Some(feed) = Feed::from_stored(&stored.config) else {
            tracing::error!(trigger = %stored.trigger, "stored alarm cannot be scheduled: skipped (delete and recreate its trigger)");
            return None;
        };
        let after = now_ms().max(stored.last_fire.unwrap_or(i64::MIN));
        let next = feed
            .active()
            .then(|| feed.schedule.next_after(after))
            .flatten();
        Some(Armed::new(feed, next))
    }
}

/// The feed schedules the store announced as changed (by this process or another sharing
/// the store) since the scheduler last looked; it reads them again.
#[derive(Default)]
struct Stale {
    triggers: HashSet<String>,
    /// Changes may have been missed: read every schedule again.
    all: bool,
}

/// The alarm service: lifecycle handling and the scheduler. One per process. Every process
/// sharing a store arms every stored schedule and follows the changes to them (the store's
/// change stream); each tick is claimed in the store before it fires, so it fires once
/// whichever process claims it, and keeps firing while any process runs.
pub struct AlarmService {
    store: Arc<dyn FeedStore>,
    armed: Mutex<HashMap<String, Armed>>,
    /// Stored feeds that could not be scheduled at start (see [`FeedProvider::skipped`]).
    skipped: Vec<String>,
    wake: Arc<Notify>,
    stale: Arc<Mutex<Stale>>,
}

/// Most alarms one namespace may have. The scheduler claims each due tick in the store in
/// turn, for every namespace, so one namespace's thousands of alarms firing every second
/// would delay everyone else's.
pub const MAX_ALARMS_PER_NAMESPACE: usize = 100;

/// Most bytes of the payload an alarm stores and fires with: an alarm's configuration is
/// kept outside the namespace's entities (and their `entityBytes`), so with
/// [`MAX_ALARMS_PER_NAMESPACE`] this bounds what one namespace's alarms hold (~6.4 MB).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

impl AlarmService {
    /// The service over `store`, with every stored schedule armed from now on (ticks missed
    /// while down are skipped).
    pub async fn new(store: Arc<dyn FeedStore>) -> Result<Arc<Self>, StoreError> {
        let wake = Arc::new(Notify::new());
        let stale: Arc<Mutex<Stale>> = Arc::default();
        let (woken, changed) = (Arc::clone(&wake), Arc::clone(&stale));
        store.watch(Box::new(move |change| match change {
            Change::Feed { trigger } => {
                changed.lock().triggers.insert(trigger.clone());
                woken.notify_one();
            }
            Change::Missed => {
                changed.lock().all = true;
                woken.notify_one();
            }
            Change::Entity { .. } | Change::Subject { .. } | Change::Api { .. } => {}
        }));
        let mut armed = HashMap::new();
        let mut skipped = Vec::new();
        for stored in store.list_feeds().await? {
            match Armed::from_stored(&stored) {
                Some(a) => drop(armed.insert(stored.trigger, a)),
                None => skipped.push(stored.trigger),
            }
        }
        Ok(Arc::new(AlarmService {
            store,
            armed: Mutex::new(armed),
            skipped,
            wake,
            stale,
        }))
    }

    /// Reads again the schedules the store announced as changed. False if the store could
    /// not be read (they stay stale, for the next try).
    async fn refresh(&self) -> bool {
        let stale = std::mem::take(&mut *self.stale.lock());
        if stale.all {
            let Ok(stored) = self.store.list_feeds().await else {
                self.stale.lock().all = true;
                return false;
            };
            let armed: HashMap<String, Armed> = stored
                .iter()
                .filter_map(|f| Some((f.trigger.clone(), Armed::from_stored(f)?)))
                .collect();
            *self.armed.lock() = armed;
            return true;
        }
        for trigger in stale.triggers {
            match self.store.get_feed(&trigger).await {
                Ok(Some(stored)) => match Armed::from_stored(&stored) {
                    Some(a) => drop(self.armed.lock().insert(trigger, a)),
                    None => drop(self.armed.lock().remove(&trigger)),
                },
                Ok(None) => drop(self.armed.lock().remove(&trigger)),
                Err(e) => {
                    tracing::warn!(%trigger, error = %e, "could not read a changed alarm");
                    self.stale.lock().triggers.insert(trigger);
                    return false;
                }
            }
        }
        true
    }

    /// Handles one lifecycle event of feed `kind` for the namespace `namespace` that invoked
    /// the feed action; `params` are the feed action's arguments (`lifecycleEvent`,
    /// `triggerName`, `authKey` and the feed's own). Returns the feed action's result or
    /// the error text of an application error.
    pub async fn lifecycle(
        &self,
        kind: FeedKind,
        params: &Map<String, Value>,
        namespace: &str,
    ) -> Result<Value, String> {
        let event = params
            .get("lifecycleEvent")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_uppercase();
        let trigger = trigger_path(params, namespace)?;
        let now = now_ms();
        match event.as_str() {
            "CREATE" => {
                let auth = params
                    .get("authKey")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("alarms trigger feed is missing the authKey parameter"))?;
                let mut feed = Feed::parse(kind, params, now, now, true)?;
                self.room_for(namespace, &trigger)?;
                feed.config.insert("authKey".into(), json!(auth));
                feed.config.insert("active".into(), json!(true));
                feed.config.insert("dateChanged".into(), json!(now));
                self.save(&trigger, namespace, feed, None).await?;
                Ok(json!({}))
            }
            "READ" => {
                let armed = self.armed.lock();
                let a = armed.get(&trigger).ok_or_else(|| not_found(&trigger))?;
                Ok(read_view(&trigger, &a.feed))
            }
            "UPDATE" => {
                let old = self.stored(&trigger)?;
                let mut merged = old.config.clone();
                for (k, v) in params {
                    let kept = match k.as_str() {
                        "lifecycleEvent" | "triggerName" | "authKey" => true,
                        // The alarm package binds `trigger_payload: ""` as a default, so
                        // every update carries one: only a non-empty payload replaces the
                        // stored one (as OpenWhisk's alarm provider does).
                        "trigger_payload" | "payload" => is_empty_payload(v),
                        _ => false,
                    };
                    if !kept {
                        merged.insert(k.clone(), v.clone());
                    }
                }
                let created = old
                    .config
                    .get("created")
                    .and_then(Value::as_i64)
                    .unwrap_or(now);
                let new_start = params.contains_key("startDate");
                let mut feed = Feed::parse(kind, &merged, created, now, new_start)?;
                for key in ["authKey", "active"] {
                    if let Some(v) = old.config.get(key) {
                        feed.config.insert(key.into(), v.clone());
                    }
                }
                feed.config.insert("dateChanged".into(), json!(now));
                self.save(&trigger, namespace, feed, Some(now)).await?;
                Ok(json!({}))
            }
            "DELETE" => {
                self.store
                    .delete_feed(&trigger)
                    .await
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| not_found(&trigger))?;
                self.armed.lock().remove(&trigger);
                self.wake.notify_one();
                Ok(json!({}))
            }
            "PAUSE" | "UNPAUSE" => {
                let mut feed = self.stored(&trigger)?;
                feed.config
                    .insert("active".into(), json!(event == "UNPAUSE"));
                feed.config.insert("dateChanged".into(), json!(now));
                self.save(&trigger, namespace, feed, Some(now)).await?;
                Ok(json!({}))
            }
            _ => Err(bad(format!(
                "unsupported lifecycleEvent '{event}': use CREATE, READ, UPDATE, DELETE, PAUSE or UNPAUSE"
            ))),
        }
    }

    /// Whether `namespace` may have one more alarm, for `trigger` (replacing its own alarm
    /// does not count): the error text when it already has [`MAX_ALARMS_PER_NAMESPACE`].
    fn room_for(&self, namespace: &str, trigger: &str) -> Result<(), String> {
        let prefix = format!("/{namespace}/");
        let held = self
            .armed
            .lock()
            .keys()
            .filter(|t| t.starts_with(&prefix) && *t != trigger)
            .count();
        if held >= MAX_ALARMS_PER_NAMESPACE {
            return Err(bad(format!(
                "the namespace '{namespace}' already has {MAX_ALARMS_PER_NAMESPACE} alarms, the most one may have: delete one first"
            )));
        }
        Ok(())
    }

    fn stored(&self, trigger: &str) -> Result<Feed, String> {
        self.armed
            .lock()
            .get(trigger)
            .map(|a| a.feed.clone())
            .ok_or_else(|| not_found(trigger))
    }

    /// Stores and arms `feed`; `last_fire` keeps ticks up to it from firing again.
    async fn save(
        &self,
        trigger: &str,
        namespace: &str,
        feed: Feed,
        last_fire: Option<i64>,
    ) -> Result<(), String> {
        let last = self
            .store
            .get_feed(trigger)
            .await
            .ok()
            .flatten()
            .and_then(|f| f.last_fire)
            .or(last_fire);
        // The next tick is computed before anything is stored: what cannot be scheduled is
        // never kept.
        let after = now_ms().max(last.unwrap_or(i64::MIN));
        let next = feed
            .active()
            .then(|| feed.schedule.next_after(after))
            .flatten();
        self.store
            .put_feed(FeedSchedule {
                trigger: trigger.to_string(),
                namespace: namespace.to_string(),
                config: Value::Object(feed.config.clone()),
                last_fire: last,
            })
            .await
            .map_err(|e| e.to_string())?;
        self.armed
            .lock()
            .insert(trigger.to_string(), Armed::new(feed, next));
        self.wake.notify_one();
        Ok(())
    }

    /// Runs the scheduler until the process ends: sleeps until the earliest tick and fires
    /// what is due ([`AlarmService::fire_due`]).
    async fn schedule(self: Arc<Self>, firer: Arc<dyn Firer>) {
        loop {
            let refreshed = self.refresh().await;
            let earliest = self.fire_due(&firer, now_ms()).await;
            // A schedule that could not be read again is tried again within a second.
            let longest = if refreshed {
                Duration::from_secs(60)
            } else {
                Duration::from_secs(1)
            };
            let wait = earliest.map_or(longest, |e| {
                Duration::from_millis(u64::try_from(e - now_ms()).unwrap_or(0)).min(longest)
            });
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Claims every tick due at `now` (epoch ms) in the store, [`CLAIM_ROUND`] per write,
    /// fires those it won through `firer`, and returns the earliest tick still to come.
    async fn fire_due(self: &Arc<Self>, firer: &Arc<dyn Firer>, now: i64) -> Option<i64> {
        let mut due = Vec::new();
        let mut firings = Vec::new();
        let mut earliest: Option<i64> = None;
        {
            let mut armed = self.armed.lock();
            for (trigger, a) in armed.iter_mut() {
                let Some(tick) = a.next else { continue };
                if tick <= now {
                    due.push((trigger.clone(), tick));
                    firings.push(Arc::clone(&a.firing));
                    a.next = a.feed.schedule.next_after(tick.max(now));
                }
                if let Some(n) = a.next {
                    earliest = Some(earliest.map_or(n, |e| e.min(n)));
                }
            }
        }
        for (ticks, firings) in due.chunks(CLAIM_ROUND).zip(firings.chunks(CLAIM_ROUND)) {
            let claimed = match self.store.claim_feed_ticks(ticks).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(ticks = ticks.len(), error = %e, "could not claim alarm ticks");
                    continue;
                }
            };
            for (((trigger, _), firing), won) in ticks.iter().zip(firings).zip(claimed) {
                if won {
                    self.fire(firer, trigger, Arc::clone(firing));
                }
            }
        }
        earliest
    }

    /// Fires a claimed tick of `trigger` on its own task.
    fn fire(self: &Arc<Self>, firer: &Arc<dyn Firer>, trigger: &str, firing: Arc<Firing>) {
        let (this, firer, trigger) = (Arc::clone(self), Arc::clone(firer), trigger.to_string());
        tokio::spawn(async move {
            let payload = firing.payload.clone();
            if let Err(reason) = firer.fire(&trigger, &firing.auth, payload).await {
                this.disable(&trigger, &reason).await;
                return;
            }
            match firing.delete.as_deref() {
                Some("true") => firer.delete_trigger(&trigger, &firing.auth, false).await,
                Some("rules") => firer.delete_trigger(&trigger, &firing.auth, true).await,
                _ => return,
            }
            let _ = this.store.delete_feed(&trigger).await;
            this.armed.lock().remove(&trigger);
        });
    }

    /// Stops firing `trigger`, recording why (READ shows it).
    async fn disable(&self, trigger: &str, reason: &str) {
        tracing::warn!(%trigger, %reason, "alarm disabled");
        let Some(mut feed) = self.armed.lock().get(trigger).map(|a| a.feed.clone()) else {
            return;
        };
        let namespace = stored(trigger).namespace;
        feed.config.insert("active".into(), json!(false));
        feed.config.insert("reason".into(), json!(reason));
        feed.config.insert("dateChanged".into(), json!(now_ms()));
        let _ = self.save(trigger, &namespace, feed, None).await;
    }
}

impl FeedProvider for AlarmService {
    fn package(&self) -> FeedPackage {
        let action = |name, description, parameters| FeedAction {
            name,
            description,
            parameters,
        };
        FeedPackage {
            name: "alarms",
            description: "Alarms and periodic utility",
            parameters: vec![KeyValue::new("trigger_payload", json!(""))],
            actions: vec![
                action(
                    FeedKind::Alarm.name(),
                    "Fire trigger when alarm occurs (cron, optional timezone, startDate, stopDate)",
                    vec![],
                ),
                action(
                    FeedKind::Once.name(),
                    "Fire trigger once when alarm occurs (date, optional deleteAfterFire)",
                    vec![KeyValue::new("fireOnce", json!(true))],
                ),
                action(
                    FeedKind::Interval.name(),
                    "Fire trigger every N minutes (minutes, optional startDate, stopDate)",
                    vec![KeyValue::new("isInterval", json!(true))],
                ),
            ],
        }
    }

    fn handle<'a>(
        &'a self,
        feed: &'a str,
        params: &'a Map<String, Value>,
        namespace: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            let kind = FeedKind::from_name(feed)
                .ok_or_else(|| format!("'{feed}' is not an alarm feed"))?;
            self.lifecycle(kind, params, namespace).await
        })
    }

    fn run(self: Arc<Self>, firer: Arc<dyn Firer>) -> BoxFuture<()> {
        Box::pin(self.schedule(firer))
    }

    fn resident(&self) -> u64 {
        self.armed.lock().len() as u64
    }

    fn skipped(&self) -> Vec<String> {
        self.skipped.clone()
    }
}

fn not_found(trigger: &str) -> String {
    format!("could not find trigger {trigger}")
}

/// `/ns/name` of the `triggerName` parameter, with `_` and a missing namespace resolved to the
/// invoking namespace; another namespace's trigger is refused.
fn trigger_path(params: &Map<String, Value>, namespace: &str) -> Result<String, String> {
    let name = params
        .get("triggerName")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("alarms trigger feed is missing the triggerName parameter"))?;
    // Triggers live in no package: a bare name is the caller's, else the namespace comes first.
    let form = if name.contains('/') {
        Form::Qualified
    } else {
        Form::Reference
    };
    let trigger = EntityPath::parse(name, form, namespace)
        .filter(|t| t.package.is_none())
        .ok_or_else(|| bad(format!("triggerName '{name}' is not a valid trigger name")))?;
    if trigger.namespace != namespace {
        return Err(bad(format!(
            "the trigger '{name}' is not in the namespace '{namespace}' that invoked the feed"
        )));
    }
    Ok(trigger.fqn())
}

/// The namespace and name of a stored feed's trigger `/ns/name` (empty when malformed:
/// [`trigger_path`] wrote it).
fn stored(trigger: &str) -> EntityPath {
    EntityPath::parse(trigger, Form::Qualified, "").unwrap_or(EntityPath {
        namespace: String::new(),
        package: None,
        name: String::new(),
    })
}

/// What `READ` returns: `{config, status}` (spec §5.5).
fn read_view(trigger: &str, feed: &Feed) -> Value {
    let trigger = stored(trigger);
    let mut config = json!({"name": trigger.name, "namespace": trigger.namespace});
    for key in [
        "payload",
        "cron",
        "timezone",
        "date",
        "minutes",
        "startDate",
        "stopDate",
        "deleteAfterFire",
    ] {
        if let Some(v) = feed.config.get(key) {
            config[key] = v.clone();
        }
    }
    let changed = feed
        .config
        .get("dateChanged")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let mut status = json!({
        "active": feed.active(),
        "dateChanged": changed,
        "dateChangedISO": Utc.timestamp_millis_opt(changed).single().map(|d| d.to_rfc3339()).unwrap_or_default(),
    });
    if let Some(reason) = feed.config.get("reason") {
        status["reason"] = reason.clone();
    }
    json!({"config": config, "status": status})
}

/// Whether a payload parameter says nothing: absent-like (`null`), `""` or `{}`.
fn is_empty_payload(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feeds::{FeedExecutor, kind_of};
    use shoal_router::{ActionCode, Executor, Failure, Invocation};
    use shoal_store::{SqliteStore, Store};

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    const T0: i64 = 1_800_000_000_000; // 2027-01-15T08:00:00Z

    fn parse(kind: FeedKind, v: Value) -> Result<Feed, String> {
        Feed::parse(kind, &params(v), T0, T0, true)
    }

    #[test]
    fn cron_with_seconds_ticks_every_two_seconds() {
        let f = parse(FeedKind::Alarm, json!({"cron": "*/2 * * * * *"})).unwrap();
        let first = f.schedule.next_after(T0).unwrap();
        assert_eq!(first, T0 + 2_000);
        assert_eq!(f.schedule.next_after(first).unwrap(), first + 2_000);
        assert_eq!(f.schedule.next_after(T0 + 1).unwrap(), T0 + 2_000);
    }

    #[test]
    fn five_field_cron_is_minutes_and_respects_timezone_and_stop() {
        let f = parse(
            FeedKind::Alarm,
            json!({"cron": "0 9 * * *", "timezone": "Europe/Berlin"}),
        )
        .unwrap();
        let next = f.schedule.next_after(T0).unwrap();
        // 09:00 in Berlin in January is 08:00 UTC: the next one is the following day.
        assert_eq!(next, T0 + 24 * 3_600_000);
        let f = parse(
            FeedKind::Alarm,
            json!({"cron": "* * * * * *", "stopDate": T0 + 1_500}),
        )
        .unwrap();
        assert_eq!(f.schedule.next_after(T0), Some(T0 + 1_000));
        assert_eq!(f.schedule.next_after(T0 + 1_000), None);
    }

    #[test]
    fn validation_texts() {
        let err = |kind, v| parse(kind, v).unwrap_err();
        assert_eq!(
            err(FeedKind::Alarm, json!({})),
            "alarms trigger feed is missing the cron parameter"
        );
        assert_eq!(
            err(FeedKind::Alarm, json!({"cron": "nope"})),
            "cron pattern 'nope' is not valid"
        );
        assert_eq!(
            err(FeedKind::Alarm, json!({"cron": "99 * * * *"})),
            "cron pattern '99 * * * *' is not valid"
        );
        assert_eq!(
            err(FeedKind::Interval, json!({"minutes": 0})),
            "the minutes parameter must be an integer greater than zero"
        );
        assert_eq!(
            err(
                FeedKind::Once,
                json!({"date": T0 + 5, "deleteAfterFire": "x"})
            ),
            "deleteAfterFire parameter must be one of [false, true, rules]."
        );
        assert_eq!(
            err(FeedKind::Once, json!({"date": T0 - 5})),
            format!("date parameter '{}' must be in the future", T0 - 5)
        );
        assert!(
            err(
                FeedKind::Alarm,
                json!({"cron": "* * * * *", "timezone": "Mars/Base"})
            )
            .contains("timezone")
        );
        assert_eq!(
            err(
                FeedKind::Alarm,
                json!({"cron": "* * * * *", "startDate": T0 + 10, "stopDate": T0 + 5})
            ),
            "stopDate parameter must be greater than the startDate"
        );
    }

    #[test]
    fn once_and_interval_schedules() {
        let f = parse(FeedKind::Once, json!({"date": "2027-01-15T08:00:05Z"})).unwrap();
        assert_eq!(f.schedule.next_after(T0), Some(T0 + 5_000));
        assert_eq!(f.schedule.next_after(T0 + 5_000), None, "fires once");
        let f = parse(FeedKind::Interval, json!({"minutes": 2})).unwrap();
        assert_eq!(f.schedule.next_after(T0), Some(T0 + 120_000));
        assert_eq!(f.schedule.next_after(T0 + 120_000), Some(T0 + 240_000));
        // After downtime the next tick is the next one from then, not the missed ones.
        assert_eq!(f.schedule.next_after(T0 + 1_000_000), Some(T0 + 1_080_000));
    }

    #[test]
    fn payload_strings_are_wrapped() {
        let f = parse(
            FeedKind::Alarm,
            json!({"cron": "* * * * *", "trigger_payload": "hi"}),
        )
        .unwrap();
        assert_eq!(f.config["payload"], json!({"payload": "hi"}));
        let f = parse(
            FeedKind::Alarm,
            json!({"cron": "* * * * *", "trigger_payload": {"a": 1}}),
        )
        .unwrap();
        assert_eq!(f.config["payload"], json!({"a": 1}));
    }

    #[test]
    fn trigger_names_resolve_within_the_invoking_namespace() {
        let p = |n: &str| params(json!({"triggerName": n}));
        assert_eq!(trigger_path(&p("/_/t"), "guest").unwrap(), "/guest/t");
        assert_eq!(trigger_path(&p("/guest/t"), "guest").unwrap(), "/guest/t");
        assert_eq!(trigger_path(&p("t"), "guest").unwrap(), "/guest/t");
        assert!(trigger_path(&p("/other/t"), "guest").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn any_feed_parameters_schedule_or_fail_cleanly(
            kind in 0..3usize,
            params in crate::properties::arb_object(),
            after in proptest::num::i64::ANY,
        ) {
            let kind = [FeedKind::Alarm, FeedKind::Once, FeedKind::Interval][kind];
            if let Ok(feed) = Feed::parse(kind, &params, T0, T0, false) {
                let _ = feed.schedule.next_after(after);
                let _ = feed.schedule.next_after(T0);
                // What was accepted is what a restart reads back.
                let stored = Feed::from_stored(&Value::Object(feed.config.clone()));
                proptest::prop_assert!(stored.is_some(), "{:?}", feed.config);
            }
        }
    }

    #[test]
    fn huge_numbers_are_refused_before_anything_is_stored() {
        let err = |kind, v| parse(kind, v).unwrap_err();
        assert_eq!(
            err(FeedKind::Interval, json!({"minutes": 1u64 << 59})),
            format!(
                "the minutes parameter must be at most {}",
                MAX_DATE_MS / 60_000
            )
        );
        assert_eq!(
            err(
                FeedKind::Alarm,
                json!({"cron": "* * * * *", "startDate": 8_640_000_000_000_000i64})
            ),
            "startDate parameter '8640000000000000' is not a valid Date"
        );
        assert_eq!(
            err(FeedKind::Once, json!({"date": "-5"})),
            "date parameter '-5' is not a valid Date"
        );
        // The largest accepted values still schedule without overflowing.
        let f = parse(
            FeedKind::Interval,
            json!({"minutes": MAX_DATE_MS / 60_000, "startDate": MAX_DATE_MS}),
        )
        .unwrap();
        assert_eq!(f.schedule.next_after(T0), Some(MAX_DATE_MS));
        assert_eq!(f.schedule.next_after(MAX_DATE_MS), None);
        let f = parse(
            FeedKind::Alarm,
            json!({"cron": "* * * * * *", "startDate": MAX_DATE_MS}),
        )
        .unwrap();
        assert_eq!(f.schedule.next_after(T0), None);
    }

    #[test]
    fn a_payload_past_its_bound_is_refused() {
        let at_most = "x".repeat(MAX_PAYLOAD_BYTES - r#"{"payload":""}"#.len());
        let fits = json!({"cron": "* * * * *", "trigger_payload": at_most});
        assert!(parse(FeedKind::Alarm, fits).is_ok());
        let past = "x".repeat(MAX_PAYLOAD_BYTES);
        let refused = parse(
            FeedKind::Alarm,
            json!({"cron": "* * * * *", "trigger_payload": past}),
        );
        assert_eq!(
            refused.unwrap_err(),
            format!(
                "trigger_payload larger than allowed: {} > {MAX_PAYLOAD_BYTES} bytes.",
                MAX_PAYLOAD_BYTES + 14
            )
        );
    }

    #[tokio::test]
    async fn stored_rows_that_cannot_be_scheduled_are_skipped_at_start() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let row = |trigger: &str, config: Value| FeedSchedule {
            trigger: trigger.into(),
            namespace: "guest".into(),
            config,
            last_fire: None,
        };
        // Rows written by an older shoal that stored before validating.
        for (trigger, config) in [
            (
                "/guest/huge",
                json!({"feed": "interval", "minutes": 1u64 << 59, "created": T0, "active": true}),
            ),
            (
                "/guest/late",
                json!({"feed": "alarm", "cron": "* * * * *", "startDate": 8_640_000_000_000_000i64, "created": T0, "active": true}),
            ),
            ("/guest/junk", json!("not a feed")),
        ] {
            store.put_feed(row(trigger, config)).await.unwrap();
        }
        store
            .put_feed(row(
                "/guest/ok",
                json!({"feed": "interval", "minutes": 1, "created": T0, "active": true}),
            ))
            .await
            .unwrap();
        let svc = AlarmService::new(store).await.unwrap();
        let mut skipped = svc.skipped();
        skipped.sort();
        assert_eq!(skipped, ["/guest/huge", "/guest/junk", "/guest/late"]);
        assert!(svc.armed.lock().contains_key("/guest/ok"));
    }

    #[tokio::test]
    async fn a_namespace_has_at_most_its_share_of_alarms() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let svc = AlarmService::new(store).await.unwrap();
        let create = |trigger: String, namespace: &'static str| {
            let svc = svc.clone();
            async move {
                let p = params(json!({"lifecycleEvent": "CREATE", "triggerName": trigger,
                                      "authKey": "u:k", "cron": "* * * * * *"}));
                svc.lifecycle(FeedKind::Alarm, &p, namespace).await
            }
        };
        for i in 0..MAX_ALARMS_PER_NAMESPACE {
            create(format!("t{i}"), "guest").await.unwrap();
        }
        let refused = create("one-more".into(), "guest").await.unwrap_err();
        assert!(refused.contains("already has 100 alarms"), "{refused}");
        // Replacing one of its own, and another namespace's, still work.
        create("t0".into(), "guest").await.unwrap();
        create("t0".into(), "other").await.unwrap();
        let delete = params(json!({"lifecycleEvent": "DELETE", "triggerName": "t1"}));
        svc.lifecycle(FeedKind::Alarm, &delete, "guest")
            .await
            .unwrap();
        create("one-more".into(), "guest").await.unwrap();
    }

    #[tokio::test]
    async fn lifecycle_create_read_update_pause_delete() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let svc = AlarmService::new(store.clone()).await.unwrap();
        let base = json!({"triggerName": "/_/t", "authKey": "u:k", "cron": "*/2 * * * * *", "trigger_payload": "x"});
        let ev = |e: &str, extra: Value| {
            let mut p = params(base.clone());
            p.insert("lifecycleEvent".into(), json!(e));
            p.extend(params(extra));
            p
        };
        svc.lifecycle(FeedKind::Alarm, &ev("CREATE", json!({})), "guest")
            .await
            .unwrap();
        let read = svc
            .lifecycle(FeedKind::Alarm, &ev("READ", json!({})), "guest")
            .await
            .unwrap();
        assert_eq!(read["config"]["cron"], "*/2 * * * * *");
        assert_eq!(read["config"]["name"], "t");
        assert_eq!(read["config"]["payload"], json!({"payload": "x"}));
        assert_eq!(read["status"]["active"], true);
        svc.lifecycle(
            FeedKind::Alarm,
            &ev("UPDATE", json!({"cron": "*/5 * * * * *"})),
            "guest",
        )
        .await
        .unwrap();
        let read = svc
            .lifecycle(FeedKind::Alarm, &ev("READ", json!({})), "guest")
            .await
            .unwrap();
        assert_eq!(read["config"]["cron"], "*/5 * * * * *");
        assert_eq!(
            read["config"]["payload"],
            json!({"payload": "x"}),
            "payload kept"
        );
        // The package's bound default (an empty payload) keeps the stored one; a new one
        // replaces it.
        for (given, kept) in [
            (json!(""), json!({"payload": "x"})),
            (json!({}), json!({"payload": "x"})),
            (json!({"b": 2}), json!({"b": 2})),
        ] {
            let update = ev(
                "UPDATE",
                json!({"cron": "*/5 * * * * *", "trigger_payload": given}),
            );
            svc.lifecycle(FeedKind::Alarm, &update, "guest")
                .await
                .unwrap();
            let read = svc
                .lifecycle(FeedKind::Alarm, &ev("READ", json!({})), "guest")
                .await
                .unwrap();
            assert_eq!(read["config"]["payload"], kept, "{given}");
        }
        svc.lifecycle(FeedKind::Alarm, &ev("PAUSE", json!({})), "guest")
            .await
            .unwrap();
        assert_eq!(
            svc.lifecycle(FeedKind::Alarm, &ev("READ", json!({})), "guest")
                .await
                .unwrap()["status"]["active"],
            false
        );
        assert!(
            svc.armed.lock()["/guest/t"].next.is_none(),
            "paused alarms are not armed"
        );
        svc.lifecycle(FeedKind::Alarm, &ev("UNPAUSE", json!({})), "guest")
            .await
            .unwrap();
        assert!(svc.armed.lock()["/guest/t"].next.is_some());
        // A restart re-arms from the store.
        let again = AlarmService::new(store.clone()).await.unwrap();
        assert!(again.armed.lock()["/guest/t"].next.is_some());
        svc.lifecycle(FeedKind::Alarm, &ev("DELETE", json!({})), "guest")
            .await
            .unwrap();
        assert!(store.get_feed("/guest/t").await.unwrap().is_none());
        assert_eq!(
            svc.lifecycle(FeedKind::Alarm, &ev("DELETE", json!({})), "guest")
                .await
                .unwrap_err(),
            "could not find trigger /guest/t"
        );
        assert!(
            svc.lifecycle(FeedKind::Alarm, &ev("BOGUS", json!({})), "guest")
                .await
                .is_err()
        );
    }

    struct Recorder(Mutex<Vec<(String, Value)>>);
    impl Firer for Recorder {
        fn fire(
            &self,
            trigger: &str,
            _auth: &str,
            payload: Value,
        ) -> BoxFuture<Result<(), String>> {
            self.0.lock().push((trigger.to_string(), payload));
            Box::pin(async { Ok(()) })
        }
        fn delete_trigger(&self, _t: &str, _a: &str, _r: bool) -> BoxFuture<()> {
            Box::pin(async {})
        }
    }

    /// An in-memory store's feeds, with the number of ticks of every claim written.
    struct Claims {
        store: SqliteStore,
        rounds: Mutex<Vec<usize>>,
    }

    #[async_trait::async_trait]
    impl shoal_store::Feeds for Claims {
        async fn put_feed(&self, feed: FeedSchedule) -> Result<(), StoreError> {
            self.store.put_feed(feed).await
        }
        async fn delete_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
            self.store.delete_feed(trigger).await
        }
        async fn get_feed(&self, trigger: &str) -> Result<Option<FeedSchedule>, StoreError> {
            self.store.get_feed(trigger).await
        }
        async fn list_feeds(&self) -> Result<Vec<FeedSchedule>, StoreError> {
            self.store.list_feeds().await
        }
        async fn claim_feed_ticks(&self, ticks: &[(String, i64)]) -> Result<Vec<bool>, StoreError> {
            self.rounds.lock().push(ticks.len());
            self.store.claim_feed_ticks(ticks).await
        }
    }

    impl shoal_store::Changes for Claims {
        fn watch(&self, listener: shoal_store::Listener) {
            self.store.watch(listener);
        }
    }

    /// Thousands of alarms due at once (25 namespaces at their cap) cost three store writes,
    /// not one each: the round that used to claim tick after tick held every namespace's
    /// alarms back by as many fsyncs.
    #[tokio::test]
    async fn a_round_of_thousands_of_due_ticks_is_claimed_in_a_few_writes() {
        let claims = Arc::new(Claims {
            store: SqliteStore::open_in_memory().unwrap(),
            rounds: Mutex::new(Vec::new()),
        });
        let svc = AlarmService::new(claims.clone()).await.unwrap();
        for n in 0..25 * MAX_ALARMS_PER_NAMESPACE {
            let create = params(json!({
                "lifecycleEvent": "CREATE", "triggerName": format!("/_/t{n}"),
                "authKey": "u:k", "cron": "* * * * * *",
            }));
            let namespace = format!("ns{}", n / MAX_ALARMS_PER_NAMESPACE);
            svc.lifecycle(FeedKind::Alarm, &create, &namespace)
                .await
                .unwrap();
        }
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let firer: Arc<dyn Firer> = recorder.clone();
        // Every alarm's next tick is due a minute from now.
        let later = now_ms() + 60_000;
        assert!(svc.fire_due(&firer, later).await.is_some_and(|n| n > later));
        assert_eq!(*claims.rounds.lock(), [CLAIM_ROUND, CLAIM_ROUND, 500]);
        // The fires run on their own tasks.
        while recorder.0.lock().len() < 2_500 {
            tokio::task::yield_now().await;
        }
        let fired: HashSet<String> = recorder.0.lock().iter().map(|(t, _)| t.clone()).collect();
        assert_eq!(fired.len(), 2_500, "each alarm fired once");
        assert!(svc.fire_due(&firer, later).await.is_some());
        assert_eq!(claims.rounds.lock().len(), 3, "nothing is due twice");
    }

    #[tokio::test]
    async fn the_scheduler_fires_each_tick_once() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let svc = AlarmService::new(store.clone()).await.unwrap();
        let create = params(
            json!({"lifecycleEvent": "CREATE", "triggerName": "/_/t", "authKey": "u:k", "cron": "* * * * * *"}),
        );
        svc.lifecycle(FeedKind::Alarm, &create, "guest")
            .await
            .unwrap();
        let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
        let firer: Arc<dyn Firer> = recorder.clone();
        // Rounds at the same instant and a second later, as the scheduler's clock moves.
        let later = now_ms() + 60_000;
        for now in [later, later, later + 1_000] {
            svc.fire_due(&firer, now).await;
        }
        while recorder.0.lock().len() < 2 {
            tokio::task::yield_now().await;
        }
        let fired = recorder.0.lock().clone();
        assert_eq!(fired.len(), 2, "{fired:?}");
        assert!(
            fired
                .iter()
                .all(|(t, p)| t == "/guest/t" && *p == json!({}))
        );
        let last = store
            .get_feed("/guest/t")
            .await
            .unwrap()
            .unwrap()
            .last_fire
            .unwrap();
        assert!(last > later, "the second tick is the last claimed");
        assert!(
            store
                .claim_feed_ticks(&[("/guest/t".into(), last)])
                .await
                .unwrap()
                == [false],
            "the fired tick is claimed"
        );
    }

    fn feed_invocation(name: &str, params: Value) -> Invocation {
        let digest = [0u8; 32];
        Invocation {
            activation_id: shoal_router::ActivationId::from_random([1; 16]),
            action: Arc::new(ActionCode {
                fqn: format!("/whisk.system/alarms/{name}"),
                name: name.into(),
                version: "0.0.1".into(),
                kind: kind_of("alarms"),
                code: "".into(),
                binary: false,
                main: "main".into(),
                digest,
                image: None,
                host_tags: Default::default(),
            }),
            tenant: "guest".into(),
            params: params.as_object().cloned().unwrap(),
            init_env: Map::new(),
            env: shoal_router::OwEnv {
                api_host: String::new(),
                api_key: None,
                namespace: "guest".into(),
                action_name: format!("/whisk.system/alarms/{name}"),
                action_version: "0.0.1".into(),
                activation_id: String::new(),
                transaction_id: String::new(),
                deadline: String::new(),
            },
            limits: shoal_router::Limits::default(),
            deadline: std::time::Instant::now() + Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn feed_actions_are_lifecycle_events_of_the_service() {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().unwrap());
        let exec = FeedExecutor::new(AlarmService::new(store.clone()).await.unwrap());
        let create = json!({"lifecycleEvent": "CREATE", "triggerName": "/guest/t", "authKey": "u:k", "minutes": 3});
        let ok = exec.invoke(feed_invocation("interval", create)).await;
        assert_eq!(ok.result.unwrap(), json!({}));
        assert_eq!(
            store.get_feed("/guest/t").await.unwrap().unwrap().config["minutes"],
            3
        );
        let bad = json!({"lifecycleEvent": "CREATE", "triggerName": "/guest/u", "authKey": "u:k", "cron": "x"});
        let failed = exec.invoke(feed_invocation("alarm", bad)).await;
        assert_eq!(
            failed.result.unwrap_err(),
            Failure::ApplicationError(json!("cron pattern 'x' is not valid"))
        );
        assert!(
            exec.prepare(&feed_invocation("nope", json!({})).action)
                .is_err()
        );
    }
}

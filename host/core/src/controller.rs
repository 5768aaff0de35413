//! The controller: resolves actions (cached), builds an [`Invocation`], hands it to the
//! executor the routing table names, records the activation in the log, and waits for it
//! when the caller blocks. Also tracks activations in flight so shutdown loses none.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Map, Value};
use shoal_router::{ActivationId, BoxFuture, Failure, Invocation, Outcome, OwEnv, RoutingTable};
use shoal_store::{ActivationRecord, Change, Collection, Committed, Store};
use tokio::sync::Notify;

use crate::action::ActionEntry;
use crate::activation::{self, Caller, Note, Record, Response, Status};
use crate::auth::Identity;
use crate::coherent::Coherent;
use crate::entity_path::EntityPath;
use crate::messages;
use crate::observer::{Observer, Quiet};
use crate::package;
use crate::sequence::{self, Resolve};
use crate::stored;
use crate::throttle::{NamespaceLimits, Throttles};
use shoal_model::WhiskError;

/// How long a blocking caller waits, at most (spec §3.5).
pub const MAX_BLOCKING_WAIT: Duration = Duration::from_secs(60);

/// What an invoke produced for the caller.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per invoke and moved once to the caller; a box would add an allocation to every warm invoke"
)]
pub enum Invoked {
    /// The activation finished while the caller waited.
    Done(ActivationId, Record),
    /// The activation runs on (non-blocking, or the wait ran out).
    Pending(ActivationId),
}

/// Counts activations in flight; shutdown waits for it to reach zero.
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// Held while one activation is in flight.
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.clone())
    }

    /// Activations in flight now.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until nothing is in flight or `limit` passes; returns what is still in flight.
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.idle.notified();
            if self.count() == 0 {
                return 0;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count();
            }
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The controller. One per process, shared by every request.
pub struct Controller {
    store: Arc<dyn Store>,
    table: Arc<RoutingTable>,
    /// Invokable actions by doc id, kept until the store announces a change to them.
    actions: Arc<Coherent<Arc<ActionEntry>>>,
    api_host: String,
    inflight: Arc<InFlight>,
    throttles: Throttles,
    observer: Arc<dyn Observer>,
}

impl Controller {
    /// A controller over `store`, running actions through `table`.
    /// Its cache of invokable actions drops an entry whenever the store announces a change
    /// to that entity.
    pub fn new(store: Arc<dyn Store>, table: Arc<RoutingTable>, api_host: String) -> Self {
        let actions: Arc<Coherent<Arc<ActionEntry>>> = Arc::default();
        let cached = Arc::clone(&actions);
        store.watch(Box::new(move |change| match change {
            Change::Entity { namespace, name } => cached.forget(&doc_id(namespace, name)),
            Change::Missed => cached.forget_where(|_| true),
            Change::Subject { .. } | Change::Api { .. } | Change::Feed { .. } => {}
        }));
        Controller {
            store,
            table,
            actions,
            api_host,
            inflight: Arc::new(InFlight::default()),
            throttles: Throttles::default(),
            observer: Arc::new(Quiet),
        }
    }

    /// This controller, reporting its activations, throttle refusals and commit waits to
    /// `observer`.
    pub fn observed_by(mut self, observer: Arc<dyn Observer>) -> Self {
        self.throttles = Throttles::observed_by(observer.clone());
        self.observer = observer;
        self
    }

    /// The routing table.
    pub fn table(&self) -> &RoutingTable {
        &self.table
    }

    /// Activations in flight.
    pub fn inflight(&self) -> &Arc<InFlight> {
        &self.inflight
    }

    /// The invokable form of action `namespace/name`, from the cache or the store.
    /// 404 when missing; 409 when the name belongs to another collection.
    pub async fn action(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<ActionEntry>, WhiskError> {
        let id = doc_id(namespace, name);
        if let Some(hit) = self.actions.get(&id) {
            return Ok(hit);
        }
        let seen = self.actions.seen();
        let entity = self
            .store
            .get_entity(namespace, name)
            .await?
            .ok_or_else(WhiskError::not_found)?;
        if entity.collection != Collection::Actions {
            return Err(WhiskError::conflict(messages::NOT_IN_COLLECTION));
        }
        let entry = Arc::new(ActionEntry::from_doc(&entity.doc)?);
        self.actions.keep(id, entry.clone(), seen);
        Ok(entry)
    }

    /// The invokable form of action `ns/[pkg/]name` for `identity`: its own actions, and
    /// actions in its own or other namespaces' published packages, through bindings with
    /// their parameters layered (spec §2.4). 403 for anything else; 404 when missing.
    /// One cache lookup, plus one or two store reads for a packaged action.
    pub async fn resolve(
        &self,
        identity: &Identity,
        ns: &str,
        pkg: Option<&str>,
        name: &str,
    ) -> Result<Arc<ActionEntry>, WhiskError> {
        let Some(pkg) = pkg else {
            if identity.namespace != ns {
                return Err(WhiskError::forbidden(&doc_id(ns, name)));
            }
            return self.action(ns, name).await;
        };
        let resource = format!("{ns}/{pkg}/{name}");
        let via = package::resolve(&*self.store, &identity.namespace, ns, pkg, &resource).await?;
        let action = self.action(&via.real.path(), name).await?;
        Ok(via.entry(action))
    }

    /// Admits one trigger fire of `identity`'s namespace: 429 when over its share of
    /// `firesPerMinute` (the limit divided by the processes sharing the store).
    pub fn admit_fire(&self, identity: &Identity) -> Result<(), WhiskError> {
        let limits = identity.limits.per_process(self.store.sharing());
        self.throttles.admit_fire(&identity.namespace, &limits)
    }

    /// The text the activation log stores for `record`, if any: what [`stored::fit`] keeps
    /// of `render`'s renderings within its namespace's share of its stored bytes per minute
    /// (the limit divided by the processes sharing the store).
    pub fn stored_text(
        &self,
        record: stored::Filed<'_>,
        limits: &NamespaceLimits,
        render: impl FnMut(stored::Kept<'_>) -> String,
    ) -> Option<String> {
        let share = limits.per_process(self.store.sharing());
        stored::fit(&self.throttles, record, &share, render)
    }

    /// Runs `action` for `identity` with `payload` merged over its parameters. Waits up to
    /// `wait` when given (blocking invoke), else returns at once. The activation is recorded
    /// in the log either way. 429 when the namespace is over its throttles.
    pub async fn invoke(
        self: &Arc<Self>,
        identity: &Identity,
        action: Arc<ActionEntry>,
        payload: Map<String, Value>,
        wait: Option<Duration>,
        transaction_id: &str,
    ) -> Result<Invoked, WhiskError> {
        self.start(
            identity,
            action,
            payload,
            wait,
            transaction_id,
            None,
            As::Kind,
        )
        .await
    }

    /// [`Controller::invoke`] for any kind, inside the sequence or composition `parent` when
    /// given (its components are not throttled and their records carry `cause`). Boxed:
    /// sequences and compositions recurse through it.
    #[allow(
        clippy::too_many_arguments,
        reason = "one private entry point for every kind of activation"
    )]
    fn start(
        self: &Arc<Self>,
        identity: &Identity,
        action: Arc<ActionEntry>,
        payload: Map<String, Value>,
        wait: Option<Duration>,
        transaction_id: &str,
        parent: Option<&Parent>,
        mode: As,
    ) -> BoxFuture<Result<Invoked, WhiskError>> {
        let received = SystemTime::now();
        let cause = parent.map(|p| p.id);
        if parent.is_none()
            && let Err(reason) = self.store.health()
        {
            return Box::pin(std::future::ready(Err(WhiskError::store_unavailable(
                &reason,
            ))));
        }
        let permit = match parent {
            Some(_) => None,
            None => match self.throttles.admit_invoke(
                &identity.namespace,
                &identity.limits.per_process(self.store.sharing()),
            ) {
                Ok(p) => Some(p),
                Err(e) => return Box::pin(std::future::ready(Err(e))),
            },
        };
        let id = new_activation_id();
        let guard = self.inflight.enter();
        let this = self.clone();
        let composite =
            action.code.kind == sequence::KIND || (action.conductor && mode == As::Kind);
        let caller = Caller {
            namespace: identity.namespace.clone(),
            subject: identity.subject.clone(),
            received,
        };
        let stand_in = StandIn {
            id,
            caller: caller.clone(),
            identity: composite.then(|| identity.clone()),
            action: action.clone(),
            cause,
            accepted: Arc::default(),
        };
        let accepted = stand_in.accepted.clone();
        let limits = identity.limits;
        let task: BoxFuture<Finished> = if composite {
            let (identity, tid) = (identity.clone(), transaction_id.to_string());
            let own = Parent::child_of(parent, id);
            Box::pin(async move {
                let finished = if own.depth > sequence::MAX_NESTING {
                    sequence::Run::failed(failure(
                        Failure::ApplicationError(Value::from(messages::SEQUENCE_TOO_LONG)),
                        &action,
                    ))
                } else if action.conductor {
                    this.run_conductor(&identity, &action, payload, &tid, &own)
                        .await
                } else {
                    this.run_sequence(&identity, &action, payload, &tid, &own)
                        .await
                };
                let finished = sequence::record(id, &identity, &action, cause, received, finished);
                let committed = this.record(&limits, &action, &finished, true, &accepted);
                drop((guard, permit));
                (finished, committed)
            })
        } else {
            let executor = match self
                .table
                .executor_for(&action.code.kind, action.engine.as_deref())
            {
                Ok(e) => e.clone(),
                Err(e) => {
                    return Box::pin(std::future::ready(Err(WhiskError::bad_request(
                        e.to_string(),
                    ))));
                }
            };
            let invocation =
                self.invocation(identity, &action, payload, id, transaction_id, received);
            Box::pin(async move {
                // Started at the first poll: a non-blocking activation runs only once its
                // acceptance is stored.
                let outcome: Outcome = executor.invoke(invocation).await;
                let finished = activation::primitive_record(id, caller, &action, outcome, cause);
                let committed = this.record(&limits, &action, &finished, false, &accepted);
                drop((guard, permit));
                (finished, committed)
            })
        };
        let this = self.clone();
        Box::pin(async move {
            let Some(wait) = wait else {
                this.accept(&limits, &stand_in).await?;
                tokio::spawn(task);
                return Ok(Invoked::Pending(id));
            };
            // A task of its own, so that the activation finishes and is recorded even when
            // the caller goes away (a client that disconnects drops this future).
            let mut running = tokio::spawn(task);
            tokio::select! {
                biased;
                finished = &mut running => match finished {
                    Ok((finished, committed)) => {
                        let waited = Instant::now();
                        if committed.is_some() {
                            durable(committed).await?;
                            this.observer.committed(waited.elapsed());
                        }
                        Ok(Invoked::Done(id, finished))
                    }
                    Err(e) => Err(WhiskError::internal(format!("the activation task failed: {e}"))),
                },
                _ = tokio::time::sleep(wait) => {
                    this.accept(&limits, &stand_in).await?;
                    Ok(Invoked::Pending(id))
                }
            }
        })
    }

    /// Stores that `stand_in`'s activation was accepted (before a 202 names it): if shoal
    /// stops before the activation's own record is committed, the next start ends it with
    /// the stand-in's whisk internal error. 503 when the store cannot write.
    async fn accept(&self, limits: &NamespaceLimits, stand_in: &StandIn) -> Result<(), WhiskError> {
        if !limits.stores_activations() {
            return Ok(());
        }
        stand_in.accepted.store(true, Ordering::Release);
        let record = stand_in.record();
        let filter_name = filter_name(&stand_in.action);
        let rec = log_record(&stand_in.action, &record, filter_name, record.to_text());
        self.store
            .accept_activation(rec)
            .await
            .map_err(|e| WhiskError::store_unavailable(&e.to_string()))
    }

    /// The executor's view of one activation of `action`.
    fn invocation(
        &self,
        identity: &Identity,
        action: &ActionEntry,
        payload: Map<String, Value>,
        id: ActivationId,
        transaction_id: &str,
        received: SystemTime,
    ) -> Invocation {
        let mut params = action.params.clone();
        params.extend(payload);
        let timeout = Duration::from_millis(action.limits.timeout);
        let deadline_epoch = activation::epoch_ms(received) + action.limits.timeout as i64;
        Invocation {
            activation_id: id,
            action: action.code.clone(),
            tenant: Arc::from(identity.namespace.as_str()),
            params,
            init_env: action.init_params.clone(),
            env: OwEnv {
                api_host: self.api_host.clone(),
                api_key: action.provide_api_key.then(|| identity.auth.clone()),
                namespace: identity.namespace.clone(),
                action_name: action.code.fqn.clone(),
                action_version: action.version.clone(),
                activation_id: id.to_string(),
                transaction_id: transaction_id.to_string(),
                deadline: deadline_epoch.to_string(),
            },
            limits: action.limits.to_router(),
            deadline: Instant::now() + timeout,
        }
    }

    /// Runs a sequence's components in order (spec §6.1): each gets the previous result merged
    /// over its own parameters; a result with `error` ends the sequence.
    async fn run_sequence(
        self: &Arc<Self>,
        identity: &Identity,
        sequence: &ActionEntry,
        payload: Map<String, Value>,
        transaction_id: &str,
        own: &Parent,
    ) -> sequence::Run {
        let mut run = sequence::Run::default();
        let mut input = payload;
        for reference in &sequence.components {
            let component = match sequence::component(reference, &identity.namespace) {
                Some(c) => self.component(identity, &c).await,
                None => Err(WhiskError::not_found()),
            };
            let component = match component {
                Ok(c) => c,
                Err(_) => {
                    run.last = Some(failure(
                        Failure::ApplicationError(Value::from(
                            messages::SEQUENCE_COMPONENT_MISSING,
                        )),
                        sequence,
                    ));
                    break;
                }
            };
            if component.code.kind != sequence::KIND && !own.count_atomic() {
                run.last = Some(failure(
                    Failure::ApplicationError(Value::from(messages::SEQUENCE_TOO_LONG)),
                    sequence,
                ));
                break;
            }
            run.memory = run.memory.max(component.limits.memory);
            let invoked = self
                .start_component(
                    identity,
                    component,
                    std::mem::take(&mut input),
                    transaction_id,
                    own,
                    As::Kind,
                )
                .await;
            let finished = match invoked {
                Ok(Invoked::Done(cid, finished)) => {
                    run.ids.push(cid.to_string());
                    finished
                }
                Ok(Invoked::Pending(cid)) => {
                    run.ids.push(cid.to_string());
                    run.last = Some(failure(
                        Failure::Internal(messages::sequence_component_timeout(cid.as_str())),
                        sequence,
                    ));
                    break;
                }
                Err(_) => {
                    run.last = Some(failure(
                        Failure::Internal(messages::SEQUENCE_FAILED.into()),
                        sequence,
                    ));
                    break;
                }
            };
            run.first_start.get_or_insert(finished.start);
            run.duration += finished.duration;
            let response = finished.response;
            let stop = sequence::short_circuits(&response.result);
            if let Value::Object(fields) = &response.result {
                input = fields.clone();
            }
            run.last = Some(response);
            if stop {
                break;
            }
        }
        run
    }

    /// Runs a conductor's composition (spec §6.2): the conductor picks each next action from
    /// its result (`action`, `params`, `state`) until it names none.
    async fn run_conductor(
        self: &Arc<Self>,
        identity: &Identity,
        conductor: &Arc<ActionEntry>,
        payload: Map<String, Value>,
        transaction_id: &str,
        own: &Parent,
    ) -> sequence::Run {
        let n = sequence::MAX_LENGTH;
        let counts = &own.composition;
        let mut run = sequence::Run::default();
        let mut input = payload;
        loop {
            if counts.conductors.fetch_add(1, Ordering::AcqRel) > 2 * n {
                run.last = Some(failure(
                    Failure::ApplicationError(Value::from(messages::COMPOSITION_TOO_LONG)),
                    conductor,
                ));
                return run;
            }
            let step = self
                .start_component(
                    identity,
                    conductor.clone(),
                    std::mem::take(&mut input),
                    transaction_id,
                    own,
                    As::Primitive,
                )
                .await;
            let Some(finished) = composition_step(&mut run, step, conductor) else {
                return run;
            };
            let response = finished.response;
            if response.status != Status::Success {
                run.last = Some(response);
                return run;
            }
            let result = match response.result {
                Value::Object(fields) => fields,
                _ => Map::new(),
            };
            let state = boxed(result.get("state"), "state");
            let params = boxed(result.get("params"), "value");
            let name = match result.get("action") {
                None => {
                    let out = params.map_or_else(|| Value::Object(result), Value::Object);
                    let size = activation::json_len(&out);
                    run.last = Some(Response::new(Status::Success, out, size));
                    return run;
                }
                Some(Value::String(name)) => name.clone(),
                Some(other) => {
                    input =
                        with_state(messages::composition_unparsable(&other.to_string()), &state);
                    continue;
                }
            };
            if counts.components.load(Ordering::Acquire) >= n {
                input = with_state(messages::COMPOSITION_TOO_LONG.to_string(), &state);
                continue;
            }
            let target = match sequence::component(&name, &identity.namespace) {
                None => Err(messages::composition_unresolved(&name)),
                Some(c) => self.component(identity, &c).await.map_err(|e| {
                    if matches!(e, WhiskError::Forbidden(_)) {
                        messages::composition_forbidden(&name)
                    } else {
                        messages::composition_unresolved(&name)
                    }
                }),
            };
            let target = match target {
                Ok(t) => t,
                Err(message) => {
                    input = with_state(message, &state);
                    continue;
                }
            };
            // A conductor component runs a composition of its own, which counts its own
            // steps in the same counts.
            if !target.conductor {
                counts.components.fetch_add(1, Ordering::AcqRel);
            }
            let invoked = self
                .start_component(
                    identity,
                    target,
                    params.unwrap_or_default(),
                    transaction_id,
                    own,
                    As::Kind,
                )
                .await;
            let Some(done) = composition_step(&mut run, invoked, conductor) else {
                return run;
            };
            input = match done.response.result {
                Value::Object(fields) => fields,
                _ => Map::new(),
            };
            input.extend(state.unwrap_or_default());
        }
    }

    /// Runs `action` as a component of `own` (a sequence or composition) and waits for it:
    /// its own time limit plus the blocking wait.
    fn start_component(
        self: &Arc<Self>,
        identity: &Identity,
        action: Arc<ActionEntry>,
        params: Map<String, Value>,
        transaction_id: &str,
        own: &Parent,
        mode: As,
    ) -> BoxFuture<Result<Invoked, WhiskError>> {
        let wait = Duration::from_millis(action.limits.timeout) + MAX_BLOCKING_WAIT;
        self.start(
            identity,
            action,
            params,
            Some(wait),
            transaction_id,
            Some(own),
            mode,
        )
    }

    /// Appends `r` to the activation log of its namespace, whose `limits` say whether it
    /// stores activations (with `storeActivations: false` the caller still gets the record;
    /// nothing else will: `GET …/activations/{id}` answers 404, as in OpenWhisk), and returns
    /// what resolves once it is committed. `composite`: a sequence's or conductor's record.
    /// `accepted` says its acceptance was stored (the record then replaces the stand-in).
    /// What of it is stored, if anything, is [`stored::fit`]'s to say, within the
    /// namespace's share of its stored bytes per minute. Serialises the record once while
    /// the namespace is within that share; the text moves into the log.
    fn record(
        &self,
        limits: &NamespaceLimits,
        action: &ActionEntry,
        r: &Record,
        composite: bool,
        accepted: &AtomicBool,
    ) -> Option<Committed> {
        let init = r
            .annotations
            .iter()
            .find_map(|a| match (&*a.key, &a.value) {
                ("initTime", Note::Int(ms)) => {
                    Some(Duration::from_millis(u64::try_from(*ms).ok()?))
                }
                _ => None,
            });
        self.observer.activation(
            &r.namespace,
            &action.code.kind,
            r.response.status.text(),
            Duration::from_millis(u64::try_from(r.duration).unwrap_or(0)),
            init,
        );
        if !limits.stores_activations() {
            return None;
        }
        let filter_name = filter_name(action);
        // A component's record may be left out, unless its acceptance was stored: then the
        // record must replace the stand-in.
        let accepted = accepted.load(Ordering::Acquire);
        let component = r.cause.is_some() && !accepted;
        let filed = stored::Filed::new(&r.namespace, &action.name, &filter_name, component);
        let doc = self.stored_text(filed, limits, |kept| {
            stored::record_text(r, composite, kept)
        })?;
        let rec = log_record(action, r, filter_name, doc);
        Some(self.store.put_activation_durable(rec, accepted))
    }
}

/// The name the log files `action`'s records under, `<package>/<action>`: the package is the
/// binding the action was reached through, else its own package (what OpenWhisk's activation
/// filter view derives from the `binding` and `path` annotations).
fn filter_name(action: &ActionEntry) -> String {
    match action.binding.as_deref().and_then(|b| b.split_once('/')) {
        Some((_, binding)) => format!("{binding}/{}", action.name),
        None => action
            .path
            .split_once('/')
            .map_or(action.name.as_str(), |(_, rest)| rest)
            .to_string(),
    }
}

/// `r` as the log files it, `doc` its stored text.
fn log_record(
    action: &ActionEntry,
    r: &Record,
    filter_name: String,
    doc: String,
) -> ActivationRecord {
    ActivationRecord {
        namespace: r.namespace.clone(),
        activation_id: r.activation_id.to_string(),
        name: action.name.clone(),
        filter_name,
        start: r.start,
        doc,
    }
}

/// A finished activation's record, and what resolves once the log has committed it (`None`
/// when its namespace stores no activations).
type Finished = (Record, Option<Committed>);

impl sequence::Resolve for Controller {
    fn component(
        &self,
        identity: &Identity,
        c: &EntityPath,
    ) -> impl Future<Output = Result<Arc<ActionEntry>, WhiskError>> + Send {
        self.resolve(identity, &c.namespace, c.package.as_deref(), &c.name)
    }
}

/// Waits for a record's commit: a blocking caller is answered only once its activation is
/// durable. 503 when the store could not write it.
async fn durable(committed: Option<Committed>) -> Result<(), WhiskError> {
    match committed {
        Some(committed) => committed
            .await
            .map_err(|e| WhiskError::store_unavailable(&e.to_string())),
        None => Ok(()),
    }
}

/// What an accepted activation ends as if shoal stops before it finishes: a whisk internal
/// error record with the activation's identity, built only when a 202 is about to name it.
struct StandIn {
    id: ActivationId,
    caller: Caller,
    /// The invoking identity, for a sequence's or conductor's record.
    identity: Option<Identity>,
    action: Arc<ActionEntry>,
    cause: Option<ActivationId>,
    /// Set once the acceptance is stored, so the final record replaces the stand-in.
    accepted: Arc<AtomicBool>,
}

impl StandIn {
    fn record(&self) -> Record {
        let lost = Failure::Internal(messages::ACTIVATION_LOST.into());
        match &self.identity {
            Some(identity) => sequence::record(
                self.id,
                identity,
                &self.action,
                self.cause,
                self.caller.received,
                sequence::Run::failed(failure(lost, &self.action)),
            ),
            None => activation::primitive_record(
                self.id,
                self.caller.clone(),
                &self.action,
                Outcome::failed(lost),
                self.cause,
            ),
        }
    }
}

/// 400 when `payload` sets a parameter `action` declares final.
pub fn check_final(action: &ActionEntry, payload: &Map<String, Value>) -> Result<(), WhiskError> {
    if payload.keys().any(|k| action.final_keys.contains(k)) {
        return Err(WhiskError::bad_request(messages::PARAMS_NOT_ALLOWED));
    }
    Ok(())
}

/// Where a component activation sits in its composition tree: the enclosing sequence or
/// conductor, how deep it is nested, and the tree's counts of atomic sequence components and
/// of conductor steps. Stored sequences may form cycles (a binding hides them from the
/// create-time check, and components can be updated later), and a conductor may name
/// itself, so the bounds are enforced here, at invoke time, for the whole tree.
#[derive(Debug, Clone)]
struct Parent {
    /// The enclosing composition's activation id (the children's `cause`).
    id: ActivationId,
    /// 1 for a topmost sequence or conductor, +1 per nested one.
    depth: usize,
    /// Atomic actions started by sequences anywhere in this tree.
    atomic: Arc<AtomicUsize>,
    /// What conductors anywhere in this tree have run.
    composition: Arc<CompositionCounts>,
}

/// The invocations of a tree's conductors (spec §6.2: at most n components and 2n+1
/// conductor runs), shared by nested compositions as OpenWhisk shares its accounting between
/// a composition and the compositions it calls. Shared across the whole tree here, nested
/// sequences included, where OpenWhisk starts afresh below a sequence: without that, each
/// level could run 50 components that each start another level, and one invoke could run
/// without end (see the README's differences).
#[derive(Debug, Default)]
struct CompositionCounts {
    /// Components started (a conductor component is not one: its own runs count).
    components: AtomicUsize,
    /// Conductor runs started.
    conductors: AtomicUsize,
}

impl Parent {
    /// The composition `id` started inside `parent` (or topmost).
    fn child_of(parent: Option<&Parent>, id: ActivationId) -> Parent {
        Parent {
            id,
            depth: parent.map_or(1, |p| p.depth + 1),
            atomic: parent.map_or_else(Arc::default, |p| p.atomic.clone()),
            composition: parent.map_or_else(Arc::default, |p| p.composition.clone()),
        }
    }

    /// Counts one more atomic sequence component; false once the tree would exceed
    /// `sequenceMaxLength` (OpenWhisk's dynamic count).
    fn count_atomic(&self) -> bool {
        self.atomic.fetch_add(1, Ordering::AcqRel) < sequence::MAX_LENGTH
    }
}

/// How [`Controller::start`] runs an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum As {
    /// By its kind and annotations: a sequence, a conductor's composition or a primitive.
    Kind,
    /// As a primitive even if it is a conductor (one step of its own composition).
    Primitive,
}

/// Accounts one finished step of a composition in `run`; `None` (with `run.last` set to the
/// whisk error) when the step failed to run or timed out.
fn composition_step(
    run: &mut sequence::Run,
    step: Result<Invoked, WhiskError>,
    conductor: &ActionEntry,
) -> Option<Record> {
    match step {
        Ok(Invoked::Done(id, finished)) => {
            run.ids.push(id.to_string());
            run.first_start.get_or_insert(finished.start);
            run.duration += finished.duration;
            Some(finished)
        }
        Ok(Invoked::Pending(id)) => {
            run.ids.push(id.to_string());
            run.last = Some(failure(
                Failure::Internal(messages::composition_timeout(id.as_str())),
                conductor,
            ));
            None
        }
        Err(_) => {
            run.last = Some(failure(
                Failure::Internal(messages::COMPOSITION_FAILED.into()),
                conductor,
            ));
            None
        }
    }
}

/// A conductor's `params`/`state` as an object: boxed under `key` when it is not one.
fn boxed(value: Option<&Value>, key: &str) -> Option<Map<String, Value>> {
    match value? {
        Value::Object(m) => Some(m.clone()),
        other => Some(Map::from_iter([(key.to_string(), other.clone())])),
    }
}

/// `{"error": message}` with the composition's `state` merged in (state wins).
fn with_state(message: String, state: &Option<Map<String, Value>>) -> Map<String, Value> {
    let mut m = Map::from_iter([("error".to_string(), Value::String(message))]);
    m.extend(state.clone().unwrap_or_default());
    m
}

/// The response of a sequence that a platform-side failure ended.
fn failure(f: Failure, sequence: &ActionEntry) -> Response {
    Response::failure(f, sequence.limits.timeout)
}

/// The store's document id of an entity.
fn doc_id(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// A fresh activation id, ordered by creation time (see [`ActivationId::time_ordered`]).
pub fn new_activation_id() -> ActivationId {
    let now = activation::epoch_ms(SystemTime::now());
    ActivationId::time_ordered(u64::try_from(now).unwrap_or(0), rand::random())
}

/// A fresh transaction id: 32 random alphanumerics, from one block of random bytes mapped onto
/// the alphabet (a byte modulo 62 favours the first eight letters very slightly, which an id
/// that only has to be unique can afford).
pub fn new_transaction_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    rand::random::<[u8; 32]>()
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_guards() {
        let f = Arc::new(InFlight::default());
        let g = f.enter();
        assert_eq!(f.drain(Duration::from_millis(20)).await, 1);
        let f2 = f.clone();
        let waiter = tokio::spawn(async move { f2.drain(Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(g);
        assert_eq!(waiter.await.unwrap(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_actions_follow_the_store_change_stream() {
        use serde_json::json;
        let store: Arc<dyn Store> = Arc::new(shoal_store::SqliteStore::open_in_memory().unwrap());
        let table = Arc::new(RoutingTable::new());
        let controller = Controller::new(store.clone(), table, "http://127.0.0.1:1".into());
        let entity = |version: &str| shoal_store::Entity {
            namespace: "guest".into(),
            name: "hello".into(),
            collection: Collection::Actions,
            doc: json!({"namespace": "guest", "name": "hello", "version": version,
                        "exec": {"kind": "nodejs:20", "code": "function main() {}"}}),
            updated: 1,
            rev: 0,
        };
        store.put_entity(entity("0.0.1"), None).await.unwrap();
        let first = controller.action("guest", "hello").await.unwrap();
        assert_eq!(first.version, "0.0.1");
        let cached = controller.action("guest", "hello").await.unwrap();
        assert!(Arc::ptr_eq(&first, &cached), "served from the cache");
        // Written by another part of shoal, straight to the store: the cache follows.
        store.put_entity(entity("0.0.2"), Some(1)).await.unwrap();
        let updated = controller.action("guest", "hello").await.unwrap();
        assert_eq!(updated.version, "0.0.2");
        store.delete_entity("guest", "hello", None).await.unwrap();
        let gone = controller.action("guest", "hello").await.unwrap_err();
        assert_eq!(gone, WhiskError::NotFound);
    }

    #[test]
    fn ids_have_openwhisk_shape() {
        let id = new_activation_id();
        assert!(ActivationId::parse(id.as_str()).is_ok());
        assert_eq!(new_transaction_id().len(), 32);
    }
}

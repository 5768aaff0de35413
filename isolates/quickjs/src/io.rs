//! Outbound requests of one QuickJS isolate: `host.request` hands each to the host's
//! [`Egress`](shoal_router::Egress) and returns a promise; the engine polls the requests in flight while the
//! activation is pending and settles each promise when its response (or error) arrives.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::poll_fn;
use std::task::Poll;

use rquickjs::{Ctx, Function, Object, Persistent, TypedArray, Value};
use shoal_router::{
    BoxFuture, EgressSlot, MAX_REQUESTS_IN_FLIGHT, NO_EGRESS, OutboundRequest, OutboundResponse,
    TOO_MANY_REQUESTS,
};

type Settle = (Persistent<Function<'static>>, Persistent<Function<'static>>);
type Reply = Result<OutboundResponse, String>;

/// The isolate's requests in flight and their promises' resolve/reject functions. Costs
/// nothing until an action makes a request.
pub(crate) struct Io {
    slot: EgressSlot,
    next: Cell<u64>,
    promises: RefCell<HashMap<u64, Settle>>,
    inflight: RefCell<Vec<(u64, BoxFuture<Reply>)>>,
    done: RefCell<Vec<(u64, Reply)>>,
}

impl Io {
    pub(crate) fn new(slot: EgressSlot) -> Io {
        Io {
            slot,
            next: Cell::new(0),
            promises: RefCell::new(HashMap::new()),
            inflight: RefCell::new(Vec::new()),
            done: RefCell::new(Vec::new()),
        }
    }

    /// Starts `request`; its promise is settled by [`Io::settle`] once it has finished.
    pub(crate) fn start(&self, request: OutboundRequest, settle: Settle) {
        let id = self.next.get() + 1;
        self.next.set(id);
        self.promises.borrow_mut().insert(id, settle);
        let busy = self.inflight.borrow().len() >= MAX_REQUESTS_IN_FLIGHT;
        match self.slot.get() {
            Some(_) if busy => self
                .done
                .borrow_mut()
                .push((id, Err(TOO_MANY_REQUESTS.into()))),
            Some(egress) => self.inflight.borrow_mut().push((id, egress.send(request))),
            None => self.done.borrow_mut().push((id, Err(NO_EGRESS.into()))),
        }
    }

    /// Whether a request has finished and waits for [`Io::settle`].
    pub(crate) fn ready(&self) -> bool {
        !self.done.borrow().is_empty()
    }

    /// Resolves when at least one request in flight has finished (never, when none is).
    pub(crate) async fn progress(&self) {
        poll_fn(|cx| {
            let mut inflight = self.inflight.borrow_mut();
            let mut finished = false;
            let mut i = 0;
            while i < inflight.len() {
                if let Poll::Ready(reply) = inflight[i].1.as_mut().poll(cx) {
                    let (id, _) = inflight.swap_remove(i);
                    self.done.borrow_mut().push((id, reply));
                    finished = true;
                } else {
                    i += 1;
                }
            }
            if finished || self.ready() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Settles the promise of every finished request: a response object, or a rejection with
    /// an `Error` saying why the request failed.
    pub(crate) fn settle(&self, ctx: &Ctx<'_>) {
        let done = std::mem::take(&mut *self.done.borrow_mut());
        for (id, reply) in done {
            let Some((resolve, reject)) = self.promises.borrow_mut().remove(&id) else {
                continue;
            };
            let settled = match reply {
                Ok(response) => response_object(ctx, response)
                    .and_then(|r| resolve.restore(ctx)?.call::<_, ()>((r,))),
                Err(why) => rquickjs::Exception::from_message(ctx.clone(), &why)
                    .and_then(|e| reject.restore(ctx)?.call::<_, ()>((e,))),
            };
            if settled.is_err() {
                let _ = ctx.catch();
            }
        }
    }

    /// Forgets every request (the isolate is going away: its JS values must be freed first).
    pub(crate) fn clear(&self) {
        self.promises.borrow_mut().clear();
        self.inflight.borrow_mut().clear();
        self.done.borrow_mut().clear();
    }
}

/// The request `host.request(descriptor, body)` describes.
pub(crate) fn outbound<'js>(
    descriptor: &Object<'js>,
    body: Option<TypedArray<'js, u8>>,
    deadline: std::time::Instant,
    max_body_bytes: usize,
    tenant: std::sync::Arc<str>,
) -> rquickjs::Result<OutboundRequest> {
    let headers: Vec<Vec<String>> = descriptor
        .get::<_, Option<_>>("headers")?
        .unwrap_or_default();
    let redirect: Option<String> = descriptor.get("redirect")?;
    Ok(OutboundRequest {
        method: descriptor
            .get::<_, Option<String>>("method")?
            .unwrap_or_else(|| "GET".into())
            .to_ascii_uppercase(),
        url: descriptor.get("url")?,
        headers: headers
            .into_iter()
            .filter_map(|pair| match <[String; 2]>::try_from(pair) {
                Ok([name, value]) => Some((name, value)),
                Err(_) => None,
            })
            .collect(),
        body: body
            .and_then(|b| b.as_bytes().map(<[u8]>::to_vec))
            .unwrap_or_default(),
        follow_redirects: redirect.as_deref() != Some("manual"),
        deadline,
        tenant,
        max_body_bytes,
    })
}

fn response_object<'js>(
    ctx: &Ctx<'js>,
    response: OutboundResponse,
) -> rquickjs::Result<Value<'js>> {
    let out = Object::new(ctx.clone())?;
    out.set("status", response.status)?;
    out.set("statusText", response.status_text)?;
    out.set("url", response.url)?;
    out.set("redirected", response.redirected)?;
    let headers: Vec<Vec<String>> = response
        .headers
        .into_iter()
        .map(|(name, value)| vec![name, value])
        .collect();
    out.set("headers", headers)?;
    out.set(
        "body",
        TypedArray::<u8>::new_copy(ctx.clone(), &response.body)?,
    )?;
    Ok(out.into_value())
}

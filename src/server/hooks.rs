//! The reactor's side of webhooks: calls go to the worker pool, answers come back through
//! the waker, REST calls that waited are answered, and polled channels are fetched on time.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::conn::Phase;
use super::timers::Millis;
use super::Server;
use crate::http::{Method, RequestHead, Response};
use crate::hub::Polling;
use crate::rest;
use crate::webhook::pool::{Done, Job};
use crate::webhook::{HookResult, WebhookCall};

/// Polling backs off from 1 s, doubling, to at most this or the interval.
const MAX_BACKOFF_MS: Millis = 300_000;

/// A polled channel's schedule.
#[derive(Debug)]
pub struct PollState {
    pub polling: Polling,
    /// Changes whenever the polling changes, so a late answer for old settings is dropped.
    pub generation: u64,
    pub next_at: Millis,
    pub backoff_ms: Millis,
    pub in_flight: bool,
}

/// What the reactor keeps for webhooks.
#[derive(Default)]
pub struct HookState {
    /// REST calls waiting for the application: connection slot and id.
    pub rest_waiting: HashMap<u64, (usize, crate::hub::ConnId)>,
    pub polls: HashMap<String, PollState>,
    pub generations: u64,
    pub done: Vec<Done>,
    /// Calls the pool could not take, to deny once the effects are applied.
    pub refused: Vec<u64>,
}

impl Server {
    /// Hands a call to the pool; a full queue is an immediate denial.
    pub(super) fn submit_hook(&mut self, call: WebhookCall) {
        let id = call.id;
        crate::debug!("webhook {} ({})", call.hook, id);
        self.admin_hook_started(&call);
        if self.pool.submit(Job::Hook(call)).is_err() {
            crate::warn!("webhook queue full: denying call {id}");
            self.hooks.refused.push(id);
        }
    }

    /// Denies the calls the pool refused (after the effects that asked for them).
    pub(super) fn deny_refused(&mut self) {
        for id in std::mem::take(&mut self.hooks.refused) {
            let result = HookResult::deny("webhook queue full");
            self.admin_hook_done(id, &result, "", 0);
            self.hub.webhook_done(id, result, self.wall);
        }
    }

    /// The pool woke the reactor: hand every answer to the hub.
    pub(super) fn on_pool_done(&mut self) {
        let mut done = std::mem::take(&mut self.hooks.done);
        self.pool.drain(&mut done);
        for d in done.drain(..) {
            match d {
                Done::Hook {
                    id,
                    result,
                    url,
                    status,
                } => {
                    crate::debug!("webhook {id} from {url}: {status} {:?}", result.answer);
                    self.admin_hook_done(id, &result, &url, status);
                    self.hub.webhook_done(id, result, self.wall);
                }
                Done::Poll {
                    channel,
                    generation,
                    result,
                } => self.poll_done(&channel, generation, result),
            }
            self.apply_effects();
        }
        self.hooks.done = done;
    }

    // ----- REST calls that wait -----

    pub(super) fn await_rest(&mut self, key: usize, head: &RequestHead, token: u64) {
        let Some(conn) = self.conns.get_mut(key) else {
            return;
        };
        if let Phase::Http(h) = &mut conn.phase {
            h.awaiting = Some((token, head.keep_alive));
        }
        self.hooks.rest_waiting.insert(token, (key, conn.id));
    }

    /// The application answered for a waiting REST call.
    pub(super) fn rest_done(&mut self, token: u64, result: Result<Value, String>) {
        let Some((key, id)) = self.hooks.rest_waiting.remove(&token) else {
            return;
        };
        let keep_alive = match self.conns.get_mut(key) {
            Some(c) if c.id == id => match &mut c.phase {
                Phase::Http(h) => h.awaiting.take().is_some_and(|(_, k)| k),
                _ => return,
            },
            _ => return,
        };
        let reply = rest::finished(result);
        let head = RequestHead::answered_later(Method::Post, keep_alive);
        let r = Response::with_body(reply.status, "application/json", reply.body);
        self.respond(key, &head, r);
        if self
            .conns
            .get(key)
            .is_some_and(|c| !c.rbuf.is_empty() && !c.is_closing())
        {
            self.consume_buffered(key);
        }
    }

    // ----- polled channels -----

    pub(super) fn polling_changed(&mut self, channel: String, polling: Option<Polling>) {
        match polling {
            Some(p) if !p.mode.is_empty() => {
                self.hooks.generations += 1;
                let interval = (p.interval * 1000.0) as Millis;
                let state = PollState {
                    generation: self.hooks.generations,
                    next_at: self.now + interval,
                    backoff_ms: 0,
                    in_flight: false,
                    polling: p,
                };
                self.hooks.polls.insert(channel, state);
            }
            _ => {
                self.hooks.polls.remove(&channel);
            }
        }
    }

    /// Starts the fetches that are due.
    pub(super) fn run_polls(&mut self) {
        let now = self.now;
        let due: Vec<String> = self
            .hooks
            .polls
            .iter()
            .filter(|(_, p)| !p.in_flight && p.next_at <= now)
            .map(|(c, _)| c.clone())
            .collect();
        for channel in due {
            let Some(p) = self.hooks.polls.get_mut(&channel) else {
                continue;
            };
            let form = p
                .polling
                .form
                .iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => crate::json::to_string(other),
                    };
                    (k.clone(), text)
                })
                .collect();
            let job = Job::Poll {
                channel: channel.clone(),
                generation: p.generation,
                simple: p.polling.mode == "simple",
                url: p.polling.url.clone(),
                form,
            };
            p.in_flight = true;
            if self.pool.submit(job).is_err() {
                self.poll_done(
                    &channel,
                    self.hooks.polls[&channel].generation,
                    Err("webhook queue full".into()),
                );
            }
        }
    }

    /// The next time a poll is due, for the poll timeout.
    pub(super) fn next_poll(&self) -> Option<Millis> {
        self.hooks
            .polls
            .values()
            .filter(|p| !p.in_flight)
            .map(|p| p.next_at)
            .min()
    }

    fn poll_done(
        &mut self,
        channel: &str,
        generation: u64,
        result: Result<(Value, Map<String, Value>), String>,
    ) {
        let now = self.now;
        let Some(p) = self.hooks.polls.get_mut(channel) else {
            return;
        };
        if p.generation != generation {
            return;
        }
        p.in_flight = false;
        let interval = (p.polling.interval * 1000.0) as Millis;
        match result {
            Ok((payload, options)) => {
                p.backoff_ms = 0;
                p.next_at = now + interval;
                let once = p.polling.mode == "once";
                let originator = Some(p.polling.originator.clone()).filter(|o| !o.is_empty());
                if once {
                    self.hooks.polls.remove(channel);
                }
                self.hub
                    .poll_result(channel, payload, originator.as_deref(), &options, self.wall);
            }
            Err(e) => {
                p.backoff_ms = (p.backoff_ms * 2).clamp(1000, MAX_BACKOFF_MS.max(interval));
                p.next_at = now + p.backoff_ms;
                crate::debug!(
                    "polling {channel} failed ({e}); next try in {} ms",
                    p.backoff_ms
                );
            }
        }
        self.apply_effects();
    }
}

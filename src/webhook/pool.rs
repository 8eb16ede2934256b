//! The webhook worker pool: a fixed set of threads making blocking `ureq` calls, fed by a
//! bounded queue. Results go back through a list the reactor drains when the `mio::Waker`
//! it gave the pool wakes it. Nothing here runs on the reactor thread but `submit` and
//! `drain`, which never block.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use mio::Waker;
use serde_json::{Map, Value};

use super::{form_body, read_answer, target_url, HookAnswer, HookResult, WebhookCall};
use crate::config::WebhookConfig;

/// Work for a worker.
#[derive(Debug, Clone)]
pub enum Job {
    /// Call a hook.
    Hook(WebhookCall),
    /// Fetch a polled channel's URL: `simple` is a GET whose body is the payload; the other
    /// modes POST `form` and read a Hookbox answer whose `payload` is published.
    Poll {
        channel: String,
        generation: u64,
        simple: bool,
        url: String,
        form: Vec<(String, String)>,
    },
}

/// A finished job.
#[derive(Debug, Clone)]
pub enum Done {
    Hook {
        id: u64,
        result: HookResult,
        /// Where it went, for the admin view and the log.
        url: String,
        status: u16,
    },
    Poll {
        channel: String,
        generation: u64,
        /// The payload and the options the answer carried, or why it failed.
        result: Result<(Value, Map<String, Value>), String>,
    },
}

/// The queue is full: the call is denied at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

pub struct Pool {
    tx: SyncSender<Job>,
    done: Arc<Mutex<Vec<Done>>>,
    _threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `config.workers` threads with a queue of `config.queue` calls.
    pub fn start(config: &WebhookConfig, waker: Arc<Waker>) -> Pool {
        let (tx, rx) = sync_channel::<Job>(config.queue);
        let rx = Arc::new(Mutex::new(rx));
        let done = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..config.workers)
            .map(|i| {
                let (rx, done, waker, config) =
                    (rx.clone(), done.clone(), waker.clone(), config.clone());
                std::thread::Builder::new()
                    .name(format!("webhook-{i}"))
                    .spawn(move || worker(&rx, &done, &waker, &config))
                    .expect("spawn a webhook worker")
            })
            .collect();
        Pool {
            tx,
            done,
            _threads: threads,
        }
    }

    /// Queues a job without waiting.
    pub fn submit(&self, job: Job) -> Result<(), QueueFull> {
        match self.tx.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(QueueFull),
        }
    }

    /// Moves finished jobs into `out`.
    pub fn drain(&self, out: &mut Vec<Done>) {
        if let Ok(mut done) = self.done.lock() {
            out.append(&mut done);
        }
    }
}

fn worker(
    rx: &Mutex<Receiver<Job>>,
    done: &Mutex<Vec<Done>>,
    waker: &Waker,
    config: &WebhookConfig,
) {
    let agent = ureq::AgentBuilder::new()
        .timeout(config.timeout)
        .redirects(0)
        .build();
    loop {
        let job = match rx.lock() {
            Ok(rx) => match rx.recv() {
                Ok(job) => job,
                Err(_) => return,
            },
            Err(_) => return,
        };
        let result = match job {
            Job::Hook(call) => run_hook(&agent, config, call),
            Job::Poll {
                channel,
                generation,
                simple,
                url,
                form,
            } => Done::Poll {
                channel,
                generation,
                result: run_poll(&agent, config, simple, &url, &form),
            },
        };
        if let Ok(mut d) = done.lock() {
            d.push(result);
        }
        let _ = waker.wake();
    }
}

/// Why a request failed, in Hookbox's words; a timeout is "webhook timeout".
fn transport_failure(e: &ureq::Transport, url: &str, timeout: Duration) -> String {
    let text = e.to_string();
    let io = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    if matches!(
        io,
        Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
    ) || text.contains("timed out")
    {
        crate::debug!(
            "webhook {url}: no answer within {} s",
            timeout.as_secs_f64()
        );
        return "webhook timeout".to_string();
    }
    if e.kind() == ureq::ErrorKind::ConnectionFailed {
        return format!("failure: Connection refused for HTTP request to {url}");
    }
    format!("failure: {text}")
}

fn run_hook(agent: &ureq::Agent, config: &WebhookConfig, call: WebhookCall) -> Done {
    let url = target_url(config, call.hook);
    let mut req = agent
        .post(&url)
        .set("Content-Type", "application/x-www-form-urlencoded");
    if let Some(cookie) = &call.cookie {
        req = req.set("Cookie", cookie);
    }
    if let Some(ip) = &call.remote_addr {
        req = req.set("X-Real-IP", ip);
    }
    let body = form_body(config, &call);
    let (status, text, set_cookie) = match req.send_string(&body) {
        Ok(resp) => {
            let status = resp.status();
            let cookie = resp.header("Set-Cookie").map(str::to_string);
            (status, resp.into_string().unwrap_or_default(), cookie)
        }
        Err(ureq::Error::Status(status, resp)) => {
            let cookie = resp.header("Set-Cookie").map(str::to_string);
            (status, resp.into_string().unwrap_or_default(), cookie)
        }
        Err(ureq::Error::Transport(t)) => {
            return Done::Hook {
                id: call.id,
                result: HookResult::deny(transport_failure(&t, &url, config.timeout)),
                url,
                status: 0,
            }
        }
    };
    Done::Hook {
        id: call.id,
        result: HookResult {
            answer: read_answer(status, &url, &text),
            set_cookie,
        },
        url,
        status,
    }
}

fn run_poll(
    agent: &ureq::Agent,
    config: &WebhookConfig,
    simple: bool,
    url: &str,
    form: &[(String, String)],
) -> Result<(Value, Map<String, Value>), String> {
    if simple {
        let resp = agent.get(url).call().map_err(|e| match e {
            ureq::Error::Transport(t) => transport_failure(&t, url, config.timeout),
            ureq::Error::Status(s, _) => format!("status {s}"),
        })?;
        let text = resp.into_string().map_err(|e| e.to_string())?;
        // JSON when it is JSON, else the text itself.
        let payload = serde_json::from_str(&text).unwrap_or(Value::String(text));
        return Ok((payload, Map::new()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = crate::http::form::encode_urlencoded(pairs);
    let (status, text) = match agent
        .post(url)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&body)
    {
        Ok(r) => (r.status(), r.into_string().unwrap_or_default()),
        Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
        Err(ureq::Error::Transport(t)) => return Err(transport_failure(&t, url, config.timeout)),
    };
    match read_answer(status, url, &text) {
        HookAnswer::Allow(mut options) => {
            let payload = options.remove("payload").unwrap_or(Value::Null);
            Ok((payload, options))
        }
        HookAnswer::Deny(reason) => Err(reason),
    }
}

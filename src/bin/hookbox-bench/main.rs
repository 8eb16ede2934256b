//! `hookbox-bench`: a load tool for hookbox (and, for comparison, Nchan) on loopback.
//!
//! It opens WebSocket subscribers on non-blocking client threads, publishes over HTTP at a
//! rate or flat out, and reports deliveries per second, publish-to-receive latency, connects
//! per second and the server's memory per connection. Every run is bounded in count and time.

mod publishers;
mod subscribers;
mod wire;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use subscribers::Shared;
use wire::{Target, Transport};

const HELP: &str = "\
hookbox-bench: load a hookbox (or Nchan) server on loopback and report what it delivers

Usage: hookbox-bench SCENARIO [OPTIONS]

Scenarios:
  idle      open --subscribers WebSockets on one channel; report connects/s and the
            server's RSS per connection (needs --server-pid)
  fanout    --subscribers on one channel, then --messages publishes of --size bytes;
            report deliveries/s and latency
  spread    --subscribers on a channel each, then --messages publishes spread over them
  publish   one subscriber, then --messages publishes as fast as --publishers answer;
            report publishes/s

Options:
  --target hookbox|nchan   the server's protocol (default hookbox)
  --transport ws|longpoll  how hookbox subscribers connect: WebSocket, or CSP long-poll
                           (default ws)
  --url URL                the server (default http://127.0.0.1:8001)
  --token TOKEN            hookbox's -r token (default S)
  --subscribers N          WebSocket subscribers (default 1000)
  --messages N             messages to publish (default 1000)
  --size BYTES             message size (default 100)
  --rate N                 messages per second, 0 for flat out (default 0)
  --publishers N           HTTP publisher connections (default 1)
  --threads N              subscriber threads (default 1)
  --server-pid PID         read the server's RSS from /proc/PID/status
  --timeout SECS           give up on a phase after SECS (default 120)
  --json                   print the figures as one JSON object on the last line
";

#[derive(Debug, Clone)]
struct Args {
    scenario: String,
    target: Target,
    transport: Transport,
    addr: SocketAddr,
    host: String,
    token: String,
    subscribers: usize,
    messages: usize,
    size: usize,
    rate: f64,
    publishers: usize,
    threads: usize,
    server_pid: Option<u32>,
    timeout: Duration,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let scenario = it.next().ok_or("a scenario is needed (see --help)")?;
    if scenario == "--help" || scenario == "-h" {
        print!("{HELP}");
        std::process::exit(0);
    }
    if !matches!(scenario.as_str(), "idle" | "fanout" | "spread" | "publish") {
        return Err(format!("unknown scenario {scenario:?} (see --help)"));
    }
    let mut a = Args {
        scenario,
        target: Target::Hookbox,
        transport: Transport::WebSocket,
        addr: SocketAddr::from(([127, 0, 0, 1], 8001)),
        host: "127.0.0.1:8001".into(),
        token: "S".into(),
        subscribers: 1000,
        messages: 1000,
        size: 100,
        rate: 0.0,
        publishers: 1,
        threads: 1,
        server_pid: None,
        timeout: Duration::from_secs(120),
        json: false,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let num = |v: String| {
            v.parse::<usize>()
                .map_err(|_| format!("{flag}: not a number: {v}"))
        };
        match flag.as_str() {
            "--target" => {
                a.target = match value()?.as_str() {
                    "hookbox" => Target::Hookbox,
                    "nchan" => Target::Nchan,
                    other => return Err(format!("unknown target {other:?}")),
                }
            }
            "--transport" => {
                a.transport = match value()?.as_str() {
                    "ws" => Transport::WebSocket,
                    "longpoll" => Transport::LongPoll,
                    other => return Err(format!("unknown transport {other:?}")),
                }
            }
            "--url" => {
                let url = value()?;
                let host = url
                    .strip_prefix("http://")
                    .ok_or("--url must start with http://")?
                    .trim_end_matches('/')
                    .to_string();
                a.addr = host
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut x| x.next())
                    .ok_or(format!("cannot resolve {host}"))?;
                if !a.addr.ip().is_loopback() {
                    return Err("runs stay on loopback: --url must name 127.0.0.1 or ::1".into());
                }
                a.host = host;
            }
            "--token" => a.token = value()?,
            "--subscribers" => a.subscribers = num(value()?)?,
            "--messages" => a.messages = num(value()?)?,
            "--size" => a.size = num(value()?)?.max(24),
            "--rate" => a.rate = num(value()?)? as f64,
            "--publishers" => a.publishers = num(value()?)?.max(1),
            "--threads" => a.threads = num(value()?)?.max(1),
            "--server-pid" => a.server_pid = Some(num(value()?)? as u32),
            "--timeout" => a.timeout = Duration::from_secs(num(value()?)? as u64),
            "--json" => a.json = true,
            other => return Err(format!("unknown option {other:?} (see --help)")),
        }
    }
    if a.transport == Transport::LongPoll && a.target == Target::Nchan {
        return Err(
            "--transport longpoll is hookbox's CSP; Nchan is measured over WebSocket".into(),
        );
    }
    if a.subscribers == 0 && a.scenario != "publish" {
        return Err("--subscribers must be at least 1".into());
    }
    Ok(a)
}

/// The server's resident memory in bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Polls `done` until true or the timeout; false on timeout.
fn wait(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    true
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i.min(sorted.len() - 1)]) / 1000.0
}

struct Report {
    figures: Vec<(&'static str, f64)>,
}

impl Report {
    fn add(&mut self, name: &'static str, value: f64) {
        self.figures.push((name, value));
    }
}

fn run(a: &Args) -> Result<Report, String> {
    raise_nofile();
    let start = Instant::now();
    let shared = Shared::new(start);
    let mut report = Report {
        figures: Vec::new(),
    };
    let subs = if a.scenario == "publish" {
        1
    } else {
        a.subscribers
    };
    let channel_of = |i: usize| match a.scenario.as_str() {
        "spread" => format!("s{i}"),
        "publish" => "p".to_string(),
        _ => "fan".to_string(),
    };
    let before = a.server_pid.and_then(rss);

    let spec = subscribers::Spec {
        target: a.target,
        transport: a.transport,
        addr: a.addr,
        host: a.host.clone(),
    };
    let mut shares: Vec<Vec<String>> = vec![Vec::new(); a.threads];
    for i in 0..subs {
        shares[i % a.threads].push(channel_of(i));
    }
    let connect_start = Instant::now();
    let threads: Vec<_> = shares
        .into_iter()
        .map(|chs| subscribers::spawn(spec.clone(), chs, shared.clone()))
        .collect();
    let all_in = wait(a.timeout, || {
        shared.subscribed.load(Ordering::Relaxed) >= subs
    });
    let connect_secs = connect_start.elapsed().as_secs_f64();
    let subscribed = shared.subscribed.load(Ordering::Relaxed);
    report.add("subscribers", subscribed as f64);
    report.add("connects_per_sec", subscribed as f64 / connect_secs);
    if !all_in {
        shared.stop.store(true, Ordering::Relaxed);
        return Err(format!("only {subscribed} of {subs} subscribers got in"));
    }
    if let (Some(before), Some(pid)) = (before, a.server_pid) {
        // Let the server settle on what the subscribers cost before reading its memory.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(after) = rss(pid) {
            report.add("server_rss_mb", after as f64 / 1048576.0);
            report.add(
                "rss_bytes_per_conn",
                after.saturating_sub(before) as f64 / subs as f64,
            );
        }
    }

    if a.scenario != "idle" {
        let channels: Vec<String> = (0..a.messages)
            .map(|j| match a.scenario.as_str() {
                "spread" => channel_of(j % subs),
                _ => channel_of(0),
            })
            .collect();
        let plan = publishers::Plan {
            target: a.target,
            addr: a.addr,
            host: a.host.clone(),
            token: a.token.clone(),
            channels: Arc::new(channels),
            size: a.size,
            rate: a.rate,
            publishers: a.publishers,
        };
        let publish_start_us = wire::micros(start);
        let outcome = publishers::run(&plan, start);
        report.add("published", outcome.sent as f64);
        report.add("refused", outcome.refused as f64);
        report.add(
            "publishes_per_sec",
            outcome.sent as f64 / outcome.elapsed.as_secs_f64(),
        );
        let expected = match a.scenario.as_str() {
            "fanout" => outcome.sent * subs as u64,
            _ => outcome.sent,
        };
        let complete = wait(a.timeout, || {
            shared.delivered.load(Ordering::Relaxed) >= expected
                || shared.closed.load(Ordering::Relaxed) >= subs
        });
        let delivered = shared.delivered.load(Ordering::Relaxed);
        let span_us = shared
            .last_delivery_us
            .load(Ordering::Relaxed)
            .saturating_sub(publish_start_us)
            .max(1);
        report.add("delivered", delivered as f64);
        report.add("expected", expected as f64);
        report.add(
            "deliveries_per_sec",
            delivered as f64 * 1e6 / span_us as f64,
        );
        if !complete {
            eprintln!("hookbox-bench: timed out with {delivered} of {expected} delivered");
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let mut latencies: Vec<u32> = Vec::new();
    for t in threads {
        latencies.extend(t.join().unwrap_or_default());
    }
    latencies.sort_unstable();
    if !latencies.is_empty() {
        report.add("latency_p50_ms", percentile(&latencies, 0.50));
        report.add("latency_p99_ms", percentile(&latencies, 0.99));
        report.add("latency_max_ms", percentile(&latencies, 1.0));
    }
    report.add(
        "subscribers_closed",
        shared.closed.load(Ordering::Relaxed) as f64,
    );
    report.add(
        "connect_retries",
        shared.connect_retries.load(Ordering::Relaxed) as f64,
    );
    Ok(report)
}

/// Many sockets need many descriptors.
fn raise_nofile() {
    if let Err(e) = hookbox::server::sys::raise_nofile() {
        eprintln!("hookbox-bench: cannot raise the open-file limit: {e}");
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("hookbox-bench: {e}");
            return ExitCode::from(2);
        }
    };
    let report = match run(&args) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookbox-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let target = match args.target {
        Target::Hookbox => "hookbox",
        Target::Nchan => "nchan",
    };
    println!("{} {} against {}", args.scenario, target, args.host);
    for (name, value) in &report.figures {
        println!("  {name:<22} {value:.2}");
    }
    if args.json {
        let fields: Vec<String> = report
            .figures
            .iter()
            .map(|(n, v)| {
                if v.is_finite() {
                    format!("\"{n}\": {v:.3}")
                } else {
                    format!("\"{n}\": null")
                }
            })
            .collect();
        println!(
            "{{\"scenario\": \"{}\", \"target\": \"{target}\", {}}}",
            args.scenario,
            fields.join(", ")
        );
    }
    ExitCode::SUCCESS
}

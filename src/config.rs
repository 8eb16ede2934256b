//! Command-line flags: Hookbox's own, plus our limits and timeouts. No config file.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::log::Level;

/// The hooks, in Hookbox's order, with their default relative paths.
pub const HOOKS: [&str; 8] = [
    "connect",
    "disconnect",
    "create_channel",
    "destroy_channel",
    "subscribe",
    "unsubscribe",
    "publish",
    "message",
];

/// Where and how webhooks are called (used once webhooks are wired; parsed now).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub path: String,
    pub https: bool,
    pub trailing_slash: bool,
    pub send_version: bool,
    /// Relative path per hook, in [`HOOKS`] order.
    pub hook_paths: [String; 8],
    pub single_url: Option<String>,
    pub secret: Option<String>,
    pub cookie_identifier: Option<String>,
    pub workers: usize,
    pub queue: usize,
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Open mode: no target configured, every hook is answered "allow" inside the server.
    pub fn is_open_mode(&self) -> bool {
        self.host.is_none() && self.port.is_none() && self.single_url.is_none()
    }
}

/// Size limits; each has a flag and a clear error when exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_head: usize,
    pub max_body: usize,
    pub max_ws_message: usize,
    pub max_outbound: usize,
}

/// Timeouts for idle and half-sent traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub head: Duration,
    pub keep_alive: Duration,
    pub ws_ping: Duration,
    pub ws_dead: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub interface: String,
    pub port: u16,
    pub api_interface: Option<String>,
    pub api_port: Option<u16>,
    pub ignore_missing_publish: bool,
    pub api_token: Option<String>,
    pub admin_password: Option<String>,
    pub log_level: Level,
    pub error_log: Option<PathBuf>,
    pub access_log: Option<PathBuf>,
    pub webhooks: WebhookConfig,
    pub echo_path: Option<String>,
    /// Open mode's demo channel (`--demo-channel`, empty for none).
    pub demo_channel: Option<String>,
    pub limits: Limits,
    pub timeouts: Timeouts,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interface: "127.0.0.1".into(),
            port: 8001,
            api_interface: None,
            api_port: None,
            ignore_missing_publish: false,
            api_token: None,
            admin_password: None,
            log_level: Level::Info,
            error_log: None,
            access_log: None,
            webhooks: WebhookConfig {
                host: None,
                port: None,
                path: "/hookbox".into(),
                https: false,
                trailing_slash: false,
                send_version: false,
                hook_paths: HOOKS.map(String::from),
                single_url: None,
                secret: None,
                cookie_identifier: None,
                workers: 8,
                queue: 1024,
                timeout: Duration::from_secs(5),
            },
            echo_path: None,
            demo_channel: Some("lobby".into()),
            limits: Limits {
                max_head: 16 * 1024,
                max_body: 1024 * 1024,
                max_ws_message: 64 * 1024,
                max_outbound: 1024 * 1024,
            },
            timeouts: Timeouts {
                head: Duration::from_secs(10),
                keep_alive: Duration::from_secs(60),
                ws_ping: Duration::from_secs(25),
                ws_dead: Duration::from_secs(60),
            },
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Run(Box<Config>),
    Help,
    Version,
}

pub fn help() -> String {
    let d = Config::default();
    let mut s = String::new();
    let _ = write!(
        s,
        "\
hookbox {version}: a web-enabled message queue (WebSocket and comet pub/sub, REST, webhooks)

Usage: hookbox [OPTIONS]

Listening:
  -i, --interface IFACE            bind the main port to IFACE (default {iface})
  -p, --port PORT                  main port: /ws, /csp, /static, /web (default {port}; 0 picks one)
  -w, --web-api-port PORT          serve the REST API on its own port (at /web/<m> and /<m>)
  -W, --web-api-interface IFACE    interface for the REST API port (default: -i)

REST API:
  -r, --api-security-token TOKEN   enable /web/<method>; callers send it as security_token
                                   or Authorization: Bearer TOKEN (without -r the API is off)
  -x, --ignore-missing-channels    REST publish to a channel that does not exist succeeds
                                   and does nothing (default: error)

Webhooks (none configured = open mode: every hook is allowed inside the server):
      --cbhost HOST                call webhooks on HOST (default 127.0.0.1)
      --cbport PORT                call webhooks on PORT (default 80)
      --cbpath PATH                base path of webhook URLs (default {cbpath})
      --cbhttps                    call webhooks over https
      --cbtrailingslash            add a trailing slash to webhook URLs
      --cbsendhookboxversion       send the hookbox version with every webhook call
      --cb-connect PATH            relative path of each hook (defaults: the hook's name);
      --cb-disconnect PATH           --cb-create_channel and --cb-create-channel are the same
      --cb-create-channel PATH
      --cb-destroy-channel PATH
      --cb-subscribe PATH
      --cb-unsubscribe PATH
      --cb-publish PATH
      --cb-message PATH
      --cb-single-url URL          send every hook to this absolute URL (field `action` names it)
  -s, --webhook-secret SECRET      sent as form field `secret` with every webhook call
  -c, --cookie-identifier NAME     forward only this cookie to webhooks (default: all)
      --webhook-workers N          webhook worker threads (default {workers})
      --webhook-queue N            webhook calls that may wait (default {queue}); beyond: denied
      --webhook-timeout SECS       timeout per webhook call (default {timeout})

Admin and logging:
  -a, --admin-password PASSWORD    enable the admin console at /admin
  -L, --log-level LEVEL            error, warn, info or debug (default info)
  -d, --debug                      same as -L debug
  -E, --log-file-errors FILE       also append warnings and errors to FILE
  -A, --log-file-access FILE       append one line per HTTP request and WebSocket to FILE

Limits and timeouts:
      --max-head BYTES             request head limit, 431 beyond (default {max_head})
      --max-body BYTES             request body limit, 413 beyond (default {max_body})
      --max-ws-message BYTES       WebSocket message limit, close 1009 beyond (default {max_ws})
      --max-outbound BYTES         queued output per connection; a slower consumer is
                                   disconnected (default {max_out})
      --head-timeout SECS          a request head must arrive within SECS (default {head_t})
      --keep-alive-timeout SECS    idle HTTP connections close after SECS (default {ka_t})
      --ws-ping SECS               WebSocket ping interval (default {ping_t})
      --ws-timeout SECS            a silent WebSocket closes after SECS (default {dead_t})
      --echo-path PATH             serve a WebSocket echo endpoint at PATH (for conformance
                                   tests; off by default)
      --demo-channel NAME          in open mode, the channel the demo page chats on: made at
                                   start, presenceful, 50 messages of history, kept when
                                   empty (default lobby; \"\" for none)

  -h, --help                       this text
  -V, --version                    the version
",
        version = env!("CARGO_PKG_VERSION"),
        iface = d.interface,
        port = d.port,
        cbpath = d.webhooks.path,
        workers = d.webhooks.workers,
        queue = d.webhooks.queue,
        timeout = d.webhooks.timeout.as_secs(),
        max_head = d.limits.max_head,
        max_body = d.limits.max_body,
        max_ws = d.limits.max_ws_message,
        max_out = d.limits.max_outbound,
        head_t = d.timeouts.head.as_secs(),
        ka_t = d.timeouts.keep_alive.as_secs(),
        ping_t = d.timeouts.ws_ping.as_secs(),
        dead_t = d.timeouts.ws_dead.as_secs(),
    );
    s
}

/// Parses the arguments after the program name. An error is one line saying what is wrong.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut c = Config::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // `--flag=value` and `-pVALUE` carry their value inline.
        let (flag, inline): (String, Option<String>) = if let Some(long) = arg.strip_prefix("--") {
            match long.split_once('=') {
                Some((f, v)) => (format!("--{f}"), Some(v.to_string())),
                None => (arg.clone(), None),
            }
        } else if arg.starts_with('-')
            && arg.len() > 2
            && arg.is_char_boundary(2)
            && !arg.starts_with("--")
        {
            (arg[..2].to_string(), Some(arg[2..].to_string()))
        } else {
            (arg.clone(), None)
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => args
                    .next()
                    .ok_or_else(|| format!("option {name} needs a value")),
            }
        };
        let takes_no_value = |name: &str| -> Result<(), String> {
            match &inline {
                Some(_) => Err(format!("option {name} takes no value")),
                None => Ok(()),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "-i" | "--interface" => c.interface = value(&flag)?,
            "-p" | "--port" => c.port = number(&flag, &value(&flag)?)?,
            "-w" | "--web-api-port" => c.api_port = Some(number(&flag, &value(&flag)?)?),
            "-W" | "--web-api-interface" => c.api_interface = Some(value(&flag)?),
            "-x" | "--ignore-missing-channels" => {
                takes_no_value(&flag)?;
                c.ignore_missing_publish = true
            }
            "-r" | "--api-security-token" => c.api_token = Some(non_empty(&flag, value(&flag)?)?),
            "-a" | "--admin-password" => c.admin_password = Some(non_empty(&flag, value(&flag)?)?),
            "-s" | "--webhook-secret" => c.webhooks.secret = Some(value(&flag)?),
            "-c" | "--cookie-identifier" => c.webhooks.cookie_identifier = Some(value(&flag)?),
            "-L" | "--log-level" => {
                let v = value(&flag)?;
                c.log_level = Level::parse(&v).ok_or_else(|| {
                    format!("option {flag}: unknown level {v:?} (error, warn, info, debug)")
                })?;
            }
            "-d" | "--debug" => {
                takes_no_value(&flag)?;
                c.log_level = Level::Debug
            }
            "-E" | "--log-file-errors" => c.error_log = Some(value(&flag)?.into()),
            "-A" | "--log-file-access" => c.access_log = Some(value(&flag)?.into()),
            "--cbhost" => c.webhooks.host = Some(value(&flag)?),
            "--cbport" => c.webhooks.port = Some(number(&flag, &value(&flag)?)?),
            "--cbpath" => c.webhooks.path = value(&flag)?,
            "--cbhttps" => {
                takes_no_value(&flag)?;
                c.webhooks.https = true
            }
            "--cbtrailingslash" => {
                takes_no_value(&flag)?;
                c.webhooks.trailing_slash = true
            }
            "--cbsendhookboxversion" => {
                takes_no_value(&flag)?;
                c.webhooks.send_version = true
            }
            "--cb-single-url" => {
                let url = value(&flag)?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!("option {flag}: {url:?} is not an http(s) URL"));
                }
                c.webhooks.single_url = Some(url)
            }
            "--webhook-workers" => c.webhooks.workers = positive(&flag, &value(&flag)?)?,
            "--webhook-queue" => c.webhooks.queue = positive(&flag, &value(&flag)?)?,
            "--webhook-timeout" => c.webhooks.timeout = seconds(&flag, &value(&flag)?)?,
            "--demo-channel" => {
                let name = value(&flag)?;
                c.demo_channel = (!name.is_empty()).then_some(name)
            }
            "--echo-path" => {
                let p = value(&flag)?;
                if !p.starts_with('/') {
                    return Err(format!("option {flag}: path must start with /"));
                }
                c.echo_path = Some(p)
            }
            "--max-head" => c.limits.max_head = positive(&flag, &value(&flag)?)?,
            "--max-body" => c.limits.max_body = positive(&flag, &value(&flag)?)?,
            "--max-ws-message" => c.limits.max_ws_message = positive(&flag, &value(&flag)?)?,
            "--max-outbound" => c.limits.max_outbound = positive(&flag, &value(&flag)?)?,
            "--head-timeout" => c.timeouts.head = seconds(&flag, &value(&flag)?)?,
            "--keep-alive-timeout" => c.timeouts.keep_alive = seconds(&flag, &value(&flag)?)?,
            "--ws-ping" => c.timeouts.ws_ping = seconds(&flag, &value(&flag)?)?,
            "--ws-timeout" => c.timeouts.ws_dead = seconds(&flag, &value(&flag)?)?,
            other => {
                let hook = other
                    .strip_prefix("--cb-")
                    .map(|h| h.replace('-', "_"))
                    .and_then(|h| HOOKS.iter().position(|&k| k == h));
                match hook {
                    Some(i) => c.webhooks.hook_paths[i] = value(&flag)?,
                    None if other.starts_with('-') => {
                        return Err(format!("unknown option {other} (see --help)"))
                    }
                    None => return Err(format!("unexpected argument {other:?} (see --help)")),
                }
            }
        }
    }
    Ok(Command::Run(Box::new(c)))
}

fn number(flag: &str, v: &str) -> Result<u16, String> {
    v.parse()
        .map_err(|_| format!("option {flag}: {v:?} is not a port number (0-65535)"))
}

fn positive(flag: &str, v: &str) -> Result<usize, String> {
    match v.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("option {flag}: {v:?} is not a positive number")),
    }
}

fn seconds(flag: &str, v: &str) -> Result<Duration, String> {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s.is_finite() && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(format!(
            "option {flag}: {v:?} is not a positive number of seconds"
        )),
    }
}

fn non_empty(flag: &str, v: String) -> Result<String, String> {
    if v.is_empty() {
        Err(format!("option {flag} needs a non-empty value"))
    } else {
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Config, String> {
        match parse_args(args.iter().map(|s| s.to_string()))? {
            Command::Run(c) => Ok(*c),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_and_forms() {
        let c = run(&[]).unwrap();
        assert_eq!(c.interface, "127.0.0.1");
        assert_eq!(c.port, 8001);
        assert!(c.webhooks.is_open_mode());
        let c = run(&[
            "-p9000",
            "--interface=0.0.0.0",
            "-r",
            "S",
            "-x",
            "--cbport",
            "8080",
        ])
        .unwrap();
        assert_eq!(c.port, 9000);
        assert_eq!(c.interface, "0.0.0.0");
        assert_eq!(c.api_token.as_deref(), Some("S"));
        assert!(c.ignore_missing_publish);
        assert!(!c.webhooks.is_open_mode());
        let c = run(&["--cb-create_channel", "cc", "--cb-destroy-channel", "dd"]).unwrap();
        assert_eq!(c.webhooks.hook_paths[2], "cc");
        assert_eq!(c.webhooks.hook_paths[3], "dd");
    }

    #[test]
    fn errors_are_one_line() {
        for bad in [
            &["--nope"][..],
            &["-p"],
            &["-p", "70000"],
            &["-r", ""],
            &["-L", "loud"],
            &["--cb-single-url", "ftp://x"],
            &["stray"],
            &["-x=1"],
            &["-\u{e9}"],
        ] {
            let e = run(bad).unwrap_err();
            assert!(!e.contains('\n') && !e.is_empty(), "{bad:?}: {e}");
        }
        assert_eq!(parse_args(["-h".to_string()]).unwrap(), Command::Help);
    }

    #[test]
    fn help_names_every_flag() {
        let h = help();
        for flag in [
            "-i,",
            "-p,",
            "-w,",
            "-W,",
            "-x,",
            "-r,",
            "-a,",
            "-s,",
            "-c,",
            "-L,",
            "-E,",
            "-A,",
            "--cbhost",
            "--cbport",
            "--cbpath",
            "--cbhttps",
            "--cbtrailingslash",
            "--cb-single-url",
            "--cb-connect",
            "--cb-message",
            "--echo-path",
        ] {
            assert!(h.contains(flag), "{flag}");
        }
    }
}

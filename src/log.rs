//! A small leveled logger: stderr, plus an optional error file (`-E`) and access file (`-A`).

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warn,
    Info,
    Debug,
}

impl Level {
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.to_ascii_lowercase().as_str() {
            "error" => Level::Error,
            "warn" | "warning" => Level::Warn,
            "info" => Level::Info,
            "debug" => Level::Debug,
            _ => return None,
        })
    }

    fn label(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }
}

struct Logger {
    level: Level,
    errors: Option<Mutex<File>>,
    access: Option<Mutex<File>>,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// The last lines logged, for the admin console: (number of the first line kept, lines).
static RECENT: Mutex<(u64, VecDeque<String>)> = Mutex::new((0, VecDeque::new()));
const RECENT_LINES: usize = 200;

/// Lines logged after line number `after` (0 for all kept), and the number of the newest.
pub fn recent(after: u64) -> (Vec<String>, u64) {
    let Ok(r) = RECENT.lock() else {
        return (Vec::new(), after);
    };
    let (first, lines) = &*r;
    let newest = first + lines.len() as u64;
    let skip = after.saturating_sub(*first) as usize;
    (lines.iter().skip(skip).cloned().collect(), newest)
}

fn open(path: &Path) -> std::io::Result<Mutex<File>> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(Mutex::new)
}

/// Sets up logging once; a file that cannot be opened is an error for the caller to report.
pub fn init(level: Level, errors: Option<&Path>, access: Option<&Path>) -> Result<(), String> {
    let errors = errors
        .map(|p| open(p).map_err(|e| format!("cannot open error log {}: {e}", p.display())))
        .transpose()?;
    let access = access
        .map(|p| open(p).map_err(|e| format!("cannot open access log {}: {e}", p.display())))
        .transpose()?;
    let _ = LOGGER.set(Logger {
        level,
        errors,
        access,
    });
    Ok(())
}

pub fn enabled(level: Level) -> bool {
    level <= LOGGER.get().map_or(Level::Info, |l| l.level)
}

pub fn write(level: Level, msg: std::fmt::Arguments<'_>) {
    if !enabled(level) {
        return;
    }
    let line = format!("{} {:<5} {}\n", Timestamp::now().iso(), level.label(), msg);
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Ok(mut r) = RECENT.lock() {
        r.1.push_back(line.trim_end().to_string());
        if r.1.len() > RECENT_LINES {
            r.1.pop_front();
            r.0 += 1;
        }
    }
    if level <= Level::Warn {
        if let Some(f) = LOGGER.get().and_then(|l| l.errors.as_ref()) {
            if let Ok(mut f) = f.lock() {
                let _ = f.write_all(line.as_bytes());
            }
        }
    }
}

/// One access line (only when `-A` is given).
pub fn access(msg: std::fmt::Arguments<'_>) {
    if let Some(f) = LOGGER.get().and_then(|l| l.access.as_ref()) {
        let line = format!("{} {}\n", Timestamp::now().iso(), msg);
        if let Ok(mut f) = f.lock() {
            let _ = f.write_all(line.as_bytes());
        }
    }
}

pub fn access_enabled() -> bool {
    LOGGER.get().is_some_and(|l| l.access.is_some())
}

#[macro_export]
macro_rules! error { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Error, format_args!($($t)*)) } }
#[macro_export]
macro_rules! warn { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Warn, format_args!($($t)*)) } }
#[macro_export]
macro_rules! info { ($($t:tt)*) => { $crate::log::write($crate::log::Level::Info, format_args!($($t)*)) } }
#[macro_export]
macro_rules! debug { ($($t:tt)*) => { if $crate::log::enabled($crate::log::Level::Debug) { $crate::log::write($crate::log::Level::Debug, format_args!($($t)*)) } } }

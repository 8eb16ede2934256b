//! The `hookbox` binary: parses the command line and runs the server.

use std::process::ExitCode;

use hookbox::config::{help, parse_args, Command};

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", help());
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("hookbox {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("hookbox: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = hookbox::log::init(
        config.log_level,
        config.error_log.as_deref(),
        config.access_log.as_deref(),
    ) {
        eprintln!("hookbox: {e}");
        return ExitCode::from(2);
    }
    let open_mode = config.webhooks.is_open_mode();
    let rest_on = config.api_token.is_some();
    let server = match hookbox::server::Server::bind(*config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hookbox: {e}");
            return ExitCode::from(2);
        }
    };
    match hookbox::server::sys::raise_nofile() {
        Ok(n) if n < hookbox::server::sys::COMFORTABLE => hookbox::warn!(
            "the open-file limit is {n}: at most about {n} connections (raise the hard limit with ulimit -Hn)"
        ),
        Ok(n) => hookbox::debug!("open-file limit {n}"),
        Err(e) => hookbox::warn!("cannot read the open-file limit: {e}"),
    }
    match server.local_addr() {
        Ok(addr) => hookbox::info!("listening on http://{addr}"),
        Err(e) => hookbox::warn!("cannot read the bound address: {e}"),
    }
    if let Some(addr) = server.api_addr() {
        hookbox::info!("REST API listening on http://{addr}");
    }
    if open_mode {
        hookbox::warn!(
            "open mode: no webhook target configured (--cbhost, --cbport or --cb-single-url), so every connect, subscribe and publish is allowed"
        );
    }
    if !rest_on {
        hookbox::info!("REST API disabled (start with -r TOKEN to enable /web/<method>)");
    }
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookbox: event loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}

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
    ExitCode::SUCCESS
}

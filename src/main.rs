//! The `newsmill` binary: parse the command line, set up logging, run the command, map the
//! outcome to an exit code (0 ok, 1 finished with failures, 2 fatal or config error,
//! 75 another run holds the lock).

use std::process::ExitCode;

use clap::Parser as _;
use newsmill::cli::{Cli, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let verbosity = if cli.quiet {
        -1
    } else {
        i8::try_from(cli.verbose).unwrap_or(i8::MAX)
    };
    newsmill::telemetry::init(cli.log_format == LogFormat::Json, verbosity);
    let outcome = match newsmill::app::try_execute_sync(cli.command) {
        Ok(outcome) => outcome,
        Err(command) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("newsmill: cannot start the async runtime: {e}");
                    return ExitCode::from(2);
                }
            };
            runtime.block_on(newsmill::app::execute(command))
        }
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("newsmill: {e:#}");
            ExitCode::from(2)
        }
    }
}

//! Logging setup: `tracing` events to stderr, as text or JSON lines, filtered by `RUST_LOG`
//! or by the verbosity flags (default: newsmill at info, dependencies at warn).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `json` selects JSON lines; `verbosity` is -1 (quiet), 0, 1, 2.
pub fn init(json: bool, verbosity: i8) {
    let default = match verbosity {
        i8::MIN..=-1 => "warn",
        0 => "newsmill=info,warn",
        1 => "newsmill=debug,info",
        _ => "newsmill=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Ignoring the error keeps a second init (tests) harmless.
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

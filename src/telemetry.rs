//! Logging setup: `tracing` events to stderr, as text or JSON lines, filtered by `RUST_LOG`
//! or by the verbosity flags (default: newsmill at info, dependencies at warn).
//!
//! When stderr is a terminal and the format is text, spans marked as progress (one per source
//! in `pipeline`) are drawn as progress bars (tracing-indicatif), and log lines are printed
//! above them instead of through them. Under cron (no terminal) or with JSON logs there are
//! no bars, just plain lines.
//!
//! Colour (ANSI escapes) is used only when stderr is a terminal and `NO_COLOR` is unset or
//! empty (<https://no-color.org>), so a log file or a pipe never receives escape codes.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the global subscriber. `json` selects JSON lines; `verbosity` is -1 (quiet), 0, 1, 2.
pub fn init(json: bool, verbosity: i8) {
    let default = match verbosity {
        i8::MIN..=-1 => "warn",
        0 => "newsmill=info,warn",
        1 => "newsmill=debug,info",
        _ => "newsmill=trace,debug",
    };
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Ignoring the error keeps a second init (tests) harmless.
    if json {
        let fmt = tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .with_writer(std::io::stderr);
        let _ = tracing_subscriber::registry()
            .with(filter())
            .with(fmt)
            .try_init();
    } else if std::io::stderr().is_terminal() {
        let bars = tracing_indicatif::IndicatifLayer::new().with_max_progress_bars(12, None);
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(colour(true, std::env::var_os("NO_COLOR").as_deref()))
            .with_writer(bars.get_stderr_writer());
        let _ = tracing_subscriber::registry()
            .with(filter())
            .with(fmt)
            .with(bars)
            .try_init();
    } else {
        let fmt = tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(false)
            .with_writer(std::io::stderr);
        let _ = tracing_subscriber::registry()
            .with(filter())
            .with(fmt)
            .try_init();
    }
}

/// Whether log lines may carry colour: only on a terminal, and never when `NO_COLOR` is set to
/// a non-empty value.
pub fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(std::ffi::OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::colour;

    // See: issue 11, item 6.
    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))));
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None));
    }
}

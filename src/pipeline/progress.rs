//! Per-source progress for the terminal: each source's span is drawn as a bar (by
//! tracing-indicatif, only when stderr is a terminal with text logs) labelled with the
//! source's name and its fetched / new / failed counts, with an ETA from the bar's rate.
//!
//! Counts come from two threads: fetch tasks (fetched, failed fetches) and the sink (new
//! records, pages that gave no article). They only touch atomics here and re-draw the label;
//! nothing in the run reads these numbers back (the run report keeps its own counters).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing::Span;
use tracing_indicatif::span_ext::IndicatifSpanExt as _;

use crate::model::SourceId;

/// The bar layout: label, bar, done/total, ETA.
const TEMPLATE: &str = "{span_child_prefix}{msg} {wide_bar} {pos}/{len} ETA {eta}";
/// Before the article count is known: a spinner and the label.
const DISCOVERING: &str = "{span_child_prefix}{spinner} {msg} (discovering)";

/// One source's counters and the span its bar is drawn for.
#[derive(Debug, Default)]
struct Bar {
    name: String,
    span: Mutex<Option<Span>>,
    fetched: AtomicU64,
    new: AtomicU64,
    failed: AtomicU64,
}

/// What changed for a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An article page was received.
    Fetched,
    /// A new record was added to the corpus.
    New,
    /// A fetch failed, or a page gave no article.
    Failed,
}

/// Progress of every source of a run. Sources not registered are ignored.
#[derive(Debug, Default)]
pub struct Progress {
    bars: HashMap<SourceId, Bar>,
}

impl Progress {
    /// Counters for these sources (id, display name).
    pub fn new<'a>(sources: impl IntoIterator<Item = (&'a SourceId, &'a str)>) -> Self {
        let bars = sources
            .into_iter()
            .map(|(id, name)| {
                let bar = Bar {
                    name: name.to_owned(),
                    ..Bar::default()
                };
                (id.clone(), bar)
            })
            .collect();
        Self { bars }
    }

    /// Labels `source`'s span while its feeds and sitemaps are read (a spinner: the number
    /// of articles is not known yet).
    pub fn discovering(&self, source: &SourceId, span: &Span) {
        let Some(bar) = self.bars.get(source) else {
            return;
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(DISCOVERING) {
            span.pb_set_style(&style);
        }
        *bar.span.lock().unwrap_or_else(PoisonError::into_inner) = Some(span.clone());
        redraw(bar);
    }

    /// Turns `source`'s span into a bar with `len` article URLs to go.
    pub fn start(&self, source: &SourceId, span: &Span, len: u64) {
        let Some(bar) = self.bars.get(source) else {
            return;
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(TEMPLATE) {
            span.pb_set_style(&style);
        }
        span.pb_set_length(len);
        *bar.span.lock().unwrap_or_else(PoisonError::into_inner) = Some(span.clone());
        redraw(bar);
    }

    /// Counts one event for `source` and re-draws its label.
    pub fn note(&self, source: &SourceId, event: Event) {
        let Some(bar) = self.bars.get(source) else {
            return;
        };
        let counter = match event {
            Event::Fetched => &bar.fetched,
            Event::New => &bar.new,
            Event::Failed => &bar.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        redraw(bar);
    }
}

fn redraw(bar: &Bar) {
    let span = bar.span.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(span) = span.as_ref() {
        span.pb_set_message(&label(
            &bar.name,
            bar.fetched.load(Ordering::Relaxed),
            bar.new.load(Ordering::Relaxed),
            bar.failed.load(Ordering::Relaxed),
        ));
    }
}

/// `BelTA  fetched 12 · new 10 · failed 1`.
pub fn label(name: &str, fetched: u64, new: u64, failed: u64) -> String {
    format!("{name}  fetched {fetched} · new {new} · failed {failed}")
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 11, item 8.
    #[test]
    fn label_names_the_source_and_counts_fetched_new_failed() {
        assert_eq!(
            label("BelTA", 12, 10, 1),
            "BelTA  fetched 12 · new 10 · failed 1"
        );
        assert!(TEMPLATE.contains("{msg}") && TEMPLATE.contains("{eta}"));
        assert!(indicatif::ProgressStyle::with_template(TEMPLATE).is_ok());
        assert!(indicatif::ProgressStyle::with_template(DISCOVERING).is_ok());
    }

    #[test]
    fn counts_per_source_and_ignores_unknown_sources() {
        let (a, b) = (SourceId::new("a").unwrap(), SourceId::new("b").unwrap());
        let p = Progress::new([(&a, "A")]);
        p.note(&a, Event::Fetched);
        p.note(&a, Event::New);
        p.note(&b, Event::Failed);
        let bar = &p.bars[&a];
        assert_eq!(bar.fetched.load(Ordering::Relaxed), 1);
        assert_eq!(bar.new.load(Ordering::Relaxed), 1);
        assert_eq!(bar.failed.load(Ordering::Relaxed), 0);
    }
}

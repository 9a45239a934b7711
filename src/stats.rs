//! Read-only views of the corpus for people and scripts: `newsmill stats` (per-source counts,
//! date range, languages, duplicate clusters, top attributions) and `newsmill export` (records
//! filtered by date and source, as JSONL). Pure functions over records; the corpus module reads
//! the files, and `stats` streams them through [`Summarizer`] one record at a time.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use serde::Serialize;

use crate::model::{CorpusRecord, SourceId};

/// How many attributions `stats` lists.
const TOP_ATTRIBUTIONS: usize = 15;

/// Counters for one source.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SourceSummary {
    /// Records.
    pub records: usize,
    /// Earliest `published_at`.
    pub first_published: Option<String>,
    /// Latest `published_at`.
    pub last_published: Option<String>,
    /// Records without a publication date.
    pub undated: usize,
    /// Records by language.
    pub languages: BTreeMap<String, usize>,
    /// Exact-duplicate sightings recorded on this source's records.
    pub also_seen: usize,
}

/// The whole corpus summary.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct CorpusStats {
    /// Records.
    pub records: usize,
    /// Per source.
    pub sources: BTreeMap<SourceId, SourceSummary>,
    /// Records by language.
    pub languages: BTreeMap<String, usize>,
    /// Earliest and latest `published_at` over all records.
    pub date_range: (Option<String>, Option<String>),
    /// Exact-duplicate sightings (URLs folded into an existing record).
    pub exact_duplicates: usize,
    /// Near-duplicate clusters with more than one record.
    pub near_duplicate_clusters: usize,
    /// Records that belong to such a cluster.
    pub records_in_clusters: usize,
    /// Most credited agencies (excluding the publisher itself): name, kind, count.
    pub top_attributions: Vec<(String, String, usize)>,
}

fn widen(range: &mut (Option<String>, Option<String>), d: &str) {
    if range.0.as_deref().is_none_or(|f| d < f) {
        range.0 = Some(d.to_owned());
    }
    if range.1.as_deref().is_none_or(|l| d > l) {
        range.1 = Some(d.to_owned());
    }
}

/// Summarizes records held in memory. Dates compare as UTC instants.
pub fn summarize(records: &[CorpusRecord]) -> CorpusStats {
    let mut s = Summarizer::default();
    for r in records {
        s.push(r);
    }
    s.finish()
}

/// Builds [`CorpusStats`] one record at a time, so `newsmill stats` streams the corpus
/// ([`crate::corpus::RecordStream`]): memory grows with the number of sources, credited names
/// and near-duplicate clusters, not with the text.
#[derive(Debug, Default)]
pub struct Summarizer {
    stats: CorpusStats,
    credits: HashMap<(String, String), usize>,
    clusters: HashMap<String, usize>,
}

impl Summarizer {
    /// Counts one record.
    pub fn push(&mut self, r: &CorpusRecord) {
        let s = &mut self.stats;
        s.records += 1;
        let a = &r.article;
        let src = s.sources.entry(a.source_id.clone()).or_default();
        src.records += 1;
        src.also_seen += r.also_seen_at.len();
        s.exact_duplicates += r.also_seen_at.len();
        let lang = a.language.clone().unwrap_or_else(|| "unknown".into());
        *src.languages.entry(lang.clone()).or_default() += 1;
        *s.languages.entry(lang).or_default() += 1;
        match a.published_at {
            Some(d) => {
                let utc = d.with_timezone(&Utc).to_rfc3339();
                let mut range = (src.first_published.take(), src.last_published.take());
                widen(&mut range, &utc);
                (src.first_published, src.last_published) = range;
                widen(&mut s.date_range, &utc);
            }
            None => src.undated += 1,
        }
        for at in a
            .attributions
            .iter()
            .filter(|x| x.kind != crate::model::AttributionKind::Publisher)
        {
            let kind = serde_json::to_value(at.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            *self.credits.entry((at.name.clone(), kind)).or_default() += 1;
        }
        if let Some(c) = r.near.cluster_id.as_deref() {
            match self.clusters.get_mut(c) {
                Some(n) => *n += 1,
                None => {
                    self.clusters.insert(c.to_owned(), 1);
                }
            }
        }
    }

    /// The summary of every record pushed.
    pub fn finish(self) -> CorpusStats {
        let mut s = self.stats;
        s.near_duplicate_clusters = self.clusters.values().filter(|n| **n > 1).count();
        s.records_in_clusters = self.clusters.values().filter(|n| **n > 1).sum();
        let mut top: Vec<(String, String, usize)> = self
            .credits
            .into_iter()
            .map(|((n, k), c)| (n, k, c))
            .collect();
        top.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.0.cmp(&b.0))
                .then_with(|| a.1.cmp(&b.1))
        });
        top.truncate(TOP_ATTRIBUTIONS);
        s.top_attributions = top;
        s
    }
}

/// Human-readable rendering of [`CorpusStats`].
pub fn render(s: &CorpusStats) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let d = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        out,
        "{} records, published {} .. {}",
        s.records,
        d(&s.date_range.0),
        d(&s.date_range.1)
    );
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>8} {:>6}  {:<26} {:<26} languages",
        "source", "records", "undated", "dups", "first published", "last published"
    );
    for (id, src) in &s.sources {
        let langs = src
            .languages
            .iter()
            .map(|(l, n)| format!("{l}={n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>8} {:>6}  {:<26} {:<26} {langs}",
            id.as_str(),
            src.records,
            src.undated,
            src.also_seen,
            d(&src.first_published),
            d(&src.last_published)
        );
    }
    let langs = s
        .languages
        .iter()
        .map(|(l, n)| format!("{l}={n}"))
        .collect::<Vec<_>>()
        .join(" ");
    let _ = writeln!(out, "languages: {langs}");
    let _ = writeln!(
        out,
        "exact duplicates folded: {}; near-duplicate clusters: {} ({} records)",
        s.exact_duplicates, s.near_duplicate_clusters, s.records_in_clusters
    );
    let _ = writeln!(out, "top attributions:");
    for (name, kind, n) in &s.top_attributions {
        let _ = writeln!(out, "  {n:>6}  {name} ({kind})");
    }
    out
}

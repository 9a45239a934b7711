//! Propagation: near-duplicate clusters whose copies were published by two or more sources.
//!
//! # Rules
//! - A cluster is the set of records sharing a `cluster_id` (a record without one is alone).
//!   Only clusters whose records come from at least two sources count; a story an agency
//!   published twice is not propagation.
//! - Only copies with a `published_at` (a stated instant) take part in pairs and lags. For each
//!   source its earliest copy stands for it. The first publisher is the source with the earliest
//!   copy (ties: the cluster's canonical record, then source id); every other dated source is a
//!   republisher, and the story counts once for the ordered pair (first → republisher) with lag
//!   = republisher's earliest `published_at` − first publisher's.
//! - Per pair: stories, median lag (mean of the two middle values for an even count, whole
//!   seconds rounded down) and 90th percentile (nearest rank: the ⌈0.9·n⌉-th smallest).
//! - Stories that spread furthest: most sources, then most copies, then longest time span,
//!   then cluster id.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use serde::Serialize;

use super::aggregate::Sources;
use super::row::{ReportRow, StoryRow};
use crate::model::SourceId;

/// How many stories the report draws as timelines.
pub const TOP_STORIES: usize = 20;

/// Lag histogram bin edges in seconds: `[0, 15 min)`, `[15 min, 1 h)`, … `[7 d, ∞)`.
pub const LAG_EDGES: [i64; 8] = [
    15 * 60,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    2 * 86_400,
    7 * 86_400,
];

const LAG_LABELS: [&str; 9] = [
    "< 15 min",
    "15–60 min",
    "1–3 h",
    "3–6 h",
    "6–12 h",
    "12–24 h",
    "1–2 d",
    "2–7 d",
    "≥ 7 d",
];

/// One record as the clusters need it: 48 bytes, no strings.
#[derive(Debug, Clone, Copy)]
struct Member {
    cluster: u128,
    /// `published_at` in Unix seconds, or `None`.
    at: Option<i64>,
    pos: u64,
    similarity: Option<f32>,
    containment: Option<f32>,
    source: u16,
    canonical: bool,
}

/// Every record's cluster entry, grouped when the stream ends.
#[derive(Debug, Default)]
pub struct Clusters {
    members: Vec<Member>,
}

/// One ordered pair of sources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pair {
    /// The source that published the story first.
    pub from: SourceId,
    /// The source that published a copy later.
    pub to: SourceId,
    /// Stories (clusters) in which `from` was first and `to` republished.
    pub stories: u64,
    /// Median lag in seconds.
    pub median_lag_s: i64,
    /// 90th-percentile lag in seconds.
    pub p90_lag_s: i64,
}

/// One bar of the lag histogram.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LagBin {
    /// Human label (`1–3 h`).
    pub label: String,
    /// Lower bound in seconds (inclusive).
    pub min_s: i64,
    /// Upper bound in seconds (exclusive); `null` for the last bin.
    pub max_s: Option<i64>,
    /// (pair, story) lags in the bin.
    pub count: u64,
}

/// One copy of a top story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoryCopy {
    /// Record id.
    pub id: String,
    /// Publishing source.
    pub source_id: SourceId,
    /// `published_at` in UTC (RFC 3339), when stated.
    pub published_at: Option<String>,
    /// Seconds after the story's first dated copy.
    pub lag_s: Option<i64>,
    /// Jaccard similarity to the cluster's canonical record (`null` for that record).
    pub similarity: Option<f64>,
    /// Containment against the canonical record.
    pub containment: Option<f64>,
    /// Whether this is the cluster's canonical record.
    pub canonical: bool,
    /// Page URL.
    pub url: String,
    /// Headline.
    pub title: Option<String>,
}

/// One of the stories that spread furthest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Story {
    /// The cluster id (its canonical record's id).
    pub cluster_id: String,
    /// Headline of the canonical copy (else of the first copy that has one).
    pub title: Option<String>,
    /// Distinct publishing sources.
    pub sources: usize,
    /// Seconds between the first and the last dated copy.
    pub span_s: Option<i64>,
    /// Every copy, dated ones first in time order.
    pub copies: Vec<StoryCopy>,
}

/// The propagation section.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Propagation {
    /// Near-duplicate clusters with two or more records.
    pub clusters: u64,
    /// Of those, clusters whose records come from two or more sources.
    pub multi_source_clusters: u64,
    /// Ordered pairs, most stories first.
    pub pairs: Vec<Pair>,
    /// Lags of every (pair, story).
    pub lag_histogram: Vec<LagBin>,
    /// The stories that spread furthest (at most [`TOP_STORIES`]).
    pub top_stories: Vec<Story>,
}

/// A top story whose copies' URLs and titles are still to be read: `copies` holds each copy's
/// `pos` (as given to `push`) in display order.
#[derive(Debug, Clone, PartialEq)]
pub struct StoryDraft {
    /// Distinct sources.
    pub sources: usize,
    /// Time span in seconds.
    pub span_s: Option<i64>,
    /// The copies, without id, URL and title yet.
    pub copies: Vec<(u64, StoryCopy)>,
}

/// A cluster id as a number: `a` + 31 hex digits parse exactly; anything else is hashed.
fn cluster_key(id: &str) -> u128 {
    if let Some(hex) = id.strip_prefix('a')
        && hex.len() == 31
        && let Ok(n) = u128::from_str_radix(hex, 16)
    {
        return n;
    }
    let half = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        id.hash(&mut h);
        h.finish()
    };
    // The top bit marks hashed keys so they never equal a parsed (124-bit) one.
    (1u128 << 127) | (u128::from(half(1)) << 64) | u128::from(half(2))
}

impl Clusters {
    /// Files one record under its cluster.
    pub fn push(&mut self, row: &ReportRow, source: u16, pos: u64) {
        let cluster = cluster_key(row.cluster_id.as_deref().unwrap_or(&row.id));
        self.members.push(Member {
            cluster,
            at: row.published_at.map(|d| d.timestamp()),
            pos,
            similarity: row.similarity.map(|x| x as f32),
            containment: row.containment.map(|x| x as f32),
            source,
            canonical: row.near_duplicate_of.is_none(),
        });
    }

    /// Groups the clusters and computes pairs, lags and the top stories.
    pub fn finish(mut self, sources: &Sources) -> (Propagation, Vec<StoryDraft>) {
        self.members.sort_unstable_by_key(|m| (m.cluster, m.pos));
        let mut out = Propagation::default();
        let mut lags: HashMap<(u16, u16), Vec<i64>> = HashMap::new();
        let mut ranked: Vec<(usize, usize, i64, u128, std::ops::Range<usize>)> = Vec::new();
        let mut start = 0;
        while start < self.members.len() {
            let cluster = self.members[start].cluster;
            let len = self.members[start..]
                .iter()
                .take_while(|m| m.cluster == cluster)
                .count();
            let group = &self.members[start..start + len];
            if len > 1 {
                out.clusters += 1;
                let firsts = earliest_per_source(group, sources);
                if firsts.len() > 1 {
                    out.multi_source_clusters += 1;
                    let span = add_lags(&firsts, &mut lags);
                    ranked.push((
                        firsts.len(),
                        len,
                        span.unwrap_or(0),
                        cluster,
                        start..start + len,
                    ));
                }
            }
            start += len;
        }
        out.pairs = pairs(lags, sources, &mut out.lag_histogram);
        ranked.sort_by(|a, b| (b.0, b.1, b.2, a.3).cmp(&(a.0, a.1, a.2, b.3)));
        ranked.truncate(TOP_STORIES);
        let drafts = ranked
            .into_iter()
            .map(|(n, _, _, _, range)| draft(&self.members[range], n, sources))
            .collect();
        (out, drafts)
    }
}

/// Per source in a cluster: (source, earliest `published_at`, whether that copy or any of the
/// source's copies is canonical), ordered first publisher first (undated sources last).
fn earliest_per_source(group: &[Member], sources: &Sources) -> Vec<(u16, Option<i64>, bool)> {
    let mut per: Vec<(u16, Option<i64>, bool)> = Vec::new();
    for m in group {
        match per.iter_mut().find(|p| p.0 == m.source) {
            Some(p) => {
                p.2 |= m.canonical;
                if let Some(at) = m.at {
                    p.1 = Some(p.1.map_or(at, |t| t.min(at)));
                }
            }
            None => per.push((m.source, m.at, m.canonical)),
        }
    }
    per.sort_by(|a, b| {
        let key = |p: &(u16, Option<i64>, bool)| (p.1.is_none(), p.1, !p.2);
        key(a)
            .cmp(&key(b))
            .then_with(|| sources.id(a.0).cmp(sources.id(b.0)))
    });
    per
}

/// Adds each republisher's lag behind the first publisher; returns the cluster's dated span.
fn add_lags(
    firsts: &[(u16, Option<i64>, bool)],
    lags: &mut HashMap<(u16, u16), Vec<i64>>,
) -> Option<i64> {
    let (first, Some(t0), _) = firsts[0] else {
        return None;
    };
    let mut last = t0;
    for &(source, at, _) in &firsts[1..] {
        let Some(at) = at else { continue };
        lags.entry((first, source)).or_default().push(at - t0);
        last = last.max(at);
    }
    Some(last - t0)
}

/// The pair table (most stories first, then by ids) and the histogram of all lags.
fn pairs(
    lags: HashMap<(u16, u16), Vec<i64>>,
    sources: &Sources,
    histogram: &mut Vec<LagBin>,
) -> Vec<Pair> {
    let mut counts = [0u64; LAG_LABELS.len()];
    let mut out: Vec<Pair> = lags
        .into_iter()
        .map(|((from, to), mut l)| {
            for &x in &l {
                counts[LAG_EDGES.iter().take_while(|&&e| x >= e).count()] += 1;
            }
            l.sort_unstable();
            Pair {
                from: sources.id(from).clone(),
                to: sources.id(to).clone(),
                stories: l.len() as u64,
                median_lag_s: median(&l),
                p90_lag_s: p90(&l),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.stories
            .cmp(&a.stories)
            .then_with(|| (&a.from, &a.to).cmp(&(&b.from, &b.to)))
    });
    *histogram = LAG_LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| LagBin {
            label: (*label).to_owned(),
            min_s: if i == 0 { 0 } else { LAG_EDGES[i - 1] },
            max_s: LAG_EDGES.get(i).copied(),
            count: counts[i],
        })
        .collect();
    out
}

/// Median of sorted values: the middle one, or the mean of the two middle ones rounded down.
pub fn median(sorted: &[i64]) -> i64 {
    let n = sorted.len();
    match n {
        0 => 0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]).div_euclid(2),
    }
}

/// 90th percentile of sorted values by nearest rank: the ⌈0.9·n⌉-th smallest.
pub fn p90(sorted: &[i64]) -> i64 {
    let n = sorted.len();
    if n == 0 {
        return 0;
    }
    let rank = (9 * n).div_ceil(10);
    sorted[rank.max(1) - 1]
}

/// A top story's copies in display order (dated first by time, then undated), each with its
/// lag behind the first dated copy.
fn draft(group: &[Member], sources_n: usize, sources: &Sources) -> StoryDraft {
    let mut members = group.to_vec();
    members.sort_by(|a, b| {
        (a.at.is_none(), a.at, !a.canonical)
            .cmp(&(b.at.is_none(), b.at, !b.canonical))
            .then_with(|| sources.id(a.source).cmp(sources.id(b.source)))
    });
    let t0 = members.iter().find_map(|m| m.at);
    let t1 = members.iter().filter_map(|m| m.at).max();
    let round = |x: Option<f32>| x.map(|v| (f64::from(v) * 10_000.0).round() / 10_000.0);
    let copies = members
        .iter()
        .map(|m| {
            let copy = StoryCopy {
                id: String::new(),
                source_id: sources.id(m.source).clone(),
                published_at: m
                    .at
                    .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
                    .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                lag_s: m.at.zip(t0).map(|(a, b)| a - b),
                similarity: round(m.similarity),
                containment: round(m.containment),
                canonical: m.canonical,
                url: String::new(),
                title: None,
            };
            (m.pos, copy)
        })
        .collect();
    StoryDraft {
        sources: sources_n,
        span_s: t0.zip(t1).map(|(a, b)| b - a),
        copies,
    }
}

/// Fills a draft's ids, URLs and titles from `rows` (by `pos`, as given to `push`).
pub fn complete(draft: StoryDraft, rows: &BTreeMap<u64, StoryRow>) -> Story {
    let mut cluster_id = String::new();
    let mut title = None;
    let copies: Vec<StoryCopy> = draft
        .copies
        .into_iter()
        .map(|(pos, mut copy)| {
            if let Some(row) = rows.get(&pos) {
                copy.id.clone_from(&row.id);
                copy.url.clone_from(&row.url);
                copy.title.clone_from(&row.title);
                if cluster_id.is_empty() || copy.canonical {
                    cluster_id = row.cluster_id.clone().unwrap_or_else(|| row.id.clone());
                }
            }
            if title.is_none() || (copy.canonical && copy.title.is_some()) {
                title.clone_from(&copy.title);
            }
            copy
        })
        .collect();
    Story {
        cluster_id,
        title,
        sources: draft.sources,
        span_s: draft.span_s,
        copies,
    }
}

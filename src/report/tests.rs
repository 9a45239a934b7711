//! Aggregates on a small hand-made corpus whose answers are worked out by hand: lags, pair
//! counts, matrix cells, and clusters that span one source only (not propagation).

use chrono::{DateTime, Utc};

use super::aggregate::{Aggregates, Aggregator};
use super::propagation::{median, p90};
use super::row::{Credit, ReportRow};
use super::*;
use crate::model::{AttributionKind, SourceId};

fn sid(s: &str) -> SourceId {
    SourceId::new(s).unwrap()
}

fn cid(n: u32) -> String {
    format!("a{n:031x}")
}

/// A record of `source` in cluster `cluster` (canonical when `canonical`), published at `at`
/// (`HH:MM` on 2025-05-05, Minsk time) or undated.
fn row(n: u32, source: &str, at: Option<&str>, cluster: u32, canonical: bool) -> ReportRow {
    let published_at =
        at.map(|t| DateTime::parse_from_rfc3339(&format!("2025-05-05T{t}:00+03:00")).unwrap());
    ReportRow {
        id: if canonical {
            cid(cluster)
        } else {
            cid(1000 + n)
        },
        source_id: sid(source),
        published_at,
        published_date: published_at.map(|d| d.date_naive()),
        fetched_at: "2025-05-06T00:00:00Z".parse().unwrap(),
        attributions: Vec::new(),
        warning_count: 0,
        cluster_id: Some(cid(cluster)),
        near_duplicate_of: (!canonical).then(|| cid(cluster)),
        similarity: (!canonical).then_some(0.8),
        containment: (!canonical).then_some(0.9),
    }
}

fn credit(name: &str, source: Option<&str>, kind: AttributionKind) -> Credit {
    Credit {
        name: name.into(),
        source_id: source.map(sid),
        kind,
    }
}

fn aggregate(rows: &[ReportRow]) -> Aggregates {
    let mut agg = Aggregator::default();
    for (i, r) in rows.iter().enumerate() {
        agg.push(r, i as u64);
    }
    agg.finish().0
}

/// Clusters 1–4: BelTA first, SB 3 h, 1 h, 5 h, 2 h later; in cluster 1 TASS 30 min later.
/// Cluster 5: SB first, BelTA 1 h later. Cluster 6: BelTA twice (one source: not
/// propagation). Cluster 7: BelTA dated, SB undated (two sources, but no lag).
fn corpus() -> Vec<ReportRow> {
    vec![
        row(1, "belta_en", Some("10:00"), 1, true),
        row(2, "sb_en", Some("13:00"), 1, false),
        row(3, "tass_en", Some("10:30"), 1, false),
        row(4, "belta_en", Some("09:00"), 2, true),
        row(5, "sb_en", Some("10:00"), 2, false),
        row(6, "sb_en", Some("17:00"), 3, false),
        row(7, "belta_en", Some("12:00"), 3, true),
        row(8, "belta_en", Some("08:00"), 4, true),
        row(9, "sb_en", Some("10:00"), 4, false),
        row(10, "sb_en", Some("08:00"), 5, true),
        row(11, "belta_en", Some("09:00"), 5, false),
        row(12, "belta_en", Some("10:00"), 6, true),
        row(13, "belta_en", Some("11:00"), 6, false),
        row(14, "belta_en", Some("10:00"), 7, true),
        row(15, "sb_en", None, 7, false),
        row(16, "sb_en", Some("10:00"), 8, true),
    ]
}

#[test]
fn pair_counts_and_lags_match_the_hand_worked_answers() {
    let p = aggregate(&corpus()).propagation;
    assert_eq!(
        p.clusters, 7,
        "clusters 1-7 have two or more records; 8 is alone"
    );
    assert_eq!(p.multi_source_clusters, 6, "cluster 6 is one source only");
    let pairs: Vec<(&str, &str, u64, i64, i64)> = p
        .pairs
        .iter()
        .map(|x| {
            (
                x.from.as_str(),
                x.to.as_str(),
                x.stories,
                x.median_lag_s,
                x.p90_lag_s,
            )
        })
        .collect();
    // BelTA → SB lags 3 h, 1 h, 5 h, 2 h: median (2 h + 3 h) / 2, p90 the 4th of 4.
    assert_eq!(
        pairs,
        vec![
            ("belta_en", "sb_en", 4, 9000, 18_000),
            ("belta_en", "tass_en", 1, 1800, 1800),
            ("sb_en", "belta_en", 1, 3600, 3600),
        ]
    );
    let hist: Vec<(&str, u64)> = p
        .lag_histogram
        .iter()
        .filter(|b| b.count > 0)
        .map(|b| (b.label.as_str(), b.count))
        .collect();
    assert_eq!(hist, vec![("15–60 min", 1), ("1–3 h", 3), ("3–6 h", 2)]);
}

#[test]
fn a_cluster_within_one_source_is_not_propagation() {
    let rows = vec![
        row(1, "belta_en", Some("10:00"), 6, true),
        row(2, "belta_en", Some("11:00"), 6, false),
        row(3, "sb_en", Some("12:00"), 9, true),
    ];
    let p = aggregate(&rows).propagation;
    assert_eq!((p.clusters, p.multi_source_clusters), (1, 0));
    assert!(p.pairs.is_empty());
    assert!(p.lag_histogram.iter().all(|b| b.count == 0));
    let (_, drafts) = {
        let mut agg = Aggregator::default();
        for (i, r) in rows.iter().enumerate() {
            agg.push(r, i as u64);
        }
        agg.finish()
    };
    assert!(drafts.is_empty(), "no top story from a one-source cluster");
}

#[test]
fn the_story_that_spread_furthest_comes_first_with_its_copies_in_time_order() {
    let mut agg = Aggregator::default();
    for (i, r) in corpus().iter().enumerate() {
        agg.push(r, i as u64);
    }
    let (_, drafts) = agg.finish();
    assert_eq!(drafts.len(), 6);
    let first = &drafts[0];
    assert_eq!(first.sources, 3);
    let order: Vec<(u64, &str, Option<i64>)> = first
        .copies
        .iter()
        .map(|(pos, c)| (*pos, c.source_id.as_str(), c.lag_s))
        .collect();
    assert_eq!(
        order,
        vec![
            (0, "belta_en", Some(0)),
            (2, "tass_en", Some(1800)),
            (1, "sb_en", Some(10_800))
        ]
    );
    assert_eq!(first.span_s, Some(10_800));
    // Two-source stories: longest span first (BelTA → SB 5 h, cluster 3).
    assert_eq!(drafts[1].span_s, Some(18_000));
}

#[test]
fn matrix_cells_count_records_once_per_publisher_credit_and_kind() {
    let mut a = row(1, "sb_en", Some("10:00"), 1, true);
    a.attributions = vec![
        credit(
            "SB. Belarus Today",
            Some("sb_en"),
            AttributionKind::Publisher,
        ),
        credit("BelTA", Some("belta_en"), AttributionKind::BasedOn),
        credit("BelTA", Some("belta_en"), AttributionKind::Photo),
        credit("BelTA", Some("belta_en"), AttributionKind::Cited),
        credit("BelTA", Some("belta_en"), AttributionKind::Cited),
        credit("Pul Pervogo", None, AttributionKind::Cited),
    ];
    let mut b = row(2, "sb_en", Some("11:00"), 2, true);
    b.attributions = vec![
        credit("BelTA", Some("belta_en"), AttributionKind::BasedOn),
        credit("Pul Pervogo", None, AttributionKind::Cited),
    ];
    let mut c = row(3, "belta_en", Some("11:00"), 3, true);
    c.attributions = vec![credit("Pul Pervogo", None, AttributionKind::Cited)];
    let m = aggregate(&[a, b, c]).attribution;
    let cells: Vec<(&str, &str, AttributionKind, u64)> = m
        .cells
        .iter()
        .map(|x| (x.publisher.as_str(), x.credited.as_str(), x.kind, x.records))
        .collect();
    assert_eq!(
        cells,
        vec![
            ("sb_en", "belta_en", AttributionKind::BasedOn, 2),
            ("sb_en", "belta_en", AttributionKind::Cited, 1),
            ("sb_en", "belta_en", AttributionKind::Photo, 1),
        ]
    );
    assert_eq!(m.cells[0].credited_name, "BelTA");
    assert_eq!(m.unresolved.len(), 1);
    let u = &m.unresolved[0];
    assert_eq!(
        (u.name.as_str(), u.kind, u.records),
        ("Pul Pervogo", AttributionKind::Cited, 3)
    );
    assert_eq!(u.publishers.get(&sid("sb_en")), Some(&2));
    assert_eq!(u.publishers.get(&sid("belta_en")), Some(&1));
}

#[test]
fn volume_counts_per_day_and_undated_records_on_their_fetch_day() {
    let mut rows = corpus();
    rows[14].warning_count = 1;
    let v = aggregate(&rows).volume;
    let sb = v
        .sources
        .iter()
        .find(|s| s.source_id.as_str() == "sb_en")
        .unwrap();
    assert_eq!((sb.records, sb.undated, sb.with_warnings), (7, 1, 1));
    let day = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(sb.days.get(&day("2025-05-05")), Some(&6));
    assert_eq!(
        sb.days.get(&day("2025-05-06")),
        Some(&1),
        "undated: the fetch day"
    );
    assert_eq!(
        (v.first_day, v.last_day),
        (Some(day("2025-05-05")), Some(day("2025-05-06")))
    );
    assert_eq!(v.sources.iter().map(|s| s.records).sum::<u64>(), 16);
}

#[test]
fn median_and_p90_follow_their_definitions() {
    assert_eq!(median(&[]), 0);
    assert_eq!(median(&[5]), 5);
    assert_eq!(median(&[1, 2, 3]), 2);
    assert_eq!(median(&[1, 2, 3, 6]), 2, "(2 + 3) / 2 rounded down");
    assert_eq!(p90(&[7]), 7);
    assert_eq!(p90(&(1..=10).collect::<Vec<_>>()), 9);
    assert_eq!(
        p90(&(1..=11).collect::<Vec<_>>()),
        10,
        "rank ceil(9.9) = 10"
    );
}

#[test]
fn filter_keeps_the_window_by_publication_else_fetch_and_the_sources() {
    let since: DateTime<Utc> = "2025-05-05T07:30:00Z".parse().unwrap();
    let f = ReportFilter {
        since: Some(since),
        until: None,
        sources: vec![sid("sb_en")],
    };
    assert!(f.keeps(&row(1, "sb_en", Some("10:31"), 1, true)));
    assert!(
        !f.keeps(&row(1, "sb_en", Some("10:29"), 1, true)),
        "07:29 UTC"
    );
    assert!(!f.keeps(&row(1, "belta_en", Some("11:00"), 1, true)));
    assert!(
        f.keeps(&row(1, "sb_en", None, 1, true)),
        "undated: fetched 2025-05-06"
    );
}

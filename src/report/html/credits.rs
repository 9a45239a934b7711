//! The attribution section: per kind of credit (based on, dateline, cited, photo), a heat map
//! of publishing source × credited source with the record count in each cell, its table, and
//! the credited names that resolve to no configured source.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::super::Report;
use super::super::attribution::{Cell, KINDS};
use super::super::svg::{HeatGrid, esc};
use super::{Td, percent, source_label, table};
use crate::model::{AttributionKind, SourceId};

/// The kind as the JSON writes it (`based_on`).
pub fn kind_name(kind: AttributionKind) -> &'static str {
    match kind {
        AttributionKind::Publisher => "publisher",
        AttributionKind::Dateline => "dateline",
        AttributionKind::BasedOn => "based_on",
        AttributionKind::Cited => "cited",
        AttributionKind::Photo => "photo",
    }
}

fn kind_title(kind: AttributionKind) -> &'static str {
    match kind {
        AttributionKind::Publisher => "Publisher",
        AttributionKind::Dateline => "Dateline (“MINSK, 5 May (BelTA) –”)",
        AttributionKind::BasedOn => "Based on (closing source line)",
        AttributionKind::Cited => "Cited in the text",
        AttributionKind::Photo => "Photo credit",
    }
}

/// Appends the section.
pub fn section(s: &mut String, r: &Report) {
    s.push_str(
        r#"<section id="attribution"><h2>Attribution matrix</h2><p>Records of each publishing source (rows) that credit an agency or channel (columns), by kind of credit. A record counts once per cell however often it names the agency. Hover a cell for its share of the publisher's records.</p>"#,
    );
    let records: BTreeMap<&SourceId, u64> = r
        .volume
        .sources
        .iter()
        .map(|v| (&v.source_id, v.records))
        .collect();
    if r.attribution.cells.is_empty() {
        s.push_str(r#"<p class="empty">No record credits a configured source.</p>"#);
    }
    for kind in KINDS {
        kind_block(s, r, kind, &records);
    }
    unresolved(s, r);
    s.push_str("</section>");
}

/// One kind of credit as a matrix: publishers (rows), credited sources (columns), counts.
struct Matrix<'a> {
    publishers: Vec<&'a SourceId>,
    rows: Vec<String>,
    cols: Vec<String>,
    counts: Vec<Vec<u64>>,
}

impl<'a> Matrix<'a> {
    fn new(r: &'a Report, kind: AttributionKind) -> Option<Self> {
        let cells: Vec<_> = r
            .attribution
            .cells
            .iter()
            .filter(|c| c.kind == kind)
            .collect();
        let unique = |f: &dyn Fn(&'a Cell) -> &'a SourceId| -> Vec<&'a SourceId> {
            let set: BTreeSet<&SourceId> = cells.iter().map(|c| f(c)).collect();
            set.into_iter().collect()
        };
        let publishers = unique(&|c| &c.publisher);
        let credited = unique(&|c| &c.credited);
        if publishers.is_empty() {
            return None;
        }
        let mut counts = vec![vec![0u64; credited.len()]; publishers.len()];
        let mut cols: Vec<String> = credited.iter().map(ToString::to_string).collect();
        for c in &cells {
            let i = publishers.binary_search(&&c.publisher).unwrap_or(0);
            let j = credited.binary_search(&&c.credited).unwrap_or(0);
            counts[i][j] = c.records;
            cols[j].clone_from(&c.credited_name);
        }
        let rows = publishers.iter().map(|p| source_label(r, p)).collect();
        Some(Self {
            publishers,
            rows,
            cols,
            counts,
        })
    }
}

/// One kind of credit: its heat map and the table of the same numbers (nothing when no record
/// credits a configured source that way).
fn kind_block(
    s: &mut String,
    r: &Report,
    kind: AttributionKind,
    records: &BTreeMap<&SourceId, u64>,
) {
    let Some(m) = Matrix::new(r, kind) else {
        return;
    };
    let id = kind_name(kind);
    let of = |i: usize| records.get(m.publishers[i]).copied().unwrap_or(0);
    let _ = write!(
        s,
        r#"<h3 id="credits-{id}">{}</h3><div class="chart">"#,
        esc(kind_title(kind))
    );
    let grid = HeatGrid {
        label: &format!("Records crediting each agency: {id}"),
        rows: &m.rows,
        cols: &m.cols,
        cell_w: 64.0,
        cell_h: 26.0,
        show_counts: true,
        col_label_every: 1,
    };
    s.push_str(&grid.render(
        |i, j| m.counts[i][j],
        |i, j, n| {
            let share = if of(i) == 0 {
                0.0
            } else {
                n as f64 / of(i) as f64
            };
            let (p, c, total) = (&m.rows[i], &m.cols[j], of(i));
            format!(
                "{p} credits {c} ({id}): {n} of {total} records, {}",
                percent(share)
            )
        },
    ));
    s.push_str("</div>");
    let mut heads = vec!["publisher", "records"];
    heads.extend(m.cols.iter().map(String::as_str));
    let body: Vec<Vec<Td>> = (0..m.rows.len())
        .map(|i| {
            let mut row = vec![Td::Text(m.rows[i].clone()), Td::Num(of(i))];
            row.extend(m.counts[i].iter().map(|n| Td::Num(*n)));
            row
        })
        .collect();
    s.push_str(&table(
        &format!("credits-{id}-table"),
        &format!("Records crediting each agency ({id})"),
        &heads,
        &body,
    ));
}

fn unresolved(s: &mut String, r: &Report) {
    let a = &r.attribution;
    s.push_str("<h3 id=\"unresolved\">Credited names no configured source claims</h3>");
    if a.unresolved.is_empty() {
        s.push_str(r#"<p class="empty">Every credited name resolves to a configured source.</p>"#);
        return;
    }
    if a.unresolved_total > a.unresolved.len() {
        let _ = write!(
            s,
            "<p>The {} most credited of {} (name, kind) pairs.</p>",
            a.unresolved.len(),
            a.unresolved_total
        );
    }
    let rows: Vec<Vec<Td>> = a
        .unresolved
        .iter()
        .map(|u| {
            let by: Vec<String> = u
                .publishers
                .iter()
                .map(|(p, n)| format!("{p}: {n}"))
                .collect();
            vec![
                Td::Text(u.name.clone()),
                Td::Text(kind_name(u.kind).to_owned()),
                Td::Num(u.records),
                Td::Text(by.join(", ")),
            ]
        })
        .collect();
    s.push_str(&table(
        "unresolved-table",
        "Unresolved credited names",
        &["name", "kind", "records", "by publisher"],
        &rows,
    ));
}

//! The attribution section: per kind of credit (based on, dateline, cited, photo), a heat map
//! of publishing source × credited source with the record count in each cell, its table, and
//! the credited names that resolve to no configured source.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::super::Report;
use super::super::attribution::KINDS;
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
        let cells: Vec<_> = r
            .attribution
            .cells
            .iter()
            .filter(|c| c.kind == kind)
            .collect();
        if cells.is_empty() {
            continue;
        }
        let publishers: Vec<&SourceId> = cells
            .iter()
            .map(|c| &c.publisher)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let credited: Vec<&SourceId> = cells
            .iter()
            .map(|c| &c.credited)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let count = |p: &SourceId, c: &SourceId| {
            cells
                .iter()
                .find(|x| &x.publisher == p && &x.credited == c)
                .map_or(0, |x| x.records)
        };
        let rows: Vec<String> = publishers.iter().map(|p| source_label(r, p)).collect();
        let cols: Vec<String> = credited
            .iter()
            .map(|c| {
                cells
                    .iter()
                    .find(|x| &x.credited == *c)
                    .map_or_else(|| c.to_string(), |x| x.credited_name.clone())
            })
            .collect();
        let id = kind_name(kind);
        let _ = write!(
            s,
            r#"<h3 id="credits-{id}">{}</h3><div class="chart">"#,
            esc(kind_title(kind))
        );
        let grid = HeatGrid {
            label: &format!("Records crediting each agency: {}", kind_name(kind)),
            rows: &rows,
            cols: &cols,
            cell_w: 64.0,
            cell_h: 26.0,
            show_counts: true,
            col_label_every: 1,
        };
        s.push_str(&grid.render(
            |i, j| count(publishers[i], credited[j]),
            |i, j, n| {
                let of = records.get(publishers[i]).copied().unwrap_or(0);
                let share = if of == 0 { 0.0 } else { n as f64 / of as f64 };
                format!(
                    "{} credits {} ({id}): {n} of {of} records, {}",
                    rows[i],
                    cols[j],
                    percent(share)
                )
            },
        ));
        s.push_str("</div>");
        let mut heads = vec!["publisher", "records"];
        heads.extend(cols.iter().map(String::as_str));
        let body: Vec<Vec<Td>> = publishers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut row = vec![
                    Td::Text(rows[i].clone()),
                    Td::Num(records.get(p).copied().unwrap_or(0)),
                ];
                row.extend(credited.iter().map(|c| Td::Num(count(p, c))));
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
    unresolved(s, r);
    s.push_str("</section>");
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

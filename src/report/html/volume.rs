//! The volume section: articles per source per day as a heat strip (one row per source, one
//! column per day; per week or month when the corpus spans more than [`MAX_DAY_COLUMNS`] or
//! [`MAX_WEEK_COLUMNS`] of them), and the same numbers in a table.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};

use super::super::Report;
use super::super::svg::HeatGrid;
use super::{Td, source_label, table};

/// Above this many days the chart counts per week.
pub const MAX_DAY_COLUMNS: i64 = 400;
/// Above this many weeks the chart counts per month.
pub const MAX_WEEK_COLUMNS: i64 = 400;

/// How days are grouped into columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bin {
    Day,
    Week,
    Month,
}

impl Bin {
    fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Bin::Day => d,
            Bin::Week => d - Days::new(u64::from(d.weekday().num_days_from_monday())),
            Bin::Month => d.with_day(1).unwrap_or(d),
        }
    }

    fn next(self, d: NaiveDate) -> Option<NaiveDate> {
        match self {
            Bin::Day => d.succ_opt(),
            Bin::Week => d.checked_add_days(Days::new(7)),
            Bin::Month => d.checked_add_months(chrono::Months::new(1)),
        }
    }

    fn label(self, d: NaiveDate) -> String {
        match self {
            Bin::Day => d.format("%Y-%m-%d").to_string(),
            Bin::Week => format!("week of {}", d.format("%Y-%m-%d")),
            Bin::Month => d.format("%Y-%m").to_string(),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Bin::Day => "day",
            Bin::Week => "week",
            Bin::Month => "month",
        }
    }
}

/// Appends the section.
pub fn section(s: &mut String, r: &Report) {
    s.push_str(r#"<section id="volume"><h2>Volume</h2>"#);
    let (Some(first), Some(last)) = (r.volume.first_day, r.volume.last_day) else {
        s.push_str(r#"<p class="empty">No records in the window.</p></section>"#);
        return;
    };
    let (bin, columns, counts) = binned(r, first, last);
    let rows: Vec<String> = r
        .volume
        .sources
        .iter()
        .map(|v| source_label(r, &v.source_id))
        .collect();
    let cols: Vec<String> = columns.iter().map(|d| bin.label(*d)).collect();
    let _ = write!(
        s,
        "<p>Articles per source per {} from {first} to {last} (the publisher's calendar date; \
         undated records on the day they were fetched). Darker is more.</p><div class=\"chart\">",
        bin.noun()
    );
    let grid = HeatGrid {
        label: &format!("Articles per source per {}", bin.noun()),
        rows: &rows,
        cols: &cols,
        cell_w: (900.0 / columns.len() as f64).clamp(1.5, 28.0),
        cell_h: 22.0,
        show_counts: false,
        col_label_every: columns.len().div_ceil(24).max(1),
    };
    s.push_str(&grid.render(
        |row, c| counts[row][c],
        |row, c, n| format!("{}, {}: {n}", rows[row], cols[c]),
    ));
    s.push_str("</div>");
    totals_table(s, r);
    counts_table(s, r, bin, &cols, &counts);
}

/// The bin size for the span, the columns (first day of each bin) and the counts per source
/// (rows, in `r.volume.sources` order) and column.
fn binned(r: &Report, first: NaiveDate, last: NaiveDate) -> (Bin, Vec<NaiveDate>, Vec<Vec<u64>>) {
    let span = (last - first).num_days() + 1;
    let bin = if span <= MAX_DAY_COLUMNS {
        Bin::Day
    } else if span / 7 <= MAX_WEEK_COLUMNS {
        Bin::Week
    } else {
        Bin::Month
    };
    let mut columns = Vec::new();
    let mut d = Some(bin.start(first));
    while let Some(day) = d.filter(|day| *day <= last) {
        columns.push(day);
        d = bin.next(day);
    }
    let index: BTreeMap<NaiveDate, usize> =
        columns.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut counts = vec![vec![0u64; columns.len()]; r.volume.sources.len()];
    for (row, src) in r.volume.sources.iter().enumerate() {
        for (day, n) in &src.days {
            if let Some(&c) = index.get(&bin.start(*day)) {
                counts[row][c] += n;
            }
        }
    }
    (bin, columns, counts)
}

/// The chart's numbers: one row per column that has records, one column per source.
fn counts_table(s: &mut String, r: &Report, bin: Bin, cols: &[String], counts: &[Vec<u64>]) {
    let mut heads = vec![bin.noun()];
    heads.extend(r.volume.sources.iter().map(|v| v.source_id.as_str()));
    heads.push("total");
    let body: Vec<Vec<Td>> = (0..cols.len())
        .filter(|&c| counts.iter().any(|row| row[c] > 0))
        .map(|c| {
            let mut row = vec![Td::Text(cols[c].clone())];
            row.extend(counts.iter().map(|src| Td::Num(src[c])));
            row.push(Td::Num(counts.iter().map(|src| src[c]).sum()));
            row
        })
        .collect();
    let _ = write!(
        s,
        "<details><summary>Table: articles per source per {} ({} rows with records)</summary>{}</details></section>",
        bin.noun(),
        body.len(),
        table(
            "volume-table",
            &format!("Articles per source per {}", bin.noun()),
            &heads,
            &body
        )
    );
}

fn totals_table(s: &mut String, r: &Report) {
    let rows: Vec<Vec<Td>> = r
        .volume
        .sources
        .iter()
        .map(|v| {
            vec![
                Td::Text(source_label(r, &v.source_id)),
                Td::Num(v.records),
                Td::Text(
                    v.days
                        .keys()
                        .next()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                Td::Text(
                    v.days
                        .keys()
                        .last()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ),
                Td::Num(v.days.len() as u64),
            ]
        })
        .collect();
    s.push_str(&table(
        "volume-totals",
        "Records per source",
        &[
            "source",
            "records",
            "first day",
            "last day",
            "days with records",
        ],
        &rows,
    ));
}

//! The propagation section: ordered pairs (first publisher → republisher) with story counts
//! and lags, the lag histogram, and the stories that spread furthest as small timelines.

use std::fmt::Write as _;

use super::super::Report;
use super::super::propagation::Story;
use super::super::svg::{self, Mark, esc};
use super::{Td, duration, source_label, table};

/// Appends the section.
pub fn section(s: &mut String, r: &Report) {
    let p = &r.propagation;
    let _ = write!(
        s,
        r#"<section id="propagation"><h2>Propagation</h2><p>{} near-duplicate clusters; <strong id="multi-source-clusters">{}</strong> of them hold copies from two or more sources. For each story the source with the earliest <code>published_at</code> is the first publisher; every other source's earliest copy is a republication, and the lag is the time between the two.</p>"#,
        p.clusters, p.multi_source_clusters
    );
    if p.pairs.is_empty() {
        s.push_str(r#"<p class="empty">No story was published by more than one source (with a stated time) in the window.</p></section>"#);
        return;
    }
    let rows: Vec<Vec<Td>> = p
        .pairs
        .iter()
        .map(|pair| {
            vec![
                Td::Text(source_label(r, &pair.from)),
                Td::Text(source_label(r, &pair.to)),
                Td::Num(pair.stories),
                Td::Val(pair.median_lag_s as f64, duration(pair.median_lag_s)),
                Td::Val(pair.p90_lag_s as f64, duration(pair.p90_lag_s)),
            ]
        })
        .collect();
    s.push_str(&table(
        "pairs-table",
        "Stories per ordered pair of sources, with lags",
        &[
            "first publisher",
            "republisher",
            "stories",
            "median lag",
            "90th percentile lag",
        ],
        &rows,
    ));
    s.push_str("<h3>Lag histogram</h3><div class=\"chart\">");
    let labels: Vec<String> = p.lag_histogram.iter().map(|b| b.label.clone()).collect();
    let counts: Vec<u64> = p.lag_histogram.iter().map(|b| b.count).collect();
    s.push_str(&svg::bars(
        "Republications by lag behind the first publisher",
        &labels,
        &counts,
    ));
    s.push_str("</div>");
    let hist: Vec<Vec<Td>> = p
        .lag_histogram
        .iter()
        .map(|b| vec![Td::Text(b.label.clone()), Td::Num(b.count)])
        .collect();
    s.push_str(&table(
        "lag-table",
        "Republications by lag",
        &["lag", "stories"],
        &hist,
    ));
    stories(s, r);
    s.push_str("</section>");
}

fn stories(s: &mut String, r: &Report) {
    let top = &r.propagation.top_stories;
    let _ = write!(s, "<h3>The {} stories that spread furthest</h3>", top.len());
    for (n, story) in top.iter().enumerate() {
        let title = story.title.as_deref().unwrap_or("(no title)");
        let span = story.span_s.map(duration).unwrap_or_else(|| "-".into());
        let _ = write!(
            s,
            r#"<div class="story" id="story-{n}"><h4>{}. {}</h4><p class="meta">{} sources, {} copies, first to last {span}; cluster <code>{}</code></p>"#,
            n + 1,
            esc(title),
            story.sources,
            story.copies.len(),
            esc(&story.cluster_id)
        );
        let marks: Vec<Mark> = story
            .copies
            .iter()
            .map(|c| Mark {
                label: c.source_id.to_string(),
                offset_s: c.lag_s,
                tip: format!(
                    "{}: {}",
                    c.source_id,
                    c.published_at.as_deref().unwrap_or("no published_at")
                ),
            })
            .collect();
        let _ = write!(
            s,
            r#"<div class="chart">{}</div>"#,
            svg::timeline(&format!("Timeline of story {}", n + 1), &marks)
        );
        s.push_str(&copies_table(r, n, story));
        s.push_str("</div>");
    }
}

/// The timeline's numbers: one row per copy.
fn copies_table(r: &Report, n: usize, story: &Story) -> String {
    let rows: Vec<Vec<Td>> = story
        .copies
        .iter()
        .map(|c| {
            let num = |x: Option<f64>| {
                x.map_or_else(|| Td::Text("-".into()), |v| Td::Val(v, format!("{v:.4}")))
            };
            vec![
                Td::Text(source_label(r, &c.source_id)),
                Td::Text(c.published_at.clone().unwrap_or_else(|| "-".into())),
                c.lag_s
                    .map_or_else(|| Td::Text("-".into()), |l| Td::Val(l as f64, duration(l))),
                if c.canonical {
                    Td::Text("canonical".into())
                } else {
                    num(c.similarity)
                },
                if c.canonical {
                    Td::Text("canonical".into())
                } else {
                    num(c.containment)
                },
                Td::Html(format!(r#"<a href="{}">{}</a>"#, esc(&c.url), esc(&c.url))),
            ]
        })
        .collect();
    table(
        &format!("story-{n}-table"),
        &format!("Copies of story {}", n + 1),
        &[
            "source",
            "published (UTC)",
            "after first",
            "similarity",
            "containment",
            "link",
        ],
        &rows,
    )
}

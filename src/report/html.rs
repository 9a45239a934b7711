//! `newsmill report` as one self-contained HTML page: inline CSS and SVG, no network, no
//! external file; readable from `file://` with JavaScript off. A few lines of inline script
//! make the tables sortable by clicking a column head; without it the tables keep their order.
//!
//! Every chart is followed by a table holding its numbers (`<table>` with a `<caption>`),
//! which is what assistive technology reads. Sections: `volume`, `credits` (attribution),
//! `spread` (propagation), `health`.

mod credits;
mod health;
mod spread;
mod volume;

use std::fmt::Write as _;

use super::Report;
use super::svg::esc;
use crate::model::SourceId;

const CSS: &str = "
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1a202c;background:#fff}
header,main{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:18px}h1{font-size:24px;margin:0 0 4px}h2{margin:34px 0 8px;border-bottom:2px solid #e2e8f0;padding-bottom:4px}
h3{margin:22px 0 6px;font-size:16px}nav a{margin-right:14px}.meta{color:#4a5568}
.chart{overflow-x:auto;margin:8px 0}svg text{font:11px system-ui,sans-serif;fill:#2d3748}svg text.n{font-size:11px;font-weight:600}svg text.inv{fill:#fff}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}caption{text-align:left;font-weight:600;padding:4px 0;color:#2d3748}
th,td{border:1px solid #e2e8f0;padding:3px 8px;vertical-align:top}th{background:#f7fafc;text-align:left}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}table.sortable th{cursor:pointer}
details{margin:6px 0}summary{cursor:pointer;color:#2b6cb0}.story{border:1px solid #e2e8f0;border-radius:6px;padding:6px 12px;margin:10px 0}
.empty{color:#718096;font-style:italic}.bad{color:#c53030;font-weight:600}
";

/// Sorts a `table.sortable` by the clicked column: numbers by `data-v` (or their text), the
/// rest as text; a second click reverses.
const JS: &str = "
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('thead th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var body=t.tBodies[0];if(!body)return;
      var rows=Array.prototype.slice.call(body.rows);
      var dir=th.getAttribute('data-dir')==='asc'?-1:1;th.setAttribute('data-dir',dir===1?'asc':'desc');
      var key=function(r){var c=r.cells[i];if(!c)return '';var v=c.getAttribute('data-v');
        if(v!==null)return parseFloat(v);var n=parseFloat(c.textContent);return isNaN(n)?c.textContent:n;};
      rows.sort(function(a,b){var x=key(a),y=key(b);return (x<y?-1:x>y?1:0)*dir;});
      rows.forEach(function(r){body.appendChild(r);});
    });
  });
});
";

/// One table cell: text, or a number (right-aligned, sorts numerically).
#[derive(Debug, Clone)]
pub enum Td {
    /// Escaped on output.
    Text(String),
    /// Raw HTML (already escaped by the caller).
    Html(String),
    /// A count.
    Num(u64),
    /// A number shown as `text`, sorted by `value`.
    Val(f64, String),
}

/// A sortable table with a caption; `id` lets tests and links find it.
pub fn table(id: &str, caption: &str, heads: &[&str], rows: &[Vec<Td>]) -> String {
    let mut s = format!(
        r#"<table class="sortable" id="{}"><caption>{}</caption><thead><tr>"#,
        esc(id),
        esc(caption)
    );
    let numeric: Vec<bool> = (0..heads.len())
        .map(|i| {
            rows.first()
                .is_some_and(|r| matches!(r.get(i), Some(Td::Num(_) | Td::Val(..))))
        })
        .collect();
    for (h, num) in heads.iter().zip(&numeric) {
        let class = if *num { r#" class="num""# } else { "" };
        let _ = write!(s, r#"<th scope="col"{class}>{}</th>"#, esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for row in rows {
        s.push_str("<tr>");
        for cell in row {
            let _ = match cell {
                Td::Text(t) => write!(s, "<td>{}</td>", esc(t)),
                Td::Html(h) => write!(s, "<td>{h}</td>"),
                Td::Num(n) => write!(s, r#"<td class="num" data-v="{n}">{n}</td>"#),
                Td::Val(v, t) => write!(s, r#"<td class="num" data-v="{v}">{}</td>"#, esc(t)),
            };
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// A source's label: its configured name and id (`BelTA (belta_en)`), or the id alone.
pub fn source_label(report: &Report, id: &SourceId) -> String {
    match report.source_names.get(id) {
        Some(name) if name != id.as_str() => format!("{name} ({id})"),
        _ => id.to_string(),
    }
}

/// A duration in seconds for people: `0 s`, `42 min`, `3 h 05 min`, `2 d 4 h`.
pub fn duration(secs: i64) -> String {
    let s = secs.abs();
    let sign = if secs < 0 { "−" } else { "" };
    let text = match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
        _ => format!("{} d {} h", s / 86_400, s % 86_400 / 3600),
    };
    format!("{sign}{text}")
}

/// A share (0–1) as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// The whole page.
pub fn render(report: &Report) -> String {
    let mut s = String::with_capacity(64 * 1024);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>newsmill report</title><style>{CSS}</style></head><body><header>\
         <h1>newsmill report</h1><p class=\"meta\">{}</p>\
         <nav><a href=\"#volume\">Volume</a><a href=\"#attribution\">Attribution</a>\
         <a href=\"#propagation\">Propagation</a><a href=\"#health\">Health</a></nav></header><main>",
        esc(&summary_line(report))
    );
    glance(&mut s, report);
    volume::section(&mut s, report);
    credits::section(&mut s, report);
    spread::section(&mut s, report);
    health::section(&mut s, report);
    let _ = writeln!(s, "</main><script>{JS}</script></body></html>");
    s
}

/// The few sentences that answer the page's questions first: the busiest republication
/// pairs and the most frequent credits of another source.
fn glance(s: &mut String, r: &Report) {
    let mut items = Vec::new();
    for p in r.propagation.pairs.iter().take(GLANCE_ITEMS) {
        items.push(format!(
            "{} republished {} stor{} first published by {}: median {} later (90th percentile {}).",
            source_label(r, &p.to),
            p.stories,
            if p.stories == 1 { "y" } else { "ies" },
            source_label(r, &p.from),
            duration(p.median_lag_s),
            duration(p.p90_lag_s)
        ));
    }
    let mut credits: Vec<_> = r
        .attribution
        .cells
        .iter()
        .filter(|c| c.publisher != c.credited)
        .collect();
    credits.sort_by_key(|c| std::cmp::Reverse(c.records));
    for c in credits.into_iter().take(GLANCE_ITEMS) {
        let of = r
            .volume
            .sources
            .iter()
            .find(|v| v.source_id == c.publisher)
            .map_or(0, |v| v.records);
        items.push(format!(
            "{} of {}'s {of} records credit {} ({}).",
            c.records,
            source_label(r, &c.publisher),
            c.credited_name,
            credits::kind_name(c.kind)
        ));
    }
    if items.is_empty() {
        return;
    }
    s.push_str(r#"<section id="glance"><h2>At a glance</h2><ul>"#);
    for item in items {
        let _ = write!(s, "<li>{}</li>", esc(&item));
    }
    s.push_str("</ul></section>");
}

/// How many pairs and credits "At a glance" lists.
const GLANCE_ITEMS: usize = 4;

fn summary_line(r: &Report) -> String {
    let window = match (&r.filter.since, &r.filter.until) {
        (None, None) => "all dates".to_owned(),
        (a, b) => format!(
            "from {} until {}",
            a.as_deref().unwrap_or("the start"),
            b.as_deref().unwrap_or("now")
        ),
    };
    let sources = if r.filter.sources.is_empty() {
        "all sources".to_owned()
    } else {
        let ids: Vec<&str> = r.filter.sources.iter().map(SourceId::as_str).collect();
        ids.join(", ")
    };
    format!(
        "{} records in {} ({window}; {sources}); generated {}",
        r.records, r.corpus, r.generated_at
    )
}

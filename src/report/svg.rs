//! Small SVG emitters for the report's charts: a heat grid, a bar chart and a story timeline.
//! Each returns one `<svg>` element as text, with `role="img"`, an `aria-label`, and a
//! `<title>` on every mark (shown as a tooltip); the numbers are also in a table next to each
//! chart, which is what screen readers read. No scripts, no external references.

use std::fmt::Write as _;

/// Escapes text for HTML and SVG content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Fill colour for `value` on a scale up to `max`: white-ish to dark blue, by square root so
/// small counts stay visible beside large ones.
pub fn heat_colour(value: u64, max: u64) -> String {
    if value == 0 || max == 0 {
        return "#f4f6f8".to_owned();
    }
    let t = (value as f64 / max as f64).sqrt().clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(222.0, 8.0),
        mix(235.0, 48.0),
        mix(247.0, 107.0)
    )
}

/// A heat grid: one row per `rows` label, one column per `cols` label, `value(r, c)` per cell.
#[derive(Debug, Clone)]
pub struct HeatGrid<'a> {
    /// Accessible name of the chart.
    pub label: &'a str,
    /// Row labels (left).
    pub rows: &'a [String],
    /// Column labels (top, rotated), shown every `col_label_every` columns.
    pub cols: &'a [String],
    /// Cell width in pixels.
    pub cell_w: f64,
    /// Cell height in pixels.
    pub cell_h: f64,
    /// Print the count inside each non-empty cell.
    pub show_counts: bool,
    /// Label every n-th column (1: all).
    pub col_label_every: usize,
}

impl HeatGrid<'_> {
    /// The SVG; `value(row, col)` gives each cell's count, `tip(row, col, count)` its tooltip.
    pub fn render(
        &self,
        value: impl Fn(usize, usize) -> u64,
        tip: impl Fn(usize, usize, u64) -> String,
    ) -> String {
        let widest = |labels: &[String]| labels.iter().map(|l| l.chars().count()).max();
        let left = 8.0 + 7.0 * widest(self.rows).unwrap_or(4) as f64;
        let longest = widest(self.cols).unwrap_or(4).min(24) as f64;
        let top = 10.0 + 6.0 * longest;
        // Column labels are rotated up and to the right: leave room for the last ones.
        let w = left + self.cell_w * self.cols.len() as f64 + 10.0 + 4.5 * longest;
        let h = top + self.cell_h * self.rows.len() as f64 + 4.0;
        let max = (0..self.rows.len())
            .flat_map(|r| (0..self.cols.len()).map(move |c| (r, c)))
            .map(|(r, c)| value(r, c))
            .max()
            .unwrap_or(0);
        let mut s = svg_open(w, h, self.label);
        self.labels(&mut s, left, top);
        for r in 0..self.rows.len() {
            for c in 0..self.cols.len() {
                let v = value(r, c);
                if v == 0 && !self.show_counts {
                    continue;
                }
                let (x, y) = (left + self.cell_w * c as f64, top + self.cell_h * r as f64);
                let _ = write!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.2}" height="{:.1}" fill="{}"><title>{}</title></rect>"#,
                    self.cell_w,
                    self.cell_h - 1.0,
                    heat_colour(v, max),
                    esc(&tip(r, c, v))
                );
                if self.show_counts && v > 0 {
                    let ink = if (v as f64 / max.max(1) as f64).sqrt() > 0.55 {
                        "n inv"
                    } else {
                        "n"
                    };
                    let _ = write!(
                        s,
                        r#"<text class="{ink}" x="{:.1}" y="{:.1}" text-anchor="middle" dominant-baseline="middle">{v}</text>"#,
                        x + self.cell_w / 2.0,
                        y + self.cell_h / 2.0
                    );
                }
            }
        }
        s.push_str("</svg>");
        s
    }

    /// Row labels on the left, every `col_label_every`-th column label rotated on top.
    fn labels(&self, s: &mut String, left: f64, top: f64) {
        for (r, name) in self.rows.iter().enumerate() {
            let y = top + self.cell_h * (r as f64 + 0.5);
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{y:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
                left - 6.0,
                esc(name)
            );
        }
        let every = self.col_label_every.max(1);
        for (c, name) in self.cols.iter().enumerate().filter(|(c, _)| c % every == 0) {
            let x = left + self.cell_w * (c as f64 + 0.5);
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="{:.1}" transform="rotate(-50 {x:.1} {:.1})">{}</text>"#,
                top - 6.0,
                top - 6.0,
                esc(name)
            );
        }
    }
}

/// A vertical bar chart with the count above each bar.
pub fn bars(label: &str, labels: &[String], values: &[u64]) -> String {
    let (bar_w, plot_h, top, bottom) = (64.0, 140.0, 18.0, 36.0);
    let w = 20.0 + bar_w * labels.len() as f64;
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let mut s = svg_open(w, top + plot_h + bottom, label);
    let base = top + plot_h;
    let _ = write!(
        s,
        r##"<line x1="10" y1="{base}" x2="{:.1}" y2="{base}" stroke="#888"/>"##,
        w - 10.0
    );
    for (i, (name, &v)) in labels.iter().zip(values).enumerate() {
        let x = 10.0 + bar_w * i as f64;
        let bh = plot_h * v as f64 / max as f64;
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#2b6cb0"><title>{}: {v}</title></rect>"##,
            x + 8.0,
            base - bh,
            bar_w - 16.0,
            esc(name)
        );
        let _ = write!(
            s,
            r#"<text class="n" x="{:.1}" y="{:.1}" text-anchor="middle">{v}</text>"#,
            x + bar_w / 2.0,
            base - bh - 4.0
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x + bar_w / 2.0,
            base + 16.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

/// One mark on a story timeline.
#[derive(Debug, Clone)]
pub struct Mark {
    /// Label under the mark (source).
    pub label: String,
    /// Seconds after the first mark (`None`: undated, drawn at the right end, hollow).
    pub offset_s: Option<i64>,
    /// Tooltip.
    pub tip: String,
}

/// A horizontal timeline from the first to the last dated mark, one dot per copy.
pub fn timeline(label: &str, marks: &[Mark]) -> String {
    let (w, h, left, right) = (560.0, 58.0, 40.0, 60.0);
    let span = marks
        .iter()
        .filter_map(|m| m.offset_s)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut s = svg_open(w, h, label);
    let y = 20.0;
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{y}" x2="{:.1}" y2="{y}" stroke="#999"/>"##,
        w - right
    );
    for (i, m) in marks.iter().enumerate() {
        let (x, fill) = match m.offset_s {
            Some(o) => (left + (w - left - right) * o as f64 / span, "#c05621"),
            None => (w - right / 2.0, "#fff"),
        };
        let ly = y + 16.0 + 12.0 * (i % 2) as f64;
        let _ = write!(
            s,
            r##"<circle cx="{x:.1}" cy="{y}" r="5" fill="{fill}" stroke="#c05621"><title>{}</title></circle><text x="{x:.1}" y="{ly:.1}" text-anchor="middle">{}</text>"##,
            esc(&m.tip),
            esc(&m.label)
        );
    }
    s.push_str("</svg>");
    s
}

fn svg_open(w: f64, h: f64, label: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}">"#,
        esc(label)
    )
}

//! `newsmill report --format json`: the [`Report`] as pretty-printed JSON, field for field
//! what the HTML page shows (the README documents every field).

use super::Report;

/// The report as JSON text, ending with a newline.
pub fn render(report: &Report) -> String {
    // Serializing plain data (strings, numbers, maps with string keys) cannot fail.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

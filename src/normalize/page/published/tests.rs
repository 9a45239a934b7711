//! Tests of the page-level date choice through the whole normalizer.

use chrono::{TimeZone, Utc};
use url::Url;

use crate::normalize::Normalizer;

const BODY: &str = "<p>Der Verein hat am Wochenende seine neue Halle eröffnet, nach drei Jahren \
    Bauzeit und vielen Diskussionen im Gemeinderat über die Kosten des Projekts.</p>\
    <p>Die Halle bietet Platz für zwei Mannschaften und eine Tribüne mit dreihundert Plätzen, \
    die schon beim ersten Spiel voll besetzt war.</p>";

// See: issue 10 ("Dates never invent what the page does not say").
#[test]
fn issue_10_a_yearless_date_in_a_file_gives_no_date() {
    let n = Normalizer::new(&[]);
    let url = Url::parse("https://example.org/sport/halle").unwrap();
    let html = format!(
        "<html lang=\"de\"><body><h1>Neue Halle eröffnet</h1>\
         <p class=\"date\">6. Oktober um 04:00</p>{BODY}</body></html>"
    );
    // Read as a file (no fetch time): the page never says which year "6. Oktober" is.
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap();
    let a = n.normalize_html(html.as_bytes(), &url, None, now).unwrap();
    assert_eq!(a.published_date, None, "{:?}", a.published_local);
    assert_eq!(a.date_precision, None);
    // A printed year is read as before.
    let dated = html.replace("6. Oktober um 04:00", "6. Oktober 2017 um 04:00");
    let a = n.normalize_html(dated.as_bytes(), &url, None, now).unwrap();
    assert_eq!(
        a.published_date.map(|d| d.to_string()).as_deref(),
        Some("2017-10-06")
    );
}

//! Tests of the visible-date patterns: agency formats, other languages, precision, plausibility.

use chrono::{TimeZone, Utc};

use super::*;

fn reference() -> Reference {
    Reference::fetched_at(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap())
}

fn vis_order(s: &str, order: NumericOrder) -> String {
    match parse(s, reference(), order) {
        Some(PubDate::Instant(d)) => d.to_rfc3339(),
        Some(PubDate::Local(n)) => format!("local {n}"),
        Some(PubDate::Day(d)) => format!("day {d}"),
        None => "none".to_owned(),
    }
}

fn vis(s: &str) -> String {
    vis_order(s, NumericOrder::DayFirst)
}

#[test]
fn agency_formats() {
    for (text, want) in [
        ("Posted: 05.05.2025 10:31:24", "local 2025-05-05 10:31:24"),
        ("05.05.2025, 12:47", "local 2025-05-05 12:47:00"),
        ("5 мая 2025, 13:05", "local 2025-05-05 13:05:00"),
        ("29 красавіка 2025", "day 2025-04-29"),
        ("02 October 2026, 11:54", "local 2026-10-02 11:54:00"),
        ("08 января 2026, 19:51", "local 2026-01-08 19:51:00"),
        ("03 Listopada 2024, 20:21", "local 2024-11-03 20:21:00"),
        ("17 марта 2018 года", "day 2018-03-17"),
    ] {
        assert_eq!(vis(text), want, "{text}");
    }
}

#[test]
fn other_languages_and_layouts() {
    for (text, want) in [
        ("Datum 25.01.2022", "day 2022-01-25"),
        ("am 25.08.2015 22:30", "local 2015-08-25 22:30:00"),
        ("23.01.2019", "day 2019-01-23"),
        ("29. April 2025", "day 2025-04-29"),
        ("5 de mayo de 2019", "day 2019-05-05"),
        ("le 5 mai 2019 à 10h30", "local 2019-05-05 10:30:00"),
        ("January 5th, 2019 at 3:15 pm", "local 2019-01-05 15:15:00"),
        ("Jan. 10 2025", "day 2025-01-10"),
        ("2019-01-23 10:00", "local 2019-01-23 10:00:00"),
        ("2019年1月23日 10:00", "local 2019-01-23 10:00:00"),
        ("Publié le 12 févr. 2021", "day 2021-02-12"),
        (
            "Aktualisiert: 3. März 2020, 14:05 Uhr",
            "local 2020-03-03 14:05:00",
        ),
    ] {
        assert_eq!(vis(text), want, "{text}");
    }
}

#[test]
fn stated_zones_make_instants() {
    assert_eq!(vis("May 5, 17:42 UTC+3"), "2026-05-05T17:42:00+03:00");
    assert_eq!(vis("05.05.2025 10:00 MSK"), "2025-05-05T10:00:00+03:00");
    assert_eq!(
        vis("Jan 5, 2019 10:00 GMT-05:00"),
        "2019-01-05T10:00:00-05:00"
    );
}

#[test]
fn yearless_needs_a_time() {
    assert_eq!(vis("9 January, 18:43"), "local 2026-01-09 18:43:00");
    // December 30 seen in November is last year's.
    assert_eq!(vis("30 December, 10:00"), "local 2025-12-30 10:00:00");
    assert_eq!(vis("MINSK, 5 May (BelTA)"), "none");
}

/// Dates never invent what the page does not say: read from a file with no fetch time, a
/// year-less date has no year to take (it took the year of reading before).
#[test]
fn yearless_without_a_fetch_time_gives_no_date() {
    let unfetched = Reference::unfetched(reference().latest);
    for text in [
        "9 January, 18:43",
        "30 December, 10:00",
        "6. Oktober um 04:00",
    ] {
        assert_eq!(
            parse(text, unfetched, NumericOrder::DayFirst),
            None,
            "{text}"
        );
    }
    // A printed year still reads the same.
    assert_eq!(
        parse("9 January 2019, 18:43", unfetched, NumericOrder::DayFirst),
        parse("9 January 2019, 18:43", reference(), NumericOrder::DayFirst)
    );
    assert!(parse("9 January 2019, 18:43", unfetched, NumericOrder::DayFirst).is_some());
}

#[test]
fn numeric_order() {
    assert_eq!(vis("04/05/2019"), "day 2019-05-04");
    assert_eq!(
        vis_order("04/05/2019", NumericOrder::MonthFirst),
        "day 2019-04-05"
    );
    assert_eq!(vis("01/23/2019"), "day 2019-01-23");
    // Dots are always day first.
    assert_eq!(
        vis_order("04.05.2019", NumericOrder::MonthFirst),
        "day 2019-05-04"
    );
}

#[test]
fn implausible_dates_are_refused() {
    assert_eq!(vis("01.01.1985 10:00"), "none");
    assert_eq!(vis("01.01.2030 10:00"), "none");
    assert_eq!(vis("31.02.2025"), "none");
    assert_eq!(vis("no digits here"), "none");
}

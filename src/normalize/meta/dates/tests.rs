//! Tests of date choice: refinement, zones, URL and script dates.

use chrono::{TimeZone, Utc};

use super::*;

fn reference() -> Reference {
    Reference::fetched_at(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap())
}

#[test]
fn a_later_time_refines_a_day() {
    let mut c = Chooser::new(None, reference());
    c.offer_machine(Some("2022-01-25"), DateSource::JsonLd);
    c.offer_visible(
        "25.01.2022 20:44",
        Default::default(),
        DateSource::VisibleText,
    );
    c.offer_visible(
        "24.01.2022 10:00",
        Default::default(),
        DateSource::VisibleText,
    );
    let f = c.choose().unwrap();
    assert_eq!(f.source, DateSource::JsonLd);
    assert_eq!(f.precision(), DatePrecision::LocalTime);
    assert_eq!(
        f.date.local_time().unwrap().to_string(),
        "2022-01-25 20:44:00"
    );
}

#[test]
fn configured_zone_makes_instants_and_no_zone_stays_local() {
    let mut c = Chooser::new(Some(chrono_tz::Europe::Berlin), reference());
    c.offer_machine(Some("2022-01-25 20:44"), DateSource::Meta);
    assert_eq!(
        c.choose().unwrap().date.instant().unwrap().to_rfc3339(),
        "2022-01-25T20:44:00+01:00"
    );
    let mut c = Chooser::new(None, reference());
    c.offer_machine(Some("2022-01-25 20:44"), DateSource::Meta);
    assert_eq!(c.choose().unwrap().date.instant(), None);
}

#[test]
fn a_printed_local_time_gives_a_utc_instant_its_offset() {
    let mut c = Chooser::new(None, reference());
    c.offer_machine(Some("2020-02-25T02:25:54Z"), DateSource::JsonLd);
    c.offer_visible(
        "February 24, 2020 9:25 pm",
        Default::default(),
        DateSource::VisibleText,
    );
    let f = c.choose().unwrap();
    assert_eq!(
        f.date.instant().unwrap().to_rfc3339(),
        "2020-02-24T21:25:54-05:00"
    );
    assert_eq!(f.date.date().to_string(), "2020-02-24");
}

#[test]
fn url_dates_are_days() {
    let day = |p| from_url_path(p).map(|d| d.date().to_string());
    assert_eq!(day("/news/2019/01/23/story").as_deref(), Some("2019-01-23"));
    assert_eq!(day("/20190123/story.html").as_deref(), Some("2019-01-23"));
    assert_eq!(day("/2019-01-23/story").as_deref(), Some("2019-01-23"));
    assert_eq!(day("/story/12345678"), None);
    assert_eq!(day("/home/2017/7/12/story").as_deref(), Some("2017-07-12"));
    assert_eq!(day("/meldungen/29-10-2021").as_deref(), Some("2021-10-29"));
    assert_eq!(day("/a/99-10-2021"), None);
    assert!(matches!(
        from_url_path("/2019/01/23/"),
        Some(PubDate::Day(_))
    ));
}

#[test]
fn a_url_date_beats_a_much_later_metadata_date() {
    let mut c = Chooser::new(None, reference());
    c.offer_machine(Some("2019-06-17T18:28:00+02:00"), DateSource::JsonLd);
    c.offer(from_url_path("/home/2017/7/12/story"), DateSource::Url);
    let f = c.choose().unwrap();
    assert_eq!(
        (f.date.date().to_string(), f.source),
        ("2017-07-12".into(), DateSource::Url)
    );
    // A day later is the same publication (time zones, a late edit): metadata stays.
    let mut c = Chooser::new(None, reference());
    c.offer_machine(Some("2017-07-13T01:00:00+02:00"), DateSource::JsonLd);
    c.offer(from_url_path("/2017/07/12/story"), DateSource::Url);
    assert_eq!(c.choose().unwrap().source, DateSource::JsonLd);
}

#[test]
fn script_keys_give_a_date_when_nothing_else_does() {
    let html = r#"<script>var meta = {"product":{"id":1,"published_at":"2019-03-02T06:22:28+01:00"}};</script>
        <script>{"publishedDate": "2016-11-04T20:37:27Z"}</script>"#;
    assert_eq!(
        from_script_keys(html)
            .and_then(|d| d.instant())
            .map(|d| d.to_rfc3339()),
        Some("2019-03-02T06:22:28+01:00".into())
    );
    let odd = r#"{"datePublished":"2022-01-10T22:06:08:684Z"}"#;
    assert_eq!(
        from_script_keys(odd).map(|d| d.date().to_string()),
        Some("2022-01-10".into())
    );
    assert_eq!(from_script_keys(r#"{"datePublished": 1641852368}"#), None);
}

#[test]
fn a_bare_date_meta_a_few_days_after_the_printed_date_is_the_last_change() {
    let day = |s| machine::parse(s).unwrap();
    assert!(last_change_after(day("2020-02-12"), day("2020-02-05")));
    // Today's date in the header or a coming event is later than the meta: not the article's.
    assert!(!last_change_after(day("2017-05-01"), day("2020-02-26")));
    assert!(!last_change_after(day("2020-02-05"), day("2020-02-05")));
    assert!(!last_change_after(day("2021-02-05"), day("2020-02-05")));
}

#[test]
fn a_vendor_prefixed_copy_of_a_key_is_read_after_the_key_itself() {
    let metas = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let widget = metas(&[(
        "shareaholic:article_published_time",
        "2017-06-07T11:19:22+02:00",
    )]);
    assert_eq!(
        meta_value(&widget, "article:published_time"),
        Some("2017-06-07T11:19:22+02:00")
    );
    let both = metas(&[
        ("shareaholic:article_published_time", "2017-06-08T00:00:00Z"),
        ("article:published_time", "2017-06-07T11:19:22+02:00"),
    ]);
    assert_eq!(
        meta_value(&both, "article:published_time"),
        Some("2017-06-07T11:19:22+02:00")
    );
    // Two-word prefixes and known vocabularies are not vendors.
    let other = metas(&[
        ("my-widget:article_published_time", "2017-06-07"),
        ("dc:date", "2017-06-07"),
    ]);
    assert_eq!(meta_value(&other, "article:published_time"), None);
    assert_eq!(meta_value(&other, "date"), None);
}

//! Tests of the one-walk page scan: what it collects and what it counts as side matter.

use super::side::SIDE_MATTER_WORDS;
use super::*;

fn texts(v: &[(String, usize)]) -> Vec<&str> {
    v.iter().map(|(t, _)| t.as_str()).collect()
}

#[test]
fn one_walk_collects_everything() {
    let doc = Document::parse(
        r#"<html lang="ru"><head><title> T  | S </title><meta property="og:title" content=" O "><link rel="canonical" href="/c">
        <script type="application/ld+json">{"a":1}</script></head><body><h1>H</h1>
        <div class="date">Posted: 05.05.2025 10:31:24</div><time datetime="2025-05-05">x</time>
        <div class="page-timeline"><p>long text that is far too long to be a date line, much longer than a hundred and twenty characters, yes, really long, longer still, and then some more words</p></div>
        <span class="photo-credit">BELTA</span><span class="author">By Ann Lee</span></body></html>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(s.lang.as_deref(), Some("ru"));
    assert_eq!(s.title.as_deref(), Some("T | S"));
    assert_eq!(s.metas, [("og:title".to_owned(), "O".to_owned())]);
    assert_eq!(s.canonical.as_deref(), Some("/c"));
    assert_eq!(s.json_ld, [r#"{"a":1}"#]);
    assert_eq!(s.h1s, ["H"]);
    assert_eq!(s.times[0].datetime.as_deref(), Some("2025-05-05"));
    assert_eq!(s.times[0].text.as_deref(), Some("x"));
    assert_eq!(texts(&s.dateish), ["Posted: 05.05.2025 10:31:24"]);
    assert_eq!(s.credits.len(), 1);
    assert_eq!(s.bylines, ["By Ann Lee"]);
}

#[test]
fn a_wrapper_holding_the_headline_is_not_side_matter() {
    let doc = Document::parse(
        r#"<div class="mainwrap sidebar"><h1>Title</h1><div class="post-meta">
        <a class="post-meta-time">08/08/2017</a></div></div>
        <div class="sidebar"><span class="date">14.06.2019</span></div>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(texts(&s.dateish), ["08/08/2017"]);
    assert!(s.side_dates.iter().any(|d| d == "14.06.2019"));
}

#[test]
fn microdata_datetime_is_a_date_meta() {
    let doc = Document::parse(
        r#"<div class="footer"><time itemprop="datePublished" datetime="2022-01-21"> 21.01.2022 </time></div>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(
        s.metas,
        [("datepublished".to_owned(), "2022-01-21".to_owned())]
    );
}

#[test]
fn dates_of_comments_and_widgets_are_side_dates() {
    let doc = Document::parse(
        r#"<div class="post"><span class="post-date">27.09.2016</span></div>
        <div id="comments" class="comments"><div class="comment-meta"><abbr class="date">11.09.2018 12:57</abbr></div></div>
        <ul><li class="widget widget_recent_entries"><span class="post-date">09/09/2019</span></li></ul>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(texts(&s.dateish), ["27.09.2016"]);
    for t in ["11.09.2018 12:57", "09/09/2019"] {
        assert!(
            s.side_dates.iter().any(|d| d == t),
            "{t} in {:?}",
            s.side_dates
        );
    }
}

#[test]
fn a_kicker_and_its_hidden_separator_are_not_the_headline() {
    let doc = Document::parse(
        r#"<h1 itemprop="headline"> <span class="teaser__kicker">Pandemic</span>
        <span class="visually-hidden"> - </span> <span class="h1">Hospitals fill up</span></h1>
        <h1><span class="dachzeile">Nach der Wahl</span>Koalition steht</h1>
        <h1><span class="kicker">Only a kicker</span></h1><h1>Plain <span>headline</span></h1>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(
        s.h1s,
        [
            "Hospitals fill up",
            "Koalition steht",
            "Only a kicker",
            "Plain headline"
        ]
    );
}

#[test]
fn figures_in_the_article_with_captions_and_credits() {
    let doc = Document::parse(
        r#"<aside><figure><img src="/ad.jpg"><figcaption>Ad</figcaption></figure></aside>
        <article><figure><img data-src="/a.jpg"><figcaption>Minsk at night. <span class="credit">Photo: BelTA</span></figcaption></figure>
        <figure><img src="/b.jpg"><figcaption>The forum opens. Photo: TASS</figcaption></figure><figure><img src="/c.jpg"></figure></article>"#,
    );
    let f = PageScan::new(&doc).figures;
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!(
        (
            f[0].src.as_str(),
            f[0].caption.as_deref(),
            f[0].credit.as_deref()
        ),
        ("/a.jpg", Some("Minsk at night."), Some("Photo: BelTA"))
    );
    assert_eq!(
        (f[1].caption.as_deref(), f[1].credit.as_deref()),
        (Some("The forum opens"), Some("Photo: TASS"))
    );
    assert_eq!(
        (f[2].caption.as_deref(), f[2].credit.as_deref()),
        (None, None)
    );
}

#[test]
fn folded_search_ignores_ascii_case_only() {
    assert!(CLASS_WORDS.mask("PostDate") & DATE_BIT != 0);
    assert!(BYLINE_WORDS.in_value("x-BYLINE"));
    assert!(DATE_ID_WORDS.in_value("date"));
    assert!(!DATE_ID_WORDS.in_value("dat"));
    assert!(!DATE_ID_WORDS.in_value("Dätum"));
    assert!(SIDE_MATTER_WORDS.in_attr(Some("entry-Comment-list")));
    assert!(!SIDE_MATTER_WORDS.in_attr(Some("entry-content")));
    assert!(is_byline_class("Post-Author") && !is_byline_class("author-bio"));
}

// See: issue 10 (a social page's only full dates sit in `abbr` titles; a menu bar's "today"
// was taken for the article's date).
#[test]
fn issue_10_abbr_titles_are_dates_and_menu_bar_times_are_side_matter() {
    let doc = Document::parse(
        r#"<div id="navwrap"><div class="navtop"><time datetime="2023-11-01T13:56:20+01:00">Mittwoch</time></div></div>
        <h1>H</h1><abbr title="Freitag, 6. Oktober 2017 um 04:00" class="_5ptz">6. Oktober um 04:00</abbr>
        <abbr title="World Health Organization">WHO</abbr>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(s.times.len(), 2);
    assert!(s.times[0].side);
    assert!(!s.times[1].side);
    assert_eq!(
        s.times[1].text.as_deref(),
        Some("Freitag, 6. Oktober 2017 um 04:00")
    );
}

// See: issue 10 (htmldate dates: a split date, a logo `h1`, a blog `h2`, a `nav` meta line).
#[test]
fn issue_10_headline_byline_zone_and_split_dates() {
    // Numbers in separate elements stay apart; the site's edition date is side matter.
    let doc = Document::parse(
        r#"<title>Story title here | Site</title><div class="date-edition">lun. 5 août 2019</div>
        <h1 class="logo">Site</h1><div><h1>Story title here</h1></div>
        <ul class="nav meta"><li>13 Oct 2020 18:29</li></ul>
        <div class="datum"><span>Feb 18</span><span>2009</span></div>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(texts(&s.dateish), ["Feb 18 2009"]);
    assert!(s.side_dates.iter().any(|d| d == "lun. 5 août 2019"));
    // The headline is the `h1` the title repeats, not the logo; the `nav` list right below
    // it is its meta line.
    assert_eq!(s.headline_dates, ["13 Oct 2020 18:29", "Feb 18"]);
    // Without `h1`, a blog template's `h2` the title repeats is the headline.
    let doc = Document::parse(
        r#"<title>Fall in love with black | Blog</title><div class="main sidebar">
        <div class="post-meta"><a class="post-meta-time">08/08/2017</a></div>
        <h2 class="title">Fall in love with black</h2><p>Text</p></div>"#,
    );
    let s = PageScan::new(&doc);
    assert_eq!(texts(&s.dateish), ["08/08/2017"]);
    // A caption's date and a member's join date are side matter.
    let doc = Document::parse(
        r#"<h1>Thread title</h1><p>One</p><p>Two</p><p>Three</p>
        <dd class="profile-joined">18.09.2008, 05:56</dd>
        <span>Abbildung: Karte vom 31.05.2021 (links)</span>"#,
    );
    let s = PageScan::new(&doc);
    assert!(s.digit_texts.is_empty(), "{:?}", s.digit_texts);
    assert_eq!(s.side_dates.len(), 2);
}

//! Tests of byline extraction: JSON-LD shapes, labels, splitting, site names.

use super::*;
use crate::html::Document;
use crate::normalize::meta::json_ld;

fn page_authors(html: &str, site: &[&str]) -> Vec<String> {
    let doc = Document::parse(html);
    let scan = PageScan::new(&doc);
    let ld = json_ld(&scan);
    authors(&scan, &ld.authors, site)
}

#[test]
fn json_ld_author_by_id_reference_in_a_graph() {
    let html = r##"<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
        {"@type":"Article","@id":"#a","headline":"H","author":{"@id":"https://x.org/#/person/1"}},
        {"@type":"Person","@id":"https://x.org/#/person/1","name":"Paul Serran"}]}</script>"##;
    assert_eq!(page_authors(html, &[]), ["Paul Serran"]);
}

#[test]
fn json_ld_main_entity_and_prefixed_types() {
    let html = r#"<script type="application/ld+json">{"@type":"WebPage","mainEntity":{
        "@type":"http://schema.org/ReportageNewsArticle","headline":"H",
        "author":[{"@type":"Person","name":"Rachel Brazil"}]}}</script>"#;
    assert_eq!(page_authors(html, &[]), ["Rachel Brazil"]);
}

#[test]
fn site_name_is_dropped_beside_a_person_and_kept_alone() {
    let with_person = r#"<meta name="author" content="WDR"><script type="application/ld+json">
        {"@type":"NewsArticle","author":[{"@type":"Person","name":"Nina Magoley"},
        {"@type":"Organization","name":"WDR"}]}</script>"#;
    assert_eq!(page_authors(with_person, &["WDR"]), ["Nina Magoley"]);
    let alone = r#"<script type="application/ld+json">{"@type":"NewsArticle",
        "author":{"@type":"Organization","name":"Euronews"}}</script>"#;
    assert_eq!(page_authors(alone, &["Euronews"]), ["Euronews"]);
}

#[test]
fn labels_roles_and_contact_details_are_removed() {
    assert_eq!(clean_name("By Jane Doe").as_deref(), Some("Jane Doe"));
    assert_eq!(
        clean_name("von Julia Müller").as_deref(),
        Some("Julia Müller")
    );
    assert_eq!(
        clean_name("AuthorAndreas Kalt").as_deref(),
        Some("Andreas Kalt")
    );
    assert_eq!(
        clean_name("Elena Oberholzer (obe)").as_deref(),
        Some("Elena Oberholzer")
    );
    assert_eq!(
        clean_name("Mathias Hagen / Journalist").as_deref(),
        Some("Mathias Hagen")
    );
    assert_eq!(clean_name("Di Maria").as_deref(), Some("Di Maria"));
    assert_eq!(clean_name("d.doe@example.com"), None);
    assert_eq!(clean_name("null"), None);
    assert_eq!(clean_name("Posted on"), None);
    assert_eq!(clean_name("Von"), None);
    assert_eq!(clean_name("View all posts by Daniel Lemire"), None);
}

#[test]
fn lists_of_people_are_split() {
    let names = clean_group(&["Samya Kullab and Vasilisa Stepanenko".into()]);
    assert_eq!(names, ["Samya Kullab", "Vasilisa Stepanenko"]);
    let names = clean_group(&["Monika Bolliger und Anna Trechsel, Zürich".into()]);
    assert_eq!(names, ["Monika Bolliger", "Anna Trechsel"]);
    let names = clean_group(&["Anna Sleegers, Frankfurt".into()]);
    assert_eq!(names, ["Anna Sleegers"]);
    let names = clean_group(&["srf/hosb;kesm".into()]);
    assert_eq!(names, ["srf/hosb", "kesm"]);
}

#[test]
fn a_name_repeated_with_decoration_is_kept_once() {
    let names = clean_group(&[
        "Mathias Hagen".into(),
        "Zeige alle Beiträge von Mathias Hagen →".into(),
        "8. Januar 2020 · by Mathias Hagen · in Gefühle".into(),
    ]);
    assert_eq!(names, ["Mathias Hagen"]);
}

#[test]
fn byline_elements_are_read_but_comment_authors_are_not() {
    let html = r#"<div class="post-meta"><span class="byline">By <a rel="author" href="/a/x">
        Tim Anderson</a></span></div><div class="comment-author">Someone Else</div>"#;
    assert_eq!(page_authors(html, &[]), ["Tim Anderson"]);
}

#[test]
fn labels_in_more_languages_and_escaped_names() {
    assert_eq!(
        clean_name("erstellt von Dominique").as_deref(),
        Some("Dominique")
    );
    assert_eq!(
        clean_name("Publié par Jeanne Roy").as_deref(),
        Some("Jeanne Roy")
    );
    assert_eq!(clean_name("Veröffentlicht am"), None);
    assert_eq!(clean_name("Quelle:"), None);
    assert_eq!(
        clean_group(&["Redacci&oacute;n Diario Sur".into()]),
        ["Redacción Diario Sur"]
    );
}

//! Tests of the generic extractor on small pages.
use super::*;
use crate::model::BlockKind;

const P1: &str = "The city council approved the new budget on Tuesday, after a long debate \
                  that lasted well into the night, with nine votes in favour.";
const P2: &str = "Opponents said the plan, which raises fees for parking and permits, would \
                  hurt small shops, while supporters pointed to the repaired roads.";
const P3: &str = "The mayor, speaking after the vote, said work on the bridge would start in \
                  spring and finish, if all goes well, before the end of next year.";

fn extract(html: &str) -> Vec<Block> {
    GenericExtractor::new().extract(&Document::parse(html))
}

fn texts(blocks: &[Block]) -> Vec<&str> {
    blocks.iter().map(|b| b.text.as_str()).collect()
}

fn page(article: &str) -> String {
    format!(
        "<html><head><title>T</title><script>var x = 'script text';</script></head><body>\
         <header><a href=/>Home</a> <a href=/news>News</a></header>\
         <nav><ul><li><a href=/a>Politics</a></li><li><a href=/b>Sport</a></li></ul></nav>\
         <article>{article}</article>\
         <footer><p>Contact us, about us, careers and the rest of the footer text.</p>\
         </footer></body></html>"
    )
}

#[test]
fn keeps_body_paragraphs_in_order_and_drops_chrome() {
    let html = page(&format!(
        "<h1>Budget passes</h1><p>{P1}</p><p>{P2}</p><p>{P3}</p>"
    ));
    let blocks = extract(&html);
    assert_eq!(texts(&blocks), [P1, P2, P3]);
    assert!(blocks.iter().all(|b| b.kind == BlockKind::Paragraph));
}

#[test]
fn headings_lists_and_quotes_get_their_kinds() {
    let html = page(&format!(
        "<p>{P1}</p><h2>What  changes</h2><ul><li>Parking fees\n rise</li><li>Permits cost \
         more</li></ul><blockquote><p>We did what we had to do.</p></blockquote><p>{P2}</p>"
    ));
    let blocks = extract(&html);
    let kinds: Vec<BlockKind> = blocks.iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            BlockKind::Paragraph,
            BlockKind::Heading,
            BlockKind::List,
            BlockKind::Quote,
            BlockKind::Paragraph
        ]
    );
    assert_eq!(blocks[1].text, "What changes");
    assert_eq!(blocks[2].text, "Parking fees rise\nPermits cost more");
}

#[test]
fn removes_widgets_inside_the_article() {
    let html = page(&format!(
        "<div class=\"share-bar\"><a href=/fb>Facebook</a> <a href=/tw>Twitter</a></div>\
         <p>{P1}</p>\
         <div class=\"cookie-banner\">We use cookies to improve your experience.</div>\
         <p>{P2}</p>\
         <div class=\"related\"><h3>Related</h3><ul>\
         <li><a href=/1>Another story about the council and its budget</a></li>\
         <li><a href=/2>Yet another story about the mayor and the bridge</a></li>\
         </ul></div><p>{P3}</p>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
}

#[test]
fn line_breaks_split_lines_and_double_breaks_split_paragraphs() {
    let html = page(&format!(
        "<div>{P1}<br>Second line.<br><br>{P2}</div><p>{P3}</p>"
    ));
    let blocks = extract(&html);
    assert_eq!(
        texts(&blocks),
        [format!("{P1}\nSecond line."), P2.into(), P3.into()]
    );
}

#[test]
fn works_for_russian_belarusian_and_chinese() {
    let ru = "Совет министров утвердил бюджет во вторник, после долгих споров, которые \
              продолжались до поздней ночи, девятью голосами.";
    let zh = "市议会周二批准了新预算，经过一场持续到深夜的漫长辩论，九票赞成，三票反对，\
              市长表示桥梁工程将于明年春天开工。";
    let be = "Савет міністраў зацвердзіў бюджэт у аўторак, пасля доўгіх спрэчак, якія \
              працягваліся да позняй ночы, дзевяццю галасамі.";
    let html = page(&format!("<p>{ru}</p><p>{be}</p><p>{zh}</p>"));
    assert_eq!(texts(&extract(&html)), [ru, be, zh]);
}

#[test]
fn empty_and_textless_documents_give_no_blocks() {
    assert!(extract("").is_empty());
    assert!(extract("<html><body><div><img src=a.png></div></body></html>").is_empty());
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // The parser caps nesting at `html::MAX_OPEN`; the arena walk and the extractor stay
    // iterative at any depth the parser produces.
    let depth = 100_000;
    let html = format!("{}{P1}{}", "<div>".repeat(depth), "</div>".repeat(depth));
    assert_eq!(texts(&extract(&html)), [P1]);
}

// See: issue 10 (in-article subheadings are text; tickers are not; soft hyphens go).
#[test]
fn issue_10_subheading_between_sections_is_kept_as_heading() {
    let html = page(&format!(
        "<div class=text><p>{P1}</p></div><h3>New rules for parking</h3>\
         <div class=text><p>{P2}</p><p>{P3}</p></div>"
    ));
    let blocks = extract(&html);
    assert_eq!(
        texts(&blocks),
        [P1, "New rules for parking", P2, P3],
        "{blocks:?}"
    );
    assert_eq!(blocks[1].kind, BlockKind::Heading);
}

#[test]
fn issue_10_rates_ticker_is_not_text_and_soft_hyphens_go() {
    let html = page(&format!(
        "<div class=kurs>USD 2,9871 EUR 3,3820 RUB 3,6512</div>\
         <p>{P1}</p><p>Bud&shy;get {P2}</p><p>{P3}</p>"
    ));
    assert_eq!(
        texts(&extract(&html)),
        [P1.to_owned(), format!("Budget {P2}"), P3.to_owned()]
    );
}

// See: issue 10 (a paywalled article whose wrapper's class names a media box).
#[test]
fn issue_10_long_prose_survives_a_boilerplate_class_name() {
    // The lead alone is long enough for the strict first attempt to stand.
    let lead = [P3, P1, P2, P3];
    let body = [P1, P2, P3, P1, P2, P3, P1, P2];
    let ps = |list: &[&str]| -> String { list.iter().map(|p| format!("<p>{p}</p>")).collect() };
    let html = page(&format!(
        "<div class=lead>{}</div><section class=\"wrapper restricted-media\">\
         <div class=inner>{}</div></section>",
        ps(&lead),
        ps(&body)
    ));
    let want: Vec<&str> = lead.iter().chain(&body).copied().collect();
    assert_eq!(texts(&extract(&html)), want);
}

// See: issue 10 (trailing lines after the article: a contact or "further information" box).
#[test]
fn issue_10_a_heading_over_a_short_box_after_the_article_goes_but_a_last_section_stays() {
    let html = page(&format!(
        "<p>{P1}</p><p>{P2}</p><p>{P3}</p><h3>Your press contact</h3><p>Jane Doe</p>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
    let html = page(&format!(
        "<p>{P1}</p><p>{P2}</p><p>{P3}</p><h3>Ingredients</h3>\
         <ul><li>2 eggs</li><li>100 g sugar</li></ul>"
    ));
    assert_eq!(
        texts(&extract(&html)),
        [P1, P2, P3, "Ingredients", "2 eggs\n100 g sugar"]
    );
}

// See: issue 10 (the body started with its second paragraph: the standfirst sat in the
// article header, which cleaning removes).
#[test]
fn issue_10_the_standfirst_between_headline_and_body_is_the_first_paragraph() {
    let lead = "The council passed the budget after a night of debate, and fees for \
                parking will rise from May.";
    let html = page(&format!(
        "<header><h1>Budget passes</h1><p class=\"article-lead\">{lead}</p>\
         <p class=\"photo-caption\">The mayor, seen here at the town hall on Monday \
         evening, spoke for an hour.</p></header>\
         <div class=story><p>{P1}</p><p>{P2}</p><p>{P3}</p></div>"
    ));
    assert_eq!(texts(&extract(&html)), [lead, P1, P2, P3]);
    // Without a name saying lead, the header paragraph stays out.
    let html = html.replace("article-lead", "note");
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
}

#[test]
fn article_body_replaces_a_teaser_but_not_a_full_text() {
    let long = format!("{P1}\n\n{P2}\n{P3}\n{P1} {P2} {P3}");
    let teaser = [Block {
        kind: BlockKind::Paragraph,
        text: "The city council approved the new budget…".into(),
    }];
    let blocks = from_article_body(&long, &teaser).unwrap();
    assert_eq!(blocks.len(), 4);
    assert_eq!(blocks[0].text, P1);
    let full: Vec<Block> = extract(&page(&format!("<p>{P1}</p><p>{P2}</p><p>{P3}</p>")));
    assert!(from_article_body(&format!("{P1}\n{P2}\n{P3}"), &full).is_none());
}

#[test]
fn extract_within_cleans_but_does_not_search() {
    let html = format!(
        "<html><body><div id=body><p>{P1}</p><script>x()</script>\
         <div class=social-share><a href=/fb>Share on Facebook</a></div></div>\
         <div id=other><p>{P2}</p><p>{P3}</p></div></body></html>"
    );
    let doc = Document::parse(&html);
    let sel = crate::html::Selector::parse("#body").unwrap();
    let root = doc.select(&sel).next().unwrap();
    assert_eq!(
        texts(&GenericExtractor::new().extract_within(&doc, root)),
        [P1]
    );
}

// See: issue 10 (standfirsts set as a subheading, or without a full stop, were missed; a
// caption ending in its credit must not pass for one).
#[test]
fn issue_10_a_subheading_or_unpunctuated_standfirst_is_the_lead_but_a_caption_is_not() {
    let dek = "Three new bridges, a tram line and two schools are planned for the next ten \
               years";
    let html = page(&format!(
        "<header><h1>Budget passes</h1><h2 class=\"article__subtitle\">{dek}</h2></header>\
         <div class=story><p>{P1}</p><p>{P2}</p><p>{P3}</p></div>"
    ));
    let blocks = extract(&html);
    assert_eq!(texts(&blocks), [dek, P1, P2, P3]);
    assert_eq!(blocks[0].kind, BlockKind::Paragraph);
    // A long standfirst whose last sentence lost its full stop.
    let lead = "The council passed the budget after a night of debate. Fees for parking \
                and permits will rise from May, the old bridge will be repaired and the \
                tram line will reach the station by next summer";
    let with_lead = page(&format!(
        "<header><h1>Budget passes</h1><p class=\"entry__subtitle\">{lead}</p></header>\
         <div class=story><p>{P1}</p><p>{P2}</p><p>{P3}</p></div>"
    ));
    assert_eq!(texts(&extract(&with_lead)), [lead, P1, P2, P3]);
    // The same shape ending in a photo credit is a caption.
    let caption = "The mayor at the town hall on Monday evening, after the vote. He spoke \
                   for an hour about the bridge, the fees, the tram and the schools, and \
                   took questions. | Jane Doe/Agency";
    let html = with_lead.replace(lead, caption);
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
    // A page whose headline is its first `h2` has its lead after that.
    let html = with_lead.replace("h1>", "h2>");
    assert_eq!(texts(&extract(&html)), [lead, P1, P2, P3]);
}

// See: issue 10 (screen-reader labels, privacy notices, rating widgets and post metadata were
// kept as text).
#[test]
fn issue_10_screen_reader_labels_notices_and_ratings_are_not_text() {
    let html = page(&format!(
        "<h1>Budget passes</h1><div class=\"privacy-notice\"><p>This site uses cookies to \
         give you the best experience, by reading on you accept them.</p></div>\
         <p>{P1}</p><p>{P2}<span class=\"h-offscreen\">Box aufklappen</span>\
         <span class=\"hideCompletely\">Ende der Box</span></p><p>{P3}</p>\
         <div class=\"post-ratings\"><strong>Was this article useful?</strong></div>\
         <div class=\"entry-utility\">This entry was posted in News.</div>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
}

// See: issue 10 (figure labels and zoom-button captions were kept as text).
#[test]
fn issue_10_figure_labels_and_zoom_captions_are_not_text() {
    let html = page(&format!(
        "<h1>Budget passes</h1><p>{P1}</p><p>Abbildung 8: Vorgehensweise für grosse \
         Ereignisse</p><p>{P2}</p><p>Vergrößern Die neue Brücke im Modell.</p><p>{P3}</p>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
}

// See: issue 10 (a login form's validation messages, `role="alert"`, outweighed a short
// article).
#[test]
fn issue_10_alert_messages_are_not_text() {
    let alerts: String = (0..12)
        .map(|i| {
            format!(
                "<p role=\"alert\" class=\"error-item\">The password must be at least {i} \
                 characters long, hold a capital letter and a digit, and must not repeat.</p>"
            )
        })
        .collect();
    let html = page(&format!(
        "<h1>Budget passes</h1><p>{P1}</p><p>{P2}</p><div class=\"login\">{alerts}</div>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2]);
}

// See: issue 10 (a "related posts" list whose excerpts are comma-rich prose was kept as a
// misnamed body).
#[test]
fn issue_10_a_related_posts_list_with_excerpts_is_not_text() {
    let item = |i: usize| {
        format!(
            "<li><a href=/p{i}>Another story number {i}</a><br><small>The council, the mayor, \
             the opposition, the shops, the drivers and the residents, all of them, had \
             something to say about story {i}, and they said it loudly, again and again, \
             at every meeting, in every paper, on every channel...</small></li>"
        )
    };
    let items: String = (0..6).map(item).collect();
    // Long enough for the strict first attempt to stand.
    let body = [P1, P2, P3, P2, P1];
    let ps: String = body.iter().map(|p| format!("<p>{p}</p>")).collect();
    let html = page(&format!(
        "<h1>Budget passes</h1>{ps}<ul class=\"related_post wp_rp\">{items}</ul>"
    ));
    assert_eq!(texts(&extract(&html)), body);
}

// See: issue 10 (advertisement labels, licence lines and long figure captions were kept).
#[test]
fn issue_10_ad_labels_licence_lines_and_long_captions_are_not_text() {
    let caption = "Abbildung 4: Die neue Brücke von Süden gesehen. Der Unterschied zur alten \
                   Brücke in Form und Bauweise ist auf den ersten Blick klar ersichtlich.";
    let html = page(&format!(
        "<h1>Budget passes</h1><p><em>Anzeige, enthält Partnerlinks</em></p><p>{P1}</p>\
         <p>{caption}</p><p>{P2}</p><p>{P3}</p><p>Dieser Text steht unter der Lizenz \
         CC-BY-SA 4.0.</p>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
    // A sentence that merely starts with the word is text.
    let html = page(&format!(
        "<h1>Budget passes</h1><p>{P1}</p><p>Anzeigenkunden zahlen mehr.</p><p>{P2}</p>"
    ));
    assert_eq!(
        texts(&extract(&html)),
        [P1, "Anzeigenkunden zahlen mehr.", P2]
    );
}

// See: issue 10 (a summary box that repeats the first paragraph was taken as the standfirst).
#[test]
fn issue_10_a_lead_that_repeats_the_first_paragraph_is_not_taken() {
    let summary = "The city council approved the new budget on Tuesday after a long debate, \
                   with nine votes in favour.";
    let html = page(&format!(
        "<header><h1>Budget passes</h1><p class=\"summary\">{summary}</p></header>\
         <div class=story><p>{P1}</p><p>{P2}</p><p>{P3}</p></div>"
    ));
    assert_eq!(texts(&extract(&html)), [P1, P2, P3]);
    // A standfirst that says something the body does not is kept.
    let lead = "Fees for parking and permits will rise from May, and the bridge works \
                start in spring.";
    let html = html.replace(summary, lead);
    assert_eq!(texts(&extract(&html)), [lead, P1, P2, P3]);
}

//! Parser behaviour on the constructs news pages use, checked through an outline that prints
//! the tree as nested tags with texts.

use super::{Document, NodeId, NodeKind, Selector};

/// `tag(child child)` outline of the subtree of `n`, texts quoted, whitespace-only texts
/// left out.
fn outline(doc: &Document, n: NodeId) -> String {
    let kids: Vec<String> = doc
        .children(n)
        .filter_map(|c| match doc.kind(c) {
            NodeKind::Text(t) if t.trim().is_empty() => None,
            NodeKind::Text(t) => Some(format!("{t:?}")),
            _ => Some(outline(doc, c)),
        })
        .collect();
    let name = doc.name(n).unwrap_or("#doc");
    if kids.is_empty() {
        name.to_owned()
    } else {
        format!("{name}({})", kids.join(" "))
    }
}

fn body(html: &str) -> String {
    let doc = Document::parse(html);
    let b = doc
        .descendants(NodeId::ROOT)
        .find(|n| doc.name(*n) == Some("body"))
        .expect("a body");
    outline(&doc, b)
}

#[test]
fn head_and_body_are_inferred() {
    let doc = Document::parse("<title>T &amp; U</title><meta name=a content=b><p>x");
    assert_eq!(
        outline(&doc, NodeId::ROOT),
        r#"#doc(html(head(title("T & U") meta) body(p("x"))))"#
    );
    let html = doc.root_element();
    assert_eq!(doc.name(html), Some("html"));
    let doc = Document::parse("<!doctype html>\n<html lang=ru><body class=b><p>x</body></html>");
    assert_eq!(doc.attr(doc.root_element(), "lang"), Some("ru"));
    assert_eq!(outline(&doc, NodeId::ROOT), r#"#doc(html(body(p("x"))))"#);
}

#[test]
fn block_start_tags_close_paragraphs_and_items() {
    assert_eq!(
        body("<p>a<p>b<div>c</div>"),
        r#"body(p("a") p("b") div("c"))"#
    );
    assert_eq!(
        body("<ul><li>a<li>b<ul><li>c</ul></ul><p>d"),
        r#"body(ul(li("a") li("b" ul(li("c")))) p("d"))"#
    );
    assert_eq!(
        body("<dl><dt>a<dd>b<dt>c</dl>"),
        r#"body(dl(dt("a") dd("b") dt("c")))"#
    );
    assert_eq!(body("<h2>a<h3>b</h3>"), r#"body(h2("a") h3("b"))"#);
}

#[test]
fn tables_close_cells_and_rows() {
    assert_eq!(
        body("<table><tr><td>a<td>b<tr><td>c</table>x"),
        r#"body(table(tr(td("a") td("b")) tr(td("c"))) "x")"#
    );
}

#[test]
fn unmatched_end_tags_do_not_move_text() {
    // `</b>` would cross the open `p`: ignored, the text stays in the paragraph.
    assert_eq!(body("<b><p>x</b>y</p>z"), r#"body(b(p("xy") "z"))"#);
    assert_eq!(body("<div>a</span>b</div>"), r#"body(div("ab"))"#);
    assert_eq!(body("<div><p>a</div>b"), r#"body(div(p("a")) "b")"#);
    assert_eq!(body("<a href=1>a<a href=2>b</a>"), r#"body(a("a") a("b"))"#);
}

#[test]
fn content_after_body_end_stays_in_body() {
    assert_eq!(
        body("<body><p>a</p></body></html><p>b"),
        r#"body(p("a") p("b"))"#
    );
}

#[test]
fn raw_text_elements_are_not_parsed() {
    let doc = Document::parse(concat!(
        "<script>if (a<b) document.write('<p>x</p>')</script><style>p>a{}</style>",
        r#"<script type="application/ld+json">{"a":"<p>"}</script>"#,
        "<textarea><b>&lt;</textarea><noscript><p>n</p></noscript><p>y"
    ));
    let texts: Vec<&str> = doc.texts(NodeId::ROOT).collect();
    // Script and style contents are skipped unread; JSON-LD is kept, as is other raw text.
    assert_eq!(texts, [r#"{"a":"<p>"}"#, "<b><", "<p>n</p>", "y"]);
    let names: Vec<&str> = doc
        .descendants(NodeId::ROOT)
        .filter_map(|n| doc.name(n))
        .collect();
    assert_eq!(
        names,
        [
            "html", "head", "script", "style", "script", "body", "textarea", "noscript", "p"
        ]
    );
}

#[test]
fn comments_doctypes_and_stray_brackets() {
    assert_eq!(
        body("<!DOCTYPE html><!-- <p>no</p> --><p>a < b<!-->c<!--->d<?php x ?>e</>f"),
        r#"body(p("a < bcdef"))"#
    );
    assert_eq!(body("<p>a<!-- never closed <p>b"), r#"body(p("a"))"#);
}

#[test]
fn attributes_quotes_case_duplicates_and_references() {
    let doc = Document::parse(
        r#"<DIV Class="a>b" id='x' data-x=1/2 hidden CLASS=dup title="&laquo;T&raquo;" href="/q?a=1&copy=2">t</DIV>"#,
    );
    let div = doc
        .descendants(NodeId::ROOT)
        .find(|n| doc.name(*n) == Some("div"))
        .expect("div");
    let attrs: Vec<(&str, &str)> = doc.attrs_of(div).collect();
    assert_eq!(
        attrs,
        [
            ("class", "a>b"),
            ("id", "x"),
            ("data-x", "1/2"),
            ("hidden", ""),
            ("title", "«T»"),
            ("href", "/q?a=1&copy=2")
        ]
    );
    assert_eq!(doc.text(div), "t");
}

#[test]
fn void_and_foreign_self_closing() {
    assert_eq!(
        body("<p>a<br>b<img src=x>c<svg><path d=1 /><g/></svg>d<div/>e</div>"),
        r#"body(p("a" br "b" img "c" svg(path g) "d") div("e"))"#
    );
}

#[test]
fn truncated_input_drops_the_partial_tag() {
    assert_eq!(body("<p>a<a href=\"x"), r#"body(p("a"))"#);
    assert_eq!(body("<p>a</di"), r#"body(p("a"))"#);
    assert!(Document::parse("").is_empty());
    assert!(Document::parse("   ").is_empty());
}

#[test]
fn carriage_returns_and_nul_are_normalized() {
    assert_eq!(body("<p>a\r\nb\rc\0d"), "body(p(\"a\\nb\\ncd\"))");
}

#[test]
fn deep_nesting_is_capped_and_linear() {
    let html = "<div>".repeat(100_000) + "x" + &"</div>".repeat(100_000);
    let doc = Document::parse(&html);
    let text = doc
        .descendants(NodeId::ROOT)
        .find(|n| matches!(doc.kind(*n), NodeKind::Text(_)))
        .expect("the text");
    let depth = doc.ancestors(text).count();
    assert!(depth <= super::MAX_OPEN + 2, "depth {depth}");
    assert_eq!(doc.text(NodeId::ROOT), "x");
}

/// Inputs that would make a naive builder quadratic: every one must parse (the test would
/// hang otherwise) and keep its text.
#[test]
fn hostile_shapes_stay_linear() {
    let n = 200_000;
    let cases = [
        // Unmatched end tags under deep inline nesting blocked by a block.
        format!("<b><div>{}{}", "<span>".repeat(1_000), "</b>".repeat(n)),
        // Stray end tags of every kind.
        "</head></h1></li></td></p></x>".repeat(n / 6),
        // One element with a huge number of attributes.
        format!(
            "<p {}>x</p>",
            (0..n).map(|i| format!("a{i} ")).collect::<String>()
        ),
        // Thousands of nested inline elements, then block start tags.
        format!("{}{}", "<i>".repeat(n / 10), "<p>y".repeat(n / 10)),
    ];
    let docs: Vec<Document> = cases.iter().map(|c| Document::parse(c)).collect();
    assert!(docs[1].is_empty(), "stray end tags create nothing");
    assert_eq!(docs[3].text(NodeId::ROOT).len(), n / 10);
    let doc = &docs[2];
    let p = doc
        .descendants(NodeId::ROOT)
        .find(|n| doc.name(*n) == Some("p"))
        .expect("p");
    assert_eq!(doc.attrs_of(p).count(), 64);
}

#[test]
fn detach_removes_a_subtree() {
    let mut doc = Document::parse("<p>a</p><div class=x><p>b</p></div><p>c</p>");
    let div = doc
        .descendants(NodeId::ROOT)
        .find(|n| doc.name(*n) == Some("div"))
        .expect("div");
    doc.detach(div);
    assert_eq!(doc.text(NodeId::ROOT), "ac");
}

#[test]
fn selectors_match_on_the_arena() {
    let doc = Document::parse(
        r#"<div id=main><h1 class="t big">H</h1><p data-k="v1">a</p><p>b</p></div><p>c</p>"#,
    );
    let texts = |css: &str| -> Vec<String> {
        let sel = Selector::parse(css).expect("valid selector");
        doc.select(&sel).map(|n| doc.text(n)).collect()
    };
    assert_eq!(texts("h1.big"), ["H"]);
    assert_eq!(texts("#main > p"), ["a", "b"]);
    assert_eq!(texts("p[data-k^=v]"), ["a"]);
    assert_eq!(texts("div p:first-of-type, body > p"), ["a", "c"]);
    assert_eq!(texts("p:not([data-k])"), ["b", "c"]);
    assert!(Selector::parse("p[").is_err());
}

/// Visible text (texts outside raw-text and hidden-by-design elements, concatenated,
/// whitespace folded) of a page by this parser.
fn visible_text(html: &str) -> String {
    const HIDDEN: &[&str] = &[
        "script", "style", "template", "noscript", "title", "textarea", "iframe",
    ];
    let doc = Document::parse(html);
    let mut out = String::new();
    for n in doc.descendants(NodeId::ROOT) {
        if let NodeKind::Text(t) = doc.kind(n)
            && !doc
                .ancestors(n)
                .any(|a| doc.name(a).is_some_and(|x| HIDDEN.contains(&x)))
        {
            out.push_str(t);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The same by html5ever, the spec-exact parser.
fn visible_text_html5ever(html: &str) -> String {
    const HIDDEN: &[&str] = &[
        "script", "style", "template", "noscript", "title", "textarea", "iframe",
    ];
    let doc = scraper::Html::parse_document(html);
    let mut out = String::new();
    for n in doc.tree.root().descendants() {
        if let scraper::Node::Text(t) = n.value()
            && !n.ancestors().any(|a| {
                a.value()
                    .as_element()
                    .is_some_and(|e| HIDDEN.contains(&e.name()))
            })
        {
            out.push_str(t);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn html_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            html_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "html") {
            out.push(p);
        }
    }
}

/// Differential check against html5ever: every bundled page (or every page under
/// `NEWSMILL_PARSE_DIFF_DIR`, e.g. the extraction benchmark) gives the same visible text.
#[test]
fn same_visible_text_as_html5ever() {
    let dir = std::env::var_os("NEWSMILL_PARSE_DIFF_DIR").map_or_else(
        || std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo")),
        std::path::PathBuf::from,
    );
    let mut files = Vec::new();
    html_files(&dir, &mut files);
    assert!(!files.is_empty(), "no pages under {}", dir.display());
    let mut differ = Vec::new();
    for f in &files {
        let html = String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default()).into_owned();
        if visible_text(&html) != visible_text_html5ever(&html) {
            differ.push(f.display().to_string());
        }
    }
    assert!(
        differ.is_empty(),
        "{} of {} differ: {differ:?}",
        differ.len(),
        files.len()
    );
}

/// The same on hand-written malformed markup, where the simplified tree rules matter.
#[test]
fn same_visible_text_as_html5ever_on_broken_markup() {
    for html in [
        "<p>a<div>b</p>c</div>d",
        "<table><tr><td>a<td>b</tr><tr><td>c</table>e",
        "<ul><li>a<li>b</ul>c<li>d",
        "<b>a<i>b</b>c</i>d",
        "<h1>a<h2>b</h1>c",
        "<p>one &amp; two &copy 3 &#x41;&#66;</p>",
        "<select><option>a<option>b</select>c",
        "x<!-- c -->y<![CDATA[z]]>w",
        "<div><span>a</div>b</span>c",
        "<p>a</p></body>b</html>c",
    ] {
        assert_eq!(visible_text(html), visible_text_html5ever(html), "{html}");
    }
}

/// Issue 9 item 11: a bad selector says what is wrong with it, never scraper's "Unexpected
/// error occurred. Please report this to the developer".
// See: issues show 9
#[test]
fn issue_9_bad_selectors_say_what_is_wrong() {
    for (css, expect) in [
        ("div[[", "attribute"),
        ("p[", "ends too early"),
        ("h1::", "ends too early"),
        ("h1::9", "name is missing after"),
        ("a:", "ends too early"),
        ("a:9", "name is missing after"),
        ("div >", "combinator"),
        (".9", "empty selector"),
        ("p:hover-ish", "unsupported pseudo-class"),
        ("p,,a", "empty selector"),
    ] {
        let err = Selector::parse(css).expect_err(css);
        assert!(err.contains(expect), "{css:?}: {err}");
        assert!(err.contains("column"), "{css:?}: {err}");
        assert!(!err.contains("Unexpected error"), "{css:?}: {err}");
    }
}

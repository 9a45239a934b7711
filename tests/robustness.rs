//! The normalizer never panics and stays bounded on hostile input: random bytes, tag soup,
//! truncated real pages under wrong charsets, pathological nesting, a huge single-line page,
//! empty documents. Inputs come from a fixed-seed generator, so a failure reproduces.

use chrono::Utc;
use newsmill::normalize::{NO_TEXT_WARNING, Normalizer};
use url::Url;

use crate::util::fixture;

/// xorshift64*: deterministic pseudo-random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "<div>",
    "</div>",
    "<p>",
    "</p>",
    "<article>",
    "<script>",
    "</script>",
    "<style>",
    "<h1>",
    "</h1>",
    "<meta charset=\"windows-1251\">",
    "<meta charset=utf-16>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<table><tr><td>",
    "<a href='javascript:x'>",
    "</a>",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "\u{FEFF}",
    "\u{0}",
    "Posted: 31.02.2025 25:61:61",
    "MINSK, 5 May (BelTA) – ",
    "Based on materials of ",
    "BELTA",
    "Фото: БелТА",
    "По материалам",
    "<br>",
    "<time datetime='9999-99-99'>",
    "<script type=\"application/ld+json\">{\"@graph\":[[[[{\"datePublished\":1}]]]]}</script>",
    "<meta property=\"og:title\" content=\"",
    "Читайте также:",
    "<svg><foreignObject><p>",
    "<template>",
    "<noscript>",
    "<ul><li>",
    "<blockquote>",
    "\r\n",
    "\t",
    "<a href=\"x>",
    "<p class='",
    "&notit;",
    "</td></tr></table>",
    "<li>",
    "<dd>",
    "</body>",
    "<html lang=x>",
    "<head>",
    "<title>",
    "<textarea>",
    "</>",
    "<?x?>",
    "<!doctype html>",
    "<select><option>",
    "<b><i>",
    "</b>",
];

/// Random tag soup from [`PIECES`] with text between.
fn soup(rng: &mut Rng) -> String {
    let mut soup = String::new();
    for _ in 0..rng.below(400) {
        soup.push_str(PIECES[rng.below(PIECES.len())]);
        if rng.below(3) == 0 {
            soup.push_str("Some words of text here, and more. ");
        }
    }
    soup
}

fn normalizer() -> Normalizer {
    Normalizer::new(&[])
}

fn run(n: &Normalizer, body: &[u8]) {
    let url = Url::parse("https://example.org/a").unwrap();
    // Either an article or a typed error; never a panic.
    let _ = n.normalize_html(body, &url, None, Utc::now());
}

#[test]
fn random_bytes_and_tag_soup_never_panic() {
    let n = normalizer();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let len = rng.below(4000);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        run(&n, &bytes);
        run(&n, soup(&mut rng).as_bytes());
    }
}

/// The parser's tree is consistent on any soup: every node reached from the root once, child
/// and sibling links agree, and no text is duplicated.
#[test]
fn parser_trees_stay_consistent_on_tag_soup() {
    use newsmill::html::{Document, NodeId};
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..500 {
        let html = soup(&mut rng);
        let doc = Document::parse(&html);
        let mut seen = 0usize;
        for n in doc.descendants(NodeId::ROOT) {
            seen += 1;
            let mut prev = None;
            for c in doc.children(n) {
                assert_eq!(doc.parent(c), Some(n), "{html}");
                assert_eq!(doc.prev_sibling(c), prev, "{html}");
                prev = Some(c);
            }
            assert_eq!(doc.last_child(n), prev, "{html}");
        }
        assert!(seen <= doc.len(), "{html}");
        let words = html.matches("Some words").count();
        let kept = doc.text(NodeId::ROOT).matches("Some words").count();
        assert!(kept <= words, "{html}");
    }
}

#[test]
fn truncated_pages_under_wrong_charsets_never_panic() {
    let n = normalizer();
    let mut rng = Rng(42);
    let seed = std::fs::read(fixture(
        "sb/en/together-we-are-a-formidable-force-and-we-will-never-be-defeated-.html",
    ))
    .unwrap();
    let ru = std::fs::read(fixture("belta/president/view/lukashenko-i-putin-vozlozhili-tsvety-k-memorialu-na-mamaevom-kurgane-711958-2025/index.html")).unwrap();
    for page in [&seed, &ru] {
        for _ in 0..40 {
            let cut = rng.below(page.len());
            run(&n, &page[..cut]);
            let mut swapped = page.clone();
            // Flip random bytes: invalid UTF-8 under a UTF-8 label, broken tags.
            for _ in 0..20 {
                let i = rng.below(swapped.len());
                swapped[i] = rng.next() as u8;
            }
            run(&n, &swapped);
        }
    }
}

#[test]
fn empty_and_whitespace_documents_give_textless_records_not_panics() {
    let n = normalizer();
    let url = Url::parse("https://example.org/a").unwrap();
    for body in [
        &b""[..],
        b"   \n\t",
        b"<html></html>",
        b"<!DOCTYPE html>",
        b"\xEF\xBB\xBF",
    ] {
        let a = n.normalize_html(body, &url, None, Utc::now()).unwrap();
        assert!(a.text.is_empty() && a.blocks.is_empty());
        assert!(a.warnings.iter().any(|w| w == NO_TEXT_WARNING), "{a:?}");
    }
}

// See: issue 10 ("Extraction failure is a warning, not a lost record").
#[test]
fn issue_10_a_page_without_body_keeps_title_date_authors_and_language() {
    let n = normalizer();
    let url = Url::parse("https://example.org/news/2025/05/05/story").unwrap();
    let html = r#"<html lang="de"><head><title>Ein Titel | Beispiel</title>
        <meta property="og:title" content="Ein Titel">
        <meta property="article:published_time" content="2025-05-05T10:31:00+02:00">
        <meta name="author" content="Anna Beispiel"></head>
        <body><nav><a href="/">Home</a></nav><script>render()</script></body></html>"#;
    let a = n
        .normalize_html(html.as_bytes(), &url, None, Utc::now())
        .unwrap();
    assert_eq!(a.text, "");
    assert_eq!(a.title.as_deref(), Some("Ein Titel"));
    assert_eq!(a.authors, ["Anna Beispiel"]);
    assert_eq!(a.language.as_deref(), Some("de"));
    assert!(a.published_at.is_some());
    assert!(a.warnings.iter().any(|w| w == NO_TEXT_WARNING));
}

#[test]
fn pathological_nesting_and_huge_lines_are_bounded() {
    let n = normalizer();
    let url = Url::parse("https://example.org/a").unwrap();
    let deep = "<div>".repeat(100_000)
        + "<p>Deep text that is the only content of this page, long enough to be kept as an article.</p>";
    // The nesting is cut at a fixed depth, so this finishes instead of going quadratic.
    let _ = n.normalize_html(deep.as_bytes(), &url, None, Utc::now());
    // 50 MB on one line: only the first MAX_HTML_BYTES are parsed.
    let mut huge = String::from("<html><body><article><p>");
    while huge.len() < 50 * 1024 * 1024 {
        huge.push_str("word ");
    }
    let a = n
        .normalize_html(huge.as_bytes(), &url, None, Utc::now())
        .unwrap();
    assert!(a.text.len() <= newsmill::normalize::MAX_HTML_BYTES);
}

//! Byte-level preparation of decoded HTML before the one html5ever parse:
//! - the contents of `<script>` and `<style>` elements are dropped (JSON-LD scripts are kept):
//!   they are half the bytes of a typical news page, the tokenizer walks them char by char, and
//!   nothing downstream reads them;
//! - the document is cut where element nesting passes [`MAX_DEPTH`]: html5ever's tree builder
//!   scans its stack of open elements per tag, so pathological nesting (100 000 `<div>`s) is
//!   quadratic; real pages stay far below the limit.
//!
//! Both passes are linear and allocation-light (one output string).

use std::borrow::Cow;

/// Deepest element nesting parsed; the rest of the document is dropped.
pub const MAX_DEPTH: usize = 1_000;

/// Tags that never have content, so an open tag does not deepen the tree.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "command", "basefont", "frame", "image",
];

/// Prepares decoded HTML for parsing (see the module doc).
pub fn prepare(html: &str) -> Cow<'_, str> {
    let stripped = strip_raw_text(html);
    match depth_cut(&stripped) {
        Some(cut) => Cow::Owned(stripped.get(..cut).unwrap_or_default().to_owned()),
        None => stripped,
    }
}

/// ASCII case-insensitive "starts with".
fn starts_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len()
        && hay
            .iter()
            .zip(needle)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// Whether the byte ends a tag name.
fn name_end(b: Option<&u8>) -> bool {
    b.is_none_or(|c| c.is_ascii_whitespace() || *c == b'>' || *c == b'/')
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let mut i = from;
    while let Some(pos) = memchr::memchr(b'<', hay.get(i..)?) {
        let at = i + pos;
        if starts_ci(hay.get(at..)?, needle) {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Drops the contents of script and style elements, keeping the tags themselves and
/// `application/ld+json` scripts whole.
fn strip_raw_text(html: &str) -> Cow<'_, str> {
    let b = html.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0usize, 0usize);
    while let Some(lt) = b.get(i..).and_then(|s| memchr::memchr(b'<', s)) {
        let at = i + lt;
        let rest = b.get(at + 1..).unwrap_or_default();
        let tag: &[u8] = if starts_ci(rest, b"script") && name_end(rest.get(6)) {
            b"</script"
        } else if starts_ci(rest, b"style") && name_end(rest.get(5)) {
            b"</style"
        } else {
            i = at + 1;
            continue;
        };
        let Some(open_end) = b
            .get(at..)
            .and_then(|s| memchr::memchr(b'>', s))
            .map(|p| at + p + 1)
        else {
            break;
        };
        let open_tag = b.get(at..open_end).unwrap_or_default();
        let keep = open_tag
            .windows(7)
            .any(|w| w.eq_ignore_ascii_case(b"ld+json"));
        let Some(close) = find_ci(b, open_end, tag) else {
            break;
        };
        if !keep && close > open_end {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(html.get(copied..open_end).unwrap_or_default());
            copied = close;
        }
        i = close + 1;
    }
    match out {
        Some(mut o) => {
            o.push_str(html.get(copied..).unwrap_or_default());
            Cow::Owned(o)
        }
        None => Cow::Borrowed(html),
    }
}

/// Byte offset of the first tag that would nest deeper than [`MAX_DEPTH`], if any. Counts
/// open tags minus close tags, ignoring void elements, self-closing tags, comments and
/// declarations: an over-estimate for sloppy HTML (unclosed `<p>`), which only makes the cut
/// safer.
fn depth_cut(html: &str) -> Option<usize> {
    let b = html.as_bytes();
    let mut depth = 0usize;
    let mut i = 0usize;
    while let Some(lt) = b.get(i..).and_then(|s| memchr::memchr(b'<', s)) {
        let at = i + lt;
        i = at + 1;
        match b.get(at + 1) {
            Some(b'/') => depth = depth.saturating_sub(1),
            Some(c) if c.is_ascii_alphabetic() => {
                let tail = b.get(at + 1..).unwrap_or_default();
                let name_len = tail
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .count();
                let name = tail.get(..name_len).unwrap_or_default();
                let is_void = VOID.iter().any(|v| v.as_bytes().eq_ignore_ascii_case(name));
                let end = memchr::memchr(b'>', tail).map_or(b.len(), |p| at + 1 + p);
                let self_closing = b.get(end.saturating_sub(1)) == Some(&b'/');
                if !is_void && !self_closing {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(at);
                    }
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_and_styles_lose_their_contents() {
        let html = r#"<html><head><STYLE>p{color:red}</style><script src=x></script><script>var a="<p>x</p>";</SCRIPT><script type="application/ld+json">{"headline":"H"}</script></head><body><p>Text</p><scripts>keep</scripts></body></html>"#;
        let out = prepare(html);
        assert!(
            !out.contains("color:red") && !out.contains("var a"),
            "{out}"
        );
        assert!(out.contains(r#"{"headline":"H"}"#));
        assert!(out.contains("<p>Text</p>") && out.contains("<scripts>keep</scripts>"));
        assert!(out.contains("<STYLE></style>"));
    }

    #[test]
    fn unterminated_script_is_left_alone() {
        let html = "<p>a</p><script>never closed";
        assert_eq!(prepare(html), html);
        assert_eq!(prepare("<p>no scripts</p>"), "<p>no scripts</p>");
        assert!(matches!(prepare("<p>no scripts</p>"), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_cut_linearly() {
        let deep = "<div>".repeat(100_000) + "text" + &"</div>".repeat(100_000);
        let out = prepare(&deep);
        assert_eq!(out.len(), MAX_DEPTH * 5);
        let doc = scraper::Html::parse_document(&out);
        assert!(doc.root_element().descendants().count() > MAX_DEPTH);
    }

    #[test]
    fn void_and_self_closing_tags_do_not_deepen() {
        let html = "<br>".repeat(5_000) + &"<img src=x/>".repeat(5_000) + "<p>end</p>";
        assert_eq!(prepare(&html).len(), html.len());
    }
}

//! The tokenizer: finds tags, comments and text with `memchr`, following the HTML5 tokenizer
//! where it decides what is markup (tag and attribute syntax, quoted values that contain `>`,
//! comments, bogus comments, raw-text and RCDATA elements) and hands slices of the input to a
//! [`Sink`]. A tag cut off by the end of input is dropped, as in HTML5.

/// Receives tokens; the tree builder.
pub(super) trait Sink<'a> {
    /// Character data; `decode` is false inside raw-text elements (`script`, `style`, …).
    fn text(&mut self, raw: &'a str, decode: bool);
    /// A start tag with its raw name and attributes; says how the content of a raw-text
    /// element is handled.
    fn start_tag(&mut self, name: &'a str, attrs: &[(&'a str, &'a str)], closing: bool) -> Raw;
    /// An end tag with its raw name.
    fn end_tag(&mut self, name: &'a str);
}

/// What the sink wants done with the content of a raw-text element (`script`, `style`, …).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Raw {
    /// Tokenize it as markup (raw-text rules do not apply, e.g. inside `svg`).
    Markup,
    /// One text node.
    Keep,
    /// Skipped unread: nothing downstream reads it (scripts and styles are half the bytes of
    /// a typical news page).
    Skip,
    /// One text node when the content is a JSON-LD document (a script without the
    /// `ld+json` type whose text starts with `{` or `[` and names `@context` early), else
    /// skipped.
    KeepIfJsonLd,
}

/// How far into a script the `@context` of an untyped JSON-LD block is looked for.
const JSON_LD_SNIFF_BYTES: usize = 256;

/// Whether raw script text is a JSON-LD document rather than code.
fn looks_like_json_ld(text: &str) -> bool {
    let t = text.trim_start();
    if !t.starts_with(['{', '[']) {
        return false;
    }
    let head = t
        .as_bytes()
        .get(..t.len().min(JSON_LD_SNIFF_BYTES))
        .unwrap_or_default();
    memchr::memmem::find(head, b"\"@context\"").is_some()
}

/// How the content of an element is tokenized.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    Normal,
    /// Text up to the matching end tag, no markup, no references.
    Raw,
    /// Text up to the matching end tag, references decoded.
    Rcdata,
    /// Everything to the end of input is text.
    Plaintext,
}

fn content_of(name: &str) -> Content {
    const RAW: &[&str] = &[
        "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript",
    ];
    if RAW.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        Content::Raw
    } else if name.eq_ignore_ascii_case("title") || name.eq_ignore_ascii_case("textarea") {
        Content::Rcdata
    } else if name.eq_ignore_ascii_case("plaintext") {
        Content::Plaintext
    } else {
        Content::Normal
    }
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

fn sub(s: &str, a: usize, b: usize) -> &str {
    s.get(a..b).unwrap_or_default()
}

/// A parsed tag: where it ends (after `>`), its name, whether it ended in `/>`.
struct Tag<'a> {
    end: usize,
    name: &'a str,
    self_closing: bool,
}

/// Parses the tag whose name starts at `p`; attributes go to `attrs`. `None` when the input
/// ends inside the tag.
fn tag<'a>(s: &'a str, mut p: usize, attrs: &mut Vec<(&'a str, &'a str)>) -> Option<Tag<'a>> {
    let b = s.as_bytes();
    attrs.clear();
    let start = p;
    while b
        .get(p)
        .is_some_and(|&c| !is_space(c) && c != b'/' && c != b'>')
    {
        p += 1;
    }
    let name = sub(s, start, p);
    let mut self_closing = false;
    loop {
        let c = *b.get(p)?;
        if is_space(c) {
            p += 1;
            continue;
        }
        if c == b'/' {
            self_closing = b.get(p + 1) == Some(&b'>');
            p += 1;
            continue;
        }
        if c == b'>' {
            return Some(Tag {
                end: p + 1,
                name,
                self_closing,
            });
        }
        self_closing = false;
        // Attribute name: the first character may be `=`, the rest stops at it.
        let n0 = p;
        p += 1;
        while b
            .get(p)
            .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>' | b'='))
        {
            p += 1;
        }
        let attr_name = sub(s, n0, p);
        while b.get(p).is_some_and(|&c| is_space(c)) {
            p += 1;
        }
        let mut value = "";
        if b.get(p) == Some(&b'=') {
            p += 1;
            while b.get(p).is_some_and(|&c| is_space(c)) {
                p += 1;
            }
            match *b.get(p)? {
                q @ (b'"' | b'\'') => {
                    let close = memchr::memchr(q, b.get(p + 1..)?)? + p + 1;
                    value = sub(s, p + 1, close);
                    p = close + 1;
                }
                b'>' => {}
                _ => {
                    let v0 = p;
                    while b.get(p).is_some_and(|&c| !is_space(c) && c != b'>') {
                        p += 1;
                    }
                    value = sub(s, v0, p);
                }
            }
        }
        attrs.push((attr_name, value));
    }
}

/// Offset of the first `</name` (ASCII case-insensitive, followed by a tag-name end) at or
/// after `from`.
fn find_end_tag(s: &str, from: usize, name: &str) -> Option<usize> {
    let b = s.as_bytes();
    let n = name.as_bytes();
    let mut i = from;
    while let Some(off) = memchr::memchr(b'<', b.get(i..)?) {
        let at = i + off;
        let hit = b.get(at + 1) == Some(&b'/')
            && b.get(at + 2..at + 2 + n.len())
                .is_some_and(|x| x.eq_ignore_ascii_case(n))
            && b.get(at + 2 + n.len())
                .is_none_or(|&c| is_space(c) || c == b'/' || c == b'>');
        if hit {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

/// Position after the next `>` at or after `from` (end of input when there is none).
fn skip_past_gt(s: &str, from: usize) -> usize {
    let b = s.as_bytes();
    b.get(from..)
        .and_then(|t| memchr::memchr(b'>', t))
        .map_or(b.len(), |p| from + p + 1)
}

/// Tokenizes `s` into `sink`.
pub(super) fn run<'a, S: Sink<'a>>(s: &'a str, sink: &mut S) {
    let b = s.as_bytes();
    let mut attrs: Vec<(&'a str, &'a str)> = Vec::new();
    let (mut i, mut text_from) = (0usize, 0usize);
    while let Some(off) = b.get(i..).and_then(|t| memchr::memchr(b'<', t)) {
        let lt = i + off;
        let next = b.get(lt + 1).copied();
        let resume = match next {
            Some(c) if c.is_ascii_alphabetic() => {
                flush(sink, s, text_from, lt);
                match tag(s, lt + 1, &mut attrs) {
                    Some(t) => start(s, sink, &t, &attrs),
                    None => return,
                }
            }
            Some(b'/') => {
                flush(sink, s, text_from, lt);
                match b.get(lt + 2) {
                    Some(c) if c.is_ascii_alphabetic() => match tag(s, lt + 2, &mut attrs) {
                        Some(t) => {
                            sink.end_tag(t.name);
                            t.end
                        }
                        None => return,
                    },
                    Some(b'>') => lt + 3,
                    Some(_) => skip_past_gt(s, lt + 2),
                    None => return,
                }
            }
            Some(b'!') => {
                flush(sink, s, text_from, lt);
                comment_end(s, lt)
            }
            Some(b'?') => {
                flush(sink, s, text_from, lt);
                skip_past_gt(s, lt + 2)
            }
            _ => {
                i = lt + 1;
                continue;
            }
        };
        i = resume;
        text_from = resume;
    }
    flush(sink, s, text_from, b.len());
}

fn flush<'a, S: Sink<'a>>(sink: &mut S, s: &'a str, from: usize, to: usize) {
    if to > from {
        sink.text(sub(s, from, to), true);
    }
}

/// Position after a `<!…>` construct starting at `lt`: a comment (`<!--…-->`, also the
/// abrupt `<!-->` and `<!--->`) or a bogus comment such as a doctype.
fn comment_end(s: &str, lt: usize) -> usize {
    let b = s.as_bytes();
    if b.get(lt + 2..lt + 4) != Some(b"--") {
        return skip_past_gt(s, lt + 2);
    }
    let body = lt + 4;
    if b.get(body) == Some(&b'>') {
        return body + 1;
    }
    if b.get(body..body + 2) == Some(b"->") {
        return body + 2;
    }
    let mut i = body;
    while let Some(off) = b.get(i..).and_then(|t| memchr::memchr(b'>', t)) {
        let gt = i + off;
        if gt >= body + 2 && b.get(gt - 2..gt) == Some(b"--") {
            return gt + 1;
        }
        i = gt + 1;
    }
    b.len()
}

/// Emits a start tag and, for raw-text elements, their content and end tag; returns where
/// tokenizing resumes.
fn start<'a, S: Sink<'a>>(
    s: &'a str,
    sink: &mut S,
    t: &Tag<'a>,
    attrs: &[(&'a str, &'a str)],
) -> usize {
    let raw = sink.start_tag(t.name, attrs, t.self_closing);
    let content = content_of(t.name);
    if raw == Raw::Markup || content == Content::Normal {
        return t.end;
    }
    if content == Content::Plaintext {
        flush(sink, s, t.end, s.len());
        return s.len();
    }
    let close = find_end_tag(s, t.end, t.name);
    let keep = match raw {
        Raw::Keep => true,
        Raw::KeepIfJsonLd => looks_like_json_ld(sub(s, t.end, close.unwrap_or(s.len()))),
        Raw::Skip | Raw::Markup => false,
    };
    let Some(close) = close else {
        if keep && t.end < s.len() {
            sink.text(sub(s, t.end, s.len()), content == Content::Rcdata);
        }
        return s.len();
    };
    if keep && close > t.end {
        sink.text(sub(s, t.end, close), content == Content::Rcdata);
    }
    sink.end_tag(t.name);
    skip_past_gt(s, close + 2)
}

//! Precision pass over emitted blocks: drops what survived container cleaning but is not
//! article text. It works on block text and link statistics only and never reorders blocks:
//! - link-heavy blocks (related-story lists) and the short label just before them
//!   ("Don't miss", "You may also like…");
//! - blocks without any word character (`•`, `|`);
//! - lines that open like boilerplate ("Read more", "Advertisement", "Anzeige", "Image:") or
//!   captions that open with a figure label ("Abbildung 8:", "Figure 2.", "Click to enlarge",
//!   see [`crate::normalize::text::labels`]);
//! - byline, date and reading-time lines before the first real paragraph;
//! - contact, follow, subscribe and licence ("CC-BY") lines after the last real paragraph;
//! - a heading after the last real paragraph that heads only a line or two (a contact or
//!   "further information" box).

use std::sync::LazyLock;

use regex::Regex;

use super::blocks::RawBlock;
use crate::model::{Block, BlockKind};
use crate::normalize::text::labels::opens_with_figure_label;
use crate::normalize::text::patterns::{compile, fold_case};

/// A block whose text is mostly links is navigation, not prose.
const MAX_LINK_DENSITY: f32 = 0.5;
/// Above this link density even a sentence-like paragraph is a link list.
const MAX_SENTENCE_LINK_DENSITY: f32 = 0.8;
/// A linked sentence has at least this many characters outside its links.
const MIN_SENTENCE_OWN_CHARS: u32 = 25;
/// Boilerplate lines are short; longer blocks are kept even when they start like one.
const MAX_BOILERPLATE_CHARS: u32 = 120;
/// A caption that opens with a figure label ("Abbildung 4: …") is at most this long: captions
/// describe what the figure shows in a sentence or two, longer than a boilerplate line.
const MAX_CAPTION_CHARS: u32 = 300;
/// Byline and date lines are at most this long.
const MAX_META_CHARS: u32 = 100;
/// A paragraph at least this long is article text: it bounds the leading and trailing zones.
const SUBSTANTIAL_CHARS: u32 = 120;
/// Sign-off lines (author contact, follow, subscribe) are at most this long.
const MAX_SIGNOFF_CHARS: u32 = 300;
/// A rates or quotes widget is at most this long (characters).
const MAX_TICKER_CHARS: usize = 160;
/// Most lines a box after the article holds under its heading…
const MAX_TRAILING_BOX_BLOCKS: usize = 2;
/// …and most characters in them.
const MAX_TRAILING_BOX_CHARS: u32 = 160;
/// A label announcing a link list ("Don't miss") is at most this many characters.
const MAX_LABEL_CHARS: u32 = 50;

/// Boilerplate-line patterns, each compiled on first use: a page whose blocks never reach a
/// check (no sign-off zone, no short leading lines) does not pay for compiling its pattern.
/// They are written in lower case and match case-folded text ([`fold_case`]) instead of using
/// `(?i)`, which doubled their compile time.
pub(super) struct Filter {
    /// Openings of lines that are never article text.
    boilerplate: LazyLock<Regex>,
    /// Byline lines ("By …", "Updated …").
    byline: LazyLock<Regex>,
    /// Date, time and reading-time fragments.
    dated: LazyLock<Regex>,
    /// Author contact, follow and subscribe prompts.
    signoff: LazyLock<Regex>,
}

const BOILERPLATE: &str = concat!(
    r"^(?:advertisement|sponsored|read (?:more|also|next)|",
    // "Advertisement" in German, Spanish, French and Italian, as a label word of its own.
    r"(?:anzeige|werbung|publicidad|publicité|pubblicità)(?:[\s:,.\-–—]|$)|",
    r"related(?: articles| stories)?:|",
    r"see also|more from|share (?:this|on)|follow us|sign up|subscribe|click here|",
    // Photo-credit lines ("Photo: …", "Фото: …") are left to attribution, which records the
    // outlets they name and takes them out of the text.
    r"image:|credit:|(?:photo|image) credit|image copyright|",
    r"image caption|media caption|getty images|you may also like|don'?t miss|",
    r"sharing is caring|.{0,40}requires javascript|please enable javascript|",
    // Unrendered CMS shortcodes such as `[button link=…]…[/button]`.
    r"\[[a-z_]+[ \]].*\[/[a-z_]+\]|",
    r"all rights reserved|copyright|©|filed under|tagged(?: with)?:|tags:|",
    r"читайте (?:также|еще|ещё)|смотрите также|подписывайтесь|реклама|",
    r"чытайце таксама|падпісвайцеся|",
    r"责任编辑|相关阅读|相关新闻|延伸阅读)"
);
const BYLINE: &str = concat!(
    r"^(?:by|posted|published|updated|last updated|written by|von|автор|",
    r"опубликовано|обновлено|аўтар)(?:[\s:：,.]|$)"
);
// ASCII digits: `\d`'s ~70 Unicode ranges, copied into every repeat, slowed compilation, and
// dates are written with ASCII digits in every language the filter is tuned for. The lazy
// `(?s:.)*?` prefix anchors the pattern without changing what `is_match` says: unanchored, it
// built a literal prefilter that cost more than the rest of the compilation.
const DATED: &str = concat!(
    r"^(?s:.)*?(?:",
    r"(?-u:\b)[0-9]{1,2}:[0-9]{2}(?-u:\b)|",
    r"(?-u:\b)[0-9]{1,2}[./-][0-9]{1,2}[./-][0-9]{2,4}(?-u:\b)|",
    r"(?-u:\b)(?:19|20)[0-9][0-9](?-u:\b)|min(?:ute)?s? read|reading time|tempo de leitura|",
    r"время чтения|[0-9]{4}年[0-9]{1,2}月)"
);
// `\w` is narrowed to the Latin, Greek and Cyrillic blocks (see `patterns::narrow_words`).
const SIGNOFF: &str = concat!(
    r"follow (?:him|her|us|me|them)(?-u:\b)|(?-u:\b)follow @|",
    r"follow .{1,40} on (?:twitter|facebook|instagram|youtube|telegram)|",
    r"subscribe|newsletter|sign up|(?:may|can) be reached|[\w.+-]+@[\w-]+\.[\w.]+|",
    r"all rights reserved|©|copyright|(?-u:\b)cc[ -]by(?-u:\b)|sharing is caring|click here|",
    r"подпис|следите за|падпіс|关注我们"
);

impl Filter {
    /// Prepares the fixed patterns (compiled when first used).
    pub(super) fn new() -> Self {
        Self {
            boilerplate: LazyLock::new(|| compile(BOILERPLATE)),
            byline: LazyLock::new(|| compile(BYLINE)),
            dated: LazyLock::new(|| compile(DATED)),
            signoff: LazyLock::new(|| compile(SIGNOFF)),
        }
    }

    /// Keeps the blocks that read as article text.
    pub(super) fn apply(&self, raw: Vec<RawBlock>) -> Vec<Block> {
        let mut keep: Vec<bool> = raw.iter().map(|b| self.keep(b)).collect();
        self.drop_link_labels(&raw, &mut keep);
        let substantial = |b: &RawBlock| {
            b.kind == BlockKind::Paragraph
                && b.chars >= SUBSTANTIAL_CHARS
                && b.link_density() < MAX_LINK_DENSITY
        };
        let first = raw.iter().position(substantial).unwrap_or(raw.len());
        for (b, k) in raw.iter().zip(keep.iter_mut()).take(first) {
            // Byline and date lines are fragments; a full sentence that mentions a date is text.
            if b.chars > MAX_META_CHARS {
                continue;
            }
            let fragment = !ends_sentence(&b.text) && !b.text.ends_with(':');
            let folded = fold_case(&b.text);
            if self.byline.is_match(&folded) || (fragment && self.dated.is_match(&folded)) {
                *k = false;
            }
        }
        if let Some(last) = raw.iter().rposition(substantial) {
            self.drop_signoff(&raw, &mut keep, last);
            drop_trailing_box(&raw, &mut keep, last);
        }
        raw.into_iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(b, _)| Block {
                kind: b.kind,
                text: b.text,
            })
            .collect()
    }

    fn keep(&self, b: &RawBlock) -> bool {
        // Underscore runs count: separator lines of `___` are part of some wire texts.
        let wordless = !b.text.chars().any(|c| c.is_alphanumeric() || c == '_');
        if wordless || (b.link_density() > MAX_LINK_DENSITY && !linked_sentence(b)) {
            return false;
        }
        if b.chars <= MAX_BOILERPLATE_CHARS && self.boilerplate.is_match(&fold_case(&b.text)) {
            return false;
        }
        if b.chars <= MAX_CAPTION_CHARS && opens_with_figure_label(&b.text) {
            return false;
        }
        if is_ticker(&b.text) {
            return false;
        }
        !(b.kind == BlockKind::Heading && b.link_density() > 0.3)
    }

    /// A short label right before a dropped link list announces that list.
    fn drop_link_labels(&self, raw: &[RawBlock], keep: &mut [bool]) {
        for i in 1..raw.len() {
            if raw[i].link_density() > MAX_LINK_DENSITY
                && keep[i - 1]
                && raw[i - 1].chars <= MAX_LABEL_CHARS
                && !ends_sentence(&raw[i - 1].text)
            {
                keep[i - 1] = false;
            }
        }
    }

    /// Sign-off lines after the last real paragraph, and the last paragraph itself when it is
    /// one ("Follow her on Twitter…" paragraphs are often long).
    fn drop_signoff(&self, raw: &[RawBlock], keep: &mut [bool], last: usize) {
        for (b, k) in raw.iter().zip(keep.iter_mut()).skip(last) {
            if b.chars <= MAX_SIGNOFF_CHARS && self.signoff.is_match(&fold_case(&b.text)) {
                *k = false;
            }
        }
    }
}

/// A heading after the last real paragraph that introduces at most
/// [`MAX_TRAILING_BOX_BLOCKS`] short lines (no list) heads a box after the article ("Further
/// information", "Your press contact", "Comment"): the heading and its lines go. A heading
/// followed by a list or by several lines is a last section of the article (ingredients, results)
/// and stays.
fn drop_trailing_box(raw: &[RawBlock], keep: &mut [bool], last: usize) {
    let Some(head) = (last + 1..raw.len()).find(|&i| keep[i] && raw[i].kind == BlockKind::Heading)
    else {
        return;
    };
    let rest: Vec<usize> = (head + 1..raw.len()).filter(|&i| keep[i]).collect();
    let chars: u32 = rest.iter().map(|&i| raw[i].chars).sum();
    if rest.len() <= MAX_TRAILING_BOX_BLOCKS
        && chars <= MAX_TRAILING_BOX_CHARS
        && rest.iter().all(|&i| raw[i].kind != BlockKind::List)
    {
        for k in &mut keep[head..] {
            *k = false;
        }
    }
}

/// A sentence that happens to link names ("<a>Jane Doe</a> has joined <a>Acme</a>."): the
/// text outside links is a real part of it and it ends like a sentence.
fn linked_sentence(b: &RawBlock) -> bool {
    b.kind == BlockKind::Paragraph
        && b.link_density() <= MAX_SENTENCE_LINK_DENSITY
        && b.chars - b.link_chars >= MIN_SENTENCE_OWN_CHARS
        && ends_sentence(&b.text)
}

/// A rates or quotes widget ("USD 2,9871 EUR 3,3820 RUB 3,6512", "DAX 18.234 +0,4 %"):
/// short, at least half numbers, and every other token a short upper-case code. Text in
/// scripts without case (CJK) never matches, since its words are not upper case.
fn is_ticker(text: &str) -> bool {
    if text.chars().count() > MAX_TICKER_CHARS {
        return false;
    }
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let numeric = |t: &str| {
        t.chars().any(|c| c.is_ascii_digit())
            && t.chars().all(|c| {
                c.is_ascii_digit() || matches!(c, ',' | '.' | '+' | '-' | '−' | '%' | '▲' | '▼')
            })
    };
    let code = |t: &str| {
        let letters = t.chars().filter(|c| c.is_alphabetic()).count();
        (1..=5).contains(&letters) && t.chars().all(|c| !c.is_alphabetic() || c.is_uppercase())
    };
    let numbers = tokens.iter().filter(|t| numeric(t)).count();
    numbers >= 2
        && numbers * 2 >= tokens.len()
        && tokens
            .iter()
            .all(|t| numeric(t) || code(t) || matches!(*t, "%" | "|" | "/" | "€" | "$"))
}

/// Whether the text ends like a sentence (an ellipsis is a teaser, not an ending).
fn ends_sentence(text: &str) -> bool {
    let t = text
        .trim_end()
        .trim_end_matches(['"', '\'', '”', '’', '»', ')']);
    !t.ends_with("...") && !t.ends_with('…') && t.ends_with(['.', '!', '?', '。', '！', '？'])
}

//! Text-level boilerplate: lines that survive DOM cleaning but are not article text, in
//! English, Russian and Belarusian (and a few Polish/German/Chinese forms agencies use).
//!
//! Two kinds of rule:
//! - *cut*: a block that opens a "Read also" / "Читайте также" list ends the body (everything
//!   from it on is related-article links);
//! - *drop*: a block that is entirely a prompt, counter, copyright or legal notice is removed.
//!
//! Rules match whole short blocks only, so a sentence that merely mentions "subscribe" stays.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use super::patterns::{fits, fold_case};
use crate::model::Block;

/// Blocks longer than this are never treated as boilerplate lines.
const MAX_BOILERPLATE_CHARS: usize = 220;

/// Longest text after a "Read also:" marker on the cut line itself.
const MAX_CUT_TAIL_CHARS: usize = 200;

// The patterns below are written in lower case and match case-folded text (`fold_case`)
// instead of using `(?i)`, which doubled their compile time.

/// A "Read also" line: the marker, optionally followed by a separator and the first linked
/// title. The tail is captured and its length checked in code: `.{0,200}` compiled 200 copies
/// of the any-character automaton, most of the pattern's cost. Whitespace around the
/// separator is matched greedily, so the captured tail is the shortest one possible and the
/// check accepts exactly what the bounded repeat did.
static CUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:read also|also read|read more|see also|related(?: news| articles| stories)?|more on (?:this|the) topic|читайте также|читайте еще|читайте ещё|смотрите также|по теме|чытайце таксама|глядзіце таксама|czytaj także|czytaj też|lesen sie auch|相关新闻|延伸阅读)\s*(?:[:：.…—–-]\s*(?P<tail>.*))?$",
    )
    .expect("static regex")
});

/// Whole-line noise, matched against case-folded text.
///
/// Every pattern is anchored at the start; the ones that may match anywhere get a lazy
/// `(?s:.)*?` prefix, which is the same for `is_match`. One unanchored pattern makes the set
/// build an Aho-Corasick prefilter from all the alternatives' literals, and that took more
/// time than compiling the rest; on lines of at most 220 characters it saves nothing.
static DROP: LazyLock<RegexSet> = LazyLock::new(|| {
    // A larger lazy-DFA cache: with many Cyrillic alternatives the default cache thrashes and
    // matching falls back to the slow NFA.
    regex::RegexSetBuilder::new([
        // Subscription and follow prompts.
        r"^(?:subscribe|follow us|join us|подписывайтесь|подпишитесь|подписаться|подписки в|падпісвайцеся|падпішыцеся|订阅我们)",
        r"^(?s:.)*?(?:our|наш|наш[аеу]?)\s+(?:telegram|телеграм|viber|вайбер|youtube|ютуб)[- ]?(?:channel|канал)",
        // Error-report prompts.
        r"^(?s:.)*?ctrl\s*\+\s*enter",
        // Copyright, reprint and legal notices.
        r"^(?:©|\(c\)|copyright(?-u:\b))",
        r"^(?s:.)*?(?:all rights reserved|все права защищены|усе правы абаронены)",
        r"^(?:перепечатка|при использовании материалов|при цитировании|использование материалов)",
        r"^(?s:.)*?свидетельство о регистрации сми",
        // Counters and page furniture.
        r"^(?:views?|просмотр(?:ов|а)?|праглядаў|комментари(?:ев|и)|comments?)\s*[:：]?\s*\d+$",
        r"^•\s*\d+$",
        r"^(?:advertisement|реклама|---advertisement---)$",
        r"^(?:cookies?|we use cookies|this (?:web)?site uses cookies|мы используем (?:файлы )?cookie)",
        r"^(?:tags|теги|тэгі)\s*[:：]",
        r"^(?:if you (?:notice|find|see) an? (?:error|mistake|typo)|если вы заметили ошибку)",
        r"^(?:mobile version|full version|мобильная версия|полная версия|all news|все новости|усе навіны)$",
        r"^(?:\[责任编辑[:：].*\]|【纠错】.*)$",
        r"^read full article at ",
    ])
    .dfa_size_limit(16 << 20)
    .build()
    .expect("static regex set")
});

/// Noise lines that limit how much text follows their keyword, with the text captured as
/// `rest` and its length checked in code ([`is_limited_noise`]): a bounded repeat such as
/// `.{0,80}` compiles that many copies of the any-character automaton, which was half the
/// cost of compiling the whole [`DROP`] set.
static LIMITED: LazyLock<[(Regex, usize); 2]> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("static regex");
    [
        // "Share", "Share this: …" with at most 40 characters after the separator. Longer
        // keywords come first: the first one that fits leaves the shortest `rest`.
        (
            re(r"^(?:share this|share on|share|поделиться|падзяліцца)(?:[\s:：,.!](?P<rest>.*))?$"),
            40,
        ),
        // A reprint notice naming the permission within 80 characters; the lazy `rest` ends at
        // the first such word.
        (
            re(r"^(?:reprint|reproduction)(?-u:\b)(?P<rest>.*?)(?:permission|prohibited|allowed)"),
            80,
        ),
    ]
});

/// Whether case-folded `line` is one of the [`LIMITED`] noise lines.
fn is_limited_noise(line: &str) -> bool {
    LIMITED.iter().any(|(re, max)| {
        re.captures(line)
            .is_some_and(|caps| fits(&caps, "rest", *max))
    })
}

/// The one case-sensitive noise line ("1532 views", not "1532 Views"): matched against the
/// original text.
static VIEW_COUNT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+\s*(?:views?|просмотр(?:ов|а)?)$").expect("static regex"));

/// Removes boilerplate blocks and cuts the body at a "Read also" marker (see the module doc).
/// `extra` are a source's own `drop_lines` patterns, applied to every line.
pub fn strip(blocks: &mut Vec<Block>, extra: &[Regex]) {
    if let Some(cut) = blocks
        .iter()
        .enumerate()
        .skip(1)
        .position(|(_, b)| is_cut(&b.text))
    {
        blocks.truncate(cut + 1);
    }
    blocks.retain(|b| !is_noise(&b.text, extra));
}

fn is_cut(text: &str) -> bool {
    let t = text.trim();
    if t.chars().count() > MAX_BOILERPLATE_CHARS {
        return false;
    }
    CUT.captures(&fold_case(t))
        .is_some_and(|caps| fits(&caps, "tail", MAX_CUT_TAIL_CHARS))
}

fn is_noise(text: &str, extra: &[Regex]) -> bool {
    let t = text.trim();
    if t.is_empty() || extra.iter().any(|r| r.is_match(t)) {
        return true;
    }
    if t.chars().count() > MAX_BOILERPLATE_CHARS {
        return false;
    }
    let folded = fold_case(t);
    DROP.is_match(&folded) || is_limited_noise(&folded) || VIEW_COUNT.is_match(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BlockKind;

    fn blocks(texts: &[&str]) -> Vec<Block> {
        texts
            .iter()
            .map(|t| Block {
                kind: BlockKind::Paragraph,
                text: (*t).to_owned(),
            })
            .collect()
    }

    fn texts(b: &[Block]) -> Vec<&str> {
        b.iter().map(|b| b.text.as_str()).collect()
    }

    #[test]
    fn read_also_cuts_the_rest() {
        let mut b = blocks(&[
            "Body one.",
            "Body two.",
            "Читайте также:",
            "Other story",
            "Another",
        ]);
        strip(&mut b, &[]);
        assert_eq!(texts(&b), ["Body one.", "Body two."]);
        let mut b = blocks(&["Body.", "Read also: Lukashenko visits Volgograd"]);
        strip(&mut b, &[]);
        assert_eq!(texts(&b), ["Body."]);
    }

    #[test]
    fn prompts_counters_and_footers_go() {
        let mut b = blocks(&[
            "Real text stays here.",
            "Subscribe to our Telegram channel!",
            "Подписывайтесь на наш канал в Viber",
            "If you notice an error, select it and press Ctrl+Enter",
            "© Информационное агентство ТАСС",
            "Views: 1532",
            "• 37",
            "Copyright © 2022. All Rights Reserved.",
        ]);
        strip(&mut b, &[]);
        assert_eq!(texts(&b), ["Real text stays here."]);
    }

    #[test]
    fn sentences_mentioning_keywords_stay() {
        let long = "Readers who subscribe to the newspaper will receive a special edition about the forum, the editor said, adding that the Telegram channel of the paper has grown.";
        let mut b = blocks(&[
            long,
            "Related parties signed the agreement on Monday after long talks in Minsk.",
        ]);
        strip(&mut b, &[]);
        assert_eq!(b.len(), 2);
    }

    #[test]
    fn length_limits_after_keywords() {
        let tail = |n: usize| "x".repeat(n);
        let mut b = blocks(&[
            "Body.",
            &format!("Share this: {}", tail(39)),
            &format!("Share: {}", tail(39)),
            &format!("Reprint {} permission", tail(70)),
            &format!("Read also: {}", tail(200)),
        ]);
        strip(&mut b, &[]);
        assert_eq!(texts(&b), ["Body."]);
        let kept = [
            format!("Share: {}", tail(41)),
            format!("Reprint {} permission", tail(90)),
            "Shareholders approved the plan.".to_owned(),
        ];
        let mut b = blocks(&["Body.", &kept[0], &kept[1], &kept[2]]);
        strip(&mut b, &[]);
        assert_eq!(b.len(), 4);
        let mut b = blocks(&["Body.", &format!("Read also: {}", tail(201)), "Other"]);
        strip(&mut b, &[]);
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn source_patterns_apply() {
        let mut b = blocks(&["Text.", "Фото носит иллюстративный характер"]);
        strip(&mut b, &[Regex::new("^Фото носит").unwrap()]);
        assert_eq!(texts(&b), ["Text."]);
    }
}

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

use crate::model::Block;

/// Blocks longer than this are never treated as boilerplate lines.
const MAX_BOILERPLATE_CHARS: usize = 220;

static CUT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:read also|also read|read more|see also|related(?: news| articles| stories)?|more on (?:this|the) topic|читайте также|читайте еще|читайте ещё|смотрите также|по теме|чытайце таксама|глядзіце таксама|czytaj także|czytaj też|lesen sie auch|相关新闻|延伸阅读)\s*(?:[:：.…—–-]\s*.{0,200})?$",
    )
    .expect("static regex")
});

static DROP: LazyLock<RegexSet> = LazyLock::new(|| {
    // A larger lazy-DFA cache: with many case-insensitive Cyrillic alternatives the default
    // cache thrashes and matching falls back to the slow NFA.
    regex::RegexSetBuilder::new([
        // Subscription and follow prompts.
        r"(?i)^(?:subscribe|follow us|join us|подписывайтесь|подпишитесь|подписаться|подписки в|падпісвайцеся|падпішыцеся|订阅我们)",
        r"(?i)(?:our|наш|наш[аеу]?)\s+(?:telegram|телеграм|viber|вайбер|youtube|ютуб)[- ]?(?:channel|канал)",
        r"(?i)^(?:share|поделиться|падзяліцца|share this|share on)(?:[\s:：,.!]|$).{0,40}$",
        // Error-report prompts.
        r"(?i)ctrl\s*\+\s*enter",
        // Copyright, reprint and legal notices.
        r"(?i)^(?:©|\(c\)|copyright(?-u:\b))",
        r"(?i)all rights reserved|все права защищены|усе правы абаронены",
        r"(?i)^(?:перепечатка|при использовании материалов|при цитировании|использование материалов)",
        r"(?i)^(?:reprint|reproduction)(?-u:\b).{0,80}(?:permission|prohibited|allowed)",
        r"(?i)свидетельство о регистрации сми",
        // Counters and page furniture.
        r"(?i)^(?:views?|просмотр(?:ов|а)?|праглядаў|комментари(?:ев|и)|comments?)\s*[:：]?\s*\d+$",
        r"^\d+\s*(?:views?|просмотр(?:ов|а)?)$",
        r"^•\s*\d+$",
        r"(?i)^(?:advertisement|реклама|---advertisement---)$",
        r"(?i)^(?:cookies?|we use cookies|this (?:web)?site uses cookies|мы используем (?:файлы )?cookie)",
        r"(?i)^(?:tags|теги|тэгі)\s*[:：]",
        r"(?i)^(?:if you (?:notice|find|see) an? (?:error|mistake|typo)|если вы заметили ошибку)",
        r"(?i)^(?:mobile version|full version|мобильная версия|полная версия|all news|все новости|усе навіны)$",
        r"^(?:\[责任编辑[:：].*\]|【纠错】.*)$",
        r"(?i)^read full article at ",
    ])
    .dfa_size_limit(16 << 20)
    .build()
    .expect("static regex set")
});

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
    t.chars().count() <= MAX_BOILERPLATE_CHARS && CUT.is_match(t)
}

fn is_noise(text: &str, extra: &[Regex]) -> bool {
    let t = text.trim();
    if t.is_empty() || extra.iter().any(|r| r.is_match(t)) {
        return true;
    }
    t.chars().count() <= MAX_BOILERPLATE_CHARS && DROP.is_match(t)
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
    fn source_patterns_apply() {
        let mut b = blocks(&["Text.", "Фото носит иллюстративный характер"]);
        strip(&mut b, &[Regex::new("^Фото носит").unwrap()]);
        assert_eq!(texts(&b), ["Text."]);
    }
}

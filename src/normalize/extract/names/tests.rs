//! The word lists must judge exactly like the regular expressions they replaced (kept here as
//! the specification), on every class/id of the bundled pages and on generated names.

use regex::RegexSet;

use super::{LEAD, MAYBE, NEGATIVE, Names, POSITIVE, UNLIKELY};

const SPEC: [&str; 4] = [
    concat!(
        r"(?i)article|body|content|entry|hentry|h-entry|main|page|post|text|blog|story|",
        r"(?:^|[^a-z])news(?:$|[^a-z])"
    ),
    concat!(
        r"(?i)(?:^|\s)(?:hid(?:den|e)[a-z-]*|is-hidden|visually-hidden|sr-only|screen-reader-text|",
        r"[^\s]*offscreen)(?:$|\s)|",
        r"banner|combx|comment|contact|footer|gdpr|masthead|media|outbrain|",
        r"taboola|promo|related|scroll|share|shoutbox|sidebar|skyscraper|sponsor|",
        r"shopping|widget|social|newsletter|subscri|cookie|privacy|consent|breadcrumb|popup|",
        r"modal|recommend|advert|caption|credit|byline|author|signup|sign-up|login|",
        r"toolbar|disclaimer|teaser|trending|most-?popular|read-?more|see-?also|timestamp|",
        r"pubdate|more-(?:stories|news|articles)|rating|postmetadata|entry-utility|infobox|factbox|",
        r"disclosure|paywall|expandable|alert|",
        r"(?:^|[^a-z])(?:ad|ads|nav|navbar|menu|meta|tags?|bio|rail|print|date|time|",
        r"extra|follow|dek|standfirst|subhead|subtitle|kicker|cta)(?:$|[^a-z])"
    ),
    concat!(
        r"(?i)-ad-|ai2html|banner|breadcrumb|combx|comment|community|cover-wrap|disqus|",
        r"footer|gdpr|legends|menu|related|remark|replies|rss|shoutbox|sidebar|",
        r"skyscraper|social|sponsor|supplemental|ad-break|agegate|pagination|pager|",
        r"popup|cookie|privacy|consent|newsletter|share|outbrain|taboola|recommend|",
        r"(?:^|[^a-z])(?:nav|navbar|ads?|tags)(?:$|[^a-z])"
    ),
    r"(?i)and|article|body|content|main|shadow|story|text|post|embed",
];

fn spec(set: &RegexSet, value: &str) -> u8 {
    let m = set.matches(value);
    [POSITIVE, NEGATIVE, UNLIKELY, MAYBE]
        .iter()
        .enumerate()
        .filter(|(i, _)| m.matched(*i))
        .fold(0, |acc, (_, bit)| acc | bit)
}

/// Class and id values of every bundled page.
fn page_names() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures"
    ))];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html") {
                let html =
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap_or_default()).into_owned();
                let doc = crate::html::Document::parse(&html);
                for n in doc.descendants(crate::html::NodeId::ROOT) {
                    for k in ["class", "id"] {
                        out.extend(doc.attr(n, k).map(str::to_owned));
                    }
                }
            }
        }
    }
    out
}

/// Every word of the lists in upper, lower and mixed case, alone, glued to letters, and
/// between separators.
fn generated_names() -> Vec<String> {
    let words = super::ANYWHERE.iter().chain(super::WHOLE).map(|(w, _)| *w);
    let mut out = vec![
        String::new(),
        "hidden".into(),
        "hidden-xs col".into(),
        "overflow-hidden".into(),
        "a visually-hidden".into(),
        "sr-only".into(),
        "is-hidden\tx".into(),
        "hiddenX".into(),
        "hidden_x".into(),
        "mostpopular most-popular".into(),
        "ad-break".into(),
        "header".into(),
        "Тег news".into(),
    ];
    for w in words {
        let upper = w.to_ascii_uppercase();
        for form in [w.to_owned(), upper] {
            for (pre, post) in [
                ("", ""),
                ("x", ""),
                ("", "x"),
                ("a-", "-b"),
                ("a_", "_b"),
                ("1", "2"),
                ("main ", " side"),
                ("ф", "ж"),
            ] {
                out.push(format!("{pre}{form}{post}"));
            }
        }
    }
    out
}

#[test]
fn word_lists_judge_like_the_regular_expressions() {
    let set = RegexSet::new(SPEC).expect("spec patterns");
    let names = Names::new();
    let mut values = page_names();
    assert!(
        values.len() > 100,
        "too few names from fixtures: {}",
        values.len()
    );
    values.extend(generated_names());
    for v in &values {
        // The spec covers the four boilerplate/content lists; `LEAD` is tested below.
        assert_eq!(names.judge(v) & !LEAD, spec(&set, v), "{v:?}");
    }
}

// See: issue 10 (the standfirst: names of an article's lead).
#[test]
fn issue_10_lead_names() {
    let names = Names::new();
    for v in [
        "article-lead",
        "a-article-header__lead",
        "teaser-text",
        "entry__subtitle",
        "c-article-summary",
        "intro",
        "article__dek",
        "article__desc",
    ] {
        assert_ne!(names.judge(v) & LEAD, 0, "{v:?}");
    }
    for v in ["leaderboard", "mislead", "article-body", "deck"] {
        assert_eq!(names.judge(v) & LEAD, 0, "{v:?}");
    }
}

// See: issue 10 (the comments won over the post: a grid framework's `columns` rescued them).
#[test]
fn issue_10_grid_columns_do_not_rescue_comments() {
    let names = Names::new();
    for v in ["comments-list columns", "column comment", "comment-column"] {
        let m = names.judge(v);
        assert!(m & UNLIKELY != 0 && m & MAYBE == 0, "{v:?}: {m:#b}");
    }
    assert_ne!(names.judge("article-comments") & MAYBE, 0);
}

//! The headline: which of the page's title candidates (`h1`s, JSON-LD `headline`, `og:title`,
//! `twitter:title`, `h2`s, `<title>`) is the article's title, and site names cut from it.
//! It reads the [`PageScan`] and [`JsonLd`] only; it never looks at the body text.

use super::{JsonLd, PageScan, fold_ws, meta_first};

/// Removes a site-name suffix or prefix (" | BelTA", " - TASS", "РИА Новости :: ") from a
/// title. A part is dropped when it matches one of `site_names` or `og:site_name`, or when the
/// title has exactly one separator and the other side is much longer.
pub fn strip_site_name(title: &str, site_names: &[&str]) -> String {
    const SEPS: &[&str] = &[" | ", " — ", " – ", " - ", " :: ", " · ", " / "];
    let t = fold_ws(title);
    for sep in SEPS {
        let parts: Vec<&str> = t.split(sep).collect();
        if parts.len() < 2 {
            continue;
        }
        let is_site = |p: &str| {
            let p = p.trim().to_lowercase();
            site_names.iter().any(|s| {
                let s = s.to_lowercase();
                !s.is_empty() && (p == s || p.contains(&s) && p.len() <= s.len() + 12)
            })
        };
        let (first, last) = (parts[0], parts[parts.len() - 1]);
        if is_site(last) {
            return parts[..parts.len() - 1].join(sep);
        }
        if is_site(first) {
            return parts[1..].join(sep);
        }
        if parts.len() == 2
            && last.chars().count() * 3 < first.chars().count()
            && last.split_whitespace().count() <= 4
        {
            return first.to_owned();
        }
    }
    t
}

/// Chooses the headline among the page's candidates (`h1`s, JSON-LD `headline`, `og:title`,
/// `twitter:title`, `h2`s, `<title>`), soft hyphens removed:
/// 1. an `h1` that a metadata title repeats exactly;
/// 2. else the first candidate that `<title>` repeats as a whole part without being all of it
///    (the title is "headline | site": what it repeats between separators is the headline,
///    not a logo or a section name; "Zoll" is no part of "Zoll online - …");
/// 3. else an `h1` that `<title>`/`og:title`/`headline` confirm by containment;
/// 4. else an `h2` or JSON-LD `headline` that is all of `<title>` (a logo in the `h1`, the
///    post title in an `h2`; two sources agreeing);
/// 5. else `og:title`, `headline`, the first `h1`, `<title>`, site names stripped.
///
/// Last, an `og:title` that is the chosen headline cut short at a word boundary (the
/// headline without its leading label, or without its closing clause) is the editor's own
/// short form of it, and wins (see `social_short_form`).
pub fn choose_title(scan: &PageScan, ld: &JsonLd, site_names: &[&str]) -> Option<String> {
    let chosen = choose_visible_title(scan, ld, site_names)?;
    let og = meta_first(&scan.metas, &["og:title"]).map(clean);
    Some(
        og.filter(|o| social_short_form(o, &chosen))
            .unwrap_or(chosen),
    )
}

/// Fewest words an `og:title` needs to replace the headline it shortens.
const MIN_SHORT_FORM_WORDS: usize = 3;

/// Whether `short` is `headline` with a leading label ("Kicker: ") or a trailing clause cut
/// off: it is all of the headline's beginning or end, it stops at word boundaries on the
/// cut side, and it keeps at least [`MIN_SHORT_FORM_WORDS`] words. A metadata title that
/// adds to the headline (a site name) or rewords it is not a short form.
fn social_short_form(short: &str, headline: &str) -> bool {
    if short.len() >= headline.len() || short.split_whitespace().count() < MIN_SHORT_FORM_WORDS {
        return false;
    }
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    if let Some(rest) = headline.strip_prefix(short) {
        return boundary(rest.chars().next()) || boundary(short.chars().next_back());
    }
    if let Some(rest) = headline.strip_suffix(short) {
        return boundary(rest.chars().next_back()) || boundary(short.chars().next());
    }
    false
}

/// [`choose_title`] before the short-form check.
fn choose_visible_title(scan: &PageScan, ld: &JsonLd, site_names: &[&str]) -> Option<String> {
    let og = meta_first(&scan.metas, &["og:title"]).map(clean);
    let twitter = meta_first(&scan.metas, &["twitter:title"]).map(clean);
    let headline = ld
        .headline
        .as_deref()
        .map(|h| clean(&crate::html::decode_entities(h)));
    let html_title = scan.title.as_deref().map(clean).unwrap_or_default();
    let usable = |t: &String| t.chars().count() >= 3;
    let h1s: Vec<String> = scan.h1s.iter().map(|h| clean(h)).filter(usable).collect();
    let h2s: Vec<String> = scan.h2s.iter().map(|h| clean(h)).filter(usable).collect();
    let metas: Vec<&String> = [&og, &twitter, &headline].into_iter().flatten().collect();
    let end_segments = title_end_segments(&html_title);
    let is_site = |c: &str| {
        site_names.iter().any(|s| s.trim().eq_ignore_ascii_case(c))
            || end_segments.iter().any(|s| s == c)
    };
    let confirm = |h: &str| {
        let h = h.to_lowercase();
        [
            og.as_deref(),
            Some(html_title.as_str()),
            headline.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|t| !t.is_empty())
        .any(|t| t.to_lowercase().contains(&h) || h.contains(&t.to_lowercase()))
    };
    let h1_list: Vec<&String> = h1s.iter().collect();
    let parts: Vec<&String> = h1s
        .iter()
        .chain([&headline, &og, &twitter].into_iter().flatten())
        .chain(&h2s)
        .collect();
    let whole: Vec<&String> = h2s.iter().chain(&headline).collect();
    // The rules 1-4 of the doc above, in order: each is candidates and the test one must pass.
    let rules: [TitleRule<'_>; 4] = [
        (&h1_list, &|h| metas.contains(&h) && !is_site(h)),
        (&parts, &|c| {
            usable(c) && *c != html_title && is_title_part(&html_title, c) && !is_site(c)
        }),
        (&h1_list, &|h| confirm(h)),
        // Two sources that agree beat one: an `h2` or the JSON-LD `headline` that is all of
        // `<title>` wins over an `og:title` neither repeats.
        (&whole, &|h| usable(h) && *h == html_title),
    ];
    if let Some(found) = rules
        .iter()
        .find_map(|(candidates, passes)| candidates.iter().find(|c| passes(c)))
    {
        return Some((*found).clone());
    }
    og.map(|t| strip_site_name(&t, site_names))
        .filter(|t| !t.is_empty())
        .or(headline)
        .or_else(|| h1s.first().cloned())
        .or_else(|| Some(strip_site_name(&html_title, site_names)))
        .filter(|t| !t.is_empty())
}

/// Title candidates and the test one of them must pass to be the headline.
type TitleRule<'a> = (&'a [&'a String], &'a dyn Fn(&String) -> bool);

/// A title candidate as read: whitespace folded, soft hyphens (U+00AD, invisible unless a
/// line breaks there) removed.
fn clean(s: &str) -> String {
    fold_ws(&s.replace('\u{ad}', ""))
}

/// Whether `part` stands in `title` between separators: at some place where it occurs, the
/// nearest non-space character on each side (if any) is not a letter or digit ("Headline | Site",
/// "Site: Headline", but not "Archiv" in "Blog Archiv").
fn is_title_part(title: &str, part: &str) -> bool {
    let bounded = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    title.match_indices(part).any(|(at, _)| {
        let before = title
            .get(..at)
            .unwrap_or_default()
            .trim_end()
            .chars()
            .next_back();
        let after = title
            .get(at + part.len()..)
            .unwrap_or_default()
            .trim_start()
            .chars()
            .next();
        bounded(before) && bounded(after)
    })
}

/// The first and last parts of a `<title>` split at a separator ("Post | Blog name",
/// "Blog » Post") when each is the shorter side and short enough to be a name (at most
/// [`MAX_SITE_NAME_WORDS`] words): where the site's name sits, so a candidate equal to one is
/// a logo, not the headline.
fn title_end_segments(title: &str) -> Vec<String> {
    const SEPS: &[&str] = &[
        " | ", " — ", " – ", " - ", " :: ", " · ", " / ", " » ", " « ",
    ];
    let name_like = |s: &str| s.split_whitespace().count() <= MAX_SITE_NAME_WORDS;
    let mut out = Vec::new();
    for sep in SEPS {
        let Some((first, rest)) = title.split_once(sep) else {
            continue;
        };
        if first.chars().count() < rest.chars().count() && name_like(first) {
            out.push(first.trim().to_owned());
        }
        if let Some((head, last)) = title.rsplit_once(sep)
            && last.chars().count() < head.chars().count()
            && name_like(last)
        {
            out.push(last.trim().to_owned());
        }
    }
    out
}

/// Most words in a site name at either end of a `<title>`.
const MAX_SITE_NAME_WORDS: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::Document;

    #[test]
    fn site_suffixes_go() {
        assert_eq!(
            strip_site_name("Lukashenko visits Volgograd | BelTA", &["BelTA"]),
            "Lukashenko visits Volgograd"
        );
        assert_eq!(strip_site_name("Talks end - TASS", &["TASS"]), "Talks end");
        assert_eq!(
            strip_site_name("РИА Новости :: Новость дня", &["РИА Новости"]),
            "Новость дня"
        );
        assert_eq!(
            strip_site_name("A long headline about the economy of Belarus | Site", &[]),
            "A long headline about the economy of Belarus"
        );
        assert_eq!(
            strip_site_name("‘Together we are a formidable force’", &["SB"]),
            "‘Together we are a formidable force’"
        );
        // A dash inside the headline is not a separator to cut when neither side is the site.
        assert_eq!(
            strip_site_name("Great Heritage - Common Future forum opens", &["BelTA"]),
            "Great Heritage - Common Future forum opens"
        );
    }

    #[test]
    fn the_candidate_the_html_title_repeats_wins_over_a_logo_or_kicker() {
        // og:title is the site's name; the blog post title sits in an h2.
        let doc = Document::parse(
            "<title>Yellow Vests and I – Pamela Anderson</title>\
             <meta property=\"og:title\" content=\"Pamela Anderson\">\
             <h1>Pamela Anderson</h1><h2>Yellow Vests and I</h2>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &["Pamela Anderson"]).as_deref(),
            Some("Yellow Vests and I")
        );
        // A blog's name in the h1 and at the end of <title>; the post title in an h2.
        let doc = Document::parse(
            "<title>Interning of small integers | Four Years Remaining</title>\
             <h1>Four Years Remaining</h1><h2>Interning of small integers</h2>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Interning of small integers")
        );
        // An h1 that og:title repeats exactly wins over the longer <title>.
        let doc = Document::parse(
            "<title>Budget passes after long debate | Daily</title>\
             <meta property=\"og:title\" content=\"Budget passes\"><h1>Budget passes</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Budget passes")
        );
    }

    #[test]
    fn h1_confirmed_by_title_wins() {
        let doc = Document::parse(
            "<title>Real headline | Site</title><h1>Site logo</h1><h1>Real headline</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &["Site"]).as_deref(),
            Some("Real headline")
        );
    }

    #[test]
    fn title_parts_stand_between_separators() {
        assert!(is_title_part("Post title | Blog", "Post title"));
        assert!(is_title_part("Blog: Post title", "Post title"));
        assert!(!is_title_part("Blog » Blog Archiv » Post", "Archiv"));
        assert!(!is_title_part("Zoll online - News - Post", "Zoll"));
        // A section h1 that is only a word of the <title> loses to the h1 it repeats whole.
        let doc = Document::parse(
            "<title>Zoll online - Fachmeldungen - Verk\u{fc}ndung des neuen Gesetzes zur Tabaksteuer</title>\
             <h1>Zoll</h1><h1>Verk\u{fc}ndung des neuen Gesetzes zur Tabaksteuer</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Verk\u{fc}ndung des neuen Gesetzes zur Tabaksteuer")
        );
    }

    #[test]
    fn soft_hyphens_go_and_an_h2_equal_to_the_title_beats_a_logo_h1() {
        let doc = Document::parse(
            "<title>Speicher sind kein Raum - Amt</title><meta property=\"og:title\" \
             content=\"Speicher sind kein Raum\"><h1>Amt (A)</h1><h1>Spei\u{ad}cher sind kein Raum</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Speicher sind kein Raum")
        );
        let doc = Document::parse(
            "<title>Remembrance day: a new memorial</title><h1>The Mag</h1>\
             <h2>Remembrance day: a new memorial</h2>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Remembrance day: a new memorial")
        );
    }

    // See: issue 10 (fundus titles: the publisher's short form of the headline).
    #[test]
    fn issue_10_og_title_that_cuts_a_label_or_a_clause_off_the_h1_wins() {
        assert!(social_short_form(
            "Judy Lybke, ganz und gar nicht eigenartig",
            "Neue Leipziger Schule: Judy Lybke, ganz und gar nicht eigenartig"
        ));
        assert!(social_short_form(
            "Interimstrainer Schubert: nichts zu verlieren",
            "MSV-Interimstrainer Schubert: nichts zu verlieren"
        ));
        assert!(social_short_form(
            "Chelsea send clear message of intent",
            "Chelsea send clear message of intent in battling win"
        ));
        // Not at a word boundary, too short, rewording, or longer (a site name added).
        assert!(!social_short_form(
            "Budget pass",
            "Budget passes after debate"
        ));
        assert!(!social_short_form(
            "Budget passes",
            "Budget passes after debate"
        ));
        assert!(!social_short_form(
            "Budget passes after a debate",
            "Budget passes after long debate"
        ));
        assert!(!social_short_form(
            "Budget passes after long debate | Daily",
            "Budget passes after long debate"
        ));
        let doc = Document::parse(
            "<title>Chelsea send clear message of intent in battling win | Standard</title>\
             <meta property=\"og:title\" content=\"Chelsea send clear message of intent\">\
             <h1>Chelsea send clear message of intent in battling win</h1>",
        );
        let scan = PageScan::new(&doc);
        assert_eq!(
            choose_title(&scan, &JsonLd::default(), &[]).as_deref(),
            Some("Chelsea send clear message of intent")
        );
    }
}

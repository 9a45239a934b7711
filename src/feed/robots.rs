//! `Sitemap:` lines of a robots.txt, the standard way a site points to its sitemaps.
//!
//! Only sitemap discovery lives here; allow/disallow rules and crawl delays belong to the
//! fetcher's politeness gate. The key is matched case-insensitively, `#` comments are
//! stripped, and lines may appear anywhere in the file (they do not belong to a user-agent
//! group).

use std::collections::HashSet;

use url::Url;

use super::links::resolve_link;

/// Returns the `http`/`https` URLs of a robots.txt's `Sitemap:` lines, resolved against
/// `base` (the robots.txt URL), without repeats, in file order.
pub fn robots_sitemaps(robots_txt: &str, base: &Url) -> Vec<Url> {
    let mut seen = HashSet::new();
    robots_txt
        .trim_start_matches('\u{feff}')
        .lines()
        .filter_map(|line| {
            let line = line.split_once('#').map_or(line, |(before, _)| before);
            let (key, value) = line.split_once(':')?;
            key.trim().eq_ignore_ascii_case("sitemap").then_some(value)
        })
        .filter_map(|value| resolve_link(value, base).ok())
        .filter(|url| seen.insert(url.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sitemap_lines_any_case() {
        let robots = "\u{feff}User-agent: *\nDisallow: /printv\n\
            Sitemap: https://president.example/sitemap.event.xml\n\
            sitemap:/sitemap-news.xml # news\r\n\
            SITEMAP :  https://president.example/sitemap.event.xml\n\
            # Sitemap: https://commented.example/x.xml\n\
            Sitemap: ftp://president.example/s.xml\n\
            Sitemap:\nSitemaps: https://typo.example/s.xml\n";
        let base = Url::parse("https://president.example/robots.txt").unwrap();
        let found: Vec<String> = robots_sitemaps(robots, &base)
            .iter()
            .map(Url::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "https://president.example/sitemap.event.xml",
                "https://president.example/sitemap-news.xml"
            ]
        );
    }
}

//! URL canonicalization: one spelling per article, so the same page reached through a feed
//! link with tracking parameters and through a sitemap is recognised as one URL.
//!
//! Rules: lower-case scheme and host (the `url` crate does both), default port dropped, fragment
//! dropped, tracking parameters removed (`utm_*`, `fbclid`, `gclid`, `yclid`, `_openstat`, …),
//! remaining query parameters kept in their order, an empty query removed. Path case is never
//! changed. Pure; idempotent.

use url::Url;

/// Query parameters that only track the visitor and never select content.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid",
    "gclid",
    "dclid",
    "gclsrc",
    "yclid",
    "ysclid",
    "_openstat",
    "mc_cid",
    "mc_eid",
    "igshid",
    "msclkid",
    "twclid",
    "ref_src",
    "_ga",
    "spm",
];

fn is_tracking(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_") || TRACKING_PARAMS.contains(&k.as_str())
}

/// The canonical form of `url` (see the module doc).
pub fn canonicalize(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_fragment(None);
    // The `url` crate already drops a port equal to the scheme default when parsing.
    if u.query().is_some() {
        let kept: Vec<(String, String)> = u
            .query_pairs()
            .filter(|(k, _)| !is_tracking(k))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            u.set_query(None);
        } else {
            u.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    u
}

/// Whether two URLs are on the same site: equal hosts after stripping a leading `www.`.
pub fn same_site(a: &Url, b: &Url) -> bool {
    fn bare(u: &Url) -> Option<String> {
        let h = u.host_str()?.to_ascii_lowercase();
        Some(h.strip_prefix("www.").map(str::to_owned).unwrap_or(h))
    }
    matches!((bare(a), bare(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize(&Url::parse(s).unwrap()).to_string()
    }

    #[test]
    fn drops_fragment_tracking_and_default_port() {
        assert_eq!(
            c("HTTPS://Eng.Belta.BY:443/President/View/x-1-2025/?utm_source=rss&id=5&fbclid=z#top"),
            "https://eng.belta.by/President/View/x-1-2025/?id=5"
        );
        assert_eq!(c("http://a.org/x?utm_medium=rss"), "http://a.org/x");
        assert_eq!(c("http://a.org:8080/x"), "http://a.org:8080/x");
    }

    #[test]
    fn idempotent_and_keeps_path_case() {
        for s in [
            "https://www.sb.by/en/Together-We-.html?b=2&a=1&utm_x=3#f",
            "http://127.0.0.1:9/p?q=%20x",
            "https://x.org/",
        ] {
            let once = c(s);
            assert_eq!(c(&once), once, "{s}");
        }
        assert!(c("https://x.org/A/b").ends_with("/A/b"));
    }

    /// Property check over generated URLs (fixed seed, no extra crate): canonicalization is
    /// idempotent, keeps the path byte for byte, keeps every non-tracking parameter in order,
    /// and drops every tracking parameter and the fragment.
    #[test]
    fn property_idempotent_path_preserving() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        const SEGS: &[&str] = &[
            "News", "view", "A-b_C", "%D0%BF", "2025", "x.html", "Ünï", "a%20b", "",
        ];
        const KEYS: &[&str] = &[
            "id",
            "page",
            "utm_source",
            "UTM_Campaign",
            "fbclid",
            "q",
            "gclid",
            "lang",
            "_openstat",
        ];
        for _ in 0..2000 {
            let path: Vec<&str> = (0..next(5)).map(|_| SEGS[next(SEGS.len())]).collect();
            let params: Vec<String> = (0..next(4))
                .map(|i| format!("{}={i}", KEYS[next(KEYS.len())]))
                .collect();
            let host = ["Example.ORG", "www.sb.by", "127.0.0.1:8080", "xn--80a.by"][next(4)];
            let mut text = format!("HTTPS://{host}/{}", path.join("/"));
            if !params.is_empty() {
                text.push('?');
                text.push_str(&params.join("&"));
            }
            if next(2) == 0 {
                text.push_str("#frag");
            }
            let Ok(url) = Url::parse(&text) else { continue };
            let once = canonicalize(&url);
            assert_eq!(canonicalize(&once), once, "not idempotent: {text}");
            assert_eq!(once.path(), url.path(), "path changed: {text}");
            assert!(once.fragment().is_none());
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| !is_tracking(k))
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let got: Vec<(String, String)> = once
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            assert_eq!(got, kept, "query mangled: {text}");
        }
    }

    #[test]
    fn same_site_ignores_www() {
        let a = Url::parse("https://www.sb.by/a").unwrap();
        let b = Url::parse("https://sb.by/b").unwrap();
        let d = Url::parse("https://belta.by/").unwrap();
        assert!(same_site(&a, &b));
        assert!(!same_site(&a, &d));
    }
}

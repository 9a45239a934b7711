//! Where a fetch may go: redirect chains and loops, schemes other than http/https, and
//! targets on loopback/private/link-local/unspecified addresses (IP literals and names).

use std::time::Duration;

use newsmill::fetch::{FetchError, Fetcher};
use tokio::time::Instant;

use crate::fetch::{config, error, fetch, page, request};
use crate::hostile::{Hostile, Reply};

/// `/r{i}` redirects to `/r{i+1}` (cycling through 301/302/303/307/308) up to `/r{len}`,
/// which is the page.
async fn chain(len: usize) -> Hostile {
    Hostile::start(move |hit, _| {
        let Some(i) = hit
            .path
            .strip_prefix("/r")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return Reply::status(404);
        };
        if i == len {
            return Reply::ok("text/html", b"<p>the end</p>");
        }
        let status = [301, 302, 303, 307, 308][i % 5];
        // Relative and absolute Locations both occur in the wild.
        if i % 2 == 0 {
            Reply::redirect(status, &format!("/r{}", i + 1))
        } else {
            Reply::redirect(status, &format!("r{}", i + 1))
        }
    })
    .await
}

#[tokio::test]
async fn a_redirect_chain_within_the_limit_reports_the_final_url() {
    let mut cfg = config();
    cfg.max_redirects = 5;
    let server = chain(5).await;
    let p = page(fetch(&cfg, &server.url("/r0")).await);
    assert_eq!(p.requested_url.path(), "/r0");
    assert_eq!(p.final_url.path(), "/r5");
    assert_eq!(p.body, b"<p>the end</p>");
    assert_eq!(
        server.count("/robots.txt"),
        1,
        "robots.txt fetched once per origin"
    );
}

#[tokio::test]
async fn a_chain_longer_than_max_redirects_is_refused() {
    let mut cfg = config();
    cfg.max_redirects = 5;
    let server = chain(6).await;
    let err = error(fetch(&cfg, &server.url("/r0")).await);
    assert!(
        matches!(&err, FetchError::TooManyRedirects { url, hops: 5 } if url.path() == "/r0"),
        "{err:?}"
    );
    assert_eq!(err.kind(), "redirects");
    // Six redirects seen (r0..r5), the sixth not followed.
    for i in 0..6 {
        assert_eq!(server.count(&format!("/r{i}")), 1, "/r{i}");
    }
    assert_eq!(server.count("/r6"), 0);
}

#[tokio::test]
async fn redirect_loops_end_at_once() {
    let server = Hostile::start(|hit, _| match hit.path.as_str() {
        "/self" => Reply::redirect(302, "/self"),
        "/a" => Reply::redirect(301, "/b"),
        "/b" => Reply::redirect(301, "/a"),
        // A fragment is never sent, so /c#frag is /c again.
        "/c" => Reply::redirect(302, "/c#frag"),
        _ => Reply::status(404),
    })
    .await;
    for (start, requests) in [("/self", 1), ("/a", 2)] {
        let err = error(fetch(&config(), &server.url(start)).await);
        assert!(
            matches!(err, FetchError::TooManyRedirects { .. }),
            "{start}: {err:?}"
        );
        let hops: usize = ["/self", "/a", "/b"].iter().map(|p| server.count(p)).sum();
        assert!(hops <= requests + 2, "{start}: loop followed {hops} times");
    }
    let err = error(fetch(&config(), &server.url("/c")).await);
    assert!(
        matches!(err, FetchError::TooManyRedirects { .. }),
        "{err:?}"
    );
    assert!(server.count("/c") <= 2, "{:?}", server.paths());
}

#[tokio::test]
async fn bad_redirect_targets_are_typed_errors() {
    let server = Hostile::start(|hit, _| match hit.path.as_str() {
        "/nowhere" => Reply::status(302),
        "/file" => Reply::redirect(302, "file:///etc/passwd"),
        "/ftp" => Reply::redirect(301, "ftp://127.0.0.1/pub"),
        "/js" => Reply::redirect(302, "javascript:alert(1)"),
        _ => Reply::status(404),
    })
    .await;
    let err = error(fetch(&config(), &server.url("/nowhere")).await);
    assert!(matches!(err, FetchError::BadRedirect { .. }), "{err:?}");
    for path in ["/file", "/ftp", "/js"] {
        let err = error(fetch(&config(), &server.url(path)).await);
        assert!(
            matches!(err, FetchError::BadScheme { .. }),
            "{path}: {err:?}"
        );
    }
}

#[tokio::test]
async fn schemes_other_than_http_and_https_are_refused_before_any_io() {
    let server = Hostile::page(|_| Reply::ok("text/plain", b"should not be asked")).await;
    let port = server.addr.port();
    for url in [
        "file:///etc/passwd".to_owned(),
        format!("ftp://127.0.0.1:{port}/pub/file"),
        "javascript:alert(document.cookie)".to_owned(),
        "data:text/html,<p>hi</p>".to_owned(),
        "mailto:editor@example.org".to_owned(),
        format!("gopher://127.0.0.1:{port}/"),
    ] {
        let err = error(fetch(&config(), &url).await);
        assert!(
            matches!(err, FetchError::BadScheme { .. }),
            "{url}: {err:?}"
        );
        assert_eq!(err.kind(), "bad_scheme");
    }
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn non_public_ip_literals_are_refused_without_connecting() {
    let server = Hostile::page(|_| Reply::ok("text/plain", b"private")).await;
    let port = server.addr.port();
    let mut cfg = config();
    cfg.allow_private_networks = false;
    let fetcher = Fetcher::new(&cfg).unwrap();
    let t0 = Instant::now();
    for host in [
        "127.0.0.1".to_owned(),
        // Other spellings of loopback the URL parser normalises to 127.0.0.1.
        "0x7f000001".to_owned(),
        "2130706433".to_owned(),
        "127.1".to_owned(),
        "[::1]".to_owned(),
        "[::ffff:127.0.0.1]".to_owned(),
        "0.0.0.0".to_owned(),
        "[::]".to_owned(),
        "10.1.2.3".to_owned(),
        "192.168.0.1".to_owned(),
        "172.16.5.4".to_owned(),
        "169.254.169.254".to_owned(),
        "[fe80::1]".to_owned(),
        "[fd12::1]".to_owned(),
        "100.64.0.1".to_owned(),
    ] {
        let url = format!("http://{host}:{port}/page");
        let err = error(fetcher.fetch(&request(&url)).await);
        assert!(
            matches!(err, FetchError::PrivateAddress { .. }),
            "{url}: {err:?}"
        );
        assert_eq!(err.kind(), "private_address");
    }
    // A connect to 10.1.2.3 would hang until connect_timeout (10 s).
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "no connect was tried"
    );
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_by_the_resolver() {
    let server = Hostile::page(|_| Reply::ok("text/plain", b"private")).await;
    let url = format!("http://localhost:{}/page", server.addr.port());
    let mut cfg = config();
    cfg.allow_private_networks = false;
    let err = error(fetch(&cfg, &url).await);
    assert!(
        matches!(err, FetchError::PrivateAddress { .. }),
        "the resolved address decides, not the URL text: {err:?}"
    );
    assert_eq!(server.connections(), 0, "nothing reached the server");

    // Control: the same name is fetched when private networks are allowed.
    cfg.allow_private_networks = true;
    let p = page(fetch(&cfg, &url).await);
    assert_eq!(p.body, b"private");
    assert_eq!(server.paths(), ["/robots.txt", "/page"]);
}

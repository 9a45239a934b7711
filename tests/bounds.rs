//! Issue 9, "bounds everywhere" and "config errors": what `check` refuses, what `run` survives,
//! what `extract` reads, and how discovery caps are reported. Every server is on 127.0.0.1.
// See: issues show 9

use crate::util::{code_err, newsmill};

/// Item 7: `recent_window = "300000y"` fails `check` naming the key (exit 2, no panic).
#[test]
fn issue_9_check_refuses_out_of_range_durations() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[fetch]\nrecent_window = \"300000y\"\nrobots_ttl = \"100000d\"\nconcurrency = 99999\n",
    )
    .unwrap();
    for cmd in ["check", "run"] {
        let out = newsmill(dir.path(), &[cmd, "-c", "c.toml"]);
        let (code, err) = code_err(&out);
        assert_eq!(code, 2, "{cmd}: {err}");
        for key in [
            "fetch.recent_window",
            "fetch.robots_ttl",
            "fetch.concurrency",
        ] {
            assert!(err.contains(key), "{cmd}: missing {key}:\n{err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// Item 7: every bound at its maximum passes `check`, and `run` with it ends normally
/// (no exit 101).
#[test]
fn issue_9_run_survives_every_upper_bound() {
    let dir = tempfile::tempdir().unwrap();
    // A closed port: every fetch fails fast, which is all this test needs.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = format!(
        "[fetch]\nrecent_window = \"10years\"\nrobots_ttl = \"30days\"\nmax_crawl_delay = \"1h\"\n\
         timeout = \"1h\"\nconnect_timeout = \"10m\"\nmax_body_bytes = 1073741824\n\
         concurrency = 1024\nper_host_concurrency = 64\nmax_redirects = 50\nmax_retries = 0\n\
         allow_private_networks = true\n\
         [[sources]]\nid = \"s\"\nname = \"S\"\nsitemaps = [\"http://127.0.0.1:{port}/sitemap.xml\"]\n\
         feeds = [\"http://127.0.0.1:{port}/feed\"]\n"
    );
    std::fs::write(dir.path().join("c.toml"), cfg).unwrap();
    let out = newsmill(dir.path(), &["check", "-c", "c.toml"]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
    let out = newsmill(
        dir.path(),
        &["run", "-c", "c.toml", "--max-duration", "20s"],
    );
    let (code, err) = code_err(&out);
    assert!(code == 0 || code == 1, "exit {code}:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Item 11: schema errors and value errors of one file come out together, each naming its key;
/// a bad selector says what is wrong with it.
#[test]
fn issue_9_check_lists_schema_and_value_problems_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        "[fetch]\ntimeout = \"soon\"\nconcurency = 4\nmax_retries = 99\n\
         [[sources]]\nid = \"a\"\nname = \"A\"\nfeeds = [\"ftp://x/y\"]\n\
         [sources.selectors]\nbody = \"div[[\"\nremove = [\"p:\"]\n",
    )
    .unwrap();
    let out = newsmill(dir.path(), &["check", "-c", "c.toml"]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 2, "{err}");
    for key in [
        "fetch.timeout: invalid value",
        "fetch.concurency: unknown field",
        "fetch.max_retries: 99 is out of range",
        "sources[0].feeds[0]",
        "sources[0].selectors.body: invalid CSS selector \"div[[\": an attribute selector needs",
        "sources[0].selectors.remove[0]: invalid CSS selector \"p:\": the selector ends too early",
    ] {
        assert!(err.contains(key), "missing {key}:\n{err}");
    }
    assert!(!err.contains("report this to the developer"), "{err}");
}

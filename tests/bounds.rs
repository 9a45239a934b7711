//! Issue 9, "bounds everywhere" and "config errors": what `check` refuses, what `run` survives,
//! what `extract` reads, and how discovery caps are reported. Every server is on 127.0.0.1.
// See: issues show 9

use crate::hostile::{Hostile, Reply};
use crate::util::{code_err, newsmill, newsmill_async};

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

/// Item 10: a 200 000-URL sitemap is cut to 50 000, and the cut shows as `over_cap` in the
/// summary and the run report, logged once with the sitemap's URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue_9_sitemap_over_cap_is_reported() {
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">",
    );
    for i in 0..200_000 {
        // Old entries: outside the recent window, so nothing is fetched after discovery.
        xml.push_str(&format!(
            "<url><loc>/a/{i}</loc><lastmod>2001-01-01</lastmod></url>"
        ));
    }
    xml.push_str("</urlset>");
    let server = Hostile::start(move |hit, _| match hit.path.as_str() {
        "/robots.txt" => Reply::status(404),
        "/sitemap.xml" => Reply::ok("application/xml", xml.as_bytes()),
        _ => Reply::status(404),
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("c.toml"),
        format!(
            "[fetch]\nallow_private_networks = true\nper_host_interval = \"0s\"\n\
             max_body_bytes = 67108864\n[[sources]]\nid = \"big\"\nname = \"Big\"\n\
             sitemaps = [\"{}\"]\n",
            server.url("/sitemap.xml")
        ),
    )
    .unwrap();
    let out = newsmill_async(dir.path(), &["run", "-c", "c.toml"]).await;
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("over_cap=150000"),
        "summary lacks over_cap:\n{err}"
    );
    let warnings: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("more entries than the cap"))
        .collect();
    assert_eq!(warnings.len(), 1, "{err}");
    assert!(warnings.iter().all(|l| l.contains("/sitemap.xml")), "{err}");
    let runs = dir.path().join("state/runs");
    let report = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "json"))
        .expect("a run report");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
    assert_eq!(report["sources"]["big"]["over_cap"], 150_000, "{report}");
}

/// Item 8: `extract` reads regular files only, at most `max_body_bytes` of each. A symlink to
/// /dev/zero, a FIFO and a directory each get a clear error naming the file; the other inputs
/// are still processed; a long file is cut with a `truncated` warning; exit 1.
#[cfg(unix)]
#[test]
fn issue_9_extract_reads_regular_files_within_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed = std::fs::read(crate::util::fixture(
        "sb/en/together-we-are-a-formidable-force-and-we-will-never-be-defeated-.html",
    ))
    .unwrap();
    let mut big = seed.clone();
    big.extend_from_slice(b"<!--");
    big.extend(std::iter::repeat_n(b'x', 200_000));
    big.extend_from_slice(b"-->");
    std::fs::write(d.join("good.html"), &seed).unwrap();
    std::fs::write(d.join("big.html"), &big).unwrap();
    std::os::unix::fs::symlink("/dev/zero", d.join("zero.html")).unwrap();
    let mkfifo = std::process::Command::new("mkfifo")
        .arg(d.join("pipe.html"))
        .status()
        .unwrap();
    assert!(mkfifo.success());
    std::fs::create_dir(d.join("folder.html")).unwrap();
    std::fs::write(
        d.join("c.toml"),
        format!("[fetch]\nmax_body_bytes = {}\n", seed.len() + 1000),
    )
    .unwrap();
    let files = [
        "good.html",
        "zero.html",
        "pipe.html",
        "folder.html",
        "big.html",
    ];
    let mut args = vec!["extract", "-c", "c.toml"];
    args.extend(files);
    let out = newsmill(d, &args);
    let (code, err) = code_err(&out);
    assert_eq!(code, 1, "{err}");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len(), "{lines:?}");
    for (line, (file, kind)) in lines.iter().skip(1).zip([
        ("zero.html", "a character device"),
        ("pipe.html", "a FIFO"),
        ("folder.html", "a directory"),
    ]) {
        let error = line["error"].as_str().unwrap_or_default();
        assert!(error.contains(file) && error.contains(kind), "{line}");
        assert!(err.contains(file), "stderr does not name {file}:\n{err}");
    }
    let good = lines.first().unwrap();
    assert!(good["error"].is_null(), "{good}");
    assert!(
        good["text"].as_str().is_some_and(|t| t.len() > 500),
        "{good}"
    );
    let cut = lines.last().unwrap();
    assert_eq!(
        cut["text"], good["text"],
        "the cut removed only the padding"
    );
    let warnings = cut["warnings"].to_string();
    assert!(warnings.contains("truncated: file cut at"), "{cut}");
    assert!(
        !good["warnings"].to_string().contains("truncated"),
        "{good}"
    );
}

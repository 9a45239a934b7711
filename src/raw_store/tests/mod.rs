//! Tests of the raw store on temp dirs: round trips, rotation, locations, scan order.
//! Damage (torn tails, garbage, lying records) is in `damage`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use url::Url;

use super::*;
use crate::model::{FeedItem, RawLocation, RawPage, SourceId};

mod damage;

type Item = Result<(RawLocation, RawPage), RawStoreError>;

fn time(nanos: u32) -> DateTime<Utc> {
    Utc.timestamp_opt(1_746_440_000, nanos).single().unwrap()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn page(n: usize, body: Vec<u8>) -> RawPage {
    let url = Url::parse(&format!("https://eng.belta.by/news/{n}?a=1&b=%20x")).unwrap();
    RawPage {
        source: SourceId::new("belta_en").unwrap(),
        requested_url: url.clone(),
        final_url: url,
        status: 200,
        http_version: "HTTP/1.1".to_owned(),
        request_headers: pairs(&[("user-agent", "newsmill/0.1"), ("accept", "*/*")]),
        headers: pairs(&[("content-type", "text/html; charset=utf-8")]),
        body,
        fetched_at: time(123_456_789),
        hint: None,
    }
}

/// Pages that exercise every field: binary and non-UTF-8 bodies, CRLF injection, a hint,
/// a redirect, wire headers, HTTP/2, an empty body.
fn sample_pages() -> Vec<RawPage> {
    let mut pages = vec![page(0, b"<html><p>Hello</p></html>".to_vec())];
    pages.push(page(1, (0..=255u8).cycle().take(5000).collect()));
    let mut p = page(
        2,
        "Привет, мир".as_bytes().iter().map(|b| b ^ 0x80).collect(),
    );
    p.headers = pairs(&[
        ("content-type", "text/html; charset=windows-1251"),
        ("content-encoding", "gzip"),
        ("transfer-encoding", "chunked"),
        ("Content-Length", "77"),
        ("x-evil", "a\r\nWARC-Type: request\r\n\r\nboom"),
        ("x-pad", " two spaces  "),
    ]);
    p.request_headers
        .push(("x-req".into(), "v\nInjected: yes".into()));
    pages.push(p);
    let mut p = page(3, Vec::new());
    p.status = 304;
    p.http_version = "HTTP/2.0".to_owned();
    p.requested_url = Url::parse("http://belta.by/old").unwrap();
    p.fetched_at = time(0);
    p.hint = Some(FeedItem {
        url: p.requested_url.clone(),
        title: Some("Line one\r\nline \"two\" — ü".to_owned()),
        published: DateTime::parse_from_rfc3339("2025-05-05T10:31:24.5+03:00").ok(),
    });
    pages.push(p);
    let mut p = page(4, b"x".to_vec());
    p.status = 599;
    p.hint = Some(FeedItem {
        url: p.final_url.clone(),
        title: None,
        published: None,
    });
    pages.push(p);
    pages
}

/// The page a reader should give back: sanitized headers, microsecond time.
fn expected(page: &RawPage) -> RawPage {
    let clean = |h: &[(String, String)]| -> Vec<(String, String)> {
        h.iter()
            .map(|(k, v)| (k.clone(), v.replace(['\r', '\n'], " ")))
            .collect()
    };
    let mut want = page.clone();
    want.headers = clean(&page.headers);
    want.request_headers = clean(&page.request_headers);
    want.fetched_at = stored_fetched_at(page.fetched_at);
    want
}

fn assert_page_eq(got: &RawPage, want: &RawPage) {
    // RawPage has no PartialEq (model.rs), so every field is compared here.
    assert_eq!(got.source, want.source);
    assert_eq!(got.requested_url, want.requested_url);
    assert_eq!(got.final_url, want.final_url);
    assert_eq!(got.status, want.status);
    assert_eq!(got.http_version, want.http_version);
    assert_eq!(got.request_headers, want.request_headers);
    assert_eq!(got.headers, want.headers);
    assert!(
        got.body == want.body,
        "bodies differ for {}",
        want.final_url
    );
    assert_eq!(got.fetched_at, want.fetched_at);
    assert_eq!(got.hint, want.hint);
}

fn write_all(root: &Path, pages: &[RawPage]) -> Vec<RawLocation> {
    let mut store = RawStore::open(root).unwrap();
    let locs = pages.iter().map(|p| store.write(p).unwrap()).collect();
    store.sync().unwrap();
    locs
}

fn warc_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".warc.gz") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Offsets where gzip members start, plus the file length.
fn member_bounds(bytes: &[u8]) -> Vec<u64> {
    let mut bounds = vec![0];
    let mut input = scan::Counted::new(bytes);
    while (input.consumed as usize) < bytes.len() {
        io::copy(
            &mut flate2::bufread::GzDecoder::new(&mut input),
            &mut io::sink(),
        )
        .unwrap();
        bounds.push(input.consumed);
    }
    bounds
}

#[test]
fn round_trip_read_at_and_scan() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("raw");
    let pages = sample_pages();
    let locs = write_all(&root, &pages);
    for (page, loc) in pages.iter().zip(&locs) {
        assert_page_eq(&read_at(&root, loc).unwrap(), &expected(page));
    }
    let scanned: Vec<_> = scan(&root).map(Result::unwrap).collect();
    assert_eq!(scanned.len(), pages.len());
    for ((loc, got), (want, want_loc)) in scanned.iter().zip(pages.iter().zip(&locs)) {
        assert_eq!(loc, want_loc);
        assert_page_eq(got, &expected(want));
    }
    let file = &locs[0].file;
    let name = file.to_str().unwrap();
    let parts: Vec<&str> = name.split('/').collect();
    assert_eq!(parts.len(), 4, "{name}");
    assert!(parts[3].starts_with("newsmill-") && parts[3].ends_with("-00000.warc.gz"));
    assert!(name.contains(&format!("-{}-", std::process::id())));
}

#[test]
fn stored_response_is_framed_for_other_readers() {
    let dir = tempfile::tempdir().unwrap();
    let pages = sample_pages();
    write_all(dir.path(), &pages[2..3]);
    let bytes = fs::read(&warc_files(dir.path())[0]).unwrap();
    let mut text = Vec::new();
    io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
        &mut text,
    )
    .unwrap();
    let text = String::from_utf8_lossy(&text);
    assert_eq!(text.matches("WARC/1.1\r\n").count(), 3);
    for needle in [
        "WARC-Type: warcinfo\r\n",
        "software: newsmill/",
        "HTTP/1.1 200 OK\r\n",
        "X-Newsmill-Original-content-encoding: gzip\r\n",
        "X-Newsmill-Original-Content-Length: 77\r\n",
        "x-evil: a  WARC-Type: request    boom\r\n",
        "Content-Length: 20\r\n\r\n",
        "WARC-Date: 2025-05-05T10:13:20.123456Z\r\n",
        "GET /news/2?a=1&b=%20x HTTP/1.1\r\nHost: eng.belta.by\r\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    assert!(!text.contains("\ncontent-encoding:"));
}

#[test]
fn rotation_by_size_and_no_append_across_opens() {
    let dir = tempfile::tempdir().unwrap();
    let pages = sample_pages();
    let mut store = RawStore::open(dir.path()).unwrap().with_max_file_bytes(1);
    let locs: Vec<_> = pages.iter().map(|p| store.write(p).unwrap()).collect();
    drop(store);
    let files: Vec<_> = locs.iter().map(|l| l.file.clone()).collect();
    let mut unique = files.clone();
    unique.dedup();
    assert_eq!(unique.len(), pages.len(), "one file per page: {files:?}");
    let again = write_all(dir.path(), &pages[..1]);
    assert!(!files.contains(&again[0].file));
    assert_eq!(warc_files(dir.path()).len(), pages.len() + 1);
    let scanned: Vec<_> = scan(dir.path()).map(Result::unwrap).collect();
    assert_eq!(scanned.len(), pages.len() + 1);
    let mut sorted = scanned
        .iter()
        .map(|(l, _)| l.file.clone())
        .collect::<Vec<_>>();
    sorted.sort();
    assert_eq!(
        scanned
            .iter()
            .map(|(l, _)| l.file.clone())
            .collect::<Vec<_>>(),
        sorted
    );

    // A larger limit keeps several pages per file.
    let dir = tempfile::tempdir().unwrap();
    let mut store = RawStore::open(dir.path())
        .unwrap()
        .with_max_file_bytes(1500);
    let locs: Vec<_> = pages.iter().map(|p| store.write(p).unwrap()).collect();
    let mut files: Vec<_> = locs.iter().map(|l| l.file.clone()).collect();
    files.dedup();
    assert!(files.len() > 1 && files.len() < pages.len(), "{files:?}");
}

#[test]
fn read_at_rejects_wrong_locations() {
    let dir = tempfile::tempdir().unwrap();
    let loc = write_all(dir.path(), &sample_pages()[..1]).remove(0);
    let shorter = RawLocation {
        length: loc.length - 1,
        ..loc.clone()
    };
    assert!(matches!(
        read_at(dir.path(), &shorter),
        Err(RawStoreError::Corrupt { .. })
    ));
    let longer = RawLocation {
        length: loc.length + 1,
        ..loc.clone()
    };
    assert!(matches!(
        read_at(dir.path(), &longer),
        Err(RawStoreError::Corrupt { .. })
    ));
    let bounds = member_bounds(&fs::read(dir.path().join(&loc.file)).unwrap());
    let request = RawLocation {
        offset: bounds[1],
        length: bounds[2] - bounds[1],
        ..loc.clone()
    };
    let err = read_at(dir.path(), &request).unwrap_err();
    assert!(err.to_string().contains("not a response"), "{err}");
    let missing = RawLocation {
        file: PathBuf::from("nope.warc.gz"),
        ..loc
    };
    assert!(matches!(
        read_at(dir.path(), &missing),
        Err(RawStoreError::Read { .. })
    ));
}

#[test]
fn scan_order_is_deterministic_across_stores() {
    let dir = tempfile::tempdir().unwrap();
    let pages = sample_pages();
    let mut a = RawStore::open(dir.path()).unwrap();
    let mut b = RawStore::open(dir.path()).unwrap();
    for (i, p) in pages.iter().enumerate() {
        let store = if i % 2 == 0 { &mut a } else { &mut b };
        store.write(p).unwrap();
    }
    drop((a, b));
    let first: Vec<_> = scan(dir.path()).map(|i| i.unwrap().0).collect();
    let second: Vec<_> = scan(dir.path()).map(|i| i.unwrap().0).collect();
    assert_eq!(first, second);
    assert_eq!(first.len(), pages.len());
    let files: Vec<_> = first.iter().map(|l| l.file.clone()).collect();
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
    assert!(
        first
            .windows(2)
            .all(|w| w[0].file != w[1].file || w[0].offset < w[1].offset)
    );
}

#[test]
fn empty_or_missing_root_scans_to_nothing_or_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = RawStore::open(&dir.path().join("raw")).unwrap();
    drop(store);
    assert_eq!(
        scan(&dir.path().join("raw")).count(),
        0,
        "open writes nothing"
    );
    let items: Vec<Item> = scan(&dir.path().join("missing")).collect();
    assert!(matches!(
        items.as_slice(),
        [Err(RawStoreError::Read { .. })]
    ));
}

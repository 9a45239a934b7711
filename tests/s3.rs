//! raw/ and normalized/ on S3-compatible object storage, against a real moto server the tests
//! start on 127.0.0.1 (`python3 -m moto.server`, a free port): `run` and `worker --once` write
//! both stores to the bucket; `stats`, `verify` and `export` read them back with the local
//! cache deleted; a process killed with SIGKILL leaves no partial object, and what its spool
//! held is uploaded by the next start; an unreachable or missing bucket is a fatal error
//! (exit 2) that names the bucket.
//!
//! Without moto each test prints `SKIPPED S3 test NAME (…)` and passes; under `CI=true` a
//! missing moto is a failure (as for the PostgreSQL tests).
// See: issue 12.

mod workers;

use std::collections::BTreeSet;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use newsmill::config::{S3Config, S3Url};
use newsmill::storage::Remote;

use crate::agency::Agency;
use crate::util::code_err;

/// Credentials moto accepts (it checks none); set for every child process.
const KEY: &str = "newsmill-test";

/// A moto server on 127.0.0.1, killed when dropped.
pub(crate) struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
}

impl Moto {
    /// Starts moto, or says the test is skipped (a failure under `CI=true`) when it cannot.
    pub(crate) fn start(test: &str) -> Option<Self> {
        let probe = Command::new("python3")
            .args(["-c", "import moto.server"])
            .output();
        if !probe.is_ok_and(|o| o.status.success()) {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "S3 test {test} cannot run: python3 cannot import moto.server (CI=true); \
                 pip install 'moto[server]'"
            );
            let line = format!(
                "\nSKIPPED S3 test {test} (moto is not installed: pip install 'moto[server]')\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            return None;
        }
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m moto.server starts");
        let moto = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// Creates `bucket` (moto takes an unsigned `PUT /bucket`).
    pub(crate) fn create_bucket(&self, bucket: &str) {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut s = TcpStream::connect(addr).unwrap();
        write!(
            s,
            "PUT /{bucket} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 200"), "create bucket: {reply}");
    }

    /// A client for `s3://bucket/prefix` on this server.
    pub(crate) fn remote(&self, bucket: &str, prefix: &str) -> Remote {
        let url = S3Url {
            bucket: bucket.into(),
            prefix: prefix.into(),
        };
        let settings = S3Config {
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            allow_http: Some(true),
        };
        // The test's own client gets the key pair directly; the children get it by env.
        Remote::connect_with_key(&url, &settings, KEY, KEY).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs newsmill in `dir` with the test credentials in its environment.
pub(crate) fn newsmill(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Output {
    command(dir, args, extra_env).output().unwrap()
}

/// [`newsmill`] off the async runtime, so the servers the test started keep serving: its
/// exit code and stderr.
async fn run_blocking(dir: &Path, args: &[&str]) -> (i32, String) {
    let dir = dir.to_owned();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        code_err(&newsmill(&dir, &refs, &[]))
    })
    .await
    .unwrap()
}

fn command(dir: &Path, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_newsmill"));
    c.args(args)
        .current_dir(dir)
        .env("RUST_LOG", "newsmill=info")
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", KEY)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE");
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c
}

/// A config whose raw/ and normalized/ are in `bucket` on `endpoint` (given in
/// `[storage.s3]`), state local under `dir/state`, crawling `agency`; `extra` is appended.
pub(crate) fn s3_config(
    dir: &Path,
    endpoint: &str,
    bucket: &str,
    agency: &Agency,
    extra: &str,
) -> PathBuf {
    let d = dir.display();
    let text = format!(
        "[storage]\nraw_dir = \"s3://{bucket}/crawl/raw\"\nnormalized_dir = \"s3://{bucket}/crawl/normalized\"\n\
         state_dir = \"{d}/state\"\n\n[storage.s3]\nendpoint = \"{endpoint}\"\nregion = \"us-east-1\"\nallow_http = true\n\n\
         [fetch]\nallow_private_networks = true\ntimeout = \"5s\"\nretry_backoff = \"0s\"\n\n{extra}\n\n\
         [[sources]]\nid = \"agency\"\nname = \"Agency\"\nfeeds = [\"{}\"]\nlanguage = \"en\"\n",
        agency.feed()
    );
    let path = dir.join("s3.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Every object under `remote`, by relative path.
fn objects(remote: &Remote) -> BTreeSet<String> {
    remote.list().unwrap().into_iter().map(|o| o.rel).collect()
}

/// Checks that every object in the bucket is whole: each WARC file reads to its end without a
/// torn or corrupt member, each segment is complete JSON lines, each manifest parses and names
/// only segments that exist with their size and record count.
fn assert_all_objects_whole(remote: &Remote) {
    let listed = remote.list().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    for o in &listed {
        let bytes = remote.get(&o.rel).unwrap();
        assert_eq!(bytes.len() as u64, o.size, "{}", o.rel);
        if o.rel.ends_with(".warc.gz") {
            let path = scratch.path().join(&o.rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        } else if o.rel.ends_with(".jsonl") {
            assert!(bytes.ends_with(b"\n"), "{} ends inside a line", o.rel);
            for line in bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                serde_json::from_slice::<serde_json::Value>(line)
                    .unwrap_or_else(|e| panic!("{}: bad line: {e}", o.rel));
            }
        } else if o.rel.ends_with("manifest.json") {
            let m: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            let folder = o.rel.trim_end_matches("manifest.json");
            for seg in m["segments"].as_array().unwrap() {
                let name = format!("{folder}{}", seg["file"].as_str().unwrap());
                let obj = listed.iter().find(|x| x.rel == name);
                assert!(obj.is_some(), "{} names {name}, not in the bucket", o.rel);
            }
        }
    }
    for item in newsmill::raw_store::scan(scratch.path()) {
        if let Err(e) = item {
            panic!("a WARC object is not whole: {e}");
        }
    }
}

/// Story numbers in an `export` output, one per record.
fn exported_stories(stdout: &[u8]) -> Vec<usize> {
    let mut out: Vec<usize> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    out.sort_unstable();
    out
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

/// Reads the stores back through `stats`, `verify` and `export` with the local cache deleted
/// first, so everything comes from the bucket; returns the exported story numbers.
fn read_back(dir: &Path, cfg: &Path, env: &[(&str, &str)]) -> Vec<usize> {
    let _ = std::fs::remove_dir_all(dir.join("state/s3/cache"));
    let c = cfg.to_str().unwrap();
    let out = newsmill(dir, &["verify", "-c", c], env);
    let (code, err) = code_err(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(code, 0, "verify:\n{text}\n{err}");
    let out = newsmill(dir, &["stats", "-c", c, "--json"], env);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "stats: {err}");
    assert!(!err.contains("warning"), "stats warned: {err}");
    let _ = std::fs::remove_dir_all(dir.join("state/s3/cache"));
    let out = newsmill(dir, &["export", "-c", c], env);
    let (code, err) = code_err(&out);
    assert_eq!(code, 0, "export: {err}");
    exported_stories(&out.stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_writes_raw_and_corpus_to_s3_and_readers_read_them_back() {
    let Some(moto) = Moto::start("s3::run_writes_raw_and_corpus_to_s3_and_readers_read_them_back")
    else {
        return;
    };
    moto.create_bucket("newsmill-it");
    let agency = Agency::start(12).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let cfg = s3_config(&d, &moto.endpoint, "newsmill-it", &agency, "");
    let c = cfg.to_str().unwrap().to_owned();
    let (code, err) = run_blocking(&d, &["run", "-c", &c]).await;
    assert_eq!(code, 0, "run: {err}");
    assert!(!d.join("raw").exists() && !d.join("normalized").exists());
    let spool = files_under(&d.join("state/s3/spool"));
    assert!(spool.is_empty(), "left in the spool: {spool:?}");
    let remote = moto.remote("newsmill-it", "crawl");
    let names = objects(&remote);
    assert!(names.contains("normalized/manifest.json"), "{names:?}");
    assert!(names.contains("normalized/part-000001.jsonl"), "{names:?}");
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("raw/") && n.ends_with(".warc.gz")),
        "{names:?}"
    );
    assert_all_objects_whole(&remote);
    let stories = tokio::task::spawn_blocking(move || read_back(&d, &cfg, &[]))
        .await
        .unwrap();
    assert_eq!(stories, (0..12).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkilled_run_leaves_no_partial_object_and_its_spool_is_uploaded_later() {
    let test = "s3::sigkilled_run_leaves_no_partial_object_and_its_spool_is_uploaded_later";
    let Some(moto) = Moto::start(test) else {
        return;
    };
    moto.create_bucket("newsmill-kill");
    let agency = Agency::start(30).await;
    // Every article answers late, so the run is still writing when it is killed.
    agency.faults(1, 0.0, 1, Duration::from_millis(150));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let cfg = s3_config(&d, &moto.endpoint, "newsmill-kill", &agency, "");
    let c = cfg.to_str().unwrap().to_owned();
    let spool = d.join("state/s3/spool/run/raw");
    let spooled = tokio::task::spawn_blocking({
        let (d, c, spool) = (d.clone(), c.clone(), spool.clone());
        move || kill_while_spooled(&d, &c, &spool)
    })
    .await
    .unwrap();
    let remote = moto.remote("newsmill-kill", "crawl");
    assert_all_objects_whole(&remote);
    for f in &spooled {
        let rel = f
            .strip_prefix(&spool)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            !objects(&remote).contains(&format!("raw/{rel}")),
            "{rel} uploaded before its close"
        );
    }
    agency.heal();
    agency.faults(1, 0.0, 0, Duration::ZERO);
    let (code, err) = run_blocking(&d, &["run", "-c", &c]).await;
    assert!(code == 0 || code == 1, "second run: {err}");
    assert!(files_under(&spool).is_empty(), "spool not emptied");
    let names = objects(&remote);
    for f in &spooled {
        let rel = f
            .strip_prefix(&spool)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(
            names.contains(&format!("raw/{rel}")),
            "spooled {rel} never uploaded"
        );
    }
    assert_all_objects_whole_but_torn_tails(&remote);
    let stories = tokio::task::spawn_blocking(move || read_back(&d, &cfg, &[]))
        .await
        .unwrap();
    assert_eq!(stories, (0..30).collect::<Vec<_>>());
}

/// Starts `run`, waits until its spool holds a WARC file with at least one page in it, and
/// kills it with SIGKILL; returns the spooled files.
fn kill_while_spooled(dir: &Path, cfg: &str, spool: &Path) -> Vec<PathBuf> {
    let mut child = command(dir, &["run", "-c", cfg], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let spooled = loop {
        let files: Vec<PathBuf> = files_under(spool)
            .into_iter()
            .filter(|f| f.metadata().is_ok_and(|m| m.len() > 2048))
            .collect();
        if !files.is_empty() {
            break files;
        }
        assert!(Instant::now() < deadline, "the run never spooled a page");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    spooled
}

/// As [`assert_all_objects_whole`], except that a WARC file uploaded from a killed writer's
/// spool may end in a torn record (readers skip it, as on a local disk).
fn assert_all_objects_whole_but_torn_tails(remote: &Remote) {
    let scratch = tempfile::tempdir().unwrap();
    for o in remote.list().unwrap() {
        if o.rel.ends_with(".warc.gz") {
            let path = scratch.path().join(&o.rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, remote.get(&o.rel).unwrap()).unwrap();
        }
    }
    for item in newsmill::raw_store::scan(scratch.path()) {
        match item {
            Ok(_) | Err(newsmill::raw_store::RawStoreError::TornTail { .. }) => {}
            Err(e) => panic!("a WARC object is damaged: {e}"),
        }
    }
}

#[test]
fn unreachable_or_missing_bucket_is_fatal_and_named() {
    let Some(moto) = Moto::start("s3::unreachable_or_missing_bucket_is_fatal_and_named") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |endpoint: &str, bucket: &str| {
        let text = format!(
            "[storage]\nraw_dir = \"s3://{bucket}/raw\"\nnormalized_dir = \"s3://{bucket}/normalized\"\n\
             state_dir = \"{}/state\"\n[storage.s3]\nendpoint = \"{endpoint}\"\nallow_http = true\n\n\
             [[sources]]\nid = \"agency\"\nname = \"Agency\"\nfeeds = [\"http://127.0.0.1:9/feed\"]\nlanguage = \"en\"\n",
            d.display()
        );
        let p = d.join(format!("{bucket}.toml"));
        std::fs::write(&p, text).unwrap();
        p
    };
    let missing = write(&moto.endpoint, "no-such-bucket");
    let closed = write(
        &format!("http://127.0.0.1:{}", free_port()),
        "unreachable-bucket",
    );
    for (cfg, bucket) in [
        (&missing, "no-such-bucket"),
        (&closed, "unreachable-bucket"),
    ] {
        for cmd in ["run", "stats", "verify", "export"] {
            let out = newsmill(d, &[cmd, "-c", cfg.to_str().unwrap()], &[]);
            let (code, err) = code_err(&out);
            assert_eq!(code, 2, "{cmd} with {bucket}: {err}");
            assert!(
                err.contains(&format!("s3://{bucket}")),
                "{cmd} does not name {bucket}: {err}"
            );
        }
    }
    // A bad URL is a config problem, named by key.
    let bad = d.join("bad.toml");
    std::fs::write(&bad, "[storage]\nraw_dir = \"s3://Bad_Bucket/raw\"\n").unwrap();
    let out = newsmill(d, &["check", "-c", bad.to_str().unwrap()], &[]);
    let (code, err) = code_err(&out);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("storage.raw_dir"), "{err}");
}

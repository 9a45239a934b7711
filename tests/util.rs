//! Helpers: run the binary, read a corpus, load the demo oracle.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the newsmill binary with `args` in `cwd`.
pub fn newsmill(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsmill"))
        .args(args)
        .current_dir(cwd)
        .env("RUST_LOG", "newsmill=info")
        .output()
        .expect("newsmill binary runs")
}

/// Same, off the async runtime (so servers started by the test keep serving).
pub async fn newsmill_async(cwd: &Path, args: &[&str]) -> Output {
    let cwd = cwd.to_owned();
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        newsmill(&cwd, &refs)
    })
    .await
    .unwrap()
}

/// Exit code, stderr text.
pub fn code_err(out: &Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every record of the corpus in `dir`, in segment order.
pub fn corpus(dir: &Path) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            out.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{}: bad line: {e}", f.display())),
            );
        }
    }
    out
}

/// Every file under `dir` with its bytes, sorted by path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// The demo site's test oracle.
pub fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/demo/expected.json"
    ))
    .unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_object()
        .unwrap()
        .clone()
}

/// Path to a demo fixture file.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/demo")
        .join(rel)
}

/// The bundled demo sites running on 127.0.0.1, a temp folder, and a demo config in it.
pub struct DemoEnv {
    /// Stops the sites when cancelled.
    pub stop: tokio_util::sync::CancellationToken,
    /// Base URLs and request logs.
    pub sites: newsmill::demo::Sites,
    /// Storage folder (deleted on drop).
    pub dir: tempfile::TempDir,
    /// The config file.
    pub cfg: PathBuf,
}

impl DemoEnv {
    /// The config path as text, for command lines.
    pub fn cfg(&self) -> &str {
        self.cfg.to_str().unwrap()
    }
}

/// Starts the demo sites and writes their config into a new temp folder.
pub async fn demo_env() -> DemoEnv {
    let stop = tokio_util::sync::CancellationToken::new();
    let sites = newsmill::demo::start_sites(&stop).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("demo.toml");
    std::fs::write(
        &cfg,
        newsmill::demo::config_toml(dir.path(), &sites.belta, &sites.sb),
    )
    .unwrap();
    DemoEnv {
        stop,
        sites,
        dir,
        cfg,
    }
}

/// The labelled real-world near-duplicate set (`fixtures/dedup/realworld/`), loaded one way
/// for every test that uses it.
pub mod realworld {
    use std::collections::BTreeMap;

    use newsmill::dedup::{NearDoc, Rank};
    use serde_json::Value;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/dedup/realworld");
    const DAY_US: f64 = 86_400e6;

    /// id → (text, publication day).
    pub type Texts = BTreeMap<String, (String, f64)>;

    /// The lines of `name` in the set's folder, parsed.
    pub fn jsonl(name: &str) -> Vec<Value> {
        std::fs::read_to_string(format!("{DIR}/{name}"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Every text of `texts.jsonl`.
    pub fn texts() -> Texts {
        jsonl("texts.jsonl")
            .iter()
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap().to_owned();
                (s("id"), (s("text"), v["day"].as_f64().unwrap()))
            })
            .collect()
    }

    /// The record `id` as the index sees it: published on its day, one source.
    pub fn doc(texts: &Texts, id: &str) -> NearDoc {
        let (text, day) = &texts[id];
        doc_at(id, text, *day)
    }

    /// A record `id` with `text`, published on `day` (days since the epoch), one source.
    pub fn doc_at(id: &str, text: &str, day: f64) -> NearDoc {
        let rank = Rank {
            published_us: Some((day * DAY_US) as i64),
            republished: false,
            source_id: "s".into(),
            url_len: 20,
            id: id.into(),
        };
        NearDoc::new(rank, text)
    }
}

/// Starts `newsmill ARGS` in `dir` with `env` and the test-only failpoint `failpoint` armed
/// (see [`kill_command_at_failpoint`]), waits until it paused there, and SIGKILLs it.
pub fn kill_at_failpoint(dir: &Path, args: &[&str], env: &[(&str, &str)], failpoint: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsmill"));
    cmd.args(args).envs(env.iter().copied()).current_dir(dir);
    kill_command_at_failpoint(cmd, dir, failpoint);
}

/// Runs `cmd` with the test-only failpoint `failpoint` (an environment variable naming a
/// marker file, `src/pipeline/failpoint.rs`) pointing into `dir`; the process writes the
/// marker and waits there, and is SIGKILLed. Panics when it ends before reaching the
/// failpoint, or has not reached it in 60 s.
pub fn kill_command_at_failpoint(cmd: Command, dir: &Path, failpoint: &str) {
    run_at_failpoint(cmd, dir, failpoint, |_| ());
}

/// [`kill_command_at_failpoint`], calling `during` with the process id while the process
/// waits at the failpoint (before the SIGKILL).
pub fn run_at_failpoint<T>(
    mut cmd: Command,
    dir: &Path,
    failpoint: &str,
    during: impl FnOnce(u32) -> T,
) -> T {
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let marker = dir.join(format!("paused-at-{failpoint}"));
    let _ = std::fs::remove_file(&marker);
    let mut child = cmd
        .env(failpoint, &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{cmd:?} ended ({status}) before reaching {failpoint}");
        }
        assert!(
            Instant::now() < deadline,
            "{cmd:?} never reached {failpoint}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = during(child.id());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    out
}

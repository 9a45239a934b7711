//! The PostgreSQL state through the binary: `migrate`, the schema check, the connection string
//! from `NEWSMILL_DATABASE_URL`, and the single-machine commands refusing a shared state.
//! The server comes from `NEWSMILL_TEST_DATABASE_URL`; without it each test says it is skipped
//! (and fails under `CI=true`).
// See: issue 12.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output};

/// A schema of its own in the test server, dropped at the end.
pub(crate) struct Schema {
    base: postgres::Config,
    name: String,
}

impl Schema {
    pub(crate) fn new(test: &str) -> Option<Self> {
        let Ok(url) = std::env::var("NEWSMILL_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL test {test} cannot run: NEWSMILL_TEST_DATABASE_URL is not set (CI=true)"
            );
            let line = format!(
                "\nSKIPPED PostgreSQL test {test} (NEWSMILL_TEST_DATABASE_URL is not set)\n"
            );
            let _ = std::io::stderr().write_all(line.as_bytes());
            return None;
        };
        let base: postgres::Config = url.parse().unwrap();
        let name = format!("it{}_{}", std::process::id(), test.replace("::", "_"));
        let mut c = base.connect(postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .unwrap();
        Some(Self { base, name })
    }

    /// A key=value connection string into this schema.
    pub(crate) fn conninfo(&self) -> String {
        let b = &self.base;
        let host = match b.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            _ => "127.0.0.1".into(),
        };
        let password = b
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        format!(
            "host={host} port={} user={} password={password} dbname={} options='-c search_path={}'",
            b.get_ports().first().copied().unwrap_or(5432),
            b.get_user().unwrap_or_default(),
            b.get_dbname().unwrap_or_default(),
            self.name
        )
    }

    pub(crate) fn client(&self) -> postgres::Client {
        let mut c = self.base.clone();
        c.options(&format!("-c search_path={}", self.name));
        c.connect(postgres::NoTls).unwrap()
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = self.base.connect(postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

fn newsmill(dir: &Path, url: &str, args: &[&str]) -> (i32, String, String) {
    run_with(Path::new(env!("CARGO_BIN_EXE_newsmill")), dir, url, args)
}

/// Runs `binary ARGS` in `dir` with `NEWSMILL_DATABASE_URL=url`: exit code, stdout, stderr.
pub(crate) fn run_with(
    binary: &Path,
    dir: &Path,
    url: &str,
    args: &[&str],
) -> (i32, String, String) {
    let out: Output = Command::new(binary)
        .args(args)
        .current_dir(dir)
        .env("NEWSMILL_DATABASE_URL", url)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `[storage]` table of local folders under `dir`.
pub(crate) fn local_storage(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "[storage]\nraw_dir = \"{d}/raw\"\nnormalized_dir = \"{d}/normalized\"\nstate_dir = \"{d}/state\"\n"
    )
}

/// Writes `dir/<name>.toml`: a shared-state config (PostgreSQL, the `storage` table, 3 s
/// leases) with one source per id in `ids`, whose feed is `<base>/<id>.xml`; `per_source` is
/// appended after each source's table (e.g. its `[sources.selectors]`).
pub(crate) fn shared_config(
    dir: &Path,
    storage: &str,
    base: &str,
    ids: &[&str],
    per_source: &str,
    name: &str,
) -> std::path::PathBuf {
    let mut s = format!(
        "{storage}\n[fetch]\nper_host_interval = \"10ms\"\nallow_private_networks = true\n\
         [state]\nbackend = \"postgres\"\n[worker]\nlease_ttl = \"3s\"\nidle_poll = \"100ms\"\n"
    );
    for id in ids {
        s.push_str(&format!(
            "\n[[sources]]\nid = \"{id}\"\nname = \"{id}\"\nfeeds = [\"{base}/{id}.xml\"]\nlanguage = \"en\"\n{per_source}"
        ));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn issue12_migrate_applies_once_and_a_newer_schema_is_refused() {
    let Some(db) = Schema::new("postgres::issue12_migrate_applies_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pg.toml");
    // The connection string is not in the file: it comes from NEWSMILL_DATABASE_URL.
    std::fs::write(&cfg, "[state]\nbackend = \"postgres\"\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let url = db.conninfo();

    let (code, out, err) = newsmill(dir.path(), &url, &["migrate", "-c", cfg]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("schema migrated from version 0 to "),
        "{out}"
    );
    let (code, out, _) = newsmill(dir.path(), &url, &["migrate", "-c", cfg]);
    assert_eq!(code, 0);
    assert!(out.starts_with("schema already at version "), "{out}");

    // The single-machine commands refuse the shared state rather than use SQLite beside it.
    let (code, _, err) = newsmill(dir.path(), &url, &["run", "-c", cfg]);
    assert_eq!(code, 2);
    assert!(err.contains("backend = \"postgres\""), "{err}");
    assert!(
        !dir.path().join("state").exists(),
        "no SQLite state was created"
    );

    // `status` shows the workers and the frontier's depth per source.
    db.client()
        .batch_execute(
            "INSERT INTO workers (id, hostname, pid, started, heartbeat)
                 VALUES ('w1', 'box-a', 1, now(), now());
             INSERT INTO frontier (url, source_id, host, fetch_url, first_seen, state, updated)
                 VALUES ('http://a.example/1', 's1', 'a.example', 'http://a.example/1', now(),
                     'discovered', now()),
                        ('http://a.example/2', 's1', 'a.example', 'http://a.example/2', now(),
                     'gone', now());
             INSERT INTO hosts (host, worker_id, lease_expires) VALUES ('a.example', 'w1',
                 now() + interval '1 minute');",
        )
        .unwrap();
    let (code, out, err) = newsmill(dir.path(), &url, &["status", "-c", cfg, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["workers"][0]["id"], "w1");
    assert_eq!(v["workers"][0]["host"], "box-a");
    assert_eq!(v["workers"][0]["host_leases"], 1);
    assert_eq!(v["frontier"][0]["source"], "s1");
    assert_eq!(
        (
            v["frontier"][0]["waiting"].as_i64(),
            v["frontier"][0]["closed"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let (code, out, _) = newsmill(dir.path(), &url, &["status", "-c", cfg]);
    assert_eq!(code, 0);
    assert!(
        out.contains("w1  host box-a") && out.contains("s1  1 / 0 / 0 / 1"),
        "{out}"
    );

    // A binary older than the database refuses to run, and so does one newer than it.
    db.client()
        .batch_execute("INSERT INTO newsmill_schema (version, description) VALUES (999, 'x')")
        .unwrap();
    let (code, _, err) = newsmill(dir.path(), &url, &["status", "-c", cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("version 999") && err.contains("upgrade newsmill"),
        "{err}"
    );
    let (code, _, err) = newsmill(dir.path(), &url, &["migrate", "-c", cfg]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("version 999") && err.contains("upgrade newsmill"),
        "{err}"
    );
    assert!(
        !err.contains("password="),
        "the connection string is never printed: {err}"
    );
}

#[test]
fn issue12_a_bad_or_missing_connection_string_is_a_config_problem() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pg.toml");
    std::fs::write(&cfg, "[state]\nbackend = \"postgres\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_newsmill"))
        .args(["check", "-c", cfg.to_str().unwrap()])
        .env_remove("NEWSMILL_DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("state.url") && err.contains("NEWSMILL_DATABASE_URL"),
        "{err}"
    );
    let (code, _, err) = newsmill(
        dir.path(),
        "postgres://u:secret@h:notaport/db",
        &["check", "-c", cfg.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("NEWSMILL_DATABASE_URL: not a PostgreSQL connection string"),
        "{err}"
    );
    assert!(!err.contains("secret"), "{err}");
}

//! The binary's allocator settings (`src/malloc.rs`): `newsmill run` re-executes itself with
//! glibc's malloc tunables (same process id), keeps a user's own `GLIBC_TUNABLES`, and leaves
//! the allocator alone with `NEWSMILL_MALLOC=default`. The environment is read from
//! `/proc/PID/environ` while the run waits at a test-only failpoint, so it is the running
//! image's, after any exec.

use std::process::Command;

use crate::agency::Agency;
use crate::util::{code_err, newsmill_async, run_at_failpoint};

/// The test-only failpoint the run waits at (`src/pipeline/failpoint.rs`).
const PAUSE: &str = "NEWSMILL_TEST_PAUSE_BEFORE_ADMIT";

/// `GLIBC_TUNABLES` of a `newsmill run` started with `env` (and without the variable
/// otherwise), read while it waits at the failpoint (`None` when it has none), and its
/// `NEWSMILL_MALLOC`.
async fn tunables_of_a_run(
    env: &'static [(&'static str, &'static str)],
) -> (Option<String>, Option<String>) {
    let agency = Agency::start(2).await;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let cfg = agency.config(&d, "per_host_interval = \"0s\"");
    let cfg = cfg.to_str().unwrap().to_owned();
    let c = cfg.clone();
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_newsmill"));
        cmd.args(["run", "-c", &c])
            .env_remove(newsmill::malloc::GLIBC_TUNABLES)
            .env_remove(newsmill::malloc::OPT_OUT)
            .envs(env.iter().copied())
            .current_dir(&d);
        run_at_failpoint(cmd, &d, PAUSE, |pid| {
            std::fs::read(format!("/proc/{pid}/environ")).unwrap()
        })
    });
    let environ = entries(&run.await.unwrap());
    let opt_out = value(&environ, newsmill::malloc::OPT_OUT).map(str::to_owned);
    let found = tunables_in(&environ);
    // A whole run under the same settings ends normally.
    let (code, err) = code_err(&newsmill_async(dir.path(), &["run", "-c", &cfg]).await);
    assert_eq!(code, 0, "{err}");
    (found, opt_out)
}

/// The entries of `/proc/PID/environ` (`NAME=value`, NUL-separated).
fn entries(environ: &[u8]) -> Vec<String> {
    (environ.split(|&b| b == 0))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect()
}

/// The value of `entry` when it is named `name`.
fn named<'a>(entry: &'a str, name: &str) -> Option<&'a str> {
    entry.strip_prefix(name)?.strip_prefix('=')
}

/// The value of the first entry named `name`.
fn value<'a>(entries: &'a [String], name: &str) -> Option<&'a str> {
    entries.iter().find_map(|v| named(v, name))
}

/// `GLIBC_TUNABLES` among the entries. glibc (2.36 here) splits the value in place at each `:`
/// while it parses it, so the settings after the first one show as entries of their own,
/// which are joined back.
fn tunables_in(entries: &[String]) -> Option<String> {
    let name = newsmill::malloc::GLIBC_TUNABLES;
    let (at, first) = (entries.iter().enumerate()).find_map(|(i, v)| Some((i, named(v, name)?)))?;
    let rest = entries[at + 1..]
        .iter()
        .take_while(|v| v.starts_with("glibc."));
    Some(
        std::iter::once(first)
            .chain(rest.map(String::as_str))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_sets_the_allocator_tunables_in_its_own_process() {
    let (tunables, marker) = tunables_of_a_run(&[]).await;
    assert_eq!(tunables.as_deref(), Some(newsmill::malloc::TUNABLES));
    // What keeps the re-executed process from executing itself again.
    assert_eq!(marker.as_deref(), Some("tuned"));
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_tunables_and_the_opt_out_are_kept() {
    let own = tunables_of_a_run(&[("GLIBC_TUNABLES", "glibc.malloc.check=0")]).await;
    assert_eq!(own, (Some("glibc.malloc.check=0".to_owned()), None));
    let opted_out = tunables_of_a_run(&[("NEWSMILL_MALLOC", "default")]).await;
    assert_eq!(opted_out, (None, Some("default".to_owned())));
}

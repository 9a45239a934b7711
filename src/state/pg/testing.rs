//! PostgreSQL for unit tests: each test gets its own schema in the server named by
//! `NEWSMILL_TEST_DATABASE_URL`, dropped when the test ends. Without that variable a test is
//! reported as skipped, by name, on stderr (written past the test harness's capture so that a
//! plain `cargo test` shows it); under `CI=true` a skipped test fails instead.

use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::PgState;

/// Environment variable naming the test server.
pub(crate) const TEST_DATABASE_URL_ENV: &str = "NEWSMILL_TEST_DATABASE_URL";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// One test's schema.
pub(crate) struct TestDb {
    base: postgres::Config,
    schema: String,
}

impl TestDb {
    /// A fresh schema for `test`, or `None` (after saying so) without a test server.
    ///
    /// # Panics
    /// Under `CI=true` without a server, or when the server cannot be reached.
    pub(crate) fn new(test: &str) -> Option<Self> {
        let Ok(url) = std::env::var(TEST_DATABASE_URL_ENV) else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "PostgreSQL test {test} cannot run: {TEST_DATABASE_URL_ENV} is not set (CI=true)"
            );
            // One write, on its own line, so that the harness's concurrent lines cannot split it.
            let line =
                format!("\nSKIPPED PostgreSQL test {test} ({TEST_DATABASE_URL_ENV} is not set)\n");
            let _ = std::io::stderr().write_all(line.as_bytes());
            return None;
        };
        let base: postgres::Config = url.parse().expect("NEWSMILL_TEST_DATABASE_URL parses");
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut name: String = test
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        name.truncate(40);
        let schema = format!("t{}_{n}_{name}", std::process::id()).to_ascii_lowercase();
        let mut client = base
            .connect(postgres::NoTls)
            .expect("test server reachable");
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .expect("creating the test schema");
        Some(Self { base, schema })
    }

    /// A client config whose tables live in this test's schema.
    pub(crate) fn config(&self) -> postgres::Config {
        let mut c = self.base.clone();
        c.options(&format!("-c search_path={}", self.schema));
        c
    }

    /// The state, migrated to the latest schema.
    pub(crate) fn open(&self) -> PgState {
        PgState::migrate_with(self.config()).expect("migrating the test schema");
        PgState::open_with(self.config()).expect("opening the test schema")
    }

    /// A plain client in this test's schema, to inspect or damage it.
    pub(crate) fn client(&self) -> postgres::Client {
        self.config()
            .connect(postgres::NoTls)
            .expect("test server reachable")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = self.base.connect(postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

//! `[state]`: which database holds the frontier and the bookkeeping. SQLite under
//! `storage.state_dir` (the default, one machine) or a shared PostgreSQL server (many workers).
//!
//! The PostgreSQL connection string may hold a password, so it can come from the
//! `NEWSMILL_DATABASE_URL` environment variable instead of the file, and it is never printed
//! (its `Debug` is redacted). This module only reads and validates; it connects to nothing.

use serde::Deserialize;

/// Environment variable with the PostgreSQL connection string; when set it wins over
/// `[state] url`, so that secrets stay out of config files.
pub const DATABASE_URL_ENV: &str = "NEWSMILL_DATABASE_URL";

/// `[state] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// `state_dir/newsmill.sqlite`: one machine, `newsmill run`.
    #[default]
    Sqlite,
    /// A shared PostgreSQL server: `newsmill migrate`, `newsmill worker`.
    Postgres,
}

/// `[state]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawStateConfig {
    backend: Backend,
    url: Option<String>,
}

/// A PostgreSQL connection string (`postgres://user:pass@host/db` or `host=… dbname=…`),
/// checked to parse. Its `Debug` hides it: it may hold a password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Checks that `text` is a connection string the PostgreSQL client accepts.
    ///
    /// # Errors
    /// The client's parse error, as text (it names the bad part, never the password).
    pub fn parse(text: &str) -> Result<Self, String> {
        text.parse::<postgres::Config>()
            .map(|_| Self(text.to_owned()))
            .map_err(|e| e.to_string())
    }

    /// The connection string itself, for the client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(<redacted>)")
    }
}

/// `[state]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StateConfig {
    /// SQLite under `storage.state_dir`.
    #[default]
    Sqlite,
    /// PostgreSQL at this connection string.
    Postgres(DatabaseUrl),
}

impl StateConfig {
    /// The PostgreSQL connection string, when that is the backend.
    pub fn database_url(&self) -> Option<&DatabaseUrl> {
        match self {
            Self::Sqlite => None,
            Self::Postgres(url) => Some(url),
        }
    }
}

/// Validates `[state]`; `env_url` is the value of [`DATABASE_URL_ENV`], if set.
pub(super) fn validate(
    raw: RawStateConfig,
    env_url: Option<String>,
    problems: &mut Vec<String>,
) -> StateConfig {
    match raw.backend {
        Backend::Sqlite => {
            if raw.url.is_some() {
                problems.push("state.url: only used with backend = \"postgres\"".into());
            }
            StateConfig::Sqlite
        }
        Backend::Postgres => {
            let (key, text) = match (env_url, raw.url) {
                (Some(env), _) => (DATABASE_URL_ENV, env),
                (None, Some(url)) => ("state.url", url),
                (None, None) => {
                    problems.push(format!(
                        "state.url: backend = \"postgres\" needs a connection string \
                         (state.url or the {DATABASE_URL_ENV} environment variable)"
                    ));
                    return StateConfig::Sqlite;
                }
            };
            match DatabaseUrl::parse(&text) {
                Ok(url) => StateConfig::Postgres(url),
                Err(e) => {
                    problems.push(format!("{key}: not a PostgreSQL connection string ({e})"));
                    StateConfig::Sqlite
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(backend: Backend, url: Option<&str>) -> RawStateConfig {
        RawStateConfig {
            backend,
            url: url.map(str::to_owned),
        }
    }

    #[test]
    fn postgres_takes_the_environment_over_the_file_and_hides_it() {
        let mut problems = Vec::new();
        let cfg = validate(
            raw(Backend::Postgres, Some("postgres://a@h/file")),
            Some("postgres://u:secret@h/env".into()),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        let url = cfg.database_url().unwrap();
        assert_eq!(url.expose(), "postgres://u:secret@h/env");
        assert!(!format!("{cfg:?}").contains("secret"));
    }

    #[test]
    fn postgres_without_url_or_with_a_bad_one_is_a_problem() {
        let mut problems = Vec::new();
        validate(raw(Backend::Postgres, None), None, &mut problems);
        validate(
            raw(Backend::Postgres, Some("postgres://h:notaport/db")),
            None,
            &mut problems,
        );
        validate(
            raw(Backend::Sqlite, Some("postgres://h/db")),
            None,
            &mut problems,
        );
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains(DATABASE_URL_ENV));
        assert!(problems[1].starts_with("state.url: not a PostgreSQL"));
        assert!(problems[2].starts_with("state.url: only used"));
    }
}

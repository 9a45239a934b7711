//! One HTTP attempt: send, classify the status, read the body under the cap, all inside the
//! whole-attempt deadline. Retry and redirect decisions are made by the caller.

use std::time::Duration;

use chrono::Utc;
use reqwest::header;
use url::Url;

use super::{Conditional, FetchError, Fetcher, guard, retry};

/// A complete 2xx response.
#[derive(Debug)]
pub(super) struct Response {
    pub status: u16,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What one attempt ended in, when it did not fail.
#[derive(Debug)]
pub(super) enum Outcome {
    Done(Response),
    NotModified,
    Redirect(Url),
}

/// A failed attempt, and whether another is worth making.
#[derive(Debug)]
pub(super) enum Failure {
    Retryable {
        error: FetchError,
        retry_after: Option<Duration>,
        status: Option<u16>,
    },
    Final(FetchError),
}

impl Failure {
    pub(super) fn into_error(self) -> FetchError {
        match self {
            Self::Retryable { error, .. } | Self::Final(error) => error,
        }
    }
}

fn transport(url: &Url, e: reqwest::Error) -> Failure {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.downcast_ref::<guard::BlockedAddress>().is_some() {
            return Failure::Final(FetchError::PrivateAddress { url: url.clone() });
        }
        source = s.source();
    }
    if e.is_builder() {
        return Failure::Final(FetchError::BadScheme {
            url: url.to_string(),
        });
    }
    Failure::Retryable {
        error: FetchError::Transport {
            url: url.clone(),
            source: e,
        },
        retry_after: None,
        status: None,
    }
}

impl Fetcher {
    /// One attempt bounded by `fetch.timeout` as a whole (connect + headers + body). A timeout
    /// is final: a server that never answers costs one `timeout`, not one per retry.
    pub(super) async fn attempt(
        &self,
        url: &Url,
        conditional: Option<&Conditional>,
        cap: u64,
    ) -> Result<Outcome, Failure> {
        let after = self.config.timeout;
        match tokio::time::timeout(after, self.attempt_inner(url, conditional, cap)).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Final(FetchError::Timeout {
                url: url.clone(),
                after,
            })),
        }
    }

    async fn attempt_inner(
        &self,
        url: &Url,
        conditional: Option<&Conditional>,
        cap: u64,
    ) -> Result<Outcome, Failure> {
        let mut rb = self.client.get(url.clone());
        if let Some(c) = conditional {
            if let Some(etag) = &c.etag {
                rb = rb.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &c.last_modified {
                rb = rb.header(header::IF_MODIFIED_SINCE, lm);
            }
        }
        let mut resp = rb.send().await.map_err(|e| transport(url, e))?;
        let status = resp.status().as_u16();
        if status == 304 {
            return Ok(Outcome::NotModified);
        }
        if (300..400).contains(&status) {
            let next = resp
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|loc| url.join(loc.trim()).ok());
            return next
                .map(Outcome::Redirect)
                .ok_or_else(|| Failure::Final(FetchError::BadRedirect { url: url.clone() }));
        }
        if !(200..300).contains(&status) {
            let error = FetchError::Status {
                url: url.clone(),
                status,
            };
            if retry::retryable_status(status) {
                let ra = resp
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok());
                return Err(Failure::Retryable {
                    error,
                    retry_after: retry::retry_after(ra, Utc::now()),
                    status: Some(status),
                });
            }
            return Err(Failure::Final(error));
        }
        let too_large = || {
            Failure::Final(FetchError::TooLarge {
                url: url.clone(),
                limit: cap,
            })
        };
        if resp.content_length().is_some_and(|n| n > cap) {
            return Err(too_large());
        }
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let version = format!("{:?}", resp.version());
        let mut body = Vec::new();
        // Chunks arrive already decompressed, so the cap applies to decoded bytes: a gzip bomb
        // stops at `cap` however small it was on the wire.
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport(url, e))? {
            if (body.len() + chunk.len()) as u64 > cap {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Outcome::Done(Response {
            status,
            version,
            headers,
            body,
        }))
    }
}

//! One HTTP attempt: send, classify the status, read the body under the cap, all inside the
//! whole-attempt deadline. Retry and redirect decisions are made by the caller.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use reqwest::header;
use url::Url;

use super::{FetchError, Fetcher, guard, retry};
use crate::model::{HostKey, Validators};

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

/// The cap on an attempt's decoded body, and what passing it means.
#[derive(Debug, Clone, Copy)]
pub(super) enum Cap {
    /// Fail with `TooLarge`: a cut page is not the page.
    Fail(u64),
    /// Keep the first bytes: RFC 9309 parses the first 500 KiB of a robots.txt and ignores
    /// the rest, rather than reading a huge file as "no rules".
    Truncate(u64),
}

impl Cap {
    fn limit(self) -> u64 {
        match self {
            Self::Fail(n) | Self::Truncate(n) => n,
        }
    }
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

/// What the error chain of a client error says went wrong first.
enum Cause {
    Private,
    Dns,
    Tls,
    Other,
}

/// Walks the chain. An `io::Error` wrapping another error hides that error from `source()`
/// (it reports the inner error's own source instead), so the walk steps into the wrapped
/// error itself (TLS failures arrive as an `io::Error` inside an `io::Error`).
fn cause(e: &reqwest::Error) -> Cause {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if err.downcast_ref::<guard::BlockedAddress>().is_some() {
            return Cause::Private;
        }
        if err.downcast_ref::<guard::ResolveFailed>().is_some() {
            return Cause::Dns;
        }
        if err.downcast_ref::<rustls::Error>().is_some() {
            return Cause::Tls;
        }
        next = match err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    Cause::Other
}

/// Classifies a client error. `connect_timeout` is the only deadline the client itself
/// enforces (the whole-attempt one is a `tokio` timeout around it), so a client timeout is a
/// connect timeout: final, like every timeout. Name resolution and connection failures are
/// retried (they can be transient); a TLS failure is final.
fn transport(url: &Url, e: reqwest::Error, connect_timeout: Duration) -> Failure {
    let host = || HostKey::try_from(url).map_or_else(|_| url.to_string(), |h| h.to_string());
    let retry = |error| Failure::Retryable {
        error,
        retry_after: None,
        status: None,
    };
    match cause(&e) {
        Cause::Private => return Failure::Final(FetchError::PrivateAddress { url: url.clone() }),
        Cause::Dns => {
            return retry(FetchError::Dns {
                url: url.clone(),
                host: host(),
                source: Arc::new(e),
            });
        }
        Cause::Tls => {
            return Failure::Final(FetchError::Tls {
                url: url.clone(),
                host: host(),
                source: Arc::new(e),
            });
        }
        Cause::Other => {}
    }
    if e.is_timeout() {
        return Failure::Final(FetchError::Timeout {
            url: url.clone(),
            after: connect_timeout,
        });
    }
    if e.is_builder() {
        return Failure::Final(FetchError::BadScheme {
            url: url.to_string(),
        });
    }
    if e.is_connect() {
        return retry(FetchError::Connect {
            url: url.clone(),
            host: host(),
            source: Arc::new(e),
        });
    }
    retry(FetchError::Transport {
        url: url.clone(),
        source: e,
    })
}

impl Fetcher {
    /// One attempt bounded by `fetch.timeout` as a whole (connect + headers + body). A timeout
    /// is final: a server that never answers costs one `timeout`, not one per retry.
    pub(super) async fn attempt(
        &self,
        url: &Url,
        conditional: Option<&Validators>,
        cap: Cap,
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
        conditional: Option<&Validators>,
        cap: Cap,
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
        let connect_timeout = self.config.connect_timeout;
        let resp = rb
            .send()
            .await
            .map_err(|e| transport(url, e, connect_timeout))?;
        if let Some(outcome) = not_a_body(url, &resp) {
            return outcome;
        }
        let status = resp.status().as_u16();
        let version = format!("{:?}", resp.version());
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
        let body = read_body(url, resp, cap, connect_timeout).await?;
        Ok(Outcome::Done(Response {
            status,
            version,
            headers,
            body,
        }))
    }
}

/// The outcome of a response whose body is not wanted (304, redirect, error status), or
/// `None` for a 2xx.
fn not_a_body(url: &Url, resp: &reqwest::Response) -> Option<Result<Outcome, Failure>> {
    let status = resp.status().as_u16();
    if status == 304 {
        return Some(Ok(Outcome::NotModified));
    }
    if (300..400).contains(&status) {
        let next = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|loc| url.join(loc.trim()).ok());
        return Some(
            next.map(Outcome::Redirect)
                .ok_or_else(|| Failure::Final(FetchError::BadRedirect { url: url.clone() })),
        );
    }
    if (200..300).contains(&status) {
        return None;
    }
    let error = FetchError::Status {
        url: url.clone(),
        status,
    };
    if !retry::retryable_status(status) {
        return Some(Err(Failure::Final(error)));
    }
    let ra = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok());
    let retry_after = retry::parse_retry_after(ra, Utc::now());
    // A server asking for a longer pause than a run waits gets no retry at all: backing off
    // for a few seconds instead would ignore what it said.
    if retry_after.is_some_and(|wait| wait > retry::MAX_RETRY_AFTER) {
        return Some(Err(Failure::Final(error)));
    }
    Some(Err(Failure::Retryable {
        error,
        retry_after,
        status: Some(status),
    }))
}

/// Reads the body under the cap. Chunks arrive already decompressed, so the cap applies to
/// decoded bytes: a gzip bomb stops at the cap however small it was on the wire. Dropping
/// the response early closes the connection, so the server stops sending.
async fn read_body(
    url: &Url,
    mut resp: reqwest::Response,
    cap: Cap,
    connect_timeout: Duration,
) -> Result<Vec<u8>, Failure> {
    let limit = cap.limit();
    let too_large = || {
        Failure::Final(FetchError::TooLarge {
            url: url.clone(),
            limit,
        })
    };
    if matches!(cap, Cap::Fail(_)) && resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| transport(url, e, connect_timeout))?
    {
        let room = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .saturating_sub(body.len());
        if chunk.len() > room {
            if matches!(cap, Cap::Fail(_)) {
                return Err(too_large());
            }
            body.extend_from_slice(chunk.get(..room).unwrap_or_default());
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

//! The HTTP messages inside `request` and `response` records: building them from a `RawPage`
//! and reading a stored response back.
//!
//! `RawPage::body` is already content-decoded, so the stored response must not claim an encoding
//! or framing it no longer has: `Content-Encoding`, `Transfer-Encoding` and `Content-Length` are
//! renamed to `X-Newsmill-Original-<name>` in place and a true `Content-Length` is appended.
//! Reading undoes exactly that, so the normalizer sees the headers the fetcher saw.

use std::borrow::Cow;

use url::Url;

use super::record::sanitize_value;

/// Prefix under which wire-level headers that no longer describe the stored body are kept.
pub(super) const ORIGINAL_PREFIX: &str = "X-Newsmill-Original-";

/// Response headers that describe the wire encoding rather than the stored (decoded) body.
const WIRE_HEADERS: [&str; 3] = ["Content-Encoding", "Transfer-Encoding", "Content-Length"];

/// Makes a header name a valid HTTP token: every other byte becomes `_`; empty becomes `_`.
fn sanitize_name(name: &str) -> Cow<'_, str> {
    let is_tchar = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !name.is_empty() && name.chars().all(is_tchar) {
        Cow::Borrowed(name)
    } else if name.is_empty() {
        Cow::Borrowed("_")
    } else {
        Cow::Owned(
            name.chars()
                .map(|c| if is_tchar(c) { c } else { '_' })
                .collect(),
        )
    }
}

/// The header list as it will be stored: names made tokens, values without control characters.
pub(super) fn sanitize_headers(headers: &[(String, String)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                sanitize_name(k).into_owned(),
                sanitize_value(v).into_owned(),
            )
        })
        .collect()
}

/// The HTTP version as one status-line token (`-` when empty).
pub(super) fn version_token(version: &str) -> String {
    if version.is_empty() {
        return "-".to_owned();
    }
    version
        .chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// The reconstructed request head: `GET <path?query> HTTP/1.1`, `Host` unless the fetcher sent
/// one itself, then the request headers in order, then the blank line. `headers` must already
/// be sanitized.
pub(super) fn request_head(url: &Url, headers: &[(String, String)]) -> String {
    let mut head = format!("GET {} HTTP/1.1\r\n", target(url));
    let has_host = headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host"));
    if let (false, Some(host)) = (has_host, url.host_str()) {
        match url.port() {
            Some(port) => head.push_str(&format!("Host: {host}:{port}\r\n")),
            None => head.push_str(&format!("Host: {host}\r\n")),
        }
    }
    push_headers(
        &mut head,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    head.push_str("\r\n");
    head
}

/// The request target: path plus `?query`, never the fragment.
fn target(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// The stored response head: status line, headers with wire headers renamed, a true
/// `Content-Length`, blank line.
pub(super) fn response_head(
    version: &str,
    status: u16,
    headers: &[(String, String)],
    body_len: usize,
) -> String {
    let mut head = format!(
        "{} {status} {}\r\n",
        version_token(version),
        reason_phrase(status)
    );
    let renamed = sanitize_headers(headers).into_iter().map(|(k, v)| {
        if WIRE_HEADERS.iter().any(|w| w.eq_ignore_ascii_case(&k)) {
            (format!("{ORIGINAL_PREFIX}{k}"), v)
        } else {
            (k, v)
        }
    });
    for (k, v) in renamed {
        push_headers(&mut head, [(k.as_str(), v.as_str())]);
    }
    head.push_str(&format!("Content-Length: {body_len}\r\n\r\n"));
    head
}

fn push_headers<'a>(head: &mut String, headers: impl IntoIterator<Item = (&'a str, &'a str)>) {
    for (k, v) in headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
}

/// A response head read back from a stored block.
#[derive(Debug)]
pub(super) struct ResponseHead {
    pub(super) version: String,
    pub(super) status: u16,
    /// Headers with the write-side renaming undone.
    pub(super) headers: Vec<(String, String)>,
    /// Where the body starts in the block.
    pub(super) body_start: usize,
}

/// Parses the status line and headers at the start of a response block.
///
/// # Errors
/// A reason for the `Corrupt` error when there is no blank line, the status line is malformed,
/// or the head is not UTF-8.
pub(super) fn parse_response_head(block: &[u8]) -> Result<ResponseHead, String> {
    let end = block
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("HTTP head has no terminating blank line")?;
    let head = std::str::from_utf8(&block[..end]).map_err(|_| "HTTP head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_owned();
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("bad HTTP status line {status_line:?}"))?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            // obs-fold continuation; we never write these, other writers might.
            if let Some((_, v)) = headers.last_mut() {
                v.push_str(line);
            }
            continue;
        }
        let (k, v) = line
            .split_once(':')
            .ok_or_else(|| format!("bad HTTP header line {line:?}"))?;
        let v = v.strip_prefix(' ').unwrap_or(v);
        headers.push((k.to_owned(), v.to_owned()));
    }
    Ok(ResponseHead {
        version,
        status,
        headers: restore_wire_headers(headers),
        body_start: end + 4,
    })
}

/// Undoes the write-side renaming: drops our `Content-Length` and gives the
/// `X-Newsmill-Original-*` headers their names back, in place.
fn restore_wire_headers(headers: Vec<(String, String)>) -> Vec<(String, String)> {
    headers
        .into_iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("Content-Length"))
        .map(|(k, v)| {
            let original = k
                .get(..ORIGINAL_PREFIX.len())
                .filter(|p| p.eq_ignore_ascii_case(ORIGINAL_PREFIX))
                .and_then(|_| k.get(ORIGINAL_PREFIX.len()..))
                .filter(|name| WIRE_HEADERS.iter().any(|w| w.eq_ignore_ascii_case(name)))
                .map(str::to_owned);
            (original.unwrap_or(k), v)
        })
        .collect()
}

/// The canonical reason phrase for a status code, empty for codes without one.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        418 => "I'm a teapot",
        422 => "Unprocessable Content",
        425 => "Too Early",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn wire_headers_are_renamed_and_restored_in_place() {
        let headers = pairs(&[
            ("content-type", "text/html"),
            ("content-encoding", "gzip"),
            ("Content-Length", "999"),
            ("x-a", " spaced "),
        ]);
        let head = response_head("HTTP/2.0", 200, &headers, 5);
        assert!(head.starts_with("HTTP/2.0 200 OK\r\n"));
        assert!(head.contains("X-Newsmill-Original-content-encoding: gzip\r\n"));
        assert!(head.ends_with("Content-Length: 5\r\n\r\n"));
        let block = [head.as_bytes(), b"hello"].concat();
        let parsed = parse_response_head(&block).unwrap();
        assert_eq!(parsed.version, "HTTP/2.0");
        assert_eq!(parsed.status, 200);
        assert_eq!(parsed.headers, headers);
        assert_eq!(&block[parsed.body_start..], b"hello");
    }

    #[test]
    fn names_and_values_cannot_break_framing() {
        let headers = pairs(&[("bad name:\r\n", "v\r\nInjected: 1")]);
        let head = response_head("HTTP/1.1", 599, &headers, 0);
        assert_eq!(
            head,
            "HTTP/1.1 599 \r\nbad_name___: v  Injected: 1\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn request_head_adds_host_and_keeps_query() {
        let url = Url::parse("http://127.0.0.1:8080/a/b?x=1&y=2#frag").unwrap();
        let head = request_head(&url, &pairs(&[("user-agent", "newsmill")]));
        assert_eq!(
            head,
            "GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nuser-agent: newsmill\r\n\r\n"
        );
    }
}

//! A tiny static HTTP/1.1 server on 127.0.0.1 for the demo and the tests: serves an in-memory
//! site whose files may contain `{{NAME}}` placeholders, replaced at serve time by base URLs
//! (so feeds can link to a server whose port is only known once it is bound).
//!
//! It answers GET and HEAD, one request per connection (`Connection: close`), and nothing
//! else; it is test scaffolding, not a web server.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Largest request head read.
const MAX_REQUEST_HEAD: usize = 16 * 1024;

/// A site: path → file bytes, plus placeholder substitutions.
#[derive(Debug, Clone, Default)]
pub struct Site {
    files: HashMap<String, Vec<u8>>,
    /// Every request path served, in order (tests check what was and was not asked for).
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Site {
    /// Takes the files under `prefix/` from a (path, bytes) list; paths are served as
    /// `/<rest>`, and `/<dir>/` serves `<dir>/index.html`.
    pub fn from_files(files: &[(&str, &[u8])], prefix: &str) -> Self {
        let start = format!("{prefix}/");
        let files = files
            .iter()
            .filter_map(|(p, b)| {
                p.strip_prefix(&start)
                    .map(|rest| (format!("/{rest}"), b.to_vec()))
            })
            .collect();
        Self {
            files,
            log: Arc::default(),
        }
    }

    /// Replaces `{{NAME}}` by `value` in every file. The placeholder is ASCII and so is a base
    /// URL, so the replacement runs on bytes: it works the same in UTF-8 files and in files in
    /// a legacy ASCII-compatible charset (the windows-1251 demo page).
    pub fn substitute(&mut self, name: &str, value: &str) {
        let needle = format!("{{{{{name}}}}}");
        for bytes in self.files.values_mut() {
            if let Some(replaced) = replace_bytes(bytes, needle.as_bytes(), value.as_bytes()) {
                *bytes = replaced;
            }
        }
    }

    fn get(&self, path: &str) -> Option<&[u8]> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let key = if path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_owned()
        };
        self.files.get(&key).map(Vec::as_slice)
    }
}

/// `haystack` with every `needle` replaced by `value`, or `None` when there is none.
fn replace_bytes(haystack: &[u8], needle: &[u8], value: &[u8]) -> Option<Vec<u8>> {
    let finder = memchr::memmem::Finder::new(needle);
    let mut hits = finder.find_iter(haystack).peekable();
    hits.peek()?;
    let mut out = Vec::with_capacity(haystack.len());
    let mut last = 0;
    for at in hits {
        out.extend_from_slice(haystack.get(last..at).unwrap_or_default());
        out.extend_from_slice(value);
        last = at + needle.len();
    }
    out.extend_from_slice(haystack.get(last..).unwrap_or_default());
    Some(out)
}

/// A bound listener, before it serves: lets the caller learn the address first.
pub struct Bound {
    listener: TcpListener,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// Binds 127.0.0.1 on a free port.
///
/// # Errors
/// When no port can be bound.
pub async fn bind() -> std::io::Result<Bound> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok(Bound { listener, base })
}

/// Serves `site` on a bound listener until `stop` is cancelled.
pub fn serve(bound: Bound, site: Site, stop: CancellationToken) {
    let site = Arc::new(site);
    tokio::spawn(async move {
        loop {
            let conn = tokio::select! {
                c = bound.listener.accept() => c,
                () = stop.cancelled() => return,
            };
            if let Ok((stream, _)) = conn {
                tokio::spawn(handle(stream, site.clone()));
            }
        }
    });
}

fn content_type(path: &str, body: &[u8]) -> &'static str {
    let utf8 = std::str::from_utf8(body).is_ok();
    match path.rsplit('/').next().unwrap_or(path) {
        "robots.txt" => "text/plain; charset=utf-8",
        "rss" => "application/rss+xml; charset=utf-8",
        p if p.ends_with(".xml") => "application/xml; charset=utf-8",
        _ if utf8 => "text/html; charset=utf-8",
        // Legacy-encoded pages declare their charset in a <meta>; the header must not lie.
        _ => "text/html",
    }
}

async fn handle(mut stream: TcpStream, site: Arc<Site>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST_HEAD {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(buf.get(..n).unwrap_or_default()),
        }
    }
    let line = String::from_utf8_lossy(&head);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    site.log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(path.to_owned());
    let (status, ctype, body): (&str, &str, &[u8]) = match site.get(path) {
        Some(b) if method == "GET" || method == "HEAD" => ("200 OK", content_type(path, b), b),
        _ => ("404 Not Found", "text/plain", b"not found"),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes()).await;
    if method != "HEAD" {
        let _ = stream.write_all(body).await;
    }
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    // See: issue 11, item 4 (the windows-1251 page kept its placeholder).
    #[test]
    fn substitutes_in_legacy_charset_files() {
        // "Минск {{B}}/x" in windows-1251: not valid UTF-8.
        let cp1251: &[u8] = b"\xcc\xe8\xed\xf1\xea {{B}}/x {{B}}";
        let mut site = Site::from_files(&[("p/a.html", cp1251), ("p/b.html", b"{{B}}")], "p");
        site.substitute("B", "http://127.0.0.1:9");
        assert_eq!(
            site.get("/a.html").unwrap(),
            b"\xcc\xe8\xed\xf1\xea http://127.0.0.1:9/x http://127.0.0.1:9"
        );
        assert_eq!(site.get("/b.html").unwrap(), b"http://127.0.0.1:9");
    }
}

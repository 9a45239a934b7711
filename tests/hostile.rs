//! A fault-injection HTTP server for the fetcher tests: a raw `TcpListener` on 127.0.0.1:0, so
//! each test controls the exact bytes and timing a hostile or broken server sends (silence,
//! stalls, lies in `Content-Length`, resets, endless drips, bombs).
//!
//! One request per connection: the handler sees the request path and how many times that
//! path was asked before, and picks a [`Reply`]. Every request and every connection is logged
//! so tests can assert what the fetcher did and did not send. Timing uses `tokio::time`, so
//! the server follows a paused test clock.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::Instant;

/// Largest request head read.
const MAX_HEAD: usize = 64 * 1024;

/// How the server answers one request.
pub enum Reply {
    /// Write these bytes, then close the connection normally.
    Raw(Vec<u8>),
    /// Never answer; hold the connection open.
    Silent,
    /// Write these bytes, then hold the connection open without sending more.
    Stall(Vec<u8>),
    /// Wait, then write these bytes and close (a slow but honest server).
    Late(Duration, Vec<u8>),
    /// Write these bytes, then reset the connection (RST via `SO_LINGER` 0).
    Reset(Vec<u8>),
    /// Write `head`, then `chunk` every `every` until the peer goes away.
    Drip {
        /// Status line and headers (and any body prefix).
        head: Vec<u8>,
        /// Bytes sent on each tick.
        chunk: Vec<u8>,
        /// Pause between chunks.
        every: Duration,
    },
}

impl Reply {
    /// A complete response with `Content-Length` and `Connection: close`.
    pub fn full(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut bytes = head(status, headers);
        // `head` ends with the blank line; put Content-Length before it.
        bytes.truncate(bytes.len() - 2);
        bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        bytes.extend_from_slice(body);
        Self::Raw(bytes)
    }

    /// A body-less response with this status.
    pub fn status(status: u16) -> Self {
        Self::full(status, &[], b"")
    }

    /// 200 with a content type and a body.
    pub fn ok(content_type: &str, body: &[u8]) -> Self {
        Self::full(200, &[("Content-Type", content_type)], body)
    }

    /// A redirect to `location`.
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::full(status, &[("Location", location)], b"")
    }
}

/// A named reply, for tables of cases.
pub type Case = (&'static str, fn() -> Reply);

/// Status line and headers, with `Connection: close`, ending with the blank line.
pub fn head(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!("HTTP/1.1 {status} Hostile\r\nConnection: close\r\n");
    for (k, v) in headers {
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Request target (path and query).
    pub path: String,
    /// Request headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// When it arrived (tokio clock: virtual under a paused test clock).
    pub at: Instant,
}

/// How a [`Reply::Drip`] ended.
#[derive(Debug, Clone, Copy)]
pub struct DripEnd {
    /// Bytes written after the head.
    pub written: u64,
    /// The write failed because the client went away (closed or reset).
    pub peer_gone: bool,
}

#[derive(Debug, Default)]
struct Log {
    connections: usize,
    hits: Vec<Hit>,
    drips: Vec<DripEnd>,
}

type Handler = dyn Fn(&Hit, usize) -> Reply + Send + Sync;

/// A running hostile server; it lives as long as the test's runtime.
#[derive(Clone)]
pub struct Hostile {
    /// Bound address.
    pub addr: SocketAddr,
    log: Arc<Mutex<Log>>,
}

impl Hostile {
    /// Starts a server; `handler(hit, n)` answers the `n`-th (0-based) request for a path.
    pub async fn start(handler: impl Fn(&Hit, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Log::default()));
        let handler: Arc<Handler> = Arc::new(handler);
        let shared = log.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                shared.lock().unwrap().connections += 1;
                tokio::spawn(serve(stream, handler.clone(), shared.clone()));
            }
        });
        Self { addr, log }
    }

    /// Starts a server that answers `/robots.txt` with 404 and every other path with `page`.
    pub async fn page(page: impl Fn(usize) -> Reply + Send + Sync + 'static) -> Self {
        Self::start(move |hit, n| {
            if hit.path == "/robots.txt" {
                Reply::status(404)
            } else {
                page(n)
            }
        })
        .await
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request received, in order.
    pub fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().hits.clone()
    }

    /// Paths requested, in order.
    pub fn paths(&self) -> Vec<String> {
        self.hits().into_iter().map(|h| h.path).collect()
    }

    /// Requests for `path`.
    pub fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }

    /// Arrival times of the requests for `path`.
    pub fn times(&self, path: &str) -> Vec<Instant> {
        self.hits()
            .into_iter()
            .filter(|h| h.path == path)
            .map(|h| h.at)
            .collect()
    }

    /// Arrival times of every request.
    pub fn times_all(&self) -> Vec<Instant> {
        self.hits().into_iter().map(|h| h.at).collect()
    }

    /// Connections accepted (whether or not a request followed).
    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().connections
    }

    /// How each finished drip ended.
    pub fn drips(&self) -> Vec<DripEnd> {
        self.log.lock().unwrap().drips.clone()
    }
}

async fn serve(mut stream: TcpStream, handler: Arc<Handler>, log: Arc<Mutex<Log>>) {
    let Some(hit) = read_request(&mut stream).await else {
        return;
    };
    let reply = {
        let mut log = log.lock().unwrap();
        let n = log.hits.iter().filter(|h| h.path == hit.path).count();
        log.hits.push(hit.clone());
        n
    };
    match handler(&hit, reply) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Late(after, bytes) => {
            tokio::time::sleep(after).await;
            let _ = stream.write_all(&bytes).await;
            let _ = stream.shutdown().await;
        }
        Reply::Silent => std::future::pending::<()>().await,
        Reply::Stall(bytes) => {
            let _ = stream.write_all(&bytes).await;
            std::future::pending::<()>().await;
        }
        Reply::Reset(bytes) => {
            let _ = stream.write_all(&bytes).await;
            // Give the bytes a moment to leave before the RST discards the send queue.
            tokio::time::sleep(Duration::from_millis(20)).await;
            // Deprecated because a non-zero linger blocks the thread on drop; a zero linger
            // never blocks (the kernel discards the queue and sends RST), which is the point.
            #[allow(deprecated)]
            let _ = stream.set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Reply::Drip { head, chunk, every } => {
            let end = drip(&mut stream, &head, &chunk, every).await;
            log.lock().unwrap().drips.push(end);
        }
    }
}

async fn drip(stream: &mut TcpStream, head: &[u8], chunk: &[u8], every: Duration) -> DripEnd {
    let mut end = DripEnd {
        written: 0,
        peer_gone: false,
    };
    if stream.write_all(head).await.is_err() {
        end.peer_gone = true;
        return end;
    }
    // Bounded so a client that never hangs up cannot keep the test spinning forever.
    while end.written < 4 << 30 {
        if stream.write_all(chunk).await.is_err() {
            end.peer_gone = true;
            break;
        }
        end.written += chunk.len() as u64;
        if !every.is_zero() {
            tokio::time::sleep(every).await;
        }
    }
    end
}

async fn read_request(stream: &mut TcpStream) -> Option<Hit> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some(Hit {
        path,
        headers,
        at: Instant::now(),
    })
}

/// A server that answers (robots.txt 404, everything else 200) until [`BlackHole::close_door`],
/// after which its accept queue is full, so a new connection gets no SYN-ACK and hangs in
/// connect (Linux drops SYNs to a full queue).
pub struct BlackHole {
    /// Bound address.
    pub addr: SocketAddr,
    listener: Arc<TcpListener>,
    acceptor: tokio::task::JoinHandle<()>,
    fillers: Vec<TcpStream>,
}

impl BlackHole {
    /// Binds with a backlog of 1 and serves.
    pub async fn start() -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = Arc::new(socket.listen(1).unwrap());
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Log::default()));
        let handler: Arc<Handler> = Arc::new(|hit: &Hit, _| {
            if hit.path == "/robots.txt" {
                Reply::status(404)
            } else {
                Reply::ok("text/html", b"<p>open</p>")
            }
        });
        let l = listener.clone();
        let acceptor = tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                tokio::spawn(serve(stream, handler.clone(), log.clone()));
            }
        });
        Self {
            addr,
            listener,
            acceptor,
            fillers: Vec::new(),
        }
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops accepting and fills the accept queue.
    pub async fn close_door(&mut self) {
        self.acceptor.abort();
        let _ = (&mut self.acceptor).await;
        assert_eq!(
            Arc::strong_count(&self.listener),
            1,
            "acceptor still holds the listener"
        );
        // Connect until one attempt hangs: the queue is then full.
        for _ in 0..16 {
            let connect = TcpStream::connect(self.addr);
            match tokio::time::timeout(Duration::from_millis(200), connect).await {
                Ok(Ok(s)) => self.fillers.push(s),
                _ => return,
            }
        }
        panic!("the accept queue never filled");
    }
}

//! Simulated agency hosts for the multi-worker tests: host `i` listens on `127.0.0.{i+2}` (a
//! distinct address per host, as on a real network), serves `/robots.txt`, `/rss` (RSS 2.0
//! listing its articles) and `/a/<n>.html` (an article whose text is unique to host and
//! number), delays every response by the configured latency, and logs the arrival instant of
//! every request, so a test can check the per-host gap across all workers. HTTP/1.1 with
//! keep-alive; test scaffolding, not a web server.
//!
//! Every connection is served on an OS thread of its own, blocked until the next request
//! comes. A request's arrival is the kernel's receive timestamp of its first bytes
//! (`SO_TIMESTAMPNS`, read with a peek before the thread reads the request), so the time a
//! woken thread waits for a core on this 2-core machine is not part of it; the thread's own
//! stamp when it woke is kept beside it ([`Hit::woke`], [`Sim::min_gap_woken`]). On 127.0.0.1
//! the kernel stamps a segment when the sender's write hands it to the loopback device, so a
//! request's arrival is when it actually left the worker. (Before, hosts served by a 2-thread
//! async runtime stamped requests 23–37 ms after the workers' logs say they left, and then
//! threads stamping when they woke still made 3 of 20 bench runs look closer than 0.9 × the
//! interval while the workers' departures were 100 ms apart.) Where the kernel gives no
//! timestamp, the thread's stamp stands in.
//!
//! Like real agency feeds (see [`Feed`]), the feed sends `ETag` and `Last-Modified` and answers
//! a conditional request for an unchanged feed with `304 Not Modified`; a *rotating* host
//! publishes a new article every so often and lists only its newest few, so an article listed
//! once is gone from the feed later; some article pages are slow. The hosts remember every
//! article any feed response listed ([`Sim::listed`]): the corpus must hold exactly those.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg, setsockopt, sockopt};
use nix::sys::time::TimeSpec;

/// Words the article texts are drawn from (distinct texts, never near duplicates).
const WORDS: &str = "ministry council region harvest export bridge railway school hospital factory tractor delegation summit budget festival museum forest river energy grain
    dairy students engineers volunteers village capital border customs orchestra library stadium airport agreement investment plant season record visit project program";

/// One request as a host saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Host index.
    pub host: usize,
    /// When its first bytes arrived (the kernel's receive timestamp).
    pub at: Instant,
    /// When the host's thread woke to read it (later than `at` by its wait for a core).
    pub woke: Instant,
    /// The same instant on the wall clock, to set against the workers' logs.
    pub wall: chrono::DateTime<chrono::Utc>,
    /// Request path.
    pub path: String,
}

/// The running hosts.
pub struct Sim {
    /// `http://127.0.0.x:port` of each host.
    pub bases: Vec<String>,
    /// Every request, in arrival order.
    pub hits: Arc<Mutex<Vec<Hit>>>,
    shared: Arc<Shared>,
    /// Tells the accepting threads to stop (see `Drop`).
    stop: Arc<AtomicBool>,
}

/// How the hosts' feeds behave over time.
#[derive(Debug, Clone, Copy)]
pub struct Feed {
    /// Articles a host publishes in all.
    pub articles: usize,
    /// Hosts whose index is a multiple of this rotate (`usize::MAX`: none; 1: all); the
    /// others list all their articles from the start and never change.
    pub rotate_every_nth: usize,
    /// A rotating host lists only its newest `window` articles ...
    pub window: usize,
    /// ... and publishes one more every `publish_every` after its feed was first asked for,
    /// until it has published `articles`.
    pub publish_every: Duration,
    /// Every article whose number is `slow_every - 1` modulo `slow_every` takes `slow` more to
    /// answer (`usize::MAX`: none).
    pub slow_every: usize,
    /// The extra latency of a slow page.
    pub slow: Duration,
}

impl Feed {
    /// Static feeds listing all `articles`, no slow pages (the benchmark's hosts).
    pub fn fixed(articles: usize) -> Self {
        Self {
            articles,
            rotate_every_nth: usize::MAX,
            window: articles,
            publish_every: Duration::from_secs(3600),
            slow_every: usize::MAX,
            slow: Duration::ZERO,
        }
    }

    fn rotates(&self, host: usize) -> bool {
        host.is_multiple_of(self.rotate_every_nth)
    }

    /// The articles `host` has published `elapsed` after its feed was first asked for.
    fn published(&self, host: usize, elapsed: Duration) -> usize {
        if !self.rotates(host) {
            return self.articles;
        }
        let more = (elapsed.as_secs_f64() / self.publish_every.as_secs_f64()) as usize;
        (self.window + more).min(self.articles)
    }
}

/// When a host's feed was first asked for, by the monotonic and the wall clock.
type FirstAsk = (Instant, chrono::DateTime<chrono::Utc>);

/// What every host shares: the feed plan, when each host's feed was first asked for (a
/// rotating host publishes from then on), and what the feeds told.
struct Shared {
    feed: Feed,
    first_asked: Mutex<Vec<Option<FirstAsk>>>,
    /// `(host, article)` listed by any feed response with a body.
    listed: Mutex<HashSet<(usize, usize)>>,
    /// Feed requests answered `304 Not Modified`.
    not_modified: AtomicUsize,
}

impl Drop for Sim {
    fn drop(&mut self) {
        // Each accepting thread sees the flag at its next connection: make one.
        self.stop.store(true, Ordering::SeqCst);
        for base in &self.bases {
            let _ = TcpStream::connect(base.trim_start_matches("http://"));
        }
    }
}

impl Sim {
    /// Starts `hosts` hosts whose feeds behave as `feed` says: one accepting thread per
    /// host, one thread per connection.
    pub fn start_with(hosts: usize, feed: Feed, latency: Duration) -> Self {
        let shared = Arc::new(Shared {
            feed,
            first_asked: Mutex::new(vec![None; hosts]),
            listed: Mutex::new(HashSet::new()),
            not_modified: AtomicUsize::new(0),
        });
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut bases = Vec::new();
        for host in 0..hosts {
            let ip = format!("127.0.0.{}", host + 2);
            let listener = TcpListener::bind(format!("{ip}:0")).unwrap();
            let base = format!("http://{ip}:{}", listener.local_addr().unwrap().port());
            bases.push(base.clone());
            let (hits, shared, stop) = (hits.clone(), shared.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (hits, shared) = (hits.clone(), shared.clone());
                    let host = Host {
                        index: host,
                        base: base.clone(),
                        latency,
                    };
                    std::thread::spawn(move || {
                        let _ = serve(stream, &host, &shared, &hits);
                    });
                }
            });
        }
        Self {
            bases,
            hits,
            shared,
            stop,
        }
    }

    /// Every `(host, article)` some feed response listed.
    pub fn listed(&self) -> HashSet<(usize, usize)> {
        self.shared.listed.lock().unwrap().clone()
    }

    /// Feed requests answered `304 Not Modified`.
    pub fn not_modified(&self) -> usize {
        self.shared.not_modified.load(Ordering::Relaxed)
    }

    /// Smallest gap between two request arrivals at one host, over all hosts.
    pub fn min_gap(&self) -> Option<(Duration, usize)> {
        self.min_gap_by(|h| h.at)
    }

    /// As [`Sim::min_gap`], by the hosts' threads' own stamps when they woke.
    pub fn min_gap_woken(&self) -> Option<(Duration, usize)> {
        self.min_gap_by(|h| h.woke)
    }

    fn min_gap_by(&self, stamp: impl Fn(&Hit) -> Instant) -> Option<(Duration, usize)> {
        let hits = self.hits.lock().unwrap();
        let mut by_host: Vec<Vec<Instant>> = vec![Vec::new(); self.bases.len()];
        for h in hits.iter() {
            by_host[h.host].push(stamp(h));
        }
        by_host
            .iter_mut()
            .enumerate()
            .filter_map(|(host, times)| {
                times.sort();
                times
                    .windows(2)
                    .map(|w| w[1] - w[0])
                    .min()
                    .map(|gap| (gap, host))
            })
            .min()
    }

    /// The `n` smallest gaps with the two paths, for a failure message.
    pub fn tightest(&self, n: usize) -> Vec<(Duration, usize, String, String)> {
        let mut hits = self.hits.lock().unwrap().clone();
        hits.sort_by_key(|h| (h.host, h.at));
        let mut gaps: Vec<_> = hits
            .windows(2)
            .filter(|w| w[0].host == w[1].host)
            .map(|w| {
                (
                    w[1].at - w[0].at,
                    w[0].host,
                    w[0].path.clone(),
                    w[1].path.clone(),
                )
            })
            .collect();
        gaps.sort();
        gaps.truncate(n);
        gaps
    }

    /// Requests per host, the most any host received.
    pub fn busiest(&self) -> usize {
        let hits = self.hits.lock().unwrap();
        (0..self.bases.len())
            .map(|h| hits.iter().filter(|x| x.host == h).count())
            .max()
            .unwrap_or(0)
    }
}

/// The text of article `n` of `host`: a title line and paragraphs of words drawn from a
/// generator seeded by both, so no two articles share their text.
pub fn article_text(host: usize, n: usize) -> (String, Vec<String>) {
    let mut state = (host as u64 + 1) * 1_000_003 + n as u64 * 7919 + 17;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let title = format!("Agency {host} report {n} on the regional programme");
    let paragraphs = (0..6)
        .map(|_| {
            let mut p = String::new();
            for w in 0..40 {
                let word = words[(next() % words.len() as u64) as usize];
                let _ = write!(p, "{}{word}", if w == 0 { "" } else { " " });
            }
            p.push('.');
            p
        })
        .collect();
    (title, paragraphs)
}

/// One host's address and latency.
struct Host {
    index: usize,
    base: String,
    latency: Duration,
}

/// A response: status line, content type, extra headers, body.
struct Reply {
    status: &'static str,
    ctype: &'static str,
    headers: String,
    body: String,
}

impl Reply {
    fn ok(ctype: &'static str, headers: String, body: String) -> Self {
        Self {
            status: "200 OK",
            ctype,
            headers,
            body,
        }
    }

    fn empty(status: &'static str) -> Self {
        Self {
            status,
            ctype: "text/plain",
            headers: String::new(),
            body: String::new(),
        }
    }
}

impl Shared {
    /// When `host`'s feed was first asked for, by the monotonic and the wall clock; with
    /// `feed`, this request is that one if none came before.
    fn first(&self, host: usize, feed: bool) -> Option<FirstAsk> {
        let mut first = self.first_asked.lock().unwrap();
        if first[host].is_none() && feed {
            first[host] = Some((Instant::now(), chrono::Utc::now()));
        }
        first[host]
    }

    /// The articles `host` has published now, its feed first asked for at `first`.
    fn published_since(&self, host: usize, first: Option<FirstAsk>) -> usize {
        let since = first.map(|(at, _)| at.elapsed());
        self.feed.published(host, since.unwrap_or_default())
    }

    /// The articles `host` has published now (an article request does not start the clock).
    fn published(&self, host: usize) -> usize {
        self.published_since(host, self.first(host, false))
    }
}

/// The feed's validators when `published` articles are out: an `ETag`, and the first ask's
/// time (`first`) plus one publishing interval per article published since as the
/// `Last-Modified`.
fn validators(
    shared: &Shared,
    host: usize,
    published: usize,
    first: chrono::DateTime<chrono::Utc>,
) -> (String, String) {
    let etag = format!("\"h{host}-{published}\"");
    let newer = published.saturating_sub(shared.feed.window) as u32;
    let at = first + chrono::Duration::from_std(shared.feed.publish_every * newer).unwrap();
    (etag, at.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
}

fn feed(host: &Host, shared: &Shared, conditional: &[String]) -> Reply {
    let plan = shared.feed;
    // The first ask is read once: the article count and the validators agree.
    let first = shared.first(host.index, true);
    let published = shared.published_since(host.index, first);
    let wall = first.map(|(_, wall)| wall).unwrap_or_default();
    let (etag, modified) = validators(shared, host.index, published, wall);
    if conditional.iter().any(|v| *v == etag || *v == modified) {
        shared.not_modified.fetch_add(1, Ordering::Relaxed);
        let mut r = Reply::empty("304 Not Modified");
        r.headers = format!("ETag: {etag}\r\n");
        return r;
    }
    let now = chrono::Utc::now();
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Agency</title>",
    );
    let first = published.saturating_sub(plan.window);
    let mut listed = shared.listed.lock().unwrap();
    for n in (first..published).rev() {
        let (title, _) = article_text(host.index, n);
        let _ = write!(
            s,
            "<item><title>{title}</title><link>{}/a/{n}.html</link><pubDate>{}</pubDate></item>",
            host.base,
            (now - chrono::Duration::minutes((published - n) as i64)).to_rfc2822()
        );
        listed.insert((host.index, n));
    }
    s.push_str("</channel></rss>\n");
    let headers = format!("ETag: {etag}\r\nLast-Modified: {modified}\r\n");
    Reply::ok("application/rss+xml", headers, s)
}

fn reply(host: &Host, shared: &Shared, path: &str, conditional: &[String]) -> Reply {
    if path == "/robots.txt" {
        return Reply::ok(
            "text/plain",
            String::new(),
            "User-agent: *\nAllow: /\n".into(),
        );
    }
    if path == "/rss" {
        return feed(host, shared, conditional);
    }
    let published = shared.published(host.index);
    let Some(n) = path
        .strip_prefix("/a/")
        .and_then(|p| p.strip_suffix(".html"))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n < published)
    else {
        return Reply::empty("404 Not Found");
    };
    let (title, paragraphs) = article_text(host.index, n);
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body><main><article><h1>{title}</h1>"
    );
    for p in paragraphs {
        let _ = write!(s, "<p>{p}</p>");
    }
    s.push_str("</article></main></body></html>");
    let headers = format!("ETag: \"a{}-{n}\"\r\n", host.index);
    Reply::ok("text/html; charset=utf-8", headers, s)
}

/// Extra latency of `path` on a host with this feed plan (slow article pages).
fn extra_latency(feed: &Feed, path: &str) -> Duration {
    let n = path
        .strip_prefix("/a/")
        .and_then(|p| p.strip_suffix(".html"))
        .and_then(|n| n.parse::<usize>().ok());
    match n {
        Some(n) if feed.slow_every != usize::MAX && n % feed.slow_every == feed.slow_every - 1 => {
            feed.slow
        }
        _ => Duration::ZERO,
    }
}

fn serve(
    stream: TcpStream,
    host: &Host,
    shared: &Shared,
    hits: &Mutex<Vec<Hit>>,
) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let stamped = setsockopt(&stream, sockopt::ReceiveTimestampns, &true).is_ok();
    let mut out = stream.try_clone()?;
    let mut stream = BufReader::new(stream);
    loop {
        // Blocked here until the next request's first bytes come (the peek takes the
        // kernel's timestamp of them and leaves them to be read).
        let kernel = if stream.buffer().is_empty() && stamped {
            match received_at(stream.get_ref())? {
                Received::Closed => return Ok(()),
                Received::At(t) => t,
            }
        } else {
            None
        };
        if stream.fill_buf()?.is_empty() {
            return Ok(());
        }
        let (woke, now) = (Instant::now(), std::time::SystemTime::now());
        let (at, wall) = match kernel {
            Some(k) => (
                woke.checked_sub(now.duration_since(k).unwrap_or_default())
                    .unwrap_or(woke),
                chrono::DateTime::<chrono::Utc>::from(k),
            ),
            None => (woke, chrono::DateTime::<chrono::Utc>::from(now)),
        };
        let mut line = String::new();
        if stream.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        // Validators the client sent back (If-None-Match / If-Modified-Since).
        let mut conditional = Vec::new();
        loop {
            let mut header = String::new();
            if stream.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "if-none-match" || name == "if-modified-since" {
                    conditional.push(value.trim().to_owned());
                }
            }
        }
        hits.lock().unwrap().push(Hit {
            host: host.index,
            at,
            woke,
            wall,
            path: path.clone(),
        });
        std::thread::sleep(host.latency + extra_latency(&shared.feed, &path));
        let r = reply(host, shared, &path, &conditional);
        // Head and body in one write, as a server sends a small response.
        let mut response = format!(
            "HTTP/1.1 {}\r\nContent-Type: {}\r\n{}Content-Length: {}\r\n\r\n",
            r.status,
            r.ctype,
            r.headers,
            r.body.len()
        );
        response.push_str(&r.body);
        out.write_all(response.as_bytes())?;
    }
}

/// What a peek at a connection found.
enum Received {
    /// The peer closed it.
    Closed,
    /// Bytes are there, received by the kernel at this time (`None`: no timestamp came).
    At(Option<std::time::SystemTime>),
}

/// Waits for the next bytes on `stream` without taking them; when the kernel received them.
fn received_at(stream: &TcpStream) -> std::io::Result<Received> {
    let mut byte = [0u8; 1];
    let mut iov = [std::io::IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!(TimeSpec);
    let fd = std::os::fd::AsRawFd::as_raw_fd(stream);
    let msg = recvmsg::<()>(fd, &mut iov, Some(&mut space), MsgFlags::MSG_PEEK)
        .map_err(std::io::Error::from)?;
    if msg.bytes == 0 {
        return Ok(Received::Closed);
    }
    let at = msg
        .cmsgs()
        .map_err(std::io::Error::from)?
        .find_map(|c| match c {
            ControlMessageOwned::ScmTimestampns(ts) => Some(
                std::time::UNIX_EPOCH
                    + Duration::new(
                        u64::try_from(ts.tv_sec()).unwrap_or(0),
                        u32::try_from(ts.tv_nsec()).unwrap_or(0),
                    ),
            ),
            _ => None,
        });
    Ok(Received::At(at))
}

//! Simulated agency hosts for the multi-worker tests: host `i` listens on `127.0.0.{i+2}` (a
//! distinct address per host, as on a real network), serves `/robots.txt`, `/rss` (RSS 2.0
//! listing its articles) and `/a/<n>.html` (an article whose text is unique to host and
//! number), delays every response by the configured latency, and logs the arrival instant of
//! every request, so a test can check the per-host gap across all workers. HTTP/1.1 with
//! keep-alive; test scaffolding, not a web server.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Words the article texts are drawn from (distinct texts, never near duplicates).
const WORDS: &[&str] = &[
    "ministry",
    "council",
    "region",
    "harvest",
    "export",
    "bridge",
    "railway",
    "school",
    "hospital",
    "factory",
    "tractor",
    "delegation",
    "summit",
    "budget",
    "festival",
    "museum",
    "forest",
    "river",
    "energy",
    "grain",
    "dairy",
    "students",
    "engineers",
    "volunteers",
    "village",
    "capital",
    "border",
    "customs",
    "orchestra",
    "library",
    "stadium",
    "airport",
    "agreement",
    "investment",
    "plant",
    "season",
    "record",
    "visit",
    "project",
    "program",
];

/// One request as a host saw it.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Host index.
    pub host: usize,
    /// When its request line arrived.
    pub at: Instant,
    /// Request path.
    pub path: String,
}

/// The running hosts.
pub struct Sim {
    /// `http://127.0.0.x:port` of each host.
    pub bases: Vec<String>,
    /// Every request, in arrival order.
    pub hits: Arc<Mutex<Vec<Hit>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Sim {
    fn drop(&mut self) {
        // The runtime that runs them may be gone already; aborting is harmless then.
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Sim {
    /// Starts `hosts` hosts of `articles` articles each.
    pub async fn start(hosts: usize, articles: usize, latency: Duration) -> Self {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let (mut bases, mut tasks) = (Vec::new(), Vec::new());
        for host in 0..hosts {
            let ip = format!("127.0.0.{}", host + 2);
            let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
            let base = format!("http://{ip}:{}", listener.local_addr().unwrap().port());
            bases.push(base.clone());
            let hits = hits.clone();
            tasks.push(tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (hits, base) = (hits.clone(), base.clone());
                    tokio::spawn(async move {
                        let _ = serve(stream, host, &base, articles, latency, &hits).await;
                    });
                }
            }));
        }
        Self { bases, hits, tasks }
    }

    /// Smallest gap between two request arrivals at one host, over all hosts.
    pub fn min_gap(&self) -> Option<(Duration, usize)> {
        let hits = self.hits.lock().unwrap();
        let mut by_host: Vec<Vec<Instant>> = vec![Vec::new(); self.bases.len()];
        for h in hits.iter() {
            by_host[h.host].push(h.at);
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
    let title = format!("Agency {host} report {n} on the regional programme");
    let paragraphs = (0..6)
        .map(|_| {
            let mut p = String::new();
            for w in 0..40 {
                let word = WORDS[(next() % WORDS.len() as u64) as usize];
                let _ = write!(p, "{}{word}", if w == 0 { "" } else { " " });
            }
            p.push('.');
            p
        })
        .collect();
    (title, paragraphs)
}

fn body_for(
    path: &str,
    host: usize,
    base: &str,
    articles: usize,
) -> Option<(String, &'static str)> {
    if path == "/robots.txt" {
        return Some(("User-agent: *\nAllow: /\n".into(), "text/plain"));
    }
    if path == "/rss" {
        let now = chrono::Utc::now();
        let mut s = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Agency</title>",
        );
        for n in 0..articles {
            let (title, _) = article_text(host, n);
            let _ = write!(
                s,
                "<item><title>{title}</title><link>{base}/a/{n}.html</link><pubDate>{}</pubDate></item>",
                (now - chrono::Duration::minutes(n as i64)).to_rfc2822()
            );
        }
        s.push_str("</channel></rss>\n");
        return Some((s, "application/rss+xml"));
    }
    let n: usize = path
        .strip_prefix("/a/")?
        .strip_suffix(".html")?
        .parse()
        .ok()?;
    if n >= articles {
        return None;
    }
    let (title, paragraphs) = article_text(host, n);
    let mut s = format!(
        "<!doctype html><html lang=\"en\"><head><title>{title}</title></head><body><main><article><h1>{title}</h1>"
    );
    for p in paragraphs {
        let _ = write!(s, "<p>{p}</p>");
    }
    s.push_str("</article></main></body></html>");
    Some((s, "text/html; charset=utf-8"))
}

async fn serve(
    stream: TcpStream,
    host: usize,
    base: &str,
    articles: usize,
    latency: Duration,
    hits: &Mutex<Vec<Hit>>,
) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let at = Instant::now();
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        loop {
            let mut header = String::new();
            if stream.read_line(&mut header).await? == 0 || header == "\r\n" || header == "\n" {
                break;
            }
        }
        hits.lock().unwrap().push(Hit {
            host,
            at,
            path: path.clone(),
        });
        tokio::time::sleep(latency).await;
        let (status, body, ctype) = match body_for(&path, host, base, articles) {
            Some((b, t)) => ("200 OK", b, t),
            None => ("404 Not Found", String::new(), "text/plain"),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let out = stream.get_mut();
        out.write_all(head.as_bytes()).await?;
        out.write_all(body.as_bytes()).await?;
    }
}

//! The server child: one 127.0.0.1 listener per simulated host, HTTP/1.1 with keep-alive,
//! every response delayed by the configured latency. Test scaffolding, not a web server.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use crate::Args;
use crate::site::{
    BOMB_DECODED, BOMB_PATH, HUGE_BYTES, HUGE_PATH, article_html, article_path, feed_xml, gzip_bomb,
};

struct Site {
    host: usize,
    base: String,
    articles: usize,
    latency: Duration,
    bomb: Arc<Vec<u8>>,
}

enum Body {
    Bytes(Vec<u8>),
    /// `HUGE_BYTES` of filler, written in chunks.
    Huge,
}

pub fn serve(args: &Args) {
    let started = Instant::now();
    let bomb = Arc::new(gzip_bomb());
    eprintln!(
        "crawl bench server: gzip bomb {} bytes -> {} bytes decoded, built in {:.1}s",
        bomb.len(),
        BOMB_DECODED,
        started.elapsed().as_secs_f64()
    );
    // Exit when the parent closes our stdin (or dies): never outlive the benchmark.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    // One thread is plenty for 200 responses a second and keeps a core for the crawler.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let mut ports = Vec::new();
        for host in 0..args.hosts {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("bind: {e}"));
            let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
            ports.push(port.to_string());
            let site = Arc::new(Site {
                host,
                base: format!("http://127.0.0.1:{port}"),
                articles: args.articles,
                latency: Duration::from_millis(args.latency_ms),
                bomb: bomb.clone(),
            });
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(connection(stream, site.clone()));
                }
            });
        }
        println!("{}", ports.join(" "));
        let _ = std::io::stdout().flush();
        std::future::pending::<()>().await;
    });
}

/// HTTP/1.1 with keep-alive: one request after another on the connection.
async fn connection(stream: TcpStream, site: Arc<Site>) {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let mut path = None;
        let mut close = false;
        let mut line = String::new();
        loop {
            line.clear();
            match rd.read_line(&mut line).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if path.is_none() {
                path = l.split_whitespace().nth(1).map(str::to_owned);
            } else if l.to_ascii_lowercase().starts_with("connection:") && l.contains("close") {
                close = true;
            }
        }
        tokio::time::sleep(site.latency).await;
        if respond(&mut wr, &site, path.as_deref().unwrap_or("/"))
            .await
            .is_err()
            || close
        {
            return;
        }
    }
}

async fn respond(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    site: &Site,
    path: &str,
) -> std::io::Result<()> {
    let html = "text/html; charset=utf-8";
    let (status, ctype, encoding, body) = match path {
        "/robots.txt" => (
            "200 OK",
            "text/plain",
            None,
            Body::Bytes(b"User-agent: *\nAllow: /\n".to_vec()),
        ),
        "/rss" => (
            "200 OK",
            "application/rss+xml; charset=utf-8",
            None,
            Body::Bytes(feed_xml(site.host, &site.base, site.articles).into_bytes()),
        ),
        HUGE_PATH if site.host == 0 => ("200 OK", html, None, Body::Huge),
        BOMB_PATH if site.host == 0 => (
            "200 OK",
            html,
            Some("gzip"),
            Body::Bytes(site.bomb.to_vec()),
        ),
        p => match p
            .strip_prefix("/news/")
            .and_then(|rest| rest.split('-').next())
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&i| i < site.articles && p == article_path(site.host, i))
        {
            Some(i) => (
                "200 OK",
                html,
                None,
                Body::Bytes(article_html(site.host, i, &site.base, site.articles).into_bytes()),
            ),
            None => (
                "404 Not Found",
                "text/plain",
                None,
                Body::Bytes(b"not found".to_vec()),
            ),
        },
    };
    let len = match &body {
        Body::Bytes(b) => b.len() as u64,
        Body::Huge => HUGE_BYTES,
    };
    let mut head =
        format!("HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len}\r\n");
    if let Some(enc) = encoding {
        let _ = write!(head, "Content-Encoding: {enc}\r\n");
    }
    head.push_str("\r\n");
    wr.write_all(head.as_bytes()).await?;
    match body {
        Body::Bytes(b) => wr.write_all(&b).await,
        Body::Huge => {
            let chunk = "<p>Table row with figures 1234567890 and more figures.</p>\n".repeat(1100);
            let chunk = chunk.as_bytes();
            let mut left = HUGE_BYTES as usize;
            while left > 0 {
                let n = left.min(chunk.len());
                wr.write_all(chunk.get(..n).unwrap_or_default()).await?;
                left -= n;
            }
            Ok(())
        }
    }
}

//! Peak memory of feed parsing against body size (issue 9 item 9: at most ~4× the body).
//!
//! `cargo bench --bench feed_memory` generates RSS, Atom and JSON feeds of 10 MB and 100 MB
//! (realistic items: title, link, guid, date, an HTML description and `content:encoded`), and
//! a "links only" RSS feed (nothing but titles and links, the worst case for the kept data),
//! then parses each in a fresh child process and prints the child's peak RSS (`VmHWM`) and
//! its ratio to the body. The same measurement by hand:
//!
//! ```sh
//! B=$(ls target/release/deps/feed_memory-* | grep -v '\.d$' | head -1)
//! $B gen rss 10 /tmp/f10.xml && /usr/bin/time -v $B parse /tmp/f10.xml   # "Maximum resident set size"
//! ```
//!
//! The parse child reads the file into memory (the body, as the fetcher hands it over) and
//! calls `feed::parse_discovery` with a cap large enough for it; its peak includes the body
//! itself and the process baseline (a few MB).

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use url::Url;

const SIZES_MB: [u64; 2] = [10, 100];
const KINDS: [&str; 4] = ["rss", "atom", "json", "links"];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["gen", kind, mb, path] => {
            let mb: u64 = mb.parse().expect("size in MB");
            generate(kind, mb * 1_000_000, Path::new(path));
        }
        ["parse", path] => parse(Path::new(path)),
        _ => suite(),
    }
}

fn suite() {
    let exe = std::env::current_exe().expect("own path");
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "{:<6} {:>9} {:>8} {:>12} {:>7}",
        "kind", "body MB", "items", "peak RSS MB", "ratio"
    );
    for mb in SIZES_MB {
        for kind in KINDS {
            let path = dir.path().join(format!("{kind}-{mb}.feed"));
            generate(kind, mb * 1_000_000, &path);
            let body = std::fs::metadata(&path).expect("feed written").len();
            let out = Command::new(&exe)
                .args(["parse", &path.display().to_string()])
                .output()
                .expect("child runs");
            let text = String::from_utf8_lossy(&out.stdout);
            let field = |name: &str| -> u64 {
                text.split_whitespace()
                    .find_map(|w| w.strip_prefix(name)?.parse().ok())
                    .unwrap_or(0)
            };
            let (items, peak_kb) = (field("items="), field("peak_kb="));
            println!(
                "{kind:<6} {:>9.1} {items:>8} {:>12.1} {:>6.2}x",
                body as f64 / 1e6,
                peak_kb as f64 * 1024.0 / 1e6,
                peak_kb as f64 * 1024.0 / body as f64
            );
            std::fs::remove_file(&path).ok();
        }
    }
}

/// Parses one file and prints `items=N peak_kb=K` (K from /proc/self/status `VmHWM`).
fn parse(path: &Path) {
    let body = std::fs::read(path).expect("feed readable");
    let url = Url::parse("https://news.example/feed").expect("static URL");
    let cap = body.len() as u64 + 1;
    let d = newsmill::feed::parse_discovery(&body, None, &url, cap).expect("feed parses");
    let items = d.items.len() + d.over_cap;
    drop(d);
    println!("items={items} peak_kb={}", peak_kb());
}

fn peak_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn generate(kind: &str, bytes: u64, path: &Path) {
    let file = std::fs::File::create(path).expect("create feed file");
    let mut w = std::io::BufWriter::new(file);
    let (head, tail) = match kind {
        "atom" => (
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Agency</title><id>urn:agency</id><updated>2025-05-05T10:00:00Z</updated>\n",
            "</feed>\n",
        ),
        "json" => (
            "{\"version\": \"https://jsonfeed.org/version/1.1\", \"title\": \"Agency\", \"items\": [\n",
            "]}\n",
        ),
        _ => (
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:content=\"http://purl.org/rss/1.0/modules/content/\"><channel><title>Agency</title><link>https://news.example/</link><description>News</description>\n",
            "</channel></rss>\n",
        ),
    };
    w.write_all(head.as_bytes()).expect("write");
    let mut written = (head.len() + tail.len()) as u64;
    let mut i = 0u64;
    while written < bytes {
        let item = item(kind, i);
        written += item.len() as u64;
        w.write_all(item.as_bytes()).expect("write");
        i += 1;
    }
    w.write_all(tail.as_bytes()).expect("write");
    w.flush().expect("flush");
}

/// One item of about 5 KB (realistic kinds) or 150 bytes (`links`).
fn item(kind: &str, i: u64) -> String {
    let para = "The regional council met on Tuesday to review the harvest figures, which showed \
                grain output up by a tenth on last year after a mild spring and a dry August. ";
    let html = format!("<p>{}</p>", para.repeat(6)).repeat(4);
    let escaped = html.replace('<', "&lt;").replace('>', "&gt;");
    let title = format!("Harvest figures reviewed in region {i}");
    let link = format!("https://news.example/economy/{i}-harvest-figures.html");
    match kind {
        "atom" => format!(
            "<entry><title>{title}</title><id>tag:news.example,2025:{i}</id><link rel=\"alternate\" type=\"text/html\" href=\"{link}\"/>\
             <published>2025-05-05T10:31:24+03:00</published><updated>2025-05-05T10:31:24+03:00</updated>\
             <summary type=\"html\">{escaped}</summary><content type=\"html\">{escaped}</content></entry>\n"
        ),
        "json" => format!(
            "{}{{\"id\": \"{i}\", \"url\": \"{link}\", \"title\": \"{title}\", \"date_published\": \"2025-05-05T10:31:24+03:00\", \
             \"summary\": {summary:?}, \"content_html\": {html:?}}}\n",
            if i == 0 { "" } else { "," },
            summary = para,
        ),
        "links" => format!("<item><title>{title}</title><link>{link}</link></item>\n"),
        _ => format!(
            "<item><title>{title}</title><link>{link}</link><guid>{link}</guid>\
             <pubDate>Mon, 05 May 2025 10:31:24 +0300</pubDate><description>{escaped}</description>\
             <content:encoded><![CDATA[{html}]]></content:encoded></item>\n"
        ),
    }
}

//! Hostile bodies: larger than `max_body_bytes` (declared, chunked, close-delimited),
//! decompression bombs (gzip, deflate, brotli), truncated bodies and connection resets.

use std::io::Write as _;
use std::time::Duration;

use newsmill::fetch::FetchError;
use tokio::time::Instant;

use crate::fetch::{config, error, fetch, page};
use crate::hostile::{Case, Hostile, Reply, head};

/// Waits (wall clock, bounded) until the server has seen how its drip ended.
async fn drip_end(server: &Hostile) -> crate::hostile::DripEnd {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(end) = server.drips().first() {
            return *end;
        }
        assert!(Instant::now() < deadline, "the server is still sending");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Socket buffers can absorb this much before the client's close shows up as a write error.
const SOCKET_SLACK: u64 = 16 << 20;

#[tokio::test]
async fn a_declared_gigabyte_is_refused_at_once_and_the_connection_dropped() {
    let server = Hostile::page(|_| Reply::Drip {
        head: head(200, &[("Content-Length", "1000000000")]),
        chunk: vec![b'x'; 64 * 1024],
        every: Duration::from_millis(5),
    })
    .await;
    let cfg = config();
    let t0 = Instant::now();
    let err = error(fetch(&cfg, &server.url("/page")).await);
    assert!(
        matches!(err, FetchError::TooLarge { limit, .. } if limit == cfg.max_body_bytes),
        "{err:?}"
    );
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
    let end = drip_end(&server).await;
    assert!(end.peer_gone, "{end:?}");
    assert!(end.written < SOCKET_SLACK, "{end:?}");
    assert_eq!(server.count("/page"), 1, "TooLarge is not retried");
}

fn chunked(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

#[tokio::test]
async fn an_endless_undeclared_body_stops_at_the_cap() {
    // Chunked, then close-delimited (no length at all): the only limit is the cap.
    for chunked_encoding in [true, false] {
        let server = Hostile::page(move |_| {
            let data = vec![b'y'; 16 * 1024];
            let (headers, chunk) = if chunked_encoding {
                (vec![("Transfer-Encoding", "chunked")], chunked(&data))
            } else {
                (Vec::new(), data)
            };
            Reply::Drip {
                head: head(200, &headers),
                chunk,
                every: Duration::from_millis(1),
            }
        })
        .await;
        let err = error(fetch(&config(), &server.url("/page")).await);
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err:?}");
        let end = drip_end(&server).await;
        assert!(end.peer_gone && end.written < SOCKET_SLACK, "{end:?}");
    }
}

#[tokio::test]
async fn a_body_exactly_at_the_cap_is_kept_one_byte_more_is_not() {
    let cap = config().max_body_bytes as usize;
    let server = Hostile::start(move |hit, _| match hit.path.as_str() {
        "/exact" => Reply::ok("text/plain", &vec![b'a'; cap]),
        "/over" => Reply::ok("text/plain", &vec![b'a'; cap + 1]),
        "/over-chunked" => {
            let mut bytes = head(200, &[("Transfer-Encoding", "chunked")]);
            bytes.extend(chunked(&vec![b'a'; cap]));
            bytes.extend(chunked(b"b"));
            bytes.extend_from_slice(b"0\r\n\r\n");
            Reply::Raw(bytes)
        }
        _ => Reply::status(404),
    })
    .await;
    let p = page(fetch(&config(), &server.url("/exact")).await);
    assert_eq!(p.body.len(), cap);
    for path in ["/over", "/over-chunked"] {
        let err = error(fetch(&config(), &server.url(path)).await);
        assert!(
            matches!(err, FetchError::TooLarge { .. }),
            "{path}: {err:?}"
        );
    }
}

/// `size` zero bytes compressed with `encoding`.
fn bomb(encoding: &str, size: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let mut out = Vec::new();
    {
        let mut w: Box<dyn std::io::Write> = match encoding {
            "gzip" => Box::new(flate2::write::GzEncoder::new(
                &mut out,
                flate2::Compression::fast(),
            )),
            "deflate" => Box::new(flate2::write::ZlibEncoder::new(
                &mut out,
                flate2::Compression::fast(),
            )),
            "br" => Box::new(brotli::CompressorWriter::new(&mut out, 4096, 1, 22)),
            other => panic!("no encoder for {other}"),
        };
        for _ in 0..size >> 20 {
            w.write_all(&zeros).unwrap();
        }
        w.flush().unwrap();
    }
    out
}

#[tokio::test]
async fn decompression_bombs_stop_at_the_cap_on_decoded_bytes() {
    let mut cfg = config();
    cfg.max_body_bytes = 1 << 20;
    for encoding in ["gzip", "deflate", "br"] {
        let wire = bomb(encoding, 64 << 20);
        assert!(
            (wire.len() as u64) < cfg.max_body_bytes,
            "{encoding}: the bomb must fit under the cap on the wire ({} bytes)",
            wire.len()
        );
        let server = Hostile::page(move |_| {
            Reply::full(
                200,
                &[
                    ("Content-Type", "text/html"),
                    ("Content-Encoding", encoding),
                ],
                &wire,
            )
        })
        .await;
        let t0 = Instant::now();
        let err = error(fetch(&cfg, &server.url("/page")).await);
        assert!(
            matches!(err, FetchError::TooLarge { limit, .. } if limit == cfg.max_body_bytes),
            "{encoding}: {err:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(2), "{encoding}: slow");
        let hit = &server.hits()[1];
        let accept = hit.headers.iter().find(|(k, _)| k == "accept-encoding");
        assert!(
            accept.is_some_and(|(_, v)| v.contains(encoding)),
            "{encoding} not offered: {accept:?}"
        );
    }
}

#[tokio::test]
async fn a_small_compressed_body_is_decoded() {
    let html = b"<html><body><p>compressed but honest</p></body></html>".repeat(100);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&html).unwrap();
    let wire = gz.finish().unwrap();
    let server = Hostile::page(move |_| {
        Reply::full(
            200,
            &[("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
            &wire,
        )
    })
    .await;
    let p = page(fetch(&config(), &server.url("/page")).await);
    assert_eq!(p.body, html);
}

/// Headers declaring 1000 bytes, then only 100.
fn short_body() -> Vec<u8> {
    let mut bytes = head(200, &[("Content-Length", "1000")]);
    bytes.extend_from_slice(&[b'z'; 100]);
    bytes
}

#[tokio::test(start_paused = true)]
async fn truncated_bodies_resets_and_garbage_are_transport_errors_retried_a_bounded_number_of_times()
 {
    let cases: [Case; 5] = [
        ("truncated", || Reply::Raw(short_body())),
        ("reset mid-body", || Reply::Reset(short_body())),
        ("reset before any byte", || Reply::Reset(Vec::new())),
        ("not HTTP at all", || {
            Reply::Raw(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\n".to_vec())
        }),
        ("an endless header section", || Reply::Drip {
            head: b"HTTP/1.1 200 OK\r\n".to_vec(),
            chunk: b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".to_vec(),
            every: Duration::from_millis(1),
        }),
    ];
    for (what, reply) in cases {
        let server = Hostile::page(move |_| reply()).await;
        let err = error(fetch(&config(), &server.url("/page")).await);
        assert!(
            matches!(err, FetchError::Transport { .. }),
            "{what}: {err:?}"
        );
        assert_eq!(
            server.count("/page"),
            3,
            "{what}: one attempt + max_retries"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_truncated_body_then_a_whole_one_is_a_page() {
    let server = Hostile::page(|n| {
        if n == 0 {
            Reply::Raw(short_body())
        } else {
            Reply::ok("text/plain", &[b'z'; 1000])
        }
    })
    .await;
    let p = page(fetch(&config(), &server.url("/page")).await);
    assert_eq!(p.body.len(), 1000, "no partial body is ever returned");
    assert_eq!(server.count("/page"), 2);
}

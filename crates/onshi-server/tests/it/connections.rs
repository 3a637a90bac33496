//! Connections over real sockets: idle and half-sent connections beyond the limit do not stop a
//! check from being answered, and connections that send nothing, or go idle, are closed. (The
//! CLI tests hold 20,000 against a running server, from other processes.)

use std::io::{Read, Write};
use std::time::Duration as StdDuration;

use crate::world::*;
use onshi_server::connections::ConnectionSettings;

/// The soft limit on open files of this process (`ulimit -n`), from /proc.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(1024)
}

async fn start(w: &World, settings: ConnectionSettings) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(onshi_server::serve(
        listener,
        w.state.clone(),
        settings,
        std::future::pending(),
    ));
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_make_room_for_a_check() {
    let db = TestDb::sqlite().unwrap();
    let w = World::standard(&db).await;
    let addr = start(
        &w,
        ConnectionSettings {
            max_connections: 100,
            ..ConnectionSettings::default()
        },
    )
    .await;
    // Ten times the limit, where this process may open that many files.
    let wanted = 1_000.min(open_file_limit().saturating_sub(500));
    let opening = std::time::Instant::now();
    // Opened from several threads at once, as many clients would.
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                (t..wanted)
                    .step_by(8)
                    .filter_map(|i| {
                        let mut s = std::net::TcpStream::connect(addr).ok()?;
                        if i % 2 == 0 {
                            // Half a request: a header that never ends.
                            s.write_all(b"POST /v1/eligibility/number HTTP/1.1\r\nHost: x\r\n")
                                .ok()?;
                        }
                        Some(s)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let held: Vec<std::net::TcpStream> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    println!(
        "holding {} idle or half-sent connections (of {wanted} tried), opened in {:?}",
        held.len(),
        opening.elapsed()
    );
    assert!(held.len() * 10 >= wanted * 9, "{} of {wanted}", held.len());

    let body = json!({"insurer_number": "01130012", "symbol": "10", "number": "1",
                      "branch": "00", "birth_date": "1990-05-06", "consultation_date": "2026-11-24"})
    .to_string();
    let request = format!(
        "POST /v1/eligibility/number HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        w.f1,
        body.len()
    );
    let started = std::time::Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s =
            std::net::TcpStream::connect_timeout(&addr, StdDuration::from_secs(30)).unwrap();
        s.set_read_timeout(Some(StdDuration::from_secs(30)))
            .unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    })
    .await
    .unwrap();
    println!("the check was answered in {:?}", started.elapsed());
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"validity_code\":1"), "{answer}");
    drop(held);
    db.cleanup().await;
}

#[tokio::test]
async fn silent_and_idle_connections_are_closed() {
    let db = TestDb::sqlite().unwrap();
    let w = World::standard(&db).await;
    let addr = start(
        &w,
        ConnectionSettings {
            header_read_timeout: StdDuration::from_millis(500),
            idle_timeout: StdDuration::from_millis(800),
            ..ConnectionSettings::default()
        },
    )
    .await;
    let closed_within = |mut s: std::net::TcpStream| {
        tokio::task::spawn_blocking(move || {
            s.set_read_timeout(Some(StdDuration::from_secs(10)))
                .unwrap();
            let started = std::time::Instant::now();
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => all.extend_from_slice(&buf[..n]),
                }
            }
            (
                started.elapsed(),
                String::from_utf8_lossy(&all).into_owned(),
            )
        })
    };
    // Nothing sent: closed after the header time-out, not held.
    let silent = std::net::TcpStream::connect(addr).unwrap();
    let (waited, _) = closed_within(silent).await.unwrap();
    assert!(waited < StdDuration::from_secs(5), "{waited:?}");
    // Half a header: the same.
    let mut half = std::net::TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (waited, _) = closed_within(half).await.unwrap();
    assert!(waited < StdDuration::from_secs(5), "{waited:?}");
    // A kept-alive connection is answered, then closed once idle.
    let mut kept = std::net::TcpStream::connect(addr).unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (waited, answer) = closed_within(kept).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(waited < StdDuration::from_secs(5), "{waited:?}");
    db.cleanup().await;
}

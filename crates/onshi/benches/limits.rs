//! The machine's own limits that onshi's benchmarks are divided by (see BENCHMARKS.md):
//!
//! - `rsa SECONDS`: RSA-2048 PKCS#1 v1.5 / SHA-256 verifications per second on one core, with
//!   aws-lc-rs (the library the server verifies card signatures with); also a full certificate
//!   path validation with a CRL (what a card check costs when the certificate is not yet
//!   remembered) and the whole crypto of a card check with a remembered certificate.
//! - `sqlite-lookups DB MEMBERS_CSV SECONDS CONCURRENCY`: unique-key look-ups per second on an
//!   imported SQLite registry through sqlx (the driver the server uses), the SQLite counterpart of
//!   `pgbench -S`: one prepared `SELECT` by card key, random current members.
//!
//! - `checkup-parse DIR`: the yardstick of checkup imports, over every `*.zip` of DIR on one
//!   thread: documents per second to inflate the DATA entries only; to inflate and run a bare
//!   quick-xml parse over every event (no tree, no validation); and to read and validate them
//!   with `onshi_checkup::import::read_archive` (everything an import does but the store).
//! - `checkup-phases FILE`: where one document's reading goes, in microseconds per document
//!   over 20,000 repetitions of FILE (a `DATA/` document): a bare quick-xml pass, onshi's safe
//!   tree, the document read from the tree, its validation, and its judgements (stratification,
//!   metabolic syndrome, referral, report indicators).
//!
//! Each prints one JSON object. Run with `cargo bench -p onshi --bench limits -- rsa 3`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark fails loudly

use std::time::{Duration, Instant};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use onshi_pki::{Authority, CertKind, StalePolicy, Verifier, challenge_message, verify_signature};
use x509_parser::prelude::{FromDer, X509Certificate};

fn per_second(seconds: f64, mut f: impl FnMut()) -> f64 {
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < budget {
        for _ in 0..16 {
            f();
        }
        n += 16;
    }
    n as f64 / started.elapsed().as_secs_f64()
}

fn rsa(seconds: f64) {
    let now = time::OffsetDateTime::now_utc();
    let ca = Authority::create(CertKind::Card, now - time::Duration::days(10)).unwrap();
    let issued = ca
        .issue(
            now - time::Duration::days(1),
            now + time::Duration::days(100),
        )
        .unwrap();
    let crl = ca
        .crl(
            &[],
            1,
            now - time::Duration::hours(1),
            now + time::Duration::days(1),
        )
        .unwrap();
    let card = onshi_pki::VirtualCard::new(
        CertKind::Card,
        "bench",
        &issued.cert_der,
        &issued.key_pkcs8,
        "1234",
    );
    let message = challenge_message(&[7u8; 32], "1311234567");
    let signature = card.sign(&message).unwrap();
    let (_, parsed) = X509Certificate::from_der(&issued.cert_der).unwrap();
    let spki = parsed.public_key().subject_public_key.data.to_vec();
    let key = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, spki);
    let raw = per_second(seconds, || key.verify(&message, &signature).unwrap());
    let anchors = [(CertKind::Card, ca.cert_pem().as_bytes().to_vec())];
    let crls = [crl];
    let full = per_second(seconds, || {
        // A fresh verifier each time: nothing remembered, the whole path and CRL checked.
        let v = Verifier::new(&anchors, &crls, StalePolicy::Reject, now).unwrap();
        v.verify(&issued.cert_der, now).unwrap();
    });
    let v = Verifier::new(&anchors, &crls, StalePolicy::Reject, now).unwrap();
    let check = per_second(seconds, || {
        let cert = v.verify(&issued.cert_der, now).unwrap();
        verify_signature(&cert, &message, &signature).unwrap();
    });
    println!(
        "{}",
        serde_json::json!({
            "rsa2048_verify_per_second_one_core": raw,
            "full_path_validation_per_second_one_core": full,
            "card_check_crypto_per_second_one_core": check,
        })
    );
}

async fn sqlite_lookups(db: &str, csv: &str, seconds: f64, concurrency: usize) {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use std::str::FromStr;
    let text = std::fs::read_to_string(csv).unwrap();
    let keys: Vec<[String; 4]> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| f.len() > 10 && f[10].is_empty())
        .step_by(7)
        .take(200_000)
        .map(|f| [f[0], f[1], f[2], f[3]].map(str::to_owned))
        .collect();
    drop(text);
    let opts = SqliteConnectOptions::from_str(&format!("sqlite:{db}"))
        .unwrap()
        .read_only(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(opts)
        .await
        .unwrap();
    let keys = std::sync::Arc::new(keys);
    let budget = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (pool, keys) = (pool.clone(), std::sync::Arc::clone(&keys));
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            let mut i = t * 7919;
            while started.elapsed() < budget {
                let k = &keys[i % keys.len()];
                i += 104_729;
                let v: i64 = sqlx::query_scalar(
                    "SELECT current_version FROM members WHERE insurer_number = ? AND symbol = ? AND number = ? AND branch = ?",
                )
                .bind(&k[0])
                .bind(&k[1])
                .bind(&k[2])
                .bind(&k[3])
                .fetch_one(&pool)
                .await
                .unwrap();
                assert!(v >= 1);
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    println!(
        "{}",
        serde_json::json!({
            "sqlite_lookups_per_second": total as f64 / started.elapsed().as_secs_f64(),
            "concurrency": concurrency,
        })
    );
}

fn checkup_parse(dir: &str) {
    use std::io::Read;
    let mut zips: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "zip"))
        .collect();
    zips.sort();
    // Inflate only, then inflate and parse: one pass each over every archive.
    let pass = |parse: bool| -> (u64, u64, f64) {
        let started = Instant::now();
        let (mut docs, mut events) = (0u64, 0u64);
        let mut buf = Vec::new();
        let mut scratch = Vec::new();
        for path in &zips {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i).unwrap();
                if !entry.name().unwrap().contains("/DATA/") {
                    continue;
                }
                buf.clear();
                entry.read_to_end(&mut buf).unwrap();
                docs += 1;
                if parse {
                    let mut reader = quick_xml::Reader::from_reader(&buf[..]);
                    loop {
                        scratch.clear();
                        match reader.read_event_into(&mut scratch).unwrap() {
                            quick_xml::events::Event::Eof => break,
                            _ => events += 1,
                        }
                    }
                }
            }
        }
        (docs, events, started.elapsed().as_secs_f64())
    };
    let (docs, _, inflate) = pass(false);
    let (_, events, parse) = pass(true);
    let started = Instant::now();
    let mut validated = 0u64;
    for path in &zips {
        let name = path.file_name().unwrap().to_str().unwrap();
        let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
        onshi_checkup::import::read_archive(
            file,
            name,
            onshi_checkup::archive::Limits::default(),
            onshi_checkup::codes::CodeTable::fy2024(),
            |_| validated += 1,
        )
        .unwrap();
    }
    let validate = started.elapsed().as_secs_f64();
    assert_eq!(validated, docs);
    println!(
        "{}",
        serde_json::json!({
            "checkup_documents": docs,
            "xml_events": events,
            "inflate_per_second": docs as f64 / inflate,
            "bare_parse_per_second": docs as f64 / parse,
            "read_and_validate_per_second": docs as f64 / validate,
        })
    );
}

fn checkup_phases(path: &str) {
    let bytes = std::fs::read(path).unwrap();
    let n = 20_000u32;
    let micros = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..n {
            f();
        }
        started.elapsed().as_secs_f64() * 1e6 / f64::from(n)
    };
    let bare = micros(&mut || {
        let mut reader = quick_xml::Reader::from_reader(&bytes[..]);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            if let quick_xml::events::Event::Eof = reader.read_event_into(&mut buf).unwrap() {
                break;
            }
        }
    });
    let tree = micros(&mut || {
        std::hint::black_box(onshi_checkup::xml::parse(&bytes).unwrap());
    });
    let root = onshi_checkup::xml::parse(&bytes).unwrap();
    let document = micros(&mut || {
        std::hint::black_box(onshi_checkup::document::read(&root).unwrap());
    });
    let doc = onshi_checkup::document::read(&root).unwrap();
    let table = onshi_checkup::codes::CodeTable::fy2024();
    let validate = micros(&mut || {
        std::hint::black_box(onshi_checkup::validate::validate(&doc, table));
    });
    // What an import adds since migration 20: the judgements (level, metabolic syndrome,
    // referral, report indicators) from the document's items.
    let items: Vec<(&str, &str)> = doc
        .observations
        .iter()
        .filter_map(|o| match &o.value {
            onshi_checkup::document::Value::Quantity { value, .. } => {
                Some((o.code.as_str(), value.as_str()))
            }
            onshi_checkup::document::Value::Coded { code, .. } => {
                Some((o.code.as_str(), code.as_str()))
            }
            _ => None,
        })
        .collect();
    let judge = micros(&mut || {
        std::hint::black_box(onshi_checkup::stratify::judge(
            doc.sex,
            doc.birth_date,
            doc.exam_date,
            items.iter().copied(),
        ));
    });
    println!(
        "{}",
        serde_json::json!({
            "bytes": bytes.len(),
            "observations": doc.observations.len(),
            "bare_parse_us": bare,
            "tree_us": tree,
            "document_us": document,
            "validate_us": validate,
            "judge_us": judge,
        })
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match arg(0) {
        Some("rsa") => rsa(arg(1).and_then(|s| s.parse().ok()).unwrap_or(3.0)),
        Some("sqlite-lookups") => {
            let runtime = tokio::runtime::Runtime::new().unwrap();
            runtime.block_on(sqlite_lookups(
                arg(1).expect("DB"),
                arg(2).expect("MEMBERS_CSV"),
                arg(3).and_then(|s| s.parse().ok()).unwrap_or(10.0),
                arg(4).and_then(|s| s.parse().ok()).unwrap_or(32),
            ));
        }
        Some("checkup-parse") => checkup_parse(arg(1).expect("DIR")),
        Some("checkup-phases") => checkup_phases(arg(1).expect("FILE")),
        _ => eprintln!(
            "usage: limits rsa [SECONDS] | limits sqlite-lookups DB MEMBERS_CSV [SECONDS] [CONCURRENCY] | limits checkup-parse DIR | limits checkup-phases FILE"
        ),
    }
}

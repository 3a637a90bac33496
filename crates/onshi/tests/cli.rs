//! The `onshi` binary end to end: import (UTF-8 and Shift_JIS, refusals, idempotency) on every
//! backend, and the demo answering /healthz.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use onshi_store::testing::TestDb;

const KEY_HEX: &str = "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e";

fn onshi(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_onshi"))
        .args(args)
        .env("ONSHI_LOG", "warn")
        .env("ONSHI_MY_NUMBER_KEY", KEY_HEX)
        .env_remove("ONSHI_DB")
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `onshi agent --once` on the exchange folder `dir`, against `server_url` with `token`.
fn agent_once(server_url: &str, token: &str, dir: &str) -> Output {
    onshi(&[
        "agent",
        "--server",
        server_url,
        "--facility-token",
        token,
        "--dir",
        dir,
        "--once",
    ])
}

const HEADER: &str = "insurer_number,symbol,number,branch,name,name_kana,birth_date,sex,relationship,qualified_from,qualified_until,copay_ratio,my_number";

/// A member file of `n` rows; `bad_line` (1-based file line) gets a wrong insurer check digit.
fn members_csv(n: usize, bad_line: Option<usize>) -> String {
    let mut s = format!("{HEADER}\n");
    for i in 0..n {
        let line = i + 2;
        let insurer = if Some(line) == bad_line {
            "01130013"
        } else {
            "01130012"
        };
        s.push_str(&format!(
            "{insurer},１２,{},0{},山田　太郎,ﾔﾏﾀﾞ ﾀﾛｳ,1980-04-0{},1,本人,20200401,,30,\n",
            100 + i,
            i % 10,
            1 + i % 9
        ));
    }
    s
}

fn write(dir: &Path, name: &str, content: &str, sjis: bool) -> String {
    let path = dir.join(name);
    let bytes = if sjis {
        encoding_rs::SHIFT_JIS.encode(content).0.into_owned()
    } else {
        content.as_bytes().to_vec()
    };
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

async fn counts(db: &TestDb) -> (i64, i64, i64) {
    let store = db.open().await.unwrap();
    let c = store.counts().await.unwrap();
    store.close().await;
    c
}

#[tokio::test]
async fn import_refuses_bad_files_whole_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    for db in TestDb::all().await.unwrap() {
        let url = db.url.as_str();
        let out = onshi(&[
            "insurer",
            "add",
            "--number",
            "01130012",
            "--name",
            "協会けんぽ東京支部",
            "--db",
            url,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("01130012\tonshi_ins_"));

        for sjis in [false, true] {
            let enc = if sjis { "cp932" } else { "utf-8" };
            let tag = format!("{} {enc}", db.backend);
            let bad = write(dir.path(), "bad.csv", &members_csv(8, Some(5)), sjis);
            let good = write(dir.path(), "good.csv", &members_csv(8, None), sjis);
            let before = counts(&db).await;

            let out = onshi(&["import", "members", &bad, "--encoding", enc, "--db", url]);
            assert_eq!(out.status.code(), Some(65), "{tag}");
            let err = text(&out.stderr);
            assert!(
                err.contains("line 5: insurer_number: check digit is 3, expected 2"),
                "{tag}: {err}"
            );
            assert!(err.contains("nothing was imported"), "{err}");
            assert_eq!(
                counts(&db).await,
                before,
                "a refused file leaves the store unchanged ({tag})"
            );

            let out = onshi(&["import", "members", &good, "--encoding", enc, "--db", url]);
            assert!(out.status.success(), "{tag}: {}", text(&out.stderr));
            let expected = if sjis {
                "(0 created, 0 changed, 8 unchanged)"
            } else {
                "(8 created, 0 changed, 0 unchanged)"
            };
            assert!(
                text(&out.stdout).contains(expected),
                "{tag}: {}",
                text(&out.stdout)
            );
            let after_first = counts(&db).await;
            assert_eq!(after_first, (1, 8, 8), "{tag}");

            let out = onshi(&["import", "members", &good, "--encoding", enc, "--db", url]);
            assert!(
                text(&out.stdout).contains("(0 created, 0 changed, 8 unchanged)"),
                "{tag}"
            );
            assert_eq!(
                counts(&db).await,
                after_first,
                "a second import changes nothing ({tag})"
            );
        }

        // Shift_JIS read as UTF-8: one clear error, nothing written.
        let sjis = write(dir.path(), "sjis.csv", &members_csv(3, None), true);
        let out = onshi(&["import", "members", &sjis, "--db", url]);
        assert_eq!(out.status.code(), Some(65));
        assert!(text(&out.stderr).contains(
            "line 2: symbol: not valid UTF-8 (if the file is Shift_JIS, pass --encoding cp932)"
        ));

        // Duplicates, unknown insurers, short rows and bad headers name their lines.
        let mut dup = members_csv(3, None);
        let repeated = dup.lines().nth(2).unwrap().to_owned();
        dup.push_str(&repeated);
        dup.push('\n');
        let unknown = members_csv(2, None).replace("01130012,１２,101", "06138010,１２,101");
        let short = format!("{}01130012,1,2\n", members_csv(1, None));
        let header = members_csv(1, None).replace("copay_ratio", "copay");
        for (name, content, expected) in [
            (
                "dup.csv",
                dup,
                "line 5: number: the same insurer_number, symbol, number and branch as line 3",
            ),
            (
                "unknown.csv",
                unknown,
                "line 3: insurer_number: insurer 06138010 is not registered",
            ),
            (
                "short.csv",
                short,
                "line 3: row: has 3 fields, the header has 13",
            ),
            ("header.csv", header, "line 1: copay: unknown column"),
        ] {
            let path = write(dir.path(), name, &content, false);
            let out = onshi(&["import", "members", &path, "--db", url]);
            assert_eq!(out.status.code(), Some(65), "{name}");
            assert!(
                text(&out.stderr).contains(expected),
                "{name}: {}",
                text(&out.stderr)
            );
        }
        assert_eq!(counts(&db).await, (1, 8, 8));

        // A changed row becomes a new version of that member only.
        let changed = members_csv(8, None).replace(
            "1980-04-03,1,本人,20200401,,30",
            "1980-04-03,1,本人,20200401,2026-03-31,30",
        );
        let path = write(dir.path(), "changed.csv", &changed, false);
        let out = onshi(&["import", "members", &path, "--db", url]);
        assert!(
            text(&out.stdout).contains("(0 created, 1 changed, 7 unchanged)"),
            "{}",
            text(&out.stdout)
        );
        assert_eq!(counts(&db).await, (1, 8, 9));

        // Every member file naming the insurer is in its import log, taken or refused, with
        // its counts or first problems.
        let store = db.open().await.unwrap();
        let insurer = onshi_domain::InsurerNumber::parse("01130012").unwrap();
        let log = store
            .imports_of(&insurer, time::OffsetDateTime::UNIX_EPOCH)
            .await
            .unwrap();
        store.close().await;
        assert!(
            log.iter()
                .all(|r| r.kind == onshi_store::ImportKind::Members)
        );
        let newest = &log[0];
        assert_eq!(newest.source, "changed.csv");
        assert!(newest.imported);
        assert_eq!(
            (
                newest.documents,
                newest.created,
                newest.changed,
                newest.unchanged
            ),
            (8, 0, 1, 7)
        );
        let dup = log.iter().find(|r| r.source == "dup.csv").unwrap();
        assert!(!dup.imported);
        assert_eq!(dup.problems, 1);
        assert!(
            dup.first_problems
                .starts_with("line 5: number: the same insurer_number"),
            "{}",
            dup.first_problems
        );
        let unknown = log.iter().find(|r| r.source == "unknown.csv").unwrap();
        assert!(
            !unknown.imported
                && unknown
                    .first_problems
                    .contains("06138010 is not registered")
        );
        assert_eq!(
            log.iter()
                .filter(|r| r.source == "good.csv" && r.imported)
                .count(),
            4,
            "two imports of the same file in each encoding"
        );

        // The audit log holds, until one row is edited behind onshi's back.
        let out = onshi(&["audit", "verify", "--db", url]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).starts_with("audit log intact: "),
            "{}",
            text(&out.stdout)
        );
        db.execute_raw("UPDATE audit_log SET action = 'nothing' WHERE seq = 2")
            .await
            .unwrap();
        let out = onshi(&["audit", "verify", "--db", url]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr)
                .contains("audit log broken at audit entry 2: its content does not match its hash"),
            "{}",
            text(&out.stderr)
        );
        db.cleanup().await;
    }
}

/// A PostgreSQL server that cannot be reached is named with the reason (at once), not reported
/// as a busy registry after the pool's 30 s. (Port 1 on the loopback: nothing listens there.)
#[test]
fn an_unreachable_database_is_named_with_its_reason() {
    let out = onshi(&[
        "audit",
        "verify",
        "--db",
        "postgres://onshi:secret@127.0.0.1:1/onshi",
    ]);
    let err = text(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot open postgres://onshi:") && err.contains("127.0.0.1:1/onshi"),
        "{err}"
    );
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("busy"), "{err}");
    assert!(
        !err.contains("secret"),
        "the password is not printed: {err}"
    );
}

#[test]
fn demo_serves_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let Demo {
        mut child,
        addr,
        token: facility_token,
        printed: seen,
    } = start_demo_with_members(dir.path(), &[], "12000");
    assert!(seen.contains("9 insurers, 12000 members"), "{seen}");
    // The adoption dashboard starts from the seed's table of 2020-12-13, to the facility and
    // the percent, with nobody operating yet.
    let adoption = || -> serde_json::Value {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .write_all(b"GET /v1/adoption HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"))
    };
    let before = adoption();
    let row = |d: &serde_json::Value, key: &str| {
        let r = if key == "all" {
            d["total"].clone()
        } else {
            d["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["key"] == key)
                .cloned()
                .unwrap()
        };
        (
            r["applied"].as_i64().unwrap(),
            r["facilities"].as_i64().unwrap(),
            r["applied_rate"].as_f64().unwrap(),
            r["operating"].as_i64().unwrap(),
        )
    };
    assert_eq!(row(&before, "all"), (44_466, 228_280, 19.5, 0));
    assert_eq!(row(&before, "hospital"), (2_184, 8_281, 26.4, 0));
    assert_eq!(row(&before, "medical_clinic"), (11_467, 89_151, 12.9, 0));
    assert_eq!(row(&before, "dental_clinic"), (11_166, 70_984, 15.7, 0));
    assert_eq!(row(&before, "pharmacy"), (19_649, 59_864, 32.8, 0));
    assert_eq!(before["total"]["portal_accounts"], 71_963);
    // The reader flow against the demo's cards and facility.
    let server = format!("http://{addr}");
    let reader = |card: &str, auth: &[&str]| {
        let card = dir
            .path()
            .join("cards")
            .join(format!("{card}.json"))
            .display()
            .to_string();
        let mut args = vec![
            "reader",
            "--server",
            &server,
            "--facility-token",
            &facility_token,
            "--card",
            &card,
        ];
        args.extend_from_slice(auth);
        onshi(&args)
    };
    let face_dir = dir.path().join("exchange/face").display().to_string();
    let out = reader(
        "valid",
        &[
            "--face",
            "ok",
            "--consent",
            "medication,limit",
            "--face-dir",
            &face_dir,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("資格有効性 1 有効"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).contains("同意 medication"));
    // The demo's valid card belongs to a holder of a 限度額 certificate, shown with consent.
    assert!(
        text(&out.stdout).contains("限度額適用認定証 区分"),
        "{}",
        text(&out.stdout)
    );
    let pushed: Vec<_> = std::fs::read_dir(&face_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(pushed.len(), 1);
    let name = pushed[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("OQSsiquc01res_face_") && name.ends_with(".xml"),
        "{name}"
    );
    let face_bytes = std::fs::read(&pushed[0]).unwrap();
    let (face, _, _) = encoding_rs::SHIFT_JIS.decode(&face_bytes);
    assert!(
        face.contains("<ReferenceClassification>1</ReferenceClassification>"),
        "{face}"
    );
    assert!(face.contains("<MedicalInstitutionCode>1311234567</MedicalInstitutionCode>"));
    assert!(face.contains("<QualificationValidity>1</QualificationValidity>"));
    assert!(face.contains("<PharmacistsInfoConsFlg>1</PharmacistsInfoConsFlg>"));
    assert!(face.contains(
        "<LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>"
    ));
    assert!(face.contains("<LimitApplicationCertificateRelatedInfo>"));
    // The demo clinic's first card check: it operates now.
    let after = adoption();
    assert_eq!(row(&after, "all"), (44_466, 228_280, 19.5, 1));
    assert_eq!(row(&after, "medical_clinic").3, 1);
    assert_eq!(after["months"][0]["card"], 1);
    let out = reader("smartphone", &["--pin", "1234"]);
    assert!(
        text(&out.stdout).starts_with("資格有効性 1 有効"),
        "{}",
        text(&out.stderr)
    );
    for (card, expected) in [
        ("revoked", "403 certificate-revoked"),
        ("expired", "403 certificate-expired"),
        ("unregistered", "403 not-registered"),
    ] {
        let out = reader(card, &["--face", "ok"]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains(expected),
            "{card}: {}",
            text(&out.stderr)
        );
    }
    let out = reader("moved", &["--face", "ok"]);
    assert!(
        text(&out.stdout).starts_with("資格有効性 1 有効"),
        "{}",
        text(&out.stderr)
    );
    let out = reader("valid", &["--face", "fail"]);
    assert!(text(&out.stderr).contains("nothing was sent to the server"));
    for left in ["2 tries left", "1 tries left", "locked"] {
        let out = reader("valid", &["--pin", "9999"]);
        assert!(text(&out.stderr).contains(left), "{}", text(&out.stderr));
    }
    let out = reader("valid", &["--pin", "1234"]);
    assert!(
        text(&out.stderr).contains("locked"),
        "a locked card stays locked"
    );
    let old = std::fs::read_to_string(dir.path().join("cards/moved-old-card.txt")).unwrap();
    let f: std::collections::HashMap<&str, &str> = old
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let out = onshi(&[
        "check",
        "number",
        "--server",
        &server,
        "--facility-token",
        &facility_token,
        "--insurer",
        f["insurer_number"],
        "--symbol",
        f["symbol"],
        "--number",
        f["number"],
        "--branch",
        f["branch"],
        "--birth-date",
        f["birth_date"],
    ]);
    assert!(
        text(&out.stdout).starts_with("資格有効性 3 無効（新しい資格あり）"),
        "{} {}",
        text(&out.stdout),
        text(&out.stderr)
    );

    // The person signs in to their own pages with the card alone (no facility token): the
    // printed address opens a session and leads to their results.
    let card = dir
        .path()
        .join("cards/smartphone.json")
        .display()
        .to_string();
    // The same person's card gave consents above, twice; each shows once.
    let out = reader(
        "smartphone",
        &["--face", "ok", "--consent", "medication,limit"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = onshi(&[
        "reader",
        "--server",
        &server,
        "--card",
        &card,
        "--face",
        "ok",
        "--portal-login",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let url = printed
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{printed}"));
    let path = url.trim_start_matches(&server);
    let http = |request: String| {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let opened = http(format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert!(opened.starts_with("HTTP/1.1 303"), "{opened}");
    let cookie = opened
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned();
    let page = http(format!(
        "GET /portal/checkups HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(
        page.starts_with("HTTP/1.1 200") && page.contains("あなたの健診結果"),
        "{page}"
    );
    // Their page shows the consents given at the clinic and who looked; one is withdrawn.
    let home = |cookie: &str| {
        http(format!(
            "GET /portal HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        ))
    };
    let page = home(&cookie);
    assert!(
        page.contains("あなたの資格") && page.contains("あなたの情報を見た記録"),
        "{page}"
    );
    let forms = page.matches("action=\"/portal/consents/withdraw\"").count();
    assert_eq!(forms, 2, "medication and limit: {page}");
    let field = |name: &str| {
        let key = format!("name=\"{name}\" value=\"");
        let at = page.find(&key).unwrap() + key.len();
        page[at..at + page[at..].find('"').unwrap()].to_owned()
    };
    let body = format!(
        "csrf={}&facility={}&kind={}",
        field("csrf"),
        field("facility"),
        field("kind")
    );
    let done = http(format!(
        "POST /portal/consents/withdraw HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    assert!(done.contains("の同意を取り消しました"), "{done}");
    let page = home(&cookie);
    assert_eq!(
        page.matches("action=\"/portal/consents/withdraw\"").count(),
        1,
        "{page}"
    );

    // An insurer's staff member signs in with the password and TOTP the demo wrote down, and
    // finds a member in the console.
    let staff = std::fs::read_to_string(dir.path().join("demo-staff.txt")).unwrap();
    let line: Vec<&str> = staff
        .lines()
        .find(|l| l.starts_with("ins"))
        .unwrap()
        .split_whitespace()
        .collect();
    let sign_in = |line: &[&str]| {
        let (login, password, secret) = (line[0], line[2], line[3]);
        let form = http("GET /staff/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into());
        let login_cookie = form
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned();
        let csrf = form
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap()
            .to_owned();
        let code = text(&onshi(&["totp", secret]).stdout).trim().to_owned();
        let body = format!("csrf={csrf}&login={login}&password={password}&code={code}");
        let signed = http(format!(
            "POST /staff/login HTTP/1.1\r\nHost: x\r\nCookie: {login_cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        assert!(signed.starts_with("HTTP/1.1 303"), "{signed}");
        signed
            .lines()
            .filter_map(|l| l.strip_prefix("set-cookie: "))
            .find(|c| c.starts_with("onshi_staff="))
            .and_then(|c| c.split(';').next())
            .unwrap()
            .to_owned()
    };
    let staff_cookie = sign_in(&line);
    let console = http(format!(
        "GET /console/members HTTP/1.1\r\nHost: x\r\nCookie: {staff_cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(
        console.starts_with("HTTP/1.1 200") && console.contains("加入者の検索"),
        "{console}"
    );
    // The demo's three fiscal years of checkups, judged on import, fill the programme page:
    // some year has members examined, so a rate (a percentage) in the table.
    let programme = http(format!(
        "GET /console/programme HTTP/1.1\r\nHost: x\r\nCookie: {staff_cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(
        programme.starts_with("HTTP/1.1 200") && programme.contains("%</td>"),
        "{programme}"
    );
    // The guidance their institutions reported, as guidance archives (実施区分 2) imported at
    // setup, moves last year's 特定保健指導実施率 off zero and shows on its list of targets.
    let recorded: u64 = seen
        .lines()
        .find_map(|l| l.strip_prefix("Recorded "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no guidance recorded at setup: {seen}"));
    assert!(recorded > 0, "{seen}");
    let last_year: Vec<String> = programme
        .split("<th scope=\"row\">2025年度</th>")
        .nth(1)
        .and_then(|t| t.split("</tr>").next())
        .unwrap_or_default()
        .split("<td class=\"num\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(last_year.len(), 13, "{programme}");
    assert!(
        last_year[10].ends_with('%') && last_year[10] != "0.0%",
        "特定保健指導実施率 of 2025: {last_year:?}"
    );
    let targets = http(format!(
        "GET /console/programme/people?year=2025&list=targets HTTP/1.1\r\nHost: x\r\nCookie: {staff_cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(
        targets.starts_with("HTTP/1.1 200") && targets.contains("2025年度 保健指導対象者"),
        "{targets}"
    );
    let rows: Vec<Vec<&str>> = targets
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|r| {
            r.split("</tr>")
                .next()
                .unwrap_or_default()
                .split("<td>")
                .skip(1)
                .map(|c| c.split('<').next().unwrap_or_default())
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "{targets}");
    let started = rows
        .iter()
        .filter(|r| r.len() == 11 && r[8] != "未")
        .count();
    assert!(started > 0, "a first interview on the list: {targets}");
    // Last fiscal year's scoring report, with the published figures of the demo's insurers.
    let report = http(format!(
        "GET /console/report HTTP/1.1\r\nHost: x\r\nCookie: {staff_cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(
        report.starts_with("HTTP/1.1 200") && report.contains("健康スコアリングレポート"),
        "{report}"
    );
    // The demo's population gives the insurer (協会けんぽ 東京支部, over a thousand examined a
    // year) published figures: a share for obesity, an examination rate with its ranks.
    let first_cell = |page: &str, row: &str| {
        page.split(&format!("<th scope=\"row\">{row}</th><td class=\"num\">"))
            .nth(1)
            .and_then(|t| t.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(first_cell(&report, "肥満").ends_with('%'), "{report}");
    assert!(
        first_cell(&report, "特定健診実施率").ends_with('%'),
        "{report}"
    );
    // Ranked among the seven insurers with members aged 40–74 (not the 後期高齢者 ones).
    assert!(report.contains("位／7</td>"), "{report}");
    // The operator sees the national aggregates: every figure of the demo's insurers pooled.
    let line: Vec<&str> = staff
        .lines()
        .find(|l| l.starts_with("operator "))
        .unwrap()
        .split_whitespace()
        .collect();
    let operator_cookie = sign_in(&line);
    let national = http(format!(
        "GET /operator/reports HTTP/1.1\r\nHost: x\r\nCookie: {operator_cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(national.contains("全国集計"), "{national}");
    let all_insurers = |page: &str, row: &str| {
        page.split(&format!("<th scope=\"row\">{row}</th>"))
            .nth(1)
            .and_then(|t| t.split("</tr>").next())
            .and_then(|t| t.rsplit("<td class=\"num\">").next())
            .and_then(|t| t.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(all_insurers(&national, "肥満").ends_with('%'), "{national}");
    // The employer's staff see their workplace's sheet: three years of figures of 100-odd
    // examined employees, against the industry and all workplaces.
    let line: Vec<&str> = staff
        .lines()
        .find(|l| l.starts_with("emp1000 "))
        .unwrap()
        .split_whitespace()
        .collect();
    let employer_cookie = sign_in(&line);
    let sheet = http(format!(
        "GET /employer/sheet HTTP/1.1\r\nHost: x\r\nCookie: {employer_cookie}\r\nConnection: close\r\n\r\n"
    ));
    assert!(
        sheet.starts_with("HTTP/1.1 200") && sheet.contains("事業所カルテ"),
        "{sheet}"
    );
    let obesity = sheet
        .split("<th scope=\"row\">肥満</th>")
        .nth(1)
        .and_then(|t| t.split("</tr>").next())
        .unwrap_or_default();
    assert!(
        obesity.matches('%').count() >= 6,
        "three years of the workplace's and its comparisons' shares: {obesity}"
    );

    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains(r#"{"status":"ok","store":"sqlite","stale_crls":[]}"#),
        "{response}"
    );
    assert!(dir.path().join("my-number.key").exists());
    let tokens = std::fs::read_to_string(dir.path().join("demo-tokens.txt")).unwrap();
    assert_eq!(
        tokens.lines().filter(|l| l.contains("onshi_ins_")).count(),
        9
    );
}

/// The API token of the demo clinic (facility 1311234567).
fn clinic_token(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("demo-tokens.txt"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("1311234567"))
        .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
        .unwrap()
}

/// A running `onshi demo` with 600 members.
struct Demo {
    child: std::process::Child,
    /// host:port it listens on.
    addr: String,
    /// The clinic's facility token.
    token: String,
    /// What it printed before listening.
    printed: String,
}

/// Starts `onshi demo` in `dir` on a free port and waits until it listens.
fn start_demo(dir: &Path) -> Demo {
    start_demo_with(dir, &[])
}

/// [`start_demo`] with extra environment (`ONSHI_CHECK_LIMIT`, say).
fn start_demo_with(dir: &Path, env: &[(&str, &str)]) -> Demo {
    start_demo_with_members(dir, env, "600")
}

/// [`start_demo_with`] with `members` synthetic members.
fn start_demo_with_members(dir: &Path, env: &[(&str, &str)], members: &str) -> Demo {
    let mut child = Command::new(env!("CARGO_BIN_EXE_onshi"))
        .envs(env.iter().copied())
        .args([
            "demo",
            "--dir",
            &dir.display().to_string(),
            "--listen",
            "127.0.0.1:0",
            "--members",
            members,
        ])
        .env("ONSHI_LOG", "warn")
        .env_remove("ONSHI_MY_NUMBER_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(rest) = line.strip_prefix("onshi is listening on http://") {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            return Demo {
                child,
                addr,
                token: clinic_token(dir),
                printed,
            };
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the demo never listened:\n{printed}");
}

#[test]
fn the_agent_answers_every_request_exactly_once_across_a_kill() {
    let demo_dir = tempfile::tempdir().unwrap();
    // 1,000 requests at once are over the default check limit (600 a minute); how the agent
    // waits that out is tested on its own below.
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo_with(demo_dir.path(), &[("ONSHI_CHECK_LIMIT", "0")]);
    let members = std::fs::read_to_string(demo_dir.path().join("demo-members.csv")).unwrap();
    let rows: Vec<Vec<&str>> = members
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    let row = &rows[0];
    // A current member holding a 限度額 certificate (the generator gives ~3 % one).
    let holder = rows
        .iter()
        .find(|r| {
            !r[14].is_empty() && r[10].is_empty() && r[17] <= "2026-11-24" && r[18] >= "2026-11-24"
        })
        .expect("a member with a 限度額 certificate");
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(&req).unwrap();
    let request = |encoding: &str, row: &[&str], consent: &str| {
        format!(
            "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<XmlMsg><MessageHeader><QualificationConfirmationDate>20261124</QualificationConfirmationDate>\
             <MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader><MessageBody><QualificationConfirmSearchInfo>\
             <InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{}</InsuredCardSymbol><InsuredIdentificationNumber>{}</InsuredIdentificationNumber>\
             <InsuredBranchNumber>{}</InsuredBranchNumber><Birthdate>{}</Birthdate><LimitApplicationCertificateRelatedConsFlg>{consent}</LimitApplicationCertificateRelatedConsFlg>\
             </QualificationConfirmSearchInfo></MessageBody></XmlMsg>\n",
            row[0],
            row[1],
            row[2],
            row[3],
            row[6].replace('-', "")
        )
    };
    for i in 0..1000 {
        std::fs::write(
            req.join(format!("OQSsiquc01req_20261124{i:04}.xml")),
            request("UTF-8", row, "0"),
        )
        .unwrap();
    }
    std::fs::write(
        req.join("OQSsiquc01req_20261124limit.xml"),
        request("UTF-8", holder, "1"),
    )
    .unwrap();
    let sjis = encoding_rs::SHIFT_JIS
        .encode(&request("Shift_JIS", row, "0"))
        .0
        .into_owned();
    std::fs::write(req.join("OQSsiquc01req_20261124sjis.xml"), sjis).unwrap();
    std::fs::write(
        req.join("OQSsiquc01req_20261124bad.xml"),
        "<XmlMsg><MessageHeader>",
    )
    .unwrap();
    // A kind onshi does not serve (照会番号 registration): answered, with the header echoed.
    std::fs::write(
        req.join("OQSsiimm01req_20261124.xml"),
        "<XmlMsg><MessageHeader><MedicalInstitutionCode>1311234567</MedicalInstitutionCode>\
         <ArbitraryFileIdentifier>afi-imm</ArbitraryFileIdentifier></MessageHeader><MessageBody/></XmlMsg>",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));

    let server_url = format!("http://{addr}");
    let agent_args = [
        "agent",
        "--server",
        &server_url,
        "--facility-token",
        &token,
        "--dir",
        &exchange.path().display().to_string(),
    ];
    let mut agent = Command::new(env!("CARGO_BIN_EXE_onshi"))
        .args(agent_args)
        .env("ONSHI_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let res = exchange.path().join("res");
    let count = |d: &Path| std::fs::read_dir(d).map(|r| r.count()).unwrap_or(0);
    while count(&res) < 300 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    agent.kill().unwrap(); // SIGKILL, mid-burst
    let _ = agent.wait();
    assert!(count(&res) < 1003, "killed before the end");

    let mut args = agent_args.to_vec();
    args.push("--once");
    let out = onshi(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    server.kill().unwrap();
    let _ = server.wait();

    assert_eq!(count(&res), 1004, "one answer per request");
    assert_eq!(count(&req), 0);
    assert_eq!(count(&exchange.path().join("done")), 1004);
    for i in [0, 499, 999] {
        let answer =
            std::fs::read_to_string(res.join(format!("OQSsiquc01res_20261124{i:04}.xml"))).unwrap();
        assert!(
            answer.contains("<SegmentOfResult>1</SegmentOfResult>"),
            "{answer}"
        );
        assert!(answer.contains(&format!(
            "<InsuredIdentificationNumber>{}</InsuredIdentificationNumber>",
            row[2]
        )));
        assert!(!answer.contains("LimitApplicationCertificateRelatedConsTime"));
        assert!(!answer.contains("LimitApplicationCertificateRelatedInfo"));
    }
    // With the consent flag, the holder's certificate as the insurer recorded it.
    let limit = std::fs::read_to_string(res.join("OQSsiquc01res_20261124limit.xml")).unwrap();
    for (element, value) in [
        ("LimitApplicationCertificateRelatedConsFlg", "1"),
        ("LimitApplicationCertificateClassification", holder[14]),
        ("LimitApplicationCertificateClassificationFlag", holder[15]),
        (
            "LimitApplicationCertificateValidStartDate",
            &holder[17].replace('-', ""),
        ),
    ] {
        assert!(
            limit.contains(&format!("<{element}>{value}</{element}>")),
            "{element} in {limit}"
        );
    }
    let sjis_answer = std::fs::read(res.join("OQSsiquc01res_20261124sjis.xml")).unwrap();
    let (decoded, _, bad) = encoding_rs::SHIFT_JIS.decode(&sjis_answer);
    assert!(
        !bad && decoded.contains("encoding=\"Shift_JIS\"")
            && decoded.contains("<CharacterCodeIdentifier>1</CharacterCodeIdentifier>")
    );
    // In Shift_JIS, and with the full-width space the terminal writes between family and
    // given name.
    assert!(
        decoded.contains(&format!("<Name>{}</Name>", row[4].replace(' ', "\u{3000}"))),
        "{decoded}"
    );
    let bad = std::fs::read_to_string(res.join("OQSsiquc01res_20261124bad.xml")).unwrap();
    assert!(
        bad.contains("<SegmentOfResult>9</SegmentOfResult>")
            && bad.contains("<ErrorCode>ONS0001</ErrorCode>")
            && bad.contains("<ResultCode>ONS0001</ResultCode>")
    );
    let unserved = std::fs::read_to_string(res.join("OQSsiimm01res_20261124.xml")).unwrap();
    for part in [
        "<ErrorCode>ONS0002</ErrorCode>",
        "<ResultCode>ONS0002</ResultCode>",
        "<MessageContents>unknown request file name",
        "<MedicalInstitutionCode>1311234567</MedicalInstitutionCode>",
        "<ArbitraryFileIdentifier>afi-imm</ArbitraryFileIdentifier>",
    ] {
        assert!(unserved.contains(part), "{part}: {unserved}");
    }
}

#[test]
fn the_agent_keeps_requests_while_the_server_is_down() {
    // A port with nothing listening, then the demo started on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(&req).unwrap();
    std::fs::write(
        req.join("OQSsiquc01req_1.xml"),
        "<XmlMsg><MessageHeader><MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader><MessageBody>\
         <QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber><InsuredIdentificationNumber>999999</InsuredIdentificationNumber>\
         <InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>19700101</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let demo_dir = tempfile::tempdir().unwrap();
    // Tokens exist only once the demo has set up; set it up first without serving.
    let out = Command::new(env!("CARGO_BIN_EXE_onshi"))
        .args([
            "demo",
            "--dir",
            &demo_dir.path().display().to_string(),
            "--members",
            "600",
            "--no-serve",
        ])
        .env("ONSHI_LOG", "warn")
        .env_remove("ONSHI_MY_NUMBER_KEY")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = clinic_token(demo_dir.path());
    let server_url = format!("http://127.0.0.1:{port}");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_onshi"))
        .args([
            "agent",
            "--server",
            &server_url,
            "--facility-token",
            &token,
            "--dir",
            &exchange.path().display().to_string(),
            "--once",
        ])
        .env("ONSHI_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        req.join("OQSsiquc01req_1.xml").exists(),
        "kept while the server is down"
    );
    assert!(!exchange.path().join("res/OQSsiquc01res_1.xml").exists());

    let mut server = Command::new(env!("CARGO_BIN_EXE_onshi"))
        .args([
            "demo",
            "--dir",
            &demo_dir.path().display().to_string(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("ONSHI_LOG", "warn")
        .env_remove("ONSHI_MY_NUMBER_KEY")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let status = agent.wait().unwrap(); // --once: exits once the queue is answered
    server.kill().unwrap();
    let _ = server.wait();
    assert!(status.success());
    let answer = std::fs::read_to_string(exchange.path().join("res/OQSsiquc01res_1.xml")).unwrap();
    assert!(
        answer.contains("<QualificationValidity>4</QualificationValidity>"),
        "{answer}"
    );
    assert!(
        answer.contains("遅延して応答しました"),
        "the answer says it was delayed: {answer}"
    );
}

#[test]
fn the_agent_runs_both_phases_of_a_bulk_lookup() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo(demo_dir.path());
    let members = std::fs::read_to_string(demo_dir.path().join("demo-members.csv")).unwrap();
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(&req).unwrap();
    let mut body = String::new();
    for (n, line) in members.lines().skip(1).take(3).enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        body.push_str(&format!(
            "<QualificationConfirmSearchInfo><InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{}</InsuredCardSymbol>\
             <InsuredIdentificationNumber>{}</InsuredIdentificationNumber><InsuredBranchNumber>{}</InsuredBranchNumber>\
             <Birthdate>{}</Birthdate><LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>\
             <ArbitraryIdentifier>患者-{n}</ArbitraryIdentifier></QualificationConfirmSearchInfo>",
            f[0], f[1], f[2], f[3], f[6].replace('-', "")
        ));
    }
    let upload = format!(
        "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg><MessageHeader><QualificationConfirmationDate>20261124</QualificationConfirmationDate>\
         <MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader><MessageBody>{body}</MessageBody></XmlMsg>"
    );
    std::fs::write(
        req.join("OQSmuquc01req_1.xml"),
        encoding_rs::SHIFT_JIS.encode(&upload).0,
    )
    .unwrap();
    // Another facility's file in this facility's folder: refused by the agent, never sent.
    std::fs::write(
        req.join("OQSmuquc01req_2.xml"),
        encoding_rs::SHIFT_JIS
            .encode(&upload.replace("1311234567", "1311111111"))
            .0,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let server_url = format!("http://{addr}");
    let dir = exchange.path().display().to_string();
    let agent = || {
        onshi(&[
            "agent",
            "--server",
            &server_url,
            "--facility-token",
            &token,
            "--dir",
            &dir,
            "--facility",
            "1311234567",
            "--once",
        ])
    };
    assert!(agent().status.success());
    let foreign = std::fs::read_to_string(exchange.path().join("res/OQSmuquc01res_2.xml")).unwrap();
    assert!(
        foreign.contains("<ErrorCode>ONS0004</ErrorCode>") && foreign.contains("1311111111"),
        "{foreign}"
    );
    let receipt = std::fs::read(exchange.path().join("res/OQSmuquc01res_1.xml")).unwrap();
    let (receipt, _, _) = encoding_rs::SHIFT_JIS.decode(&receipt);
    let number = receipt
        .split("<ReceptionNumber>")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .unwrap()
        .to_owned();
    assert_eq!(number.len(), 20, "{receipt}");

    let mut answer = String::new();
    for attempt in 0..50 {
        let download = format!(
            "<XmlMsg><MessageHeader><MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader>\
             <MessageBody><ReceptionNumber>{number}</ReceptionNumber></MessageBody></XmlMsg>"
        );
        std::fs::write(req.join(format!("OQSmuquc02req_{attempt}.xml")), download).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(agent().status.success());
        answer = std::fs::read_to_string(
            exchange
                .path()
                .join(format!("res/OQSmuquc02res_{attempt}.xml")),
        )
        .unwrap();
        if answer.contains("<SegmentOfResult>1</SegmentOfResult>") {
            break;
        }
        assert!(
            answer.contains("<SegmentOfResult>2</SegmentOfResult>"),
            "processing: {answer}"
        );
    }
    server.kill().unwrap();
    let _ = server.wait();
    assert!(
        answer.contains("<NumberOfProcessingResult>3</NumberOfProcessingResult>"),
        "{answer}"
    );
    // A reception number that would name another route is refused, not sent.
    std::fs::write(
        req.join("OQSmuquc02req_escape.xml"),
        "<XmlMsg><MessageHeader><MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader>\
         <MessageBody><ReceptionNumber>../../healthz?</ReceptionNumber></MessageBody></XmlMsg>",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(agent().status.success());
    let escaped =
        std::fs::read_to_string(exchange.path().join("res/OQSmuquc02res_escape.xml")).unwrap();
    assert!(
        escaped.contains("<ErrorCode>ONS0003</ErrorCode>") && escaped.contains("ReceptionNumber"),
        "{escaped}"
    );
    assert_eq!(answer.matches("<BulkConfirmUnit>").count(), 3);
    // Rows come back in upload order with the identifier the receipt computer maps them by,
    // and the consent flag as sent.
    for n in 0..3 {
        assert!(
            answer.contains(&format!(
                "<ArbitraryIdentifier>患者-{n}</ArbitraryIdentifier>"
            )),
            "{answer}"
        );
    }
    assert_eq!(
        answer
            .matches(
                "<LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>"
            )
            .count(),
        3
    );
    assert!(answer.contains("<QualificationValidity>"));
}

/// `onshi audit key`, `checkpoint` and `verify --checkpoints`: a key kept apart (0600, never
/// overwritten), checkpoints that each verify the log before signing, a log that only grows
/// passing, and a tampered checkpoint or a log emptied since (here: another, fresh database
/// given the same checkpoints) refused.
#[tokio::test]
async fn audit_checkpoints_are_signed_kept_and_held_to() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("keys/audit.key");
    let key_s = key.display().to_string();
    let pub_s = format!("{key_s}.pub");
    let checkpoints = dir.path().join("checkpoints");
    let out = onshi(&["audit", "key", "--out", &key_s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!onshi(&["audit", "key", "--out", &key_s]).status.success());

    for db in TestDb::all().await.unwrap() {
        let url = db.url.as_str();
        let cps = checkpoints.join(db.backend);
        let cps_s = cps.display().to_string();
        let add = |number: &str, name: &str| {
            onshi(&[
                "insurer", "add", "--number", number, "--name", name, "--db", url,
            ])
        };
        assert!(add("01130012", "協会けんぽ").status.success());
        let checkpoint = || {
            onshi(&[
                "audit",
                "checkpoint",
                "--key",
                &key_s,
                "--dir",
                &cps_s,
                "--db",
                url,
            ])
        };
        let out = checkpoint();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains("signed checkpoint"),
            "{}",
            text(&out.stdout)
        );
        let members = write(dir.path(), "m.csv", &members_csv(5, None), false);
        assert!(
            onshi(&["import", "members", &members, "--db", url])
                .status
                .success()
        );
        let out = checkpoint();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let verify = |db_url: &str| {
            onshi(&[
                "audit",
                "verify",
                "--db",
                db_url,
                "--checkpoints",
                &cps_s,
                "--public-key",
                &pub_s,
            ])
        };
        let out = verify(url);
        assert!(
            out.status.success(),
            "{} ({})",
            text(&out.stderr),
            db.backend
        );
        assert!(
            text(&out.stdout).contains("consistent with 2 signed checkpoints"),
            "{}",
            text(&out.stdout)
        );

        // A database without those entries (an emptied log, as far as verification can tell).
        let fresh = if db.backend == "sqlite" {
            format!("sqlite:{}", dir.path().join("fresh.db").display())
        } else {
            url.to_owned()
        };
        if fresh != url {
            let out = verify(&fresh);
            assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
            assert!(
                text(&out.stderr).contains("emptied"),
                "{}",
                text(&out.stderr)
            );
        }

        // A checkpoint altered on disk is refused by name.
        let first = std::fs::read_dir(&cps)
            .unwrap()
            .map(|e| e.unwrap().path())
            .min()
            .unwrap();
        let original = std::fs::read_to_string(&first).unwrap();
        std::fs::write(&first, original.replacen("\n0\n", "\n1\n", 1)).unwrap();
        let out = verify(url);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("altered"),
            "{}",
            text(&out.stderr)
        );
        std::fs::write(&first, original).unwrap();
        db.cleanup().await;
    }
}

/// Nothing in `req/` stops the agent: a directory, a FIFO, a link to a device and a 2 GB file
/// named like requests each get an error answer and are set aside in `error/`, unread (the
/// sparse file is never read, the FIFO never opened), and the valid request queued behind them
/// is answered.
#[cfg(unix)]
#[test]
fn nothing_in_the_request_folder_stops_the_agent() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo(demo_dir.path());
    let members = std::fs::read_to_string(demo_dir.path().join("demo-members.csv")).unwrap();
    let row: Vec<&str> = members.lines().nth(1).unwrap().split(',').collect();
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(req.join("OQSsiquc01req_1dir.xml")).unwrap();
    let fifo = req.join("OQSsiquc01req_2fifo.xml");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink("/dev/zero", req.join("OQSsiquc01req_3zero.xml")).unwrap();
    let big = std::fs::File::create(req.join("OQSsiquc01req_4big.xml")).unwrap();
    big.set_len(2 << 30).unwrap();
    drop(big);
    // A single look-up of the member on `r` (a row of the demo's member file).
    let request = |r: &[&str]| {
        format!(
            "<XmlMsg><MessageHeader><QualificationConfirmationDate>20261124</QualificationConfirmationDate>\
             <MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader><MessageBody>\
             <QualificationConfirmSearchInfo><InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{}</InsuredCardSymbol>\
             <InsuredIdentificationNumber>{}</InsuredIdentificationNumber><InsuredBranchNumber>{}</InsuredBranchNumber>\
             <Birthdate>{}</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>",
            r[0],
            r[1],
            r[2],
            r[3],
            r[6].replace('-', "")
        )
    };
    std::fs::write(req.join("OQSsiquc01req_5ok.xml"), request(&row)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let server_url = format!("http://{addr}");
    let dir = exchange.path().display().to_string();
    let agent = || agent_once(&server_url, &token, &dir);
    let out = agent();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let res = exchange.path().join("res");
    // Answers come in the request's encoding; the refusals (unread) in Shift_JIS.
    let answer = |name: &str| {
        let bytes = std::fs::read(res.join(name)).unwrap();
        if bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"UTF-8\"") {
            String::from_utf8(bytes).unwrap()
        } else {
            encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
        }
    };
    for (name, code) in [
        ("OQSsiquc01res_1dir.xml", "ONS0005"),
        ("OQSsiquc01res_2fifo.xml", "ONS0005"),
        ("OQSsiquc01res_3zero.xml", "ONS0005"),
        ("OQSsiquc01res_4big.xml", "ONS0006"),
    ] {
        let a = answer(name);
        assert!(
            a.contains(&format!("<ErrorCode>{code}</ErrorCode>")),
            "{name}: {a}"
        );
        let base = name.replace("res_", "req_");
        assert!(
            std::fs::symlink_metadata(exchange.path().join("error").join(&base)).is_ok(),
            "{base} set aside in error/"
        );
    }
    assert!(
        answer("OQSsiquc01res_5ok.xml")
            .contains("<ProcessingResultStatus>1</ProcessingResultStatus>"),
        "the valid request behind them is answered"
    );
    assert_eq!(std::fs::read_dir(&req).unwrap().count(), 0, "req/ is empty");

    // A request still being written (not yet well-formed, just modified) waits for its end
    // instead of being answered as malformed.
    let complete =
        std::fs::read_to_string(exchange.path().join("done/OQSsiquc01req_5ok.xml")).unwrap();
    let partial = req.join("OQSsiquc01req_6slow.xml");
    std::fs::write(&partial, &complete[..complete.len() / 2]).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let slow_agent = Command::new(env!("CARGO_BIN_EXE_onshi"))
        .args([
            "agent",
            "--server",
            &server_url,
            "--facility-token",
            &token,
            "--dir",
            &dir,
            "--once",
            "--poll-ms",
            "100",
        ])
        .env("ONSHI_LOG", "warn")
        .env("ONSHI_MY_NUMBER_KEY", KEY_HEX)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    std::fs::write(&partial, &complete).unwrap();
    let status = slow_agent.wait_with_output().unwrap();
    assert!(status.status.success());
    let slow = answer("OQSsiquc01res_6slow.xml");
    assert!(
        slow.contains("<ProcessingResultStatus>1</ProcessingResultStatus>"),
        "answered once complete, not as malformed: {slow}"
    );

    // The client reuses a name for another patient while the old answer is still in res/: the
    // new request is answered and the old answer replaced, never left under that name.
    let other: Vec<&str> = members.lines().nth(2).unwrap().split(',').collect();
    std::fs::write(req.join("OQSsiquc01req_5ok.xml"), request(&other)).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = agent();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = answer("OQSsiquc01res_5ok.xml");
    let name_of = |r: &[&str]| format!("<Name>{}</Name>", r[4].replace(' ', "\u{3000}"));
    assert!(
        again.contains(&name_of(&other)) && !again.contains(&name_of(&row)),
        "the reused name holds the new patient's answer: {again}"
    );
    server.kill().unwrap();
    let _ = server.wait();
}

/// The documented maximum bulk upload, 50,000 rows with every optional element, goes through
/// the agent: the file (about 21 MB) is read, sent as one request and answered with a receipt.
#[test]
fn the_agent_uploads_fifty_thousand_rows() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo(demo_dir.path());
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(&req).unwrap();
    let mut body = String::with_capacity(24 << 20);
    for i in 0..50_000 {
        body.push_str(&format!(
            "<QualificationConfirmSearchInfo><InsurerNumber>01130012</InsurerNumber>\
             <InsuredCardSymbol>10</InsuredCardSymbol><InsuredIdentificationNumber>{}</InsuredIdentificationNumber>\
             <InsuredBranchNumber>00</InsuredBranchNumber><Birthdate>19900506</Birthdate>\
             <LimitApplicationCertificateRelatedConsFlg>0</LimitApplicationCertificateRelatedConsFlg>\
             <ArbitraryIdentifier>{i:08}{}</ArbitraryIdentifier></QualificationConfirmSearchInfo>",
            100_000 + i,
            "x".repeat(92)
        ));
    }
    let upload = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><XmlMsg><MessageHeader>\
         <QualificationConfirmationDate>20261124</QualificationConfirmationDate>\
         <MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader>\
         <MessageBody>{body}</MessageBody></XmlMsg>"
    );
    assert!(upload.len() > 20 << 20, "{} bytes", upload.len());
    std::fs::write(req.join("OQSmuquc01req_big.xml"), upload).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let server_url = format!("http://{addr}");
    let dir = exchange.path().display().to_string();
    let out = agent_once(&server_url, &token, &dir);
    server.kill().unwrap();
    let _ = server.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let receipt =
        std::fs::read_to_string(exchange.path().join("res/OQSmuquc01res_big.xml")).unwrap();
    assert!(
        receipt.contains("<ReceptionNumber>") && !receipt.contains("<ErrorCode>"),
        "{receipt}"
    );
}

/// Over the check limit the agent keeps requests queued and answers them once the server lets
/// it (late, not refused); over the mismatch limit (look-ups matching no one: a scan of card
/// numbers) the request gets an error answer, ONS0102, with no personal data.
#[test]
fn the_agent_waits_out_the_check_limit_and_answers_the_mismatch_limit() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo_with(
        demo_dir.path(),
        &[("ONSHI_CHECK_LIMIT", "60"), ("ONSHI_MISMATCH_LIMIT", "3")],
    );
    let members = std::fs::read_to_string(demo_dir.path().join("demo-members.csv")).unwrap();
    let row: Vec<&str> = members.lines().nth(1).unwrap().split(',').collect();
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(&req).unwrap();
    let request = |number: &str, birth: &str| {
        format!(
            "<XmlMsg><MessageHeader><QualificationConfirmationDate>20261124</QualificationConfirmationDate>\
             <MedicalInstitutionCode>1311234567</MedicalInstitutionCode></MessageHeader><MessageBody>\
             <QualificationConfirmSearchInfo><InsurerNumber>{}</InsurerNumber><InsuredCardSymbol>{}</InsuredCardSymbol>\
             <InsuredIdentificationNumber>{number}</InsuredIdentificationNumber><InsuredBranchNumber>{}</InsuredBranchNumber>\
             <Birthdate>{birth}</Birthdate></QualificationConfirmSearchInfo></MessageBody></XmlMsg>",
            row[0], row[1], row[3]
        )
    };
    let birth = row[6].replace('-', "");
    // 64 real look-ups (four over the burst of 60), then four of a card number with guessed
    // birth dates: three answered 該当資格なし, the fourth refused.
    for i in 0..64 {
        std::fs::write(
            req.join(format!("OQSsiquc01req_a{i:03}.xml")),
            request(row[2], &birth),
        )
        .unwrap();
    }
    for i in 0..4 {
        std::fs::write(
            req.join(format!("OQSsiquc01req_z{i}.xml")),
            request(row[2], &format!("1901010{}", i + 1)),
        )
        .unwrap();
    }
    // A look-up without its birth date is answered at once, naming the element.
    std::fs::write(
        req.join("OQSsiquc01req_0nobirth.xml"),
        request(row[2], "").replace("<Birthdate></Birthdate>", ""),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = agent_once(
        &format!("http://{addr}"),
        &token,
        &exchange.path().display().to_string(),
    );
    server.kill().unwrap();
    let _ = server.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("more slowly"),
        "the wait is logged: {}",
        text(&out.stderr)
    );
    let res = exchange.path().join("res");
    let answer = |name: &str| std::fs::read_to_string(res.join(name)).unwrap();
    let nobirth = answer("OQSsiquc01res_0nobirth.xml");
    assert!(
        nobirth.contains("<ErrorCode>ONS0003</ErrorCode>"),
        "{nobirth}"
    );
    assert!(nobirth.contains("Birthdate"), "{nobirth}");
    for i in 0..64 {
        let a = answer(&format!("OQSsiquc01res_a{i:03}.xml"));
        assert!(
            a.contains("<SegmentOfResult>1</SegmentOfResult>"),
            "{i}: {a}"
        );
        assert!(
            a.contains("<QualificationValidity>1</QualificationValidity>"),
            "{i}: {a}"
        );
    }
    for i in 0..3 {
        let a = answer(&format!("OQSsiquc01res_z{i}.xml"));
        assert!(
            a.contains("<QualificationValidity>4</QualificationValidity>"),
            "{a}"
        );
        assert!(!a.contains("<Name>"), "{a}");
    }
    let refused = answer("OQSsiquc01res_z3.xml");
    assert!(
        refused.contains("<ErrorCode>ONS0102</ErrorCode>"),
        "{refused}"
    );
    assert!(!refused.contains("<Name>"), "{refused}");
}

/// The status of `GET path` at `addr` with `token`.
fn get_status(addr: &str, path: &str, token: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A leaked facility token is revoked with one command, and a running server refuses it within
/// about a second; a rotated token keeps the old one working for its grace period.
#[test]
fn a_facility_token_is_rotated_and_revoked_on_a_running_server() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo(demo_dir.path());
    let db = format!("sqlite:{}", demo_dir.path().join("onshi.db").display());
    let tokens = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_onshi"))
            .args(args)
            .args(["--db", &db, "--operator", "ops"])
            .env("ONSHI_LOG", "warn")
            .env_remove("ONSHI_MY_NUMBER_KEY")
            .env_remove("ONSHI_DB")
            .output()
            .unwrap()
    };
    // 404: no such bulk look-up, so the token was accepted.
    let probe = "/v1/bulk-checks/none";
    assert_eq!(get_status(&addr, probe, &token), 404);
    let out = tokens(&[
        "facility",
        "token",
        "rotate",
        "--code",
        "1311234567",
        "--grace",
        "1h",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    let new = line.split('\t').nth(1).unwrap().trim().to_owned();
    assert!(new.starts_with("onshi_fac_"), "{line}");
    assert!(
        text(&out.stderr).contains("1 previous token(s) work until"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        get_status(&addr, probe, &token),
        404,
        "the old one in its grace period"
    );
    assert_eq!(get_status(&addr, probe, &new), 404);

    let out = tokens(&["facility", "token", "revoke", "--code", "1311234567"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 token(s) revoked"),
        "{}",
        text(&out.stdout)
    );
    let refused = (0..40).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        get_status(&addr, probe, &new) == 401 && get_status(&addr, probe, &token) == 401
    });
    assert!(refused, "a revoked token is refused within a few seconds");

    // An unknown facility is named; nothing changes.
    let out = tokens(&["facility", "token", "revoke", "--code", "1311111112"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("facility not found"),
        "{}",
        text(&out.stderr)
    );
    server.kill().unwrap();
    let _ = server.wait();
}

/// Holds `count` connections to `addr` open from a child process (so the test's own open-file
/// limit is not what counts), every other one with half a request header; prints how many it
/// opened and holds them until its stdin closes.
const HOLDER: &str = r#"
import socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
held = []
for i in range(count):
    try:
        s = socket.create_connection((host, port), timeout=10)
        if i % 2 == 0:
            s.sendall(b"POST /v1/eligibility/number HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    except OSError:
        pass
print(len(held), flush=True)
sys.stdin.read()
"#;

/// 20,000 idle or half-sent connections, from two processes, without a token, do not stop a
/// running server from answering a check: at its connection limit the connection idle longest
/// makes room for each new one.
#[test]
fn twenty_thousand_idle_connections_do_not_stop_a_check() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo_with(demo_dir.path(), &[("ONSHI_MAX_CONNECTIONS", "1000")]);
    let (host, port) = addr.rsplit_once(':').unwrap();
    let mut holders: Vec<std::process::Child> = (0..2)
        .map(|_| {
            Command::new("python3")
                .args(["-c", HOLDER, host, port, "10000"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3 runs the connection holders")
        })
        .collect();
    let held: usize = holders
        .iter_mut()
        .map(|h| {
            let mut line = String::new();
            BufReader::new(h.stdout.as_mut().unwrap())
                .read_line(&mut line)
                .unwrap();
            line.trim().parse::<usize>().unwrap()
        })
        .sum();
    println!("{held} connections opened and held");
    assert_eq!(held, 20_000);

    let members = std::fs::read_to_string(demo_dir.path().join("demo-members.csv")).unwrap();
    let row = members
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|r| r[10].is_empty())
        .unwrap();
    let started = std::time::Instant::now();
    let out = onshi(&[
        "check",
        "number",
        "--server",
        &format!("http://{addr}"),
        "--facility-token",
        &token,
        "--insurer",
        row[0],
        "--symbol",
        row[1],
        "--number",
        row[2],
        "--branch",
        row[3],
        "--birth-date",
        row[6],
    ]);
    println!("the check was answered in {:?}", started.elapsed());
    for mut h in holders {
        drop(h.stdin.take());
        let _ = h.wait();
    }
    server.kill().unwrap();
    let _ = server.wait();
    assert!(
        text(&out.stdout).starts_with("資格有効性 1"),
        "{} {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// A checkup archive (`root` its folder) of `docs`, with its index.
fn checkup_archive(path: &Path, root: &str, docs: &[String]) {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    w.start_file(format!("{root}/ix08_V08.xml"), SimpleFileOptions::default())
        .unwrap();
    w.write_all(
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><index xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html"><interactionType code="1"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender><receiver><id root="1.2.392.200119.6.101" extension="00280081"/></receiver><serviceEventType code="1"/><totalRecordCount value="{}"/></index>"#,
            docs.len()
        )
        .as_bytes(),
    )
    .unwrap();
    for (i, doc) in docs.iter().enumerate() {
        w.start_file(
            format!("{root}/DATA/h5521111111202405271{i:07}.xml"),
            SimpleFileOptions::default(),
        )
        .unwrap();
        w.write_all(doc.as_bytes()).unwrap();
    }
    w.finish().unwrap();
}

/// `onshi import checkups`: an archive is imported whole, again changes nothing, and one bad
/// document refuses it whole with the file and item named.
#[test]
fn checkup_archives_are_imported_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("c.db").display());
    let complete = include_str!("../../onshi-checkup/tests/fixtures/hc08-complete.xml");
    let person = |n: u32| complete.replace(r#"extension="5678""#, &format!(r#"extension="{n}""#));
    let root = "5521111111_00280081_202405271_1";
    let good = dir.path().join(format!("{root}.zip"));
    checkup_archive(&good, root, &[person(1), person(2), person(3)]);
    let import = |path: &Path| {
        onshi(&[
            "import",
            "checkups",
            &path.display().to_string(),
            "--db",
            &db,
        ])
    };

    let out = import(&good);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("3 checkups (0 linked, 3 to match, 0 corrected, 0 unchanged)"),
        "{}",
        text(&out.stdout)
    );
    let out = import(&good);
    assert!(
        text(&out.stdout).contains("3 unchanged"),
        "{}",
        text(&out.stdout)
    );

    let bad_dir = tempfile::tempdir().unwrap();
    let bad = bad_dir.path().join(format!("{root}.zip"));
    checkup_archive(
        &bad,
        root,
        &[
            person(4),
            person(5).replace("9N006000000000001", "9N006000000000009"),
        ],
    );
    let out = import(&bad);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "{root}/DATA/h55211111112024052710000001.xml: observation[code=9N006000000000009]"
        )),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    // Person 4's valid document was not kept: imported alone now, it is new.
    let only = tempfile::tempdir().unwrap();
    let only = only.path().join(format!("{root}.zip"));
    checkup_archive(&only, root, &[person(4)]);
    let out = import(&only);
    assert!(
        text(&out.stdout).contains("1 checkups (0 linked, 1 to match"),
        "{}",
        text(&out.stdout)
    );
    // A name off the rule is refused before anything is read.
    let misnamed = dir.path().join("results.zip");
    std::fs::copy(&good, &misnamed).unwrap();
    let out = import(&misnamed);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("results.zip: an archive's name is"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn employers_and_institutions_are_registered_with_tokens_and_bad_options_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("e.db").display());
    let out = onshi(&[
        "insurer",
        "add",
        "--number",
        "01130012",
        "--name",
        "協会けんぽ",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let add_employer = |industry: &str| {
        onshi(&[
            "employer",
            "add",
            "--insurer",
            "01130012",
            "--code",
            "1001",
            "--name",
            "オンシ製作所",
            "--industry",
            industry,
            "--prefecture",
            "13",
            "--operator",
            "tester",
            "--db",
            &db,
        ])
    };
    let out = add_employer("Z");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--industry"),
        "{}",
        text(&out.stderr)
    );
    let out = add_employer("E");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.starts_with("01130012/1001\tonshi_emp_"), "{line}");
    let out = add_employer("E");
    assert!(!out.status.success(), "the code is taken");
    let out = onshi(&[
        "institution",
        "add",
        "--number",
        "1312345678",
        "--name",
        "健診センター",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("1312345678\tonshi_ckp_"));
    let out = onshi(&[
        "institution",
        "token",
        "rotate",
        "--number",
        "1312345678",
        "--grace",
        "0",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("1312345678\tonshi_ckp_"));
    let out = onshi(&[
        "employer",
        "token",
        "revoke",
        "--insurer",
        "01130012",
        "--code",
        "1001",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 token(s) revoked"),
        "{}",
        text(&out.stdout)
    );
    let out = onshi(&[
        "institution",
        "add",
        "--number",
        "9912345678",
        "--name",
        "x",
        "--db",
        &db,
    ]);
    assert!(
        text(&out.stderr).contains("--number: prefecture 99"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_agent_answers_checkup_requests_only_under_the_checkup_consent() {
    let demo_dir = tempfile::tempdir().unwrap();
    let Demo {
        child: mut server,
        addr,
        token,
        ..
    } = start_demo(demo_dir.path());
    let server_url = format!("http://{addr}");
    let reader = |card: &str, consent: &str| {
        let card = demo_dir
            .path()
            .join("cards")
            .join(format!("{card}.json"))
            .display()
            .to_string();
        onshi(&[
            "reader",
            "--server",
            &server_url,
            "--facility-token",
            &token,
            "--card",
            &card,
            "--face",
            "ok",
            "--consent",
            consent,
            "--json",
        ])
    };
    // The patient consents to checkup information at the reader; the card key is in the answer.
    let out = reader("valid", "checkup");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let checked: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let q = &checked["qualifications"][0];
    let request = |card: [&str; 4], category: &str| {
        let [insurer, symbol, number, branch] = card;
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg><MessageHeader>\
             <MedicalInstitutionCode>1311234567</MedicalInstitutionCode><InsurerNumber>{insurer}</InsurerNumber>\
             <InsuranceCardSymbol>{symbol}</InsuranceCardSymbol><InsuredPersonIdentificationNumber>{number}</InsuredPersonIdentificationNumber>\
             <BranchNumber>{branch}</BranchNumber><ArbitraryFileIdentifier>患者1</ArbitraryFileIdentifier></MessageHeader>\
             <MessageBody><FileCategory>{category}</FileCategory><PrDiInfClassification>1</PrDiInfClassification>\
             <MedicalTreatmentFlag>1</MedicalTreatmentFlag></MessageBody></XmlMsg>"
        );
        encoding_rs::SHIFT_JIS.encode(&xml).0.into_owned()
    };
    let field = |name: &str| q[name].as_str().unwrap();
    let card = [
        field("insurer_number"),
        field("symbol"),
        field("number"),
        field("branch"),
    ];
    let exchange = tempfile::tempdir().unwrap();
    let req = exchange.path().join("req");
    std::fs::create_dir_all(&req).unwrap();
    std::fs::write(req.join("TKKsiquc01req_1.xml"), request(card, "2")).unwrap();
    std::fs::write(req.join("TKKsiquc01req_2.xml"), request(card, "1")).unwrap();
    // Another member, who gave no consent here.
    let members = std::fs::read_to_string(demo_dir.path().join("demo-members.csv")).unwrap();
    let other = members
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f[2] != card[2] || f[0] != card[0])
        .unwrap();
    std::fs::write(
        req.join("TKKsiquc01req_3.xml"),
        request([other[0], other[1], other[2], other[3]], "2"),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let dir = exchange.path().display().to_string();
    let out = agent_once(&server_url, &token, &dir);
    server.kill().unwrap();
    let _ = server.wait();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let read = |name: &str| {
        let bytes = std::fs::read(exchange.path().join("res").join(name)).unwrap();
        encoding_rs::SHIFT_JIS.decode(&bytes).0.into_owned()
    };
    let answer = read("TKKsiquc01res_1.xml");
    assert!(answer.contains("<ResultCode>1</ResultCode>"), "{answer}");
    assert!(
        answer.contains("<QualificationsInfo>") && answer.contains("<KanasName>"),
        "{answer}"
    );
    assert!(answer.contains("<ArbitraryFileIdentifier>患者1</ArbitraryFileIdentifier>"));
    assert!(answer.contains("<SpecificHealthCheckupInfos>"), "{answer}");
    assert!(
        answer.matches("<SpecificHealthCheckupInfo>").count() >= 1,
        "the demo's card holder has checkups: {answer}"
    );
    // Every checkup has its date and items with 17-digit codes.
    for info in answer.split("<SpecificHealthCheckupInfo>").skip(1) {
        let date = info.split("<EffectiveTime>").nth(1).unwrap();
        assert!(date[..8].bytes().all(|b| b.is_ascii_digit()), "{info}");
        let code = info.split("<ItemCode>").nth(1).unwrap();
        assert!(
            code[..17].bytes().all(|b| b.is_ascii_alphanumeric()) && code[17..].starts_with('<')
        );
    }
    let pdf = read("TKKsiquc01res_2.xml");
    assert!(pdf.contains("<ErrorCode>ONS0007</ErrorCode>"), "{pdf}");
    let refused = read("TKKsiquc01res_3.xml");
    assert!(
        refused.contains("<ErrorCode>ONS0100</ErrorCode>") && refused.contains("consent"),
        "{refused}"
    );
    assert!(!refused.contains("<ResultCode>1</ResultCode>"));
}

#[path = "../../onshi-checkup/tests/support/schema_check.rs"]
mod schema_check;

/// `onshi export checkups`: an insurer's fiscal year out as standard archives that validate
/// against the schemas they carry and import again, into onshi, changing nothing.
#[tokio::test]
async fn exported_checkups_validate_and_import_again_unchanged() {
    let complete = include_str!("../../onshi-checkup/tests/fixtures/hc08-complete.xml");
    let person = |n: u32| complete.replace(r#"extension="5678""#, &format!(r#"extension="{n}""#));
    let root = "5521111111_00280081_202405271_1";
    for db in TestDb::all().await.unwrap() {
        let url = db.url.as_str();
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join(format!("{root}.zip"));
        checkup_archive(&archive, root, &[person(1), person(2), person(3)]);
        let out = onshi(&[
            "import",
            "checkups",
            &archive.display().to_string(),
            "--db",
            url,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let exported = dir.path().join("exported");
        let out = onshi(&[
            "export",
            "checkups",
            "--insurer",
            "00280081",
            "--fiscal-year",
            "2024",
            "--out",
            &exported.display().to_string(),
            "--per-archive",
            "2",
            "--operator",
            "tester",
            "--db",
            url,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(
                "exported 3 checkup(s) of fiscal year 2024 of insurer 00280081 in 2 archive(s)"
            ),
            "{}",
            text(&out.stdout)
        );
        let mut names: Vec<String> = std::fs::read_dir(&exported)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 2);
        assert!(
            names[0].starts_with("0000280081_00280081_") && names[0].ends_with("0_1.zip"),
            "{names:?}"
        );
        if schema_check::xmllint() {
            for name in &names {
                let unpacked = tempfile::tempdir().unwrap();
                let bytes = std::fs::read(exported.join(name)).unwrap();
                schema_check::validate_archive(unpacked.path(), name, bytes);
            }
        }
        // Into onshi again: the same checkups, nothing new.
        let out = onshi(&[
            "import",
            "checkups",
            &exported.display().to_string(),
            "--db",
            url,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("2 unchanged") && stdout.contains("1 unchanged"),
            "{stdout}"
        );
        // An empty year writes nothing; a bad insurer number is named.
        let out = onshi(&[
            "export",
            "checkups",
            "--insurer",
            "00280081",
            "--fiscal-year",
            "2019",
            "--out",
            &dir.path().join("none").display().to_string(),
            "--db",
            url,
        ]);
        assert!(
            text(&out.stdout).contains("exported 0 checkup(s)"),
            "{}",
            text(&out.stdout)
        );
        let out = onshi(&[
            "export",
            "checkups",
            "--insurer",
            "00280082",
            "--fiscal-year",
            "2024",
            "--out",
            &dir.path().join("bad").display().to_string(),
            "--db",
            url,
        ]);
        assert!(!out.status.success());
        assert!(
            text(&out.stderr).contains("--insurer: check digit"),
            "{}",
            text(&out.stderr)
        );
        db.cleanup().await;
    }
}

/// `onshi account`: an account's password and TOTP secret are printed once, `onshi totp` gives
/// the code an authenticator would, a login is taken once, and a disabled account is said so.
#[test]
fn staff_accounts_are_added_with_two_factors_and_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("s.db").display());
    let add = |login: &str| {
        onshi(&[
            "account",
            "add",
            "--login",
            login,
            "--insurer",
            "01130012",
            "--operator",
            "admin",
            "--db",
            &db,
        ])
    };
    let out = add("tanaka");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let field = |name: &str| {
        printed
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name} in {printed}"))
            .to_owned()
    };
    assert!(field("password").len() >= 20);
    assert!(field("totp-uri").starts_with("otpauth://totp/onshi:tanaka?secret="));
    let out = onshi(&["totp", &field("totp-secret")]);
    let code = text(&out.stdout);
    assert!(
        code.trim().len() == 6 && code.trim().bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    let out = add("tanaka");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("an account 'tanaka' exists already"),
        "{}",
        text(&out.stderr)
    );
    let out = onshi(&[
        "account",
        "add",
        "--login",
        "x",
        "--insurer",
        "01130013",
        "--db",
        &db,
    ]);
    assert!(
        text(&out.stderr).contains("--insurer: check digit"),
        "{}",
        text(&out.stderr)
    );
    let out = onshi(&["account", "disable", "--login", "tanaka", "--db", &db]);
    assert!(out.status.success() && text(&out.stdout).contains("disabled tanaka"));
    let out = onshi(&["account", "reset", "--login", "nobody", "--db", &db]);
    assert!(!out.status.success());
}

/// `onshi gen` at national scale writes the 1,400 insurers and their workplaces, which
/// `insurer add --from` and `employer add --from` register; a bad line of an employer file
/// refuses the whole file naming the line and column, and a file given again registers nothing
/// new.
#[test]
fn the_national_world_is_generated_and_registered_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("n.db").display());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let out = onshi(&[
        "gen",
        "insurers",
        "--scale",
        "national",
        "--out",
        &path("i.csv"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let insurers = std::fs::read_to_string(path("i.csv")).unwrap();
    assert_eq!(insurers.lines().count(), 1 + 1_400);
    let out = onshi(&[
        "gen",
        "employers",
        "--scale",
        "national",
        "--out",
        &path("e.csv"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let employers = std::fs::read_to_string(path("e.csv")).unwrap();
    assert_eq!(employers.lines().count(), 1 + 49_234);
    let out = onshi(&[
        "gen",
        "members",
        "--scale",
        "national",
        "--count",
        "3000",
        "--out",
        &path("m.csv"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let members = std::fs::read_to_string(path("m.csv")).unwrap();
    let known: std::collections::HashSet<&str> = insurers
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    let used: std::collections::HashSet<&str> = members
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert!(used.is_subset(&known) && used.len() > 300, "{}", used.len());

    // Register the insurers of one branch's and one society's workplaces, then those.
    let head = "insurer,code,name,industry,prefecture";
    let two: Vec<&str> = insurers
        .lines()
        .filter(|l| {
            l.ends_with(",全国健康保険協会 東京支部") || l.ends_with(",東京都第1健康保険組合")
        })
        .collect();
    assert_eq!(two.len(), 2, "{two:?}");
    let numbers: Vec<String> = two
        .iter()
        .filter_map(|l| l.split(',').next())
        .map(|n| format!("{n},"))
        .collect();
    let mine: Vec<&str> = employers
        .lines()
        .skip(1)
        .filter(|l| numbers.iter().any(|n| l.starts_with(n.as_str())))
        .collect();
    assert_eq!(
        mine.len(),
        640 + 18,
        "a 協会けんぽ branch's and a society's"
    );
    std::fs::write(
        path("two.csv"),
        format!("number,name\n{}\n", two.join("\n")),
    )
    .unwrap();
    let out = onshi(&["insurer", "add", "--from", &path("two.csv"), "--db", &db]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut bad = mine.clone();
    bad[100] = "01130012,9999,壊れた事業所,Z,13"; // 業態 Z is no JSIC group
    std::fs::write(path("bad.csv"), format!("{head}\n{}\n", bad.join("\n"))).unwrap();
    let add = |file: &str| {
        onshi(&[
            "employer",
            "add",
            "--from",
            &path(file),
            "--operator",
            "tester",
            "--db",
            &db,
        ])
    };
    let out = add("bad.csv");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 102: industry:"),
        "{}",
        text(&out.stderr)
    );
    std::fs::write(path("good.csv"), format!("{head}\n{}\n", mine.join("\n"))).unwrap();
    let out = add("good.csv");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).lines().count(),
        658,
        "one token line per employer, none before the bad file was refused"
    );
    assert!(text(&out.stderr).contains("658 registered, 0 already registered"));
    let out = add("good.csv");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), 0);
    assert!(text(&out.stderr).contains("0 registered, 658 already registered"));
}

#[test]
fn the_facility_master_is_imported_onboarded_and_its_subsidy_estimated() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("f.db").display());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let out = onshi(&["gen", "facilities", "--out-dir", &path("m")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let master = std::fs::read_to_string(path("m/facilities.csv")).unwrap();
    assert_eq!(master.lines().count(), 1 + 228_280);

    // A bad row refuses the whole file, naming its line and column.
    let mut lines: Vec<&str> = master.lines().collect();
    let bad = lines[4_999].replacen(",病院,", ",薬局,", 1);
    lines[4_999] = &bad;
    std::fs::write(path("bad.csv"), lines.join("\n")).unwrap();
    let out = onshi(&["facility", "import", &path("bad.csv"), "--db", &db]);
    assert_eq!(out.status.code(), Some(65));
    let err = text(&out.stderr);
    assert!(err.contains("line 5000: kind:"), "{err}");
    let show = |code: &str| onshi(&["facility", "show", "--code", code, "--db", &db]);
    assert!(!show("1311234567").status.success(), "nothing was imported");

    let out = onshi(&["facility", "import", &path("m/facilities.csv"), "--db", &db]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("228280 added"),
        "{}",
        text(&out.stdout)
    );
    let out = onshi(&["facility", "import", &path("m/facilities.csv"), "--db", &db]);
    assert!(text(&out.stdout).contains("0 added, 0 changed, 228280 unchanged"));
    let out = onshi(&["facility", "adoption", &path("m/adoption.csv"), "--db", &db]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("71963 portal accounts opened, 44466 reader applications"),
        "{}",
        text(&out.stdout)
    );

    // Onboarding: a facility of the master has no credentials until it applied and was
    // approved.
    let adoption = std::fs::read_to_string(path("m/adoption.csv")).unwrap();
    let adopted: std::collections::HashSet<&str> = adoption
        .lines()
        .filter_map(|l| l.split(',').next())
        .collect();
    let fresh = master
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .find(|code| !adopted.contains(code))
        .unwrap()
        .to_owned();
    let out = onshi(&["facility", "approve", "--code", &fresh, "--db", &db]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("applies first"),
        "{}",
        text(&out.stderr)
    );
    let out = onshi(&["facility", "apply", "--code", &fresh, "--db", &db]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = onshi(&["facility", "waiting", "--db", &db]);
    let waiting = text(&out.stdout);
    assert_eq!(waiting.lines().count(), 71_963 + 1);
    assert!(waiting.lines().any(|l| l.starts_with(&fresh)));
    let out = onshi(&["pki", "network", "--dir", &path("net")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A wrong PKI folder is named before anything is approved.
    let out = onshi(&[
        "facility",
        "approve",
        "--code",
        &fresh,
        "--network-pki",
        &path("nowhere"),
        "--db",
        &db,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("network-ca.pem"),
        "{}",
        text(&out.stderr)
    );
    let out = onshi(&[
        "facility",
        "approve",
        "--code",
        &fresh,
        "--network-pki",
        &path("net"),
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("onshi_fac_"));
    let cert = std::fs::read_to_string(path(&format!("net/facility-{fresh}.pem"))).unwrap();
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(std::path::Path::new(&path(&format!("net/facility-{fresh}.key"))).exists());
    let out = onshi(&[
        "facility",
        "readers",
        "--code",
        &fresh,
        "--readers",
        "2",
        "--applied-on",
        "2021-01-10",
        "--db",
        &db,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&show(&fresh).stdout);
    assert!(shown.contains("approved: 20"), "{shown}");
    assert!(shown.contains("applied 2021-01-10"), "{shown}");
    assert!(shown.contains("operating_since: -"), "{shown}");

    // The calculator: the seed's hospital with two readers, before and after the plan.
    let estimate = |applied: &str| {
        let out = onshi(&[
            "subsidy",
            "estimate",
            "--kind",
            "病院",
            "--readers",
            "2",
            "--readers-applied-on",
            applied,
            "--cost",
            "レセコン改修=1,500,000",
            "--cost",
            "資格確認端末=800000",
            "--json",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (
            v["period"].as_str().unwrap().to_owned(),
            v["total_yen"].as_u64().unwrap(),
        )
    };
    assert_eq!(estimate("2021-03-31"), ("R1-accel-2020".into(), 2_002_000));
    assert_eq!(estimate("2021-04-01"), ("R0-base".into(), 1_001_000));
    let out = onshi(&["subsidy", "rules"]);
    assert!(text(&out.stdout).contains("R1-accel-2020\thospital\t1\t3\t2,101,000 yen"));
    std::fs::write(path("rules.tsv"), "period\tname\n").unwrap();
    let out = onshi(&["subsidy", "rules", "--subsidy-rules", &path("rules.tsv")]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("line 1: header"),
        "{}",
        text(&out.stderr)
    );
}

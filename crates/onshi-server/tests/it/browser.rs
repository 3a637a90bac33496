//! The pages in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver, fantoccini). A person opens their pages with a login code, a staff member signs
//! in with password and TOTP and searches the console, another organisation's console is
//! refused, and a page prints to PDF. Screenshots of each page are kept in the run's target
//! directory (`CARGO_TARGET_TMPDIR/browser-screenshots`), not committed.
//!
//! Without chromedriver the test says so and passes; `ONSHI_REQUIRE_BROWSER=1` (set by CI) makes
//! that a failure, as `ONSHI_REQUIRE_PG` does for PostgreSQL.

use std::process::{Child, Command, Stdio};

use crate::console::SECRET;
use crate::world::*;
use fantoccini::{ClientBuilder, Locator};
use onshi_domain::staff::totp_code;

/// One browser test at a time: two Chromiums on two cores made page loads slow enough for a
/// wait to run out.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// chromedriver on a free port and a headless Chromium session, or `None` (with a note) where
/// neither is installed.
async fn browser() -> Option<(Child, fantoccini::Client)> {
    let found = Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_ok();
    if !found {
        assert!(
            std::env::var_os("ONSHI_REQUIRE_BROWSER").is_none(),
            "ONSHI_REQUIRE_BROWSER is set but chromedriver (Debian: chromium-driver) is not installed"
        );
        eprintln!(
            "note: skipping the browser test: chromedriver (Debian: chromium, chromium-driver) is not installed"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900", "--lang=ja"]}),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .unwrap();
    Some((driver, client))
}

fn screenshots() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn keep(client: &fantoccini::Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name}: a PNG");
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Waits (up to 10 s) until the page's heading is `expected`: a click returns before the page
/// it leads to has loaded.
async fn expect_heading(client: &fantoccini::Client, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(h1) = client.find(Locator::Css("h1")).await
            && let Ok(text) = h1.text().await
        {
            if text == expected {
                return;
            }
            last = text;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the heading is {last:?}, not {expected:?}");
}

/// Clicks the element `css`.
async fn click(client: &fantoccini::Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The element `css` once it is there (up to 10 s).
async fn wait_for(client: &fantoccini::Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(std::time::Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap()
}

/// Prints the page to PDF, checks that every page of it is A4 (210 × 297 mm = 595.3 × 841.9
/// pt; Chromium rounds to 1/96 in), and keeps it beside the screenshots.
async fn print_a4(client: &fantoccini::Client, name: &str) {
    let pdf = client
        .print(fantoccini::wd::PrintConfiguration::default())
        .await
        .unwrap();
    assert!(pdf.starts_with(b"%PDF"), "{name} prints to PDF");
    let text = String::from_utf8_lossy(&pdf);
    let boxes: Vec<(f64, f64)> = text
        .match_indices("/MediaBox [")
        .map(|(i, m)| {
            let inner = &text[i + m.len()..];
            let numbers: Vec<f64> = inner[..inner.find(']').unwrap()]
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            (numbers[2] - numbers[0], numbers[3] - numbers[1])
        })
        .collect();
    assert!(!boxes.is_empty(), "{name}: the PDF has pages");
    for (width, height) in boxes {
        assert!(
            (width - 595.3).abs() < 1.5 && (height - 841.9).abs() < 1.5,
            "{name}: an A4 page, not {width} × {height} pt"
        );
    }
    std::fs::write(screenshots().join(format!("{name}.pdf")), &pdf).unwrap();
}

#[tokio::test]
async fn people_and_staff_use_the_pages_in_chromium() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some((mut driver, client)) = browser().await else {
        return;
    };
    let db = TestDb::sqlite().unwrap();
    let w = World::standard(&db).await;
    // A workforce for the reports: 60 women of 55 at workplace 1001, 5 at 1002 and 55 at none,
    // all examined in fiscal 2025, so the insurer's report has figures and a radar and the small
    // workplace's sheet shows ×. (With few members outside workplaces, the insurer's total less
    // its workplaces' would give them away, and masking would hide the insurer's figures.)
    for code in ["1001", "1002"] {
        w.add_employer(code, "オンシ製作所", "E").await;
    }
    let now = *w.clock.lock().unwrap();
    let mut docs = Vec::new();
    for (n, employer) in (700..820).map(|n| {
        let employer = match n {
            700..760 => "1001",
            760..765 => "1002",
            _ => "",
        };
        (n.to_string(), employer)
    }) {
        let m = onshi_domain::MemberInput {
            insurer_number: "01130012",
            symbol: "10",
            number: &n,
            branch: "00",
            name: "試験 花子",
            name_kana: "シケン ハナコ",
            birth_date: "1970-01-01",
            sex: "2",
            relationship: "1",
            qualified_from: "2020-04-01",
            copay_ratio: "30",
            employer,
            ..Default::default()
        }
        .validate()
        .unwrap();
        w.store
            .create_member(
                &onshi_store::Actor::Insurer(m.key.insurer.clone()),
                &m.key,
                &m.details,
                now,
            )
            .await
            .unwrap();
        // The questionnaire's habits (the fixture answers none), so the radar has every axis.
        let answers: String = [
            ("9N746", "1", "2003"),
            ("9N751", "1", "2003"),
            ("9N756", "2", "2003"),
            ("9N766", "2", "2004"),
            ("9N771", "2", "2003"),
            ("9N781", "2", "2003"),
            ("9N786", "4", "24040"),
            ("9N791", "1", "24050"),
            ("9N796", "1", "2003"),
            ("9N872", "1", "18030"),
        ]
        .iter()
        .map(|(code, answer, system)| {
            format!(
                r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="{code}000000000011" codeSystem="1.2.392.200119.6.1005"/><value xsi:type="CD" code="{answer}" codeSystem="1.2.392.200119.6.{system}"/></observation></entry>"#
            )
        })
        .collect();
        let mut doc = crate::checkups::document(&n)
            .replace(
                r#"<birthTime value="19900506"/>"#,
                r#"<birthTime value="19700101"/>"#,
            )
            .replace(
                r#"<effectiveTime value="20240520"/>"#,
                r#"<effectiveTime value="20250520"/>"#,
            );
        let at = doc.rfind("</section>").unwrap();
        doc.insert_str(at, &answers);
        docs.push(doc);
    }
    let (s, r) = w
        .upload(
            "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
            Some(w.insurer.as_str()),
            crate::checkups::archive(
                &[
                    crate::checkups::document("1"),
                    crate::checkups::document("1").replace(
                        r#"<effectiveTime value="20240520"/>"#,
                        r#"<effectiveTime value="20230522"/>"#,
                    ),
                ]
                .into_iter()
                .chain(docs)
                .collect::<Vec<_>>(),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = w.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    // The person: a login code opens their results, then their page.
    let proof = w.proof(None, "valid").await;
    let (_, code) = w
        .call(Method::POST, "/v1/portal/login-codes", None, proof)
        .await;
    client
        .goto(&format!("{base}{}", code["path"].as_str().unwrap()))
        .await
        .unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/portal/checkups")
    );
    expect_heading(&client, "あなたの健診結果").await;
    let caption = wait_for(&client, "section.checkup table caption").await;
    assert!(caption.text().await.unwrap().contains("検査結果と判定値"));
    // Two exams: each item with judgement values has a chart, and its numbers in a table.
    let figure = wait_for(&client, "figure.trend").await;
    assert!(
        figure.find(Locator::Css("svg polyline")).await.is_ok(),
        "a chart"
    );
    let rows = figure
        .find_all(Locator::Css("table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "its table");
    keep(&client, "portal-checkups").await;
    print_a4(&client, "portal-checkups").await;
    client.goto(&format!("{base}/portal")).await.unwrap();
    expect_heading(&client, "マイページ").await;
    keep(&client, "portal-home").await;
    click(&client, "nav form button").await;
    expect_heading(&client, "ログアウトしました").await;

    // A staff member of 協会けんぽ: password and TOTP, then the console.
    for (login, kind, id) in [
        ("tanaka", "insurer", "01130012"),
        ("suzuki", "facility", "1311111111"),
    ] {
        crate::console::account(&w, login, kind, id).await;
    }
    let sign_in = |login: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        let code = totp_code(SECRET, *w.clock.lock().unwrap());
        async move {
            client.goto(&format!("{base}/staff/login")).await.unwrap();
            for (id, value) in [
                ("login", login.to_owned()),
                ("password", format!("pw-of-{login}")),
                ("code", code),
            ] {
                client
                    .find(Locator::Id(id))
                    .await
                    .unwrap()
                    .send_keys(&value)
                    .await
                    .unwrap();
            }
            click(&client, "main form button").await;
        }
    };
    sign_in("tanaka").await;
    expect_heading(&client, "加入者の検索").await;
    keep(&client, "console-search").await;
    for (id, value) in [("symbol", "10"), ("number", "1"), ("branch", "00")] {
        client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    click(&client, "main form button").await;
    let history = wait_for(&client, "table caption").await;
    assert!(history.text().await.unwrap().contains("10 1-00"));
    keep(&client, "console-member").await;
    // The archive uploaded above is in the insurer's import log.
    click(&client, "nav a[href='/console/imports']").await;
    expect_heading(&client, "取り込みの記録").await;
    let row = wait_for(&client, "table tbody tr").await;
    assert!(row.text().await.unwrap().contains("取り込み済み"));
    keep(&client, "console-imports").await;
    // The programme: a chart of the rates beside its table, and it prints on A4.
    click(&client, "nav a[href='/console/programme']").await;
    expect_heading(&client, "特定健診・特定保健指導").await;
    let figure = wait_for(&client, "figure.chart").await;
    assert!(
        figure.find(Locator::Css("svg rect")).await.is_ok(),
        "a chart"
    );
    let rows = client
        .find_all(Locator::Css("table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3, "three fiscal years");
    keep(&client, "console-programme").await;
    print_a4(&client, "console-programme").await;
    // Each year's lists are linked from it: last year's guidance targets, printable.
    click(
        &client,
        "main ul.links li:nth-child(2) a[href$='list=targets']",
    )
    .await;
    let heading = wait_for(&client, "main h1").await;
    assert!(
        heading
            .text()
            .await
            .unwrap()
            .ends_with("年度 保健指導対象者"),
        "the list's page"
    );
    assert!(
        client
            .find(Locator::Css("main a[href*='people.csv']"))
            .await
            .is_ok(),
        "its CSV"
    );
    keep(&client, "console-programme-targets").await;
    print_a4(&client, "console-programme-targets").await;
    // The scoring report of last fiscal year: 70 examined women of 55, so shares, the rates'
    // table and the habits' radar; it prints on A4.
    click(&client, "nav a[href='/console/report']").await;
    let heading = wait_for(&client, "main h1").await;
    assert!(
        heading
            .text()
            .await
            .unwrap()
            .starts_with("健康スコアリングレポート")
    );
    let cells = client
        .find_all(Locator::Css("#indicators tbody tr td:nth-child(2)"))
        .await
        .unwrap();
    assert_eq!(cells.len(), 13, "an indicator a row");
    let mut shown = 0;
    for cell in cells {
        let text = cell.text().await.unwrap();
        assert!(text.ends_with('%') || text == "–", "{text}");
        shown += usize::from(text.ends_with('%'));
    }
    assert!(shown >= 5, "{shown} shares shown");
    let radar = wait_for(&client, "figure.chart svg polygon").await;
    assert!(radar.attr("points").await.unwrap().is_some(), "a radar");
    keep(&client, "console-report").await;
    print_a4(&client, "console-report").await;
    // The small workplace's sheet: five people, every figure of theirs ×.
    client
        .goto(&format!("{base}/console/workplace?code=1002"))
        .await
        .unwrap();
    expect_heading(&client, "事業所カルテ").await;
    // The first indicator's row; the last year's own column (after the heading, 3 a year).
    let own = wait_for(&client, "#sheet tbody tr:nth-child(2) td:nth-child(8)").await;
    assert_eq!(own.text().await.unwrap(), "×", "a masked cell");
    keep(&client, "console-workplace-masked").await;
    click(&client, "nav form button").await;
    // A facility's staff member signs in; the insurer's console is refused.
    *w.clock.lock().unwrap() += Duration::seconds(30);
    sign_in("suzuki").await;
    expect_heading(&client, "ログインしました").await;
    client
        .goto(&format!("{base}/console/members"))
        .await
        .unwrap();
    expect_heading(&client, "このページは保険者の職員のものです").await;
    keep(&client, "console-refused").await;

    client.close().await.unwrap();
    let _ = driver.kill();
    let _ = driver.wait();
    db.cleanup().await;
}

/// The operator's public pages in Chromium: the adoption dashboard with its charts, the
/// weekly edition read from the list, the subsidy calculator's form answered without script;
/// the dashboard and the edition print on A4.
#[tokio::test]
async fn the_public_figures_read_and_print_in_chromium() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let Some((mut driver, client)) = browser().await else {
        return;
    };
    let db = TestDb::sqlite().unwrap();
    let w = World::standard(&db).await;
    crate::operator::with_master(&w).await;
    let published = onshi_server::background::publish_if_due(&w.state, time::Weekday::Tuesday)
        .await
        .unwrap();
    assert_eq!(published.as_deref(), Some("2026-11-24"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = w.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await });

    client.goto(&format!("{base}/adoption")).await.unwrap();
    expect_heading(&client, "オンライン資格確認の導入状況").await;
    let hospitals = wait_for(&client, "#kinds tbody tr:nth-child(1) td:nth-child(5)").await;
    assert_eq!(
        hospitals.text().await.unwrap(),
        "50.0%",
        "hospitals' application rate"
    );
    let bars = client.find_all(Locator::Css("figure svg")).await.unwrap();
    assert_eq!(bars.len(), 2, "bars by kind and the weekly lines");
    keep(&client, "adoption").await;
    print_a4(&client, "adoption").await;

    // The week's edition, reached from the list.
    click(&client, "nav a[href='/weekly']").await;
    expect_heading(
        &client,
        "公立・公的病院の顔認証付きカードリーダー申込状況（週次公表）",
    )
    .await;
    click(&client, "a[href='/weekly/2026-11-24']").await;
    expect_heading(
        &client,
        "公立・公的病院の顔認証付きカードリーダー申込状況 2026-11-24 版",
    )
    .await;
    let first = wait_for(&client, "#hospitals tbody tr:nth-child(1) td:nth-child(4)").await;
    assert_eq!(first.text().await.unwrap(), "申込済");
    let second = wait_for(&client, "#hospitals tbody tr:nth-child(2) td:nth-child(4)").await;
    assert_eq!(second.text().await.unwrap(), "未申込");
    keep(&client, "weekly-edition").await;
    print_a4(&client, "weekly-edition").await;

    // The calculator: an empty form, then a clinic that applied after the plan, at the ceiling
    // (the form sends by GET, so its answer has an address).
    client.goto(&format!("{base}/subsidy")).await.unwrap();
    expect_heading(&client, "顔認証付きカードリーダー等の補助金の計算").await;
    assert!(client.find(Locator::Css("#result-title")).await.is_err());
    client
        .goto(&format!(
            "{base}/subsidy?facility_kind=medical_clinic&readers=1&readers_applied_on=2021-05-01&label0=%E3%83%AC%E3%82%BB%E3%82%B3%E3%83%B3%E6%94%B9%E4%BF%AE&yen0=429000"
        ))
        .await
        .unwrap();
    let total = wait_for(&client, "#result-title").await;
    assert_eq!(total.text().await.unwrap(), "補助額: 321,000円");
    let reasons = wait_for(&client, "#reasons").await.text().await.unwrap();
    assert!(reasons.contains("補助上限 321,000 yen"), "{reasons}");
    // The form keeps what was asked, so it can be changed and sent again without script.
    let kind = client
        .find(Locator::Css("#facility_kind"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kind.as_deref(), Some("medical_clinic"));
    click(&client, "form.subsidy button").await;
    // The click returns before the answer has loaded: wait for the form's own address (it sends
    // every field, the empty cost lines too) before reading the new page.
    let mut sent = false;
    for _ in 0..100 {
        if client
            .current_url()
            .await
            .is_ok_and(|u| u.as_str().contains("label4="))
        {
            sent = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(sent, "the form was sent");
    let again = wait_for(&client, "#result-title").await;
    assert_eq!(again.text().await.unwrap(), "補助額: 321,000円");
    keep(&client, "subsidy").await;

    client.close().await.unwrap();
    let _ = driver.kill();
    let _ = driver.wait();
    db.cleanup().await;
}

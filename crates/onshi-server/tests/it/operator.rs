//! The operator's public side over HTTP: the adoption dashboard moves with a facility's first
//! card check, a weekly edition never changes once published, and the subsidy calculator
//! answers the seed's figures (JSON and the form page).

use crate::world::*;
use onshi_domain::FacilityRecord;
use onshi_store::ReaderApplication;
use time::macros::date;

fn record(code: &str, kind: &str, public: &str, beds: &str) -> FacilityRecord {
    onshi_store::testing::facility(code, kind, public, beds).unwrap()
}

/// The world's clinic (1311111111) and pharmacy (1341111111) in the master, with two public
/// hospitals and a dental clinic; the clinic and one hospital applied for readers.
pub async fn with_master(w: &World) {
    let ops = Actor::Operator("ops".into());
    let master = vec![
        record("1311111111", "医科診療所", "0", "0"),
        record("1341111111", "薬局", "0", ""),
        record("1312222222", "病院", "1", "300"),
        record("2712222222", "病院", "1", "150"),
        record("2731111111", "歯科診療所", "0", "0"),
    ];
    w.store
        .import_facilities(&master, &ops, NOW, &mut |_| {})
        .await
        .unwrap();
    let app = |on| ReaderApplication {
        readers: 1,
        free_readers: 1,
        applied_on: on,
        delivered_on: None,
        installed_on: None,
    };
    w.store
        .record_reader_applications(
            &[
                (
                    onshi_domain::FacilityCode::parse("1311111111").unwrap(),
                    app(date!(2026 - 11 - 02)),
                ),
                (
                    onshi_domain::FacilityCode::parse("1312222222").unwrap(),
                    app(date!(2026 - 11 - 10)),
                ),
            ],
            &ops,
            NOW,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_dashboard_counts_the_master_and_moves_with_the_first_card_check() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        with_master(&w).await;
        let (s, d) = w.call(Method::GET, "/v1/adoption", None, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(d["total"]["facilities"], 5);
        assert_eq!(d["total"]["applied"], 2);
        assert_eq!(d["total"]["applied_rate"], 40.0);
        assert_eq!(d["total"]["operating"], 0);
        let kind = |d: &Value, k: &str| {
            d["kinds"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["key"] == k)
                .cloned()
                .unwrap()
        };
        assert_eq!(kind(&d, "hospital")["facilities"], 2);
        assert_eq!(kind(&d, "hospital")["applied_rate"], 50.0);
        assert_eq!(d["prefectures"][0]["label"], "東京都");
        assert_eq!(d["prefectures"][0]["facilities"], 3);
        // The weekly series: both applications by the week of NOW.
        let last_all = d["weeks"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|w| w["key"] == "all")
            .cloned()
            .unwrap();
        assert_eq!(last_all["week_ending"], "2026-11-29");
        assert_eq!(last_all["applied"], 2);

        // A number check counts as a check but not as operation; a card check operates.
        let (s, _) = w
            .call(
                Method::POST,
                "/v1/eligibility/number",
                Some(&w.f1),
                json!({"insurer_number": "01130012", "symbol": "10", "number": "1",
                       "branch": "00", "birth_date": "1990-05-06"}),
            )
            .await;
        assert!(s.is_success() || s == StatusCode::OK, "{s}");
        let (_, d) = w.call(Method::GET, "/v1/adoption", None, Value::Null).await;
        assert_eq!(d["total"]["operating"], 0);
        let proof = w.proof(Some(&w.f1), "valid").await;
        let (s, r) = w.check(&w.f1, &proof, "2026-11-24").await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let phone = w.proof(Some(&w.f1), "phone").await;
        let (s, r) = w.check(&w.f1, &phone, "2026-11-24").await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let (_, d) = w.call(Method::GET, "/v1/adoption", None, Value::Null).await;
        assert_eq!(d["total"]["operating"], 1);
        assert_eq!(kind(&d, "medical_clinic")["operating"], 1);
        assert_eq!(
            d["months"],
            json!([{"month": "2026-11", "card": 1, "smartphone": 1, "number": 1,
                    "card_use_rate": 66.7}])
        );
        // The page and the CSV show the same figures.
        let (s, headers, page) = w.page(Method::GET, "/adoption", &[], "").await;
        assert_eq!(s, StatusCode::OK);
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(page.contains("2 / 5 施設（40.0%）"), "{page}");
        assert!(page.contains("<svg"), "charts drawn on the server");
        let (_, headers, csv) = w.page(Method::GET, "/adoption.csv", &[], "").await;
        assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
        assert!(
            csv.contains("kind,medical_clinic,医科診療所,1,1,100.0,1,100.0,0,0.0,1,100.0"),
            "{csv}"
        );
        let (_, _, weeks) = w.page(Method::GET, "/adoption/weeks.csv", &[], "").await;
        assert!(weeks.contains("2026-11-29,all,2,2,0,1"), "{weeks}");
        // By prefecture too: Tokyo's clinic (with its portal account) and hospital applied.
        assert!(weeks.contains("2026-11-29,13,2,2,0,1"), "{weeks}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_weekly_edition_is_published_once_and_never_changes() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        with_master(&w).await;
        // NOW is a Tuesday in Japan: a Monday schedule publishes nothing, a Tuesday one does.
        assert_eq!(
            onshi_server::background::publish_if_due(&w.state, time::Weekday::Monday)
                .await
                .unwrap(),
            None
        );
        let first = onshi_server::background::publish_if_due(&w.state, time::Weekday::Tuesday)
            .await
            .unwrap();
        assert_eq!(first.as_deref(), Some("2026-11-24"));
        assert_eq!(
            onshi_server::background::publish_if_due(&w.state, time::Weekday::Tuesday)
                .await
                .unwrap(),
            None,
            "once a day"
        );
        let (_, headers, csv) = w.page(Method::GET, "/weekly/2026-11-24.csv", &[], "").await;
        assert_eq!(
            csv,
            "code,name,prefecture,applied,applied_on,ready,ready_on\n\
             1312222222,試験施設,13,1,2026-11-10,0,\n\
             2712222222,試験施設,27,0,,0,\n"
        );
        let hash = onshi_server::adoption::sha256_hex(csv.as_bytes());
        assert_eq!(headers[header::ETAG], format!("\"{hash}\""));

        // A week later the second hospital applied: the new edition says so, the old one
        // is byte for byte what it was.
        w.store
            .record_reader_applications(
                &[(
                    onshi_domain::FacilityCode::parse("2712222222").unwrap(),
                    ReaderApplication {
                        readers: 2,
                        free_readers: 2,
                        applied_on: date!(2026 - 11 - 27),
                        delivered_on: None,
                        installed_on: None,
                    },
                )],
                &Actor::Operator("ops".into()),
                NOW,
            )
            .await
            .unwrap();
        *w.clock.lock().unwrap() = NOW + Duration::weeks(1);
        let second = onshi_server::background::publish_if_due(&w.state, time::Weekday::Tuesday)
            .await
            .unwrap();
        assert_eq!(second.as_deref(), Some("2026-12-01"));
        let (_, _, again) = w.page(Method::GET, "/weekly/2026-11-24.csv", &[], "").await;
        assert_eq!(again, csv);
        let (_, _, newer) = w.page(Method::GET, "/weekly/2026-12-01.csv", &[], "").await;
        assert!(
            newer.contains("2712222222,試験施設,27,1,2026-11-27,0,"),
            "{newer}"
        );
        let (s, list) = w
            .call(Method::GET, "/v1/weekly-editions", None, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(list["editions"][0]["edition"], "2026-12-01");
        assert_eq!(list["editions"][1]["content_hash"], hash);
        let (s, _, page) = w.page(Method::GET, "/weekly/2026-11-24", &[], "").await;
        assert_eq!(s, StatusCode::OK);
        assert!(page.contains("申込 1 / 2 病院（50.0%）"), "{page}");
        assert!(page.contains(&hash));
        let (_, _, index) = w.page(Method::GET, "/weekly", &[], "").await;
        assert!(index.contains("/weekly/2026-12-01.csv"));
        for missing in ["/weekly/2026-11-25", "/weekly/nonsense.csv"] {
            let (s, _, _) = w.page(Method::GET, missing, &[], "").await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{missing}");
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_subsidy_calculator_answers_the_seed_and_names_what_is_wrong() {
    let db = TestDb::sqlite().unwrap();
    let w = World::standard(&db).await;
    let estimate = |kind: &str, applied: &str| {
        json!({"facility_kind": kind, "readers": 3, "readers_applied_on": applied,
               "costs": [{"label": "レセコン改修", "yen": 1500000},
                         {"label": "資格確認端末", "yen": 500000, "tax_included": false}]})
    };
    let (s, e) = w
        .call(
            Method::POST,
            "/v1/subsidy/estimate",
            None,
            estimate("病院", "2021-03-31"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["period"], "R1-accel-2020");
    assert_eq!(e["free_readers"], 3);
    assert_eq!(e["cost_yen"], 2_050_000);
    assert_eq!(e["total_yen"], 1_903_000);
    let items: u64 = e["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["subsidy_yen"].as_u64().unwrap())
        .sum();
    assert_eq!(items, 1_903_000);
    let (_, e) = w
        .call(
            Method::POST,
            "/v1/subsidy/estimate",
            None,
            estimate("hospital", "2021-04-01"),
        )
        .await;
    assert_eq!(e["period"], "R0-base");
    assert_eq!(e["total_yen"], 951_000);
    assert!(
        e["reasons"][0]
            .as_str()
            .unwrap()
            .contains("after R1-accel-2020's last day 2021-03-31"),
        "{e}"
    );
    // Applied for in 2021, operating from 2022-07: the 2022 difference is paid.
    let mut late = estimate("hospital", "2021-06-01");
    late["operation_started_on"] = json!("2022-07-01");
    let (_, e) = w
        .call(Method::POST, "/v1/subsidy/estimate", None, late)
        .await;
    assert_eq!(
        (e["period"].as_str(), e["total_yen"].as_u64()),
        (Some("R3-2022-diff"), Some(1_903_000))
    );
    let (s, e) = w
        .call(
            Method::POST,
            "/v1/subsidy/estimate",
            None,
            estimate("hospital", "2021-02-30"),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "readers_applied_on", "{e}");

    // The form page: empty, answered, refused with the reason.
    let (s, _, page) = w.page(Method::GET, "/subsidy", &[], "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("<form method=\"get\" action=\"/subsidy\""));
    let (s, _, page) = w
        .page(
            Method::GET,
            "/subsidy?facility_kind=medical_clinic&readers=1&readers_applied_on=2021-05-01&label0=%E6%94%B9%E4%BF%AE&yen0=429000",
            &[],
            "",
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("補助額: 321,000円"), "{page}");
    assert!(
        page.contains("cap: 321,750 yen is above 補助上限 321,000 yen"),
        "{page}"
    );
    let (s, _, page) = w
        .page(
            Method::GET,
            "/subsidy?facility_kind=medical_clinic&readers=1&readers_applied_on=2021-05-01&yen0=lots",
            &[],
            "",
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.contains("費用1: 金額は円の整数で入力してください"),
        "{page}"
    );
    db.cleanup().await;
}

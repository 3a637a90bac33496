//! The insurer's programme over HTTP: a checkup judged on import makes a guidance target, the
//! guidance events recorded move the rates, and bad events are refused with the field named.

use crate::world::*;

/// Uploads, as the insurer, the checkup fixture's man's checkup of 2024-05-20 without
/// medication: waist 85, 138/88 mmHg, HDL 38, fasting glucose 251, a smoker: 積極的支援, the
/// metabolic syndrome, and a referral (glucose past 126).
async fn upload_target_checkup(w: &World) {
    upload_target_checkup_of(w, "20240520").await;
}

/// The same checkup examined on `exam` (YYYYMMDD).
async fn upload_target_checkup_of(w: &World, exam: &str) {
    upload_target_checkup_for(w, "5678", exam).await;
}

/// The same checkup of the member with card 1234 / `number` / 01, examined on `exam`.
async fn upload_target_checkup_for(w: &World, number: &str, exam: &str) {
    let doc = include_str!("../../../onshi-checkup/tests/fixtures/hc08-complete.xml")
        .replace(
            r#"<id extension="5678" root="1.2.392.200119.6.205"/>"#,
            &format!(r#"<id extension="{number}" root="1.2.392.200119.6.205"/>"#),
        )
        .replace(
            r#"<effectiveTime value="20240520"/>"#,
            &format!(r#"<effectiveTime value="{exam}"/>"#),
        )
        .replace(
            r#"extension="00280081" root="1.2.392.200119.6.101""#,
            r#"extension="01130012" root="1.2.392.200119.6.101""#,
        )
        .replace(
            r#"code="1" codeSystem="1.2.392.200119.6.2003""#,
            r#"code="2" codeSystem="1.2.392.200119.6.2003""#,
        );
    let (s, r) = w
        .upload(
            "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
            Some(w.insurer.as_str()),
            crate::checkups::archive(&[doc]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
}

/// Registers the checkup fixture's man (born 1970-01-01, card 1234 / 5678 / 01 of 01130012), a
/// member since 2020.
async fn fixture_man(w: &World) {
    fixture_man_with(w, "5678", "試験 太郎", "シケン タロウ").await;
}

/// A man like the fixture's, with card 1234 / `number` / 01 and these names.
async fn fixture_man_with(w: &World, number: &str, name: &str, kana: &str) {
    let m = onshi_domain::MemberInput {
        insurer_number: "01130012",
        symbol: "1234",
        number,
        branch: "01",
        name,
        name_kana: kana,
        birth_date: "1970-01-01",
        sex: "1",
        relationship: "1",
        qualified_from: "2020-04-01",
        copay_ratio: "30",
        ..Default::default()
    }
    .validate()
    .unwrap();
    let now = *w.clock.lock().unwrap();
    w.store
        .create_member(
            &Actor::Insurer(m.key.insurer.clone()),
            &m.key,
            &m.details,
            now,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn the_programme_counts_targets_and_rates_from_judged_checkups_and_recorded_guidance() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        // The fixture's man (born 1970-01-01, 1234 / 5678 / 01), a member since 2020: eligible
        // in FY2024. The World's other members are 34 and not.
        fixture_man(&w).await;
        // Reports published before the archive are kept only until it changes the cells.
        let published = onshi_server::routes::programme::PublishedReports::default();
        let insurer = InsurerNumber::parse("01130012").unwrap();
        let before =
            onshi_server::routes::programme::scoring_report(&w.store, &published, &insurer, 2024)
                .await
                .unwrap();
        assert_eq!(before.people, 0);
        upload_target_checkup(&w).await;

        let summary = || async {
            let (s, v) = w
                .call(
                    Method::GET,
                    "/v1/programme/2024",
                    Some(&w.insurer),
                    Value::Null,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        };
        let v = summary().await;
        for (field, expected) in [
            ("eligible", json!(1)),
            ("examined", json!(1)),
            ("examination_rate", json!(100.0)),
            ("active", json!(1)),
            ("motivational", json!(0)),
            ("referrals", json!(1)),
            ("metabolic", json!(1)),
            ("completed", json!(0)),
            ("guidance_rate", json!(0.0)),
            ("rule_set", json!("tokutei-4.1")),
        ] {
            assert_eq!(v[field], expected, "{field}: {v}");
        }

        let event = |event: &str, date: &str| {
            json!({"fiscal_year": 2024, "symbol": "1234", "number": "5678", "branch": "01",
                   "event": event, "date": date})
        };
        let post =
            |body: Value| w.call(Method::POST, "/v1/guidance-events", Some(&w.insurer), body);
        let (s, v) = post(event("first_interview", "2024-08-01")).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (s, v) = post(event("completed", "2025-02-01")).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let v = summary().await;
        assert_eq!(
            (&v["started"], &v["completed"], &v["guidance_rate"]),
            (&json!(1), &json!(1), &json!(100.0)),
            "{v}"
        );

        // One person's figures are never shown: × where known, – where not, everywhere; the
        // CSV carries the same published figures.
        let report =
            onshi_server::routes::programme::scoring_report(&w.store, &published, &insurer, 2024)
                .await
                .unwrap();
        assert_eq!((report.people, report.rows.len()), (1, 13));
        let obesity = &report.rows[0];
        assert_eq!(obesity.indicator, "肥満");
        assert_eq!(
            (
                obesity.own.shown.as_str(),
                obesity.national.shown.as_str(),
                obesity.adjusted
            ),
            ("×", "×", None)
        );
        assert!(report.rows.iter().all(|r| r.own.percent.is_none()));
        let csv = onshi_server::routes::programme::report_csv(&report);
        assert!(csv.starts_with("\u{feff}年度,保険者,指標,"), "{csv}");
        assert!(
            csv.contains("2024,01130012,肥満,×,–,×,×,–,–,–,–,–\r\n"),
            "{csv}"
        );
        // The rates of one person: masked, so unranked and ungraded.
        let rates: Vec<(&str, &str)> = report
            .rates
            .iter()
            .map(|r| (r.rate.as_str(), r.own.shown.as_str()))
            .collect();
        assert_eq!(
            rates,
            [("特定健診実施率", "×"), ("特定保健指導実施率", "×")]
        );
        assert!(
            report
                .rates
                .iter()
                .all(|r| r.rank_all.is_none() && r.grade.is_none())
        );
        assert!(
            csv.contains("2024,01130012,特定健診実施率,×,–,×,×,–,–,–,–,–\r\n"),
            "{csv}"
        );
        assert_eq!(report.grade_rule, "onshi-grade-1");
        assert_eq!(report.medical_cost, None, "no costs imported");
        // A new employer's industry joins every year's averages: the kept reports are stale.
        let generation = w.store.report_generation(2024).await.unwrap();
        // Reports that answer at once: the first computation is waited for, the next is not.
        let at_once =
            onshi_server::routes::programme::PublishedReports::waiting(std::time::Duration::ZERO);
        let first = at_once.year_at(&w.store, 2024).await.unwrap();
        assert_eq!(first.generation, generation);
        w.add_employer("3001", "オンシ運輸", "H").await;
        assert_eq!(
            w.store.report_generation(2024).await.unwrap(),
            generation + 1
        );
        // The year moved: the previous reports are shown while the next are computed in the
        // background, then the next ones.
        let stale = at_once.year_at(&w.store, 2024).await.unwrap();
        assert_eq!(
            stale.generation, generation,
            "served before the computation ran"
        );
        assert!(std::sync::Arc::ptr_eq(&stale.reports, &first.reports));
        let mut next = stale;
        for _ in 0..200 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            next = at_once.year_at(&w.store, 2024).await.unwrap();
            if next.generation > generation {
                break;
            }
        }
        assert_eq!(next.generation, generation + 1, "the next reports arrived");

        // Medical costs: the society's and two more insurers' make a national average; the
        // 協会けんぽ branch alone in its kind has its kind's average masked.
        for (token, body) in [
            (
                w.insurer.as_str(),
                "fiscal_year,members,cost_per_member\n2024,12000,200000\n2023,11900,195000\n",
            ),
            (
                w.society.as_str(),
                "fiscal_year,members,cost_per_member\n2024,3000,150000\n",
            ),
        ] {
            let (s, v) = w
                .upload(
                    "/v1/medical-cost-csv/c.csv",
                    Some(token),
                    body.as_bytes().to_vec(),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let report =
            onshi_server::routes::programme::scoring_report(&w.store, &published, &insurer, 2024)
                .await
                .unwrap();
        let cost = report.medical_cost.clone().unwrap();
        assert_eq!(cost.own.shown, "200,000円");
        assert_eq!(
            (
                cost.kind_average.shown.as_str(),
                cost.national.shown.as_str()
            ),
            ("×", "×"),
            "two insurers make no average"
        );
        let csv = onshi_server::routes::programme::report_csv(&report);
        assert!(
            csv.contains("2024,01130012,1人当たり医療費,200000円,–,×,×,–,–,–,–,–\r\n"),
            "{csv}"
        );
        let (s, v) = w
            .upload(
                "/v1/medical-cost-csv/c.csv",
                Some(w.insurer.as_str()),
                b"fiscal_year,members,cost_per_member\n2024,12000,abc\n".to_vec(),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            v["errors"][0]["reason"],
            "line 2, cost_per_member: must be whole yen from 0 to 100,000,000",
            "{v}"
        );

        // Refusals name what is wrong and record nothing.
        let (s, v) = post(event("finished", "2024-08-01")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["errors"][0]["field"], "event", "{v}");
        let (s, v) = post(event("completed", "2026-04-01")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["errors"][0]["field"], "date", "{v}");
        let (s, _) = post(event("dropped_out", "2025-03-01")).await;
        assert_eq!(s, StatusCode::CONFLICT, "completed already");
        let mut nobody = event("completed", "2025-02-01");
        nobody["number"] = json!("9999");
        let (s, _) = post(nobody).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = w
            .call(
                Method::GET,
                "/v1/programme/1999",
                Some(&w.insurer),
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["errors"][0]["field"], "fiscal_year", "{v}");
        // Another insurer's programme has nothing of this one's.
        let (s, v) = w
            .call(
                Method::GET,
                "/v1/programme/2024",
                Some(&w.society),
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!((&v["eligible"], &v["examined"]), (&json!(0), &json!(0)));
        assert_eq!(
            w.store
                .audit_of_action(onshi_domain::AuditAction::RecordGuidance)
                .await
                .unwrap()
                .len(),
            2
        );
        db.cleanup().await;
    }
}

/// An employer with 49 eligible members gets no report of its own; one with 50 does, compared
/// with its industry and all workplaces.
#[tokio::test]
async fn an_employer_report_needs_fifty_eligible_members() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let now = *w.clock.lock().unwrap();
        let insurer = InsurerNumber::parse("01130012").unwrap();
        for (code, count) in [("2001", 49), ("2002", 50), ("2003", 1), ("2004", 0)] {
            w.add_employer(code, "オンシ製作所", "E").await;
            for i in 0..count {
                let number = format!("{code}{i:03}");
                let m = onshi_domain::MemberInput {
                    insurer_number: "01130012",
                    symbol: "30",
                    number: &number,
                    branch: "00",
                    name: "試験 太郎",
                    name_kana: "シケン タロウ",
                    birth_date: "1970-01-01",
                    sex: "1",
                    relationship: "1",
                    qualified_from: "2020-04-01",
                    copay_ratio: "30",
                    employer: code,
                    ..Default::default()
                }
                .validate()
                .unwrap();
                w.store
                    .create_member(&Actor::Insurer(insurer.clone()), &m.key, &m.details, now)
                    .await
                    .unwrap();
            }
        }
        let report = |code: &str| {
            let employer = onshi_domain::EmployerRef::parse(&format!("01130012/{code}")).unwrap();
            let store = w.store.clone();
            async move {
                onshi_server::routes::programme::employer_report(
                    &store,
                    &Default::default(),
                    &employer,
                    2025,
                )
                .await
                .unwrap()
            }
        };
        let (eligible, none) = report("2001").await;
        assert_eq!((eligible, none.is_none()), (49, true));
        let (eligible, some) = report("2002").await;
        let some = some.expect("50 eligible members: a report");
        assert_eq!(eligible, 50);
        assert_eq!(some.kind, "製造業");
        assert_eq!(some.rows.len(), 13);

        // Merging (合算): 2001 with 2003 reaches 50, so both see the group's report; 2004
        // alone adds nobody. A workplace that is no employer of the insurer, one already in
        // a group, a group of one: refused, and nothing changes.
        let put = |code: &str, body: Value| {
            let uri = format!("/v1/workplace-groups/{code}");
            let w = &w;
            async move { w.call(Method::PUT, &uri, Some(&w.insurer), body).await }
        };
        let (s, v) = put(
            "G1",
            json!({"name": "小規模事業所", "employers": ["2001", "2003", "2004"]}),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (s, v) = put("G2", json!({"name": "x", "employers": ["2002", "2003"]})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .contains("2003 is already in group G1"),
            "{v}"
        );
        let (s, v) = put("G2", json!({"name": "x", "employers": ["2002", "9999"]})).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let (s, v) = put("G2", json!({"name": "x", "employers": ["2002"]})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["errors"][0]["field"], "employers", "{v}");
        let (s, _) = w
            .call(
                Method::PUT,
                "/v1/workplace-groups/G2",
                Some(&w.society),
                json!({"name": "x", "employers": ["2001", "2002"]}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT, "another insurer's workplaces");
        for code in ["2001", "2003"] {
            let (eligible, merged) = report(code).await;
            let merged = merged.expect("merged to 50: the group's report");
            assert_eq!(eligible, 50, "{code}");
            assert_eq!(merged.kind, "3 事業所の合算（グループ G1）");
        }
        let (eligible, own) = report("2002").await;
        assert_eq!((eligible, own.unwrap().kind.as_str()), (50, "製造業"));
        db.cleanup().await;
    }
}

/// Guidance by CSV is all or nothing: a row naming no member, an unknown event or a completion
/// after a drop-out refuses the file with its line, and nothing is recorded; a good file (in
/// CP932, with Japanese event names) records every row, audited.
#[tokio::test]
async fn guidance_by_csv_is_all_or_nothing_and_names_the_line() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        fixture_man(&w).await;
        let recorded = || async {
            w.store
                .audit_of_action(onshi_domain::AuditAction::RecordGuidance)
                .await
                .unwrap()
                .len()
        };
        let head = "fiscal_year,symbol,number,branch,event,date\n";
        let upload =
            |body: Vec<u8>| w.upload("/v1/guidance-csv/g.csv", Some(w.insurer.as_str()), body);
        for (body, expected) in [
            (
                format!(
                    "{head}2024,1234,5678,01,first_interview,2024-08-01\n2024,1234,5678,01,completed,2025-02-01\n2024,1234,9999,01,completed,2025-02-01\n"
                ),
                "line 4, number: no member of yours with this card",
            ),
            (
                format!(
                    "{head}2024,1234,5678,01,first_interview,2024-08-01\n2024,1234,5678,01,finished,2025-02-01\n"
                ),
                "line 3, event: must be first_interview, completed or dropped_out (初回面接, 終了, 脱落)",
            ),
            (
                format!(
                    "{head}2024,1234,5678,01,dropped_out,2024-12-01\n2024,1234,5678,01,completed,2025-02-01\n"
                ),
                "line 3, event: the guidance of fiscal year 2024 is already recorded as dropped_out",
            ),
        ] {
            let (s, v) = upload(body.into_bytes()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert_eq!(v["errors"][0]["field"], "g.csv", "{v}");
            assert_eq!(v["errors"][0]["reason"], expected, "{v}");
            assert_eq!(recorded().await, 0, "nothing recorded: {expected}");
        }
        let text = format!(
            "{head}2024,1234,5678,01,初回面接,20240801\n2024,1234,5678,01,終了,2025-02-01\n"
        );
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let (s, v) = upload(bytes.into_owned()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"file": "g.csv", "recorded": 2}));
        assert_eq!(recorded().await, 2);
        db.cleanup().await;
    }
}

/// A guidance archive (実施区分 2) of the fixture's man, written by onshi's writer as a guidance
/// institution would send it: one `hg08` document per `(report kind, date)`.
fn guidance_archive(steps: &[(&str, time::Date)], created: time::Date) -> (String, Vec<u8>) {
    let xml = include_str!("../../../onshi-checkup/tests/fixtures/hc08-complete.xml").replace(
        r#"extension="00280081" root="1.2.392.200119.6.101""#,
        r#"extension="01130012" root="1.2.392.200119.6.101""#,
    );
    let fixture =
        onshi_checkup::document::read(&onshi_checkup::xml::parse(xml.as_bytes()).unwrap()).unwrap();
    let mut w = onshi_checkup::write::ArchiveWriter::new_guidance(
        std::io::Cursor::new(Vec::new()),
        ("5521111111", onshi_checkup::write::INSTITUTION_OID),
        "01130012",
        created,
        0,
        6,
        false,
    )
    .unwrap();
    for (kind, on) in steps {
        let mut d = fixture.clone();
        d.report_kind = (*kind).into();
        d.exam_date = *on;
        d.created = created;
        d.program = "000".into();
        d.observations.clear();
        w.add(&d, "オンシ保健指導センター").unwrap();
    }
    let name = w.file_name();
    (name, w.finish().unwrap().into_inner())
}

/// A guidance institution's archive of hg08 documents records each step in the fiscal year of
/// the checkup that made the member a target (a completion in the next fiscal year goes to
/// the year of its first interview), all or nothing, again and again the same; a document
/// whose member no checkup made a target refuses the archive, naming its file.
#[tokio::test]
async fn guidance_archives_record_each_step_in_the_year_of_its_checkup() {
    use time::macros::date;
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        fixture_man(&w).await;
        upload_target_checkup(&w).await;
        let recorded = || async {
            w.store
                .audit_of_action(onshi_domain::AuditAction::RecordGuidance)
                .await
                .unwrap()
                .len()
        };
        let w = &w;
        let summary = |year: i32| async move {
            let (s, v) = w
                .call(
                    Method::GET,
                    &format!("/v1/programme/{year}"),
                    Some(&w.insurer),
                    Value::Null,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v
        };

        // Dated before the checkup (2024-05-20): no checkup made him a target yet. Refused,
        // nothing recorded, the document named.
        let (name, bytes) = guidance_archive(
            &[("21", date!(2024 - 08 - 01)), ("21", date!(2024 - 05 - 01))],
            date!(2024 - 08 - 02),
        );
        let (s, v) = w
            .upload(
                &format!("/v1/checkup-archives/{name}"),
                Some(w.insurer.as_str()),
                bytes,
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        let (field, reason) = (
            v["errors"][0]["field"].as_str().unwrap_or_default(),
            v["errors"][0]["reason"].as_str().unwrap_or_default(),
        );
        assert!(field.ends_with("000002.xml"), "{v}");
        assert!(
            reason.starts_with(
                "fiscal year: no checkup of fiscal year 2023 or 2024 dated on or before 2024-05-01"
            ),
            "{v}"
        );
        assert_eq!(recorded().await, 0);

        // His FY2025 checkup (2025-04-20) makes him a target again. The first interview in
        // FY2024, the completion in FY2025 (May 2025, after the new checkup), and a first
        // interview not yet whole (25): two steps, both in FY2024 (the completion goes to the
        // year of its first interview, not to the newer checkup's), and a warning.
        upload_target_checkup_of(w, "20250420").await;
        let (name, bytes) = guidance_archive(
            &[
                ("21", date!(2024 - 08 - 01)),
                ("25", date!(2024 - 08 - 01)),
                ("22", date!(2025 - 05 - 10)),
            ],
            date!(2025 - 05 - 12),
        );
        assert!(name.ends_with("_2.zip"), "{name}");
        for _ in 0..2 {
            let (s, r) = w
                .upload(
                    &format!("/v1/checkup-archives/{name}"),
                    Some(w.insurer.as_str()),
                    bytes.clone(),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{r}");
            assert_eq!(
                (&r["documents"], &r["guidance_events"], &r["linked"]),
                (&json!(3), &json!(2), &json!(0)),
                "{r}"
            );
            assert!(
                r["warnings"][0]
                    .as_str()
                    .is_some_and(|w| w.contains("報告区分 25")),
                "{r}"
            );
            let v = summary(2024).await;
            assert_eq!(
                (&v["started"], &v["completed"], &v["guidance_rate"]),
                (&json!(1), &json!(1), &json!(100.0)),
                "{v}"
            );
            let v = summary(2025).await;
            assert_eq!(
                (&v["active"], &v["started"], &v["completed"]),
                (&json!(1), &json!(0), &json!(0)),
                "{v}"
            );
        }
        assert_eq!(recorded().await, 4, "each step audited, each time");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_programme_lists_name_its_targets_and_referrals_with_their_guidance() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        fixture_man(&w).await;
        upload_target_checkup(&w).await;
        let ins = Some(w.insurer.as_str());
        let w = &w;
        let list = |query: &'static str| async move {
            w.call(
                Method::GET,
                &format!("/v1/programme/2024/people{query}"),
                ins,
                Value::Null,
            )
            .await
        };

        // The man the summary counts as 積極的支援 and a referral is on both lists, by name.
        let (s, v) = list("").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (&v["fiscal_year"], &v["list"]),
            (&json!(2024), &json!("targets"))
        );
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{v}");
        let man = &items[0];
        for (field, expected) in [
            ("symbol", json!("1234")),
            ("number", json!("5678")),
            ("branch", json!("01")),
            ("name", json!("試験 太郎")),
            ("name_kana", json!("シケン タロウ")),
            ("birth_date", json!("1970-01-01")),
            ("sex", json!(1)),
            ("exam_date", json!("2024-05-20")),
            ("guidance_level", json!("1")),
            ("guidance_level_name", json!("積極的支援")),
            ("metabolic", json!("1")),
            ("referral", json!(true)),
            ("first_interview", Value::Null),
            ("completed", Value::Null),
        ] {
            assert_eq!(man[field], expected, "{field}: {man}");
        }
        assert_eq!(v["next_after"], Value::Null);
        let (s, v) = list("?list=referrals").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["items"][0]["member_id"], man["member_id"], "{v}");

        // The reads are audited with the member, as reads of checkup results by the insurer.
        let member_id = man["member_id"].as_str().unwrap();
        let reads = w
            .store
            .audit_of_member(member_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "read_checkups")
            .count();
        assert_eq!(reads, 2, "one read per list shown");

        // Guidance recorded shows on the list.
        let (s, v) = w
            .call(
                Method::POST,
                "/v1/guidance-events",
                ins,
                json!({"fiscal_year": 2024, "symbol": "1234", "number": "5678", "branch": "01",
                       "event": "first_interview", "date": "2024-08-01"}),
            )
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        let (_, v) = list("?limit=1").await;
        assert_eq!(v["items"][0]["first_interview"], json!("2024-08-01"), "{v}");
        assert_eq!(v["items"][0]["completed"], Value::Null, "{v}");

        // A second target, in card-key order after him: pages of one follow each other.
        fixture_man_with(w, "5679", "試験 次郎", "シケン ジロウ").await;
        upload_target_checkup_for(w, "5679", "20240520").await;
        let (_, summary) = w
            .call(Method::GET, "/v1/programme/2024", ins, Value::Null)
            .await;
        assert_eq!(summary["active"], json!(2), "{summary}");
        let (_, first) = list("?limit=1").await;
        assert_eq!(first["items"][0]["number"], json!("5678"), "{first}");
        let after = first["next_after"].as_str().unwrap().to_owned();
        assert_eq!(after, member_id);
        let (s, next) = w
            .call(
                Method::GET,
                &format!("/v1/programme/2024/people?limit=1&after={after}"),
                ins,
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{next}");
        assert_eq!(next["items"][0]["number"], json!("5679"), "{next}");
        assert_eq!(next["items"].as_array().unwrap().len(), 1);
        assert_eq!(next["next_after"], Value::Null, "{next}");

        // Narrowed by where the guidance stands: he has begun, the second has not.
        for (status, number) in [("in_progress", "5678"), ("not_started", "5679")] {
            let (s, v) = w
                .call(
                    Method::GET,
                    &format!("/v1/programme/2024/people?status={status}"),
                    ins,
                    Value::Null,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            let numbers: Vec<&Value> = v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| &i["number"])
                .collect();
            assert_eq!(numbers, [&json!(number)], "{status}: {v}");
            assert_eq!(v["status"], json!(status));
        }
        let (_, v) = list("?status=completed").await;
        assert_eq!(v["items"], json!([]), "{v}");

        // Another insurer lists its own members only: none of these.
        let (s, v) = w
            .call(
                Method::GET,
                "/v1/programme/2024/people",
                Some(w.society.as_str()),
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["items"], json!([]), "{v}");
        let (s, v) = w
            .call(
                Method::GET,
                &format!("/v1/programme/2024/people?after={after}"),
                Some(w.society.as_str()),
                Value::Null,
            )
            .await;
        assert_eq!(
            s,
            StatusCode::NOT_FOUND,
            "another insurer's member as a cursor: {v}"
        );

        // Bad queries name their field.
        for (query, field) in [
            ("?list=everyone", "list"),
            ("?limit=0", "limit"),
            ("?sort=name", "sort"),
            ("?status=finished", "status"),
            ("?list=referrals&status=completed", "status"),
        ] {
            let (s, v) = list(query).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
            assert!(
                v.to_string().contains(&format!("\"{field}\"")),
                "{query}: {v}"
            );
        }
        let (s, _) = w
            .call(Method::GET, "/v1/programme/1999/people", ins, Value::Null)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

        // The insurer's staff see the same list in the console, and all of it as CSV.
        let staff = crate::console::signed_in_staff(w, "tanaka", "insurer", "01130012").await;
        let (s, _, text) = w
            .page(
                Method::GET,
                "/console/programme/people?year=2024&list=targets",
                &staff,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(text.contains("2024年度 保健指導対象者"), "{text}");
        assert!(text.contains("（2人）"), "{text}");
        assert!(
            text.contains("<th scope=\"row\">1234 5678-01</th><td>試験 太郎</td>"),
            "{text}"
        );
        assert!(
            text.contains(
                "<td>積極的支援</td><td>要</td><td>2024-08-01</td><td>未</td><td>未</td>"
            ),
            "{text}"
        );
        let (s, h, csv) = w
            .page(
                Method::GET,
                "/console/programme/people.csv?year=2024&list=referrals",
                &staff,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{csv}");
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 3, "a header and the two referrals: {csv}");
        assert!(
            lines[0].starts_with("\u{feff}年度,記号,番号,枝番,氏名"),
            "{csv}"
        );
        assert_eq!(
            lines[1],
            "2024,1234,5678,01,試験 太郎,シケン タロウ,1970-01-01,1,,2024-05-20,1,1,1,2024-08-01,,"
        );
        let (s, _, text) = w
            .page(
                Method::GET,
                "/console/programme/people?year=2024&list=targets&status=not_started",
                &staff,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        assert!(text.contains("保健指導対象者（未実施）"), "{text}");
        assert!(
            text.contains("<th scope=\"row\">1234 5679-01</th>") && !text.contains("1234 5678-01"),
            "{text}"
        );
        let (s, _, text) = w
            .page(
                Method::GET,
                "/console/programme/people?year=1999",
                &staff,
                "",
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
        // The programme page links each year's lists.
        let (_, _, text) = w.page(Method::GET, "/console/programme", &staff, "").await;
        assert!(
            text.contains("href=\"/console/programme/people?year=2024&amp;list=referrals\""),
            "{text}"
        );
        // Every read by the staff member is audited as theirs.
        let by_staff = w
            .store
            .audit_of_member(member_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "read_checkups" && e.actor_id.contains("tanaka"))
            .count();
        assert_eq!(by_staff, 2, "the page and the CSV");
    }
}

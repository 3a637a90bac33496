//! Checkup archives uploaded by the insurer they are addressed to: imported whole and linked to
//! the member, refused whole with each problem named, never another insurer's.

use std::io::{Cursor, Write};

use crate::world::*;
use zip::write::SimpleFileOptions;

const NAME: &str = "5521111111_01130012_202405271_1.zip";
const ROOT: &str = "5521111111_01130012_202405271_1";

/// The complete synthetic checkup, for the World's member 01130012 / 10 / `number` / 00 (born
/// 1990-05-06, female).
pub fn document(number: &str) -> String {
    include_str!("../../../onshi-checkup/tests/fixtures/hc08-complete.xml")
        .replace(
            r#"extension="00280081" root="1.2.392.200119.6.101""#,
            r#"extension="01130012" root="1.2.392.200119.6.101""#,
        )
        .replace(r#"extension="1234""#, r#"extension="10""#)
        .replace(r#"extension="5678""#, &format!(r#"extension="{number}""#))
        .replace(
            r#"<id extension="01" root="1.2.392.200119.6.211"/>"#,
            r#"<id extension="00" root="1.2.392.200119.6.211"/>"#,
        )
        .replace(
            r#"administrativeGenderCode code="1""#,
            r#"administrativeGenderCode code="2""#,
        )
        .replace(
            r#"<birthTime value="19700101"/>"#,
            r#"<birthTime value="19900506"/>"#,
        )
}

pub fn archive(docs: &[String]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = SimpleFileOptions::default();
    w.start_file(format!("{ROOT}/ix08_V08.xml"), o).unwrap();
    w.write_all(format!(r#"<index xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html"><interactionType code="6"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender><receiver><id root="1.2.392.200119.6.101" extension="01130012"/></receiver><serviceEventType code="1"/><totalRecordCount value="{}"/></index>"#, docs.len()).as_bytes()).unwrap();
    for (i, d) in docs.iter().enumerate() {
        w.start_file(format!("{ROOT}/DATA/h5521111111202405271{i:07}.xml"), o)
            .unwrap();
        w.write_all(d.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[tokio::test]
async fn insurers_upload_checkup_archives_all_or_nothing() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard_cast()
            .with_archive_limit(64 * 1024)
            .build(&db)
            .await;
        let ins = Some(w.insurer.as_str());
        let uri = format!("/v1/checkup-archives/{NAME}");
        let good = archive(&[document("1"), document("999")]);
        let (s, r) = w.upload(&uri, ins, good.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        assert_eq!(
            (
                r["documents"].as_u64(),
                r["linked"].as_u64(),
                r["to_match"].as_u64()
            ),
            (Some(2), Some(1), Some(1)),
            "{r}"
        );
        let (_, r) = w.upload(&uri, ins, good).await;
        assert_eq!(r["unchanged"], 2, "{r}");

        // One bad document: refused whole, the file and item named, nothing stored.
        let bad = archive(&[
            document("2"),
            document("3").replace("9N006000000000001", "9N006000000000009"),
        ]);
        let (s, p) = w.upload(&uri, ins, bad).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(
            p["errors"][0]["field"],
            format!("{ROOT}/DATA/h55211111112024052710000001.xml")
        );
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("9N006000000000009"),
            "{p}"
        );
        assert_eq!(w.store.checkup_counts().await.unwrap(), (2, 1));

        // Another insurer's archive, a name off the rule, too large, no token.
        let (s, p) = w
            .upload(
                "/v1/checkup-archives/5521111111_06138010_202405271_1.zip",
                ins,
                archive(&[]),
            )
            .await;
        assert_eq!(
            (s, p["errors"][0]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("name")),
            "{p}"
        );
        let (s, _) = w
            .upload("/v1/checkup-archives/results.zip", ins, archive(&[]))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let (s, p) = w.upload(&uri, ins, vec![0; 70 * 1024]).await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("urn:onshi:problem:payload-too-large")
            ),
            "{p}"
        );
        let (s, _) = w.upload(&uri, None, archive(&[])).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

/// The document of `document` as institution `institution` wrote it under program `program`
/// (`010` 特定健診, `030` 事業者健診).
fn document_from(number: &str, institution: &str, program: &str) -> String {
    document(number)
        .replace(
            r#"extension="5521111111" root="1.2.392.200119.6.102""#,
            &format!(r#"extension="{institution}" root="1.2.392.200119.6.102""#),
        )
        .replace(
            r#"<code code="010" codeSystem="1.2.392.200119.6.1002"/>"#,
            &format!(r#"<code code="{program}" codeSystem="1.2.392.200119.6.1002"/>"#),
        )
}

/// An archive sent by `sender` to insurer 01130012: its name and bytes.
fn archive_from(sender: &str, docs: &[String]) -> (String, Vec<u8>) {
    let root = format!("{sender}_01130012_202405271_1");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = SimpleFileOptions::default();
    w.start_file(format!("{root}/ix08_V08.xml"), o).unwrap();
    w.write_all(format!(r#"<index xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html"><interactionType code="6"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="{sender}"/></sender><receiver><id root="1.2.392.200119.6.101" extension="01130012"/></receiver><serviceEventType code="1"/><totalRecordCount value="{}"/></index>"#, docs.len()).as_bytes()).unwrap();
    for (i, d) in docs.iter().enumerate() {
        w.start_file(format!("{root}/DATA/h{sender}202405271{i:07}.xml"), o)
            .unwrap();
        w.write_all(d.as_bytes()).unwrap();
    }
    (
        format!("/v1/checkup-archives/{root}.zip"),
        w.finish().unwrap().into_inner(),
    )
}

#[tokio::test]
async fn employer_results_reach_the_insurer_directly_and_through_a_consigned_institution() {
    const INSTITUTION: &str = "1312345678";
    for db in TestDb::all().await.unwrap() {
        let w = World::builder()
            .with_member("01130012", "1", "2020-04-01", "", 1)
            .employed("1001")
            .with_member("01130012", "2", "2020-04-01", "", 2)
            .employed("1001")
            .with_member("01130012", "3", "2020-04-01", "", 3)
            .employed("2002")
            .with_member("01130012", "4", "2020-04-01", "", 4)
            .employed("2002")
            .build(&db)
            .await;
        let ins = Some(w.insurer.as_str());
        // The insurer registers its employers; a bad industry is named.
        let (s, p) = w
            .call(
                Method::POST,
                "/v1/employers",
                ins,
                json!({"code": "1001", "name": "オンシ製作所", "industry": "Z", "prefecture": "48"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["industry", "prefecture"]);
        let mut tokens = Vec::new();
        for code in ["1001", "2002"] {
            let (s, r) = w
                .call(
                    Method::POST,
                    "/v1/employers",
                    ins,
                    json!({"code": code, "name": "オンシ製作所", "industry": "e", "prefecture": "13"}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{r}");
            assert_eq!(r["employer"]["industry_name"], "製造業");
            tokens.push(r["token"].as_str().unwrap().to_owned());
        }
        let (s, _) = w
            .call(
                Method::POST,
                "/v1/employers",
                ins,
                json!({"code": "1001", "name": "x", "industry": "E", "prefecture": "13"}),
            )
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        let (emp, other_emp) = (Some(tokens[0].as_str()), Some(tokens[1].as_str()));

        // The employer sends its employee's employer checkup (under 40) itself; another
        // employer's employee in its archive is refused whole.
        let (uri, bytes) = archive_from(
            INSTITUTION,
            &[
                document_from("1", INSTITUTION, "030"),
                document_from("3", INSTITUTION, "030"),
            ],
        );
        let (s, p) = w.upload(&uri, emp, bytes).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("not recorded as an employee of employer 1001"),
            "{p}"
        );
        assert_eq!(w.store.checkup_counts().await.unwrap(), (0, 0));
        let (uri, bytes) = archive_from(INSTITUTION, &[document_from("1", INSTITUTION, "030")]);
        let (s, r) = w.upload(&uri, emp, bytes).await;
        assert_eq!(
            (s, r["linked"].as_u64()),
            (StatusCode::CREATED, Some(1)),
            "{r}"
        );

        // The institution's upload of employer checkups needs the employer's consignment.
        let (inst_token, hash) =
            onshi_store::token::mint(onshi_store::token::TokenKind::Institution).unwrap();
        let number = onshi_domain::InstitutionNumber::parse(INSTITUTION).unwrap();
        w.store
            .create_institution(
                &number,
                "オンシ健診センター",
                &hash,
                NOW,
                &onshi_store::Actor::Operator("t".into()),
            )
            .await
            .unwrap();
        let inst = Some(inst_token.as_str());
        let (uri, bytes) = archive_from(INSTITUTION, &[document_from("2", INSTITUTION, "030")]);
        let (s, p) = w.upload(&uri, inst, bytes.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("has no consignment of institution 1312345678"),
            "{p}"
        );
        // Another employer's consignment does not count; the right one does.
        let body = json!({"institution": INSTITUTION, "valid_from": "2024-04-01"});
        let (s, _) = w
            .call(Method::POST, "/v1/consignments", other_emp, body.clone())
            .await;
        assert_eq!(s, StatusCode::CREATED);
        let (s, p) = w.upload(&uri, inst, bytes.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let (s, c) = w.call(Method::POST, "/v1/consignments", emp, body).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        let (s, r) = w.upload(&uri, inst, bytes).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        assert_eq!(r["consignments"], json!([c["id"]]), "{r}");
        // Ended before the exam, it no longer covers it.
        let (s, ended) = w
            .call(
                Method::POST,
                &format!("/v1/consignments/{}/end", c["id"].as_str().unwrap()),
                emp,
                json!({"last_day": "2024-04-30"}),
            )
            .await;
        assert_eq!(
            (s, ended["valid_until"].as_str()),
            (StatusCode::OK, Some("2024-04-30"))
        );
        let (s, _) = w
            .call(
                Method::POST,
                &format!("/v1/consignments/{}/end", c["id"].as_str().unwrap()),
                other_emp,
                json!({"last_day": "2024-04-30"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "only the employer's own");
        let (uri, bytes) = archive_from(
            INSTITUTION,
            &[document_from("2", INSTITUTION, "030").replace("20240520", "20240601")],
        );
        let (s, _) = w.upload(&uri, inst, bytes).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        // Specific checkups (010) need no consignment; another institution's documents are
        // not the institution's to send.
        let (uri, bytes) = archive_from(INSTITUTION, &[document_from("3", INSTITUTION, "010")]);
        let (s, r) = w.upload(&uri, inst, bytes).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let (uri, bytes) = archive_from(INSTITUTION, &[document_from("3", "1399999999", "010")]);
        let (s, p) = w.upload(&uri, inst, bytes).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");

        // The insurer's request for fiscal 2024: who is covered, what arrived, what is overdue
        // (the clock is past the due date).
        for code in ["1001", "2002"] {
            let (s, r) = w
                .call(
                    Method::PUT,
                    &format!("/v1/employers/{code}/checkup-requests/2024"),
                    ins,
                    json!({"due_date": "2025-03-31"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
        }
        let (s, list) = w
            .call(Method::GET, "/v1/checkup-requests/2024", ins, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK);
        let got: Vec<(String, i64, i64, bool)> = list["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["employer"].as_str().unwrap().to_owned(),
                    r["covered"].as_i64().unwrap(),
                    r["arrived"].as_i64().unwrap(),
                    r["overdue"].as_bool().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [("1001".into(), 2, 2, false), ("2002".into(), 2, 1, true)],
            "{list}"
        );
        let (_, mine) = w
            .call(
                Method::GET,
                "/v1/employer/checkup-requests/2025",
                emp,
                Value::Null,
            )
            .await;
        assert_eq!(mine["requests"], json!([]));
        let (s, _) = w
            .call(
                Method::PUT,
                "/v1/employers/9999/checkup-requests/2024",
                ins,
                json!({"due_date": "2025-03-31"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // An employer token is no insurer token.
        let (s, _) = w.call(Method::GET, "/v1/employers", emp, Value::Null).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let trail = w
            .store
            .audit_of_action(onshi_domain::AuditAction::Consign)
            .await
            .unwrap();
        assert_eq!(trail.len(), 3, "two consignments and an end");
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_person_sees_their_results_and_a_facility_only_under_a_live_checkup_consent() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let ins = Some(w.insurer.as_str());
        let (s, r) = w
            .upload(
                &format!("/v1/checkup-archives/{NAME}"),
                ins,
                archive(&[document("1")]),
            )
            .await;
        assert_eq!(
            (s, r["linked"].as_u64()),
            (StatusCode::CREATED, Some(1)),
            "{r}"
        );

        // The person, by their card at the portal.
        let proof = w.proof(None, "valid").await;
        let (s, mine) = w
            .call(Method::POST, "/v1/portal/checkups", None, proof)
            .await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        let checkups = mine["checkups"].as_array().unwrap();
        assert_eq!(checkups.len(), 1, "{mine}");
        assert_eq!(checkups[0]["exam_date"], "2024-05-20");
        let sbp = checkups[0]["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == "9A751000000000001")
            .expect("systolic pressure");
        assert_eq!(sbp["name"], "収縮期血圧(1回目)");
        assert_eq!(
            (
                sbp["guidance_value"].as_f64(),
                sbp["referral_value"].as_f64()
            ),
            (Some(130.0), Some(140.0))
        );
        let value: f64 = sbp["value"].as_str().unwrap().parse().unwrap();
        let expected = if value >= 140.0 {
            "referral"
        } else if value >= 130.0 {
            "guidance"
        } else {
            "normal"
        };
        assert_eq!(sbp["judgement"], expected, "{sbp}");
        // Someone else's card sees none of it.
        let proof = w.proof(None, "phone").await;
        let (_, theirs) = w
            .call(Method::POST, "/v1/portal/checkups", None, proof)
            .await;
        assert_eq!(
            theirs["checkups"].as_array().map(Vec::len),
            Some(1),
            "the same person's phone"
        );

        // A facility: no card check, a check without the checkup consent, then with it.
        let f1 = Some(w.f1.as_str());
        let (s, _) = w
            .call(
                Method::GET,
                "/v1/checkups?check_reference=none",
                f1,
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let mut body = w.proof(f1, "valid").await;
        body["consultation_date"] = json!("2026-11-24");
        body["consent"] = json!(["medication"]);
        let (s, checked) = w.call(Method::POST, "/v1/eligibility/card", f1, body).await;
        assert_eq!(s, StatusCode::OK, "{checked}");
        let reference = checked["check_reference"].as_str().unwrap().to_owned();
        let uri = format!("/v1/checkups?check_reference={reference}");
        let (s, p) = w.call(Method::GET, &uri, f1, Value::Null).await;
        assert_eq!(
            (s, p["type"].as_str()),
            (
                StatusCode::FORBIDDEN,
                Some("urn:onshi:problem:consent-required")
            ),
            "{p}"
        );
        let reads_before = w
            .store
            .audit_of_action(onshi_domain::AuditAction::ReadCheckups)
            .await
            .unwrap()
            .len();
        let proof = w.proof(f1, "valid").await;
        let (s, checked) = w.check(&w.f1, &proof, "2026-11-24").await;
        assert_eq!(s, StatusCode::OK, "{checked}");
        let uri = format!(
            "/v1/checkups?check_reference={}",
            checked["check_reference"].as_str().unwrap()
        );
        let (s, seen) = w.call(Method::GET, &uri, f1, Value::Null).await;
        assert_eq!(s, StatusCode::OK, "{seen}");
        assert_eq!(seen["checkups"][0]["id"], checkups[0]["id"]);
        // By card, as the folder exchange's 特定健診情報 request names the patient.
        let card = |number: &str| json!({"insurer_number": "01130012", "symbol": "10", "number": number, "branch": "00"});
        let (s, by_card) = w
            .call(Method::POST, "/v1/checkups/by-card", f1, card("1"))
            .await;
        assert_eq!(s, StatusCode::OK, "{by_card}");
        assert_eq!(by_card["checkups"][0]["id"], checkups[0]["id"]);
        assert_eq!(
            (
                by_card["patient"]["name_kana"].as_str(),
                by_card["patient"]["birth_date"].as_str()
            ),
            (Some("シケン ハナコ"), Some("1990-05-06"))
        );
        for (body, status) in [
            (card("2"), StatusCode::FORBIDDEN),
            (card("999"), StatusCode::NOT_FOUND),
            (
                json!({"insurer_number": "01130012"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ] {
            let (s, p) = w.call(Method::POST, "/v1/checkups/by-card", f1, body).await;
            assert_eq!(s, status, "{p}");
        }
        let (s, _) = w
            .call(
                Method::POST,
                "/v1/checkups/by-card",
                Some(w.f2.as_str()),
                card("1"),
            )
            .await;
        assert_eq!(
            s,
            StatusCode::FORBIDDEN,
            "the consent was given to the clinic only"
        );
        // Another facility cannot use the reference.
        let (s, _) = w
            .call(Method::GET, &uri, Some(w.f2.as_str()), Value::Null)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let reads = w
            .store
            .audit_of_action(onshi_domain::AuditAction::ReadCheckups)
            .await
            .unwrap();
        assert_eq!(
            reads.len(),
            reads_before + 2,
            "the refusals read nothing; each read is audited"
        );
        let last = reads.last().unwrap();
        assert_eq!(
            (last.actor_kind.as_str(), last.actor_id.as_str()),
            ("facility", "1311111111")
        );
        // The person sees who read their results.
        let proof = w.proof(None, "valid").await;
        let (_, log) = w
            .call(Method::POST, "/v1/portal/access-log", None, proof)
            .await;
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "read_checkups" && e["actor_kind"] == "facility"),
            "{log}"
        );
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_insurer_resolves_its_matching_queue_from_candidates() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let ins = Some(w.insurer.as_str());
        let wrong_name = document("999").replace("ｼｹﾝ ﾀﾛｳ", "ｼｹｿ ﾊﾅｺ");
        let (s, r) = w
            .upload(
                &format!("/v1/checkup-archives/{NAME}"),
                ins,
                archive(&[wrong_name]),
            )
            .await;
        assert_eq!(
            (s, r["to_match"].as_u64()),
            (StatusCode::CREATED, Some(1)),
            "{r}"
        );
        let (s, queue) = w
            .call(Method::GET, "/v1/checkups/unmatched", ins, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK, "{queue}");
        let item = &queue["checkups"][0];
        assert_eq!(
            (item["number"].as_str(), item["birth_date"].as_str()),
            (Some("999"), Some("1990-05-06"))
        );
        let candidates = item["candidates"].as_array().unwrap();
        assert_eq!(
            candidates.len(),
            5,
            "members 1–4 and 77 share birth date and sex: {item}"
        );
        assert!(
            candidates
                .iter()
                .all(|c| c["similarity"].as_u64().unwrap() < 100
                    && c["similarity"].as_u64().unwrap() > 80)
        );
        assert_eq!(
            (
                candidates[0]["covers_exam_date"].as_bool(),
                candidates[4]["covers_exam_date"].as_bool()
            ),
            (Some(true), Some(false)),
            "alike names ranked by whether the qualification covers the exam date: {item}"
        );
        let member = candidates[0]["member_id"].clone();
        let uri = format!("/v1/checkups/{}/match", item["id"].as_str().unwrap());
        let (s, p) = w
            .call(
                Method::POST,
                &uri,
                ins,
                json!({"member_id": "no-such-member"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
        let (s, _) = w
            .call(Method::POST, &uri, ins, json!({"member_id": member}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(w.store.checkup_counts().await.unwrap(), (1, 0));
        let (s, _) = w
            .call(Method::POST, &uri, ins, json!({"member_id": member}))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "resolved once");
        let (_, queue) = w
            .call(Method::GET, "/v1/checkups/unmatched", ins, Value::Null)
            .await;
        assert_eq!(queue["checkups"], json!([]));
        let matched = w
            .store
            .audit_of_action(onshi_domain::AuditAction::MatchCheckup)
            .await
            .unwrap();
        assert_eq!(matched.len(), 1);
        assert_eq!(matched[0].member_id.as_deref(), member.as_str());
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_moved_members_results_reach_the_new_insurer_as_a_valid_standard_archive() {
    use onshi_checkup::{archive::Limits, codes::CodeTable, import::read_archive};
    let dated = |number: &str, exam: &str| {
        document(number).replace(
            r#"<effectiveTime value="20240520"/>"#,
            &format!(r#"<effectiveTime value="{exam}"/>"#),
        )
    };
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        // T (person 5) was 協会けんぽ's member 77 until March 2024, then the society's member 5.
        // 協会けんぽ holds two of T's checkups (one older than five fiscal years) and P's.
        let (s, r) = w
            .upload(
                &format!("/v1/checkup-archives/{NAME}"),
                Some(w.insurer.as_str()),
                archive(&[
                    dated("77", "20230601"),
                    dated("77", "20210601"),
                    document("1"),
                ]),
            )
            .await;
        assert_eq!(
            (s, r["linked"].as_u64()),
            (StatusCode::CREATED, Some(3)),
            "{r}"
        );
        let society = society();
        let ask = |number: &str, from: &str| json!({"symbol": "10", "number": number, "branch": "00", "from_insurer": from});
        let (s, headers, bytes) = w
            .send(
                Method::POST,
                "/v1/checkup-transfers",
                Some(w.society.as_str()),
                ask("5", "01130012").to_string(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&bytes));
        assert_eq!(headers[header::CONTENT_TYPE], "application/zip");
        let name = format!("0001130012_{}_202611240_1.zip", society.as_str());
        assert_eq!(
            headers[header::CONTENT_DISPOSITION].to_str().unwrap(),
            format!("attachment; filename=\"{name}\"")
        );

        // onshi's own reader takes it: 保険者→保険者, from the old insurer to the new one, only
        // T's checkup of the last five fiscal years, with the old insurer's card key.
        let mut docs = Vec::new();
        let receipt = read_archive(
            std::io::Cursor::new(bytes.to_vec()),
            &name,
            Limits::default(),
            CodeTable::fy2024(),
            |c| docs.push(c.document),
        )
        .unwrap();
        assert_eq!(receipt.index.interaction_type, 8);
        assert_eq!(receipt.index.sender.0, "01130012");
        assert_eq!(receipt.index.receiver.0, society.as_str());
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(
            (
                d.insurer.as_str(),
                d.number.as_str(),
                d.exam_date.to_string()
            ),
            ("01130012", "77", "2023-06-01".to_owned())
        );
        let original = onshi_checkup::document::read(
            &onshi_checkup::xml::parse(dated("77", "20230601").as_bytes()).unwrap(),
        )
        .unwrap();
        // The sender wrote 9N501 and 9N506 (the doctor's judgements): kept as written, so
        // every value is as sent.
        let values = |d: &onshi_checkup::document::Document| {
            d.observations
                .iter()
                .map(|o| (o.code.clone(), o.value.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(values(d), values(&original), "every value as sent");
        // And libxml2 finds it valid against the schemas it carries.
        if crate::schema_check::xmllint() {
            let dir = tempfile::tempdir().unwrap();
            let (_, data) =
                crate::schema_check::validate_archive(dir.path(), &name, bytes.to_vec());
            assert_eq!(data.len(), 1);
        }

        // Audited: who asked, for whom, from whom.
        let transfers = w
            .store
            .audit_of_action(onshi_domain::AuditAction::TransferCheckups)
            .await
            .unwrap();
        assert_eq!(transfers.len(), 1);
        let t = &transfers[0];
        assert_eq!(
            (t.actor_kind.as_str(), t.actor_id.as_str()),
            ("insurer", society.as_str())
        );
        assert!(t.member_id.is_some(), "names the new insurer's member");
        // The person sees the transfer among who handled their data.
        let proof = w.proof(None, "moved").await;
        let (_, log) = w
            .call(Method::POST, "/v1/portal/access-log", None, proof)
            .await;
        assert!(
            log.as_array()
                .unwrap()
                .iter()
                .any(|e| e["action"] == "transfer_checkups" && e["actor"] == society.as_str()),
            "{log}"
        );

        // Refusals read nothing: a member it does not have, its own number, an insurer that
        // holds nothing of the person, a malformed number.
        let refusals = [
            (ask("99", "01130012"), StatusCode::NOT_FOUND),
            (ask("5", society.as_str()), StatusCode::UNPROCESSABLE_ENTITY),
            (ask("5", "01130013"), StatusCode::UNPROCESSABLE_ENTITY),
            (
                json!({"number": "5", "branch": "00"}),
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
        ];
        for (body, status) in refusals {
            let (s, p) = w
                .call(
                    Method::POST,
                    "/v1/checkup-transfers",
                    Some(w.society.as_str()),
                    body.clone(),
                )
                .await;
            assert_eq!(s, status, "{body} → {p}");
        }
        // 協会けんぽ's P has no other insurer's results.
        let (s, p) = w
            .call(
                Method::POST,
                "/v1/checkup-transfers",
                Some(w.insurer.as_str()),
                ask("1", society.as_str()),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{p}");
        // A facility cannot ask.
        let (s, _) = w
            .call(
                Method::POST,
                "/v1/checkup-transfers",
                Some(w.f1.as_str()),
                ask("5", "01130012"),
            )
            .await;
        assert!(
            s == StatusCode::UNAUTHORIZED || s == StatusCode::FORBIDDEN,
            "{s}"
        );
        assert_eq!(
            w.store
                .audit_of_action(onshi_domain::AuditAction::TransferCheckups)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(w.store.verify_audit().await.unwrap().is_ok());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_employer_sends_its_employees_results_as_a_csv() {
    const INSTITUTION: &str = "1312345678";
    let row_of = |number: &str| {
        onshi_checkup::document::read(
            &onshi_checkup::xml::parse(document_from(number, INSTITUTION, "030").as_bytes())
                .unwrap(),
        )
        .unwrap()
    };
    for db in TestDb::all().await.unwrap() {
        let w = World::builder()
            .with_member("01130012", "1", "2020-04-01", "", 1)
            .employed("1001")
            .with_member("01130012", "2", "2020-04-01", "", 2)
            .employed("1001")
            .with_member("01130012", "3", "2020-04-01", "", 3)
            .employed("2002")
            .with_card("valid", 1)
            .build(&db)
            .await;
        let r = w.add_employer("1001", "オンシ製作所", "E").await;
        let emp = r["token"].as_str().unwrap().to_owned();
        let emp = Some(emp.as_str());
        let csv = |numbers: &[&str]| {
            let docs: Vec<_> = numbers.iter().map(|n| row_of(n)).collect();
            onshi_checkup::employer_csv::write(&docs)
        };
        // Another employer's employee in the file: refused whole, by line.
        let (s, p) = w
            .upload(
                "/v1/checkup-csv/kenshin-2024.csv",
                emp,
                csv(&["1", "3"]).into_bytes(),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let e = &p["errors"][0];
        assert_eq!(e["field"], "kenshin-2024.csv");
        assert!(
            e["reason"].as_str().unwrap().starts_with("line 3: ")
                && e["reason"].as_str().unwrap().contains("employer 1001"),
            "{p}"
        );
        assert_eq!(w.store.checkup_counts().await.unwrap(), (0, 0));
        // A bad value: named by line and column, nothing stored.
        let text = csv(&["1", "2"]);
        let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
        let height = header
            .iter()
            .position(|h| *h == "9N001000000000001")
            .unwrap();
        let broken: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| {
                if i == 2 {
                    let mut f: Vec<&str> = l.split(',').collect();
                    f[height] = "abc";
                    f.join(",")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let (s, p) = w
            .upload("/v1/checkup-csv/kenshin-2024.csv", emp, broken.into_bytes())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(
            p["errors"][0]["reason"],
            "line 3, 9N001000000000001: 身長: must be a number"
        );
        // Its own employees, in CP932 as office software writes it: stored and linked, as
        // employer checkups.
        let sjis = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
        let (s, r) = w
            .upload("/v1/checkup-csv/kenshin-2024.csv", emp, sjis)
            .await;
        assert_eq!(
            (s, r["linked"].as_u64()),
            (StatusCode::CREATED, Some(2)),
            "{r}"
        );
        // The same file again changes nothing.
        let (s, r) = w
            .upload("/v1/checkup-csv/kenshin-2024.csv", emp, text.into_bytes())
            .await;
        assert_eq!(
            (s, r["unchanged"].as_u64()),
            (StatusCode::CREATED, Some(2)),
            "{r}"
        );
        let proof = w.proof(None, "valid").await;
        let (_, mine) = w
            .call(Method::POST, "/v1/portal/checkups", None, proof)
            .await;
        assert_eq!(mine["checkups"][0]["program"], "030", "{mine}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn claims_are_stored_with_their_checkups_and_a_changed_claim_is_a_new_version() {
    // An archive of two documents, each with its claim (CLAIMS/c…, the document's name but for
    // its first letter), as institutions bill insurers.
    let with_claims = |claims: [(i64, i64); 2]| {
        let docs = [document("1"), document("2")];
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let o = SimpleFileOptions::default();
        w.start_file(format!("{ROOT}/ix08_V08.xml"), o).unwrap();
        w.write_all(br#"<index xmlns="https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/0000161103.html"><interactionType code="6"/><creationTime value="20240527"/><sender><id root="1.2.392.200119.6.102" extension="5521111111"/></sender><receiver><id root="1.2.392.200119.6.101" extension="01130012"/></receiver><serviceEventType code="1"/><totalRecordCount value="4"/></index>"#).unwrap();
        for (i, (d, (unit, paid))) in docs.iter().zip(claims).enumerate() {
            w.start_file(format!("{ROOT}/DATA/h5521111111202405271{i:07}.xml"), o)
                .unwrap();
            w.write_all(d.as_bytes()).unwrap();
            w.start_file(format!("{ROOT}/CLAIMS/c5521111111202405271{i:07}.xml"), o)
                .unwrap();
            w.write_all(crate::claims::claim_for(d, unit, paid).as_bytes())
                .unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let ins = Some(w.insurer.as_str());
        let uri = format!("/v1/checkup-archives/{NAME}");
        let (s, r) = w
            .upload(&uri, ins, with_claims([(7000, 1000), (7000, 0)]))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        assert_eq!(
            (r["claims"].as_u64(), r["claimed_yen"].as_i64()),
            (Some(2), Some(13_000)),
            "{r}"
        );
        let insurer = onshi_domain::InsurerNumber::parse("01130012").unwrap();
        assert_eq!(w.store.claimed(&insurer).await.unwrap(), (2, 13_000));
        // The same again: nothing; one claim changed: a new version of that checkup, and the
        // insurer's total follows the latest.
        let (_, r) = w
            .upload(&uri, ins, with_claims([(7000, 1000), (7000, 0)]))
            .await;
        assert_eq!(r["unchanged"].as_u64(), Some(2), "{r}");
        let (_, r) = w
            .upload(&uri, ins, with_claims([(7000, 1000), (7000, 500)]))
            .await;
        assert_eq!(
            (r["corrected"].as_u64(), r["unchanged"].as_u64()),
            (Some(1), Some(1)),
            "{r}"
        );
        assert_eq!(w.store.claimed(&insurer).await.unwrap(), (2, 12_500));
        db.cleanup().await;
    }
}

/// Each stored checkup is judged as it is imported (保健指導レベル, メタボ判定, the rule set of its
/// fiscal year), and judged again by the server when its judgement is missing.
#[tokio::test]
async fn imported_checkups_are_judged_and_rejudged_when_stale() {
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        // The fixture as written: a man born 1970-01-01 examined 2024-05-20 (55 at the end of
        // FY2024): waist 85, 138/88 mmHg, HDL 38, fasting glucose 251, taking medication.
        let man = include_str!("../../../onshi-checkup/tests/fixtures/hc08-complete.xml").replace(
            r#"extension="00280081" root="1.2.392.200119.6.101""#,
            r#"extension="01130012" root="1.2.392.200119.6.101""#,
        );
        let (s, r) = w
            .upload(
                &format!("/v1/checkup-archives/{NAME}"),
                Some(w.insurer.as_str()),
                archive(&[man]),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
        let insurer = InsurerNumber::parse("01130012").unwrap();
        let stored = || async {
            let rows = w
                .store
                .checkups_of_insurer(&insurer, 2024, "", 10)
                .await
                .unwrap();
            assert_eq!(rows.len(), 1);
            rows[0].judgement.clone()
        };
        let first = stored().await.expect("judged on import");
        assert_eq!(
            (
                first.rule_set.as_str(),
                first.guidance_level.as_deref(),
                first.metabolic.as_str(),
                first.referral
            ),
            // Medication excludes him from guidance; the syndrome counts it: waist and three
            // risks. Fasting glucose 251 is past its 受診勧奨判定値 (126).
            ("tokutei-4.1", Some("3"), "1", true)
        );
        let flags = onshi_checkup::indicators::Flags {
            known: u32::try_from(first.indicators_known).unwrap(),
            present: u32::try_from(first.indicators).unwrap(),
        };
        use onshi_checkup::indicators::Indicator;
        assert_eq!(flags.get(Indicator::Obesity), Some(true), "waist 85");
        assert_eq!(flags.get(Indicator::BloodPressure), Some(true));
        assert_eq!(flags.get(Indicator::NonSmoking), Some(false), "a smoker");
        assert_eq!(flags.get(Indicator::GuidanceTarget), Some(false));

        // The import kept his report cell (he is 54 at the year's end).
        let cells = || async { w.store.report_cells(2024, 13).await.unwrap() };
        let kept = cells().await;
        assert_eq!(kept.iter().map(|c| c.people).sum::<i64>(), 1);

        // Rows from before judging (or judged by old rules), and cells from before they were
        // kept: the server's start judges them and refills the cells.
        db.execute_raw(
            "UPDATE checkups SET rule_set = NULL, guidance_level = NULL, metabolic = NULL",
        )
        .await
        .unwrap();
        db.execute_raw("DELETE FROM report_cells").await.unwrap();
        assert_eq!(stored().await, None);
        let judged = onshi_server::checkups::judge_stale_checkups(&w.store)
            .await
            .unwrap();
        assert_eq!(judged, 1);
        assert_eq!(stored().await, Some(first));
        assert_eq!(cells().await, kept, "the cells refilled as they were");
        // Cells lost with nothing to judge are refilled too.
        db.execute_raw("DELETE FROM report_cells").await.unwrap();
        assert_eq!(
            onshi_server::checkups::judge_stale_checkups(&w.store)
                .await
                .unwrap(),
            0
        );
        assert_eq!(cells().await, kept);
        assert_eq!(
            onshi_server::checkups::judge_stale_checkups(&w.store)
                .await
                .unwrap(),
            0,
            "nothing left to judge"
        );
        db.cleanup().await;
    }
}

//! `/openapi.json` is a valid OpenAPI 3.1 document, by the OpenAPI Initiative's own schema.

use std::collections::{BTreeMap, BTreeSet};

use crate::world::*;

#[tokio::test]
async fn the_openapi_document_validates_as_openapi_3_1() {
    let schema: Value =
        serde_json::from_str(include_str!("../fixtures/openapi-3.1.schema.json")).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let (s, doc) = w.call(Method::GET, "/openapi.json", None, json!({})).await;
        assert_eq!(s, StatusCode::OK);
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{} problems ({}), first: {:#?}",
            errors.len(),
            db.backend,
            &errors[..errors.len().min(10)]
        );
        db.cleanup().await;
    }
}

/// The statuses `/openapi.json` lists for each operation, as `"POST /v1/…"` → statuses.
fn documented_statuses(doc: &Value) -> BTreeMap<String, BTreeSet<u16>> {
    let mut out = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let statuses = op["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|s| s.parse::<u16>().unwrap())
                .collect();
            out.insert(format!("{} {path}", method.to_uppercase()), statuses);
        }
    }
    out
}

/// Every status a handler answers is documented for its operation, and every documented status
/// is answered by some request here, except those that need a failing store (500) or a held
/// registry (503, provoked in `busy.rs` and by construction of the store's lock waits).
#[tokio::test]
async fn the_documented_statuses_are_the_ones_the_handlers_answer() {
    let db = TestDb::sqlite().unwrap();
    let checkpoints = tempfile::tempdir().unwrap();
    let w = World::standard_cast()
        .with_audit_checkpoints(checkpoints.path())
        .with_archive_limit(64 * 1024)
        .build(&db)
        .await;
    let (_, doc) = w.call(Method::GET, "/openapi.json", None, json!({})).await;
    let documented = documented_statuses(&doc);
    let f1 = Some(w.f1.as_str());
    let ins = Some(w.insurer.as_str());
    let mut observed: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut note = |op: &str, s: StatusCode, body: &Value| {
        assert!(
            documented.contains_key(op),
            "{op} answered but not documented"
        );
        assert!(
            documented[op].contains(&s.as_u16()),
            "{op} answered {s}, which /openapi.json does not list: {body}"
        );
        observed
            .entry(op.to_owned())
            .or_default()
            .insert(s.as_u16());
    };

    for (op, uri) in [
        ("GET /healthz", "/healthz"),
        ("GET /openapi.json", "/openapi.json"),
        ("GET /fhir/metadata", "/fhir/metadata"),
        (
            "GET /fhir/StructureDefinition/qualification-validity",
            "/fhir/StructureDefinition/qualification-validity",
        ),
    ] {
        let (s, b) = w.call(Method::GET, uri, None, Value::Null).await;
        note(op, s, &b);
    }

    // Challenges, and every route that takes a JSON body: no token, not JSON, a bad field.
    let bodied: [(&str, &str, Option<&str>, Value); 12] = [
        (
            "POST /v1/challenges",
            "/v1/challenges",
            f1,
            json!({"purpose": "dance"}),
        ),
        (
            "POST /v1/eligibility/number",
            "/v1/eligibility/number",
            f1,
            json!({"birth_date": "19900506", "insurer_number": "01130013", "number": "1"}),
        ),
        (
            "POST /v1/eligibility/card",
            "/v1/eligibility/card",
            f1,
            json!({"challenge_id": "x"}),
        ),
        (
            "POST /v1/bulk-checks",
            "/v1/bulk-checks",
            f1,
            json!({"items": []}),
        ),
        (
            "POST /v1/registrations",
            "/v1/registrations",
            f1,
            json!({"challenge_id": "x"}),
        ),
        (
            "POST /v1/portal/registrations",
            "/v1/portal/registrations",
            None,
            json!({"challenge_id": "x"}),
        ),
        (
            "POST /v1/portal/access-log",
            "/v1/portal/access-log",
            None,
            json!({"challenge_id": "x"}),
        ),
        (
            "POST /v1/portal/checkups",
            "/v1/portal/checkups",
            None,
            json!({"challenge_id": "x"}),
        ),
        (
            "POST /v1/portal/login-codes",
            "/v1/portal/login-codes",
            None,
            json!({"challenge_id": "x"}),
        ),
        (
            "POST /v1/members",
            "/v1/members",
            ins,
            json!({"number": "1"}),
        ),
        (
            "PATCH /v1/members/{id}",
            "/v1/members/none",
            ins,
            json!({"sex": "9"}),
        ),
        (
            "POST /v1/members/{id}/end",
            "/v1/members/none/end",
            ins,
            json!({}),
        ),
    ];
    for (op, uri, token, bad) in bodied {
        let method = if op.starts_with("PATCH") {
            Method::PATCH
        } else {
            Method::POST
        };
        let (s, b) = w.call(method.clone(), uri, token, bad).await;
        note(op, s, &b);
        if token.is_some() {
            let (s, b) = w.call(method.clone(), uri, None, json!({})).await;
            note(op, s, &b);
        }
        if method == Method::POST {
            let s = w.call_raw(Method::POST, uri, token, "{not json").await;
            note(op, s, &Value::Null);
        }
        // One byte over the route's limit.
        let limit = if uri == "/v1/bulk-checks" {
            onshi_server::BULK_BODY_LIMIT
        } else {
            onshi_server::BODY_LIMIT
        };
        let (s, headers, b) = w
            .call_with_headers(method.clone(), uri, token, Value::String("x".repeat(limit)))
            .await;
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{op}"
        );
        assert!(
            b["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("{} MiB", limit >> 20)),
            "{op}: {b}"
        );
        note(op, s, &b);
    }
    let (s, b) = w.call(Method::POST, "/v1/challenges", f1, json!({})).await;
    note("POST /v1/challenges", s, &b);
    let (s, b) = w
        .call(Method::POST, "/v1/portal/challenges", None, json!({}))
        .await;
    note("POST /v1/portal/challenges", s, &b);

    // Card routes: answered, replayed, another audience's challenge, a wrong signature, an
    // unknown challenge, a refused certificate, an expired challenge.
    let card_routes: [(&str, &str, Option<&str>, &str); 6] = [
        (
            "POST /v1/eligibility/card",
            "/v1/eligibility/card",
            f1,
            "check",
        ),
        (
            "POST /v1/registrations",
            "/v1/registrations",
            f1,
            "registration",
        ),
        (
            "POST /v1/portal/registrations",
            "/v1/portal/registrations",
            None,
            "portal",
        ),
        (
            "POST /v1/portal/access-log",
            "/v1/portal/access-log",
            None,
            "portal",
        ),
        (
            "POST /v1/portal/checkups",
            "/v1/portal/checkups",
            None,
            "portal",
        ),
        (
            "POST /v1/portal/login-codes",
            "/v1/portal/login-codes",
            None,
            "portal",
        ),
    ];
    for (op, uri, token, purpose) in card_routes {
        let proof_of = |card: &'static str| w.proof_for(token, card, purpose);
        let proof = proof_of("valid").await;
        let (s, b) = w.call(Method::POST, uri, token, proof.clone()).await;
        note(op, s, &b);
        let (s, b) = w.call(Method::POST, uri, token, proof).await;
        note(op, s, &b);
        let other = if token.is_some() { None } else { f1 };
        let (s, b) = w
            .call(Method::POST, uri, token, w.proof(other, "valid").await)
            .await;
        note(op, s, &b);
        let mut forged = proof_of("valid").await;
        let mut sig = forged["signature"].as_str().unwrap().to_owned();
        sig.replace_range(
            ..4,
            if sig.starts_with("AAAA") {
                "BBBB"
            } else {
                "AAAA"
            },
        );
        forged["signature"] = json!(sig);
        let (s, b) = w.call(Method::POST, uri, token, forged).await;
        note(op, s, &b);
        let mut unknown = proof_of("valid").await;
        unknown["challenge_id"] = json!("not-a-challenge");
        let (s, b) = w.call(Method::POST, uri, token, unknown).await;
        note(op, s, &b);
        let (s, b) = w
            .call(Method::POST, uri, token, proof_of("revoked").await)
            .await;
        note(op, s, &b);
        let late = proof_of("valid").await;
        *w.clock.lock().unwrap() += Duration::minutes(3);
        let (s, b) = w.call(Method::POST, uri, token, late).await;
        note(op, s, &b);
        *w.clock.lock().unwrap() -= Duration::minutes(3);
    }

    // Number checks and bulk look-ups.
    let (s, b) = w
        .call(
            Method::POST,
            "/v1/eligibility/number",
            f1,
            json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00"}),
        )
        .await;
    note("POST /v1/eligibility/number", s, &b);
    let (s, receipt) = w
        .call(
            Method::POST,
            "/v1/bulk-checks",
            f1,
            json!({"items": [{"birth_date": "19900506", "insurer_number": "01130012", "number": "1", "branch": "00"}]}),
        )
        .await;
    note("POST /v1/bulk-checks", s, &receipt);
    let number = receipt["reception_number"].as_str().unwrap();
    for (uri, token) in [
        (format!("/v1/bulk-checks/{number}"), f1),
        (format!("/v1/bulk-checks/{number}"), Some(w.f2.as_str())),
        (format!("/v1/bulk-checks/{number}"), None),
    ] {
        let (s, b) = w.call(Method::GET, &uri, token, Value::Null).await;
        note("GET /v1/bulk-checks/{reception_number}", s, &b);
    }

    // Members: created, conflicting, read, listed, changed, stale, ended, history, not found.
    let hanako = json!({"symbol": "20", "number": "9001", "branch": "00", "name": "試験 花子",
        "name_kana": "シケン ハナコ", "birth_date": "1990-05-06", "sex": "2", "relationship": "1",
        "qualified_from": "2020-04-01", "copay_ratio": "30"});
    let (s, m) = w
        .call(Method::POST, "/v1/members", ins, hanako.clone())
        .await;
    note("POST /v1/members", s, &m);
    let (s, b) = w.call(Method::POST, "/v1/members", ins, hanako).await;
    note("POST /v1/members", s, &b);
    let id = m["id"].as_str().unwrap();
    for (op, uri, token) in [
        ("GET /v1/members/{id}", format!("/v1/members/{id}"), ins),
        ("GET /v1/members/{id}", format!("/v1/members/{id}"), None),
        ("GET /v1/members/{id}", "/v1/members/none".to_owned(), ins),
        (
            "GET /v1/members/{id}/history",
            format!("/v1/members/{id}/history"),
            ins,
        ),
        (
            "GET /v1/members/{id}/history",
            "/v1/members/none/history".to_owned(),
            ins,
        ),
        (
            "GET /v1/members/{id}/history",
            format!("/v1/members/{id}/history"),
            None,
        ),
        ("GET /v1/members", "/v1/members?limit=5".to_owned(), ins),
        ("GET /v1/members", "/v1/members?limit=0".to_owned(), ins),
        ("GET /v1/members", "/v1/members".to_owned(), None),
    ] {
        let (s, b) = w.call(Method::GET, &uri, token, Value::Null).await;
        note(op, s, &b);
    }
    let uri = format!("/v1/members/{id}");
    let (s, b) = w
        .call(
            Method::PATCH,
            &uri,
            ins,
            json!({"copay_ratio": "20", "version": 1}),
        )
        .await;
    note("PATCH /v1/members/{id}", s, &b);
    let (s, b) = w
        .call(
            Method::PATCH,
            &uri,
            ins,
            json!({"copay_ratio": "10", "version": 1}),
        )
        .await;
    note("PATCH /v1/members/{id}", s, &b);
    let (s, b) = w
        .call(
            Method::PATCH,
            "/v1/members/none",
            ins,
            json!({"copay_ratio": "10"}),
        )
        .await;
    note("PATCH /v1/members/{id}", s, &b);
    let (s, b) = w.call(Method::PATCH, &uri, ins, json!({"sex": "9"})).await;
    note("PATCH /v1/members/{id}", s, &b);
    let s = w.call_raw(Method::PATCH, &uri, ins, "{not json").await;
    note("PATCH /v1/members/{id}", s, &Value::Null);
    let end = json!({"qualified_until": "2026-12-31", "loss_reason": "03"});
    let (s, b) = w
        .call(Method::POST, "/v1/members/none/end", ins, end.clone())
        .await;
    note("POST /v1/members/{id}/end", s, &b);
    let mut stale = end.clone();
    stale["version"] = json!(1);
    let (s, b) = w
        .call(Method::POST, &format!("{uri}/end"), ins, stale)
        .await;
    note("POST /v1/members/{id}/end", s, &b);
    let (s, b) = w.call(Method::POST, &format!("{uri}/end"), ins, end).await;
    note("POST /v1/members/{id}/end", s, &b);

    // FHIR: answered, not JSON, not a validation request, a bad insurer number, an unknown
    // card-check reference, no token.
    let fhir = |insurer: &str| {
        json!({"resourceType": "CoverageEligibilityRequest", "status": "active",
               "purpose": ["validation"], "patient": {"reference": "#p"}, "created": "2026-11-24",
               "insurer": {"display": "i"}, "servicedDate": "2026-11-24",
               "contained": [{"resourceType": "Patient", "id": "p", "birthDate": "1990-05-06"},
                   {"resourceType": "Coverage", "id": "card", "status": "active",
                   "beneficiary": {"display": "p"}, "subscriberId": "1", "dependent": "00",
                   "payor": [{"identifier": {"system": "urn:oid:1.2.392.100495.20.3.61", "value": insurer}}]}],
               "insurance": [{"coverage": {"reference": "#card"}}]})
    };
    let op = "POST /fhir/CoverageEligibilityRequest";
    let uri = "/fhir/CoverageEligibilityRequest";
    let mut by_ref = fhir("01130012");
    by_ref["insurance"] =
        json!([{"coverage": {"identifier": {"system": "urn:onshi:card-check", "value": "none"}}}]);
    let mut not_validation = fhir("01130012");
    not_validation["purpose"] = json!(["benefits"]);
    for (token, body) in [
        (f1, fhir("01130012")),
        (f1, fhir("01130013")),
        (f1, by_ref),
        (f1, not_validation),
        (None, fhir("01130012")),
    ] {
        let (s, b) = w.call(Method::POST, uri, token, body).await;
        note(op, s, &b);
    }
    let s = w.call_raw(Method::POST, uri, f1, "{not json").await;
    note(op, s, &Value::Null);
    let (s, headers, b) = w
        .call_with_headers(
            Method::POST,
            uri,
            f1,
            Value::String("x".repeat(onshi_server::BODY_LIMIT)),
        )
        .await;
    assert_eq!(
        (
            headers[header::CONTENT_TYPE].to_str().unwrap(),
            b["resourceType"].as_str()
        ),
        ("application/fhir+json", Some("OperationOutcome"))
    );
    note(op, s, &b);

    // Checkup archives: imported, refused, too large, no token.
    for (token, body) in [
        (ins, crate::checkups::archive(&[])),
        (ins, b"not a zip".to_vec()),
        (ins, vec![0; 70 * 1024]),
        (None, crate::checkups::archive(&[])),
    ] {
        let (s, b) = w
            .upload(
                "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
                token,
                body,
            )
            .await;
        note("POST /v1/checkup-archives/{name}", s, &b);
    }

    // Checkup CSV files: imported (a header alone), refused, too large, no token.
    let header = onshi_checkup::employer_csv::PERSON_COLUMNS.join(",");
    for (token, body) in [
        (ins, header.clone().into_bytes()),
        (ins, b"name,number\n".to_vec()),
        (ins, vec![b'x'; 70 * 1024]),
        (None, header.into_bytes()),
    ] {
        let (s, b) = w.upload("/v1/checkup-csv/results.csv", token, body).await;
        note("POST /v1/checkup-csv/{name}", s, &b);
    }

    // Employers, consignments and requests: each answered, refused, unknown, unauthorised.
    let employer =
        json!({"code": "1001", "name": "オンシ製作所", "industry": "E", "prefecture": "13"});
    let mut emp_token = String::new();
    for (token, body) in [
        (ins, employer.clone()),
        (ins, employer.clone()),
        (ins, json!({"code": "1002", "industry": "Z"})),
        (None, employer),
    ] {
        let (s, b) = w.call(Method::POST, "/v1/employers", token, body).await;
        if s == StatusCode::CREATED {
            emp_token = b["token"].as_str().unwrap().to_owned();
        }
        note("POST /v1/employers", s, &b);
    }
    let s = w
        .call_raw(Method::POST, "/v1/employers", ins, "{not json")
        .await;
    note("POST /v1/employers", s, &Value::Null);
    let emp = Some(emp_token.as_str());
    for token in [ins, None] {
        let (s, b) = w
            .call(Method::GET, "/v1/employers", token, Value::Null)
            .await;
        note("GET /v1/employers", s, &b);
    }
    let put_request = "PUT /v1/employers/{code}/checkup-requests/{fiscal_year}";
    for (uri, token, body) in [
        (
            "/v1/employers/1001/checkup-requests/2026",
            ins,
            json!({"due_date": "2027-06-30"}),
        ),
        (
            "/v1/employers/9999/checkup-requests/2026",
            ins,
            json!({"due_date": "2027-06-30"}),
        ),
        (
            "/v1/employers/1001/checkup-requests/1999",
            ins,
            json!({"due_date": "x"}),
        ),
        (
            "/v1/employers/1001/checkup-requests/2026",
            None,
            json!({"due_date": "2027-06-30"}),
        ),
        (
            "/v1/employers/1001/checkup-requests/x",
            ins,
            json!({"due_date": "2027-06-30"}),
        ),
    ] {
        let (s, b) = w.call(Method::PUT, uri, token, body).await;
        note(put_request, s, &b);
    }
    let s = w
        .call_raw(
            Method::PUT,
            "/v1/employers/1001/checkup-requests/2026",
            ins,
            "{not json",
        )
        .await;
    note(put_request, s, &Value::Null);
    for (op, base, token) in [
        (
            "GET /v1/checkup-requests/{fiscal_year}",
            "/v1/checkup-requests",
            ins,
        ),
        (
            "GET /v1/employer/checkup-requests/{fiscal_year}",
            "/v1/employer/checkup-requests",
            emp,
        ),
    ] {
        for (uri, token) in [
            (format!("{base}/2026"), token),
            (format!("{base}/2026"), None),
            (format!("{base}/x"), token),
        ] {
            let (s, b) = w.call(Method::GET, &uri, token, Value::Null).await;
            note(op, s, &b);
        }
    }
    let consign = json!({"institution": "1312345678", "valid_from": "2026-04-01"});
    let (s, b) = w
        .call(Method::POST, "/v1/consignments", emp, consign.clone())
        .await;
    note("POST /v1/consignments", s, &b);
    let (_token, hash) =
        onshi_store::token::mint(onshi_store::token::TokenKind::Institution).unwrap();
    w.store
        .create_institution(
            &onshi_domain::InstitutionNumber::parse("1312345678").unwrap(),
            "健診センター",
            &hash,
            NOW,
            &onshi_store::Actor::Operator("t".into()),
        )
        .await
        .unwrap();
    let mut consignment = String::new();
    for (token, body) in [
        (emp, consign.clone()),
        (
            emp,
            json!({"institution": "13", "valid_from": "2026-04-01"}),
        ),
        (None, consign),
    ] {
        let (s, b) = w.call(Method::POST, "/v1/consignments", token, body).await;
        if s == StatusCode::CREATED {
            consignment = b["id"].as_str().unwrap().to_owned();
        }
        note("POST /v1/consignments", s, &b);
    }
    let s = w
        .call_raw(Method::POST, "/v1/consignments", emp, "{not json")
        .await;
    note("POST /v1/consignments", s, &Value::Null);
    for token in [emp, None] {
        let (s, b) = w
            .call(Method::GET, "/v1/consignments", token, Value::Null)
            .await;
        note("GET /v1/consignments", s, &b);
    }
    let end_op = "POST /v1/consignments/{id}/end";
    let end = format!("/v1/consignments/{consignment}/end");
    for (uri, token, body) in [
        (end.as_str(), emp, json!({"last_day": "2026-12-31"})),
        (
            "/v1/consignments/none/end",
            emp,
            json!({"last_day": "2026-12-31"}),
        ),
        (end.as_str(), emp, json!({"last_day": "soon"})),
        (end.as_str(), None, json!({"last_day": "2026-12-31"})),
    ] {
        let (s, b) = w.call(Method::POST, uri, token, body).await;
        note(end_op, s, &b);
    }
    let s = w.call_raw(Method::POST, &end, emp, "{not json").await;
    note(end_op, s, &Value::Null);

    // One byte over the body limit, on each of them.
    for (op, method, uri, token) in [
        (
            "POST /v1/employers",
            Method::POST,
            "/v1/employers".to_owned(),
            ins,
        ),
        (
            put_request,
            Method::PUT,
            "/v1/employers/1001/checkup-requests/2026".to_owned(),
            ins,
        ),
        (
            "POST /v1/consignments",
            Method::POST,
            "/v1/consignments".to_owned(),
            emp,
        ),
        (end_op, Method::POST, end.clone(), emp),
    ] {
        let (s, b) = w
            .call(
                method,
                &uri,
                token,
                Value::String("x".repeat(onshi_server::BODY_LIMIT)),
            )
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{op}");
        note(op, s, &b);
    }

    // A facility reading a patient's checkups: answered, without consent, unknown, no
    // reference, no token.
    let checkups_op = "GET /v1/checkups";
    let mut body = w.proof(f1, "moved").await;
    body["consultation_date"] = json!("2026-11-24");
    body["consent"] = json!(["medication"]);
    let (_, without) = w.call(Method::POST, "/v1/eligibility/card", f1, body).await;
    let proof = w.proof(f1, "valid").await;
    let (_, with) = w.check(&w.f1, &proof, "2026-11-24").await;
    for (uri, token) in [
        (
            format!(
                "/v1/checkups?check_reference={}",
                with["check_reference"].as_str().unwrap()
            ),
            f1,
        ),
        (
            format!(
                "/v1/checkups?check_reference={}",
                without["check_reference"].as_str().unwrap()
            ),
            f1,
        ),
        ("/v1/checkups?check_reference=none".to_owned(), f1),
        ("/v1/checkups".to_owned(), f1),
        ("/v1/checkups?check_reference=none".to_owned(), None),
    ] {
        let (s, b) = w.call(Method::GET, &uri, token, Value::Null).await;
        note(checkups_op, s, &b);
    }
    // By card: answered, without consent, unknown, a missing field, not JSON, too large, no
    // token.
    let card = |number: &str| json!({"insurer_number": "01130012", "symbol": "10", "number": number, "branch": "00"});
    for (token, body) in [
        (f1, card("1")),
        (f1, card("2")),
        (f1, card("999")),
        (f1, json!({"insurer_number": "01130012"})),
        (None, card("1")),
        (f1, Value::String("x".repeat(onshi_server::BODY_LIMIT))),
    ] {
        let (s, b) = w
            .call(Method::POST, "/v1/checkups/by-card", token, body)
            .await;
        note("POST /v1/checkups/by-card", s, &b);
    }
    let s = w
        .call_raw(Method::POST, "/v1/checkups/by-card", f1, "{not json")
        .await;
    note("POST /v1/checkups/by-card", s, &Value::Null);
    // The same as FHIR Bundles.
    for (uri, token) in [
        (
            format!(
                "/fhir/Bundle?check-reference={}",
                with["check_reference"].as_str().unwrap()
            ),
            f1,
        ),
        (
            format!(
                "/fhir/Bundle?check-reference={}",
                without["check_reference"].as_str().unwrap()
            ),
            f1,
        ),
        ("/fhir/Bundle?check-reference=none".to_owned(), f1),
        ("/fhir/Bundle".to_owned(), f1),
        ("/fhir/Bundle?check-reference=none".to_owned(), None),
    ] {
        let (s, b) = w.call(Method::GET, &uri, token, Value::Null).await;
        note("GET /fhir/Bundle", s, &b);
    }

    // The matching queue: listed, a bad limit, no token; resolved, unknown, no member, not
    // JSON, too large, no token.
    let (s, r) = w
        .upload(
            "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
            ins,
            crate::checkups::archive(&[crate::checkups::document("999")]),
        )
        .await;
    assert_eq!(
        (s, r["to_match"].as_u64()),
        (StatusCode::CREATED, Some(1)),
        "{r}"
    );
    let queue_op = "GET /v1/checkups/unmatched";
    for (uri, token) in [
        ("/v1/checkups/unmatched", ins),
        ("/v1/checkups/unmatched?limit=0", ins),
        ("/v1/checkups/unmatched", None),
    ] {
        let (s, b) = w.call(Method::GET, uri, token, Value::Null).await;
        note(queue_op, s, &b);
    }
    let (_, queue) = w
        .call(Method::GET, "/v1/checkups/unmatched", ins, Value::Null)
        .await;
    let match_op = "POST /v1/checkups/{id}/match";
    let first = &queue["checkups"][0];
    let resolve = format!("/v1/checkups/{}/match", first["id"].as_str().unwrap());
    let member = first["candidates"][0]["member_id"].clone();
    for (uri, token, body) in [
        (resolve.as_str(), ins, json!({"member_id": member})),
        (resolve.as_str(), ins, json!({"member_id": member})),
        (resolve.as_str(), ins, json!({})),
        (resolve.as_str(), None, json!({"member_id": member})),
        (
            resolve.as_str(),
            ins,
            Value::String("x".repeat(onshi_server::BODY_LIMIT)),
        ),
    ] {
        let (s, b) = w.call(Method::POST, uri, token, body).await;
        note(match_op, s, &b);
    }
    let s = w.call_raw(Method::POST, &resolve, ins, "{not json").await;
    note(match_op, s, &Value::Null);

    // Transfers to a new insurer: an archive, a member without My Number, nothing held, a bad
    // field, not JSON, too large, no token.
    let transfer_op = "POST /v1/checkup-transfers";
    let (s, r) = w
        .upload(
            "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
            ins,
            crate::checkups::archive(&[crate::checkups::document("77").replace(
                r#"<effectiveTime value="20240520"/>"#,
                r#"<effectiveTime value="20230601"/>"#,
            )]),
        )
        .await;
    assert_eq!(
        (s, r["linked"].as_u64()),
        (StatusCode::CREATED, Some(1)),
        "{r}"
    );
    let nameless = json!({"symbol": "20", "number": "9002", "branch": "00", "name": "試験 花子",
        "name_kana": "シケン ハナコ", "birth_date": "1990-05-06", "sex": "2", "relationship": "1",
        "qualified_from": "2020-04-01", "copay_ratio": "30"});
    let (s, _) = w.call(Method::POST, "/v1/members", ins, nameless).await;
    assert_eq!(s, StatusCode::CREATED);
    let society = crate::world::society();
    let society_token = Some(w.society.as_str());
    let ask = |number: &str, from: &str| json!({"symbol": "10", "number": number, "branch": "00", "from_insurer": from});
    for (token, body) in [
        (society_token, ask("5", "01130012")),
        (
            ins,
            json!({"symbol": "20", "number": "9002", "branch": "00", "from_insurer": society.as_str()}),
        ),
        (society_token, ask("99", "01130012")),
        (society_token, ask("5", "0113")),
        (None, ask("5", "01130012")),
        (
            society_token,
            Value::String("x".repeat(onshi_server::BODY_LIMIT)),
        ),
    ] {
        let (s, b) = w
            .call(Method::POST, "/v1/checkup-transfers", token, body)
            .await;
        note(transfer_op, s, &b);
    }
    let s = w
        .call_raw(
            Method::POST,
            "/v1/checkup-transfers",
            society_token,
            "{not json",
        )
        .await;
    note(transfer_op, s, &Value::Null);

    // The programme: a year's summary, a year out of range, an unreadable path, no token.
    let programme_op = "GET /v1/programme/{fiscal_year}";
    for (uri, token) in [
        ("/v1/programme/2024", ins),
        ("/v1/programme/1999", ins),
        ("/v1/programme/%FF", ins),
        ("/v1/programme/2024", None),
    ] {
        let (s, b) = w.call(Method::GET, uri, token, Value::Null).await;
        note(programme_op, s, &b);
    }
    // The programme's lists: a page, a year out of range, an unreadable path, no token, a
    // cursor that is no member of the insurer.
    let people_op = "GET /v1/programme/{fiscal_year}/people";
    for (uri, token) in [
        ("/v1/programme/2024/people?list=referrals", ins),
        ("/v1/programme/1999/people", ins),
        ("/v1/programme/%FF/people", ins),
        ("/v1/programme/2024/people", None),
        ("/v1/programme/2024/people?after=nobody", ins),
    ] {
        let (s, b) = w.call(Method::GET, uri, token, Value::Null).await;
        note(people_op, s, &b);
    }
    // Guidance events: recorded, a bad field, no such member, a drop-out after a completion,
    // not JSON, too large, no token.
    let event_op = "POST /v1/guidance-events";
    let event = |number: &str, event: &str| {
        json!({"fiscal_year": 2024, "symbol": "10", "number": number, "branch": "00",
               "event": event, "date": "2024-09-01"})
    };
    for (token, body) in [
        (ins, event("1", "completed")),
        (ins, event("1", "finished")),
        (ins, event("9999", "completed")),
        (ins, event("1", "dropped_out")),
        (None, event("1", "completed")),
        (ins, Value::String("x".repeat(onshi_server::BODY_LIMIT))),
    ] {
        let (s, b) = w
            .call(Method::POST, "/v1/guidance-events", token, body)
            .await;
        note(event_op, s, &b);
    }
    let s = w
        .call_raw(Method::POST, "/v1/guidance-events", ins, "{not json")
        .await;
    note(event_op, s, &Value::Null);
    // Guidance by CSV: recorded, a member not found (nothing recorded), no token, too large.
    let csv_op = "POST /v1/guidance-csv/{name}";
    let head = "fiscal_year,symbol,number,branch,event,date\n";
    for (token, body) in [
        (
            ins,
            format!("{head}2024,10,1,00,first_interview,2024-08-01\n").into_bytes(),
        ),
        (
            ins,
            format!("{head}2024,10,9999,00,completed,2024-10-01\n").into_bytes(),
        ),
        (None, head.as_bytes().to_vec()),
        (ins, vec![b'x'; 16 * 1024 * 1024 + 1]),
    ] {
        let (s, b) = w.upload("/v1/guidance-csv/g.csv", token, body).await;
        note(csv_op, s, &b);
    }
    // Workplace groups: set, a conflict, a bad body, no token.
    let group_op = "PUT /v1/workplace-groups/{code}";
    let (s, b) = w
        .call(
            Method::POST,
            "/v1/employers",
            ins,
            json!({"code": "1003", "name": "オンシ商店", "industry": "I", "prefecture": "13"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    for (uri, token, body) in [
        (
            "/v1/workplace-groups/G1",
            ins,
            json!({"name": "g", "employers": ["1001", "1003"]}),
        ),
        (
            "/v1/workplace-groups/G1",
            ins,
            json!({"name": "g", "employers": ["1001", "9998"]}),
        ),
        (
            "/v1/workplace-groups/G1",
            ins,
            json!({"name": "", "employers": []}),
        ),
        (
            "/v1/workplace-groups/G1",
            None,
            json!({"name": "g", "employers": ["1001", "1002"]}),
        ),
        (
            "/v1/workplace-groups/G1",
            ins,
            Value::String("x".repeat(onshi_server::BODY_LIMIT)),
        ),
    ] {
        let (s, b) = w.call(Method::PUT, uri, token, body).await;
        note(group_op, s, &b);
    }
    let s = w
        .call_raw(Method::PUT, "/v1/workplace-groups/G1", ins, "{not json")
        .await;
    note(group_op, s, &Value::Null);
    // Medical costs by CSV: recorded, a bad row, no token, too large.
    let cost_op = "POST /v1/medical-cost-csv/{name}";
    let head = "fiscal_year,members,cost_per_member\n";
    for (token, body) in [
        (ins, format!("{head}2024,12000,185000\n").into_bytes()),
        (ins, format!("{head}2024,0,185000\n").into_bytes()),
        (None, head.as_bytes().to_vec()),
        (ins, vec![b'x'; 1024 * 1024 + 1]),
    ] {
        let (s, b) = w.upload("/v1/medical-cost-csv/c.csv", token, body).await;
        note(cost_op, s, &b);
    }

    // The audit log's public anchors: a checkpoint kept or not; a proof, out of range, malformed.
    let (s, b) = w
        .call(Method::GET, "/v1/audit/checkpoint", None, Value::Null)
        .await;
    note("GET /v1/audit/checkpoint", s, &b);
    std::fs::write(
        checkpoints.path().join("000000000001-1.checkpoint"),
        "signed text",
    )
    .unwrap();
    let (s, b) = w
        .call(Method::GET, "/v1/audit/checkpoint", None, Value::Null)
        .await;
    note("GET /v1/audit/checkpoint", s, &b);
    for uri in [
        "/v1/audit/proof?seq=1&size=2",
        "/v1/audit/proof?seq=3&size=2",
        "/v1/audit/proof?seq=0",
    ] {
        let (s, b) = w.call(Method::GET, uri, None, Value::Null).await;
        note("GET /v1/audit/proof", s, &b);
    }

    // A path parameter that cannot be read, on every operation that has one.
    for (op, method, uri) in [
        ("GET /v1/members/{id}", Method::GET, "/v1/members/%FF"),
        ("PATCH /v1/members/{id}", Method::PATCH, "/v1/members/%FF"),
        (
            "POST /v1/members/{id}/end",
            Method::POST,
            "/v1/members/%FF/end",
        ),
        (
            "GET /v1/members/{id}/history",
            Method::GET,
            "/v1/members/%FF/history",
        ),
        (
            "GET /v1/bulk-checks/{reception_number}",
            Method::GET,
            "/v1/bulk-checks/%FF",
        ),
        (
            "POST /v1/checkup-archives/{name}",
            Method::POST,
            "/v1/checkup-archives/%FF",
        ),
        (
            "POST /v1/checkup-csv/{name}",
            Method::POST,
            "/v1/checkup-csv/%FF",
        ),
        (
            "POST /v1/guidance-csv/{name}",
            Method::POST,
            "/v1/guidance-csv/%FF",
        ),
        (
            "POST /v1/medical-cost-csv/{name}",
            Method::POST,
            "/v1/medical-cost-csv/%FF",
        ),
        (
            "PUT /v1/workplace-groups/{code}",
            Method::PUT,
            "/v1/workplace-groups/%FF",
        ),
    ] {
        let token = if op.contains("bulk") { f1 } else { ins };
        let (s, headers, b) = w.call_with_headers(method, uri, token, json!({})).await;
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{op}"
        );
        note(op, s, &b);
    }

    // A facility over its check limit (600 a minute; the test's clock stands still) is
    // answered 429 on every check route.
    let number = json!({"birth_date": "19900506", "insurer_number": "01130012", "symbol": "10", "number": "1", "branch": "00"});
    let mut limited = false;
    for _ in 0..1_000 {
        let (s, b) = w
            .call(Method::POST, "/v1/eligibility/number", f1, number.clone())
            .await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            note("POST /v1/eligibility/number", s, &b);
            limited = true;
            break;
        }
    }
    assert!(limited, "600 checks a minute are the default limit");
    let card = w.proof(f1, "valid").await;
    let (s, b) = w.call(Method::POST, "/v1/eligibility/card", f1, card).await;
    note("POST /v1/eligibility/card", s, &b);
    let (s, b) = w
        .call(
            Method::POST,
            "/v1/bulk-checks",
            f1,
            json!({"items": [number]}),
        )
        .await;
    note("POST /v1/bulk-checks", s, &b);
    let (s, headers, b) = w
        .call_with_headers(Method::POST, uri, f1, fhir("01130012"))
        .await;
    assert_eq!(
        (
            s,
            b["issue"][0]["code"].as_str(),
            headers.contains_key(header::RETRY_AFTER)
        ),
        (StatusCode::TOO_MANY_REQUESTS, Some("throttled"), true)
    );
    note(op, s, &b);

    // The operator's public figures and the subsidy calculator: no token.
    for uri in ["/v1/adoption", "/v1/weekly-editions"] {
        let (s, b) = w.call(Method::GET, uri, None, Value::Null).await;
        note(&format!("GET {uri}"), s, &b);
    }
    let subsidy_op = "POST /v1/subsidy/estimate";
    let application = |kind: &str| {
        json!({"facility_kind": kind, "readers": 1, "readers_applied_on": "2021-01-10",
               "costs": [{"label": "レセコン改修", "yen": 500000}]})
    };
    for body in [
        application("hospital"),
        application("spa"),
        Value::String("x".repeat(onshi_server::BODY_LIMIT)),
    ] {
        let (s, b) = w
            .call(Method::POST, "/v1/subsidy/estimate", None, body)
            .await;
        note(subsidy_op, s, &b);
    }
    let s = w
        .call_raw(Method::POST, "/v1/subsidy/estimate", None, "{not json")
        .await;
    note(subsidy_op, s, &Value::Null);

    // Every documented status was seen, but for 500 and 503.
    for (op, statuses) in &documented {
        let missing: Vec<&u16> = statuses
            .iter()
            .filter(|s| ![500, 503].contains(*s))
            .filter(|s| !observed.get(op).is_some_and(|o| o.contains(s)))
            .collect();
        assert!(
            missing.is_empty(),
            "{op} documents {missing:?}, which no request here provoked"
        );
    }
    db.cleanup().await;
}

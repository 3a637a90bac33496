//! The insurer API end to end through the router, on every backend.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};
use time::macros::datetime;
use tower::ServiceExt;

use onshi_domain::{FixedClock, InsurerNumber, MyNumberKey};
use onshi_server::{AppState, router};
use onshi_store::testing::TestDb;
use onshi_store::token::{self, TokenKind};

struct Api {
    router: axum::Router,
    doc: utoipa::openapi::OpenApi,
    token_a: String,
    token_b: String,
}

async fn api(db: &TestDb) -> Api {
    let store = db.open().await.unwrap();
    let at = datetime!(2026-01-05 09:00 UTC);
    let (token_a, hash_a) = token::mint(TokenKind::Insurer).unwrap();
    let (token_b, hash_b) = token::mint(TokenKind::Insurer).unwrap();
    store
        .create_insurer(
            &InsurerNumber::parse("01130012").unwrap(),
            "協会けんぽ東京支部",
            &hash_a,
            at,
        )
        .await
        .unwrap();
    let b = InsurerNumber::from_data_digits("0613801").unwrap();
    store
        .create_insurer(&b, "試験健康保険組合", &hash_b, at)
        .await
        .unwrap();
    let state = AppState::new(
        store,
        Arc::new(FixedClock(at)),
        MyNumberKey::from_bytes(&[9; 32]).unwrap(),
        Arc::new(onshi_server::trust::Trust::none()),
    );
    let (router, doc) = router(state);
    Api {
        router,
        doc,
        token_a,
        token_b,
    }
}

impl Api {
    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, axum::http::HeaderMap, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        (status, headers, value)
    }
}

fn hanako() -> Value {
    json!({
        "symbol": "１０", "number": "2001", "branch": "1",
        "name": "試験 花子", "name_kana": "シケン ハナコ", "birth_date": "19900506",
        "sex": "2", "relationship": 1, "qualified_from": "2020-04-01", "copay_ratio": "30",
        "my_number": "123456789018"
    })
}

#[tokio::test]
async fn limit_certificates_are_recorded_changed_and_removed() {
    for db in TestDb::all().await.unwrap() {
        let api = api(&db).await;
        let a = Some(api.token_a.as_str());
        let mut body = hanako();
        body["limit_class"] = json!("01");
        body["limit_bracket"] = json!("b04");
        body["limit_valid_from"] = json!("20260801");
        let (s, _, m) = api.call(Method::POST, "/v1/members", a, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{m} ({})", db.backend);
        assert_eq!(
            m["limit_certificate"],
            json!({"class": "limit", "bracket": "B04", "issued": "2026-08-01",
                   "valid_from": "2026-08-01", "valid_until": null, "long_term_from": null})
        );
        let id = m["id"].as_str().unwrap().to_owned();
        let uri = format!("/v1/members/{id}");

        // A partial certificate names what is missing; a meal-reduction kind needs a low
        // income bracket; nothing is written.
        let (s, _, p) = api
            .call(
                Method::PATCH,
                &uri,
                a,
                Some(json!({"limit_class": "02", "limit_valid_from": null, "version": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["limit_valid_from"]);
        let (s, _, p) = api
            .call(
                Method::PATCH,
                &uri,
                a,
                Some(json!({"limit_class": "02", "version": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "limit_bracket");
        let (s, _, p) = api
            .call(
                Method::PATCH,
                &uri,
                a,
                Some(json!({"limit_valid_from": "2019-04-01", "version": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "limit_valid_from");
        assert!(
            p["errors"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("qualified_from")
        );

        // Changed: a new version; removed: every limit field null.
        let (s, _, m) = api
            .call(
                Method::PATCH,
                &uri,
                a,
                Some(json!({"limit_class": "02", "limit_bracket": "B05", "version": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(
            (
                m["version"].as_i64(),
                m["limit_certificate"]["class"].as_str()
            ),
            (Some(2), Some("limit_and_meal_reduction"))
        );
        let clear: Value = onshi_domain::limit::LIMIT_COLUMNS
            .iter()
            .map(|c| (c.to_string(), Value::Null))
            .chain([("version".to_owned(), json!(2))])
            .collect::<serde_json::Map<_, _>>()
            .into();
        let (s, _, m) = api.call(Method::PATCH, &uri, a, Some(clear)).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(m["version"], 3);
        assert!(m.get("limit_certificate").is_none(), "{m}");
        db.cleanup().await;
    }
}

/// The card's printed details and the 高齢受給者証 are recorded, shown, validated against the
/// member, changed and cleared like the rest, on every backend.
#[tokio::test]
async fn card_details_are_recorded_validated_and_cleared() {
    for db in TestDb::all().await.unwrap() {
        let api = api(&db).await;
        let a = Some(api.token_a.as_str());
        let mut body = hanako();
        body["card_class"] = json!("1");
        body["card_issued"] = json!("2020-04-01");
        body["card_valid_from"] = json!("20200401");
        body["card_valid_until"] = json!("2027-03-31");
        body["insured_name"] = json!("試験　一郎");
        body["address"] = json!("東京都千代田区霞が関１－２－２");
        body["post_number"] = json!("１００－８９１６");
        body["name"] = json!("試験　花子");
        let (s, _, m) = api.call(Method::POST, "/v1/members", a, Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{m} ({})", db.backend);
        // The full-width space the insurer sent is kept, as the terminal writes names.
        assert_eq!(m["name"], "試験\u{3000}花子");
        assert_eq!(
            m["card"],
            json!({"class": "01", "issued": "2020-04-01", "valid_from": "2020-04-01",
                   "valid_until": "2027-03-31", "insured_name": "試験\u{3000}一郎",
                   "address": "東京都千代田区霞が関1-2-2", "post_number": "100-8916"}),
            "{}",
            db.backend
        );
        let id = m["id"].as_str().unwrap().to_owned();
        let uri = format!("/v1/members/{id}");

        // Born 1990: a 高齢受給者証 is refused, and a card valid before the qualification.
        let (s, _, p) = api
            .call(
                Method::PATCH,
                &uri,
                a,
                Some(
                    json!({"elderly_valid_from": "2026-08-01", "elderly_copay_ratio": "20",
                            "card_valid_from": "2019-04-01", "version": 1}),
                ),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["card_valid_from", "elderly_valid_from"]);
        let (s, _, p) = api
            .call(
                Method::PATCH,
                &uri,
                a,
                Some(json!({"post_number": "12345", "card_class": "09", "version": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
        assert_eq!(p["errors"][0]["field"], "card_class");
        assert_eq!(p["errors"][1]["field"], "post_number");

        // The same details sent again change nothing; one part changed is a new version.
        let (s, _, m) = api
            .call(Method::PATCH, &uri, a, Some(json!({"card_class": "03"})))
            .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(
            (m["version"].as_i64(), &m["card"]["class"]),
            (Some(2), &json!("03"))
        );
        let clear: Value = onshi_domain::card::CARD_COLUMNS
            .iter()
            .map(|c| (c.to_string(), Value::Null))
            .collect::<serde_json::Map<_, _>>()
            .into();
        let (s, _, m) = api.call(Method::PATCH, &uri, a, Some(clear)).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(m["version"], 3);
        assert!(m.get("card").is_none(), "{m}");
        let (_, _, h) = api
            .call(Method::GET, &format!("{uri}/history"), a, None)
            .await;
        assert_eq!(h["versions"][0]["card"]["post_number"], "100-8916");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn members_crud_isolation_and_errors() {
    for db in TestDb::all().await.unwrap() {
        let api = api(&db).await;
        let (a, b) = (Some(api.token_a.as_str()), Some(api.token_b.as_str()));

        // Without or with a wrong token: 401 problem.
        let (s, h, body) = api.call(Method::GET, "/v1/members", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["type"], "urn:onshi:problem:unauthorized");
        let (s, _, _) = api
            .call(Method::GET, "/v1/members", Some("onshi_ins_nope"), None)
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);

        // Create: normalised, My Number never echoed.
        let (s, h, m) = api
            .call(Method::POST, "/v1/members", a, Some(hanako()))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{m}");
        assert_eq!(h[header::ETAG], "\"1\"");
        assert_eq!(m["symbol"], "10");
        assert_eq!(m["branch"], "01");
        assert_eq!(m["insurer_number"], "01130012");
        assert_eq!(m["person_linked"], true);
        assert!(!m.to_string().contains("123456789018"));
        let id = m["id"].as_str().unwrap().to_owned();

        // The same card again: 409.
        let (s, _, p) = api
            .call(Method::POST, "/v1/members", a, Some(hanako()))
            .await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(p["type"], "urn:onshi:problem:conflict");

        // Bad fields: 422 naming each.
        let mut bad = hanako();
        bad["copay_ratio"] = json!("40");
        bad["birth_date"] = json!("1990-13-01");
        bad["my_number"] = json!("123456789017");
        bad["nickname"] = json!("x");
        let (s, _, p) = api.call(Method::POST, "/v1/members", a, Some(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "nickname");
        let mut bad = hanako();
        bad["copay_ratio"] = json!("40");
        bad["birth_date"] = json!("1990-13-01");
        let (_, _, p) = api.call(Method::POST, "/v1/members", a, Some(bad)).await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert_eq!(fields, ["birth_date", "copay_ratio"]);
        let mut foreign = hanako();
        foreign["insurer_number"] =
            json!(InsurerNumber::from_data_digits("0613801").unwrap().as_str());
        let (s, _, p) = api
            .call(Method::POST, "/v1/members", a, Some(foreign))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "insurer_number");
        let req = Request::builder()
            .method(Method::POST)
            .uri("/v1/members")
            .header(header::AUTHORIZATION, format!("Bearer {}", api.token_a))
            .body(Body::from("{not json"))
            .unwrap();
        let res = api.router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);

        // Another insurer: 404 for read, change, end and history; its list is empty.
        for (method, uri) in [
            (Method::GET, format!("/v1/members/{id}")),
            (Method::PATCH, format!("/v1/members/{id}")),
            (Method::POST, format!("/v1/members/{id}/end")),
            (Method::GET, format!("/v1/members/{id}/history")),
        ] {
            let body = (method != Method::GET)
                .then(|| json!({"qualified_until": "2026-03-31", "loss_reason": "03"}));
            let (s, _, p) = api.call(method.clone(), &uri, b, body).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {uri} on {}", db.backend);
            assert_eq!(p["type"], "urn:onshi:problem:not-found");
        }
        let (_, _, page) = api.call(Method::GET, "/v1/members", b, None).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 0);

        // Change with a version; a stale version is 409; the card key cannot change.
        let (s, h, m) = api
            .call(
                Method::PATCH,
                &format!("/v1/members/{id}"),
                a,
                Some(json!({"copay_ratio": 20, "version": 1})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(h[header::ETAG], "\"2\"");
        assert_eq!(m["copay_ratio"], 20);
        assert_eq!(
            m["person_linked"], true,
            "an unchanged My Number link is kept"
        );
        let req = Request::builder()
            .method(Method::PATCH)
            .uri(format!("/v1/members/{id}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", api.token_a))
            .header(header::IF_MATCH, "\"1\"")
            .body(Body::from(r#"{"name": "試験 花"}"#))
            .unwrap();
        assert_eq!(
            api.router.clone().oneshot(req).await.unwrap().status(),
            StatusCode::CONFLICT
        );
        let (s, _, p) = api
            .call(
                Method::PATCH,
                &format!("/v1/members/{id}"),
                a,
                Some(json!({"number": "9"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "number");

        // End: both fields required; then it shows in as_of lists only before the end.
        let (s, _, p) = api
            .call(
                Method::POST,
                &format!("/v1/members/{id}/end"),
                a,
                Some(json!({"qualified_until": "2026-03-31"})),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"][0]["field"], "loss_reason");
        let (s, _, m) = api
            .call(
                Method::POST,
                &format!("/v1/members/{id}/end"),
                a,
                Some(json!({"qualified_until": "2026-03-31", "loss_reason": "03"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(m["loss_reason"], "other_insurance");
        assert_eq!(m["version"], 3);
        let (_, _, page) = api
            .call(Method::GET, "/v1/members?as_of=2026-03-31", a, None)
            .await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        let (_, _, page) = api
            .call(Method::GET, "/v1/members?as_of=20260401", a, None)
            .await;
        assert_eq!(page["items"].as_array().unwrap().len(), 0);
        let (s, _, p) = api
            .call(Method::GET, "/v1/members?as_of=2026-02-30&limit=0", a, None)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p["errors"].as_array().unwrap().len(), 2);

        // Find by card, in full-width as typed at a desk.
        let (_, _, page) = api
            .call(
                Method::GET,
                "/v1/members?symbol=%EF%BC%91%EF%BC%90&number=2001&branch=01",
                a,
                None,
            )
            .await;
        assert_eq!(page["items"][0]["id"], id.as_str());

        let (_, _, h) = api
            .call(Method::GET, &format!("/v1/members/{id}/history"), a, None)
            .await;
        let copays: Vec<i64> = h["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["copay_ratio"].as_i64().unwrap())
            .collect();
        assert_eq!(copays, [30, 20, 20]);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn every_route_is_documented_and_answers() {
    let db = TestDb::sqlite().unwrap();
    let api = api(&db).await;
    let mut documented: Vec<String> = api.doc.paths.paths.keys().cloned().collect();
    documented.sort();
    assert_eq!(
        documented,
        [
            "/fhir/Bundle",
            "/fhir/CoverageEligibilityRequest",
            "/fhir/StructureDefinition/qualification-validity",
            "/fhir/metadata",
            "/healthz",
            "/openapi.json",
            "/v1/adoption",
            "/v1/audit/checkpoint",
            "/v1/audit/proof",
            "/v1/bulk-checks",
            "/v1/bulk-checks/{reception_number}",
            "/v1/challenges",
            "/v1/checkup-archives/{name}",
            "/v1/checkup-csv/{name}",
            "/v1/checkup-requests/{fiscal_year}",
            "/v1/checkup-transfers",
            "/v1/checkups",
            "/v1/checkups/by-card",
            "/v1/checkups/unmatched",
            "/v1/checkups/{id}/match",
            "/v1/consignments",
            "/v1/consignments/{id}/end",
            "/v1/eligibility/card",
            "/v1/eligibility/number",
            "/v1/employer/checkup-requests/{fiscal_year}",
            "/v1/employers",
            "/v1/employers/{code}/checkup-requests/{fiscal_year}",
            "/v1/guidance-csv/{name}",
            "/v1/guidance-events",
            "/v1/medical-cost-csv/{name}",
            "/v1/members",
            "/v1/members/{id}",
            "/v1/members/{id}/end",
            "/v1/members/{id}/history",
            "/v1/portal/access-log",
            "/v1/portal/challenges",
            "/v1/portal/checkups",
            "/v1/portal/login-codes",
            "/v1/portal/registrations",
            "/v1/programme/{fiscal_year}",
            "/v1/programme/{fiscal_year}/people",
            "/v1/registrations",
            "/v1/subsidy/estimate",
            "/v1/weekly-editions",
            "/v1/workplace-groups/{code}",
        ]
    );
    for (path, item) in &api.doc.paths.paths {
        let methods = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PATCH, item.patch.is_some()),
            (Method::PUT, item.put.is_some()),
        ];
        for (method, present) in methods {
            if !present {
                continue;
            }
            let uri = path
                .replace("{id}", "no-such-id")
                .replace("{reception_number}", "none")
                .replace("{name}", "x.zip")
                .replace("{code}", "1001")
                .replace("{fiscal_year}", "2026");
            let (s, _, body) = api
                .call(method.clone(), &uri, Some(&api.token_a), Some(json!({})))
                .await;
            assert_ne!(
                body["detail"], "route not found",
                "{method} {path} is documented but not routed"
            );
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    // A card number sent as a JSON number (its leading zeros lost) is refused; a code may be one.
    let mut numeric = hanako();
    numeric["number"] = json!(2001);
    numeric["sex"] = json!(2);
    let (s, _, body) = api
        .call(
            Method::POST,
            "/v1/members",
            Some(&api.token_a),
            Some(numeric),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["number"], "{body}");
    // A body of many unknown fields gets a bounded answer, saying how many there were.
    let many: serde_json::Map<String, Value> = (0..20_000)
        .map(|i| (format!("unknown_field_{i:05}"), json!("x")))
        .collect();
    let (s, _, body) = api
        .call(
            Method::POST,
            "/v1/members",
            Some(&api.token_a),
            Some(Value::Object(many)),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"].as_array().unwrap().len(), 50);
    assert!(
        body.to_string().len() < 16 * 1024,
        "{} bytes",
        body.to_string().len()
    );
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("of 20000 problems"),
        "{}",
        body["detail"]
    );
    // A body that is not an object is refused without repeating it (it may be personal data).
    let (s, _, body) = api
        .call(
            Method::POST,
            "/v1/members",
            Some(&api.token_a),
            Some(json!("123456789018")),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!body.to_string().contains("123456789018"), "{body}");
    // A path that cannot be read (not UTF-8 once percent-decoded): problem details too.
    for uri in ["/v1/members/%FF%FE", "/v1/members/%FF/history"] {
        let (s, headers, body) = api.call(Method::GET, uri, Some(&api.token_a), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(
            headers[header::CONTENT_TYPE],
            "application/problem+json",
            "{uri}"
        );
        assert_eq!(body["status"], 400);
    }
    // A method the path does not take: problem details, with Allow.
    let (s, headers, body) = api
        .call(Method::DELETE, "/v1/members", Some(&api.token_a), None)
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
    assert_eq!(body["type"], "urn:onshi:problem:method-not-allowed");
    let allow = headers[header::ALLOW].to_str().unwrap();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let (s, _, body) = api.call(Method::GET, "/no/such/route", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(body["detail"], "route not found");
    let (s, _, health) = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(health["store"], "sqlite");
    let (_, _, doc) = api.call(Method::GET, "/openapi.json", None, None).await;
    assert!(doc["components"]["securitySchemes"]["insurer_token"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Every operation but liveness and this document may read the store, so may answer 503.
    let busy = &doc["paths"]["/v1/eligibility/number"]["post"]["responses"]["503"];
    assert!(busy["headers"]["Retry-After"].is_object(), "{busy}");
    assert!(
        busy["content"]["application/problem+json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/Problem"))
    );
    assert!(doc["paths"]["/v1/members"]["get"]["responses"]["503"].is_object());
    assert!(doc["paths"]["/v1/portal/registrations"]["post"]["responses"]["503"].is_object());
    assert!(doc["paths"]["/healthz"]["get"]["responses"]["503"].is_null());
    assert!(doc["paths"]["/openapi.json"]["get"]["responses"]["503"].is_null());
}

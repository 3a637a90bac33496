//! FHIR R4 CoverageEligibilityRequest/Response.

use crate::world::*;

fn fhir_request(insurer: &str, symbol: &str, number: &str, branch: &str, date: &str) -> Value {
    json!({
        "resourceType": "CoverageEligibilityRequest",
        "id": "req-1",
        "status": "active",
        "purpose": ["validation"],
        "patient": {"reference": "#patient"},
        "servicedDate": date,
        "created": "2026-11-24T09:00:00Z",
        "insurer": {"identifier": {"system": "urn:oid:1.2.392.100495.20.3.61", "value": insurer}},
        "contained": [{"resourceType": "Patient", "id": "patient", "birthDate": "1990-05-06"}, {
            "resourceType": "Coverage", "id": "card", "status": "active",
            "beneficiary": {"display": "patient"},
            "payor": [{"identifier": {"system": "urn:oid:1.2.392.100495.20.3.61", "value": insurer}}],
            "subscriberId": number, "dependent": branch,
            "class": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]}, "value": symbol}],
        }],
        "insurance": [{"coverage": {"reference": "#card"}}],
    })
}

#[tokio::test]
async fn fhir_responses_are_valid_r4() {
    let mut schema: Value =
        serde_json::from_str(include_str!("../fixtures/fhir-r4.schema.json")).unwrap();
    // Validate against CoverageEligibilityResponse itself rather than the root's oneOf of every resource.
    schema["oneOf"] = json!([{"$ref": "#/definitions/CoverageEligibilityResponse"}]);
    // Two definitions that the redistributed file's extra (non-HL7) resource types refer to.
    schema["definitions"]["Resource"] = json!({"$ref": "#/definitions/ResourceList"});
    schema["definitions"]["integer64"] =
        json!({"type": "string", "pattern": "^[0]|[-+]?[1-9][0-9]*$"});
    let validator = jsonschema::draft6::new(&schema).unwrap();
    let request_schema = {
        let mut s = schema.clone();
        s["oneOf"] = json!([{"$ref": "#/definitions/CoverageEligibilityRequest"}]);
        jsonschema::draft6::new(&s).unwrap()
    };
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let f1 = Some(w.f1.as_str());
        let cases = [
            (
                fhir_request("01130012", "10", "1", "00", "2026-11-24"),
                "1",
                true,
            ),
            (
                fhir_request("01130012", "10", "77", "00", "2026-11-24"),
                "3",
                false,
            ),
            (
                fhir_request("01130012", "10", "999", "00", "2026-11-24"),
                "4",
                false,
            ),
        ];
        for (request, code, inforce) in cases {
            assert!(
                request_schema.is_valid(&request),
                "the test's own request is valid R4"
            );
            let (s, r) = w
                .call(
                    Method::POST,
                    "/fhir/CoverageEligibilityRequest",
                    f1,
                    request,
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{r}");
            let errors: Vec<String> = validator
                .iter_errors(&r)
                .map(|e| format!("{e} at {}", e.instance_path()))
                .collect();
            assert!(
                errors.is_empty(),
                "{} on {}: {errors:?}\n{r}",
                code,
                db.backend
            );
            assert_eq!(r["extension"][0]["valueCode"], code);
            // The validator does reject what R4 forbids.
            let mut broken = r.clone();
            broken["servicedDate"] = json!("24/11/2026");
            assert!(!validator.is_valid(&broken), "a date must be a FHIR date");
            let mut broken = r.clone();
            broken["purpose"] = json!("validation");
            assert!(!validator.is_valid(&broken), "purpose is an array");
            let mut broken = r.clone();
            broken["contained"][0]["birthDate"] = json!("1990/05/06");
            assert!(
                !validator.is_valid(&broken),
                "contained resources are validated too"
            );
            if code != "4" {
                assert_eq!(r["insurance"][0]["inforce"], inforce);
                assert_eq!(r["contained"][1]["resourceType"], "Coverage");
                let patient = &r["contained"][0];
                assert_eq!(patient["name"][0]["text"], "試験 花子");
                // Structured names, kanji and kana, each with its representation.
                assert_eq!(
                    (
                        &patient["name"][0]["family"],
                        &patient["name"][0]["given"][0],
                        &patient["name"][0]["extension"][0]["valueCode"],
                        &patient["name"][1]["family"],
                        &patient["name"][1]["extension"][0]["valueCode"],
                    ),
                    (
                        &json!("試験"),
                        &json!("花子"),
                        &json!("IDE"),
                        &json!("シケン"),
                        &json!("SYL")
                    )
                );
                let coverage = &r["contained"][1];
                assert_eq!(
                    coverage["identifier"][0]["value"],
                    format!(
                        "01130012:10:{}:00",
                        coverage["subscriberId"].as_str().unwrap()
                    )
                );
                assert_eq!(patient["identifier"][0], coverage["identifier"][0]);
                assert_eq!(coverage["type"]["coding"][0]["code"], "employee");
                assert_eq!(coverage["payor"][0]["display"], "協会けんぽ");
            } else {
                assert!(r.get("insurance").is_none());
            }
        }
        // What the patient bears under a coverage in force: the copay percentage.
        let (_, r) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                fhir_request("01130012", "10", "1", "00", "2026-11-24"),
            )
            .await;
        let benefit = &r["insurance"][0]["item"][0]["benefit"][0];
        assert_eq!(
            (
                &benefit["type"]["coding"][0]["code"],
                &benefit["allowedUnsignedInt"]
            ),
            (&json!("copay-percent"), &json!(30)),
            "{r}"
        );
        assert!(validator.is_valid(&r));
        // Code 3 carries the newer coverage, in force.
        let (_, r) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                fhir_request("01130012", "10", "77", "00", "2026-11-24"),
            )
            .await;
        assert_eq!(r["insurance"][1]["inforce"], true);
        assert_eq!(
            r["contained"][2]["payor"][0]["identifier"]["value"],
            "06138010"
        );
        // By the reference of a card check made here; another facility cannot use it.
        let (_, checked) = w
            .check(&w.f1, &w.proof(f1, "valid").await, "2026-11-24")
            .await;
        let reference = checked["check_reference"].as_str().unwrap().to_owned();
        let mut by_ref = fhir_request("01130012", "10", "1", "00", "2026-11-24");
        by_ref.as_object_mut().unwrap().remove("contained");
        by_ref["patient"] = json!({"display": "patient at reception"});
        by_ref["insurance"] = json!([{"coverage": {"identifier": {"system": "urn:onshi:card-check", "value": reference}}}]);
        assert!(request_schema.is_valid(&by_ref));
        let (s, r) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                by_ref.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(validator.is_valid(&r));
        assert_eq!(
            (
                r["extension"][0]["valueCode"].as_str(),
                r["insurance"][0]["inforce"].as_bool()
            ),
            (Some("1"), Some(true))
        );
        let (s, o) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                Some(&w.f2),
                by_ref,
            )
            .await;
        assert_eq!(
            (s, o["resourceType"].as_str()),
            (StatusCode::NOT_FOUND, Some("OperationOutcome"))
        );
        // Bad requests are OperationOutcomes naming the element.
        let mut bad = fhir_request("01130012", "10", "1", "00", "2026-11-24");
        bad["purpose"] = json!(["benefits"]);
        let (s, o) = w
            .call(Method::POST, "/fhir/CoverageEligibilityRequest", f1, bad)
            .await;
        assert_eq!(
            (s, o["resourceType"].as_str()),
            (StatusCode::BAD_REQUEST, Some("OperationOutcome"))
        );
        assert_eq!(
            o["issue"][0]["expression"][0],
            "CoverageEligibilityRequest.purpose"
        );
        let (s, o) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                fhir_request("01130013", "10", "1", "00", "2026-11-24"),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            o["issue"][0]["expression"][0],
            "CoverageEligibilityRequest.contained.ofType(Coverage).payor[0].identifier.value"
        );
        // The birth date is required (the contained Patient's), and another one finds no one.
        let mut no_birth = fhir_request("01130012", "10", "1", "00", "2026-11-24");
        no_birth["patient"] = json!({"display": "patient at reception"});
        let (s, o) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                no_birth,
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{o}");
        assert_eq!(
            o["issue"][0]["expression"][0],
            "CoverageEligibilityRequest.contained.ofType(Patient).birthDate"
        );
        let mut other_birth = fhir_request("01130012", "10", "1", "00", "2026-11-24");
        other_birth["contained"][0]["birthDate"] = json!("1990-05-07");
        let (s, r) = w
            .call(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                f1,
                other_birth,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["extension"][0]["valueCode"], "4");
        assert!(
            !r.to_string().contains("1990-05-06")
                && r["contained"].as_array().is_none_or(|c| c
                    .iter()
                    .all(|x| x["resourceType"] != "Patient" || x.get("name").is_none())),
            "a mismatch answers no personal data: {r}"
        );
        db.cleanup().await;
    }
}

/// Generic FHIR clients ask `[base]/metadata` first; and a refused token is an OperationOutcome,
/// the only error shape they read.
#[tokio::test]
async fn fhir_metadata_answers_and_a_refused_token_is_an_operation_outcome() {
    let mut schema: Value =
        serde_json::from_str(include_str!("../fixtures/fhir-r4.schema.json")).unwrap();
    schema["definitions"]["Resource"] = json!({"$ref": "#/definitions/ResourceList"});
    schema["definitions"]["integer64"] =
        json!({"type": "string", "pattern": "^[0]|[-+]?[1-9][0-9]*$"});
    let of = |name: &str| {
        let mut s = schema.clone();
        s["oneOf"] = json!([{ "$ref": format!("#/definitions/{name}") }]);
        jsonschema::draft6::new(&s).unwrap()
    };
    let (capability, outcome) = (of("CapabilityStatement"), of("OperationOutcome"));
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let (s, headers, body) = w
            .call_with_headers(Method::GET, "/fhir/metadata", None, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json");
        assert_eq!(body["resourceType"], "CapabilityStatement");
        assert_eq!(body["fhirVersion"], "4.0.1");
        assert_eq!(
            body["rest"][0]["resource"][0]["type"],
            "CoverageEligibilityRequest"
        );
        let errors: Vec<String> = capability
            .iter_errors(&body)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        // The extension onshi's answers carry is defined where its URL says.
        let (s, definition) = w
            .call(
                Method::GET,
                "/fhir/StructureDefinition/qualification-validity",
                None,
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            definition["url"],
            "urn:onshi:fhir:StructureDefinition:qualification-validity"
        );
        let errors: Vec<String> = of("StructureDefinition")
            .iter_errors(&definition)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");

        for token in [None, Some("onshi_fac_unknown")] {
            let request = fhir_request("01130012", "10", "1", "00", "2026-11-24");
            let (s, headers, body) = w
                .call_with_headers(
                    Method::POST,
                    "/fhir/CoverageEligibilityRequest",
                    token,
                    request,
                )
                .await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{body} ({})", db.backend);
            assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json");
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
            assert_eq!(body["resourceType"], "OperationOutcome");
            assert_eq!(body["issue"][0]["code"], "login");
            let errors: Vec<String> = outcome.iter_errors(&body).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{errors:?}");
        }
        db.cleanup().await;
    }
}

/// While an import holds the registry, a FHIR check is an OperationOutcome too: `transient`,
/// with `Retry-After`, and valid R4.
#[tokio::test]
async fn a_busy_registry_is_a_transient_operation_outcome() {
    let mut schema: Value =
        serde_json::from_str(include_str!("../fixtures/fhir-r4.schema.json")).unwrap();
    schema["definitions"]["Resource"] = json!({"$ref": "#/definitions/ResourceList"});
    schema["definitions"]["integer64"] =
        json!({"type": "string", "pattern": "^[0]|[-+]?[1-9][0-9]*$"});
    schema["oneOf"] = json!([{"$ref": "#/definitions/OperationOutcome"}]);
    let outcome = jsonschema::draft6::new(&schema).unwrap();
    for db in TestDb::all().await.unwrap() {
        let w = World::standard_cast()
            .with_lock_wait(LOCK_WAIT)
            .build(&db)
            .await;
        let held = db.hold_registry().await.unwrap();
        let (s, headers, body) = w
            .call_with_headers(
                Method::POST,
                "/fhir/CoverageEligibilityRequest",
                Some(&w.f1),
                fhir_request("01130012", "10", "1", "00", "2026-11-24"),
            )
            .await;
        held.release().await.unwrap();
        assert_eq!(
            s,
            StatusCode::SERVICE_UNAVAILABLE,
            "{body} ({})",
            db.backend
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json");
        assert_eq!(headers[header::RETRY_AFTER], "5");
        assert_eq!(
            (
                body["resourceType"].as_str(),
                body["issue"][0]["code"].as_str()
            ),
            (Some("OperationOutcome"), Some("transient"))
        );
        let errors: Vec<String> = outcome.iter_errors(&body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}");
        db.cleanup().await;
    }
}

/// A validator of R4 resources of type `resource` (with the definitions the redistributed
/// schema file lacks).
fn r4_validator(resource: &str) -> jsonschema::Validator {
    let mut schema: Value =
        serde_json::from_str(include_str!("../fixtures/fhir-r4.schema.json")).unwrap();
    schema["oneOf"] = json!([{ "$ref": format!("#/definitions/{resource}") }]);
    schema["definitions"]["Resource"] = json!({"$ref": "#/definitions/ResourceList"});
    schema["definitions"]["integer64"] =
        json!({"type": "string", "pattern": "^[0]|[-+]?[1-9][0-9]*$"});
    jsonschema::draft6::new(&schema).unwrap()
}

#[tokio::test]
async fn checkup_reports_are_valid_r4_document_bundles_under_consent() {
    let bundle = r4_validator("Bundle");
    for db in TestDb::all().await.unwrap() {
        let w = World::standard(&db).await;
        let f1 = Some(w.f1.as_str());
        let (s, r) = w
            .upload(
                "/v1/checkup-archives/5521111111_01130012_202405271_1.zip",
                Some(w.insurer.as_str()),
                crate::checkups::archive(&[crate::checkups::document("1")]),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{r}");

        // Refusals are OperationOutcomes: no token, no reference, no consent.
        let mut body = w.proof(f1, "valid").await;
        body["consultation_date"] = json!("2026-11-24");
        body["consent"] = json!(["medication"]);
        let (_, without) = w.call(Method::POST, "/v1/eligibility/card", f1, body).await;
        let without = format!(
            "/fhir/Bundle?check-reference={}",
            without["check_reference"].as_str().unwrap()
        );
        for (uri, token, status) in [
            (without.as_str(), None, StatusCode::UNAUTHORIZED),
            ("/fhir/Bundle", f1, StatusCode::UNPROCESSABLE_ENTITY),
            (
                "/fhir/Bundle?check-reference=none",
                f1,
                StatusCode::NOT_FOUND,
            ),
            (without.as_str(), f1, StatusCode::FORBIDDEN),
        ] {
            let (s, o) = w.call(Method::GET, uri, token, Value::Null).await;
            assert_eq!(
                (s, o["resourceType"].as_str()),
                (status, Some("OperationOutcome")),
                "{uri}: {o}"
            );
        }

        let proof = w.proof(f1, "valid").await;
        let (_, checked) = w.check(&w.f1, &proof, "2026-11-24").await;
        let uri = format!(
            "/fhir/Bundle?check-reference={}",
            checked["check_reference"].as_str().unwrap()
        );
        let (s, headers, found) = w
            .call_with_headers(Method::GET, &uri, f1, Value::Null)
            .await;
        assert_eq!(s, StatusCode::OK, "{found}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json");
        let errors: Vec<String> = bundle
            .iter_errors(&found)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            (found["type"].as_str(), found["total"].as_u64()),
            (Some("searchset"), Some(1))
        );
        let report = &found["entry"][0]["resource"];
        assert_eq!(report["type"], "document");
        assert!(bundle.is_valid(report), "each report on its own too");
        let kinds: Vec<&str> = report["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(
            kinds[..6],
            [
                "Composition",
                "Patient",
                "Organization",
                "Organization",
                "Coverage",
                "Encounter"
            ]
        );
        assert!(kinds[6..].iter().all(|k| *k == "Observation") && kinds.len() > 20);
        let patient = &report["entry"][1]["resource"];
        assert_eq!(
            (patient["birthDate"].as_str(), patient["gender"].as_str()),
            (Some("1990-05-06"), Some("female"))
        );
        // The validator does reject what R4 forbids, deep inside the documents.
        let mut broken = found.clone();
        broken["entry"][0]["resource"]["entry"][6]["resource"]["status"] = json!("done");
        assert!(
            !bundle.is_valid(&broken),
            "an Observation's status is a code of its set"
        );
        let mut broken = found.clone();
        broken["entry"][0]["resource"]["entry"][1]["resource"]["birthDate"] = json!("1990/05/06");
        assert!(!bundle.is_valid(&broken));

        // The read is audited like the JSON one.
        let reads = w
            .store
            .audit_of_action(onshi_domain::AuditAction::ReadCheckups)
            .await
            .unwrap();
        assert_eq!(reads.len(), 1, "only the answered read");
        assert_eq!(reads[0].actor_id, "1311111111");
        db.cleanup().await;
    }
}

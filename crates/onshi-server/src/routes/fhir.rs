//! HL7 FHIR R4: `POST /fhir/CoverageEligibilityRequest` (purpose `validation`) answered with a
//! `CoverageEligibilityResponse` that contains the `Patient` and `Coverage` it refers to.
//!
//! The patient is identified by insurance card: the request's `insurance[0].coverage` refers to
//! a contained `Coverage` whose `payor[0].identifier.value` is the 保険者番号, `class` of type
//! `group` carries the 記号, `subscriberId` the 番号 and `dependent` the 枝番. Or by a card check
//! made at the same facility in the last 24 hours: `insurance[0].coverage.identifier` with system
//! `urn:onshi:card-check` and the check's `check_reference`. Errors are FHIR
//! `OperationOutcome` resources (the FHIR ecosystem's error shape; the rest of the API uses RFC
//! 9457 problem details).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use onshi_domain::FacilityCode;
use onshi_domain::japan::rfc3339_japan;

use crate::AppState;
use onshi_api::{EligibilityResult, NumberCheckRequest, Qualification};

use crate::auth::AuthenticatedFacility;
use crate::eligibility::check::{number_check, reference_check};
use crate::problem::Problem;

/// 保険者番号's identifier system (JP Core).
pub const INSURER_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.61";
/// The extension carrying the interface's validity code (資格有効性, 1–5) on each insurance.
pub const VALIDITY_EXTENSION: &str = "urn:onshi:fhir:StructureDefinition:qualification-validity";

fn fhir_json(status: StatusCode, body: Value) -> Response {
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+json"),
    );
    r
}

fn outcome(
    status: StatusCode,
    code: &str,
    diagnostics: &str,
    expression: Option<&str>,
) -> Response {
    let mut issue = json!({"severity": "error", "code": code, "diagnostics": diagnostics});
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    fhir_json(
        status,
        json!({"resourceType": "OperationOutcome", "issue": [issue]}),
    )
}

fn from_problem(p: &Problem) -> Response {
    let status = p.status();
    let expression = p
        .document
        .errors
        .first()
        .map(|e| format!("CoverageEligibilityRequest.{}", e.field));
    let diagnostics = p.document.summary();
    let code = if status == StatusCode::UNAUTHORIZED {
        "login"
    } else if status.is_server_error() {
        "exception"
    } else {
        "invalid"
    };
    let mut response = outcome(status, code, &diagnostics, expression.as_deref());
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn fhir_date(yyyymmdd: &str) -> String {
    if yyyymmdd.len() == 8 {
        format!("{}-{}-{}", &yyyymmdd[..4], &yyyymmdd[4..6], &yyyymmdd[6..])
    } else {
        yyyymmdd.to_owned()
    }
}

/// The identifier system of a card-check reference (`check_reference` of a card check).
pub const CARD_CHECK_SYSTEM: &str = "urn:onshi:card-check";

/// Who the request is about.
enum Target {
    /// An insurance card, from the contained Coverage.
    Card(NumberCheckRequest),
    /// A card check made at this facility in the last 24 hours, and the service date.
    CardCheck(String, Option<String>),
}

/// Reads the card key or card-check reference from the request; `Err` names the element.
fn card_of(req: &Value) -> Result<Target, (&'static str, String)> {
    if req["resourceType"] != "CoverageEligibilityRequest" {
        return Err(("resourceType", "must be CoverageEligibilityRequest".into()));
    }
    let purposes = req["purpose"].as_array().cloned().unwrap_or_default();
    if !purposes.iter().any(|p| p == "validation") {
        return Err(("purpose", "must include validation".into()));
    }
    let identifier = &req["insurance"][0]["coverage"]["identifier"];
    if identifier["system"] == CARD_CHECK_SYSTEM {
        let id = identifier["value"].as_str().ok_or((
            "insurance[0].coverage.identifier.value",
            "is required".to_owned(),
        ))?;
        return Ok(Target::CardCheck(
            id.to_owned(),
            req["servicedDate"].as_str().map(str::to_owned),
        ));
    }
    let reference = req["insurance"][0]["coverage"]["reference"]
        .as_str()
        .unwrap_or_default();
    let id = reference.strip_prefix('#').ok_or((
        "insurance[0].coverage",
        "must refer to a contained Coverage (#id)".into(),
    ))?;
    let coverage = req["contained"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|r| r["resourceType"] == "Coverage" && r["id"] == id)
        })
        .ok_or(("contained", format!("no contained Coverage with id {id}")))?;
    let insurer = coverage["payor"][0]["identifier"]["value"]
        .as_str()
        .ok_or((
            "contained.Coverage.payor[0].identifier.value",
            "is required (保険者番号)".into(),
        ))?;
    let number = coverage["subscriberId"].as_str().ok_or((
        "contained.Coverage.subscriberId",
        "is required (番号)".into(),
    ))?;
    let symbol = coverage["class"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["type"]["coding"][0]["code"] == "group")
        })
        .and_then(|c| c["value"].as_str())
        .unwrap_or_default();
    Ok(Target::Card(NumberCheckRequest {
        insurer_number: insurer.to_owned(),
        symbol: symbol.to_owned(),
        number: number.to_owned(),
        branch: coverage["dependent"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        birth_date: None,
        consultation_date: req["servicedDate"].as_str().map(str::to_owned),
        limit_consent: false,
    }))
}

fn coverage(id: &str, q: &Qualification) -> Value {
    let mut c = json!({
        "resourceType": "Coverage",
        "id": id,
        "status": if q.validity_code == 1 { "active" } else { "cancelled" },
        "subscriberId": q.number,
        "beneficiary": {"reference": "#patient"},
        "relationship": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": if q.relationship_code == 1 { "self" } else { "other" },
        }]},
        "period": {"start": fhir_date(&q.qualified_from)},
        "payor": [{"identifier": {"system": INSURER_SYSTEM, "value": q.insurer_number}}],
        "costToBeneficiary": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type", "code": "copaypct"}]},
            "valueQuantity": {"value": q.copay_ratio.parse::<u32>().unwrap_or(0), "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
        }],
    });
    if !q.branch.is_empty() {
        c["dependent"] = json!(q.branch);
    }
    if let Some(until) = &q.qualified_until {
        c["period"]["end"] = json!(fhir_date(until));
    }
    if !q.symbol.is_empty() {
        c["class"] = json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]},
            "value": q.symbol,
        }]);
    }
    c
}

/// Builds the response resource from a check result.
pub fn response(
    result: &EligibilityResult,
    request: &Value,
    facility: &FacilityCode,
    now: time::OffsetDateTime,
) -> Value {
    let shown: Vec<&Qualification> = result
        .qualifications
        .iter()
        .chain(result.new_qualification.iter())
        .collect();
    let mut contained = Vec::new();
    let patient = match shown.first() {
        Some(q) => json!({
            "resourceType": "Patient",
            "id": "patient",
            "name": [{"text": q.name}, {"text": q.name_kana, "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}]}],
            "gender": match q.sex_code { 1 => "male", 2 => "female", _ => "unknown" },
            "birthDate": fhir_date(&q.birth_date),
        }),
        None => json!({"resourceType": "Patient", "id": "patient"}),
    };
    contained.push(patient);
    let mut insurance = Vec::new();
    for (i, q) in shown.iter().enumerate() {
        let id = format!("coverage{}", i + 1);
        contained.push(coverage(&id, q));
        insurance.push(json!({
            "extension": [{"url": VALIDITY_EXTENSION, "valueCode": q.validity_code.to_string()}],
            "coverage": {"reference": format!("#{id}")},
            "inforce": q.validity_code == 1,
        }));
    }
    let insurer = shown.first().map_or_else(
        || json!({"display": "該当資格なし"}),
        |q| json!({"identifier": {"system": INSURER_SYSTEM, "value": q.insurer_number}}),
    );
    let request_ref = match request["id"].as_str() {
        Some(id) => json!({"reference": format!("CoverageEligibilityRequest/{id}")}),
        None => json!({"display": "CoverageEligibilityRequest"}),
    };
    let mut body = json!({
        "resourceType": "CoverageEligibilityResponse",
        "extension": [{"url": VALIDITY_EXTENSION, "valueCode": result.validity_code.to_string()}],
        "contained": contained,
        "status": "active",
        "purpose": ["validation"],
        "patient": {"reference": "#patient"},
        "servicedDate": fhir_date(&result.consultation_date),
        "created": rfc3339_japan(now),
        "requestor": {"identifier": {"system": "urn:oid:1.2.392.100495.20.3.21", "value": facility.as_str()}},
        "request": request_ref,
        "outcome": "complete",
        "disposition": result.validity_label,
        "insurer": insurer,
    });
    if !insurance.is_empty() {
        body["insurance"] = json!(insurance);
    }
    body
}

/// What this server does, as FHIR clients ask before anything else (`GET [base]/metadata`).
fn capability_statement(now: time::OffsetDateTime) -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": rfc3339_japan(now),
        "publisher": "onshi",
        "kind": "instance",
        "software": {"name": "onshi", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "onshi: online eligibility confirmation (オンライン資格確認)"},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "security": {
                "description": "Send the facility's API token as 'Authorization: Bearer <token>'."
            },
            "resource": [{
                "type": "CoverageEligibilityRequest",
                "interaction": [{
                    "code": "create",
                    "documentation": "POST a CoverageEligibilityRequest (purpose validation); the answer is a CoverageEligibilityResponse, not the stored request"
                }]
            }]
        }]
    })
}

/// The server's FHIR CapabilityStatement (no token needed, as FHIR clients expect).
#[utoipa::path(get, path = "/fhir/metadata", tag = "system",
    responses((status = 200, description = "a FHIR R4 CapabilityStatement", content_type = "application/fhir+json")))]
pub async fn metadata(State(state): State<AppState>) -> Response {
    fhir_json(StatusCode::OK, capability_statement(state.clock.now()))
}

/// Check eligibility with a FHIR R4 CoverageEligibilityRequest (purpose `validation`).
#[utoipa::path(post, path = "/fhir/CoverageEligibilityRequest", tag = "eligibility",
    request_body(content = Object, description = "a FHIR R4 CoverageEligibilityRequest with a contained Coverage", content_type = "application/fhir+json"),
    responses(
        (status = 200, description = "a FHIR R4 CoverageEligibilityResponse", content_type = "application/fhir+json"),
        (status = 400, description = "an OperationOutcome naming the element", content_type = "application/fhir+json"),
        (status = 404, description = "an OperationOutcome: no card check with that reference at this facility in the last 24 hours", content_type = "application/fhir+json"),
        (status = 422, description = "an OperationOutcome naming the invalid element (an insurer number's check digit, say)", content_type = "application/fhir+json"),
    ),
    security(("facility_token" = [])))]
pub async fn coverage_eligibility(
    State(state): State<AppState>,
    facility: Result<AuthenticatedFacility, Problem>,
    body: axum::body::Bytes,
) -> Response {
    // A refused token is an OperationOutcome too: FHIR clients read no other error shape.
    let facility = match facility {
        Ok(AuthenticatedFacility(f)) => f,
        Err(p) => return from_problem(&p),
    };
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return outcome(
            StatusCode::BAD_REQUEST,
            "structure",
            "the body is not JSON",
            None,
        );
    };
    let card = match card_of(&request) {
        Ok(c) => c,
        Err((element, reason)) => {
            return outcome(
                StatusCode::BAD_REQUEST,
                "required",
                &format!("{element}: {reason}"),
                Some(&format!("CoverageEligibilityRequest.{element}")),
            );
        }
    };
    let checked = match card {
        Target::Card(card) => number_check(&state, &facility, &card).await,
        Target::CardCheck(reference, date) => {
            reference_check(&state, &facility, &reference, date.as_deref()).await
        }
    }
    .map_err(Problem::from);
    match checked {
        Ok(result) => fhir_json(
            StatusCode::OK,
            response(&result, &request, &facility, state.clock.now()),
        ),
        Err(p) => from_problem(&p),
    }
}

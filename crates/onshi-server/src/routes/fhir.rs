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

use onshi_domain::japan::rfc3339_japan;
use onshi_domain::{FacilityCode, InsurerKind, InsurerNumber};

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

/// A problem answered outside the FHIR handler (a body over the limit, say) as an
/// OperationOutcome.
pub fn outcome_of(p: &Problem) -> Response {
    from_problem(p)
}

/// The contained Coverage of a request naming a card, as FHIRPath.
const CARD: &str = "CoverageEligibilityRequest.contained.ofType(Coverage)";

/// The FHIRPath of the request element behind a field the check workflow names (its JSON
/// field names), so an OperationOutcome points into what the client sent.
fn expression_of(field: &str) -> String {
    match field {
        "insurer_number" => format!("{CARD}.payor[0].identifier.value"),
        "symbol" => format!("{CARD}.class.where(type.coding.code = 'group').value"),
        "number" => format!("{CARD}.subscriberId"),
        "branch" => format!("{CARD}.dependent"),
        "consultation_date" | "servicedDate" => "CoverageEligibilityRequest.servicedDate".into(),
        "birth_date" => "CoverageEligibilityRequest.contained.ofType(Patient).birthDate".into(),
        other => format!("CoverageEligibilityRequest.{other}"),
    }
}

/// A problem of the check workflow as an OperationOutcome: one issue per field at fault, each
/// with the FHIRPath of its element; 401 as `login` (with `WWW-Authenticate`), 503 as
/// `transient` (with `Retry-After`), a card check not found as `not-found` at the reference.
fn from_problem(p: &Problem) -> Response {
    outcome_for(p, true)
}

/// A problem as an OperationOutcome; `expressions` points each issue into a
/// CoverageEligibilityRequest (a search has no request body to point into).
fn outcome_for(p: &Problem, expressions: bool) -> Response {
    let status = p.status();
    let code = match status {
        StatusCode::UNAUTHORIZED => "login",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        StatusCode::METHOD_NOT_ALLOWED => "not-supported",
        StatusCode::SERVICE_UNAVAILABLE => "transient",
        StatusCode::TOO_MANY_REQUESTS => "throttled",
        s if s.is_server_error() => "exception",
        _ => "invalid",
    };
    let mut issues: Vec<Value> = p
        .document
        .errors
        .iter()
        .map(|e| {
            let mut issue = json!({"severity": "error", "code": code,
                   "diagnostics": format!("{}: {}", e.field, e.reason)});
            if expressions {
                issue["expression"] = json!([expression_of(&e.field)]);
            }
            issue
        })
        .collect();
    if issues.is_empty() {
        let mut issue =
            json!({"severity": "error", "code": code, "diagnostics": p.document.summary()});
        if status == StatusCode::NOT_FOUND && expressions {
            issue["expression"] = json!([REFERENCE_EXPRESSION]);
        }
        issues.push(issue);
    }
    let mut response = fhir_json(
        status,
        json!({"resourceType": "OperationOutcome", "issue": issues}),
    );
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let Some(seconds) = p.retry_after
        && let Ok(v) = HeaderValue::from_str(&seconds.to_string())
    {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Where a request names a card check by its reference.
const REFERENCE_EXPRESSION: &str =
    "CoverageEligibilityRequest.insurance[0].coverage.identifier.value";

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

/// Reads the card key or card-check reference from the request; `Err` gives the FHIRPath of
/// the element at fault and why.
fn card_of(req: &Value) -> Result<Target, (String, String)> {
    let path = |p: &str| format!("CoverageEligibilityRequest.{p}");
    if req["resourceType"] != "CoverageEligibilityRequest" {
        return Err((
            "CoverageEligibilityRequest".into(),
            "resourceType must be CoverageEligibilityRequest".into(),
        ));
    }
    let purposes = req["purpose"].as_array().cloned().unwrap_or_default();
    if !purposes.iter().any(|p| p == "validation") {
        return Err((path("purpose"), "must include validation".into()));
    }
    let identifier = &req["insurance"][0]["coverage"]["identifier"];
    if identifier["system"] == CARD_CHECK_SYSTEM {
        let id = identifier["value"]
            .as_str()
            .ok_or((REFERENCE_EXPRESSION.to_owned(), "is required".to_owned()))?;
        return Ok(Target::CardCheck(
            id.to_owned(),
            req["servicedDate"].as_str().map(str::to_owned),
        ));
    }
    let reference = req["insurance"][0]["coverage"]["reference"]
        .as_str()
        .unwrap_or_default();
    let id = reference.strip_prefix('#').ok_or((
        path("insurance[0].coverage"),
        "must refer to a contained Coverage (#id)".into(),
    ))?;
    let coverage = req["contained"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|r| r["resourceType"] == "Coverage" && r["id"] == id)
        })
        .ok_or((
            path("contained"),
            format!("no contained Coverage with id {id}"),
        ))?;
    let insurer = coverage["payor"][0]["identifier"]["value"]
        .as_str()
        .ok_or((
            expression_of("insurer_number"),
            "is required (保険者番号)".into(),
        ))?;
    let number = coverage["subscriberId"]
        .as_str()
        .ok_or((expression_of("number"), "is required (番号)".into()))?;
    let symbol = coverage["class"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["type"]["coding"][0]["code"] == "group")
        })
        .and_then(|c| c["value"].as_str())
        .unwrap_or_default();
    // The birth date (required, as in the national interface) is the contained Patient's that
    // `patient` refers to; without one the check workflow names it.
    let birth_date = req["patient"]["reference"]
        .as_str()
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|id| {
            req["contained"].as_array().and_then(|c| {
                c.iter()
                    .find(|r| r["resourceType"] == "Patient" && r["id"] == id)
            })
        })
        .and_then(|p| p["birthDate"].as_str())
        .map(str::to_owned);
    Ok(Target::Card(NumberCheckRequest {
        insurer_number: insurer.to_owned(),
        symbol: symbol.to_owned(),
        number: number.to_owned(),
        branch: coverage["dependent"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        birth_date,
        consultation_date: req["servicedDate"].as_str().map(str::to_owned),
        limit_consent: false,
    }))
}

/// The identifier system of an insurance card: `保険者番号:記号:番号:枝番`, the way the
/// national interface's 被保険者個人識別子 joins the card key. onshi's own URI, documented in
/// `docs/vendors.md`, until JP Core names one.
pub const INSURED_CARD_SYSTEM: &str = "urn:onshi:fhir:insured-card";
/// The code system of the kinds of insurance (社保 / 国保 / 後期).
pub const INSURANCE_KIND_SYSTEM: &str = "urn:onshi:fhir:CodeSystem:insurance-kind";

fn card_identifier(q: &Qualification) -> Value {
    json!({
        "system": INSURED_CARD_SYSTEM,
        "value": format!("{}:{}:{}:{}", q.insurer_number, q.symbol, q.number, q.branch),
    })
}

/// 社保 (employees' insurance), 国保 (national health insurance) or 後期 (後期高齢者医療), from
/// the insurer number's 法別.
fn insurance_kind(insurer_number: &str) -> (&'static str, &'static str) {
    match InsurerNumber::parse(insurer_number).map(|n| n.kind()) {
        Ok(InsurerKind::LateStageElderly) => ("late-elderly", "後期高齢者医療"),
        Ok(InsurerKind::NationalHealthInsurance | InsurerKind::NhiRetiree) => {
            ("national", "国民健康保険")
        }
        _ => ("employee", "被用者保険（社保）"),
    }
}

/// The patient's copay in percent: the 高齢受給者証's when one is in force, else the one the
/// insurer recorded.
fn copay_percent(q: &Qualification) -> u32 {
    q.elderly_certificate
        .as_ref()
        .map_or(&q.copay_ratio, |e| &e.copay_ratio)
        .parse()
        .unwrap_or(0)
}

fn coverage(id: &str, q: &Qualification) -> Value {
    let (kind, kind_display) = insurance_kind(&q.insurer_number);
    let mut c = json!({
        "resourceType": "Coverage",
        "id": id,
        "identifier": [card_identifier(q)],
        "status": if q.validity_code == 1 { "active" } else { "cancelled" },
        "type": {"coding": [{"system": INSURANCE_KIND_SYSTEM, "code": kind, "display": kind_display}]},
        "subscriberId": q.number,
        "beneficiary": {"reference": "#patient"},
        "relationship": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
            "code": if q.relationship_code == 1 { "self" } else { "other" },
        }]},
        "period": {"start": fhir_date(&q.qualified_from)},
        "payor": [{"identifier": {"system": INSURER_SYSTEM, "value": q.insurer_number}, "display": q.insurer_name}],
        "costToBeneficiary": [{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-copay-type", "code": "copaypct"}]},
            "valueQuantity": {"value": copay_percent(q), "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"},
        }],
    });
    if !q.branch.is_empty() {
        c["dependent"] = json!(q.branch);
    }
    if let Some(until) = &q.qualified_until {
        c["period"]["end"] = json!(fhir_date(until));
    }
    if let Some(insured) = &q.insured_name {
        c["subscriber"] = json!({"display": insured});
    }
    if !q.symbol.is_empty() {
        c["class"] = json!([{
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]},
            "value": q.symbol,
        }]);
    }
    c
}

/// A name as FHIR structures it: family and given split at the first space, half- or full-width
/// (Japanese names are written family first), the whole as `text`, and the ISO 21090 representation: `IDE`
/// (ideographic, kanji) or `SYL` (syllabic, kana).
fn human_name(name: &str, representation: &str) -> Value {
    let mut n = json!({
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": representation}],
        "use": "official",
        "text": name,
    });
    match name.split_once([' ', '\u{3000}']) {
        Some((family, given)) => {
            n["family"] = json!(family);
            n["given"] = json!(given.split([' ', '\u{3000}']).collect::<Vec<_>>());
        }
        None => n["family"] = json!(name),
    }
    n
}

fn patient(q: &Qualification) -> Value {
    let mut p = json!({
        "resourceType": "Patient",
        "id": "patient",
        "identifier": [card_identifier(q)],
        "name": [human_name(&q.name, "IDE"), human_name(&q.name_kana, "SYL")],
        "gender": match q.sex_code { 1 => "male", 2 => "female", _ => "unknown" },
        "birthDate": fhir_date(&q.birth_date),
    });
    if q.address.is_some() || q.post_number.is_some() {
        let mut address = json!({"use": "home", "country": "JP"});
        if let Some(a) = &q.address {
            address["text"] = json!(a);
        }
        if let Some(p) = &q.post_number {
            address["postalCode"] = json!(p);
        }
        p["address"] = json!([address]);
    }
    p
}

/// What an insurance pays for and what the patient bears: medical care (category 1), the copay
/// percentage, and with the patient's consent the 限度額 bracket as the monthly limit's kind.
fn benefits(q: &Qualification) -> Value {
    let mut benefit = vec![json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "copay-percent"}]},
        "allowedUnsignedInt": copay_percent(q),
    })];
    if let Some(l) = &q.limit_certificate {
        benefit.push(json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-type", "code": "copay-maximum"}]},
            "allowedString": format!("限度額適用認定証 {} ({})", l.bracket_code, l.bracket_label),
        }));
    }
    json!([{
        "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-benefitcategory", "code": "1", "display": "Medical Care"}]},
        "network": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-network", "code": "in"}]},
        "unit": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-unit", "code": "individual"}]},
        "term": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/benefit-term", "code": "annual"}]},
        "benefit": benefit,
    }])
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
        Some(q) => patient(q),
        None => json!({"resourceType": "Patient", "id": "patient"}),
    };
    contained.push(patient);
    let mut insurance = Vec::new();
    for (i, q) in shown.iter().enumerate() {
        let id = format!("coverage{}", i + 1);
        contained.push(coverage(&id, q));
        let mut entry = json!({
            "extension": [{"url": VALIDITY_EXTENSION, "valueCode": q.validity_code.to_string()}],
            "coverage": {"reference": format!("#{id}")},
            "inforce": q.validity_code == 1,
        });
        if q.validity_code == 1 {
            entry["item"] = benefits(q);
        }
        insurance.push(entry);
    }
    let insurer = shown.first().map_or_else(
        || json!({"display": "該当資格なし"}),
        |q| json!({"identifier": {"system": INSURER_SYSTEM, "value": q.insurer_number}, "display": q.insurer_name}),
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
            }, {
                "type": "Bundle",
                "interaction": [{
                    "code": "search-type",
                    "documentation": "a patient's checkup reports (JAMI eCheckupReport document Bundles) of the last five fiscal years, under their checkup consent"
                }],
                "searchParam": [{
                    "name": "check-reference",
                    "type": "token",
                    "documentation": "the check_reference of this facility's card check of the patient (24 hours)"
                }]
            }, {
                "type": "StructureDefinition",
                "interaction": [{
                    "code": "read",
                    "documentation": "the extensions onshi's answers carry: StructureDefinition/qualification-validity"
                }]
            }]
        }]
    })
}

/// The definition of [`VALIDITY_EXTENSION`]: the interface's 資格有効性 as a code, on the
/// response and on each of its insurances.
fn validity_definition() -> Value {
    json!({
        "resourceType": "StructureDefinition",
        "id": "qualification-validity",
        "url": VALIDITY_EXTENSION,
        "name": "QualificationValidity",
        "title": "資格有効性 (qualification validity)",
        "status": "active",
        "publisher": "onshi",
        "description": "The validity code of the national online eligibility interface (QualificationValidity, OQSCD006): 1 有効 (valid), 2 無効 (invalid), 3 無効（新しい資格あり） (invalid, a newer qualification exists), 4 該当資格なし (no such qualification), 5 複数該当 (several match).",
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": false,
        "context": [
            {"type": "element", "expression": "CoverageEligibilityResponse"},
            {"type": "element", "expression": "CoverageEligibilityResponse.insurance"}
        ],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {"element": [
            {"id": "Extension", "path": "Extension", "short": "資格有効性", "definition": "The interface's validity code (1–5).", "min": 0, "max": "1"},
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": VALIDITY_EXTENSION},
            {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1, "type": [{"code": "code"}]}
        ]}
    })
}

/// The definition of the validity extension onshi's answers carry.
#[utoipa::path(get, path = "/fhir/StructureDefinition/qualification-validity", tag = "system",
    responses((status = 200, description = "a FHIR R4 StructureDefinition of the 資格有効性 extension", content_type = "application/fhir+json")))]
pub async fn validity_structure_definition() -> Response {
    fhir_json(StatusCode::OK, validity_definition())
}

/// A patient's checkup results of the last five fiscal years as FHIR R4 document Bundles in
/// the shape of the JAMI eCheckupReport IG (Composition, Patient, Organization, Coverage,
/// Encounter, one Observation per item with its 17-digit code), in a `searchset` Bundle, newest
/// first. As `GET /v1/checkups`: the patient is named by the `check-reference` of this
/// facility's card check (24 hours), and results are shown only while the patient's checkup
/// consent to this facility is in force. Every read is audited; errors are OperationOutcomes.
#[utoipa::path(get, path = "/fhir/Bundle", tag = "checkups",
    params(("check-reference" = String, Query, description = "the `check_reference` of this facility's card check of the patient")),
    responses(
        (status = 200, description = "a searchset Bundle of document Bundles", content_type = "application/fhir+json"),
        (status = 401, description = "an OperationOutcome (code login): no facility token, or an unknown one", content_type = "application/fhir+json"),
        (status = 403, description = "an OperationOutcome (code forbidden): the patient has not given this facility a checkup consent in force", content_type = "application/fhir+json"),
        (status = 404, description = "an OperationOutcome: no card check of yours with this reference in the last 24 hours", content_type = "application/fhir+json"),
        (status = 422, description = "an OperationOutcome: no check-reference", content_type = "application/fhir+json"),
    ),
    security(("facility_token" = [])))]
pub async fn checkup_bundles(
    State(state): State<AppState>,
    facility: Result<AuthenticatedFacility, Problem>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let facility = match facility {
        Ok(AuthenticatedFacility(f)) => f,
        Err(p) => return outcome_for(&p, false),
    };
    let stored = match crate::routes::checkups::patient_checkups(
        &state,
        facility,
        query.get("check-reference"),
    )
    .await
    {
        Ok(s) => s,
        Err(p) => return outcome_for(&p, false),
    };
    let now = state.clock.now();
    let table = onshi_checkup::codes::CodeTable::fy2024();
    let entries: Vec<Value> = stored
        .iter()
        .map(|c| {
            let doc = crate::checkups::document_of(c, onshi_domain::japan::japan_date(now));
            json!({
                "fullUrl": onshi_checkup::fhir::full_url(&c.id, "bundle"),
                "resource": onshi_checkup::fhir::checkup_bundle(&doc, &c.id, now, table),
                "search": {"mode": "match"},
            })
        })
        .collect();
    fhir_json(
        StatusCode::OK,
        json!({
            "resourceType": "Bundle",
            "type": "searchset",
            "timestamp": rfc3339_japan(now),
            "total": entries.len(),
            "entry": entries,
        }),
    )
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
        (status = 401, description = "an OperationOutcome (code login): no facility token, or an unknown one", content_type = "application/fhir+json"),
        (status = 413, description = "an OperationOutcome (code too-costly): the body is over 1 MiB", content_type = "application/fhir+json"),
        (status = 422, description = "an OperationOutcome naming the invalid element (an insurer number's check digit, say)", content_type = "application/fhir+json"),
        (status = 429, description = "an OperationOutcome (code throttled): over the facility's rate limit; retry after the seconds Retry-After gives", content_type = "application/fhir+json"),
        (status = 500, description = "an OperationOutcome (code exception): the server failed; the operator's log has the cause", content_type = "application/fhir+json"),
        (status = 503, description = "an OperationOutcome (code transient): the registry is busy; retry after the seconds Retry-After gives", content_type = "application/fhir+json"),
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
                Some(&element),
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

//! A checkup as an HL7 FHIR R4 document Bundle in the shape of the JAMI/HL7 Japan
//! eCheckupReport IG (健康診断結果報告書, `http://jpfhir.jp/fhir/eCheckup`): a Composition
//! first, then the Patient, the examining institution and the insurer (Organization), the
//! insurance (Coverage), the visit (Encounter) and one Observation per item, coded with the
//! 17-digit item codes (`urn:oid:1.2.392.200119.6.1005`). The Composition has the IG's two
//! sections: 01011 (検査結果) for measurements and findings, 01012 (問診結果) for the
//! questionnaire, as the code table's categories say.
//!
//! What onshi does not keep is not invented: the examining doctor (the IG's Practitioner; the
//! CDA template's author person is `nullFlavor` too), the institution's name and address, and
//! the person's address. Every `fullUrl` is a UUID derived from the checkup's id, so the same
//! checkup always gives the same Bundle.

use serde_json::{Value, json};
use time::OffsetDateTime;

use onshi_domain::japan::rfc3339_japan;
use onshi_interface::xml::escape;

use crate::codes::CodeTable;
use crate::document::{Document, Value as ItemValue};
use crate::reference::{Direction, values_for};

/// The IG's canonical base.
pub const IG: &str = "http://jpfhir.jp/fhir/eCheckup";
/// The code system of the item codes, as FHIR names it.
pub const ITEM_CODE_SYSTEM: &str = "urn:oid:1.2.392.200119.6.1005";
/// The section codes of the IG.
pub const SECTION_CODE_SYSTEM: &str = "http://jpfhir.jp/fhir/eCheckup/CodeSystem/section-code";
/// 検査結果 (measurements, findings, the doctor's judgement).
pub const EXAM_SECTION: &str = "01011";
/// 問診結果 (the questionnaire).
pub const QUESTIONNAIRE_SECTION: &str = "01012";

/// 保険者番号's identifier system (JP Core).
const INSURER_SYSTEM: &str = "urn:oid:1.2.392.100495.20.3.61";
/// 健診機関番号's identifier system (the OID of the CDA documents).
const INSTITUTION_SYSTEM: &str = "urn:oid:1.2.392.200119.6.102";
const UCUM: &str = "http://unitsofmeasure.org";

fn profile(name: &str) -> Value {
    json!({"profile": [format!("{IG}/StructureDefinition/{name}")]})
}

fn oid_system(oid: &str) -> String {
    if oid.starts_with("urn:") || oid.starts_with("http") {
        oid.to_owned()
    } else {
        format!("urn:oid:{oid}")
    }
}

/// The IG's simple observation category of a code-table category.
fn observation_category(category: u16) -> &'static str {
    match category {
        10 => "body-measurement",
        40..=80 => "laboratory",
        500 | 600 | 900 => "survey",
        _ => "exam",
    }
}

/// The `urn:uuid:` of part `part` (`bundle`, `patient`, `observation-3`, …) of the Bundle of
/// the stored checkup `id`: a name-based UUID, the same for the same checkup.
pub fn full_url(id: &str, part: &str) -> String {
    let name = format!("onshi:checkup:{id}:{part}");
    format!(
        "urn:uuid:{}",
        uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
    )
}

/// The Bundle of `doc`, the stored checkup `id`, issued at `issued`.
pub fn checkup_bundle(
    doc: &Document,
    id: &str,
    issued: OffsetDateTime,
    table: &CodeTable,
) -> Value {
    let url = |part: &str| full_url(id, part);
    let (composition, patient, institution, insurer, coverage, encounter) = (
        url("composition"),
        url("patient"),
        url("institution"),
        url("insurer"),
        url("coverage"),
        url("encounter"),
    );
    let reference = |u: &str| json!({"reference": u});
    let timestamp = rfc3339_japan(issued);
    let exam = doc.exam_date.to_string();

    let mut observations = Vec::with_capacity(doc.observations.len());
    let mut sections: [(Vec<Value>, Vec<String>); 2] = Default::default();
    for (i, o) in doc.observations.iter().enumerate() {
        let item = table.get(&o.code);
        let name = item.map(|i| i.name.as_str()).unwrap_or_default();
        let questionnaire = item.is_some_and(|i| i.is_questionnaire());
        let mut obs = json!({
            "resourceType": "Observation",
            "meta": profile("JP_Observation_eCheckupGeneral"),
            "status": "final",
            "category": [{"coding": [{
                "system": "http://jpfhir.jp/fhir/core/CodeSystem/JP_SimpleObservationCategory_CS",
                "code": observation_category(item.map_or(0, |i| i.category)),
            }]}],
            "code": {"coding": [{"system": ITEM_CODE_SYSTEM, "code": o.code}]},
            "subject": reference(&patient),
            "encounter": reference(&encounter),
            "effectiveDateTime": exam,
            "performer": [reference(&institution)],
        });
        if !name.is_empty() {
            obs["code"]["coding"][0]["display"] = json!(name);
            obs["code"]["text"] = json!(name);
        }
        let shown = match &o.value {
            ItemValue::Quantity { value, unit } => {
                let number: Option<f64> = value.trim().parse().ok();
                let mut q = json!({});
                if let Some(n) = number {
                    q["value"] = json!(n);
                }
                if !unit.is_empty() {
                    let display = item
                        .map(|i| i.unit_name.as_str())
                        .filter(|u| !u.is_empty())
                        .unwrap_or(unit);
                    q["unit"] = json!(display);
                    q["system"] = json!(UCUM);
                    q["code"] = json!(unit);
                }
                obs["valueQuantity"] = q.clone();
                if let (Some(v), Some(_)) = (values_for(&o.code), number) {
                    let bound = v.guidance_for(doc.sex);
                    let mut limit = q.clone();
                    limit["value"] = json!(bound);
                    let side = match v.direction {
                        Direction::High => "high",
                        Direction::Low => "low",
                    };
                    obs["referenceRange"] = json!([{
                        side: limit,
                        "text": format!("保健指導判定値 {bound}"),
                    }]);
                }
                format!("{value} {unit}")
            }
            ItemValue::Coded { code, system } => {
                let mut coding = json!({"code": code});
                if !system.is_empty() {
                    coding["system"] = json!(oid_system(system));
                }
                obs["valueCodeableConcept"] = json!({"coding": [coding]});
                code.clone()
            }
            ItemValue::Text(t) => {
                obs["valueString"] = json!(t);
                t.clone()
            }
            ItemValue::Null(flavour) => {
                obs["status"] = json!("cancelled");
                obs["dataAbsentReason"] = json!({
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "not-performed"}],
                    "text": flavour,
                });
                "未実施".to_owned()
            }
        };
        if let Some(code) = &o.interpretation {
            obs["interpretation"] = json!([{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                "code": code,
            }]}]);
        }
        let full = url(&format!("observation-{i}"));
        let section = &mut sections[usize::from(questionnaire)];
        section.0.push(reference(&full));
        section
            .1
            .push(format!("<li>{} {}</li>", escape(name), escape(&shown)));
        observations.push(json!({"fullUrl": full, "resource": obs}));
    }

    let section_json = |code: &str, title: &str, (entries, lines): &(Vec<Value>, Vec<String>)| {
        json!({
            "title": title,
            "code": {"coding": [{"system": SECTION_CODE_SYSTEM, "code": code, "display": title}]},
            "text": {
                "status": "generated",
                "div": format!(r#"<div xmlns="http://www.w3.org/1999/xhtml"><ul>{}</ul></div>"#, lines.concat()),
            },
            "entry": entries,
        })
    };
    let mut section_list = Vec::new();
    for (code, title, s) in [
        (EXAM_SECTION, "特定健診検査結果セクション", &sections[0]),
        (
            QUESTIONNAIRE_SECTION,
            "特定健診問診結果セクション",
            &sections[1],
        ),
    ] {
        if !s.0.is_empty() {
            section_list.push(section_json(code, title, s));
        }
    }
    let year = doc.exam_date.year();
    let member_id = format!(
        "{}:{}:{}:{}",
        doc.insurer, doc.symbol, doc.number, doc.branch
    );
    let mut entries = vec![
        json!({"fullUrl": composition, "resource": {
            "resourceType": "Composition",
            "meta": profile("JP_Composition_eCheckupGeneral"),
            "language": "ja",
            "identifier": {
                "system": "http://jpfhir.jp/fhir/core/IdSystem/resourceInstance-identifier",
                "value": format!("{}-{year}-{id}", doc.institution),
            },
            "status": "final",
            "type": {"coding": [{"system": "http://jpfhir.jp/fhir/Common/CodeSystem/doc-typecodes", "code": "53576-5", "display": "検診・健診報告書"}]},
            "category": [{"coding": [{"system": "urn:oid:1.2.392.200119.6.1001", "code": doc.report_kind}]}],
            "subject": reference(&patient),
            "encounter": reference(&encounter),
            "date": timestamp,
            "author": [reference(&institution)],
            "title": "健康診断結果報告書",
            "custodian": reference(&institution),
            "event": [{
                "code": [{"coding": [{"system": "urn:oid:1.2.392.200119.6.1002", "code": doc.program}]}],
                "period": {"start": exam, "end": exam},
                "detail": [reference(&encounter)],
            }],
            "section": section_list,
        }}),
        json!({"fullUrl": patient, "resource": {
            "resourceType": "Patient",
            "meta": profile("JP_Patient_eCheckupGeneral"),
            "identifier": [{"system": "http://jpfhir.jp/fhir/clins/Idsystem/JP_Insurance_memberID", "value": member_id}],
            "name": [{
                "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation", "valueCode": "SYL"}],
                "use": "official",
                "text": doc.name_kana,
            }],
            "gender": match doc.sex { 1 => "male", 2 => "female", _ => "unknown" },
            "birthDate": doc.birth_date.to_string(),
        }}),
        json!({"fullUrl": institution, "resource": {
            "resourceType": "Organization",
            "meta": profile("JP_Organization_eCheckupGeneral"),
            "identifier": [{"system": INSTITUTION_SYSTEM, "value": doc.institution}],
            "type": [{"coding": [{"system": "http://jpfhir.jp/fhir/eCheckup/CodeSystem/report-organization-code", "code": "exec-org"}]}],
        }}),
        json!({"fullUrl": insurer, "resource": {
            "resourceType": "Organization",
            "meta": profile("JP_OrganizationInsurer"),
            "identifier": [{"system": INSURER_SYSTEM, "value": doc.insurer}],
            "type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/organization-type", "code": "pay"}]}],
        }}),
        json!({"fullUrl": coverage, "resource": {
            "resourceType": "Coverage",
            "meta": profile("JP_CoverageInsurance"),
            "status": "active",
            "subscriberId": doc.number,
            "dependent": doc.branch,
            "beneficiary": reference(&patient),
            "payor": [reference(&insurer)],
            "class": [{
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/coverage-class", "code": "group"}]},
                "value": if doc.symbol.is_empty() { "-" } else { doc.symbol.as_str() },
            }],
        }}),
        json!({"fullUrl": encounter, "resource": {
            "resourceType": "Encounter",
            "meta": profile("JP_Encounter_eCheckupGeneral"),
            "status": "finished",
            "class": {"system": "http://jpfhir.jp/fhir/eCheckup/CodeSystem/encounter-category", "code": "checkup", "display": "健診"},
            "serviceType": {"coding": [{"system": "urn:oid:1.2.392.200119.6.1002", "code": doc.program}]},
            "subject": reference(&patient),
            "period": {"start": exam, "end": exam},
            "serviceProvider": reference(&institution),
        }}),
    ];
    entries.extend(observations);
    json!({
        "resourceType": "Bundle",
        "meta": profile("JP_Bundle_eCheckupGeneral"),
        "language": "ja",
        "identifier": {
            "system": "http://jpfhir.jp/fhir/clins/bundle-identifier",
            "value": format!("{}^{year}^{id}", doc.institution),
        },
        "type": "document",
        "timestamp": timestamp,
        "entry": entries,
    })
}

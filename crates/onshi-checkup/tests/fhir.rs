//! Checkups as FHIR document Bundles: the shape the JAMI eCheckupReport IG asks for, and
//! nothing that does not resolve.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use onshi_checkup::codes::CodeTable;
use onshi_checkup::document;
use onshi_checkup::fhir::checkup_bundle;
use serde_json::Value;
use time::macros::datetime;

fn bundle() -> (document::Document, Value) {
    let root = onshi_checkup::xml::parse(include_bytes!("fixtures/hc08-complete.xml")).unwrap();
    let doc = document::read(&root).unwrap();
    let b = checkup_bundle(
        &doc,
        "c-1",
        datetime!(2026-11-24 09:00 UTC),
        CodeTable::fy2024(),
    );
    (doc, b)
}

#[test]
fn a_checkup_is_a_document_bundle_whose_references_all_resolve() {
    let (doc, b) = bundle();
    assert_eq!(b["type"], "document");
    assert_eq!(
        b["timestamp"], "2026-11-24T18:00:00+09:00",
        "Japan time on the wire"
    );
    assert!(b["identifier"]["value"].as_str().is_some());
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries[0]["resource"]["resourceType"], "Composition");
    let urls: HashSet<&str> = entries
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert_eq!(urls.len(), entries.len(), "fullUrls are unique");
    assert!(
        urls.iter()
            .all(|u| u.starts_with("urn:uuid:") && u.len() == 45)
    );
    // Every reference inside points at an entry of the Bundle.
    fn references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k == "reference" {
                        out.push(x.as_str().unwrap());
                    } else {
                        references(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| references(x, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    references(&b, &mut refs);
    assert!(refs.len() > doc.observations.len());
    for r in refs {
        assert!(urls.contains(r), "{r} does not resolve");
    }
    // One Observation per item, coded with its 17-digit code; the same checkup, the same Bundle.
    let observations: Vec<&Value> = entries
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] == "Observation")
        .collect();
    assert_eq!(observations.len(), doc.observations.len());
    for (o, item) in observations.iter().zip(&doc.observations) {
        let coding = &o["code"]["coding"][0];
        assert_eq!(coding["system"], "urn:oid:1.2.392.200119.6.1005");
        assert_eq!(coding["code"], item.code.as_str());
        assert_eq!(item.code.len(), 17);
        // The IG's invariant: a reference range is in the value's unit.
        if let Some(range) = o["referenceRange"].as_array() {
            let bound = range[0].get("high").or(range[0].get("low")).unwrap();
            assert_eq!(bound["code"], o["valueQuantity"]["code"]);
        }
    }
    assert_eq!(bundle().1, b);
}

#[test]
fn the_composition_sorts_items_into_the_igs_two_sections() {
    let (_, b) = bundle();
    let composition = &b["entry"][0]["resource"];
    assert_eq!(composition["type"]["coding"][0]["code"], "53576-5");
    assert_eq!(composition["category"][0]["coding"][0]["code"], "10");
    assert_eq!(
        composition["event"][0]["code"][0]["coding"][0]["code"],
        "010"
    );
    let sections = composition["section"].as_array().unwrap();
    let codes: Vec<&str> = sections
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["01011", "01012"]);
    let by_url: std::collections::HashMap<&str, &Value> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["fullUrl"].as_str().unwrap(), &e["resource"]))
        .collect();
    let table = CodeTable::fy2024();
    for (section, questionnaire) in [(&sections[0], false), (&sections[1], true)] {
        assert!(
            section["text"]["div"]
                .as_str()
                .unwrap()
                .starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">")
        );
        for e in section["entry"].as_array().unwrap() {
            let o = by_url[e["reference"].as_str().unwrap()];
            let code = o["code"]["coding"][0]["code"].as_str().unwrap();
            assert_eq!(
                table.get(code).unwrap().is_questionnaire(),
                questionnaire,
                "{code}"
            );
        }
    }
}

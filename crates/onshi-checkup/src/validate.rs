//! Whether a document's content is what a 特定健診 record may hold, beyond its structure: every
//! item code in the code table with its value type, format and unit; values a body can show; the
//! items a 特定健診 must carry; and the blood-draw timing that fasting and random values need.
//! Errors name the observation by its item code and line, never its value (health data).

use std::collections::{HashMap, HashSet};

use crate::codes::{CodeTable, Requirement, ValueType};
use crate::document::{Document, DocumentError, Value};

/// 採血時間(食後): 2 ten hours or more after a meal, 3 from 3.5 to 10 hours, 4 less than 3.5
/// hours (code system 1.2.392.200119.6.2202; an older code 1 meant "within 10 hours").
pub const BLOOD_DRAW_TIMING: &str = "9N141000000000011";

/// The 報告区分 of a 特定健診 document.
pub const SPECIFIC_CHECKUP: &str = "10";

/// Values a body can show, by the item code's first characters: (prefix, low, high). Wider than
/// any clinical range, so only impossible values (a typo, a unit mix-up) are refused.
const POSSIBLE: [(&str, f64, f64); 16] = [
    ("9N001", 50.0, 250.0),  // 身長 cm
    ("9N006", 10.0, 300.0),  // 体重 kg
    ("9N011", 8.0, 100.0),   // BMI
    ("9N016", 30.0, 250.0),  // 腹囲 cm
    ("9N021", 1.0, 1000.0),  // 内臓脂肪面積 cm2
    ("9A75", 40.0, 300.0),   // 収縮期血圧 mmHg
    ("9A76", 20.0, 200.0),   // 拡張期血圧 mmHg
    ("3F015", 5.0, 10000.0), // 中性脂肪 mg/dL
    ("3F070", 5.0, 300.0),   // HDL mg/dL
    ("3F077", 5.0, 1000.0),  // LDL mg/dL
    ("3F069", 5.0, 1000.0),  // Non-HDL mg/dL
    ("3B035", 1.0, 10000.0), // AST U/L
    ("3B045", 1.0, 10000.0), // ALT U/L
    ("3B090", 1.0, 10000.0), // γ-GT U/L
    ("3D010", 10.0, 2000.0), // 血糖 mg/dL
    ("3D046", 2.0, 25.0),    // HbA1c %
];

fn is_fasting(code: &str) -> bool {
    code.starts_with("3F015000") || code.starts_with("3D010000")
}

fn is_random(code: &str) -> bool {
    code.starts_with("3F0151299") || code.starts_with("3D0101299")
}

/// Every problem of `doc`'s content under `table` (empty: the document may be stored).
pub fn validate(doc: &Document, table: &CodeTable) -> Vec<DocumentError> {
    let mut errors = Vec::new();
    let mut fail = |code: &str, line: usize, reason: String| {
        errors.push(DocumentError {
            path: format!("observation[code={code}]"),
            line,
            reason,
        });
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for obs in &doc.observations {
        if let Some(first) = seen.insert(obs.code.as_str(), obs.line) {
            fail(
                &obs.code,
                obs.line,
                format!("the item appears twice (first on line {first})"),
            );
            continue;
        }
        let Some(item) = table.get(&obs.code) else {
            fail(
                &obs.code,
                obs.line,
                "not an item code of the 2024 code table".into(),
            );
            continue;
        };
        match (&obs.value, item.value_type) {
            (Value::Null(_), _) => {}
            (Value::Quantity { value, unit }, ValueType::Quantity) => {
                if !item.fits_format(value) {
                    fail(
                        &obs.code,
                        obs.line,
                        format!(
                            "{}: the number does not fit the format {}",
                            item.name, item.format
                        ),
                    );
                } else if let Some((_, low, high)) = POSSIBLE
                    .iter()
                    .find(|(prefix, _, _)| obs.code.starts_with(prefix))
                    && let Ok(n) = value.parse::<f64>()
                    && !(*low..=*high).contains(&n)
                {
                    fail(
                        &obs.code,
                        obs.line,
                        format!(
                            "{}: outside what a body can show ({low}–{high} {})",
                            item.name, item.unit
                        ),
                    );
                }
                if !item.unit.is_empty() && unit != &item.unit && unit != &item.unit_name {
                    fail(
                        &obs.code,
                        obs.line,
                        format!("{}: the unit must be {}", item.name, item.unit),
                    );
                }
            }
            (Value::Coded { system, .. }, ValueType::Coded) => {
                if let Some(expected) = &item.result_code_system
                    && !system.is_empty()
                    && system != expected
                {
                    fail(
                        &obs.code,
                        obs.line,
                        format!("{}: codes of {expected} are expected", item.name),
                    );
                }
            }
            (Value::Text(text), ValueType::Text) => {
                if let Ok(max) = item.format.parse::<usize>()
                    && text.chars().count() > max
                {
                    fail(
                        &obs.code,
                        obs.line,
                        format!("{}: longer than {max} characters", item.name),
                    );
                }
            }
            (_, expected) => {
                let name = match expected {
                    ValueType::Quantity => "PQ",
                    ValueType::Coded => "CD",
                    ValueType::Text => "ST",
                };
                fail(
                    &obs.code,
                    obs.line,
                    format!("{}: the value must be of type {name}", item.name),
                );
            }
        }
    }
    // Blood-draw timing: fasting values need 10 hours or more; random ones are refused within
    // 3.5 hours of a meal (食直後), and need the timing stated.
    let timing = doc
        .observations
        .iter()
        .find(|o| o.code == BLOOD_DRAW_TIMING)
        .and_then(|o| match &o.value {
            Value::Coded { code, .. } => Some(code.as_str()),
            _ => None,
        });
    for obs in &doc.observations {
        if matches!(obs.value, Value::Null(_)) {
            continue;
        }
        let name = table.get(&obs.code).map_or("", |i| i.name.as_str());
        if is_fasting(&obs.code) && timing != Some("2") {
            fail(
                &obs.code,
                obs.line,
                format!(
                    "{name}: a fasting value needs 採血時間(食後) 2 (ten hours or more after a meal)"
                ),
            );
        }
        if is_random(&obs.code) {
            match timing {
                Some("4") => fail(
                    &obs.code,
                    obs.line,
                    format!(
                        "{name}: a random value drawn within 3.5 hours of a meal (食直後) is not allowed"
                    ),
                ),
                None => fail(
                    &obs.code,
                    obs.line,
                    format!("{name}: a random value needs 採血時間(食後) ({BLOOD_DRAW_TIMING})"),
                ),
                _ => {}
            }
        }
    }
    if doc.report_kind == SPECIFIC_CHECKUP {
        let present: HashSet<&str> = doc.observations.iter().map(|o| o.code.as_str()).collect();
        let mut groups: HashMap<char, (bool, Vec<&str>)> = HashMap::new();
        for item in table.items() {
            match item.requirement {
                Requirement::Required
                    if item.depends_on.is_none() && !present.contains(item.code.as_str()) =>
                {
                    fail(
                        &item.code,
                        0,
                        format!("{}: required in a 特定健診", item.name),
                    );
                }
                Requirement::OneOf(group) => {
                    let entry = groups.entry(group).or_default();
                    entry.0 |= present.contains(item.code.as_str());
                    if !entry.1.contains(&item.name.as_str()) {
                        entry.1.push(&item.name);
                    }
                }
                _ => {}
            }
        }
        let mut missing: Vec<(char, Vec<&str>)> = groups
            .into_iter()
            .filter(|(_, (found, _))| !found)
            .map(|(g, (_, names))| (g, names))
            .collect();
        missing.sort();
        for (group, names) in missing {
            fail(
                &format!("group {group}"),
                0,
                format!("one of {} is required in a 特定健診", names.join(", ")),
            );
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::Item;

    const EXAMPLE: &str = include_str!("../tests/fixtures/hc08-example.xml");

    /// A valid value for `item`, as an observation's `<value>`.
    fn value_of(item: &Item) -> String {
        match item.value_type {
            ValueType::Quantity => {
                let (low, high) = POSSIBLE
                    .iter()
                    .find(|(p, _, _)| item.code.starts_with(p))
                    .map_or((1.0, 9.0), |(_, l, h)| (*l, *h));
                let mut n = ((low + high) / 8.0).round();
                while !item.fits_format(&format!("{n}")) {
                    n = (n / 10.0).round().max(1.0);
                }
                format!(r#"<value xsi:type="PQ" value="{n}" unit="{}"/>"#, item.unit)
            }
            ValueType::Coded => format!(
                r#"<value xsi:type="CD" code="1" codeSystem="{}"/>"#,
                item.result_code_system.clone().unwrap_or_default()
            ),
            ValueType::Text => r#"<value xsi:type="ST">なし</value>"#.into(),
        }
    }

    /// The example document with every required item and one of each group, fasting blood.
    fn complete(extra: &[(&str, &str)]) -> String {
        let table = CodeTable::fy2024();
        let mut groups = HashSet::new();
        let mut entries = String::new();
        let mut add = |code: &str, value: String| {
            entries.push_str(&format!(
                r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="{code}" codeSystem="1.2.392.200119.6.1005"/>{value}</observation></entry>"#
            ));
        };
        let existing = [
            "9N001000000000001",
            "9N016160100000001",
            "9N056000000000011",
            "9N056160400000049",
            "9A751000000000001",
            "9A761000000000001",
            "3F015000002327101",
            "9N701000000000011",
            "9N051000000000049",
        ];
        for item in table.items() {
            if existing.contains(&item.code.as_str()) || extra.iter().any(|(c, _)| *c == item.code)
            {
                continue;
            }
            let wanted = match item.requirement {
                Requirement::Required => item.depends_on.is_none(),
                Requirement::OneOf(g) => groups.insert(g) && !matches!(g, 'A' | 'B' | 'C' | 'D'),
                Requirement::Optional => false,
            };
            if wanted {
                // The glucose group's first member is fasting glucose: the draw is fasting.
                add(&item.code, value_of(item));
            }
        }
        add(
            BLOOD_DRAW_TIMING,
            r#"<value xsi:type="CD" code="2" codeSystem="1.2.392.200119.6.2202"/>"#.into(),
        );
        for (code, value) in extra {
            add(code, (*value).to_owned());
        }
        EXAMPLE
            .replace(
                r#"<value xsi:type="PQ" nullFlavor="NI"/>"#,
                r#"<value xsi:type="PQ" value="120" unit="mg/dL"/>"#,
            )
            .replace("</section>", &format!("{entries}</section>"))
    }

    fn errors_of(xml: &str) -> Vec<String> {
        let doc = crate::document::read(&crate::xml::parse(xml.as_bytes()).unwrap()).unwrap();
        validate(&doc, CodeTable::fy2024())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_complete_checkup_passes() {
        assert_eq!(errors_of(&complete(&[])), Vec::<String>::new());
        // The archive tests' fixture is this complete document (regenerate it with
        // ONSHI_WRITE_FIXTURE=1 when the table changes).
        if std::env::var_os("ONSHI_WRITE_FIXTURE").is_some() {
            std::fs::write("tests/fixtures/hc08-complete.xml", complete(&[])).unwrap();
        }
        let fixture = include_str!("../tests/fixtures/hc08-complete.xml");
        assert_eq!(errors_of(fixture), Vec::<String>::new());
    }

    #[test]
    fn each_fault_is_named_by_item_code() {
        let cases: [(&[(&str, &str)], &str); 4] = [
            (
                &[(
                    "9N999000000000001",
                    r#"<value xsi:type="PQ" value="1" unit="cm"/>"#,
                )],
                "not an item code",
            ),
            (
                &[(
                    "9N006000000000001",
                    r#"<value xsi:type="PQ" value="650" unit="kg"/>"#,
                )],
                "体重: outside what a body can show",
            ),
            (
                &[(
                    "9N006000000000001",
                    r#"<value xsi:type="PQ" value="65" unit="lb"/>"#,
                )],
                "体重: the unit must be kg",
            ),
            (
                &[("9N006000000000001", r#"<value xsi:type="ST">65</value>"#)],
                "体重: the value must be of type PQ",
            ),
        ];
        for (extra, expected) in cases {
            let errors = errors_of(&complete(extra));
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{expected} in {errors:?}"
            );
            assert!(
                errors.iter().all(|e| !e.contains("650")),
                "values are not echoed: {errors:?}"
            );
        }
    }

    #[test]
    fn a_random_value_right_after_a_meal_is_refused() {
        let random = complete(&[(
            "3D010129901926101",
            r#"<value xsi:type="PQ" value="110" unit="mg/dL"/>"#,
        )])
        .replace(
            r#"code="2" codeSystem="1.2.392.200119.6.2202""#,
            r#"code="4" codeSystem="1.2.392.200119.6.2202""#,
        );
        let errors = errors_of(&random);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("3D010129901926101") && e.contains("within 3.5 hours")),
            "{errors:?}"
        );
        // The fasting triglycerides of the same draw are refused too: not ten hours.
        assert!(
            errors
                .iter()
                .any(|e| e.contains("3F015000002327101") && e.contains("fasting")),
            "{errors:?}"
        );
        // 3.5 to 10 hours: the random value is fine.
        let later = random.replace(
            r#"code="4" codeSystem="1.2.392.200119.6.2202""#,
            r#"code="3" codeSystem="1.2.392.200119.6.2202""#,
        );
        assert!(
            !errors_of(&later)
                .iter()
                .any(|e| e.contains("3D010129901926101"))
        );
    }

    #[test]
    fn missing_required_items_are_listed() {
        let errors = errors_of(EXAMPLE);
        for expected in [
            "[code=9N006000000000001]: 体重: required",
            "group E",
            "group 糖",
        ] {
            assert!(
                errors.iter().any(|e| e.contains(expected)),
                "{expected} in {errors:?}"
            );
        }
        assert!(
            !errors.iter().any(|e| e.contains("group B")),
            "the first blood pressure is there: {errors:?}"
        );
    }
}

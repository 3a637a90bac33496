//! One person's HL7 CDA R2 document from an archive's `DATA/` (特定健診 `hc08`, 特定保健指導
//! `hg08`): who was examined (the card key, kana name, birth date, sex), where and when, and each
//! observation with its 17-digit item code and typed value. Reading only: whether the codes,
//! units and values are allowed is the validation's business.
//!
//! Errors name the element by its path from `ClinicalDocument` (`recordTarget/patientRole/id[…]`,
//! `…/observation[3]/value`), with the line it is on.

use time::Date;

use crate::xml::Element;

/// The CDA namespace.
pub const CDA_NAMESPACE: &str = "urn:hl7-org:v3";

/// OIDs of the card key's parts in `patientRole/id`.
pub const SYMBOL_OID: &str = "1.2.392.200119.6.204";
/// 被保険者証等番号.
pub const NUMBER_OID: &str = "1.2.392.200119.6.205";
/// 枝番.
pub const BRANCH_OID: &str = "1.2.392.200119.6.211";
/// The item codes of observations (特定健診項目コード, the 17-digit JLAC10-based codes).
pub const ITEM_CODE_OID: &str = "1.2.392.200119.6.1005";
/// The item codes of a guidance document's own observations (特定保健指導項目コード); a guidance
/// document may also carry checkup items (weight, waist at the evaluation) under
/// [`ITEM_CODE_OID`].
pub const GUIDANCE_ITEM_CODE_OID: &str = "1.2.392.200119.6.1006";

/// 報告区分 of 特定保健指導 documents (`code/@code`, OID 1.2.392.200119.6.1001): 21 開始
/// (the first interview), 22 実績評価 (the final evaluation), 23 途中終了 (stopped), 24 その他,
/// 25 初回未完了 (a first interview split over days, not yet whole).
pub const GUIDANCE_REPORT_KINDS: [&str; 5] = ["21", "22", "23", "24", "25"];

/// An observation's value as written (`xsi:type`).
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// `PQ`: a number (kept as written) and its unit.
    Quantity {
        /// The number as written.
        value: String,
        /// The UCUM unit as written (may be empty).
        unit: String,
    },
    /// `CD` / `CO`: a code of a code system.
    Coded {
        /// The code.
        code: String,
        /// The code system's OID (may be empty).
        system: String,
    },
    /// `ST`: text.
    Text(String),
    /// No value, with its reason (`nullFlavor`, e.g. `NI`, `UNK`).
    Null(String),
}

impl std::fmt::Debug for Value {
    /// Values are health data: only their kind is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Quantity { .. } => "Quantity(…)",
            Self::Coded { .. } => "Coded(…)",
            Self::Text(_) => "Text(…)",
            Self::Null(_) => "Null(…)",
        })
    }
}

/// One observation (a checkup item or a questionnaire answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The section's code (`01010` 特定健診・問診結果, `01990` 任意追加項目, …).
    pub section: String,
    /// The 17-digit item code.
    pub code: String,
    /// The value.
    pub value: Value,
    /// `interpretationCode/@code` (N, H, L, …), if any.
    pub interpretation: Option<String>,
    /// `methodCode/@code`, if any.
    pub method: Option<String>,
    /// The line the observation starts on.
    pub line: usize,
}

/// A CDA checkup or guidance document.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    /// 報告区分 (`code/@code`): 10 特定健診, 20s 特定保健指導, ….
    pub report_kind: String,
    /// 文書作成日.
    pub created: Date,
    /// 保険者番号 as written.
    pub insurer: String,
    /// 被保険者証等記号 (may be empty).
    pub symbol: String,
    /// 被保険者証等番号.
    pub number: String,
    /// 枝番 (may be empty in older files).
    pub branch: String,
    /// The name in kana (personal data).
    pub name_kana: String,
    /// 生年月日.
    pub birth_date: Date,
    /// 性別: 1 male, 2 female.
    pub sex: u8,
    /// The postal code, if written (personal data).
    pub postal_code: Option<String>,
    /// 実施機関: the examining institution's 10-digit number.
    pub institution: String,
    /// プログラム種別 (`serviceEvent/code/@code`).
    pub program: String,
    /// 実施日.
    pub exam_date: Date,
    /// Every observation, grouped ones flattened, in document order.
    pub observations: Vec<Observation>,
}

/// Whether 報告区分 `kind` is a 特定保健指導 report (21–25) rather than a checkup's.
fn is_guidance_kind(kind: &str) -> bool {
    GUIDANCE_REPORT_KINDS.contains(&kind)
}

impl Document {
    /// Whether this is a 特定保健指導 document (`hg08`, 報告区分 21–25) rather than a checkup.
    pub fn is_guidance(&self) -> bool {
        is_guidance_kind(&self.report_kind)
    }
}

impl std::fmt::Debug for Document {
    /// Names, postal codes, birth dates and the card key are personal data: not shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("report_kind", &self.report_kind)
            .field("institution", &self.institution)
            .field("exam_date", &self.exam_date)
            .field("observations", &self.observations.len())
            .finish_non_exhaustive()
    }
}

/// A problem of a document: the element's path and line, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    /// The element's path from `ClinicalDocument`.
    pub path: String,
    /// Its line (0 when the element is missing).
    pub line: usize,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for DocumentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line > 0 {
            write!(f, "{} (line {}): {}", self.path, self.line, self.reason)
        } else {
            write!(f, "{}: {}", self.path, self.reason)
        }
    }
}

struct Reader {
    errors: Vec<DocumentError>,
}

impl Reader {
    fn fail(&mut self, path: &str, line: usize, reason: impl Into<String>) {
        self.errors.push(DocumentError {
            path: path.to_owned(),
            line,
            reason: reason.into(),
        });
    }

    /// The element at `path` below `from` (steps by local name).
    fn at<'a>(&mut self, from: &'a Element, path: &str) -> Option<&'a Element> {
        let mut el = from;
        for step in path.split('/') {
            match el.child(step) {
                Some(c) => el = c,
                None => {
                    self.fail(path, 0, "is required");
                    return None;
                }
            }
        }
        Some(el)
    }

    /// The non-empty attribute `name` of the element at `path`.
    fn attr(&mut self, from: &Element, path: &str, name: &str) -> Option<String> {
        let el = self.at(from, path)?;
        match el.attribute(name).map(str::trim) {
            Some(v) if !v.is_empty() => Some(v.to_owned()),
            _ => {
                self.fail(&format!("{path}/@{name}"), el.line, "is required");
                None
            }
        }
    }

    fn date(&mut self, from: &Element, path: &str) -> Option<Date> {
        let text = self.attr(from, path, "value")?;
        // A time stamp (YYYYMMDDHHmmss…) carries its date first.
        let date = text.get(..8).and_then(crate::parse_yyyymmdd);
        if date.is_none() {
            let line = self.at(from, path).map_or(0, |e| e.line);
            self.fail(&format!("{path}/@value"), line, "must be a date YYYYMMDD");
        }
        date
    }
}

fn id_with_root<'a>(parent: &'a Element, root: &str) -> Option<&'a Element> {
    parent
        .children_named("id")
        .find(|id| id.attribute("root") == Some(root))
}

fn observations(
    reader: &mut Reader,
    guidance: bool,
    section: &str,
    parent: &Element,
    path: &str,
    out: &mut Vec<Observation>,
) {
    for (n, entry) in parent
        .children
        .iter()
        .filter(|c| &*c.name == "entry" || &*c.name == "entryRelationship")
        .enumerate()
    {
        let Some(obs) = entry.child("observation") else {
            continue;
        };
        let here = format!("{path}/{}[{}]/observation", entry.name, n + 1);
        let code = obs
            .child("code")
            .and_then(|c| c.attribute("code"))
            .map(str::trim)
            .unwrap_or_default();
        if code.is_empty() {
            reader.fail(&format!("{here}/code/@code"), obs.line, "is required");
        } else if let Some(system) = obs.child("code").and_then(|c| c.attribute("codeSystem"))
            && system != ITEM_CODE_OID
            && !(guidance && system == GUIDANCE_ITEM_CODE_OID)
        {
            reader.fail(
                &format!("{here}/code/@codeSystem"),
                obs.line,
                if guidance {
                    format!(
                        "must be {GUIDANCE_ITEM_CODE_OID} (特定保健指導項目コード) or {ITEM_CODE_OID} (特定健診項目コード)"
                    )
                } else {
                    format!("must be {ITEM_CODE_OID} (特定健診項目コード)")
                },
            );
        }
        // A grouping observation (its items in entryRelationship) may carry no value.
        let grouped = obs.children.iter().any(|c| &*c.name == "entryRelationship");
        let value = match obs.child("value") {
            Some(v) => read_value(reader, v, &format!("{here}/value")),
            None if grouped => None,
            None => {
                reader.fail(&format!("{here}/value"), obs.line, "is required");
                None
            }
        };
        if let Some(value) = value
            && !code.is_empty()
        {
            out.push(Observation {
                section: section.to_owned(),
                code: code.to_owned(),
                value,
                interpretation: obs
                    .child("interpretationCode")
                    .and_then(|c| c.attribute("code"))
                    .map(str::to_owned),
                method: obs
                    .child("methodCode")
                    .and_then(|c| c.attribute("code"))
                    .map(str::to_owned),
                line: obs.line,
            });
        }
        if grouped {
            observations(reader, guidance, section, obs, &here, out);
        }
    }
}

fn read_value(reader: &mut Reader, v: &Element, path: &str) -> Option<Value> {
    if let Some(null) = v.attribute("nullFlavor") {
        return Some(Value::Null(null.to_owned()));
    }
    match v.attribute("type").unwrap_or_default() {
        "PQ" => match v.attribute("value").map(str::trim) {
            Some(n) if !n.is_empty() => Some(Value::Quantity {
                value: n.to_owned(),
                unit: v.attribute("unit").unwrap_or_default().trim().to_owned(),
            }),
            _ => {
                reader.fail(
                    &format!("{path}/@value"),
                    v.line,
                    "a PQ value needs its number",
                );
                None
            }
        },
        "CD" | "CO" | "CV" | "CE" => match v.attribute("code").map(str::trim) {
            Some(c) if !c.is_empty() => Some(Value::Coded {
                code: c.to_owned(),
                system: v.attribute("codeSystem").unwrap_or_default().to_owned(),
            }),
            _ => {
                reader.fail(
                    &format!("{path}/@code"),
                    v.line,
                    "a coded value needs its code",
                );
                None
            }
        },
        "ST" => Some(Value::Text(v.text.trim().to_owned())),
        other => {
            reader.fail(
                &format!("{path}/@xsi:type"),
                v.line,
                format!("'{other}' is not a value type onshi reads (PQ, CD, CO, ST)"),
            );
            None
        }
    }
}

/// Reads a checkup or guidance document; every problem found is listed.
pub fn read(root: &Element) -> Result<Document, Vec<DocumentError>> {
    let mut r = Reader { errors: Vec::new() };
    if &*root.name != "ClinicalDocument" || &*root.namespace != CDA_NAMESPACE {
        r.fail(
            "ClinicalDocument",
            root.line,
            format!(
                "the root is <{}> in '{}', not a CDA ClinicalDocument",
                root.name, root.namespace
            ),
        );
        return Err(r.errors);
    }
    let report_kind = r.attr(root, "code", "code");
    let created = r.date(root, "effectiveTime");
    let role = r.at(root, "recordTarget/patientRole");
    let mut card = |oid: &str, label: &str, required: bool| -> Option<String> {
        let role = role?;
        match id_with_root(role, oid).and_then(|id| id.attribute("extension")) {
            Some(v) if !v.trim().is_empty() => Some(v.trim().to_owned()),
            _ if required => {
                r.fail(
                    &format!("recordTarget/patientRole/id[@root='{oid}']/@extension"),
                    role.line,
                    format!("{label} is required"),
                );
                None
            }
            _ => Some(String::new()),
        }
    };
    let insurer = card(crate::index::INSURER_OID, "保険者番号", true);
    let symbol = card(SYMBOL_OID, "記号", false);
    let number = card(NUMBER_OID, "番号", true);
    let branch = card(BRANCH_OID, "枝番", false);
    let (name_kana, sex, birth_date, postal_code) = match role {
        Some(role) => {
            let name_el = r.at(root, "recordTarget/patientRole/patient/name");
            let name = name_el.map(|n| n.text.trim().to_owned());
            if let Some(n) = name_el
                && n.text.trim().is_empty()
            {
                r.fail("recordTarget/patientRole/patient/name", n.line, "is empty");
            }
            const GENDER: &str = "recordTarget/patientRole/patient/administrativeGenderCode";
            let gender_line = role
                .child("patient")
                .and_then(|p| p.child("administrativeGenderCode"))
                .map_or(role.line, |g| g.line);
            let sex = r.attr(root, GENDER, "code").and_then(|s| match s.as_str() {
                "1" => Some(1),
                "2" => Some(2),
                _ => {
                    r.fail(
                        &format!("{GENDER}/@code"),
                        gender_line,
                        "must be 1 (male) or 2 (female)",
                    );
                    None
                }
            });
            let birth = r.date(root, "recordTarget/patientRole/patient/birthTime");
            let postal = role
                .child("addr")
                .and_then(|a| a.child("postalCode"))
                .map(|p| p.text.trim().to_owned())
                .filter(|p| !p.is_empty());
            (name, sex, birth, postal)
        }
        None => (None, None, None, None),
    };
    let event = r.at(root, "documentationOf/serviceEvent");
    let (program, exam_date, institution) = match event {
        Some(_) => {
            let program = r.attr(root, "documentationOf/serviceEvent/code", "code");
            let date = r.date(root, "documentationOf/serviceEvent/effectiveTime");
            let org = r.at(
                root,
                "documentationOf/serviceEvent/performer/assignedEntity/representedOrganization",
            );
            let institution = org.and_then(|o| {
                match id_with_root(o, crate::index::INSTITUTION_OID)
                    .and_then(|id| id.attribute("extension"))
                    .map(str::trim)
                {
                    Some(v) if v.len() == 10 && v.bytes().all(|b| b.is_ascii_digit()) => {
                        Some(v.to_owned())
                    }
                    _ => {
                        r.fail(
                            "documentationOf/serviceEvent/performer/assignedEntity/representedOrganization/id/@extension",
                            o.line,
                            "the examining institution's 10-digit number is required",
                        );
                        None
                    }
                }
            });
            (program, date, institution)
        }
        None => (None, None, None),
    };
    let mut found = Vec::new();
    if let Some(body) = r.at(root, "component/structuredBody") {
        for (n, component) in body.children_named("component").enumerate() {
            let Some(section) = component.child("section") else {
                continue;
            };
            let path = format!("component/structuredBody/component[{}]/section", n + 1);
            let code = section
                .child("code")
                .and_then(|c| c.attribute("code"))
                .unwrap_or_default()
                .to_owned();
            if code.is_empty() {
                r.fail(&format!("{path}/code/@code"), section.line, "is required");
            }
            let guidance = report_kind.as_deref().is_some_and(is_guidance_kind);
            observations(&mut r, guidance, &code, section, &path, &mut found);
        }
    }
    match (
        report_kind,
        created,
        insurer,
        symbol,
        number,
        branch,
        name_kana,
        sex,
        birth_date,
        institution,
        program,
        exam_date,
    ) {
        (
            Some(report_kind),
            Some(created),
            Some(insurer),
            Some(symbol),
            Some(number),
            Some(branch),
            Some(name_kana),
            Some(sex),
            Some(birth_date),
            Some(institution),
            Some(program),
            Some(exam_date),
        ) if r.errors.is_empty() => Ok(Document {
            report_kind,
            created,
            insurer,
            symbol,
            number,
            branch,
            name_kana,
            birth_date,
            sex,
            postal_code,
            institution,
            program,
            exam_date,
            observations: found,
        }),
        _ => Err(r.errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../tests/fixtures/hc08-example.xml");

    #[test]
    fn a_checkup_document_is_read_whole() {
        let doc = read(&crate::xml::parse(EXAMPLE.as_bytes()).unwrap()).unwrap();
        assert_eq!(
            (
                doc.insurer.as_str(),
                doc.symbol.as_str(),
                doc.number.as_str(),
                doc.branch.as_str()
            ),
            ("00280081", "1234", "5678", "01")
        );
        assert_eq!(
            (doc.sex, doc.birth_date.year(), doc.institution.as_str()),
            (1, 1970, "5521111111")
        );
        assert_eq!(doc.exam_date, time::macros::date!(2024 - 05 - 20));
        assert_eq!(doc.report_kind, "10");
        let codes: Vec<&str> = doc.observations.iter().map(|o| o.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "9N001000000000001",
                "9N016160100000001",
                "9N056000000000011",
                "9N056160400000049",
                "9A751000000000001",
                "9A761000000000001",
                "3F015000002327101",
                "9N701000000000011",
                "9N051000000000049",
            ]
        );
        assert_eq!(
            doc.observations[0].value,
            Value::Quantity {
                value: "170.2".into(),
                unit: "cm".into()
            }
        );
        assert_eq!(
            doc.observations[7].value,
            Value::Coded {
                code: "1".into(),
                system: "1.2.392.200119.6.2003".into()
            }
        );
        assert_eq!(doc.observations[3].value, Value::Text("高血圧症".into()));
        assert_eq!(doc.observations[6].value, Value::Null("NI".into()));
        assert_eq!(doc.observations[4].interpretation.as_deref(), Some("H"));
        assert_eq!(doc.observations[5].interpretation, None);
        assert_eq!(doc.postal_code.as_deref(), Some("100-0001"));
        // A grouped item follows its group, in the same section.
        assert!(doc.observations[2..4].iter().all(|o| o.section == "01010"));
        // Debug shows no personal data.
        let shown = format!("{doc:?}");
        assert!(
            !shown.contains("ｼｹﾝ") && !shown.contains("1970") && !shown.contains("5678"),
            "{shown}"
        );
    }

    #[test]
    fn missing_and_wrong_elements_are_named() {
        let broken = EXAMPLE
            .replace(r#"<id extension="5678" root="1.2.392.200119.6.205"/>"#, "")
            .replace(
                r#"<administrativeGenderCode code="1""#,
                r#"<administrativeGenderCode code="3""#,
            )
            .replace(
                r#"<value xsi:type="PQ" value="170.2" unit="cm"/>"#,
                r#"<value xsi:type="PQ" unit="cm"/>"#,
            )
            .replace(
                r#"<value xsi:type="ST">事務</value>"#,
                r#"<value xsi:type="XX"/>"#,
            );
        let errors = read(&crate::xml::parse(broken.as_bytes()).unwrap()).unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        for expected in [
            "recordTarget/patientRole/id[@root='1.2.392.200119.6.205']/@extension",
            "administrativeGenderCode/@code",
            "component/structuredBody/component[1]/section/entry[1]/observation/value/@value",
            "@xsi:type",
        ] {
            assert!(
                shown.iter().any(|e| e.contains(expected)),
                "{expected} in {shown:?}"
            );
        }
        assert!(shown.iter().all(|e| !e.contains("ｼｹﾝ")));
    }
}

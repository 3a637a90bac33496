//! Writing standard archives: a person's checkup as an HL7 CDA R2 document in the shape of the
//! MHLW template (`CDAtemplate-hc18.xml`, valid against `hc08_V08.xsd`), the index
//! (`ix08_V08.xml`), and the zip around them with the archive name rule, written as it goes
//! (one document in memory at a time) into any `Write + Seek`. Pure: the caller hands in the
//! writer. Used by `onshi gen checkups`, by exports and by insurer → insurer transfers; what it
//! writes, [`crate::import::read_archive`] reads back.

use std::fmt::Write as _;
use std::io::{Seek, Write};

use time::Date;

use onshi_domain::japan::interface_date as ymd;
use onshi_interface::xml::escape;

use crate::document::{Document, Value};
use crate::index::{INSURER_OID, NAMESPACE};

/// The OID of checkup institution numbers.
pub const INSTITUTION_OID: &str = "1.2.392.200119.6.102";

/// The CDA document of `doc`, whose institution is called `institution_name` (no `name`
/// element when it is empty: a transfer does not know it).
pub fn document_xml(doc: &Document, institution_name: &str) -> String {
    let mut x = String::with_capacity(4096 + doc.observations.len() * 256);
    let id = |x: &mut String, root: &str, ext: &str| {
        let _ = write!(x, r#"<id extension="{}" root="{root}"/>"#, escape(ext));
    };
    let _ = write!(
        x,
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:hl7-org:v3 ../XSD/{schema}_V08.xsd">"#,
            r#"<typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/><id nullFlavor="NI"/>"#,
            r#"<code code="{kind}" codeSystem="1.2.392.200119.6.1001"/><effectiveTime value="{created}"/>"#,
            r#"<confidentialityCode code="N"/><recordTarget><patientRole>"#
        ),
        schema = if doc.is_guidance() { "hg08" } else { "hc08" },
        kind = escape(&doc.report_kind),
        created = ymd(doc.created),
    );
    id(&mut x, INSURER_OID, &doc.insurer);
    if !doc.symbol.is_empty() {
        id(&mut x, "1.2.392.200119.6.204", &doc.symbol);
    }
    id(&mut x, "1.2.392.200119.6.205", &doc.number);
    if !doc.branch.is_empty() {
        id(&mut x, "1.2.392.200119.6.211", &doc.branch);
    }
    if let Some(post) = &doc.postal_code {
        let _ = write!(x, "<addr><postalCode>{}</postalCode></addr>", escape(post));
    }
    let _ = write!(
        x,
        concat!(
            r#"<patient><name>{name}</name><administrativeGenderCode code="{sex}" codeSystem="1.2.392.200119.6.1104"/>"#,
            r#"<birthTime value="{birth}"/></patient></patientRole></recordTarget>"#,
            r#"<author><time value="{created}"/><assignedAuthor><id nullFlavor="NI"/><representedOrganization>"#,
            r#"<id extension="{inst}" root="{oid}"/>{inst_name}</representedOrganization></assignedAuthor></author>"#,
            r#"<custodian><assignedCustodian><representedCustodianOrganization><id nullFlavor="NI"/></representedCustodianOrganization></assignedCustodian></custodian>"#,
            r#"<documentationOf><serviceEvent><code code="{program}" codeSystem="1.2.392.200119.6.1002"/><effectiveTime value="{exam}"/>"#,
            r#"<performer typeCode="PRF"><assignedEntity><id nullFlavor="NI"/><representedOrganization>"#,
            r#"<id extension="{inst}" root="{oid}"/>{inst_name}</representedOrganization></assignedEntity></performer>"#,
            r#"</serviceEvent></documentationOf><component><structuredBody>"#
        ),
        name = escape(&doc.name_kana),
        sex = doc.sex,
        birth = ymd(doc.birth_date),
        created = ymd(doc.created),
        inst = escape(&doc.institution),
        oid = INSTITUTION_OID,
        inst_name = if institution_name.is_empty() {
            String::new()
        } else {
            format!("<name>{}</name>", escape(institution_name))
        },
        program = escape(&doc.program),
        exam = ymd(doc.exam_date),
    );
    // One section per section code, in the order they first appear.
    let mut sections: Vec<&str> = Vec::new();
    for o in &doc.observations {
        if !sections.contains(&o.section.as_str()) {
            sections.push(&o.section);
        }
    }
    // A guidance document says what it is by its kind, person and date; with no items it
    // still has its common section (指導共通), as a body needs one.
    if sections.is_empty() && doc.is_guidance() {
        sections.push("90010");
    }
    for section in sections {
        let title = match section {
            "01010" => "特定健診・問診結果",
            "01990" => "任意追加項目",
            "90010" => "指導共通",
            "90020" | "90030" => "初回面接",
            "90040" => "継続支援",
            "90050" => "中間評価",
            "90060" => "最終評価",
            "90070" => "指導集計",
            "90080" => "指導機関",
            _ => "検査・問診結果",
        };
        // Guidance sections (90…) code their own items as 特定保健指導項目コード.
        let item_system = if section.starts_with('9') {
            crate::document::GUIDANCE_ITEM_CODE_OID
        } else {
            crate::document::ITEM_CODE_OID
        };
        let _ = write!(
            x,
            r#"<component><section><code code="{}" codeSystem="1.2.392.200119.6.1010" displayName="{title}"/><title>{title}</title><text><list><item>結果</item></list></text>"#,
            escape(section)
        );
        for o in doc.observations.iter().filter(|o| o.section == section) {
            let _ = write!(
                x,
                r#"<entry><observation classCode="OBS" moodCode="EVN"><code code="{}" codeSystem="{item_system}"/>"#,
                escape(&o.code)
            );
            match &o.value {
                Value::Quantity { value, unit } => {
                    let _ = write!(
                        x,
                        r#"<value xsi:type="PQ" value="{}" unit="{}"/>"#,
                        escape(value),
                        escape(unit)
                    );
                }
                Value::Coded { code, system } => {
                    let _ = write!(
                        x,
                        r#"<value xsi:type="CD" code="{}" codeSystem="{}"/>"#,
                        escape(code),
                        escape(system)
                    );
                }
                Value::Text(t) => {
                    let _ = write!(x, r#"<value xsi:type="ST">{}</value>"#, escape(t));
                }
                Value::Null(flavour) => {
                    let _ = write!(
                        x,
                        r#"<value xsi:type="PQ" nullFlavor="{}"/>"#,
                        escape(flavour)
                    );
                }
            }
            if let Some(i) = &o.interpretation {
                let _ = write!(x, r#"<interpretationCode code="{}"/>"#, escape(i));
            }
            if let Some(m) = &o.method {
                let _ = write!(x, r#"<methodCode code="{}"/>"#, escape(m));
            }
            x.push_str("</observation></entry>");
        }
        x.push_str("</section></component>");
    }
    x.push_str("</structuredBody></component></ClinicalDocument>\n");
    x
}

/// The index of an archive.
pub fn index_xml(
    interaction_type: u8,
    created: Date,
    sender: (&str, &str),
    receiver: &str,
    service: u8,
    total: u32,
) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<index xmlns="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="{ns} ./XSD/ix08_V08.xsd">"#,
            r#"<interactionType code="{it}"/><creationTime value="{created}"/>"#,
            r#"<sender><id root="{sender_oid}" extension="{sender}"/></sender>"#,
            r#"<receiver><id root="{receiver_oid}" extension="{receiver}"/></receiver>"#,
            r#"<serviceEventType code="{service}"/><totalRecordCount value="{total}"/></index>"#,
            "\n"
        ),
        ns = NAMESPACE,
        it = interaction_type,
        created = ymd(created),
        sender_oid = escape(sender.1),
        sender = escape(sender.0),
        receiver_oid = INSURER_OID,
        receiver = escape(receiver),
        service = service,
        total = total,
    )
}

/// The MHLW V08 schema set, as real archives carry it in their `XSD/` folder (path, content).
pub const SCHEMAS: [(&str, &str); 11] = [
    ("ix08_V08.xsd", include_str!("../data/xsd/ix08_V08.xsd")),
    ("su08_V08.xsd", include_str!("../data/xsd/su08_V08.xsd")),
    ("hc08_V08.xsd", include_str!("../data/xsd/hc08_V08.xsd")),
    ("hg08_V08.xsd", include_str!("../data/xsd/hg08_V08.xsd")),
    ("cc08_V08.xsd", include_str!("../data/xsd/cc08_V08.xsd")),
    ("gc08_V08.xsd", include_str!("../data/xsd/gc08_V08.xsd")),
    ("co08_V08.xsd", include_str!("../data/xsd/co08_V08.xsd")),
    (
        "coreschemas/datatypes-base_hcgv08.xsd",
        include_str!("../data/xsd/coreschemas/datatypes-base_hcgv08.xsd"),
    ),
    (
        "coreschemas/datatypes_hcgv08.xsd",
        include_str!("../data/xsd/coreschemas/datatypes_hcgv08.xsd"),
    ),
    (
        "coreschemas/narrativeBlock_hcgv08.xsd",
        include_str!("../data/xsd/coreschemas/narrativeBlock_hcgv08.xsd"),
    ),
    (
        "coreschemas/voc_hcgv08.xsd",
        include_str!("../data/xsd/coreschemas/voc_hcgv08.xsd"),
    ),
];

/// An archive being written: documents are added one at a time and the index is written when
/// it is finished, with their count.
pub struct ArchiveWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    root: String,
    sender: (String, String),
    insurer: String,
    created: Date,
    split: u8,
    interaction_type: u8,
    /// 実施区分: 1 特定健診, 2 特定保健指導.
    service: u8,
    documents: u32,
}

/// Why an archive could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The underlying writer failed.
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
    /// The zip could not be written.
    #[error("writing the archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// More documents than a file name can number.
    #[error("an archive holds at most 999,999 documents")]
    Full,
}

impl<W: Write + Seek> ArchiveWriter<W> {
    /// Starts the archive `<sender>_<insurer>_<YYYYMMDD><split>_1` (特定健診) from `sender`
    /// (its 10-digit number and OID; insurers' 8-digit numbers are padded with two zeros in
    /// the name) to `insurer`, with interaction type `interaction_type` (6 institution →
    /// insurer, 8 insurer → insurer, …); with `schemas`, the V08 schema set goes in `XSD/`.
    pub fn new(
        out: W,
        sender: (&str, &str),
        insurer: &str,
        created: Date,
        split: u8,
        interaction_type: u8,
        schemas: bool,
    ) -> Result<Self, WriteError> {
        Self::start(
            out,
            (sender, insurer),
            created,
            split,
            interaction_type,
            1,
            schemas,
        )
    }

    /// Starts a 特定保健指導 archive (`…_2`, 実施区分 2), as [`ArchiveWriter::new`] does a
    /// checkup one: its documents are `hg08` guidance documents (報告区分 21–25).
    pub fn new_guidance(
        out: W,
        sender: (&str, &str),
        insurer: &str,
        created: Date,
        split: u8,
        interaction_type: u8,
        schemas: bool,
    ) -> Result<Self, WriteError> {
        Self::start(
            out,
            (sender, insurer),
            created,
            split,
            interaction_type,
            2,
            schemas,
        )
    }

    fn start(
        out: W,
        (sender, insurer): ((&str, &str), &str),
        created: Date,
        split: u8,
        interaction_type: u8,
        service: u8,
        schemas: bool,
    ) -> Result<Self, WriteError> {
        let root = format!(
            "{}_{insurer}_{}{}_{service}",
            Self::name_sender(sender.0),
            ymd(created),
            split % 10
        );
        let mut zip = zip::ZipWriter::new(out);
        if schemas {
            for (path, text) in SCHEMAS {
                zip.start_file(format!("{root}/XSD/{path}"), options())?;
                zip.write_all(text.as_bytes())?;
            }
        }
        Ok(Self {
            zip,
            root,
            sender: (sender.0.to_owned(), sender.1.to_owned()),
            insurer: insurer.to_owned(),
            created,
            split: split % 10,
            interaction_type,
            service,
            documents: 0,
        })
    }

    fn name_sender(sender: &str) -> String {
        format!("{sender:0>10}")
    }

    /// The archive's file name (`<root>.zip`).
    pub fn file_name(&self) -> String {
        format!("{}.zip", self.root)
    }

    /// Adds one person's document.
    pub fn add(&mut self, doc: &Document, institution_name: &str) -> Result<(), WriteError> {
        if self.documents >= 999_999 {
            return Err(WriteError::Full);
        }
        self.documents += 1;
        let path = format!(
            "{}/DATA/h{}{}{}{}{:06}.xml",
            self.root,
            Self::name_sender(&self.sender.0),
            ymd(self.created),
            self.split,
            self.service,
            self.documents
        );
        self.zip.start_file(path, options())?;
        self.zip
            .write_all(document_xml(doc, institution_name).as_bytes())?;
        Ok(())
    }

    /// How many documents were added.
    pub fn documents(&self) -> u32 {
        self.documents
    }

    /// Writes the index and the zip's directory; returns the writer.
    pub fn finish(mut self) -> Result<W, WriteError> {
        self.zip
            .start_file(format!("{}/ix08_V08.xml", self.root), options())?;
        // Only the name pads an insurer's number; the index gives it as it is (8 digits).
        let index = index_xml(
            self.interaction_type,
            self.created,
            (&self.sender.0, &self.sender.1),
            &self.insurer,
            self.service,
            self.documents,
        );
        self.zip.write_all(index.as_bytes())?;
        Ok(self.zip.finish()?)
    }
}

fn options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated)
}

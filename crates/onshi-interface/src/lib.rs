//! The facility interface of the real system, as レセコン and 電子カルテ vendors speak it: XML files
//! in the `XmlMsg` / `MessageHeader` / `MessageBody` envelope, dropped into a `req` folder and
//! answered in `res` under the matching name (`…01req_…` → `…01res_…`).
//!
//! This crate parses request files and writes result files; it does no I/O. The element names and
//! codes are those of the national interface as `docs/vendors.md` lists them, message by message;
//! where sources disagree, the choice is documented on the item. Check results come in as the API's
//! own [`CheckResult`] (`onshi_api::EligibilityResult`), so this crate and the server share one
//! definition of them. [`cp932`] decodes the CP932 files Japanese office software writes (an
//! insurer's member file) as they are read, for the caller's reader.

pub mod cp932;
pub mod xml;

use onshi_domain::text::half_width_kana;

/// Why a request file could not be answered normally. Each becomes an error result file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceError {
    /// Not well-formed XML, or forbidden constructs (DOCTYPE, entities).
    #[error("malformed XML: {0}")]
    Malformed(String),
    /// The file name names no message kind onshi knows.
    #[error("unknown request file name: {0}")]
    UnknownKind(String),
    /// A required element is missing or invalid.
    #[error("{element}: {reason}")]
    Invalid {
        /// The element's name.
        element: String,
        /// What is wrong.
        reason: String,
    },
}

impl InterfaceError {
    /// onshi's error code for the result file's `ErrorCode` (the official 処理結果コード list,
    /// 別紙6-1, is not public; these codes are onshi's own and documented for vendors).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "ONS0001",
            Self::UnknownKind(_) => "ONS0002",
            Self::Invalid { .. } => "ONS0003",
        }
    }
}

/// The kinds of request file, from the file-name prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `OQSsiquc01req_`: single lookup by insurance-card number.
    SingleLookup,
    /// `OQSmuquc01req_`: bulk lookup, upload phase.
    BulkUpload,
    /// `OQSmuquc02req_`: bulk lookup, download phase.
    BulkDownload,
    /// `TKKsiquc01req_`: a patient's 特定健診情報 (checkup results), named by card in the
    /// header.
    CheckupLookup,
}

impl Kind {
    /// The kind of a request file name, if any.
    pub fn of(file_name: &str) -> Option<Self> {
        if file_name.starts_with("OQSsiquc01req_") {
            Some(Self::SingleLookup)
        } else if file_name.starts_with("OQSmuquc01req_") {
            Some(Self::BulkUpload)
        } else if file_name.starts_with("OQSmuquc02req_") {
            Some(Self::BulkDownload)
        } else if file_name.starts_with("TKKsiquc01req_") {
            Some(Self::CheckupLookup)
        } else {
            None
        }
    }
}

/// The result file name for a request file name: `01req_` → `01res_`, `02req_` → `02res_`; any
/// other name gets `.res` appended to its stem, so every request is answered somewhere.
pub fn response_name(request: &str) -> String {
    for (req, res) in [("01req_", "01res_"), ("02req_", "02res_")] {
        if let Some(i) = request.find(req) {
            return format!("{}{res}{}", &request[..i], &request[i + req.len()..]);
        }
    }
    match request.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.res.{ext}"),
        None => format!("{request}.res"),
    }
}

/// The character encoding of a message: the header's `CharacterCodeIdentifier` (0 UTF-8,
/// 1 Shift_JIS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `0`
    Utf8,
    /// `1`
    ShiftJis,
}

impl Charset {
    fn of(bytes: &[u8]) -> Self {
        if xml::declared_encoding(bytes) == encoding_rs::SHIFT_JIS {
            Self::ShiftJis
        } else {
            Self::Utf8
        }
    }
    fn code(self) -> &'static str {
        match self {
            Self::Utf8 => "0",
            Self::ShiftJis => "1",
        }
    }
    fn declaration(self) -> &'static str {
        match self {
            Self::Utf8 => "UTF-8",
            Self::ShiftJis => "Shift_JIS",
        }
    }
    /// Encodes a finished document.
    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Self::Utf8 => text.as_bytes().to_vec(),
            Self::ShiftJis => encoding_rs::SHIFT_JIS.encode(text).0.into_owned(),
        }
    }
}

/// `QualificationConfirmSearchInfo`: one patient to look up by card.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchInfo {
    /// `InsurerNumber` (space- or zero-padded to 8 by some vendors; onshi accepts both).
    pub insurer_number: String,
    /// `InsuredCardSymbol`
    pub symbol: String,
    /// `InsuredIdentificationNumber`
    pub number: String,
    /// `InsuredBranchNumber`
    pub branch: String,
    /// `Birthdate`, YYYYMMDD
    pub birth_date: Option<String>,
    /// `LimitApplicationCertificateRelatedConsFlg`
    pub limit_consent: Option<String>,
    /// `ArbitraryIdentifier`, echoed back
    pub arbitrary_identifier: Option<String>,
}

impl SearchInfo {
    fn from(el: &xml::Element) -> Result<Self, InterfaceError> {
        let need = |name: &str| {
            el.text_of(name)
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
                .ok_or_else(|| InterfaceError::Invalid {
                    element: name.into(),
                    reason: "is required".into(),
                })
        };
        let opt = |name: &str| {
            el.text_of(name)
                .filter(|t| !t.trim().is_empty())
                .map(str::to_owned)
        };
        let limit_consent = opt("LimitApplicationCertificateRelatedConsFlg");
        if let Some(f) = &limit_consent
            && f.trim() != "0"
            && f.trim() != "1"
        {
            return Err(InterfaceError::Invalid {
                element: "LimitApplicationCertificateRelatedConsFlg".into(),
                reason: "must be 0 (未同意) or 1 (同意)".into(),
            });
        }
        Ok(Self {
            insurer_number: need("InsurerNumber")?,
            symbol: opt("InsuredCardSymbol").unwrap_or_default(),
            number: need("InsuredIdentificationNumber")?,
            branch: opt("InsuredBranchNumber").unwrap_or_default(),
            birth_date: opt("Birthdate"),
            limit_consent,
            arbitrary_identifier: opt("ArbitraryIdentifier"),
        })
    }

    /// Whether the patient consented to 限度額 information (`…ConsFlg` = 1).
    pub fn limit_consented(&self) -> bool {
        self.limit_consent.as_deref().map(str::trim) == Some("1")
    }

    fn render(&self, out: &mut String) {
        out.push_str("  <QualificationConfirmSearchInfo>\n");
        tag(out, 3, "InsurerNumber", &self.insurer_number);
        tag(out, 3, "InsuredCardSymbol", &self.symbol);
        tag(out, 3, "InsuredIdentificationNumber", &self.number);
        tag(out, 3, "InsuredBranchNumber", &self.branch);
        if let Some(b) = &self.birth_date {
            tag(out, 3, "Birthdate", b);
        }
        if let Some(f) = &self.limit_consent {
            tag(out, 3, "LimitApplicationCertificateRelatedConsFlg", f);
        }
        if let Some(a) = &self.arbitrary_identifier {
            tag(out, 3, "ArbitraryIdentifier", a);
        }
        out.push_str("  </QualificationConfirmSearchInfo>\n");
    }
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Which message.
    pub kind: Kind,
    /// The encoding it came in (results are written in the same).
    pub charset: Charset,
    /// `MedicalInstitutionCode`
    pub institution: String,
    /// `QualificationConfirmationDate`, YYYYMMDD (today when absent)
    pub confirmation_date: Option<String>,
    /// `ArbitraryFileIdentifier`, echoed back
    pub file_identifier: Option<String>,
    /// The patients (one for a single lookup, many for a bulk upload).
    pub searches: Vec<SearchInfo>,
    /// `ReceptionNumber` of a bulk download.
    pub reception_number: Option<String>,
    /// `FileCategory` of a checkup request: 1 PDF, 2 XML.
    pub file_category: Option<String>,
}

/// Parses a request file given its name and bytes.
pub fn parse_request(file_name: &str, bytes: &[u8]) -> Result<Request, InterfaceError> {
    let kind =
        Kind::of(file_name).ok_or_else(|| InterfaceError::UnknownKind(file_name.to_owned()))?;
    let charset = Charset::of(bytes);
    let root = xml::parse(bytes)?;
    if root.name != "XmlMsg" {
        return Err(InterfaceError::Invalid {
            element: root.name,
            reason: "the root element must be XmlMsg".into(),
        });
    }
    let missing = |name: &str| InterfaceError::Invalid {
        element: name.into(),
        reason: "is required".into(),
    };
    let header = root
        .child("MessageHeader")
        .ok_or_else(|| missing("MessageHeader"))?;
    let body = root
        .child("MessageBody")
        .ok_or_else(|| missing("MessageBody"))?;
    let institution = header
        .text_of("MedicalInstitutionCode")
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| missing("MedicalInstitutionCode"))?
        .trim()
        .to_owned();
    let searches = match kind {
        Kind::BulkDownload => Vec::new(),
        // The drug and checkup requests name the card in the header, under their own names.
        Kind::CheckupLookup => {
            let need = |name: &str| {
                header
                    .text_of(name)
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| missing(name))
            };
            let opt = |name: &str| header.text_of(name).map(|t| t.trim().to_owned());
            vec![SearchInfo {
                insurer_number: need("InsurerNumber")?,
                symbol: opt("InsuranceCardSymbol").unwrap_or_default(),
                number: need("InsuredPersonIdentificationNumber")?,
                branch: opt("BranchNumber").unwrap_or_default(),
                ..SearchInfo::default()
            }]
        }
        _ => body
            .all("QualificationConfirmSearchInfo")
            .map(SearchInfo::from)
            .collect::<Result<Vec<_>, _>>()?,
    };
    if kind != Kind::BulkDownload && searches.is_empty() {
        return Err(missing("QualificationConfirmSearchInfo"));
    }
    let reception_number = body.text_of("ReceptionNumber").map(str::to_owned);
    if kind == Kind::BulkDownload && reception_number.is_none() {
        return Err(missing("ReceptionNumber"));
    }
    // It becomes part of a URL path: only what a reception number can be (letters and digits),
    // so that no request can name another route ("../../healthz?").
    if let Some(n) = &reception_number
        && (n.is_empty() || n.len() > 40 || !n.bytes().all(|b| b.is_ascii_alphanumeric()))
    {
        return Err(InterfaceError::Invalid {
            element: "ReceptionNumber".into(),
            reason: "must be 1 to 40 letters and digits, as the upload's answer gave it".into(),
        });
    }
    let file_category = body.text_of("FileCategory").map(|t| t.trim().to_owned());
    if kind == Kind::CheckupLookup {
        match file_category.as_deref() {
            Some("1" | "2") => {}
            None | Some("") => return Err(missing("FileCategory")),
            Some(_) => {
                return Err(InterfaceError::Invalid {
                    element: "FileCategory".into(),
                    reason: "must be 1 (PDF) or 2 (XML)".into(),
                });
            }
        }
    }
    Ok(Request {
        kind,
        charset,
        institution,
        confirmation_date: header
            .text_of("QualificationConfirmationDate")
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        file_identifier: header.text_of("ArbitraryFileIdentifier").map(str::to_owned),
        searches,
        reception_number,
        file_category,
    })
}

/// A check result as the onshi API returns it (the wire contract's type).
pub use onshi_api::{EligibilityResult as CheckResult, LimitCertificateInfo, Qualification};

/// Writes every qualification of `result` as `ResultOfQualificationConfirmation`. A card
/// reader's result (`reader`) also carries, in each, the consents given at the reader.
fn render_qualifications(out: &mut String, result: &CheckResult, reader: bool) {
    let consents = reader.then_some(result.consents.as_slice());
    for q in result.shown() {
        render_qualification(out, q, result.limit_consent_at.as_deref(), consents);
    }
}

/// Whether `insurer_number` is a 後期高齢者医療広域連合's (eight digits, 法別 39).
fn is_late_elderly(insurer_number: &str) -> bool {
    insurer_number.len() == 8 && insurer_number.starts_with("39")
}

/// The consents of a card reader's result, as the terminal writes them inside each
/// `ResultOfQualificationConfirmation`: for 薬剤情報 (`PharmacistsInfo…`), 特定健診情報
/// (`SpecificHealthCheckupsInfo…`) and 診療情報 (`DiagnosisInfo…`) a `ConsFlg` of 1 with
/// `ConsTime` and `AvailableTime` when given, else 0; and the 限度額 flag 0 when not given (its
/// 1 is written by `render_qualification`).
fn render_reader_consents(out: &mut String, consents: &[onshi_api::Consent], limit: bool) {
    for (kind, prefix) in [
        ("medication", "PharmacistsInfo"),
        ("checkup", "SpecificHealthCheckupsInfo"),
        ("clinical", "DiagnosisInfo"),
    ] {
        match consents.iter().find(|c| c.kind == kind) {
            Some(c) => {
                tag(out, 4, &format!("{prefix}ConsFlg"), "1");
                tag(out, 4, &format!("{prefix}ConsTime"), &c.given_at);
                tag(out, 4, &format!("{prefix}AvailableTime"), &c.expires_at);
            }
            None => tag(out, 4, &format!("{prefix}ConsFlg"), "0"),
        }
    }
    if !limit {
        tag(out, 4, "LimitApplicationCertificateRelatedConsFlg", "0");
    }
    // onshi holds no 特定疾病療養受療証 and its reader does not ask for that consent: 0 (同意なし).
    tag(out, 4, "SpecificDiseasesCertificateRelatedConsFlg", "0");
}

fn tag(out: &mut String, indent: usize, name: &str, value: &str) {
    for _ in 0..indent {
        out.push(' ');
    }
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&xml::escape(value));
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn header(out: &mut String, req: &HeaderEcho<'_>, segment: &str, error: Option<(&str, &str)>) {
    header_with(out, req, "2", segment, error, &[], "");
}

fn header_with(
    out: &mut String,
    req: &HeaderEcho<'_>,
    classification: &str,
    segment: &str,
    error: Option<(&str, &str)>,
    bulk: &[(&str, String)],
    nested: &str,
) {
    out.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"{}\" standalone=\"no\"?>\n",
        req.charset.declaration()
    ));
    out.push_str("<XmlMsg>\n <MessageHeader>\n");
    tag(out, 2, "ProcessExecutionTime", req.executed_at);
    if let Some(d) = req.confirmation_date {
        tag(out, 2, "QualificationConfirmationDate", d);
    }
    tag(out, 2, "MedicalInstitutionCode", req.institution);
    if let Some(id) = req.file_identifier {
        tag(out, 2, "ArbitraryFileIdentifier", id);
    }
    // Two-phase bulk results carry their reception number and counts in the header, where
    // clients read them (`ReceptionNumber`, `NumberOfProcessingResult`, …).
    for (name, value) in bulk {
        tag(out, 2, name, value);
    }
    tag(out, 2, "ReferenceClassification", classification);
    tag(out, 2, "SegmentOfResult", segment);
    if let Some((code, message)) = error {
        tag(out, 2, "ErrorCode", code);
        tag(out, 2, "ErrorMessage", message);
        // Clients show these two; the official layout of error results is not public, so onshi
        // writes them beside ErrorCode/ErrorMessage with the same values.
        tag(out, 2, "ResultCode", code);
        tag(out, 2, "MessageContents", message);
    }
    out.push_str(nested);
    tag(out, 2, "CharacterCodeIdentifier", req.charset.code());
    out.push_str(" </MessageHeader>\n");
}

/// What a result header echoes of its request.
#[derive(Debug, Clone, Copy)]
pub struct HeaderEcho<'a> {
    /// The encoding to write in.
    pub charset: Charset,
    /// `ProcessExecutionTime`, YYYYMMDDHHmmss
    pub executed_at: &'a str,
    /// `QualificationConfirmationDate`
    pub confirmation_date: Option<&'a str>,
    /// `MedicalInstitutionCode`
    pub institution: &'a str,
    /// `ArbitraryFileIdentifier`
    pub file_identifier: Option<&'a str>,
}

/// One `ResultOfQualificationConfirmation`. With `limit_consent` (the consent time) it carries
/// `LimitApplicationCertificateRelatedConsFlg` 1, `…ConsTime` and, when the member holds a
/// certificate in force, `LimitApplicationCertificateRelatedInfo`. A card reader's result passes
/// the consents given at the reader (`reader`), written inside it too.
fn render_qualification(
    out: &mut String,
    q: &Qualification,
    limit_consent: Option<&str>,
    reader: Option<&[onshi_api::Consent]>,
) {
    out.push_str("   <ResultOfQualificationConfirmation>\n");
    tag(out, 4, "InsuredCardClassification", &q.card_class);
    // The terminal writes every insurer number in eight columns: a six-digit 国保 number is
    // right-aligned with spaces ("  123456").
    tag(out, 4, "InsurerNumber", &format!("{:>8}", q.insurer_number));
    tag(out, 4, "InsuredCardSymbol", &q.symbol);
    tag(out, 4, "InsuredIdentificationNumber", &q.number);
    tag(out, 4, "InsuredBranchNumber", &q.branch);
    tag(
        out,
        4,
        "PersonalFamilyClassification",
        &q.relationship_code.to_string(),
    );
    // As the terminal writes names: a full-width space between family and given name, and the
    // kana in half-width (ｼﾝﾘｮｳ ﾀﾛｳ).
    let full_width = |name: &str| name.replace(' ', "\u{3000}");
    if let Some(n) = &q.insured_name {
        tag(out, 4, "InsuredName", &full_width(n));
    }
    tag(out, 4, "Name", &full_width(&q.name));
    tag(out, 4, "NameKana", &half_width_kana(&q.name_kana));
    tag(out, 4, "Sex1", &q.sex_code.to_string());
    tag(out, 4, "Birthdate", &q.birth_date);
    if let Some(a) = &q.address {
        tag(out, 4, "Address", a);
    }
    if let Some(p) = &q.post_number {
        tag(out, 4, "PostNumber", p);
    }
    if let Some(d) = &q.card_issued {
        tag(out, 4, "InsuredCertificateIssuanceDate", d);
    }
    tag(out, 4, "InsuredCardValidDate", &q.card_valid_from);
    if let Some(d) = &q.card_valid_until {
        tag(out, 4, "InsuredCardExpirationDate", d);
    }
    tag(out, 4, "QualificationDate", &q.qualified_from);
    if let Some(u) = &q.qualified_until {
        tag(out, 4, "DisqualificationDate", u);
    }
    if let Some(r) = &q.loss_reason_code {
        tag(out, 4, "ReasonOfLoss", r);
    }
    tag(out, 4, "InsurerName", &q.insurer_name);
    // The terminal gives the copay ratio only for 後期高齢者医療 (法別 39); for other insurance
    // the receipt computer works it out from age and income itself (with the 高齢受給者証 and
    // 未就学 below).
    if is_late_elderly(&q.insurer_number) {
        tag(out, 4, "InsuredPartialContributionRatio", &q.copay_ratio);
    }
    if q.preschool {
        tag(out, 4, "PreschoolClassification", "1");
    }
    if let Some(e) = &q.elderly_certificate {
        out.push_str("    <ElderlyRecipientCertificateInfo>\n");
        tag(out, 5, "ElderlyRecipientCertificateDate", &e.issued);
        tag(out, 5, "ElderlyRecipientValidStartDate", &e.valid_from);
        if let Some(d) = &e.valid_until {
            tag(out, 5, "ElderlyRecipientValidEndDate", d);
        }
        tag(out, 5, "ElderlyRecipientContributionRatio", &e.copay_ratio);
        out.push_str("    </ElderlyRecipientCertificateInfo>\n");
    }
    if let Some(at) = limit_consent {
        tag(out, 4, "LimitApplicationCertificateRelatedConsFlg", "1");
        tag(out, 4, "LimitApplicationCertificateRelatedConsTime", at);
        if let Some(c) = &q.limit_certificate {
            out.push_str("    <LimitApplicationCertificateRelatedInfo>\n");
            tag(
                out,
                5,
                "LimitApplicationCertificateClassification",
                &c.class_code,
            );
            tag(
                out,
                5,
                "LimitApplicationCertificateClassificationFlag",
                &c.bracket_code,
            );
            tag(out, 5, "LimitApplicationCertificateDate", &c.issued);
            tag(
                out,
                5,
                "LimitApplicationCertificateValidStartDate",
                &c.valid_from,
            );
            if let Some(d) = &c.valid_until {
                tag(out, 5, "LimitApplicationCertificateValidEndDate", d);
            }
            if let Some(d) = &c.long_term_from {
                tag(out, 5, "LimitApplicationCertificateLongTermDate", d);
            }
            out.push_str("    </LimitApplicationCertificateRelatedInfo>\n");
        }
    }
    if let Some(consents) = reader {
        render_reader_consents(out, consents, limit_consent.is_some());
    }
    // No `QualificationValidity` here: the terminal writes it once, in the body. With 3 (無効・
    // 新しい資格あり) the card's qualification comes first, with its `DisqualificationDate`, and the
    // newer one after it.
    out.push_str("   </ResultOfQualificationConfirmation>\n");
}

/// Writes the result file of a single lookup. `note`, when given, goes into
/// `ProcessingResultMessage` (e.g. that the answer was delayed while the server was unreachable).
pub fn single_result(
    echo: &HeaderEcho<'_>,
    search: &SearchInfo,
    result: &CheckResult,
    note: Option<&str>,
) -> Vec<u8> {
    let mut out = String::with_capacity(2048);
    header(&mut out, echo, "1", None);
    out.push_str(" <MessageBody>\n");
    tag(&mut out, 2, "ProcessingResultStatus", "1");
    if let Some(n) = note {
        tag(&mut out, 2, "ProcessingResultMessage", n);
    }
    tag(
        &mut out,
        2,
        "QualificationValidity",
        &result.validity_code.to_string(),
    );
    search.render(&mut out);
    out.push_str("  <ResultList>\n");
    render_qualifications(&mut out, result, false);
    out.push_str("  </ResultList>\n </MessageBody>\n</XmlMsg>\n");
    echo.charset.encode(&out)
}

/// Writes the receipt of a bulk upload (`OQSmuquc01res`): `ReceptionNumber` and
/// `ReceptionDateTime`.
pub fn bulk_receipt(echo: &HeaderEcho<'_>, reception_number: &str, received_at: &str) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    header(&mut out, echo, "1", None);
    out.push_str(" <MessageBody>\n");
    tag(&mut out, 2, "ReceptionNumber", reception_number);
    tag(&mut out, 2, "ReceptionDateTime", received_at);
    out.push_str(" </MessageBody>\n</XmlMsg>\n");
    echo.charset.encode(&out)
}

/// One row of a bulk result: the search echoed, and its result or its error (code, message).
#[derive(Debug, Clone)]
pub struct BulkUnit {
    /// The row as submitted.
    pub search: SearchInfo,
    /// The answer.
    pub outcome: Result<CheckResult, (String, String)>,
}

/// Writes a bulk download result (`OQSmuquc02res`). With `units` = None the job is still being
/// processed: `SegmentOfResult` 2 (処理中), and the vendor asks again later.
pub fn bulk_result(
    echo: &HeaderEcho<'_>,
    reception_number: &str,
    units: Option<&[BulkUnit]>,
) -> Vec<u8> {
    let mut out = String::with_capacity(4096);
    let number = ("ReceptionNumber", reception_number.to_owned());
    let Some(units) = units else {
        header_with(&mut out, echo, "2", "2", None, &[number], "");
        out.push_str(" <MessageBody>\n </MessageBody>\n</XmlMsg>\n");
        return echo.charset.encode(&out);
    };
    let errors = units.iter().filter(|u| u.outcome.is_err()).count();
    let counts = [
        number,
        ("NumberOfProcessingResult", units.len().to_string()),
        (
            "NumberOfNormalProcessing",
            (units.len() - errors).to_string(),
        ),
        ("NumberOfError", errors.to_string()),
    ];
    header_with(&mut out, echo, "2", "1", None, &counts, "");
    out.push_str(" <MessageBody>\n");
    for unit in units {
        out.push_str(" <BulkConfirmUnit>\n");
        unit.search.render(&mut out);
        match &unit.outcome {
            Ok(result) => {
                tag(&mut out, 2, "ProcessingResultStatus", "1");
                tag(
                    &mut out,
                    2,
                    "QualificationValidity",
                    &result.validity_code.to_string(),
                );
                render_qualifications(&mut out, result, false);
            }
            Err((code, message)) => {
                tag(&mut out, 2, "ProcessingResultStatus", "2");
                tag(&mut out, 2, "ProcessingResultCode", code);
                tag(&mut out, 2, "ProcessingResultMessage", message);
            }
        }
        out.push_str(" </BulkConfirmUnit>\n");
    }
    out.push_str(" </MessageBody>\n</XmlMsg>\n");
    echo.charset.encode(&out)
}

/// The file name of a card-reader result pushed into `face/`:
/// `OQSsiquc01res_face_<id>_<yyyyMMddHHmmss>.xml`.
pub fn face_file_name(id: &str, executed_at: &str) -> String {
    format!("OQSsiquc01res_face_{id}_{executed_at}.xml")
}

/// Writes a card-reader (face-authentication) result: `ReferenceClassification` 1 (マイナンバー
/// カード), the qualifications, and inside each the consents given at the reader as `…ConsFlg`/`…ConsTime`/
/// `…AvailableTime` (medication → `PharmacistsInfo`, checkup → `SpecificHealthCheckupsInfo`,
/// clinical → `DiagnosisInfo`).
pub fn face_result(echo: &HeaderEcho<'_>, result: &CheckResult) -> Vec<u8> {
    let mut out = String::with_capacity(2048);
    header_with(&mut out, echo, "1", "1", None, &[], "");
    out.push_str(" <MessageBody>\n");
    tag(&mut out, 2, "ProcessingResultStatus", "1");
    tag(
        &mut out,
        2,
        "QualificationValidity",
        &result.validity_code.to_string(),
    );
    out.push_str("  <ResultList>\n");
    render_qualifications(&mut out, result, true);
    out.push_str("  </ResultList>\n");
    out.push_str(" </MessageBody>\n</XmlMsg>\n");
    echo.charset.encode(&out)
}

/// Writes the result file of a 特定健診情報 request (`TKKsiquc01res_`), in the shape receipt
/// computers read it (OQSDrug2's `ProcessTKKAsync`): `ResultCode` 1 and the patient in
/// `MessageHeader/QualificationsInfo` (`Name`, `KanasName`, `Birthday`,
/// `AdministrativeGenderCode`), then per checkup a `SpecificHealthCheckupInfo` with its
/// `EffectiveTime` (実施日, YYYYMMDD) and each item as a `HealthCheckupResultAndQuestionInfo`
/// (`ItemCode`, `ItemName`, `DataType`, `DataValue`, `Unit`, `Oid`). The layout beyond the
/// elements that program reads is not public: onshi adds `InsurerNumber` and
/// `CheckupInstitutionNumber` to each checkup, and writes `DataType` as the CDA value type
/// (PQ, CD, ST, or NULL for an item not done, whose `DataValue` is the null flavour).
pub fn checkup_result(echo: &HeaderEcho<'_>, results: &onshi_api::CheckupResults) -> Vec<u8> {
    let mut nested = String::with_capacity(256);
    tag(&mut nested, 2, "ResultCode", "1");
    if let Some(p) = &results.patient {
        nested.push_str("  <QualificationsInfo>\n");
        tag(&mut nested, 3, "Name", &p.name.replace(' ', "\u{3000}"));
        tag(&mut nested, 3, "KanasName", &half_width_kana(&p.name_kana));
        tag(&mut nested, 3, "Birthday", &p.birth_date.replace('-', ""));
        tag(
            &mut nested,
            3,
            "AdministrativeGenderCode",
            &p.sex.to_string(),
        );
        nested.push_str("  </QualificationsInfo>\n");
    }
    let mut out = String::with_capacity(2048 + results.checkups.len() * 8192);
    header_with(&mut out, echo, "2", "1", None, &[], &nested);
    out.push_str(" <MessageBody>\n");
    tag(&mut out, 2, "ProcessingResultStatus", "1");
    out.push_str("  <SpecificHealthCheckupInfos>\n");
    for c in &results.checkups {
        out.push_str("   <SpecificHealthCheckupInfo>\n");
        tag(&mut out, 4, "EffectiveTime", &c.exam_date.replace('-', ""));
        tag(&mut out, 4, "InsurerNumber", &c.insurer_number);
        tag(&mut out, 4, "CheckupInstitutionNumber", &c.institution);
        out.push_str("    <HealthCheckupResultAndQuestionInfos>\n");
        for i in &c.items {
            out.push_str("     <HealthCheckupResultAndQuestionInfo>\n");
            tag(&mut out, 6, "ItemCode", &i.code);
            tag(&mut out, 6, "ItemName", &i.name);
            tag(&mut out, 6, "DataType", &i.value_kind);
            tag(
                &mut out,
                6,
                "DataValue",
                i.value.as_deref().unwrap_or_default(),
            );
            if let Some(u) = &i.unit {
                tag(&mut out, 6, "Unit", u);
            }
            if let Some(o) = &i.code_system {
                tag(&mut out, 6, "Oid", o);
            }
            out.push_str("     </HealthCheckupResultAndQuestionInfo>\n");
        }
        out.push_str("    </HealthCheckupResultAndQuestionInfos>\n");
        out.push_str("   </SpecificHealthCheckupInfo>\n");
    }
    out.push_str("  </SpecificHealthCheckupInfos>\n");
    out.push_str(" </MessageBody>\n</XmlMsg>\n");
    echo.charset.encode(&out)
}

/// Writes an error result file: `SegmentOfResult` 9 with `ErrorCode`/`ErrorMessage`, and
/// `ProcessingResultStatus` 2 in the body.
pub fn error_result(echo: &HeaderEcho<'_>, code: &str, message: &str) -> Vec<u8> {
    let mut out = String::with_capacity(1024);
    header(&mut out, echo, "9", Some((code, message)));
    out.push_str(" <MessageBody>\n");
    tag(&mut out, 2, "ProcessingResultStatus", "2");
    tag(&mut out, 2, "ProcessingResultCode", code);
    tag(&mut out, 2, "ProcessingResultMessage", message);
    out.push_str(" </MessageBody>\n</XmlMsg>\n");
    echo.charset.encode(&out)
}

/// The charset a result to an unparseable request is written in: the declared one if any.
pub fn charset_of(bytes: &[u8]) -> Charset {
    Charset::of(bytes)
}

/// What an error result echoes of a request that is not a valid request (an unknown kind, a
/// missing element) but is well-formed XML: its header's `MedicalInstitutionCode`,
/// `ArbitraryFileIdentifier` and `QualificationConfirmationDate`, each when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawHeader {
    /// `MedicalInstitutionCode` ("" when absent)
    pub institution: String,
    /// `ArbitraryFileIdentifier`
    pub file_identifier: Option<String>,
    /// `QualificationConfirmationDate`
    pub confirmation_date: Option<String>,
}

/// Reads [`RawHeader`] from `bytes`; the default when they are not well-formed XML.
pub fn raw_header(bytes: &[u8]) -> RawHeader {
    let Some(root) = xml::parse(bytes).ok() else {
        return RawHeader::default();
    };
    let Some(header) = root.child("MessageHeader") else {
        return RawHeader::default();
    };
    let text = |name: &str| {
        header
            .text_of(name)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    RawHeader {
        institution: text("MedicalInstitutionCode").unwrap_or_default(),
        file_identifier: header.text_of("ArbitraryFileIdentifier").map(str::to_owned),
        confirmation_date: text("QualificationConfirmationDate"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SINGLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<XmlMsg>
 <MessageHeader>
  <QualificationConfirmationDate>20261124</QualificationConfirmationDate>
  <MedicalInstitutionCode>1311234567</MedicalInstitutionCode>
  <ArbitraryFileIdentifier>abc&amp;1</ArbitraryFileIdentifier>
 </MessageHeader>
 <MessageBody>
  <QualificationConfirmSearchInfo>
   <InsurerNumber>  123456</InsurerNumber>
   <InsuredCardSymbol>１０</InsuredCardSymbol>
   <InsuredIdentificationNumber>1</InsuredIdentificationNumber>
   <InsuredBranchNumber>00</InsuredBranchNumber>
   <Birthdate>19900506</Birthdate>
   <LimitApplicationCertificateRelatedConsFlg>1</LimitApplicationCertificateRelatedConsFlg>
  </QualificationConfirmSearchInfo>
 </MessageBody>
</XmlMsg>"#;

    #[test]
    fn parses_a_single_lookup_and_keeps_significant_spaces() {
        let r = parse_request("OQSsiquc01req_202611240001.xml", SINGLE.as_bytes()).unwrap();
        assert_eq!(r.kind, Kind::SingleLookup);
        assert_eq!(r.charset, Charset::Utf8);
        assert_eq!(r.institution, "1311234567");
        assert_eq!(r.file_identifier.as_deref(), Some("abc&1"));
        assert_eq!(r.searches[0].insurer_number, "  123456");
        assert_eq!(r.searches[0].symbol, "１０");
        assert_eq!(r.searches[0].birth_date.as_deref(), Some("19900506"));
    }

    #[test]
    fn shift_jis_in_shift_jis_out() {
        let sjis_text = SINGLE
            .replace("UTF-8", "Shift_JIS")
            .replace("<InsuredCardSymbol>１０", "<InsuredCardSymbol>記号");
        let bytes = encoding_rs::SHIFT_JIS.encode(&sjis_text).0.into_owned();
        let r = parse_request("OQSsiquc01req_1.xml", &bytes).unwrap();
        assert_eq!(
            (r.charset, r.searches[0].symbol.as_str()),
            (Charset::ShiftJis, "記号")
        );
        let echo = HeaderEcho {
            charset: r.charset,
            executed_at: "20261124100000",
            confirmation_date: None,
            institution: &r.institution,
            file_identifier: None,
        };
        let result = result_of(4, "20261124", vec![]);
        let out = single_result(&echo, &r.searches[0], &result, None);
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&out);
        assert!(!bad);
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"Shift_JIS\""));
        assert!(text.contains("<CharacterCodeIdentifier>1</CharacterCodeIdentifier>"));
        assert!(text.contains("<InsuredCardSymbol>記号</InsuredCardSymbol>"));
        assert!(text.contains("<QualificationValidity>4</QualificationValidity>"));
        // The result parses back with the same reader.
        assert_eq!(xml::parse(&out).unwrap().name, "XmlMsg");
    }

    /// What most result tests echo: UTF-8, 00:30 on 2026-11-28 (Japan time), clinic 1311234567.
    fn echo() -> HeaderEcho<'static> {
        HeaderEcho {
            charset: Charset::Utf8,
            executed_at: "20261128003000",
            confirmation_date: None,
            institution: "1311234567",
            file_identifier: None,
        }
    }

    /// A number check's result: `validity` on `date`, showing `qualifications`.
    fn result_of(validity: u8, date: &str, qualifications: Vec<Qualification>) -> CheckResult {
        CheckResult {
            validity_code: validity,
            validity_label: String::new(),
            consultation_date: date.into(),
            qualifications,
            new_qualification: None,
            certificate_kind: None,
            consents: Vec::new(),
            limit_consent_at: None,
            check_reference: None,
        }
    }

    /// A qualification of 試験 花子 (valid), with `limit_certificate`.
    fn hanako(limit_certificate: Option<LimitCertificateInfo>) -> Qualification {
        Qualification {
            validity_code: 1,
            insurer_number: "01130012".into(),
            symbol: "10".into(),
            number: "1".into(),
            branch: "00".into(),
            relationship_code: 1,
            name: "試験 花子".into(),
            name_kana: "シケン ハナコ".into(),
            sex_code: 2,
            birth_date: "19900506".into(),
            qualified_from: "20200401".into(),
            qualified_until: None,
            copay_ratio: "030".into(),
            limit_certificate,
            insurer_name: "全国健康保険協会 東京支部".into(),
            card_class: "01".into(),
            card_issued: None,
            card_valid_from: "20200401".into(),
            card_valid_until: None,
            insured_name: None,
            address: None,
            post_number: None,
            preschool: false,
            loss_reason_code: None,
            elderly_certificate: None,
        }
    }

    #[test]
    fn limit_information_is_written_only_with_consent() {
        let r = parse_request("OQSsiquc01req_1.xml", SINGLE.as_bytes()).unwrap();
        assert!(r.searches[0].limit_consented());
        let q = hanako(Some(LimitCertificateInfo {
            class_code: "02".into(),
            bracket_code: "B05".into(),
            bracket_label: "一般Ⅱ".into(),
            issued: "20260715".into(),
            valid_from: "20260801".into(),
            valid_until: None,
            long_term_from: Some("20261101".into()),
        }));
        let echo = HeaderEcho {
            executed_at: "20261124100000",
            ..echo()
        };
        let mut result = CheckResult {
            limit_consent_at: Some("20261124095959".into()),
            ..result_of(1, "20261124", vec![q])
        };
        let text = String::from_utf8(single_result(&echo, &r.searches[0], &result, None)).unwrap();
        let doc = xml::parse(text.as_bytes()).unwrap();
        let unit = doc
            .child("MessageBody")
            .and_then(|b| b.child("ResultList"))
            .and_then(|l| l.child("ResultOfQualificationConfirmation"))
            .unwrap();
        assert_eq!(
            unit.text_of("LimitApplicationCertificateRelatedConsFlg"),
            Some("1")
        );
        assert_eq!(
            unit.text_of("LimitApplicationCertificateRelatedConsTime"),
            Some("20261124095959")
        );
        let info = unit
            .child("LimitApplicationCertificateRelatedInfo")
            .unwrap();
        for (name, value) in [
            ("LimitApplicationCertificateClassification", Some("02")),
            ("LimitApplicationCertificateClassificationFlag", Some("B05")),
            ("LimitApplicationCertificateDate", Some("20260715")),
            (
                "LimitApplicationCertificateValidStartDate",
                Some("20260801"),
            ),
            ("LimitApplicationCertificateValidEndDate", None),
            ("LimitApplicationCertificateLongTermDate", Some("20261101")),
        ] {
            assert_eq!(info.text_of(name), value, "{name}");
        }
        // Without consent nothing of it is written, even if a certificate were passed.
        result.limit_consent_at = None;
        let text = String::from_utf8(single_result(&echo, &r.searches[0], &result, None)).unwrap();
        assert!(!text.contains("LimitApplicationCertificateRelatedInfo"));
        assert!(!text.contains("LimitApplicationCertificateRelatedConsTime"));

        let bad = SINGLE.replace(
            "<LimitApplicationCertificateRelatedConsFlg>1<",
            "<LimitApplicationCertificateRelatedConsFlg>2<",
        );
        assert!(matches!(
            parse_request("OQSsiquc01req_1.xml", bad.as_bytes()),
            Err(InterfaceError::Invalid { element, .. }) if element == "LimitApplicationCertificateRelatedConsFlg"
        ));
    }

    #[test]
    fn hostile_and_broken_files_are_refused_with_reasons() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><XmlMsg>&e;</XmlMsg>"#;
        assert!(
            matches!(parse_request("OQSsiquc01req_1.xml", xxe.as_bytes()), Err(InterfaceError::Malformed(m)) if m.contains("DOCTYPE"))
        );
        let unclosed = "<XmlMsg><MessageHeader>";
        assert!(matches!(
            parse_request("OQSsiquc01req_1.xml", unclosed.as_bytes()),
            Err(InterfaceError::Malformed(_))
        ));
        let mismatched = "<XmlMsg><A></B></XmlMsg>";
        let e = parse_request("OQSsiquc01req_1.xml", mismatched.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let no_number = SINGLE.replace(
            "<InsuredIdentificationNumber>1</InsuredIdentificationNumber>",
            "",
        );
        assert_eq!(
            parse_request("OQSsiquc01req_1.xml", no_number.as_bytes()).unwrap_err(),
            InterfaceError::Invalid {
                element: "InsuredIdentificationNumber".into(),
                reason: "is required".into()
            }
        );
        assert!(matches!(
            parse_request("hello.xml", SINGLE.as_bytes()),
            Err(InterfaceError::UnknownKind(_))
        ));
        let deep = format!("{}{}", "<a>".repeat(40), "</a>".repeat(40));
        assert!(parse_request("OQSsiquc01req_1.xml", deep.as_bytes()).is_err());
    }

    /// A reception number is used in a URL path; anything but letters and digits is refused.
    #[test]
    fn a_reception_number_cannot_name_another_route() {
        let download = |n: &str| {
            format!(
                "<XmlMsg><MessageHeader><MedicalInstitutionCode>1311234567</MedicalInstitutionCode>\
                 </MessageHeader><MessageBody><ReceptionNumber>{n}</ReceptionNumber></MessageBody></XmlMsg>"
            )
        };
        let ok = parse_request(
            "OQSmuquc02req_1.xml",
            download("4F1A09C2D3E4B5A69788").as_bytes(),
        );
        assert_eq!(
            ok.unwrap().reception_number.as_deref(),
            Some("4F1A09C2D3E4B5A69788")
        );
        for bad in ["../../healthz?", "A/B", "a%2Fb", "", &"A".repeat(41)] {
            assert!(
                matches!(
                    parse_request("OQSmuquc02req_1.xml", download(bad).as_bytes()),
                    Err(InterfaceError::Invalid { element, .. }) if element == "ReceptionNumber"
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn response_names_mirror_requests() {
        assert_eq!(
            response_name("OQSsiquc01req_202611240001.xml"),
            "OQSsiquc01res_202611240001.xml"
        );
        assert_eq!(response_name("OQSmuquc02req_x.xml"), "OQSmuquc02res_x.xml");
        assert_eq!(response_name("junk.xml"), "junk.res.xml");
    }

    #[test]
    fn error_results_carry_the_code_and_message() {
        let echo = HeaderEcho {
            executed_at: "20261124100000",
            institution: "",
            ..echo()
        };
        let out =
            String::from_utf8(error_result(&echo, "ONS0001", "malformed XML: <a> & b")).unwrap();
        assert!(out.contains("<SegmentOfResult>9</SegmentOfResult>"));
        assert!(out.contains("<ErrorCode>ONS0001</ErrorCode>"));
        assert!(out.contains("<ResultCode>ONS0001</ResultCode>"));
        assert!(
            out.contains("<MessageContents>malformed XML: &lt;a&gt; &amp; b</MessageContents>")
        );
        // A request of a kind onshi does not serve still has a header to echo.
        let unknown = "<XmlMsg><MessageHeader><MedicalInstitutionCode> 1311234567 </MedicalInstitutionCode>\
            <ArbitraryFileIdentifier>afi-9</ArbitraryFileIdentifier></MessageHeader><MessageBody/></XmlMsg>";
        assert!(parse_request("OQSsiimm01req_1.xml", unknown.as_bytes()).is_err());
        let raw = raw_header(unknown.as_bytes());
        assert_eq!(
            (raw.institution.as_str(), raw.file_identifier.as_deref()),
            ("1311234567", Some("afi-9"))
        );
        assert_eq!(raw_header(b"<XmlMsg><MessageHeader>"), RawHeader::default());
        assert!(out.contains("malformed XML: &lt;a&gt; &amp; b"));
    }

    /// Two-phase bulk results carry the reception number and the counts in `MessageHeader`,
    /// where clients read them (as in the terminal's own results), finished or not.
    #[test]
    fn bulk_results_carry_the_reception_number_and_counts_in_the_header() {
        let echo = HeaderEcho {
            file_identifier: Some("afi"),
            ..echo()
        };
        let search = SearchInfo {
            insurer_number: "01130012".into(),
            number: "1".into(),
            branch: "00".into(),
            ..Default::default()
        };
        let found = result_of(4, "20261128", vec![]);
        let units = [
            BulkUnit {
                search: search.clone(),
                outcome: Ok(found),
            },
            BulkUnit {
                search,
                outcome: Err(("ONS0100".into(), "number: must be digits".into())),
            },
        ];
        let done = xml::parse(&bulk_result(&echo, "R1", Some(&units))).unwrap();
        let header = done.child("MessageHeader").unwrap();
        for (name, value) in [
            ("ReceptionNumber", "R1"),
            ("NumberOfProcessingResult", "2"),
            ("NumberOfNormalProcessing", "1"),
            ("NumberOfError", "1"),
            ("ArbitraryFileIdentifier", "afi"),
            ("SegmentOfResult", "1"),
        ] {
            assert_eq!(header.text_of(name), Some(value), "{name}");
        }
        let body = done.child("MessageBody").unwrap();
        assert!(body.child("ReceptionNumber").is_none());
        assert!(body.child("NumberOfProcessingResult").is_none());
        assert_eq!(body.all("BulkConfirmUnit").count(), 2);

        let pending = xml::parse(&bulk_result(&echo, "R1", None)).unwrap();
        let header = pending.child("MessageHeader").unwrap();
        assert_eq!(header.text_of("ReceptionNumber"), Some("R1"));
        assert_eq!(header.text_of("SegmentOfResult"), Some("2"));
        assert!(header.child("NumberOfProcessingResult").is_none());
    }

    /// A card reader's result carries the consents inside each `ResultOfQualificationConfirmation`,
    /// as the terminal writes them (1 with times when given, 0 when not), and none in the body.
    #[test]
    fn face_results_carry_the_consents_inside_each_qualification() {
        let q = hanako(None);
        let result = CheckResult {
            certificate_kind: Some("card".into()),
            consents: vec![onshi_api::Consent {
                kind: "medication".into(),
                given_at: "20261128003000".into(),
                expires_at: "20261129003000".into(),
            }],
            ..result_of(1, "20261128", vec![q])
        };
        let echo = HeaderEcho {
            confirmation_date: Some("20261128"),
            ..echo()
        };
        let doc = xml::parse(&face_result(&echo, &result)).unwrap();
        let body = doc.child("MessageBody").unwrap();
        let unit = body
            .child("ResultList")
            .and_then(|l| l.child("ResultOfQualificationConfirmation"))
            .unwrap();
        for (name, value) in [
            ("PharmacistsInfoConsFlg", "1"),
            ("PharmacistsInfoConsTime", "20261128003000"),
            ("PharmacistsInfoAvailableTime", "20261129003000"),
            ("SpecificHealthCheckupsInfoConsFlg", "0"),
            ("DiagnosisInfoConsFlg", "0"),
            ("LimitApplicationCertificateRelatedConsFlg", "0"),
        ] {
            assert_eq!(unit.text_of(name), Some(value), "{name}");
        }
        assert!(unit.child("SpecificHealthCheckupsInfoConsTime").is_none());
        assert!(
            body.children.iter().all(|c| !c.name.ends_with("ConsFlg")),
            "no consent in the body"
        );
    }

    /// Insurer numbers in eight columns (a 国保 number right-aligned with spaces), names with a
    /// full-width space, kana in half-width, and the copay ratio only for 後期高齢者医療, as the
    /// terminal writes them.
    #[test]
    fn insurer_numbers_names_and_the_ratio_as_the_terminal_writes_them() {
        let echo = echo();
        let result = |insurer: &str| {
            let mut q = hanako(None);
            q.insurer_number = insurer.into();
            result_of(1, "20261128", vec![q])
        };
        let unit = |insurer: &str| {
            let xml = single_result(&echo, &SearchInfo::default(), &result(insurer), None);
            let doc = xml::parse(&xml).unwrap();
            doc.child("MessageBody")
                .and_then(|b| b.child("ResultList"))
                .and_then(|l| l.child("ResultOfQualificationConfirmation"))
                .cloned()
                .unwrap()
        };
        let kokuho = unit("138057");
        assert_eq!(kokuho.text_of("InsurerNumber"), Some("  138057"));
        assert_eq!(kokuho.text_of("Name"), Some("試験\u{3000}花子"));
        assert_eq!(kokuho.text_of("NameKana"), Some("ｼｹﾝ ﾊﾅｺ"));
        assert!(kokuho.child("InsuredPartialContributionRatio").is_none());
        let kyokai = unit("01130012");
        assert_eq!(kyokai.text_of("InsurerNumber"), Some("01130012"));
        assert!(kyokai.child("InsuredPartialContributionRatio").is_none());
        let late = unit("39131016");
        assert_eq!(late.text_of("InsuredPartialContributionRatio"), Some("030"));
    }
}

#[cfg(test)]
mod card_elements {
    use super::*;

    /// A dependant aged 72 with everything the registry can hold: the card's class and dates,
    /// whose card it is, address, the 高齢受給者証; and a preschool child; written where the
    /// terminal writes them.
    #[test]
    fn the_card_the_insured_person_and_the_elderly_certificate_are_written() {
        let q = Qualification {
            validity_code: 1,
            insurer_number: "138057".into(),
            symbol: "12-34".into(),
            number: "4260".into(),
            branch: "02".into(),
            relationship_code: 2,
            name: "試験 春子".into(),
            name_kana: "シケン ハルコ".into(),
            sex_code: 2,
            birth_date: "19540402".into(),
            qualified_from: "20190401".into(),
            qualified_until: Some("20270331".into()),
            copay_ratio: "020".into(),
            limit_certificate: None,
            insurer_name: "試験市".into(),
            card_class: "01".into(),
            card_issued: Some("20190401".into()),
            card_valid_from: "20190401".into(),
            card_valid_until: Some("20270331".into()),
            insured_name: Some("試験 一郎".into()),
            address: Some("東京都".into()),
            post_number: Some("123-4567".into()),
            preschool: false,
            loss_reason_code: Some("03".into()),
            elderly_certificate: Some(onshi_api::ElderlyCertificateInfo {
                issued: "20240501".into(),
                valid_from: "20240501".into(),
                valid_until: None,
                copay_ratio: "020".into(),
            }),
        };
        let mut child = q.clone();
        child.preschool = true;
        child.elderly_certificate = None;
        let result = onshi_api::EligibilityResult {
            validity_code: 1,
            validity_label: String::new(),
            consultation_date: "20261128".into(),
            qualifications: vec![q, child],
            new_qualification: None,
            certificate_kind: None,
            consents: Vec::new(),
            limit_consent_at: None,
            check_reference: None,
        };
        let echo = HeaderEcho {
            charset: Charset::ShiftJis,
            executed_at: "20261128003000",
            confirmation_date: None,
            institution: "1311234567",
            file_identifier: None,
        };
        let doc = xml::parse(&single_result(&echo, &SearchInfo::default(), &result, None)).unwrap();
        let list = doc
            .child("MessageBody")
            .and_then(|b| b.child("ResultList"))
            .unwrap();
        let units: Vec<&xml::Element> = list.all("ResultOfQualificationConfirmation").collect();
        let unit = units[0];
        for (name, value) in [
            ("InsuredCardClassification", "01"),
            ("InsurerNumber", "  138057"),
            ("InsuredName", "試験\u{3000}一郎"),
            ("Address", "東京都"),
            ("PostNumber", "123-4567"),
            ("InsuredCertificateIssuanceDate", "20190401"),
            ("InsuredCardValidDate", "20190401"),
            ("InsuredCardExpirationDate", "20270331"),
            ("DisqualificationDate", "20270331"),
            ("ReasonOfLoss", "03"),
            ("InsurerName", "試験市"),
        ] {
            assert_eq!(unit.text_of(name), Some(value), "{name}");
        }
        let elderly = unit.child("ElderlyRecipientCertificateInfo").unwrap();
        for (name, value) in [
            ("ElderlyRecipientCertificateDate", "20240501"),
            ("ElderlyRecipientValidStartDate", "20240501"),
            ("ElderlyRecipientContributionRatio", "020"),
        ] {
            assert_eq!(elderly.text_of(name), Some(value), "{name}");
        }
        assert!(elderly.child("ElderlyRecipientValidEndDate").is_none());
        assert!(unit.child("PreschoolClassification").is_none());
        assert!(
            unit.child("QualificationValidity").is_none(),
            "only in the body"
        );
        assert_eq!(units[1].text_of("PreschoolClassification"), Some("1"));
        assert!(units[1].child("ElderlyRecipientCertificateInfo").is_none());
    }
}

#[cfg(test)]
mod example_files {
    use super::*;

    /// The example files vendors are pointed to parse as documented.
    #[test]
    fn docs_examples_parse() {
        let single = include_bytes!("../../../docs/examples/OQSsiquc01req_202611240001.xml");
        let r = parse_request("OQSsiquc01req_202611240001.xml", single).unwrap();
        assert_eq!(
            (r.kind, r.charset, r.searches.len()),
            (Kind::SingleLookup, Charset::Utf8, 1)
        );
        let sjis = include_bytes!("../../../docs/examples/OQSsiquc01req_202611240002.xml");
        let r = parse_request("OQSsiquc01req_202611240002.xml", sjis).unwrap();
        assert_eq!(
            (r.charset, r.searches[0].symbol.as_str()),
            (Charset::ShiftJis, "１０")
        );
        let bulk = include_bytes!("../../../docs/examples/OQSmuquc01req_202611240003.xml");
        assert_eq!(
            parse_request("OQSmuquc01req_202611240003.xml", bulk)
                .unwrap()
                .searches
                .len(),
            3
        );
        let download = include_bytes!("../../../docs/examples/OQSmuquc02req_202611240004.xml");
        assert!(
            parse_request("OQSmuquc02req_202611240004.xml", download)
                .unwrap()
                .reception_number
                .is_some()
        );
        let bad = include_bytes!("../../../docs/examples/OQSsiquc01req_202611240005.xml");
        assert_eq!(
            parse_request("OQSsiquc01req_202611240005.xml", bad)
                .unwrap_err()
                .code(),
            "ONS0001"
        );
    }
}

#[cfg(test)]
mod checkup_requests {
    use super::*;

    /// A 特定健診情報 request as OQSDrug2 writes it: the card in the header under the drug and
    /// checkup messages' own names, Shift_JIS.
    fn request(category: &str) -> Vec<u8> {
        let text = format!(
            "<?xml version=\"1.0\" encoding=\"Shift_JIS\"?><XmlMsg><MessageHeader>\
             <MedicalInstitutionCode>1311234567</MedicalInstitutionCode><InsurerNumber>01130012</InsurerNumber>\
             <InsuranceCardSymbol>１０</InsuranceCardSymbol><InsuredPersonIdentificationNumber>1</InsuredPersonIdentificationNumber>\
             <BranchNumber>00</BranchNumber><ArbitraryFileIdentifier>患者42</ArbitraryFileIdentifier></MessageHeader>\
             <MessageBody><FileCategory>{category}</FileCategory><PrDiInfClassification>1</PrDiInfClassification>\
             <MedicalTreatmentFlag>1</MedicalTreatmentFlag></MessageBody></XmlMsg>"
        );
        encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
    }

    #[test]
    fn a_checkup_request_names_the_card_in_its_header() {
        let r = parse_request("TKKsiquc01req_202611240001.xml", &request("2")).unwrap();
        assert_eq!(
            (r.kind, r.charset),
            (Kind::CheckupLookup, Charset::ShiftJis)
        );
        let s = &r.searches[0];
        assert_eq!(
            (
                s.insurer_number.as_str(),
                s.symbol.as_str(),
                s.number.as_str(),
                s.branch.as_str()
            ),
            ("01130012", "１０", "1", "00")
        );
        assert_eq!(r.file_identifier.as_deref(), Some("患者42"));
        assert_eq!(r.file_category.as_deref(), Some("2"));
        assert_eq!(
            response_name("TKKsiquc01req_202611240001.xml"),
            "TKKsiquc01res_202611240001.xml"
        );
        let no_number = encoding_rs::SHIFT_JIS.decode(&request("2")).0.replace(
            "<InsuredPersonIdentificationNumber>1</InsuredPersonIdentificationNumber>",
            "",
        );
        assert_eq!(
            parse_request(
                "TKKsiquc01req_1.xml",
                &encoding_rs::SHIFT_JIS.encode(&no_number).0
            )
            .unwrap_err()
            .to_string(),
            "InsuredPersonIdentificationNumber: is required"
        );
        assert_eq!(
            parse_request("TKKsiquc01req_1.xml", &request("7"))
                .unwrap_err()
                .to_string(),
            "FileCategory: must be 1 (PDF) or 2 (XML)"
        );
    }

    #[test]
    fn a_checkup_result_reads_as_receipt_computers_read_it() {
        let results = onshi_api::CheckupResults {
            patient: Some(onshi_api::CheckupPatient {
                name: "試験 花子".into(),
                name_kana: "シケン ハナコ".into(),
                birth_date: "1990-05-06".into(),
                sex: 2,
            }),
            checkups: vec![onshi_api::CheckupResult {
                id: "c1".into(),
                insurer_number: "01130012".into(),
                exam_date: "2024-05-20".into(),
                institution: "5521111111".into(),
                program: "010".into(),
                fiscal_year: 2024,
                items: vec![
                    onshi_api::CheckupItem {
                        code: "9A751000000000001".into(),
                        name: "収縮期血圧(1回目)".into(),
                        value_kind: "PQ".into(),
                        value: Some("128".into()),
                        unit: Some("mm[Hg]".into()),
                        unit_name: None,
                        code_system: None,
                        guidance_value: Some(130.0),
                        referral_value: Some(140.0),
                        judgement: Some("normal".into()),
                    },
                    onshi_api::CheckupItem {
                        code: "9N736000000000011".into(),
                        name: "喫煙".into(),
                        value_kind: "CD".into(),
                        value: Some("2".into()),
                        unit: None,
                        unit_name: None,
                        code_system: Some("1.2.392.200119.6.2005".into()),
                        guidance_value: None,
                        referral_value: None,
                        judgement: None,
                    },
                ],
            }],
        };
        let echo = HeaderEcho {
            charset: Charset::ShiftJis,
            executed_at: "20261124093000",
            confirmation_date: None,
            institution: "1311234567",
            file_identifier: Some("患者42"),
        };
        let bytes = checkup_result(&echo, &results);
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&bytes);
        assert!(!bad);
        let root = xml::parse(&bytes).unwrap();
        let header = root.child("MessageHeader").unwrap();
        // //ResultCode = 1, then /XmlMsg/MessageHeader/QualificationsInfo.
        assert_eq!(header.text_of("ResultCode"), Some("1"));
        let who = header.child("QualificationsInfo").unwrap();
        assert_eq!(who.text_of("Name"), Some("試験\u{3000}花子"));
        assert_eq!(who.text_of("KanasName"), Some("ｼｹﾝ ﾊﾅｺ"));
        assert_eq!(who.text_of("Birthday"), Some("19900506"));
        assert_eq!(who.text_of("AdministrativeGenderCode"), Some("2"));
        // //SpecificHealthCheckupInfo, each with EffectiveTime and its items.
        let infos: Vec<_> = root
            .child("MessageBody")
            .unwrap()
            .child("SpecificHealthCheckupInfos")
            .unwrap()
            .all("SpecificHealthCheckupInfo")
            .collect();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].text_of("EffectiveTime"), Some("20240520"));
        let items: Vec<_> = infos[0]
            .child("HealthCheckupResultAndQuestionInfos")
            .unwrap()
            .all("HealthCheckupResultAndQuestionInfo")
            .collect();
        let read = |i: &xml::Element, n: &str| i.text_of(n).map(str::to_owned);
        assert_eq!(
            (
                read(items[0], "ItemCode"),
                read(items[0], "DataValue"),
                read(items[0], "Unit")
            ),
            (
                Some("9A751000000000001".into()),
                Some("128".into()),
                Some("mm[Hg]".into())
            )
        );
        assert_eq!(
            read(items[1], "Oid").as_deref(),
            Some("1.2.392.200119.6.2005")
        );
        assert_eq!(read(items[1], "DataType").as_deref(), Some("CD"));
        assert!(text.contains("<ArbitraryFileIdentifier>患者42</ArbitraryFileIdentifier>"));
    }
}

//! Checkup archives (特定健診等データ) received.

use serde::{Deserialize, Serialize};

/// What an imported checkup archive held and what was stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CheckupArchiveReceipt {
    /// The archive's file name.
    pub archive: String,
    /// Checkup documents in it (all passed).
    pub documents: usize,
    /// New checkups linked to a member (card key, birth date and sex on the exam date).
    pub linked: u64,
    /// New checkups left for the insurer to match.
    pub to_match: u64,
    /// Corrected documents stored as new versions.
    pub corrected: u64,
    /// Documents already stored as they are.
    pub unchanged: u64,
    /// Claims (`CLAIMS/`) in it, each stored with its checkup.
    #[serde(default)]
    pub claims: usize,
    /// The sum of their 請求金額, in yen.
    #[serde(default)]
    pub claimed_yen: i64,
    /// The consignments (ids) under which an institution's employer-checkup results were
    /// accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consignments: Vec<String>,
    /// Guidance steps recorded from a 特定保健指導 archive (実施区分 2, `hg08` documents: 21
    /// the first interview, 22 the completion, 23 a drop-out); 0 for a checkup archive.
    #[serde(default)]
    pub guidance_events: usize,
    /// What is wrong but harmless (summary totals that do not add up).
    pub warnings: Vec<String>,
}

/// An employer (事業所) as its insurer registered it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Employer {
    /// The insurer's number.
    pub insurer_number: String,
    /// 事業所コード: the employer's code at the insurer (what members' `employer` holds).
    pub code: String,
    /// 事業所名.
    pub name: String,
    /// 業態: the JSIC major group letter (A–T).
    pub industry: String,
    /// The group's Japanese name.
    pub industry_name: String,
    /// 都道府県 code, 1–47.
    pub prefecture: u8,
    /// When it was registered (RFC 3339, Japan time).
    pub registered_at: String,
}

/// The body of `POST /v1/employers`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EmployerBody {
    /// 事業所コード: 1–16 letters, digits or hyphens, unique at the insurer.
    pub code: String,
    /// 事業所名.
    pub name: String,
    /// 業態: a JSIC major group letter A–T (E 製造業, G 情報通信業, P 医療、福祉, …).
    pub industry: String,
    /// 都道府県 code, `01`–`47`.
    pub prefecture: String,
}

/// A registered employer and its API token (shown once; only its hash is kept).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct RegisteredEmployer {
    /// The employer.
    pub employer: Employer,
    /// Its API token (`onshi_emp_…`): hand it to the employer.
    pub token: String,
}

/// An insurer's employers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct EmployerList {
    /// By code.
    pub employers: Vec<Employer>,
}

/// An employer's consignment (委託) of a checkup institution to deliver its employees'
/// employer-checkup results to the insurer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Consignment {
    /// Its id (receipts name it).
    pub id: String,
    /// 事業所コード of the consigning employer.
    pub employer: String,
    /// The insurer's number.
    pub insurer_number: String,
    /// 健診機関番号 of the consigned institution.
    pub institution: String,
    /// First exam date covered, YYYY-MM-DD.
    pub valid_from: String,
    /// Last exam date covered, YYYY-MM-DD (open when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// When it was recorded (RFC 3339, Japan time).
    pub recorded_at: String,
}

/// The body of `POST /v1/consignments`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsignmentBody {
    /// 健診機関番号 (ten digits) of the institution consigned.
    pub institution: String,
    /// First exam date covered, YYYY-MM-DD.
    pub valid_from: String,
    /// Last exam date covered, YYYY-MM-DD (leave out for an open consignment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// The body of `POST /v1/consignments/{id}/end`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsignmentEndBody {
    /// The last exam date the consignment covers, YYYY-MM-DD.
    pub last_day: String,
}

/// An employer's consignments.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ConsignmentList {
    /// Oldest first.
    pub consignments: Vec<Consignment>,
}

/// The body of `PUT /v1/employers/{code}/checkup-requests/{fiscal_year}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckupRequestBody {
    /// By when the employer is to deliver the year's results, YYYY-MM-DD.
    pub due_date: String,
}

/// An insurer's request to an employer for one fiscal year's results (事業主健診の結果提供の
/// 求め), with what has arrived.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CheckupRequest {
    /// 事業所コード.
    pub employer: String,
    /// 年度 (April to March).
    pub fiscal_year: i32,
    /// Due date, YYYY-MM-DD.
    pub due_date: String,
    /// When the insurer asked (RFC 3339, Japan time).
    pub requested_at: String,
    /// The employer's insured persons (本人, every age) qualified in the fiscal year.
    pub covered: i64,
    /// Of them, those with a checkup of the fiscal year in the store.
    pub arrived: i64,
    /// Past the due date with results missing.
    pub overdue: bool,
}

/// Requests of a fiscal year.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CheckupRequestList {
    /// By employer code.
    pub requests: Vec<CheckupRequest>,
}

/// A person's checkup results, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CheckupResults {
    /// Who they are of, when the reader named the patient by card (`POST
    /// /v1/checkups/by-card`): as the qualification records them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<CheckupPatient>,
    /// One per checkup (its latest version).
    pub checkups: Vec<CheckupResult>,
}

/// The patient of a look-up by card, as their qualification records them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CheckupPatient {
    /// 氏名.
    pub name: String,
    /// 氏名（カナ）.
    pub name_kana: String,
    /// 生年月日, YYYY-MM-DD.
    pub birth_date: String,
    /// 1 male, 2 female.
    pub sex: u8,
}

/// The body of `POST /v1/checkups/by-card`: the patient's insurance card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct CheckupCardLookup {
    /// 保険者番号.
    pub insurer_number: String,
    /// 記号.
    #[serde(default)]
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    #[serde(default)]
    pub branch: String,
}

/// One checkup as its person or a consented facility reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CheckupResult {
    /// Its id.
    pub id: String,
    /// The insurer it reached.
    pub insurer_number: String,
    /// 実施日, YYYY-MM-DD.
    pub exam_date: String,
    /// 健診機関番号.
    pub institution: String,
    /// プログラム種別 (010 特定健診, 030 事業者健診, …).
    pub program: String,
    /// 年度.
    pub fiscal_year: i32,
    /// Each item, in the document's order.
    pub items: Vec<CheckupItem>,
}

/// One result item, with the judgement values it is read against where the programme has them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
pub struct CheckupItem {
    /// The 17-digit item code (JLAC10 based).
    pub code: String,
    /// Its name in the code table (収縮期血圧(1回目), HbA1c(NGSP値), …).
    pub name: String,
    /// `PQ` (a quantity), `CD` (a code), `ST` (text) or `NULL` (not done: the value is the
    /// null flavour).
    pub value_kind: String,
    /// The value as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The unit of a quantity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The unit as people write it (`mmHg` where UCUM writes `mm[Hg]`), from the code table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_name: Option<String>,
    /// The code system (OID) of a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_system: Option<String>,
    /// 保健指導判定値 for the person's sex (HDL: the value below which guidance starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance_value: Option<f64>,
    /// 受診勧奨判定値 for the person's sex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral_value: Option<f64>,
    /// `normal`, `guidance` or `referral`, for quantities with judgement values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judgement: Option<String>,
}

/// The insurer's matching queue: checkups whose person was not found, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MatchingQueue {
    /// Each with its candidates.
    pub checkups: Vec<UnmatchedCheckup>,
}

/// A checkup the document's card key, birth date and sex did not link to a member.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct UnmatchedCheckup {
    /// The checkup's id (what `…/match` names).
    pub id: String,
    /// 記号 in the document.
    pub symbol: String,
    /// 番号 in the document.
    pub number: String,
    /// 枝番 in the document.
    pub branch: String,
    /// 実施日, YYYY-MM-DD.
    pub exam_date: String,
    /// 健診機関番号.
    pub institution: String,
    /// 生年月日 in the document, YYYY-MM-DD.
    pub birth_date: String,
    /// 性別 in the document: 1 男, 2 女.
    pub sex: u8,
    /// カナ氏名 in the document.
    pub name_kana: String,
    /// Members with the same birth date and sex, most similar kana name first (at most five).
    pub candidates: Vec<MatchCandidate>,
}

/// A member who could be the person of an unmatched checkup: the insurer decides.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct MatchCandidate {
    /// The member's id.
    pub member_id: String,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// カナ氏名.
    pub name_kana: String,
    /// Whether the member's qualification covers the exam date.
    pub covers_exam_date: bool,
    /// How alike the kana names are, 0–100.
    pub similarity: u8,
}

/// The body of `POST /v1/checkups/{id}/match`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MatchBody {
    /// The member the checkup belongs to (one of the candidates, or any member of yours).
    pub member_id: String,
}

/// The body of `POST /v1/checkup-transfers`: your member (by the card key of your
/// qualification) and the insurer they came from.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckupTransferRequest {
    /// 記号 of your member's card.
    pub symbol: String,
    /// 番号 of your member's card.
    pub number: String,
    /// 枝番 of your member's card.
    pub branch: String,
    /// The former insurer's 保険者番号 (8 digits).
    pub from_insurer: String,
}

//! Bulk look-ups (一括照会): the patients of coming appointments, answered in the background.

use serde::{Deserialize, Serialize};

use crate::eligibility::EligibilityResult;
use crate::problem::Problem;

/// One patient of a bulk look-up (the fields of a number check, without a date).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    /// 保険者番号
    pub insurer_number: String,
    /// 記号
    #[serde(default)]
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番
    #[serde(default)]
    pub branch: String,
    /// 生年月日 (optional)
    pub birth_date: Option<String>,
    /// The patient consented to 限度額適用認定証 information being shown in this row's answer
    /// (`LimitApplicationCertificateRelatedConsFlg`; echoed back as sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_consent: Option<bool>,
    /// The facility's own identifier of the row (`ArbitraryIdentifier`, at most 100 characters),
    /// echoed back so that the answer can be matched to the patient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arbitrary_identifier: Option<String>,
}

impl BulkItem {
    /// The number check of this row on `consultation_date` (what a bulk job runs per row).
    pub fn into_check(self, consultation_date: Option<String>) -> crate::NumberCheckRequest {
        crate::NumberCheckRequest {
            insurer_number: self.insurer_number,
            symbol: self.symbol,
            number: self.number,
            branch: self.branch,
            birth_date: self.birth_date,
            consultation_date,
            limit_consent: self.limit_consent.unwrap_or(false),
        }
    }
}

/// A bulk look-up: every row is checked for the same consultation date.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// 診療日 (YYYY-MM-DD or YYYYMMDD); default today in Japan.
    pub consultation_date: Option<String>,
    /// The patients, 1 to 50,000.
    pub items: Vec<BulkItem>,
}

/// The receipt of a bulk look-up.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkReceipt {
    /// 受付番号: fetch the results with it.
    pub reception_number: String,
    /// When it was received (RFC 3339, Japan time: `+09:00`).
    pub received_at: String,
    /// How many rows.
    pub total: usize,
}

/// The answer of one row: its request and either `result` or `error`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkRow {
    /// The row as submitted.
    pub request: BulkItem,
    /// The check's answer, when the row could be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<EligibilityResult>,
    /// Why the row could not be checked (a problem document naming the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// Progress, and once finished the answer of every row in submission order.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BulkStatus {
    /// 受付番号.
    pub reception_number: String,
    /// Rows submitted.
    pub total: i64,
    /// Rows answered so far.
    pub processed: i64,
    /// True once every row is answered.
    pub finished: bool,
    /// When finished: per row, the request and either its result or its error.
    pub results: Option<Vec<BulkRow>>,
}

//! Eligibility confirmation (資格確認) for facilities, registration for insurance use (利用申込)
//! and the insured person's access history.

use serde::{Deserialize, Serialize};

/// Asks for a challenge (`POST /v1/challenges`; the body may be empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeRequest {
    /// `check` (default) or `registration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// A challenge for a card to sign.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Challenge {
    /// Send back with the signature.
    pub challenge_id: String,
    /// Random bytes, hex.
    pub nonce: String,
    /// Who the challenge is for: the facility code, or `portal`.
    pub audience: String,
    /// What the card signs, hex: `onshi-challenge-v1:` ‖ nonce ‖ `:` ‖ audience.
    pub message: String,
    /// Until when it may be used (RFC 3339, Japan time: `+09:00`).
    pub expires_at: String,
}

/// A card's answer to a challenge.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardProof {
    /// From the challenge.
    pub challenge_id: String,
    /// The user-authentication certificate, DER, base64.
    pub certificate: String,
    /// The card's RSASSA-PKCS1-v1_5/SHA-256 signature over the challenge message, base64.
    pub signature: String,
}

/// A check by card: the card's proof ([`CardProof`]'s fields) and what the check is for. Its
/// fields are listed rather than a flattened proof so that an unknown field is refused, as in
/// every other body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardCheckRequest {
    /// From the challenge.
    pub challenge_id: String,
    /// The user-authentication certificate, DER, base64.
    pub certificate: String,
    /// The card's RSASSA-PKCS1-v1_5/SHA-256 signature over the challenge message, base64.
    pub signature: String,
    /// 診療日 (YYYY-MM-DD or YYYYMMDD); default today in Japan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_date: Option<String>,
    /// What the patient agreed to share at the reader: any of `medication`, `checkup`, `clinical`,
    /// and `limit` (限度額適用認定証 information, shown in this answer).
    #[serde(default)]
    pub consent: Vec<String>,
}

impl CardCheckRequest {
    /// A check by the card that made `proof`.
    pub fn new(proof: CardProof, consultation_date: Option<String>, consent: Vec<String>) -> Self {
        Self {
            challenge_id: proof.challenge_id,
            certificate: proof.certificate,
            signature: proof.signature,
            consultation_date,
            consent,
        }
    }

    /// The card's proof.
    pub fn proof(&self) -> CardProof {
        CardProof {
            challenge_id: self.challenge_id.clone(),
            certificate: self.certificate.clone(),
            signature: self.signature.clone(),
        }
    }
}

/// A check by insurance-card number.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NumberCheckRequest {
    /// 保険者番号
    pub insurer_number: String,
    /// 記号 (may be empty)
    #[serde(default)]
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番
    #[serde(default)]
    pub branch: String,
    /// 生年月日 (optional; a mismatch answers 該当資格なし)
    pub birth_date: Option<String>,
    /// 診療日; default today in Japan.
    pub consultation_date: Option<String>,
    /// The patient consented to 限度額適用認定証 information being shown
    /// (LimitApplicationCertificateRelatedConsFlg = 1).
    #[serde(default)]
    pub limit_consent: bool,
}

/// One qualification in a result: the fields of the interface's
/// ResultOfQualificationConfirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Qualification {
    /// 資格有効性 of this qualification (1–5).
    pub validity_code: u8,
    /// 保険者番号
    pub insurer_number: String,
    /// 記号
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番
    pub branch: String,
    /// 本人・家族区分: 1 本人, 2 家族
    pub relationship_code: u8,
    /// 氏名
    pub name: String,
    /// カナ氏名
    pub name_kana: String,
    /// 性別: 1 男, 2 女, 3 未設定
    pub sex_code: u8,
    /// 生年月日, YYYYMMDD
    pub birth_date: String,
    /// 資格取得年月日, YYYYMMDD
    pub qualified_from: String,
    /// 資格喪失年月日, YYYYMMDD
    pub qualified_until: Option<String>,
    /// 一部負担金割合, three-digit percent ("030")
    pub copay_ratio: String,
    /// 限度額適用認定証 in force on the consultation date; only with the patient's consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_certificate: Option<LimitCertificateInfo>,
    /// 保険者名称
    #[serde(default)]
    pub insurer_name: String,
    /// 被保険者証区分 (OQSCD010): 01 一般 … 07 自衛官診療証; 01 when the insurer recorded none.
    #[serde(default)]
    pub card_class: String,
    /// 被保険者証 交付年月日, YYYYMMDD
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_issued: Option<String>,
    /// 被保険者証 有効開始年月日, YYYYMMDD (the qualification's start when none is recorded)
    #[serde(default)]
    pub card_valid_from: String,
    /// 被保険者証 有効期限, YYYYMMDD
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_valid_until: Option<String>,
    /// 被保険者 (世帯主) 氏名, for a dependant, when recorded
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_name: Option<String>,
    /// 住所, when recorded
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// 郵便番号 (NNN-NNNN), when recorded
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_number: Option<String>,
    /// 未就学: the patient is before school age on the consultation date (2 割 copay).
    #[serde(default)]
    pub preschool: bool,
    /// 資格喪失事由 (01 死亡, 02 生活保護, 03 他の資格取得, 99 その他), when the qualification ended
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_reason_code: Option<String>,
    /// 高齢受給者証 in force on the consultation date (ages 70–74).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_certificate: Option<ElderlyCertificateInfo>,
}

/// 高齢受給者証 as a check shows it (ElderlyRecipientCertificateInfo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ElderlyCertificateInfo {
    /// 交付年月日, YYYYMMDD
    pub issued: String,
    /// 有効開始年月日, YYYYMMDD
    pub valid_from: String,
    /// 有効終了年月日, YYYYMMDD
    pub valid_until: Option<String>,
    /// 一部負担金割合, three-digit percent ("020")
    pub copay_ratio: String,
}

/// 限度額適用認定証 information as a check shows it (LimitApplicationCertificateRelatedInfo).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LimitCertificateInfo {
    /// 限度額適用認定証区分 (OQSCD011): 01 限度額適用認定証, 02 限度額適用・標準負担額減額認定証,
    /// 03 標準負担額減額認定証
    pub class_code: String,
    /// 適用区分 (OQSCD012): A01–A06, B01–B10
    pub bracket_code: String,
    /// The bracket's name (ア, 一般Ⅱ, …)
    pub bracket_label: String,
    /// 交付年月日, YYYYMMDD
    pub issued: String,
    /// 有効開始年月日, YYYYMMDD
    pub valid_from: String,
    /// 有効終了年月日, YYYYMMDD
    pub valid_until: Option<String>,
    /// 長期入院該当年月日, YYYYMMDD
    pub long_term_from: Option<String>,
}

/// A consent in force at this facility.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Consent {
    /// `medication`, `checkup`, `clinical` or `limit`.
    pub kind: String,
    /// When given, YYYYMMDDHHmmss, Japan time.
    pub given_at: String,
    /// Until when, YYYYMMDDHHmmss, Japan time.
    pub expires_at: String,
}

/// The answer to an eligibility check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EligibilityResult {
    /// 資格有効性: 1 有効, 2 無効, 3 無効（新しい資格あり）, 4 該当資格なし, 5 複数該当.
    pub validity_code: u8,
    /// The code's label.
    pub validity_label: String,
    /// The consultation date the check was for, YYYYMMDD.
    pub consultation_date: String,
    /// The qualifications the answer is about.
    pub qualifications: Vec<Qualification>,
    /// For code 3: the newer qualification that covers the date.
    pub new_qualification: Option<Qualification>,
    /// Card checks: `card` or `smartphone`.
    pub certificate_kind: Option<String>,
    /// Card checks: the consents in force at this facility.
    #[serde(default)]
    pub consents: Vec<Consent>,
    /// When the patient consented to showing 限度額 information for this check, YYYYMMDDHHmmss
    /// (Japan time); absent without consent (LimitApplicationCertificateRelatedConsTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_consent_at: Option<String>,
    /// Card checks: a reference to this check (valid for 24 hours at this facility), usable as a
    /// FHIR `Coverage.identifier` with system `urn:onshi:card-check`.
    pub check_reference: Option<String>,
}

impl EligibilityResult {
    /// Every qualification the answer shows: those found, then the newer one of code 3.
    pub fn shown(&self) -> impl Iterator<Item = &Qualification> {
        self.qualifications
            .iter()
            .chain(self.new_qualification.iter())
    }
}

/// A registration for insurance use (利用申込).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Registration {
    /// True when this request registered the card; false when it already was.
    pub registered_now: bool,
    /// `portal`, `facility` or `pharmacy`.
    pub channel: String,
}

/// A one-time code that opens the person's pages in a browser (the browser cannot reach the
/// card; a card proof made elsewhere, by `onshi reader --portal-login`, opens the session).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PortalLoginCode {
    /// The path to open, with the code (use it once, within two minutes).
    pub path: String,
    /// When the code expires, Japan time.
    pub expires_at: String,
}

/// One access to the person's data.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessEntry {
    /// The entry's position in the audit log: ask `GET /v1/audit/proof?seq=…&size=…` for the
    /// proof that it is in a signed checkpoint.
    #[serde(default)]
    pub seq: i64,
    /// When (RFC 3339, Japan time: `+09:00`).
    pub at: String,
    /// `insurer`, `facility`, `operator` or `person`.
    pub actor_kind: String,
    /// The insurer number or facility code (the operator's name; "you" for the person).
    pub actor: String,
    /// What was done.
    pub action: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_check_result_reads_back_without_card_fields() {
        let text = r#"{"validity_code":4,"validity_label":"該当資格なし","consultation_date":"20260401",
            "qualifications":[],"new_qualification":null,"certificate_kind":null,"consents":[],
            "check_reference":null}"#;
        let r: EligibilityResult = serde_json::from_str(text).unwrap();
        assert_eq!(r.validity_code, 4);
        assert_eq!(r.shown().count(), 0);
        let json = serde_json::to_value(&r).unwrap();
        assert!(json.get("limit_consent_at").is_none());
    }

    #[test]
    fn a_card_check_request_is_flat() {
        let text =
            r#"{"challenge_id":"c","certificate":"AA==","signature":"AA==","consent":["limit"]}"#;
        let r: CardCheckRequest = serde_json::from_str(text).unwrap();
        assert_eq!(r.proof().challenge_id, "c");
        assert_eq!(r.consent, ["limit"]);
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["certificate"], "AA==");
        // An unknown field is refused.
        let extra = text.replace("\"consent\"", "\"pin\":\"1234\",\"consent\"");
        let e = serde_json::from_str::<CardCheckRequest>(&extra).unwrap_err();
        assert!(e.to_string().contains("unknown field `pin`"), "{e}");
    }
}

//! The insurer API's members (被保険者の資格情報).

use serde::{Deserialize, Serialize};

/// 性別 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// 1 男
    Male,
    /// 2 女
    Female,
    /// 3 未設定
    Unset,
}

impl From<onshi_domain::Sex> for Sex {
    fn from(s: onshi_domain::Sex) -> Self {
        match s {
            onshi_domain::Sex::Male => Self::Male,
            onshi_domain::Sex::Female => Self::Female,
            onshi_domain::Sex::Unset => Self::Unset,
        }
    }
}

/// 本人・家族区分 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    /// 1 本人 (被保険者)
    Insured,
    /// 2 家族 (被扶養者)
    Dependent,
}

impl From<onshi_domain::Relationship> for Relationship {
    fn from(r: onshi_domain::Relationship) -> Self {
        match r {
            onshi_domain::Relationship::Insured => Self::Insured,
            onshi_domain::Relationship::Dependent => Self::Dependent,
        }
    }
}

/// 資格喪失事由 on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LossReason {
    /// 01 死亡
    Death,
    /// 02 生活保護受給開始
    PublicAssistance,
    /// 03 医療保険等の資格取得
    OtherInsurance,
    /// 99 その他
    Other,
}

impl From<onshi_domain::LossReason> for LossReason {
    fn from(r: onshi_domain::LossReason) -> Self {
        match r {
            onshi_domain::LossReason::Death => Self::Death,
            onshi_domain::LossReason::PublicAssistance => Self::PublicAssistance,
            onshi_domain::LossReason::OtherInsurance => Self::OtherInsurance,
            onshi_domain::LossReason::Other => Self::Other,
        }
    }
}

/// 限度額適用認定証区分 (OQSCD011) on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LimitClass {
    /// 01 限度額適用認定証
    Limit,
    /// 02 限度額適用・標準負担額減額認定証
    LimitAndMealReduction,
    /// 03 標準負担額減額認定証
    MealReduction,
}

impl From<onshi_domain::LimitClass> for LimitClass {
    fn from(c: onshi_domain::LimitClass) -> Self {
        match c {
            onshi_domain::LimitClass::Limit => Self::Limit,
            onshi_domain::LimitClass::LimitAndMealReduction => Self::LimitAndMealReduction,
            onshi_domain::LimitClass::MealReduction => Self::MealReduction,
        }
    }
}

/// A member as the API shows it: the current (or a historical) version.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Member {
    /// Opaque member id, stable across versions.
    pub id: String,
    /// Version number, from 1; also sent as the `ETag`.
    pub version: i64,
    /// 保険者番号
    pub insurer_number: String,
    /// 記号 ("" when the card has none)
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番 (two digits; "" only for 後期高齢者)
    pub branch: String,
    /// 氏名
    pub name: String,
    /// カナ氏名
    pub name_kana: String,
    /// 生年月日, YYYY-MM-DD
    pub birth_date: String,
    /// 性別
    pub sex: Sex,
    /// 本人・家族
    pub relationship: Relationship,
    /// 資格取得年月日, YYYY-MM-DD
    pub qualified_from: String,
    /// 資格喪失年月日, YYYY-MM-DD (last day covered)
    pub qualified_until: Option<String>,
    /// 資格喪失事由
    pub loss_reason: Option<LossReason>,
    /// 一部負担金割合, percent
    pub copay_ratio: u8,
    /// 限度額適用認定証, when the insurer recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_certificate: Option<RecordedLimitCertificate>,
    /// The card's printed details and 高齢受給者証, when the insurer recorded any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<RecordedCard>,
    /// 事業所コード: the employer, by the insurer's code, when the insurer recorded one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    /// Whether a My Number was given for the member (the number itself is never returned).
    pub person_linked: bool,
    /// When this version was recorded (RFC 3339, Japan time: `+09:00`).
    pub recorded_at: String,
    /// `api` or `import`.
    pub source: String,
}

/// 限度額適用認定証 as an insurer recorded it for a member.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedLimitCertificate {
    /// 限度額適用認定証区分 (OQSCD011)
    pub class: LimitClass,
    /// 適用区分 (OQSCD012): A01–A06, B01–B10
    pub bracket: String,
    /// 交付年月日, YYYY-MM-DD
    pub issued: String,
    /// 有効開始年月日, YYYY-MM-DD
    pub valid_from: String,
    /// 有効終了年月日, YYYY-MM-DD
    pub valid_until: Option<String>,
    /// 長期入院該当年月日, YYYY-MM-DD
    pub long_term_from: Option<String>,
}

impl From<&onshi_domain::LimitCertificate> for RecordedLimitCertificate {
    fn from(c: &onshi_domain::LimitCertificate) -> Self {
        Self {
            class: c.class.into(),
            bracket: c.bracket.code().to_owned(),
            issued: c.issued.to_string(),
            valid_from: c.valid_from.to_string(),
            valid_until: c.valid_until.map(|d| d.to_string()),
            long_term_from: c.long_term_from.map(|d| d.to_string()),
        }
    }
}

/// What an insurer recorded of a member's card (被保険者証) and 高齢受給者証; absent parts were
/// not recorded.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedCard {
    /// 被保険者証区分 (OQSCD010): 01 一般, 02 退職, 03 短期・一般, 04 短期・退職, 05 資格証明書,
    /// 06 特例退職, 07 自衛官診療証
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// 交付年月日, YYYY-MM-DD
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<String>,
    /// 有効開始年月日, YYYY-MM-DD
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    /// 有効期限, YYYY-MM-DD
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// 被保険者 (世帯主) 氏名: whose card a dependant's is
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_name: Option<String>,
    /// 住所
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// 郵便番号, NNN-NNNN
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_number: Option<String>,
    /// 高齢受給者証 (ages 70–74)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_certificate: Option<RecordedElderlyCertificate>,
}

/// 高齢受給者証 as an insurer recorded it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RecordedElderlyCertificate {
    /// 交付年月日, YYYY-MM-DD
    pub issued: String,
    /// 有効開始年月日, YYYY-MM-DD
    pub valid_from: String,
    /// 有効終了年月日, YYYY-MM-DD
    pub valid_until: Option<String>,
    /// 一部負担金割合 in percent (10, 20 or 30)
    pub copay_ratio: u8,
}

impl From<&onshi_domain::CardDetails> for RecordedCard {
    fn from(c: &onshi_domain::CardDetails) -> Self {
        Self {
            class: c.class.map(|c| c.code().to_owned()),
            issued: c.issued.map(|d| d.to_string()),
            valid_from: c.valid_from.map(|d| d.to_string()),
            valid_until: c.valid_until.map(|d| d.to_string()),
            insured_name: c.insured_name.clone(),
            address: c.address.clone(),
            post_number: c.post_number.clone(),
            elderly_certificate: c.elderly.as_ref().map(|e| RecordedElderlyCertificate {
                issued: e.issued.to_string(),
                valid_from: e.valid_from.to_string(),
                valid_until: e.valid_until.map(|d| d.to_string()),
                copay_ratio: e.copay_ratio.percent(),
            }),
        }
    }
}

/// A page of members.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberPage {
    /// The members, ordered by id.
    pub items: Vec<Member>,
    /// Pass as `after` to fetch the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Every version of a member, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberHistory {
    /// The versions.
    pub versions: Vec<Member>,
}

/// The body of `POST /v1/members` (and, every field optional, of `PATCH`). Values are strings;
/// numbers are accepted where a field is numeric. Full-width digits and spaces are normalised.
/// The server reads bodies field by field (to name unknown fields and tell `null` from absent);
/// this type is what a client sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MemberBody {
    /// 保険者番号 (optional: defaults to the caller's; another insurer's is refused)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurer_number: Option<String>,
    /// 記号 (may be empty)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// 番号
    pub number: String,
    /// 枝番, 2 digits (empty only for 後期高齢者)
    pub branch: String,
    /// 氏名 (full-width letters and digits are folded; a full-width space between family and
    /// given name is kept as sent)
    pub name: String,
    /// カナ氏名 (katakana)
    pub name_kana: String,
    /// 生年月日, YYYY-MM-DD or YYYYMMDD
    pub birth_date: String,
    /// 性別: 1 男, 2 女, 3 未設定
    pub sex: String,
    /// 1 本人, 2 家族
    pub relationship: String,
    /// 資格取得年月日
    pub qualified_from: String,
    /// 資格喪失年月日 (optional)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualified_until: Option<String>,
    /// 一部負担金割合: 10, 20 or 30
    pub copay_ratio: String,
    /// 個人番号, 12 digits (optional; kept only as a keyed hash, never returned)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub my_number: Option<String>,
    /// 資格喪失事由: 01, 02, 03 or 99 (only with qualified_until)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_reason: Option<String>,
    /// 限度額適用認定証区分: 01, 02 or 03 (the `limit_*` fields are all empty or give a certificate)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_class: Option<String>,
    /// 適用区分: A01–A06, B01–B10
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_bracket: Option<String>,
    /// 交付年月日 (default: limit_valid_from)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_issued: Option<String>,
    /// 有効開始年月日
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_valid_from: Option<String>,
    /// 有効終了年月日
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_valid_until: Option<String>,
    /// 長期入院該当年月日
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_long_term_from: Option<String>,
    /// 被保険者証区分 (OQSCD010): 01–07 (results say 01 when none is recorded)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_class: Option<String>,
    /// 被保険者証 交付年月日
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_issued: Option<String>,
    /// 被保険者証 有効開始年月日 (results say qualified_from when none is recorded)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_valid_from: Option<String>,
    /// 被保険者証 有効期限
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card_valid_until: Option<String>,
    /// 被保険者 (世帯主) 氏名, for a dependant
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insured_name: Option<String>,
    /// 住所
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// 郵便番号: seven digits, with or without the hyphen
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_number: Option<String>,
    /// 高齢受給者証 交付年月日 (default: elderly_valid_from)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_issued: Option<String>,
    /// 高齢受給者証 有効開始年月日 (the member is 70–74 on it; not under 後期高齢者医療)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_valid_from: Option<String>,
    /// 高齢受給者証 有効終了年月日
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_valid_until: Option<String>,
    /// 高齢受給者証 一部負担金割合: 10, 20 or 30
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elderly_copay_ratio: Option<String>,
    /// 事業所コード: the employer the member works for (a dependant: the insured person's),
    /// the insurer's code of 1–16 letters, digits or hyphens
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    /// PATCH only: the version being changed (or send `If-Match`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// The body of `POST /v1/members/{id}/end`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EndBody {
    /// 資格喪失年月日: the last day the qualification covers
    pub qualified_until: String,
    /// 資格喪失事由: 01 死亡, 02 生活保護, 03 他の保険の資格取得, 99 その他
    pub loss_reason: String,
    /// The version being ended (or send `If-Match`)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

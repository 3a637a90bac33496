//! What is printed on a member's insurance card (被保険者証) beyond its key, and the
//! 高齢受給者証 of members aged 70 to 74: the facts a facility's receipt computer reads from every
//! real result (`InsuredCardClassification`, `InsuredCardValidDate`, `InsuredName`, `Address`,
//! `ElderlyRecipientCertificateInfo`, …). Every part is optional; an insurer records what its own
//! system holds.

use std::fmt;

use time::Date;

use crate::error::FieldError;
use crate::member::{CopayRatio, parse_date};
use crate::text::{normalize, normalize_compact, normalize_name};

/// 被保険者証区分 (OQSCD010): which kind of card the member holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardClass {
    /// 01 被保険者証（一般）
    General,
    /// 02 被保険者証（退職）
    Retired,
    /// 03 短期被保険者証（一般）
    ShortTerm,
    /// 04 短期被保険者証（退職）
    ShortTermRetired,
    /// 05 被保険者資格証明書
    QualificationCertificate,
    /// 06 特例退職被保険者証
    SpecialRetired,
    /// 07 自衛官診療証
    SelfDefenseForces,
}

const CARD_CLASSES: [(CardClass, &str); 7] = [
    (CardClass::General, "01"),
    (CardClass::Retired, "02"),
    (CardClass::ShortTerm, "03"),
    (CardClass::ShortTermRetired, "04"),
    (CardClass::QualificationCertificate, "05"),
    (CardClass::SpecialRetired, "06"),
    (CardClass::SelfDefenseForces, "07"),
];

impl CardClass {
    /// Reads `01`–`07` (also without the leading zero).
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input);
        let s = if s.len() == 1 { format!("0{s}") } else { s };
        CARD_CLASSES
            .iter()
            .find(|(_, code)| *code == s)
            .map(|(class, _)| *class)
            .ok_or_else(|| {
                "must be 01 (一般), 02 (退職), 03 (短期・一般), 04 (短期・退職), 05 (資格証明書), \
                 06 (特例退職) or 07 (自衛官診療証)"
                    .into()
            })
    }
    /// The interface code.
    pub fn code(self) -> &'static str {
        CARD_CLASSES
            .iter()
            .find(|(class, _)| *class == self)
            .map_or("01", |(_, code)| code)
    }
}

/// 高齢受給者証: the certificate of a member aged 70 to 74 that sets their copay (2 or 3 割,
/// 1 割 under the old special measure).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ElderlyCertificate {
    /// 交付年月日
    pub issued: Date,
    /// 有効開始年月日
    pub valid_from: Date,
    /// 有効終了年月日 (none: until the member turns 75)
    pub valid_until: Option<Date>,
    /// 一部負担金割合 on the certificate
    pub copay_ratio: CopayRatio,
}

/// What the insurer recorded of a member's card. Its `Debug` is redacted: it holds an address
/// and a name.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct CardDetails {
    /// 被保険者証区分 (none recorded: the result says 01 一般)
    pub class: Option<CardClass>,
    /// 交付年月日 (`InsuredCertificateIssuanceDate`)
    pub issued: Option<Date>,
    /// 有効開始年月日 (`InsuredCardValidDate`; none recorded: the qualification's start)
    pub valid_from: Option<Date>,
    /// 有効期限 (`InsuredCardExpirationDate`)
    pub valid_until: Option<Date>,
    /// 被保険者氏名 or 世帯主氏名 (`InsuredName`): for a dependant, whose card it is
    pub insured_name: Option<String>,
    /// 住所 (`Address`)
    pub address: Option<String>,
    /// 郵便番号 (`PostNumber`), `NNN-NNNN`
    pub post_number: Option<String>,
    /// 高齢受給者証 (`ElderlyRecipientCertificateInfo`)
    pub elderly: Option<ElderlyCertificate>,
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CardDetails(<redacted>)")
    }
}

/// Separates the parts of the stored form: a control character, which no validated part can
/// contain (names and addresses refuse control characters).
const SEP: char = '\u{1f}';
const STORED_PARTS: usize = 11;

impl CardDetails {
    /// Whether nothing is recorded (stored as NULL).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The stored form: one text column of eleven parts separated by U+001F (class code, issued,
    /// valid from, valid until, insured name, address, post number, then the 高齢受給者証's
    /// issued, from, until and ratio), ISO dates, empty parts for what is not recorded. The
    /// registry never filters on these, so one column keeps every statement that copies
    /// versions unchanged in shape (as the 限度額 certificate's column does).
    pub fn to_stored(&self) -> String {
        let date = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
        let e = self.elderly.as_ref();
        [
            self.class.map(|c| c.code().to_owned()).unwrap_or_default(),
            date(self.issued),
            date(self.valid_from),
            date(self.valid_until),
            self.insured_name.clone().unwrap_or_default(),
            self.address.clone().unwrap_or_default(),
            self.post_number.clone().unwrap_or_default(),
            date(e.map(|e| e.issued)),
            date(e.map(|e| e.valid_from)),
            date(e.and_then(|e| e.valid_until)),
            e.map(|e| e.copay_ratio.percent().to_string())
                .unwrap_or_default(),
        ]
        .join(&SEP.to_string())
    }

    /// Reads [`Self::to_stored`]'s form back.
    pub fn from_stored(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(SEP).collect();
        if parts.len() != STORED_PARTS {
            return Err(format!("card details: expected {STORED_PARTS} parts"));
        }
        let date = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                parse_date(s).map(Some)
            }
        };
        let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let elderly = match (date(parts[8])?, parts[10]) {
            (Some(valid_from), ratio) if !ratio.is_empty() => Some(ElderlyCertificate {
                issued: date(parts[7])?.unwrap_or(valid_from),
                valid_from,
                valid_until: date(parts[9])?,
                copay_ratio: CopayRatio::parse(ratio)?,
            }),
            _ => None,
        };
        Ok(Self {
            class: text(parts[0]).map(|c| CardClass::parse(&c)).transpose()?,
            issued: date(parts[1])?,
            valid_from: date(parts[2])?,
            valid_until: date(parts[3])?,
            insured_name: text(parts[4]),
            address: text(parts[5]),
            post_number: text(parts[6]),
            elderly,
        })
    }
}

/// The raw text of a card as an insurer sends it (the card columns of a member file, the same
/// members of the JSON API). All empty means nothing is recorded.
#[derive(Debug, Default, Clone, Copy)]
pub struct CardInput<'a> {
    /// `card_class`: 01–07
    pub class: &'a str,
    /// `card_issued`
    pub issued: &'a str,
    /// `card_valid_from`
    pub valid_from: &'a str,
    /// `card_valid_until`
    pub valid_until: &'a str,
    /// `insured_name`
    pub insured_name: &'a str,
    /// `address`
    pub address: &'a str,
    /// `post_number`: 7 digits, with or without the hyphen
    pub post_number: &'a str,
    /// `elderly_issued` (default: `elderly_valid_from`)
    pub elderly_issued: &'a str,
    /// `elderly_valid_from`
    pub elderly_valid_from: &'a str,
    /// `elderly_valid_until`
    pub elderly_valid_until: &'a str,
    /// `elderly_copay_ratio`: 10, 20 or 30
    pub elderly_copay_ratio: &'a str,
}

/// The member-file columns of a card, in the order of [`CardInput`]'s fields.
pub const CARD_COLUMNS: [&str; 11] = [
    "card_class",
    "card_issued",
    "card_valid_from",
    "card_valid_until",
    "insured_name",
    "address",
    "post_number",
    "elderly_issued",
    "elderly_valid_from",
    "elderly_valid_until",
    "elderly_copay_ratio",
];

const ADDRESS_MAX: usize = 200;
const NAME_MAX: usize = 100;

fn free_text(max: usize) -> impl Fn(&str) -> Result<String, String> {
    text_of(max, normalize)
}

fn text_of(max: usize, fold: fn(&str) -> String) -> impl Fn(&str) -> Result<String, String> {
    move |input| {
        let s = fold(input);
        if s.chars().count() > max {
            return Err(format!("must be at most {max} characters"));
        }
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if s.chars().any(crate::text::is_invisible_format) {
            return Err(
                "must not contain invisible formatting characters (zero-width, bidirectional, BOM)"
                    .into(),
            );
        }
        Ok(s)
    }
}

/// Reads a 郵便番号: seven digits, with or without the hyphen after the third; written
/// `NNN-NNNN`.
pub fn parse_post_number(input: &str) -> Result<String, String> {
    let s = normalize_compact(input).replace(['-', 'ー', '−'], "");
    if s.len() == 7 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("{}-{}", &s[..3], &s[3..]))
    } else {
        Err("must be seven digits (NNN-NNNN)".into())
    }
}

fn optional<T>(
    errors: &mut Vec<FieldError>,
    field: &str,
    input: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    if normalize_compact(input).is_empty() {
        return None;
    }
    parse(input)
        .map_err(|reason| errors.push(FieldError::new(field, reason)))
        .ok()
}

impl<'a> CardInput<'a> {
    /// From the eleven column values in [`CARD_COLUMNS`] order.
    pub fn from_columns(v: [&'a str; 11]) -> Self {
        Self {
            class: v[0],
            issued: v[1],
            valid_from: v[2],
            valid_until: v[3],
            insured_name: v[4],
            address: v[5],
            post_number: v[6],
            elderly_issued: v[7],
            elderly_valid_from: v[8],
            elderly_valid_until: v[9],
            elderly_copay_ratio: v[10],
        }
    }

    /// The eleven values in [`CARD_COLUMNS`] order.
    pub fn columns(&self) -> [&'a str; 11] {
        [
            self.class,
            self.issued,
            self.valid_from,
            self.valid_until,
            self.insured_name,
            self.address,
            self.post_number,
            self.elderly_issued,
            self.elderly_valid_from,
            self.elderly_valid_until,
            self.elderly_copay_ratio,
        ]
    }

    /// Validates each part on its own, every error naming its column. The rules that involve the
    /// member (dates against the qualification, the 高齢受給者証 against age and insurer) are
    /// [`crate::MemberDetails::check_consistency`]'s.
    pub fn validate(&self) -> Result<CardDetails, Vec<FieldError>> {
        let mut errors = Vec::new();
        let e = &mut errors;
        let class = optional(e, "card_class", self.class, CardClass::parse);
        let issued = optional(e, "card_issued", self.issued, parse_date);
        let valid_from = optional(e, "card_valid_from", self.valid_from, parse_date);
        let valid_until = optional(e, "card_valid_until", self.valid_until, parse_date);
        let insured_name = optional(
            e,
            "insured_name",
            self.insured_name,
            text_of(NAME_MAX, normalize_name),
        );
        let address = optional(e, "address", self.address, free_text(ADDRESS_MAX));
        let post_number = optional(e, "post_number", self.post_number, parse_post_number);
        let elderly_given = [
            self.elderly_issued,
            self.elderly_valid_from,
            self.elderly_valid_until,
            self.elderly_copay_ratio,
        ]
        .iter()
        .any(|s| !normalize_compact(s).is_empty());
        let elderly_issued = optional(e, "elderly_issued", self.elderly_issued, parse_date);
        let elderly_from = optional(e, "elderly_valid_from", self.elderly_valid_from, parse_date);
        let elderly_until = optional(
            e,
            "elderly_valid_until",
            self.elderly_valid_until,
            parse_date,
        );
        let elderly_ratio = optional(
            e,
            "elderly_copay_ratio",
            self.elderly_copay_ratio,
            CopayRatio::parse,
        );
        let mut elderly = None;
        if elderly_given {
            if normalize_compact(self.elderly_valid_from).is_empty() {
                e.push(FieldError::new(
                    "elderly_valid_from",
                    "is required with a 高齢受給者証",
                ));
            }
            if normalize_compact(self.elderly_copay_ratio).is_empty() {
                e.push(FieldError::new(
                    "elderly_copay_ratio",
                    "is required with a 高齢受給者証",
                ));
            }
            if let (Some(from), Some(ratio)) = (elderly_from, elderly_ratio) {
                if elderly_until.is_some_and(|u| u < from) {
                    e.push(FieldError::new(
                        "elderly_valid_until",
                        "must not be before elderly_valid_from",
                    ));
                }
                elderly = Some(ElderlyCertificate {
                    issued: elderly_issued.unwrap_or(from),
                    valid_from: from,
                    valid_until: elderly_until,
                    copay_ratio: ratio,
                });
            }
        }
        if let (Some(from), Some(until)) = (valid_from, valid_until)
            && until < from
        {
            e.push(FieldError::new(
                "card_valid_until",
                "must not be before card_valid_from",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(CardDetails {
            class,
            issued,
            valid_from,
            valid_until,
            insured_name,
            address,
            post_number,
            elderly,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn full() -> CardInput<'static> {
        CardInput {
            class: "1",
            issued: "2019-10-01",
            valid_from: "20191001",
            valid_until: "",
            insured_name: "診療　一郎",
            address: "東京都千代田区霞が関１－２－２",
            post_number: "１００８９１６",
            elderly_issued: "",
            elderly_valid_from: "20240801",
            elderly_valid_until: "20290731",
            elderly_copay_ratio: "20",
        }
    }

    #[test]
    fn a_card_is_read_normalised_and_round_trips() {
        let c = full().validate().unwrap();
        assert_eq!(c.class, Some(CardClass::General));
        assert_eq!(c.post_number.as_deref(), Some("100-8916"));
        assert_eq!(c.insured_name.as_deref(), Some("診療\u{3000}一郎"));
        assert_eq!(c.address.as_deref(), Some("東京都千代田区霞が関1-2-2"));
        let e = c.elderly.as_ref().unwrap();
        assert_eq!(e.issued, date!(2024 - 08 - 01));
        assert_eq!(e.copay_ratio.percent(), 20);
        assert_eq!(CardDetails::from_stored(&c.to_stored()).unwrap(), c);
        let empty = CardInput::default().validate().unwrap();
        assert!(empty.is_empty());
        assert_eq!(CardDetails::from_stored(&empty.to_stored()).unwrap(), empty);
    }

    #[test]
    fn every_bad_part_is_named() {
        let errors = CardInput {
            class: "08",
            valid_from: "20200101",
            valid_until: "20191231",
            post_number: "100-891",
            address: "a\u{7}b",
            elderly_valid_from: "",
            elderly_copay_ratio: "40",
            ..full()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "card_class",
                "address",
                "post_number",
                "elderly_copay_ratio",
                "elderly_valid_from",
                "card_valid_until"
            ]
        );
        let errors = CardInput {
            elderly_valid_from: "",
            elderly_copay_ratio: "",
            elderly_valid_until: "20290731",
            ..CardInput::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["elderly_valid_from", "elderly_copay_ratio"]);
    }

    #[test]
    fn the_stored_form_refuses_damage() {
        assert!(CardDetails::from_stored("01").is_err());
        let mut parts = [""; STORED_PARTS];
        parts[0] = "09";
        assert!(CardDetails::from_stored(&parts.join("\u{1f}")).is_err());
    }

    #[test]
    fn debug_is_redacted() {
        let c = full().validate().unwrap();
        assert!(!format!("{c:?}").contains("東京"));
    }
}

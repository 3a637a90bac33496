//! 限度額適用認定証 and its variants: the certificate that caps what a patient pays in a month
//! (高額療養費の現物給付). Insurers record it on a member; a facility sees it only when the patient
//! has consented (`LimitApplicationCertificateRelatedConsFlg` = 1).
//!
//! The codes are the interface's: the certificate's kind is OQSCD011 and the income bracket
//! (適用区分) is OQSCD012.

use std::fmt;

use time::Date;

use crate::error::FieldError;
use crate::member::parse_date;
use crate::text::normalize_compact;

/// 限度額適用認定証区分 (OQSCD011): which certificate it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitClass {
    /// 01 限度額適用認定証
    Limit,
    /// 02 限度額適用・標準負担額減額認定証 (also lowers the meal charge; low-income households)
    LimitAndMealReduction,
    /// 03 標準負担額減額認定証 (meal charge only)
    MealReduction,
}

impl LimitClass {
    /// Reads `01`/`02`/`03` (also without the leading zero).
    pub fn parse(input: &str) -> Result<Self, String> {
        match normalize_compact(input).as_str() {
            "01" | "1" => Ok(Self::Limit),
            "02" | "2" => Ok(Self::LimitAndMealReduction),
            "03" | "3" => Ok(Self::MealReduction),
            _ => Err(
                "must be 01 (限度額適用認定証), 02 (限度額適用・標準負担額減額認定証) or 03 (標準負担額減額認定証)"
                    .into(),
            ),
        }
    }
    /// The interface code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Limit => "01",
            Self::LimitAndMealReduction => "02",
            Self::MealReduction => "03",
        }
    }
}

/// 適用区分 (OQSCD012): the income bracket that sets the monthly limit. `A…` are the brackets
/// under 70 (ア–オ), `B…` those from 70 (現役並み, 一般, 低所得).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimitBracket(&'static str);

/// Every bracket code with its label.
pub const LIMIT_BRACKETS: [(&str, &str); 16] = [
    ("A01", "ア"),
    ("A02", "イ"),
    ("A03", "ウ"),
    ("A04", "エ"),
    ("A05", "オ"),
    ("A06", "オ（境）"),
    ("B01", "現役並みⅢ"),
    ("B02", "現役並みⅡ"),
    ("B03", "現役並みⅠ"),
    ("B04", "一般"),
    ("B05", "低所得Ⅱ"),
    ("B06", "低所得Ⅰ"),
    ("B07", "低所得Ⅰ（老福）"),
    ("B08", "低所得Ⅰ（境）"),
    ("B09", "一般Ⅱ"),
    ("B10", "一般Ⅰ"),
];

/// The brackets of households exempt from residence tax (住民税非課税), the only ones a
/// 標準負担額減額 certificate (02, 03) is issued for.
const LOW_INCOME: [&str; 6] = ["A05", "A06", "B05", "B06", "B07", "B08"];

impl LimitBracket {
    /// Reads a code `A01`–`A06` or `B01`–`B10` (case and width folded).
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input).to_ascii_uppercase();
        LIMIT_BRACKETS
            .iter()
            .find(|(code, _)| *code == s)
            .map(|(code, _)| Self(code))
            .ok_or_else(|| "must be a bracket code A01–A06 or B01–B10 (OQSCD012)".into())
    }
    /// The interface code.
    pub fn code(self) -> &'static str {
        self.0
    }
    /// The bracket's name (ア, 一般Ⅱ, …).
    pub fn label(self) -> &'static str {
        LIMIT_BRACKETS
            .iter()
            .find(|(code, _)| *code == self.0)
            .map_or("", |(_, label)| label)
    }
    fn is_low_income(self) -> bool {
        LOW_INCOME.contains(&self.0)
    }
}

/// One 限度額適用認定証 as the insurer issued it. Its `Debug` is redacted: the bracket tells a
/// household's income.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct LimitCertificate {
    /// 限度額適用認定証区分 (OQSCD011)
    pub class: LimitClass,
    /// 適用区分 (OQSCD012)
    pub bracket: LimitBracket,
    /// 交付年月日
    pub issued: Date,
    /// 有効開始年月日
    pub valid_from: Date,
    /// 有効終了年月日 (none: until further notice)
    pub valid_until: Option<Date>,
    /// 長期入院該当年月日 (low-income patients with more than 90 days in hospital in a year)
    pub long_term_from: Option<Date>,
}

impl fmt::Debug for LimitCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LimitCertificate(<redacted>)")
    }
}

impl LimitCertificate {
    /// Whether the certificate is in force on `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.valid_from <= date && self.valid_until.is_none_or(|u| date <= u)
    }

    /// The stored form: one text column, `class|bracket|issued|from|until|long_term` with ISO
    /// dates and empty optional parts. The registry never filters on it, so one column keeps
    /// every statement that copies versions unchanged in shape.
    pub fn to_stored(&self) -> String {
        let opt = |d: Option<Date>| d.map(|d| d.to_string()).unwrap_or_default();
        format!(
            "{}|{}|{}|{}|{}|{}",
            self.class.code(),
            self.bracket.code(),
            self.issued,
            self.valid_from,
            opt(self.valid_until),
            opt(self.long_term_from)
        )
    }

    /// Reads [`Self::to_stored`]'s form back.
    pub fn from_stored(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split('|').collect();
        let [class, bracket, issued, from, until, long_term] = parts.as_slice() else {
            return Err("limit certificate: expected 6 parts".into());
        };
        let opt = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                parse_date(s).map(Some)
            }
        };
        Ok(Self {
            class: LimitClass::parse(class)?,
            bracket: LimitBracket::parse(bracket)?,
            issued: parse_date(issued)?,
            valid_from: parse_date(from)?,
            valid_until: opt(until)?,
            long_term_from: opt(long_term)?,
        })
    }
}

/// The raw text of a certificate as an insurer sends it (the `limit_*` columns of a member file,
/// the same members of the JSON API). All empty means the member has no certificate.
#[derive(Debug, Default, Clone, Copy)]
pub struct LimitInput<'a> {
    /// `limit_class`: 01, 02 or 03
    pub class: &'a str,
    /// `limit_bracket`: A01–A06, B01–B10
    pub bracket: &'a str,
    /// `limit_issued`: 交付年月日 (default: `limit_valid_from`)
    pub issued: &'a str,
    /// `limit_valid_from`
    pub valid_from: &'a str,
    /// `limit_valid_until` (may be empty)
    pub valid_until: &'a str,
    /// `limit_long_term_from` (may be empty)
    pub long_term_from: &'a str,
}

/// The member-file columns of a certificate, in the order of [`LimitInput`]'s fields.
pub const LIMIT_COLUMNS: [&str; 6] = [
    "limit_class",
    "limit_bracket",
    "limit_issued",
    "limit_valid_from",
    "limit_valid_until",
    "limit_long_term_from",
];

impl<'a> LimitInput<'a> {
    /// From the six column values in [`LIMIT_COLUMNS`] order.
    pub fn from_columns(v: [&'a str; 6]) -> Self {
        Self {
            class: v[0],
            bracket: v[1],
            issued: v[2],
            valid_from: v[3],
            valid_until: v[4],
            long_term_from: v[5],
        }
    }

    /// The six values in [`LIMIT_COLUMNS`] order.
    pub fn columns(&self) -> [&'a str; 6] {
        [
            self.class,
            self.bracket,
            self.issued,
            self.valid_from,
            self.valid_until,
            self.long_term_from,
        ]
    }

    /// Validates the certificate: `Ok(None)` when every part is empty; otherwise class, bracket
    /// and start are required and every error names its column.
    pub fn validate(&self) -> Result<Option<LimitCertificate>, Vec<FieldError>> {
        if self.columns().iter().all(|s| is_empty(s)) {
            return Ok(None);
        }
        let mut errors = Vec::new();
        let class = required(&mut errors, "limit_class", self.class, LimitClass::parse);
        let bracket = required(
            &mut errors,
            "limit_bracket",
            self.bracket,
            LimitBracket::parse,
        );
        let valid_from = required(&mut errors, "limit_valid_from", self.valid_from, parse_date);
        let issued = optional(&mut errors, "limit_issued", self.issued, parse_date);
        let valid_until = optional(
            &mut errors,
            "limit_valid_until",
            self.valid_until,
            parse_date,
        );
        let long_term_from = optional(
            &mut errors,
            "limit_long_term_from",
            self.long_term_from,
            parse_date,
        );
        let (
            Some(class),
            Some(bracket),
            Some(valid_from),
            Some(issued),
            Some(valid_until),
            Some(long_term_from),
        ) = (
            class,
            bracket,
            valid_from,
            issued,
            valid_until,
            long_term_from,
        )
        else {
            return Err(errors);
        };
        if valid_until.is_some_and(|u| u < valid_from) {
            errors.push(FieldError::new(
                "limit_valid_until",
                "must not be before limit_valid_from",
            ));
        }
        if class != LimitClass::Limit && !bracket.is_low_income() {
            errors.push(FieldError::new(
                "limit_bracket",
                format!(
                    "a 標準負担額減額 certificate (class {}) is only issued for the low-income brackets {}",
                    class.code(),
                    LOW_INCOME.join(", ")
                ),
            ));
        }
        if errors.is_empty() {
            Ok(Some(LimitCertificate {
                class,
                bracket,
                issued: issued.unwrap_or(valid_from),
                valid_from,
                valid_until,
                long_term_from,
            }))
        } else {
            Err(errors)
        }
    }
}

fn is_empty(s: &str) -> bool {
    normalize_compact(s).is_empty()
}

/// Parses a part that must be present, recording what is wrong under `name`.
fn required<T>(
    errors: &mut Vec<FieldError>,
    name: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<T> {
    if is_empty(value) {
        errors.push(FieldError::new(
            name,
            "is required when a 限度額適用認定証 is given",
        ));
        return None;
    }
    parse(value)
        .map_err(|reason| errors.push(FieldError::new(name, reason)))
        .ok()
}

/// Parses a part that may be empty: `Some(None)` when empty, `None` when wrong.
fn optional<T>(
    errors: &mut Vec<FieldError>,
    name: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Option<Option<T>> {
    if is_empty(value) {
        Some(None)
    } else {
        required(errors, name, value, parse).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> LimitInput<'static> {
        LimitInput {
            class: "01",
            bracket: "a03",
            issued: "",
            valid_from: "2026-04-01",
            valid_until: "20270331",
            long_term_from: "",
        }
    }

    #[test]
    fn empty_means_no_certificate() {
        assert_eq!(LimitInput::default().validate().unwrap(), None);
        assert_eq!(
            LimitInput {
                class: " ",
                ..LimitInput::default()
            }
            .validate()
            .unwrap(),
            None
        );
    }

    #[test]
    fn a_certificate_round_trips_through_its_stored_form() {
        let c = input().validate().unwrap().unwrap();
        assert_eq!(c.bracket.code(), "A03");
        assert_eq!(c.bracket.label(), "ウ");
        assert_eq!(
            c.issued,
            date!(2026 - 04 - 01),
            "issued defaults to the start"
        );
        assert!(c.covers(date!(2027 - 03 - 31)));
        assert!(!c.covers(date!(2027 - 04 - 01)));
        assert!(!c.covers(date!(2026 - 03 - 31)));
        assert_eq!(c.to_stored(), "01|A03|2026-04-01|2026-04-01|2027-03-31|");
        assert_eq!(LimitCertificate::from_stored(&c.to_stored()).unwrap(), c);
        assert!(LimitCertificate::from_stored("01|A03").is_err());
        assert_eq!(format!("{c:?}"), "LimitCertificate(<redacted>)");
    }

    #[test]
    fn every_problem_names_its_column() {
        let partial = LimitInput {
            bracket: "B04",
            ..LimitInput::default()
        };
        let fields: Vec<String> = partial
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["limit_class", "limit_valid_from"]);

        let bad = LimitInput {
            class: "04",
            bracket: "C01",
            valid_from: "2026-02-30",
            long_term_from: "x",
            ..LimitInput::default()
        };
        let mut fields: Vec<String> = bad
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "limit_bracket",
                "limit_class",
                "limit_long_term_from",
                "limit_valid_from"
            ]
        );

        let backwards = LimitInput {
            valid_until: "2026-03-31",
            ..input()
        };
        assert_eq!(
            backwards.validate().unwrap_err()[0].field,
            "limit_valid_until"
        );
    }

    #[test]
    fn meal_reduction_needs_a_low_income_bracket() {
        let general = LimitInput {
            class: "02",
            bracket: "B04",
            ..input()
        };
        let e = general.validate().unwrap_err();
        assert_eq!(e[0].field, "limit_bracket");
        let low = LimitInput {
            class: "02",
            bracket: "B05",
            ..input()
        };
        assert_eq!(
            low.validate().unwrap().unwrap().class,
            LimitClass::LimitAndMealReduction
        );
    }
}

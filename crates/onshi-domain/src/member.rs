//! A member's qualification (資格情報): who is insured, by whom, under which card, for which period.
//!
//! A member is identified within its insurer by the card key ([`MemberKey`]: 記号・番号・枝番).
//! What the insurer says about the member ([`MemberDetails`]) changes over time; the registry keeps
//! every version and never overwrites one.

use std::fmt;

use aws_lc_rs::digest;
use time::Date;

use crate::card::{CardDetails, CardInput};
use crate::employer::EmployerCode;
use crate::error::FieldError;
use crate::ids::{
    BranchNumber, CardNumber, CardSymbol, InsurerKind, InsurerNumber, MyNumber, PersonRef,
};
use crate::limit::{LimitCertificate, LimitInput};
use crate::text::{
    is_invisible_format, is_kana_name_char, normalize, normalize_compact, normalize_name,
};

/// A value that is personal data: it serialises as itself (for the people allowed to see it) but
/// its `Debug` is redacted, so it cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Personal<T>(pub T);

impl<T> fmt::Debug for Personal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// 性別 as on the card: the interface's codes 1 男, 2 女, 3 未設定.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    /// 1 男
    Male,
    /// 2 女
    Female,
    /// 3 未設定
    Unset,
}

impl Sex {
    /// Reads `1`/`2`/`3`, `M`/`F`, `male`/`female`/`unset` or 男/女/未設定.
    pub fn parse(input: &str) -> Result<Self, String> {
        match normalize_compact(input).to_ascii_lowercase().as_str() {
            "1" | "m" | "male" | "男" => Ok(Self::Male),
            "2" | "f" | "female" | "女" => Ok(Self::Female),
            "3" | "unset" | "未設定" => Ok(Self::Unset),
            _ => Err("must be 1 (男), 2 (女) or 3 (未設定)".into()),
        }
    }
    /// The interface code.
    pub fn code(self) -> u8 {
        match self {
            Self::Male => 1,
            Self::Female => 2,
            Self::Unset => 3,
        }
    }
    /// From the interface code.
    pub fn from_code(code: i64) -> Option<Self> {
        [Self::Male, Self::Female, Self::Unset]
            .into_iter()
            .find(|s| i64::from(s.code()) == code)
    }
}

/// 本人・家族区分: whether the member is the insured person or a dependant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// 1 本人 (被保険者)
    Insured,
    /// 2 家族 (被扶養者)
    Dependent,
}

impl Relationship {
    /// Reads `1`/`2`, 本人/家族, or `insured`/`self`/`dependent`/`family`.
    pub fn parse(input: &str) -> Result<Self, String> {
        match normalize_compact(input).to_ascii_lowercase().as_str() {
            "1" | "本人" | "insured" | "self" => Ok(Self::Insured),
            "2" | "家族" | "dependent" | "family" => Ok(Self::Dependent),
            _ => Err("must be 1 (本人) or 2 (家族)".into()),
        }
    }
    /// The interface code.
    pub fn code(self) -> u8 {
        match self {
            Self::Insured => 1,
            Self::Dependent => 2,
        }
    }
    /// From the interface code.
    pub fn from_code(code: i64) -> Option<Self> {
        match code {
            1 => Some(Self::Insured),
            2 => Some(Self::Dependent),
            _ => None,
        }
    }
}

/// 一部負担金割合: the share of the bill the patient pays, in percent (10, 20 or 30).
/// The interface writes it as three digits ("030").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CopayRatio(u8);

impl CopayRatio {
    /// Reads `10`, `20`, `30` (also `010`, `30%`, full-width digits).
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input);
        let s = s.strip_suffix('%').unwrap_or(&s);
        match s.parse::<u8>() {
            Ok(p) => Self::from_percent(p),
            Err(_) => Err("must be 10, 20 or 30 (percent)".into()),
        }
    }
    /// From a stored percentage.
    pub fn from_percent(p: u8) -> Result<Self, String> {
        if matches!(p, 10 | 20 | 30) {
            Ok(Self(p))
        } else {
            Err("must be 10, 20 or 30 (percent)".into())
        }
    }
    /// The percentage.
    pub fn percent(self) -> u8 {
        self.0
    }
}

/// 資格喪失事由: why a qualification ended (the interface's codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LossReason {
    /// 01 死亡
    Death,
    /// 02 生活保護受給開始
    PublicAssistance,
    /// 03 医療保険等の資格取得 (moved to another insurer)
    OtherInsurance,
    /// 99 その他
    Other,
}

impl LossReason {
    /// Reads `01`/`02`/`03`/`99` or `death`/`public_assistance`/`other_insurance`/`other`.
    pub fn parse(input: &str) -> Result<Self, String> {
        match normalize_compact(input).to_ascii_lowercase().as_str() {
            "01" | "1" | "death" => Ok(Self::Death),
            "02" | "2" | "public_assistance" => Ok(Self::PublicAssistance),
            "03" | "3" | "other_insurance" => Ok(Self::OtherInsurance),
            "99" | "other" => Ok(Self::Other),
            _ => Err("must be 01 (死亡), 02 (生活保護), 03 (他の資格取得) or 99 (その他)".into()),
        }
    }
    /// The interface code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Death => "01",
            Self::PublicAssistance => "02",
            Self::OtherInsurance => "03",
            Self::Other => "99",
        }
    }
}

/// Which member of which insurer: 保険者番号 + 記号 + 番号 + 枝番.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberKey {
    /// 保険者番号
    pub insurer: InsurerNumber,
    /// 記号 ("" when none)
    pub symbol: CardSymbol,
    /// 番号
    pub number: CardNumber,
    /// 枝番 ("" only for 後期高齢者)
    pub branch: BranchNumber,
}

/// What an insurer says about a member at one point in time: one version of the qualification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberDetails {
    /// 氏名
    pub name: Personal<String>,
    /// カナ氏名
    pub name_kana: Personal<String>,
    /// 生年月日
    pub birth_date: Personal<Date>,
    /// 性別
    pub sex: Sex,
    /// 本人・家族
    pub relationship: Relationship,
    /// 資格取得年月日
    pub qualified_from: Date,
    /// 資格喪失年月日: the last day of the qualification, if it has ended or will end.
    pub qualified_until: Option<Date>,
    /// 資格喪失事由, when the qualification has ended.
    pub loss_reason: Option<LossReason>,
    /// 一部負担金割合
    pub copay_ratio: CopayRatio,
    /// 限度額適用認定証, when the insurer issued one.
    pub limit: Option<LimitCertificate>,
    /// What is printed on the card, and the 高齢受給者証 (empty when nothing is recorded).
    pub card: CardDetails,
    /// The person behind the member across insurers, when the insurer gave a My Number.
    pub person: Option<PersonRef>,
    /// 事業所: the employer the member works for (or the insured person of a dependant works
    /// for), by the insurer's code, when the insurer records one.
    pub employer: Option<EmployerCode>,
}

impl MemberDetails {
    /// Whether the qualification covers `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.qualified_from <= date && self.qualified_until.is_none_or(|u| date <= u)
    }

    /// A digest of everything in this version, so that re-importing an unchanged member is
    /// recognised without comparing every column.
    pub fn content_hash(&self) -> String {
        use std::fmt::Write as _;
        const SEP: char = '\u{1f}';
        let mut text = String::with_capacity(192);
        // `write!` into a String cannot fail.
        // The name's spaces are hashed folded: versions recorded before names kept their
        // full-width space keep their digest, and a re-import that differs only in the width of
        // that space is "unchanged".
        let _ = write!(
            text,
            "{}{SEP}{}{SEP}{}{SEP}{}{SEP}{}{SEP}{}{SEP}",
            normalize(&self.name.0),
            self.name_kana.0,
            self.birth_date.0,
            self.sex.code(),
            self.relationship.code(),
            self.qualified_from,
        );
        if let Some(until) = self.qualified_until {
            let _ = write!(text, "{until}");
        }
        text.push(SEP);
        if let Some(reason) = self.loss_reason {
            text.push_str(reason.code());
        }
        let _ = write!(text, "{SEP}{}{SEP}", self.copay_ratio.percent());
        if let Some(person) = &self.person {
            text.push_str(person.as_str());
        }
        // Appended only when present, so versions recorded before certificates existed keep
        // their digest (and re-importing them is still "unchanged").
        if let Some(limit) = &self.limit {
            text.push(SEP);
            text.push_str(&limit.to_stored());
        }
        // Likewise the card, after a marker so that it can never read as a certificate.
        if !self.card.is_empty() {
            text.push(SEP);
            text.push_str("card");
            text.push(SEP);
            text.push_str(&self.card.to_stored());
        }
        // Likewise the employer, after its own marker.
        if let Some(employer) = &self.employer {
            text.push(SEP);
            text.push_str("employer");
            text.push(SEP);
            text.push_str(employer.as_str());
        }
        let d = digest::digest(&digest::SHA256, text.as_bytes());
        hex::encode(&d.as_ref()[..16])
    }

    /// The rules that involve more than one field. Errors name the field to fix.
    pub fn check_consistency(&self, key: &MemberKey) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(until) = self.qualified_until
            && until < self.qualified_from
        {
            errors.push(FieldError::new(
                "qualified_until",
                "must not be before qualified_from",
            ));
        }
        if self.qualified_from < self.birth_date.0 {
            errors.push(FieldError::new(
                "qualified_from",
                "must not be before birth_date",
            ));
        }
        if self.loss_reason.is_some() && self.qualified_until.is_none() {
            errors.push(FieldError::new(
                "loss_reason",
                "is only allowed with qualified_until",
            ));
        }
        if let Some(limit) = &self.limit
            && limit.valid_from < self.qualified_from
        {
            errors.push(FieldError::new(
                "limit_valid_from",
                "must not be before qualified_from",
            ));
        }
        if let Some(from) = self.card.valid_from
            && from < self.qualified_from
        {
            errors.push(FieldError::new(
                "card_valid_from",
                "must not be before qualified_from",
            ));
        }
        if let Some(e) = &self.card.elderly {
            if key.insurer.kind() == InsurerKind::LateStageElderly {
                errors.push(FieldError::new(
                    "elderly_valid_from",
                    "a 高齢受給者証 is not issued under 後期高齢者医療",
                ));
            } else if !(70..=74).contains(&age_on(self.birth_date.0, e.valid_from)) {
                errors.push(FieldError::new(
                    "elderly_valid_from",
                    "a 高齢受給者証 is only for ages 70 to 74",
                ));
            }
        }
        if key.branch.is_empty() && key.insurer.kind() != InsurerKind::LateStageElderly {
            errors.push(FieldError::new(
                "branch",
                "is required (only 後期高齢者 cards have no 枝番)",
            ));
        }
        errors
    }
}

/// The fiscal year (年度, April to March) of `date`.
pub fn fiscal_year(date: Date) -> i32 {
    if date.month() >= time::Month::April {
        date.year()
    } else {
        date.year() - 1
    }
}

/// The age at the end of the fiscal year of `date` (31 March), as 特定健診 counts it.
pub fn age_at_fiscal_year_end(birth: Date, date: Date) -> i32 {
    let end =
        Date::from_calendar_date(fiscal_year(date) + 1, time::Month::March, 31).unwrap_or(date);
    age_on(birth, end)
}

/// A person's age on `date`, as Japanese law counts it (年齢計算ニ関スル法律): a year is reached
/// at the end of the day before the birthday, so someone born on 1 April turns 6 on 31 March.
pub fn age_on(birth: Date, date: Date) -> i32 {
    let years = date.year() - birth.year();
    // The day the person reaches `years`: the day before the anniversary (for 29 February in a
    // common year, the anniversary is 1 March, so the day reached is 28 February).
    let anniversary = Date::from_calendar_date(birth.year() + years, birth.month(), birth.day())
        .or_else(|_| Date::from_calendar_date(birth.year() + years, time::Month::March, 1));
    match anniversary.map(|a| a.previous_day()) {
        Ok(Some(reached)) if date < reached => years - 1,
        _ => years,
    }
}

/// 未就学: whether a child is before school age on `date`, i.e. on or before the first 31 March
/// after reaching 6 (which decides the 2 割 copay of small children).
pub fn is_preschool(birth: Date, date: Date) -> bool {
    let Ok(sixth) = Date::from_calendar_date(birth.year() + 6, birth.month(), birth.day())
        .or_else(|_| Date::from_calendar_date(birth.year() + 6, time::Month::March, 1))
    else {
        return false;
    };
    let reached = sixth.previous_day().unwrap_or(sixth);
    let march_31 = |year| Date::from_calendar_date(year, time::Month::March, 31);
    let end = match march_31(reached.year()) {
        Ok(m) if reached <= m => Ok(m),
        _ => march_31(reached.year() + 1),
    };
    end.is_ok_and(|end| date <= end)
}

/// Parses a date written `YYYY-MM-DD` or `YYYYMMDD` (full-width digits allowed).
pub fn parse_date(input: &str) -> Result<Date, String> {
    let s = normalize_compact(input);
    let digits: String = match s.len() {
        10 if s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-' => s.replace('-', ""),
        8 => s,
        _ => return Err("must be a date as YYYY-MM-DD or YYYYMMDD".into()),
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() != 8 {
        return Err("must be a date as YYYY-MM-DD or YYYYMMDD".into());
    }
    let num = |r: std::ops::Range<usize>| digits[r].parse::<u16>().unwrap_or(0);
    let month = time::Month::try_from(num(4..6) as u8).map_err(|_| "has no such month")?;
    Date::from_calendar_date(i32::from(num(0..4)), month, num(6..8) as u8)
        .map_err(|_| "is not a date in the calendar".to_owned())
}

/// The raw text of a member as an insurer sends it (CSV row or JSON body), before validation.
/// Field names are the CSV column names and the JSON member names.
#[derive(Debug, Default, Clone)]
pub struct MemberInput<'a> {
    /// 保険者番号
    pub insurer_number: &'a str,
    /// 記号
    pub symbol: &'a str,
    /// 番号
    pub number: &'a str,
    /// 枝番
    pub branch: &'a str,
    /// 氏名
    pub name: &'a str,
    /// カナ氏名
    pub name_kana: &'a str,
    /// 生年月日
    pub birth_date: &'a str,
    /// 性別
    pub sex: &'a str,
    /// 本人・家族
    pub relationship: &'a str,
    /// 資格取得年月日
    pub qualified_from: &'a str,
    /// 資格喪失年月日 (may be empty)
    pub qualified_until: &'a str,
    /// 一部負担金割合
    pub copay_ratio: &'a str,
    /// 個人番号 (may be empty)
    pub my_number: &'a str,
    /// 資格喪失事由 (may be empty)
    pub loss_reason: &'a str,
    /// 限度額適用認定証 (all empty: none)
    pub limit: LimitInput<'a>,
    /// The card's printed details and 高齢受給者証 (all empty: none recorded)
    pub card: CardInput<'a>,
    /// 事業所コード (may be empty)
    pub employer: &'a str,
}

/// A member input that passed validation. The My Number, if any, is still to be hashed by the
/// caller with the deployment's key (the domain holds no keys).
#[derive(Debug, Clone)]
pub struct ValidMember {
    /// The card key.
    pub key: MemberKey,
    /// The version's content (with `person` unset).
    pub details: MemberDetails,
    /// The My Number, to be turned into a [`PersonRef`].
    pub my_number: Option<MyNumber>,
}

const NAME_MAX: usize = 100;

/// A name as written: width folded and spaces collapsed, a full-width space kept (the insurer's
/// own spelling, as the terminal writes names).
fn parse_name(input: &str) -> Result<String, String> {
    let s = normalize_name(input);
    if s.is_empty() {
        return Err("is required".into());
    }
    if s.chars().count() > NAME_MAX {
        return Err(format!("must be at most {NAME_MAX} characters"));
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if s.chars().any(is_invisible_format) {
        return Err(
            "must not contain invisible formatting characters (zero-width, bidirectional, BOM)"
                .into(),
        );
    }
    Ok(s)
}

fn parse_kana(input: &str) -> Result<String, String> {
    // Kana names are written with half-width spaces (the interface's NameKana).
    let s = normalize(&parse_name(input)?);
    if !s.chars().all(is_kana_name_char) {
        return Err("must be katakana (全角 or 半角) and spaces".into());
    }
    Ok(s)
}

impl MemberInput<'_> {
    /// Only the card key (保険者番号・記号・番号・枝番), as a check by card number reads it;
    /// every wrong part is named (symbol, number and branch first, then the insurer number).
    pub fn card_key(&self) -> Result<MemberKey, Vec<FieldError>> {
        let mut errors = Vec::new();
        let symbol = CardSymbol::parse(self.symbol)
            .map_err(|r| errors.push(FieldError::new("symbol", r)))
            .ok();
        let number = CardNumber::parse(self.number)
            .map_err(|r| errors.push(FieldError::new("number", r)))
            .ok();
        let branch = BranchNumber::parse(self.branch)
            .map_err(|r| errors.push(FieldError::new("branch", r)))
            .ok();
        let insurer = InsurerNumber::parse(self.insurer_number)
            .map_err(|r| errors.push(FieldError::new("insurer_number", r)))
            .ok();
        match (insurer, symbol, number, branch) {
            (Some(insurer), Some(symbol), Some(number), Some(branch)) => Ok(MemberKey {
                insurer,
                symbol,
                number,
                branch,
            }),
            _ => Err(errors),
        }
    }

    /// Validates every field and the rules across fields, collecting every error (not just the
    /// first), each naming its field.
    pub fn validate(&self) -> Result<ValidMember, Vec<FieldError>> {
        let mut errors = Vec::new();
        macro_rules! field {
            ($name:ident, $parse:expr) => {
                match $parse(self.$name) {
                    Ok(v) => Some(v),
                    Err(reason) => {
                        errors.push(FieldError::new(stringify!($name), reason));
                        None
                    }
                }
            };
        }
        let optional = |s: &str| normalize_compact(s).is_empty();
        let insurer = field!(insurer_number, InsurerNumber::parse);
        let symbol = field!(symbol, CardSymbol::parse);
        let number = field!(number, CardNumber::parse);
        let branch = field!(branch, BranchNumber::parse);
        let name = field!(name, parse_name);
        let name_kana = field!(name_kana, parse_kana);
        let birth_date = field!(birth_date, parse_date);
        let sex = field!(sex, Sex::parse);
        let relationship = field!(relationship, Relationship::parse);
        let qualified_from = field!(qualified_from, parse_date);
        let qualified_until = if optional(self.qualified_until) {
            Some(None)
        } else {
            field!(qualified_until, parse_date).map(Some)
        };
        let copay_ratio = field!(copay_ratio, CopayRatio::parse);
        let my_number = if optional(self.my_number) {
            Some(None)
        } else {
            field!(my_number, MyNumber::parse).map(Some)
        };
        let loss_reason = if optional(self.loss_reason) {
            Some(None)
        } else {
            field!(loss_reason, LossReason::parse).map(Some)
        };
        let employer = if optional(self.employer) {
            Some(None)
        } else {
            field!(employer, EmployerCode::parse).map(Some)
        };
        let limit = self.limit.validate().map_err(|e| errors.extend(e)).ok();
        let card = self.card.validate().map_err(|e| errors.extend(e)).ok();
        let (
            Some(insurer),
            Some(symbol),
            Some(number),
            Some(branch),
            Some(name),
            Some(name_kana),
            Some(birth_date),
            Some(sex),
            Some(relationship),
            Some(qualified_from),
            Some(qualified_until),
            Some(copay_ratio),
            Some(my_number),
            Some(loss_reason),
            Some(limit),
            Some(card),
            Some(employer),
        ) = (
            insurer,
            symbol,
            number,
            branch,
            name,
            name_kana,
            birth_date,
            sex,
            relationship,
            qualified_from,
            qualified_until,
            copay_ratio,
            my_number,
            loss_reason,
            limit,
            card,
            employer,
        )
        else {
            return Err(errors);
        };
        let key = MemberKey {
            insurer,
            symbol,
            number,
            branch,
        };
        let details = MemberDetails {
            name: Personal(name),
            name_kana: Personal(name_kana),
            birth_date: Personal(birth_date),
            sex,
            relationship,
            qualified_from,
            qualified_until,
            loss_reason,
            copay_ratio,
            limit,
            card,
            person: None,
            employer,
        };
        let errors = details.check_consistency(&key);
        if errors.is_empty() {
            Ok(ValidMember {
                key,
                details,
                my_number,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn input() -> MemberInput<'static> {
        MemberInput {
            insurer_number: "01130012",
            symbol: "１２３",
            number: "4567",
            branch: "1",
            name: "山田　太郎",
            name_kana: "ヤマダ タロウ",
            birth_date: "1980-04-01",
            sex: "1",
            relationship: "本人",
            qualified_from: "20200401",
            qualified_until: "",
            copay_ratio: "30",
            my_number: "123456789018",
            loss_reason: "",
            limit: LimitInput::default(),
            card: CardInput::default(),
            employer: "",
        }
    }

    #[test]
    fn a_valid_member_is_normalised() {
        let m = input().validate().unwrap();
        assert_eq!(m.key.symbol.as_str(), "123");
        assert_eq!(m.key.branch.as_str(), "01");
        // The full-width space the insurer wrote is kept.
        assert_eq!(m.details.name.0, "山田\u{3000}太郎");
        assert_eq!(m.details.qualified_from, date!(2020 - 04 - 01));
        assert!(m.my_number.is_some());
        assert!(m.details.covers(date!(2024 - 01 - 01)));
        assert!(!m.details.covers(date!(2020 - 03 - 31)));
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = MemberInput {
            insurer_number: "01130013",
            birth_date: "1980-02-30",
            sex: "x",
            copay_ratio: "40",
            my_number: "123456789017",
            ..input()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "insurer_number",
                "birth_date",
                "sex",
                "copay_ratio",
                "my_number"
            ]
        );
        assert_eq!(errors[0].reason, "check digit is 3, expected 2");
        assert_eq!(errors[1].reason, "is not a date in the calendar");
    }

    #[test]
    fn cross_field_rules() {
        let errors = MemberInput {
            qualified_until: "2019-01-01",
            qualified_from: "1970-01-01",
            loss_reason: "03",
            branch: "",
            ..input()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["qualified_from", "branch"]);
        let errors = MemberInput {
            loss_reason: "01",
            ..input()
        }
        .validate()
        .unwrap_err();
        assert_eq!(errors[0].field, "loss_reason");
        // 後期高齢者 (法別 39) cards may have no 枝番.
        let koki = InsurerNumber::from_data_digits("3913001").unwrap();
        let koki = koki.as_str().to_owned();
        assert!(
            MemberInput {
                insurer_number: &koki,
                branch: "",
                ..input()
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn dates_and_codes() {
        assert_eq!(
            parse_date("２０２４０２２９").unwrap(),
            date!(2024 - 02 - 29)
        );
        assert!(parse_date("2023-02-29").is_err());
        assert!(parse_date("2024/01/01").is_err());
        assert_eq!(CopayRatio::parse("030").unwrap().percent(), 30);
        assert!(CopayRatio::parse("3").is_err());
        assert_eq!(Sex::from_code(2), Some(Sex::Female));
        assert_eq!(LossReason::parse("3").unwrap(), LossReason::OtherInsurance);
    }

    #[test]
    fn ages_are_reached_the_day_before_the_birthday() {
        assert_eq!(age_on(date!(1954 - 04 - 02), date!(2024 - 04 - 01)), 70);
        assert_eq!(age_on(date!(1954 - 04 - 02), date!(2024 - 03 - 31)), 69);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2021 - 02 - 28)), 21);
        assert_eq!(age_on(date!(2000 - 02 - 29), date!(2021 - 02 - 27)), 20);
        // Born 1 April: reaches 6 on 31 March and starts school that April.
        assert!(is_preschool(date!(2019 - 04 - 01), date!(2025 - 03 - 31)));
        assert!(!is_preschool(date!(2019 - 04 - 01), date!(2025 - 04 - 01)));
        // Born 2 April: a year later.
        assert!(is_preschool(date!(2019 - 04 - 02), date!(2026 - 03 - 31)));
        assert!(!is_preschool(date!(2019 - 04 - 02), date!(2026 - 04 - 01)));
        assert!(!is_preschool(date!(1980 - 04 - 01), date!(2026 - 04 - 01)));
    }

    #[test]
    fn the_card_is_checked_against_the_member() {
        let card = |from: &'static str, elderly_from: &'static str| CardInput {
            valid_from: from,
            elderly_valid_from: elderly_from,
            elderly_copay_ratio: if elderly_from.is_empty() { "" } else { "20" },
            ..CardInput::default()
        };
        let fields = |m: MemberInput<'_>| -> Vec<String> {
            m.validate()
                .err()
                .unwrap_or_default()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(
            fields(MemberInput {
                card: card("20200331", ""),
                ..input()
            }),
            ["card_valid_from"]
        );
        // Born 1980-04-01: 70 only from 2050-03-31.
        assert_eq!(
            fields(MemberInput {
                card: card("", "20480801"),
                ..input()
            }),
            ["elderly_valid_from"]
        );
        assert!(
            fields(MemberInput {
                card: card("20200401", "20500401"),
                ..input()
            })
            .is_empty()
        );
        let koki = InsurerNumber::from_data_digits("3913001").unwrap();
        let koki = koki.as_str().to_owned();
        assert_eq!(
            fields(MemberInput {
                insurer_number: &koki,
                card: card("", "20500401"),
                ..input()
            }),
            ["elderly_valid_from"]
        );
    }

    #[test]
    fn names_refuse_invisible_formatting() {
        for bad in [
            "山田\u{202E}太郎",
            "山田\u{200B}太郎",
            "\u{FEFF}山田 太郎",
            "ヤマダ\u{2066}",
        ] {
            let errors = MemberInput {
                name: bad,
                name_kana: if bad.starts_with('ヤ') {
                    bad
                } else {
                    "ヤマダ タロウ"
                },
                ..input()
            }
            .validate()
            .unwrap_err();
            assert!(
                errors[0].reason.contains("invisible"),
                "{bad:?}: {errors:?}"
            );
        }
    }

    #[test]
    fn personal_data_is_redacted_in_debug() {
        let m = input().validate().unwrap();
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("山田"));
        assert!(!dbg.contains("1980"));
        assert!(!dbg.contains("123456789018"));
    }

    #[test]
    fn content_hash_tracks_every_field() {
        let a = input().validate().unwrap().details;
        let mut b = a.clone();
        assert_eq!(a.content_hash(), b.content_hash());
        b.copay_ratio = CopayRatio::from_percent(20).unwrap();
        assert_ne!(a.content_hash(), b.content_hash());
        let mut c = a.clone();
        c.card.post_number = Some("100-8916".into());
        assert_ne!(a.content_hash(), c.content_hash());
        // Only the width of the name's space: the same content.
        let mut d = a.clone();
        d.name = Personal("山田 太郎".into());
        assert_eq!(a.content_hash(), d.content_hash());
    }

    /// Digests are stored with every version: they must never change for the same content, or
    /// re-imports of unchanged members would all become "changed".
    #[test]
    fn content_hash_is_stable() {
        let a = input().validate().unwrap().details;
        let mut b = MemberInput {
            qualified_until: "20240331",
            loss_reason: "3",
            limit: LimitInput {
                class: "01",
                bracket: "A03",
                issued: "",
                valid_from: "20230401",
                valid_until: "",
                long_term_from: "",
            },
            ..input()
        }
        .validate()
        .unwrap()
        .details;
        b.person = Some(PersonRef::from_stored("ab".repeat(32)).unwrap());
        assert_eq!(a.content_hash(), "ef681a14e6c73a3e10f2427bf5a870d8");
        assert_eq!(b.content_hash(), "88f5e26a99202f54e5826067ea1fc5df");
    }
}

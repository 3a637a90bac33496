//! Employers (事業者・事業所) and checkup institutions (健診機関): who sends checkup results to an
//! insurer besides the insurer's own contractors.
//!
//! An employer is registered by the insurer that covers its employees, under the insurer's own
//! 事業所 code ([`EmployerCode`]), with an industry ([`Industry`], 業態) and a prefecture, so that
//! results and reports can be cut by employer and compared with their industry. A checkup
//! institution is known by its ten-digit institution number ([`InstitutionNumber`], OID
//! 1.2.392.200119.6.102), the number its documents carry.

use std::fmt;

use crate::text::normalize_compact;

/// 事業所コード: the insurer's code for one of its employers (事業所記号 on the card for most
/// 健保組合 and 協会けんぽ). 1 to 16 half-width letters, digits or hyphens after normalisation
/// (full-width input is folded); unique within one insurer, not across insurers.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmployerCode(String);

/// The longest [`EmployerCode`].
pub const EMPLOYER_CODE_MAX: usize = 16;

impl EmployerCode {
    /// Parses an employer code; it must not be empty.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input);
        if s.is_empty() {
            return Err("is required".into());
        }
        if s.len() > EMPLOYER_CODE_MAX {
            return Err(format!("must be at most {EMPLOYER_CODE_MAX} characters"));
        }
        if !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err("must be letters, digits or hyphens".into());
        }
        Ok(Self(s))
    }
    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One employer: the insurer that registered it and its code there. Written
/// `<insurer number>/<employer code>` where one text names it (token owners, audit entries).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmployerRef {
    /// The insurer whose employer it is.
    pub insurer: crate::InsurerNumber,
    /// Its code there.
    pub code: EmployerCode,
}

impl EmployerRef {
    /// Reads `<insurer number>/<employer code>`.
    pub fn parse(input: &str) -> Result<Self, String> {
        let (insurer, code) = input
            .split_once('/')
            .ok_or("must be <insurer number>/<employer code>")?;
        Ok(Self {
            insurer: crate::InsurerNumber::parse(insurer)
                .map_err(|e| format!("insurer number {e}"))?,
            code: EmployerCode::parse(code).map_err(|e| format!("employer code {e}"))?,
        })
    }
}

impl fmt::Display for EmployerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.insurer.as_str(), self.code.as_str())
    }
}

/// 業態: the employer's industry, as the major groups (大分類 A–T) of the Japan Standard
/// Industrial Classification (日本標準産業分類, rev. 14). The scoring report's industry averages
/// (業態平均) are cut by it.
///
/// Decision: the health-insurance societies' own 業態 list is not public in a stable form, so
/// onshi uses the national classification's major groups, which every employer knows; a finer
/// list replaces this table without touching anything that stores the letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Industry(u8);

/// The JSIC major groups: letter and Japanese name.
pub const INDUSTRIES: [(char, &str); 20] = [
    ('A', "農業、林業"),
    ('B', "漁業"),
    ('C', "鉱業、採石業、砂利採取業"),
    ('D', "建設業"),
    ('E', "製造業"),
    ('F', "電気・ガス・熱供給・水道業"),
    ('G', "情報通信業"),
    ('H', "運輸業、郵便業"),
    ('I', "卸売業、小売業"),
    ('J', "金融業、保険業"),
    ('K', "不動産業、物品賃貸業"),
    ('L', "学術研究、専門・技術サービス業"),
    ('M', "宿泊業、飲食サービス業"),
    ('N', "生活関連サービス業、娯楽業"),
    ('O', "教育、学習支援業"),
    ('P', "医療、福祉"),
    ('Q', "複合サービス事業"),
    ('R', "サービス業（他に分類されないもの）"),
    ('S', "公務（他に分類されるものを除く）"),
    ('T', "分類不能の産業"),
];

impl Industry {
    /// Parses the major group's letter (`E`, `e`, `Ｅ`).
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input).to_ascii_uppercase();
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => INDUSTRIES
                .iter()
                .position(|(l, _)| *l == c)
                .map(|i| Self(i as u8))
                .ok_or_else(|| "must be a JSIC major group letter A–T (業態)".to_owned()),
            _ => Err("must be a JSIC major group letter A–T (業態)".into()),
        }
    }
    /// The letter.
    pub fn letter(self) -> char {
        INDUSTRIES[usize::from(self.0)].0
    }
    /// The Japanese name of the group.
    pub fn name(self) -> &'static str {
        INDUSTRIES[usize::from(self.0)].1
    }
}

/// 都道府県: 1 (北海道) to 47 (沖縄県), as the JIS X 0401 codes number them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefecture(u8);

impl Prefecture {
    /// Parses `1`–`47` (also `01`, full-width digits).
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input);
        match s.parse::<u8>() {
            Ok(n) if (1..=47).contains(&n) && s.len() <= 2 => Ok(Self(n)),
            _ => Err("must be a prefecture code 01–47".into()),
        }
    }
    /// From a stored number.
    pub fn from_number(n: i64) -> Option<Self> {
        u8::try_from(n)
            .ok()
            .filter(|n| (1..=47).contains(n))
            .map(Self)
    }
    /// The number, 1–47.
    pub fn number(self) -> u8 {
        self.0
    }
    /// The name (北海道, 青森県, … 沖縄県).
    pub fn name(self) -> &'static str {
        PREFECTURE_NAMES[usize::from(self.0 - 1)]
    }
    /// The name without 都, 府 or 県 (北海道, 青森, … 東京, 大阪).
    pub fn short_name(self) -> &'static str {
        let name = self.name();
        name.strip_suffix(['都', '府', '県']).unwrap_or(name)
    }
}

/// 都道府県 names by JIS X 0401 code (index + 1).
const PREFECTURE_NAMES: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// 健診機関番号: ten digits (都道府県 2 + 機関区分 1 + 7), the number an institution's checkup
/// documents carry under OID 1.2.392.200119.6.102.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstitutionNumber(String);

impl InstitutionNumber {
    /// Parses an institution number: ten digits whose first two are a prefecture.
    pub fn parse(input: &str) -> Result<Self, String> {
        let s = normalize_compact(input);
        if s.len() != 10 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err("must be 10 digits".into());
        }
        Prefecture::parse(&s[..2]).map_err(|_| format!("prefecture {} is not 01–47", &s[..2]))?;
        Ok(Self(s))
    }
    /// The ten digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! show_as_str {
    ($($t:ident),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($t), "({})"), self.0)
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}
show_as_str!(EmployerCode, InstitutionNumber);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn employer_codes_fold_width_and_refuse_other_characters() {
        assert_eq!(
            EmployerCode::parse(" ＡＢ-０１ ").unwrap().as_str(),
            "AB-01"
        );
        assert_eq!(EmployerCode::parse("").unwrap_err(), "is required");
        assert_eq!(EmployerCode::parse("A B").unwrap().as_str(), "AB");
        assert!(EmployerCode::parse("A_B").is_err());
        assert!(EmployerCode::parse("事業所").is_err());
        assert!(EmployerCode::parse(&"1".repeat(17)).is_err());
        assert!(EmployerCode::parse(&"1".repeat(16)).is_ok());
    }

    #[test]
    fn employer_refs_read_back_as_written() {
        let e = EmployerRef::parse("01130012/A-01").unwrap();
        assert_eq!(e.to_string(), "01130012/A-01");
        assert!(EmployerRef::parse("01130012").is_err());
        assert!(
            EmployerRef::parse("0613999/A")
                .unwrap_err()
                .starts_with("insurer number")
        );
        assert!(
            EmployerRef::parse("01130012/")
                .unwrap_err()
                .starts_with("employer code")
        );
    }

    #[test]
    fn industries_are_the_jsic_major_groups() {
        let e = Industry::parse("ｅ").unwrap();
        assert_eq!((e.letter(), e.name()), ('E', "製造業"));
        assert_eq!(Industry::parse("T").unwrap().name(), "分類不能の産業");
        assert!(Industry::parse("U").is_err());
        assert!(Industry::parse("EE").is_err());
        assert!(Industry::parse("").is_err());
    }

    #[test]
    fn prefectures_and_institution_numbers() {
        assert_eq!(Prefecture::parse("０１").unwrap().number(), 1);
        assert_eq!(Prefecture::parse("47").unwrap().number(), 47);
        assert!(Prefecture::parse("48").is_err());
        assert!(Prefecture::parse("0").is_err());
        assert!(Prefecture::parse("001").is_err());
        assert_eq!(
            InstitutionNumber::parse("1312345678").unwrap().as_str(),
            "1312345678"
        );
        assert_eq!(
            InstitutionNumber::parse("9912345678").unwrap_err(),
            "prefecture 99 is not 01–47"
        );
        assert!(InstitutionNumber::parse("131234567").is_err());
    }
}

//! The item code table (XML用健診結果コード表, 2024): what each 17-digit code is, its value type,
//! format and unit, and whether a 特定健診 must carry it. Embedded from `data/XMLhc24tab.csv`
//! and read once.

use std::collections::HashMap;
use std::sync::OnceLock;

/// The value type an item takes (`XMLITEM_TYPE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// `PQ`: a quantity with a unit.
    Quantity,
    /// `CD` or `CO`: a code.
    Coded,
    /// `ST`: text.
    Text,
}

/// What a 特定健診 requires of an item (`XMLITEM_CASE01`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// `1`: the item is required.
    Required,
    /// A capital letter: one of the items with the same letter is required (waist measured or
    /// self-reported, the first or second blood pressure, fasting or random triglycerides…).
    /// The table's lowercase letters (b fasting glucose, c random glucose, d HbA1c) form one
    /// group, [`GLUCOSE_GROUP`]: a blood-glucose test is required, by any of them.
    OneOf(char),
    /// Anything else: optional here.
    Optional,
}

/// The group of the blood-glucose items (the table's lowercase letters b, c and d).
pub const GLUCOSE_GROUP: char = '糖';

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The 17-digit code.
    pub code: String,
    /// Its display name (身長, 収縮期血圧(1回目), …).
    pub name: String,
    /// `NNN.N`-style format of numbers, or the longest text.
    pub format: String,
    /// The value type.
    pub value_type: ValueType,
    /// The UCUM unit of quantities (may be empty).
    pub unit: String,
    /// The display unit (`mmHg` where UCUM says `mm[Hg]`).
    pub unit_name: String,
    /// What a 特定健診 requires of it.
    pub requirement: Requirement,
    /// The item it depends on (a finding's text depends on the yes/no item), if any.
    pub depends_on: Option<String>,
    /// The OID of its result codes, for coded items.
    pub result_code_system: Option<String>,
    /// The table's 区分番号 (`XMLITEM_CATNO`): 10 身体計測, 20 診察, 30 血圧等, 40 採血条件, 50
    /// 生化学検査, 60 血糖検査, 70 尿検査, 80 血液像検査, 200/300 other tests, 400 医師の判断, 500
    /// 質問票, 600 生活機能基本チェックリスト, 700 情報提供, 800 初回面接, 900 後期質問票.
    pub category: u16,
}

impl Item {
    /// Whether the item is a questionnaire answer (質問票 and its kin) rather than a
    /// measurement or finding.
    pub fn is_questionnaire(&self) -> bool {
        matches!(self.category, 500 | 600 | 900)
    }
}

/// The code table, by code.
#[derive(Debug)]
pub struct CodeTable {
    items: HashMap<String, Item>,
    order: Vec<String>,
}

const TABLE: &str = include_str!("../data/XMLhc24tab.csv");

impl CodeTable {
    /// The 2024 table (read on first use).
    pub fn fy2024() -> &'static CodeTable {
        static TABLE_2024: OnceLock<CodeTable> = OnceLock::new();
        TABLE_2024.get_or_init(|| Self::parse(TABLE))
    }

    /// Reads a table in the published column layout (three header lines). Rows that cannot be
    /// read are skipped: the table is data shipped with the program, checked by its tests.
    fn parse(text: &str) -> Self {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let mut items = HashMap::new();
        let mut order = Vec::new();
        for record in reader.records().skip(3).flatten() {
            let field = |i: usize| record.get(i).unwrap_or_default().trim().to_owned();
            let code = field(15);
            if code.len() != 17 {
                continue;
            }
            let value_type = match field(18).as_str() {
                "PQ" => ValueType::Quantity,
                "CD" | "CO" => ValueType::Coded,
                "ST" => ValueType::Text,
                _ => continue,
            };
            let requirement = match field(3).chars().next() {
                Some('1') if field(3).len() == 1 => Requirement::Required,
                Some(c) if c.is_ascii_uppercase() => Requirement::OneOf(c),
                Some('b' | 'c' | 'd') => Requirement::OneOf(GLUCOSE_GROUP),
                _ => Requirement::Optional,
            };
            let optional = |s: String| (!s.is_empty()).then_some(s);
            order.push(code.clone());
            items.insert(
                code.clone(),
                Item {
                    code,
                    name: field(16),
                    format: field(17),
                    value_type,
                    unit: field(20),
                    unit_name: field(19),
                    requirement,
                    depends_on: optional(field(25)),
                    result_code_system: optional(field(29)),
                    category: field(0).parse().unwrap_or(0),
                },
            );
        }
        Self { items, order }
    }

    /// The item of `code`.
    pub fn get(&self, code: &str) -> Option<&Item> {
        self.items.get(code)
    }

    /// Every item, in the table's order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.order.iter().filter_map(|c| self.items.get(c))
    }

    /// How many items the table holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

impl Item {
    /// Whether `number` fits the item's `NNN.N` format: at most as many digits before and after
    /// the point (fewer decimals are fine).
    pub fn fits_format(&self, number: &str) -> bool {
        let (int_max, frac_max) = match self.format.split_once('.') {
            Some((i, f)) => (i.len(), f.len()),
            None => (self.format.len(), 0),
        };
        if !self.format.bytes().all(|b| b == b'N' || b == b'.') {
            return true;
        }
        let (int, frac) = number.split_once('.').unwrap_or((number, ""));
        !int.is_empty()
            && int.len() <= int_max
            && frac.len() <= frac_max
            && (frac_max > 0 || !number.contains('.'))
            && int.bytes().all(|b| b.is_ascii_digit())
            && frac.bytes().all(|b| b.is_ascii_digit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_2024_table_is_read_whole() {
        let t = CodeTable::fy2024();
        assert_eq!(t.len(), 322);
        let height = t.get("9N001000000000001").unwrap();
        assert_eq!(
            (
                height.name.as_str(),
                height.format.as_str(),
                height.unit.as_str(),
                height.value_type,
                height.requirement
            ),
            (
                "身長",
                "NNN.N",
                "cm",
                ValueType::Quantity,
                Requirement::Required
            )
        );
        let sbp = t.get("9A751000000000001").unwrap();
        assert_eq!(
            (sbp.unit.as_str(), sbp.unit_name.as_str(), sbp.requirement),
            ("mm[Hg]", "mmHg", Requirement::OneOf('B'))
        );
        let history = t.get("9N056160400000049").unwrap();
        assert_eq!(history.depends_on.as_deref(), Some("9N056000000000011"));
        assert_eq!(
            t.get("9N056000000000011")
                .unwrap()
                .result_code_system
                .as_deref(),
            Some("1.2.392.200119.6.2001")
        );
        assert_eq!(
            t.items().next().map(|i| i.code.as_str()),
            Some("9N001000000000001")
        );
    }

    #[test]
    fn numbers_are_held_to_their_format() {
        let height = CodeTable::fy2024().get("9N001000000000001").unwrap();
        for ok in ["170.2", "170", "99.5", "0.5"] {
            assert!(height.fits_format(ok), "{ok}");
        }
        for bad in ["1700.2", "170.25", "abc", "", ".5", "-170", "1e2"] {
            assert!(!height.fits_format(bad), "{bad}");
        }
        let sbp = CodeTable::fy2024().get("9A751000000000001").unwrap();
        assert!(sbp.fits_format("138") && !sbp.fits_format("138.5"));
    }
}

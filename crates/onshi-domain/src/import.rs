//! The columns of an insurer's member file (資格情報の一括登録) and how a row maps onto a
//! [`MemberInput`]. Reading the file and decoding its bytes is the caller's job.

use crate::card::CardInput;
use crate::error::FieldError;
use crate::limit::LimitInput;
use crate::member::MemberInput;

/// Every column of a member file (and every field of a member in the JSON API), in the documented
/// order; any order is accepted. The first [`REQUIRED`] must be present, the rest may be.
pub const COLUMNS: [&str; 32] = [
    "insurer_number",
    "symbol",
    "number",
    "branch",
    "name",
    "name_kana",
    "birth_date",
    "sex",
    "relationship",
    "qualified_from",
    "qualified_until",
    "copay_ratio",
    "my_number",
    "loss_reason",
    "limit_class",
    "limit_bracket",
    "limit_issued",
    "limit_valid_from",
    "limit_valid_until",
    "limit_long_term_from",
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
    "employer",
];

/// How many of [`COLUMNS`] a file must have.
pub const REQUIRED: usize = 13;

/// Where each column stands in a file, read from its header row.
#[derive(Debug, Clone)]
pub struct ColumnMap {
    index: [usize; COLUMNS.len()],
}

const ABSENT: usize = usize::MAX;

impl ColumnMap {
    /// Reads the header row. Names are matched without case or surrounding spaces (and a UTF-8
    /// byte-order mark on the first is ignored). Missing, unknown and repeated columns are errors.
    pub fn from_header<'a>(
        header: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut index = [ABSENT; COLUMNS.len()];
        let mut errors = Vec::new();
        let names = COLUMNS;
        for (pos, raw) in header.into_iter().enumerate() {
            let name = raw
                .trim_start_matches('\u{feff}')
                .trim()
                .to_ascii_lowercase();
            match names.iter().position(|n| *n == name) {
                Some(i) if index[i] == ABSENT => index[i] = pos,
                Some(_) => errors.push(FieldError::new(name, "column appears twice in the header")),
                None => errors.push(FieldError::new(
                    if name.is_empty() {
                        format!("column {}", pos + 1)
                    } else {
                        name
                    },
                    format!("unknown column; expected {}", names.join(", ")),
                )),
            }
        }
        for (i, name) in COLUMNS[..REQUIRED].iter().enumerate() {
            if index[i] == ABSENT {
                errors.push(FieldError::new(*name, "column is missing from the header"));
            }
        }
        if errors.is_empty() {
            Ok(Self { index })
        } else {
            Err(errors)
        }
    }

    /// How many columns a row must have (the header's width).
    pub fn width(&self) -> usize {
        self.index.iter().filter(|&&i| i != ABSENT).count()
    }

    /// The member input of one row; `get(i)` returns the row's i-th field.
    pub fn input<'a>(&self, get: impl Fn(usize) -> Option<&'a str>) -> MemberInput<'a> {
        let f = |i: usize| {
            if self.index[i] == ABSENT {
                ""
            } else {
                get(self.index[i]).unwrap_or("")
            }
        };
        MemberInput {
            insurer_number: f(0),
            symbol: f(1),
            number: f(2),
            branch: f(3),
            name: f(4),
            name_kana: f(5),
            birth_date: f(6),
            sex: f(7),
            relationship: f(8),
            qualified_from: f(9),
            qualified_until: f(10),
            copay_ratio: f(11),
            my_number: f(12),
            loss_reason: f(13),
            limit: LimitInput::from_columns([f(14), f(15), f(16), f(17), f(18), f(19)]),
            card: CardInput::from_columns([
                f(20),
                f(21),
                f(22),
                f(23),
                f(24),
                f(25),
                f(26),
                f(27),
                f(28),
                f(29),
                f(30),
            ]),
            employer: f(31),
        }
    }
}

/// An error in one line of a file: `line N: field: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct LineError {
    /// The 1-based line number in the file (the header is line 1).
    pub line: u64,
    /// The field and what is wrong with it.
    pub error: FieldError,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_in_any_order_with_bom() {
        let mut header: Vec<String> = COLUMNS[..REQUIRED]
            .iter()
            .rev()
            .map(|s| s.to_uppercase())
            .collect();
        header[0] = format!("\u{feff}{}", header[0]);
        let map = ColumnMap::from_header(header.iter().map(String::as_str)).unwrap();
        assert_eq!(map.width(), 13);
        let row: Vec<String> = (0..13).map(|i| i.to_string()).collect();
        let input = map.input(|i| row.get(i).map(String::as_str));
        assert_eq!(input.insurer_number, "12");
        assert_eq!(input.my_number, "0");
        assert_eq!(input.loss_reason, "");
    }

    #[test]
    fn limit_columns_are_last_in_limit_input_order() {
        assert_eq!(COLUMNS[14..20], crate::limit::LIMIT_COLUMNS);
        assert_eq!(COLUMNS[20..31], crate::card::CARD_COLUMNS);
        assert_eq!(COLUMNS[31], "employer");
    }

    #[test]
    fn header_errors_name_the_column() {
        let errors =
            ColumnMap::from_header(["insurer_number", "symbol", "nmber", "symbol"]).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text[0].starts_with("nmber: unknown column"));
        assert_eq!(text[1], "symbol: column appears twice in the header");
        assert!(text.contains(&"number: column is missing from the header".to_owned()));
        let e = LineError {
            line: 3,
            error: FieldError::new("sex", "bad"),
        };
        assert_eq!(e.to_string(), "line 3: sex: bad");
    }
}

//! Text normalisation for values typed at a reception desk or exported from an insurer's system.
//!
//! Japanese systems mix full-width (全角) and half-width (半角) forms of the same digits, letters and
//! spaces. onshi stores one canonical form: ASCII digits, letters and punctuation are half-width,
//! the ideographic space (U+3000) is a plain space, leading and trailing spaces are dropped and a
//! run of inner spaces becomes one. Kana and kanji are kept as they are.

/// Folds full-width ASCII (U+FF01–U+FF5E) to half-width and U+3000 to a space.
pub fn fold_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// The canonical form described in the module documentation.
pub fn normalize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars().map(fold_width) {
        if c == ' ' || c == '\t' {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// [`normalize`], and then every space removed (for fields made only of digits).
pub fn normalize_compact(input: &str) -> String {
    input
        .chars()
        .map(fold_width)
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// True for katakana in either width, the prolonged sound mark, middle dots and spaces: what a
/// kana name (カナ氏名) may contain.
pub fn is_kana_name_char(c: char) -> bool {
    matches!(c,
        '\u{30A1}'..='\u{30FA}' // full-width katakana
        | '\u{30FC}' | '\u{30FB}' // ー ・
        | '\u{FF66}'..='\u{FF9F}' // half-width katakana and (semi-)voiced marks
        | '\u{FF65}' // half-width middle dot
        | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_digits_letters_and_spaces() {
        assert_eq!(normalize("１２３\u{3000}ＡＢ"), "123 AB");
        assert_eq!(normalize("  12   34 "), "12 34");
        assert_eq!(normalize("東京　１"), "東京 1");
        assert_eq!(normalize_compact("０ １"), "01");
    }

    #[test]
    fn kana_names() {
        assert!("ヤマダ タロウ".chars().all(is_kana_name_char));
        assert!("ﾔﾏﾀﾞ ﾀﾛｳ".chars().all(is_kana_name_char));
        assert!(!"山田".chars().all(is_kana_name_char));
    }
}

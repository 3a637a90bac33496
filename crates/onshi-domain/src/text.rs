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

/// [`normalize`] for a name written in kanji (氏名): the same, except that a run of spaces holding
/// a full-width space (U+3000) stays one full-width space, as the insurer wrote it and as the
/// terminal writes names ("試験　花子"); a run of half-width spaces stays one half-width space.
pub fn normalize_name(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending: Option<char> = None;
    for raw in input.chars() {
        if raw == '\u{3000}' || raw == ' ' || raw == '\t' {
            if !out.is_empty() {
                pending = Some(match pending {
                    Some('\u{3000}') => '\u{3000}',
                    _ if raw == '\u{3000}' => '\u{3000}',
                    _ => ' ',
                });
            }
            continue;
        }
        if let Some(space) = pending.take() {
            out.push(space);
        }
        out.push(fold_width(raw));
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

/// True for characters that change how text shows without showing themselves: zero-width
/// spaces and joiners, bidirectional marks, embeddings, overrides and isolates (an RTL override
/// can make a name read differently on screen than it is stored), word joiners and the
/// byte-order mark. Names and addresses refuse them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{061C}' | '\u{180E}' | '\u{FEFF}')
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

/// Katakana as the facility interface writes a kana name (`NameKana`): half-width (半角), with
/// voiced and semi-voiced marks as their own characters (ガ → ｶﾞ, パ → ﾊﾟ), the prolonged sound
/// mark and middle dot in their half-width forms, and a space as a half-width space. Anything
/// else (already half-width, or not kana) is kept.
pub fn half_width_kana(input: &str) -> String {
    const FULL: &str = "ァアィイゥウェエォオカキクケコサシスセソタチッツテトナニヌネノハヒフヘホマミムメモャヤュユョヨラリルレロヮワヰヱヲンヵヶー・";
    const HALF: &str = "ｧｱｨｲｩｳｪｴｫｵｶｷｸｹｺｻｼｽｾｿﾀﾁｯﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓｬﾔｭﾕｮﾖﾗﾘﾙﾚﾛﾜﾜｲｴｦﾝｶｹｰ･";
    const VOICED: &str = "ガギグゲゴザジズゼゾダヂヅデドバビブベボヴヷヸヹヺ";
    const VOICED_BASE: &str = "カキクケコサシスセソタチツテトハヒフヘホウワヰヱヲ";
    const SEMI: &str = "パピプペポ";
    const SEMI_BASE: &str = "ハヒフヘホ";
    let plain = |c: char| {
        FULL.chars()
            .position(|f| f == c)
            .and_then(|i| HALF.chars().nth(i))
    };
    let mut out = String::with_capacity(input.len());
    for c in input.chars() {
        if c == '\u{3000}' {
            out.push(' ');
        } else if let Some(h) = plain(c) {
            out.push(h);
        } else if let Some(base) = VOICED
            .chars()
            .position(|v| v == c)
            .and_then(|i| VOICED_BASE.chars().nth(i))
            .and_then(plain)
        {
            out.push(base);
            out.push('ﾞ');
        } else if let Some(base) = SEMI
            .chars()
            .position(|v| v == c)
            .and_then(|i| SEMI_BASE.chars().nth(i))
            .and_then(plain)
        {
            out.push(base);
            out.push('ﾟ');
        } else {
            out.push(c);
        }
    }
    out
}

/// How alike two kana names are, 0–100: one minus their edit distance over the longer length,
/// compared in the interface's half-width form (documents write ｼｹﾝ, registries シケン) with
/// spaces ignored.
pub fn kana_similarity(a: &str, b: &str) -> u8 {
    let form = |s: &str| -> Vec<char> {
        half_width_kana(s)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    };
    let (a, b) = (form(a), form(b));
    let longest = a.len().max(b.len());
    if longest == 0 {
        return 100;
    }
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitute.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    let distance = previous[b.len()].min(longest);
    u8::try_from(100 - distance * 100 / longest).unwrap_or(0)
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
    fn names_keep_the_full_width_space_they_were_written_with() {
        assert_eq!(normalize_name(" 山田\u{3000}太郎 "), "山田\u{3000}太郎");
        assert_eq!(normalize_name("山田 \u{3000} 太郎"), "山田\u{3000}太郎");
        assert_eq!(normalize_name("山田  太郎"), "山田 太郎");
        assert_eq!(
            normalize_name("Ｊｏｈｎ\u{3000}Ｓｍｉｔｈ"),
            "John\u{3000}Smith"
        );
        assert_eq!(normalize(&normalize_name("山田\u{3000}太郎")), "山田 太郎");
    }

    #[test]
    fn kana_names() {
        assert!("ヤマダ タロウ".chars().all(is_kana_name_char));
        assert!("ﾔﾏﾀﾞ ﾀﾛｳ".chars().all(is_kana_name_char));
        assert!(!"山田".chars().all(is_kana_name_char));
    }

    #[test]
    fn kana_names_in_half_width() {
        assert_eq!(half_width_kana("シンリョウ タロウ"), "ｼﾝﾘｮｳ ﾀﾛｳ");
        assert_eq!(half_width_kana("ガッコウ　パン"), "ｶﾞｯｺｳ ﾊﾟﾝ");
        assert_eq!(half_width_kana("ヴィーナス・ヲ"), "ｳﾞｨｰﾅｽ･ｦ");
        assert_eq!(half_width_kana("ﾔﾏﾀﾞ ﾀﾛｳ"), "ﾔﾏﾀﾞ ﾀﾛｳ");
        // Every full-width katakana a kana name may hold has a half-width form.
        for c in ('\u{30A1}'..='\u{30FA}').chain(['ー', '・']) {
            let h = half_width_kana(&c.to_string());
            assert!(
                h.chars().all(|x| ('\u{FF65}'..='\u{FF9F}').contains(&x)),
                "{c} -> {h}"
            );
        }
    }

    #[test]
    fn kana_similarity_ignores_spaces_and_counts_edits() {
        assert_eq!(kana_similarity("シケン ハナコ", "シケンハナコ"), 100);
        assert_eq!(kana_similarity("シケン ハナコ", "シケン ハナエ"), 84);
        assert_eq!(kana_similarity("アイウ", "カキク"), 0);
        assert_eq!(kana_similarity("", ""), 100);
        assert_eq!(kana_similarity("ｼｹﾝ ﾊﾅｺ", "シケン\u{3000}ハナコ"), 100);
    }
}

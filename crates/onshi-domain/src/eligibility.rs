//! Eligibility judgement (資格確認): which qualification answers a check on a consultation date,
//! and with which validity code of the facility interface (資格有効性, OQSCD006).
//!
//! Pure rules over qualifications the caller already found; the store finds them.

use time::Date;

use crate::member::MemberDetails;

/// 資格有効性: the interface's validity codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// 1 有効: a qualification covers the consultation date.
    Valid,
    /// 2 無効: the qualification found does not cover the date.
    Invalid,
    /// 3 無効（新しい資格あり）: the card checked is no longer valid, and the person has a newer
    /// qualification that covers the date.
    InvalidNewerExists,
    /// 4 該当資格なし: no such qualification.
    NotFound,
    /// 5 複数該当: more than one qualification covers the date.
    Multiple,
}

impl Validity {
    /// The interface code, 1–5.
    pub fn code(self) -> u8 {
        match self {
            Self::Valid => 1,
            Self::Invalid => 2,
            Self::InvalidNewerExists => 3,
            Self::NotFound => 4,
            Self::Multiple => 5,
        }
    }
    /// The label the interface uses.
    pub fn japanese(self) -> &'static str {
        match self {
            Self::Valid => "有効",
            Self::Invalid => "無効",
            Self::InvalidNewerExists => "無効（新しい資格あり）",
            Self::NotFound => "該当資格なし",
            Self::Multiple => "複数該当",
        }
    }
}

/// The outcome of a check: the overall code, the qualifications to show, and for code 3 the
/// newer qualification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement<T> {
    /// The overall validity.
    pub validity: Validity,
    /// The qualifications the answer is about (none for 4).
    pub shown: Vec<T>,
    /// For 3: the qualification that replaced the one checked.
    pub newer: Option<T>,
}

/// A check by card (My Number card or smartphone): every qualification of the person is
/// considered. One covering the date → 有効; several → 複数該当; none covering but some known →
/// 無効 with the most recent; none at all → 該当資格なし.
pub fn judge_person<T: Clone>(
    quals: &[T],
    details: impl Fn(&T) -> &MemberDetails,
    date: Date,
) -> Judgement<T> {
    let covering: Vec<T> = quals
        .iter()
        .filter(|q| details(q).covers(date))
        .cloned()
        .collect();
    match covering.len() {
        1 => Judgement {
            validity: Validity::Valid,
            shown: covering,
            newer: None,
        },
        n if n > 1 => Judgement {
            validity: Validity::Multiple,
            shown: covering,
            newer: None,
        },
        _ => match quals.iter().max_by_key(|q| details(q).qualified_from) {
            Some(latest) => Judgement {
                validity: Validity::Invalid,
                shown: vec![latest.clone()],
                newer: None,
            },
            None => Judgement {
                validity: Validity::NotFound,
                shown: Vec::new(),
                newer: None,
            },
        },
    }
}

/// A check by insurance-card number: the member with that card (if any, and if the birth date
/// matches when one is given), judged on its own; when it does not cover the date, the person's
/// other qualifications (`others`, linked by My Number) decide between 無効 and
/// 無効（新しい資格あり）.
pub fn judge_card_number<T: Clone>(
    member: Option<&T>,
    others: &[T],
    details: impl Fn(&T) -> &MemberDetails,
    birth_date: Option<Date>,
    date: Date,
) -> Judgement<T> {
    let Some(member) = member.filter(|m| birth_date.is_none_or(|b| details(m).birth_date.0 == b))
    else {
        return Judgement {
            validity: Validity::NotFound,
            shown: Vec::new(),
            newer: None,
        };
    };
    if details(member).covers(date) {
        return Judgement {
            validity: Validity::Valid,
            shown: vec![member.clone()],
            newer: None,
        };
    }
    let newer = others
        .iter()
        .filter(|o| details(o).covers(date))
        .max_by_key(|o| details(o).qualified_from)
        .cloned();
    let validity = if newer.is_some() {
        Validity::InvalidNewerExists
    } else {
        Validity::Invalid
    };
    Judgement {
        validity,
        shown: vec![member.clone()],
        newer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::MemberInput;
    use time::macros::date;

    fn q(from: &str, until: &str) -> MemberDetails {
        MemberInput {
            insurer_number: "01130012",
            symbol: "1",
            number: "1",
            branch: "00",
            name: "試験 一郎",
            name_kana: "シケン イチロウ",
            birth_date: "1970-01-01",
            sex: "1",
            relationship: "1",
            qualified_from: from,
            qualified_until: until,
            copay_ratio: "30",
            my_number: "",
            loss_reason: "",
            limit: Default::default(),
            card: Default::default(),
            employer: "",
        }
        .validate()
        .unwrap()
        .details
    }

    #[test]
    fn person_checks() {
        let old = q("2015-04-01", "2024-03-31");
        let new = q("2024-04-01", "");
        let both = [old.clone(), new.clone()];
        let j = judge_person(&both, |d| d, date!(2024 - 04 - 01));
        assert_eq!(
            (j.validity, j.shown.clone()),
            (Validity::Valid, vec![new.clone()])
        );
        let j = judge_person(&both, |d| d, date!(2024 - 03 - 31));
        assert_eq!(j.shown, vec![old.clone()]);
        let j = judge_person(std::slice::from_ref(&old), |d| d, date!(2025 - 01 - 01));
        assert_eq!((j.validity, j.shown.len()), (Validity::Invalid, 1));
        let j = judge_person::<MemberDetails>(&[], |d| d, date!(2025 - 01 - 01));
        assert_eq!(j.validity, Validity::NotFound);
        let overlap = [q("2020-01-01", ""), q("2021-01-01", "")];
        assert_eq!(
            judge_person(&overlap, |d| d, date!(2022 - 01 - 01)).validity,
            Validity::Multiple
        );
        assert_eq!(Validity::InvalidNewerExists.code(), 3);
    }

    #[test]
    fn card_number_checks() {
        let old = q("2015-04-01", "2024-03-31");
        let new = q("2024-04-01", "");
        let d = date!(2024 - 05 - 01);
        let j = judge_card_number(Some(&old), std::slice::from_ref(&new), |d| d, None, d);
        assert_eq!(
            (j.validity, j.newer),
            (Validity::InvalidNewerExists, Some(new.clone()))
        );
        let j = judge_card_number(Some(&old), &[], |d| d, None, d);
        assert_eq!(j.validity, Validity::Invalid);
        let j = judge_card_number(Some(&new), &[], |d| d, Some(date!(1970 - 01 - 01)), d);
        assert_eq!(j.validity, Validity::Valid);
        let j = judge_card_number(Some(&new), &[], |d| d, Some(date!(1971 - 01 - 01)), d);
        assert_eq!(
            j.validity,
            Validity::NotFound,
            "a wrong birth date finds nothing"
        );
        assert_eq!(
            judge_card_number::<MemberDetails>(None, &[], |d| d, None, d).validity,
            Validity::NotFound
        );
    }
}

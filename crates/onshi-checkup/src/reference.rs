//! The judgement values (判定値) a checkup result is read against: the 保健指導判定値 (above it,
//! health guidance) and 受診勧奨判定値 (above it, see a doctor) of the FY2024 programme (第4期),
//! as the MHLW standard programme lists them (secondary sources agree; see
//! `shared/reference/checkup-data.md` §2.1). One table, by JLAC10 analyte (the first digits of
//! the 17-digit item code, so every method of an analyte is covered).
//!
//! Bounds are inclusive where the programme writes ≥ and exclusive where it writes <, exactly
//! as [`Judgement`] reads them. Where a bound differs by sex it is given for both.

/// Which side of a bound is outside the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Values at or above the bound are outside (blood pressure, lipids, glucose, …).
    High,
    /// Values below the bound are outside (HDL cholesterol).
    Low,
}

/// The judgement values of one analyte.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JudgementValues {
    /// The code prefix (JLAC10 analyte, with the sample and method digits where they decide,
    /// as for random glucose and triglycerides).
    pub prefix: &'static str,
    /// What it is.
    pub name: &'static str,
    /// Which side is outside.
    pub direction: Direction,
    /// 保健指導判定値 for men and women.
    pub guidance: (f64, f64),
    /// 受診勧奨判定値 for men and women, where the programme gives one.
    pub referral: Option<(f64, f64)>,
}

/// Where a value stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Within the range.
    Normal,
    /// At or past the 保健指導判定値.
    Guidance,
    /// At or past the 受診勧奨判定値.
    Referral,
}

impl Judgement {
    /// The word on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Guidance => "guidance",
            Self::Referral => "referral",
        }
    }
}

const fn both(v: f64) -> (f64, f64) {
    (v, v)
}

/// The FY2024 table. Longer prefixes come first, so random values (…1299…) find their own row
/// before the analyte's.
pub const FY2024: [JudgementValues; 14] = [
    JudgementValues {
        prefix: "3F0151299",
        name: "随時中性脂肪",
        direction: Direction::High,
        guidance: both(175.0),
        referral: Some(both(300.0)),
    },
    JudgementValues {
        prefix: "3F015",
        name: "空腹時中性脂肪",
        direction: Direction::High,
        guidance: both(150.0),
        referral: Some(both(300.0)),
    },
    JudgementValues {
        prefix: "9N011",
        name: "BMI",
        direction: Direction::High,
        guidance: both(25.0),
        referral: None,
    },
    JudgementValues {
        prefix: "9N016",
        name: "腹囲",
        direction: Direction::High,
        guidance: (85.0, 90.0),
        referral: None,
    },
    JudgementValues {
        prefix: "9A75",
        name: "収縮期血圧",
        direction: Direction::High,
        guidance: both(130.0),
        referral: Some(both(140.0)),
    },
    JudgementValues {
        prefix: "9A76",
        name: "拡張期血圧",
        direction: Direction::High,
        guidance: both(85.0),
        referral: Some(both(90.0)),
    },
    JudgementValues {
        prefix: "3F070",
        name: "HDLコレステロール",
        direction: Direction::Low,
        guidance: both(40.0),
        referral: Some(both(35.0)),
    },
    JudgementValues {
        prefix: "3F077",
        name: "LDLコレステロール",
        direction: Direction::High,
        guidance: both(120.0),
        referral: Some(both(140.0)),
    },
    JudgementValues {
        prefix: "3F069",
        name: "Non-HDLコレステロール",
        direction: Direction::High,
        guidance: both(150.0),
        referral: Some(both(170.0)),
    },
    JudgementValues {
        prefix: "3D010",
        name: "血糖",
        direction: Direction::High,
        guidance: both(100.0),
        referral: Some(both(126.0)),
    },
    JudgementValues {
        prefix: "3D046",
        name: "HbA1c",
        direction: Direction::High,
        guidance: both(5.6),
        referral: Some(both(6.5)),
    },
    JudgementValues {
        prefix: "3B035",
        name: "AST(GOT)",
        direction: Direction::High,
        guidance: both(31.0),
        referral: Some(both(51.0)),
    },
    JudgementValues {
        prefix: "3B045",
        name: "ALT(GPT)",
        direction: Direction::High,
        guidance: both(31.0),
        referral: Some(both(51.0)),
    },
    JudgementValues {
        prefix: "3B090",
        name: "γ-GT",
        direction: Direction::High,
        guidance: both(51.0),
        referral: Some(both(101.0)),
    },
];

/// The judgement values of item `code`, if the table has them.
pub fn values_for(code: &str) -> Option<&'static JudgementValues> {
    FY2024.iter().find(|v| code.starts_with(v.prefix))
}

impl JudgementValues {
    /// The 保健指導判定値 for sex `sex` (1 male, otherwise female).
    pub fn guidance_for(&self, sex: u8) -> f64 {
        if sex == 1 {
            self.guidance.0
        } else {
            self.guidance.1
        }
    }

    /// The 受診勧奨判定値 for sex `sex`.
    pub fn referral_for(&self, sex: u8) -> Option<f64> {
        self.referral.map(|r| if sex == 1 { r.0 } else { r.1 })
    }

    /// Where `value` stands for a person of sex `sex`.
    pub fn judge(&self, value: f64, sex: u8) -> Judgement {
        let past = |bound: f64| match self.direction {
            Direction::High => value >= bound,
            Direction::Low => value < bound,
        };
        if self.referral_for(sex).is_some_and(past) {
            Judgement::Referral
        } else if past(self.guidance_for(sex)) {
            Judgement::Guidance
        } else {
            Judgement::Normal
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_judged_at_their_bounds() {
        let sbp = values_for("9A751000000000001").unwrap();
        assert_eq!(sbp.judge(129.0, 1), Judgement::Normal);
        assert_eq!(sbp.judge(130.0, 1), Judgement::Guidance);
        assert_eq!(sbp.judge(140.0, 2), Judgement::Referral);
        let hdl = values_for("3F070000002327101").unwrap();
        assert_eq!(hdl.judge(40.0, 1), Judgement::Normal);
        assert_eq!(hdl.judge(39.0, 1), Judgement::Guidance);
        assert_eq!(hdl.judge(34.0, 1), Judgement::Referral);
        let waist = values_for("9N016160100000001").unwrap();
        assert_eq!(waist.judge(87.0, 1), Judgement::Guidance);
        assert_eq!(waist.judge(87.0, 2), Judgement::Normal);
    }

    #[test]
    fn random_triglycerides_have_their_own_bound() {
        assert_eq!(
            values_for("3F015129902327101").unwrap().guidance_for(1),
            175.0
        );
        assert_eq!(
            values_for("3F015000002327101").unwrap().guidance_for(1),
            150.0
        );
        assert!(values_for("9N001000000000001").is_none(), "height has none");
    }

    #[test]
    fn every_prefix_names_items_of_the_code_table() {
        let table = crate::codes::CodeTable::fy2024();
        for v in FY2024 {
            assert!(
                table.items().any(|i| i.code.starts_with(v.prefix)),
                "{} matches no item",
                v.prefix
            );
        }
    }
}

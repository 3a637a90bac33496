//! The indicators of the scoring report (健康スコアリングレポート) and the workplace sheet
//! (事業所カルテ): for each checkup, whether the person holds each health risk and keeps each
//! good habit. The official definitions are not public; these are onshi's, from the judgement
//! values and the standard questionnaire's item codes, one table ([`Indicator::ALL`] and
//! [`indicators`]) that `docs/reports.md` repeats. They belong to the rule set
//! ([`crate::stratify::RuleSet`]): a change here is a new rule set id, and the server judges
//! the stored checkups again.
//!
//! | indicator | counts a person when | needs |
//! |---|---|---|
//! | 肥満 obesity | waist ≥ 85 (men) / 90 (women), or BMI ≥ 25 | waist or BMI |
//! | 血圧 blood pressure | systolic ≥ 130 or diastolic ≥ 85, or on medication | both readings, or medication |
//! | 肝機能 liver | AST ≥ 31, ALT ≥ 31 or γ-GT ≥ 51 | all three, or one at risk |
//! | 脂質 lipids | triglycerides ≥ 150 (random ≥ 175 from FY2024) or HDL < 40, or on medication | as stratification |
//! | 血糖 glucose | fasting glucose ≥ 100 (else HbA1c ≥ 5.6), or on medication | as stratification |
//! | メタボ metabolic syndrome | 基準該当 | a determined result |
//! | 保健指導対象 guidance target | 積極的 or 動機付け支援 | a determined level (ages 40–74) |
//! | 喫煙 good: non-smoking | does not smoke now (question 8 not 1) | question 8 |
//! | 運動 good: exercise | 2 or more of questions 10–12 answered はい | two at はい, or all three |
//! | 食事 good: eating | none of: eating fast (14 = 1), late dinner (15 = 1), skipping breakfast (17 = 1) | all three, or one bad |
//! | 飲酒 good: drinking | not drinking at a risky level: 5 or more days a week at ≥ 2 合 (men) / ≥ 1 合 (women) | question 18, and 19 when drinking 5+ days |
//! | 睡眠 good: sleep | rested by sleep (20 = 1) | question 20 |
//! | 咀嚼 good: chewing | chews anything (13 = 1) | question 13 |
//!
//! A person is counted in an indicator's denominator only when it is known for them; the
//! report says how many that is.

use crate::stratify::{Facts, GuidanceLevel, Metabolic, RuleSet, any};

/// One indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Indicator {
    /// 肥満.
    Obesity,
    /// 血圧.
    BloodPressure,
    /// 肝機能.
    Liver,
    /// 脂質.
    Lipids,
    /// 血糖.
    Glucose,
    /// メタボリックシンドローム基準該当.
    MetabolicSyndrome,
    /// 特定保健指導の対象.
    GuidanceTarget,
    /// 喫煙 (good: does not smoke).
    NonSmoking,
    /// 運動 (good: exercises).
    Exercise,
    /// 食事 (good: eats well).
    Eating,
    /// 飲酒 (good: drinks moderately or not).
    Drinking,
    /// 睡眠 (good: rested).
    Sleep,
    /// 咀嚼 (good: chews anything).
    Chewing,
}

impl Indicator {
    /// Every indicator, in the report's order: risks, then habits.
    pub const ALL: [Indicator; 13] = [
        Indicator::Obesity,
        Indicator::BloodPressure,
        Indicator::Liver,
        Indicator::Lipids,
        Indicator::Glucose,
        Indicator::MetabolicSyndrome,
        Indicator::GuidanceTarget,
        Indicator::NonSmoking,
        Indicator::Exercise,
        Indicator::Eating,
        Indicator::Drinking,
        Indicator::Sleep,
        Indicator::Chewing,
    ];

    /// Its bit in a [`Flags`] mask.
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }

    /// Its name on pages and in files.
    pub fn name(self) -> &'static str {
        match self {
            Indicator::Obesity => "肥満",
            Indicator::BloodPressure => "血圧",
            Indicator::Liver => "肝機能",
            Indicator::Lipids => "脂質",
            Indicator::Glucose => "血糖",
            Indicator::MetabolicSyndrome => "メタボリックシンドローム",
            Indicator::GuidanceTarget => "特定保健指導対象",
            Indicator::NonSmoking => "喫煙",
            Indicator::Exercise => "運動",
            Indicator::Eating => "食事",
            Indicator::Drinking => "飲酒",
            Indicator::Sleep => "睡眠",
            Indicator::Chewing => "咀嚼",
        }
    }

    /// Whether a higher share is better (a good habit) rather than worse (a risk).
    pub fn higher_is_better(self) -> bool {
        matches!(
            self,
            Indicator::NonSmoking
                | Indicator::Exercise
                | Indicator::Eating
                | Indicator::Drinking
                | Indicator::Sleep
                | Indicator::Chewing
        )
    }
}

/// A checkup's indicators: which are known, and of those which hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// Indicators that could be determined ([`Indicator::bit`]s).
    pub known: u32,
    /// Of those, the ones that hold (a risk held, a good habit kept).
    pub present: u32,
}

impl Flags {
    fn set(&mut self, indicator: Indicator, value: Option<bool>) {
        if let Some(v) = value {
            self.known |= indicator.bit();
            if v {
                self.present |= indicator.bit();
            }
        }
    }

    /// Whether `indicator` is known and holds (`None` when unknown).
    pub fn get(&self, indicator: Indicator) -> Option<bool> {
        (self.known & indicator.bit() != 0).then_some(self.present & indicator.bit() != 0)
    }
}

/// The answers and values the indicators read beyond [`Facts`].
#[derive(Default)]
struct Extra {
    ast: Option<f64>,
    alt: Option<f64>,
    ggt: Option<f64>,
    answers: std::collections::HashMap<&'static str, String>,
}

const QUESTIONS: [&str; 10] = [
    "9N746", "9N751", "9N756", "9N766", "9N771", "9N781", "9N786", "9N791", "9N796", "9N872",
];

/// The indicators of a checkup from its facts, its judgements and its items (as
/// [`Facts::from_items`] reads them).
pub fn indicators<'a>(
    facts: &Facts,
    rules: RuleSet,
    level: Option<GuidanceLevel>,
    metabolic: Metabolic,
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Flags {
    let mut extra = Extra::default();
    for (code, value) in items {
        let number = || value.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        match code.get(..5) {
            Some("3B035") => extra.ast = number(),
            Some("3B045") => extra.alt = number(),
            Some("3B090") => extra.ggt = number(),
            Some(prefix) if code.ends_with("000000000011") => {
                if let Some(q) = QUESTIONS.iter().find(|q| **q == prefix) {
                    extra.answers.insert(q, value.trim().to_owned());
                }
            }
            _ => {}
        }
    }
    let answer = |q: &str| extra.answers.get(q).map(String::as_str);
    let yes = |q: &str| match answer(q) {
        Some("1") => Some(true),
        Some("2") => Some(false),
        _ => None,
    };
    let at_least = |v: Option<f64>, bound: f64| v.map(|v| v >= bound);
    let waist_bound = if facts.sex == 2 { 90.0 } else { 85.0 };

    let mut f = Flags::default();
    f.set(
        Indicator::Obesity,
        any(&[
            at_least(facts.waist, waist_bound),
            at_least(facts.bmi, 25.0),
        ]),
    );
    f.set(
        Indicator::BloodPressure,
        match facts.medication_pressure {
            Some(true) => Some(true),
            _ => any(&[
                at_least(facts.systolic, 130.0),
                at_least(facts.diastolic, 85.0),
            ]),
        },
    );
    f.set(
        Indicator::Liver,
        any(&[
            at_least(extra.ast, 31.0),
            at_least(extra.alt, 31.0),
            at_least(extra.ggt, 51.0),
        ]),
    );
    let triglycerides = match facts.fasting_triglycerides {
        Some(v) => Some(v >= 150.0),
        None if rules == RuleSet::Fourth
            && facts.timing == crate::stratify::SampleTiming::AfterMeal =>
        {
            at_least(facts.random_triglycerides, 175.0)
        }
        None => None,
    };
    f.set(
        Indicator::Lipids,
        match facts.medication_lipids {
            Some(true) => Some(true),
            _ => any(&[triglycerides, facts.hdl.map(|v| v < 40.0)]),
        },
    );
    let glucose = match (facts.fasting_glucose, facts.hba1c) {
        (Some(v), _) => Some(v >= 100.0),
        (None, Some(v)) => Some(v >= 5.6),
        (None, None) => None,
    };
    f.set(
        Indicator::Glucose,
        match facts.medication_glucose {
            Some(true) => Some(true),
            _ => glucose,
        },
    );
    f.set(
        Indicator::MetabolicSyndrome,
        (metabolic != Metabolic::Undeterminable).then_some(metabolic == Metabolic::Criteria),
    );
    f.set(
        Indicator::GuidanceTarget,
        level
            .filter(|l| *l != GuidanceLevel::Undeterminable)
            .map(GuidanceLevel::is_target),
    );
    f.set(Indicator::NonSmoking, facts.smoker.map(|s| !s));
    // Exercise: at least two of three はい.
    let moves = [yes("9N746"), yes("9N751"), yes("9N756")];
    let yeses = moves.iter().filter(|m| **m == Some(true)).count();
    let noes = moves.iter().filter(|m| **m == Some(false)).count();
    f.set(
        Indicator::Exercise,
        if yeses >= 2 {
            Some(true)
        } else if noes >= 2 {
            Some(false)
        } else {
            None
        },
    );
    // Eating: none of three bad habits.
    let bad = [
        answer("9N766").map(|a| a == "1"),
        yes("9N771"),
        yes("9N781"),
    ];
    f.set(Indicator::Eating, any(&bad).map(|b| !b));
    // Drinking: 5 or more days a week at the sex's risky amount.
    let frequent = match (rules, answer("9N786")) {
        // 第4期: 1 毎日, 2 週5〜6日, 3–8 less often or not at all.
        (RuleSet::Fourth, Some("1" | "2")) => Some(true),
        (RuleSet::Fourth, Some("3" | "4" | "5" | "6" | "7" | "8")) => Some(false),
        // 第3期: 1 毎日, 2 時々, 3 ほとんど飲まない.
        (RuleSet::Third, Some("1")) => Some(true),
        (RuleSet::Third, Some("2" | "3")) => Some(false),
        _ => None,
    };
    let risky_amount = if facts.sex == 2 { 2 } else { 3 };
    let amount = answer("9N791").and_then(|a| a.parse::<u8>().ok());
    f.set(
        Indicator::Drinking,
        match frequent {
            Some(false) => Some(true),
            Some(true) => amount.map(|a| a < risky_amount),
            None => None,
        },
    );
    f.set(Indicator::Sleep, yes("9N796"));
    f.set(
        Indicator::Chewing,
        match answer("9N872") {
            Some("1") => Some(true),
            Some("2" | "3") => Some(false),
            _ => None,
        },
    );
    f
}

//! 特定保健指導の階層化 (stratification into guidance levels) and メタボリックシンドローム判定,
//! as pure functions of one checkup's facts, by rule set (第3期 to FY2023, 第4期 from FY2024).
//! The steps are the MHLW standard programme's; where a source is silent onshi decides, and
//! each decision is written here and in `docs/reports.md`.
//!
//! **Stratification** ([`guidance_level`]):
//! 0. Medication for blood pressure, glucose or lipids (questionnaire 1–3 answered 1) excludes
//!    the person: 情報提供.
//! 1. Visceral fat: waist ≥ 85 cm (men) / ≥ 90 cm (women), or, when the waist was not measured,
//!    visceral fat area ≥ 100 cm² (type 1); otherwise BMI ≥ 25 (type 2); neither: 情報提供.
//! 2. Risks: ① blood pressure (systolic ≥ 130 or diastolic ≥ 85), ② lipids (fasting
//!    triglycerides ≥ 150, or from FY2024 random triglycerides ≥ 175 when the fasting value is
//!    missing; or HDL < 40), ③ glucose (fasting glucose ≥ 100; HbA1c ≥ 5.6 only when the fasting
//!    value is missing; random glucose ≥ 100 only when both are missing); ④ smoking, counted
//!    only with at least one of ①–③.
//! 3. Type 1 with 2 or more risks, type 2 with 3 or more: 積極的支援; fewer but at least one:
//!    動機付け支援; none: 情報提供.
//! 4. Aged 65–74 at the end of the fiscal year: 積極的支援 becomes 動機付け支援. Outside 40–74
//!    nobody is stratified (`None`).
//!
//! **Missing data** (onshi's rule, as ORCA's software does it): a missing fact is `None`; the
//! level is computed for every value the missing facts could take, and only when they disagree
//! is the result 判定不能. So a missing smoking answer does not matter for someone with no
//! other risk, and missing glucose does not matter for someone taking medication.
//!
//! **Random values** (随時): used only when the blood-sampling time (採血時間, 9N141) says the
//! sample was taken 3.5 to 10 hours after a meal (code 3; the older code 1, "within 10 hours",
//! of 第3期 data is read the same way); a sample taken within 3.5 hours (code 4) or of unknown
//! time makes a random value missing.
//!
//! **メタボリックシンドローム判定** ([`metabolic_syndrome`]): the waist criterion (or visceral
//! fat area when no waist) is required; risks are lipids (fasting triglycerides ≥ 150, random
//! ≥ 175 from FY2024 as above, HDL < 40, or lipid medication), blood pressure (≥ 130 / ≥ 85 or
//! medication) and glucose (fasting ≥ 110, else HbA1c ≥ 6.0 (NGSP), or medication; random
//! glucose is not used); 2 or more: 基準該当, 1: 予備群該当, none: 非該当.

/// A rule set, by the period of the national programme it belongs to. Each stored result
/// names the rule set that produced it ([`RuleSet::id`]), so that a change of rules
/// recomputes exactly what it changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleSet {
    /// 第3期 (FY2018–FY2023; earlier years are read with it too: onshi has no 第2期 rules).
    Third,
    /// 第4期 (FY2024–): random triglycerides, and the smoking question's "quit" answer.
    Fourth,
}

impl RuleSet {
    /// Every rule set, oldest first.
    pub const ALL: [RuleSet; 2] = [RuleSet::Third, RuleSet::Fourth];

    /// The rule set for checkups of `fiscal_year`.
    pub fn for_fiscal_year(fiscal_year: i32) -> Self {
        Self::ALL
            .into_iter()
            .rev()
            .find(|r| fiscal_year >= r.first_fiscal_year())
            .unwrap_or(RuleSet::Third)
    }

    /// The first fiscal year it governs (the oldest set governs every year before it too).
    pub fn first_fiscal_year(self) -> i32 {
        match self {
            RuleSet::Third => 2018,
            RuleSet::Fourth => 2024,
        }
    }

    /// Its name in the store and on the wire. The id covers the stratification here and the
    /// report indicators of [`crate::indicators`]: a change to either is a new id.
    pub fn id(self) -> &'static str {
        match self {
            RuleSet::Third => "tokutei-3.1",
            RuleSet::Fourth => "tokutei-4.1",
        }
    }

    /// The rule set of `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.id() == id)
    }

    fn random_triglycerides(self) -> bool {
        self == RuleSet::Fourth
    }
}

/// 保健指導レベル (the 9N506 code's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GuidanceLevel {
    /// 積極的支援.
    Active,
    /// 動機付け支援.
    Motivational,
    /// 情報提供 (no guidance).
    Information,
    /// 判定不能: a missing fact decides.
    Undeterminable,
}

impl GuidanceLevel {
    /// The code of 9N506 (保健指導レベル): 1 to 4.
    pub fn code(self) -> &'static str {
        match self {
            GuidanceLevel::Active => "1",
            GuidanceLevel::Motivational => "2",
            GuidanceLevel::Information => "3",
            GuidanceLevel::Undeterminable => "4",
        }
    }

    /// The level of a 9N506 code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            GuidanceLevel::Active,
            GuidanceLevel::Motivational,
            GuidanceLevel::Information,
            GuidanceLevel::Undeterminable,
        ]
        .into_iter()
        .find(|l| l.code() == code)
    }

    /// In Japanese, as the programme names it.
    pub fn name(self) -> &'static str {
        match self {
            GuidanceLevel::Active => "積極的支援",
            GuidanceLevel::Motivational => "動機付け支援",
            GuidanceLevel::Information => "情報提供",
            GuidanceLevel::Undeterminable => "判定不能",
        }
    }

    /// A target of specific health guidance (積極的支援 or 動機付け支援).
    pub fn is_target(self) -> bool {
        matches!(self, GuidanceLevel::Active | GuidanceLevel::Motivational)
    }
}

/// メタボリックシンドローム判定 (the 9N501 code's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metabolic {
    /// 基準該当.
    Criteria,
    /// 予備群該当.
    Reserve,
    /// 非該当.
    No,
    /// 判定不能.
    Undeterminable,
}

impl Metabolic {
    /// The code of 9N501: 1 to 4.
    pub fn code(self) -> &'static str {
        match self {
            Metabolic::Criteria => "1",
            Metabolic::Reserve => "2",
            Metabolic::No => "3",
            Metabolic::Undeterminable => "4",
        }
    }

    /// The result of a 9N501 code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            Metabolic::Criteria,
            Metabolic::Reserve,
            Metabolic::No,
            Metabolic::Undeterminable,
        ]
        .into_iter()
        .find(|m| m.code() == code)
    }

    /// In Japanese.
    pub fn name(self) -> &'static str {
        match self {
            Metabolic::Criteria => "基準該当",
            Metabolic::Reserve => "予備群該当",
            Metabolic::No => "非該当",
            Metabolic::Undeterminable => "判定不能",
        }
    }
}

/// When the blood was taken (採血時間(食後), 9N141).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SampleTiming {
    /// 10 hours or more after a meal (code 2).
    Fasting,
    /// 3.5 to 10 hours after a meal (code 3; also the older code 1).
    AfterMeal,
    /// Within 3.5 hours of a meal (code 4): random values are not used.
    JustAfterMeal,
    /// Not recorded.
    #[default]
    Unknown,
}

/// The facts of one checkup that the judgements read. Missing facts are `None`. Its `Debug`
/// shows no value: they are health data.
#[derive(Clone, Copy, PartialEq, Default)]
pub struct Facts {
    /// 1 male, 2 female.
    pub sex: u8,
    /// Age at the end of the fiscal year (31 March).
    pub age: i32,
    /// 腹囲, cm.
    pub waist: Option<f64>,
    /// 内臓脂肪面積, cm².
    pub visceral_fat: Option<f64>,
    /// BMI, as recorded or from height and weight.
    pub bmi: Option<f64>,
    /// 収縮期血圧, mmHg (the mean of the first and second readings, or the one there is).
    pub systolic: Option<f64>,
    /// 拡張期血圧, mmHg.
    pub diastolic: Option<f64>,
    /// 空腹時中性脂肪, mg/dL.
    pub fasting_triglycerides: Option<f64>,
    /// 随時中性脂肪, mg/dL.
    pub random_triglycerides: Option<f64>,
    /// HDLコレステロール, mg/dL.
    pub hdl: Option<f64>,
    /// 空腹時血糖, mg/dL.
    pub fasting_glucose: Option<f64>,
    /// 随時血糖, mg/dL.
    pub random_glucose: Option<f64>,
    /// HbA1c (NGSP), %.
    pub hba1c: Option<f64>,
    /// 採血時間.
    pub timing: SampleTiming,
    /// 服薬1 (blood pressure): taking medication.
    pub medication_pressure: Option<bool>,
    /// 服薬2 (glucose).
    pub medication_glucose: Option<bool>,
    /// 服薬3 (lipids).
    pub medication_lipids: Option<bool>,
    /// 喫煙: smokes now.
    pub smoker: Option<bool>,
}

impl std::fmt::Debug for Facts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Facts(…)")
    }
}

impl Facts {
    /// The facts of a checkup from its items: `(17-digit code, value as written)` pairs (a
    /// quantity's number, a code's code; items without a value left out). Unknown codes and
    /// values that are not numbers are ignored; the validator has already refused such files.
    pub fn from_items<'a>(
        sex: u8,
        age: i32,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut f = Facts {
            sex,
            age,
            ..Facts::default()
        };
        let (mut height, mut weight) = (None, None);
        let (mut sys, mut dia) = ([None; 3], [None; 3]);
        for (code, value) in items {
            let number = || value.trim().parse::<f64>().ok().filter(|v| v.is_finite());
            let yes = || match value.trim() {
                "1" => Some(true),
                "2" => Some(false),
                _ => None,
            };
            let Some(prefix) = code.get(..5) else {
                continue;
            };
            let random = code.get(5..9) == Some("1299");
            match prefix {
                "9N001" => height = number(),
                "9N006" => weight = number(),
                "9N011" => f.bmi = number(),
                "9N016" => f.waist = f.waist.or_else(number),
                "9N021" => f.visceral_fat = number(),
                "9A751" => sys[0] = number(),
                "9A752" => sys[1] = number(),
                "9A755" => sys[2] = number(),
                "9A761" => dia[0] = number(),
                "9A762" => dia[1] = number(),
                "9A765" => dia[2] = number(),
                "3F015" if random => f.random_triglycerides = number(),
                "3F015" => f.fasting_triglycerides = number(),
                "3F070" => f.hdl = number(),
                "3D010" if random => f.random_glucose = number(),
                "3D010" => f.fasting_glucose = number(),
                "3D046" => f.hba1c = number(),
                "9N141" => {
                    f.timing = match value.trim() {
                        "2" => SampleTiming::Fasting,
                        "1" | "3" => SampleTiming::AfterMeal,
                        "4" => SampleTiming::JustAfterMeal,
                        _ => SampleTiming::Unknown,
                    }
                }
                "9N701" if code == "9N701000000000011" => f.medication_pressure = yes(),
                "9N706" if code == "9N706000000000011" => f.medication_glucose = yes(),
                "9N711" if code == "9N711000000000011" => f.medication_lipids = yes(),
                // 1 はい; 第3期 2 いいえ; 第4期 2 quit over a month ago, 3 いいえ.
                "9N736" => {
                    f.smoker = match value.trim() {
                        "1" => Some(true),
                        "2" | "3" => Some(false),
                        _ => None,
                    }
                }
                _ => {}
            }
        }
        f.systolic = reading(sys);
        f.diastolic = reading(dia);
        if f.bmi.is_none()
            && let (Some(h), Some(w)) = (height, weight)
            && h > 0.0
        {
            f.bmi = Some((w / (h / 100.0).powi(2) * 10.0).round() / 10.0);
        }
        f
    }
}

/// Blood pressure from its readings: the mean of the first and second when both were taken,
/// else the one there is, else "other".
fn reading([first, second, other]: [Option<f64>; 3]) -> Option<f64> {
    match (first, second) {
        (Some(a), Some(b)) => Some((a + b) / 2.0),
        (Some(a), None) | (None, Some(a)) => Some(a),
        (None, None) => other,
    }
}

/// A fact that may be unknown: `Some` when known.
type Tri = Option<bool>;

fn at_least(v: Option<f64>, bound: f64) -> Tri {
    v.map(|v| v >= bound)
}

fn below(v: Option<f64>, bound: f64) -> Tri {
    v.map(|v| v < bound)
}

/// True when any is true; false when all are known false; else unknown.
pub(crate) fn any(facts: &[Tri]) -> Tri {
    if facts.contains(&Some(true)) {
        Some(true)
    } else if facts.iter().all(Option::is_some) {
        Some(false)
    } else {
        None
    }
}

/// The values a fact could take.
fn options(t: Tri) -> &'static [bool] {
    match t {
        Some(true) => &[true],
        Some(false) => &[false],
        None => &[false, true],
    }
}

impl Facts {
    fn random_usable(&self) -> bool {
        self.timing == SampleTiming::AfterMeal
    }

    /// The visceral-fat criterion: the waist, or the visceral fat area when no waist.
    fn waist_criterion(&self) -> Tri {
        let bound = if self.sex == 2 { 90.0 } else { 85.0 };
        match (self.waist, self.visceral_fat) {
            (Some(w), _) => Some(w >= bound),
            (None, Some(v)) => Some(v >= 100.0),
            (None, None) => None,
        }
    }

    fn triglycerides_at(&self, rules: RuleSet, fasting: f64, random: f64) -> Tri {
        match self.fasting_triglycerides {
            Some(v) => Some(v >= fasting),
            None if rules.random_triglycerides() && self.random_usable() => {
                at_least(self.random_triglycerides, random)
            }
            None => None,
        }
    }

    fn pressure_risk(&self) -> Tri {
        any(&[
            at_least(self.systolic, 130.0),
            at_least(self.diastolic, 85.0),
        ])
    }

    fn lipid_risk(&self, rules: RuleSet) -> Tri {
        any(&[
            self.triglycerides_at(rules, 150.0, 175.0),
            below(self.hdl, 40.0),
        ])
    }

    fn glucose_risk(&self) -> Tri {
        if let Some(v) = self.fasting_glucose {
            Some(v >= 100.0)
        } else if let Some(v) = self.hba1c {
            Some(v >= 5.6)
        } else if self.random_usable() {
            at_least(self.random_glucose, 100.0)
        } else {
            None
        }
    }
}

/// The guidance level of a checkup under `rules`, or `None` for someone outside 40–74 at the
/// end of the fiscal year (not a subject of 特定健診). See the module documentation.
pub fn guidance_level(facts: &Facts, rules: RuleSet) -> Option<GuidanceLevel> {
    if !(40..=74).contains(&facts.age) {
        return None;
    }
    let medication = any(&[
        facts.medication_pressure,
        facts.medication_glucose,
        facts.medication_lipids,
    ]);
    let waist = facts.waist_criterion();
    let bmi = at_least(facts.bmi, 25.0);
    let risks = [
        facts.pressure_risk(),
        facts.lipid_risk(rules),
        facts.glucose_risk(),
    ];
    let mut seen: Option<GuidanceLevel> = None;
    for &m in options(medication) {
        for &w in options(waist) {
            for &b in options(bmi) {
                for &p in options(risks[0]) {
                    for &l in options(risks[1]) {
                        for &g in options(risks[2]) {
                            for &s in options(facts.smoker) {
                                let level = level_of(m, w, b, [p, l, g], s, facts.age);
                                match seen {
                                    None => seen = Some(level),
                                    Some(x) if x != level => {
                                        return Some(GuidanceLevel::Undeterminable);
                                    }
                                    Some(_) => {}
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    seen
}

/// The level when every fact is known.
fn level_of(
    medication: bool,
    waist: bool,
    bmi: bool,
    risks: [bool; 3],
    smoker: bool,
    age: i32,
) -> GuidanceLevel {
    if medication || !(waist || bmi) {
        return GuidanceLevel::Information;
    }
    let mut count = risks.iter().filter(|r| **r).count();
    if count > 0 && smoker {
        count += 1;
    }
    let active_from = if waist { 2 } else { 3 };
    let level = if count >= active_from {
        GuidanceLevel::Active
    } else if count >= 1 {
        GuidanceLevel::Motivational
    } else {
        GuidanceLevel::Information
    };
    if level == GuidanceLevel::Active && age >= 65 {
        GuidanceLevel::Motivational
    } else {
        level
    }
}

/// The metabolic-syndrome result of a checkup under `rules`. See the module documentation.
pub fn metabolic_syndrome(facts: &Facts, rules: RuleSet) -> Metabolic {
    let waist = facts.waist_criterion();
    let glucose = match (facts.fasting_glucose, facts.hba1c) {
        (Some(v), _) => Some(v >= 110.0),
        (None, Some(v)) => Some(v >= 6.0),
        (None, None) => None,
    };
    let risks = [
        any(&[
            facts.triglycerides_at(rules, 150.0, 175.0),
            below(facts.hdl, 40.0),
            facts.medication_lipids,
        ]),
        any(&[
            at_least(facts.systolic, 130.0),
            at_least(facts.diastolic, 85.0),
            facts.medication_pressure,
        ]),
        any(&[glucose, facts.medication_glucose]),
    ];
    let mut seen: Option<Metabolic> = None;
    for &w in options(waist) {
        for &a in options(risks[0]) {
            for &b in options(risks[1]) {
                for &c in options(risks[2]) {
                    let count = [a, b, c].iter().filter(|r| **r).count();
                    let result = match (w, count) {
                        (false, _) => Metabolic::No,
                        (true, 0) => Metabolic::No,
                        (true, 1) => Metabolic::Reserve,
                        (true, _) => Metabolic::Criteria,
                    };
                    match seen {
                        None => seen = Some(result),
                        Some(x) if x != result => return Metabolic::Undeterminable,
                        Some(_) => {}
                    }
                }
            }
        }
    }
    seen.unwrap_or(Metabolic::Undeterminable)
}

/// A checkup's judgements and the rule set that gave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Judged {
    /// The rule set of the checkup's fiscal year.
    pub rules: RuleSet,
    /// 保健指導レベル, or `None` outside ages 40–74.
    pub level: Option<GuidanceLevel>,
    /// メタボリックシンドローム判定.
    pub metabolic: Metabolic,
    /// Some item is at or past its 受診勧奨判定値 (see [`crate::reference`]): the person is to be
    /// told to see a doctor.
    pub referral: bool,
    /// The report indicators ([`crate::indicators`]).
    pub indicators: crate::indicators::Flags,
}

/// Judges a checkup of a person of `sex` born on `birth_date`, examined on `exam_date`, from its
/// items (see [`Facts::from_items`]), under the rule set of its fiscal year.
pub fn judge<'a>(
    sex: u8,
    birth_date: time::Date,
    exam_date: time::Date,
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Judged {
    let rules = RuleSet::for_fiscal_year(onshi_domain::fiscal_year(exam_date));
    let age = onshi_domain::age_at_fiscal_year_end(birth_date, exam_date);
    let items: Vec<(&str, &str)> = items.into_iter().collect();
    let facts = Facts::from_items(sex, age, items.iter().copied());
    let referral = items.iter().any(|(code, value)| {
        let (Some(values), Ok(v)) = (
            crate::reference::values_for(code),
            value.trim().parse::<f64>(),
        ) else {
            return false;
        };
        values.judge(v, sex) == crate::reference::Judgement::Referral
    });
    let level = guidance_level(&facts, rules);
    let metabolic = metabolic_syndrome(&facts, rules);
    Judged {
        rules,
        level,
        metabolic,
        referral,
        indicators: crate::indicators::indicators(
            &facts,
            rules,
            level,
            metabolic,
            items.iter().copied(),
        ),
    }
}

//! Stratification (特定保健指導の階層化) and メタボリックシンドローム判定 against a table of cases:
//! every step, exception and missing-data rule of `onshi_checkup::stratify`, at and beside
//! each bound, under both rule sets.

use onshi_checkup::stratify::{
    Facts, GuidanceLevel, Metabolic, RuleSet, SampleTiming, guidance_level, metabolic_syndrome,
};

use GuidanceLevel::{Active, Information, Motivational, Undeterminable};
use Metabolic::{Criteria, No, Reserve};
use RuleSet::{Fourth, Third};

/// A man of 50 with every fact known and nothing wrong.
fn healthy() -> Facts {
    Facts {
        sex: 1,
        age: 50,
        waist: Some(80.0),
        visceral_fat: None,
        bmi: Some(22.0),
        systolic: Some(118.0),
        diastolic: Some(72.0),
        fasting_triglycerides: Some(90.0),
        random_triglycerides: None,
        hdl: Some(60.0),
        fasting_glucose: Some(88.0),
        random_glucose: None,
        hba1c: Some(5.2),
        timing: SampleTiming::Fasting,
        medication_pressure: Some(false),
        medication_glucose: Some(false),
        medication_lipids: Some(false),
        smoker: Some(false),
    }
}

type Case = (
    &'static str,
    RuleSet,
    Facts,
    Option<GuidanceLevel>,
    Metabolic,
);

fn with(f: impl FnOnce(&mut Facts)) -> Facts {
    let mut facts = healthy();
    f(&mut facts);
    facts
}

fn cases() -> Vec<Case> {
    let big = |f: &mut Facts| f.waist = Some(90.0);
    let pressure = |f: &mut Facts| f.systolic = Some(135.0);
    let lipids = |f: &mut Facts| f.hdl = Some(35.0);
    let glucose = |f: &mut Facts| f.fasting_glucose = Some(105.0);
    let random_only = |f: &mut Facts| {
        f.fasting_triglycerides = None;
        f.fasting_glucose = None;
        f.hba1c = None;
        f.timing = SampleTiming::AfterMeal;
    };
    vec![
        // Step 1: visceral fat.
        ("nothing wrong", Fourth, healthy(), Some(Information), No),
        (
            "waist 85 (a man's bound) and blood pressure",
            Fourth,
            with(|f| {
                f.waist = Some(85.0);
                pressure(f);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "waist 84.9, BMI 24.9: every risk, but no visceral fat",
            Fourth,
            with(|f| {
                f.waist = Some(84.9);
                f.bmi = Some(24.9);
                pressure(f);
                lipids(f);
                glucose(f);
                f.smoker = Some(true);
            }),
            Some(Information),
            No,
        ),
        (
            "a woman's waist of 89 is below her bound: BMI 25 and two risks",
            Fourth,
            with(|f| {
                f.sex = 2;
                f.waist = Some(89.0);
                f.bmi = Some(25.0);
                pressure(f);
                lipids(f);
            }),
            Some(Motivational),
            No,
        ),
        (
            "a woman's waist of 90 with two risks",
            Fourth,
            with(|f| {
                f.sex = 2;
                f.waist = Some(90.0);
                pressure(f);
                lipids(f);
            }),
            Some(Active),
            Criteria,
        ),
        (
            "no waist: visceral fat area 100 counts as the waist",
            Fourth,
            with(|f| {
                f.waist = None;
                f.visceral_fat = Some(100.0);
                pressure(f);
                lipids(f);
            }),
            Some(Active),
            Criteria,
        ),
        (
            "no waist: visceral fat area 99.9 does not; BMI 22",
            Fourth,
            with(|f| {
                f.waist = None;
                f.visceral_fat = Some(99.9);
                pressure(f);
                lipids(f);
            }),
            Some(Information),
            No,
        ),
        // Steps 2 and 3: counting risks.
        (
            "waist with one risk (lipids: HDL 39)",
            Fourth,
            with(|f| {
                big(f);
                f.hdl = Some(39.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "HDL 40 is no risk",
            Fourth,
            with(|f| {
                big(f);
                f.hdl = Some(40.0);
            }),
            Some(Information),
            No,
        ),
        (
            "waist with two risks",
            Fourth,
            with(|f| {
                big(f);
                pressure(f);
                glucose(f);
            }),
            Some(Active),
            Reserve, // glucose 105 is below the syndrome's 110
        ),
        (
            "diastolic 85 alone is the blood-pressure risk",
            Fourth,
            with(|f| {
                big(f);
                f.diastolic = Some(85.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "systolic 129, diastolic 84: no risk",
            Fourth,
            with(|f| {
                big(f);
                f.systolic = Some(129.0);
                f.diastolic = Some(84.0);
            }),
            Some(Information),
            No,
        ),
        (
            "fasting triglycerides 150 are a risk",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_triglycerides = Some(150.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "fasting triglycerides 149 are not",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_triglycerides = Some(149.0);
            }),
            Some(Information),
            No,
        ),
        (
            "BMI 25 with two risks: motivational",
            Fourth,
            with(|f| {
                f.bmi = Some(25.0);
                pressure(f);
                lipids(f);
            }),
            Some(Motivational),
            No,
        ),
        (
            "BMI 25 with three risks: active",
            Fourth,
            with(|f| {
                f.bmi = Some(25.0);
                pressure(f);
                lipids(f);
                glucose(f);
            }),
            Some(Active),
            No,
        ),
        // Smoking counts only with another risk.
        (
            "waist, one risk and smoking: active",
            Fourth,
            with(|f| {
                big(f);
                pressure(f);
                f.smoker = Some(true);
            }),
            Some(Active),
            Reserve,
        ),
        (
            "waist and smoking alone: information",
            Fourth,
            with(|f| {
                big(f);
                f.smoker = Some(true);
            }),
            Some(Information),
            No,
        ),
        (
            "BMI, two risks and smoking: active",
            Fourth,
            with(|f| {
                f.bmi = Some(27.0);
                pressure(f);
                glucose(f);
                f.smoker = Some(true);
            }),
            Some(Active),
            No,
        ),
        // Step 0: medication excludes; for the syndrome it is a risk.
        (
            "blood-pressure medication with every risk: information",
            Fourth,
            with(|f| {
                big(f);
                pressure(f);
                lipids(f);
                glucose(f);
                f.medication_pressure = Some(true);
            }),
            Some(Information),
            Criteria,
        ),
        (
            "lipid medication alone makes the syndrome's reserve group",
            Fourth,
            with(|f| {
                big(f);
                f.medication_lipids = Some(true);
            }),
            Some(Information),
            Reserve,
        ),
        (
            "glucose medication and blood pressure: the syndrome",
            Fourth,
            with(|f| {
                big(f);
                pressure(f);
                f.medication_glucose = Some(true);
            }),
            Some(Information),
            Criteria,
        ),
        // Step 4: age at the end of the fiscal year.
        (
            "64 with waist and three risks: active",
            Fourth,
            with(|f| {
                f.age = 64;
                big(f);
                pressure(f);
                lipids(f);
                glucose(f);
            }),
            Some(Active),
            Criteria,
        ),
        (
            "65 with the same: motivational",
            Fourth,
            with(|f| {
                f.age = 65;
                big(f);
                pressure(f);
                lipids(f);
                glucose(f);
            }),
            Some(Motivational),
            Criteria,
        ),
        (
            "74 is still stratified",
            Fourth,
            with(|f| {
                f.age = 74;
                big(f);
                pressure(f);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "75 is not a subject",
            Fourth,
            with(|f| f.age = 75),
            None,
            No,
        ),
        (
            "39 is not a subject",
            Fourth,
            with(|f| f.age = 39),
            None,
            No,
        ),
        ("40 is", Fourth, with(|f| f.age = 40), Some(Information), No),
        // Glucose: fasting first, then HbA1c, then random.
        (
            "fasting glucose 95 decides over HbA1c 5.8",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_glucose = Some(95.0);
                f.hba1c = Some(5.8);
            }),
            Some(Information),
            No,
        ),
        (
            "fasting glucose 100 is a risk",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_glucose = Some(100.0);
            }),
            Some(Motivational),
            No,
        ),
        (
            "no fasting glucose: HbA1c 5.6 is a risk",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_glucose = None;
                f.hba1c = Some(5.6);
            }),
            Some(Motivational),
            No,
        ),
        (
            "no fasting glucose: HbA1c 5.5 is not",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_glucose = None;
                f.hba1c = Some(5.5);
            }),
            Some(Information),
            No,
        ),
        (
            "the syndrome: fasting glucose 110",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_glucose = Some(110.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "the syndrome: HbA1c 6.0 without a fasting value",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_glucose = None;
                f.hba1c = Some(6.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "random glucose 100, 3.5–10 hours after a meal, is a risk",
            Fourth,
            with(|f| {
                big(f);
                random_only(f);
                f.fasting_triglycerides = Some(90.0);
                f.random_glucose = Some(100.0);
            }),
            Some(Motivational),
            // The syndrome does not read random glucose: with no other glucose value and no
            // other risk, its glucose decides between 非該当 and 予備群.
            Metabolic::Undeterminable,
        ),
        (
            "random glucose within 3.5 hours of a meal is not used: glucose decides",
            Fourth,
            with(|f| {
                big(f);
                random_only(f);
                f.timing = SampleTiming::JustAfterMeal;
                f.fasting_triglycerides = Some(90.0);
                f.random_glucose = Some(130.0);
                pressure(f);
            }),
            Some(Undeterminable),
            Metabolic::Undeterminable,
        ),
        (
            "random glucose with no sampling time is not used",
            Fourth,
            with(|f| {
                big(f);
                random_only(f);
                f.timing = SampleTiming::Unknown;
                f.fasting_triglycerides = Some(90.0);
                f.random_glucose = Some(130.0);
                pressure(f);
            }),
            Some(Undeterminable),
            Metabolic::Undeterminable,
        ),
        // Random triglycerides: from FY2024 only, at 175.
        (
            "FY2024: random triglycerides 175 are a risk",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_triglycerides = None;
                f.timing = SampleTiming::AfterMeal;
                f.random_triglycerides = Some(175.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "FY2024: random triglycerides 174 are not",
            Fourth,
            with(|f| {
                big(f);
                f.fasting_triglycerides = None;
                f.timing = SampleTiming::AfterMeal;
                f.random_triglycerides = Some(174.0);
            }),
            Some(Information),
            No,
        ),
        (
            "FY2023: random triglycerides are not read, and lipids decide",
            Third,
            with(|f| {
                big(f);
                f.fasting_triglycerides = None;
                f.timing = SampleTiming::AfterMeal;
                f.random_triglycerides = Some(400.0);
            }),
            Some(Undeterminable),
            Metabolic::Undeterminable,
        ),
        (
            "FY2023: a low HDL is a lipid risk whatever the triglycerides",
            Third,
            with(|f| {
                big(f);
                f.fasting_triglycerides = None;
                f.hdl = Some(38.0);
            }),
            Some(Motivational),
            Reserve,
        ),
        // Missing facts decide only when they could change the result.
        (
            "smoking unknown without another risk: information",
            Fourth,
            with(|f| {
                big(f);
                f.smoker = None;
            }),
            Some(Information),
            No,
        ),
        (
            "smoking unknown with waist and one risk: it decides",
            Fourth,
            with(|f| {
                big(f);
                pressure(f);
                f.smoker = None;
            }),
            Some(Undeterminable),
            Reserve,
        ),
        (
            "smoking unknown at 65: motivational either way",
            Fourth,
            with(|f| {
                f.age = 65;
                big(f);
                pressure(f);
                f.smoker = None;
            }),
            Some(Motivational),
            Reserve,
        ),
        (
            "no waist, no visceral fat area, BMI 27, two risks: the waist decides",
            Fourth,
            with(|f| {
                f.waist = None;
                f.bmi = Some(27.0);
                pressure(f);
                lipids(f);
            }),
            Some(Undeterminable),
            Metabolic::Undeterminable,
        ),
        (
            "no waist and no risk: information, and no syndrome",
            Fourth,
            with(|f| f.waist = None),
            Some(Information),
            No,
        ),
        (
            "no BMI, small waist: BMI decides with risks",
            Fourth,
            with(|f| {
                f.bmi = None;
                pressure(f);
            }),
            Some(Undeterminable),
            No,
        ),
        (
            "no medication answers, no visceral fat: information",
            Fourth,
            with(|f| {
                f.medication_pressure = None;
                f.medication_glucose = None;
                f.medication_lipids = None;
            }),
            Some(Information),
            No,
        ),
        (
            "no medication answers, waist and two risks: medication decides",
            Fourth,
            with(|f| {
                big(f);
                pressure(f);
                lipids(f);
                f.medication_glucose = None;
            }),
            Some(Undeterminable),
            Criteria,
        ),
        (
            "no blood pressure, waist and two other risks: active either way",
            Fourth,
            with(|f| {
                big(f);
                f.systolic = None;
                f.diastolic = None;
                lipids(f);
                glucose(f);
            }),
            Some(Active),
            Metabolic::Undeterminable,
        ),
        (
            "one blood pressure reading missing, the other normal: it decides",
            Fourth,
            with(|f| {
                big(f);
                f.diastolic = None;
                lipids(f);
            }),
            Some(Undeterminable),
            Metabolic::Undeterminable,
        ),
    ]
}

#[test]
fn every_case_of_the_table() {
    let cases = cases();
    assert!(cases.len() >= 45, "{}", cases.len());
    let mut failures = Vec::new();
    for (name, rules, facts, level, metabolic) in &cases {
        let got = (
            guidance_level(facts, *rules),
            metabolic_syndrome(facts, *rules),
        );
        if got != (*level, *metabolic) {
            failures.push(format!(
                "{name}: expected {level:?} / {metabolic:?}, got {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The facts come from the items as a document writes them.
#[test]
fn facts_are_read_from_a_checkups_items() {
    let items = [
        ("9N001000000000001", "170.0"),
        ("9N006000000000001", "75.1"),
        ("9N016160100000001", "88.0"),
        ("9A751000000000001", "128"),
        ("9A752000000000001", "132"),
        ("9A761000000000001", "80"),
        ("9A762000000000001", "82"),
        ("9N141000000000011", "3"),
        ("3F015129902327101", "180"),
        ("3F070000002327101", "55"),
        ("3D010129901926101", "99"),
        ("9N701000000000011", "2"),
        ("9N706000000000011", "2"),
        ("9N711000000000011", "2"),
        ("9N736000000000011", "2"),
        ("9N701167000000049", "薬剤名"),
    ];
    let facts = Facts::from_items(1, 52, items.iter().copied());
    assert_eq!(facts.bmi, Some(26.0), "from height and weight");
    assert_eq!(facts.systolic, Some(130.0), "the mean of two readings");
    assert_eq!(facts.diastolic, Some(81.0));
    assert_eq!(facts.random_triglycerides, Some(180.0));
    assert_eq!(facts.fasting_triglycerides, None);
    assert_eq!(facts.random_glucose, Some(99.0));
    assert_eq!(facts.timing, SampleTiming::AfterMeal);
    assert_eq!(facts.medication_pressure, Some(false));
    assert_eq!(
        facts.smoker,
        Some(false),
        "第4期: 2 is 'quit', not a smoker"
    );
    assert!(!format!("{facts:?}").contains("130"), "no values in Debug");
    // Waist, blood pressure and random triglycerides: active in FY2024; in FY2023 the random
    // triglycerides are not read and HDL is normal, so lipids decide.
    assert_eq!(guidance_level(&facts, Fourth), Some(Active));
    assert_eq!(guidance_level(&facts, Third), Some(Undeterminable));
    // A single reading recorded as "other" is the blood pressure.
    let other = Facts::from_items(1, 52, [("9A755000000000001", "141")]);
    assert_eq!(other.systolic, Some(141.0));
    // A BMI as written is kept.
    let given = Facts::from_items(
        2,
        60,
        [
            ("9N011000000000001", "24.0"),
            ("9N001000000000001", "150"),
            ("9N006000000000001", "80"),
        ],
    );
    assert_eq!(given.bmi, Some(24.0));
}

#[test]
fn rule_sets_follow_the_fiscal_year_and_round_trip_their_ids() {
    assert_eq!(RuleSet::for_fiscal_year(2023), Third);
    assert_eq!(RuleSet::for_fiscal_year(2024), Fourth);
    assert_eq!(RuleSet::for_fiscal_year(2015), Third);
    for r in RuleSet::ALL {
        assert_eq!(RuleSet::from_id(r.id()), Some(r));
    }
    for l in [Active, Motivational, Information, Undeterminable] {
        assert_eq!(GuidanceLevel::from_code(l.code()), Some(l));
    }
    for m in [Criteria, Reserve, No, Metabolic::Undeterminable] {
        assert_eq!(Metabolic::from_code(m.code()), Some(m));
    }
    assert!(Active.is_target() && Motivational.is_target() && !Information.is_target());
}

/// `judge` takes the rule set and age from the dates, and flags a value past its 受診勧奨判定値.
#[test]
fn judging_a_checkup_reads_its_dates_and_referral_values() {
    use onshi_checkup::stratify::judge;
    use time::macros::date;
    let items = |glucose: &'static str| {
        [
            ("9N016160100000001", "91.0"),
            ("9A751000000000001", "120"),
            ("9A761000000000001", "70"),
            ("3F015000002327101", "100"),
            ("3F070000002327101", "60"),
            ("3D010000001926101", glucose),
            ("9N701000000000011", "2"),
            ("9N706000000000011", "2"),
            ("9N711000000000011", "2"),
            ("9N736000000000011", "3"),
        ]
    };
    // Born 1960-04-01: 65 at the end of FY2024 (reached 2025-03-31), 64 at the end of FY2023.
    let j = judge(
        1,
        date!(1960 - 04 - 01),
        date!(2024 - 06 - 01),
        items("126"),
    );
    assert_eq!(j.rules, Fourth);
    assert_eq!(j.level, Some(Motivational));
    assert_eq!(j.metabolic, Reserve);
    assert!(j.referral, "fasting glucose 126 is the 受診勧奨判定値");
    let j = judge(
        1,
        date!(1960 - 04 - 01),
        date!(2024 - 03 - 31),
        items("125"),
    );
    assert_eq!(j.rules, Third);
    assert_eq!(j.level, Some(Motivational));
    assert!(!j.referral);
    // Born 1985-04-02: 39 at the end of FY2024, not stratified.
    let j = judge(1, date!(1985 - 04 - 02), date!(2024 - 06 - 01), items("90"));
    assert_eq!(j.level, None);
}

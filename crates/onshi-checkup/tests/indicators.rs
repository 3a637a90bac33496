//! The report indicators of one checkup (onshi's definitions, `docs/reports.md` §3): each risk
//! and habit at its bounds, from the items as a document writes them, and unknown when the
//! answers that decide it are missing.

use onshi_checkup::indicators::{Flags, Indicator};
use onshi_checkup::stratify::judge;
use time::macros::date;

use Indicator::*;

/// A man of 50 with normal values and good habits, as items.
fn base() -> Vec<(&'static str, &'static str)> {
    vec![
        ("9N016160100000001", "80.0"),
        ("9N011000000000001", "22.0"),
        ("9A751000000000001", "118"),
        ("9A761000000000001", "72"),
        ("3F015000002327101", "90"),
        ("3F070000002327101", "60"),
        ("3D010000001926101", "88"),
        ("3B035000002327201", "20"),
        ("3B045000002327201", "20"),
        ("3B090000002327101", "30"),
        ("9N701000000000011", "2"),
        ("9N706000000000011", "2"),
        ("9N711000000000011", "2"),
        ("9N736000000000011", "3"),
        ("9N746000000000011", "1"),
        ("9N751000000000011", "1"),
        ("9N756000000000011", "2"),
        ("9N766000000000011", "2"),
        ("9N771000000000011", "2"),
        ("9N781000000000011", "2"),
        ("9N786000000000011", "8"),
        ("9N796000000000011", "1"),
        ("9N872000000000011", "1"),
    ]
}

fn flags(sex: u8, exam: time::Date, items: &[(&str, &str)]) -> Flags {
    judge(sex, date!(1975 - 06 - 01), exam, items.iter().copied()).indicators
}

fn with(changes: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut items = base();
    for (code, value) in changes {
        items.retain(|(c, _)| c != code);
        if !value.is_empty() {
            items.push((code, value));
        }
    }
    items
}

const FY2024: time::Date = date!(2024 - 06 - 01);

/// (name, sex, changed items, indicator, expected).
type Case = (
    &'static str,
    u8,
    Vec<(&'static str, &'static str)>,
    Indicator,
    Option<bool>,
);

#[test]
fn the_healthy_base_holds_no_risk_and_every_good_habit() {
    let f = flags(1, FY2024, &base());
    for i in Indicator::ALL {
        assert_eq!(f.get(i), Some(i.higher_is_better()), "{}", i.name());
    }
}

#[test]
fn each_indicator_at_its_bounds() {
    // (name, sex, changes, indicator, expected)
    let cases: Vec<Case> = vec![
        (
            "waist 85, a man",
            1,
            vec![("9N016160100000001", "85.0")],
            Obesity,
            Some(true),
        ),
        (
            "waist 85, a woman",
            2,
            vec![("9N016160100000001", "85.0")],
            Obesity,
            Some(false),
        ),
        (
            "BMI 25",
            1,
            vec![("9N011000000000001", "25.0")],
            Obesity,
            Some(true),
        ),
        (
            "no waist, BMI 22: unknown",
            1,
            vec![("9N016160100000001", "")],
            Obesity,
            None,
        ),
        (
            "systolic 130",
            1,
            vec![("9A751000000000001", "130")],
            BloodPressure,
            Some(true),
        ),
        (
            "diastolic 84",
            1,
            vec![("9A761000000000001", "84")],
            BloodPressure,
            Some(false),
        ),
        (
            "on pressure medication",
            1,
            vec![("9N701000000000011", "1")],
            BloodPressure,
            Some(true),
        ),
        (
            "no diastolic, normal systolic: unknown",
            1,
            vec![("9A761000000000001", "")],
            BloodPressure,
            None,
        ),
        (
            "AST 31",
            1,
            vec![("3B035000002327201", "31")],
            Liver,
            Some(true),
        ),
        (
            "γ-GT 50",
            1,
            vec![("3B090000002327101", "50")],
            Liver,
            Some(false),
        ),
        (
            "γ-GT 51",
            1,
            vec![("3B090000002327101", "51")],
            Liver,
            Some(true),
        ),
        (
            "no ALT, others normal: unknown",
            1,
            vec![("3B045000002327201", "")],
            Liver,
            None,
        ),
        (
            "no ALT, AST 40",
            1,
            vec![("3B045000002327201", ""), ("3B035000002327201", "40")],
            Liver,
            Some(true),
        ),
        (
            "HDL 39",
            1,
            vec![("3F070000002327101", "39")],
            Lipids,
            Some(true),
        ),
        (
            "on lipid medication",
            1,
            vec![("9N711000000000011", "1")],
            Lipids,
            Some(true),
        ),
        (
            "fasting glucose 100",
            1,
            vec![("3D010000001926101", "100")],
            Glucose,
            Some(true),
        ),
        (
            "no fasting glucose, HbA1c 5.6",
            1,
            vec![("3D010000001926101", ""), ("3D046000001906202", "5.6")],
            Glucose,
            Some(true),
        ),
        (
            "on glucose medication",
            1,
            vec![("9N706000000000011", "1")],
            Glucose,
            Some(true),
        ),
        (
            "smokes",
            1,
            vec![("9N736000000000011", "1")],
            NonSmoking,
            Some(false),
        ),
        (
            "quit (第4期 answer 2)",
            1,
            vec![("9N736000000000011", "2")],
            NonSmoking,
            Some(true),
        ),
        (
            "exercise: one of three",
            1,
            vec![("9N751000000000011", "2")],
            Exercise,
            Some(false),
        ),
        (
            "exercise: two of three, one unanswered",
            1,
            vec![("9N756000000000011", "")],
            Exercise,
            Some(true),
        ),
        (
            "exercise: one はい, one unanswered: unknown",
            1,
            vec![
                ("9N751000000000011", ""),
                ("9N756000000000011", "2"),
                ("9N746000000000011", "1"),
            ],
            Exercise,
            None,
        ),
        (
            "eats fast",
            1,
            vec![("9N766000000000011", "1")],
            Eating,
            Some(false),
        ),
        (
            "skips breakfast",
            1,
            vec![("9N781000000000011", "1")],
            Eating,
            Some(false),
        ),
        (
            "late dinner unanswered, others good: unknown",
            1,
            vec![("9N771000000000011", "")],
            Eating,
            None,
        ),
        (
            "a man drinking daily, 1–2 合",
            1,
            vec![("9N786000000000011", "1"), ("9N791000000000011", "2")],
            Drinking,
            Some(true),
        ),
        (
            "a man drinking daily, 2–3 合",
            1,
            vec![("9N786000000000011", "1"), ("9N791000000000011", "3")],
            Drinking,
            Some(false),
        ),
        (
            "a woman drinking 5–6 days, 1–2 合",
            2,
            vec![("9N786000000000011", "2"), ("9N791000000000011", "2")],
            Drinking,
            Some(false),
        ),
        (
            "drinking 3–4 days at 5 合",
            1,
            vec![("9N786000000000011", "3"), ("9N791000000000011", "5")],
            Drinking,
            Some(true),
        ),
        (
            "drinking daily, amount unanswered: unknown",
            1,
            vec![("9N786000000000011", "1")],
            Drinking,
            None,
        ),
        (
            "not rested by sleep",
            1,
            vec![("9N796000000000011", "2")],
            Sleep,
            Some(false),
        ),
        (
            "chews with difficulty",
            1,
            vec![("9N872000000000011", "2")],
            Chewing,
            Some(false),
        ),
        (
            "waist and blood pressure: a guidance target",
            1,
            vec![("9N016160100000001", "90.0"), ("9A751000000000001", "135")],
            GuidanceTarget,
            Some(true),
        ),
        (
            "waist, blood pressure and HDL: the syndrome",
            1,
            vec![
                ("9N016160100000001", "90.0"),
                ("9A751000000000001", "135"),
                ("3F070000002327101", "35"),
            ],
            MetabolicSyndrome,
            Some(true),
        ),
    ];
    let mut failures = Vec::new();
    for (name, sex, changes, indicator, expected) in &cases {
        let got = flags(*sex, FY2024, &with(changes)).get(*indicator);
        if got != *expected {
            failures.push(format!(
                "{name}: {} expected {expected:?}, got {got:?}",
                indicator.name()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(cases.len() >= 35);
}

#[test]
fn the_third_periods_drinking_answers_and_random_triglycerides() {
    let fy2023 = date!(2023 - 06 - 01);
    // 第3期: 1 毎日, 2 時々.
    let daily = with(&[("9N786000000000011", "1"), ("9N791000000000011", "3")]);
    assert_eq!(flags(1, fy2023, &daily).get(Drinking), Some(false));
    let sometimes = with(&[("9N786000000000011", "2"), ("9N791000000000011", "5")]);
    assert_eq!(flags(1, fy2023, &sometimes).get(Drinking), Some(true));
    // Random triglycerides 180 count from FY2024 only.
    let random = with(&[
        ("3F015000002327101", ""),
        ("3F015129902327101", "180"),
        ("9N141000000000011", "3"),
    ]);
    assert_eq!(flags(1, FY2024, &random).get(Lipids), Some(true));
    assert_eq!(flags(1, fy2023, &random).get(Lipids), None);
    // Under 40: no guidance level, so the target indicator is unknown.
    let young = judge(1, date!(1990 - 01 - 01), FY2024, base().iter().copied());
    assert_eq!(young.indicators.get(GuidanceTarget), None);
}

//! The scoring reports of a fiscal year from counted cells: shares, kind and national
//! averages, relative values, the age- and sex-adjusted share that does not praise a young
//! workforce for its age, and masking (small insurers ×, and one more so that the small one
//! cannot be recovered from its kind's total).

use onshi_checkup::indicators::Indicator;
use onshi_checkup::masking::Shown;
use onshi_checkup::scoring::{Cell, insurer_reports};
use onshi_domain::InsurerKind;

/// Men of band `band` of `insurer`, `people` of them, `percent` of them obese.
fn cell(insurer: &str, band: u8, people: i64, percent: i64) -> Cell {
    let mut known = vec![0; Indicator::ALL.len()];
    let mut present = vec![0; Indicator::ALL.len()];
    known[0] = people;
    present[0] = people * percent / 100;
    Cell {
        insurer: insurer.into(),
        employer: None,
        sex: 1,
        age_band: band,
        people,
        known,
        present,
    }
}

#[test]
fn shares_averages_adjustment_and_masking() {
    // Everyone's obesity share by age: 10 % at 40–44, 30 % at 55–59, 50 % at 70–74.
    let by_age = |insurer: &str, young: i64, middle: i64, old: i64| {
        vec![
            cell(insurer, 0, young, 10),
            cell(insurer, 3, middle, 30),
            cell(insurer, 6, old, 50),
        ]
    };
    let mut cells = Vec::new();
    cells.extend(by_age("06000001", 400, 50, 50)); // young society
    cells.extend(by_age("06000002", 50, 50, 400)); // old society
    cells.extend(by_age("06000003", 50, 100, 50)); // a middling society
    cells.push(cell("06000004", 3, 30, 30)); // a small one
    cells.extend(by_age("01000001", 200, 200, 200)); // 協会けんぽ
    let kind = |n: &str| {
        if n.starts_with("06") {
            InsurerKind::HealthInsuranceSociety
        } else {
            InsurerKind::KyokaiKenpo
        }
    };
    let reports = insurer_reports(2024, &cells, kind);
    assert_eq!(reports.insurers.len(), 5);
    let obesity = |n: &str| reports.insurers[n].rows[0].clone();
    assert_eq!(obesity("06000001").indicator, Indicator::Obesity);

    // The young society: 80 of 500 (16.0 %), but 30.0 % at the nation's age mix, which is
    // exactly the nation's share: it is no healthier, only younger.
    let young = obesity("06000001");
    assert_eq!(
        young.own,
        Shown::Share {
            percent: 16.0,
            n: 500
        }
    );
    assert_eq!(young.adjusted, Some(30.0));
    assert_eq!(
        young.national,
        Shown::Share {
            percent: 30.0,
            n: 1830
        }
    );
    assert_eq!(young.relative, Some(53.3));
    let old = obesity("06000002");
    assert_eq!(old.own.percent(), Some(44.0));
    assert_eq!(old.adjusted, Some(30.0));
    // Societies together: (80 + 220 + 60 + 9) / 1230.
    assert_eq!(
        young.kind_average,
        Shown::Share {
            percent: 30.0,
            n: 1230
        }
    );
    assert_eq!(obesity("01000001").kind_average.percent(), Some(30.0));

    // 30 people: masked. Alone it would be the societies' total minus the others, so the
    // smallest other society is masked too; the young and old ones stay.
    assert_eq!(obesity("06000004").own, Shown::Masked);
    assert_eq!(obesity("06000004").adjusted, None);
    assert_eq!(obesity("06000003").own, Shown::Masked);
    assert_eq!(obesity("06000003").relative, None);
    assert!(young.own.percent().is_some() && old.own.percent().is_some());

    // An indicator nobody has: not computable anywhere.
    let sleep = &reports.insurers["06000001"].rows[11];
    assert_eq!(sleep.indicator, Indicator::Sleep);
    assert_eq!(sleep.own, Shown::NotComputable);
    assert_eq!(sleep.national, Shown::NotComputable);
}

#[test]
fn the_adjusted_share_needs_three_bands() {
    let cells = vec![
        cell("06000001", 0, 300, 10),
        cell("06000001", 6, 300, 50),
        cell("01000001", 0, 300, 10),
        cell("01000001", 3, 300, 30),
        cell("01000001", 6, 300, 50),
    ];
    let reports = insurer_reports(2024, &cells, |_| InsurerKind::HealthInsuranceSociety);
    let two_bands = &reports.insurers["06000001"].rows[0];
    assert_eq!(two_bands.own.percent(), Some(30.0));
    assert_eq!(
        two_bands.adjusted, None,
        "two bands and two shares would tell each band"
    );
    assert_eq!(reports.insurers["01000001"].rows[0].adjusted, Some(30.0));
}

fn at(insurer: &str, employer: Option<&str>, people: i64, percent: i64) -> Cell {
    let mut c = cell(insurer, 3, people, percent);
    c.employer = employer.map(str::to_owned);
    c
}

#[test]
fn workplace_sheets_are_masked_with_their_insurer_and_industry() {
    let cells = vec![
        at("06000001", Some("W1"), 120, 20),
        at("06000001", Some("W2"), 30, 40),
        at("06000001", Some("W3"), 200, 30),
        at("01000001", Some("W4"), 300, 10),
        at("01000001", None, 60, 50),
    ];
    let industry = |_: &str, code: &str| match code {
        "W3" => Some("F".to_owned()),
        _ => Some("E".to_owned()),
    };
    let r = onshi_checkup::scoring::reports(
        2024,
        &cells,
        |n| {
            if n.starts_with("06") {
                InsurerKind::HealthInsuranceSociety
            } else {
                InsurerKind::KyokaiKenpo
            }
        },
        industry,
    );
    let sheet = |i: &str, e: &str| r.workplaces[&(i.to_owned(), e.to_owned())].rows[0].clone();
    // W2 has 30 people; its insurer's total is published and has no members outside a
    // workplace, so W1 (the smaller of the others) is masked too.
    assert_eq!(sheet("06000001", "W2").own, Shown::Masked);
    assert_eq!(sheet("06000001", "W1").own, Shown::Masked);
    assert_eq!(
        sheet("06000001", "W3").own,
        Shown::Share {
            percent: 30.0,
            n: 200
        }
    );
    // Industry E: W1, W2 and W4 (120 + 30 + 300 people; 24 + 12 + 30 obese).
    assert_eq!(
        sheet("01000001", "W4").industry_average,
        Shown::Share {
            percent: 14.7,
            n: 450
        }
    );
    // All workplaces: 650 people, 126 obese; the 協会けんぽ's members of no workplace are not
    // in it.
    assert_eq!(
        sheet("06000001", "W3").all_workplaces,
        Shown::Share {
            percent: 19.4,
            n: 650
        }
    );
    assert_eq!(
        r.workplaces[&("06000001".to_owned(), "W3".to_owned())].industry,
        Some("F".into())
    );
    // 協会けんぽ: W4 and 60 members of no workplace, not shown but not a small group either:
    // that they could be computed reveals nothing, so W4 stays.
    assert_eq!(sheet("01000001", "W4").own.percent(), Some(10.0));
    assert_eq!(r.insurers["06000001"].rows[0].own.percent(), Some(27.4));
}

#[test]
fn merged_workplaces_are_shown_together_and_never_give_a_part_away() {
    use onshi_checkup::scoring::{WorkplaceGroup, reports_with_groups};
    let cells = vec![
        // Two of 30 merged: neither shown, together 60.
        at("01000001", Some("S1"), 30, 20),
        at("01000001", Some("S2"), 30, 40),
        // One of 30 merged with one of 200: together 230, but then the 200 and the group
        // would give the 30 away, so one of them is masked.
        at("01000001", Some("S3"), 30, 50),
        at("01000001", Some("B1"), 200, 10),
        at("01000001", Some("B2"), 400, 10),
        at("01000001", None, 500, 10),
    ];
    let group = |code: &str, employers: &[&str]| WorkplaceGroup {
        insurer: "01000001".into(),
        code: code.into(),
        employers: employers.iter().map(|e| (*e).to_owned()).collect(),
    };
    let r = reports_with_groups(
        2024,
        &cells,
        |_| InsurerKind::KyokaiKenpo,
        |_, _| Some("E".to_owned()),
        &[
            group("G1", &["S1", "S2"]),
            group("G2", &["S3", "B1", "NONE"]),
        ],
    );
    let g = |code: &str| r.groups[&("01000001".to_owned(), code.to_owned())].clone();
    let w = |code: &str| r.workplaces[&("01000001".to_owned(), code.to_owned())].rows[0].own;
    assert_eq!(
        g("G1").rows[0].own,
        Shown::Share {
            percent: 30.0,
            n: 60
        }
    );
    assert_eq!(g("G1").people, 60);
    assert_eq!((w("S1"), w("S2")), (Shown::Masked, Shown::Masked));
    assert_eq!(g("G2").people, 230, "the unknown workplace adds nobody");
    assert_eq!(w("S3"), Shown::Masked);
    assert!(
        !(matches!(g("G2").rows[0].own, Shown::Share { .. })
            && matches!(w("B1"), Shown::Share { .. })),
        "G2 − B1 would give S3: {:?} {:?}",
        g("G2").rows[0].own,
        w("B1")
    );
    assert_eq!(g("G2").rows[0].industry_average, Shown::NotComputable);
    assert_eq!(g("G2").industry, None);
}

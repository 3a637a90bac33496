//! Implementation rates' standing: ranks among all insurers and within a kind, grades of five,
//! the people needed for the next grade (checked by adding them and ranking again), and a
//! small insurer left unranked with its rate masked.

use onshi_checkup::grades::{GradeRule, InsurerRate, Rank, standings};
use onshi_checkup::masking::{Count, Shown};
use onshi_domain::InsurerKind;

fn rate(insurer: &str, kind: InsurerKind, k: i64, n: i64) -> InsurerRate {
    InsurerRate {
        insurer: insurer.into(),
        kind,
        count: Count { n, k },
    }
}

/// Ten societies at 30 %, 35 %, … of 200, two branches of 協会けんぽ, and two small societies
/// (masked together, so that neither needs another figure masked).
fn world() -> Vec<InsurerRate> {
    let mut rates: Vec<InsurerRate> = (0..10)
        .map(|i| {
            rate(
                &format!("0613{i:04}"),
                InsurerKind::HealthInsuranceSociety,
                60 + 10 * i,
                200,
            )
        })
        .collect();
    rates.push(rate("01130012", InsurerKind::KyokaiKenpo, 150, 200));
    rates.push(rate("01270013", InsurerKind::KyokaiKenpo, 61, 200));
    rates.push(rate(
        "06139999",
        InsurerKind::HealthInsuranceSociety,
        19,
        20,
    ));
    rates.push(rate("06139998", InsurerKind::HealthInsuranceSociety, 5, 30));
    rates
}

#[test]
fn ranks_grades_and_the_next_grade() {
    let rates = world();
    let s = standings(&rates, GradeRule::CURRENT);
    // 12 ranked (the small societies are not): rates 30, 30.5, 35, 40, …, 75, 75.
    let best = &s["06130009"]; // 150/200 = 75 %, tied with 01130012
    assert_eq!(
        best.rank_all,
        Some(Rank {
            position: 1,
            of: 12
        })
    );
    assert_eq!(
        best.rank_kind,
        Some(Rank {
            position: 1,
            of: 10
        })
    );
    assert_eq!(best.grade, Some(5));
    assert_eq!(best.to_next_grade, None);
    assert!(matches!(best.own, Shown::Share { percent, n: 200 } if percent == 75.0));
    assert_eq!(
        s["01130012"].rank_all,
        Some(Rank {
            position: 1,
            of: 12
        })
    );
    assert_eq!(s["01130012"].rank_kind, Some(Rank { position: 1, of: 2 }));
    let worst = &s["06130000"]; // 60/200 = 30 %
    assert_eq!(
        worst.rank_all,
        Some(Rank {
            position: 12,
            of: 12
        })
    );
    assert_eq!(worst.grade, Some(1));
    assert_eq!(
        s["01270013"].rank_all,
        Some(Rank {
            position: 11,
            of: 12
        })
    );
    assert_eq!(s["01270013"].rank_kind, Some(Rank { position: 2, of: 2 }));

    // The kind averages and the national rate, and the relative value.
    let total_k: i64 = rates.iter().map(|r| r.count.k).sum();
    let total_n: i64 = rates.iter().map(|r| r.count.n).sum();
    let national = total_k as f64 / total_n as f64 * 100.0;
    assert!(
        matches!(best.national, Shown::Share { percent, .. } if (percent - national).abs() < 0.05)
    );
    let expected = ((75.0 / national) * 1000.0).round() / 10.0;
    assert_eq!(best.relative, Some(expected));
    assert!(matches!(
        s["01130012"].kind_average,
        Shown::Share { n: 400, .. }
    ));

    // The small society: masked, so unranked and ungraded, and not counted in others' ranks.
    let small = &s["06139999"];
    assert_eq!(small.own, Shown::Masked);
    assert_eq!(small.rank_all, None);
    assert_eq!(small.grade, None);
    assert_eq!(s["06139998"].own, Shown::Masked);

    // Every graded insurer below 5: adding the people it is told lifts its grade, one fewer
    // does not.
    for r in &rates {
        let st = &s[&r.insurer];
        let (Some(grade), Some(need)) = (st.grade, st.to_next_grade) else {
            continue;
        };
        assert!(need > 0, "{}", r.insurer);
        let with = |extra: i64| {
            let moved: Vec<InsurerRate> = rates
                .iter()
                .map(|o| {
                    let mut o = o.clone();
                    if o.insurer == r.insurer {
                        o.count.k += extra;
                    }
                    o
                })
                .collect();
            standings(&moved, GradeRule::CURRENT)[&r.insurer].grade
        };
        assert!(with(need) > Some(grade), "{} + {need}", r.insurer);
        assert_eq!(with(need - 1), Some(grade), "{} + {}", r.insurer, need - 1);
    }
}

#[test]
fn too_few_insurers_are_ranked_but_not_graded() {
    let rates = vec![
        rate("06130001", InsurerKind::HealthInsuranceSociety, 100, 200),
        rate("06130002", InsurerKind::HealthInsuranceSociety, 120, 200),
    ];
    let s = standings(&rates, GradeRule::CURRENT);
    assert_eq!(s["06130002"].rank_all, Some(Rank { position: 1, of: 2 }));
    assert_eq!(s["06130001"].grade, None);
    assert_eq!(s["06130001"].to_next_grade, None);
}

#[test]
fn an_insurer_with_nobody_to_count_is_not_computable() {
    let rates = vec![
        rate("06130001", InsurerKind::HealthInsuranceSociety, 0, 0),
        rate("06130002", InsurerKind::HealthInsuranceSociety, 120, 200),
    ];
    let s = standings(&rates, GradeRule::CURRENT);
    assert_eq!(s["06130001"].own, Shown::NotComputable);
    assert_eq!(s["06130001"].rank_all, None);
}

//! Where an insurer stands on an implementation rate (特定健診実施率, 特定保健指導実施率) among
//! all insurers: its published rate, the averages of its kind and of all insurers, its rank
//! among all insurers and among those of its kind, a grade of five (5段階評価), and how many
//! more people would lift it to the next grade (ランクUP).
//!
//! The official grade cut-offs are not public (see `docs/reports.md` §4), so the grades are a
//! versioned rule ([`GradeRule`]); the engine asks the rule, so an official definition can
//! replace onshi's without touching the rest.
//!
//! Rates go through [`crate::masking::publish`] like every other figure: each insurer, each
//! kind's total and the national total, with their relations. Only insurers whose own rate is
//! published are ranked; the others are told they are not.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use onshi_domain::InsurerKind;

use crate::masking::{Count, Frame, Shown, publish};

/// How ranks become grades.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradeRule {
    /// `onshi-grade-1`: fifths of the ranked insurers. Grade 5 is the best fifth, by rank
    /// (competition ranking: equal rates share the better rank): grade = 5 − ⌊5 × (rank − 1)
    /// ÷ ranked⌋. Graded only when at least five insurers are ranked.
    Fifths,
}

impl GradeRule {
    /// The rule in force (the only one so far).
    pub const CURRENT: GradeRule = GradeRule::Fifths;

    /// Its identifier, printed with every report.
    pub fn id(self) -> &'static str {
        match self {
            GradeRule::Fifths => "onshi-grade-1",
        }
    }

    /// The grade (1–5) of `rank` (1 = best) among `ranked` insurers, if graded.
    pub fn grade(self, rank: usize, ranked: usize) -> Option<u8> {
        match self {
            GradeRule::Fifths => {
                if ranked < 5 || rank == 0 || rank > ranked {
                    return None;
                }
                let fifth = 5 * (rank - 1) / ranked;
                u8::try_from(5 - fifth).ok()
            }
        }
    }
}

/// One insurer's rate before masking: `count.k` of `count.n` people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsurerRate {
    /// The insurer's number.
    pub insurer: String,
    /// Its kind (the comparison group).
    pub kind: InsurerKind,
    /// Examined of eligible, or completed of targets.
    pub count: Count,
}

/// A place in a ranking: `position` of `of` (1 = best).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    /// 1 = the highest rate; equal rates share a place.
    pub position: usize,
    /// How many were ranked.
    pub of: usize,
}

/// An insurer's standing on one rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// Its rate (masked or not).
    pub own: Shown,
    /// The rate of all insurers of its kind together.
    pub kind_average: Shown,
    /// The rate of all insurers together.
    pub national: Shown,
    /// Its rate relative to all insurers' (= 100), when both are shown.
    pub relative: Option<f64>,
    /// Its place among all ranked insurers, when its rate is shown.
    pub rank_all: Option<Rank>,
    /// Its place among the ranked insurers of its kind.
    pub rank_kind: Option<Rank>,
    /// Its grade (5 best), when graded.
    pub grade: Option<u8>,
    /// How many more people (examined, or completing guidance) would lift it to the next
    /// grade; `None` at grade 5 or when not graded.
    pub to_next_grade: Option<i64>,
}

/// `a` against `b` as exact fractions k/n (n > 0).
fn compare(a: Count, b: Count) -> Ordering {
    (i128::from(a.k) * i128::from(b.n)).cmp(&(i128::from(b.k) * i128::from(a.n)))
}

/// The smallest `p ≥ 0` with (k + p)/n ≥ target.k/target.n.
fn people_to_reach(own: Count, target: Count) -> i64 {
    let need = i128::from(target.k) * i128::from(own.n) - i128::from(own.k) * i128::from(target.n);
    if need <= 0 {
        return 0;
    }
    let n = i128::from(target.n);
    i64::try_from((need + n - 1) / n).unwrap_or(i64::MAX)
}

/// 1 + how many of `others` are strictly better than `c`.
fn rank_of(c: Count, others: &[Count]) -> usize {
    1 + others
        .iter()
        .filter(|o| compare(**o, c) == Ordering::Greater)
        .count()
}

/// Every insurer's standing on one rate, by insurer number, under `rule`.
pub fn standings(rates: &[InsurerRate], rule: GradeRule) -> BTreeMap<String, Standing> {
    let mut frame = Frame::new();
    let own_ix: Vec<usize> = rates.iter().map(|r| frame.add(r.count)).collect();
    let mut kinds: BTreeMap<InsurerKind, (Count, Vec<usize>)> = BTreeMap::new();
    let mut national = Count::default();
    for (r, ix) in rates.iter().zip(&own_ix) {
        let entry = kinds.entry(r.kind).or_default();
        entry.0.n += r.count.n;
        entry.0.k += r.count.k;
        entry.1.push(*ix);
        national.n += r.count.n;
        national.k += r.count.k;
    }
    let kind_ix: BTreeMap<InsurerKind, usize> = kinds
        .iter()
        .map(|(kind, (count, _))| (*kind, frame.add(*count)))
        .collect();
    let nation = frame.add(national);
    frame.relate(nation, own_ix.clone());
    frame.relate(nation, kind_ix.values().copied().collect());
    for (kind, (_, parts)) in &kinds {
        frame.relate(kind_ix[kind], parts.clone());
    }
    let published = publish(&frame);

    // Ranked: the insurers whose own rate is shown.
    let ranked: Vec<(usize, &InsurerRate)> = rates
        .iter()
        .enumerate()
        .filter(|(i, _)| matches!(published.get(own_ix[*i]), Shown::Share { .. }))
        .collect();
    let all_counts: Vec<Count> = ranked.iter().map(|(_, r)| r.count).collect();
    let national_shown = published.get(nation);
    let mut out = BTreeMap::new();
    for (i, r) in rates.iter().enumerate() {
        let own = published.get(own_ix[i]);
        let kind_average = published.get(kind_ix[&r.kind]);
        let relative = match (own, national_shown) {
            (Shown::Share { .. }, Shown::Share { .. }) if national.k > 0 => {
                let v = (r.count.k as f64 / r.count.n as f64)
                    / (national.k as f64 / national.n as f64)
                    * 100.0;
                Some((v * 10.0).round() / 10.0)
            }
            _ => None,
        };
        let mut standing = Standing {
            own,
            kind_average,
            national: national_shown,
            relative,
            rank_all: None,
            rank_kind: None,
            grade: None,
            to_next_grade: None,
        };
        if matches!(own, Shown::Share { .. }) {
            let position = rank_of(r.count, &all_counts);
            standing.rank_all = Some(Rank {
                position,
                of: all_counts.len(),
            });
            let same_kind: Vec<Count> = ranked
                .iter()
                .filter(|(_, o)| o.kind == r.kind)
                .map(|(_, o)| o.count)
                .collect();
            standing.rank_kind = Some(Rank {
                position: rank_of(r.count, &same_kind),
                of: same_kind.len(),
            });
            standing.grade = rule.grade(position, all_counts.len());
            if let Some(grade) = standing.grade.filter(|g| *g < 5) {
                // The lowest rate already in a better grade: reaching it ties with it, and a
                // tie shares its rank.
                let threshold = all_counts
                    .iter()
                    .filter(|o| {
                        rule.grade(rank_of(**o, &all_counts), all_counts.len())
                            .is_some_and(|g| g > grade)
                    })
                    .min_by(|a, b| compare(**a, **b))
                    .copied();
                standing.to_next_grade = threshold.map(|t| people_to_reach(r.count, t));
            }
        }
        out.insert(r.insurer.clone(), standing);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifths() {
        let r = GradeRule::Fifths;
        assert_eq!(r.grade(1, 10), Some(5));
        assert_eq!(r.grade(2, 10), Some(5));
        assert_eq!(r.grade(3, 10), Some(4));
        assert_eq!(r.grade(10, 10), Some(1));
        assert_eq!(r.grade(1, 4), None);
        assert_eq!(r.grade(0, 10), None);
        assert_eq!(r.grade(11, 10), None);
    }

    #[test]
    fn people_to_reach_rounds_up() {
        let own = Count { n: 100, k: 50 };
        assert_eq!(people_to_reach(own, Count { n: 3, k: 2 }), 17); // 66.67 % of 100
        assert_eq!(people_to_reach(own, Count { n: 2, k: 1 }), 0);
        assert_eq!(people_to_reach(own, Count { n: 10, k: 6 }), 10);
    }
}

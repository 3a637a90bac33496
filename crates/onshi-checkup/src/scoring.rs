//! The scoring report (健康スコアリングレポート) of every insurer for one fiscal year, from the
//! counted cells (people by insurer, workplace, sex and age band, with each indicator known
//! and present): per indicator, the insurer's share, its age- and sex-adjusted share, the
//! average of insurers of its kind and of all insurers, and its value relative to all insurers
//! (= 100). Every share goes through [`crate::masking::publish`] in one frame per indicator
//! (each insurer, each kind's total, the national total, and their relations), so a figure
//! that reaches a report is a [`Shown`] that masking made.
//!
//! **Age and sex adjustment** (direct standardisation): the insurer's share in each sex × age
//! band, weighted by that band's share of all insurers' people of the same year (onshi's
//! stand-in for the national population), over the bands the insurer has people in (the
//! weights renormalised). It is shown only beside a published share and only when the
//! insurer has people in three bands or more: with two, the share and the adjusted share
//! would give each band's count.

use std::collections::BTreeMap;

use onshi_domain::InsurerKind;

use crate::indicators::Indicator;
use crate::masking::{Count, Frame, Published, Shown, publish};

/// Sex × five-year age band: 2 × 7 strata.
const STRATA: usize = 14;

/// People of one insurer, workplace, sex and age band, as the store counts them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The insurer's number.
    pub insurer: String,
    /// The workplace, if any.
    pub employer: Option<String>,
    /// 1 male, 2 female.
    pub sex: u8,
    /// 0 (40–44) to 6 (70–74).
    pub age_band: u8,
    /// People.
    pub people: i64,
    /// Per indicator ([`Indicator::ALL`] order = bit order): known.
    pub known: Vec<i64>,
    /// … present.
    pub present: Vec<i64>,
}

fn stratum(c: &Cell) -> Option<usize> {
    let sex = match c.sex {
        1 => 0,
        2 => 1,
        _ => return None,
    };
    (c.age_band < 7).then_some(sex * 7 + usize::from(c.age_band))
}

/// One indicator of an insurer's report.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorRow {
    /// Which.
    pub indicator: Indicator,
    /// The insurer's share (masked or not).
    pub own: Shown,
    /// Its age- and sex-adjusted share, when shown (see the module documentation).
    pub adjusted: Option<f64>,
    /// The share of all insurers of its kind.
    pub kind_average: Shown,
    /// The share of all insurers.
    pub national: Shown,
    /// The insurer's share relative to all insurers' (= 100), when both are shown.
    pub relative: Option<f64>,
}

/// One insurer's report.
#[derive(Debug, Clone, PartialEq)]
pub struct InsurerReport {
    /// The insurer's number.
    pub insurer: String,
    /// Its kind (the comparison group).
    pub kind: InsurerKind,
    /// The people its figures are built from (those with a judged checkup, aged 40–74).
    pub people: i64,
    /// Per indicator, in [`Indicator::ALL`] order.
    pub rows: Vec<IndicatorRow>,
}

/// Every insurer's report for one fiscal year.
#[derive(Debug, Clone, PartialEq)]
pub struct Reports {
    /// 年度.
    pub fiscal_year: i32,
    /// By insurer number.
    pub insurers: BTreeMap<String, InsurerReport>,
}

#[derive(Clone)]
struct Totals {
    people: i64,
    known: Vec<[i64; STRATA]>,
    present: Vec<[i64; STRATA]>,
}

impl Default for Totals {
    fn default() -> Self {
        Self::new()
    }
}

impl Totals {
    fn new() -> Self {
        Totals {
            people: 0,
            known: vec![[0; STRATA]; Indicator::ALL.len()],
            present: vec![[0; STRATA]; Indicator::ALL.len()],
        }
    }

    fn add(&mut self, c: &Cell, s: usize) {
        self.people += c.people;
        for i in 0..Indicator::ALL.len() {
            self.known[i][s] += c.known.get(i).copied().unwrap_or(0);
            self.present[i][s] += c.present.get(i).copied().unwrap_or(0);
        }
    }

    fn count(&self, i: usize) -> Count {
        Count {
            n: self.known[i].iter().sum(),
            k: self.present[i].iter().sum(),
        }
    }
}

/// Rounds to a tenth.
fn tenth(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The reports of `fiscal_year` from its `cells`, each insurer compared with those of
/// `kind_of` its number.
pub fn insurer_reports(
    fiscal_year: i32,
    cells: &[Cell],
    kind_of: impl Fn(&str) -> InsurerKind,
) -> Reports {
    let mut by_insurer: BTreeMap<String, Totals> = BTreeMap::new();
    let mut national = Totals::new();
    for c in cells {
        let Some(s) = stratum(c) else {
            continue;
        };
        by_insurer.entry(c.insurer.clone()).or_default().add(c, s);
        national.add(c, s);
    }
    let kinds: BTreeMap<String, InsurerKind> =
        by_insurer.keys().map(|n| (n.clone(), kind_of(n))).collect();
    let mut kind_totals: BTreeMap<InsurerKind, Totals> = BTreeMap::new();
    for (number, t) in &by_insurer {
        let k = kind_totals.entry(kinds[number]).or_default();
        for i in 0..Indicator::ALL.len() {
            for s in 0..STRATA {
                k.known[i][s] += t.known[i][s];
                k.present[i][s] += t.present[i][s];
            }
        }
        k.people += t.people;
    }

    // One frame per indicator: insurers, kinds, the nation, and how they add up.
    let insurers: Vec<&String> = by_insurer.keys().collect();
    let kind_list: Vec<InsurerKind> = kind_totals.keys().copied().collect();
    let mut published: Vec<(Published, Vec<usize>, Vec<usize>, usize)> = Vec::new();
    for i in 0..Indicator::ALL.len() {
        let mut frame = Frame::new();
        let insurer_ix: Vec<usize> = insurers
            .iter()
            .map(|n| frame.add(by_insurer[*n].count(i)))
            .collect();
        let kind_ix: Vec<usize> = kind_list
            .iter()
            .map(|k| frame.add(kind_totals[k].count(i)))
            .collect();
        let nation = frame.add(national.count(i));
        frame.relate(nation, insurer_ix.clone());
        frame.relate(nation, kind_ix.clone());
        for (ki, k) in kind_list.iter().enumerate() {
            let parts: Vec<usize> = insurers
                .iter()
                .zip(&insurer_ix)
                .filter(|(n, _)| kinds[**n] == *k)
                .map(|(_, ix)| *ix)
                .collect();
            frame.relate(kind_ix[ki], parts);
        }
        published.push((publish(&frame), insurer_ix, kind_ix, nation));
    }

    // The standard population's weights per indicator: all insurers' known people by stratum.
    let weights: Vec<[f64; STRATA]> = (0..Indicator::ALL.len())
        .map(|i| {
            let total: i64 = national.known[i].iter().sum();
            let mut w = [0.0; STRATA];
            if total > 0 {
                for (s, v) in w.iter_mut().enumerate() {
                    *v = national.known[i][s] as f64 / total as f64;
                }
            }
            w
        })
        .collect();

    let mut out = BTreeMap::new();
    for (pos, number) in insurers.iter().enumerate() {
        let t = &by_insurer[*number];
        let kind = kinds[*number];
        let kind_pos = kind_list.iter().position(|k| *k == kind).unwrap_or(0);
        let rows = Indicator::ALL
            .iter()
            .enumerate()
            .map(|(i, indicator)| {
                let (p, insurer_ix, kind_ix, nation) = &published[i];
                let own = p.get(insurer_ix[pos]);
                let national_share = p.get(*nation);
                let adjusted = match own {
                    Shown::Share { .. } => adjusted(&t.known[i], &t.present[i], &weights[i]),
                    _ => None,
                };
                let relative = match (own.percent(), national_share.percent()) {
                    (Some(o), Some(n)) if n > 0.0 => Some(tenth(o / n * 100.0)),
                    _ => None,
                };
                IndicatorRow {
                    indicator: *indicator,
                    own,
                    adjusted,
                    kind_average: kind_ix
                        .get(kind_pos)
                        .map_or(Shown::NotComputable, |ix| p.get(*ix)),
                    national: national_share,
                    relative,
                }
            })
            .collect();
        out.insert(
            (*number).clone(),
            InsurerReport {
                insurer: (*number).clone(),
                kind,
                people: t.people,
                rows,
            },
        );
    }
    Reports {
        fiscal_year,
        insurers: out,
    }
}

/// The directly standardised share in percent to a tenth, over the strata with people, or
/// `None` when fewer than three strata have people.
fn adjusted(
    known: &[i64; STRATA],
    present: &[i64; STRATA],
    weights: &[f64; STRATA],
) -> Option<f64> {
    let used: Vec<usize> = (0..STRATA)
        .filter(|s| known[*s] > 0 && weights[*s] > 0.0)
        .collect();
    if used.len() < 3 {
        return None;
    }
    let weight: f64 = used.iter().map(|s| weights[*s]).sum();
    let share: f64 = used
        .iter()
        .map(|s| weights[*s] * present[*s] as f64 / known[*s] as f64)
        .sum::<f64>()
        / weight;
    Some(tenth(share * 100.0))
}

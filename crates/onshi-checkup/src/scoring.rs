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

/// People of one insurer, workplace, sex and age band, as the store counts them (one
/// definition, in the domain crate).
pub use onshi_domain::ReportCell as Cell;

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

/// One indicator of a workplace's sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct SheetRow {
    /// Which.
    pub indicator: Indicator,
    /// The workplace's share.
    pub own: Shown,
    /// The share of all workplaces of its industry.
    pub industry_average: Shown,
    /// The share of all workplaces.
    pub all_workplaces: Shown,
}

/// One workplace's figures (事業所カルテ).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkplaceSheet {
    /// Its insurer.
    pub insurer: String,
    /// Its 事業所コード.
    pub employer: String,
    /// Its industry (JSIC letter), when registered.
    pub industry: Option<String>,
    /// The people its figures are built from.
    pub people: i64,
    /// Per indicator, in [`Indicator::ALL`] order.
    pub rows: Vec<SheetRow>,
}

/// Every insurer's report and every workplace's sheet for one fiscal year, masked together:
/// no figure of one can be recovered from the others.
#[derive(Debug, Clone, PartialEq)]
pub struct Reports {
    /// 年度.
    pub fiscal_year: i32,
    /// By insurer number.
    pub insurers: BTreeMap<String, InsurerReport>,
    /// By (insurer number, 事業所コード).
    pub workplaces: BTreeMap<(String, String), WorkplaceSheet>,
    /// Merged workplaces, by (insurer number, group code): each sheet's `employer` is the
    /// group's code, its industry `None`, its industry averages –.
    pub groups: BTreeMap<(String, String), WorkplaceSheet>,
}

/// Small workplaces an insurer merges so that together they reach an employer report's 50
/// (合算): a figure of their summed people, related to its parts in the masking frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkplaceGroup {
    /// The insurer.
    pub insurer: String,
    /// The group's code.
    pub code: String,
    /// Its workplaces' 事業所コード.
    pub employers: Vec<String>,
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

    fn merge(&mut self, other: &Totals) {
        self.people += other.people;
        for i in 0..Indicator::ALL.len() {
            for s in 0..STRATA {
                self.known[i][s] += other.known[i][s];
                self.present[i][s] += other.present[i][s];
            }
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
/// `kind_of` its number (workplaces without industries: see [`reports`]).
pub fn insurer_reports(
    fiscal_year: i32,
    cells: &[Cell],
    kind_of: impl Fn(&str) -> InsurerKind,
) -> Reports {
    reports(fiscal_year, cells, kind_of, |_, _| None)
}

/// The reports and workplace sheets of `fiscal_year` from its `cells`: each insurer compared
/// with those of `kind_of` its number, each workplace with those of `industry_of` it (insurer,
/// code). Workplaces and the members of none are parts of their insurer; workplaces are parts
/// of their industry, and industries of all workplaces; those relations are masked with the
/// figures.
pub fn reports(
    fiscal_year: i32,
    cells: &[Cell],
    kind_of: impl Fn(&str) -> InsurerKind,
    industry_of: impl Fn(&str, &str) -> Option<String>,
) -> Reports {
    reports_with_groups(fiscal_year, cells, kind_of, industry_of, &[])
}

/// [`reports`], with `groups` of merged workplaces masked in the same frames (each group the
/// sum of its workplaces).
pub fn reports_with_groups(
    fiscal_year: i32,
    cells: &[Cell],
    kind_of: impl Fn(&str) -> InsurerKind,
    industry_of: impl Fn(&str, &str) -> Option<String>,
    groups: &[WorkplaceGroup],
) -> Reports {
    let mut by_insurer: BTreeMap<String, Totals> = BTreeMap::new();
    let mut by_workplace: BTreeMap<(String, String), Totals> = BTreeMap::new();
    let mut remainder: BTreeMap<String, Totals> = BTreeMap::new();
    let mut national = Totals::new();
    for c in cells {
        let Some(s) = stratum(c) else {
            continue;
        };
        by_insurer.entry(c.insurer.clone()).or_default().add(c, s);
        match &c.employer {
            Some(code) => by_workplace
                .entry((c.insurer.clone(), code.clone()))
                .or_default()
                .add(c, s),
            None => remainder.entry(c.insurer.clone()).or_default().add(c, s),
        }
        national.add(c, s);
    }
    let industries: BTreeMap<(String, String), Option<String>> = by_workplace
        .keys()
        .map(|(i, e)| ((i.clone(), e.clone()), industry_of(i, e)))
        .collect();
    let mut industry_totals: BTreeMap<Option<String>, Totals> = BTreeMap::new();
    for (key, t) in &by_workplace {
        industry_totals
            .entry(industries[key].clone())
            .or_default()
            .merge(t);
    }
    let mut all_workplaces = Totals::new();
    for t in by_workplace.values() {
        all_workplaces.merge(t);
    }
    let kinds: BTreeMap<String, InsurerKind> =
        by_insurer.keys().map(|n| (n.clone(), kind_of(n))).collect();
    let mut kind_totals: BTreeMap<InsurerKind, Totals> = BTreeMap::new();
    for (number, t) in &by_insurer {
        kind_totals.entry(kinds[number]).or_default().merge(t);
    }

    // One frame per indicator: insurers, kinds, the nation, and how they add up.
    let insurers: Vec<&String> = by_insurer.keys().collect();
    let kind_list: Vec<InsurerKind> = kind_totals.keys().copied().collect();
    let workplaces: Vec<&(String, String)> = by_workplace.keys().collect();
    let industry_list: Vec<&Option<String>> = industry_totals.keys().collect();
    let mut frames: Vec<Frame> = Vec::new();
    let mut indices: Vec<(Vec<usize>, Vec<usize>, usize)> = Vec::new();
    let mut workplace_figures: Vec<(Vec<usize>, Vec<usize>, usize)> = Vec::new();
    let mut group_figures: Vec<Vec<usize>> = Vec::new();
    // Each group's workplaces (with people this year), by position in `workplaces`.
    let group_parts: Vec<Vec<usize>> = groups
        .iter()
        .map(|g| {
            g.employers
                .iter()
                .filter_map(|e| {
                    workplaces
                        .binary_search(&&(g.insurer.clone(), e.clone()))
                        .ok()
                })
                .collect()
        })
        .collect();
    // Each insurer's and each industry's workplaces, by position in `workplaces` and in its
    // order, found once rather than by a search of every workplace for each of them in each
    // indicator's frame (which took most of a national year's time).
    let insurer_totals: Vec<&Totals> = by_insurer.values().collect();
    let workplace_totals: Vec<&Totals> = by_workplace.values().collect();
    let insurer_pos: BTreeMap<&String, usize> =
        insurers.iter().enumerate().map(|(p, n)| (*n, p)).collect();
    let industry_pos: BTreeMap<&Option<String>, usize> = industry_list
        .iter()
        .enumerate()
        .map(|(p, i)| (*i, p))
        .collect();
    let mut workplaces_of_insurer: Vec<Vec<usize>> = vec![Vec::new(); insurers.len()];
    let mut workplaces_of_industry: Vec<Vec<usize>> = vec![Vec::new(); industry_list.len()];
    for (w, key) in workplaces.iter().enumerate() {
        if let Some(p) = insurer_pos.get(&key.0) {
            workplaces_of_insurer[*p].push(w);
        }
        if let Some(p) = industry_pos.get(&industries[*key]) {
            workplaces_of_industry[*p].push(w);
        }
    }
    for i in 0..Indicator::ALL.len() {
        let mut frame = Frame::new();
        let insurer_ix: Vec<usize> = insurer_totals
            .iter()
            .map(|t| frame.add(t.count(i)))
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
        // Workplaces: parts of their insurer (with the members of none, never published),
        // and of their industry; an industry of unregistered workplaces is never published.
        let workplace_ix: Vec<usize> = workplace_totals
            .iter()
            .map(|t| frame.add(t.count(i)))
            .collect();
        for (pos, number) in insurers.iter().enumerate() {
            let mut parts: Vec<usize> = workplaces_of_insurer[pos]
                .iter()
                .map(|w| workplace_ix[*w])
                .collect();
            if parts.is_empty() {
                continue;
            }
            if let Some(r) = remainder.get(*number) {
                parts.push(frame.add_unpublished(r.count(i)));
            }
            frame.relate(insurer_ix[pos], parts);
        }
        let industry_ix: Vec<usize> = industry_list
            .iter()
            .map(|ind| {
                let count = industry_totals[*ind].count(i);
                if ind.is_some() {
                    frame.add(count)
                } else {
                    frame.add_unpublished(count)
                }
            })
            .collect();
        for (pos, of_industry) in workplaces_of_industry.iter().enumerate() {
            let parts: Vec<usize> = of_industry.iter().map(|w| workplace_ix[*w]).collect();
            frame.relate(industry_ix[pos], parts);
        }
        let all = frame.add(all_workplaces.count(i));
        if !industry_ix.is_empty() {
            frame.relate(all, industry_ix.clone());
        }
        // Merged workplaces: each the sum of its workplaces with people.
        let group_ix: Vec<usize> = group_parts
            .iter()
            .map(|parts| {
                let mut count = Count::default();
                let ixs: Vec<usize> = parts
                    .iter()
                    .map(|pos| {
                        let c = workplace_totals[*pos].count(i);
                        count.n += c.n;
                        count.k += c.k;
                        workplace_ix[*pos]
                    })
                    .collect();
                let g = frame.add(count);
                if !ixs.is_empty() {
                    frame.relate(g, ixs);
                }
                g
            })
            .collect();
        frames.push(frame);
        indices.push((insurer_ix, kind_ix, nation));
        workplace_figures.push((workplace_ix, industry_ix, all));
        group_figures.push(group_ix);
    }
    // The indicators' frames are independent: masked side by side, one thread a share.
    let published: Vec<(Published, Vec<usize>, Vec<usize>, usize)> = publish_all(&frames)
        .into_iter()
        .zip(indices)
        .map(|(p, (insurer_ix, kind_ix, nation))| (p, insurer_ix, kind_ix, nation))
        .collect();

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
    let mut sheets = BTreeMap::new();
    for (pos, key) in workplaces.iter().enumerate() {
        let industry = industries[*key].clone();
        let ind_pos = industry_list.iter().position(|i| **i == industry);
        let rows = Indicator::ALL
            .iter()
            .enumerate()
            .map(|(i, indicator)| {
                let p = &published[i].0;
                let (workplace_ix, industry_ix, all) = &workplace_figures[i];
                SheetRow {
                    indicator: *indicator,
                    own: p.get(workplace_ix[pos]),
                    industry_average: ind_pos
                        .map_or(Shown::NotComputable, |ix| p.get(industry_ix[ix])),
                    all_workplaces: p.get(*all),
                }
            })
            .collect();
        sheets.insert(
            (*key).clone(),
            WorkplaceSheet {
                insurer: key.0.clone(),
                employer: key.1.clone(),
                industry,
                people: by_workplace[*key].people,
                rows,
            },
        );
    }
    let mut merged = BTreeMap::new();
    for (gpos, g) in groups.iter().enumerate() {
        let rows = Indicator::ALL
            .iter()
            .enumerate()
            .map(|(i, indicator)| {
                let p = &published[i].0;
                SheetRow {
                    indicator: *indicator,
                    own: p.get(group_figures[i][gpos]),
                    industry_average: Shown::NotComputable,
                    all_workplaces: p.get(workplace_figures[i].2),
                }
            })
            .collect();
        merged.insert(
            (g.insurer.clone(), g.code.clone()),
            WorkplaceSheet {
                insurer: g.insurer.clone(),
                employer: g.code.clone(),
                industry: None,
                people: group_parts[gpos]
                    .iter()
                    .map(|pos| by_workplace[workplaces[*pos]].people)
                    .sum(),
                rows,
            },
        );
    }
    Reports {
        fiscal_year,
        insurers: out,
        workplaces: sheets,
        groups: merged,
    }
}

/// Masks every frame, on as many threads as the machine has (at most one a frame), in order.
/// A panic in a thread is raised again here.
fn publish_all(frames: &[Frame]) -> Vec<Published> {
    if frames.is_empty() {
        return Vec::new();
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, frames.len());
    let per_thread = frames.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = frames
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(publish).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
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

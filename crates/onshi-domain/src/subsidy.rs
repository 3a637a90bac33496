//! The card-reader subsidy (医療情報化支援基金 and the periods after it), as data and one engine.
//!
//! The rules are a table ([`SubsidyRules`]), shipped as `data/subsidy_rules.tsv` and replaceable
//! by a corrected copy: each line is one period and kind of facility with the readers given
//! free, the cost ceiling (基準とする事業額), the share paid and the cap (補助上限). The engine
//! ([`SubsidyRules::estimate`]) takes one facility's application and says which period applies,
//! how many readers are free, what is paid for each cost item and in total, and why, step by
//! step ([`Reason`]).
//!
//! How a period is chosen: the dated periods (every period but the base one) are tried in the
//! file's order; the first whose reader-application window holds the facility's reader
//! application date is the candidate. If the work was finished after its `completed_by`, or the
//! subsidy applied for after its `apply_by`, or the period has no line for the facility's kind,
//! the base rule applies instead, and the reason says which deadline was missed. With no
//! candidate the base rule applies.
//!
//! How the amount is computed: the costs (yen including consumption tax) are added; at most
//! `base_yen` of them counts; `rate` of that is paid, rounded down to the yen; at most `cap_yen`.
//! The published caps are the rate times the ceiling rounded down to a thousand yen (210.1万 ×
//! 1/2 = 1,050,500 → 105万), which is why the cap is its own column and not computed. The total
//! is shared among the cost items in proportion to their cost (largest remainders get the odd
//! yen), so the items add up to the total exactly.

use std::fmt;

use time::Date;

use crate::facility::FacilityKind;
use crate::member::parse_date;

/// The rules that ship with onshi.
pub const SHIPPED_RULES: &str = include_str!("../data/subsidy_rules.tsv");

/// The kind of facility as the subsidy tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubsidyKind {
    /// 病院.
    Hospital,
    /// 大型チェーン薬局: a pharmacy whose group receives 40,000 prescriptions a month or more.
    LargeChainPharmacy,
    /// 診療所 (医科 and 歯科).
    Clinic,
    /// 薬局 other than a large chain's.
    Pharmacy,
}

impl SubsidyKind {
    /// The subsidy's kind of a facility.
    pub fn of(kind: FacilityKind, large_chain: bool) -> Self {
        match kind {
            FacilityKind::Hospital => Self::Hospital,
            FacilityKind::MedicalClinic | FacilityKind::DentalClinic => Self::Clinic,
            FacilityKind::Pharmacy if large_chain => Self::LargeChainPharmacy,
            FacilityKind::Pharmacy => Self::Pharmacy,
        }
    }
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "hospital" => Self::Hospital,
            "large_chain_pharmacy" => Self::LargeChainPharmacy,
            "clinic" => Self::Clinic,
            "pharmacy" => Self::Pharmacy,
            _ => return Err("must be hospital, clinic, pharmacy or large_chain_pharmacy".into()),
        })
    }
    /// The code name used in the rules file.
    pub fn code(self) -> &'static str {
        match self {
            Self::Hospital => "hospital",
            Self::LargeChainPharmacy => "large_chain_pharmacy",
            Self::Clinic => "clinic",
            Self::Pharmacy => "pharmacy",
        }
    }
}

/// A share of a cost: `num / den`, at most 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Numerator.
    pub num: u32,
    /// Denominator, not 0.
    pub den: u32,
}

impl Rate {
    fn parse(s: &str) -> Result<Self, String> {
        let (n, d) = s.split_once('/').ok_or("must be a fraction such as 1/2")?;
        let num = n
            .trim()
            .parse()
            .map_err(|_| "must be a fraction such as 1/2")?;
        let den: u32 = d
            .trim()
            .parse()
            .map_err(|_| "must be a fraction such as 1/2")?;
        if den == 0 || num > den {
            return Err("must be a fraction between 0 and 1".into());
        }
        Ok(Self { num, den })
    }
    /// `yen × rate`, rounded down.
    pub fn of(self, yen: u64) -> u64 {
        yen * u64::from(self.num) / u64::from(self.den)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num == self.den {
            f.write_str("実費 (1/1)")
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

/// One line of the rules: a period's terms for one kind of facility.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsidyRule {
    /// The period's id (`R0-base`, `R1-accel-2020`, …).
    pub period: String,
    /// The period's name.
    pub name: String,
    /// First reader application date that counts.
    pub readers_from: Option<Date>,
    /// Last reader application date that counts.
    pub readers_to: Option<Date>,
    /// The work must be finished by this day.
    pub completed_by: Option<Date>,
    /// The subsidy must be applied for by this day.
    pub apply_by: Option<Date>,
    /// The facility must have started operating (its first card check) on or after this day.
    pub operating_from: Option<Date>,
    /// … and on or before this day.
    pub operating_to: Option<Date>,
    /// The kind of facility.
    pub kind: SubsidyKind,
    /// Readers introduced (hospitals 1–3); `None`: any number.
    pub readers: Option<u8>,
    /// Readers given free.
    pub free_readers: u8,
    /// 基準とする事業額.
    pub base_yen: u64,
    /// Share paid.
    pub rate: Rate,
    /// 補助上限.
    pub cap_yen: u64,
    /// `V`, `V-partial` or `I` (inferred).
    pub status: String,
    /// Where the line comes from.
    pub source: String,
}

impl SubsidyRule {
    fn is_base(&self) -> bool {
        self.readers_from.is_none()
            && self.readers_to.is_none()
            && self.completed_by.is_none()
            && self.apply_by.is_none()
            && self.operating_from.is_none()
            && self.operating_to.is_none()
    }
}

/// A rules file that cannot be used, naming its line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {field}: {reason}")]
pub struct RulesError {
    /// The file's line, from 1.
    pub line: usize,
    /// The column.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// The columns of a rules file, in order.
pub const RULE_COLUMNS: [&str; 16] = [
    "period",
    "name",
    "readers_from",
    "readers_to",
    "completed_by",
    "apply_by",
    "operating_from",
    "operating_to",
    "kind",
    "readers",
    "free_readers",
    "base_yen",
    "rate",
    "cap_yen",
    "status",
    "source",
];

/// The subsidy rules in force: every line of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsidyRules {
    rules: Vec<SubsidyRule>,
}

impl SubsidyRules {
    /// The rules that ship with onshi.
    pub fn shipped() -> Result<Self, RulesError> {
        Self::parse(SHIPPED_RULES)
    }

    /// Reads a rules file (tab-separated, `#` comments, the header [`RULE_COLUMNS`]). Refused
    /// whole, naming the line and column, when a line is wrong, when there is not exactly one
    /// base period (no dates), or when the base period lacks a kind of facility.
    pub fn parse(text: &str) -> Result<Self, RulesError> {
        let mut rules = Vec::new();
        let mut header_seen = false;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
            let err = |field: &str, reason: String| RulesError {
                line: n,
                field: field.to_owned(),
                reason,
            };
            if !header_seen {
                if cols != RULE_COLUMNS {
                    return Err(err(
                        "header",
                        format!("must be the columns {}", RULE_COLUMNS.join(", ")),
                    ));
                }
                header_seen = true;
                continue;
            }
            if cols.len() != RULE_COLUMNS.len() {
                return Err(err(
                    "line",
                    format!(
                        "has {} columns, expected {}",
                        cols.len(),
                        RULE_COLUMNS.len()
                    ),
                ));
            }
            let date = |idx: usize| -> Result<Option<Date>, RulesError> {
                match cols[idx] {
                    "-" | "" => Ok(None),
                    s => parse_date(s)
                        .map(Some)
                        .map_err(|r| err(RULE_COLUMNS[idx], r)),
                }
            };
            let yen = |idx: usize| -> Result<u64, RulesError> {
                cols[idx]
                    .parse::<u64>()
                    .map_err(|_| err(RULE_COLUMNS[idx], "must be whole yen".into()))
            };
            if cols[0].is_empty() {
                return Err(err("period", "is required".into()));
            }
            let kind = SubsidyKind::parse(cols[8]).map_err(|r| err("kind", r))?;
            let readers = match cols[9] {
                "-" | "" => None,
                s => Some(
                    s.parse::<u8>()
                        .ok()
                        .filter(|r| *r >= 1)
                        .ok_or_else(|| err("readers", "must be 1 or more, or -".into()))?,
                ),
            };
            let free_readers = cols[10]
                .parse::<u8>()
                .map_err(|_| err("free_readers", "must be a whole number".into()))?;
            let rate = Rate::parse(cols[12]).map_err(|r| err("rate", r))?;
            let rule = SubsidyRule {
                period: cols[0].to_owned(),
                name: cols[1].to_owned(),
                readers_from: date(2)?,
                readers_to: date(3)?,
                completed_by: date(4)?,
                apply_by: date(5)?,
                operating_from: date(6)?,
                operating_to: date(7)?,
                kind,
                readers,
                free_readers,
                base_yen: yen(11)?,
                rate,
                cap_yen: yen(13)?,
                status: cols[14].to_owned(),
                source: cols[15].to_owned(),
            };
            if !matches!(rule.status.as_str(), "V" | "V-partial" | "I") {
                return Err(err("status", "must be V, V-partial or I".into()));
            }
            if let (Some(from), Some(to)) = (rule.readers_from, rule.readers_to)
                && from > to
            {
                return Err(err("readers_to", "is before readers_from".into()));
            }
            if let Some(other) = rules.iter().find(|r: &&SubsidyRule| {
                r.period == rule.period && r.kind == rule.kind && r.readers == rule.readers
            }) {
                let _ = other;
                return Err(err(
                    "readers",
                    format!(
                        "{} {} with these readers is listed twice",
                        rule.period,
                        rule.kind.code()
                    ),
                ));
            }
            rules.push(rule);
        }
        let eof = text.lines().count();
        let missing = |reason: String| RulesError {
            line: eof,
            field: "period".into(),
            reason,
        };
        if !header_seen {
            return Err(missing("the file has no header line".into()));
        }
        let mut base: Vec<&str> = rules
            .iter()
            .filter(|r| r.is_base())
            .map(|r| r.period.as_str())
            .collect();
        base.dedup();
        if base.len() != 1 {
            return Err(missing(format!(
                "exactly one period must have no dates (the base rule), found {}",
                base.len()
            )));
        }
        let me = Self { rules };
        for kind in [
            SubsidyKind::Hospital,
            SubsidyKind::LargeChainPharmacy,
            SubsidyKind::Clinic,
            SubsidyKind::Pharmacy,
        ] {
            if me.base_line(kind, 1).is_none() {
                return Err(missing(format!(
                    "the base period has no line for {}",
                    kind.code()
                )));
            }
        }
        Ok(me)
    }

    /// Every line, in the file's order.
    pub fn lines(&self) -> &[SubsidyRule] {
        &self.rules
    }

    fn line_in<'a>(
        lines: impl Iterator<Item = &'a SubsidyRule>,
        kind: SubsidyKind,
        readers: u8,
    ) -> Option<&'a SubsidyRule> {
        let mut of_kind: Vec<&SubsidyRule> = lines.filter(|r| r.kind == kind).collect();
        // A line for this many readers, or for any number, or the largest number listed
        // (a hospital's fourth reader is its own purchase; its terms are the three-reader line).
        if let Some(r) = of_kind
            .iter()
            .find(|r| r.readers.is_none_or(|n| n == readers))
        {
            return Some(r);
        }
        of_kind.sort_by_key(|r| r.readers);
        of_kind
            .into_iter()
            .rev()
            .find(|r| r.readers.is_some_and(|n| n < readers))
    }

    fn base_line(&self, kind: SubsidyKind, readers: u8) -> Option<&SubsidyRule> {
        Self::line_in(self.rules.iter().filter(|r| r.is_base()), kind, readers)
    }

    /// The subsidy for one application.
    pub fn estimate(&self, app: &SubsidyApplication) -> Result<SubsidyEstimate, String> {
        if app.readers == 0 {
            return Err("readers: must be 1 or more".into());
        }
        let kind = app.kind;
        let mut reasons = Vec::new();
        let mut chosen = None;
        let mut seen = Vec::new();
        for r in self.rules.iter().filter(|r| !r.is_base()) {
            if seen.contains(&r.period.as_str()) {
                continue;
            }
            seen.push(r.period.as_str());
            let in_window = r.readers_from.is_none_or(|d| app.readers_applied_on >= d)
                && r.readers_to.is_none_or(|d| app.readers_applied_on <= d);
            if !in_window {
                continue;
            }
            let operation_window = r.operating_from.is_some() || r.operating_to.is_some();
            if operation_window {
                // A period for facilities by when they started operating: without the date it
                // is not considered; outside its window it is missed, with the reason.
                let Some(on) = app.operation_started_on else {
                    continue;
                };
                if r.operating_from.is_some_and(|d| on < d)
                    || r.operating_to.is_some_and(|d| on > d)
                {
                    reasons.push(Reason::OperationOutside {
                        period: r.period.clone(),
                        from: r.operating_from,
                        to: r.operating_to,
                        on,
                    });
                    break;
                }
            }
            let period_lines = self.rules.iter().filter(|l| l.period == r.period);
            let Some(line) = Self::line_in(period_lines, kind, app.readers) else {
                reasons.push(Reason::NoLineForKind {
                    period: r.period.clone(),
                    kind,
                });
                break;
            };
            if let (Some(by), Some(done)) = (line.completed_by, app.completed_on)
                && done > by
            {
                reasons.push(Reason::DeadlineMissed {
                    period: r.period.clone(),
                    deadline: Deadline::Completion,
                    by,
                    on: done,
                });
                break;
            }
            if let (Some(by), Some(applied)) = (line.apply_by, app.subsidy_applied_on)
                && applied > by
            {
                reasons.push(Reason::DeadlineMissed {
                    period: r.period.clone(),
                    deadline: Deadline::SubsidyApplication,
                    by,
                    on: applied,
                });
                break;
            }
            chosen = Some(line);
            break;
        }
        let line = match chosen {
            Some(line) => line,
            None => {
                if reasons.is_empty() {
                    // No dated period covers the date: say which one was nearest missed.
                    if let Some(r) = self.rules.iter().find(|r| {
                        !r.is_base() && r.readers_to.is_some_and(|d| app.readers_applied_on > d)
                    }) && let Some(by) = r.readers_to
                    {
                        reasons.push(Reason::DeadlineMissed {
                            period: r.period.clone(),
                            deadline: Deadline::ReaderApplication,
                            by,
                            on: app.readers_applied_on,
                        });
                    }
                }
                self.base_line(kind, app.readers)
                    .ok_or_else(|| format!("the base rule has no line for {}", kind.code()))?
            }
        };
        reasons.push(Reason::Period {
            period: line.period.clone(),
            name: line.name.clone(),
            inferred: line.status == "I",
        });
        let free_readers = app.readers.min(line.free_readers);
        if app.readers > free_readers {
            reasons.push(Reason::ReadersBought {
                free: free_readers,
                bought: app.readers - free_readers,
            });
        }
        let cost: u64 = app.costs.iter().map(|c| c.yen).sum();
        let counted = cost.min(line.base_yen);
        if cost > line.base_yen {
            reasons.push(Reason::Ceiling {
                cost,
                base: line.base_yen,
            });
        }
        let computed = line.rate.of(counted);
        reasons.push(Reason::Rate {
            rate: line.rate,
            counted,
            computed,
        });
        let total = computed.min(line.cap_yen);
        if computed > line.cap_yen {
            reasons.push(Reason::Cap {
                computed,
                cap: line.cap_yen,
            });
        }
        let items = share(total, &app.costs);
        Ok(SubsidyEstimate {
            period: line.period.clone(),
            rule: line.clone(),
            free_readers,
            cost_yen: cost,
            counted_yen: counted,
            items,
            total_yen: total,
            reasons,
        })
    }
}

/// Shares `total` among the items in proportion to their cost, largest remainders first, so
/// that the shares add up to `total`.
fn share(total: u64, costs: &[CostItem]) -> Vec<(String, u64)> {
    let cost: u64 = costs.iter().map(|c| c.yen).sum();
    if cost == 0 {
        return costs.iter().map(|c| (c.label.clone(), 0)).collect();
    }
    let mut shares: Vec<(u64, u64)> = costs
        .iter()
        .map(|c| {
            let exact = u128::from(total) * u128::from(c.yen);
            let cost = u128::from(cost);
            (
                u64::try_from(exact / cost).unwrap_or(u64::MAX),
                u64::try_from(exact % cost).unwrap_or(0),
            )
        })
        .collect();
    let mut left = total - shares.iter().map(|s| s.0).sum::<u64>();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| shares[*b].1.cmp(&shares[*a].1).then(a.cmp(b)));
    for i in order {
        if left == 0 {
            break;
        }
        shares[i].0 += 1;
        left -= 1;
    }
    costs
        .iter()
        .zip(shares)
        .map(|(c, (s, _))| (c.label.clone(), s))
        .collect()
}

/// One cost of the work (レセコン改修, 資格確認端末, ネットワーク整備, …), yen including
/// consumption tax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CostItem {
    /// What it is.
    pub label: String,
    /// Yen including 10 % consumption tax.
    pub yen: u64,
}

/// Yen including the 10 % consumption tax, from yen without it (rounded down).
pub fn with_consumption_tax(yen_without_tax: u64) -> u64 {
    yen_without_tax * 110 / 100
}

/// A facility's application for the subsidy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsidyApplication {
    /// The facility's kind for the subsidy.
    pub kind: SubsidyKind,
    /// Card readers it introduces.
    pub readers: u8,
    /// When it applied for the card readers (顔認証付きカードリーダー申込日).
    pub readers_applied_on: Date,
    /// When the work was finished, if known.
    pub completed_on: Option<Date>,
    /// When it applies for the subsidy (交付申請日), if known.
    pub subsidy_applied_on: Option<Date>,
    /// When the facility started operating (its first card check), if it has.
    pub operation_started_on: Option<Date>,
    /// The costs.
    pub costs: Vec<CostItem>,
}

/// Which deadline of a period was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// The card readers were applied for after the period's window.
    ReaderApplication,
    /// The work was finished too late.
    Completion,
    /// The subsidy was applied for too late.
    SubsidyApplication,
}

/// One step of the engine's reasoning, in the order it was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// A later period would have applied, but a deadline was missed.
    DeadlineMissed {
        /// The period missed.
        period: String,
        /// Which deadline.
        deadline: Deadline,
        /// Its last day.
        by: Date,
        /// The application's date.
        on: Date,
    },
    /// The period pays facilities that started operating within a window, and this one did not.
    OperationOutside {
        /// The period.
        period: String,
        /// Its first day.
        from: Option<Date>,
        /// Its last day.
        to: Option<Date>,
        /// When the facility started operating.
        on: Date,
    },
    /// The period covers the date but has no line for this kind of facility.
    NoLineForKind {
        /// The period.
        period: String,
        /// The kind.
        kind: SubsidyKind,
    },
    /// The period applied.
    Period {
        /// Its id.
        period: String,
        /// Its name.
        name: String,
        /// Whether its line is inferred (status I) rather than read in a source.
        inferred: bool,
    },
    /// More readers than are given free: the rest are the facility's own purchase.
    ReadersBought {
        /// Free.
        free: u8,
        /// Bought.
        bought: u8,
    },
    /// The cost is above the ceiling; only the ceiling counts.
    Ceiling {
        /// Total cost.
        cost: u64,
        /// 基準とする事業額.
        base: u64,
    },
    /// The share paid.
    Rate {
        /// The rate.
        rate: Rate,
        /// Cost counted.
        counted: u64,
        /// Rate × counted, rounded down.
        computed: u64,
    },
    /// The computed amount is above the cap.
    Cap {
        /// Rate × counted.
        computed: u64,
        /// 補助上限.
        cap: u64,
    },
}

/// Yen with thousands separators.
pub fn yen(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out + " yen"
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DeadlineMissed {
                period,
                deadline,
                by,
                on,
            } => {
                let what = match deadline {
                    Deadline::ReaderApplication => "card readers applied for",
                    Deadline::Completion => "work finished",
                    Deadline::SubsidyApplication => "subsidy applied for",
                };
                write!(
                    f,
                    "deadline missed: {what} on {on}, after {period}'s last day {by}; the base rule applies"
                )
            }
            Self::OperationOutside {
                period,
                from,
                to,
                on,
            } => write!(
                f,
                "{period} pays facilities that started operating from {} to {}; operation started on {on}; the base rule applies",
                from.map_or("-".into(), |d| d.to_string()),
                to.map_or("-".into(), |d| d.to_string()),
            ),
            Self::NoLineForKind { period, kind } => write!(
                f,
                "{period} has no terms for {}; the base rule applies",
                kind.code()
            ),
            Self::Period {
                period,
                name,
                inferred,
            } => {
                write!(f, "rule {period}: {name}")?;
                if *inferred {
                    f.write_str(" (this line is inferred, not read in a source)")?;
                }
                Ok(())
            }
            Self::ReadersBought { free, bought } => write!(
                f,
                "{free} reader(s) given free; {bought} more are the facility's own purchase"
            ),
            Self::Ceiling { cost, base } => write!(
                f,
                "ceiling: cost {} is above 基準とする事業額 {}; {} counts",
                yen(*cost),
                yen(*base),
                yen(*base)
            ),
            Self::Rate {
                rate,
                counted,
                computed,
            } => write!(f, "rate {rate} of {} = {}", yen(*counted), yen(*computed)),
            Self::Cap { computed, cap } => {
                write!(f, "cap: {} is above 補助上限 {}", yen(*computed), yen(*cap))
            }
        }
    }
}

/// What the engine decided for one application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsidyEstimate {
    /// The period applied.
    pub period: String,
    /// Its line.
    pub rule: SubsidyRule,
    /// Readers given free.
    pub free_readers: u8,
    /// Total cost.
    pub cost_yen: u64,
    /// The cost counted (at most the ceiling).
    pub counted_yen: u64,
    /// The subsidy per cost item (label, yen), adding up to the total.
    pub items: Vec<(String, u64)>,
    /// The subsidy paid.
    pub total_yen: u64,
    /// Why, step by step.
    pub reasons: Vec<Reason>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn app(kind: SubsidyKind, readers: u8, on: Date, cost: u64) -> SubsidyApplication {
        SubsidyApplication {
            kind,
            readers,
            readers_applied_on: on,
            completed_on: None,
            subsidy_applied_on: None,
            operation_started_on: None,
            costs: vec![CostItem {
                label: "レセコン改修".into(),
                yen: cost,
            }],
        }
    }

    /// The seed's table (第138回医療保険部会 資料3), every cell: the cost at the ceiling, before
    /// the acceleration plan (a reader applied for after 2021-03-31 gets the base rule) and
    /// after it (applied for by then).
    #[test]
    fn every_cell_of_the_seed_table() {
        let rules = SubsidyRules::shipped().unwrap();
        let before = date!(2021 - 04 - 01);
        let after = date!(2021 - 03 - 31);
        let cells: [(SubsidyKind, u8, u8, u64, u64, u64); 6] = [
            // kind, readers, free, base, paid before, paid after
            (SubsidyKind::Hospital, 1, 1, 2_101_000, 1_050_000, 2_101_000),
            (SubsidyKind::Hospital, 2, 2, 2_002_000, 1_001_000, 2_002_000),
            (SubsidyKind::Hospital, 3, 3, 1_903_000, 951_000, 1_903_000),
            (
                SubsidyKind::LargeChainPharmacy,
                1,
                1,
                429_000,
                214_000,
                429_000,
            ),
            (SubsidyKind::Clinic, 1, 1, 429_000, 321_000, 429_000),
            (SubsidyKind::Pharmacy, 1, 1, 429_000, 321_000, 429_000),
        ];
        for (kind, readers, free, base, paid_before, paid_after) in cells {
            let b = rules.estimate(&app(kind, readers, before, base)).unwrap();
            assert_eq!(b.period, "R0-base", "{kind:?} {readers}");
            assert_eq!(b.total_yen, paid_before, "{kind:?} {readers} before");
            assert_eq!(b.free_readers, free);
            assert!(
                matches!(
                    b.reasons.first(),
                    Some(Reason::DeadlineMissed {
                        deadline: Deadline::ReaderApplication,
                        ..
                    })
                ),
                "{:?}",
                b.reasons
            );
            let a = rules.estimate(&app(kind, readers, after, base)).unwrap();
            assert_eq!(a.period, "R1-accel-2020");
            assert_eq!(a.total_yen, paid_after, "{kind:?} {readers} after");
            // Above the ceiling nothing more is paid, before or after.
            let over = rules
                .estimate(&app(kind, readers, after, base * 2))
                .unwrap();
            assert_eq!(over.total_yen, paid_after);
            assert!(
                over.reasons
                    .iter()
                    .any(|r| matches!(r, Reason::Ceiling { .. }))
            );
        }
    }

    #[test]
    fn below_the_ceiling_the_rate_applies_and_the_items_add_up() {
        let rules = SubsidyRules::shipped().unwrap();
        let mut a = app(SubsidyKind::Clinic, 1, date!(2021 - 06 - 01), 0);
        a.costs = vec![
            CostItem {
                label: "端末".into(),
                yen: 100_001,
            },
            CostItem {
                label: "改修".into(),
                yen: 200_000,
            },
        ];
        let e = rules.estimate(&a).unwrap();
        assert_eq!(e.total_yen, 300_001 * 3 / 4);
        assert_eq!(e.items.iter().map(|i| i.1).sum::<u64>(), e.total_yen);
        assert!(!e.reasons.iter().any(|r| matches!(r, Reason::Cap { .. })));
    }

    #[test]
    fn a_missed_deadline_falls_back_to_the_base_rule_with_the_reason() {
        let rules = SubsidyRules::shipped().unwrap();
        let mut a = app(SubsidyKind::Hospital, 2, date!(2022 - 07 - 01), 3_000_000);
        a.completed_on = Some(date!(2023 - 03 - 31));
        assert_eq!(rules.estimate(&a).unwrap().total_yen, 2_002_000);
        a.completed_on = Some(date!(2023 - 04 - 01));
        let e = rules.estimate(&a).unwrap();
        assert_eq!(e.period, "R0-base");
        assert_eq!(e.total_yen, 1_001_000);
        assert_eq!(
            e.reasons[0],
            Reason::DeadlineMissed {
                period: "R3-2022".into(),
                deadline: Deadline::Completion,
                by: date!(2023 - 03 - 31),
                on: date!(2023 - 04 - 01),
            }
        );
        assert!(e.reasons[0].to_string().contains("2023-03-31"));
        a.completed_on = None;
        a.subsidy_applied_on = Some(date!(2023 - 07 - 01));
        assert_eq!(rules.estimate(&a).unwrap().period, "R0-base");
        // A large chain has no 2022 line: the base rule, saying so.
        let lc = rules
            .estimate(&app(
                SubsidyKind::LargeChainPharmacy,
                1,
                date!(2022 - 07 - 01),
                500_000,
            ))
            .unwrap();
        assert_eq!(lc.total_yen, 214_000);
        assert!(matches!(lc.reasons[0], Reason::NoLineForKind { .. }));
    }

    #[test]
    fn a_facility_that_applied_earlier_and_operated_in_2022_gets_the_difference() {
        let rules = SubsidyRules::shipped().unwrap();
        let mut a = app(SubsidyKind::Hospital, 2, date!(2021 - 06 - 01), 3_000_000);
        // Without an operation date: the base rule, as any application of 2021-06.
        assert_eq!(rules.estimate(&a).unwrap().total_yen, 1_001_000);
        a.operation_started_on = Some(date!(2022 - 07 - 01));
        let e = rules.estimate(&a).unwrap();
        assert_eq!(
            (e.period.as_str(), e.total_yen),
            ("R3-2022-diff", 2_002_000)
        );
        a.operation_started_on = Some(date!(2023 - 02 - 01));
        let e = rules.estimate(&a).unwrap();
        assert_eq!((e.period.as_str(), e.total_yen), ("R0-base", 1_001_000));
        assert!(matches!(e.reasons[0], Reason::OperationOutside { .. }));
        assert!(
            e.reasons[0].to_string().contains("2023-01-31"),
            "{}",
            e.reasons[0]
        );
    }

    #[test]
    fn a_fourth_hospital_reader_is_bought_on_the_three_reader_terms() {
        let rules = SubsidyRules::shipped().unwrap();
        let e = rules
            .estimate(&app(
                SubsidyKind::Hospital,
                4,
                date!(2021 - 01 - 10),
                5_000_000,
            ))
            .unwrap();
        assert_eq!(e.free_readers, 3);
        assert_eq!(e.total_yen, 1_903_000);
        assert!(
            e.reasons
                .contains(&Reason::ReadersBought { free: 3, bought: 1 })
        );
    }

    #[test]
    fn a_corrected_file_replaces_the_figures_and_a_bad_one_names_its_line() {
        let corrected = SHIPPED_RULES.replace("1/2\t1050000", "1/2\t1050500");
        let rules = SubsidyRules::parse(&corrected).unwrap();
        let e = rules
            .estimate(&app(
                SubsidyKind::Hospital,
                1,
                date!(2021 - 05 - 01),
                2_101_000,
            ))
            .unwrap();
        assert_eq!(e.total_yen, 1_050_500);
        let bad = SHIPPED_RULES.replace("3/4\t321000", "5/4\t321000");
        let err = SubsidyRules::parse(&bad).unwrap_err();
        assert_eq!(err.field, "rate");
        let line = SHIPPED_RULES
            .lines()
            .position(|l| l.contains("5/4") || l.contains("3/4\t321000"))
            .unwrap();
        assert_eq!(err.line, line + 1);
        let no_base: String = SHIPPED_RULES
            .lines()
            .filter(|l| !l.starts_with("R0-base"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert!(SubsidyRules::parse(&no_base).is_err());
    }
}

//! Medical cost per member (1人当たり医療費), the scoring report's fourth section: each
//! insurer's yearly figure as it imports it (a CSV, [`parse`]), beside the member-weighted
//! averages of its kind and of all insurers ([`standings`]).
//!
//! These are insurer-level amounts, not shares of people, so they do not pass through
//! [`crate::masking`]; their own rules: an insurer's figure is shown only when it averages 50
//! members or more ([`crate::masking::MIN_GROUP`]), and an average only when at least
//! [`MIN_INSURERS`] insurers make it, so that no insurer's figure can be taken back out of it by
//! another that knows its own.

use std::collections::BTreeMap;

use onshi_domain::InsurerKind;

use crate::masking::MIN_GROUP;

/// The fewest insurers an average is shown from.
pub const MIN_INSURERS: usize = 3;

/// The columns of the cost CSV.
pub const COLUMNS: [&str; 3] = ["fiscal_year", "members", "cost_per_member"];

/// One row of the cost CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostRow {
    /// Its line.
    pub line: u64,
    /// 年度.
    pub fiscal_year: i32,
    /// Members the cost is averaged over (all members, of every age).
    pub members: i64,
    /// Yen per member.
    pub cost_per_member: i64,
}

/// Reads an insurer's cost CSV (`fiscal_year,members,cost_per_member`, a header, one row per
/// year; UTF-8 or CP932 after [`crate::employer_csv::decode`]): every row, or every problem
/// as `line N, column: reason`. A year given twice is refused.
pub fn parse(text: &str) -> Result<Vec<CostRow>, Vec<String>> {
    let mut errors = Vec::new();
    let mut rows: Vec<CostRow> = Vec::new();
    for (line, f) in crate::guidance_csv::lines_of(text, &COLUMNS)? {
        let number = |i: usize| f[i].replace([',', '_'], "").parse::<i64>().ok();
        let year = f[0]
            .parse::<i32>()
            .ok()
            .filter(|y| (2008..=2100).contains(y));
        if year.is_none() {
            errors.push(format!(
                "line {line}, fiscal_year: must be a year from 2008 to 2100"
            ));
        }
        let members = number(1).filter(|m| *m > 0);
        if members.is_none() {
            errors.push(format!(
                "line {line}, members: must be a whole number above 0"
            ));
        }
        let cost = number(2).filter(|c| (0..=100_000_000).contains(c));
        if cost.is_none() {
            errors.push(format!(
                "line {line}, cost_per_member: must be whole yen from 0 to 100,000,000"
            ));
        }
        if let Some(y) = year
            && let Some(first) = rows.iter().find(|r| r.fiscal_year == y)
        {
            errors.push(format!(
                "line {line}, fiscal_year: {y} is already on line {}",
                first.line
            ));
            continue;
        }
        if let (Some(fiscal_year), Some(members), Some(cost_per_member)) = (year, members, cost) {
            rows.push(CostRow {
                line,
                fiscal_year,
                members,
                cost_per_member,
            });
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

/// An amount as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Yen.
    Yen(i64),
    /// Too few members or insurers behind it.
    Masked,
    /// No data.
    NotComputable,
}

impl Amount {
    /// As printed: `123,456円`, `×` or `–`.
    pub fn text(&self) -> String {
        match self {
            Amount::Yen(v) => {
                let digits = v.abs().to_string();
                let mut out = String::new();
                for (i, c) in digits.chars().enumerate() {
                    if i > 0 && (digits.len() - i).is_multiple_of(3) {
                        out.push(',');
                    }
                    out.push(c);
                }
                format!("{}{out}円", if *v < 0 { "-" } else { "" })
            }
            Amount::Masked => "×".into(),
            Amount::NotComputable => "–".into(),
        }
    }

    /// The yen, when shown.
    pub fn yen(&self) -> Option<i64> {
        match self {
            Amount::Yen(v) => Some(*v),
            _ => None,
        }
    }
}

/// An insurer's cost beside the averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CostStanding {
    /// Its own.
    pub own: Amount,
    /// Its kind's member-weighted average.
    pub kind_average: Amount,
    /// All insurers'.
    pub national: Amount,
    /// Own ÷ all insurers' × 100, when both are shown.
    pub relative: Option<f64>,
}

/// One insurer's cost for the year: (number, kind, members, yen per member).
pub type InsurerCost = (String, InsurerKind, i64, i64);

/// Every insurer's standing (by number) among `costs` of one year.
pub fn standings(costs: &[InsurerCost]) -> BTreeMap<String, CostStanding> {
    let average = |of: &mut dyn Iterator<Item = &InsurerCost>| {
        let (mut members, mut total, mut n) = (0i128, 0i128, 0usize);
        for (_, _, m, c) in of {
            members += i128::from(*m);
            total += i128::from(*m) * i128::from(*c);
            n += 1;
        }
        if n == 0 || members == 0 {
            Amount::NotComputable
        } else if n < MIN_INSURERS {
            Amount::Masked
        } else {
            // Rounded half up to the yen.
            Amount::Yen(i64::try_from((2 * total + members) / (2 * members)).unwrap_or(i64::MAX))
        }
    };
    let national = average(&mut costs.iter());
    let mut kinds: BTreeMap<InsurerKind, Amount> = BTreeMap::new();
    for (_, kind, _, _) in costs {
        kinds
            .entry(*kind)
            .or_insert_with(|| average(&mut costs.iter().filter(|c| c.1 == *kind)));
    }
    costs
        .iter()
        .map(|(number, kind, members, cost)| {
            let own = if *members >= MIN_GROUP {
                Amount::Yen(*cost)
            } else {
                Amount::Masked
            };
            let relative = match (own, national) {
                (Amount::Yen(o), Amount::Yen(n)) if n > 0 => {
                    Some((o as f64 / n as f64 * 1000.0).round() / 10.0)
                }
                _ => None,
            };
            (
                number.clone(),
                CostStanding {
                    own,
                    kind_average: kinds.get(kind).copied().unwrap_or(Amount::NotComputable),
                    national,
                    relative,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_problems() {
        let rows = parse(
            "fiscal_year,members,cost_per_member\n2024,\"12,000\",185000\n2023,11800,179500\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            (rows[0].members, rows[0].cost_per_member),
            (12_000, 185_000)
        );
        let errors = parse(
            "fiscal_year,members,cost_per_member\n2024,0,1\n2024,10,-5\n2024,10,5\n2024,10,6\n",
        )
        .unwrap_err();
        assert_eq!(
            errors,
            [
                "line 2, members: must be a whole number above 0",
                "line 3, cost_per_member: must be whole yen from 0 to 100,000,000",
                "line 5, fiscal_year: 2024 is already on line 4",
            ]
        );
    }

    #[test]
    fn small_insurers_and_thin_averages_are_masked() {
        let society = InsurerKind::HealthInsuranceSociety;
        let costs: Vec<InsurerCost> = vec![
            ("06130001".into(), society, 100, 150_000),
            ("06130002".into(), society, 200, 180_000),
            ("06130003".into(), society, 30, 400_000),
            ("01130012".into(), InsurerKind::KyokaiKenpo, 1_000, 200_000),
        ];
        let s = standings(&costs);
        assert_eq!(s["06130003"].own, Amount::Masked, "30 members");
        assert_eq!(s["06130001"].own.text(), "150,000円");
        // (100×150,000 + 200×180,000 + 30×400,000) / 330 = 190,909.09…
        assert_eq!(s["06130001"].kind_average, Amount::Yen(190_909));
        assert_eq!(s["01130012"].kind_average, Amount::Masked, "one insurer");
        // (63,000,000 + 200,000,000) / 1,330 = 197,744.36…
        assert_eq!(s["01130012"].national, Amount::Yen(197_744));
        assert_eq!(s["01130012"].relative, Some(101.1));
        assert_eq!(s["06130003"].relative, None);
        assert_eq!(Amount::NotComputable.text(), "–");
    }
}

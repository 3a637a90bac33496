//! The operator's public pages: the adoption dashboard, the weekly editions of public
//! hospitals, and the subsidy calculator. Built from `onshi_api::operator` types.

use askama::Template;

use onshi_api::operator::{AdoptionDashboard, AdoptionRow, SubsidyEstimate};

use crate::chart;

/// A rate as shown: `19.5%`, or `–` when there is no denominator.
fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{r:.1}%"))
}

/// An RFC 3339 time in Japan as people read it: `2020-12-13 12:00（日本時間）`.
fn japan_minute(rfc3339: &str) -> String {
    match rfc3339.get(..16) {
        Some(t) => format!("{}（日本時間）", t.replace('T', " ")),
        None => rfc3339.to_owned(),
    }
}

/// Yen as shown: `1,050,000円`.
fn yen(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out + "円"
}

/// One row of counts as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionLine {
    /// 全体, a kind or a prefecture.
    pub label: String,
    /// Facilities.
    pub facilities: i64,
    /// Portal accounts.
    pub portal_accounts: i64,
    /// Reader applications.
    pub applied: i64,
    /// Their rate.
    pub applied_rate: String,
    /// Ready.
    pub ready: i64,
    /// Operating.
    pub operating: i64,
    /// Their rate.
    pub operating_rate: String,
}

impl From<&AdoptionRow> for AdoptionLine {
    fn from(r: &AdoptionRow) -> Self {
        Self {
            label: r.label.clone(),
            facilities: r.facilities,
            portal_accounts: r.portal_accounts,
            applied: r.applied,
            applied_rate: rate(r.applied_rate),
            ready: r.ready,
            operating: r.operating,
            operating_rate: rate(r.operating_rate),
        }
    }
}

/// The adoption dashboard.
#[derive(Template)]
#[template(path = "adoption.html")]
pub struct AdoptionPage {
    /// When (Japan time).
    pub as_of: String,
    /// All facilities.
    pub total: AdoptionLine,
    /// By kind.
    pub kinds: Vec<AdoptionLine>,
    /// By prefecture.
    pub prefectures: Vec<AdoptionLine>,
    /// The kinds' rates as bars.
    pub kinds_chart: String,
    /// The bars in words.
    pub kinds_summary: String,
    /// The weekly rates as lines (empty when there is no week).
    pub weeks_chart: String,
    /// The lines in words.
    pub weeks_summary: String,
    /// (month, card, smartphone, number, card-use rate).
    pub months: Vec<(String, i64, i64, i64, String)>,
    /// (cards, registered, rate).
    pub cards: (i64, i64, String),
}

impl AdoptionPage {
    /// The page of `d`.
    pub fn new(d: &AdoptionDashboard) -> Self {
        let kinds_chart = chart::bars_svg(&chart::Bars {
            categories: d.kinds.iter().map(|k| k.label.clone()).collect(),
            names: vec![
                "アカウント登録".into(),
                "カードリーダー申込".into(),
                "運用開始".into(),
            ],
            values: vec![
                d.kinds.iter().map(|k| k.portal_rate).collect(),
                d.kinds.iter().map(|k| k.applied_rate).collect(),
                d.kinds.iter().map(|k| k.operating_rate).collect(),
            ],
            stacked: false,
            max: Some(100.0),
        })
        .unwrap_or_default();
        let kinds_summary = d
            .kinds
            .iter()
            .map(|k| {
                format!(
                    "{}: 申込 {}、運用開始 {}",
                    k.label,
                    rate(k.applied_rate),
                    rate(k.operating_rate)
                )
            })
            .collect::<Vec<_>>()
            .join("。");
        let all: Vec<_> = d.weeks.iter().filter(|w| w.key == "all").collect();
        let share = |n: i64| {
            if d.total.facilities > 0 {
                n as f64 * 100.0 / d.total.facilities as f64
            } else {
                0.0
            }
        };
        let weeks_chart = if all.len() < 2 {
            String::new()
        } else {
            chart::lines_svg(&chart::Lines {
                x: all.iter().map(|w| w.week_ending.clone()).collect(),
                series: vec![
                    (
                        "カードリーダー申込".into(),
                        all.iter().map(|w| share(w.applied)).collect(),
                    ),
                    (
                        "準備完了".into(),
                        all.iter().map(|w| share(w.ready)).collect(),
                    ),
                    (
                        "運用開始".into(),
                        all.iter().map(|w| share(w.operating)).collect(),
                    ),
                ],
                max: Some(100.0),
            })
            .unwrap_or_default()
        };
        let weeks_summary = match (all.first(), all.last()) {
            (Some(first), Some(last)) => format!(
                "{} の週から {} の週まで。最新の週の申込 {:.1}%、準備完了 {:.1}%、運用開始 {:.1}%（数は CSV にあります）。",
                first.week_ending,
                last.week_ending,
                share(last.applied),
                share(last.ready),
                share(last.operating)
            ),
            _ => String::new(),
        };
        Self {
            as_of: japan_minute(&d.as_of),
            total: (&d.total).into(),
            kinds: d.kinds.iter().map(Into::into).collect(),
            prefectures: d.prefectures.iter().map(Into::into).collect(),
            kinds_chart,
            kinds_summary,
            weeks_chart,
            weeks_summary,
            months: d
                .months
                .iter()
                .map(|m| {
                    (
                        m.month.clone(),
                        m.card,
                        m.smartphone,
                        m.number,
                        rate(m.card_use_rate),
                    )
                })
                .collect(),
            cards: (d.cards.cards, d.cards.registered, rate(d.cards.rate)),
        }
    }
}

/// The list of weekly editions.
#[derive(Template)]
#[template(path = "weekly_index.html")]
pub struct WeeklyIndex {
    /// The editions' dates, newest first.
    pub editions: Vec<String>,
}

/// One hospital of an edition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionHospital {
    /// 医療機関コード.
    pub code: String,
    /// Name.
    pub name: String,
    /// Prefecture name.
    pub prefecture: String,
    /// Applied.
    pub applied: bool,
    /// When.
    pub applied_on: String,
    /// Ready.
    pub ready: bool,
}

/// One weekly edition.
#[derive(Template)]
#[template(path = "weekly.html")]
pub struct WeeklyPage {
    /// Its date.
    pub edition: String,
    /// When it was published.
    pub published_at: String,
    /// SHA-256 of its CSV.
    pub content_hash: String,
    /// Hospitals.
    pub hospitals: usize,
    /// That applied.
    pub applied: usize,
    /// Their rate.
    pub rate: String,
    /// (prefecture, hospitals, applied, rate), in the order the rows first name them.
    pub prefectures: Vec<(String, usize, usize, String)>,
    /// Every hospital.
    pub rows: Vec<EditionHospital>,
}

impl WeeklyPage {
    /// The page of an edition.
    pub fn new(
        edition: &str,
        published_at: &str,
        content_hash: &str,
        rows: Vec<EditionHospital>,
    ) -> Self {
        let mut prefectures: Vec<(String, usize, usize, String)> = Vec::new();
        for r in &rows {
            let at = match prefectures.iter().position(|p| p.0 == r.prefecture) {
                Some(i) => i,
                None => {
                    prefectures.push((r.prefecture.clone(), 0, 0, String::new()));
                    prefectures.len() - 1
                }
            };
            prefectures[at].1 += 1;
            prefectures[at].2 += usize::from(r.applied);
        }
        let pct = |n: usize, d: usize| {
            rate(onshi_api::programme::percent(
                i64::try_from(n).unwrap_or(0),
                i64::try_from(d).unwrap_or(0),
            ))
        };
        for p in &mut prefectures {
            p.3 = pct(p.2, p.1);
        }
        let applied = rows.iter().filter(|r| r.applied).count();
        Self {
            edition: edition.to_owned(),
            published_at: published_at.to_owned(),
            content_hash: content_hash.to_owned(),
            hospitals: rows.len(),
            applied,
            rate: pct(applied, rows.len()),
            prefectures,
            rows,
        }
    }
}

/// How many cost lines the calculator's form has.
pub const COST_ROWS: usize = 5;

/// The calculator's form as filled in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubsidyForm {
    /// `hospital`, `medical_clinic`, `dental_clinic`, `pharmacy`.
    pub facility_kind: String,
    /// 大型チェーン薬局.
    pub large_chain: bool,
    /// Readers.
    pub readers: String,
    /// Reader application date.
    pub readers_applied_on: String,
    /// Completion date.
    pub completed_on: String,
    /// Subsidy application date.
    pub subsidy_applied_on: String,
    /// Operation start date.
    pub operation_started_on: String,
    /// (label, yen) per line.
    pub costs: Vec<(String, String)>,
}

/// An estimate as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownEstimate {
    /// Period id.
    pub period: String,
    /// Its name.
    pub period_name: String,
    /// V, V-partial, I.
    pub status: String,
    /// Free readers.
    pub free_readers: u8,
    /// (label, cost, subsidy).
    pub items: Vec<(String, String, String)>,
    /// Total cost.
    pub cost: String,
    /// Total subsidy.
    pub total: String,
    /// Why.
    pub reasons: Vec<String>,
}

/// The subsidy calculator.
#[derive(Template)]
#[template(path = "subsidy.html")]
pub struct SubsidyPage {
    /// The form.
    pub form: SubsidyForm,
    /// (index, label, yen) of each cost line.
    pub cost_rows: Vec<(usize, String, String)>,
    /// (value, name) of each kind.
    pub kinds: Vec<(&'static str, &'static str)>,
    /// The estimate, once computed.
    pub estimate: Option<ShownEstimate>,
    /// What is wrong with the form.
    pub errors: Vec<String>,
}

impl SubsidyPage {
    /// The page for `form`, with its estimate or errors.
    pub fn new(form: SubsidyForm, estimate: Option<SubsidyEstimate>, errors: Vec<String>) -> Self {
        let cost_rows = (0..COST_ROWS)
            .map(|i| {
                let (l, y) = form.costs.get(i).cloned().unwrap_or_default();
                (i, l, y)
            })
            .collect();
        Self {
            form,
            cost_rows,
            kinds: vec![
                ("hospital", "病院"),
                ("medical_clinic", "医科診療所"),
                ("dental_clinic", "歯科診療所"),
                ("pharmacy", "薬局"),
            ],
            estimate: estimate.map(|e| ShownEstimate {
                period: e.period,
                period_name: e.period_name,
                status: e.rule_status,
                free_readers: e.free_readers,
                items: e
                    .items
                    .iter()
                    .map(|i| (i.label.clone(), yen(i.cost_yen), yen(i.subsidy_yen)))
                    .collect(),
                cost: yen(e.cost_yen),
                total: yen(e.total_yen),
                reasons: e.reasons,
            }),
            errors,
        }
    }
}

/// An operator's staff page of waiting facilities, the time as people read it.
pub fn waiting_row(
    code: &str,
    name: &str,
    kind: &str,
    applied_at: &str,
) -> (String, String, String, String) {
    (
        code.to_owned(),
        name.to_owned(),
        kind.to_owned(),
        japan_minute(applied_at),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use onshi_api::operator::{AdoptionWeek, CardRegistration};

    fn row(key: &str, label: &str, n: i64, applied: i64) -> AdoptionRow {
        AdoptionRow {
            key: key.into(),
            label: label.into(),
            facilities: n,
            portal_accounts: applied,
            portal_rate: onshi_api::programme::percent(applied, n),
            applied,
            applied_rate: onshi_api::programme::percent(applied, n),
            ready: 0,
            ready_rate: Some(0.0),
            operating: 0,
            operating_rate: Some(0.0),
        }
    }

    #[test]
    fn the_dashboard_shows_its_counts_rates_and_charts() {
        let d = AdoptionDashboard {
            as_of: "2020-12-13T12:00:00+09:00".into(),
            total: row("all", "全体", 228_280, 44_466),
            kinds: vec![row("hospital", "病院", 8_281, 2_184)],
            prefectures: vec![row("13", "東京都", 20_000, 4_000)],
            weeks: ["2020-12-06", "2020-12-13"]
                .iter()
                .map(|w| AdoptionWeek {
                    week_ending: (*w).into(),
                    key: "all".into(),
                    portal_accounts: 1,
                    applied: 40_000,
                    ready: 0,
                    operating: 0,
                })
                .collect(),
            months: Vec::new(),
            cards: CardRegistration {
                cards: 0,
                registered: 0,
                rate: None,
            },
        };
        let html = AdoptionPage::new(&d).render().unwrap();
        assert!(html.contains("44466 / 228280 施設（19.5%）"), "{html}");
        assert!(html.contains("<th scope=\"row\">病院</th><td class=\"num\">8281</td>"));
        assert!(html.contains("<td class=\"num\">26.4%</td>"));
        assert_eq!(html.matches("<svg").count(), 2, "bars and lines");
        assert!(!html.contains("<script"));
    }
}

/// The facilities waiting for the operator's approval, each with an approve form.
#[derive(Template)]
#[template(path = "operator_facilities.html")]
pub struct OperatorFacilities {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The forms' CSRF token.
    pub csrf: String,
    /// How many wait in all.
    pub waiting: usize,
    /// (code, name, kind, applied at) of those shown.
    pub rows: Vec<(String, String, String, String)>,
}

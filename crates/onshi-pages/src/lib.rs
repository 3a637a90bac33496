//! The pages for people, rendered on the server: askama templates (`templates/`, checked when
//! this crate compiles) filled from view models built here from the wire types. No SQL and no
//! HTTP: the server fetches what a page shows (audited, authorised), hands it over, and serves
//! the string. Pages work without JavaScript, read on a phone, and print on A4; the one
//! stylesheet is [`STYLE`], served as `/static/style.css`.

use askama::Template;

pub mod chart;
mod operator;

pub use operator::{
    AdoptionLine, AdoptionPage, COST_ROWS, EditionHospital, OperatorFacilities, ShownEstimate,
    SubsidyForm, SubsidyPage, WeeklyIndex, WeeklyPage, waiting_row,
};

/// The stylesheet of every page.
pub const STYLE: &str = include_str!("../static/style.css");

/// One checkup item as the person's page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// The item's name (身長, 収縮期血圧(1回目), …).
    pub name: String,
    /// The value with its unit, or what stands in for it.
    pub value: String,
    /// 保健指導判定値, or "—".
    pub guidance: String,
    /// 受診勧奨判定値, or "—".
    pub referral: String,
    /// The judgement in words and a mark (never colour alone).
    pub judgement: String,
    /// The row's class (`normal`, `guidance`, `referral`, or empty).
    pub class: &'static str,
}

/// One checkup on the person's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckupSection {
    /// 実施日, as the page writes dates (2024年5月20日).
    pub exam_date: String,
    /// 年度.
    pub fiscal_year: i32,
    /// What kind of checkup (特定健診, 事業者健診, …).
    pub program: String,
    /// The examining institution's number.
    pub institution: String,
    /// The insurer it reached.
    pub insurer: String,
    /// Its items.
    pub items: Vec<ItemRow>,
}

/// One item's values over the years, as a chart with its numbers beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendFigure {
    /// An id for the page's anchors.
    pub id: String,
    /// The item's name (the chart's title).
    pub title: String,
    /// Its unit.
    pub unit: String,
    /// The chart (SVG, drawn by [`chart::trend_svg`]; numbers and dates only).
    pub svg: String,
    /// The chart in words (its text alternative).
    pub summary: String,
    /// (date, value) oldest first: the table beside the chart.
    pub rows: Vec<(String, String)>,
}

/// The person's checkup results page.
#[derive(Template)]
#[template(path = "portal_checkups.html")]
pub struct PortalCheckups {
    /// Each item measured at two exams or more, with judgement values, over the years.
    pub trends: Vec<TrendFigure>,
    /// The checkups, newest first.
    pub checkups: Vec<CheckupSection>,
    /// The session's CSRF token, for the logout form.
    pub csrf: String,
}

/// A page that only says something (sign in first, the code has expired, signed out).
#[derive(Template)]
#[template(path = "notice.html")]
pub struct Notice {
    /// The heading and title.
    pub title: String,
    /// What to read.
    pub paragraphs: Vec<String>,
}

/// A qualification on the person's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualificationRow {
    /// 保険者番号.
    pub insurer: String,
    /// 記号・番号・枝番.
    pub card: String,
    /// 資格取得日.
    pub from: String,
    /// 資格喪失日, or "—".
    pub until: String,
    /// 負担割合 ("3割").
    pub copay: String,
}

/// A consent in force on the person's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// The facility's code.
    pub facility: String,
    /// The kind as stored (the withdraw form sends it back).
    pub kind: String,
    /// The kind in words.
    pub kind_name: String,
    /// When given, Japan time.
    pub given_at: String,
    /// When it ends, Japan time.
    pub expires_at: String,
}

/// One access to the person's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRow {
    /// When, Japan time.
    pub at: String,
    /// Who (あなた, or the kind and id of an organisation).
    pub who: String,
    /// What, in words.
    pub what: String,
}

/// The person's own page: qualifications, consents (each withdrawable), and who read what.
#[derive(Template)]
#[template(path = "portal_home.html")]
pub struct PortalHome {
    /// The forms' CSRF token.
    pub csrf: String,
    /// What the last action did, if any.
    pub message: Option<String>,
    /// The registration for insurance use, in words.
    pub registration: String,
    /// Current and past qualifications.
    pub qualifications: Vec<QualificationRow>,
    /// Consents in force.
    pub consents: Vec<ConsentRow>,
    /// The access history, newest first.
    pub accesses: Vec<AccessRow>,
}

/// A consent's kind in words.
pub fn consent_name(kind: &str) -> String {
    match kind {
        "medication" => "薬剤情報".into(),
        "checkup" => "特定健診情報".into(),
        "clinical" => "診療情報".into(),
        "limit" => "限度額適用認定証の情報".into(),
        other => other.into(),
    }
}

/// An audit action in words, as the person reads their access history.
pub fn action_name(action: &str) -> String {
    match action {
        "check_card" => "マイナンバーカードで資格を確認".into(),
        "check_number" => "保険証の番号で資格を確認".into(),
        "check_reference" => "確認済みの資格を参照".into(),
        "read" => "資格を閲覧".into(),
        "read_checkups" => "健診結果を閲覧".into(),
        "read_access_log" => "閲覧記録を確認".into(),
        "transfer_checkups" => "健診結果を新しい保険者へ引き継ぎ".into(),
        "register" => "保険証利用を登録".into(),
        "withdraw_consent" => "同意を取り消し".into(),
        "record_guidance" => "保健指導を記録".into(),
        "create" => "資格を登録".into(),
        "change" => "資格を変更".into(),
        "history" => "資格の履歴を閲覧".into(),
        "list" => "加入者の一覧で閲覧".into(),
        "import" => "加入者ファイルで登録・変更".into(),
        "match_checkup" => "健診結果をあなたの資格に結び付け".into(),
        "staff_login" => "職員がログイン".into(),
        "staff_login_failed" => "職員のログインに失敗".into(),
        "staff_locked_out" => "職員アカウントをロック".into(),
        other => other.into(),
    }
}

/// The staff sign-in page.
#[derive(Template)]
#[template(path = "staff_login.html")]
pub struct StaffLogin {
    /// Why the last attempt failed, if it did (never which factor).
    pub message: Option<String>,
    /// The form's CSRF token (also in the pre-login cookie).
    pub csrf: String,
}

/// One version of a member's qualification, as the console lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionRow {
    /// Which version.
    pub version: i64,
    /// When it was recorded, Japan time.
    pub recorded_at: String,
    /// 氏名.
    pub name: String,
    /// カナ.
    pub name_kana: String,
    /// 生年月日.
    pub birth_date: String,
    /// 資格取得日.
    pub qualified_from: String,
    /// 資格喪失日, or "—".
    pub qualified_until: String,
    /// 一部負担金割合, e.g. "3割".
    pub copay: String,
}

/// The insurer's console: find a member by card, and their qualification's history.
#[derive(Template)]
#[template(path = "console_members.html")]
pub struct ConsoleMembers {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// The search as typed.
    pub symbol: String,
    /// The search as typed.
    pub number: String,
    /// The search as typed.
    pub branch: String,
    /// The kana search as typed.
    pub kana: String,
    /// The kana search's birth date as typed.
    pub birth_date: String,
    /// What a kana search found: (member id, how it is shown).
    pub matches: Vec<(String, String)>,
    /// What the search found (or not), if one was made.
    pub message: Option<String>,
    /// The card searched, as shown above its history.
    pub card: String,
    /// The member's versions, newest first (empty when none was found).
    pub versions: Vec<VersionRow>,
}

/// What an insurer's staff did (the audit log's entries of its staff accounts).
#[derive(Template)]
#[template(path = "console_activity.html")]
pub struct ConsoleActivity {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// (seq, when, login, what), newest first.
    pub entries: Vec<(i64, String, String, String)>,
}

/// An employer's page: its insurer's requests for checkup results and how many arrived.
#[derive(Template)]
#[template(path = "employer_requests.html")]
pub struct EmployerRequests {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// The current fiscal year.
    pub fiscal_year: i32,
    /// (fiscal year, due date, covered, arrived, status in words), newest year first.
    pub rows: Vec<(i32, String, i64, i64, String)>,
}

/// One import on the insurer's console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    /// When, Japan time.
    pub at: String,
    /// 健診データ or 加入者ファイル.
    pub kind: String,
    /// Who sent it.
    pub sender: String,
    /// The archive's or file's name.
    pub source: String,
    /// 取り込み済み or 不受理.
    pub outcome: String,
    /// The counts in words.
    pub counts: String,
    /// The first problems of a refused one.
    pub problems: Vec<String>,
}

/// The insurer's imports (checkup data and member files) of the last months.
#[derive(Template)]
#[template(path = "console_imports.html")]
pub struct ConsoleImports {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// Newest first.
    pub rows: Vec<ImportRow>,
}

/// プログラム種別 in words.
fn program_name(code: &str) -> String {
    match code {
        "010" => "特定健診".into(),
        "020" => "広域連合の保健事業".into(),
        "030" => "事業者健診".into(),
        "040" => "学校健診".into(),
        "060" => "がん検診".into(),
        other => format!("健診（種別 {other}）"),
    }
}

/// `2024-05-20` as 2024年5月20日.
fn japanese_date(iso: &str) -> String {
    let mut parts = iso.splitn(3, '-').map(|p| p.trim_start_matches('0'));
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some(m), Some(d)) => format!("{y}年{m}月{d}日"),
        _ => iso.to_owned(),
    }
}

fn number(v: f64) -> String {
    let text = format!("{v}");
    text.strip_suffix(".0").map_or(text.clone(), str::to_owned)
}

impl PortalCheckups {
    /// The page of `results` (as the portal's JSON gives them), with `csrf` for its form.
    pub fn new(results: &onshi_api::CheckupResults, csrf: &str) -> Self {
        let checkups = results
            .checkups
            .iter()
            .map(|c| CheckupSection {
                exam_date: japanese_date(&c.exam_date),
                fiscal_year: c.fiscal_year,
                program: program_name(&c.program),
                institution: c.institution.clone(),
                insurer: c.insurer_number.clone(),
                items: c
                    .items
                    .iter()
                    .map(|i| {
                        let unit = i
                            .unit_name
                            .as_deref()
                            .or(i.unit.as_deref())
                            .unwrap_or_default();
                        let value = match (i.value_kind.as_str(), i.value.as_deref()) {
                            ("NULL", _) | (_, None) => "未実施".to_owned(),
                            ("PQ", Some(v)) if !unit.is_empty() => format!("{v} {unit}"),
                            (_, Some(v)) => v.to_owned(),
                        };
                        let (judgement, class) = match i.judgement.as_deref() {
                            Some("normal") => ("○ 基準範囲内", "normal"),
                            Some("guidance") => ("▲ 保健指導判定値に該当", "guidance"),
                            Some("referral") => ("● 受診勧奨判定値に該当", "referral"),
                            _ => ("", ""),
                        };
                        ItemRow {
                            name: if i.name.is_empty() {
                                i.code.clone()
                            } else {
                                i.name.clone()
                            },
                            value,
                            guidance: i.guidance_value.map_or("—".into(), number),
                            referral: i.referral_value.map_or("—".into(), number),
                            judgement: judgement.to_owned(),
                            class,
                        }
                    })
                    .collect(),
            })
            .collect();
        Self {
            trends: trends(results),
            checkups,
            csrf: csrf.to_owned(),
        }
    }
}

/// The trends of `results`: per item name (methods change between years; the name stays),
/// the numeric values of the items that have judgement values, oldest exam first, when there
/// are two or more.
fn trends(results: &onshi_api::CheckupResults) -> Vec<TrendFigure> {
    /// An item's name, unit, judgement values and (date, value) points.
    type Series = (String, String, Option<f64>, Option<f64>, Vec<(String, f64)>);
    let mut by_name: Vec<Series> = Vec::new();
    for c in results.checkups.iter().rev() {
        for i in &c.items {
            let (Some(guidance), Some(value)) = (
                i.guidance_value,
                i.value
                    .as_deref()
                    .and_then(|v| v.trim().parse::<f64>().ok()),
            ) else {
                continue;
            };
            let unit = i
                .unit_name
                .clone()
                .or_else(|| i.unit.clone())
                .unwrap_or_default();
            match by_name.iter_mut().find(|t| t.0 == i.name) {
                Some(t) => t.4.push((c.exam_date.clone(), value)),
                None => by_name.push((
                    i.name.clone(),
                    unit,
                    Some(guidance),
                    i.referral_value,
                    vec![(c.exam_date.clone(), value)],
                )),
            }
        }
    }
    by_name
        .into_iter()
        .filter(|t| t.4.len() >= 2)
        .enumerate()
        .filter_map(|(n, (title, unit, guidance, referral, points))| {
            let trend = chart::Trend {
                points: points.clone(),
                guidance,
                referral,
            };
            let svg = chart::trend_svg(&trend).ok()?;
            let rows: Vec<(String, String)> = points
                .iter()
                .map(|(d, v)| (japanese_date(d), format!("{} {unit}", number(*v))))
                .collect();
            let first = rows.first().cloned().unwrap_or_default();
            let last = rows.last().cloned().unwrap_or_default();
            let mut summary = format!(
                "{title}は{}の{}から{}の{}へ。",
                first.0, first.1, last.0, last.1
            );
            if let Some(g) = guidance {
                summary.push_str(&format!("保健指導判定値は{}", number(g)));
            }
            if let Some(r) = referral {
                summary.push_str(&format!("、受診勧奨判定値は{}", number(r)));
            }
            summary.push('。');
            Some(TrendFigure {
                id: format!("trend-{}", n + 1),
                title,
                unit,
                svg,
                summary,
                rows,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn results() -> onshi_api::CheckupResults {
        onshi_api::CheckupResults {
            patient: None,
            checkups: vec![onshi_api::CheckupResult {
                id: "c1".into(),
                insurer_number: "01130012".into(),
                exam_date: "2024-05-20".into(),
                institution: "5521111111".into(),
                program: "010".into(),
                fiscal_year: 2024,
                items: vec![onshi_api::CheckupItem {
                    code: "9A751000000000001".into(),
                    name: "収縮期血圧(1回目)".into(),
                    value_kind: "PQ".into(),
                    value: Some("142".into()),
                    unit: Some("mmHg".into()),
                    unit_name: Some("mmHg".into()),
                    code_system: None,
                    guidance_value: Some(130.0),
                    referral_value: Some(140.0),
                    judgement: Some("referral".into()),
                }],
            }],
        }
    }

    #[test]
    fn each_value_stands_beside_its_judgement_values_in_words() {
        let html = PortalCheckups::new(&results(), "tok<en>").render().unwrap();
        assert!(html.contains("<html lang=\"ja\">"));
        assert!(html.contains("2024年5月20日の特定健診"));
        assert!(html.contains(
            "<th scope=\"row\">収縮期血圧(1回目)</th><td class=\"num\">142 mmHg</td><td class=\"num\">130</td><td class=\"num\">140</td><td>● 受診勧奨判定値に該当</td>"
        ), "{html}");
        // Escaped, never raw.
        assert!(
            html.contains("value=\"tok&#60;en&#62;\"") || html.contains("value=\"tok&lt;en&gt;\""),
            "{html}"
        );
    }

    #[test]
    fn items_seen_twice_get_a_chart_a_summary_and_a_table() {
        let mut r = results();
        let mut older = r.checkups[0].clone();
        older.exam_date = "2023-05-22".into();
        older.items[0].value = Some("128".into());
        r.checkups.push(older);
        let page = PortalCheckups::new(&r, "t");
        assert_eq!(page.trends.len(), 1);
        let t = &page.trends[0];
        assert_eq!(
            t.rows,
            [
                ("2023年5月22日".to_owned(), "128 mmHg".to_owned()),
                ("2024年5月20日".to_owned(), "142 mmHg".to_owned())
            ]
        );
        assert!(
            t.summary
                .contains("2023年5月22日の128 mmHgから2024年5月20日の142 mmHgへ")
        );
        let html = page.render().unwrap();
        assert!(
            html.contains("<figure class=\"trend\"") && html.contains("<svg aria-hidden=\"true\"")
        );
        // One exam only: no chart.
        assert!(PortalCheckups::new(&results(), "t").trends.is_empty());
    }

    #[test]
    fn the_stylesheet_prints_on_a4_without_navigation() {
        assert!(STYLE.contains("@page { size: A4"));
        assert!(STYLE.contains("header.site nav"));
    }
}

/// One fiscal year's row of the programme page: the year, then its cells as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeRow {
    /// 年度, as shown (2024年度).
    pub year: String,
    /// 年度, as a number (for the links to its lists).
    pub fiscal_year: i32,
    /// The counts and rates, in the table's column order.
    pub cells: Vec<String>,
}

/// The insurer's programme (特定健診・特定保健指導) over the last fiscal years.
#[derive(Template)]
#[template(path = "console_programme.html")]
pub struct ConsoleProgramme {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// The rule sets that judged the years.
    pub rule_sets: String,
    /// The two rates by year, as SVG.
    pub chart: String,
    /// The chart in a sentence.
    pub summary: String,
    /// Oldest year first.
    pub rows: Vec<ProgrammeRow>,
}

fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{r:.1}%"))
}

impl ConsoleProgramme {
    /// The page of `years` (oldest first) for `who`.
    pub fn new(who: String, csrf: String, years: &[onshi_api::ProgrammeSummary]) -> Self {
        let names: Vec<String> = years
            .iter()
            .map(|y| format!("{}年度", y.fiscal_year))
            .collect();
        let chart = chart::bars_svg(&chart::Bars {
            categories: names.clone(),
            names: vec!["特定健診実施率".into(), "特定保健指導実施率".into()],
            values: vec![
                years.iter().map(|y| y.examination_rate).collect(),
                years.iter().map(|y| y.guidance_rate).collect(),
            ],
            stacked: false,
            max: Some(100.0),
        })
        .unwrap_or_default();
        let summary = years
            .iter()
            .zip(&names)
            .map(|(y, name)| {
                let words = |r: Option<f64>, none: &str| {
                    r.map_or_else(|| none.to_owned(), |r| format!("{r:.1}%"))
                };
                format!(
                    "{name}は特定健診実施率{}、特定保健指導実施率{}",
                    words(y.examination_rate, "なし（対象者がいません）"),
                    words(y.guidance_rate, "なし（保健指導の対象者がいません）")
                )
            })
            .collect::<Vec<_>>()
            .join("。");
        let mut rule_sets: Vec<&str> = years.iter().map(|y| y.rule_set.as_str()).collect();
        rule_sets.dedup();
        ConsoleProgramme {
            who,
            csrf,
            rule_sets: rule_sets.join("、"),
            chart,
            summary: format!("{summary}。"),
            rows: years
                .iter()
                .zip(names)
                .map(|(y, year)| ProgrammeRow {
                    year,
                    fiscal_year: y.fiscal_year,
                    cells: vec![
                        y.eligible.to_string(),
                        y.examined.to_string(),
                        rate_text(y.examination_rate),
                        y.active.to_string(),
                        y.motivational.to_string(),
                        y.undeterminable.to_string(),
                        y.referrals.to_string(),
                        y.started.to_string(),
                        y.completed.to_string(),
                        y.dropped_out.to_string(),
                        rate_text(y.guidance_rate),
                        y.metabolic.to_string(),
                        y.metabolic_reserve.to_string(),
                    ],
                })
                .collect(),
        }
    }
}

/// One of an insurer's programme lists of a fiscal year: the guidance targets with the
/// guidance recorded, or the people to refer to a doctor, a page at a time.
#[derive(Template)]
#[template(path = "console_programme_people.html")]
pub struct ConsoleProgrammePeople {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// 年度.
    pub fiscal_year: i32,
    /// `targets` or `referrals`.
    pub list: String,
    /// The list's name (保健指導対象者, 受診勧奨対象者), with the status it is narrowed to.
    pub title: String,
    /// The status the list of targets is narrowed to (its wire name), or empty.
    pub status: String,
    /// The filters of the list of targets: (label, address, whether it is this page's).
    pub filters: Vec<(String, String, bool)>,
    /// How many the programme counts on the list (over all pages; without a status only).
    pub total: Option<i64>,
    /// The CSV of the whole (narrowed) list.
    pub csv: String,
    /// This page's people, each as its cells in the table's column order.
    pub rows: Vec<Vec<String>>,
    /// The link to the next page, when there is one.
    pub next: Option<String>,
}

/// A guidance step's cell: its date, or 未 when not recorded.
fn step_text(date: Option<&String>) -> String {
    date.map_or_else(|| "未".to_owned(), |d| d.clone())
}

impl ConsoleProgrammePeople {
    /// The page of `page` (of fiscal year `page.fiscal_year`), on whose whole list the
    /// programme counts `total` people (shown for a list not narrowed by status).
    pub fn new(
        who: String,
        csrf: String,
        page: &onshi_api::ProgrammeListPage,
        total: Option<i64>,
    ) -> Self {
        const STATUSES: [(&str, &str); 4] = [
            ("not_started", "未実施"),
            ("in_progress", "実施中"),
            ("completed", "終了"),
            ("dropped_out", "脱落"),
        ];
        let status = page.status.clone().unwrap_or_default();
        let status_name = STATUSES.iter().find(|(s, _)| *s == status).map(|(_, n)| *n);
        let mut title = if page.list == "referrals" {
            "受診勧奨対象者".to_owned()
        } else {
            "保健指導対象者".to_owned()
        };
        if let Some(name) = status_name {
            title.push_str(&format!("（{name}）"));
        }
        let base = format!(
            "/console/programme/people?year={}&list={}",
            page.fiscal_year, page.list
        );
        let filters = if page.list == "targets" {
            std::iter::once(("すべて", ""))
                .chain(STATUSES.iter().map(|(s, n)| (*n, *s)))
                .map(|(label, s)| {
                    let href = if s.is_empty() {
                        base.clone()
                    } else {
                        format!("{base}&status={s}")
                    };
                    (label.to_owned(), href, s == status)
                })
                .collect()
        } else {
            Vec::new()
        };
        let with_status = if status.is_empty() {
            String::new()
        } else {
            format!("&status={status}")
        };
        let rows = page
            .items
            .iter()
            .map(|p| {
                vec![
                    format!("{} {}-{}", p.symbol, p.number, p.branch),
                    p.name.clone(),
                    p.name_kana.clone(),
                    p.birth_date.clone(),
                    match p.sex {
                        1 => "男",
                        2 => "女",
                        _ => "–",
                    }
                    .to_owned(),
                    p.employer.clone().unwrap_or_else(|| "–".into()),
                    p.exam_date.clone(),
                    p.guidance_level_name.clone().unwrap_or_else(|| "–".into()),
                    if p.referral { "要" } else { "–" }.to_owned(),
                    step_text(p.first_interview.as_ref()),
                    step_text(p.completed.as_ref()),
                    step_text(p.dropped_out.as_ref()),
                ]
            })
            .collect();
        ConsoleProgrammePeople {
            who,
            csrf,
            fiscal_year: page.fiscal_year,
            list: page.list.clone(),
            title,
            total: total.filter(|_| status_name.is_none()),
            csv: format!(
                "/console/programme/people.csv?year={}&list={}{with_status}",
                page.fiscal_year, page.list
            ),
            status,
            filters,
            rows,
            next: page
                .next_after
                .as_ref()
                .map(|a| format!("{base}{with_status}&after={a}")),
        }
    }
}

#[cfg(test)]
mod programme_tests {
    use super::*;

    fn year(
        fiscal_year: i32,
        eligible: i64,
        examined: i64,
        active: i64,
        completed: i64,
    ) -> onshi_api::ProgrammeSummary {
        onshi_api::ProgrammeSummary {
            fiscal_year,
            rule_set: if fiscal_year >= 2024 {
                "tokutei-4.1"
            } else {
                "tokutei-3.1"
            }
            .into(),
            eligible,
            examined,
            examination_rate: onshi_api::percent(examined, eligible),
            active,
            motivational: 0,
            undeterminable: 0,
            referrals: 1,
            metabolic: 0,
            metabolic_reserve: 0,
            started: completed,
            completed,
            dropped_out: 0,
            guidance_rate: onshi_api::percent(completed, active),
        }
    }

    #[test]
    fn the_programme_page_shows_each_year_its_rates_and_their_chart() {
        let page = ConsoleProgramme::new(
            "tanaka".into(),
            "token".into(),
            &[
                year(2022, 0, 0, 0, 0),
                year(2023, 3, 2, 1, 0),
                year(2024, 8, 6, 2, 1),
            ],
        );
        let html = page.render().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(html.matches("<tr><th scope=\"row\">").count(), 3);
        assert!(html.contains("<th scope=\"row\">2023年度</th><td class=\"num\">3</td><td class=\"num\">2</td><td class=\"num\">66.7%</td>"), "{html}");
        assert!(
            html.contains("<td class=\"num\">75.0%</td>")
                && html.contains("<td class=\"num\">50.0%</td>")
        );
        // No one eligible in 2022: no rate, no bar, and the sentence says so.
        assert!(html.contains("<th scope=\"row\">2022年度</th><td class=\"num\">0</td><td class=\"num\">0</td><td class=\"num\">–</td>"));
        assert!(
            html.contains("2022年度は特定健診実施率なし（対象者がいません）、特定保健指導実施率なし（保健指導の対象者がいません）"),
            "{html}"
        );
        assert!(html.contains("2024年度は特定健診実施率75.0%、特定保健指導実施率50.0%"));
        assert!(html.contains("<svg aria-hidden=\"true\""));
        assert!(html.contains("判定基準 tokutei-3.1、tokutei-4.1"), "{html}");
        assert!(
            html.contains("href=\"/console/programme\""),
            "in the console's navigation"
        );
    }

    fn person(
        number: &str,
        name: &str,
        first_interview: Option<&str>,
    ) -> onshi_api::ProgrammeListPerson {
        onshi_api::ProgrammeListPerson {
            member_id: format!("m-{number}"),
            symbol: "10".into(),
            number: number.into(),
            branch: "00".into(),
            name: name.into(),
            name_kana: "シケン".into(),
            birth_date: "1970-01-01".into(),
            sex: 2,
            employer: None,
            exam_date: "2024-05-20".into(),
            guidance_level: Some("2".into()),
            guidance_level_name: Some("動機付け支援".into()),
            metabolic: Some("2".into()),
            referral: false,
            first_interview: first_interview.map(str::to_owned),
            completed: None,
            dropped_out: None,
        }
    }

    #[test]
    fn a_programme_list_shows_each_person_their_steps_and_the_next_page() {
        let page = ConsoleProgrammePeople::new(
            "tanaka".into(),
            "token".into(),
            &onshi_api::ProgrammeListPage {
                fiscal_year: 2024,
                list: "targets".into(),
                status: None,
                items: vec![
                    person("1", "<b>試験</b> 花子", Some("2024-07-01")),
                    person("2", "試験 月子", None),
                ],
                next_after: Some("m-2".into()),
            },
            Some(3),
        );
        let html = page.render().unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("2024年度 保健指導対象者"), "{html}");
        assert!(html.contains("（3人）"), "{html}");
        assert!(
            html.contains(
                "<th scope=\"row\">10 1-00</th><td>&#60;b&#62;試験&#60;/b&#62; 花子</td>"
            ),
            "a name is text, never markup: {html}"
        );
        assert!(html.contains("<td>女</td><td>–</td><td>2024-05-20</td><td>動機付け支援</td><td>–</td><td>2024-07-01</td><td>未</td><td>未</td>"), "{html}");
        assert!(
            html.contains("<td>動機付け支援</td><td>–</td><td>未</td><td>未</td><td>未</td>"),
            "{html}"
        );
        assert!(
            html.contains(
                "href=\"/console/programme/people?year=2024&#38;list=targets&#38;after=m-2\""
            ),
            "{html}"
        );
        assert!(
            html.contains("/console/programme/people.csv?year=2024&#38;list=targets\""),
            "{html}"
        );
        assert!(
            html.contains("<strong aria-current=\"page\">すべて</strong>")
                && html.contains("href=\"/console/programme/people?year=2024&#38;list=targets&#38;status=not_started\">未実施</a>"),
            "the status filters: {html}"
        );

        // Narrowed to those not started: no total, the filter marked, the links keep it.
        let narrowed = ConsoleProgrammePeople::new(
            "tanaka".into(),
            "token".into(),
            &onshi_api::ProgrammeListPage {
                fiscal_year: 2024,
                list: "targets".into(),
                status: Some("not_started".into()),
                items: vec![person("2", "試験 月子", None)],
                next_after: Some("m-2".into()),
            },
            Some(3),
        );
        let html = narrowed.render().unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("2024年度 保健指導対象者（未実施）"), "{html}");
        assert!(!html.contains("（3人）"), "{html}");
        assert!(
            html.contains("<strong aria-current=\"page\">未実施</strong>"),
            "{html}"
        );
        assert!(
            html.contains(
                "people?year=2024&#38;list=targets&#38;status=not_started&#38;after=m-2\""
            ),
            "{html}"
        );
        assert!(
            html.contains("people.csv?year=2024&#38;list=targets&#38;status=not_started\""),
            "{html}"
        );

        let empty = ConsoleProgrammePeople::new(
            "tanaka".into(),
            "token".into(),
            &onshi_api::ProgrammeListPage {
                fiscal_year: 2023,
                list: "referrals".into(),
                status: None,
                items: Vec::new(),
                next_after: None,
            },
            Some(0),
        );
        let html = empty.render().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            html.contains("この年度の受診勧奨対象者はいません。"),
            "{html}"
        );
        assert!(!html.contains("次のページ"));
    }
}

/// An insurer's scoring report page.
#[derive(Template)]
#[template(path = "console_report.html")]
pub struct ConsoleReport {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// 年度.
    pub fiscal_year: i32,
    /// The insurer's number.
    pub insurer: String,
    /// Its kind.
    pub kind: String,
    /// People.
    pub people: i64,
    /// The rule set.
    pub rule_set: String,
    /// The habits' radar, when every habit is shown.
    pub radar: Option<String>,
    /// The radar in a sentence, or why there is none.
    pub radar_summary: String,
    /// (indicator, cells as shown).
    pub rows: Vec<(String, Vec<String>)>,
    /// (rate, cells as shown): rate, kind, all, relative, ranks, grade, people to the next.
    pub rates: Vec<(String, Vec<String>)>,
    /// The grade rule.
    pub grade_rule: String,
    /// Medical cost per member: own, kind, all, relative; `None` without data.
    pub medical_cost: Option<Vec<String>>,
    /// Shown in the insurer's console; else an employer's report on the employer's pages.
    pub console: bool,
}

impl ConsoleReport {
    /// The employer's report page (事業主単位): compared with its industry and all workplaces.
    pub fn for_employer(who: String, csrf: String, report: &onshi_api::ScoringReport) -> Self {
        let mut page = Self::new(who, csrf, report);
        page.console = false;
        page
    }

    /// The page of `report` for `who`.
    pub fn new(who: String, csrf: String, report: &onshi_api::ScoringReport) -> Self {
        let number = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"));
        let habits: Vec<&onshi_api::ScoringRow> =
            report.rows.iter().filter(|r| r.higher_is_better).collect();
        let own: Option<Vec<f64>> = habits.iter().map(|r| r.own.percent).collect();
        let national: Option<Vec<f64>> = habits.iter().map(|r| r.national.percent).collect();
        let (radar, radar_summary) = match (own, national) {
            (Some(own), Some(national)) if habits.len() >= 3 => {
                let axes: Vec<String> = habits.iter().map(|r| r.indicator.clone()).collect();
                let svg = chart::radar_svg(
                    &axes,
                    100.0,
                    &[
                        chart::RadarSeries {
                            values: own.clone(),
                            dashed: false,
                            dotted: false,
                        },
                        chart::RadarSeries {
                            values: national.clone(),
                            dashed: true,
                            dotted: false,
                        },
                    ],
                )
                .ok();
                let words: Vec<String> = axes
                    .iter()
                    .zip(own.iter().zip(&national))
                    .map(|(a, (o, n))| format!("{a} {o:.1}%（全保険者 {n:.1}%）"))
                    .collect();
                (
                    svg,
                    format!(
                        "実線が自保険者、破線が全保険者の平均。{}。",
                        words.join("、")
                    ),
                )
            }
            _ => (
                None,
                "生活習慣の図は、伏せた値か求められない値があるため表示しません。".to_owned(),
            ),
        };
        ConsoleReport {
            who,
            csrf,
            fiscal_year: report.fiscal_year,
            insurer: report.insurer.clone(),
            kind: report.kind.clone(),
            people: report.people,
            rule_set: report.rule_set.clone(),
            radar,
            radar_summary,
            console: true,
            grade_rule: report.grade_rule.clone(),
            medical_cost: report.medical_cost.as_ref().map(|c| {
                vec![
                    c.own.shown.clone(),
                    c.kind_average.shown.clone(),
                    c.national.shown.clone(),
                    number(c.relative),
                ]
            }),
            rates: report
                .rates
                .iter()
                .map(|r| {
                    let rank = |r: Option<onshi_api::RankFigure>| {
                        r.map_or_else(|| "–".to_owned(), |r| format!("{}位／{}", r.position, r.of))
                    };
                    (
                        r.rate.clone(),
                        vec![
                            r.own.shown.clone(),
                            r.kind_average.shown.clone(),
                            r.national.shown.clone(),
                            number(r.relative),
                            rank(r.rank_all),
                            rank(r.rank_kind),
                            r.grade.map_or_else(|| "–".to_owned(), |g| g.to_string()),
                            match (r.grade, r.to_next_grade) {
                                (Some(5), _) => "最上位".to_owned(),
                                (_, Some(n)) => format!("あと{n}人"),
                                _ => "–".to_owned(),
                            },
                        ],
                    )
                })
                .collect(),
            rows: report
                .rows
                .iter()
                .map(|r| {
                    (
                        r.indicator.clone(),
                        vec![
                            r.own.shown.clone(),
                            r.adjusted
                                .map_or_else(|| "–".to_owned(), |v| format!("{v:.1}%")),
                            r.kind_average.shown.clone(),
                            r.national.shown.clone(),
                            number(r.relative),
                        ],
                    )
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod report_tests {
    use super::*;

    fn report(masked_sleep: bool) -> onshi_api::ScoringReport {
        let figure = |p: Option<f64>| onshi_api::ReportFigure {
            shown: p.map_or_else(|| "×".to_owned(), |p| format!("{p:.1}%")),
            percent: p,
        };
        let rows = [
            ("肥満", false),
            ("血圧", false),
            ("喫煙", true),
            ("運動", true),
            ("睡眠", true),
        ]
        .iter()
        .map(|(name, good)| onshi_api::ScoringRow {
            indicator: (*name).into(),
            higher_is_better: *good,
            own: figure(if masked_sleep && *name == "睡眠" {
                None
            } else {
                Some(40.0)
            }),
            adjusted: Some(41.2),
            kind_average: figure(Some(35.0)),
            national: figure(Some(50.0)),
            relative: Some(80.0),
        })
        .collect();
        onshi_api::ScoringReport {
            fiscal_year: 2025,
            insurer: "06000001".into(),
            kind: "健康保険組合".into(),
            people: 812,
            rule_set: "tokutei-4.1".into(),
            rows,
            rates: vec![onshi_api::RateRow {
                rate: "特定健診実施率".into(),
                own: figure(Some(71.5)),
                kind_average: figure(Some(80.2)),
                national: figure(Some(60.0)),
                relative: Some(119.2),
                rank_all: Some(onshi_api::RankFigure {
                    position: 95,
                    of: 1378,
                }),
                rank_kind: Some(onshi_api::RankFigure {
                    position: 12,
                    of: 255,
                }),
                grade: Some(4),
                to_next_grade: Some(37),
            }],
            grade_rule: "onshi-grade-1".into(),
            medical_cost: (!masked_sleep).then(|| onshi_api::MedicalCostRow {
                own: onshi_api::CostFigure {
                    shown: "185,000円".into(),
                    yen: Some(185_000),
                },
                kind_average: onshi_api::CostFigure {
                    shown: "170,000円".into(),
                    yen: Some(170_000),
                },
                national: onshi_api::CostFigure {
                    shown: "×".into(),
                    yen: None,
                },
                relative: None,
            }),
        }
    }

    #[test]
    fn the_report_page_draws_the_habits_radar_only_when_every_habit_is_shown() {
        let html = ConsoleReport::new("tanaka".into(), "t".into(), &report(false))
            .render()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("<figure class=\"chart\""), "{html}");
        assert!(html.contains("<polygon"), "a radar");
        assert!(html.contains("喫煙 40.0%（全保険者 50.0%）"), "{html}");
        assert!(html.contains("<th scope=\"row\">肥満</th><td class=\"num\">40.0%</td><td class=\"num\">41.2%</td><td class=\"num\">35.0%</td><td class=\"num\">50.0%</td><td class=\"num\">80.0</td>"), "{html}");
        assert!(html.contains("/console/report.csv?year=2025"));
        assert!(html.contains("<th scope=\"row\">特定健診実施率</th><td class=\"num\">71.5%</td><td class=\"num\">80.2%</td><td class=\"num\">60.0%</td><td class=\"num\">119.2</td><td class=\"num\">95位／1378</td><td class=\"num\">12位／255</td><td class=\"num\">4</td><td class=\"num\">あと37人</td>"), "{html}");
        assert!(html.contains("評価基準 onshi-grade-1"));
        assert!(html.contains("<th scope=\"row\">1人当たり医療費</th><td class=\"num\">185,000円</td><td class=\"num\">170,000円</td><td class=\"num\">×</td><td class=\"num\">–</td>"), "{html}");
        let masked = ConsoleReport::new("tanaka".into(), "t".into(), &report(true))
            .render()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!masked.contains("<figure class=\"chart\""));
        assert!(
            masked.contains("生活習慣の図は、伏せた値か求められない値があるため表示しません。")
        );
        assert!(masked.contains("<th scope=\"row\">睡眠</th><td class=\"num\">×</td>"));
        assert!(masked.contains("医療費のデータはありません"), "{masked}");
    }
}

/// The operator's national aggregates (全国集計) of a fiscal year.
#[derive(Template)]
#[template(path = "operator_reports.html")]
pub struct OperatorReports {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// 年度.
    pub fiscal_year: i32,
    /// Insurers.
    pub insurers: usize,
    /// People.
    pub people: i64,
    /// Kinds, as column heads.
    pub kinds: Vec<String>,
    /// National shares of the indicators as bars.
    pub chart: String,
    /// The chart in words.
    pub summary: String,
    /// (figure, cells: per kind, then all insurers).
    pub rows: Vec<(String, Vec<String>)>,
    /// (rate, insurers at grades 1–5).
    pub grades: Vec<(String, Vec<usize>)>,
}

impl OperatorReports {
    /// The page of `report` for `who`.
    pub fn new(who: String, csrf: String, report: &onshi_api::NationalReport) -> Self {
        let chart = chart::bars_svg(&chart::Bars {
            categories: report.rows.iter().map(|r| r.indicator.clone()).collect(),
            names: vec!["全保険者".into()],
            values: vec![report.rows.iter().map(|r| r.national.percent).collect()],
            stacked: false,
            max: Some(100.0),
        })
        .unwrap_or_default();
        let summary = report
            .rows
            .iter()
            .map(|r| format!("{} {}", r.indicator, r.national.shown))
            .collect::<Vec<_>>()
            .join("、");
        OperatorReports {
            who,
            csrf,
            fiscal_year: report.fiscal_year,
            insurers: report.insurers,
            people: report.people,
            kinds: report.kinds.clone(),
            chart,
            summary: format!("全保険者の割合: {summary}。"),
            rows: report
                .rates
                .iter()
                .chain(&report.rows)
                .map(|r| {
                    let mut cells: Vec<String> =
                        r.by_kind.iter().map(|f| f.shown.clone()).collect();
                    cells.push(r.national.shown.clone());
                    (r.indicator.clone(), cells)
                })
                .collect(),
            grades: report
                .rates
                .iter()
                .zip(&report.grades)
                .map(|(r, g)| (r.indicator.clone(), g.to_vec()))
                .collect(),
        }
    }
}

/// A workplace's health sheet (事業所カルテ), for its own staff or its insurer's.
#[derive(Template)]
#[template(path = "workplace_sheet.html")]
pub struct WorkplaceSheetPage {
    /// The signed-in staff member, as shown.
    pub who: String,
    /// The logout form's CSRF token.
    pub csrf: String,
    /// Shown in the insurer's console (else the employer's pages).
    pub console: bool,
    /// 事業所コード.
    pub employer: String,
    /// The insurer.
    pub insurer: String,
    /// The industry, or "未登録".
    pub industry: String,
    /// The years in words.
    pub years_text: String,
    /// The years.
    pub years: Vec<i32>,
    /// The last year.
    pub last_year: i32,
    /// People per year, as shown.
    pub people: Vec<String>,
    /// The habits' radar of the last year, when every value is shown.
    pub radar: Option<String>,
    /// The radar in words, or why there is none.
    pub radar_summary: String,
    /// (indicator, cells: per year, own, industry, all).
    pub rows: Vec<(String, Vec<String>)>,
}

impl WorkplaceSheetPage {
    /// The page of `sheet`.
    pub fn new(
        who: String,
        csrf: String,
        console: bool,
        sheet: &onshi_api::WorkplaceSheet,
    ) -> Self {
        let last = sheet.years.len().saturating_sub(1);
        let habits: Vec<&onshi_api::WorkplaceRow> =
            sheet.rows.iter().filter(|r| r.higher_is_better).collect();
        let column = |pick: fn(&onshi_api::WorkplaceRow) -> &Vec<onshi_api::ReportFigure>| -> Option<Vec<f64>> {
            habits.iter().map(|r| pick(r).get(last).and_then(|f| f.percent)).collect()
        };
        let (own, industry, all) = (
            column(|r| &r.own),
            column(|r| &r.industry_average),
            column(|r| &r.all_workplaces),
        );
        let (radar, radar_summary) = match (own, industry, all) {
            (Some(own), Some(industry), Some(all)) if habits.len() >= 3 => {
                let axes: Vec<String> = habits.iter().map(|r| r.indicator.clone()).collect();
                let series = |values: &Vec<f64>, dashed: bool, dotted: bool| chart::RadarSeries {
                    values: values.clone(),
                    dashed,
                    dotted,
                };
                let svg = chart::radar_svg(
                    &axes,
                    100.0,
                    &[
                        series(&own, false, false),
                        series(&industry, true, false),
                        series(&all, false, true),
                    ],
                )
                .ok();
                let words: Vec<String> = axes
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        format!(
                            "{a} {:.1}%（同業態 {:.1}%、全事業所 {:.1}%）",
                            own[i], industry[i], all[i]
                        )
                    })
                    .collect();
                (
                    svg,
                    format!(
                        "実線が事業所、破線が同業態、点線が全事業所の平均。{}。",
                        words.join("、")
                    ),
                )
            }
            _ => (
                None,
                "生活習慣の図は、伏せた値か求められない値があるため表示しません。".to_owned(),
            ),
        };
        let years_text = match (sheet.years.first(), sheet.years.last()) {
            (Some(a), Some(b)) => format!("{a}〜{b}年度"),
            _ => String::new(),
        };
        WorkplaceSheetPage {
            who,
            csrf,
            console,
            employer: sheet.employer.clone(),
            insurer: sheet.insurer.clone(),
            industry: sheet.industry.clone().unwrap_or_else(|| "未登録".into()),
            years_text,
            years: sheet.years.clone(),
            last_year: sheet.years.last().copied().unwrap_or_default(),
            people: sheet.people.iter().map(|p| format!("{p}人")).collect(),
            radar,
            radar_summary,
            rows: sheet
                .rows
                .iter()
                .map(|r| {
                    let cells = (0..sheet.years.len())
                        .flat_map(|y| {
                            [&r.own, &r.industry_average, &r.all_workplaces].map(|c| {
                                c.get(y).map_or_else(|| "–".to_owned(), |f| f.shown.clone())
                            })
                        })
                        .collect();
                    (r.indicator.clone(), cells)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod sheet_tests {
    use super::*;

    #[test]
    fn a_workplace_sheet_shows_three_years_and_a_radar_against_two_averages() {
        let f = |p: f64| onshi_api::ReportFigure {
            shown: format!("{p:.1}%"),
            percent: Some(p),
        };
        let rows = ["肥満", "喫煙", "運動", "睡眠"]
            .iter()
            .map(|name| onshi_api::WorkplaceRow {
                indicator: (*name).into(),
                higher_is_better: *name != "肥満",
                own: vec![f(10.0), f(11.0), f(12.0)],
                industry_average: vec![f(20.0), f(21.0), f(22.0)],
                all_workplaces: vec![f(30.0), f(31.0), f(32.0)],
            })
            .collect();
        let sheet = onshi_api::WorkplaceSheet {
            insurer: "01130012".into(),
            employer: "1001".into(),
            industry: Some("製造業".into()),
            years: vec![2023, 2024, 2025],
            people: vec![120, 118, 125],
            rows,
        };
        let html = WorkplaceSheetPage::new("sato".into(), "t".into(), false, &sheet)
            .render()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("<th scope=\"row\">肥満</th><td class=\"num\">10.0%</td><td class=\"num\">20.0%</td><td class=\"num\">30.0%</td><td class=\"num\">11.0%</td>"), "{html}");
        assert_eq!(
            html.matches("<polygon").count(),
            5 + 3,
            "rings and three series"
        );
        assert!(
            html.contains("stroke-dasharray=\"2 3\""),
            "all workplaces dotted"
        );
        assert!(
            html.contains("喫煙 12.0%（同業態 22.0%、全事業所 32.0%）"),
            "{html}"
        );
        assert!(
            html.contains("href=\"/employer/sheet\""),
            "the employer's navigation"
        );
    }
}

//! The insurer's programme (特定健診・特定保健指導) for a fiscal year: its counts and the two
//! national rates, and the guidance events an insurer records.

use serde::{Deserialize, Serialize};

/// `GET /v1/programme/{fiscal_year}`: an insurer's counts and rates for one fiscal year. No
/// personal data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgrammeSummary {
    /// 年度 (April to March).
    pub fiscal_year: i32,
    /// The rule set that judged the year's checkups (`tokutei-4.1`, …).
    pub rule_set: String,
    /// Members aged 40–74 at the end of the fiscal year who were members for all of it
    /// (対象者数, the denominator of 特定健診実施率).
    pub eligible: i64,
    /// Those of them examined in the year (受診者数).
    pub examined: i64,
    /// 特定健診実施率, percent to one decimal (`null` when nobody is eligible).
    pub examination_rate: Option<f64>,
    /// Examined members whose latest checkup gives 積極的支援.
    pub active: i64,
    /// … 動機付け支援.
    pub motivational: i64,
    /// … 判定不能 (a missing item decides).
    pub undeterminable: i64,
    /// Examined members with an item at or past its 受診勧奨判定値 (to see a doctor).
    pub referrals: i64,
    /// メタボリックシンドローム基準該当.
    pub metabolic: i64,
    /// メタボリックシンドローム予備群該当.
    pub metabolic_reserve: i64,
    /// Targets whose guidance had its first interview (初回面接).
    pub started: i64,
    /// Targets whose guidance was completed (終了者数).
    pub completed: i64,
    /// Targets who dropped out (脱落).
    pub dropped_out: i64,
    /// 特定保健指導実施率: completed ÷ targets (積極的 + 動機付け), percent to one decimal
    /// (`null` when there are no targets).
    pub guidance_rate: Option<f64>,
}

/// `n` of `d` as a percentage to one decimal, or `None` when `d` is 0.
pub fn percent(n: i64, d: i64) -> Option<f64> {
    if d <= 0 {
        return None;
    }
    // Integer arithmetic to the tenth, rounded half up, so 2 of 3 is 66.7 on every platform.
    let tenths = (n * 2000 + d) / (2 * d);
    Some(tenths as f64 / 10.0)
}

/// The body of `POST /v1/guidance-events`: one step of your member's specific health guidance.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GuidanceEventBody {
    /// The fiscal year whose checkup made the member a target.
    pub fiscal_year: i32,
    /// 記号 of the member's card.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// `first_interview` (初回面接), `completed` (終了) or `dropped_out` (脱落).
    pub event: String,
    /// When (YYYY-MM-DD, Japan date), within the fiscal year or the next.
    pub date: String,
}

/// One member on a programme list of `GET /v1/programme/{fiscal_year}/people`: who they are,
/// their latest checkup of the year as judged, and the guidance recorded for the year.
/// Personal data: each read is audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgrammeListPerson {
    /// The member's id (the `after` of a next page).
    pub member_id: String,
    /// 記号.
    pub symbol: String,
    /// 番号.
    pub number: String,
    /// 枝番.
    pub branch: String,
    /// 氏名.
    pub name: String,
    /// 氏名（カナ）.
    pub name_kana: String,
    /// 生年月日 (YYYY-MM-DD).
    pub birth_date: String,
    /// 1 male, 2 female.
    pub sex: u8,
    /// 事業所コード, for a member recorded with a workplace.
    pub employer: Option<String>,
    /// The exam date of the latest checkup of the year (YYYY-MM-DD).
    pub exam_date: String,
    /// Its 保健指導レベル as the code of 9N506 (1 積極的支援, 2 動機付け支援, 3 情報提供,
    /// 4 判定不能).
    pub guidance_level: Option<String>,
    /// The same in words.
    pub guidance_level_name: Option<String>,
    /// Its メタボリックシンドローム判定 as the code of 9N501 (1 基準該当, 2 予備群該当,
    /// 3 非該当, 4 判定不能).
    pub metabolic: Option<String>,
    /// Whether an item is at or past its 受診勧奨判定値 (to see a doctor).
    pub referral: bool,
    /// 初回面接, when recorded (YYYY-MM-DD).
    pub first_interview: Option<String>,
    /// 終了 (the final evaluation), when recorded.
    pub completed: Option<String>,
    /// 脱落, when recorded.
    pub dropped_out: Option<String>,
}

/// `GET /v1/programme/{fiscal_year}/people`: a page of a programme list, in card-key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProgrammeListPage {
    /// 年度.
    pub fiscal_year: i32,
    /// `targets` (特定保健指導対象者: 積極的 and 動機付け支援) or `referrals` (受診勧奨).
    pub list: String,
    /// The guidance status the list of targets was narrowed to (`not_started`,
    /// `in_progress`, `completed`, `dropped_out`), if any.
    pub status: Option<String>,
    /// The people (as many as the summary counts, over all pages).
    pub items: Vec<ProgrammeListPerson>,
    /// Pass as `after` for the next page; absent on the last.
    pub next_after: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_round_half_up_to_a_tenth() {
        assert_eq!(percent(2, 3), Some(66.7));
        assert_eq!(percent(1, 3), Some(33.3));
        assert_eq!(percent(1, 8), Some(12.5));
        assert_eq!(percent(1, 16), Some(6.3)); // 6.25
        assert_eq!(percent(0, 5), Some(0.0));
        assert_eq!(percent(5, 5), Some(100.0));
        assert_eq!(percent(1, 0), None);
    }
}

/// What an insurer's small CSV (guidance events, medical costs) recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CsvReceipt {
    /// The file, as named in the URL.
    pub file: String,
    /// Events recorded (each audited with its member).
    pub recorded: usize,
}

/// A published figure of a report: as printed, and its share when it is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportFigure {
    /// `12.3%`, `×` (masked: too few people, or masked so that another cannot be recovered) or
    /// `–` (nobody to count).
    pub shown: String,
    /// The share in percent, when shown.
    pub percent: Option<f64>,
}

/// One indicator of a scoring report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScoringRow {
    /// The indicator's name (肥満, 血圧, …, 喫煙, 運動, …).
    pub indicator: String,
    /// Whether a higher share is better (a good habit) rather than worse (a risk).
    pub higher_is_better: bool,
    /// The insurer's share.
    pub own: ReportFigure,
    /// Its age- and sex-adjusted share, when shown.
    pub adjusted: Option<f64>,
    /// The average of insurers of the same kind.
    pub kind_average: ReportFigure,
    /// The average of all insurers.
    pub national: ReportFigure,
    /// The share relative to all insurers' (= 100), when both are shown.
    pub relative: Option<f64>,
}

/// An insurer's scoring report (健康スコアリングレポート) for a fiscal year: published (masked)
/// figures only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScoringReport {
    /// 年度.
    pub fiscal_year: i32,
    /// The insurer.
    pub insurer: String,
    /// Its kind, in Japanese (the comparison group).
    pub kind: String,
    /// The people its figures are built from (a judged checkup, aged 40–74).
    pub people: i64,
    /// The rule set that judged the checkups.
    pub rule_set: String,
    /// Per indicator: risks, then habits.
    pub rows: Vec<ScoringRow>,
    /// The implementation rates (特定健診実施率, 特定保健指導実施率) with ranks and grades; an
    /// employer's report has none (employers are not ranked).
    pub rates: Vec<RateRow>,
    /// The rule that turned ranks into grades.
    pub grade_rule: String,
    /// Medical cost per member, when the insurer imported it for the year.
    pub medical_cost: Option<MedicalCostRow>,
}

/// An amount of a report: as printed, and its yen when shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CostFigure {
    /// `185,000円`, `×` (under 50 members, or an average of fewer than three insurers) or `–`.
    pub shown: String,
    /// Yen, when shown.
    pub yen: Option<i64>,
}

/// Medical cost per member (1人当たり医療費) against the averages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MedicalCostRow {
    /// The insurer's.
    pub own: CostFigure,
    /// Its kind's member-weighted average.
    pub kind_average: CostFigure,
    /// All insurers'.
    pub national: CostFigure,
    /// Relative to all insurers (= 100), when both are shown.
    pub relative: Option<f64>,
}

/// A place in a ranking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RankFigure {
    /// 1 = the highest rate; equal rates share a place.
    pub position: usize,
    /// How many insurers were ranked (those whose own rate is shown).
    pub of: usize,
}

/// One implementation rate of a scoring report, with where the insurer stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RateRow {
    /// 特定健診実施率 or 特定保健指導実施率.
    pub rate: String,
    /// The insurer's rate.
    pub own: ReportFigure,
    /// The rate of insurers of its kind together.
    pub kind_average: ReportFigure,
    /// The rate of all insurers together.
    pub national: ReportFigure,
    /// Relative to all insurers (= 100), when both are shown.
    pub relative: Option<f64>,
    /// Its place among all insurers, when its rate is shown.
    pub rank_all: Option<RankFigure>,
    /// Its place among insurers of its kind.
    pub rank_kind: Option<RankFigure>,
    /// 5段階評価 (5 best), when graded (five or more insurers ranked).
    pub grade: Option<u8>,
    /// How many more people (examined, or completing guidance) would lift it to the next
    /// grade (ランクUP), below grade 5.
    pub to_next_grade: Option<i64>,
}

/// One indicator of a workplace's sheet over the years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkplaceRow {
    /// The indicator's name.
    pub indicator: String,
    /// Whether a higher share is better.
    pub higher_is_better: bool,
    /// The workplace's share, per year (oldest first).
    pub own: Vec<ReportFigure>,
    /// Its industry's, per year.
    pub industry_average: Vec<ReportFigure>,
    /// All workplaces', per year.
    pub all_workplaces: Vec<ReportFigure>,
}

/// A workplace's health sheet (事業所カルテ): published (masked) figures of the last fiscal
/// years.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkplaceSheet {
    /// The insurer.
    pub insurer: String,
    /// 事業所コード.
    pub employer: String,
    /// Its industry, in Japanese (when registered).
    pub industry: Option<String>,
    /// The fiscal years, oldest first.
    pub years: Vec<i32>,
    /// The people its figures are built from, per year.
    pub people: Vec<i64>,
    /// Per indicator: risks, then habits.
    pub rows: Vec<WorkplaceRow>,
}

/// One indicator across the country: each insurer kind's pooled share and all insurers'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NationalRow {
    /// The indicator (or rate) name.
    pub indicator: String,
    /// Per kind, in [`NationalReport::kinds`] order.
    pub by_kind: Vec<ReportFigure>,
    /// All insurers.
    pub national: ReportFigure,
}

/// The operator's national aggregates of a fiscal year (全国集計): every figure as masking
/// published it for the insurers' reports, by insurer kind and in total, and how the
/// implementation rates' grades fall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NationalReport {
    /// 年度.
    pub fiscal_year: i32,
    /// Insurers with people in the figures.
    pub insurers: usize,
    /// People (a judged checkup, aged 40–74).
    pub people: i64,
    /// Insurer kinds, in Japanese.
    pub kinds: Vec<String>,
    /// 特定健診実施率 and 特定保健指導実施率.
    pub rates: Vec<NationalRow>,
    /// Insurers at each grade (1 to 5) of each rate, in `rates` order.
    pub grades: Vec<[usize; 5]>,
    /// The 13 indicators.
    pub rows: Vec<NationalRow>,
}

/// A group of an insurer's small workplaces merged for an employer report (合算).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WorkplaceGroupBody {
    /// What the insurer calls it.
    pub name: String,
    /// Its workplaces' 事業所コード (two or more, registered employers of the insurer).
    pub employers: Vec<String>,
}

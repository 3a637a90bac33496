//! The unit the scoring reports are counted in: people of one insurer, workplace, sex and
//! five-year age band with a judged checkup in a fiscal year, and per report indicator how
//! many have it known and present. The store keeps them (`onshi-store/src/reports.rs`); the
//! engine masks and publishes them (`onshi-checkup/src/scoring.rs`). Counts only: no person
//! can be read from one.

/// People of one insurer, workplace, sex and age band with a judged checkup in a fiscal year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportCell {
    /// The insurer's number.
    pub insurer: String,
    /// The workplace's 事業所コード, or `None` for members recorded with none.
    pub employer: Option<String>,
    /// 1 male, 2 female.
    pub sex: u8,
    /// 0 for 40–44, 1 for 45–49, … 6 for 70–74 (age at the end of the fiscal year).
    pub age_band: u8,
    /// How many people.
    pub people: i64,
    /// Per indicator bit (0, 1, …, in `onshi_checkup::indicators::Indicator::ALL` order): how
    /// many have it known.
    pub known: Vec<i64>,
    /// … and present.
    pub present: Vec<i64>,
}

//! The operator's public figures and tools: the adoption dashboard, the weekly editions of
//! public hospitals, and the card-reader subsidy calculator. No personal data.

use serde::{Deserialize, Serialize};

/// One cost of the work, for the subsidy calculator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubsidyCost {
    /// What it is (レセコン改修, 資格確認端末, ネットワーク整備, …).
    pub label: String,
    /// Yen.
    pub yen: u64,
    /// Whether `yen` includes the 10 % consumption tax (the rules' amounts do); `false` adds it.
    #[serde(default = "yes")]
    pub tax_included: bool,
}

fn yes() -> bool {
    true
}

/// The body of `POST /v1/subsidy/estimate`: one facility's application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubsidyRequest {
    /// `hospital`, `medical_clinic`, `dental_clinic` or `pharmacy` (or 病院, 医科診療所,
    /// 歯科診療所, 薬局).
    pub facility_kind: String,
    /// A pharmacy whose group receives 40,000 prescriptions a month or more (大型チェーン薬局).
    #[serde(default)]
    pub large_chain: bool,
    /// Card readers introduced.
    pub readers: u8,
    /// When the card readers were applied for (YYYY-MM-DD).
    pub readers_applied_on: String,
    /// When the work was finished (YYYY-MM-DD), if it was.
    #[serde(default)]
    pub completed_on: Option<String>,
    /// When the subsidy is applied for (YYYY-MM-DD), if known.
    #[serde(default)]
    pub subsidy_applied_on: Option<String>,
    /// When the facility started operating (its first card check, YYYY-MM-DD), if it has:
    /// some periods pay by it (R3-2022-diff).
    #[serde(default)]
    pub operation_started_on: Option<String>,
    /// The costs.
    pub costs: Vec<SubsidyCost>,
}

/// The subsidy paid towards one cost item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubsidyItem {
    /// What it is.
    pub label: String,
    /// Its cost, yen including tax.
    pub cost_yen: u64,
    /// The subsidy towards it (the items add up to the total).
    pub subsidy_yen: u64,
}

/// What the subsidy engine decided for an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SubsidyEstimate {
    /// The rule period applied (`R0-base`, `R1-accel-2020`, …).
    pub period: String,
    /// Its name.
    pub period_name: String,
    /// How sure the rule's line is: `V` (read in the seed), `V-partial`, `I` (inferred).
    pub rule_status: String,
    /// Where the rule's line comes from.
    pub rule_source: String,
    /// Card readers given free.
    pub free_readers: u8,
    /// Total cost, yen including tax.
    pub cost_yen: u64,
    /// 基準とする事業額: the most cost that counts.
    pub base_yen: u64,
    /// The cost counted.
    pub counted_yen: u64,
    /// The share paid (`1/2`, `3/4`, `実費 (1/1)`).
    pub rate: String,
    /// 補助上限.
    pub cap_yen: u64,
    /// The subsidy per cost item.
    pub items: Vec<SubsidyItem>,
    /// The subsidy paid.
    pub total_yen: u64,
    /// Why, step by step (deadline missed, ceiling, rate, cap).
    pub reasons: Vec<String>,
}

/// Adoption counts of one group of facilities (a kind, a prefecture, or all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdoptionRow {
    /// `all`, a kind (`hospital`, …) or a prefecture code (`01`–`47`).
    pub key: String,
    /// Its name (全体, 病院, 北海道, …).
    pub label: String,
    /// Facilities of the master.
    pub facilities: i64,
    /// With a portal account (ポータルサイトアカウント登録).
    pub portal_accounts: i64,
    /// Percent of facilities, to one decimal.
    pub portal_rate: Option<f64>,
    /// That applied for card readers (顔認証付きカードリーダー申込).
    pub applied: i64,
    /// Percent of facilities.
    pub applied_rate: Option<f64>,
    /// Whose readers are installed (準備完了).
    pub ready: i64,
    /// Percent of facilities.
    pub ready_rate: Option<f64>,
    /// That have made a card or smartphone check (運用開始).
    pub operating: i64,
    /// Percent of facilities.
    pub operating_rate: Option<f64>,
}

/// The counts of one kind (or all) at the end of one week (Sunday, Japan), cumulative.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdoptionWeek {
    /// The week's last day (YYYY-MM-DD, a Sunday).
    pub week_ending: String,
    /// `all` or a kind.
    pub key: String,
    /// Portal accounts by then.
    pub portal_accounts: i64,
    /// Reader applications by then.
    pub applied: i64,
    /// Ready by then.
    pub ready: i64,
    /// Operating by then.
    pub operating: i64,
}

/// Checks of one month by channel: the card-use rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MonthlyChannels {
    /// `YYYY-MM` (Japan).
    pub month: String,
    /// By My Number card.
    pub card: i64,
    /// By smartphone certificate.
    pub smartphone: i64,
    /// By insurance-card number.
    pub number: i64,
    /// (card + smartphone) ÷ all, percent to one decimal: the マイナ保険証 use rate.
    pub card_use_rate: Option<f64>,
}

/// The card's registration for insurance use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CardRegistration {
    /// Cards in the certificate directory.
    pub cards: i64,
    /// Of which registered for insurance use (利用申込).
    pub registered: i64,
    /// Percent, to one decimal.
    pub rate: Option<f64>,
}

/// `GET /v1/adoption`: the adoption dashboard's figures, now and by week. Public; no personal
/// data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AdoptionDashboard {
    /// When the figures were read (Japan time, RFC 3339).
    pub as_of: String,
    /// All facilities.
    pub total: AdoptionRow,
    /// By kind, in the published order (病院, 医科診療所, 歯科診療所, 薬局).
    pub kinds: Vec<AdoptionRow>,
    /// By prefecture, 01–47 (prefectures without facilities left out).
    pub prefectures: Vec<AdoptionRow>,
    /// Weekly series, all facilities and each kind.
    pub weeks: Vec<AdoptionWeek>,
    /// Checks by month and channel.
    pub months: Vec<MonthlyChannels>,
    /// Cards registered for insurance use.
    pub cards: CardRegistration,
}

/// One published edition of the public hospitals' reader applications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeeklyEditionInfo {
    /// The edition's date (YYYY-MM-DD, Japan).
    pub edition: String,
    /// When it was published (Japan time, RFC 3339).
    pub published_at: String,
    /// SHA-256 (hex) of its CSV, byte for byte.
    pub content_hash: String,
}

/// `GET /v1/weekly-editions`: every edition, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeeklyEditionList {
    /// The editions.
    pub editions: Vec<WeeklyEditionInfo>,
}

impl SubsidyRequest {
    /// The domain's application, each error naming the JSON member at fault.
    pub fn to_application(
        &self,
    ) -> Result<onshi_domain::subsidy::SubsidyApplication, onshi_domain::FieldError> {
        use onshi_domain::FieldError;
        use onshi_domain::subsidy::{CostItem, SubsidyKind, with_consumption_tax};
        let kind = onshi_domain::FacilityKind::parse(&self.facility_kind)
            .map_err(|r| FieldError::new("facility_kind", r))?;
        if self.large_chain && kind != onshi_domain::FacilityKind::Pharmacy {
            return Err(FieldError::new(
                "large_chain",
                "only a pharmacy is a large chain",
            ));
        }
        if self.readers == 0 || self.readers > 20 {
            return Err(FieldError::new("readers", "must be 1 to 20"));
        }
        let date = |field: &str, text: &str| {
            onshi_domain::parse_date(text).map_err(|r| FieldError::new(field, r))
        };
        if self.costs.len() > 50 {
            return Err(FieldError::new("costs", "must be at most 50 items"));
        }
        let mut costs = Vec::with_capacity(self.costs.len());
        for (i, c) in self.costs.iter().enumerate() {
            let label = c.label.trim();
            if label.is_empty() || label.chars().count() > 100 {
                return Err(FieldError::new(
                    format!("costs[{i}].label"),
                    "must be 1 to 100 characters",
                ));
            }
            if c.yen > 10_000_000_000 {
                return Err(FieldError::new(
                    format!("costs[{i}].yen"),
                    "must be at most 10,000,000,000",
                ));
            }
            costs.push(CostItem {
                label: label.to_owned(),
                yen: if c.tax_included {
                    c.yen
                } else {
                    with_consumption_tax(c.yen)
                },
            });
        }
        Ok(onshi_domain::subsidy::SubsidyApplication {
            kind: SubsidyKind::of(kind, self.large_chain),
            readers: self.readers,
            readers_applied_on: date("readers_applied_on", &self.readers_applied_on)?,
            completed_on: self
                .completed_on
                .as_deref()
                .map(|t| date("completed_on", t))
                .transpose()?,
            subsidy_applied_on: self
                .subsidy_applied_on
                .as_deref()
                .map(|t| date("subsidy_applied_on", t))
                .transpose()?,
            operation_started_on: self
                .operation_started_on
                .as_deref()
                .map(|t| date("operation_started_on", t))
                .transpose()?,
            costs,
        })
    }
}

impl SubsidyEstimate {
    /// The wire form of the engine's answer for `app`.
    pub fn new(
        app: &onshi_domain::subsidy::SubsidyApplication,
        e: &onshi_domain::subsidy::SubsidyEstimate,
    ) -> Self {
        Self {
            period: e.period.clone(),
            period_name: e.rule.name.clone(),
            rule_status: e.rule.status.clone(),
            rule_source: e.rule.source.clone(),
            free_readers: e.free_readers,
            cost_yen: e.cost_yen,
            base_yen: e.rule.base_yen,
            counted_yen: e.counted_yen,
            rate: e.rule.rate.to_string(),
            cap_yen: e.rule.cap_yen,
            items: app
                .costs
                .iter()
                .zip(&e.items)
                .map(|(c, (label, subsidy))| SubsidyItem {
                    label: label.clone(),
                    cost_yen: c.yen,
                    subsidy_yen: *subsidy,
                })
                .collect(),
            total_yen: e.total_yen,
            reasons: e.reasons.iter().map(ToString::to_string).collect(),
        }
    }
}

//! Bulk look-ups (一括照会): a facility submits the patients of coming appointments and fetches the
//! answers later by reception number (受付番号). Jobs are processed in the background, a batch at
//! a time, with progress visible; a server restarted mid-job resumes it.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use onshi_domain::{FacilityCode, FieldError};

use crate::AppState;
use crate::eligibility::{AuthenticatedFacility, NumberCheckRequest, number_check};
use crate::problem::{ApiJson, Problem};

/// The most rows one bulk look-up may carry.
pub const MAX_ITEMS: usize = 50_000;
const BATCH: i64 = 200;

/// One patient of a bulk look-up (the fields of a number check, without a date).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkItem {
    /// 保険者番号
    pub insurer_number: String,
    /// 記号
    #[serde(default)]
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番
    #[serde(default)]
    pub branch: String,
    /// 生年月日 (optional)
    pub birth_date: Option<String>,
}

/// A bulk look-up: every row is checked for the same consultation date.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// 診療日 (YYYY-MM-DD or YYYYMMDD); default today.
    pub consultation_date: Option<String>,
    /// The patients, 1 to 50,000.
    pub items: Vec<BulkItem>,
}

/// The receipt of a bulk look-up.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkReceipt {
    /// 受付番号: fetch the results with it.
    pub reception_number: String,
    /// When it was received (RFC 3339).
    pub received_at: String,
    /// How many rows.
    pub total: usize,
}

/// Progress, and once finished the answer of every row in submission order.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkStatus {
    /// 受付番号.
    pub reception_number: String,
    /// Rows submitted.
    pub total: i64,
    /// Rows answered so far.
    pub processed: i64,
    /// True once every row is answered.
    pub finished: bool,
    /// When finished: per row, the request and either `result` (an EligibilityResult) or `error`
    /// (a problem document naming the field).
    #[schema(value_type = Option<Vec<Object>>)]
    pub results: Option<Vec<Value>>,
}

fn reception_number() -> Result<String, Problem> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 10];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| Problem::internal())?;
    Ok(b.iter().map(|x| format!("{x:02X}")).collect())
}

/// Submit a bulk look-up (一括照会, upload phase).
#[utoipa::path(post, path = "/v1/bulk-checks", tag = "eligibility",
    request_body = BulkRequest,
    responses((status = 202, body = BulkReceipt), (status = 422, body = Problem)),
    security(("facility_token" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(req): ApiJson<BulkRequest>,
) -> Result<(StatusCode, Json<BulkReceipt>), Problem> {
    if req.items.is_empty() || req.items.len() > MAX_ITEMS {
        return Err(Problem::validation(vec![FieldError::new(
            "items",
            format!("must hold 1 to {MAX_ITEMS} rows"),
        )]));
    }
    let now = state.clock.now();
    let date = match req.consultation_date.as_deref() {
        Some(d) => onshi_domain::parse_date(d)
            .map_err(|r| Problem::validation(vec![FieldError::new("consultation_date", r)]))?,
        None => now.date(),
    };
    let items: Vec<String> = req
        .items
        .iter()
        .map(|i| serde_json::to_string(i).map_err(|_| Problem::internal()))
        .collect::<Result<_, _>>()?;
    let number = reception_number()?;
    state
        .store
        .create_bulk_job(&number, &facility, date, &items, now)
        .await?;
    spawn(state.clone(), number.clone(), facility);
    Ok((
        StatusCode::ACCEPTED,
        Json(BulkReceipt {
            reception_number: number,
            received_at: now.format(&Rfc3339).unwrap_or_default(),
            total: items.len(),
        }),
    ))
}

/// Progress and results of a bulk look-up (download phase).
#[utoipa::path(get, path = "/v1/bulk-checks/{reception_number}", tag = "eligibility",
    params(("reception_number" = String, Path, description = "受付番号")),
    responses((status = 200, body = BulkStatus), (status = 404, body = Problem)),
    security(("facility_token" = [])))]
pub async fn status(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    Path(number): Path<String>,
) -> Result<Json<BulkStatus>, Problem> {
    let job = state
        .store
        .bulk_job(&number, &facility)
        .await?
        .ok_or_else(|| Problem::not_found("bulk look-up"))?;
    let finished = job.finished_at.is_some();
    let results = if finished {
        let rows = state.store.bulk_results(&number).await?;
        Some(
            rows.into_iter()
                .map(|(_, request, result)| {
                    let mut v: Value = result
                        .and_then(|r| serde_json::from_str(&r).ok())
                        .unwrap_or_default();
                    v["request"] = serde_json::from_str(&request).unwrap_or_default();
                    v
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(Json(BulkStatus {
        reception_number: job.reception_number,
        total: job.total,
        processed: job.processed,
        finished,
        results,
    }))
}

async fn process(state: &AppState, number: &str, facility: &FacilityCode) -> Result<(), Problem> {
    let Some(job) = state.store.bulk_job(number, facility).await? else {
        return Ok(());
    };
    let date = job.consultation_date.to_string();
    loop {
        let items = state.store.pending_bulk_items(number, BATCH).await?;
        if items.is_empty() {
            return Ok(());
        }
        let mut results = Vec::with_capacity(items.len());
        for (seq, request) in items {
            let outcome = match serde_json::from_str::<BulkItem>(&request) {
                Ok(item) => {
                    let req = NumberCheckRequest {
                        insurer_number: item.insurer_number,
                        symbol: item.symbol,
                        number: item.number,
                        branch: item.branch,
                        birth_date: item.birth_date,
                        consultation_date: Some(date.clone()),
                        limit_consent: false,
                    };
                    match number_check(state, facility.clone(), &req).await {
                        Ok(r) => serde_json::json!({ "result": r }),
                        Err(p) if p.status >= 500 => return Err(p),
                        Err(p) => serde_json::json!({ "error": p }),
                    }
                }
                Err(_) => {
                    serde_json::json!({ "error": Problem::bad_request("unreadable stored row") })
                }
            };
            results.push((seq, outcome.to_string()));
        }
        state
            .store
            .record_bulk_results(number, &results, state.clock.now())
            .await?;
    }
}

/// Processes a job in the background; on failure it stays unfinished and is resumed later.
pub fn spawn(state: AppState, number: String, facility: FacilityCode) {
    tokio::spawn(async move {
        if let Err(p) = process(&state, &number, &facility).await {
            tracing::error!(detail = %p.detail, "bulk look-up stopped; it resumes at the next start");
        }
    });
}

/// Resumes every unfinished job (call at start-up).
pub async fn resume(state: &AppState) -> Result<usize, Problem> {
    let jobs = state.store.unfinished_bulk_jobs().await?;
    let n = jobs.len();
    for job in jobs {
        if let Ok(facility) = FacilityCode::parse(&job.facility) {
            spawn(state.clone(), job.reception_number, facility);
        }
    }
    Ok(n)
}

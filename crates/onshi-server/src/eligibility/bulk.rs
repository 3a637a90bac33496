//! Bulk look-ups (一括照会): a facility submits the patients of coming appointments and fetches
//! the answers later by reception number (受付番号). Rows are answered in the background
//! (`crate::background`), a batch at a time, with progress visible; a server restarted mid-job
//! resumes it.

use onshi_api::{BulkItem, BulkReceipt, BulkRequest, BulkRow, BulkStatus};
use onshi_domain::japan::{japan_date, rfc3339_japan};
use onshi_domain::{FacilityCode, parse_date};
use onshi_store::StoreError;

use super::CheckError;
use crate::AppState;

/// The most rows one bulk look-up may carry.
pub const MAX_ITEMS: usize = 50_000;
/// The longest `arbitrary_identifier` a row may carry (kept with the row, echoed back).
pub const MAX_IDENTIFIER: usize = 100;

/// A row's answer as the store keeps it (the request is kept beside it): [`BulkRow`] without
/// its request.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredOutcome {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<onshi_api::EligibilityResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<onshi_api::Problem>,
}

/// What a row that cannot be read back is answered with (rows are written by this module, so
/// only a damaged store gets here): a row error, not a failed job.
pub(crate) fn unreadable_row() -> onshi_api::Problem {
    onshi_api::Problem {
        kind: "urn:onshi:problem:bad-request".into(),
        title: "Malformed request".into(),
        status: 400,
        detail: "unreadable stored row".into(),
        errors: Vec::new(),
    }
}

fn reception_number() -> Result<String, CheckError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 10];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| CheckError::Randomness)?;
    Ok(b.iter().map(|x| format!("{x:02X}")).collect())
}

/// Stores a bulk look-up of `facility` (1 to [`MAX_ITEMS`] rows, each with its birth date, one
/// consultation date) and returns its receipt; the submission takes one token of the check
/// limit, and each row's look-up counts against the mismatch limit like a single one
/// ([`super::limits`]); the caller starts its processing (`crate::background::spawn_bulk`).
pub async fn submit(
    state: &AppState,
    facility: &FacilityCode,
    req: &BulkRequest,
) -> Result<BulkReceipt, CheckError> {
    if req.items.is_empty() || req.items.len() > MAX_ITEMS {
        return Err(CheckError::field(
            "items",
            format!("must hold 1 to {MAX_ITEMS} rows"),
        ));
    }
    super::check::admit_check(state, facility).await?;
    let mut errors = Vec::new();
    for (n, item) in req.items.iter().enumerate() {
        if item
            .arbitrary_identifier
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_IDENTIFIER)
        {
            errors.push(onshi_domain::FieldError::new(
                format!("items[{n}].arbitrary_identifier"),
                format!("must be at most {MAX_IDENTIFIER} characters"),
            ));
        }
        if item
            .birth_date
            .as_deref()
            .is_none_or(|b| b.trim().is_empty())
        {
            errors.push(onshi_domain::FieldError::new(
                format!("items[{n}].birth_date"),
                "is required (生年月日)",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(CheckError::Invalid(errors));
    }
    let now = state.clock.now();
    let date = match req.consultation_date.as_deref() {
        Some(d) => parse_date(d).map_err(|r| CheckError::field("consultation_date", r))?,
        None => japan_date(now),
    };
    let items: Vec<String> = req
        .items
        .iter()
        .map(|i| serde_json::to_string(i).map_err(|e| StoreError::Corrupt(e.to_string())))
        .collect::<Result<_, _>>()?;
    let number = reception_number()?;
    state
        .store
        .create_bulk_job(&number, facility, date, &items, now)
        .await?;
    Ok(BulkReceipt {
        reception_number: number,
        received_at: rfc3339_japan(now),
        total: items.len(),
    })
}

/// Progress of `facility`'s bulk look-up `number` and, once finished, every row's answer in
/// submission order. Another facility's job is not found, like a missing one.
pub async fn status(
    state: &AppState,
    facility: &FacilityCode,
    number: &str,
) -> Result<BulkStatus, CheckError> {
    let job = state
        .store
        .bulk_job(number, facility)
        .await?
        .ok_or(StoreError::NotFound("bulk look-up"))?;
    let finished = job.finished_at.is_some();
    let results = if finished {
        let rows = state.store.bulk_results(number).await?;
        Some(
            rows.into_iter()
                .map(|(_, request, result)| {
                    let outcome = result
                        .and_then(|r| serde_json::from_str::<StoredOutcome>(&r).ok())
                        .unwrap_or_default();
                    match serde_json::from_str::<BulkItem>(&request) {
                        Ok(request) => BulkRow {
                            request,
                            result: outcome.result,
                            error: outcome.error,
                        },
                        Err(_) => BulkRow {
                            request: BulkItem::default(),
                            result: None,
                            error: Some(unreadable_row()),
                        },
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(BulkStatus {
        reception_number: job.reception_number,
        total: job.total,
        processed: job.processed,
        finished,
        results,
    })
}

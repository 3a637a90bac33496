//! Bulk look-ups (一括照会) over HTTP: submit (upload phase) and status (download phase).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use onshi_api::{BulkReceipt, BulkRequest, BulkStatus};

use crate::AppState;
use crate::auth::AuthenticatedFacility;
use crate::background::spawn_bulk;
use crate::eligibility::bulk;
use crate::problem::{ApiJson, Problem};

/// Submit a bulk look-up (一括照会, upload phase).
#[utoipa::path(post, path = "/v1/bulk-checks", tag = "eligibility",
    request_body = BulkRequest,
    responses(
        (status = 202, description = "received; fetch the answers by reception number", body = BulkReceipt),
        (status = 422, description = "invalid fields (1 to 50,000 rows, each with its birth date, a valid date)", body = onshi_api::Problem),
        (status = 429, description = "over the facility's rate limit (checks, or number look-ups that matched no one); nothing was read: retry after the seconds Retry-After gives", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn submit(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(req): ApiJson<BulkRequest>,
) -> Result<(StatusCode, Json<BulkReceipt>), Problem> {
    let receipt = bulk::submit(&state, &facility, &req).await?;
    spawn_bulk(state.clone(), receipt.reception_number.clone(), facility);
    Ok((StatusCode::ACCEPTED, Json(receipt)))
}

/// Progress and results of a bulk look-up (download phase).
#[utoipa::path(get, path = "/v1/bulk-checks/{reception_number}", tag = "eligibility",
    params(("reception_number" = String, Path, description = "受付番号")),
    responses(
        (status = 200, description = "progress, and every row's answer once finished", body = BulkStatus),
        (status = 404, description = "no such bulk look-up of this facility", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn status(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    Path(number): Path<String>,
) -> Result<Json<BulkStatus>, Problem> {
    Ok(Json(bulk::status(&state, &facility, &number).await?))
}

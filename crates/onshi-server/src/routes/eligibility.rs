//! The facility and portal API of eligibility confirmation: each handler reads its request,
//! calls the workflow (`crate::eligibility`) and answers; refusals become problem details
//! through `From<CheckError> for Problem`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use onshi_api::{
    AccessEntry, CardCheckRequest, CardProof, Challenge, ChallengeRequest, EligibilityResult,
    NumberCheckRequest, Registration,
};
use onshi_domain::{ChallengePurpose, FieldError};

use crate::AppState;
use crate::auth::AuthenticatedFacility;
use crate::eligibility::{PORTAL, challenge, check, portal, registration};
use crate::problem::{ApiJson, Problem};

/// Get a single-use challenge for a card at this facility (valid 120 s).
#[utoipa::path(post, path = "/v1/challenges", tag = "eligibility",
    request_body(content = ChallengeRequest, description = "optional purpose"),
    responses(
        (status = 201, description = "a challenge for this facility, valid 120 s", body = Challenge),
        (status = 422, description = "an unknown purpose", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn facility_challenge(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Challenge>), Problem> {
    // The body may be empty (a plain check challenge).
    let request: ChallengeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ChallengeRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                Problem::bad_request("the body is not valid JSON")
            } else {
                Problem::validation(vec![FieldError::new(
                    "purpose",
                    "the body must be {\"purpose\": \"check\" or \"registration\"}",
                )])
            }
        })?
    };
    let purpose = challenge::purpose(request.purpose.as_deref())?;
    Ok((
        StatusCode::CREATED,
        Json(challenge::issue(&state, facility.as_str(), purpose)?),
    ))
}

/// Get a single-use challenge for the insured person's portal (valid 120 s).
#[utoipa::path(post, path = "/v1/portal/challenges", tag = "portal",
    responses((status = 201, description = "a challenge for the portal, valid 120 s", body = Challenge)))]
pub async fn portal_challenge(
    State(state): State<AppState>,
) -> Result<(StatusCode, Json<Challenge>), Problem> {
    Ok((
        StatusCode::CREATED,
        Json(challenge::issue(&state, PORTAL, ChallengePurpose::Portal)?),
    ))
}

/// Confirm eligibility with a My Number card or smartphone (signed challenge).
#[utoipa::path(post, path = "/v1/eligibility/card", tag = "eligibility",
    request_body = CardCheckRequest,
    responses(
        (status = 200, description = "the qualifications as of the consultation date", body = EligibilityResult),
        (status = 403, description = "certificate refused (expired, revoked, untrusted, counterfeit), challenge of another facility or purpose, or card not registered for insurance use", body = onshi_api::Problem),
        (status = 409, description = "challenge already used (replay)", body = onshi_api::Problem),
        (status = 410, description = "challenge expired", body = onshi_api::Problem),
        (status = 401, description = "signature does not match (or no facility token)", body = onshi_api::Problem),
        (status = 422, description = "invalid fields, an unknown challenge, a malformed certificate or an unknown consent", body = onshi_api::Problem),
        (status = 429, description = "over the facility's rate limit (checks, or number look-ups that matched no one); nothing was read: retry after the seconds Retry-After gives", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn check_card(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(req): ApiJson<CardCheckRequest>,
) -> Result<Json<EligibilityResult>, Problem> {
    Ok(Json(check::card_check(&state, &facility, &req).await?))
}

/// Confirm eligibility by insurance-card number (保険者番号・記号・番号・枝番).
#[utoipa::path(post, path = "/v1/eligibility/number", tag = "eligibility",
    request_body = NumberCheckRequest,
    responses(
        (status = 200, description = "the qualification and its validity on the consultation date; a card number with another birth date answers 4 (該当資格なし) with no personal data", body = EligibilityResult),
        (status = 422, description = "invalid fields (the birth date is required)", body = onshi_api::Problem),
        (status = 429, description = "over the facility's rate limit (checks, or number look-ups that matched no one); nothing was read: retry after the seconds Retry-After gives", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn check_number(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(req): ApiJson<NumberCheckRequest>,
) -> Result<Json<EligibilityResult>, Problem> {
    Ok(Json(check::number_check(&state, &facility, &req).await?))
}

/// Register a card for insurance use at a facility's card reader (pharmacies count as `pharmacy`).
#[utoipa::path(post, path = "/v1/registrations", tag = "eligibility",
    request_body = CardProof,
    responses(
        (status = 200, description = "registered now, or already", body = Registration),
        (status = 403, description = "certificate refused or unknown, or a challenge of another facility or not asked for purpose registration", body = onshi_api::Problem),
        (status = 401, description = "signature does not match (or no facility token)", body = onshi_api::Problem),
        (status = 410, description = "challenge expired", body = onshi_api::Problem),
        (status = 409, description = "challenge already used (replay)", body = onshi_api::Problem),
        (status = 422, description = "invalid fields or unknown challenge", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn facility_registration(
    State(state): State<AppState>,
    AuthenticatedFacility(facility): AuthenticatedFacility,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<Registration>, Problem> {
    Ok(Json(
        registration::at_facility(&state, &facility, &proof).await?,
    ))
}

/// Register a card for insurance use from the person's portal (マイナポータル).
#[utoipa::path(post, path = "/v1/portal/registrations", tag = "portal",
    request_body = CardProof,
    responses(
        (status = 200, description = "registered now, or already", body = Registration),
        (status = 403, description = "certificate refused or unknown, or challenge not for the portal", body = onshi_api::Problem),
        (status = 401, description = "signature does not match", body = onshi_api::Problem),
        (status = 410, description = "challenge expired", body = onshi_api::Problem),
        (status = 409, description = "challenge already used (replay)", body = onshi_api::Problem),
        (status = 422, description = "invalid fields or unknown challenge", body = onshi_api::Problem),
    ))]
pub async fn portal_registration(
    State(state): State<AppState>,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<Registration>, Problem> {
    Ok(Json(registration::at_portal(&state, &proof).await?))
}

/// Who looked at my data: the person, proven by their card, reads their access history.
#[utoipa::path(post, path = "/v1/portal/access-log", tag = "portal",
    request_body = CardProof,
    responses(
        (status = 200, description = "every access to the person's data, oldest first", body = [AccessEntry]),
        (status = 403, description = "certificate refused or unknown, or challenge not for the portal", body = onshi_api::Problem),
        (status = 401, description = "signature does not match", body = onshi_api::Problem),
        (status = 410, description = "challenge expired", body = onshi_api::Problem),
        (status = 409, description = "challenge already used (replay)", body = onshi_api::Problem),
        (status = 422, description = "invalid fields or unknown challenge", body = onshi_api::Problem),
    ))]
pub async fn portal_access_log(
    State(state): State<AppState>,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<Vec<AccessEntry>>, Problem> {
    Ok(Json(portal::access_log(&state, &proof).await?))
}

/// My checkup results: the person, proven by their card, reads every checkup result stored for
/// them, each item against its judgement values (保健指導判定値・受診勧奨判定値).
#[utoipa::path(post, path = "/v1/portal/checkups", tag = "portal",
    request_body = CardProof,
    responses(
        (status = 200, description = "the person's checkups, newest first", body = onshi_api::CheckupResults),
        (status = 403, description = "certificate refused or unknown, or challenge not for the portal", body = onshi_api::Problem),
        (status = 401, description = "signature does not match", body = onshi_api::Problem),
        (status = 410, description = "challenge expired", body = onshi_api::Problem),
        (status = 409, description = "challenge already used (replay)", body = onshi_api::Problem),
        (status = 422, description = "invalid fields or unknown challenge", body = onshi_api::Problem),
    ))]
pub async fn portal_checkups(
    State(state): State<AppState>,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<Json<onshi_api::CheckupResults>, Problem> {
    Ok(Json(portal::checkups(&state, &proof).await?))
}

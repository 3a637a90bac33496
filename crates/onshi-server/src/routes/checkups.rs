//! Checkup archives (特定健診等データ) uploaded to the insurer they are addressed to, by the
//! insurer itself, one of its employers, or a checkup institution.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use onshi_api::CheckupArchiveReceipt;
use onshi_domain::FieldError;

use crate::AppState;
use crate::auth::CheckupSender;
use crate::checkups::{ArchiveError, import_archive};
use crate::problem::Problem;

/// The largest archive an upload takes by default (`AppState::archive_limit`): a year's
/// checkups of a large insurer, split by day as producers do, stay far below it.
pub const ARCHIVE_LIMIT: usize = 1024 * 1024 * 1024;

/// Upload a standard checkup archive, all or nothing.
///
/// The body is the zip itself (`application/zip`), kept in a temporary file while it is read,
/// never whole in memory; `name` is its file name, which must follow the rule
/// `<sender>_<insurer>_<YYYYMMDD><N>_<X>.zip`. The sender is the insurer (its own members),
/// one of its employers (its employees, matched by the employer code of their qualification)
/// or a checkup institution (its own documents; employer checkups, プログラム種別 030, only under
/// a consignment in force of the person's employer, named in the receipt).
///
/// An archive of 実施区分 2 (`…_2.zip`, 特定保健指導, `hg08` documents) from the insurer or the
/// guidance institution its documents name records guidance instead: each document's 報告区分
/// is a step (21 first interview, 22 completion, 23 drop-out) on its `serviceEvent` date, in
/// the fiscal year of the member's checkup that made them a target; the receipt counts them in
/// `guidance_events`.
#[utoipa::path(post, path = "/v1/checkup-archives/{name}", tag = "checkups",
    params(("name" = String, Path, description = "the archive's file name")),
    request_body(content = Vec<u8>, description = "the zip archive", content_type = "application/zip"),
    responses(
        (status = 201, description = "imported: what it held and what was stored", body = CheckupArchiveReceipt),
        (status = 413, description = "the archive is larger than the server takes (1 GiB by default); nothing was stored", body = onshi_api::Problem),
        (status = 422, description = "refused, nothing stored: each problem in `errors` as file (`field`) and element or item code with the reason", body = onshi_api::Problem),
    ),
    security(("insurer_token" = []), ("employer_token" = []), ("institution_token" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    CheckupSender(actor): CheckupSender,
    Path(name): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<CheckupArchiveReceipt>), Problem> {
    use onshi_store::Actor;
    let own_insurer = match &actor {
        Actor::Insurer(n) => Some(n),
        Actor::Employer(e) => Some(&e.insurer),
        _ => None,
    };
    match onshi_checkup::archive::ArchiveName::parse(&name) {
        Ok(n) if own_insurer.is_none_or(|i| *i == n.insurer) => {}
        Ok(n) => {
            return Err(Problem::validation(vec![FieldError::new(
                "name",
                format!(
                    "the archive is addressed to insurer {}, not your insurer",
                    n.insurer
                ),
            )]));
        }
        Err(reason) => return Err(Problem::validation(vec![FieldError::new("name", reason)])),
    }
    let file = spool(body, state.archive_limit).await?;
    received(
        import_archive(&state.store, &actor, file, &name, state.clock.now()).await,
        &name,
    )
}

/// An import's answer: 201 with its receipt, or every problem named by its file (`field`).
fn received(
    result: Result<CheckupArchiveReceipt, ArchiveError>,
    name: &str,
) -> Result<(StatusCode, Json<CheckupArchiveReceipt>), Problem> {
    match result {
        Ok(receipt) => Ok((StatusCode::CREATED, Json(receipt))),
        Err(ArchiveError::Store(e)) => Err(e.into()),
        Err(ArchiveError::Refused(errors)) => Err(Problem::validation(
            errors
                .into_iter()
                .map(|e| {
                    let (file, reason) = e.split_once(": ").unwrap_or((name, e.as_str()));
                    FieldError::new(file, reason)
                })
                .collect(),
        )),
    }
}

/// Upload checkup results as a CSV (an employer's 事業主健診 results where its system writes no
/// standard archive), all or nothing.
///
/// One row per person: `insurer_number,symbol,number,branch,name_kana,birth_date,sex,exam_date,institution`,
/// then one column per item, named by its 17-digit item code or a short name (`height`,
/// `systolic`, `hba1c`, …; `docs/checkups.md` lists them). Each row is read as a 特定健診
/// document of プログラム種別 030 (事業者健診) and held to the same rules as an archive's, and
/// the sender's rights are those of an archive upload. UTF-8 (a BOM is allowed) or CP932; up to
/// 64 MiB. `name` names the file in the receipt and errors.
#[utoipa::path(post, path = "/v1/checkup-csv/{name}", tag = "checkups",
    params(("name" = String, Path, description = "the file's name, for the receipt and errors")),
    request_body(content = String, description = "the CSV", content_type = "text/csv"),
    responses(
        (status = 201, description = "imported: what it held and what was stored", body = CheckupArchiveReceipt),
        (status = 413, description = "over 64 MiB; nothing was stored", body = onshi_api::Problem),
        (status = 422, description = "refused, nothing stored: each problem in `errors` as the file (`field`) and `line N, column: reason`", body = onshi_api::Problem),
    ),
    security(("insurer_token" = []), ("employer_token" = []), ("institution_token" = [])))]
pub async fn upload_csv(
    State(state): State<AppState>,
    CheckupSender(actor): CheckupSender,
    Path(name): Path<String>,
    body: Body,
) -> Result<(StatusCode, Json<CheckupArchiveReceipt>), Problem> {
    let limit = crate::checkups::CSV_LIMIT.min(state.archive_limit);
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| Problem::too_large(limit))?;
    let text = onshi_checkup::employer_csv::decode(&bytes)
        .map_err(|reason| Problem::validation(vec![FieldError::new(name.as_str(), reason)]))?;
    received(
        crate::checkups::import_csv(&state.store, &actor, text, &name, state.clock.now()).await,
        &name,
    )
}

/// Writes the body to an anonymous temporary file (removed when closed), up to
/// `limit` bytes, and returns it rewound.
async fn spool(body: Body, limit: usize) -> Result<std::fs::File, Problem> {
    use std::io::Seek;
    use tokio::io::AsyncWriteExt;
    let failed = |e: std::io::Error| {
        tracing::error!(error = %e, "could not keep an uploaded archive in a temporary file");
        Problem::internal()
    };
    let file = tempfile::tempfile().map_err(failed)?;
    let mut out = tokio::fs::File::from_std(file);
    let mut body = body;
    let mut written = 0usize;
    while let Some(frame) = next_frame(&mut body).await {
        let frame =
            frame.map_err(|_| Problem::bad_request("the body could not be read to its end"))?;
        let Ok(chunk) = frame.into_data() else {
            continue; // trailers
        };
        written += chunk.len();
        if written > limit {
            return Err(Problem::too_large(limit));
        }
        out.write_all(&chunk).await.map_err(failed)?;
    }
    out.flush().await.map_err(failed)?;
    let mut file = out.into_std().await;
    file.rewind().map_err(failed)?;
    Ok(file)
}

/// The body's next frame (hyper's `Body` trait, polled directly: no stream adapter needed).
async fn next_frame(
    body: &mut Body,
) -> Option<Result<hyper::body::Frame<axum::body::Bytes>, axum::Error>> {
    use hyper::body::Body as _;
    std::future::poll_fn(|cx| std::pin::Pin::new(&mut *body).poll_frame(cx)).await
}

/// A patient's checkup results of the last five fiscal years, for the facility that checked
/// their card, only while the patient's checkup consent (特定健診情報の閲覧同意, given at the
/// card reader) is in force. The patient is named by the `check_reference` of that card check
/// (valid for 24 hours). Every read is audited; a refusal reads nothing.
#[utoipa::path(get, path = "/v1/checkups", tag = "checkups",
    params(("check_reference" = String, Query, description = "the `check_reference` of this facility's card check of the patient")),
    responses(
        (status = 200, description = "the patient's checkups, newest first", body = onshi_api::CheckupResults),
        (status = 403, description = "the patient has not given this facility a checkup consent in force", body = onshi_api::Problem),
        (status = 404, description = "no card check of yours with this reference in the last 24 hours", body = onshi_api::Problem),
        (status = 422, description = "no check_reference", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn facility_checkups(
    State(state): State<AppState>,
    crate::auth::AuthenticatedFacility(facility): crate::auth::AuthenticatedFacility,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<onshi_api::CheckupResults>, Problem> {
    let stored = patient_checkups(&state, facility, query.get("check_reference")).await?;
    Ok(Json(crate::checkups::results(&stored)))
}

/// A patient's checkup results of the last five fiscal years, named by their insurance card,
/// as the folder exchange's 特定健診情報 request (`TKKsiquc01req_`) asks: only while the person
/// behind the card has given this facility a checkup consent (at the card reader) that is in
/// force. The answer names the patient as the qualification records them. Every read is
/// audited; a refusal reads no results.
#[utoipa::path(post, path = "/v1/checkups/by-card", tag = "checkups",
    request_body(content = onshi_api::CheckupCardLookup),
    responses(
        (status = 200, description = "the patient and their checkups, newest first", body = onshi_api::CheckupResults),
        (status = 400, description = "the body is not JSON", body = onshi_api::Problem),
        (status = 401, description = "no facility token", body = onshi_api::Problem),
        (status = 403, description = "no checkup consent to this facility is in force (or the member was recorded without a My Number, so no consent can be)", body = onshi_api::Problem),
        (status = 404, description = "no member with this card", body = onshi_api::Problem),
        (status = 413, description = "the body is over the limit", body = onshi_api::Problem),
        (status = 422, description = "a field is missing or malformed", body = onshi_api::Problem),
    ),
    security(("facility_token" = [])))]
pub async fn by_card(
    State(state): State<AppState>,
    crate::auth::AuthenticatedFacility(facility): crate::auth::AuthenticatedFacility,
    body: axum::body::Bytes,
) -> Result<Json<onshi_api::CheckupResults>, Problem> {
    let fields = ["insurer_number", "symbol", "number", "branch"];
    let f = crate::routes::members::read_fields(&body, &fields)?;
    let text = |name: &str| f.text.get(name).map(String::as_str).unwrap_or_default();
    let key = onshi_domain::MemberInput {
        insurer_number: text("insurer_number"),
        symbol: text("symbol"),
        number: text("number"),
        branch: text("branch"),
        ..Default::default()
    }
    .card_key()
    .map_err(Problem::validation)?;
    let now = state.clock.now();
    let actor = onshi_store::Actor::Facility(facility.clone());
    let member = state
        .store
        .find_member(&actor, &key, now)
        .await?
        .ok_or_else(|| Problem::not_found("member with this card"))?;
    let consented = match &member.details.person {
        Some(person) => state
            .store
            .checkup_consent_in_force(person, &facility, now)
            .await?
            .then_some(person),
        None => None,
    };
    let Some(person) = consented else {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "consent-required",
            "No checkup consent",
            "the patient has not given this facility a checkup consent that is in force: ask them to consent at the card reader",
        ));
    };
    let since = five_fiscal_years_before(onshi_domain::japan::japan_date(now));
    let stored = state
        .store
        .checkups_of_person(&actor, person, since, now)
        .await?;
    let d = &member.details;
    let mut results = crate::checkups::results(&stored);
    results.patient = Some(onshi_api::CheckupPatient {
        name: d.name.0.clone(),
        name_kana: d.name_kana.0.clone(),
        birth_date: d.birth_date.0.to_string(),
        sex: d.sex.code(),
    });
    Ok(Json(results))
}

/// The checkups of the patient of `facility`'s card check `reference` (the last five fiscal
/// years), only under the patient's checkup consent in force; the read is audited. Shared by
/// the JSON and FHIR routes.
pub(crate) async fn patient_checkups(
    state: &AppState,
    facility: onshi_domain::FacilityCode,
    reference: Option<&String>,
) -> Result<Vec<onshi_store::StoredCheckup>, Problem> {
    let Some(reference) = reference.filter(|r| !r.trim().is_empty()) else {
        return Err(Problem::validation(vec![FieldError::new(
            "check_reference",
            "is required",
        )]));
    };
    let now = state.clock.now();
    let person = state
        .store
        .person_of_check(
            reference,
            facility.as_str(),
            now - crate::eligibility::CHECK_REFERENCE_LIFETIME,
        )
        .await?
        .ok_or_else(|| Problem::not_found("card check"))?;
    if !state
        .store
        .checkup_consent_in_force(&person, &facility, now)
        .await?
    {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "consent-required",
            "No checkup consent",
            "the patient has not given this facility a checkup consent that is in force: ask them to consent at the card reader",
        ));
    }
    let since = five_fiscal_years_before(onshi_domain::japan::japan_date(now));
    Ok(state
        .store
        .checkups_of_person(&onshi_store::Actor::Facility(facility), &person, since, now)
        .await?)
}

/// The first day (1 April) of the fiscal year four before `today`'s: five fiscal years with
/// the current one.
fn five_fiscal_years_before(today: time::Date) -> time::Date {
    let year = onshi_store::fiscal_year(today) - 4;
    time::Date::from_calendar_date(year, time::Month::April, 1).unwrap_or(today)
}

/// Your matching queue: checkups whose document's card key, birth date and sex matched none of
/// your members on the exam date, each with the members who could be the person (same birth
/// date and sex, most similar kana name first). Nothing is guessed: resolve each with
/// `POST /v1/checkups/{id}/match`. The read is audited.
#[utoipa::path(get, path = "/v1/checkups/unmatched", tag = "checkups",
    params(("limit" = Option<u32>, Query, description = "at most this many, 1–500 (default 100)")),
    responses(
        (status = 200, description = "oldest first", body = onshi_api::MatchingQueue),
        (status = 422, description = "invalid limit", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn unmatched(
    State(state): State<AppState>,
    crate::auth::AuthenticatedInsurer(insurer): crate::auth::AuthenticatedInsurer,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<onshi_api::MatchingQueue>, Problem> {
    let limit = match query.get("limit") {
        None => 100,
        Some(l) => match l.parse::<u32>() {
            Ok(n) if (1..=500).contains(&n) => n,
            _ => {
                return Err(Problem::validation(vec![FieldError::new(
                    "limit",
                    "must be a whole number from 1 to 500",
                )]));
            }
        },
    };
    let queue = state
        .store
        .unmatched_checkups(&insurer, limit, state.clock.now())
        .await?;
    Ok(Json(onshi_api::MatchingQueue {
        checkups: queue
            .into_iter()
            .map(|c| onshi_api::UnmatchedCheckup {
                id: c.id,
                symbol: c.symbol,
                number: c.number,
                branch: c.branch,
                exam_date: c.exam_date.to_string(),
                institution: c.institution,
                birth_date: c.birth_date.to_string(),
                sex: u8::try_from(c.sex).unwrap_or(0),
                name_kana: c.name_kana,
                candidates: c
                    .candidates
                    .into_iter()
                    .map(|m| onshi_api::MatchCandidate {
                        member_id: m.member_id,
                        symbol: m.symbol,
                        number: m.number,
                        branch: m.branch,
                        name_kana: m.name_kana,
                        covers_exam_date: m.covers_exam_date,
                        similarity: m.similarity,
                    })
                    .collect(),
            })
            .collect(),
    }))
}

/// Resolve a checkup of your matching queue: it (and its other unmatched versions) belongs to
/// member `member_id`. Audited with the member.
#[utoipa::path(post, path = "/v1/checkups/{id}/match", tag = "checkups",
    params(("id" = String, Path, description = "the unmatched checkup's id")),
    request_body(content = onshi_api::MatchBody),
    responses(
        (status = 204, description = "linked"),
        (status = 404, description = "no such unmatched checkup or member of yours", body = onshi_api::Problem),
        (status = 422, description = "no member_id", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn resolve_match(
    State(state): State<AppState>,
    crate::auth::AuthenticatedInsurer(insurer): crate::auth::AuthenticatedInsurer,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<StatusCode, Problem> {
    let f = crate::routes::members::read_fields(&body, &["member_id"])?;
    let Some(member) = f.text.get("member_id").filter(|m| !m.trim().is_empty()) else {
        return Err(Problem::validation(vec![FieldError::new(
            "member_id",
            "is required",
        )]));
    };
    state
        .store
        .match_checkup(&insurer, &id, member, state.clock.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Receive a moved member's checkup results from their former insurer (保険者間の特定健診等
/// データの引継ぎ): the results of the last five fiscal years that `from_insurer` holds of the
/// person behind your member, as a standard archive (interaction type 8, 保険者→保険者) with
/// the V08 schemas in `XSD/`. The two memberships are linked by the person (both insurers
/// recorded their My Number), never by name. The transfer is audited: who asked, from whom,
/// how many.
#[utoipa::path(post, path = "/v1/checkup-transfers", tag = "checkups",
    request_body(content = onshi_api::CheckupTransferRequest),
    responses(
        (status = 200, description = "the archive; its file name in Content-Disposition", content_type = "application/zip", body = Vec<u8>),
        (status = 404, description = "no member of yours with this card qualified today, or the former insurer holds no results of the person in the last five fiscal years", body = onshi_api::Problem),
        (status = 409, description = "your member was recorded without a My Number: their former insurers are unknown", body = onshi_api::Problem),
        (status = 422, description = "a field is missing or malformed", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn transfer(
    State(state): State<AppState>,
    crate::auth::AuthenticatedInsurer(insurer): crate::auth::AuthenticatedInsurer,
    body: axum::body::Bytes,
) -> Result<axum::response::Response, Problem> {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    use onshi_store::TransferError;
    let fields = ["symbol", "number", "branch", "from_insurer"];
    let f = crate::routes::members::read_fields(&body, &fields)?;
    let text = |name: &str| f.text.get(name).map(String::as_str).unwrap_or_default();
    let mut errors: Vec<FieldError> = fields
        .iter()
        .filter(|n| **n != "symbol" && text(n).trim().is_empty())
        .map(|n| FieldError::new(*n, "is required"))
        .collect();
    let from = onshi_domain::InsurerNumber::parse(text("from_insurer"));
    if let (Err(e), false) = (&from, text("from_insurer").is_empty()) {
        errors.push(FieldError::new("from_insurer", e.to_string()));
    }
    let key = onshi_domain::MemberInput {
        insurer_number: insurer.as_str(),
        symbol: text("symbol"),
        number: text("number"),
        branch: text("branch"),
        ..Default::default()
    }
    .card_key();
    if let Err(list) = &key
        && errors.is_empty()
    {
        errors.extend(list.iter().cloned());
    }
    let (Ok(key), Ok(from), true) = (key, from, errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let now = state.clock.now();
    let today = onshi_domain::japan::japan_date(now);
    let since = five_fiscal_years_before(today);
    let transfer = match state
        .store
        .transfer_checkups(&insurer, &key, &from, since, today, now)
        .await
    {
        Ok(t) => t,
        Err(TransferError::Store(e)) => return Err(e.into()),
        Err(TransferError::SameInsurer) => {
            return Err(Problem::validation(vec![FieldError::new(
                "from_insurer",
                "is your own insurer number",
            )]));
        }
        Err(e @ TransferError::NoPerson) => return Err(Problem::conflict(e.to_string())),
        Err(e @ (TransferError::NotAMember | TransferError::NothingToTransfer(..))) => {
            return Err(Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                e.to_string(),
            ));
        }
    };
    let (name, bytes) = crate::checkups::transfer_archive(&transfer, &from, &insurer, today)
        .map_err(|e| {
            tracing::error!(error = %e, "could not write a transfer archive");
            Problem::internal()
        })?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

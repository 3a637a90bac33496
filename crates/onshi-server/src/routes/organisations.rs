//! Employers and what passes between them, their insurer and checkup institutions: the insurer
//! registers its employers (and hands each its token) and requests a fiscal year's results from
//! them; an employer consigns institutions to deliver its employees' results and sees the
//! requests made of it.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use onshi_api::{
    CheckupRequest, CheckupRequestList, Consignment, ConsignmentList, Employer, EmployerList,
    RegisteredEmployer,
};
use onshi_domain::japan::{japan_date, rfc3339_japan};
use onshi_domain::{
    EmployerCode, EmployerRef, FieldError, Industry, InstitutionNumber, Prefecture, parse_date,
};
use onshi_store::Actor;
use onshi_store::token::{self, TokenKind};

use crate::AppState;
use crate::auth::{AuthenticatedEmployer, AuthenticatedInsurer};
use crate::problem::Problem;
use crate::routes::members::read_fields;

fn employer_json(e: &onshi_store::Employer) -> Employer {
    Employer {
        insurer_number: e.id.insurer.to_string(),
        code: e.id.code.to_string(),
        name: e.name.clone(),
        industry: e.industry.letter().to_string(),
        industry_name: e.industry.name().to_owned(),
        prefecture: e.prefecture.number(),
        registered_at: rfc3339_japan(e.created_at),
    }
}

fn consignment_json(c: &onshi_store::Consignment) -> Consignment {
    Consignment {
        id: c.id.clone(),
        employer: c.employer.code.to_string(),
        insurer_number: c.employer.insurer.to_string(),
        institution: c.institution.to_string(),
        valid_from: c.valid_from.to_string(),
        valid_until: c.valid_until.map(|u| u.to_string()),
        recorded_at: rfc3339_japan(c.created_at),
    }
}

fn request_json(r: &onshi_store::CheckupRequest) -> CheckupRequest {
    CheckupRequest {
        employer: r.employer.code.to_string(),
        fiscal_year: r.fiscal_year,
        due_date: r.due_date.to_string(),
        requested_at: rfc3339_japan(r.requested_at),
        covered: r.covered,
        arrived: r.arrived,
        overdue: r.overdue,
    }
}

/// Each required field of `f` parsed by `parse`, or every error at once.
macro_rules! required {
    ($f:expr, $errors:expr, $name:literal, $parse:expr) => {
        match $f.text.get($name).map(String::as_str) {
            None | Some("") => {
                $errors.push(FieldError::new($name, "is required"));
                None
            }
            Some(v) => match $parse(v) {
                Ok(v) => Some(v),
                Err(reason) => {
                    $errors.push(FieldError::new($name, reason));
                    None
                }
            },
        }
    };
}

/// Register an employer (事業所) of yours; its API token is in the answer, once.
#[utoipa::path(post, path = "/v1/employers", tag = "employers",
    request_body(content = onshi_api::EmployerBody),
    responses(
        (status = 201, description = "registered, with the employer's token", body = RegisteredEmployer),
        (status = 409, description = "the code is registered already", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn create_employer(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    body: Bytes,
) -> Result<(StatusCode, Json<RegisteredEmployer>), Problem> {
    let f = read_fields(&body, &["code", "name", "industry", "prefecture"])?;
    let mut errors = Vec::new();
    let code = required!(f, errors, "code", EmployerCode::parse);
    let name = required!(f, errors, "name", |v: &str| {
        let v = onshi_domain::text::normalize(v);
        if v.chars().count() > 100 || v.chars().any(char::is_control) {
            Err("must be at most 100 characters, without control characters".to_owned())
        } else {
            Ok(v)
        }
    });
    let industry = required!(f, errors, "industry", Industry::parse);
    let prefecture = required!(f, errors, "prefecture", Prefecture::parse);
    let (Some(code), Some(name), Some(industry), Some(prefecture)) =
        (code, name, industry, prefecture)
    else {
        return Err(Problem::validation(errors));
    };
    let employer = onshi_store::Employer {
        id: EmployerRef {
            insurer: insurer.clone(),
            code,
        },
        name,
        industry,
        prefecture,
        created_at: state.clock.now(),
    };
    let (token, hash) = token::mint(TokenKind::Employer).map_err(|_| Problem::internal())?;
    state
        .store
        .create_employer(&employer, &hash, &Actor::Insurer(insurer))
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredEmployer {
            employer: employer_json(&employer),
            token,
        }),
    ))
}

/// Your employers.
#[utoipa::path(get, path = "/v1/employers", tag = "employers",
    responses((status = 200, description = "by code", body = EmployerList)),
    security(("insurer_token" = [])))]
pub async fn list_employers(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
) -> Result<Json<EmployerList>, Problem> {
    let employers = state.store.employers(&insurer).await?;
    Ok(Json(EmployerList {
        employers: employers.iter().map(employer_json).collect(),
    }))
}

/// Request an employer's checkup results of a fiscal year (or move the due date), as the law
/// lets an insurer do for every age since 2022.
#[utoipa::path(put, path = "/v1/employers/{code}/checkup-requests/{fiscal_year}", tag = "employers",
    params(("code" = String, Path, description = "事業所コード"),
           ("fiscal_year" = i32, Path, description = "年度, e.g. 2026 for April 2026 to March 2027")),
    request_body(content = onshi_api::CheckupRequestBody),
    responses(
        (status = 200, description = "the request with what has arrived", body = CheckupRequest),
        (status = 404, description = "no such employer of yours", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn request_checkups(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path((code, fiscal_year)): Path<(String, i32)>,
    body: Bytes,
) -> Result<Json<CheckupRequest>, Problem> {
    let code = EmployerCode::parse(&code).map_err(|_| Problem::not_found("employer"))?;
    let f = read_fields(&body, &["due_date"])?;
    let mut errors = Vec::new();
    let due = required!(f, errors, "due_date", parse_date);
    if !(2008..=2100).contains(&fiscal_year) {
        errors.push(FieldError::new(
            "fiscal_year",
            "must be a year from 2008 (特定健診 began) to 2100",
        ));
    }
    let Some(due) = due.filter(|_| errors.is_empty()) else {
        return Err(Problem::validation(errors));
    };
    let employer = EmployerRef {
        insurer: insurer.clone(),
        code: code.clone(),
    };
    let now = state.clock.now();
    state
        .store
        .request_checkups(&employer, fiscal_year, due, now)
        .await?;
    let requests = state
        .store
        .checkup_requests(&insurer, Some(&code), fiscal_year, japan_date(now))
        .await?;
    requests
        .first()
        .map(|r| Json(request_json(r)))
        .ok_or_else(|| Problem::not_found("request"))
}

/// Your requests to employers for a fiscal year: who is covered, what has arrived, what is
/// overdue.
#[utoipa::path(get, path = "/v1/checkup-requests/{fiscal_year}", tag = "employers",
    params(("fiscal_year" = i32, Path, description = "年度")),
    responses((status = 200, description = "by employer code", body = CheckupRequestList)),
    security(("insurer_token" = [])))]
pub async fn list_requests(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(fiscal_year): Path<i32>,
) -> Result<Json<CheckupRequestList>, Problem> {
    let today = japan_date(state.clock.now());
    let requests = state
        .store
        .checkup_requests(&insurer, None, fiscal_year, today)
        .await?;
    Ok(Json(CheckupRequestList {
        requests: requests.iter().map(request_json).collect(),
    }))
}

/// The requests your insurer made of you for a fiscal year (employer token).
#[utoipa::path(get, path = "/v1/employer/checkup-requests/{fiscal_year}", tag = "employers",
    params(("fiscal_year" = i32, Path, description = "年度")),
    responses((status = 200, description = "this employer's request, if any", body = CheckupRequestList)),
    security(("employer_token" = [])))]
pub async fn own_requests(
    State(state): State<AppState>,
    AuthenticatedEmployer(employer): AuthenticatedEmployer,
    Path(fiscal_year): Path<i32>,
) -> Result<Json<CheckupRequestList>, Problem> {
    let today = japan_date(state.clock.now());
    let requests = state
        .store
        .checkup_requests(&employer.insurer, Some(&employer.code), fiscal_year, today)
        .await?;
    Ok(Json(CheckupRequestList {
        requests: requests.iter().map(request_json).collect(),
    }))
}

/// Consign a checkup institution to deliver your employees' employer-checkup results to your
/// insurer for a period (employer token).
#[utoipa::path(post, path = "/v1/consignments", tag = "employers",
    request_body(content = onshi_api::ConsignmentBody),
    responses(
        (status = 201, description = "recorded", body = Consignment),
        (status = 404, description = "no such institution", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("employer_token" = [])))]
pub async fn consign(
    State(state): State<AppState>,
    AuthenticatedEmployer(employer): AuthenticatedEmployer,
    body: Bytes,
) -> Result<(StatusCode, Json<Consignment>), Problem> {
    let f = read_fields(&body, &["institution", "valid_from", "valid_until"])?;
    let mut errors = Vec::new();
    let institution = required!(f, errors, "institution", InstitutionNumber::parse);
    let from = required!(f, errors, "valid_from", parse_date);
    let until = match f.text.get("valid_until").map(String::as_str) {
        None | Some("") => None,
        Some(v) => match parse_date(v) {
            Ok(d) => Some(d),
            Err(reason) => {
                errors.push(FieldError::new("valid_until", reason));
                None
            }
        },
    };
    if let (Some(from), Some(until)) = (from, until)
        && until < from
    {
        errors.push(FieldError::new(
            "valid_until",
            "must not be before valid_from",
        ));
    }
    let (Some(institution), Some(from)) = (institution, from) else {
        return Err(Problem::validation(errors));
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let c = state
        .store
        .add_consignment(
            &Actor::Employer(employer.clone()),
            &employer,
            &institution,
            from,
            until,
            state.clock.now(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(consignment_json(&c))))
}

/// Your consignments (employer token).
#[utoipa::path(get, path = "/v1/consignments", tag = "employers",
    responses((status = 200, description = "oldest first", body = ConsignmentList)),
    security(("employer_token" = [])))]
pub async fn list_consignments(
    State(state): State<AppState>,
    AuthenticatedEmployer(employer): AuthenticatedEmployer,
) -> Result<Json<ConsignmentList>, Problem> {
    let list = state.store.consignments(&employer).await?;
    Ok(Json(ConsignmentList {
        consignments: list.iter().map(consignment_json).collect(),
    }))
}

/// End one of your consignments: exams after `last_day` are no longer covered.
#[utoipa::path(post, path = "/v1/consignments/{id}/end", tag = "employers",
    params(("id" = String, Path, description = "consignment id")),
    request_body(content = onshi_api::ConsignmentEndBody),
    responses(
        (status = 200, description = "the consignment as it now stands", body = Consignment),
        (status = 404, description = "no such consignment of yours", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("employer_token" = [])))]
pub async fn end_consignment(
    State(state): State<AppState>,
    AuthenticatedEmployer(employer): AuthenticatedEmployer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Consignment>, Problem> {
    let f = read_fields(&body, &["last_day"])?;
    let mut errors = Vec::new();
    let Some(last_day) = required!(f, errors, "last_day", parse_date) else {
        return Err(Problem::validation(errors));
    };
    let c = state
        .store
        .end_consignment(
            &Actor::Employer(employer.clone()),
            &employer,
            &id,
            last_day,
            state.clock.now(),
        )
        .await?;
    Ok(Json(consignment_json(&c)))
}

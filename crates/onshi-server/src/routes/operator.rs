//! The operator's public side over HTTP: the adoption dashboard (JSON, page, CSV), the weekly
//! editions of public hospitals (list, page, the frozen CSV byte for byte), and the subsidy
//! calculator (JSON and a form page). Public and without personal data: no token.

use askama::Template;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use onshi_api::operator::{
    AdoptionDashboard, SubsidyEstimate, SubsidyRequest, WeeklyEditionInfo, WeeklyEditionList,
};
use onshi_domain::japan::rfc3339_japan;

use crate::AppState;
use crate::adoption::{dashboard, dashboard_csv, edition_rows, weeks_csv};
use crate::problem::{ApiJson, Problem};
use crate::routes::pages::html;

/// The adoption dashboard's figures.
#[utoipa::path(get, path = "/v1/adoption", tag = "operator",
    responses((status = 200, description = "the figures now and by week", body = AdoptionDashboard)))]
pub async fn get_adoption(
    State(state): State<AppState>,
) -> Result<Json<AdoptionDashboard>, Problem> {
    Ok(Json(dashboard(&state.store, state.clock.now()).await?))
}

/// Every weekly edition of the public hospitals' reader applications, newest first.
#[utoipa::path(get, path = "/v1/weekly-editions", tag = "operator",
    responses((status = 200, description = "the editions; each is served as a page at /weekly/{edition} and its CSV at /weekly/{edition}.csv", body = WeeklyEditionList)))]
pub async fn list_editions(
    State(state): State<AppState>,
) -> Result<Json<WeeklyEditionList>, Problem> {
    let editions = state
        .store
        .edition_summaries()
        .await?
        .into_iter()
        .map(|e| WeeklyEditionInfo {
            edition: e.edition,
            published_at: rfc3339_japan(e.published_at),
            content_hash: e.content_hash,
        })
        .collect();
    Ok(Json(WeeklyEditionList { editions }))
}

/// What the card-reader subsidy pays for an application, and why.
#[utoipa::path(post, path = "/v1/subsidy/estimate", tag = "operator",
    request_body = SubsidyRequest,
    responses((status = 200, description = "the period applied, free readers, the subsidy per item and in total, the reasons", body = SubsidyEstimate)))]
pub async fn estimate_subsidy(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SubsidyRequest>,
) -> Result<Json<SubsidyEstimate>, Problem> {
    let app = body
        .to_application()
        .map_err(|e| Problem::validation(vec![e]))?;
    let rules = state.subsidy_rules.as_ref().ok_or_else(Problem::internal)?;
    let estimate = rules.estimate(&app).map_err(|e| {
        Problem::validation(vec![onshi_domain::FieldError::new("facility_kind", e)])
    })?;
    Ok(Json(SubsidyEstimate::new(&app, &estimate)))
}

/// A public file: its type, a name, and a short cache (the figures move).
fn public_file(body: String, content_type: &'static str, name: Option<&str>) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(name) = name
        && let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// `GET /adoption`: the dashboard page.
pub async fn adoption_page(State(state): State<AppState>) -> Result<Response, Problem> {
    let d = dashboard(&state.store, state.clock.now()).await?;
    Ok(html(
        StatusCode::OK,
        onshi_pages::AdoptionPage::new(&d).render(),
    ))
}

/// `GET /adoption.csv`: the dashboard's tables.
pub async fn adoption_csv(State(state): State<AppState>) -> Result<Response, Problem> {
    let d = dashboard(&state.store, state.clock.now()).await?;
    Ok(public_file(
        dashboard_csv(&d),
        "text/csv; charset=utf-8",
        Some("adoption.csv"),
    ))
}

/// `GET /adoption/weeks.csv`: the weekly series, by kind and by prefecture.
pub async fn adoption_weeks_csv(State(state): State<AppState>) -> Result<Response, Problem> {
    let now = state.clock.now();
    let d = dashboard(&state.store, now).await?;
    let prefectures = crate::adoption::weekly_by_prefecture(&state.store, now).await?;
    Ok(public_file(
        weeks_csv(&d, &prefectures),
        "text/csv; charset=utf-8",
        Some("adoption-weeks.csv"),
    ))
}

/// `GET /weekly`: the list of editions.
pub async fn weekly_index(State(state): State<AppState>) -> Result<Response, Problem> {
    let editions = state.store.editions().await?;
    Ok(html(
        StatusCode::OK,
        onshi_pages::WeeklyIndex { editions }.render(),
    ))
}

/// `GET /weekly/{edition}` (the page) and `GET /weekly/{edition}.csv` (the CSV as published,
/// byte for byte, with its SHA-256 in `ETag`).
pub async fn weekly_edition(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, Problem> {
    let (edition, csv) = match file.strip_suffix(".csv") {
        Some(e) => (e, true),
        None => (file.as_str(), false),
    };
    if onshi_domain::parse_date(edition).is_err() || edition.len() != 10 {
        return Err(Problem::not_found("edition"));
    }
    let Some(found) = state.store.edition(edition).await? else {
        return Err(Problem::not_found("edition"));
    };
    if csv {
        let name = format!("public-hospitals-{edition}.csv");
        let mut r = public_file(found.content, "text/csv; charset=utf-8", Some(&name));
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", found.content_hash)) {
            r.headers_mut().insert(header::ETAG, v);
        }
        return Ok(r);
    }
    let rows = edition_rows(&found.content);
    let page = onshi_pages::WeeklyPage::new(
        &found.edition,
        &rfc3339_japan(found.published_at),
        &found.content_hash,
        rows.iter()
            .map(|r| onshi_pages::EditionHospital {
                code: r.code.clone(),
                name: r.name.clone(),
                prefecture: crate::adoption::prefecture_name(r.prefecture).to_owned(),
                applied: r.applied,
                applied_on: r.applied_on.clone(),
                ready: r.ready,
            })
            .collect(),
    );
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /subsidy`: the calculator, a form whose answer is the same page with the estimate
/// (`GET` with the application in the query, so it works without script and can be linked).
pub async fn subsidy_page(
    State(state): State<AppState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, Problem> {
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut form = onshi_pages::SubsidyForm {
        facility_kind: get("facility_kind"),
        large_chain: get("large_chain") == "1",
        readers: get("readers"),
        readers_applied_on: get("readers_applied_on"),
        completed_on: get("completed_on"),
        subsidy_applied_on: get("subsidy_applied_on"),
        operation_started_on: get("operation_started_on"),
        costs: (0..onshi_pages::COST_ROWS)
            .map(|i| (get(&format!("label{i}")), get(&format!("yen{i}"))))
            .collect(),
    };
    if form.facility_kind.is_empty() {
        form.facility_kind = "hospital".into();
        form.readers = "1".into();
        return Ok(html(
            StatusCode::OK,
            onshi_pages::SubsidyPage::new(form, None, Vec::new()).render(),
        ));
    }
    let mut errors = Vec::new();
    let mut costs = Vec::new();
    for (i, (label, yen)) in form.costs.iter().enumerate() {
        if yen.is_empty() && label.is_empty() {
            continue;
        }
        match yen.replace([',', '_'], "").parse::<u64>() {
            Ok(n) => costs.push(onshi_api::operator::SubsidyCost {
                label: if label.is_empty() {
                    format!("費用{}", i + 1)
                } else {
                    label.clone()
                },
                yen: n,
                tax_included: true,
            }),
            Err(_) => errors.push(format!("費用{}: 金額は円の整数で入力してください", i + 1)),
        }
    }
    let readers = form.readers.parse::<u8>().unwrap_or(0);
    let request = SubsidyRequest {
        facility_kind: form.facility_kind.clone(),
        large_chain: form.large_chain,
        readers,
        readers_applied_on: form.readers_applied_on.clone(),
        completed_on: Some(form.completed_on.clone()).filter(|s| !s.is_empty()),
        subsidy_applied_on: Some(form.subsidy_applied_on.clone()).filter(|s| !s.is_empty()),
        operation_started_on: Some(form.operation_started_on.clone()).filter(|s| !s.is_empty()),
        costs,
    };
    let mut estimate = None;
    if errors.is_empty() {
        match request.to_application() {
            Err(e) => errors.push(format!("{}: {}", e.field, e.reason)),
            Ok(app) => match state.subsidy_rules.as_ref().map(|r| r.estimate(&app)) {
                Some(Ok(e)) => estimate = Some(SubsidyEstimate::new(&app, &e)),
                Some(Err(e)) => errors.push(e),
                None => return Err(Problem::internal()),
            },
        }
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(html(
        status,
        onshi_pages::SubsidyPage::new(form, estimate, errors).render(),
    ))
}

//! onshi's HTTP server: the only crate that knows HTTP, and the eligibility workflow it serves.
//!
//! - [`router`] builds the axum router and the OpenAPI document together (utoipa-axum), so every
//!   route is documented by construction; the document is served at `/openapi.json`.
//! - [`mod@routes`]: the handlers (members, eligibility, bulk, FHIR); thin: read, call, answer.
//! - [`eligibility`]: the eligibility workflow, without HTTP: challenges, proofs, checks,
//!   registration, the portal, bulk look-ups; its errors are [`eligibility::CheckError`].
//! - [`problem`]: the one error shape (RFC 9457 problem details) and the one mapping of
//!   workflow and store errors to it.
//! - [`auth`]: the authenticated insurer or facility of a request (tokens, and the client
//!   certificate under mutual TLS).
//! - [`background`]: resuming bulk look-ups and forgetting used challenges.
//! - [`tls`]: HTTPS and mutual TLS; [`trust`]: the card trust anchors and CRLs in force.
//!
//! Request logs carry the method, the route *template* (never the raw path or query, which can
//! hold card numbers), the status and the latency, and nothing from bodies.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router};
use onshi_api::Health;
use time::OffsetDateTime;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use onshi_domain::{ChallengeKey, Clock, InsurerNumber, MyNumberKey};
use onshi_store::{Actor, Store};

pub mod adoption;
pub mod auth;
pub mod background;
pub mod checkups;
pub mod connections;
pub mod eligibility;
pub mod problem;
pub mod routes;
pub mod tls;
pub mod trust;

use routes::{audit, bulk, eligibility as checks, fhir, members};

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The registry.
    pub store: Store,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The deployment's key for My Number hashes.
    pub my_number_key: MyNumberKey,
    /// Trust anchors and CRLs for card checks.
    pub trust: Arc<trust::Trust>,
    /// Facility tokens recently found in the store.
    pub facility_tokens: Arc<auth::FacilityTokens>,
    /// Insurer names for results.
    pub insurer_names: Arc<eligibility::insurer_names::InsurerNames>,
    /// The largest checkup archive an upload takes ([`routes::checkups::ARCHIVE_LIMIT`]).
    pub archive_limit: usize,
    /// Per-facility rate limits on checks and on look-ups that matched no one.
    pub rate_limits: Arc<eligibility::limits::RateLimits>,
    /// Where the operator keeps signed audit checkpoints (served at `/v1/audit/checkpoint`).
    pub audit_checkpoints: Option<std::path::PathBuf>,
    /// Seals and opens card challenges (derived from `my_number_key`, so every server of a
    /// deployment opens every other's).
    pub challenge_key: ChallengeKey,
    /// Whether page cookies carry `Secure` (served over TLS).
    pub secure_cookies: bool,
    /// How long page sessions and their login codes live.
    pub session_times: onshi_store::SessionTimes,
    /// The reports each fiscal year published, kept until its cells change.
    pub published_reports: Arc<routes::programme::PublishedReports>,
    /// The card-reader subsidy rules in force (the shipped ones unless `serve` was given a
    /// corrected file); `None` only if the shipped file were broken, which its tests rule out.
    pub subsidy_rules: Option<Arc<onshi_domain::subsidy::SubsidyRules>>,
    /// The day of the week (Japan) the public hospitals' edition is published; `None`: never
    /// by the scheduler (`onshi publish weekly` still can).
    pub weekly_on: Option<time::Weekday>,
}

impl AppState {
    /// The state of a server over `store`.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        my_number_key: MyNumberKey,
        trust: Arc<trust::Trust>,
    ) -> Self {
        Self {
            store,
            clock,
            challenge_key: ChallengeKey::derive(&my_number_key),
            my_number_key,
            trust,
            facility_tokens: Arc::default(),
            insurer_names: Arc::default(),
            audit_checkpoints: None,
            rate_limits: Arc::default(),
            archive_limit: routes::checkups::ARCHIVE_LIMIT,
            secure_cookies: false,
            session_times: onshi_store::SessionTimes::default(),
            published_reports: Arc::default(),
            subsidy_rules: onshi_domain::subsidy::SubsidyRules::shipped()
                .ok()
                .map(Arc::new),
            weekly_on: Some(time::Weekday::Monday),
        }
    }

    fn actor(&self, insurer: &InsurerNumber) -> Actor {
        Actor::Insurer(insurer.clone())
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onshi",
        description = "Online health-insurance eligibility verification (オンライン資格確認). \
                       Errors are RFC 9457 problem details.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerToken),
    tags((name = "members", description = "An insurer's members and their qualifications (資格情報)"),
         (name = "eligibility", description = "Eligibility confirmation (資格確認) by card or card number, for facilities"),
         (name = "checkups", description = "Health-checkup results (特定健診等): archives sent to insurers, and results read by facilities under the patient's consent"),
         (name = "employers", description = "Employers (事業所), their consignments of checkup institutions, and insurers' requests for their checkup results"),
         (name = "portal", description = "The insured person's own portal: registration for insurance use, access history and checkup results"),
         (name = "operator", description = "The operator's public figures: the adoption dashboard, the weekly editions of public hospitals, the card-reader subsidy calculator; no token"),
         (name = "audit", description = "The audit log's signed checkpoint and inclusion proofs: hashes only, no token"),
         (name = "system", description = "Liveness and this document"))
)]
struct ApiDoc;

struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, whose) in [
            (
                "facility_token",
                "The facility's API token, from `onshi facility add`",
            ),
            (
                "insurer_token",
                "The insurer's API token, from `onshi insurer add`",
            ),
            (
                "employer_token",
                "An employer's API token, from `onshi employer add` (run by its insurer's operator)",
            ),
            (
                "institution_token",
                "A checkup institution's API token, from `onshi institution add`",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(whose))
                        .build(),
                ),
            );
        }
    }
}

/// Operations outside the `system` tag that never read the store (so never answer 500 or 503).
const NO_STORE: [&str; 1] = ["/v1/audit/checkpoint"];

/// Documents the responses every operation of a kind shares: 401 for each that needs a token
/// (no token, or an unknown one), 400 and 422 for each that reads a JSON body, 500, and the 503
/// that any operation but the `system` ones
/// (liveness, this document) may answer: each may read the store (a token is looked up there),
/// and so find the registry held by a long import (`Problem::busy`). Added to the finished
/// document, since the routes' operations join it only when the router is split.
fn with_shared_responses(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder, Type};
    // A problem-details response with `description`.
    let problem = |description: &str| {
        ResponseBuilder::new().description(description).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
    };
    let busy = problem(
        "the registry is busy (an import holds it); nothing was done: retry after the \
         seconds that Retry-After gives",
    )
    .header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(Some(utoipa::openapi::schema::Object::with_type(
                Type::Integer,
            )))
            .description(Some("seconds to wait before trying again"))
            .build(),
    )
    .build();
    let unauthorized =
        problem("no token, or an unknown one: send 'Authorization: Bearer <token>'").build();
    let malformed =
        problem("the body is not JSON, or not sent as 'Content-Type: application/json'").build();
    let invalid = problem("invalid fields, each named in `errors`").build();
    let malformed_path =
        problem("the path could not be read (its percent-encoding is not UTF-8)").build();
    let too_large = problem(
        "the body is larger than the route takes (1 MiB; a bulk look-up 16 MiB); nothing was read",
    )
    .build();
    let internal = problem("the server failed; the operator's log has the cause").build();
    for (path, item) in api.paths.paths.iter_mut() {
        // FHIR routes answer every error as an OperationOutcome and document their own.
        if path.starts_with("/fhir/") {
            continue;
        }
        let reads_store = !NO_STORE.contains(&path.as_str());
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                op.responses
                    .responses
                    .entry("401".to_owned())
                    .or_insert_with(|| unauthorized.clone().into());
            }
            // A path parameter that cannot be read (bad percent-encoding) is 400.
            if path.contains('{') {
                op.responses
                    .responses
                    .entry("400".to_owned())
                    .or_insert_with(|| malformed_path.clone().into());
            }
            // A JSON body is read by `ApiJson` (or field by field): not JSON is 400, a field
            // missing, unknown or of the wrong type is 422.
            if op.request_body.is_some() {
                for (status, response) in
                    [("400", &malformed), ("413", &too_large), ("422", &invalid)]
                {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| response.clone().into());
                }
            }
            if reads_store
                && !op
                    .tags
                    .as_ref()
                    .is_some_and(|tags| tags.iter().any(|t| t == "system"))
            {
                op.responses
                    .responses
                    .insert("503".to_owned(), busy.clone().into());
                op.responses
                    .responses
                    .entry("500".to_owned())
                    .or_insert_with(|| internal.clone().into());
            }
        }
    }
    api
}

/// Is the server up?
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, description = "the process answers; `status` is `degraded` while a revocation list is past its nextUpdate", body = Health)))]
async fn healthz(State(state): State<AppState>) -> Json<Health> {
    let stale_crls: Vec<String> = state
        .trust
        .crl_status(state.clock.now())
        .into_iter()
        .filter(|c| c.stale)
        .map(|c| c.issuer)
        .collect();
    Json(Health {
        status: if stale_crls.is_empty() {
            "ok"
        } else {
            "degraded"
        }
        .to_owned(),
        store: state.store.backend_name().to_owned(),
        stale_crls,
    })
}

/// This document: the OpenAPI description of every route.
#[utoipa::path(get, path = "/openapi.json", tag = "system", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi(
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Json<utoipa::openapi::OpenApi> {
    Json((*doc).clone())
}

/// The router with every route, and the OpenAPI document describing exactly those routes.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(openapi))
        .routes(routes!(members::list_members, members::create_member))
        .routes(routes!(members::get_member, members::change_member))
        .routes(routes!(members::end_member))
        .routes(routes!(members::member_history))
        .routes(routes!(checks::facility_challenge))
        .routes(routes!(checks::portal_challenge))
        .routes(routes!(checks::check_card))
        .routes(routes!(checks::check_number))
        .routes(routes!(fhir::coverage_eligibility))
        .routes(routes!(fhir::metadata))
        .routes(routes!(fhir::checkup_bundles))
        .routes(routes!(audit::checkpoint))
        .routes(routes!(audit::proof))
        .routes(routes!(fhir::validity_structure_definition))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(bulk::submit))
                .layer(DefaultBodyLimit::max(BULK_BODY_LIMIT)),
        )
        .routes(routes!(bulk::status))
        .routes(routes!(routes::checkups::upload))
        .routes(routes!(routes::checkups::upload_csv))
        .routes(routes!(routes::checkups::facility_checkups))
        .routes(routes!(routes::checkups::by_card))
        .routes(routes!(routes::checkups::unmatched))
        .routes(routes!(routes::checkups::resolve_match))
        .routes(routes!(routes::checkups::transfer))
        .routes(routes!(routes::programme::get_summary))
        .routes(routes!(routes::programme::get_people))
        .routes(routes!(routes::programme::record_event))
        .routes(routes!(routes::programme::upload_guidance_csv))
        .routes(routes!(routes::programme::upload_medical_costs))
        .routes(routes!(routes::programme::put_workplace_group))
        .routes(routes!(checks::portal_checkups))
        .routes(routes!(
            routes::organisations::create_employer,
            routes::organisations::list_employers
        ))
        .routes(routes!(routes::organisations::request_checkups))
        .routes(routes!(routes::organisations::list_requests))
        .routes(routes!(routes::organisations::own_requests))
        .routes(routes!(
            routes::organisations::consign,
            routes::organisations::list_consignments
        ))
        .routes(routes!(routes::organisations::end_consignment))
        .routes(routes!(checks::facility_registration))
        .routes(routes!(checks::portal_registration))
        .routes(routes!(checks::portal_access_log))
        .routes(routes!(routes::pages::login_code))
        .routes(routes!(routes::operator::get_adoption))
        .routes(routes!(routes::operator::list_editions))
        .routes(routes!(routes::operator::estimate_subsidy))
        .split_for_parts();
    let api = with_shared_responses(api);
    // The pages for people: HTML, not in the OpenAPI document.
    let router = router
        .route("/portal/login", axum::routing::get(routes::pages::login))
        .route(
            "/portal/checkups",
            axum::routing::get(routes::pages::checkups),
        )
        .route("/portal", axum::routing::get(routes::pages::home))
        .route(
            "/portal/consents/withdraw",
            axum::routing::post(routes::pages::withdraw),
        )
        .route("/portal/logout", axum::routing::post(routes::pages::logout))
        .route(
            "/static/style.css",
            axum::routing::get(routes::pages::style),
        )
        .route(
            "/staff/login",
            axum::routing::get(routes::console::login_form).post(routes::console::login),
        )
        .route(
            "/staff/logout",
            axum::routing::post(routes::console::logout),
        )
        .route(
            "/console/members",
            axum::routing::get(routes::console::members),
        )
        .route(
            "/console/activity",
            axum::routing::get(routes::console::activity),
        )
        .route(
            "/console/imports",
            axum::routing::get(routes::console::imports),
        )
        .route(
            "/console/programme",
            axum::routing::get(routes::console::programme),
        )
        .route(
            "/console/programme/people",
            axum::routing::get(routes::console::programme_people),
        )
        .route(
            "/console/programme/people.csv",
            axum::routing::get(routes::console::programme_people_csv),
        )
        .route(
            "/console/report",
            axum::routing::get(routes::console::report),
        )
        .route(
            "/console/report.csv",
            axum::routing::get(routes::console::report_csv),
        )
        .route(
            "/console/workplace",
            axum::routing::get(routes::console::workplace),
        )
        .route(
            "/employer/sheet",
            axum::routing::get(routes::console::employer_sheet),
        )
        .route(
            "/employer/report",
            axum::routing::get(routes::console::employer_report),
        )
        .route(
            "/employer/report.csv",
            axum::routing::get(routes::console::employer_report_csv),
        )
        .route(
            "/employer/requests",
            axum::routing::get(routes::console::employer_requests),
        )
        .route(
            "/operator/reports",
            axum::routing::get(routes::console::operator_reports),
        )
        .route(
            "/operator/reports.csv",
            axum::routing::get(routes::console::operator_reports_csv),
        )
        .route(
            "/operator/facilities",
            axum::routing::get(routes::console::operator_facilities),
        )
        .route(
            "/operator/facilities/approve",
            axum::routing::post(routes::console::approve_facility),
        )
        .route(
            "/staff/home",
            axum::routing::get(routes::console::staff_home),
        )
        .route(
            "/adoption",
            axum::routing::get(routes::operator::adoption_page),
        )
        .route(
            "/adoption.csv",
            axum::routing::get(routes::operator::adoption_csv),
        )
        .route(
            "/adoption/weeks.csv",
            axum::routing::get(routes::operator::adoption_weeks_csv),
        )
        .route(
            "/weekly",
            axum::routing::get(routes::operator::weekly_index),
        )
        .route(
            "/weekly/{file}",
            axum::routing::get(routes::operator::weekly_edition),
        )
        .route(
            "/subsidy",
            axum::routing::get(routes::operator::subsidy_page),
        );
    let router = router
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(Extension(Arc::new(api.clone())))
        .fallback(|| async { problem::Problem::not_found("route") })
        .layer(middleware::from_fn_with_state(
            state.archive_limit,
            uniform_errors,
        ))
        .layer(middleware::from_fn(log_request))
        .with_state(state);
    (router, api)
}

/// The largest body a route takes, but a bulk look-up's.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// The largest bulk look-up body: 50,000 rows of up to about 300 bytes each.
pub const BULK_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// The errors axum answers itself (a body over the route's limit, a method the path does not
/// take, a path or query its extractors cannot read) in the one error shape: problem details naming the limit, or for FHIR routes an
/// OperationOutcome; the `Allow` header of a 405 is kept.
async fn uniform_errors(
    State(archive_limit): State<usize>,
    request: Request,
    next: Next,
) -> Response {
    // A MatchedPath clone is a reference count, not a copy: nothing is allocated per request.
    let path = request.extensions().get::<MatchedPath>().cloned();
    let path = path.as_ref().map(MatchedPath::as_str);
    let response = next.run(request).await;
    let status = response.status();
    let shaped = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            // A page's error is a page (its own shape, for people).
            t.starts_with("application/problem+json")
                || t.starts_with("application/fhir+json")
                || t.starts_with("text/html")
        });
    let always = status == axum::http::StatusCode::PAYLOAD_TOO_LARGE
        || status == axum::http::StatusCode::METHOD_NOT_ALLOWED;
    if !always && (shaped || !(status.is_client_error() || status.is_server_error())) {
        return response;
    }
    if !always {
        // Any other error axum answered itself in plain text: a path or query its extractors
        // could not read (bad percent-encoding, say). The text is not repeated: it can quote
        // what was sent.
        let problem = problem::Problem::new(
            status,
            "bad-request",
            "Malformed request",
            "the request's path or query could not be read (its percent-encoding or a value's type)",
        );
        return if path.is_some_and(|p| p.starts_with("/fhir/")) {
            routes::fhir::outcome_of(&problem)
        } else {
            problem.into_response()
        };
    }
    // The body limit of each route, in one place.
    let limit = match path {
        Some("/v1/bulk-checks") => BULK_BODY_LIMIT,
        Some("/v1/checkup-archives/{name}") => archive_limit,
        _ => BODY_LIMIT,
    };
    let problem = if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        problem::Problem::too_large(limit)
    } else {
        problem::Problem::method_not_allowed()
    };
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let mut answer = if path.is_some_and(|p| p.starts_with("/fhir/")) {
        routes::fhir::outcome_of(&problem)
    } else {
        problem.into_response()
    };
    if let Some(allow) = allow {
        answer
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    answer
}

async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(unmatched)".to_owned(), |p| p.as_str().to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    response.into_response()
}

/// Serves `state` on `listener` until `shutdown` completes, with the connection limits and
/// time-outs of `settings` ([`connections`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    settings: connections::ConnectionSettings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    background::start(&state).await;
    let (router, _) = router(state);
    connections::serve(listener, router, None, settings, shutdown).await
}

//! The insurer API for members (被保険者の資格情報): create, read, change, end, history, list.
//!
//! An insurer sees only its own members; another insurer's member is answered 404, exactly like a
//! member that does not exist, so a token cannot even learn which ids exist elsewhere.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onshi_api::{EndBody, Member, MemberBody, MemberHistory, MemberPage};
use serde_json::{Map, Value};

use onshi_domain::card::CARD_COLUMNS;
use onshi_domain::japan::rfc3339_japan;
use onshi_domain::limit::LIMIT_COLUMNS;
use onshi_domain::{
    CardInput, FieldError, InsurerNumber, LimitInput, MemberDetails, MemberInput, MyNumber,
    PersonRef, parse_date,
};
use onshi_store::MemberRecord;

use crate::AppState;
use crate::auth::AuthenticatedInsurer;
use crate::problem::Problem;

/// A stored member version as the API shows it.
pub(crate) fn member_view(m: &MemberRecord) -> Member {
    let d = &m.details;
    Member {
        id: m.id.clone(),
        version: m.version,
        insurer_number: m.key.insurer.to_string(),
        symbol: m.key.symbol.to_string(),
        number: m.key.number.to_string(),
        branch: m.key.branch.to_string(),
        name: d.name.0.clone(),
        name_kana: d.name_kana.0.clone(),
        birth_date: d.birth_date.0.to_string(),
        sex: d.sex.into(),
        relationship: d.relationship.into(),
        qualified_from: d.qualified_from.to_string(),
        qualified_until: d.qualified_until.map(|u| u.to_string()),
        loss_reason: d.loss_reason.map(Into::into),
        copay_ratio: d.copay_ratio.percent(),
        limit_certificate: d.limit.as_ref().map(Into::into),
        card: (!d.card.is_empty()).then(|| (&d.card).into()),
        employer: d.employer.as_ref().map(|e| e.as_str().to_owned()),
        person_linked: d.person.is_some(),
        recorded_at: rfc3339_japan(m.recorded_at),
        source: m.source.clone(),
    }
}

const MEMBER_FIELDS: [&str; 32] = onshi_domain::import::COLUMNS;

/// The `limit_*` fields of a body, read by `get`.
fn limit_input<'a>(get: impl Fn(&str) -> &'a str) -> LimitInput<'a> {
    LimitInput::from_columns(LIMIT_COLUMNS.map(get))
}

/// The card fields of a body (`card_*`, `insured_name`, `address`, `post_number`,
/// `elderly_*`), read by `get`.
fn card_input<'a>(get: impl Fn(&str) -> &'a str) -> CardInput<'a> {
    CardInput::from_columns(CARD_COLUMNS.map(get))
}

/// The fields a body may give as JSON numbers: codes and percentages.
const NUMERIC_FIELDS: [&str; 7] = [
    "sex",
    "relationship",
    "copay_ratio",
    "loss_reason",
    "limit_class",
    "card_class",
    "elderly_copay_ratio",
];

/// A JSON object's members as text, checked against the fields a route takes.
pub(crate) struct Fields {
    pub(crate) text: HashMap<String, String>,
    nulls: Vec<String>,
    version: Option<i64>,
}

pub(crate) fn read_fields(body: &Bytes, allowed: &[&str]) -> Result<Fields, Problem> {
    let map: Map<String, Value> = serde_json::from_slice(body)
        // serde's message quotes what it found (a bare string: a My Number, say): say where.
        .map_err(|e| {
            Problem::bad_request(format!(
                "the body must be a JSON object (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
    let mut errors = Vec::new();
    let mut fields = Fields {
        text: HashMap::new(),
        nulls: Vec::new(),
        version: None,
    };
    for (name, value) in map {
        if name == "version" {
            match value.as_i64() {
                Some(v) => fields.version = Some(v),
                None => errors.push(FieldError::new("version", "must be an integer")),
            }
            continue;
        }
        if !allowed.contains(&name.as_str()) {
            errors.push(FieldError::new(name, "unknown field"));
            continue;
        }
        match value {
            Value::String(s) => {
                fields.text.insert(name, s);
            }
            // Numbers only where a field is a number or a code; elsewhere (card numbers,
            // dates, names) a JSON number loses leading zeros or is not what was meant.
            Value::Number(n) if NUMERIC_FIELDS.contains(&name.as_str()) => {
                fields.text.insert(name, n.to_string());
            }
            Value::Number(_) => errors.push(FieldError::new(
                name,
                "must be a string (a number would lose its leading zeros)",
            )),
            Value::Null => fields.nulls.push(name),
            _ => errors.push(FieldError::new(name, "must be a string")),
        }
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(Problem::validation(errors))
    }
}

fn if_match(headers: &HeaderMap) -> Result<Option<i64>, Problem> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
            .and_then(|s| s.parse().ok())
            .map(Some)
            .ok_or_else(|| {
                Problem::validation(vec![FieldError::new(
                    "If-Match",
                    "must be a member version, e.g. \"3\"",
                )])
            }),
    }
}

fn member_response(status: StatusCode, record: &MemberRecord) -> Response {
    let mut response = (status, Json(member_view(record))).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", record.version)) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

fn hash_my_number(state: &AppState, text: &str) -> Result<Option<PersonRef>, FieldError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let n = MyNumber::parse(text).map_err(|reason| FieldError::new("my_number", reason))?;
    Ok(Some(state.my_number_key.person_ref(&n)))
}

/// Register a member (資格取得).
#[utoipa::path(post, path = "/v1/members", tag = "members",
    request_body(content = MemberBody, description = "the new member"),
    responses(
        (status = 201, description = "created; `ETag` is the version", body = Member),
        (status = 409, description = "a member with this card key exists", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn create_member(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    body: Bytes,
) -> Result<Response, Problem> {
    let f = read_fields(&body, &MEMBER_FIELDS)?;
    let get = |name: &str| f.text.get(name).map_or("", String::as_str);
    let own = insurer.to_string();
    let input = MemberInput {
        insurer_number: f
            .text
            .get("insurer_number")
            .map_or(own.as_str(), String::as_str),
        symbol: get("symbol"),
        number: get("number"),
        branch: get("branch"),
        name: get("name"),
        name_kana: get("name_kana"),
        birth_date: get("birth_date"),
        sex: get("sex"),
        relationship: get("relationship"),
        qualified_from: get("qualified_from"),
        qualified_until: get("qualified_until"),
        copay_ratio: get("copay_ratio"),
        my_number: get("my_number"),
        loss_reason: get("loss_reason"),
        limit: limit_input(get),
        card: card_input(get),
        employer: get("employer"),
    };
    let mut valid = input.validate().map_err(Problem::validation)?;
    if valid.key.insurer != insurer {
        return Err(Problem::validation(vec![FieldError::new(
            "insurer_number",
            format!("must be your own insurer number ({insurer})"),
        )]));
    }
    valid.details.person = valid
        .my_number
        .as_ref()
        .map(|n| state.my_number_key.person_ref(n));
    let record = state
        .store
        .create_member(
            &state.actor(&insurer),
            &valid.key,
            &valid.details,
            state.clock.now(),
        )
        .await?;
    Ok(member_response(StatusCode::CREATED, &record))
}

/// Read a member's current version.
#[utoipa::path(get, path = "/v1/members/{id}", tag = "members",
    params(("id" = String, Path, description = "member id")),
    responses(
        (status = 200, description = "the current version; `ETag` is its number", body = Member),
        (status = 404, description = "no such member of yours", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn get_member(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let record = state
        .store
        .member(&state.actor(&insurer), &insurer, &id, state.clock.now())
        .await?;
    Ok(member_response(StatusCode::OK, &record))
}

/// Rebuilds the text of a stored version, so a partial change can be validated whole.
fn current_text(d: &MemberDetails) -> Vec<(&'static str, String)> {
    let limit = d.limit.as_ref();
    let limit_date = |f: fn(&onshi_domain::LimitCertificate) -> Option<time::Date>| {
        limit.and_then(f).map(|d| d.to_string()).unwrap_or_default()
    };
    let card = &d.card;
    let date = |d: Option<time::Date>| d.map(|d| d.to_string()).unwrap_or_default();
    let elderly = card.elderly.as_ref();
    vec![
        (
            "card_class",
            card.class.map(|c| c.code().to_owned()).unwrap_or_default(),
        ),
        ("card_issued", date(card.issued)),
        ("card_valid_from", date(card.valid_from)),
        ("card_valid_until", date(card.valid_until)),
        (
            "insured_name",
            card.insured_name.clone().unwrap_or_default(),
        ),
        ("address", card.address.clone().unwrap_or_default()),
        ("post_number", card.post_number.clone().unwrap_or_default()),
        ("elderly_issued", date(elderly.map(|e| e.issued))),
        ("elderly_valid_from", date(elderly.map(|e| e.valid_from))),
        (
            "elderly_valid_until",
            date(elderly.and_then(|e| e.valid_until)),
        ),
        (
            "elderly_copay_ratio",
            elderly
                .map(|e| e.copay_ratio.percent().to_string())
                .unwrap_or_default(),
        ),
        (
            "limit_class",
            limit.map(|c| c.class.code().to_owned()).unwrap_or_default(),
        ),
        (
            "limit_bracket",
            limit
                .map(|c| c.bracket.code().to_owned())
                .unwrap_or_default(),
        ),
        ("limit_issued", limit_date(|c| Some(c.issued))),
        ("limit_valid_from", limit_date(|c| Some(c.valid_from))),
        ("limit_valid_until", limit_date(|c| c.valid_until)),
        ("limit_long_term_from", limit_date(|c| c.long_term_from)),
        ("name", d.name.0.clone()),
        ("name_kana", d.name_kana.0.clone()),
        ("birth_date", d.birth_date.0.to_string()),
        ("sex", d.sex.code().to_string()),
        ("relationship", d.relationship.code().to_string()),
        ("qualified_from", d.qualified_from.to_string()),
        (
            "qualified_until",
            d.qualified_until.map(|u| u.to_string()).unwrap_or_default(),
        ),
        ("copay_ratio", d.copay_ratio.percent().to_string()),
        (
            "employer",
            d.employer
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
        ),
        (
            "loss_reason",
            d.loss_reason
                .map(|r| r.code().to_owned())
                .unwrap_or_default(),
        ),
    ]
}

async fn apply_change(
    state: &AppState,
    insurer: &InsurerNumber,
    id: &str,
    headers: &HeaderMap,
    f: Fields,
) -> Result<Response, Problem> {
    let actor = state.actor(insurer);
    let now = state.clock.now();
    let expected = f.version.or(if_match(headers)?);
    let current = state.store.member(&actor, insurer, id, now).await?;
    let key_fields = ["insurer_number", "symbol", "number", "branch"];
    let fixed: Vec<FieldError> = key_fields
        .iter()
        .filter(|k| f.text.contains_key(**k) || f.nulls.iter().any(|n| n == *k))
        .map(|k| {
            FieldError::new(
                *k,
                "cannot be changed: end this member and register the new card",
            )
        })
        .collect();
    if !fixed.is_empty() {
        return Err(Problem::validation(fixed));
    }
    let mut text: HashMap<&str, String> = current_text(&current.details).into_iter().collect();
    for (name, value) in &f.text {
        if name != "my_number" {
            text.insert(name.as_str(), value.clone());
        }
    }
    for name in &f.nulls {
        text.insert(name.as_str(), String::new());
    }
    let get = |name: &str| text.get(name).map_or("", String::as_str);
    let input = MemberInput {
        insurer_number: current.key.insurer.as_str(),
        symbol: current.key.symbol.as_str(),
        number: current.key.number.as_str(),
        branch: current.key.branch.as_str(),
        name: get("name"),
        name_kana: get("name_kana"),
        birth_date: get("birth_date"),
        sex: get("sex"),
        relationship: get("relationship"),
        qualified_from: get("qualified_from"),
        qualified_until: get("qualified_until"),
        copay_ratio: get("copay_ratio"),
        my_number: "",
        loss_reason: get("loss_reason"),
        limit: limit_input(get),
        card: card_input(get),
        employer: get("employer"),
    };
    let mut valid = input.validate().map_err(Problem::validation)?;
    valid.details.person = if f.nulls.iter().any(|n| n == "my_number") {
        None
    } else if let Some(text) = f.text.get("my_number") {
        hash_my_number(state, text).map_err(|e| Problem::validation(vec![e]))?
    } else {
        current.details.person.clone()
    };
    let (record, _) = state
        .store
        .change_member(&actor, insurer, id, expected, &valid.details, now)
        .await?;
    Ok(member_response(StatusCode::OK, &record))
}

/// Change a member (a new version; the old one stays in the history). Only the fields sent
/// change; `null` clears an optional field. The card key (記号・番号・枝番) cannot change.
#[utoipa::path(patch, path = "/v1/members/{id}", tag = "members",
    params(("id" = String, Path, description = "member id"),
           ("If-Match" = Option<String>, Header, description = "the version being changed")),
    request_body(content = MemberBody, description = "the fields to change"),
    responses(
        (status = 200, description = "the new current version", body = Member),
        (status = 404, description = "no such member of yours", body = onshi_api::Problem),
        (status = 409, description = "the version is not the current one", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn change_member(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let f = read_fields(&body, &MEMBER_FIELDS)?;
    apply_change(&state, &insurer, &id, &headers, f).await
}

/// End a member's qualification (資格喪失): sets the last day covered and the reason.
#[utoipa::path(post, path = "/v1/members/{id}/end", tag = "members",
    params(("id" = String, Path, description = "member id"),
           ("If-Match" = Option<String>, Header, description = "the version being ended")),
    request_body(content = EndBody),
    responses(
        (status = 200, description = "the new current version", body = Member),
        (status = 404, description = "no such member of yours", body = onshi_api::Problem),
        (status = 409, description = "the version is not the current one", body = onshi_api::Problem),
        (status = 422, description = "invalid fields", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn end_member(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let f = read_fields(&body, &["qualified_until", "loss_reason"])?;
    let missing: Vec<FieldError> = ["qualified_until", "loss_reason"]
        .iter()
        .filter(|k| f.text.get(**k).is_none_or(|v| v.trim().is_empty()))
        .map(|k| FieldError::new(*k, "is required"))
        .collect();
    if !missing.is_empty() {
        return Err(Problem::validation(missing));
    }
    apply_change(&state, &insurer, &id, &headers, f).await
}

/// Every version of a member, oldest first.
#[utoipa::path(get, path = "/v1/members/{id}/history", tag = "members",
    params(("id" = String, Path, description = "member id")),
    responses(
        (status = 200, description = "every version, oldest first", body = MemberHistory),
        (status = 404, description = "no such member of yours", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn member_history(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(id): Path<String>,
) -> Result<Json<MemberHistory>, Problem> {
    let versions = state
        .store
        .member_history(&state.actor(&insurer), &insurer, &id, state.clock.now())
        .await?;
    Ok(Json(MemberHistory {
        versions: versions.iter().map(member_view).collect(),
    }))
}

/// List your members, a page at a time; or find one by its card (`number`, with `symbol` and
/// `branch`).
#[utoipa::path(get, path = "/v1/members", tag = "members",
    params(
        ("as_of" = Option<String>, Query, description = "only members qualified on this date (YYYY-MM-DD)"),
        ("after" = Option<String>, Query, description = "the `next_after` of the previous page"),
        ("limit" = Option<u32>, Query, description = "page size, 1–1000 (default 100)"),
        ("number" = Option<String>, Query, description = "番号: find the member with this card"),
        ("symbol" = Option<String>, Query, description = "記号, with number"),
        ("branch" = Option<String>, Query, description = "枝番, with number"),
    ),
    responses(
        (status = 200, description = "a page of members, or those with the card key asked for", body = MemberPage),
        (status = 422, description = "invalid query", body = onshi_api::Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<MemberPage>, Problem> {
    let (mut errors, limit) = super::page_query(
        &query,
        &["as_of", "after", "limit", "number", "symbol", "branch"],
    );
    let as_of = match query.get("as_of") {
        Some(s) => parse_date(s)
            .map_err(|r| errors.push(FieldError::new("as_of", r)))
            .ok(),
        None => None,
    };
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let actor = state.actor(&insurer);
    let now = state.clock.now();
    if let Some(number) = query.get("number") {
        let input = MemberInput {
            insurer_number: insurer.as_str(),
            number,
            symbol: query.get("symbol").map_or("", String::as_str),
            branch: query.get("branch").map_or("", String::as_str),
            ..Default::default()
        };
        let key = input.card_key().map_err(Problem::validation)?;
        let found = state.store.find_member(&actor, &key, now).await?;
        let items = found
            .iter()
            .filter(|m| as_of.is_none_or(|d| m.details.covers(d)))
            .map(member_view)
            .collect();
        return Ok(Json(MemberPage {
            items,
            next_after: None,
        }));
    }
    let page = state
        .store
        .list_members(
            &actor,
            &insurer,
            as_of,
            query.get("after").map(String::as_str),
            limit,
            now,
        )
        .await?;
    Ok(Json(MemberPage {
        items: page.items.iter().map(member_view).collect(),
        next_after: page.next_after,
    }))
}

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
use serde::Serialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;

use onshi_domain::limit::LIMIT_COLUMNS;
use onshi_domain::{
    FieldError, InsurerNumber, LimitClass, LimitInput, LossReason, MemberDetails, MemberInput,
    MyNumber, PersonRef, Relationship, Sex, parse_date,
};
use onshi_store::MemberRecord;

use crate::AppState;
use crate::auth::AuthenticatedInsurer;
use crate::problem::Problem;

/// A member as the API shows it: the current (or a historical) version.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    /// Opaque member id, stable across versions.
    pub id: String,
    /// Version number, from 1; also sent as the `ETag`.
    pub version: i64,
    /// 保険者番号
    pub insurer_number: String,
    /// 記号 ("" when the card has none)
    pub symbol: String,
    /// 番号
    pub number: String,
    /// 枝番 (two digits; "" only for 後期高齢者)
    pub branch: String,
    /// 氏名
    pub name: String,
    /// カナ氏名
    pub name_kana: String,
    /// 生年月日, YYYY-MM-DD
    pub birth_date: String,
    /// 性別
    pub sex: Sex,
    /// 本人・家族
    pub relationship: Relationship,
    /// 資格取得年月日, YYYY-MM-DD
    pub qualified_from: String,
    /// 資格喪失年月日, YYYY-MM-DD (last day covered)
    pub qualified_until: Option<String>,
    /// 資格喪失事由
    pub loss_reason: Option<LossReason>,
    /// 一部負担金割合, percent
    pub copay_ratio: u8,
    /// 限度額適用認定証, when the insurer recorded one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_certificate: Option<LimitCertificate>,
    /// Whether a My Number was given for the member (the number itself is never returned).
    pub person_linked: bool,
    /// When this version was recorded (RFC 3339).
    pub recorded_at: String,
    /// `api` or `import`.
    pub source: String,
}

impl From<&MemberRecord> for MemberView {
    fn from(m: &MemberRecord) -> Self {
        let d = &m.details;
        Self {
            id: m.id.clone(),
            version: m.version,
            insurer_number: m.key.insurer.to_string(),
            symbol: m.key.symbol.to_string(),
            number: m.key.number.to_string(),
            branch: m.key.branch.to_string(),
            name: d.name.0.clone(),
            name_kana: d.name_kana.0.clone(),
            birth_date: d.birth_date.0.to_string(),
            sex: d.sex,
            relationship: d.relationship,
            qualified_from: d.qualified_from.to_string(),
            qualified_until: d.qualified_until.map(|u| u.to_string()),
            loss_reason: d.loss_reason,
            copay_ratio: d.copay_ratio.percent(),
            limit_certificate: d.limit.as_ref().map(|c| LimitCertificate {
                class: c.class,
                bracket: c.bracket.code().to_owned(),
                issued: c.issued.to_string(),
                valid_from: c.valid_from.to_string(),
                valid_until: c.valid_until.map(|d| d.to_string()),
                long_term_from: c.long_term_from.map(|d| d.to_string()),
            }),
            person_linked: d.person.is_some(),
            recorded_at: m.recorded_at.format(&Rfc3339).unwrap_or_default(),
            source: m.source.clone(),
        }
    }
}

/// 限度額適用認定証 as recorded for a member.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LimitCertificate {
    /// 限度額適用認定証区分 (OQSCD011)
    pub class: LimitClass,
    /// 適用区分 (OQSCD012): A01–A06, B01–B10
    pub bracket: String,
    /// 交付年月日, YYYY-MM-DD
    pub issued: String,
    /// 有効開始年月日, YYYY-MM-DD
    pub valid_from: String,
    /// 有効終了年月日, YYYY-MM-DD
    pub valid_until: Option<String>,
    /// 長期入院該当年月日, YYYY-MM-DD
    pub long_term_from: Option<String>,
}

/// A page of members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberPageView {
    /// The members, ordered by id.
    pub items: Vec<MemberView>,
    /// Pass as `after` to fetch the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// Every version of a member, oldest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MemberHistoryView {
    /// The versions.
    pub versions: Vec<MemberView>,
}

/// The body of `POST /v1/members` (and, every field optional, of `PATCH`). Values are strings;
/// numbers are accepted where a field is numeric. Full-width digits and spaces are normalised.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // documents the body for OpenAPI; bodies are read field by field
pub struct MemberBody {
    /// 保険者番号 (optional: defaults to the caller's; another insurer's is refused)
    insurer_number: Option<String>,
    /// 記号 (may be empty)
    symbol: Option<String>,
    /// 番号
    number: String,
    /// 枝番, 2 digits (empty only for 後期高齢者)
    branch: String,
    /// 氏名
    name: String,
    /// カナ氏名 (katakana)
    name_kana: String,
    /// 生年月日, YYYY-MM-DD or YYYYMMDD
    birth_date: String,
    /// 性別: 1 男, 2 女, 3 未設定
    sex: String,
    /// 1 本人, 2 家族
    relationship: String,
    /// 資格取得年月日
    qualified_from: String,
    /// 資格喪失年月日 (optional)
    qualified_until: Option<String>,
    /// 一部負担金割合: 10, 20 or 30
    copay_ratio: String,
    /// 個人番号, 12 digits (optional; kept only as a keyed hash, never returned)
    my_number: Option<String>,
    /// 資格喪失事由: 01, 02, 03 or 99 (only with qualified_until)
    loss_reason: Option<String>,
    /// 限度額適用認定証区分: 01, 02 or 03 (the `limit_*` fields are all empty or give a certificate)
    limit_class: Option<String>,
    /// 適用区分: A01–A06, B01–B10
    limit_bracket: Option<String>,
    /// 交付年月日 (default: limit_valid_from)
    limit_issued: Option<String>,
    /// 有効開始年月日
    limit_valid_from: Option<String>,
    /// 有効終了年月日
    limit_valid_until: Option<String>,
    /// 長期入院該当年月日
    limit_long_term_from: Option<String>,
    /// PATCH only: the version being changed (or send `If-Match`)
    version: Option<i64>,
}

/// The body of `POST /v1/members/{id}/end`.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // documents the body for OpenAPI
pub struct EndBody {
    /// 資格喪失年月日: the last day the qualification covers
    qualified_until: String,
    /// 資格喪失事由: 01 死亡, 02 生活保護, 03 他の保険の資格取得, 99 その他
    loss_reason: String,
    /// The version being ended (or send `If-Match`)
    version: Option<i64>,
}

const MEMBER_FIELDS: [&str; 20] = onshi_domain::import::COLUMNS;

/// The `limit_*` fields of a body, read by `get`.
fn limit_input<'a>(get: impl Fn(&str) -> &'a str) -> LimitInput<'a> {
    LimitInput::from_columns(LIMIT_COLUMNS.map(get))
}

/// A JSON object's members as text, checked against the fields a route takes.
struct Fields {
    text: HashMap<String, String>,
    nulls: Vec<String>,
    version: Option<i64>,
}

fn read_fields(body: &Bytes, allowed: &[&str]) -> Result<Fields, Problem> {
    let map: Map<String, Value> = serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the body must be a JSON object: {e}")))?;
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
            Value::Number(n) => {
                fields.text.insert(name, n.to_string());
            }
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
    let mut response = (status, Json(MemberView::from(record))).into_response();
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
        (status = 201, description = "created; `ETag` is the version", body = MemberView),
        (status = 409, description = "a member with this card key exists", body = Problem),
        (status = 422, description = "invalid fields", body = Problem),
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
        (status = 200, description = "the current version; `ETag` is its number", body = MemberView),
        (status = 404, description = "no such member of yours", body = Problem),
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
    vec![
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
        (status = 200, description = "the new current version", body = MemberView),
        (status = 404, description = "no such member of yours", body = Problem),
        (status = 409, description = "the version is not the current one", body = Problem),
        (status = 422, description = "invalid fields", body = Problem),
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
        (status = 200, description = "the new current version", body = MemberView),
        (status = 404, description = "no such member of yours", body = Problem),
        (status = 409, description = "the version is not the current one", body = Problem),
        (status = 422, description = "invalid fields", body = Problem),
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
        (status = 200, body = MemberHistoryView),
        (status = 404, description = "no such member of yours", body = Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn member_history(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Path(id): Path<String>,
) -> Result<Json<MemberHistoryView>, Problem> {
    let versions = state
        .store
        .member_history(&state.actor(&insurer), &insurer, &id, state.clock.now())
        .await?;
    Ok(Json(MemberHistoryView {
        versions: versions.iter().map(MemberView::from).collect(),
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
        (status = 200, body = MemberPageView),
        (status = 422, description = "invalid query", body = Problem),
    ),
    security(("insurer_token" = [])))]
pub async fn list_members(
    State(state): State<AppState>,
    AuthenticatedInsurer(insurer): AuthenticatedInsurer,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<MemberPageView>, Problem> {
    let allowed = ["as_of", "after", "limit", "number", "symbol", "branch"];
    let mut errors: Vec<FieldError> = query
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| FieldError::new(k.clone(), "unknown query parameter"))
        .collect();
    let as_of = match query.get("as_of") {
        Some(s) => parse_date(s)
            .map_err(|r| errors.push(FieldError::new("as_of", r)))
            .ok(),
        None => None,
    };
    let limit = match query.get("limit").map(|s| s.parse::<u32>()) {
        None => 100,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new(
                "limit",
                "must be a whole number from 1 to 1000",
            ));
            100
        }
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
        let key = card_key(&input)?;
        let found = state.store.find_member(&actor, &key, now).await?;
        let items = found
            .iter()
            .filter(|m| as_of.is_none_or(|d| m.details.covers(d)))
            .map(MemberView::from)
            .collect();
        return Ok(Json(MemberPageView {
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
    Ok(Json(MemberPageView {
        items: page.items.iter().map(MemberView::from).collect(),
        next_after: page.next_after,
    }))
}

pub(crate) fn card_key(input: &MemberInput<'_>) -> Result<onshi_domain::MemberKey, Problem> {
    use onshi_domain::{BranchNumber, CardNumber, CardSymbol};
    let mut errors = Vec::new();
    let symbol = CardSymbol::parse(input.symbol)
        .map_err(|r| errors.push(FieldError::new("symbol", r)))
        .ok();
    let number = CardNumber::parse(input.number)
        .map_err(|r| errors.push(FieldError::new("number", r)))
        .ok();
    let branch = BranchNumber::parse(input.branch)
        .map_err(|r| errors.push(FieldError::new("branch", r)))
        .ok();
    let insurer = InsurerNumber::parse(input.insurer_number)
        .map_err(|r| errors.push(FieldError::new("insurer_number", r)))
        .ok();
    match (insurer, symbol, number, branch) {
        (Some(insurer), Some(symbol), Some(number), Some(branch)) => Ok(onshi_domain::MemberKey {
            insurer,
            symbol,
            number,
            branch,
        }),
        _ => Err(Problem::validation(errors)),
    }
}

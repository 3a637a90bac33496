//! The pages for people (HTML, rendered by `onshi-pages`), and how a person gets in.
//!
//! The browser cannot reach a card, so, as the national portal does with a phone, a card proof
//! made elsewhere (`onshi reader --portal-login`) buys a one-time login code (`POST
//! /v1/portal/login-codes`); opening `/portal/login?code=…` within two minutes uses the code and
//! sets the session cookie (`onshi_portal`: HttpOnly, SameSite=Strict, Path=/portal, Secure over
//! TLS), then redirects to the page without the code in its address. Sessions are server-side
//! ([`onshi_store::SessionTimes`]: 15 minutes idle, 2 hours at most) and end at once on logout;
//! every form carries the session's CSRF token. Pages answer with `Cache-Control: no-store`, a
//! strict Content-Security-Policy (no script at all) and no referrer, so a code or a page never
//! travels further. Every read of a person's data goes through the same audited store calls as
//! the JSON routes.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use onshi_api::{CardProof, PortalLoginCode};
use onshi_pages::{Notice, PortalCheckups};
use onshi_store::token::{self, TokenKind};

use crate::AppState;
use crate::problem::{ApiJson, Problem};

/// The session cookie's name.
pub const COOKIE: &str = "onshi_portal";

pub(crate) fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    let Ok(body) = body else {
        tracing::error!("a page could not be rendered");
        return (StatusCode::INTERNAL_SERVER_ERROR, "page error").into_response();
    };
    let mut r = (status, body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

pub(crate) fn notice(status: StatusCode, title: &str, paragraphs: &[&str]) -> Response {
    html(
        status,
        Notice {
            title: title.to_owned(),
            paragraphs: paragraphs.iter().map(|p| (*p).to_owned()).collect(),
        }
        .render(),
    )
}

/// Adds a `Set-Cookie` of `value` to `response`.
pub(crate) fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// `; Secure` when the server is reached over TLS, so cookies never travel in clear.
pub(crate) fn secure(state: &AppState) -> &'static str {
    if state.secure_cookies { "; Secure" } else { "" }
}

/// The page answering a form whose token is not the session's (CSRF), if it is not.
pub(crate) fn form_refused(body: &[u8], csrf: &str) -> Option<Response> {
    (form_field(body, "csrf").as_deref() != Some(csrf)).then(|| {
        notice(
            StatusCode::FORBIDDEN,
            "この操作は受け付けられません",
            &["ページを開き直してから、もう一度お試しください。"],
        )
    })
}

fn sign_in_first() -> Response {
    notice(
        StatusCode::UNAUTHORIZED,
        "ログインしてください",
        &[
            "このページを見るには、マイナンバーカードでのログインが必要です。",
            "カードリーダーの端末で onshi reader --portal-login --card（カードのファイル）を実行し、表示されたアドレスを2分以内に開いてください。",
            "ログインは15分操作がないと、また2時間たつと終わります。",
        ],
    )
}

/// The session cookie's value in `headers`, if any.
fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, COOKIE)
}

/// The value of cookie `name` in `headers`, if any.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
}

/// Get a one-time code that opens your pages in a browser (use it within two minutes, once):
/// the person proves themselves with their card (a portal challenge, as for the other portal
/// routes) and opens the returned path.
#[utoipa::path(post, path = "/v1/portal/login-codes", tag = "portal",
    request_body = CardProof,
    responses(
        (status = 201, description = "the path that opens the session", body = PortalLoginCode),
        (status = 403, description = "certificate refused or unknown, or challenge not for the portal", body = onshi_api::Problem),
        (status = 401, description = "signature does not match", body = onshi_api::Problem),
        (status = 410, description = "challenge expired", body = onshi_api::Problem),
        (status = 409, description = "challenge already used (replay)", body = onshi_api::Problem),
        (status = 422, description = "invalid fields or unknown challenge", body = onshi_api::Problem),
    ))]
pub async fn login_code(
    State(state): State<AppState>,
    ApiJson(proof): ApiJson<CardProof>,
) -> Result<(StatusCode, axum::Json<PortalLoginCode>), Problem> {
    let person = crate::eligibility::portal::person(&state, &proof).await?;
    let (code, hash) = token::mint(TokenKind::LoginCode).map_err(|_| Problem::internal())?;
    let now = state.clock.now();
    state
        .store
        .create_portal_code(&person, &hash, state.session_times, now)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(PortalLoginCode {
            path: format!("/portal/login?code={code}"),
            expires_at: onshi_domain::japan::rfc3339_japan(now + state.session_times.code),
        }),
    ))
}

/// `GET /portal/login?code=…`: uses the code, sets the session cookie, goes to the results.
pub async fn login(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let Some(code) = query.get("code").filter(|c| !c.is_empty()) else {
        return Ok(sign_in_first());
    };
    let (session, session_hash) =
        token::mint(TokenKind::Session).map_err(|_| Problem::internal())?;
    let csrf = token::secret().map_err(|_| Problem::internal())?;
    let opened = state
        .store
        .open_portal_session(
            &token::hash(code),
            &session_hash,
            &csrf,
            state.session_times,
            state.clock.now(),
        )
        .await?;
    if opened.is_none() {
        return Ok(notice(
            StatusCode::BAD_REQUEST,
            "このログインコードは使えません",
            &[
                "コードは一度だけ、発行から2分以内に使えます。もう一度カードでログインしてください。",
            ],
        ));
    }
    let secure = secure(&state);
    let cookie = format!(
        "{COOKIE}={session}; Path=/portal; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        state.session_times.absolute.whole_seconds()
    );
    let mut r = StatusCode::SEE_OTHER.into_response();
    let h = r.headers_mut();
    h.insert(
        header::LOCATION,
        HeaderValue::from_static("/portal/checkups"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    set_cookie(&mut r, &cookie);
    Ok(r)
}

/// `GET /portal/checkups`: the person's checkup results against their judgement values.
pub async fn checkups(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let now = state.clock.now();
    let Some(cookie) = session_cookie(&headers) else {
        return Ok(sign_in_first());
    };
    let Some(session) = state
        .store
        .portal_session(&token::hash(&cookie), state.session_times, now)
        .await?
    else {
        return Ok(sign_in_first());
    };
    let stored = state
        .store
        .checkups_of_person(
            &onshi_store::Actor::Person(session.person.clone()),
            &session.person,
            time::macros::date!(2000 - 01 - 01),
            now,
        )
        .await?;
    let results = crate::checkups::results(&stored);
    Ok(html(
        StatusCode::OK,
        PortalCheckups::new(&results, &session.csrf).render(),
    ))
}

/// The session of the request, if it is in force.
async fn portal_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<onshi_store::PortalSession>, Problem> {
    let Some(cookie) = session_cookie(headers) else {
        return Ok(None);
    };
    Ok(state
        .store
        .portal_session(
            &token::hash(&cookie),
            state.session_times,
            state.clock.now(),
        )
        .await?)
}

/// `GET /portal`: the person's qualifications, consents in force and access history.
pub async fn home(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    let Some(session) = portal_session(&state, &headers).await? else {
        return Ok(sign_in_first());
    };
    render_home(&state, &session, None).await
}

async fn render_home(
    state: &AppState,
    session: &onshi_store::PortalSession,
    message: Option<String>,
) -> Result<Response, Problem> {
    use onshi_domain::japan::rfc3339_japan;
    let now = state.clock.now();
    let person = &session.person;
    let actor = onshi_store::Actor::Person(person.clone());
    let qualifications = state
        .store
        .qualifications_of_person(&actor, person, None, now)
        .await?;
    let consents = state.store.consents_of_person(person, now).await?;
    let registration = match state.store.registration_of_person(person).await? {
        None => "マイナンバーカードの保険証利用は登録されていません。".to_owned(),
        Some((channel, facility, at)) => {
            let place = match (channel.as_str(), facility) {
                ("facility", Some(f)) => format!("医療機関等（{f}）のカードリーダーで"),
                _ => "マイナポータルで".to_owned(),
            };
            format!("{}に{}登録しました。", rfc3339_japan(at), place)
        }
    };
    let entries = state.store.audit_of_person(person.as_str()).await?;
    state
        .store
        .record_check(
            now,
            &actor,
            onshi_domain::AuditAction::ReadAccessLog,
            Some(person),
            "",
        )
        .await?;
    let mut seen = std::collections::HashSet::new();
    let page = onshi_pages::PortalHome {
        csrf: session.csrf.clone(),
        message,
        registration,
        qualifications: qualifications
            .iter()
            .map(|m| onshi_pages::QualificationRow {
                insurer: m.key.insurer.as_str().to_owned(),
                card: format!(
                    "{} {}-{}",
                    m.key.symbol.as_str(),
                    m.key.number.as_str(),
                    m.key.branch.as_str()
                ),
                from: m.details.qualified_from.to_string(),
                until: m
                    .details
                    .qualified_until
                    .map_or("—".into(), |d| d.to_string()),
                copay: format!("{}割", m.details.copay_ratio.percent() / 10),
            })
            .collect(),
        // A consent given again at the same facility renews it: one row per facility and
        // kind, the newest (withdrawing ends them all).
        consents: consents
            .into_iter()
            .filter(|c| seen.insert((c.facility.clone(), c.kind.clone())))
            .map(|c| onshi_pages::ConsentRow {
                kind_name: onshi_pages::consent_name(&c.kind),
                facility: c.facility,
                kind: c.kind,
                given_at: rfc3339_japan(c.given_at),
                expires_at: rfc3339_japan(c.expires_at),
            })
            .collect(),
        accesses: entries
            .iter()
            .rev()
            .take(100)
            .map(|e| onshi_pages::AccessRow {
                at: rfc3339_japan(e.at),
                who: if e.actor_kind == "person" {
                    "あなた".into()
                } else {
                    format!("{} {}", e.actor_kind, e.actor_id)
                },
                what: onshi_pages::action_name(&e.action),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `POST /portal/consents/withdraw` (`facility`, `kind`, `csrf`): ends a consent now.
pub async fn withdraw(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let Some(session) = portal_session(&state, &headers).await? else {
        return Ok(sign_in_first());
    };
    if let Some(refused) = form_refused(&body, &session.csrf) {
        return Ok(refused);
    }
    let facility = form_field(&body, "facility").unwrap_or_default();
    let kind = form_field(&body, "kind").unwrap_or_default();
    let ended = state
        .store
        .withdraw_consent(&session.person, &facility, &kind, state.clock.now())
        .await?;
    let message = if ended > 0 {
        format!(
            "{}への{}の同意を取り消しました。",
            facility,
            onshi_pages::consent_name(&kind)
        )
    } else {
        "取り消す同意は見つかりませんでした（期限が過ぎたか、取り消し済みです）。".into()
    };
    render_home(&state, &session, Some(message)).await
}

/// `POST /portal/logout` (a form with the session's `csrf`): ends the session at once.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let now = state.clock.now();
    let Some(cookie) = session_cookie(&headers) else {
        return Ok(sign_in_first());
    };
    let hash = token::hash(&cookie);
    let Some(session) = state
        .store
        .portal_session(&hash, state.session_times, now)
        .await?
    else {
        return Ok(sign_in_first());
    };
    if let Some(refused) = form_refused(&body, &session.csrf) {
        return Ok(refused);
    }
    state.store.end_web_session(&hash, now).await?;
    let mut r = notice(
        StatusCode::OK,
        "ログアウトしました",
        &["このブラウザーでの閲覧は終わりました。"],
    );
    set_cookie(
        &mut r,
        &format!("{COOKIE}=; Path=/portal; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}

/// Field `name` of an `application/x-www-form-urlencoded` body, decoded.
pub(crate) fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| percent_decode(v))
}

/// `+` and `%XX` decoded (what browsers send in forms); bytes that are not UTF-8 are replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(text.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `GET /static/style.css`: the one stylesheet, cached for an hour.
pub async fn style() -> Response {
    let mut r = onshi_pages::STYLE.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

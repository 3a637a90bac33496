//! Staff sign-in and the insurer's console (HTML).
//!
//! `/staff/login` takes a login, a password (argon2id) and a TOTP code; the form carries a CSRF
//! token that must match the pre-login cookie (`onshi_login`, double submit). A failure says
//! nothing about which factor failed; five in a row lock the account for 15 minutes; all are
//! audited. A sign-in sets `onshi_staff` (HttpOnly, SameSite=Strict, Secure over TLS) for a
//! server-side session. `/console/members` is for insurers' staff: a member of their own
//! insurer by card, with the history of the qualification, read through the same audited
//! store calls as the API (the insurer is the staff member's, so another insurer's member is
//! not found, as through the API).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use onshi_domain::staff::{SecretSeal, password_matches, totp_step};
use onshi_pages::{
    ConsoleActivity, ConsoleImports, ConsoleMembers, EmployerRequests, ImportRow, StaffLogin,
    VersionRow,
};
use onshi_store::token::{self, TokenKind};
use onshi_store::{ImportKind, StaffAccount};

use super::pages::{cookie, form_field, form_refused, html, notice, secure, set_cookie};
use crate::AppState;
use crate::problem::Problem;

/// The staff session's cookie.
pub const STAFF_COOKIE: &str = "onshi_staff";
/// The pre-login cookie holding the login form's CSRF token.
const LOGIN_COOKIE: &str = "onshi_login";

fn login_page(
    state: &AppState,
    status: StatusCode,
    message: Option<&str>,
) -> Result<Response, Problem> {
    let csrf = token::secret().map_err(|_| Problem::internal())?;
    let mut r = html(
        status,
        StaffLogin {
            message: message.map(str::to_owned),
            csrf: csrf.clone(),
        }
        .render(),
    );
    set_cookie(
        &mut r,
        &format!(
            "{LOGIN_COOKIE}={csrf}; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=600{}",
            secure(state)
        ),
    );
    Ok(r)
}

/// `GET /staff/login`: the form.
pub async fn login_form(State(state): State<AppState>) -> Result<Response, Problem> {
    login_page(&state, StatusCode::OK, None)
}

/// `POST /staff/login`: password and TOTP; a session on success.
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let now = state.clock.now();
    let field = |name: &str| form_field(&body, name).unwrap_or_default();
    let expected = cookie(&headers, LOGIN_COOKIE);
    if expected.is_none() || expected.as_deref() != Some(field("csrf").as_str()) {
        return Ok(notice(
            StatusCode::FORBIDDEN,
            "この操作は受け付けられません",
            &["ログインの画面を開き直してから、もう一度お試しください。"],
        ));
    }
    let refused =
        "ログイン名、パスワード、確認コードのいずれかが正しくないか、アカウントが使えません。";
    let Some(account) = state.store.account(field("login").trim()).await? else {
        return login_page(&state, StatusCode::UNAUTHORIZED, Some(refused));
    };
    if account.disabled {
        state
            .store
            .sign_in_failed(&account, "disabled account", now)
            .await?;
        return login_page(&state, StatusCode::UNAUTHORIZED, Some(refused));
    }
    if account.locked_until.is_some_and(|u| u > now) {
        state.store.sign_in_failed(&account, "locked", now).await?;
        return login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some(
                "続けて失敗したため、しばらくログインできません。15分ほどしてからお試しください。",
            ),
        );
    }
    let password_ok = password_matches(&field("password"), &account.password_hash);
    let secret =
        SecretSeal::derive(&state.my_number_key).and_then(|s| s.open(&account.totp_sealed));
    let step = secret
        .as_deref()
        .and_then(|s| totp_step(s, &field("code"), now, account.totp_last_step));
    let (Some(step), true) = (step, password_ok) else {
        let why = if password_ok {
            "wrong or replayed code"
        } else {
            "wrong password"
        };
        state.store.sign_in_failed(&account, why, now).await?;
        return login_page(&state, StatusCode::UNAUTHORIZED, Some(refused));
    };
    let (session, hash) = token::mint(TokenKind::Session).map_err(|_| Problem::internal())?;
    let csrf = token::secret().map_err(|_| Problem::internal())?;
    if !state
        .store
        .sign_in(&account, step, &hash, &csrf, state.session_times, now)
        .await?
    {
        state
            .store
            .sign_in_failed(&account, "replayed code", now)
            .await?;
        return login_page(&state, StatusCode::UNAUTHORIZED, Some(refused));
    }
    let mut r = StatusCode::SEE_OTHER.into_response();
    // Each organisation's staff land on their own pages.
    let home = match account.org_kind.as_str() {
        "insurer" => "/console/members",
        "employer" => "/employer/requests",
        "operator" => "/operator/reports",
        _ => "/staff/home",
    };
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(home));
    set_cookie(
        &mut r,
        &format!(
            "{STAFF_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            state.session_times.absolute.whole_seconds(),
            secure(&state)
        ),
    );
    set_cookie(
        &mut r,
        &format!("{LOGIN_COOKIE}=; Path=/staff; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}

/// The staff member of the request's session, if it is in force.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<(StaffAccount, String)>, Problem> {
    let Some(value) = cookie(headers, STAFF_COOKIE) else {
        return Ok(None);
    };
    Ok(state
        .store
        .staff_session(&token::hash(&value), state.session_times, state.clock.now())
        .await?)
}

fn sign_in_first() -> Response {
    let mut r = notice(
        StatusCode::UNAUTHORIZED,
        "ログインしてください",
        &["このページは職員のログインが必要です。/staff/login からログインしてください。"],
    );
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/staff/login"));
    r
}

/// An insurer's staff member signed in: the account, the session's CSRF token and the insurer;
/// or the page to answer instead (sign in first, or not an insurer's page).
/// A signed-in staff member of an organisation: how pages name them ("login（保険者 N）"), the
/// session's CSRF token, the organisation, and the account.
type Staff<O> = (String, String, O, StaffAccount);

/// The insurer a signed-in staff member belongs to, or the page to answer instead.
async fn insurer_staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Staff<onshi_domain::InsurerNumber>, Box<Response>>, Problem> {
    staff_of(
        state,
        headers,
        "insurer",
        |id| onshi_domain::InsurerNumber::parse(id).ok(),
        |i| format!("保険者 {}", i.as_str()),
        "このページは保険者の職員のものです",
    )
    .await
}

/// The signed-in staff member of an organisation of `kind` whose id `org` reads, shown as
/// "login（`shown`）"; else the page to answer instead: sign in first, or 403 `refusal`.
async fn staff_of<O>(
    state: &AppState,
    headers: &HeaderMap,
    kind: &str,
    org: impl Fn(&str) -> Option<O>,
    shown: impl Fn(&O) -> String,
    refusal: &str,
) -> Result<Result<Staff<O>, Box<Response>>, Problem> {
    let Some((account, csrf)) = signed_in(state, headers).await? else {
        return Ok(Err(Box::new(sign_in_first())));
    };
    let found = (account.org_kind == kind)
        .then(|| org(&account.org_id))
        .flatten();
    Ok(match found {
        Some(o) => Ok((
            format!("{}（{}）", account.login, shown(&o)),
            csrf,
            o,
            account,
        )),
        None => Err(Box::new(notice(
            StatusCode::FORBIDDEN,
            refusal,
            &["あなたのアカウントでは、この画面を開けません。"],
        ))),
    })
}

/// `GET /console/activity`: what the insurer's own staff did, from the audit log.
pub async fn activity(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, _) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let entries = state
        .store
        .audit_of_staff(&format!("insurer:{}", insurer.as_str()))
        .await?;
    let page = ConsoleActivity {
        who,
        csrf,
        entries: entries
            .iter()
            .rev()
            .take(200)
            .map(|e| {
                (
                    e.seq,
                    onshi_domain::japan::rfc3339_japan(e.at),
                    e.actor_id.rsplit('/').next().unwrap_or_default().to_owned(),
                    onshi_pages::action_name(&e.action),
                )
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /console/imports`: the insurer's imports (checkup data and member files) of the last
/// three months, imported or refused, with their counts and first problems.
pub async fn imports(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, _) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let since = state.clock.now() - time::Duration::days(92);
    let records = state.store.imports_of(&insurer, since).await?;
    let page = ConsoleImports {
        who,
        csrf,
        rows: records
            .into_iter()
            .map(|r| ImportRow {
                at: onshi_domain::japan::rfc3339_japan(r.at),
                kind: match r.kind {
                    ImportKind::Checkups => "健診データ",
                    ImportKind::Members => "加入者ファイル",
                }
                .into(),
                sender: format!("{} {}", r.actor_kind, r.actor_id),
                source: r.source,
                outcome: if r.imported {
                    "取り込み済み"
                } else {
                    "不受理"
                }
                .into(),
                counts: if !r.imported {
                    format!("問題 {}件", r.problems)
                } else if r.kind == ImportKind::Members {
                    format!(
                        "{}行（新規 {}、変更 {}、変更なし {}）",
                        r.documents, r.created, r.changed, r.unchanged
                    )
                } else {
                    format!(
                        "{}件（結び付け {}、照合待ち {}、訂正 {}、変更なし {}）",
                        r.documents, r.linked, r.to_match, r.corrected, r.unchanged
                    )
                },
                problems: r
                    .first_problems
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /console/programme`: the insurer's 特定健診・特定保健指導 of the current fiscal year and
/// the two before it (counts only: not audited).
pub async fn programme(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, _) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let this_year = onshi_store::fiscal_year(onshi_domain::japan::japan_date(state.clock.now()));
    let mut years = Vec::with_capacity(3);
    for year in this_year - 2..=this_year {
        years.push(super::programme::summary(&state.store, &insurer, year).await?);
    }
    let page = onshi_pages::ConsoleProgramme::new(who, csrf, &years);
    Ok(html(StatusCode::OK, page.render()))
}

/// The fiscal year of a programme list (`?year=`, else this one), the list (`?list=`) and the
/// guidance status it is narrowed to (`?status=`).
fn list_query(
    state: &AppState,
    query: &std::collections::HashMap<String, String>,
) -> Result<
    (
        i32,
        onshi_store::ProgrammeList,
        Option<onshi_store::GuidanceStatus>,
    ),
    Problem,
> {
    let this_year = onshi_store::fiscal_year(onshi_domain::japan::japan_date(state.clock.now()));
    let year = match query.get("year") {
        None => this_year,
        Some(y) => y
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|y| (2008..=this_year + 1).contains(y))
            .ok_or_else(|| {
                Problem::validation(vec![onshi_domain::FieldError::new(
                    "year",
                    format!("must be a fiscal year from 2008 to {}", this_year + 1),
                )])
            })?,
    };
    let (list, status) = super::programme::list_filter(query).map_err(Problem::validation)?;
    Ok((year, list, status))
}

/// How many people the programme counts on `list` of `insurer`'s fiscal year `year`.
async fn list_total(
    state: &AppState,
    insurer: &onshi_domain::InsurerNumber,
    year: i32,
    list: onshi_store::ProgrammeList,
) -> Result<i64, Problem> {
    let s = super::programme::summary(&state.store, insurer, year).await?;
    Ok(match list {
        onshi_store::ProgrammeList::Targets => s.active + s.motivational,
        onshi_store::ProgrammeList::Referrals => s.referrals,
    })
}

/// `GET /console/programme/people?year=&list=&after=`: a page of 200 of the insurer's guidance
/// targets (`list=targets`) or people to refer (`list=referrals`), each read audited as the
/// staff member's.
pub async fn programme_people(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, account) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let (year, list, status) = list_query(&state, &query)?;
    let page = state
        .store
        .programme_people(
            &account.actor(),
            &insurer,
            year,
            list,
            status,
            query.get("after").map(String::as_str),
            200,
            state.clock.now(),
        )
        .await?;
    // The summary's count is shown for a whole list only.
    let total = match status {
        None => Some(list_total(&state, &insurer, year, list).await?),
        Some(_) => None,
    };
    let page = onshi_pages::ConsoleProgrammePeople::new(
        who,
        csrf,
        &onshi_api::ProgrammeListPage {
            fiscal_year: year,
            list: list.as_str().to_owned(),
            status: status.map(|s| s.as_str().to_owned()),
            items: page
                .items
                .iter()
                .map(super::programme::list_person)
                .collect(),
            next_after: page.next_after,
        },
        total,
    );
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /console/programme/people.csv?year=&list=`: the whole list as CSV (UTF-8 with a BOM),
/// each read audited as the staff member's.
pub async fn programme_people_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (_, _, insurer, account) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let (year, list, status) = list_query(&state, &query)?;
    let mut people = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = state
            .store
            .programme_people(
                &account.actor(),
                &insurer,
                year,
                list,
                status,
                after.as_deref(),
                1000,
                state.clock.now(),
            )
            .await?;
        people.extend(page.items.iter().map(super::programme::list_person));
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(csv_file(
        super::programme::people_csv(year, &people),
        &format!(
            "programme-{}{}-{}-{year}.csv",
            list.as_str(),
            status.map_or(String::new(), |s| format!("-{}", s.as_str())),
            insurer.as_str()
        ),
    ))
}

/// The last fiscal year that has ended (today in Japan time).
fn last_complete_year(state: &AppState) -> i32 {
    onshi_store::fiscal_year(onshi_domain::japan::japan_date(state.clock.now())) - 1
}

/// The fiscal year of a report page: `?year=`, else the last complete one.
fn report_year(state: &AppState, query: &std::collections::HashMap<String, String>) -> i32 {
    let last = last_complete_year(state);
    query
        .get("year")
        .and_then(|y| y.trim().parse::<i32>().ok())
        .filter(|y| (2008..=last + 1).contains(y))
        .unwrap_or(last)
}

/// `GET /console/report?year=`: the insurer's scoring report (published figures only).
pub async fn report(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, _) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let year = report_year(&state, &query);
    let report =
        super::programme::scoring_report(&state.store, &state.published_reports, &insurer, year)
            .await?;
    let page = onshi_pages::ConsoleReport::new(who, csrf, &report);
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /console/report.csv?year=`: the same report's published figures as CSV.
pub async fn report_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (_, _, insurer, _) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let year = report_year(&state, &query);
    let report =
        super::programme::scoring_report(&state.store, &state.published_reports, &insurer, year)
            .await?;
    Ok(csv_file(
        super::programme::report_csv(&report),
        &format!("scoring-report-{}-{year}.csv", insurer.as_str()),
    ))
}

/// `GET /console/members?symbol=&number=&branch=`: the insurer's console.
pub async fn members(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, account) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let text = |name: &str| {
        query
            .get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut page = ConsoleMembers {
        who,
        csrf,
        symbol: text("symbol"),
        number: text("number"),
        branch: text("branch"),
        kana: text("kana"),
        birth_date: text("birth_date"),
        matches: Vec::new(),
        message: None,
        card: String::new(),
        versions: Vec::new(),
    };
    let now = state.clock.now();
    let actor = account.actor();
    let member = text("member");
    if !member.is_empty() {
        // A member by id (a link of a kana search): another insurer's is not found.
        match state
            .store
            .member_history(&actor, &insurer, &member, now)
            .await
        {
            Ok(history) if !history.is_empty() => {
                page.card = history
                    .last()
                    .map(|m| {
                        format!(
                            "{} {}-{}",
                            m.key.symbol.as_str(),
                            m.key.number.as_str(),
                            m.key.branch.as_str()
                        )
                    })
                    .unwrap_or_default();
                page.versions = version_rows(&history);
            }
            Ok(_) | Err(onshi_store::StoreError::NotFound(_)) => {
                page.message = Some("この加入者はいません。".into());
            }
            Err(e) => return Err(e.into()),
        }
    } else if !page.kana.is_empty() {
        match onshi_domain::parse_date(&page.birth_date) {
            Err(_) => page.message = Some("生年月日は YYYY-MM-DD で入力してください。".into()),
            Ok(born) => {
                let found = state
                    .store
                    .find_members_by_kana(&actor, &insurer, &page.kana, born, now)
                    .await?;
                if found.is_empty() {
                    page.message = Some("該当する加入者はいません。".into());
                }
                page.matches = found
                    .iter()
                    .map(|m| {
                        (
                            m.id.clone(),
                            format!(
                                "{}（{}） {} {}-{}",
                                m.details.name.0,
                                m.details.name_kana.0,
                                m.key.symbol.as_str(),
                                m.key.number.as_str(),
                                m.key.branch.as_str()
                            ),
                        )
                    })
                    .collect();
            }
        }
    } else if !page.number.is_empty() {
        let key = onshi_domain::MemberInput {
            insurer_number: insurer.as_str(),
            symbol: &page.symbol,
            number: &page.number,
            branch: &page.branch,
            ..Default::default()
        }
        .card_key();
        match key {
            Err(errors) => {
                let reasons: Vec<String> = errors.iter().map(ToString::to_string).collect();
                page.message = Some(format!("入力を確かめてください: {}", reasons.join("; ")));
            }
            Ok(key) => match state.store.find_member(&actor, &key, now).await? {
                None => page.message = Some("この記号・番号の加入者はいません。".into()),
                Some(found) => {
                    let history = state
                        .store
                        .member_history(&actor, &insurer, &found.id, now)
                        .await?;
                    page.card = format!(
                        "{} {}-{}",
                        key.symbol.as_str(),
                        key.number.as_str(),
                        key.branch.as_str()
                    );
                    page.versions = version_rows(&history);
                }
            },
        }
    }
    Ok(html(StatusCode::OK, page.render()))
}

/// A member's versions as the console lists them, newest first.
fn version_rows(history: &[onshi_store::MemberRecord]) -> Vec<VersionRow> {
    history
        .iter()
        .rev()
        .map(|v| VersionRow {
            version: v.version,
            recorded_at: onshi_domain::japan::rfc3339_japan(v.recorded_at),
            name: v.details.name.0.clone(),
            name_kana: v.details.name_kana.0.clone(),
            birth_date: v.details.birth_date.0.to_string(),
            qualified_from: v.details.qualified_from.to_string(),
            qualified_until: v
                .details
                .qualified_until
                .map_or("—".into(), |d| d.to_string()),
            copay: format!("{}割", v.details.copay_ratio.percent() / 10),
        })
        .collect()
}

/// `GET /employer/requests`: an employer's staff see their insurer's requests for checkup
/// results (this fiscal year and the last) and how many results arrived.
pub async fn employer_requests(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (who, csrf, employer, _) = match employer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let today = onshi_domain::japan::japan_date(state.clock.now());
    let fiscal_year = onshi_store::fiscal_year(today);
    let mut rows = Vec::new();
    for fy in [fiscal_year, fiscal_year - 1] {
        for r in state
            .store
            .checkup_requests(&employer.insurer, Some(&employer.code), fy, today)
            .await?
        {
            let status = if r.overdue {
                "期限切れ（未着あり）"
            } else if r.arrived >= r.covered {
                "すべて届きました"
            } else {
                "受付中"
            };
            rows.push((
                fy,
                r.due_date.to_string(),
                r.covered,
                r.arrived,
                status.to_owned(),
            ));
        }
    }
    let page = EmployerRequests {
        who,
        csrf,
        fiscal_year,
        rows,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /employer/sheet`: an employer's staff see their workplace's sheet (事業所カルテ) of the
/// last three complete fiscal years (published figures only).
pub async fn employer_sheet(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (who, csrf, employer, _) = match employer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let last = last_complete_year(&state);
    let sheet =
        super::programme::workplace_sheet(&state.store, &state.published_reports, &employer, last)
            .await?;
    let page = onshi_pages::WorkplaceSheetPage::new(who, csrf, false, &sheet);
    Ok(html(StatusCode::OK, page.render()))
}

/// The employer a signed-in employer's staff member belongs to, or the page to answer instead.
async fn employer_staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Staff<onshi_domain::EmployerRef>, Box<Response>>, Problem> {
    staff_of(
        state,
        headers,
        "employer",
        |id| onshi_domain::EmployerRef::parse(id).ok(),
        |e| format!("事業所 {e}"),
        "このページは事業所の職員のものです",
    )
    .await
}

/// `GET /employer/report?year=`: an employer's own scoring report (事業主単位) of the last
/// complete fiscal year, when it has 50 eligible members or more; else a page that says so.
pub async fn employer_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (who, csrf, employer, _) = match employer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let year = report_year(&state, &query);
    let (eligible, report) =
        super::programme::employer_report(&state.store, &state.published_reports, &employer, year)
            .await?;
    let Some(report) = report else {
        return Ok(notice(
            StatusCode::OK,
            "スコアリングレポートはありません",
            &[
                &format!(
                    "{year}年度の対象者（年度末に40〜74歳で年度を通じて加入していた方）は{eligible}人です。事業主単位のレポートは{}人以上の事業所に作成します。",
                    super::programme::EMPLOYER_REPORT_MIN
                ),
                "事業所カルテ（/employer/sheet）はご覧になれます。",
            ],
        ));
    };
    let page = onshi_pages::ConsoleReport::for_employer(who, csrf, &report);
    Ok(html(StatusCode::OK, page.render()))
}

/// `GET /employer/report.csv?year=`: the same report's published figures as CSV.
pub async fn employer_report_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (_, _, employer, _) = match employer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let year = report_year(&state, &query);
    let Some(report) =
        super::programme::employer_report(&state.store, &state.published_reports, &employer, year)
            .await?
            .1
    else {
        return Ok(notice(
            StatusCode::NOT_FOUND,
            "スコアリングレポートはありません",
            &["対象者が50人未満の事業所にはレポートがありません。"],
        ));
    };
    Ok(csv_file(
        super::programme::report_csv(&report),
        &format!(
            "scoring-report-{}-{}-{year}.csv",
            employer.insurer.as_str(),
            employer.code.as_str()
        ),
    ))
}

/// A CSV download: its type, a file name, and no caching.
fn csv_file(body: String, name: &str) -> Response {
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /console/workplace?code=`: an insurer's staff see the sheet of one of its workplaces.
pub async fn workplace(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (who, csrf, insurer, _) = match insurer_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let code = query.get("code").map(|c| c.trim()).unwrap_or_default();
    let employer = onshi_domain::EmployerRef::parse(&format!("{}/{code}", insurer.as_str())).ok();
    let registered = match &employer {
        Some(e) => state.store.employer(e).await?.is_some(),
        None => false,
    };
    let (Some(employer), true) = (employer, registered) else {
        return Ok(notice(
            StatusCode::NOT_FOUND,
            "この事業所は登録されていません",
            &["事業所コードを確かめてください。登録は POST /v1/employers で行います。"],
        ));
    };
    let last = last_complete_year(&state);
    let sheet =
        super::programme::workplace_sheet(&state.store, &state.published_reports, &employer, last)
            .await?;
    let page = onshi_pages::WorkplaceSheetPage::new(who, csrf, true, &sheet);
    Ok(html(StatusCode::OK, page.render()))
}

/// The operator's signed-in staff member, or the page to answer instead.
async fn operator_staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Result<Staff<()>, Box<Response>>, Problem> {
    staff_of(
        state,
        headers,
        "operator",
        |_| Some(()),
        |_| "運営者".to_owned(),
        "このページは運営者の職員のものです",
    )
    .await
}

/// `GET /operator/reports?year=`: the national aggregates (全国集計) of a fiscal year (the last
/// complete one by default), as masked for the insurers' reports.
pub async fn operator_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    let (who, csrf, _, _) = match operator_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let year = report_year(&state, &query);
    let report =
        super::programme::national_report(&state.store, &state.published_reports, year).await?;
    let page = onshi_pages::OperatorReports::new(who, csrf, &report);
    Ok(html(StatusCode::OK, page.render()))
}

/// How many waiting facilities the approval page lists.
const WAITING_SHOWN: i64 = 200;

/// `GET /operator/facilities`: the facilities that applied (a portal account) and wait for the
/// operator's approval, the earliest first, each with its approve form.
pub async fn operator_facilities(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let (who, csrf, _, _) = match operator_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    let (waiting, facilities) = state
        .store
        .facilities_awaiting_approval(WAITING_SHOWN)
        .await?;
    let rows = facilities
        .iter()
        .map(|f| {
            onshi_pages::waiting_row(
                f.code.as_str(),
                &f.name,
                f.kind.map_or("", |k| k.japanese()),
                &f.portal_account_at
                    .map(onshi_domain::japan::rfc3339_japan)
                    .unwrap_or_default(),
            )
        })
        .collect();
    let page = onshi_pages::OperatorFacilities {
        who,
        csrf,
        waiting: usize::try_from(waiting).unwrap_or(0),
        rows,
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `POST /operator/facilities/approve` (form: csrf, code): approves a waiting facility,
/// audited as the staff member, and shows its first API token once.
pub async fn approve_facility(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let (_, csrf, _, account) = match operator_staff(&state, &headers).await? {
        Ok(staff) => staff,
        Err(page) => return Ok(*page),
    };
    if let Some(refused) = form_refused(&body, &csrf) {
        return Ok(refused);
    }
    let Some(code) =
        form_field(&body, "code").and_then(|c| onshi_domain::FacilityCode::parse(&c).ok())
    else {
        return Ok(notice(
            StatusCode::UNPROCESSABLE_ENTITY,
            "医療機関コードが読めません",
            &["一覧から承認し直してください。"],
        ));
    };
    let (token, hash) = token::mint(TokenKind::Facility).map_err(|_| Problem::internal())?;
    match state
        .store
        .approve_facility(&code, &hash, &account.actor(), state.clock.now())
        .await
    {
        Ok(()) => {
            let line = format!("医療機関コード {}: {token}", code.as_str());
            Ok(notice(
                StatusCode::OK,
                "承認しました",
                &[
                    line.as_str(),
                    "この API トークンは今だけ表示されます（保存されるのはハッシュのみ）。施設に安全な方法で渡してください。",
                ],
            ))
        }
        Err(onshi_store::StoreError::Conflict(why)) => Ok(notice(
            StatusCode::CONFLICT,
            "承認できません",
            &[why.as_str()],
        )),
        Err(onshi_store::StoreError::NotFound(_)) => Ok(notice(
            StatusCode::NOT_FOUND,
            "この施設は施設マスタにありません",
            &["一覧から承認し直してください。"],
        )),
        Err(e) => Err(e.into()),
    }
}

/// `GET /operator/reports.csv?year=`: the same figures as CSV.
pub async fn operator_reports_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, Problem> {
    if let Err(page) = operator_staff(&state, &headers).await? {
        return Ok(*page);
    }
    let year = report_year(&state, &query);
    let report =
        super::programme::national_report(&state.store, &state.published_reports, year).await?;
    Ok(csv_file(
        super::programme::national_csv(&report),
        &format!("national-{year}.csv"),
    ))
}

/// `GET /staff/home`: where the staff of organisations without pages of their own yet land.
pub async fn staff_home(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let Some((account, _)) = signed_in(&state, &headers).await? else {
        return Ok(sign_in_first());
    };
    let who = format!("{}（{}）", account.login, account.org_kind);
    Ok(notice(
        StatusCode::OK,
        "ログインしました",
        &[
            who.as_str(),
            "保険者の職員は /console/members、事業所の職員は /employer/requests を使います。医療機関と運営者の画面は、これからの版で加わります。",
        ],
    ))
}

/// `POST /staff/logout` (a form with the session's `csrf`): ends the session at once.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, Problem> {
    let Some((_, csrf)) = signed_in(&state, &headers).await? else {
        return Ok(sign_in_first());
    };
    if let Some(refused) = form_refused(&body, &csrf) {
        return Ok(refused);
    }
    if let Some(value) = cookie(&headers, STAFF_COOKIE) {
        state
            .store
            .end_web_session(&token::hash(&value), state.clock.now())
            .await?;
    }
    let mut r = notice(
        StatusCode::OK,
        "ログアウトしました",
        &["このブラウザーでのログインは終わりました。"],
    );
    set_cookie(
        &mut r,
        &format!("{STAFF_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(r)
}

//! `onshi agent`: the facility-side bridge between a receipt computer's shared folder and the
//! onshi server.
//!
//! Layout under `--dir`: `req/` (the receipt computer drops request XML here), `res/` (answers,
//! named after their requests), `done/` (answered requests are moved here), `tmp/` (answers
//! being written), `error/` (entries refused unread: not a regular file, or over 32 MB; each
//! still gets an error answer in `res/`). A request whose name already has an answer older than
//! the request reuses the name: it is answered anew and the old answer replaced atomically. Each answer is written to `tmp/` and renamed into `res/`, then its request is
//! moved to `done/`; a request whose answer already exists is only moved. So a request is answered
//! exactly once even if the agent is killed at any point and restarted. When the server cannot be
//! reached, requests stay in `req/` and are answered when it comes back, with a note saying so.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Args;

use onshi_api::{BulkItem, BulkReceipt, BulkRequest, BulkStatus};
use onshi_domain::Clock;
use onshi_interface::{
    CheckResult, HeaderEcho, InterfaceError, Kind, charset_of, error_result, parse_request,
    response_name, single_result,
};

use crate::CliError;
use crate::client::{Api, ApiError, FacilityServerArgs};

/// `onshi agent` options.
#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(flatten)]
    pub connection: FacilityServerArgs,
    /// The shared folder (req/, res/, done/ and tmp/ are created in it).
    #[arg(long, default_value = "onshi-exchange")]
    pub dir: PathBuf,
    /// Answer what is in req/ now, then exit (instead of watching).
    #[arg(long)]
    pub once: bool,
    /// Milliseconds between scans of req/.
    #[arg(long, default_value_t = 500)]
    pub poll_ms: u64,
    /// This facility's 医療機関コード: requests naming another MedicalInstitutionCode get an
    /// error result (ONS0004) instead of being sent under this facility's token.
    #[arg(long, env = "ONSHI_FACILITY")]
    pub facility: Option<String>,
}

enum Outcome {
    Answered(Vec<u8>),
    Unreachable(String),
    /// The server refused for now (too many checks, 429 `rate-limited`): keep the request
    /// queued and send it again after a pause.
    Throttled(String),
    /// Not well-formed and just modified: most likely still being written; look again later.
    NotYet,
}

/// The time now as the interface writes it (`ProcessExecutionTime`): YYYYMMDDHHmmss, Japan
/// time.
pub fn stamp(clock: &dyn Clock) -> String {
    onshi_domain::japan::interface_time(clock.now())
}

async fn answer(
    args: &AgentArgs,
    api: &Api,
    clock: &dyn Clock,
    name: &str,
    bytes: &[u8],
    note: Option<&str>,
    young: bool,
) -> Outcome {
    let executed_at = stamp(clock);
    let req = match parse_request(name, bytes) {
        Ok(r) => r,
        Err(InterfaceError::Malformed(_)) if young => return Outcome::NotYet,
        Err(e) => {
            // Echo what the file's header says, so the client can place the answer even for a
            // kind onshi does not serve or a request missing an element.
            let raw = onshi_interface::raw_header(bytes);
            let fallback = HeaderEcho {
                charset: charset_of(bytes),
                executed_at: &executed_at,
                confirmation_date: raw.confirmation_date.as_deref(),
                institution: &raw.institution,
                file_identifier: raw.file_identifier.as_deref(),
            };
            return Outcome::Answered(error_result(&fallback, e.code(), &e.to_string()));
        }
    };
    let echo = HeaderEcho {
        charset: req.charset,
        executed_at: &executed_at,
        confirmation_date: req.confirmation_date.as_deref(),
        institution: &req.institution,
        file_identifier: req.file_identifier.as_deref(),
    };
    if let Some(own) = &args.facility
        && req.institution.trim() != own.trim()
    {
        return Outcome::Answered(error_result(
            &echo,
            "ONS0004",
            &format!(
                "MedicalInstitutionCode {} is not this agent's facility ({})",
                req.institution.trim(),
                own.trim()
            ),
        ));
    }
    match req.kind {
        Kind::SingleLookup => {}
        Kind::BulkUpload => return bulk_upload(api, &req, &echo).await,
        Kind::BulkDownload => return bulk_download(api, &req, &echo).await,
        Kind::CheckupLookup => return checkup_lookup(api, &req, &echo).await,
    }
    let Some(search) = req.searches.first() else {
        let e = InterfaceError::Invalid {
            element: "QualificationConfirmSearchInfo".into(),
            reason: "is required".into(),
        };
        return Outcome::Answered(error_result(&echo, e.code(), &e.to_string()));
    };
    if search
        .birth_date
        .as_deref()
        .is_none_or(|b| b.trim().is_empty())
    {
        // As in the national interface, a look-up by card number needs the birth date.
        let e = InterfaceError::Invalid {
            element: "QualificationConfirmSearchInfo/Birthdate".into(),
            reason: "is required (生年月日)".into(),
        };
        return Outcome::Answered(error_result(&echo, e.code(), &e.to_string()));
    }
    let request = card_of(search).into_check(req.confirmation_date.clone());
    match exchange::<CheckResult>(api.post("/v1/eligibility/number", &request).await, &echo) {
        Ok(result) => Outcome::Answered(single_result(&echo, search, &result, note)),
        Err(outcome) => outcome,
    }
}

/// A 特定健診情報 request: the patient's results by card, as XML. onshi writes no PDF: a
/// request for one (`FileCategory` 1) is answered with an error saying to ask for XML.
async fn checkup_lookup(
    api: &Api,
    req: &onshi_interface::Request,
    echo: &HeaderEcho<'_>,
) -> Outcome {
    if req.file_category.as_deref() == Some("1") {
        return Outcome::Answered(error_result(
            echo,
            "ONS0007",
            "onshi answers 特定健診情報 as XML only: send FileCategory 2",
        ));
    }
    let Some(card) = req.searches.first() else {
        return Outcome::Answered(error_result(
            echo,
            "ONS0003",
            "InsuredPersonIdentificationNumber: is required",
        ));
    };
    let lookup = onshi_api::CheckupCardLookup {
        insurer_number: card.insurer_number.clone(),
        symbol: card.symbol.clone(),
        number: card.number.clone(),
        branch: card.branch.clone(),
    };
    match exchange::<onshi_api::CheckupResults>(
        api.post("/v1/checkups/by-card", &lookup).await,
        echo,
    ) {
        Ok(results) => Outcome::Answered(onshi_interface::checkup_result(echo, &results)),
        Err(outcome) => outcome,
    }
}

/// The card key and birth date of a request's `QualificationConfirmSearchInfo`.
fn card_of(s: &onshi_interface::SearchInfo) -> BulkItem {
    BulkItem {
        insurer_number: s.insurer_number.clone(),
        symbol: s.symbol.clone(),
        number: s.number.clone(),
        branch: s.branch.clone(),
        birth_date: s.birth_date.clone(),
        limit_consent: s.limit_consent.as_ref().map(|_| s.limit_consented()),
        arbitrary_identifier: s.arbitrary_identifier.clone(),
    }
}

/// The error code of an answer refused because the facility's look-ups by card number matched
/// no one too often (the server's 429 `mismatch-limited`). A 429 `rate-limited` (too many
/// checks) is not answered: the request stays queued and is sent again after a pause.
const RATE_LIMITED: &str = "ONS0102";

/// What a request to the server comes to: the answer, or the outcome to return at once (the
/// server unreachable or failing, to be retried; a refused request answered with an error
/// result; an answer that is not what the contract promises, ONS0101).
fn exchange<T>(answer: Result<T, ApiError>, echo: &HeaderEcho<'_>) -> Result<T, Outcome> {
    match answer {
        Ok(value) => Ok(value),
        Err(ApiError::Unreachable(why)) => Err(Outcome::Unreachable(why)),
        Err(ApiError::Refused(status, _)) if status >= 500 => Err(Outcome::Unreachable(format!(
            "server answered {}",
            reqwest::StatusCode::from_u16(status)
                .map_or_else(|_| status.to_string(), |s| s.to_string())
        ))),
        Err(ApiError::Refused(429, problem)) if problem.short_kind() == "rate-limited" => {
            Err(Outcome::Throttled(problem.summary()))
        }
        Err(ApiError::Refused(429, problem)) => Err(Outcome::Answered(error_result(
            echo,
            RATE_LIMITED,
            &problem.summary(),
        ))),
        Err(ApiError::Refused(_, problem)) => Err(Outcome::Answered(error_result(
            echo,
            "ONS0100",
            &problem.summary(),
        ))),
        Err(ApiError::Unexpected(why)) => Err(Outcome::Answered(error_result(
            echo,
            "ONS0101",
            &format!("unexpected answer from the server: {why}"),
        ))),
    }
}

async fn bulk_upload(api: &Api, req: &onshi_interface::Request, echo: &HeaderEcho<'_>) -> Outcome {
    let request = BulkRequest {
        consultation_date: req.confirmation_date.clone(),
        items: req.searches.iter().map(card_of).collect(),
    };
    let receipt = match exchange::<BulkReceipt>(api.post("/v1/bulk-checks", &request).await, echo) {
        Ok(r) => r,
        Err(outcome) => return outcome,
    };
    let received: String = receipt
        .received_at
        .replace(['-', ':', 'T'], "")
        .chars()
        .take(14)
        .collect();
    Outcome::Answered(onshi_interface::bulk_receipt(
        echo,
        &receipt.reception_number,
        &received,
    ))
}

async fn bulk_download(
    api: &Api,
    req: &onshi_interface::Request,
    echo: &HeaderEcho<'_>,
) -> Outcome {
    let number = req.reception_number.clone().unwrap_or_default();
    let status =
        match exchange::<BulkStatus>(api.get(&format!("/v1/bulk-checks/{number}")).await, echo) {
            Ok(s) => s,
            Err(outcome) => return outcome,
        };
    let Some(rows) = status.results.filter(|_| status.finished) else {
        return Outcome::Answered(onshi_interface::bulk_result(echo, &number, None));
    };
    let units: Vec<onshi_interface::BulkUnit> = rows
        .into_iter()
        .map(|row| {
            let search = onshi_interface::SearchInfo {
                insurer_number: row.request.insurer_number,
                symbol: row.request.symbol,
                number: row.request.number,
                branch: row.request.branch,
                birth_date: row.request.birth_date,
                limit_consent: row
                    .request
                    .limit_consent
                    .map(|c| if c { "1" } else { "0" }.to_owned()),
                arbitrary_identifier: row.request.arbitrary_identifier,
            };
            let outcome = row.result.ok_or_else(|| {
                let code = match &row.error {
                    Some(p) if p.status == 429 => RATE_LIMITED,
                    _ => "ONS0100",
                };
                (
                    code.to_owned(),
                    row.error.map_or_else(
                        || reqwest::StatusCode::UNPROCESSABLE_ENTITY.to_string(),
                        |p| p.summary(),
                    ),
                )
            });
            onshi_interface::BulkUnit { search, outcome }
        })
        .collect();
    Outcome::Answered(onshi_interface::bulk_result(echo, &number, Some(&units)))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}

/// Request files ready to answer: `*.xml` in req/, oldest name first, not modified in the last
/// moment (a receipt computer may still be writing one). Entries that are not regular files
/// (a directory, a FIFO, a device, a symbolic link: never followed) are listed too, to be
/// refused by [`read_request`].
fn pending(req: &Path, clock: &dyn Clock) -> Result<Vec<PathBuf>, CliError> {
    let now = SystemTime::from(clock.now());
    let mut files: Vec<PathBuf> = std::fs::read_dir(req)
        .map_err(io(req))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .filter(|p| {
            std::fs::symlink_metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age >= Duration::from_millis(200))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Whether req/ holds any `*.xml` entry, however young.
fn any_request(req: &Path) -> Result<bool, CliError> {
    Ok(std::fs::read_dir(req)
        .map_err(io(req))?
        .filter_map(Result::ok)
        .any(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("xml"))
        }))
}

/// How long a malformed request is given to be finished before it is answered as malformed.
const SETTLE: Duration = Duration::from_secs(2);

/// Whether a request was modified less than [`SETTLE`] ago: if it is not well-formed either,
/// it is most likely still being written (a receipt computer writing in place, not through a
/// rename) and is left for a later scan; once older, a malformed file is answered as such.
fn is_young(modified: Option<SystemTime>, clock: &dyn Clock) -> bool {
    modified
        .and_then(|t| SystemTime::from(clock.now()).duration_since(t).ok())
        .is_some_and(|age| age < SETTLE)
}

/// Whether the answer under a request's name is older than the request: the client reused the
/// name for a new request (the old answer is another patient's), as opposed to an answer
/// written just before a crash, which is newer than its request and is kept.
fn answer_is_stale(request: &Path, answer: &Path) -> bool {
    let modified = |p: &Path| std::fs::symlink_metadata(p).and_then(|m| m.modified());
    match (modified(request), modified(answer)) {
        (Ok(r), Ok(a)) => r > a,
        _ => false,
    }
}

/// Why a request entry is not read: answered with an error result and moved to `error/`.
#[derive(Debug)]
struct Refusal {
    code: &'static str,
    message: String,
}

/// Reads a request file and its modification time: only a regular file (not followed through a
/// link), at most
/// [`onshi_interface::xml::MAX_BYTES`], read with that bound whatever its size claims.
fn read_request(path: &Path) -> Result<(Vec<u8>, Option<SystemTime>), Refusal> {
    use std::io::Read;
    let refuse = |code, message: String| Refusal { code, message };
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| refuse("ONS0005", format!("the request cannot be read: {e}")))?;
    if !meta.file_type().is_file() {
        let kind = if meta.file_type().is_symlink() {
            "a symbolic link"
        } else if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(refuse(
            "ONS0005",
            format!("the request is {kind}; only regular files are read"),
        ));
    }
    let limit = onshi_interface::xml::MAX_BYTES as u64;
    if meta.len() > limit {
        return Err(refuse(
            "ONS0006",
            format!("the request is larger than {limit} bytes"),
        ));
    }
    let file = std::fs::File::open(path)
        .map_err(|e| refuse("ONS0005", format!("the request cannot be read: {e}")))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| refuse("ONS0005", format!("the request cannot be read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(refuse(
            "ONS0006",
            format!("the request is larger than {limit} bytes"),
        ));
    }
    Ok((bytes, meta.modified().ok()))
}

/// Runs the agent.
pub async fn run(args: AgentArgs, clock: &dyn Clock) -> Result<(), CliError> {
    let args = &args;
    let [req, res, done, tmp, error] =
        ["req", "res", "done", "tmp", "error"].map(|d| args.dir.join(d));
    for d in [&req, &res, &done, &tmp, &error] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let api = args.connection.api()?;
    let mut outage: Option<String> = None;
    println!(
        "onshi agent: watching {} (answers in {})",
        req.display(),
        res.display()
    );
    loop {
        let files = pending(&req, clock)?;
        let mut blocked = false;
        for path in &files {
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let answer_path = res.join(response_name(&name));
            if !answer_path.exists() || answer_is_stale(path, &answer_path) {
                let (bytes, modified) = match read_request(path) {
                    Ok(read) => read,
                    Err(refusal) => {
                        // Answered and set aside in error/, so it is never read again and the
                        // requests behind it are served.
                        tracing::warn!(code = refusal.code, reason = %refusal.message, "request refused");
                        let executed_at = stamp(clock);
                        let echo = HeaderEcho {
                            charset: onshi_interface::Charset::ShiftJis,
                            executed_at: &executed_at,
                            confirmation_date: None,
                            institution: args.facility.as_deref().unwrap_or(""),
                            file_identifier: None,
                        };
                        let xml = error_result(&echo, refusal.code, &refusal.message);
                        let partial = tmp.join(response_name(&name));
                        std::fs::write(&partial, xml).map_err(io(&partial))?;
                        std::fs::rename(&partial, &answer_path).map_err(io(&answer_path))?;
                        std::fs::rename(path, error.join(&name)).map_err(io(path))?;
                        continue;
                    }
                };
                let note = outage.as_ref().map(|since| format!("サーバーに接続できなかったため遅延して応答しました (unreachable since {since})"));
                let young = is_young(modified, clock);
                match answer(args, &api, clock, &name, &bytes, note.as_deref(), young).await {
                    Outcome::NotYet => continue,
                    Outcome::Throttled(why) => {
                        tracing::warn!(reason = %why, "the server asks this facility to check more slowly: requests stay queued in req/");
                        blocked = true;
                        break;
                    }
                    Outcome::Unreachable(why) => {
                        if outage.is_none() {
                            tracing::warn!(reason = %why, "server unreachable: requests stay queued in req/");
                            outage = Some(stamp(clock));
                        }
                        blocked = true;
                        break;
                    }
                    Outcome::Answered(xml) => {
                        let partial = tmp.join(response_name(&name));
                        std::fs::write(&partial, xml).map_err(io(&partial))?;
                        std::fs::rename(&partial, &answer_path).map_err(io(&answer_path))?;
                    }
                }
            }
            std::fs::rename(path, done.join(&name)).map_err(io(path))?;
        }
        if !blocked && outage.is_some() && files.iter().all(|f| !f.exists()) {
            tracing::info!("server reachable again; queued requests answered");
            outage = None;
        }
        // `--once` ends when req/ holds no request at all, young ones included: a file still
        // being written is waited for, not left behind.
        if args.once && !blocked && !any_request(&req)? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(if blocked {
            args.poll_ms.max(1000)
        } else {
            args.poll_ms
        }))
        .await;
    }
}

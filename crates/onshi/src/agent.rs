//! `onshi agent`: the facility-side bridge between a receipt computer's shared folder and the
//! onshi server.
//!
//! Layout under `--dir`: `req/` (the receipt computer drops request XML here), `res/` (answers,
//! named after their requests), `done/` (answered requests are moved here), `tmp/` (answers
//! being written). Each answer is written to `tmp/` and renamed into `res/`, then its request is
//! moved to `done/`; a request whose answer already exists is only moved. So a request is answered
//! exactly once even if the agent is killed at any point and restarted. When the server cannot be
//! reached, requests stay in `req/` and are answered when it comes back, with a note saying so.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::Args;
use serde_json::json;

use onshi_interface::{
    CheckResult, HeaderEcho, InterfaceError, Kind, charset_of, error_result, parse_request,
    response_name, single_result,
};

use crate::CliError;
use crate::cards::{ClientTls, http_client};

/// `onshi agent` options.
#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(flatten)]
    pub tls: ClientTls,
    /// The onshi server.
    #[arg(long, env = "ONSHI_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The facility's API token.
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: String,
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
}

fn stamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

async fn answer(
    args: &AgentArgs,
    client: &reqwest::Client,
    name: &str,
    bytes: &[u8],
    note: Option<&str>,
) -> Outcome {
    let executed_at = stamp();
    let fallback = HeaderEcho {
        charset: charset_of(bytes),
        executed_at: &executed_at,
        confirmation_date: None,
        institution: "",
        file_identifier: None,
    };
    let req = match parse_request(name, bytes) {
        Ok(r) => r,
        Err(e) => return Outcome::Answered(error_result(&fallback, e.code(), &e.to_string())),
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
        Kind::BulkUpload => return bulk_upload(args, client, &req, &echo).await,
        Kind::BulkDownload => return bulk_download(args, client, &req, &echo).await,
    }
    let Some(search) = req.searches.first() else {
        let e = InterfaceError::Invalid {
            element: "QualificationConfirmSearchInfo".into(),
            reason: "is required".into(),
        };
        return Outcome::Answered(error_result(&echo, e.code(), &e.to_string()));
    };
    let body = json!({
        "insurer_number": search.insurer_number, "symbol": search.symbol, "number": search.number,
        "branch": search.branch, "birth_date": search.birth_date, "consultation_date": req.confirmation_date,
        "limit_consent": search.limit_consented(),
    });
    let value = match exchange(
        args,
        client.post(url(args, "/v1/eligibility/number")).json(&body),
        &echo,
    )
    .await
    {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    match serde_json::from_value::<CheckResult>(value) {
        Ok(result) => Outcome::Answered(single_result(&echo, search, &result, note)),
        Err(e) => Outcome::Answered(error_result(
            &echo,
            "ONS0101",
            &format!("unexpected answer from the server: {e}"),
        )),
    }
}

/// Sends a request to the server: `Err` is the outcome to return at once (unreachable, or an
/// error result for a refused request); `Ok` is the successful answer's JSON.
async fn exchange(
    args: &AgentArgs,
    request: reqwest::RequestBuilder,
    echo: &HeaderEcho<'_>,
) -> Result<serde_json::Value, Outcome> {
    let response = request
        .bearer_auth(&args.facility_token)
        .send()
        .await
        .map_err(|e| Outcome::Unreachable(e.to_string()))?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Outcome::Unreachable(format!("server answered {status}")));
    }
    let value: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        return Err(Outcome::Answered(error_result(
            echo,
            "ONS0100",
            &problem_text(status, &value),
        )));
    }
    Ok(value)
}

fn url(args: &AgentArgs, path: &str) -> String {
    format!("{}{path}", args.server.trim_end_matches('/'))
}

fn problem_text(status: reqwest::StatusCode, value: &serde_json::Value) -> String {
    value["errors"][0]["field"]
        .as_str()
        .map(|f| {
            format!(
                "{f}: {}",
                value["errors"][0]["reason"].as_str().unwrap_or("")
            )
        })
        .or_else(|| value["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| status.to_string())
}

async fn bulk_upload(
    args: &AgentArgs,
    client: &reqwest::Client,
    req: &onshi_interface::Request,
    echo: &HeaderEcho<'_>,
) -> Outcome {
    let items: Vec<serde_json::Value> = req
        .searches
        .iter()
        .map(|s| json!({"insurer_number": s.insurer_number, "symbol": s.symbol, "number": s.number, "branch": s.branch, "birth_date": s.birth_date}))
        .collect();
    let body = json!({"consultation_date": req.confirmation_date, "items": items});
    let value = match exchange(
        args,
        client.post(url(args, "/v1/bulk-checks")).json(&body),
        echo,
    )
    .await
    {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    let received: String = value["received_at"]
        .as_str()
        .unwrap_or_default()
        .replace(['-', ':', 'T'], "")
        .chars()
        .take(14)
        .collect();
    Outcome::Answered(onshi_interface::bulk_receipt(
        echo,
        value["reception_number"].as_str().unwrap_or_default(),
        &received,
    ))
}

async fn bulk_download(
    args: &AgentArgs,
    client: &reqwest::Client,
    req: &onshi_interface::Request,
    echo: &HeaderEcho<'_>,
) -> Outcome {
    let number = req.reception_number.clone().unwrap_or_default();
    let value = match exchange(
        args,
        client.get(url(args, &format!("/v1/bulk-checks/{number}"))),
        echo,
    )
    .await
    {
        Ok(v) => v,
        Err(outcome) => return outcome,
    };
    if value["finished"] != true {
        return Outcome::Answered(onshi_interface::bulk_result(echo, &number, None));
    }
    let units: Vec<onshi_interface::BulkUnit> = value["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| {
            let r = &row["request"];
            let text = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            let search = onshi_interface::SearchInfo {
                insurer_number: text("insurer_number"),
                symbol: text("symbol"),
                number: text("number"),
                branch: text("branch"),
                birth_date: r["birth_date"].as_str().map(str::to_owned),
                ..Default::default()
            };
            let outcome =
                serde_json::from_value::<CheckResult>(row["result"].clone()).map_err(|_| {
                    (
                        "ONS0100".to_owned(),
                        problem_text(reqwest::StatusCode::UNPROCESSABLE_ENTITY, &row["error"]),
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
/// moment (a receipt computer may still be writing one).
fn pending(req: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(req)
        .map_err(io(req))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .filter(|p| {
            std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age >= Duration::from_millis(200))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// Runs the agent.
pub async fn run(args: &AgentArgs) -> Result<(), CliError> {
    let [req, res, done, tmp] = ["req", "res", "done", "tmp"].map(|d| args.dir.join(d));
    for d in [&req, &res, &done, &tmp] {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    let client = http_client()?;
    let mut outage: Option<String> = None;
    println!(
        "onshi agent: watching {} (answers in {})",
        req.display(),
        res.display()
    );
    loop {
        let files = pending(&req)?;
        let mut blocked = false;
        for path in &files {
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
                continue;
            };
            let answer_path = res.join(response_name(&name));
            if !answer_path.exists() {
                let bytes = std::fs::read(path).map_err(io(path))?;
                let note = outage.as_ref().map(|since| format!("サーバーに接続できなかったため遅延して応答しました (unreachable since {since})"));
                match answer(args, &client, &name, &bytes, note.as_deref()).await {
                    Outcome::Unreachable(why) => {
                        if outage.is_none() {
                            tracing::warn!(reason = %why, "server unreachable: requests stay queued in req/");
                            outage = Some(stamp());
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
        if args.once && !blocked && pending(&req)?.is_empty() {
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

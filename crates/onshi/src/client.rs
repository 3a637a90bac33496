//! The facility-side HTTP client that `reader`, `register`, `check number`, `agent` and
//! `loadgen` share: TLS options (an `https://` server, mutual TLS), and typed requests whose
//! bodies and answers are the wire contract's types (`onshi_api`), so a renamed field fails to
//! compile here as it does in the server.

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::CliError;

/// TLS options of the facility-side tools (for an `https://` server, and mutual TLS).
#[derive(Debug, Clone, Default, Args)]
pub struct ClientTls {
    /// CA certificate (PEM) to trust for an https:// server.
    #[arg(long = "ca", env = "ONSHI_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// This facility's client certificate (PEM), for mutual TLS.
    #[arg(
        long,
        env = "ONSHI_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// The client certificate's key (PEM).
    #[arg(long, env = "ONSHI_CLIENT_KEY", value_name = "FILE")]
    pub client_key: Option<PathBuf>,
}

/// Where a facility tool finds the server and how it authenticates: the options every
/// facility-side verb shares (flattened into each verb's arguments).
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub tls: ClientTls,
    /// The onshi server.
    #[arg(long, env = "ONSHI_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
}

/// The same, with the facility's API token required.
#[derive(Debug, Clone, Args)]
pub struct FacilityServerArgs {
    #[command(flatten)]
    pub server: ServerArgs,
    /// The facility's API token (not needed for `onshi reader --portal-login`, which is the
    /// person's own).
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: Option<String>,
}

impl FacilityServerArgs {
    /// A client of the server, authenticated as the facility (TLS as configured).
    pub fn api(&self) -> Result<Api, CliError> {
        let token = self.facility_token.as_deref().ok_or_else(|| {
            CliError::Config("--facility-token (or ONSHI_FACILITY_TOKEN) is required".into())
        })?;
        Api::new(&self.server, Some(token))
    }

    /// A client of the server without the facility's token (the person's own requests).
    pub fn anonymous(&self) -> Result<Api, CliError> {
        Api::new(&self.server, None)
    }
}

static CLIENT_TLS: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();

fn io(path: &std::path::Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}

/// Configures TLS for this process's requests (call once, before any request).
fn set_client_tls(tls: &ClientTls) -> Result<(), CliError> {
    let config = match &tls.ca {
        None => None,
        Some(ca) => {
            let ca_pem = std::fs::read(ca).map_err(io(ca))?;
            let identity = match (&tls.client_cert, &tls.client_key) {
                (Some(c), Some(k)) => Some((
                    std::fs::read(c).map_err(io(c))?,
                    std::fs::read(k).map_err(io(k))?,
                )),
                _ => None,
            };
            let cfg = onshi_server::tls::client_config(
                &ca_pem,
                identity.as_ref().map(|(c, k)| (c.as_slice(), k.as_slice())),
            )
            .map_err(|e| CliError::Config(e.to_string()))?;
            Some(cfg)
        }
    };
    let _ = CLIENT_TLS.set(config);
    Ok(())
}

/// Why a request did not give the answer asked for.
#[derive(Debug)]
pub enum ApiError {
    /// No answer at all (connection refused, reset, TLS failure).
    Unreachable(String),
    /// The server answered with an error status and its problem document (or, where the body
    /// was not one, a problem made from the status).
    Refused(u16, onshi_api::Problem),
    /// A successful status whose body is not the type the contract promises.
    Unexpected(String),
}

impl From<ApiError> for CliError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Unreachable(why) => {
                CliError::Config(format!("cannot reach the server: {why}"))
            }
            ApiError::Refused(status, p) => {
                CliError::Refused(format!("{status} {}: {}", p.short_kind(), p.detail))
            }
            ApiError::Unexpected(why) => {
                CliError::Config(format!("unexpected answer from the server: {why}"))
            }
        }
    }
}

/// A client of one onshi server, authenticated with a token or (the portal) without.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    server: String,
    token: Option<String>,
}

impl Api {
    /// A client of `server` sending `token`, with the TLS of `ServerArgs`.
    pub fn new(server: &ServerArgs, token: Option<&str>) -> Result<Self, CliError> {
        set_client_tls(&server.tls)?;
        let builder = reqwest::Client::builder();
        let builder = match CLIENT_TLS.get().and_then(Option::as_ref) {
            Some(cfg) => builder.use_preconfigured_tls(cfg.clone()),
            None => builder,
        };
        let http = builder
            .build()
            .map_err(|e| CliError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            http,
            server: server.server.trim_end_matches('/').to_owned(),
            token: token.map(str::to_owned),
        })
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server)
    }

    /// A `POST` of `path` with `body`, not yet sent (for callers that time the request).
    pub fn post_request<B: Serialize + ?Sized>(
        &self,
        path: &str,
        body: &B,
    ) -> reqwest::RequestBuilder {
        self.authorised(self.http.post(self.url(path)).json(body))
    }

    fn authorised(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
    }

    /// `POST path` with `body`; the answer read as `R`.
    pub async fn post<B: Serialize + ?Sized, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, ApiError> {
        read(self.post_request(path, body).send().await).await
    }

    /// `GET path`; the answer read as `R`.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, ApiError> {
        read(self.authorised(self.http.get(self.url(path))).send().await).await
    }
}

async fn read<R: DeserializeOwned>(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<R, ApiError> {
    let response = sent.map_err(|e| ApiError::Unreachable(e.to_string()))?;
    let status = response.status();
    let body = response
        .bytes()
        .await
        .map_err(|e| ApiError::Unreachable(e.to_string()))?;
    if !status.is_success() {
        let problem = serde_json::from_slice::<onshi_api::Problem>(&body).unwrap_or_else(|_| {
            onshi_api::Problem {
                kind: String::new(),
                title: String::new(),
                status: status.as_u16(),
                detail: status.to_string(),
                errors: Vec::new(),
            }
        });
        return Err(ApiError::Refused(status.as_u16(), problem));
    }
    serde_json::from_slice(&body).map_err(|e| ApiError::Unexpected(e.to_string()))
}

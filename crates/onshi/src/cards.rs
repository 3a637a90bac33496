//! Cards at the command line: the demo PKI (`onshi pki`), the trust configuration of `serve`,
//! and the clients a facility runs: the card-reader emulator (`onshi reader`), registration for
//! insurance use (`onshi register`) and the number check (`onshi check number`).

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use onshi_domain::{Clock, MyNumber, MyNumberKey};
use onshi_pki::{Authority, CardError, CertKind, StalePolicy, VirtualCard};
use onshi_server::trust::{Trust, TrustSources};
use onshi_store::Store;

use crate::CliError;

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}

fn pki_err(e: onshi_pki::PkiError) -> CliError {
    CliError::Config(e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Trust configuration of `serve`.

/// Where `serve` finds trust anchors and CRLs for card checks.
#[derive(Debug, Clone, Default, Args)]
pub struct TrustArgs {
    /// Trust anchor for My Number card certificates (PEM; repeatable).
    #[arg(
        long = "card-root",
        env = "ONSHI_CARD_ROOTS",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub card_roots: Vec<PathBuf>,
    /// Trust anchor for smartphone certificates (PEM; repeatable).
    #[arg(
        long = "smartphone-root",
        env = "ONSHI_SMARTPHONE_ROOTS",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub smartphone_roots: Vec<PathBuf>,
    /// A CRL file or http:// URL (PEM or DER; repeatable), reloaded every --crl-refresh seconds.
    #[arg(
        long = "crl",
        env = "ONSHI_CRLS",
        value_delimiter = ',',
        value_name = "FILE|URL"
    )]
    pub crls: Vec<String>,
    /// What to do when a CRL is past its nextUpdate: refuse card checks (reject) or go on (accept).
    #[arg(long, env = "ONSHI_CRL_STALE_POLICY", value_enum, default_value_t = StaleArg::Reject)]
    pub crl_stale_policy: StaleArg,
    /// Seconds between CRL reloads.
    #[arg(long, env = "ONSHI_CRL_REFRESH", default_value_t = 300)]
    pub crl_refresh: u64,
}

/// `--crl-stale-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum StaleArg {
    /// Refuse card checks against a stale CRL (safe default).
    #[default]
    Reject,
    /// Keep checking against the stale CRL; /healthz reports it.
    Accept,
}

impl TrustArgs {
    /// True when no anchor is configured (card checks then answer 503).
    pub fn is_empty(&self) -> bool {
        self.card_roots.is_empty() && self.smartphone_roots.is_empty()
    }

    async fn sources(&self) -> Result<TrustSources, CliError> {
        let mut sources = TrustSources::default();
        for (kind, files) in [
            (CertKind::Card, &self.card_roots),
            (CertKind::Smartphone, &self.smartphone_roots),
        ] {
            for f in files {
                sources
                    .anchors
                    .push((kind, std::fs::read(f).map_err(io(f))?));
            }
        }
        for c in &self.crls {
            let bytes = if c.starts_with("http://") || c.starts_with("https://") {
                let resp = reqwest::get(c)
                    .await
                    .map_err(|e| CliError::Config(format!("CRL {c}: {e}")))?;
                let resp = resp
                    .error_for_status()
                    .map_err(|e| CliError::Config(format!("CRL {c}: {e}")))?;
                resp.bytes()
                    .await
                    .map_err(|e| CliError::Config(format!("CRL {c}: {e}")))?
                    .to_vec()
            } else {
                std::fs::read(c).map_err(io(Path::new(c)))?
            };
            sources.crls.push(bytes);
        }
        Ok(sources)
    }

    /// Loads anchors and CRLs, and starts reloading the CRLs in the background.
    pub async fn load(
        &self,
        clock: std::sync::Arc<dyn Clock>,
    ) -> Result<std::sync::Arc<Trust>, CliError> {
        if self.is_empty() {
            tracing::warn!(
                "no trust anchors configured (--card-root, --smartphone-root): card checks will answer 503"
            );
            return Ok(std::sync::Arc::new(Trust::none()));
        }
        let policy = match self.crl_stale_policy {
            StaleArg::Reject => StalePolicy::Reject,
            StaleArg::Accept => StalePolicy::Accept,
        };
        let trust = std::sync::Arc::new(
            Trust::new(&self.sources().await?, policy, clock.now()).map_err(pki_err)?,
        );
        let (args, refreshed) = (self.clone(), std::sync::Arc::clone(&trust));
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(std::time::Duration::from_secs(args.crl_refresh.max(1)));
            tick.tick().await;
            loop {
                tick.tick().await;
                match args.sources().await {
                    Ok(s) => {
                        if let Err(e) = refreshed.reload(&s, clock.now()) {
                            tracing::warn!(error = %e, "CRL reload failed; keeping the previous ones");
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "CRL reload failed; keeping the previous ones")
                    }
                }
            }
        });
        Ok(trust)
    }
}

// ---------------------------------------------------------------------------------------------
// The demo PKI: a folder with two authorities, their CRLs, and the revoked serials.

/// The files of a demo PKI folder.
pub struct PkiDir(pub PathBuf);

impl PkiDir {
    fn ca(&self, kind: CertKind) -> (PathBuf, PathBuf) {
        (
            self.0.join(format!("{}-ca.pem", kind.as_str())),
            self.0.join(format!("{}-ca.key", kind.as_str())),
        )
    }
    /// The CRL file of `kind`.
    pub fn crl(&self, kind: CertKind) -> PathBuf {
        self.0.join(format!("{}.crl", kind.as_str()))
    }
    /// The root certificate file of `kind`.
    pub fn root(&self, kind: CertKind) -> PathBuf {
        self.ca(kind).0
    }
    fn revoked(&self, kind: CertKind) -> PathBuf {
        self.0.join(format!("{}-revoked.txt", kind.as_str()))
    }

    /// Creates both authorities and empty CRLs (refusing to overwrite an existing PKI).
    pub fn init(&self, now: OffsetDateTime) -> Result<(), CliError> {
        if self.root(CertKind::Card).exists() {
            return Err(CliError::Config(format!(
                "{} already holds a PKI",
                self.0.display()
            )));
        }
        std::fs::create_dir_all(&self.0).map_err(io(&self.0))?;
        for kind in [CertKind::Card, CertKind::Smartphone] {
            let ca = Authority::create(kind, now).map_err(pki_err)?;
            let (cert, key) = self.ca(kind);
            std::fs::write(&cert, ca.cert_pem()).map_err(io(&cert))?;
            write_private(&key, ca.key_pem().as_bytes())?;
            std::fs::write(self.revoked(kind), "").map_err(io(&self.revoked(kind)))?;
            self.publish(kind, now)?;
        }
        Ok(())
    }

    /// Loads one authority.
    pub fn authority(&self, kind: CertKind) -> Result<Authority, CliError> {
        let (cert, key) = self.ca(kind);
        let cert_pem = std::fs::read_to_string(&cert).map_err(io(&cert))?;
        let key_pem = std::fs::read_to_string(&key).map_err(io(&key))?;
        Authority::from_pem(kind, &cert_pem, &key_pem).map_err(pki_err)
    }

    /// Signs and writes the CRL of `kind`, valid seven days.
    pub fn publish(&self, kind: CertKind, now: OffsetDateTime) -> Result<(), CliError> {
        let ca = self.authority(kind)?;
        let list = std::fs::read_to_string(self.revoked(kind)).unwrap_or_default();
        let revoked: Vec<(Vec<u8>, OffsetDateTime)> = list
            .lines()
            .filter_map(|l| {
                let (serial, at) = l.split_once(' ')?;
                let bytes = (0..serial.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(serial.get(i..i + 2)?, 16).ok())
                    .collect::<Option<Vec<u8>>>()?;
                let at = OffsetDateTime::from_unix_timestamp(at.parse().ok()?).ok()?;
                Some((bytes, at))
            })
            .collect();
        let number = u64::try_from(now.unix_timestamp()).unwrap_or(1);
        let der = ca
            .crl(
                &revoked,
                number,
                now - Duration::minutes(1),
                now + Duration::days(7),
            )
            .map_err(pki_err)?;
        std::fs::write(self.crl(kind), der).map_err(io(&self.crl(kind)))
    }

    /// Issues a card (or smartphone) certificate for the person with `my_number`, records it in
    /// the certificate directory, and returns the virtual card.
    #[allow(clippy::too_many_arguments)] // each is a distinct input of issuing a card
    pub async fn issue(
        &self,
        store: &Store,
        key: &MyNumberKey,
        kind: CertKind,
        my_number: &str,
        label: &str,
        valid: (OffsetDateTime, OffsetDateTime),
        now: OffsetDateTime,
    ) -> Result<VirtualCard, CliError> {
        let n = MyNumber::parse(my_number)
            .map_err(|e| CliError::Config(format!("--my-number: {e}")))?;
        let issued = self
            .authority(kind)?
            .issue(valid.0, valid.1)
            .map_err(pki_err)?;
        let person = key.person_ref(&n);
        let fp = onshi_pki::fingerprint(&issued.cert_der);
        let serial = hex::encode(&issued.serial);
        store
            .record_certificate(&fp, kind.as_str(), &serial, &person, valid.1, now)
            .await?;
        Ok(VirtualCard::new(
            kind,
            label,
            &issued.cert_der,
            &issued.key_pkcs8,
            "1234",
        ))
    }

    /// Creates the demo network CA, the server's TLS certificate for `server_name`, and a client
    /// certificate per facility code: `network-ca.pem`, `server.pem`/`server.key`,
    /// `facility-<code>.pem`/`.key`.
    pub fn network(
        &self,
        server_name: &str,
        facilities: &[String],
        now: OffsetDateTime,
    ) -> Result<(), CliError> {
        std::fs::create_dir_all(&self.0).map_err(io(&self.0))?;
        let ca = Authority::create_network(now).map_err(pki_err)?;
        let until = now + Duration::days(825);
        let ca_path = self.0.join("network-ca.pem");
        std::fs::write(&ca_path, ca.cert_pem()).map_err(io(&ca_path))?;
        let (cert, key) = ca
            .issue_tls(
                server_name,
                &[server_name],
                now - Duration::minutes(5),
                until,
            )
            .map_err(pki_err)?;
        std::fs::write(self.0.join("server.pem"), cert).map_err(io(&self.0))?;
        write_private(&self.0.join("server.key"), key.as_bytes())?;
        for code in facilities {
            onshi_domain::FacilityCode::parse(code)
                .map_err(|e| CliError::Config(format!("--facility {code}: {e}")))?;
            let (cert, key) = ca
                .issue_tls(code, &[], now - Duration::minutes(5), until)
                .map_err(pki_err)?;
            std::fs::write(self.0.join(format!("facility-{code}.pem")), cert)
                .map_err(io(&self.0))?;
            write_private(&self.0.join(format!("facility-{code}.key")), key.as_bytes())?;
        }
        Ok(())
    }

    /// Revokes a card's certificate and republishes its CRL.
    pub fn revoke(&self, card: &VirtualCard, now: OffsetDateTime) -> Result<(), CliError> {
        let der = card
            .certificate_der()
            .map_err(|e| CliError::Config(e.to_string()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| CliError::Config(format!("card: {e}")))?;
        let serial = hex::encode(cert.raw_serial());
        let path = self.revoked(card.kind);
        let mut list = std::fs::read_to_string(&path).unwrap_or_default();
        list.push_str(&format!("{serial} {}\n", now.unix_timestamp()));
        std::fs::write(&path, list).map_err(io(&path))?;
        self.publish(card.kind, now)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))
}

/// Reads a virtual card file.
pub fn read_card(path: &Path) -> Result<VirtualCard, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text)
        .map_err(|e| CliError::Config(format!("{}: not a card file: {e}", path.display())))
}

/// Writes a virtual card file (its PIN counter changes as it is used).
pub fn write_card(path: &Path, card: &VirtualCard) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(card).map_err(|e| CliError::Config(e.to_string()))?;
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::write(path, text).map_err(io(path))
}

// ---------------------------------------------------------------------------------------------
// Clients: the reader, registration, the number check.

/// How the reader authenticates the holder before the card signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Face {
    /// The face matched the card's photo.
    Ok,
    /// The face did not match: nothing is sent to the server.
    Fail,
}

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

static CLIENT_TLS: std::sync::OnceLock<Option<rustls::ClientConfig>> = std::sync::OnceLock::new();

/// Configures TLS for this process's requests (call once, before any request).
pub fn set_client_tls(tls: &ClientTls) -> Result<(), CliError> {
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

/// The HTTP client of the facility tools, with the TLS set by [`set_client_tls`].
pub fn http_client() -> Result<reqwest::Client, CliError> {
    let builder = reqwest::Client::builder();
    let builder = match CLIENT_TLS.get().and_then(Option::as_ref) {
        Some(cfg) => builder.use_preconfigured_tls(cfg.clone()),
        None => builder,
    };
    builder
        .build()
        .map_err(|e| CliError::Config(format!("HTTP client: {e}")))
}

async fn post(
    server: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<(u16, Value), CliError> {
    let client = http_client()?;
    let mut req = client
        .post(format!("{}{path}", server.trim_end_matches('/')))
        .json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| CliError::Config(format!("cannot reach {server}: {e}")))?;
    let status = resp.status().as_u16();
    let value = resp.json().await.unwrap_or(Value::Null);
    Ok((status, value))
}

/// Unlocks the card with the face check or PIN (saving the PIN counter), fetches a challenge
/// from `token`'s facility (or the portal), signs it, and returns the proof.
/// Fetches a challenge and has the card sign it: the proof to send, and the challenge's audience
/// (the facility code the server knows the token by, or `portal`).
async fn card_proof(
    server: &str,
    token: Option<&str>,
    path: &Path,
    face: Option<Face>,
    pin: Option<&str>,
) -> Result<(Value, String), CliError> {
    let mut card = read_card(path)?;
    match (face, pin) {
        (Some(Face::Fail), _) => {
            return Err(CliError::Config("face authentication failed: nothing was sent to the server; try again or use the PIN".into()));
        }
        (Some(Face::Ok), _) => {}
        (None, Some(pin)) => {
            let result = card.verify_pin(pin);
            write_card(path, &card)?;
            result.map_err(|e| CliError::Config(format!("{e}; nothing was sent to the server")))?;
        }
        (None, None) => return Err(CliError::Config("give --face ok|fail or --pin PIN".into())),
    }
    let uri = if token.is_some() {
        "/v1/challenges"
    } else {
        "/v1/portal/challenges"
    };
    let (status, challenge) = post(server, uri, token, &json!({})).await?;
    if status != 201 {
        return Err(problem_error(status, &challenge));
    }
    let message_hex = challenge["message"].as_str().unwrap_or_default();
    let message: Vec<u8> = (0..message_hex.len())
        .step_by(2)
        .filter_map(|i| u8::from_str_radix(message_hex.get(i..i + 2)?, 16).ok())
        .collect();
    let signature = card
        .sign(&message)
        .map_err(|e: CardError| CliError::Config(e.to_string()))?;
    let cert = card
        .certificate_der()
        .map_err(|e| CliError::Config(e.to_string()))?;
    let proof = json!({
        "challenge_id": challenge["challenge_id"],
        "certificate": STANDARD.encode(cert),
        "signature": STANDARD.encode(signature),
    });
    let audience = challenge["audience"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((proof, audience))
}

fn problem_error(status: u16, body: &Value) -> CliError {
    let detail = body["detail"].as_str().unwrap_or("no detail");
    let kind = body["type"]
        .as_str()
        .unwrap_or("")
        .trim_start_matches("urn:onshi:problem:");
    CliError::Refused(format!("{status} {kind}: {detail}"))
}

/// Prints a check result as a reception screen would show it.
fn print_result(r: &Value, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(r).unwrap_or_default());
        return;
    }
    println!(
        "資格有効性 {} {}  (診療日 {})",
        r["validity_code"],
        r["validity_label"].as_str().unwrap_or(""),
        r["consultation_date"].as_str().unwrap_or("")
    );
    let line = |q: &Value| {
        format!(
            "  [{}] {} ({})  保険者 {} 記号 {} 番号 {} 枝番 {}  {}  負担割合 {}%  資格 {} – {}",
            q["validity_code"],
            q["name"].as_str().unwrap_or(""),
            q["name_kana"].as_str().unwrap_or(""),
            q["insurer_number"].as_str().unwrap_or(""),
            q["symbol"].as_str().unwrap_or(""),
            q["number"].as_str().unwrap_or(""),
            q["branch"].as_str().unwrap_or(""),
            if q["relationship_code"] == 1 {
                "本人"
            } else {
                "家族"
            },
            q["copay_ratio"]
                .as_str()
                .unwrap_or("")
                .trim_start_matches('0'),
            q["qualified_from"].as_str().unwrap_or(""),
            q["qualified_until"].as_str().unwrap_or(""),
        )
    };
    for q in r["qualifications"].as_array().into_iter().flatten() {
        println!("{}", line(q));
        let c = &q["limit_certificate"];
        if c.is_object() {
            println!(
                "  限度額適用認定証 区分 {} 適用区分 {} ({}) {}〜{}",
                c["class_code"].as_str().unwrap_or(""),
                c["bracket_code"].as_str().unwrap_or(""),
                c["bracket_label"].as_str().unwrap_or(""),
                c["valid_from"].as_str().unwrap_or(""),
                c["valid_until"].as_str().unwrap_or(""),
            );
        }
    }
    if r["new_qualification"].is_object() {
        println!("  新しい資格:");
        println!("{}", line(&r["new_qualification"]));
    }
    for c in r["consents"].as_array().into_iter().flatten() {
        println!(
            "  同意 {} ({} まで)",
            c["kind"].as_str().unwrap_or(""),
            c["expires_at"].as_str().unwrap_or("")
        );
    }
}

/// `onshi reader`: the whole card flow as a face-authentication reader runs it.
pub async fn reader(args: &ReaderArgs) -> Result<(), CliError> {
    let proof = card_proof(
        &args.server,
        Some(&args.facility_token),
        &args.card,
        args.face,
        args.pin.as_deref(),
    )
    .await?;
    let (mut body, facility_code) = proof;
    if let Some(d) = &args.date {
        body["consultation_date"] = json!(d);
    }
    body["consent"] = json!(args.consent);
    let (status, r) = post(
        &args.server,
        "/v1/eligibility/card",
        Some(&args.facility_token),
        &body,
    )
    .await?;
    if status != 200 {
        return Err(problem_error(status, &r));
    }
    print_result(&r, args.json);
    if let Some(dir) = &args.face_dir {
        push_face(dir, &r, &facility_code)?;
    }
    Ok(())
}

/// Writes a reader result into a `face/` folder, atomically (a temporary name, then renamed).
fn push_face(dir: &Path, r: &Value, facility_code: &str) -> Result<(), CliError> {
    let result: onshi_interface::CheckResult = serde_json::from_value(r.clone())
        .map_err(|e| CliError::Config(format!("unexpected result: {e}")))?;
    let consents: Vec<(String, String, String)> = r["consents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (s("kind"), s("given_at"), s("expires_at"))
        })
        .collect();
    let now = OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let echo = onshi_interface::HeaderEcho {
        charset: onshi_interface::Charset::ShiftJis,
        executed_at: &stamp,
        confirmation_date: Some(&result.consultation_date),
        institution: facility_code,
        file_identifier: None,
    };
    let xml = onshi_interface::face_result(&echo, &result, &consents);
    let id: String = onshi_pki::fingerprint(&xml).chars().take(30).collect();
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let name = onshi_interface::face_file_name(&id, &stamp);
    let partial = dir.join(format!(".{name}.tmp"));
    std::fs::write(&partial, xml).map_err(io(&partial))?;
    std::fs::rename(&partial, dir.join(&name)).map_err(io(dir))?;
    println!("pushed {}", dir.join(name).display());
    Ok(())
}

/// `onshi reader` options.
#[derive(Debug, Args)]
pub struct ReaderArgs {
    #[command(flatten)]
    pub tls: ClientTls,
    /// The onshi server.
    #[arg(long, env = "ONSHI_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The facility's API token.
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: String,
    /// The virtual card file.
    #[arg(long)]
    pub card: PathBuf,
    /// Face authentication result (instead of a PIN).
    #[arg(long, value_enum, conflicts_with = "pin")]
    pub face: Option<Face>,
    /// The card's 4-digit PIN (three wrong ones lock the card).
    #[arg(long)]
    pub pin: Option<String>,
    /// What the patient agrees to share: medication, checkup, clinical, limit (限度額適用認定証
    /// information; comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub consent: Vec<String>,
    /// Consultation date (YYYY-MM-DD); default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Print the server's JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Also push the result as face-folder XML into this folder (a receipt computer's `face/`).
    #[arg(long, value_name = "DIR")]
    pub face_dir: Option<PathBuf>,
}

/// `onshi register` options.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    pub tls: ClientTls,
    /// The onshi server.
    #[arg(long, env = "ONSHI_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Register at this facility's reader instead of the portal.
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: Option<String>,
    /// The virtual card file.
    #[arg(long)]
    pub card: PathBuf,
    /// The card's 4-digit PIN.
    #[arg(long)]
    pub pin: String,
}

/// `onshi register`: registration for insurance use (利用申込).
pub async fn register(args: &RegisterArgs) -> Result<(), CliError> {
    let token = args.facility_token.as_deref();
    let (proof, _) = card_proof(&args.server, token, &args.card, None, Some(&args.pin)).await?;
    let path = if token.is_some() {
        "/v1/registrations"
    } else {
        "/v1/portal/registrations"
    };
    let (status, r) = post(&args.server, path, token, &proof).await?;
    if status != 200 {
        return Err(problem_error(status, &r));
    }
    if r["registered_now"] == true {
        println!(
            "registered for insurance use (channel: {})",
            r["channel"].as_str().unwrap_or("")
        );
    } else {
        println!("already registered for insurance use");
    }
    Ok(())
}

/// `onshi check number` options.
#[derive(Debug, Args)]
pub struct NumberArgs {
    #[command(flatten)]
    pub tls: ClientTls,
    /// The onshi server.
    #[arg(long, env = "ONSHI_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The facility's API token.
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: String,
    /// 保険者番号.
    #[arg(long)]
    pub insurer: String,
    /// 記号.
    #[arg(long, default_value = "")]
    pub symbol: String,
    /// 番号.
    #[arg(long)]
    pub number: String,
    /// 枝番.
    #[arg(long, default_value = "")]
    pub branch: String,
    /// 生年月日 (optional).
    #[arg(long)]
    pub birth_date: Option<String>,
    /// Consultation date; default today.
    #[arg(long)]
    pub date: Option<String>,
    /// Print the server's JSON instead of the summary.
    #[arg(long)]
    pub json: bool,
}

/// `onshi check number`.
pub async fn check_number(args: &NumberArgs) -> Result<(), CliError> {
    let body = json!({
        "insurer_number": args.insurer, "symbol": args.symbol, "number": args.number, "branch": args.branch,
        "birth_date": args.birth_date, "consultation_date": args.date,
    });
    let (status, r) = post(
        &args.server,
        "/v1/eligibility/number",
        Some(&args.facility_token),
        &body,
    )
    .await?;
    if status != 200 {
        return Err(problem_error(status, &r));
    }
    print_result(&r, args.json);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// A load generator for checks (first cut; the benchmark issue grows it).

/// `onshi loadgen` options.
#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub tls: ClientTls,
    /// The onshi server.
    #[arg(long, env = "ONSHI_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// The facility's API token.
    #[arg(long, env = "ONSHI_FACILITY_TOKEN")]
    pub facility_token: String,
    /// Which check: `number` or `card`.
    #[arg(long, default_value = "number")]
    pub path: String,
    /// How many checks.
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    /// Concurrent clients (keep-alive connections).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Card files for the card path (repeat the flag; checks go round-robin over the cards).
    #[arg(long)]
    pub card: Vec<PathBuf>,
    /// Card key for the number path, as insurer,symbol,number,branch (every check the same).
    #[arg(long, default_value = "01130012,10,1,00")]
    pub key: String,
    /// A member file (`onshi gen members`): the number path then checks current members picked
    /// at random from it (a sample of up to 100,000 keys), instead of one `--key`.
    #[arg(long)]
    pub keys: Option<PathBuf>,
    /// Seed for the random picks.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the result as one JSON object (for scripts) instead of a sentence.
    #[arg(long)]
    pub json: bool,
    /// Also report the CPU time that other processes spent per check during the timed phase,
    /// as LABEL=PID or LABEL=NAME (every process of that name, those started meanwhile
    /// included); repeat the flag. The load generator's own is always reported. Linux only
    /// (it reads /proc). Example: --cpu-of server=$(pgrep -x onshi) --cpu-of postgres=postgres
    #[arg(long = "cpu-of", value_name = "LABEL=PID|NAME", value_parser = crate::cpu::parse)]
    pub cpu_of: Vec<(String, crate::cpu::Watched)>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn fire(args: &LoadArgs, path: &str, bodies: Vec<Value>) -> Result<(), CliError> {
    use std::sync::Arc;
    let client = http_client()?;
    let url = format!("{}{path}", args.server.trim_end_matches('/'));
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let meter = crate::cpu::CpuMeter::start(&args.cpu_of);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, queue, token) = (
            client.clone(),
            url.clone(),
            Arc::clone(&queue),
            args.facility_token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while let Some(body) = queue.lock().ok().and_then(|mut q| q.pop()) {
                let t = std::time::Instant::now();
                match client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                    }
                    _ => errors += 1,
                }
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.map_err(|e| CliError::Config(e.to_string()))?;
        all.extend(lat);
        errors += e;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = meter.per_check(all.len());
    all.sort_by(f64::total_cmp);
    let rate = all.len() as f64 / secs;
    let (p50, p99, p999) = (
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        percentile(&all, 0.999),
    );
    if args.json {
        let cpu: serde_json::Map<String, Value> = cpu
            .into_iter()
            .map(|(label, us)| (label, json!(us)))
            .collect();
        println!(
            "{}",
            json!({"path": args.path, "checks": all.len(), "seconds": secs, "per_second": rate,
                   "p50_ms": p50, "p99_ms": p99, "p999_ms": p999, "errors": errors,
                   "concurrency": args.concurrency, "cpu_us_per_check": cpu})
        );
    } else {
        let cpu: Vec<String> = cpu
            .into_iter()
            .map(|(label, us)| match us {
                Some(us) => format!("{label} {us:.0} µs"),
                None => format!("{label} unknown"),
            })
            .collect();
        println!(
            "{} checks: {} in {secs:.2} s = {rate:.0}/s; latency p50 {p50:.2} ms, p99 {p99:.2} ms, p99.9 {p999:.2} ms; {errors} not successful; CPU per check: {}",
            args.path,
            all.len(),
            cpu.join(", "),
        );
    }
    Ok(())
}

/// Up to `limit` card keys of current members (no 資格喪失年月日) from a member file, sampled
/// uniformly (reservoir sampling), so the file can be any size.
fn sample_keys(path: &Path, limit: usize, seed: u64) -> Result<Vec<Value>, CliError> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let header = lines
        .next()
        .transpose()
        .map_err(io(path))?
        .unwrap_or_default();
    let cols: Vec<&str> = header.trim_start_matches('\u{feff}').split(',').collect();
    let col = |name: &str| {
        cols.iter()
            .position(|c| c.trim() == name)
            .ok_or_else(|| CliError::Config(format!("{}: no {name} column", path.display())))
    };
    let idx = [
        col("insurer_number")?,
        col("symbol")?,
        col("number")?,
        col("branch")?,
    ];
    let until = col("qualified_until")?;
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift64*: enough for picking rows.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut sample: Vec<Value> = Vec::with_capacity(limit);
    let mut seen = 0u64;
    for line in lines {
        let line = line.map_err(io(path))?;
        let f: Vec<&str> = line.split(',').collect();
        if f.get(until).is_none_or(|u| !u.is_empty()) {
            continue;
        }
        seen += 1;
        let slot = if sample.len() < limit {
            Some(sample.len())
        } else {
            let r = (next() % seen) as usize;
            (r < limit).then_some(r)
        };
        if let Some(slot) = slot {
            let key = json!({"insurer_number": f.get(idx[0]), "symbol": f.get(idx[1]),
                             "number": f.get(idx[2]), "branch": f.get(idx[3])});
            if slot == sample.len() {
                sample.push(key);
            } else {
                sample[slot] = key;
            }
        }
    }
    if sample.is_empty() {
        return Err(CliError::Config(format!(
            "{}: no current member to check",
            path.display()
        )));
    }
    Ok(sample)
}

/// Fetches `n` challenges and has the cards sign them (round-robin), `concurrency` at a time.
async fn signed_challenges(args: &LoadArgs, n: usize) -> Result<Vec<Value>, CliError> {
    use std::sync::Arc;
    if args.card.is_empty() {
        return Err(CliError::Config(
            "--card is required for the card path".into(),
        ));
    }
    let mut cards = Vec::new();
    for path in &args.card {
        let card = read_card(path)?;
        let cert = STANDARD.encode(
            card.certificate_der()
                .map_err(|e| CliError::Config(e.to_string()))?,
        );
        let signer = card.signer().map_err(|e| CliError::Config(e.to_string()))?;
        cards.push((cert, Arc::new(signer)));
    }
    let cards = Arc::new(cards);
    let client = http_client()?;
    let url = format!("{}/v1/challenges", args.server.trim_end_matches('/'));
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.clamp(1, 64) {
        let (client, url, token, cards, next) = (
            client.clone(),
            url.clone(),
            args.facility_token.clone(),
            Arc::clone(&cards),
            Arc::clone(&next),
        );
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, CliError>(out);
                }
                let resp = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({}))
                    .send()
                    .await
                    .map_err(|e| CliError::Config(format!("challenge: {e}")))?;
                let status = resp.status().as_u16();
                let c: Value = resp.json().await.unwrap_or(Value::Null);
                if status != 201 {
                    return Err(problem_error(status, &c));
                }
                let hexmsg = c["message"].as_str().unwrap_or_default();
                let msg: Vec<u8> = (0..hexmsg.len())
                    .step_by(2)
                    .filter_map(|i| u8::from_str_radix(hexmsg.get(i..i + 2)?, 16).ok())
                    .collect();
                let (cert, signer) = &cards[i % cards.len()];
                let signer = Arc::clone(signer);
                let sig = tokio::task::spawn_blocking(move || signer.sign(&msg))
                    .await
                    .map_err(|e| CliError::Config(e.to_string()))?
                    .map_err(|e| CliError::Config(e.to_string()))?;
                out.push(
                    json!({"challenge_id": c["challenge_id"], "certificate": cert,
                                "signature": STANDARD.encode(sig)}),
                );
            }
        }));
    }
    let mut bodies = Vec::with_capacity(n);
    for t in tasks {
        bodies.extend(t.await.map_err(|e| CliError::Config(e.to_string()))??);
    }
    Ok(bodies)
}

/// `onshi loadgen`: drives checks at a running server and reports throughput and latency. On
/// the card path, challenges are fetched and signed before the timed phase (a real card signs
/// on its own chip), then the checks are submitted concurrently.
pub async fn loadgen(args: &LoadArgs) -> Result<(), CliError> {
    match args.path.as_str() {
        "number" => {
            let bodies = match &args.keys {
                Some(path) => {
                    let sample = sample_keys(path, args.requests.min(100_000), args.seed)?;
                    (0..args.requests)
                        .map(|i| sample[i % sample.len()].clone())
                        .collect()
                }
                None => {
                    let f: Vec<&str> = args.key.split(',').collect();
                    let body = json!({"insurer_number": f.first(), "symbol": f.get(1), "number": f.get(2), "branch": f.get(3)});
                    vec![body; args.requests]
                }
            };
            fire(args, "/v1/eligibility/number", bodies).await
        }
        "card" => {
            let started = std::time::Instant::now();
            let bodies = signed_challenges(args, args.requests).await?;
            if !args.json {
                println!(
                    "prepared {} signed challenges with {} card(s) in {:.2} s (untimed below)",
                    bodies.len(),
                    args.card.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            fire(args, "/v1/eligibility/card", bodies).await
        }
        other => Err(CliError::Config(format!(
            "--path: '{other}' is not number or card"
        ))),
    }
}

//! `onshi loadgen`: drives checks at a running server and reports throughput, latency
//! percentiles and, with `--cpu-of`, the CPU time per check of each process (read by
//! [`crate::cpu`]). On the card path, challenges are fetched and signed before the timed phase.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, ValueEnum};
use serde::Serialize;
use serde_json::{Value, json};

use onshi_api::{CardCheckRequest, Challenge, ChallengeRequest, NumberCheckRequest};

use crate::CliError;
use crate::cards::read_card;
use crate::client::{Api, FacilityServerArgs};

/// Which check `loadgen` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckPath {
    /// By insurance-card number.
    Number,
    /// By My Number card (signed challenges).
    Card,
}

impl CheckPath {
    /// The name in reports (`number`, `card`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Number => "number",
            Self::Card => "card",
        }
    }
}

/// `onshi loadgen` options.
#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub connection: FacilityServerArgs,
    /// Which check.
    #[arg(long, value_enum, default_value_t = CheckPath::Number)]
    pub path: CheckPath,
    /// How many checks.
    #[arg(long, default_value_t = 10_000)]
    pub requests: usize,
    /// Concurrent clients (keep-alive connections).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Card files for the card path (repeat the flag; checks go round-robin over the cards).
    #[arg(long)]
    pub card: Vec<PathBuf>,
    /// Card key and birth date for the number path, as insurer,symbol,number,branch,birth_date
    /// (every check the same).
    #[arg(long, default_value = "01130012,10,1,00,1990-05-06")]
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

async fn fire<B: Serialize + Send + 'static>(
    args: &LoadArgs,
    api: &Api,
    path: &'static str,
    bodies: Vec<B>,
) -> Result<(), CliError> {
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    let meter = crate::cpu::CpuMeter::start(&args.cpu_of);
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (api, queue) = (api.clone(), Arc::clone(&queue));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            while let Some(body) = queue.lock().ok().and_then(|mut q| q.pop()) {
                let t = std::time::Instant::now();
                match api.post_request(path, &body).send().await {
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
            json!({"path": args.path.name(), "checks": all.len(), "seconds": secs, "per_second": rate,
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
            args.path.name(),
            all.len(),
            cpu.join(", "),
        );
    }
    Ok(())
}

/// Up to `limit` card keys of current members (no 資格喪失年月日) from a member file, sampled
/// uniformly (reservoir sampling), so the file can be any size.
fn sample_keys(path: &Path, limit: usize, seed: u64) -> Result<Vec<NumberCheckRequest>, CliError> {
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
        col("birth_date")?,
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
    let mut sample: Vec<NumberCheckRequest> = Vec::with_capacity(limit);
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
            let key = card_key(idx.map(|i| f.get(i).copied()));
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
async fn signed_challenges(
    args: &LoadArgs,
    api: &Api,
    n: usize,
) -> Result<Vec<CardCheckRequest>, CliError> {
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
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.clamp(1, 64) {
        let (api, cards, next) = (api.clone(), Arc::clone(&cards), Arc::clone(&next));
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n {
                    return Ok::<_, CliError>(out);
                }
                let c: Challenge = api
                    .post("/v1/challenges", &ChallengeRequest::default())
                    .await?;
                let msg = hex::decode(&c.message).map_err(|_| {
                    CliError::Config("the server's challenge message is not hex".into())
                })?;
                let (cert, signer) = &cards[i % cards.len()];
                let signer = Arc::clone(signer);
                let sig = tokio::task::spawn_blocking(move || signer.sign(&msg))
                    .await
                    .map_err(|e| CliError::Config(e.to_string()))?
                    .map_err(|e| CliError::Config(e.to_string()))?;
                out.push(CardCheckRequest {
                    challenge_id: c.challenge_id,
                    certificate: cert.clone(),
                    signature: STANDARD.encode(sig),
                    consultation_date: None,
                    consent: Vec::new(),
                });
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
pub async fn run(args: LoadArgs) -> Result<(), CliError> {
    let args = &args;
    let api = args.connection.api()?;
    match args.path {
        CheckPath::Number => {
            let bodies = match &args.keys {
                Some(path) => {
                    let sample = sample_keys(path, args.requests.min(100_000), args.seed)?;
                    (0..args.requests)
                        .map(|i| sample[i % sample.len()].clone())
                        .collect()
                }
                None => {
                    let f: Vec<&str> = args.key.split(',').collect();
                    let key = card_key([0, 1, 2, 3, 4].map(|i| f.get(i).copied()));
                    vec![key; args.requests]
                }
            };
            fire(args, &api, "/v1/eligibility/number", bodies).await
        }
        CheckPath::Card => {
            let started = std::time::Instant::now();
            let bodies = signed_challenges(args, &api, args.requests).await?;
            if !args.json {
                println!(
                    "prepared {} signed challenges with {} card(s) in {:.2} s (untimed below)",
                    bodies.len(),
                    args.card.len(),
                    started.elapsed().as_secs_f64()
                );
            }
            fire(args, &api, "/v1/eligibility/card", bodies).await
        }
    }
}

/// A number check of the card key and birth date `[insurer, symbol, number, branch, birth]` (a
/// missing part empty, for the server to name).
fn card_key([insurer, symbol, number, branch, birth]: [Option<&str>; 5]) -> NumberCheckRequest {
    let text = |s: Option<&str>| s.unwrap_or_default().to_owned();
    NumberCheckRequest {
        insurer_number: text(insurer),
        symbol: text(symbol),
        number: text(number),
        branch: text(branch),
        birth_date: birth.map(str::to_owned),
        ..NumberCheckRequest::default()
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> CliError + '_ {
    move |e| CliError::Io(path.display().to_string(), e)
}

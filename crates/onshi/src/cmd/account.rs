//! `onshi account`: staff accounts of the pages, for administrators. Each belongs to one
//! organisation; it signs in with a password and a TOTP code (the second factor the MHLW
//! security guideline asks for). `onshi totp` prints an account's current code from its
//! secret, for demos and tests (people use an authenticator app).

use clap::{Args, Subcommand};

use onshi_domain::staff::{SecretSeal, base32, from_base32, hash_password, otpauth_uri, totp_code};
use onshi_domain::{Clock, EmployerRef, FacilityCode, InsurerNumber, MyNumberKey};
use onshi_store::token;

use crate::CliError;
use crate::config::{StoreArgs, open_store, operator};

/// Which organisation an account belongs to (exactly one).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct Organisation {
    /// An insurer's staff (保険者番号).
    #[arg(long)]
    insurer: Option<String>,
    /// An employer's staff (`<insurer>/<事業所コード>`).
    #[arg(long)]
    employer: Option<String>,
    /// A facility's staff (医療機関コード).
    #[arg(long)]
    facility: Option<String>,
    /// The operator's staff.
    #[arg(long)]
    operator_staff: bool,
}

impl Organisation {
    /// `(kind, id)`, checked.
    fn parts(&self) -> Result<(&'static str, String), CliError> {
        if let Some(n) = &self.insurer {
            let n =
                InsurerNumber::parse(n).map_err(|e| CliError::Config(format!("--insurer: {e}")))?;
            return Ok(("insurer", n.as_str().to_owned()));
        }
        if let Some(e) = &self.employer {
            let e =
                EmployerRef::parse(e).map_err(|e| CliError::Config(format!("--employer: {e}")))?;
            return Ok(("employer", e.to_string()));
        }
        if let Some(f) = &self.facility {
            let f =
                FacilityCode::parse(f).map_err(|e| CliError::Config(format!("--facility: {e}")))?;
            return Ok(("facility", f.as_str().to_owned()));
        }
        Ok(("operator", String::new()))
    }
}

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add a staff account; prints its password and TOTP secret once (give them to the person;
    /// the secret goes into their authenticator app, or its otpauth:// address as a QR code).
    ///
    /// Example: onshi account add --login tanaka --insurer 01130012
    Add {
        /// The name it signs in with.
        #[arg(long)]
        login: String,
        #[command(flatten)]
        organisation: Organisation,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Give an account a new password and TOTP secret (printed once), unlock it, end its
    /// sessions.
    Reset {
        /// The account's login.
        #[arg(long)]
        login: String,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Disable an account: it signs in no more, and its sessions end at once.
    Disable {
        /// The account's login.
        #[arg(long)]
        login: String,
        /// Who does it, for the audit log. [default: $USER]
        #[arg(long, env = "ONSHI_OPERATOR")]
        operator: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// New credentials: the password, its hash, the TOTP secret and its sealed form.
pub struct Credentials {
    /// The password, shown once.
    pub password: String,
    /// Its argon2id hash.
    pub password_hash: String,
    /// The TOTP secret, shown once (base32).
    pub secret: Vec<u8>,
    /// The secret sealed for the store.
    pub sealed: String,
}

/// Draws new credentials, sealed under `key`.
pub fn credentials(key: &MyNumberKey) -> Result<Credentials, CliError> {
    let random = |_| CliError::Config("the system's random source failed".into());
    let password = base32(&token::random::<15>().map_err(random)?).to_lowercase();
    let password_hash = hash_password(&password, &token::random::<16>().map_err(random)?)
        .map_err(|e| CliError::Config(e.to_string()))?;
    let secret = token::random::<20>().map_err(random)?.to_vec();
    let sealed = SecretSeal::derive(key)
        .and_then(|s| token::random::<12>().ok().and_then(|n| s.seal(&secret, n)))
        .ok_or_else(|| CliError::Config("the TOTP secret could not be sealed".into()))?;
    Ok(Credentials {
        password,
        password_hash,
        secret,
        sealed,
    })
}

fn print_credentials(login: &str, c: &Credentials) {
    println!("login\t{login}");
    println!("password\t{}", c.password);
    println!("totp-secret\t{}", base32(&c.secret));
    println!("totp-uri\t{}", otpauth_uri("onshi", login, &c.secret));
}

/// Runs `onshi account`.
pub async fn run(command: AccountCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        AccountCommand::Add {
            login,
            organisation,
            operator: who,
            store,
        } => {
            let (kind, id) = organisation.parts()?;
            if login.is_empty()
                || login.len() > 64
                || !login
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            {
                return Err(CliError::Config(
                    "--login: 1 to 64 letters, digits, '.', '_' or '-'".into(),
                ));
            }
            let (store, key) = open_store(&store).await?;
            let c = credentials(&key)?;
            let result = store
                .create_account(
                    &operator(who),
                    &login,
                    kind,
                    &id,
                    &c.password_hash,
                    &c.sealed,
                    clock.now(),
                )
                .await;
            store.close().await;
            result?;
            print_credentials(&login, &c);
            Ok(())
        }
        AccountCommand::Reset {
            login,
            operator: who,
            store,
        } => {
            let (store, key) = open_store(&store).await?;
            let c = credentials(&key)?;
            let result = store
                .reset_account(
                    &operator(who),
                    &login,
                    &c.password_hash,
                    &c.sealed,
                    clock.now(),
                )
                .await;
            store.close().await;
            result?;
            print_credentials(&login, &c);
            Ok(())
        }
        AccountCommand::Disable {
            login,
            operator: who,
            store,
        } => {
            let (store, _) = open_store(&store).await?;
            let result = store
                .disable_account(&operator(who), &login, clock.now())
                .await;
            store.close().await;
            result?;
            println!("disabled {login}");
            Ok(())
        }
    }
}

/// `onshi totp SECRET`: the current code of a base32 TOTP secret.
pub fn totp(secret: &str, clock: &dyn Clock) -> Result<(), CliError> {
    let bytes = from_base32(secret)
        .filter(|b| !b.is_empty())
        .ok_or_else(|| CliError::Config("SECRET: not a base32 TOTP secret".into()))?;
    println!("{}", totp_code(&bytes, clock.now()));
    Ok(())
}

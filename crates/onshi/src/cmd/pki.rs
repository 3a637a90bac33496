//! `onshi pki`: the demo public-key infrastructure (authorities, virtual cards, CRLs, the
//! closed network's TLS certificates). The folder's layout is [`crate::pki_dir::PkiDir`].

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};

use onshi_domain::Clock;

use crate::CliError;
use crate::cards::{read_card, write_card};
use crate::config::{StoreArgs, open_store};
use crate::pki_dir::PkiDir;

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Create a card authority and a smartphone authority (RSA-2048) and empty CRLs in DIR.
    Init {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
    },
    /// Issue a virtual card or smartphone for a person and record it in the certificate directory.
    Issue {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
        /// card or smartphone.
        #[arg(long, value_enum, default_value_t = KindArg::Card)]
        kind: KindArg,
        /// The holder's My Number (kept only as its keyed hash).
        #[arg(long, env = "ONSHI_CARD_MY_NUMBER")]
        my_number: String,
        /// A label for people (no personal data).
        #[arg(long, default_value = "card")]
        label: String,
        /// The card file to write.
        #[arg(long)]
        out: PathBuf,
        /// Make the certificate already expired (for testing refusals).
        #[arg(long)]
        expired: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a card's certificate and republish its authority's CRL.
    Revoke {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
        /// The card file.
        #[arg(long)]
        card: PathBuf,
    },
    /// Create a demo network CA, the server's TLS certificate and facility client certificates
    /// (for `serve --tls-cert … --client-ca …` on a closed network).
    Network {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
        /// The server's DNS name.
        #[arg(long, default_value = "localhost")]
        server_name: String,
        /// Facility codes to make client certificates for (repeatable).
        #[arg(long = "facility", value_name = "CODE")]
        facilities: Vec<String>,
    },
    /// Republish both CRLs (valid seven days from now).
    Crl {
        /// The PKI folder.
        #[arg(long, default_value = "onshi-pki")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// My Number card.
    Card,
    /// Smartphone certificate.
    Smartphone,
}

impl From<KindArg> for onshi_pki::CertKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Card => Self::Card,
            KindArg::Smartphone => Self::Smartphone,
        }
    }
}

/// Runs `onshi pki`.
pub async fn run(command: PkiCommand, clock: &dyn Clock) -> Result<(), CliError> {
    match command {
        PkiCommand::Init { dir } => {
            PkiDir(dir.clone()).init(clock.now())?;
            println!(
                "created a card authority and a smartphone authority in {}",
                dir.display()
            );
            Ok(())
        }
        PkiCommand::Issue {
            dir,
            kind,
            my_number,
            label,
            out,
            expired,
            store,
        } => {
            let (store, key) = open_store(&store).await?;
            let now = clock.now();
            let valid = if expired {
                (
                    now - time::Duration::days(400),
                    now - time::Duration::days(1),
                )
            } else {
                (
                    now - time::Duration::days(1),
                    now + time::Duration::days(5 * 365),
                )
            };
            let card = PkiDir(dir)
                .issue(&store, &key, kind.into(), &my_number, &label, valid, now)
                .await?;
            write_card(&out, &card)?;
            println!("wrote {} ({}, PIN 1234)", out.display(), card.kind.as_str());
            store.close().await;
            Ok(())
        }
        PkiCommand::Revoke { dir, card } => {
            let c = read_card(&card)?;
            PkiDir(dir).revoke(&c, clock.now())?;
            println!(
                "revoked {} and republished the {} CRL",
                card.display(),
                c.kind.as_str()
            );
            Ok(())
        }
        PkiCommand::Network {
            dir,
            server_name,
            facilities,
        } => {
            PkiDir(dir.clone()).network(&server_name, &facilities, clock.now())?;
            println!(
                "wrote network-ca.pem, server.pem/.key and {} facility certificates in {}",
                facilities.len(),
                dir.display()
            );
            Ok(())
        }
        PkiCommand::Crl { dir } => {
            let pki = PkiDir(dir);
            for kind in [onshi_pki::CertKind::Card, onshi_pki::CertKind::Smartphone] {
                pki.publish(kind, clock.now())?;
            }
            println!("republished both CRLs (valid 7 days)");
            Ok(())
        }
    }
}

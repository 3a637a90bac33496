//! `onshi reader`: the whole card flow as a face-authentication card reader runs it: unlock the
//! card, sign a challenge, check eligibility, show the result, and optionally push it as
//! face-folder XML to a receipt computer.

use std::path::{Path, PathBuf};

use clap::Args;

use onshi_api::{CardCheckRequest, EligibilityResult};
use onshi_domain::Clock;

use crate::CliError;
use crate::cards::{Face, card_proof};
use crate::client::FacilityServerArgs;
use crate::cmd::check::print_result;

/// `onshi reader` options.
#[derive(Debug, Args)]
pub struct ReaderArgs {
    #[command(flatten)]
    pub connection: FacilityServerArgs,
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
    /// The encoding of face-folder files, as the facility's terminal is set up: shift-jis (the
    /// terminal's default) or utf-8.
    #[arg(long, value_enum, default_value = "shift-jis")]
    pub face_charset: FaceCharset,
    /// Sign in to your own pages instead of a check: the card signs a portal challenge and the
    /// address that opens your pages (once, within two minutes) is printed. No facility token
    /// is needed.
    #[arg(long, conflicts_with_all = ["consent", "face_dir", "json"])]
    pub portal_login: bool,
}

/// The encodings a terminal can be set to write face-folder files in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FaceCharset {
    /// Shift_JIS (`CharacterCodeIdentifier` 1)
    ShiftJis,
    /// UTF-8 (`CharacterCodeIdentifier` 0)
    Utf8,
}

impl From<FaceCharset> for onshi_interface::Charset {
    fn from(c: FaceCharset) -> Self {
        match c {
            FaceCharset::ShiftJis => Self::ShiftJis,
            FaceCharset::Utf8 => Self::Utf8,
        }
    }
}

/// Runs `onshi reader`.
pub async fn run(args: ReaderArgs, clock: &dyn Clock) -> Result<(), CliError> {
    if args.portal_login {
        let api = args.connection.anonymous()?;
        let (proof, _) = card_proof(&api, None, &args.card, args.face, args.pin.as_deref()).await?;
        let code: onshi_api::PortalLoginCode = api.post("/v1/portal/login-codes", &proof).await?;
        println!("open within two minutes (once): {}", api.url(&code.path));
        return Ok(());
    }
    let api = args.connection.api()?;
    let (proof, facility_code) = card_proof(
        &api,
        Some("check"),
        &args.card,
        args.face,
        args.pin.as_deref(),
    )
    .await?;
    let request = CardCheckRequest::new(proof, args.date, args.consent);
    let result: EligibilityResult = api.post("/v1/eligibility/card", &request).await?;
    print_result(&result, args.json);
    if let Some(dir) = &args.face_dir {
        push_face(dir, &result, &facility_code, args.face_charset, clock)?;
    }
    Ok(())
}

/// Writes a reader result into a `face/` folder, atomically (a temporary name, then renamed).
fn push_face(
    dir: &Path,
    result: &EligibilityResult,
    facility_code: &str,
    charset: FaceCharset,
    clock: &dyn Clock,
) -> Result<(), CliError> {
    let stamp = crate::cmd::agent::stamp(clock);
    let echo = onshi_interface::HeaderEcho {
        charset: charset.into(),
        executed_at: &stamp,
        confirmation_date: Some(&result.consultation_date),
        institution: facility_code,
        file_identifier: None,
    };
    let xml = onshi_interface::face_result(&echo, result);
    let id: String = onshi_pki::fingerprint(&xml).chars().take(30).collect();
    let io = |p: &Path, e: std::io::Error| CliError::Io(p.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = onshi_interface::face_file_name(&id, &stamp);
    let partial = dir.join(format!(".{name}.tmp"));
    std::fs::write(&partial, xml).map_err(|e| io(&partial, e))?;
    std::fs::rename(&partial, dir.join(&name)).map_err(|e| io(dir, e))?;
    println!("pushed {}", dir.join(name).display());
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use onshi_domain::FixedClock;
    use time::macros::datetime;

    /// A card check's answer of 4 (該当資格なし) for the 28th.
    fn not_found_on_the_28th() -> EligibilityResult {
        EligibilityResult {
            validity_code: 4,
            validity_label: "該当資格なし".into(),
            consultation_date: "20261128".into(),
            qualifications: Vec::new(),
            new_qualification: None,
            certificate_kind: Some("card".into()),
            consents: Vec::new(),
            limit_consent_at: None,
            check_reference: None,
        }
    }

    #[test]
    fn a_face_file_written_after_midnight_in_japan_is_named_for_that_japan_day() {
        let dir = tempfile::tempdir().unwrap();
        let result = not_found_on_the_28th();
        // 00:30 on the 28th in Japan is 15:30 UTC on the 27th.
        let clock = FixedClock(datetime!(2026-11-27 15:30 UTC));
        push_face(
            dir.path(),
            &result,
            "1311234567",
            FaceCharset::ShiftJis,
            &clock,
        )
        .unwrap();
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(names[0].ends_with("_20261128003000.xml"), "{names:?}");
        let xml = std::fs::read(dir.path().join(&names[0])).unwrap();
        let (text, _, _) = encoding_rs::SHIFT_JIS.decode(&xml);
        assert!(
            text.contains("<ProcessExecutionTime>20261128003000</ProcessExecutionTime>"),
            "{text}"
        );
        assert!(text.contains("<CharacterCodeIdentifier>1</CharacterCodeIdentifier>"));
    }

    /// A terminal set to UTF-8 gets UTF-8 files that say so.
    #[test]
    fn face_files_are_written_in_the_configured_encoding() {
        let dir = tempfile::tempdir().unwrap();
        let result = not_found_on_the_28th();
        let clock = FixedClock(datetime!(2026-11-27 15:30 UTC));
        push_face(dir.path(), &result, "1311234567", FaceCharset::Utf8, &clock).unwrap();
        let entry = std::fs::read_dir(dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let xml = String::from_utf8(std::fs::read(entry.path()).unwrap()).unwrap();
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\""),
            "{xml}"
        );
        assert!(xml.contains("<CharacterCodeIdentifier>0</CharacterCodeIdentifier>"));
    }
}

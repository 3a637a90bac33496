//! Synthetic specific health guidance (特定保健指導) for the demo: for the guidance targets the
//! store has judged (each insurer's programme list of a fiscal year), the steps a guidance
//! institution would report, written as standard guidance archives (実施区分 2, `hg08`
//! documents) from the same made-up institution that examined them, to be imported like any
//! other archive.
//!
//! Who gets what (drawn per member and year, so the same store gives the same archives): about
//! 35 % of targets have a first interview 20–80 days after their checkup (the national
//! 特定保健指導実施率 is near 27 %, its start rate higher); of those, about 10 % drop out 30–90
//! days later and the rest complete 90–150 days after the first interview (第4期 guidance runs
//! at least three months). A step is written only when it is dated on or before the demo's
//! day, so the current fiscal year shows guidance under way.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use time::{Date, Duration, OffsetDateTime};

use onshi_checkup::document::Document;
use onshi_checkup::write::{ArchiveWriter, INSTITUTION_OID};
use onshi_domain::InsurerNumber;
use onshi_store::{Actor, ProgrammeList, ProgrammePerson, Store};

use crate::CliError;
use crate::synth::Rng as Draw;
use crate::synth_checkups::{institution_for, seed_of};

/// What [`write_guidance_archives`] wrote.
#[derive(Debug, Default)]
pub struct GuidanceWritten {
    /// Archives written, by file name.
    pub archives: Vec<PathBuf>,
    /// Guidance documents in them (one per step).
    pub steps: u64,
}

/// The steps of one target's guidance: 報告区分 and date, in order.
fn steps_of(
    person: &ProgrammePerson,
    year: i32,
    today: Date,
    seed: u64,
) -> Vec<(&'static str, Date)> {
    let mut d = Draw(seed_of(
        &[
            &person.symbol,
            &person.number,
            &person.branch,
            &year.to_string(),
        ],
        seed,
    ));
    let mut steps = Vec::new();
    if !d.with_probability(0.35) {
        return steps;
    }
    let first = person.exam_date + Duration::days(20 + (d.unit() * 60.0) as i64);
    if first > today {
        return steps;
    }
    steps.push(("21", first));
    let end = if d.with_probability(0.1) {
        ("23", first + Duration::days(30 + (d.unit() * 60.0) as i64))
    } else {
        ("22", first + Duration::days(90 + (d.unit() * 60.0) as i64))
    };
    if end.1 <= today {
        steps.push(end);
    }
    steps
}

/// The guidance document of step `kind` on `on` for `person` of `insurer`.
fn document(person: &ProgrammePerson, insurer: &InsurerNumber, kind: &str, on: Date) -> Document {
    Document {
        report_kind: kind.to_owned(),
        created: on,
        insurer: format!("{:0>8}", insurer.as_str()),
        symbol: person.symbol.clone(),
        number: person.number.clone(),
        branch: person.branch.clone(),
        name_kana: person.name_kana.clone(),
        birth_date: person.birth_date,
        sex: u8::try_from(person.sex).unwrap_or(1),
        postal_code: None,
        institution: institution_for(insurer),
        program: "000".to_owned(),
        exam_date: on,
        observations: Vec::new(),
    }
}

/// Writes into `out` one guidance archive per insurer of `insurers` and fiscal year of
/// `years` that has any step, for the targets on the insurer's programme list (read as
/// `actor` at `at`, audited like any read of the list), with the steps dated on or before
/// `today`.
#[allow(clippy::too_many_arguments)]
pub async fn write_guidance_archives(
    store: &Store,
    actor: &Actor,
    insurers: &[InsurerNumber],
    years: std::ops::RangeInclusive<i32>,
    today: Date,
    at: OffsetDateTime,
    out: &Path,
    seed: u64,
) -> Result<GuidanceWritten, CliError> {
    std::fs::create_dir_all(out).map_err(|e| CliError::Io(out.display().to_string(), e))?;
    let mut written = GuidanceWritten::default();
    for insurer in insurers {
        for (split, year) in years.clone().enumerate() {
            let mut documents = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = store
                    .programme_people(
                        actor,
                        insurer,
                        year,
                        ProgrammeList::Targets,
                        None,
                        after.as_deref(),
                        1000,
                        at,
                    )
                    .await?;
                for person in &page.items {
                    for (kind, on) in steps_of(person, year, today, seed) {
                        documents.push(document(person, insurer, kind, on));
                    }
                }
                match page.next_after {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
            if documents.is_empty() {
                continue;
            }
            let sender = institution_for(insurer);
            let padded = format!("{:0>8}", insurer.as_str());
            let path = out.join(format!(
                "{sender}_{padded}_{:04}{:02}{:02}{}_2.zip",
                today.year(),
                u8::from(today.month()),
                today.day(),
                split % 10
            ));
            let file =
                File::create(&path).map_err(|e| CliError::Io(path.display().to_string(), e))?;
            let mut writer = ArchiveWriter::new_guidance(
                BufWriter::new(file),
                (&sender, INSTITUTION_OID),
                &padded,
                today,
                u8::try_from(split % 10).unwrap_or(0),
                6,
                false,
            )
            .map_err(|e| CliError::Config(e.to_string()))?;
            debug_assert!(path.ends_with(writer.file_name()));
            for d in &documents {
                writer
                    .add(d, "オンシ健診センター")
                    .map_err(|e| CliError::Config(e.to_string()))?;
            }
            let mut w = writer
                .finish()
                .map_err(|e| CliError::Config(e.to_string()))?;
            std::io::Write::flush(&mut w)
                .map_err(|e| CliError::Io(path.display().to_string(), e))?;
            written.steps += documents.len() as u64;
            written.archives.push(path);
        }
    }
    written.archives.sort();
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn target(number: u32) -> ProgrammePerson {
        ProgrammePerson {
            member_id: format!("m{number}"),
            symbol: "10".into(),
            number: number.to_string(),
            branch: "00".into(),
            name: "試験".into(),
            name_kana: "シケン".into(),
            birth_date: date!(1970 - 01 - 01),
            sex: 1,
            employer: None,
            exam_date: date!(2024 - 06 - 01),
            guidance_level: Some("1".into()),
            metabolic: Some("1".into()),
            referral: Some(false),
            first_interview: None,
            completed: None,
            dropped_out: None,
        }
    }

    #[test]
    fn steps_follow_the_checkup_in_order_and_never_pass_the_day() {
        let today = date!(2026 - 11 - 28);
        let all: Vec<Vec<(&str, Date)>> = (0..1000)
            .map(|n| steps_of(&target(n), 2024, today, 1))
            .collect();
        let started = all.iter().filter(|s| !s.is_empty()).count();
        assert!((250..450).contains(&started), "about 35 % start: {started}");
        for steps in &all {
            if let [("21", first), rest @ ..] = steps.as_slice() {
                assert!((20..=80).contains(&(*first - date!(2024 - 06 - 01)).whole_days()));
                match rest {
                    [("22", end)] => assert!((90..=150).contains(&(*end - *first).whole_days())),
                    [("23", end)] => assert!((30..=90).contains(&(*end - *first).whole_days())),
                    other => panic!("an end of guidance is due by now: {other:?}"),
                }
            } else {
                assert!(steps.is_empty(), "{steps:?}");
            }
        }
        let dropped = all
            .iter()
            .filter(|s| s.len() == 2 && s[1].0 == "23")
            .count();
        assert!(
            dropped * 5 < started,
            "about a tenth drop out: {dropped} of {started}"
        );
        // The same member and year give the same steps; nothing after the day is written.
        assert_eq!(steps_of(&target(7), 2024, today, 1), all[7]);
        let early = date!(2024 - 07 - 15);
        assert!(
            (0..1000)
                .flat_map(|n| steps_of(&target(n), 2024, early, 1))
                .all(|(kind, on)| on <= early && kind == "21")
        );
    }
}

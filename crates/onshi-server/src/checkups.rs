//! Importing a checkup archive (特定健診等データ), with no HTTP in it: the CLI's
//! `onshi import checkups` and the insurer's upload route both call [`import_archive`]. The
//! archive is read and checked on a blocking thread (`onshi_checkup::import::read_archive`)
//! and each valid checkup is staged in the store's transaction as it comes, through a bounded
//! channel, so memory stays at a few documents whatever the archive's size; the transaction is
//! committed only when the whole archive passed.

use onshi_api::CheckupArchiveReceipt;
use onshi_checkup::archive::Limits;
use onshi_checkup::codes::CodeTable;
use onshi_checkup::document::{Document, Observation, Value};
use onshi_checkup::import::Checkup;
use onshi_store::{Actor, GuidanceEvent, NewCheckup, NewObservation, Store, StoreError};
use time::OffsetDateTime;

/// Checkups staged in the store together.
const BATCH: usize = 256;

/// Why an archive was not imported.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The archive was refused: every problem as `file: element or code: reason`.
    #[error("{} problem(s) in the archive", .0.len())]
    Refused(Vec<String>),
    /// The store failed or was busy.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The store's form of a checked document; `Err` names the file when its card key cannot be
/// read as one.
fn staged(c: &Checkup) -> Result<NewCheckup, String> {
    let d = &c.document;
    let key = onshi_domain::MemberInput {
        insurer_number: &d.insurer,
        symbol: &d.symbol,
        number: &d.number,
        branch: &d.branch,
        ..Default::default()
    }
    .card_key()
    .map_err(|errors| {
        let fields: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "{}: recordTarget/patientRole/id: {}",
            c.file,
            fields.join("; ")
        )
    })?;
    let judged = onshi_checkup::stratify::judge(
        d.sex,
        d.birth_date,
        d.exam_date,
        d.observations.iter().filter_map(|o| match &o.value {
            Value::Quantity { value, .. } => Some((o.code.as_str(), value.as_str())),
            Value::Coded { code, .. } => Some((o.code.as_str(), code.as_str())),
            Value::Text(_) | Value::Null(_) => None,
        }),
    );
    Ok(NewCheckup {
        judgement: judgement(&judged),
        key,
        birth_date: d.birth_date,
        sex: d.sex,
        name_kana: d.name_kana.clone(),
        institution: d.institution.clone(),
        exam_date: d.exam_date,
        report_kind: d.report_kind.clone(),
        program: d.program.clone(),
        source_file: c.file.clone(),
        claim: c.claim.as_ref().map(|m| onshi_store::ClaimAmounts {
            claim_type: m.claim_type.clone(),
            unit_amount: m.unit_amount,
            payment_amount: m.payment_amount,
            other_amount: m.other_amount,
            claim_amount: m.claim_amount,
        }),
        observations: d
            .observations
            .iter()
            .map(|o| {
                let (kind, value, unit, system) = match &o.value {
                    Value::Quantity { value, unit } => {
                        ("PQ", value.clone(), Some(unit.clone()), None)
                    }
                    Value::Coded { code, system } => {
                        ("CD", code.clone(), None, Some(system.clone()))
                    }
                    Value::Text(t) => ("ST", t.clone(), None, None),
                    Value::Null(n) => ("NULL", n.clone(), None, None),
                };
                NewObservation {
                    code: o.code.clone(),
                    value_kind: kind,
                    value,
                    unit,
                    code_system: system,
                    interpretation: o.interpretation.clone(),
                    method: o.method.clone(),
                }
            })
            .collect(),
    })
}

/// Imports the archive `name` held in `file` by `actor` at `at`, all or nothing, and logs what
/// it did (imported or refused) for the receiving insurer's console.
pub async fn import_archive(
    store: &Store,
    actor: &Actor,
    file: std::fs::File,
    name: &str,
    at: OffsetDateTime,
) -> Result<CheckupArchiveReceipt, ArchiveError> {
    let insurer = onshi_checkup::archive::ArchiveName::parse(name)
        .ok()
        .map(|n| n.insurer.as_str().to_owned());
    let result = import_archive_unlogged(store, actor, file, name, at).await;
    log(store, actor, insurer, name, at, &result).await?;
    result
}

/// What an import did, in the import log (a store failure is not an import's outcome: the
/// caller reports it).
async fn log(
    store: &Store,
    actor: &Actor,
    insurer: Option<String>,
    name: &str,
    at: OffsetDateTime,
    result: &Result<CheckupArchiveReceipt, ArchiveError>,
) -> Result<(), StoreError> {
    let mut record = onshi_store::ImportRecord::new(onshi_store::ImportKind::Checkups, at, name);
    record.insurer_number = insurer;
    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    match result {
        Ok(r) => {
            record.imported = true;
            record.documents = i64::try_from(r.documents).unwrap_or(i64::MAX);
            record.linked = count(r.linked);
            record.to_match = count(r.to_match);
            record.corrected = count(r.corrected);
            record.unchanged = count(r.unchanged);
        }
        Err(ArchiveError::Refused(problems)) => {
            record.problems = i64::try_from(problems.len()).unwrap_or(i64::MAX);
            record.first_problems = problems
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n");
        }
        Err(ArchiveError::Store(_)) => return Ok(()),
    }
    store.log_import(actor, &record).await
}

async fn import_archive_unlogged(
    store: &Store,
    actor: &Actor,
    file: std::fs::File,
    name: &str,
    at: OffsetDateTime,
) -> Result<CheckupArchiveReceipt, ArchiveError> {
    if onshi_checkup::archive::ArchiveName::parse(name).is_ok_and(|n| n.service == 2) {
        return import_guidance_archive(store, actor, file, name, at).await;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<NewCheckup, String>>(2 * BATCH);
    let archive = name.to_owned();
    let reading = tokio::task::spawn_blocking(move || {
        onshi_checkup::import::read_archive(
            std::io::BufReader::new(file),
            &archive,
            Limits::default(),
            CodeTable::fy2024(),
            |c| {
                // The receiving side stops only on a store failure, which it reports.
                let _ = tx.blocking_send(staged(&c));
            },
        )
    });
    let (session, key_errors) = stage(store, actor, name, at, rx).await?;
    let read = reading
        .await
        .map_err(|e| StoreError::Corrupt(format!("reading the archive stopped: {e}")))?;
    let receipt = match read {
        Ok(r) if key_errors.is_empty() => r,
        Ok(_) => return Err(ArchiveError::Refused(key_errors)),
        Err(errors) => {
            let mut all: Vec<String> = errors.iter().map(ToString::to_string).collect();
            all.extend(key_errors);
            return Err(ArchiveError::Refused(all));
        }
    };
    let o = session.commit().await?;
    Ok(CheckupArchiveReceipt {
        archive: name.to_owned(),
        documents: receipt.documents,
        linked: o.linked,
        to_match: o.unmatched,
        corrected: o.corrected,
        unchanged: o.unchanged,
        claims: receipt.claims,
        claimed_yen: receipt.claimed,
        consignments: o.consignments.into_iter().collect(),
        guidance_events: 0,
        warnings: receipt.warnings,
    })
}

/// The guidance step a guidance document (`hg08`) reports, by its 報告区分: 21 開始 is the
/// first interview, 22 実績評価 the completion, 23 途中終了 the drop-out; 24 その他 and 25
/// 初回未完了 (a first interview not yet whole) are no step (`None`).
fn guidance_event(report_kind: &str) -> Option<GuidanceEvent> {
    match report_kind {
        "21" => Some(GuidanceEvent::FirstInterview),
        "22" => Some(GuidanceEvent::Completed),
        "23" => Some(GuidanceEvent::DroppedOut),
        _ => None,
    }
}

/// Imports a 特定保健指導 archive (実施区分 2), all or nothing: each `hg08` document read and
/// checked as a checkup archive's are, its report kind taken as the guidance step on its date
/// (`serviceEvent/effectiveTime`) and recorded for its member with the rules of
/// `Store::record_guidance_all`, the fiscal year found from the member's checkups (the document
/// does not name it in anything onshi reads). The sender is the insurer (its own members) or
/// the guidance institution the documents name (or the operator, importing from the command
/// line); employers do not send guidance.
async fn import_guidance_archive(
    store: &Store,
    actor: &Actor,
    file: std::fs::File,
    name: &str,
    at: OffsetDateTime,
) -> Result<CheckupArchiveReceipt, ArchiveError> {
    let archive = name.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        let mut documents = Vec::new();
        onshi_checkup::import::read_archive(
            std::io::BufReader::new(file),
            &archive,
            Limits::default(),
            CodeTable::fy2024(),
            |c| documents.push((c.file, c.document)),
        )
        .map(|receipt| (receipt, documents))
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("reading the archive stopped: {e}")))?;
    let (receipt, documents) = read.map_err(|errors| {
        ArchiveError::Refused(errors.iter().map(ToString::to_string).collect())
    })?;
    let mut problems = Vec::new();
    let mut warnings = receipt.warnings;
    let mut records = Vec::new();
    let mut files = Vec::new();
    for (file, d) in &documents {
        let refusal = onshi_store::document_sender_refusal(actor, &d.insurer, &d.institution, true);
        if let Some(reason) = refusal {
            problems.push(format!("{file}: {reason}"));
            continue;
        }
        let key = onshi_domain::MemberInput {
            insurer_number: &d.insurer,
            symbol: &d.symbol,
            number: &d.number,
            branch: &d.branch,
            ..Default::default()
        }
        .card_key();
        match (key, guidance_event(&d.report_kind)) {
            (Err(errors), _) => {
                let fields: Vec<String> = errors.iter().map(ToString::to_string).collect();
                problems.push(format!(
                    "{file}: recordTarget/patientRole/id: {}",
                    fields.join("; ")
                ));
            }
            (Ok(_), None) => warnings.push(format!(
                "{file}: 報告区分 {} records no guidance step (24 その他, 25 初回未完了)",
                d.report_kind
            )),
            (Ok(key), Some(event)) => {
                records.push(onshi_store::GuidanceRecord {
                    key,
                    year: None,
                    event,
                    on: d.exam_date,
                });
                files.push(file.clone());
            }
        }
    }
    if !problems.is_empty() {
        return Err(ArchiveError::Refused(problems));
    }
    match store.record_guidance_all(actor, &records, at).await {
        Ok(()) => Ok(CheckupArchiveReceipt {
            archive: name.to_owned(),
            documents: receipt.documents,
            guidance_events: records.len(),
            warnings,
            ..CheckupArchiveReceipt::default()
        }),
        Err((i, e)) => {
            let file = files.get(i).cloned().unwrap_or_else(|| name.to_owned());
            match e {
                StoreError::NotFound(_) => Err(ArchiveError::Refused(vec![format!(
                    "{file}: recordTarget/patientRole/id: no member of the insurer has this card"
                )])),
                StoreError::Conflict(m) => Err(ArchiveError::Refused(vec![format!("{file}: {m}")])),
                other => Err(other.into()),
            }
        }
    }
}

/// Stages what the reading side sends, a batch at a time (a few set-based statements per batch
/// instead of several per checkup, while the reader goes on filling the channel), into one
/// import session: the session, and the problems found on the way (card keys that are not one,
/// documents the sender may not send), each as `file: reason`.
async fn stage(
    store: &Store,
    actor: &Actor,
    name: &str,
    at: OffsetDateTime,
    mut rx: tokio::sync::mpsc::Receiver<Result<NewCheckup, String>>,
) -> Result<(onshi_store::CheckupImport, Vec<String>), StoreError> {
    let mut session = store.begin_checkup_import(actor, name, at).await?;
    let mut key_errors = Vec::new();
    let mut received = Vec::with_capacity(BATCH);
    let mut batch: Vec<NewCheckup> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut received, BATCH).await > 0 {
        batch.clear();
        for next in received.drain(..) {
            match next {
                Ok(c) => batch.push(c),
                Err(e) => key_errors.push(e),
            }
        }
        let outcomes = session.add_batch(&batch).await?;
        for (c, added) in batch.iter().zip(outcomes) {
            if let onshi_store::Added::Refused(reason) = added {
                key_errors.push(format!("{}: {reason}", c.source_file));
            }
        }
    }
    Ok((session, key_errors))
}

/// The largest CSV of checkup results an upload takes: 64 MiB, some 60,000 people with every
/// item filled.
pub const CSV_LIMIT: usize = 64 * 1024 * 1024;

/// Imports the CSV of checkup results `name` (`text`, decoded) sent by `actor` at `at`, all or
/// nothing: each row read into a document and validated ([`onshi_checkup::employer_csv`]) on
/// a blocking thread and staged as it comes, as an archive's documents are; logged for the
/// sender's insurer (an institution's CSV may serve several: logged without one).
pub async fn import_csv(
    store: &Store,
    actor: &Actor,
    text: String,
    name: &str,
    at: OffsetDateTime,
) -> Result<CheckupArchiveReceipt, ArchiveError> {
    let insurer = match actor {
        Actor::Insurer(n) => Some(n.as_str().to_owned()),
        Actor::Employer(e) => Some(e.insurer.as_str().to_owned()),
        _ => None,
    };
    let result = import_csv_unlogged(store, actor, text, name, at).await;
    log(store, actor, insurer, name, at, &result).await?;
    result
}

async fn import_csv_unlogged(
    store: &Store,
    actor: &Actor,
    text: String,
    name: &str,
    at: OffsetDateTime,
) -> Result<CheckupArchiveReceipt, ArchiveError> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<NewCheckup, String>>(2 * BATCH);
    let file = name.to_owned();
    let created = onshi_domain::japan::japan_date(at);
    let reading = tokio::task::spawn_blocking(move || {
        onshi_checkup::employer_csv::read(&text, &file, created, CodeTable::fy2024(), |row| {
            let checkup = Checkup {
                file: format!("line {}", row.line),
                document: row.document,
                claim: None,
            };
            let _ = tx.blocking_send(staged(&checkup));
        })
    });
    let (session, key_errors) = stage(store, actor, name, at, rx).await?;
    let read = reading
        .await
        .map_err(|e| StoreError::Corrupt(format!("reading the CSV stopped: {e}")))?;
    let documents = match read {
        Ok(n) if key_errors.is_empty() => n,
        Ok(_) => {
            return Err(ArchiveError::Refused(
                key_errors
                    .into_iter()
                    .map(|e| format!("{name}: {e}"))
                    .collect(),
            ));
        }
        Err(errors) => {
            let mut all: Vec<String> = errors.iter().map(ToString::to_string).collect();
            all.extend(key_errors.into_iter().map(|e| format!("{name}: {e}")));
            return Err(ArchiveError::Refused(all));
        }
    };
    let o = session.commit().await?;
    Ok(CheckupArchiveReceipt {
        archive: name.to_owned(),
        documents,
        linked: o.linked,
        to_match: o.unmatched,
        corrected: o.corrected,
        unchanged: o.unchanged,
        claims: 0,
        claimed_yen: 0,
        consignments: o.consignments.into_iter().collect(),
        guidance_events: 0,
        warnings: Vec::new(),
    })
}

/// Stored checkups as their readers see them: each item named from the code table and, where
/// the programme has judgement values, read against them for the person's sex.
pub fn results(checkups: &[onshi_store::StoredCheckup]) -> onshi_api::CheckupResults {
    use onshi_checkup::reference::values_for;
    let table = CodeTable::fy2024();
    onshi_api::CheckupResults {
        patient: None,
        checkups: checkups
            .iter()
            .map(|c| {
                let sex = u8::try_from(c.sex).unwrap_or(0);
                onshi_api::CheckupResult {
                    id: c.id.clone(),
                    insurer_number: c.insurer_number.clone(),
                    exam_date: c.exam_date.to_string(),
                    institution: c.institution.clone(),
                    program: c.program.clone(),
                    fiscal_year: c.fiscal_year,
                    items: c
                        .observations
                        .iter()
                        .map(|o| {
                            let values = values_for(&o.code);
                            let number = (o.value_kind == "PQ")
                                .then(|| o.value.as_deref().and_then(|v| v.parse::<f64>().ok()))
                                .flatten();
                            onshi_api::CheckupItem {
                                code: o.code.clone(),
                                name: table
                                    .get(&o.code)
                                    .map(|i| i.name.clone())
                                    .unwrap_or_default(),
                                value_kind: o.value_kind.clone(),
                                value: o.value.clone(),
                                unit: o.unit.clone(),
                                unit_name: table
                                    .get(&o.code)
                                    .map(|i| i.unit_name.clone())
                                    .filter(|u| !u.is_empty() && o.value_kind == "PQ"),
                                code_system: o.code_system.clone(),
                                guidance_value: values.map(|v| v.guidance_for(sex)),
                                referral_value: values.and_then(|v| v.referral_for(sex)),
                                judgement: values
                                    .zip(number)
                                    .map(|(v, n)| v.judge(n, sex).as_str().to_owned()),
                            }
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

/// A stored checkup as the CDA document it came from, for writing it again (a transfer, an
/// export). What the store does not keep is left out: the postal code, the institution's name,
/// and the document's section, which is taken from the code table (its items are the
/// 特定健診 section `01010`, others the additional items `01990`). onshi's judgements, when
/// made, are added as 9N501 and 9N506 where the sender wrote none.
pub fn document_of(c: &onshi_store::StoredCheckup, created: time::Date) -> Document {
    let table = CodeTable::fy2024();
    let mut doc = stored_document(c, created, table);
    // onshi's judgements travel in their codes (9N501 メタボリックシンドローム判定, 9N506 保健指導
    // レベル) where the sender wrote none; a sender's are the examining doctor's (医師の判断) and
    // stay as written (see docs/reports.md §1).
    if let Some(j) = &c.judgement {
        for (code, value) in [
            (METABOLIC_CODE, Some(j.metabolic.as_str())),
            (GUIDANCE_LEVEL_CODE, j.guidance_level.as_deref()),
        ] {
            let Some(value) = value else {
                continue;
            };
            let ours = Observation {
                section: "01010".into(),
                code: code.into(),
                value: Value::Coded {
                    code: value.into(),
                    system: table
                        .get(code)
                        .and_then(|i| i.result_code_system.clone())
                        .unwrap_or_default(),
                },
                interpretation: None,
                method: None,
                line: 0,
            };
            if !doc.observations.iter().any(|o| o.code == code) {
                doc.observations.push(ours);
            }
        }
    }
    doc
}

/// メタボリックシンドローム判定's item code.
const METABOLIC_CODE: &str = "9N501000000000011";
/// 保健指導レベル's item code.
const GUIDANCE_LEVEL_CODE: &str = "9N506000000000011";

/// The document of `c` as it was stored.
fn stored_document(
    c: &onshi_store::StoredCheckup,
    created: time::Date,
    table: &CodeTable,
) -> Document {
    Document {
        report_kind: c.report_kind.clone(),
        created,
        // The registry keeps a 国保 insurer's number as its 6 digits; documents carry 8.
        insurer: format!("{:0>8}", c.insurer_number),
        symbol: c.subject.symbol.clone(),
        number: c.subject.number.clone(),
        branch: c.subject.branch.clone(),
        name_kana: c.subject.name_kana.clone(),
        birth_date: c.subject.birth_date,
        sex: u8::try_from(c.sex).unwrap_or(0),
        postal_code: None,
        institution: c.institution.clone(),
        program: c.program.clone(),
        exam_date: c.exam_date,
        observations: c
            .observations
            .iter()
            .map(|o| {
                let text = o.value.clone().unwrap_or_default();
                let value = match o.value_kind.as_str() {
                    "PQ" => Value::Quantity {
                        value: text,
                        unit: o.unit.clone().unwrap_or_default(),
                    },
                    "CD" => Value::Coded {
                        code: text,
                        system: o.code_system.clone().unwrap_or_default(),
                    },
                    "ST" => Value::Text(text),
                    _ => Value::Null(text),
                };
                Observation {
                    section: if table.get(&o.code).is_some() {
                        "01010".into()
                    } else {
                        "01990".into()
                    },
                    code: o.code.clone(),
                    value,
                    interpretation: o.interpretation.clone(),
                    method: o.method.clone(),
                    line: 0,
                }
            })
            .collect(),
    }
}

/// The standard archive (interaction type 8, 保険者→保険者) of a transfer from insurer `from`
/// to insurer `to`, written on `today`: its file name and bytes. One person's five years are a
/// handful of documents, so it is written in memory.
pub fn transfer_archive(
    transfer: &onshi_store::CheckupTransfer,
    from: &onshi_domain::InsurerNumber,
    to: &onshi_domain::InsurerNumber,
    today: time::Date,
) -> Result<(String, Vec<u8>), onshi_checkup::write::WriteError> {
    use onshi_checkup::index::INSURER_OID;
    let (from, to) = (
        format!("{:0>8}", from.as_str()),
        format!("{:0>8}", to.as_str()),
    );
    let mut writer = onshi_checkup::write::ArchiveWriter::new(
        std::io::Cursor::new(Vec::new()),
        (from.as_str(), INSURER_OID),
        to.as_str(),
        today,
        0,
        8,
        true,
    )?;
    // Oldest first, as an archive is read.
    for c in transfer.checkups.iter().rev() {
        writer.add(&document_of(c, today), "")?;
    }
    let name = writer.file_name();
    Ok((name, writer.finish()?.into_inner()))
}

/// The rule set id each fiscal year's checkups should carry, for [`Store::checkups_to_judge`].
fn rule_periods() -> Vec<(i32, &'static str)> {
    onshi_checkup::stratify::RuleSet::ALL
        .iter()
        .map(|r| (r.first_fiscal_year(), r.id()))
        .collect()
}

/// Judges every stored checkup whose judgements are missing or were made by another rule set
/// than its fiscal year's (rows from before migration 20, or after onshi's rules changed), a
/// page at a time, logging progress; then refreshes the report cells (also when they are
/// missing: a database from before migration 22). Returns how many it judged.
pub async fn judge_stale_checkups(store: &Store) -> Result<u64, StoreError> {
    const PAGE: u32 = 1000;
    let periods = rule_periods();
    let mut after = String::new();
    let mut judged = 0u64;
    loop {
        let page = store.checkups_to_judge(&periods, &after, PAGE).await?;
        let Some(last) = page.last() else {
            break;
        };
        after = last.id.clone();
        let results: Vec<(String, onshi_store::CheckupJudgement)> = page
            .iter()
            .map(|c| {
                let j = onshi_checkup::stratify::judge(
                    c.sex,
                    c.birth_date,
                    c.exam_date,
                    c.items.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                );
                (c.id.clone(), judgement(&j))
            })
            .collect();
        store.set_judgements(&results).await?;
        judged += results.len() as u64;
        if judged % 100_000 < u64::from(PAGE) {
            tracing::info!(judged, "judging stored checkups under the current rules");
        }
    }
    if judged > 0 {
        tracing::info!(judged, "stored checkups judged under the current rules");
    }
    if judged > 0 || store.report_cells_missing().await? {
        let cells = store.refresh_report_cells(None).await?;
        tracing::info!(cells, "report cells refreshed");
    }
    Ok(judged)
}

/// The store's form of a judgement.
fn judgement(j: &onshi_checkup::stratify::Judged) -> onshi_store::CheckupJudgement {
    onshi_store::CheckupJudgement {
        rule_set: j.rules.id().to_owned(),
        guidance_level: j.level.map(|l| l.code().to_owned()),
        metabolic: j.metabolic.code().to_owned(),
        referral: j.referral,
        // 13 indicators: the masks fit an i32.
        indicators_known: i32::try_from(j.indicators.known).unwrap_or(0),
        indicators: i32::try_from(j.indicators.present).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(judgement: Option<onshi_store::CheckupJudgement>) -> onshi_store::StoredCheckup {
        let obs = |code: &str, value: &str, system: &str| onshi_store::StoredObservation {
            code: code.into(),
            value_kind: "CD".into(),
            value: Some(value.into()),
            unit: None,
            code_system: Some(system.into()),
            interpretation: None,
            method: None,
        };
        onshi_store::StoredCheckup {
            id: "c1".into(),
            insurer_number: "01130012".into(),
            exam_date: time::macros::date!(2025 - 06 - 01),
            institution: "1310000001".into(),
            report_kind: "1".into(),
            program: "010".into(),
            fiscal_year: 2025,
            age_at_fiscal_year_end: 55,
            sex: 1,
            version: 1,
            subject: onshi_store::CheckupSubject {
                symbol: "1".into(),
                number: "2".into(),
                branch: "00".into(),
                name_kana: "シケン".into(),
                birth_date: time::macros::date!(1970 - 01 - 01),
            },
            judgement,
            observations: vec![
                obs("9N506000000000011", "3", "1.2.392.200119.6.3001"),
                obs("8420000000000011", "1", "1.2.392.200119.6.1001"),
            ],
        }
    }

    fn coded(doc: &Document, code: &str) -> Vec<(String, String)> {
        doc.observations
            .iter()
            .filter(|o| o.code == code)
            .map(|o| match &o.value {
                Value::Coded { code, system } => (code.clone(), system.clone()),
                other => panic!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn exported_documents_carry_onshis_levels_where_the_sender_gave_none() {
        let judged = onshi_store::CheckupJudgement {
            rule_set: "tokutei-4.1".into(),
            guidance_level: Some("1".into()),
            metabolic: "2".into(),
            referral: true,
            indicators_known: 0,
            indicators: 0,
        };
        let today = time::macros::date!(2026 - 11 - 28);
        let doc = document_of(&stored(Some(judged)), today);
        // The sender's (the doctor's) 情報提供 kept as written, once; onshi's 9N501 added.
        assert_eq!(
            coded(&doc, GUIDANCE_LEVEL_CODE),
            [("3".to_owned(), "1.2.392.200119.6.3001".to_owned())]
        );
        assert_eq!(
            coded(&doc, METABOLIC_CODE),
            [("2".to_owned(), "1.2.392.200119.6.1008".to_owned())]
        );
        assert_eq!(coded(&doc, "8420000000000011").len(), 1, "others kept");
        // Not judged yet: the document as it was sent.
        let doc = document_of(&stored(None), today);
        assert_eq!(coded(&doc, GUIDANCE_LEVEL_CODE)[0].0, "3");
        assert!(coded(&doc, METABOLIC_CODE).is_empty());
    }
}

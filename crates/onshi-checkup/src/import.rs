//! A whole archive read and checked, one entry at a time: its name, layout and entries
//! ([`crate::archive`]), the index against the name and the files, each person's document read
//! ([`crate::document`]) and held to the code table ([`crate::validate`]), the summary's totals
//! (warnings only: real producers get them wrong without harm). Valid documents are handed to
//! the caller as they are read, so an archive of any size costs the memory of one document; the
//! caller keeps what it was handed only if the whole archive passes (all or nothing): every
//! problem is listed as `file: element or code: reason`.

use std::io::{Read, Seek};

use onshi_domain::InsurerNumber;

use crate::archive::{Archive, ArchiveName, EntryKind, Limits};
use crate::claim::{self, Claim};
use crate::codes::CodeTable;
use crate::document::{self, Document};
use crate::index::{self, Index};
use crate::{validate, xml};

/// A problem of one file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// The file, by its path in the archive (or the archive's name).
    pub file: String,
    /// The element or item code at fault, with its line when known (empty for the whole file).
    pub place: String,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.place.is_empty() {
            write!(f, "{}: {}", self.file, self.reason)
        } else {
            write!(f, "{}: {}: {}", self.file, self.place, self.reason)
        }
    }
}

/// A person's checkup that passed every check, with the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkup {
    /// Its path in the archive (`DATA/h….xml`).
    pub file: String,
    /// The document.
    pub document: Document,
    /// Its claim (`CLAIMS/c….xml`, the same name but for its first letter), when the archive
    /// carries claims.
    pub claim: Option<Claim>,
}

/// What an archive that passed held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The archive's name.
    pub name: ArchiveName,
    /// Its index.
    pub index: Index,
    /// How many documents were handed on.
    pub documents: usize,
    /// How many claims it carried.
    pub claims: usize,
    /// The sum of their 請求金額, in yen.
    pub claimed: i64,
    /// What is wrong but harmless (summary totals that do not add up).
    pub warnings: Vec<String>,
}

/// What a claim and its document have in common: the file name after its first letter.
fn pair_key(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.get(1..).unwrap_or_default().to_owned()
}

/// The money of the claims read so far, in yen.
#[derive(Default)]
struct Totals {
    unit: i64,
    payment: i64,
    other: i64,
    claim: i64,
}

impl Totals {
    fn add(&mut self, c: &Claim) {
        self.unit = self.unit.saturating_add(c.unit_amount);
        self.payment = self.payment.saturating_add(c.payment_amount);
        self.other = self.other.saturating_add(c.other_amount);
        self.claim = self.claim.saturating_add(c.claim_amount);
    }
}

fn place(path: &str, line: usize) -> String {
    if line > 0 {
        format!("{path} (line {line})")
    } else {
        path.to_owned()
    }
}

/// Reads the archive `file_name` from `reader`, handing each valid document to `on_checkup` in
/// archive order; `Err` lists every problem, and the caller must then discard what it was
/// handed.
pub fn read_archive<R: Read + Seek>(
    reader: R,
    file_name: &str,
    limits: Limits,
    table: &CodeTable,
    mut on_checkup: impl FnMut(Checkup),
) -> Result<Receipt, Vec<FileError>> {
    let whole = |file: &str, reason: String| FileError {
        file: file.to_owned(),
        place: String::new(),
        reason,
    };
    let mut archive = Archive::open(reader, file_name, limits).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| whole(&e.file, e.reason))
            .collect::<Vec<_>>()
    })?;
    let name = archive.name().clone();
    let guidance_archive = name.service == 2;
    let root = archive.root().to_owned();
    let entries = archive.entries().to_vec();
    let mut errors = Vec::new();
    let read_xml =
        |archive: &mut Archive<R>, entry: &crate::archive::Entry, errors: &mut Vec<FileError>| {
            let file = format!("{root}/{}", entry.path);
            match archive.read(entry) {
                Err(e) => {
                    errors.push(whole(&file, e.reason));
                    None
                }
                Ok(bytes) => match xml::parse(&bytes) {
                    Ok(doc) => Some((file, doc)),
                    Err(e) => {
                        errors.push(FileError {
                            file,
                            place: if e.line > 0 {
                                format!("line {}", e.line)
                            } else {
                                String::new()
                            },
                            reason: e.reason,
                        });
                        None
                    }
                },
            }
        };

    // The index first: it says what the rest must be.
    let mut index = None;
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Index) {
        if let Some((file, root_el)) = read_xml(&mut archive, entry, &mut errors) {
            match index::read(&root_el) {
                Ok(i) => index = Some((file, i)),
                Err(list) => errors.extend(list.into_iter().map(|(p, reason)| FileError {
                    file: file.clone(),
                    place: p,
                    reason,
                })),
            }
        }
    }
    let receiver_is = |id: &str| InsurerNumber::parse(id).ok() == Some(name.insurer.clone());
    if let Some((file, i)) = &index {
        let mut fail = |place: &str, reason: String| {
            errors.push(FileError {
                file: file.clone(),
                place: place.to_owned(),
                reason,
            });
        };
        // An insurer's 8-digit number is padded to 10 in the name only.
        if format!("{:0>10}", i.sender.0) != name.sender {
            fail(
                "sender/id/@extension",
                format!("is not the archive name's sender {}", name.sender),
            );
        }
        if !receiver_is(&i.receiver.0) {
            fail(
                "receiver/id/@extension",
                format!("is not the archive name's insurer {}", name.insurer),
            );
        }
        if i.service != name.service {
            fail(
                "serviceEventType/@code",
                format!("is not the archive name's 実施区分 {}", name.service),
            );
        }
    }

    let data = entries.iter().filter(|e| e.kind == EntryKind::Data).count();
    let claims = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Claim)
        .count();
    // Each claim bills the DATA document of the same name but for its first letter (c / h).
    let claim_entries: std::collections::HashMap<String, &crate::archive::Entry> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Claim)
        .map(|e| (pair_key(&e.path), e))
        .collect();
    let mut paired = std::collections::HashSet::new();
    let mut totals = Totals::default();
    let mut warnings = Vec::new();
    let mut documents = 0;
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Data) {
        let Some((file, root_el)) = read_xml(&mut archive, entry, &mut errors) else {
            continue;
        };
        let doc = match document::read(&root_el) {
            Ok(d) => d,
            Err(list) => {
                errors.extend(list.into_iter().map(|e| FileError {
                    file: file.clone(),
                    place: place(&e.path, e.line),
                    reason: e.reason,
                }));
                continue;
            }
        };
        // A guidance document's items are not the checkup code table's: only its kind, person
        // and date are read (the caller records the guidance step).
        let mut problems: Vec<FileError> = if doc.is_guidance() {
            Vec::new()
        } else {
            validate::validate(&doc, table)
                .into_iter()
                .map(|e| FileError {
                    file: file.clone(),
                    place: place(&e.path, e.line),
                    reason: e.reason,
                })
                .collect()
        };
        if doc.is_guidance() != guidance_archive {
            problems.push(FileError {
                file: file.clone(),
                place: "code/@code".into(),
                reason: if guidance_archive {
                    format!(
                        "報告区分 {} is not a 特定保健指導 report (21–25), and the archive's 実施区分 is 2",
                        doc.report_kind
                    )
                } else {
                    format!(
                        "報告区分 {} is a 特定保健指導 report (hg08), and the archive's 実施区分 is {} (特定健診): guidance goes in an archive of 実施区分 2",
                        doc.report_kind, name.service
                    )
                },
            });
        }
        let insurer_place = format!(
            "recordTarget/patientRole/id[@root='{}']/@extension",
            index::INSURER_OID
        );
        if doc.insurer.len() != 8 || InsurerNumber::parse(&doc.insurer).is_err() {
            problems.push(FileError {
                file: file.clone(),
                place: insurer_place,
                reason: "the insurer number must be 8 digits (6-digit numbers padded with zeros) with its check digit".into(),
            });
        } else if !receiver_is(&doc.insurer)
            && index.as_ref().is_some_and(|(_, i)| i.interaction_type != 8)
        {
            problems.push(FileError {
                file: file.clone(),
                place: insurer_place,
                reason: format!("is not the receiving insurer {}", name.insurer),
            });
        }
        let mut claim = None;
        let claim_entry = claim_entries.get(&pair_key(&entry.path));
        if let Some(claim_entry) = claim_entry {
            paired.insert(claim_entry.path.clone());
        }
        // A guidance archive's claims (gc08) are not read (a warning below says so).
        if let Some(claim_entry) = claim_entry.filter(|_| !guidance_archive)
            && let Some((claim_file, claim_root)) = read_xml(&mut archive, claim_entry, &mut errors)
        {
            match claim::read(&claim_root) {
                Ok(c) => {
                    let mut fail = |place: &str, reason: String| {
                        problems.push(FileError {
                            file: claim_file.clone(),
                            place: place.to_owned(),
                            reason,
                        });
                    };
                    let card = |a: &str| a.trim().to_owned();
                    if (
                        card(&c.insurer),
                        card(&c.symbol),
                        card(&c.number),
                        card(&c.branch),
                    ) != (
                        card(&doc.insurer),
                        card(&doc.symbol),
                        card(&doc.number),
                        card(&doc.branch),
                    ) {
                        fail(
                            "subjectPerson/insuranceCard",
                            format!("is not the card of its document {}", entry.path),
                        );
                    }
                    if c.institution != doc.institution {
                        fail(
                            "subjectPerson/performerOrganization/id/@extension",
                            format!("is not the institution of its document {}", entry.path),
                        );
                    }
                    if !c.adds_up() {
                        warnings.push(format!(
                                "{claim_file}: settlement/claimAmount is not unitAmount − paymentAmount − paymentByOtherProgram"
                            ));
                    }
                    totals.add(&c);
                    claim = Some(c);
                }
                Err(list) => problems.extend(list.into_iter().map(|(p, reason)| FileError {
                    file: claim_file.clone(),
                    place: p,
                    reason,
                })),
            }
        }
        if problems.is_empty() {
            documents += 1;
            on_checkup(Checkup {
                file: entry.path.clone(),
                document: doc,
                claim,
            });
        } else {
            errors.extend(problems);
        }
    }
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Claim) {
        if !paired.contains(&entry.path) {
            errors.push(whole(
                &format!("{root}/{}", entry.path),
                "no document in DATA/ has this claim's name (its first letter c for h)".into(),
            ));
        }
    }

    if let Some((file, i)) = &index {
        let total = usize::try_from(i.total_records).unwrap_or(usize::MAX);
        if total != data && total != data + claims {
            errors.push(FileError {
                file: file.clone(),
                place: "totalRecordCount/@value".into(),
                reason: format!(
                    "says {total} files, the archive holds {data} in DATA/ and {claims} in CLAIMS/"
                ),
            });
        }
    }
    for entry in entries.iter().filter(|e| e.kind == EntryKind::Summary) {
        if let Some((file, root_el)) = read_xml(&mut archive, entry, &mut errors) {
            let subjects = root_el
                .child("totalSubjectCount")
                .and_then(|c| c.attribute("value"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if subjects != Some(data) {
                warnings.push(format!(
                    "{file}: totalSubjectCount/@value does not match the {data} documents in DATA/"
                ));
            }
            if claims > 0 {
                for (element, sum) in [
                    ("totalCostAmount", totals.unit),
                    ("totalPaymentAmount", totals.payment),
                    ("totalPaymentByOtherProgram", totals.other),
                    ("totalClaimAmount", totals.claim),
                ] {
                    let given = root_el
                        .child(element)
                        .and_then(|c| c.attribute("value"))
                        .and_then(|v| v.trim().parse::<i64>().ok());
                    if given.is_some_and(|g| g != sum) {
                        warnings.push(format!(
                            "{file}: {element}/@value is not the claims' total ({sum} yen)"
                        ));
                    }
                }
            }
        }
    }
    if guidance_archive && claims > 0 {
        warnings.push(format!(
            "{root}/CLAIMS/: {claims} guidance claims (gc08) were not read: onshi records the guidance, not its settlement"
        ));
    } else if claims > 0 && claims != data {
        warnings.push(format!(
            "{root}/CLAIMS/: {claims} claims for {data} documents"
        ));
    }
    match index {
        Some((_, index)) if errors.is_empty() => Ok(Receipt {
            name,
            index,
            documents,
            claims,
            claimed: totals.claim,
            warnings,
        }),
        _ => Err(errors),
    }
}

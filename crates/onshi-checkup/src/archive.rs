//! The MHLW standard archive (送付用ファイルアーカイブ): its name, its layout, and its entries,
//! read one at a time and refused before they cost anything when hostile.
//!
//! ```text
//! <sender 10 digits>_<insurer 8 digits>_<YYYYMMDD><N>_<X>.zip
//! └── <the same name without .zip>/
//!     ├── ix08_V08.xml        index (required)
//!     ├── su08_V08.xml        summary (with claims)
//!     ├── DATA/h….xml         one CDA document per person (特定健診 hc08, 特定保健指導 hg08)
//!     ├── CLAIMS/c….xml       one claim per DATA file (cc08 / gc08)
//!     └── XSD/…               the schemas, as shipped
//! ```
//!
//! [`Archive::open`] reads only the central directory and checks every entry before anything is
//! decompressed: count, names (`..`, absolute paths, backslashes, the root folder), symbolic
//! links, nested archives, duplicate names (also differing only in case), declared sizes and
//! compression ratio. [`Archive::read`] then decompresses one entry through a bound, so an
//! entry whose real size exceeds what it declared, or the limit, is refused at that point.

use std::io::{Read, Seek};

use onshi_domain::InsurerNumber;
use time::Date;

/// Bounds on what an archive may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in the archive (directories included).
    pub max_entries: usize,
    /// Uncompressed bytes of one entry.
    pub max_entry_bytes: u64,
    /// Uncompressed bytes of all entries together.
    pub max_total_bytes: u64,
    /// Uncompressed ÷ compressed size of an entry larger than 64 KiB.
    pub max_ratio: u64,
}

impl Default for Limits {
    /// 200,000 entries (100,000 persons with their claims), 8 MiB an entry (a checkup document
    /// is some 50 KiB), 4 GiB in all, and a ratio of 200 (XML compresses about 10 to 30 times; a
    /// zip bomb thousands of times).
    fn default() -> Self {
        Self {
            max_entries: 200_000,
            max_entry_bytes: 8 * 1024 * 1024,
            max_total_bytes: 4 * 1024 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// The parts of an archive's file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveName {
    /// 送付元機関番号: the sender (a checkup institution's 10-digit number, or an insurer's).
    pub sender: String,
    /// 送付先保険者番号: the receiving insurer.
    pub insurer: InsurerNumber,
    /// 提出年月日.
    pub submitted: Date,
    /// 同日分割送信回数 (0–9).
    pub split: u8,
    /// 実施区分: 1 特定健診, 2 特定保健指導.
    pub service: u8,
    /// The name without `.zip`, as written (the insurer number padded to 8 digits).
    stem: String,
}

impl ArchiveName {
    /// Reads `<sender>_<insurer>_<YYYYMMDD><N>_<X>.zip` (the extension in any case).
    pub fn parse(file_name: &str) -> Result<Self, String> {
        let stem = file_name
            .strip_suffix(".zip")
            .or_else(|| file_name.strip_suffix(".ZIP"))
            .ok_or("an archive's name ends in .zip")?;
        let parts: Vec<&str> = stem.split('_').collect();
        let [sender, insurer, date, service] = parts.as_slice() else {
            return Err(
                "an archive's name is <sender 10 digits>_<insurer 8 digits>_<YYYYMMDD><N>_<X>.zip"
                    .into(),
            );
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if sender.len() != 10 || !digits(sender) {
            return Err("the sender's number must be 10 digits".into());
        }
        if insurer.len() != 8 || !digits(insurer) {
            return Err(
                "the insurer number must be 8 digits (6-digit numbers padded with zeros)".into(),
            );
        }
        let insurer = InsurerNumber::parse(insurer).map_err(|e| format!("insurer number: {e}"))?;
        if date.len() != 9 || !digits(date) {
            return Err(
                "the submission date and split count must be YYYYMMDD and one digit".into(),
            );
        }
        let submitted =
            crate::parse_yyyymmdd(&date[..8]).ok_or("the submission date is not a date")?;
        let split = date.as_bytes()[8] - b'0';
        let service = match *service {
            "1" => 1,
            "2" => 2,
            _ => return Err("実施区分 must be 1 (特定健診) or 2 (特定保健指導)".into()),
        };
        Ok(Self {
            sender: (*sender).to_owned(),
            insurer,
            submitted,
            split,
            service,
            stem: stem.to_owned(),
        })
    }

    /// The root folder the entries must be in: the name without `.zip`.
    pub fn root(&self) -> String {
        self.stem.clone()
    }
}

/// What an entry is, by its place in the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A folder.
    Directory,
    /// `ix08_V08.xml`.
    Index,
    /// `su08_V08.xml`.
    Summary,
    /// `DATA/*.xml`: a person's CDA document.
    Data,
    /// `CLAIMS/*.xml`: a claim.
    Claim,
    /// `XSD/…`: the schemas shipped with the archive (not read).
    Schema,
}

/// One entry, as the central directory declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the archive.
    pub index: usize,
    /// Its path below the root folder (`DATA/h….xml`).
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its declared uncompressed size.
    pub size: u64,
}

/// A problem of one entry (or of the archive as a whole, with an empty `file`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {reason}")]
pub struct EntryError {
    /// The entry's name in the archive, or the archive's.
    pub file: String,
    /// Why.
    pub reason: String,
}

/// An archive whose central directory passed every check.
pub struct Archive<R> {
    zip: zip::ZipArchive<R>,
    archive_name: ArchiveName,
    name: String,
    limits: Limits,
    entries: Vec<Entry>,
}

impl<R> std::fmt::Debug for Archive<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Archive")
            .field("name", &self.name)
            .field("entries", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// File-name endings of archives and compressed files, which an archive may not nest.
const NESTED: [&str; 9] = [
    ".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".lzh", ".bz2", ".xz",
];

impl<R: Read + Seek> Archive<R> {
    /// Opens the archive `file_name` read from `reader` and checks its central directory; every
    /// problem found is listed.
    pub fn open(reader: R, file_name: &str, limits: Limits) -> Result<Self, Vec<EntryError>> {
        let whole = |reason: String| {
            vec![EntryError {
                file: file_name.to_owned(),
                reason,
            }]
        };
        let name = ArchiveName::parse(file_name).map_err(whole)?;
        let root = name.root();
        let mut zip = zip::ZipArchive::new(reader)
            .map_err(|e| whole(format!("not a readable zip archive ({e})")))?;
        if zip.len() > limits.max_entries {
            return Err(whole(format!(
                "{} entries, more than the {} an archive may hold",
                zip.len(),
                limits.max_entries
            )));
        }
        let mut errors = Vec::new();
        let mut entries = Vec::with_capacity(zip.len());
        let mut seen = std::collections::HashSet::new();
        let mut total: u64 = 0;
        for index in 0..zip.len() {
            let file = match zip.by_index_raw(index) {
                Ok(f) => f,
                Err(e) => {
                    errors.push(EntryError {
                        file: format!("entry {}", index + 1),
                        reason: format!("unreadable ({e})"),
                    });
                    continue;
                }
            };
            let raw = match file.name() {
                Ok(n) => n.into_owned(),
                Err(_) => {
                    errors.push(EntryError {
                        file: format!("entry {}", index + 1),
                        reason: "its name is not valid text".into(),
                    });
                    continue;
                }
            };
            let mut fail = |reason: String| {
                errors.push(EntryError {
                    file: raw.clone(),
                    reason,
                });
            };
            if raw.contains('\\') {
                fail("a backslash in an entry's name".into());
                continue;
            }
            if raw.starts_with('/') || raw.split('/').any(|p| p == ".." || p == ".") {
                fail("an entry's path must stay inside the archive (no /, .. or .)".into());
                continue;
            }
            if file.is_symlink() {
                fail("symbolic links are not allowed".into());
                continue;
            }
            if !seen.insert(raw.to_lowercase()) {
                fail("a second entry of the same name".into());
                continue;
            }
            let Some(path) = raw
                .strip_prefix(&root)
                .and_then(|rest| rest.strip_prefix('/'))
            else {
                if raw.trim_end_matches('/') != root {
                    fail(format!("every entry must be in the folder {root}/"));
                }
                continue;
            };
            let lower = path.to_ascii_lowercase();
            if NESTED.iter().any(|ext| lower.ends_with(ext)) {
                fail("archives inside the archive are not allowed".into());
                continue;
            }
            let size = file.size();
            if size > limits.max_entry_bytes {
                fail(format!(
                    "{size} bytes uncompressed, more than the {} an entry may have",
                    limits.max_entry_bytes
                ));
                continue;
            }
            let compressed = file.compressed_size().max(1);
            if size > 64 * 1024 && size / compressed > limits.max_ratio {
                fail(format!(
                    "compressed {}-fold, more than {}: a zip bomb is refused",
                    size / compressed,
                    limits.max_ratio
                ));
                continue;
            }
            total = total.saturating_add(size);
            let kind = if file.is_dir() {
                EntryKind::Directory
            } else if path == "ix08_V08.xml" {
                EntryKind::Index
            } else if path == "su08_V08.xml" {
                EntryKind::Summary
            } else if let Some(f) = path.strip_prefix("DATA/") {
                if f.contains('/') || !lower.ends_with(".xml") {
                    fail("DATA/ holds only .xml documents".into());
                    continue;
                }
                EntryKind::Data
            } else if let Some(f) = path.strip_prefix("CLAIMS/") {
                if f.contains('/') || !lower.ends_with(".xml") {
                    fail("CLAIMS/ holds only .xml claims".into());
                    continue;
                }
                EntryKind::Claim
            } else if path.starts_with("XSD/") {
                EntryKind::Schema
            } else {
                fail(
                    "not part of the layout (ix08_V08.xml, su08_V08.xml, DATA/, CLAIMS/, XSD/)"
                        .into(),
                );
                continue;
            };
            entries.push(Entry {
                index,
                path: path.to_owned(),
                kind,
                size,
            });
        }
        if total > limits.max_total_bytes {
            errors.push(EntryError {
                file: file_name.to_owned(),
                reason: format!(
                    "{total} bytes uncompressed, more than the {} an archive may have",
                    limits.max_total_bytes
                ),
            });
        }
        if errors.is_empty() && !entries.iter().any(|e| e.kind == EntryKind::Index) {
            errors.push(EntryError {
                file: format!("{root}/ix08_V08.xml"),
                reason: "the index is required".into(),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Self {
            zip,
            archive_name: name,
            name: root,
            limits,
            entries,
        })
    }

    /// The entries that passed, in archive order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The root folder's name.
    pub fn root(&self) -> &str {
        &self.name
    }

    /// The archive's name, read.
    pub fn name(&self) -> &ArchiveName {
        &self.archive_name
    }

    /// Decompresses `entry`, reading no more than it declared (and the limit); an entry that
    /// holds more, or fails its checksum, is an error naming it.
    pub fn read(&mut self, entry: &Entry) -> Result<Vec<u8>, EntryError> {
        let fail = |reason: String| EntryError {
            file: format!("{}/{}", self.name, entry.path),
            reason,
        };
        let bound = entry.size.min(self.limits.max_entry_bytes);
        let file = self
            .zip
            .by_index(entry.index)
            .map_err(|e| fail(format!("unreadable ({e})")))?;
        let mut bytes = Vec::with_capacity(usize::try_from(bound).unwrap_or(0).min(1 << 20));
        file.take(bound + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("unreadable ({e})")))?;
        if bytes.len() as u64 > bound {
            return Err(fail("holds more than its declared size: refused".into()));
        }
        if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0x1f, 0x8b]) {
            return Err(fail("archives inside the archive are not allowed".into()));
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;

    const NAME: &str = "5521111111_00280081_202405271_1.zip";
    const ROOT: &str = "5521111111_00280081_202405271_1";

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in files {
            w.start_file(*name, SimpleFileOptions::default()).unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn open(bytes: Vec<u8>) -> Result<Archive<Cursor<Vec<u8>>>, Vec<EntryError>> {
        Archive::open(Cursor::new(bytes), NAME, Limits::default())
    }

    fn reasons(r: Result<Archive<Cursor<Vec<u8>>>, Vec<EntryError>>) -> Vec<String> {
        r.unwrap_err().into_iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn names_follow_the_rule() {
        let n = ArchiveName::parse(NAME).unwrap();
        assert_eq!(
            (
                n.sender.as_str(),
                n.insurer.as_str(),
                n.split,
                n.service,
                n.root()
            ),
            ("5521111111", "280081", 1, 1, ROOT.to_owned())
        );
        assert!(
            ArchiveName::parse("5521111111_280081_202405271_1.zip")
                .unwrap_err()
                .contains("8 digits")
        );
        assert!(
            ArchiveName::parse("5521111111_00280082_202405271_1.zip")
                .unwrap_err()
                .contains("insurer number")
        );
        assert!(
            ArchiveName::parse("5521111111_00280081_202413271_1.zip")
                .unwrap_err()
                .contains("not a date")
        );
        assert!(ArchiveName::parse("5521111111_00280081_202405271_3.zip").is_err());
        assert!(ArchiveName::parse("x.zip").is_err());
    }

    #[test]
    fn a_well_formed_archive_lists_its_entries_by_kind() {
        let bytes = zip_of(&[
            (&format!("{ROOT}/ix08_V08.xml"), b"<index/>"),
            (&format!("{ROOT}/su08_V08.xml"), b"<summary/>"),
            (
                &format!("{ROOT}/DATA/h55211111112024052710000001.xml"),
                b"<ClinicalDocument/>",
            ),
            (
                &format!("{ROOT}/CLAIMS/c55211111112024052710000001.xml"),
                b"<checkupClaim/>",
            ),
            (&format!("{ROOT}/XSD/ix08_V08.xsd"), b"<schema/>"),
        ]);
        let mut a = open(bytes).unwrap();
        let kinds: Vec<EntryKind> = a.entries().iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EntryKind::Index,
                EntryKind::Summary,
                EntryKind::Data,
                EntryKind::Claim,
                EntryKind::Schema
            ]
        );
        let data = a.entries()[2].clone();
        assert_eq!(a.read(&data).unwrap(), b"<ClinicalDocument/>");
    }

    #[test]
    fn hostile_entries_are_each_refused_by_name() {
        let bytes = zip_of(&[
            (&format!("{ROOT}/ix08_V08.xml"), b"<index/>"),
            (&format!("{ROOT}/../evil.xml"), b"x"),
            ("/etc/passwd", b"x"),
            (&format!("{ROOT}\\DATA\\a.xml"), b"x"),
            (&format!("{ROOT}/DATA/inner.zip"), b"PK"),
            ("elsewhere/ix08_V08.xml", b"x"),
            (&format!("{ROOT}/notes.txt"), b"x"),
            (&format!("{ROOT}/DATA/H1.xml"), b"x"),
            (&format!("{ROOT}/DATA/h1.xml"), b"x"),
        ]);
        let r = reasons(open(bytes));
        for expected in [
            "../evil.xml: an entry's path must stay inside",
            "/etc/passwd: an entry's path must stay inside",
            "a backslash",
            "inner.zip: archives inside",
            "elsewhere/ix08_V08.xml: every entry must be in the folder",
            "notes.txt: not part of the layout",
            "DATA/h1.xml: a second entry of the same name",
        ] {
            assert!(
                r.iter().any(|e| e.contains(expected)),
                "{expected} in {r:?}"
            );
        }
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_decompressed() {
        // 100 MiB of zeros compress to about 100 KiB: a ratio of about 1000.
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file(format!("{ROOT}/ix08_V08.xml"), SimpleFileOptions::default())
            .unwrap();
        w.write_all(b"<index/>").unwrap();
        w.start_file(
            format!("{ROOT}/DATA/bomb.xml"),
            SimpleFileOptions::default(),
        )
        .unwrap();
        let zeros = vec![0u8; 1024 * 1024];
        for _ in 0..100 {
            w.write_all(&zeros).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        let started = std::time::Instant::now();
        let r = reasons(open(bytes.clone()));
        assert!(
            r.iter()
                .any(|e| e.contains("bomb.xml") && e.contains("uncompressed")),
            "{r:?}"
        );
        // Under a limit that lets the size pass, the ratio refuses it.
        let limits = Limits {
            max_entry_bytes: 1 << 30,
            ..Limits::default()
        };
        let r: Vec<String> = Archive::open(Cursor::new(bytes), NAME, limits)
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert!(r.iter().any(|e| e.contains("zip bomb")), "{r:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn an_archive_without_its_index_or_with_too_many_entries_is_refused() {
        let r = reasons(open(zip_of(&[(&format!("{ROOT}/DATA/h1.xml"), b"x")])));
        assert!(r[0].contains("the index is required"), "{r:?}");
        let files: Vec<(String, Vec<u8>)> = (0..11)
            .map(|i| (format!("{ROOT}/DATA/h{i}.xml"), b"x".to_vec()))
            .collect();
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_slice()))
            .collect();
        let limits = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        let e = Archive::open(Cursor::new(zip_of(&refs)), NAME, limits).unwrap_err();
        assert!(e[0].reason.contains("more than the 10"), "{e:?}");
        let e = open(b"not a zip".to_vec()).unwrap_err();
        assert!(e[0].reason.contains("not a readable zip"), "{e:?}");
    }
}

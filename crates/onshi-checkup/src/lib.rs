//! Health-checkup data (特定健診・特定保健指導) as the MHLW electronic standard exchanges it: the
//! archive (`<sender>_<insurer>_<date><N>_<X>.zip`), its index, summary, HL7 CDA R2 documents
//! and claims. Pure: no files, no network, no store; the caller hands in a reader and gets typed
//! values or errors that name the file and element at fault. See `../shared/reference`'s
//! checkup notes (summarised in ARCHITECTURE.md) for the formats.
//!
//! - [`archive`]: the archive's name and layout, its entries checked before anything is
//!   decompressed (zip bombs, `../`, symbolic links, nested archives, duplicates), and each
//!   entry read through a bound.
//! - [`claim`]: a checkup claim (`CLAIMS/`), its card key and money.
//! - [`xml`]: a safe XML tree with namespaces and attributes (no DOCTYPE, no entities, bounded
//!   depth and size).
//! - [`index`]: `ix08_V08.xml` in both namespaces.
//! - [`document`]: a person's CDA document (`DATA/`): who, where, when, and every observation.
//! - [`codes`]: the 2024 item code table, embedded.
//! - [`import`]: a whole archive read and checked, valid documents handed on one at a time.
//! - [`validate`]: a document's content held to the code table, possible values, the required
//!   items and the blood-draw timing.
//! - [`reference`]: the FY2024 judgement values results are read against.
//! - [`write`]: documents, indexes and whole archives written as the templates shape them.
//! - [`employer_csv`]: an employer's results as a CSV of item columns, read into documents.
//! - [`fhir`]: a checkup as a FHIR R4 document Bundle (JAMI eCheckupReport IG).
//! - [`guidance_csv`]: an insurer's guidance events as a CSV.
//! - [`cost`]: medical cost per member, its CSV and its comparison.
//! - [`stratify`], [`indicators`], [`masking`], [`scoring`], [`grades`]: guidance levels,
//!   report indicators, masking of small groups, scoring reports and workplace sheets, and
//!   where an insurer's implementation rates stand.

pub mod archive;
pub mod claim;
pub mod codes;
pub mod cost;
pub mod document;
pub mod employer_csv;
pub mod fhir;
pub mod grades;
pub mod guidance_csv;
pub mod import;
pub mod index;
pub mod indicators;
pub mod masking;
pub mod reference;
pub mod scoring;
pub mod stratify;
pub mod validate;
pub mod write;
pub mod xml;

use time::Date;

/// A date written `YYYYMMDD`, the only form the standard's files use (the domain's
/// [`onshi_domain::parse_date`] also takes `YYYY-MM-DD`, which they may not).
pub fn parse_yyyymmdd(text: &str) -> Option<Date> {
    (text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| onshi_domain::parse_date(text).ok())
        .flatten()
}

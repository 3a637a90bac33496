//! The domain of onshi: the things the eligibility system talks about, as types that validate
//! themselves.
//!
//! This crate does no I/O: no files, no network, no database, no clock of its own (time is passed
//! in through [`Clock`]). Everything here is a pure function of its inputs, so it is tested with
//! plain unit and property tests.
//!
//! - [`ids`]: identifiers with check digits: insurer number (保険者番号), facility code
//!   (医療機関コード), My Number (個人番号) and its keyed hash, the card symbol / number / branch
//!   (記号・番号・枝番).
//! - [`member`]: a member's qualification (資格情報) and the codes it carries.
//! - [`limit`]: the 限度額適用認定証 an insurer records on a member.
//! - [`card`]: what is printed on the card (被保険者証区分, validity, 世帯主, address) and the
//!   高齢受給者証.
//! - [`japan`]: Japan time on the wire (times kept in UTC, written in JST).
//! - [`import`]: one row of an insurer's member file, parsed and validated field by field.
//! - [`eligibility`]: which qualification answers a check, with the interface's validity codes.
//! - [`audit`]: the audit log's hash chain.
//! - [`checkpoint`]: signed checkpoints and the Merkle tree that anchor the log outside the
//!   database.
//! - [`challenge`]: the sealed single-use challenge a card signs.
//! - [`consent`]: what a patient consents to at a reader; where a card was registered.
//! - [`rate`]: token buckets for the per-facility rate limits.
//! - [`report`]: the counted cell the scoring reports are made from.
//! - [`facility`]: a facility as the operator's master knows it (kind, prefecture, public).
//! - [`subsidy`]: the card-reader subsidy rules as data, and the engine over them.

pub mod audit;
pub mod card;
pub mod challenge;
pub mod checkpoint;
pub mod consent;
pub mod eligibility;
pub mod employer;
pub mod error;
pub mod facility;
pub mod ids;
pub mod import;
pub mod japan;
pub mod limit;
pub mod member;
pub mod rate;
pub mod report;
pub mod staff;
pub mod subsidy;
pub mod text;

pub use audit::AuditAction;
pub use card::{CardClass, CardDetails, CardInput, ElderlyCertificate};
pub use challenge::{Challenge, ChallengeError, ChallengeKey, ChallengePurpose};
pub use consent::{ConsentKind, RegistrationChannel};
pub use employer::{EmployerCode, EmployerRef, Industry, InstitutionNumber, Prefecture};
pub use error::FieldError;
pub use facility::{FacilityInput, FacilityKind, FacilityRecord};
pub use ids::{
    BranchNumber, CardNumber, CardSymbol, FacilityCode, InsurerKind, InsurerNumber, MyNumber,
    MyNumberKey, PersonRef,
};
pub use limit::{LimitBracket, LimitCertificate, LimitClass, LimitInput};
pub use member::{
    CopayRatio, LossReason, MemberDetails, MemberInput, MemberKey, Personal, Relationship, Sex,
    ValidMember, age_at_fiscal_year_end, age_on, fiscal_year, is_preschool, parse_date,
};
pub use report::ReportCell;

use time::OffsetDateTime;

/// Where the current time comes from. Servers use the system clock; tests pass a fixed one.
pub trait Clock: Send + Sync + 'static {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// A clock that always says the same instant (for tests and reproducible runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

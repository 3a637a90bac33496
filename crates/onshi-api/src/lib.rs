//! The wire contract of onshi's HTTP API: every JSON body the server reads or writes, declared
//! once, used by the server (which serialises them and documents them in `/openapi.json`), by
//! `onshi-interface` (which turns check results into the facility interface's XML) and by every
//! client in the `onshi` binary (reader, register, check, agent, loadgen). A renamed field fails
//! to compile in every one of them at once.
//!
//! The types derive `Serialize`, `Deserialize` and `utoipa::ToSchema`. The domain crate stays
//! free of protocol concerns: the conversions from domain values to wire values live here
//! (`From` impls), and the server converts store records in its handlers.
//!
//! - [`problem`]: the one error document (RFC 9457) and its field errors.
//! - [`members`]: the insurer API's members.
//! - [`eligibility`]: challenges, card proofs, card and number checks, registration, the
//!   person's access history.
//! - [`bulk`]: bulk look-ups (一括照会).
//! - [`programme`]: an insurer's 特定健診・特定保健指導 counts and rates, guidance events.
//! - [`operator`]: the adoption dashboard, weekly editions, the subsidy calculator.
//! - [`system`]: liveness (`/healthz`).

pub mod audit;
pub mod bulk;
pub mod checkups;
pub mod eligibility;
pub mod members;
pub mod operator;
pub mod problem;
pub mod programme;
pub mod system;

pub use audit::AuditProof;
pub use bulk::{BulkItem, BulkReceipt, BulkRequest, BulkRow, BulkStatus};
pub use checkups::{
    CheckupArchiveReceipt, CheckupCardLookup, CheckupItem, CheckupPatient, CheckupRequest,
    CheckupRequestBody, CheckupRequestList, CheckupResult, CheckupResults, CheckupTransferRequest,
    Consignment, ConsignmentBody, ConsignmentEndBody, ConsignmentList, Employer, EmployerBody,
    EmployerList, MatchBody, MatchCandidate, MatchingQueue, RegisteredEmployer, UnmatchedCheckup,
};
pub use eligibility::{
    AccessEntry, CardCheckRequest, CardProof, Challenge, ChallengeRequest, Consent,
    ElderlyCertificateInfo, EligibilityResult, LimitCertificateInfo, NumberCheckRequest,
    PortalLoginCode, Qualification, Registration,
};
pub use members::{
    EndBody, LimitClass, LossReason, Member, MemberBody, MemberHistory, MemberPage, RecordedCard,
    RecordedElderlyCertificate, RecordedLimitCertificate, Relationship, Sex,
};
pub use problem::{FieldError, Problem};
pub use programme::{
    CostFigure, CsvReceipt, GuidanceEventBody, MedicalCostRow, NationalReport, NationalRow,
    ProgrammeListPage, ProgrammeListPerson, ProgrammeSummary, RankFigure, RateRow, ReportFigure,
    ScoringReport, ScoringRow, WorkplaceGroupBody, WorkplaceRow, WorkplaceSheet, percent,
};
pub use system::Health;

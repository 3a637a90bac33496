//! The audit log's hash chain (アクセス記録): each entry's hash covers its content and the hash
//! before it, so editing or deleting any entry breaks every hash after it.

use time::OffsetDateTime;

/// What an audit entry records was done. The log stores the name; what was read back is kept as
/// text, so entries written by any version stay readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A member registered (資格取得).
    Create,
    /// A member read.
    Read,
    /// A member changed or ended.
    Change,
    /// A member's versions read.
    History,
    /// Members listed.
    List,
    /// A member file imported.
    Import,
    /// An eligibility check by card.
    CheckCard,
    /// An eligibility check by card number.
    CheckNumber,
    /// An eligibility check by the reference of a card check (FHIR).
    CheckReference,
    /// A card registered for insurance use (利用申込).
    Register,
    /// The person read their own access history.
    ReadAccessLog,
    /// A facility went over a rate limit (checks, or look-ups that matched no one): its
    /// requests are refused until the limit allows again. Written once per episode.
    RateLimited,
    /// An insurer's or facility's API token rotated (a new one; the old ones end after a
    /// grace period).
    TokenRotate,
    /// An insurer's or facility's API tokens revoked.
    TokenRevoke,
    /// A checkup archive imported (特定健診等データ).
    ImportCheckups,
    /// An employer or a checkup institution registered.
    AddOrganisation,
    /// An employer consigned a checkup institution to deliver its employees' results, or ended
    /// a consignment.
    Consign,
    /// An insurer requested an employer's checkup results for a fiscal year.
    RequestCheckups,
    /// An insurer resolved a checkup of its matching queue (linked it to a member).
    MatchCheckup,
    /// Checkup results read (by the person, a facility, or an insurer).
    ReadCheckups,
    /// Checkup results sent to another insurer (interaction type 8), or exported.
    TransferCheckups,
    /// A staff account signed in (password and TOTP).
    StaffLogin,
    /// A staff sign-in refused (wrong password or code, a replayed code, a locked account).
    StaffLoginFailed,
    /// A staff account locked after repeated failures.
    StaffLockedOut,
    /// A staff account added, reset or disabled.
    AccountChange,
    /// A person withdrew a consent they had given a facility.
    WithdrawConsent,
    /// An insurer recorded a member's specific health guidance (first interview, completion,
    /// drop-out).
    RecordGuidance,
    /// The operator imported the facility master (施設マスタ).
    ImportFacilities,
    /// A facility's onboarding moved: its portal account opened (its application), or the
    /// operator approved it and issued its first credentials.
    Onboard,
    /// A facility's card-reader application recorded (applied, delivered, installed).
    RecordReaders,
    /// A weekly edition of the public hospitals' applications published.
    PublishWeekly,
}

impl AuditAction {
    /// The name the log stores.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Read => "read",
            Self::Change => "change",
            Self::History => "history",
            Self::List => "list",
            Self::Import => "import",
            Self::CheckCard => "check_card",
            Self::CheckNumber => "check_number",
            Self::CheckReference => "check_reference",
            Self::Register => "register",
            Self::ReadAccessLog => "read_access_log",
            Self::RateLimited => "rate_limited",
            Self::TokenRotate => "token_rotate",
            Self::TokenRevoke => "token_revoke",
            Self::ImportCheckups => "import_checkups",
            Self::AddOrganisation => "add_organisation",
            Self::Consign => "consign",
            Self::RequestCheckups => "request_checkups",
            Self::MatchCheckup => "match_checkup",
            Self::ReadCheckups => "read_checkups",
            Self::TransferCheckups => "transfer_checkups",
            Self::StaffLogin => "staff_login",
            Self::StaffLoginFailed => "staff_login_failed",
            Self::StaffLockedOut => "staff_locked_out",
            Self::AccountChange => "account_change",
            Self::WithdrawConsent => "withdraw_consent",
            Self::RecordGuidance => "record_guidance",
            Self::ImportFacilities => "import_facilities",
            Self::Onboard => "onboard",
            Self::RecordReaders => "record_readers",
            Self::PublishWeekly => "publish_weekly",
        }
    }
}

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry's content, as hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditContent<'a> {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When, to the microsecond (what PostgreSQL keeps).
    pub at: OffsetDateTime,
    /// `insurer`, `facility`, `operator` or `person`.
    pub actor_kind: &'a str,
    /// Who, within the kind.
    pub actor_id: &'a str,
    /// What was done.
    pub action: &'a str,
    /// The member concerned, if one.
    pub member_id: Option<&'a str>,
    /// The person concerned, if known.
    pub person_ref: Option<&'a str>,
    /// Free text without personal data.
    pub detail: Option<&'a str>,
}

/// Truncates a time to microseconds, the precision both stores keep, so a hash computed before
/// writing equals the one recomputed from what was read back.
pub fn audit_time(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1000 * 1000)
        .unwrap_or(at)
}

/// SHA-256 (hex) of `prev` and the entry's fields, each length-prefixed so no two different
/// entries serialise alike.
pub fn chain_hash(prev: &str, e: &AuditContent<'_>) -> String {
    let micros = audit_time(e.at).unix_timestamp_nanos() / 1000;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let fields: [&str; 7] = [
        e.actor_kind,
        e.actor_id,
        e.action,
        e.member_id.unwrap_or("\u{0}"),
        e.person_ref.unwrap_or("\u{0}"),
        e.detail.unwrap_or("\u{0}"),
        prev,
    ];
    ctx.update(&e.seq.to_be_bytes());
    ctx.update(&micros.to_be_bytes());
    for f in fields {
        ctx.update(&(f.len() as u64).to_be_bytes());
        ctx.update(f.as_bytes());
    }
    hex::encode(ctx.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn every_field_and_the_predecessor_change_the_hash() {
        let e = AuditContent {
            seq: 1,
            at: datetime!(2026-11-24 10:00:00.123456789 UTC),
            actor_kind: "facility",
            actor_id: "1311111111",
            action: "check_card",
            member_id: Some("m"),
            person_ref: None,
            detail: None,
        };
        let h = chain_hash(GENESIS, &e);
        assert_eq!(h.len(), 64);
        assert_eq!(
            h,
            chain_hash(
                GENESIS,
                &AuditContent {
                    at: audit_time(e.at),
                    ..e.clone()
                }
            )
        );
        assert_ne!(h, chain_hash(&h, &e));
        assert_ne!(
            h,
            chain_hash(
                GENESIS,
                &AuditContent {
                    seq: 2,
                    ..e.clone()
                }
            )
        );
        assert_ne!(
            h,
            chain_hash(
                GENESIS,
                &AuditContent {
                    member_id: None,
                    ..e.clone()
                }
            )
        );
        assert_ne!(
            h,
            chain_hash(
                GENESIS,
                &AuditContent {
                    detail: Some("m"),
                    member_id: None,
                    ..e.clone()
                }
            )
        );
        assert_ne!(
            h,
            chain_hash(
                GENESIS,
                &AuditContent {
                    action: "read",
                    ..e
                }
            )
        );
    }
}

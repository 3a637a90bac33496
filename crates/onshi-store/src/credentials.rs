//! API tokens of insurers and facilities (`api_tokens`): which owner a token hash belongs to,
//! while it is neither expired nor revoked; rotation (a new token, the old ones valid for a
//! grace period) and revocation (every token of an owner invalid at once), each audited in the
//! same commit and announced through a generation in `meta` that servers watch, so that the
//! tokens they remember are forgotten within a second.

use time::{Duration, OffsetDateTime};

use onshi_domain::{AuditAction, EmployerRef, FacilityCode, InstitutionNumber, InsurerNumber};

use crate::audit::audit;
use crate::compared_time::ComparedTime;
use crate::eligibility::Facility;
use crate::{Actor, Insurer, Store, StoreError, on_pool};

/// Whose tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOwner<'a> {
    /// An insurer's.
    Insurer(&'a InsurerNumber),
    /// A facility's.
    Facility(&'a FacilityCode),
    /// An employer's.
    Employer(&'a EmployerRef),
    /// A checkup institution's.
    Institution(&'a InstitutionNumber),
}

impl TokenOwner<'_> {
    fn kind(self) -> &'static str {
        match self {
            Self::Insurer(_) => "insurer",
            Self::Facility(_) => "facility",
            Self::Employer(_) => "employer",
            Self::Institution(_) => "institution",
        }
    }

    fn id_str(&self) -> String {
        match self {
            Self::Insurer(n) => n.as_str().to_owned(),
            Self::Facility(c) => c.as_str().to_owned(),
            Self::Employer(e) => e.to_string(),
            Self::Institution(n) => n.as_str().to_owned(),
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// Tokens of the owner that were valid and now end at `old_valid_until`.
    pub old_tokens: u64,
    /// When they stop working (the rotation's time plus the grace period).
    pub old_valid_until: OffsetDateTime,
}

/// The `meta` key of the token generation: changed by every rotation and revocation.
const GENERATION: &str = "token_generation";

/// In a transaction: returns `NotFound` from the calling method unless `$owner` is registered.
macro_rules! require_owner {
    ($tx:expr, $owner:expr) => {{
        let sql = match $owner {
            TokenOwner::Insurer(_) => "SELECT COUNT(*) FROM insurers WHERE number = $1",
            // A facility of the master gets credentials only once the operator approved it.
            TokenOwner::Facility(_) => {
                "SELECT COUNT(*) FROM facilities WHERE code = $1 AND approved_at IS NOT NULL"
            }
            TokenOwner::Employer(_) => {
                "SELECT COUNT(*) FROM employers WHERE insurer_number || '/' || code = $1"
            }
            TokenOwner::Institution(_) => "SELECT COUNT(*) FROM institutions WHERE number = $1",
        };
        let (n,): (i64,) = sqlx::query_as(sql)
            .bind($owner.id_str())
            .fetch_one(&mut *$tx)
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound($owner.kind()));
        }
    }};
}

/// Ends a token change in its transaction: a new token generation (so servers forget the
/// tokens they remember), the audit entry, the commit.
macro_rules! finish_change {
    ($tx:expr, $at:expr, $actor:expr, $action:expr, $detail:expr) => {{
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(GENERATION)
        .bind(generation_stamp()?)
        .execute(&mut *$tx)
        .await?;
        audit!(&mut *$tx, $at, $actor, $action, &[], None, Some($detail));
        $tx.commit().await?;
    }};
}

const VALID: &str =
    "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) AND t.token_hash = $1";

row_by_name! {
    /// A facility found by a token.
    struct FacilityTokenRow {
        code: String,
        name: String,
        expires_at: Option<OffsetDateTime>,
    }
}

row_by_name! {
    /// An insurer found by a token.
    struct InsurerTokenRow {
        number: String,
        name: String,
        created_at: OffsetDateTime,
    }
}

impl Store {
    /// The facility whose token hashes to `token_hash`, if the token is valid at `now`, with
    /// when the token expires (a rotated-out token in its grace period).
    pub async fn facility_by_token_hash(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Facility, Option<OffsetDateTime>)>, StoreError> {
        let sql = format!(
            "SELECT f.code, f.name, t.expires_at FROM api_tokens t JOIN facilities f \
             ON t.owner_kind = 'facility' AND f.code = t.owner_id WHERE {VALID}"
        );
        let row: Option<FacilityTokenRow> =
            on_pool!(self, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(ComparedTime(now))
                .fetch_optional(p)
                .await?);
        row.map(|r| {
            Ok((
                Facility {
                    code: FacilityCode::parse(&r.code).map_err(StoreError::Corrupt)?,
                    name: r.name,
                },
                r.expires_at,
            ))
        })
        .transpose()
    }

    /// The insurer whose token hashes to `token_hash`, if the token is valid at `now`.
    pub async fn insurer_by_token_hash(
        &self,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Insurer>, StoreError> {
        let sql = format!(
            "SELECT i.number, i.name, i.created_at FROM api_tokens t JOIN insurers i \
             ON t.owner_kind = 'insurer' AND i.number = t.owner_id WHERE {VALID}"
        );
        let row: Option<InsurerTokenRow> =
            on_pool!(self, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(ComparedTime(now))
                .fetch_optional(p)
                .await?);
        row.map(|r| {
            Ok(Insurer {
                number: InsurerNumber::parse(&r.number).map_err(StoreError::Corrupt)?,
                name: r.name,
                created_at: r.created_at,
            })
        })
        .transpose()
    }

    /// Adds a token for `owner` (registered already) and, in the same commit, makes the owner's
    /// valid tokens end `grace` after `at` (at once with a grace of zero). Audited as
    /// `token_rotate` by `actor`. `NotFound` when the owner is not registered.
    pub async fn rotate_token(
        &self,
        owner: TokenOwner<'_>,
        token_hash: &str,
        grace: Duration,
        at: OffsetDateTime,
        actor: &Actor,
    ) -> Result<Rotation, StoreError> {
        let until = at + grace.max(Duration::ZERO);
        let old_tokens = on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            require_owner!(tx, owner);
            let ended = sqlx::query(
                "UPDATE api_tokens SET expires_at = $3 WHERE owner_kind = $1 AND owner_id = $2 \
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
            )
            .bind(owner.kind())
            .bind(owner.id_str())
            .bind(ComparedTime(until))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "INSERT INTO api_tokens (token_hash, owner_kind, owner_id, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(token_hash)
            .bind(owner.kind())
            .bind(owner.id_str())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let detail = format!(
                "{} {}: new token; {ended} previous valid until {}",
                owner.kind(),
                owner.id_str(),
                onshi_domain::japan::rfc3339_japan(until)
            );
            finish_change!(tx, at, actor, AuditAction::TokenRotate, detail);
            ended
        });
        Ok(Rotation {
            old_tokens,
            old_valid_until: until,
        })
    }

    /// Revokes every token of `owner` at `at` (those in a grace period too); audited as
    /// `token_revoke` by `actor`. Returns how many were still valid. `NotFound` when the owner
    /// is not registered.
    pub async fn revoke_tokens(
        &self,
        owner: TokenOwner<'_>,
        at: OffsetDateTime,
        actor: &Actor,
    ) -> Result<u64, StoreError> {
        Ok(on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            require_owner!(tx, owner);
            let revoked = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $3 WHERE owner_kind = $1 AND owner_id = $2 \
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
            )
            .bind(owner.kind())
            .bind(owner.id_str())
            .bind(ComparedTime(at))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let detail = format!(
                "{} {}: {revoked} token(s) revoked",
                owner.kind(),
                owner.id_str()
            );
            finish_change!(tx, at, actor, AuditAction::TokenRevoke, detail);
            revoked
        }))
    }

    /// The id of the owner of kind `kind` whose token hashes to `token_hash`, if the token is
    /// valid at `now` (employers and institutions: their rows are read by id afterwards).
    pub(crate) async fn owner_by_token_hash(
        &self,
        kind: &'static str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, StoreError> {
        let sql =
            format!("SELECT t.owner_id FROM api_tokens t WHERE {VALID} AND t.owner_kind = $3");
        let row: Option<(String,)> =
            on_pool!(self, read, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(token_hash)
                .bind(ComparedTime(now))
                .bind(kind)
                .fetch_optional(p)
                .await?);
        Ok(row.map(|(id,)| id))
    }

    /// The token generation: changes with every rotation and revocation (empty before the
    /// first). Servers poll it and forget the tokens they remember when it changes.
    pub async fn token_generation(&self) -> Result<String, StoreError> {
        let row: Option<(String,)> = on_pool!(self, read, |p| sqlx::query_as(
            "SELECT value FROM meta WHERE key = $1"
        )
        .bind(GENERATION)
        .fetch_optional(p)
        .await?);
        Ok(row.map(|(v,)| v).unwrap_or_default())
    }
}

/// A fresh generation value (random, so two servers' changes never collide).
fn generation_stamp() -> Result<String, StoreError> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut b = [0u8; 16];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| StoreError::Corrupt("no system randomness".into()))?;
    Ok(hex::encode(b))
}

/// Stores a facility's first token: $1 its hash, $2 the facility code, $3 when.
pub(crate) const INSERT_FACILITY_TOKEN: &str = "INSERT INTO api_tokens (token_hash, owner_kind, owner_id, created_at) VALUES ($1, 'facility', $2, $3)";

//! Staff accounts of the pages (migration 17) and their sessions (kind `staff` in
//! `web_sessions`): added, reset and disabled by an administrator; signed in with a password
//! and a TOTP code checked by the server (this module only keeps what the check needs: the
//! hashes, the sealed secret, the last step used, the failures). Every sign-in, failure,
//! lock-out and change is audited.

use time::{Duration, OffsetDateTime};

use onshi_domain::AuditAction;

use crate::compared_time::ComparedTime;
use crate::sessions::SessionTimes;
use crate::{Actor, Store, StoreError};

/// Failures in a row that lock an account.
pub const LOCK_AFTER: i32 = 5;
/// How long a lock lasts.
pub const LOCK_FOR: Duration = Duration::minutes(15);

/// A staff account as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// Its id.
    pub id: String,
    /// The name it signs in with.
    pub login: String,
    /// `insurer`, `employer`, `facility` or `operator`.
    pub org_kind: String,
    /// The organisation's number or code (`01130012`, `01130012/1001`, …; empty for the
    /// operator).
    pub org_id: String,
    /// argon2id, PHC string.
    pub password_hash: String,
    /// The TOTP secret, sealed.
    pub totp_sealed: String,
    /// The last TOTP step a sign-in used.
    pub totp_last_step: Option<i64>,
    /// Failures since the last sign-in.
    pub failures: i32,
    /// Locked until then, if locked.
    pub locked_until: Option<OffsetDateTime>,
    /// Whether it was disabled.
    pub disabled: bool,
}

impl std::fmt::Debug for StaffAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaffAccount")
            .field("login", &self.login)
            .field("org_kind", &self.org_kind)
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl StaffAccount {
    /// The account as the audit log names it.
    pub fn actor(&self) -> Actor {
        Actor::Staff {
            login: self.login.clone(),
            organisation: format!("{}:{}", self.org_kind, self.org_id),
        }
    }
}

row_by_name! {
    struct AccountRow {
        id: String,
        login: String,
        org_kind: String,
        org_id: String,
        password_hash: String,
        totp_sealed: String,
        totp_last_step: Option<i64>,
        failures: i32,
        locked_until: Option<OffsetDateTime>,
        disabled_at: Option<OffsetDateTime>,
    }
}

impl From<AccountRow> for StaffAccount {
    fn from(r: AccountRow) -> Self {
        Self {
            id: r.id,
            login: r.login,
            org_kind: r.org_kind,
            org_id: r.org_id,
            password_hash: r.password_hash,
            totp_sealed: r.totp_sealed,
            totp_last_step: r.totp_last_step,
            failures: r.failures,
            locked_until: r.locked_until,
            disabled: r.disabled_at.is_some(),
        }
    }
}

const SELECT: &str = "SELECT id, login, org_kind, org_id, password_hash, totp_sealed, totp_last_step, failures, \
     locked_until, disabled_at FROM staff_accounts";

impl Store {
    /// Adds the account `login` of organisation `org_kind`/`org_id`; `Conflict` when the login
    /// is taken. Audited as `account_change` by `actor`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_account(
        &self,
        actor: &Actor,
        login: &str,
        org_kind: &str,
        org_id: &str,
        password_hash: &str,
        totp_sealed: &str,
        at: OffsetDateTime,
    ) -> Result<String, StoreError> {
        if self.account(login).await?.is_some() {
            return Err(StoreError::Conflict(format!(
                "an account '{login}' exists already"
            )));
        }
        let id = crate::members::new_member_id();
        crate::on_pool!(self, write, |p| {
            sqlx::query(
                "INSERT INTO staff_accounts (id, login, org_kind, org_id, password_hash, totp_sealed, failures, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
            )
            .bind(&id)
            .bind(login)
            .bind(org_kind)
            .bind(org_id)
            .bind(password_hash)
            .bind(totp_sealed)
            .bind(ComparedTime(at))
            .execute(p)
            .await?;
        });
        self.record_check(
            at,
            actor,
            AuditAction::AccountChange,
            None,
            &format!("added account {login} of {org_kind}:{org_id}"),
        )
        .await?;
        Ok(id)
    }

    /// Gives `login` a new password and TOTP secret, unlocks it and ends its sessions.
    pub async fn reset_account(
        &self,
        actor: &Actor,
        login: &str,
        password_hash: &str,
        totp_sealed: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let account = self
            .account(login)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        crate::on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE staff_accounts SET password_hash = $2, totp_sealed = $3, totp_last_step = NULL, \
                 failures = 0, locked_until = NULL, disabled_at = NULL WHERE id = $1",
            )
            .bind(&account.id)
            .bind(password_hash)
            .bind(totp_sealed)
            .execute(p)
            .await?;
        });
        self.end_sessions_of(&account.id, at).await?;
        self.record_check(
            at,
            actor,
            AuditAction::AccountChange,
            None,
            &format!("reset account {login}"),
        )
        .await
    }

    /// Disables `login` and ends its sessions at once.
    pub async fn disable_account(
        &self,
        actor: &Actor,
        login: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let account = self
            .account(login)
            .await?
            .ok_or(StoreError::NotFound("account"))?;
        crate::on_pool!(self, write, |p| {
            sqlx::query("UPDATE staff_accounts SET disabled_at = $2 WHERE id = $1")
                .bind(&account.id)
                .bind(ComparedTime(at))
                .execute(p)
                .await?;
        });
        self.end_sessions_of(&account.id, at).await?;
        self.record_check(
            at,
            actor,
            AuditAction::AccountChange,
            None,
            &format!("disabled account {login}"),
        )
        .await
    }

    async fn end_sessions_of(
        &self,
        account_id: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        crate::on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE web_sessions SET ended_at = $2 WHERE kind = 'staff' AND subject = $1 AND ended_at IS NULL",
            )
            .bind(account_id)
            .bind(ComparedTime(at))
            .execute(p)
            .await?;
        });
        Ok(())
    }

    /// The account `login`, if any.
    pub async fn account(&self, login: &str) -> Result<Option<StaffAccount>, StoreError> {
        let row: Option<AccountRow> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE login = $1")))
                .bind(login)
                .fetch_optional(p)
                .await?
        });
        Ok(row.map(StaffAccount::from))
    }

    /// Counts a failed sign-in of `account` (audited); the failure that reaches
    /// [`LOCK_AFTER`] locks it for [`LOCK_FOR`] (audited as a lock-out). Whether it is locked now.
    pub async fn sign_in_failed(
        &self,
        account: &StaffAccount,
        reason: &str,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let failures = account.failures + 1;
        let lock = (failures >= LOCK_AFTER).then_some(at + LOCK_FOR);
        crate::on_pool!(self, write, |p| {
            sqlx::query(
                "UPDATE staff_accounts SET failures = $2, locked_until = COALESCE($3, locked_until) WHERE id = $1",
            )
            .bind(&account.id)
            .bind(if lock.is_some() { 0 } else { failures })
            .bind(lock.map(ComparedTime))
            .execute(p)
            .await?;
        });
        let actor = account.actor();
        self.record_check(at, &actor, AuditAction::StaffLoginFailed, None, reason)
            .await?;
        if lock.is_some() {
            self.record_check(
                at,
                &actor,
                AuditAction::StaffLockedOut,
                None,
                &format!("{LOCK_AFTER} failures in a row"),
            )
            .await?;
        }
        Ok(lock.is_some())
    }

    /// Signs `account` in with TOTP step `step`: the step is recorded only if it is later than
    /// the last one used (so a code is good once, also between two servers), the failures are
    /// cleared, the session `session_hash` opened, and the sign-in audited. `false` when the
    /// step was used meanwhile (a replay): nothing is opened.
    pub async fn sign_in(
        &self,
        account: &StaffAccount,
        step: i64,
        session_hash: &str,
        csrf: &str,
        times: SessionTimes,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let used = crate::on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            let done = sqlx::query(
                "UPDATE staff_accounts SET totp_last_step = $2, failures = 0 WHERE id = $1 \
                 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            )
            .bind(&account.id)
            .bind(step)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                sqlx::query(
                    "INSERT INTO web_sessions (token_hash, kind, subject, csrf, created_at, last_seen_at, expires_at) \
                     VALUES ($1, 'staff', $2, $3, $4, $4, $5)",
                )
                .bind(session_hash)
                .bind(&account.id)
                .bind(csrf)
                .bind(ComparedTime(at))
                .bind(ComparedTime(at + times.absolute))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            done
        });
        if used {
            self.record_check(at, &account.actor(), AuditAction::StaffLogin, None, "")
                .await?;
        }
        Ok(used)
    }

    /// The account of staff session `session_hash` if the session is in force at `at` and the
    /// account is not disabled, with the session's CSRF token.
    pub async fn staff_session(
        &self,
        session_hash: &str,
        times: SessionTimes,
        at: OffsetDateTime,
    ) -> Result<Option<(StaffAccount, String)>, StoreError> {
        let found: Option<(String, String)> = crate::on_pool!(self, write, |p| {
            sqlx::query_as(
                "UPDATE web_sessions SET last_seen_at = $2 WHERE token_hash = $1 AND kind = 'staff' \
                 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at > $3 RETURNING subject, csrf",
            )
            .bind(session_hash)
            .bind(ComparedTime(at))
            .bind(ComparedTime(at - times.idle))
            .fetch_optional(p)
            .await?
        });
        let Some((id, csrf)) = found else {
            return Ok(None);
        };
        let row: Option<AccountRow> = crate::on_pool!(self, read, |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
                .bind(&id)
                .fetch_optional(p)
                .await?
        });
        Ok(row
            .map(StaffAccount::from)
            .filter(|a| !a.disabled)
            .map(|a| (a, csrf)))
    }
}

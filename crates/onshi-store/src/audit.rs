//! The hash-chained audit log: append, verify, and read.
//!
//! An append moves `audit_head` first (`UPDATE … RETURNING`, which takes the row lock on
//! PostgreSQL and is trivially serial on SQLite's single writer), so appends are numbered and
//! chained in commit order and never fork.
//!
//! Two ways in:
//! - Writes (create, change, import) append with [`audit!`] inside their own transaction, so the
//!   change and its entry commit together.
//! - Reads and checks hand their entries to the **audit writer**, one task per store that takes
//!   whatever has queued while its previous transaction committed and writes it all in one
//!   transaction (group commit). The caller waits until its entry is committed before it
//!   returns any data, so no read is answered unrecorded, but a thousand concurrent checks cost
//!   a few commits instead of a thousand, each behind the `audit_head` lock.

use std::sync::Arc;

use sqlx::AssertSqlSafe;
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use onshi_domain::audit::{AuditContent, GENESIS, audit_time, chain_hash};
use onshi_domain::checkpoint::{Checkpoint, RootBuilder, inclusion_proof, leaf};
use onshi_domain::facility::CheckChannel;
use onshi_domain::{AuditAction, ConsentKind};

use crate::{Actor, Backend, Store, StoreError, on_pool};

/// The entries of one call: one per member (or one about no member), all with the same actor,
/// action, person and detail.
pub(crate) struct Entries {
    pub(crate) at: OffsetDateTime,
    pub(crate) actor_kind: &'static str,
    pub(crate) actor_id: String,
    pub(crate) action: AuditAction,
    /// One entry per element (`None`: an entry about no member).
    pub(crate) members: Vec<Option<String>>,
    pub(crate) person: Option<String>,
    pub(crate) detail: Option<String>,
}

impl Entries {
    pub(crate) fn new(
        at: OffsetDateTime,
        actor: &Actor,
        action: AuditAction,
        ids: &[&str],
        person: Option<&str>,
        detail: Option<String>,
    ) -> Self {
        Self {
            at,
            actor_kind: actor.kind(),
            actor_id: actor.id(),
            action,
            members: if ids.is_empty() {
                vec![None]
            } else {
                ids.iter().map(|i| Some((*i).to_owned())).collect()
            },
            person: person.map(str::to_owned),
            detail,
        }
    }
}

/// What a card check writes besides its entries, in the same commit: the challenge it answers
/// (consumed, so that of two uses exactly one is answered) and the consents given at the reader.
#[derive(Debug)]
struct CardUse {
    challenge: onshi_domain::Challenge,
    person: String,
    facility: String,
    consents: Vec<ConsentKind>,
    consents_until: OffsetDateTime,
}

/// Entries for the audit writer (with a card check's writes), and where to say they are
/// committed: `Ok(false)` when the check's challenge had been used already, so nothing of it but
/// its entries was written, and those say it was refused.
pub(crate) struct AuditJob {
    entries: Entries,
    card: Option<CardUse>,
    /// A check to count for the adoption dashboard: the facility and the channel, counted only
    /// when the check was answered.
    counted: Option<(String, CheckChannel)>,
    done: oneshot::Sender<Result<bool, GroupFailed>>,
}

/// Why a group commit failed, as each of its callers is told.
#[derive(Debug, Clone)]
enum GroupFailed {
    /// [`StoreError::Busy`]: a lock did not come in time; the callers may try again.
    Busy(&'static str),
    /// Anything else, as text.
    Failed(String),
}

impl From<GroupFailed> for StoreError {
    fn from(f: GroupFailed) -> Self {
        match f {
            GroupFailed::Busy(why) => Self::Busy(why),
            GroupFailed::Failed(e) => Self::Audit(e),
        }
    }
}

/// What the entries of a check whose challenge was used meanwhile add to their detail.
const REFUSED: &str = "refused=challenge-used";

/// The most entries one group commit writes (later ones wait for the next).
const MAX_GROUP: usize = 2_000;
/// Rows per INSERT statement inside a group (10 parameters each).
const ROWS_PER_INSERT: usize = 250;
/// Jobs that may wait for the writer before callers are slowed down (back-pressure).
const QUEUE: usize = 16_384;

/// What the writer task holds: the pools, not the store (which holds the writer's sender, so the
/// task ends when the last store clone is dropped).
struct Pools {
    backend: Arc<Backend>,
    /// PostgreSQL: the writer's own connection.
    audit: Option<sqlx::PgPool>,
}

/// Starts the audit writer of a store.
pub(crate) fn spawn_writer(
    backend: Arc<Backend>,
    audit: Option<sqlx::PgPool>,
) -> mpsc::Sender<AuditJob> {
    let (tx, mut rx) = mpsc::channel::<AuditJob>(QUEUE);
    let pools = Pools { backend, audit };
    tokio::spawn(async move {
        let mut group = Vec::new();
        while let Some(job) = rx.recv().await {
            let mut entries = job.entries.members.len();
            group.push(job);
            while entries < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => {
                        entries += job.entries.members.len();
                        group.push(job);
                    }
                    Err(_) => break,
                }
            }
            match write_group(&pools, &mut group).await {
                Ok(answered) => {
                    for (job, answered) in group.drain(..).zip(answered) {
                        let _ = job.done.send(Ok(answered));
                    }
                }
                Err(e) => {
                    let failed = if let StoreError::Busy(why) = e {
                        tracing::warn!(error = %e, entries, "audit group commit waited in vain");
                        GroupFailed::Busy(why)
                    } else {
                        tracing::error!(error = %e, entries, "audit group commit failed");
                        GroupFailed::Failed(e.to_string())
                    };
                    for job in group.drain(..) {
                        let _ = job.done.send(Err(failed.clone()));
                    }
                }
            }
        }
    });
    tx
}

/// One entry, chained.
pub(crate) struct Chained<'a> {
    pub(crate) seq: i64,
    pub(crate) at: OffsetDateTime,
    pub(crate) job: &'a Entries,
    pub(crate) member: Option<&'a str>,
    pub(crate) prev_hash: String,
    pub(crate) hash: String,
}

/// Numbers and chains entries after the head `(end, head_hash)` that moving the head by their
/// count `n` returned: the one place the chain is computed, for writes and for the writer.
pub(crate) fn chain<'a>(
    group: impl IntoIterator<Item = &'a Entries>,
    end: i64,
    n: i64,
    head_hash: String,
) -> Vec<Chained<'a>> {
    let mut prev = head_hash;
    let mut seq = end - n;
    let mut rows = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for job in group {
        let at = audit_time(job.at);
        for member in &job.members {
            seq += 1;
            let content = AuditContent {
                seq,
                at,
                actor_kind: job.actor_kind,
                actor_id: &job.actor_id,
                action: job.action.as_str(),
                member_id: member.as_deref(),
                person_ref: job.person.as_deref(),
                detail: job.detail.as_deref(),
            };
            let hash = chain_hash(&prev, &content);
            rows.push(Chained {
                seq,
                at,
                job,
                member: member.as_deref(),
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            });
        }
    }
    rows
}

pub(crate) const MOVE_HEAD: &str =
    "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash";

/// `INSERT INTO audit_log … VALUES` for `rows` rows of 10 parameters: `$N` when `numbered`
/// (PostgreSQL needs it), else `?` (SQLite binds those by position, without a name search).
pub(crate) fn insert_sql(rows: usize, numbered: bool) -> String {
    let mut sql = String::from(
        "INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, member_id, person_ref, detail, prev_hash, hash) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for k in 1..=10 {
            if k > 1 {
                sql.push_str(", ");
            }
            if numbered {
                sql.push_str(&format!("${}", i * 10 + k));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

/// Binds chained rows to a query made by [`insert_sql`].
macro_rules! bind_rows {
    ($q:expr, $rows:expr) => {{
        let mut q = $q;
        for r in $rows {
            q = q
                .bind(r.seq)
                .bind(r.at)
                .bind(r.job.actor_kind)
                .bind(r.job.actor_id.as_str())
                .bind(r.job.action.as_str())
                .bind(r.member)
                .bind(r.job.person.as_deref())
                .bind(r.job.detail.as_deref())
                .bind(r.prev_hash.as_str())
                .bind(r.hash.as_str());
        }
        q
    }};
}
pub(crate) use bind_rows;

/// The card checks of a group that may consume their challenge: the first job per challenge
/// (a later one in the same group is refused at once: `answered` is set false for it).
fn first_uses<'a>(group: &'a [AuditJob], answered: &mut [bool]) -> Vec<(usize, &'a CardUse)> {
    let mut seen = std::collections::HashSet::new();
    let mut uses: Vec<(usize, &CardUse)> = Vec::new();
    for (i, job) in group.iter().enumerate() {
        if let Some(card) = &job.card {
            if seen.insert(card.challenge.id.as_str()) {
                uses.push((i, card));
            } else {
                answered[i] = false;
            }
        }
    }
    uses
}

/// The answered checks of a group to count, by (facility, month in Japan as `YYYY-MM`,
/// channel): how many, and the earliest.
type CheckCounts<'a> =
    std::collections::BTreeMap<(&'a str, String, &'static str), (i64, OffsetDateTime)>;

fn check_counts<'a>(group: &'a [AuditJob], answered: &[bool]) -> CheckCounts<'a> {
    let mut counts = CheckCounts::new();
    for (job, _) in group.iter().zip(answered).filter(|(_, a)| **a) {
        if let Some((facility, channel)) = &job.counted {
            let day = onshi_domain::japan::japan_date(job.entries.at);
            let month = format!("{:04}-{:02}", day.year(), u8::from(day.month()));
            let c = counts
                .entry((facility.as_str(), month, channel.code()))
                .or_insert((0, job.entries.at));
            c.0 += 1;
            c.1 = c.1.min(job.entries.at);
        }
    }
    counts
}

/// Marks the entries of refused checks (see [`REFUSED`]).
fn mark_refused(group: &mut [AuditJob], answered: &[bool]) {
    for (job, _) in group.iter_mut().zip(answered).filter(|(_, a)| !**a) {
        job.entries.detail = Some(match job.entries.detail.take() {
            Some(d) => format!("{d} {REFUSED}"),
            None => REFUSED.to_owned(),
        });
    }
}

/// Writes a group of jobs in one transaction, chained in queue order: first the card checks'
/// challenges and consents, then every entry. Returns, per job, whether its check was answered
/// (false: its challenge had been used).
///
/// PostgreSQL gets the whole group as arrays in one fixed statement (`UNNEST`), which also
/// moves the head's hash, so it is parsed and planned once per connection however large the
/// group: a statement whose text changed with the group's size was re-parsed every time and
/// cost more than the checks themselves. SQLite, in-process, takes multi-row INSERTs.
async fn write_group(pools: &Pools, group: &mut [AuditJob]) -> Result<Vec<bool>, StoreError> {
    let n = group.iter().map(|j| j.entries.members.len()).sum::<usize>() as i64;
    let mut answered = vec![true; group.len()];
    match &*pools.backend {
        Backend::Postgres(shared) => {
            let p = pools.audit.as_ref().unwrap_or(shared);
            let mut tx = p.begin().await?;
            let uses = first_uses(group, &mut answered);
            if !uses.is_empty() {
                // The group's form of `eligibility::consume`.
                let challenges: Vec<&onshi_domain::Challenge> =
                    uses.iter().map(|(_, u)| &u.challenge).collect();
                let used: Vec<String> = sqlx::query_scalar(
                    "INSERT INTO challenges (id, nonce, audience, purpose, created_at, expires_at, used_at, person_ref) \
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], \
                     $6::timestamptz[], $7::timestamptz[], $8::text[]) ON CONFLICT (id) DO NOTHING RETURNING id",
                )
                .bind(challenges.iter().map(|c| c.id.as_str()).collect::<Vec<_>>())
                .bind(challenges.iter().map(|c| c.nonce_hex()).collect::<Vec<_>>())
                .bind(challenges.iter().map(|c| c.audience.as_str()).collect::<Vec<_>>())
                .bind(challenges.iter().map(|c| c.purpose.as_str()).collect::<Vec<_>>())
                .bind(challenges.iter().map(|c| c.issued_at).collect::<Vec<_>>())
                .bind(challenges.iter().map(|c| c.expires_at).collect::<Vec<_>>())
                .bind(
                    uses.iter()
                        .map(|(i, _)| group[*i].entries.at)
                        .collect::<Vec<_>>(),
                )
                .bind(
                    uses.iter()
                        .map(|(_, u)| u.person.as_str())
                        .collect::<Vec<_>>(),
                )
                .fetch_all(&mut *tx)
                .await?;
                let used: std::collections::HashSet<String> = used.into_iter().collect();
                // The consents of the checks that were answered: (use, its time, kind).
                let mut given = Vec::new();
                for (i, u) in &uses {
                    if used.contains(&u.challenge.id) {
                        let at = group[*i].entries.at;
                        given.extend(u.consents.iter().map(|kind| (*u, at, kind.as_str())));
                    } else {
                        answered[*i] = false;
                    }
                }
                if !given.is_empty() {
                    sqlx::query(
                        "INSERT INTO consents (person_ref, facility_code, kind, given_at, expires_at) \
                         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[]) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(given.iter().map(|g| g.0.person.as_str()).collect::<Vec<_>>())
                    .bind(given.iter().map(|g| g.0.facility.as_str()).collect::<Vec<_>>())
                    .bind(given.iter().map(|g| g.2).collect::<Vec<_>>())
                    .bind(given.iter().map(|g| g.1).collect::<Vec<_>>())
                    .bind(given.iter().map(|g| g.0.consents_until).collect::<Vec<_>>())
                    .execute(&mut *tx)
                    .await?;
                }
            }
            mark_refused(group, &answered);
            let (end, head): (i64, String) = sqlx::query_as(MOVE_HEAD)
                .bind(n)
                .fetch_one(&mut *tx)
                .await?;
            let rows = chain(group.iter().map(|j| &j.entries), end, n, head);
            let last = rows.last().map(|r| r.hash.clone()).unwrap_or_default();
            // The answered checks' counts ride in the same statement (a data-modifying CTE), so
            // counting them costs no round trip of its own.
            let counts = check_counts(group, &answered);
            sqlx::query(
                "WITH ins AS (INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, member_id, person_ref, \
                 detail, prev_hash, hash) SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::text[], \
                 $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])), \
                 counted AS (INSERT INTO facility_checks (facility_code, month, channel, checks, first_at) \
                 SELECT * FROM UNNEST($12::text[], $13::text[], $14::text[], $15::bigint[], $16::timestamptz[]) \
                 ON CONFLICT (facility_code, month, channel) DO UPDATE SET \
                 checks = facility_checks.checks + excluded.checks, \
                 first_at = LEAST(facility_checks.first_at, excluded.first_at)) \
                 UPDATE audit_head SET hash = $11 WHERE id = 1",
            )
            .bind(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.at).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.job.actor_kind).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.job.actor_id.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.job.action.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.member).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.job.person.as_deref()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.job.detail.as_deref()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.prev_hash.as_str()).collect::<Vec<_>>())
            .bind(rows.iter().map(|r| r.hash.as_str()).collect::<Vec<_>>())
            .bind(last)
            .bind(counts.keys().map(|k| k.0).collect::<Vec<_>>())
            .bind(counts.keys().map(|k| k.1.as_str()).collect::<Vec<_>>())
            .bind(counts.keys().map(|k| k.2).collect::<Vec<_>>())
            .bind(counts.values().map(|v| v.0).collect::<Vec<_>>())
            .bind(counts.values().map(|v| v.1).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Backend::Sqlite { write, .. } => {
            let mut tx = write.begin().await?;
            for (i, u) in first_uses(group, &mut answered) {
                let at = group[i].entries.at;
                let n = crate::eligibility::consume(&u.challenge, at, &u.person)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    answered[i] = false;
                    continue;
                }
                for kind in &u.consents {
                    sqlx::query(
                        "INSERT INTO consents (person_ref, facility_code, kind, given_at, expires_at) \
                         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    )
                    .bind(u.person.as_str())
                    .bind(u.facility.as_str())
                    .bind(kind.as_str())
                    .bind(crate::compared_time::ComparedTime(at))
                    .bind(crate::compared_time::ComparedTime(u.consents_until))
                    .execute(&mut *tx)
                    .await?;
                }
            }
            mark_refused(group, &answered);
            let (end, head): (i64, String) = sqlx::query_as(MOVE_HEAD)
                .bind(n)
                .fetch_one(&mut *tx)
                .await?;
            let rows = chain(group.iter().map(|j| &j.entries), end, n, head);
            for chunk in rows.chunks(ROWS_PER_INSERT) {
                let q = sqlx::query(AssertSqlSafe(insert_sql(chunk.len(), false)));
                bind_rows!(q, chunk).execute(&mut *tx).await?;
            }
            let last = rows.last().map(|r| r.hash.clone()).unwrap_or_default();
            sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
                .bind(last)
                .execute(&mut *tx)
                .await?;
            for ((facility, month, channel), (checks, first)) in check_counts(group, &answered) {
                sqlx::query(
                    "INSERT INTO facility_checks (facility_code, month, channel, checks, first_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (facility_code, month, channel) DO UPDATE SET \
                     checks = facility_checks.checks + excluded.checks, \
                     first_at = MIN(facility_checks.first_at, excluded.first_at)",
                )
                .bind(facility)
                .bind(month)
                .bind(channel)
                .bind(checks)
                .bind(crate::compared_time::ComparedTime(first))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        }
    }
    Ok(answered)
}

/// Appends one entry per id in `$ids` (or one with no member when empty) to the audit log,
/// chained, using `$exec` (a transaction) for every statement.
macro_rules! audit {
    ($exec:expr, $at:expr, $actor:expr, $action:expr, $ids:expr, $person:expr, $detail:expr) => {{
        let entries = $crate::audit::Entries::new($at, $actor, $action, $ids, $person, $detail);
        let n = entries.members.len() as i64;
        let (end, head): (i64, String) = sqlx::query_as($crate::audit::MOVE_HEAD)
            .bind(n)
            .fetch_one(&mut *$exec)
            .await?;
        let rows = $crate::audit::chain([&entries], end, n, head);
        let last = rows.last().map(|r| r.hash.clone()).unwrap_or_default();
        let q = sqlx::query(sqlx::AssertSqlSafe($crate::audit::insert_sql(
            rows.len(),
            true,
        )));
        $crate::audit::bind_rows!(q, &rows)
            .execute(&mut *$exec)
            .await?;
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(last)
            .execute(&mut *$exec)
            .await?;
    }};
}
pub(crate) use audit;

/// The audit record of one eligibility check, collected while the check reads and written by
/// [`Store::finish_check`] as one entry per member read (action, person and detail of the
/// check), or one entry about no member when nothing was found: one wait for the audit writer
/// per check instead of one per read. Callers must finish it before any of what was read leaves
/// the process; the server does so before it answers. Dropped unfinished (an error path), its
/// reads are still queued for the log, without waiting.
#[derive(Debug)]
pub struct CheckAudit {
    store: Store,
    at: OffsetDateTime,
    actor: Actor,
    members: Vec<String>,
    card: Option<CardUse>,
    counted: Option<(String, CheckChannel)>,
    finished: bool,
}

impl CheckAudit {
    pub(crate) fn read(&mut self, member_id: &str) {
        if !self.members.iter().any(|m| m == member_id) {
            self.members.push(member_id.to_owned());
        }
    }

    /// Counts this check, once answered, among `facility`'s checks of its month by `channel`
    /// (`facility_checks`, which the adoption dashboard reads): the count is written in the
    /// same commit as the entries, so a refused check is not counted.
    pub fn count_for(&mut self, facility: &onshi_domain::FacilityCode, channel: CheckChannel) {
        self.counted = Some((facility.as_str().to_owned(), channel));
    }

    /// Makes this check the answer to card challenge `challenge`: its commit also consumes the
    /// challenge for `person` (see [`Store::consume_challenge`]) and records the `consents`
    /// given at `facility`'s reader, each until `until`, so a card check commits once. If the
    /// challenge has been used meanwhile, [`Store::finish_check`] fails with
    /// [`StoreError::ChallengeUsed`], no consent is written, and the entries say the check was
    /// refused.
    pub fn answer_challenge(
        &mut self,
        challenge: &onshi_domain::Challenge,
        person: &onshi_domain::PersonRef,
        facility: &onshi_domain::FacilityCode,
        consents: &[ConsentKind],
        until: OffsetDateTime,
    ) {
        self.card = Some(CardUse {
            challenge: challenge.clone(),
            person: person.as_str().to_owned(),
            facility: facility.as_str().to_owned(),
            consents: consents.to_vec(),
            consents_until: until,
        });
    }
}

impl Drop for CheckAudit {
    fn drop(&mut self) {
        if self.finished || self.members.is_empty() {
            return;
        }
        let (done, _) = oneshot::channel();
        let members = std::mem::take(&mut self.members);
        let ids: Vec<&str> = members.iter().map(String::as_str).collect();
        let entries = Entries::new(
            self.at,
            &self.actor,
            AuditAction::Read,
            &ids,
            None,
            Some("check not completed".into()),
        );
        let _ = self.store.audit.try_send(AuditJob {
            entries,
            card: None,
            counted: None,
            done,
        });
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log.
    pub seq: i64,
    /// When.
    pub at: OffsetDateTime,
    /// `insurer`, `facility`, `operator` or `person`.
    pub actor_kind: String,
    /// The insurer number, facility code or operator name (for `person`, a person reference).
    pub actor_id: String,
    /// What was done: `read`, `list`, `history`, `create`, `change`, `import`, `check_card`, …
    pub action: String,
    /// The member concerned, if one.
    pub member_id: Option<String>,
}

/// What a verified log states: what a new checkpoint signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSummary {
    /// How many entries.
    pub entries: i64,
    /// The chain hash of the last (the genesis hash when empty).
    pub head: String,
    /// The Merkle root over every entry (hex).
    pub root: String,
}

/// Where the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit entry {seq}: {reason}")]
pub struct AuditBreak {
    /// The first entry that does not verify.
    pub seq: i64,
    /// What is wrong with it.
    pub reason: String,
}

row_by_name! {
    /// A row of `audit_log`, as read.
    struct AuditRow {
        seq: i64,
        at: OffsetDateTime,
        actor_kind: String,
        actor_id: String,
        action: String,
        member_id: Option<String>,
        person_ref: Option<String>,
        detail: Option<String>,
        prev_hash: String,
        hash: String,
    }
}

/// Every column of `audit_log`, as [`AuditRow`] reads them.
const AUDIT_COLUMNS: &str =
    "seq, at, actor_kind, actor_id, action, member_id, person_ref, detail, prev_hash, hash";

impl Store {
    /// Appends audit entries through the audit writer and returns once they are committed.
    pub(crate) async fn append_audit(
        &self,
        at: OffsetDateTime,
        actor: &Actor,
        action: AuditAction,
        ids: &[&str],
        person: Option<&str>,
    ) -> Result<(), StoreError> {
        self.submit_audit(
            Entries::new(at, actor, action, ids, person, None),
            None,
            None,
        )
        .await
        .map(drop)
    }

    /// Hands entries (and a card check's writes) to the audit writer and waits for the commit:
    /// `Ok(false)` when the card check's challenge had been used.
    async fn submit_audit(
        &self,
        entries: Entries,
        card: Option<CardUse>,
        counted: Option<(String, CheckChannel)>,
    ) -> Result<bool, StoreError> {
        let (done, committed) = oneshot::channel();
        let job = AuditJob {
            entries,
            card,
            counted,
            done,
        };
        let stopped = || StoreError::Audit("the audit writer has stopped".into());
        self.audit.send(job).await.map_err(|_| stopped())?;
        committed
            .await
            .map_err(|_| stopped())?
            .map_err(StoreError::from)
    }

    /// Starts the audit record of an eligibility check by `actor` at `at`.
    pub fn begin_check(&self, actor: &Actor, at: OffsetDateTime) -> CheckAudit {
        CheckAudit {
            store: self.clone(),
            at,
            actor: actor.clone(),
            members: Vec::new(),
            card: None,
            counted: None,
            finished: false,
        }
    }

    /// Writes a check's entries (see [`CheckAudit`]), and a card check's challenge and consents,
    /// and returns once they are committed. [`StoreError::ChallengeUsed`] when the challenge the
    /// check answers had been used: the caller must not answer it.
    pub async fn finish_check(
        &self,
        mut check: CheckAudit,
        action: AuditAction,
        person: Option<&onshi_domain::PersonRef>,
        detail: &str,
    ) -> Result<(), StoreError> {
        check.finished = true;
        let members = std::mem::take(&mut check.members);
        let ids: Vec<&str> = members.iter().map(String::as_str).collect();
        let detail = (!detail.is_empty()).then(|| detail.to_owned());
        let entries = Entries::new(
            check.at,
            &check.actor,
            action,
            &ids,
            person.map(onshi_domain::PersonRef::as_str),
            detail,
        );
        if self
            .submit_audit(entries, check.card.take(), check.counted.take())
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::ChallengeUsed)
        }
    }

    /// Records a check, registration or other event about a person (no member read), with a
    /// detail that carries no personal data (e.g. `validity=1`).
    pub async fn record_check(
        &self,
        at: OffsetDateTime,
        actor: &Actor,
        action: AuditAction,
        person: Option<&onshi_domain::PersonRef>,
        detail: &str,
    ) -> Result<(), StoreError> {
        let person = person.map(onshi_domain::PersonRef::as_str);
        let detail = (!detail.is_empty()).then(|| detail.to_owned());
        self.submit_audit(
            Entries::new(at, actor, action, &[], person, detail),
            None,
            None,
        )
        .await
        .map(drop)
    }

    /// Walks the whole chain in order and recomputes every hash. `Ok(n)` is the number of
    /// entries; `Err` names the first entry that was edited, removed or reordered.
    pub async fn verify_audit(&self) -> Result<Result<i64, AuditBreak>, StoreError> {
        Ok(self.verify_audit_against(&[]).await?.map(|s| s.entries))
    }

    /// [`Store::verify_audit`], and the log held to signed checkpoints: at each checkpoint's
    /// size the chain's hash and the Merkle root must be the checkpoint's, and the log must hold
    /// at least as many entries as every checkpoint says (a log truncated or emptied after a
    /// checkpoint fails, however well its own chain verifies). `Ok` carries what a new
    /// checkpoint states.
    pub async fn verify_audit_against(
        &self,
        checkpoints: &[Checkpoint],
    ) -> Result<Result<AuditSummary, AuditBreak>, StoreError> {
        const PAGE: i64 = 10_000;
        let mut pending: Vec<&Checkpoint> = checkpoints.iter().collect();
        pending.sort_by_key(|c| c.size);
        let mut pending = pending.into_iter().peekable();
        let mut tree = RootBuilder::default();
        let mut prev = GENESIS.to_owned();
        let mut expected = 1_i64;
        let against = |c: &Checkpoint, head: &str, tree: &RootBuilder| -> Option<AuditBreak> {
            let at =
                c.at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
            if c.chain_head != head || c.root != hex::encode(tree.root()) {
                Some(AuditBreak {
                    seq: i64::try_from(c.size).unwrap_or(i64::MAX),
                    reason: format!(
                        "differs from the checkpoint signed at {at}: the log up to this entry was rewritten"
                    ),
                })
            } else {
                None
            }
        };
        // A checkpoint of the empty log.
        while let Some(c) = pending.next_if(|c| c.size == 0) {
            if let Some(b) = against(c, &prev, &tree) {
                return Ok(Err(b));
            }
        }
        loop {
            let sql = format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"
            );
            let rows: Vec<AuditRow> = on_pool!(self, read, |p| {
                sqlx::query_as(AssertSqlSafe(sql.clone()))
                    .bind(expected)
                    .bind(PAGE)
                    .fetch_all(p)
                    .await?
            });
            let done = (rows.len() as i64) < PAGE;
            for AuditRow {
                seq,
                at,
                actor_kind: kind,
                actor_id: id,
                action,
                member_id: member,
                person_ref: person,
                detail,
                prev_hash,
                hash,
            } in rows
            {
                if seq != expected {
                    return Ok(Err(AuditBreak {
                        seq: expected,
                        reason: format!(
                            "missing (the log jumps from {} to {seq}): deleted?",
                            expected - 1
                        ),
                    }));
                }
                if prev_hash != prev {
                    return Ok(Err(AuditBreak {
                        seq,
                        reason: "does not follow the entry before it".into(),
                    }));
                }
                let content = AuditContent {
                    seq,
                    at: audit_time(at),
                    actor_kind: &kind,
                    actor_id: &id,
                    action: &action,
                    member_id: member.as_deref(),
                    person_ref: person.as_deref(),
                    detail: detail.as_deref(),
                };
                if chain_hash(&prev, &content) != hash {
                    return Ok(Err(AuditBreak {
                        seq,
                        reason: "its content does not match its hash: edited?".into(),
                    }));
                }
                let Some(l) = leaf(&hash) else {
                    return Ok(Err(AuditBreak {
                        seq,
                        reason: "its hash is not 64 hex digits".into(),
                    }));
                };
                tree.push(l);
                prev = hash;
                while let Some(c) = pending.next_if(|c| c.size == tree.size()) {
                    if let Some(b) = against(c, &prev, &tree) {
                        return Ok(Err(b));
                    }
                }
                expected += 1;
            }
            if done {
                break;
            }
        }
        if let Some(c) = pending.next() {
            let at =
                c.at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
            return Ok(Err(AuditBreak {
                seq: expected,
                reason: format!(
                    "missing: the checkpoint signed at {at} covers {} entries, the log holds {} \
                     (truncated{})",
                    c.size,
                    expected - 1,
                    if expected == 1 { ", emptied" } else { "" }
                ),
            }));
        }
        let (head_seq, head_hash): (i64, String) = on_pool!(self, read, |p| sqlx::query_as(
            "SELECT seq, hash FROM audit_head WHERE id = 1"
        )
        .fetch_one(p)
        .await?);
        if head_seq != expected - 1 || head_hash != prev {
            return Ok(Err(AuditBreak {
                seq: expected,
                reason: format!(
                    "missing: the log should end at entry {head_seq} (deleted from the end?)"
                ),
            }));
        }
        Ok(Ok(AuditSummary {
            entries: expected - 1,
            head: prev,
            root: hex::encode(tree.root()),
        }))
    }

    /// The chain hash of entry `seq` and its inclusion proof in the tree of the first `size`
    /// entries (a checkpoint's size), or `None` when `seq` is not in `1..=size` or the log holds
    /// fewer than `size` entries. Reads the `size` hashes (32 bytes each).
    pub async fn audit_inclusion_proof(
        &self,
        seq: i64,
        size: i64,
    ) -> Result<Option<(String, Vec<String>)>, StoreError> {
        if seq < 1 || seq > size {
            return Ok(None);
        }
        let hashes: Vec<(i64, String)> = on_pool!(self, read, |p| sqlx::query_as(
            "SELECT seq, hash FROM audit_log WHERE seq <= $1 ORDER BY seq"
        )
        .bind(size)
        .fetch_all(p)
        .await?);
        if i64::try_from(hashes.len()).unwrap_or(0) != size {
            return Ok(None);
        }
        let leaves = hashes
            .iter()
            .map(|(_, h)| leaf(h).ok_or_else(|| StoreError::Corrupt("audit hash".into())))
            .collect::<Result<Vec<_>, _>>()?;
        let index = usize::try_from(seq - 1).unwrap_or(usize::MAX);
        let Some(proof) = inclusion_proof(&leaves, index) else {
            return Ok(None);
        };
        Ok(Some((
            hashes[index].1.clone(),
            proof.iter().map(hex::encode).collect(),
        )))
    }

    /// The audit entries about one member, oldest first.
    pub async fn audit_of_member(&self, member_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_where("member_id = $1", member_id).await
    }

    /// Who looked at a person's data: entries naming the person, or any member that is theirs.
    pub async fn audit_of_person(&self, person_ref: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_where(
            "person_ref = $1 OR member_id IN (SELECT member_id FROM member_versions WHERE person_ref = $1)",
            person_ref,
        )
        .await
    }

    /// The audit entries of one kind of action, oldest first (the operator's view of the
    /// `rate_limited` alerts, say). A scan of the log: for occasional use, not per request.
    pub async fn audit_of_action(
        &self,
        action: AuditAction,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_where("action = $1", action.as_str()).await
    }

    /// The audit entries of an organisation's staff (`staff` actors whose organisation is
    /// `organisation`, as `kind:id`), oldest first: what the organisation's own people did.
    pub async fn audit_of_staff(&self, organisation: &str) -> Result<Vec<AuditEntry>, StoreError> {
        // Staff actors are `<kind>:<id>/<login>`; logins hold no '/', so the prefix is exact.
        let prefix = format!("{organisation}/");
        let mut entries = self
            .audit_where(
                "actor_kind = 'staff' AND substr(actor_id, 1, length($1)) = $1",
                &prefix,
            )
            .await?;
        entries.retain(|e| e.actor_id.starts_with(&prefix));
        Ok(entries)
    }

    async fn audit_where(
        &self,
        condition: &str,
        value: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE {condition} ORDER BY seq");
        let rows: Vec<AuditRow> =
            on_pool!(self, read, |p| sqlx::query_as(AssertSqlSafe(sql.clone()))
                .bind(value)
                .fetch_all(p)
                .await?);
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                seq: r.seq,
                at: r.at,
                actor_kind: r.actor_kind,
                actor_id: r.actor_id,
                action: r.action,
                member_id: r.member_id,
            })
            .collect())
    }
}

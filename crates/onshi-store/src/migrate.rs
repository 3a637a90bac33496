//! Schema migrations, embedded in the binary: one folder per backend, applied in order, each in
//! its own transaction, recorded in `schema_migrations`. Migrations are append-only: a shipped
//! file is never edited, and both folders always hold the same versions.

use sqlx::{PgPool, SqlitePool};

use crate::StoreError;

/// (version, name, SQL) for each backend. Keep the two lists the same length and order.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "registry",
        include_str!("../migrations/sqlite/0001_registry.sql"),
    ),
    (
        2,
        "eligibility",
        include_str!("../migrations/sqlite/0002_eligibility.sql"),
    ),
    (
        3,
        "bulk",
        include_str!("../migrations/sqlite/0003_bulk.sql"),
    ),
    (
        4,
        "check_reference",
        include_str!("../migrations/sqlite/0004_check_reference.sql"),
    ),
    (
        5,
        "limit_certificate",
        include_str!("../migrations/sqlite/0005_limit_certificate.sql"),
    ),
    (
        6,
        "sealed_challenges",
        include_str!("../migrations/sqlite/0006_sealed_challenges.sql"),
    ),
    (
        7,
        "compared_times",
        include_str!("../migrations/sqlite/0007_compared_times.sql"),
    ),
    (
        8,
        "byte_order_text",
        include_str!("../migrations/sqlite/0008_byte_order_text.sql"),
    ),
    (
        9,
        "card_details",
        include_str!("../migrations/sqlite/0009_card_details.sql"),
    ),
    (
        10,
        "api_tokens",
        include_str!("../migrations/sqlite/0010_api_tokens.sql"),
    ),
    (
        11,
        "checkups",
        include_str!("../migrations/sqlite/0011_checkups.sql"),
    ),
    (
        12,
        "employers",
        include_str!("../migrations/sqlite/0012_employers.sql"),
    ),
    (
        13,
        "match_candidates",
        include_str!("../migrations/sqlite/0013_match_candidates.sql"),
    ),
    (
        14,
        "observation_fk",
        include_str!("../migrations/sqlite/0014_observation_fk.sql"),
    ),
    (
        15,
        "checkup_claims",
        include_str!("../migrations/sqlite/0015_checkup_claims.sql"),
    ),
    (
        16,
        "web_sessions",
        include_str!("../migrations/sqlite/0016_web_sessions.sql"),
    ),
    (
        17,
        "staff_accounts",
        include_str!("../migrations/sqlite/0017_staff_accounts.sql"),
    ),
    (
        18,
        "import_log",
        include_str!("../migrations/sqlite/0018_import_log.sql"),
    ),
    (
        19,
        "import_log_kinds",
        include_str!("../migrations/sqlite/0019_import_log_kinds.sql"),
    ),
    (
        20,
        "checkup_judgements",
        include_str!("../migrations/sqlite/0020_checkup_judgements.sql"),
    ),
    (
        21,
        "guidance_events",
        include_str!("../migrations/sqlite/0021_guidance_events.sql"),
    ),
    (
        22,
        "report_cells",
        include_str!("../migrations/sqlite/0022_report_cells.sql"),
    ),
    (
        23,
        "medical_costs",
        include_str!("../migrations/sqlite/0023_medical_costs.sql"),
    ),
    (
        24,
        "workplace_groups",
        include_str!("../migrations/sqlite/0024_workplace_groups.sql"),
    ),
    (
        25,
        "report_cells_by_cell",
        include_str!("../migrations/sqlite/0025_report_cells_by_cell.sql"),
    ),
    (
        26,
        "operator",
        include_str!("../migrations/sqlite/0026_operator.sql"),
    ),
];
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "registry",
        include_str!("../migrations/postgres/0001_registry.sql"),
    ),
    (
        2,
        "eligibility",
        include_str!("../migrations/postgres/0002_eligibility.sql"),
    ),
    (
        3,
        "bulk",
        include_str!("../migrations/postgres/0003_bulk.sql"),
    ),
    (
        4,
        "check_reference",
        include_str!("../migrations/postgres/0004_check_reference.sql"),
    ),
    (
        5,
        "limit_certificate",
        include_str!("../migrations/postgres/0005_limit_certificate.sql"),
    ),
    (
        6,
        "sealed_challenges",
        include_str!("../migrations/postgres/0006_sealed_challenges.sql"),
    ),
    (
        7,
        "compared_times",
        include_str!("../migrations/postgres/0007_compared_times.sql"),
    ),
    (
        8,
        "byte_order_text",
        include_str!("../migrations/postgres/0008_byte_order_text.sql"),
    ),
    (
        9,
        "card_details",
        include_str!("../migrations/postgres/0009_card_details.sql"),
    ),
    (
        10,
        "api_tokens",
        include_str!("../migrations/postgres/0010_api_tokens.sql"),
    ),
    (
        11,
        "checkups",
        include_str!("../migrations/postgres/0011_checkups.sql"),
    ),
    (
        12,
        "employers",
        include_str!("../migrations/postgres/0012_employers.sql"),
    ),
    (
        13,
        "match_candidates",
        include_str!("../migrations/postgres/0013_match_candidates.sql"),
    ),
    (
        14,
        "observation_fk",
        include_str!("../migrations/postgres/0014_observation_fk.sql"),
    ),
    (
        15,
        "checkup_claims",
        include_str!("../migrations/postgres/0015_checkup_claims.sql"),
    ),
    (
        16,
        "web_sessions",
        include_str!("../migrations/postgres/0016_web_sessions.sql"),
    ),
    (
        17,
        "staff_accounts",
        include_str!("../migrations/postgres/0017_staff_accounts.sql"),
    ),
    (
        18,
        "import_log",
        include_str!("../migrations/postgres/0018_import_log.sql"),
    ),
    (
        19,
        "import_log_kinds",
        include_str!("../migrations/postgres/0019_import_log_kinds.sql"),
    ),
    (
        20,
        "checkup_judgements",
        include_str!("../migrations/postgres/0020_checkup_judgements.sql"),
    ),
    (
        21,
        "guidance_events",
        include_str!("../migrations/postgres/0021_guidance_events.sql"),
    ),
    (
        22,
        "report_cells",
        include_str!("../migrations/postgres/0022_report_cells.sql"),
    ),
    (
        23,
        "medical_costs",
        include_str!("../migrations/postgres/0023_medical_costs.sql"),
    ),
    (
        24,
        "workplace_groups",
        include_str!("../migrations/postgres/0024_workplace_groups.sql"),
    ),
    (
        25,
        "report_cells_by_cell",
        include_str!("../migrations/postgres/0025_report_cells_by_cell.sql"),
    ),
    (
        26,
        "operator",
        include_str!("../migrations/postgres/0026_operator.sql"),
    ),
];

const CREATE: &str =
    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL)";

macro_rules! run {
    ($pool:expr, $list:expr) => {{
        sqlx::raw_sql(CREATE).execute($pool).await?;
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version").fetch_all($pool).await?;
        let known = $list.last().map_or(0, |m| m.0);
        if let Some(&newest) = applied.last()
            && newest > known
        {
            return Err(StoreError::Incompatible(format!(
                "the database is at schema version {newest}, newer than this onshi knows ({known}): upgrade onshi"
            )));
        }
        for (version, name, sql) in $list {
            if applied.contains(version) {
                continue;
            }
            let mut tx = $pool.begin().await?;
            sqlx::raw_sql(*sql).execute(&mut *tx).await?;
            sqlx::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
                .bind(version)
                .bind(name)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(version, name, "applied schema migration");
        }
        Ok(())
    }};
}

pub(crate) async fn run_sqlite(pool: &SqlitePool) -> Result<(), StoreError> {
    run!(pool, SQLITE)
}

pub(crate) async fn run_postgres(pool: &PgPool) -> Result<(), StoreError> {
    // Two servers starting at once must not both migrate: hold an advisory lock meanwhile.
    let mut conn = pool.acquire().await?;
    sqlx::query("SELECT pg_advisory_lock(7242011)")
        .execute(&mut *conn)
        .await?;
    let result: Result<(), StoreError> = async { run!(pool, POSTGRES) }.await;
    sqlx::query("SELECT pg_advisory_unlock(7242011)")
        .execute(&mut *conn)
        .await?;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let s: Vec<(i64, &str)> = SQLITE.iter().map(|m| (m.0, m.1)).collect();
        let p: Vec<(i64, &str)> = POSTGRES.iter().map(|m| (m.0, m.1)).collect();
        assert_eq!(s, p);
    }
}

//! Bulk lookups (一括照会): jobs of many card keys, processed in the background, fetched by
//! reception number.

use sqlx::AssertSqlSafe;
use time::{Date, OffsetDateTime};

use onshi_domain::FacilityCode;

use crate::{Store, StoreError, on_pool};

/// A bulk job's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkJob {
    /// 受付番号.
    pub reception_number: String,
    /// The facility that submitted it.
    pub facility: String,
    /// The consultation date of every item.
    pub consultation_date: Date,
    /// Items in the job.
    pub total: i64,
    /// Items processed so far.
    pub processed: i64,
    /// When it was received.
    pub created_at: OffsetDateTime,
    /// When the last item was processed.
    pub finished_at: Option<OffsetDateTime>,
}

row_by_name! {
    /// A row of `bulk_jobs`, as read.
    struct JobRow {
        reception_number: String,
        facility_code: String,
        consultation_date: Date,
        total: i64,
        processed: i64,
        created_at: OffsetDateTime,
        finished_at: Option<OffsetDateTime>,
    }
}

row_by_name! {
    /// A row of `bulk_items`, as read.
    struct ItemRow {
        seq: i64,
        request: String,
        result: Option<String>,
    }
}

fn job(r: JobRow) -> BulkJob {
    BulkJob {
        reception_number: r.reception_number,
        facility: r.facility_code,
        consultation_date: r.consultation_date,
        total: r.total,
        processed: r.processed,
        created_at: r.created_at,
        finished_at: r.finished_at,
    }
}

const ITEM_BATCH: usize = 500;

impl Store {
    /// Stores a new job with its items (request JSON each), all or nothing.
    pub async fn create_bulk_job(
        &self,
        reception_number: &str,
        facility: &FacilityCode,
        consultation_date: Date,
        items: &[String],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO bulk_jobs (reception_number, facility_code, consultation_date, total, processed, created_at) \
                 VALUES ($1, $2, $3, $4, 0, $5)",
            )
            .bind(reception_number)
            .bind(facility.as_str())
            .bind(consultation_date)
            .bind(items.len() as i64)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            for (chunk_no, chunk) in items.chunks(ITEM_BATCH).enumerate() {
                let mut sql =
                    String::from("INSERT INTO bulk_items (reception_number, seq, request) VALUES ");
                for i in 0..chunk.len() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("($1, ${}, ${})", 2 + i * 2, 3 + i * 2));
                }
                let mut q = sqlx::query(AssertSqlSafe(sql)).bind(reception_number);
                for (i, item) in chunk.iter().enumerate() {
                    q = q
                        .bind((chunk_no * ITEM_BATCH + i) as i64)
                        .bind(item.as_str());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// A job of `facility` (another facility's job is not found).
    pub async fn bulk_job(
        &self,
        reception_number: &str,
        facility: &FacilityCode,
    ) -> Result<Option<BulkJob>, StoreError> {
        let row: Option<JobRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT reception_number, facility_code, consultation_date, total, processed, created_at, finished_at \
             FROM bulk_jobs WHERE reception_number = $1 AND facility_code = $2"
        )
        .bind(reception_number)
        .bind(facility.as_str())
        .fetch_optional(p)
        .await?
        });
        Ok(row.map(job))
    }

    /// Jobs with items still to process (to resume after a restart).
    pub async fn unfinished_bulk_jobs(&self) -> Result<Vec<BulkJob>, StoreError> {
        let rows: Vec<JobRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT reception_number, facility_code, consultation_date, total, processed, created_at, finished_at \
             FROM bulk_jobs WHERE finished_at IS NULL ORDER BY created_at"
        )
        .fetch_all(p)
        .await?
        });
        Ok(rows.into_iter().map(job).collect())
    }

    /// Up to `limit` unprocessed items of a job: (seq, request JSON).
    pub async fn pending_bulk_items(
        &self,
        reception_number: &str,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows: Vec<ItemRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT seq, request, result FROM bulk_items WHERE reception_number = $1 AND result IS NULL ORDER BY seq LIMIT $2"
        )
        .bind(reception_number)
        .bind(limit)
        .fetch_all(p)
        .await?
        });
        Ok(rows.into_iter().map(|r| (r.seq, r.request)).collect())
    }

    /// Stores results of items and advances the job's progress, in one transaction; marks the
    /// job finished when nothing is left.
    pub async fn record_bulk_results(
        &self,
        reception_number: &str,
        results: &[(i64, String)],
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        on_pool!(self, write, |p| {
            let mut tx = p.begin().await?;
            for (seq, result) in results {
                sqlx::query("UPDATE bulk_items SET result = $1 WHERE reception_number = $2 AND seq = $3 AND result IS NULL")
                    .bind(result)
                    .bind(reception_number)
                    .bind(*seq)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE bulk_jobs SET processed = (SELECT COUNT(*) FROM bulk_items WHERE reception_number = $1 AND result IS NOT NULL) \
                 WHERE reception_number = $1",
            )
            .bind(reception_number)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE bulk_jobs SET finished_at = $2 WHERE reception_number = $1 AND processed = total AND finished_at IS NULL")
                .bind(reception_number)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every item of a job with its result (None while unprocessed), in order.
    pub async fn bulk_results(
        &self,
        reception_number: &str,
    ) -> Result<Vec<(i64, String, Option<String>)>, StoreError> {
        let rows: Vec<ItemRow> = on_pool!(self, read, |p| {
            sqlx::query_as(
            "SELECT seq, request, result FROM bulk_items WHERE reception_number = $1 ORDER BY seq"
        )
        .bind(reception_number)
        .fetch_all(p)
        .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (r.seq, r.request, r.result))
            .collect())
    }
}

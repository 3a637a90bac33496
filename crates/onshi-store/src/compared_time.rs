//! Times that SQL compares, written so that both stores order them as times.
//!
//! PostgreSQL compares `TIMESTAMPTZ` values as times. SQLite keeps times as text, and sqlx writes
//! RFC 3339 with as few fraction digits as the value needs, so within one second text order is not
//! time order (`…00Z` sorts after `…00.5Z`, `…00.7Z` after `…00.75Z`). A [`ComparedTime`] is
//! written to SQLite as fixed-width UTC text with nine fraction digits, where text order is time
//! order. Every column that a statement compares with `<`, `<=`, `>` or `>=` is written with it, and
//! so is every parameter it is compared with; migration 7 rewrote the rows written before.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo};
use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo};
use sqlx::{Encode, Postgres, Sqlite, Type};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// A time bound where SQL compares it (see the module's text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ComparedTime(pub OffsetDateTime);

impl ComparedTime {
    /// The SQLite text: `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, in UTC.
    pub(crate) fn text(self) -> Result<String, time::error::Format> {
        self.0.to_offset(UtcOffset::UTC).format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z"
        ))
    }
}

impl Type<Sqlite> for ComparedTime {
    fn type_info() -> SqliteTypeInfo {
        <String as Type<Sqlite>>::type_info()
    }
}

impl Encode<'_, Sqlite> for ComparedTime {
    fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Sqlite>::encode(self.text()?, buf)
    }
}

impl Type<Postgres> for ComparedTime {
    fn type_info() -> PgTypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for ComparedTime {
    fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
        Encode::<Postgres>::encode_by_ref(&self.0, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::ComparedTime;
    use time::macros::datetime;

    #[test]
    fn text_order_is_time_order() {
        let times = [
            datetime!(2026-11-25 09:00:00 UTC),
            datetime!(2026-11-25 09:00:00.000000001 UTC),
            datetime!(2026-11-25 09:00:00.5 UTC),
            datetime!(2026-11-25 09:00:00.7 UTC),
            datetime!(2026-11-25 09:00:00.75 UTC),
            datetime!(2026-11-25 18:00:00.1 +09:00),
            datetime!(2026-11-25 09:00:01 UTC),
        ];
        let texts: Vec<String> = times
            .iter()
            .map(|t| ComparedTime(*t).text().unwrap())
            .collect();
        assert_eq!(texts[0], "2026-11-25T09:00:00.000000000Z");
        assert_eq!(texts[5], "2026-11-25T09:00:00.100000000Z", "in UTC");
        for (a, b) in times.iter().zip(&texts) {
            for (c, d) in times.iter().zip(&texts) {
                assert_eq!(a.cmp(c), b.cmp(d), "{b} against {d}");
            }
        }
    }
}

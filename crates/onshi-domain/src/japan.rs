//! Japan time on the wire. Facilities, insurers and people read times and dates in Japan
//! Standard Time (UTC+9, no daylight saving), whatever the server's own zone; onshi keeps and
//! logs UTC, and converts here, at the edge, when it writes a time or a date for someone to read.
//! A check at 00:30 on the 28th in Japan (15:30 UTC on the 27th) is for the 28th.

use time::format_description::well_known::Rfc3339;
use time::macros::offset;
use time::{Date, OffsetDateTime, UtcOffset};

/// Japan Standard Time, UTC+9.
pub const JST: UtcOffset = offset!(+9);

/// `t` in Japan time.
pub fn japan_time(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(JST)
}

/// The date in Japan at `t` (the default consultation date, say).
pub fn japan_date(t: OffsetDateTime) -> Date {
    japan_time(t).date()
}

/// A date as the facility interface writes it: `YYYYMMDD`.
pub fn interface_date(d: Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `t` in Japan time as the facility interface writes it: `YYYYMMDDHHmmss`.
pub fn interface_time(t: OffsetDateTime) -> String {
    let j = japan_time(t);
    format!(
        "{}{:02}{:02}{:02}",
        interface_date(j.date()),
        j.hour(),
        j.minute(),
        j.second()
    )
}

/// `t` in Japan time as RFC 3339 with its offset (`2026-11-28T00:30:00+09:00`), to the
/// millisecond at most.
pub fn rfc3339_japan(t: OffsetDateTime) -> String {
    let j = japan_time(t);
    let j = j
        .replace_nanosecond(j.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(j);
    j.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn half_past_midnight_in_japan_is_that_japan_day() {
        let t = datetime!(2026-11-27 15:30 UTC);
        assert_eq!(japan_date(t), date!(2026 - 11 - 28));
        assert_eq!(interface_time(t), "20261128003000");
        assert_eq!(rfc3339_japan(t), "2026-11-28T00:30:00+09:00");
        // The same instant, whatever offset it arrives in.
        assert_eq!(interface_time(t.to_offset(offset!(-5))), "20261128003000");
        // Just before midnight in Japan is still the day before.
        assert_eq!(
            japan_date(datetime!(2026-11-27 14:59:59 UTC)),
            date!(2026 - 11 - 27)
        );
    }

    #[test]
    fn rfc3339_keeps_milliseconds_only() {
        let t = datetime!(2026-11-27 15:30:00.123456789 UTC);
        assert_eq!(rfc3339_japan(t), "2026-11-28T00:30:00.123+09:00");
    }
}

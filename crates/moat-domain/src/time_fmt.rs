//! Timestamps: UTC, stored and printed as RFC 3339 with millisecond precision, so that
//! their text sorts in time order on every storage backend.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A point in time, always UTC.
pub type Timestamp = OffsetDateTime;

/// Now, truncated to milliseconds (the precision we store).
pub fn now() -> Timestamp {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.millisecond() as u32 * 1_000_000)
        .expect("milliseconds are a valid nanosecond value")
}

/// `2026-11-25T18:40:04.123Z`: fixed width, so the text sorts like the time.
pub fn format_time(t: Timestamp) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Parses any RFC 3339 timestamp.
pub fn parse_time(s: &str) -> Result<Timestamp, crate::Error> {
    OffsetDateTime::parse(s, &Rfc3339)
        .map(|t| t.to_offset(time::UtcOffset::UTC))
        .map_err(|_| {
            crate::Error::invalid(
                "timestamp",
                s,
                "expected RFC 3339, e.g. 2026-01-31T12:00:00Z",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sorts() {
        let a = now();
        let s = format_time(a);
        assert_eq!(s.len(), 24);
        assert_eq!(parse_time(&s).unwrap(), a);
        let b = a + time::Duration::milliseconds(1);
        assert!(format_time(a) < format_time(b));
    }
}

use time::OffsetDateTime;

/// The current instant in UTC, truncated to microseconds (what PostgreSQL keeps), so a value
/// reads back exactly as it was written on both backends.
pub fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}

//! Command schedules: when a WINDOW or RECURRING command may run on a device.
//!
//! A schedule has an overall validity (`start_datetime` to `end_datetime`), an optional daily
//! window (`window_start_time` to `window_end_time`, crossing midnight when the end is earlier),
//! and optional week days. With `time_type` `console` the datetimes are instants as written and
//! the daily window is read in the console's time zone; with `device` every wall-clock value
//! (the datetimes' too) is read in the device's own time zone, so "09:00" means nine in the
//! morning wherever each device is.

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde_json::{Map, Value};

use crate::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeType {
    Console,
    Device,
}

/// A parsed `schedule_args`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub name: Option<String>,
    start: DateTime,
    start_instant: Timestamp,
    end: DateTime,
    end_instant: Timestamp,
    pub time_type: TimeType,
    window: Option<(Time, Time)>,
    /// Empty: every day.
    days: Vec<Weekday>,
}

fn text<'a>(args: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, Invalid> {
    match args.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Invalid::field(
            format!("schedule_args.{field}"),
            "must be a string",
        )),
    }
}

/// The wall-clock part of an ISO date-time (what is left without its offset).
fn wall_clock(raw: &str) -> Option<DateTime> {
    let (date, time) = raw.split_once('T')?;
    let cut = time.find(['Z', 'z', '+', '-']).unwrap_or(time.len());
    format!("{date}T{}", &time[..cut]).parse().ok()
}

fn datetime(args: &Map<String, Value>, field: &str) -> Result<(DateTime, Timestamp), Invalid> {
    let path = format!("schedule_args.{field}");
    let raw = text(args, field)?.ok_or_else(|| Invalid::field(&path, "this field is required"))?;
    let bad = || {
        Invalid::field(
            &path,
            format!("{raw:?} is not a date-time like 2024-05-01T09:00:00Z"),
        )
    };
    let instant: Timestamp = raw.parse().map_err(|_| bad())?;
    Ok((wall_clock(raw).ok_or_else(bad)?, instant))
}

fn time_of_day(args: &Map<String, Value>, field: &str) -> Result<Option<Time>, Invalid> {
    text(args, field)?
        .map(|raw| {
            raw.parse::<Time>().map_err(|_| {
                Invalid::field(
                    format!("schedule_args.{field}"),
                    format!("{raw:?} is not a time like 09:30 or 09:30:00"),
                )
            })
        })
        .transpose()
}

fn weekday(name: &str) -> Option<Weekday> {
    Some(match name.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Monday,
        "tuesday" => Weekday::Tuesday,
        "wednesday" => Weekday::Wednesday,
        "thursday" => Weekday::Thursday,
        "friday" => Weekday::Friday,
        "saturday" => Weekday::Saturday,
        "sunday" => Weekday::Sunday,
        _ => return None,
    })
}

impl Schedule {
    /// Reads and checks `schedule_args`.
    pub fn parse(args: &Map<String, Value>) -> Result<Self, Invalid> {
        let (start, start_instant) = datetime(args, "start_datetime")?;
        let (end, end_instant) = datetime(args, "end_datetime")?;
        if end_instant <= start_instant {
            return Err(Invalid::field(
                "schedule_args.end_datetime",
                "must be after start_datetime",
            ));
        }
        let time_type = match text(args, "time_type")? {
            None | Some("console") => TimeType::Console,
            Some("device") => TimeType::Device,
            Some(other) => {
                return Err(Invalid::field(
                    "schedule_args.time_type",
                    format!("{other:?} is not console or device"),
                ));
            }
        };
        let window = match (
            time_of_day(args, "window_start_time")?,
            time_of_day(args, "window_end_time")?,
        ) {
            (Some(a), Some(b)) if a != b => Some((a, b)),
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err(Invalid::field(
                    "schedule_args.window_end_time",
                    "must differ from window_start_time",
                ));
            }
            _ => {
                return Err(Invalid::field(
                    "schedule_args.window_start_time",
                    "give both window times or neither",
                ));
            }
        };
        let mut days = Vec::new();
        match args.get("days") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    let name = item.as_str().unwrap_or_default();
                    if name.eq_ignore_ascii_case("all days") {
                        days.clear();
                        break;
                    }
                    days.push(weekday(name).ok_or_else(|| {
                        Invalid::field(
                            "schedule_args.days",
                            format!("{name:?} is not a day (Monday … Sunday, or All days)"),
                        )
                    })?);
                }
            }
            Some(_) => {
                return Err(Invalid::field(
                    "schedule_args.days",
                    "must be a list of day names",
                ));
            }
        }
        Ok(Self {
            name: text(args, "name")?.map(str::to_string),
            start,
            start_instant,
            end,
            end_instant,
            time_type,
            window,
            days,
        })
    }

    /// The overall start and end as instants in `zone` (the device's zone for `device`).
    fn bounds(&self, zone: &TimeZone) -> (Timestamp, Timestamp) {
        match self.time_type {
            TimeType::Console => (self.start_instant, self.end_instant),
            TimeType::Device => (
                zone.to_ambiguous_timestamp(self.start)
                    .compatible()
                    .unwrap_or(self.start_instant),
                zone.to_ambiguous_timestamp(self.end)
                    .compatible()
                    .unwrap_or(self.end_instant),
            ),
        }
    }

    /// The zone a device reads this schedule in: its own for `device` (when it reported a
    /// zone we know), the console's otherwise.
    pub fn zone_for(&self, device_zone: Option<&str>, console: &TimeZone) -> TimeZone {
        match (self.time_type, device_zone) {
            (TimeType::Device, Some(name)) => {
                TimeZone::get(name).unwrap_or_else(|_| console.clone())
            }
            _ => console.clone(),
        }
    }

    /// When the schedule ends, read in `zone`.
    pub fn end(&self, zone: &TimeZone) -> Timestamp {
        self.bounds(zone).1
    }

    /// The opening of the first window after the one open at `at` (or the next opening, if
    /// none is open): a RECURRING command that failed in one window tries again in the next.
    pub fn next_window_after(&self, at: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        if !self.is_open(at, zone) {
            return self.next_open(at, zone);
        }
        let local = at.to_zoned(zone.clone());
        let date = local.date();
        let close_day = match self.window {
            // Without a daily window each day is a window.
            None => date.checked_add(1.days()).ok()?,
            Some((open, close)) if open >= close && local.time() >= open => {
                date.checked_add(1.days()).ok()?
            }
            Some(_) => date,
        };
        let close_time = self.window.map(|(_, c)| c).unwrap_or(Time::midnight());
        let close = zone
            .to_ambiguous_timestamp(close_day.to_datetime(close_time))
            .compatible()
            .ok()?;
        self.next_open(close, zone)
    }

    /// Whether the schedule can no longer open after `at`.
    pub fn expired(&self, at: Timestamp, zone: &TimeZone) -> bool {
        at >= self.bounds(zone).1
    }

    fn day_allowed(&self, day: Weekday) -> bool {
        self.days.is_empty() || self.days.contains(&day)
    }

    /// Whether the schedule is open at `at`, reading wall-clock values in `zone`.
    pub fn is_open(&self, at: Timestamp, zone: &TimeZone) -> bool {
        let (start, end) = self.bounds(zone);
        if at < start || at >= end {
            return false;
        }
        let local = at.to_zoned(zone.clone()).datetime();
        match self.window {
            None => self.day_allowed(local.weekday()),
            Some((open, close)) if open < close => {
                self.day_allowed(local.weekday()) && local.time() >= open && local.time() < close
            }
            // Crossing midnight: the evening part belongs to its day, the morning part to the day before.
            Some((open, close)) => {
                if local.time() >= open {
                    self.day_allowed(local.weekday())
                } else if local.time() < close {
                    self.day_allowed(local.weekday().previous())
                } else {
                    false
                }
            }
        }
    }

    /// The first instant at or after `at` when the schedule is open, or `None` if it never
    /// opens again.
    pub fn next_open(&self, at: Timestamp, zone: &TimeZone) -> Option<Timestamp> {
        let (start, end) = self.bounds(zone);
        let from = at.max(start);
        if self.is_open(from, zone) {
            return Some(from);
        }
        let open_time = self
            .window
            .map(|(open, _)| open)
            .unwrap_or(Time::midnight());
        let first_day = from.to_zoned(zone.clone()).date();
        // A week and a day covers every combination of week days and a window crossing midnight.
        for offset in 0..=8 {
            let day = first_day.checked_add(offset.days()).ok()?;
            let candidate = zone
                .to_ambiguous_timestamp(day.to_datetime(open_time))
                .compatible()
                .ok()?;
            if candidate >= end {
                return None;
            }
            if candidate >= from && self.is_open(candidate, zone) {
                return Some(candidate);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schedule(v: Value) -> Schedule {
        Schedule::parse(v.as_object().unwrap()).unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    #[test]
    fn a_plain_window_is_open_between_its_bounds() {
        let s = schedule(
            json!({"start_datetime": "2026-03-01T10:00:00Z", "end_datetime": "2026-03-02T10:00:00Z"}),
        );
        let utc = TimeZone::UTC;
        assert!(!s.is_open(at("2026-03-01T09:59:59Z"), &utc));
        assert!(s.is_open(at("2026-03-01T10:00:00Z"), &utc));
        assert!(!s.is_open(at("2026-03-02T10:00:00Z"), &utc));
        assert_eq!(
            s.next_open(at("2026-02-01T00:00:00Z"), &utc),
            Some(at("2026-03-01T10:00:00Z"))
        );
        assert!(s.expired(at("2026-03-02T10:00:00Z"), &utc));
        assert_eq!(s.next_open(at("2026-03-03T00:00:00Z"), &utc), None);
    }

    #[test]
    fn daily_windows_and_days_in_the_devices_zone() {
        let s = schedule(json!({
            "start_datetime": "2026-03-02T00:00:00Z", "end_datetime": "2026-03-31T00:00:00Z",
            "time_type": "device", "window_start_time": "02:00", "window_end_time": "04:00",
            "days": ["Saturday", "Sunday"]
        }));
        let berlin = tz("Europe/Berlin");
        let tokyo = tz("Asia/Tokyo");
        // Saturday 7 March, 02:30 local time in each zone.
        assert!(s.is_open(at("2026-03-07T01:30:00Z"), &berlin));
        assert!(
            !s.is_open(at("2026-03-07T01:30:00Z"), &tokyo),
            "10:30 in Tokyo"
        );
        assert!(
            s.is_open(at("2026-03-06T17:30:00Z"), &tokyo),
            "Saturday 02:30 in Tokyo"
        );
        // From a Wednesday the next opening is Saturday 02:00 local.
        assert_eq!(
            s.next_open(at("2026-03-04T12:00:00Z"), &berlin),
            Some(at("2026-03-07T01:00:00Z"))
        );
        assert_eq!(
            s.next_open(at("2026-03-04T12:00:00Z"), &tokyo),
            Some(at("2026-03-06T17:00:00Z"))
        );
    }

    #[test]
    fn windows_crossing_midnight_and_dst() {
        let s = schedule(json!({
            "start_datetime": "2026-03-20T00:00:00Z", "end_datetime": "2026-04-10T00:00:00Z",
            "time_type": "console", "window_start_time": "22:00", "window_end_time": "02:00",
            "days": ["Saturday"]
        }));
        let berlin = tz("Europe/Berlin");
        // Saturday 28 March 23:00 CET, and Sunday 29 March 01:30 (still Saturday's window).
        assert!(s.is_open(at("2026-03-28T22:00:00Z"), &berlin));
        assert!(s.is_open(at("2026-03-29T00:30:00Z"), &berlin));
        assert!(
            !s.is_open(at("2026-03-29T03:00:00Z"), &berlin),
            "after the window (and the DST jump)"
        );
        // The next Saturday's window opens at 22:00 CEST = 20:00 UTC.
        assert_eq!(
            s.next_open(at("2026-03-30T00:00:00Z"), &berlin),
            Some(at("2026-04-04T20:00:00Z"))
        );
    }

    #[test]
    fn recurring_tries_again_in_the_next_window() {
        let s = schedule(json!({
            "start_datetime": "2026-03-02T00:00:00Z", "end_datetime": "2026-03-05T00:00:00Z",
            "window_start_time": "09:00", "window_end_time": "10:00"
        }));
        let utc = TimeZone::UTC;
        assert_eq!(
            s.next_window_after(at("2026-03-02T09:30:00Z"), &utc),
            Some(at("2026-03-03T09:00:00Z"))
        );
        assert_eq!(
            s.next_window_after(at("2026-03-02T11:00:00Z"), &utc),
            Some(at("2026-03-03T09:00:00Z"))
        );
        assert_eq!(s.next_window_after(at("2026-03-04T09:30:00Z"), &utc), None);
        let whole_days = schedule(
            json!({"start_datetime": "2026-03-02T00:00:00Z", "end_datetime": "2026-03-04T00:00:00Z"}),
        );
        assert_eq!(
            whole_days.next_window_after(at("2026-03-02T15:00:00Z"), &utc),
            Some(at("2026-03-03T00:00:00Z"))
        );
        assert_eq!(s.end(&utc), at("2026-03-05T00:00:00Z"));
        let device = schedule(json!({
            "start_datetime": "2026-03-02T00:00:00Z", "end_datetime": "2026-03-05T00:00:00Z",
            "time_type": "device"
        }));
        assert_eq!(device.zone_for(Some("Asia/Tokyo"), &utc), tz("Asia/Tokyo"));
        assert_eq!(device.zone_for(Some("Not/AZone"), &utc), utc);
        assert_eq!(
            s.zone_for(Some("Asia/Tokyo"), &utc),
            utc,
            "console schedules ignore the device"
        );
    }

    #[test]
    fn bad_schedules_name_the_field() {
        for (args, field) in [
            (
                json!({"end_datetime": "2026-01-02T00:00:00Z"}),
                "start_datetime",
            ),
            (
                json!({"start_datetime": "yesterday", "end_datetime": "2026-01-02T00:00:00Z"}),
                "start_datetime",
            ),
            (
                json!({"start_datetime": "2026-01-02T00:00:00Z", "end_datetime": "2026-01-01T00:00:00Z"}),
                "end_datetime",
            ),
            (
                json!({"start_datetime": "2026-01-01T00:00:00Z", "end_datetime": "2026-01-02T00:00:00Z", "time_type": "moon"}),
                "time_type",
            ),
            (
                json!({"start_datetime": "2026-01-01T00:00:00Z", "end_datetime": "2026-01-02T00:00:00Z", "window_start_time": "25:00", "window_end_time": "02:00"}),
                "window_start_time",
            ),
            (
                json!({"start_datetime": "2026-01-01T00:00:00Z", "end_datetime": "2026-01-02T00:00:00Z", "window_start_time": "01:00"}),
                "window_start_time",
            ),
            (
                json!({"start_datetime": "2026-01-01T00:00:00Z", "end_datetime": "2026-01-02T00:00:00Z", "days": ["Caturday"]}),
                "days",
            ),
        ] {
            let err = Schedule::parse(args.as_object().unwrap()).unwrap_err();
            assert_eq!(err.0[0].0, format!("schedule_args.{field}"), "{err}");
        }
        let all = schedule(
            json!({"start_datetime": "2026-01-01T00:00:00Z", "end_datetime": "2026-01-09T00:00:00Z", "days": ["All days"], "name": "n"}),
        );
        assert_eq!(all.name.as_deref(), Some("n"));
        assert!(all.is_open(at("2026-01-04T12:00:00Z"), &TimeZone::UTC));
    }
}

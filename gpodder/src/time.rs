//! Client times as gpodder clients write them, and the one form every client parses back.
//!
//! Clients send `2009-12-12T09:00:00` (AntennaPod: UTC without a zone), with a fraction, with `Z`,
//! with an offset, or integer Unix seconds. Answers use `YYYY-MM-DDTHH:MM:SS` in UTC without a
//! zone: mygpoclient refuses offsets, `Z` after a fraction and integers, AntennaPod reads exactly
//! that pattern.

use chrono::{DateTime, NaiveDateTime, Utc};

/// The latest time accepted (docs/limits.md: client times are within 1970-01-01 – 9999-12-31).
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error(
        "a time is YYYY-MM-DDTHH:MM:SS (optionally with a fraction, Z or an offset) or Unix seconds"
    )]
    Malformed,
    #[error("a time is between 1970-01-01 and 9999-12-31")]
    OutOfRange,
}

/// A client's time, in UTC; a time without a zone is UTC.
pub fn parse(raw: &str) -> Result<DateTime<Utc>, TimeError> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = raw.parse::<i64>().map_err(|_| TimeError::OutOfRange)?;
        return from_unix(seconds);
    }
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            // Offsets without a colon (`+0200`), which RFC 3339 does not allow.
            DateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f%z").map(|t| t.with_timezone(&Utc))
        })
        .or_else(|_| {
            ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
                .iter()
                .find_map(|format| NaiveDateTime::parse_from_str(raw, format).ok())
                .map(|t| t.and_utc())
                .ok_or(TimeError::Malformed)
        })?;
    in_range(parsed)
}

/// A time given as a JSON value: a string as [`parse`] reads it, or a number of Unix seconds.
pub fn from_json(value: &serde_json::Value) -> Result<DateTime<Utc>, TimeError> {
    match value {
        serde_json::Value::String(text) => parse(text),
        serde_json::Value::Number(n) => n.as_i64().ok_or(TimeError::OutOfRange).and_then(from_unix),
        _ => Err(TimeError::Malformed),
    }
}

fn from_unix(seconds: i64) -> Result<DateTime<Utc>, TimeError> {
    if !(0..=MAX_UNIX_SECONDS).contains(&seconds) {
        return Err(TimeError::OutOfRange);
    }
    DateTime::from_timestamp(seconds, 0).ok_or(TimeError::OutOfRange)
}

fn in_range(time: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    if (0..=MAX_UNIX_SECONDS).contains(&time.timestamp()) {
        Ok(time)
    } else {
        Err(TimeError::OutOfRange)
    }
}

/// `YYYY-MM-DDTHH:MM:SS` in UTC, no zone, no fraction: what mygpoclient and AntennaPod parse.
pub fn format(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).expect("in range")
    }

    #[test]
    fn every_form_clients_send_is_read() {
        let t = at(1_260_608_400); // 2009-12-12T09:00:00Z
        for raw in [
            "2009-12-12T09:00:00",
            "2009-12-12T09:00:00Z",
            "2009-12-12T09:00:00.000",
            "2009-12-12T09:00:00.000000Z",
            "2009-12-12T11:00:00+02:00",
            "2009-12-12T11:00:00+0200",
            "2009-12-12T04:00:00-05:00",
            "2009-12-12 09:00:00",
            " 2009-12-12T09:00:00 ",
            "1260608400",
        ] {
            assert_eq!(parse(raw), Ok(t), "{raw}");
        }
        assert_eq!(
            parse("2009-12-12T09:00:00.5").map(|t| t.timestamp_subsec_millis()),
            Ok(500)
        );
        assert_eq!(from_json(&serde_json::json!(1_260_608_400)), Ok(t));
        assert_eq!(from_json(&serde_json::json!("2009-12-12T09:00:00")), Ok(t));
    }

    #[test]
    fn nonsense_and_out_of_range_times_are_refused() {
        for raw in [
            "",
            "yesterday",
            "2009-13-12T09:00:00",
            "2009-12-12",
            "12:00",
        ] {
            assert_eq!(parse(raw), Err(TimeError::Malformed), "{raw}");
        }
        assert_eq!(parse("99999999999999999999"), Err(TimeError::OutOfRange));
        assert_eq!(parse("253402300800"), Err(TimeError::OutOfRange));
        assert_eq!(parse("1969-12-31T23:59:59Z"), Err(TimeError::OutOfRange));
        assert_eq!(
            from_json(&serde_json::json!(-1)),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(
            from_json(&serde_json::json!(1.5)),
            Err(TimeError::OutOfRange)
        );
        assert_eq!(
            from_json(&serde_json::json!(null)),
            Err(TimeError::Malformed)
        );
    }

    #[test]
    fn answers_have_no_zone_and_no_fraction() {
        assert_eq!(format(at(1_260_608_400)), "2009-12-12T09:00:00");
        assert_eq!(format(at(0)), "1970-01-01T00:00:00");
        assert_eq!(format(at(MAX_UNIX_SECONDS)), "9999-12-31T23:59:59");
    }

    proptest! {
        #[test]
        fn a_formatted_time_reads_back_the_same(seconds in 0..=MAX_UNIX_SECONDS) {
            let t = at(seconds);
            prop_assert_eq!(parse(&format(t)), Ok(t));
            prop_assert_eq!(parse(&seconds.to_string()), Ok(t));
            prop_assert_eq!(parse(&format!("{}Z", format(t))), Ok(t));
        }

        #[test]
        fn an_offset_names_the_same_instant(seconds in 86_400..=MAX_UNIX_SECONDS - 86_400, minutes in -1439i64..=1439) {
            let t = at(seconds);
            let local = t + chrono::TimeDelta::minutes(minutes);
            let sign = if minutes < 0 { '-' } else { '+' };
            let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
            let raw = format!("{}{sign}{h:02}:{m:02}", local.format("%Y-%m-%dT%H:%M:%S"));
            prop_assert_eq!(parse(&raw), Ok(t));
        }

        #[test]
        fn no_input_panics(raw in ".{0,40}") {
            let _ = parse(&raw);
        }
    }
}

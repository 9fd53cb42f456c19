//! The traffic a simulation replays: one point a minute of requests per second offered to the fleet, and
//! optionally each shard's healthy targets. Read from a CSV (a CloudWatch `RequestCount` export or requests per
//! second), or the built-in day.

use crate::plan::scale::parse_rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct TrafficPoint {
    pub requests_per_second: f64,
    /// Healthy targets behind each shard (mirror mode: every shard sees every instance).
    pub healthy_targets: Option<u32>,
}

/// One point per minute from `start` (epoch seconds).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Traffic {
    pub start: i64,
    pub points: Vec<TrafficPoint>,
}

/// 2026-01-01T00:00:00Z: the built-in day's start (the clock is the simulation's, not the machine's).
const BUILT_IN_START: i64 = 1_767_225_600;

/// A day of one-minute points: a diurnal curve between 20 % and 100 % of `peak_rps` (low at 04:00, high at 16:00)
/// and, from 18:00 for 45 minutes, a spike to 4x the curve, reached over 5 minutes.
pub fn built_in_day(peak_rps: f64) -> Traffic {
    let points = (0..24 * 60)
        .map(|minute| {
            let hours = f64::from(minute) / 60.0;
            let phase = ((hours - 4.0) / 24.0 * std::f64::consts::PI).sin();
            let diurnal = peak_rps * (0.2 + 0.8 * phase * phase);
            let into_spike = f64::from(minute) - 18.0 * 60.0;
            let spike = if (0.0..45.0).contains(&into_spike) { 1.0 + 3.0 * (into_spike / 5.0).min(1.0) } else { 1.0 };
            TrafficPoint { requests_per_second: (diurnal * spike).round(), healthy_targets: None }
        })
        .collect();
    Traffic { start: BUILT_IN_START, points }
}

/// What the value column counts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Unit {
    PerSecond,
    /// A `RequestCount` Sum per period: divided by the period (the spacing of the timestamps).
    PerPeriod,
}

/// Parses `timestamp,value[,healthy_targets]` lines. A header line, if any, names the value's unit: a column
/// called `RequestCount` or `Sum` holds a count per period, anything else requests per second. Timestamps are
/// RFC 3339 (`2026-11-25T09:30:00Z`, or CloudWatch's `2026-11-25 09:30:00`) or minutes from the start; rows come
/// in time order, every period is held until the next row, and the series is resampled to one point a minute.
pub fn parse_csv(text: &str) -> Result<Traffic, String> {
    let mut unit = Unit::PerSecond;
    let mut rows: Vec<(usize, i64, f64, Option<u32>)> = Vec::new();
    for (number, line) in text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(|f| f.trim().trim_matches('"')).collect();
        if rows.is_empty() && fields.get(1).is_some_and(|f| f.parse::<f64>().is_err()) {
            let value = fields[1].to_ascii_lowercase();
            unit = if value.contains("requestcount") || value == "sum" { Unit::PerPeriod } else { Unit::PerSecond };
            continue;
        }
        if !(2..=3).contains(&fields.len()) {
            return Err(format!("line {number}: expected timestamp,value[,healthy_targets], got {line:?}"));
        }
        let time = parse_time(fields[0])
            .ok_or_else(|| format!("line {number}: {:?} is not a time (RFC 3339 or minutes)", fields[0]))?;
        let value = fields[1]
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("line {number}: {:?} is not a request rate (a number, 0 or more)", fields[1]))?;
        let targets =
            match fields.get(2).filter(|f| !f.is_empty()) {
                Some(raw) => Some(raw.parse::<u32>().map_err(|_| {
                    format!("line {number}: {raw:?} is not a count of healthy targets (a whole number)")
                })?),
                None => None,
            };
        if let Some((_, last, _, _)) = rows.last().filter(|(_, last, _, _)| time <= *last) {
            return Err(format!("line {number}: its time is not after the previous row's ({last} s)"));
        }
        rows.push((number, time, value, targets));
    }
    resample(&rows, unit)
}

/// RFC 3339, CloudWatch's `YYYY-MM-DD HH:MM:SS` (UTC), or whole minutes from the start (as seconds).
fn parse_time(raw: &str) -> Option<i64> {
    if let Ok(minutes) = raw.parse::<u32>() {
        return Some(i64::from(minutes) * 60);
    }
    let iso = raw.replacen(' ', "T", 1);
    let zoned = if iso.ends_with('Z') || iso[iso.len().saturating_sub(6)..].contains(['+', '-']) {
        iso
    } else {
        format!("{iso}Z")
    };
    parse_rfc3339(&zoned)
}

fn resample(rows: &[(usize, i64, f64, Option<u32>)], unit: Unit) -> Result<Traffic, String> {
    let Some(&(_, start, _, _)) = rows.first() else {
        return Err("no data rows: expected timestamp,value lines".into());
    };
    let mut points = Vec::new();
    for (i, &(number, time, value, targets)) in rows.iter().enumerate() {
        let next = rows.get(i + 1).map(|r| r.1);
        // The last row lasts as long as the one before it (or a minute).
        let period = next.unwrap_or(time + i.checked_sub(1).map_or(60, |p| time - rows[p].1)) - time;
        if period % 60 != 0 {
            return Err(format!("line {number}: rows must be whole minutes apart (this one lasts {period} s)"));
        }
        let rps = match unit {
            Unit::PerSecond => value,
            Unit::PerPeriod => value / period as f64,
        };
        let minutes = (period / 60) as usize;
        points
            .extend(std::iter::repeat_n(TrafficPoint { requests_per_second: rps, healthy_targets: targets }, minutes));
        if points.len() > 31 * 24 * 60 {
            return Err(format!("line {number}: the series is longer than 31 days"));
        }
    }
    Ok(Traffic { start, points })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cloudwatch_request_count_export_becomes_requests_per_second_per_minute() {
        let csv = "Timestamp,RequestCount\n2026-11-25 09:00:00,6000\n2026-11-25 09:05:00,30000\n";
        let traffic = parse_csv(csv).unwrap();
        assert_eq!(traffic.start, parse_rfc3339("2026-11-25T09:00:00Z").unwrap());
        let rps: Vec<f64> = traffic.points.iter().map(|p| p.requests_per_second).collect();
        assert_eq!(rps, [20.0, 20.0, 20.0, 20.0, 20.0, 100.0, 100.0, 100.0, 100.0, 100.0]);
    }

    #[test]
    fn minutes_and_healthy_targets_without_a_header() {
        let traffic = parse_csv("0,100,4\n2,250,6\n3,50\n").unwrap();
        let got: Vec<(f64, Option<u32>)> =
            traffic.points.iter().map(|p| (p.requests_per_second, p.healthy_targets)).collect();
        assert_eq!(got, [(100.0, Some(4)), (100.0, Some(4)), (250.0, Some(6)), (50.0, None)]);
    }

    #[test]
    fn a_bad_row_is_named_by_its_line() {
        assert_eq!(
            parse_csv("t,rps\n0,10\n1,ten\n").unwrap_err(),
            "line 3: \"ten\" is not a request rate (a number, 0 or more)"
        );
        assert!(parse_csv("0,10\n0,20\n").unwrap_err().starts_with("line 2: its time is not after"));
        assert!(parse_csv("# nothing\n").unwrap_err().starts_with("no data rows"));
        assert!(parse_csv("yesterday,10\n").unwrap_err().starts_with("line 1: \"yesterday\" is not a time"));
    }

    #[test]
    fn the_built_in_day_has_a_four_fold_spike_at_six_pm() {
        let day = built_in_day(1000.0);
        assert_eq!(day.points.len(), 1440);
        let at = |h: u32, m: u32| day.points[(h * 60 + m) as usize].requests_per_second;
        assert!((at(16, 0) - 1000.0).abs() < 1.0 && (at(4, 0) - 200.0).abs() < 1.0);
        assert!((at(18, 10) / at(17, 59) - 4.0).abs() < 0.05);
        assert!(at(18, 50) < at(17, 59) * 1.01);
    }
}

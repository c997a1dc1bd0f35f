//! The plan's `[maintenance]` section: the background jobs tsmn keeps on
//! the access node (TimescaleDB's multi-node maintenance page asks every
//! operator to schedule them by hand), and how often each runs.

use super::problem::Problem;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// Install the jobs (apply), report them missing or failing (check).
    #[serde(default)]
    pub jobs: bool,
    /// How often the job that heals two-phase transactions left prepared
    /// on the data nodes runs (`5 minutes`, `30 s`, `1 hour`...).
    #[serde(default = "default_heal")]
    pub heal_every: String,
    /// How often the job that runs ANALYZE on every distributed
    /// hypertable runs.
    #[serde(default = "default_analyze")]
    pub analyze_every: String,
}

fn default_heal() -> String {
    "5 minutes".into()
}

fn default_analyze() -> String {
    "12 hours".into()
}

impl Default for Maintenance {
    fn default() -> Self {
        Maintenance {
            jobs: false,
            heal_every: default_heal(),
            analyze_every: default_analyze(),
        }
    }
}

impl Maintenance {
    /// Nothing asked and nothing changed: the section is left out of a
    /// saved plan.
    pub fn is_default(&self) -> bool {
        *self == Maintenance::default()
    }
}

/// The shortest schedule tsmn accepts: each run of either job connects to
/// every data node.
pub const SHORTEST_SECONDS: i64 = 60;

/// An interval as the plan writes it (`<whole number> <unit>`; units
/// seconds, minutes, hours, days, each also short: s, sec, min, h, hr, d)
/// in seconds. Months and years are refused: their length varies.
pub fn interval_seconds(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let unit = unit.trim().to_ascii_lowercase();
    let factor = match unit.as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86400,
        "" => return Err(format!("`{text}` has no unit")),
        u => return Err(format!("`{text}`: unknown unit `{u}`")),
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// Seconds as the plan writes an interval: in the largest unit that
/// divides them (`300` -> `5 minutes`).
pub fn interval_text(seconds: i64) -> String {
    let (n, unit) = [(86400, "day"), (3600, "hour"), (60, "minute")]
        .iter()
        .find(|(f, _)| seconds != 0 && seconds % f == 0)
        .map_or((seconds, "second"), |(f, u)| (seconds / f, *u));
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// The problems of the section, with their field paths.
pub fn validate(m: &Maintenance, out: &mut Vec<Problem>) {
    for (key, value) in [
        ("heal_every", &m.heal_every),
        ("analyze_every", &m.analyze_every),
    ] {
        let path = format!("maintenance.{key}");
        match interval_seconds(value) {
            Err(why) => out.push(Problem::new(
                path,
                why,
                "write a whole number and a unit: seconds, minutes, hours or days (e.g. \"5 minutes\", \"12 hours\")",
            )),
            Ok(s) if s < SHORTEST_SECONDS => out.push(Problem::new(
                path,
                format!("`{value}` is shorter than a minute"),
                "schedule it at most once a minute: each run connects to every data node",
            )),
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(interval_seconds("5 minutes"), Ok(300));
        assert_eq!(interval_seconds("12h"), Ok(43200));
        assert_eq!(interval_seconds(" 1 Day "), Ok(86400));
        assert_eq!(interval_seconds("90 s"), Ok(90));
        assert!(interval_seconds("1 month")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(interval_seconds("five minutes").is_err());
        assert!(interval_seconds("5").unwrap_err().contains("no unit"));
        let mut out = Vec::new();
        validate(
            &Maintenance {
                jobs: true,
                heal_every: "10 s".into(),
                analyze_every: "often".into(),
            },
            &mut out,
        );
        let paths: Vec<&str> = out.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["maintenance.heal_every", "maintenance.analyze_every"]
        );
        assert!(Maintenance::default().is_default());
        assert_eq!(interval_text(300), "5 minutes");
        assert_eq!(interval_text(43200), "12 hours");
        assert_eq!(interval_text(86400), "1 day");
        assert_eq!(interval_text(90), "90 seconds");
        assert_eq!(interval_seconds(&interval_text(5400)), Ok(5400));
    }
}

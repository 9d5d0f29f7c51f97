//! A patient's age as clinicians write it: days for a newborn, weeks under three months,
//! months and years for small children, years after that ("10 d", "6 w", "2 y 3 m", "47 y").
//!
//! Dates are calendar dates (`YYYY-MM-DD`); someone born on 29 February turns a year older on
//! 28 February in common years (counted in completed months, the way most civil registers do).

use serde::{Deserialize, Serialize};

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
}

impl Date {
    /// Reads `YYYY-MM-DD`; `None` unless it is a real calendar date.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let date = Self { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(date)
    }

    /// The date of a time in milliseconds since 1970 (UTC).
    pub fn from_unix_ms(ms: i64) -> Self {
        // Howard Hinnant's days-to-civil algorithm (proleptic Gregorian).
        let z = ms.div_euclid(86_400_000) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u32::try_from(month).unwrap_or(1),
            day: u32::try_from(day).unwrap_or(1),
        }
    }

    /// Midnight (UTC) at the start of this date, in milliseconds since 1970.
    pub fn unix_ms(self) -> i64 {
        self.days() * 86_400_000
    }

    /// Days since 1970-01-01.
    fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl std::fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// An age in completed years and months, and the days since birth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Age {
    /// Completed years.
    pub years: u32,
    /// Completed months beyond the years.
    pub months: u32,
    /// Days since birth.
    pub days: u32,
    /// The unit clinicians write this age in: days under 4 weeks, weeks under 3 months,
    /// months under a year, years and months under five, then years.
    pub unit: AgeUnit,
    /// As clinicians write it: "10 d", "6 w", "5 m", "2 y 3 m", "47 y".
    pub text: String,
}

/// How an age is written, by how old the person is (screens in other languages write the same
/// steps in their own words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum AgeUnit {
    /// "10 d": `days`.
    Days,
    /// "6 w": `days / 7`.
    Weeks,
    /// "5 m": `months`.
    Months,
    /// "2 y 3 m": `years` and `months`.
    YearsMonths,
    /// "47 y", "2 y": `years`.
    Years,
}

/// The age on `today` of someone born on `birth`; `None` when `birth` is after `today`.
pub fn age(birth: Date, today: Date) -> Option<Age> {
    if birth > today {
        return None;
    }
    let mut months = (today.year - birth.year) * 12 + i32::try_from(today.month).ok()?
        - i32::try_from(birth.month).ok()?;
    // A month is completed on the same day of the month, or on the last day of a shorter month.
    let last = days_in_month(today.year, today.month);
    if today.day < birth.day && today.day < last {
        months -= 1;
    }
    let months = u32::try_from(months).ok()?;
    let days = u32::try_from(today.days() - birth.days()).ok()?;
    let (years, months) = (months / 12, months % 12);
    let unit = match (years, months) {
        _ if days < 28 => AgeUnit::Days,
        (0, m) if m < 3 => AgeUnit::Weeks,
        (0, _) => AgeUnit::Months,
        (y, m) if y < 5 && m > 0 => AgeUnit::YearsMonths,
        _ => AgeUnit::Years,
    };
    let text = match unit {
        AgeUnit::Days => format!("{days} d"),
        AgeUnit::Weeks => format!("{} w", days / 7),
        AgeUnit::Months => format!("{months} m"),
        AgeUnit::YearsMonths => format!("{years} y {months} m"),
        AgeUnit::Years => format!("{years} y"),
    };
    Some(Age {
        years,
        months,
        days,
        unit,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Date {
        Date::parse(text).unwrap()
    }

    fn text(birth: &str, today: &str) -> String {
        age(d(birth), d(today)).unwrap().text
    }

    #[test]
    fn ages_read_as_a_clinician_writes_them() {
        assert_eq!(text("2026-11-29", "2026-11-29"), "0 d");
        assert_eq!(text("2026-11-01", "2026-11-29"), "4 w");
        assert_eq!(text("2026-11-10", "2026-11-29"), "19 d");
        assert_eq!(text("2026-10-01", "2026-11-29"), "8 w");
        assert_eq!(text("2026-06-15", "2026-11-29"), "5 m");
        assert_eq!(text("2024-08-20", "2026-11-29"), "2 y 3 m");
        assert_eq!(text("2023-11-29", "2026-11-29"), "3 y");
        assert_eq!(text("2021-11-30", "2026-11-29"), "4 y 11 m");
        assert_eq!(text("1979-03-14", "2026-11-29"), "47 y");
        assert!(
            age(d("2026-11-30"), d("2026-11-29")).is_none(),
            "born tomorrow"
        );
    }

    #[test]
    fn the_day_before_a_birthday_is_still_the_younger_age() {
        assert_eq!(age(d("1990-11-30"), d("2026-11-29")).unwrap().years, 35);
        assert_eq!(age(d("1990-11-29"), d("2026-11-29")).unwrap().years, 36);
        assert_eq!(age(d("2026-01-31"), d("2026-02-27")).unwrap().months, 0);
        // The last day of a shorter month completes the month.
        assert_eq!(age(d("2026-01-31"), d("2026-02-28")).unwrap().months, 1);
    }

    #[test]
    fn leap_day_births_age_on_the_last_day_of_february() {
        assert_eq!(age(d("2024-02-29"), d("2025-02-27")).unwrap().years, 0);
        assert_eq!(age(d("2024-02-29"), d("2025-02-28")).unwrap().years, 1);
        assert_eq!(age(d("2024-02-29"), d("2028-02-29")).unwrap().years, 4);
        assert_eq!(age(d("2024-02-29"), d("2025-03-01")).unwrap().days, 366);
    }

    #[test]
    fn only_real_dates_parse_and_unix_days_round_trip() {
        assert!(Date::parse("2023-02-29").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("2026-04-31").is_none());
        assert!(Date::parse("soon").is_none());
        assert_eq!(Date::from_unix_ms(0), d("1970-01-01"));
        assert_eq!(Date::from_unix_ms(1_795_910_400_000), d("2026-11-29"));
        assert_eq!(Date::from_unix_ms(-1), d("1969-12-31"));
        assert_eq!(
            Date::from_unix_ms(951_782_400_000).to_string(),
            "2000-02-29"
        );
        for text in ["1900-03-01", "2000-02-29", "2026-11-29", "2100-12-31"] {
            let date = d(text);
            assert_eq!(Date::from_unix_ms(date.days() * 86_400_000), date, "{text}");
        }
    }
}

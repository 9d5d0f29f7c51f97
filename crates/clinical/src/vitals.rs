//! Flags on vital signs: whether a reading is outside the range used for the patient's age,
//! and which range that was (every flag carries it, so the clinician sees what was applied).
//!
//! The ranges are screening thresholds, not diagnoses:
//! - fever 37.5 °C and above, and fast breathing by age (60/min under 2 months, 50 under 12
//!   months, 40 under 5 years), as WHO's Integrated Management of Childhood Illness uses them;
//! - SpO2 below 94 %, and severe and moderate wasting by MUAC (below 11.5 cm and 12.5 cm, for
//!   children of 6 to 59 months), as WHO's guidelines use them;
//! - blood pressure from 13 years: 140/90 mmHg and above (WHO hypertension guideline, 2021),
//!   160/110 severe (as in pre-eclampsia), systolic below 90 low; younger children's blood
//!   pressure is not flagged (it needs height centiles);
//! - heart rate by age band (approximate awake bands from common paediatric references;
//!   60–100/min from 12 years), breathing 18–30/min at 5–11 years and 12–20 after, random
//!   glucose 70–199 mg/dL.
//!
//! Where the range depends on age and the age is not known, nothing is flagged: an adult's
//! range is never applied to a child.

use serde::{Deserialize, Serialize};

use crate::age::Age;

/// Which way a reading is out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Below the range.
    Low,
    /// Above the range.
    High,
}

/// A reading outside its range, and the range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Flag {
    /// Which way.
    pub level: Level,
    /// Which range, as a stable name the screens translate (`rr_12_59_months`).
    pub rule: String,
    /// The range used, in English as a person reads it ("20–39/min at 12–59 months (40 or
    /// more: fast breathing)"): what the CLI prints, and what a screen shows for a rule it
    /// has no words for.
    pub range: String,
}

fn flag(level: Level, rule: &str, range: &str) -> Flag {
    Flag {
        level,
        rule: rule.to_owned(),
        range: range.to_owned(),
    }
}

/// The flag for a reading of the vital with LOINC code `loinc` (`value2` the diastolic) in a
/// patient of `age` (calendar age when measured; `None`: unknown, and then no flag where the
/// range depends on age). `None` when in range, or when no range applies.
pub fn flag_for(loinc: &str, value: f64, value2: Option<f64>, age: Option<&Age>) -> Option<Flag> {
    // Completed calendar months and years: a child is 59 months old until the day before
    // their fifth birthday.
    let months = age.map(|a| a.years * 12 + a.months);
    let years = age.map(|a| a.years);
    match loinc {
        // Body temperature.
        "8310-5" => {
            if value >= 37.5 {
                Some(flag(
                    Level::High,
                    "temperature_fever",
                    "fever: 37.5 °C or more",
                ))
            } else if value < 35.5 {
                Some(flag(Level::Low, "temperature_low", "below 35.5 °C"))
            } else {
                None
            }
        }
        // Oxygen saturation.
        "59408-5" => (value < 94.0).then(|| flag(Level::Low, "spo2", "94 % or more")),
        "9279-1" => respiratory_rate(value, months?),
        // Heart rate (awake); age unknown, no flag.
        "8867-4" => pulse(value, years?),
        // Blood pressure from 13 years (and age unknown); 160/110 is severe.
        "85354-9" => {
            if years.is_some_and(|y| y < 13) {
                return None;
            }
            let diastolic = value2.unwrap_or(0.0);
            if value >= 160.0 || diastolic >= 110.0 {
                Some(flag(
                    Level::High,
                    "bp_severe",
                    "severe: 160/110 mmHg or more",
                ))
            } else if value >= 140.0 || diastolic >= 90.0 {
                Some(flag(Level::High, "bp_high", "140/90 mmHg or more"))
            } else if value < 90.0 {
                Some(flag(Level::Low, "bp_low", "systolic below 90 mmHg"))
            } else {
                None
            }
        }
        // Glucose (random), mg/dL.
        "2339-0" => band(
            value,
            70.0,
            199.0,
            "glucose_random",
            "70–199 mg/dL (random)",
        ),
        // Mid-upper arm circumference: children of 6–59 months only.
        "56072-2" => match months? {
            m if (6..60).contains(&m) => {
                if value < 11.5 {
                    Some(flag(
                        Level::Low,
                        "muac_severe",
                        "severe wasting: below 11.5 cm at 6–59 months",
                    ))
                } else if value < 12.5 {
                    Some(flag(
                        Level::Low,
                        "muac_moderate",
                        "moderate wasting: below 12.5 cm at 6–59 months",
                    ))
                } else {
                    None
                }
            }
            _ => None,
        },
        _ => None,
    }
}

/// Respiratory rate by age in completed months: IMCI's fast breathing under 5 (and very slow
/// breathing, never normal in a small child).
fn respiratory_rate(value: f64, months: u32) -> Option<Flag> {
    match months {
        m if m < 2 => band(
            value,
            30.0,
            59.0,
            "rr_under_2_months",
            "30–59/min under 2 months (60 or more: fast breathing)",
        ),
        m if m < 12 => band(
            value,
            25.0,
            49.0,
            "rr_2_11_months",
            "25–49/min at 2–11 months (50 or more: fast breathing)",
        ),
        m if m < 60 => band(
            value,
            20.0,
            39.0,
            "rr_12_59_months",
            "20–39/min at 12–59 months (40 or more: fast breathing)",
        ),
        m if m < 144 => band(
            value,
            18.0,
            30.0,
            "rr_5_11_years",
            "18–30/min at 5–11 years",
        ),
        _ => band(value, 12.0, 20.0, "rr_adult", "12–20/min"),
    }
}

/// Heart rate (awake) by age in completed years.
fn pulse(value: f64, years: u32) -> Option<Flag> {
    match years {
        0 => band(
            value,
            100.0,
            180.0,
            "pulse_under_1_year",
            "100–180/min under 1 year",
        ),
        1..=2 => band(
            value,
            90.0,
            150.0,
            "pulse_1_2_years",
            "90–150/min at 1–2 years",
        ),
        3..=5 => band(
            value,
            80.0,
            140.0,
            "pulse_3_5_years",
            "80–140/min at 3–5 years",
        ),
        6..=11 => band(
            value,
            70.0,
            120.0,
            "pulse_6_11_years",
            "70–120/min at 6–11 years",
        ),
        _ => band(value, 60.0, 100.0, "pulse_adult", "60–100/min"),
    }
}

/// Low below `lo`, high above `hi`, with the range (`rule`, `range`) named.
fn band(value: f64, lo: f64, hi: f64, rule: &str, range: &str) -> Option<Flag> {
    if value < lo {
        Some(flag(Level::Low, rule, range))
    } else if value > hi {
        Some(flag(Level::High, rule, range))
    } else {
        None
    }
}

/// Body mass index (kg/m², one decimal) from a weight in kg and a height in cm; `None` for a
/// height or weight that cannot be a person's.
pub fn bmi(weight_kg: f64, height_cm: f64) -> Option<f64> {
    if !(0.2..=400.0).contains(&weight_kg) || !(20.0..=260.0).contains(&height_cm) {
        return None;
    }
    let m = height_cm / 100.0;
    Some((weight_kg / (m * m) * 10.0).round() / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::age::{Date, age};

    const ADULT: &str = "1986-01-01";

    /// The flag's level for a reading on 2026-11-29 by someone born on `born`.
    fn level(loinc: &str, value: f64, value2: Option<f64>, born: &str) -> Option<Level> {
        let a = age(
            Date::parse(born).unwrap(),
            Date::parse("2026-11-29").unwrap(),
        );
        flag_for(loinc, value, value2, a.as_ref()).map(|f| f.level)
    }

    #[test]
    fn fever_and_oxygen_are_flagged_at_any_age() {
        assert_eq!(level("8310-5", 37.5, None, ADULT), Some(Level::High));
        assert_eq!(level("8310-5", 37.4, None, "2026-11-01"), None);
        assert_eq!(level("8310-5", 35.0, None, ADULT), Some(Level::Low));
        assert_eq!(
            flag_for("8310-5", 39.0, None, None).unwrap().level,
            Level::High
        );
        assert_eq!(level("59408-5", 93.0, None, "2025-10-01"), Some(Level::Low));
        assert_eq!(level("59408-5", 94.0, None, ADULT), None);
        assert!(
            flag_for("59408-5", 88.0, None, None)
                .unwrap()
                .range
                .contains("94")
        );
    }

    #[test]
    fn fast_breathing_follows_the_imci_thresholds_by_calendar_age() {
        // 6 weeks: 60/min is fast, 55 is not.
        assert_eq!(level("9279-1", 55.0, None, "2026-10-18"), None);
        assert_eq!(level("9279-1", 60.0, None, "2026-10-18"), Some(Level::High));
        // The day before the first birthday is still 11 months (50/min), the day itself 40.
        assert_eq!(level("9279-1", 45.0, None, "2025-11-30"), None);
        assert_eq!(level("9279-1", 45.0, None, "2025-11-29"), Some(Level::High));
        assert_eq!(level("9279-1", 39.0, None, "2023-11-29"), None);
        // Very slow breathing in a small child is flagged too.
        assert_eq!(level("9279-1", 8.0, None, "2023-11-29"), Some(Level::Low));
        assert_eq!(level("9279-1", 22.0, None, ADULT), Some(Level::High));
        // Age unknown: no adult range is put on what may be a child.
        assert_eq!(flag_for("9279-1", 50.0, None, None), None);
        assert_eq!(flag_for("8867-4", 150.0, None, None), None);
        let a = age(
            Date::parse("2024-11-29").unwrap(),
            Date::parse("2026-11-29").unwrap(),
        );
        let f = flag_for("9279-1", 45.0, None, a.as_ref()).unwrap();
        assert_eq!(
            f.range,
            "20–39/min at 12–59 months (40 or more: fast breathing)"
        );
    }

    #[test]
    fn blood_pressure_is_flagged_from_13_years_and_either_number_counts() {
        assert_eq!(
            level("85354-9", 142.0, Some(80.0), ADULT),
            Some(Level::High)
        );
        assert_eq!(
            level("85354-9", 128.0, Some(92.0), ADULT),
            Some(Level::High)
        );
        assert_eq!(level("85354-9", 139.0, Some(89.0), ADULT), None);
        assert_eq!(
            flag_for("85354-9", 85.0, Some(50.0), None).unwrap().level,
            Level::Low
        );
        // A pregnant 16-year-old's 170/115 is severe; a 10-year-old's is not judged here.
        let teen = age(
            Date::parse("2010-06-01").unwrap(),
            Date::parse("2026-11-29").unwrap(),
        );
        let f = flag_for("85354-9", 170.0, Some(115.0), teen.as_ref()).unwrap();
        assert!(f.range.starts_with("severe"), "{}", f.range);
        assert_eq!(level("85354-9", 150.0, Some(95.0), "2016-11-29"), None);
    }

    #[test]
    fn heart_rate_bands_change_with_age_and_muac_applies_to_6_to_59_months() {
        assert_eq!(
            level("8867-4", 170.0, None, "2026-08-01"),
            None,
            "an infant at 170"
        );
        assert_eq!(level("8867-4", 150.0, None, ADULT), Some(Level::High));
        assert_eq!(level("8867-4", 55.0, None, ADULT), Some(Level::Low));
        assert_eq!(
            level("8867-4", 125.0, None, "2018-01-01"),
            Some(Level::High)
        );
        assert_eq!(level("56072-2", 11.0, None, "2025-06-01"), Some(Level::Low));
        let severe = age(
            Date::parse("2025-06-01").unwrap(),
            Date::parse("2026-11-29").unwrap(),
        );
        assert!(
            flag_for("56072-2", 11.0, None, severe.as_ref())
                .unwrap()
                .range
                .starts_with("severe")
        );
        assert!(
            flag_for("56072-2", 12.0, None, severe.as_ref())
                .unwrap()
                .range
                .starts_with("moderate")
        );
        assert_eq!(level("56072-2", 12.5, None, "2025-06-01"), None);
        // The day before the fifth birthday is still 59 months: still screened.
        assert_eq!(level("56072-2", 11.0, None, "2021-11-30"), Some(Level::Low));
        assert_eq!(
            level("56072-2", 11.0, None, "2021-11-29"),
            None,
            "five years old"
        );
        assert_eq!(
            level("56072-2", 11.0, None, "2026-07-01"),
            None,
            "under 6 months"
        );
    }

    #[test]
    fn bmi_is_weight_over_height_squared() {
        assert_eq!(bmi(70.0, 175.0), Some(22.9));
        assert_eq!(bmi(95.0, 160.0), Some(37.1));
        assert_eq!(
            bmi(70.0, 1.75),
            None,
            "a height in metres is refused, not believed"
        );
    }
}

//! Flags on vital signs: whether a reading is outside the range used for the patient's age,
//! and which range that was (every flag carries it, so the clinician sees what was applied).
//!
//! The ranges are screening thresholds, not diagnoses:
//! - fever 37.5 °C and above, and fast breathing by age (60/min under 2 months, 50 under 12
//!   months, 40 under 5 years), as WHO's Integrated Management of Childhood Illness uses them;
//! - SpO2 below 94 %, and severe and moderate wasting by MUAC (below 11.5 cm and 12.5 cm, for
//!   children of 6 to 59 months), as WHO's guidelines use them;
//! - adult blood pressure 140/90 mmHg and above (WHO hypertension guideline, 2021), below 90
//!   systolic low; blood pressure in children is not flagged (it needs height centiles);
//! - heart rate by age band (approximate bands from common paediatric references; 60–100/min
//!   from 12 years), adult breathing 12–20/min, random glucose 70–199 mg/dL.

use serde::{Deserialize, Serialize};

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
    /// The range used, as a person reads it ("fast breathing: 40/min or more at 12–59 months").
    pub range: String,
}

fn flag(level: Level, range: &str) -> Flag {
    Flag {
        level,
        range: range.to_owned(),
    }
}

/// The flag for a reading of the vital with LOINC code `loinc` (`value2` the diastolic) in a
/// patient `age_days` old (`None`: age unknown, adult ranges where they are safe to assume,
/// none where age decides). `None` when in range, or when no range applies.
pub fn flag_for(
    loinc: &str,
    value: f64,
    value2: Option<f64>,
    age_days: Option<u32>,
) -> Option<Flag> {
    let months = age_days.map(|d| d / 30);
    let years = age_days.map(|d| d / 365);
    match loinc {
        // Body temperature.
        "8310-5" => {
            if value >= 37.5 {
                Some(flag(Level::High, "fever: 37.5 °C or more"))
            } else if value < 35.5 {
                Some(flag(Level::Low, "low: below 35.5 °C"))
            } else {
                None
            }
        }
        // Oxygen saturation.
        "59408-5" => (value < 94.0).then(|| Flag {
            level: Level::Low,
            range: "94 % or more".to_owned(),
        }),
        // Respiratory rate.
        "9279-1" => match months {
            Some(m) if m < 2 => (value >= 60.0)
                .then(|| flag(Level::High, "fast breathing: 60/min or more under 2 months")),
            Some(m) if m < 12 => (value >= 50.0)
                .then(|| flag(Level::High, "fast breathing: 50/min or more at 2–11 months")),
            Some(m) if m < 60 => (value >= 40.0).then(|| {
                flag(
                    Level::High,
                    "fast breathing: 40/min or more at 12–59 months",
                )
            }),
            Some(_) if years.is_some_and(|y| y < 12) => {
                band(value, 18.0, 30.0, "18–30/min at 5–11 years")
            }
            _ => band(value, 12.0, 20.0, "12–20/min"),
        },
        // Heart rate.
        "8867-4" => match years {
            Some(0) => band(value, 100.0, 160.0, "100–160/min under 1 year"),
            Some(1..=2) => band(value, 90.0, 150.0, "90–150/min at 1–2 years"),
            Some(3..=5) => band(value, 80.0, 140.0, "80–140/min at 3–5 years"),
            Some(6..=11) => band(value, 70.0, 120.0, "70–120/min at 6–11 years"),
            _ => band(value, 60.0, 100.0, "60–100/min"),
        },
        // Blood pressure: adults (and age unknown) only.
        "85354-9" => {
            if years.is_some_and(|y| y < 18) {
                return None;
            }
            let diastolic = value2.unwrap_or(0.0);
            if value >= 140.0 || diastolic >= 90.0 {
                Some(flag(Level::High, "high: 140/90 mmHg or more"))
            } else if value < 90.0 {
                Some(flag(Level::Low, "low: systolic below 90 mmHg"))
            } else {
                None
            }
        }
        // Glucose (random), mg/dL.
        "2339-0" => band(value, 70.0, 199.0, "70–199 mg/dL (random)"),
        // Mid-upper arm circumference: children of 6–59 months only.
        "56072-2" => match months {
            Some(m) if (6..60).contains(&m) => {
                if value < 11.5 {
                    Some(flag(
                        Level::Low,
                        "severe wasting: below 11.5 cm at 6–59 months",
                    ))
                } else if value < 12.5 {
                    Some(flag(
                        Level::Low,
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

/// Low below `lo`, high above `hi`, with `range` named.
fn band(value: f64, lo: f64, hi: f64, range: &str) -> Option<Flag> {
    if value < lo {
        Some(flag(Level::Low, range))
    } else if value > hi {
        Some(flag(Level::High, range))
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

    const ADULT: Option<u32> = Some(40 * 365);

    fn level(loinc: &str, value: f64, value2: Option<f64>, age_days: Option<u32>) -> Option<Level> {
        flag_for(loinc, value, value2, age_days).map(|f| f.level)
    }

    #[test]
    fn fever_and_oxygen_are_flagged_at_any_age() {
        assert_eq!(level("8310-5", 37.5, None, ADULT), Some(Level::High));
        assert_eq!(level("8310-5", 37.4, None, Some(30)), None);
        assert_eq!(level("8310-5", 35.0, None, None), Some(Level::Low));
        assert_eq!(level("59408-5", 93.0, None, Some(400)), Some(Level::Low));
        assert_eq!(level("59408-5", 94.0, None, ADULT), None);
        assert!(
            flag_for("59408-5", 88.0, None, None)
                .unwrap()
                .range
                .contains("94")
        );
    }

    #[test]
    fn fast_breathing_follows_the_imci_thresholds_by_age() {
        // 55/min: fast at 6 weeks? No (60 under 2 months). At 6 months: yes (50). At 3 years:
        // yes (40). An adult: yes (above 20).
        assert_eq!(level("9279-1", 55.0, None, Some(42)), None);
        assert_eq!(level("9279-1", 60.0, None, Some(42)), Some(Level::High));
        assert_eq!(level("9279-1", 50.0, None, Some(180)), Some(Level::High));
        assert_eq!(level("9279-1", 49.0, None, Some(180)), None);
        assert_eq!(
            level("9279-1", 40.0, None, Some(3 * 365)),
            Some(Level::High)
        );
        assert_eq!(level("9279-1", 39.0, None, Some(3 * 365)), None);
        assert_eq!(level("9279-1", 22.0, None, ADULT), Some(Level::High));
        let f = flag_for("9279-1", 45.0, None, Some(2 * 365)).unwrap();
        assert_eq!(f.range, "fast breathing: 40/min or more at 12–59 months");
    }

    #[test]
    fn blood_pressure_is_flagged_for_adults_only_and_either_number_counts() {
        assert_eq!(
            level("85354-9", 142.0, Some(80.0), ADULT),
            Some(Level::High)
        );
        assert_eq!(
            level("85354-9", 128.0, Some(92.0), ADULT),
            Some(Level::High)
        );
        assert_eq!(level("85354-9", 139.0, Some(89.0), ADULT), None);
        assert_eq!(level("85354-9", 85.0, Some(50.0), None), Some(Level::Low));
        assert_eq!(level("85354-9", 150.0, Some(95.0), Some(10 * 365)), None);
    }

    #[test]
    fn heart_rate_bands_change_with_age_and_muac_only_applies_to_small_children() {
        assert_eq!(level("8867-4", 150.0, None, Some(100)), None);
        assert_eq!(level("8867-4", 150.0, None, ADULT), Some(Level::High));
        assert_eq!(level("8867-4", 55.0, None, ADULT), Some(Level::Low));
        assert_eq!(level("56072-2", 11.0, None, Some(400)), Some(Level::Low));
        assert!(
            flag_for("56072-2", 11.0, None, Some(400))
                .unwrap()
                .range
                .starts_with("severe")
        );
        assert!(
            flag_for("56072-2", 12.0, None, Some(400))
                .unwrap()
                .range
                .starts_with("moderate")
        );
        assert_eq!(level("56072-2", 12.5, None, Some(400)), None);
        assert_eq!(level("56072-2", 11.0, None, ADULT), None);
        assert_eq!(
            level("56072-2", 11.0, None, Some(100)),
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

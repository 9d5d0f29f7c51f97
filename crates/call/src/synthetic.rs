//! Synthetic media for tests, the demo and machines without a camera or microphone: a moving
//! test pattern that carries its frame number and send time in its pixels, and a tone. The
//! pipeline behind them is the real one; these only stand in for the devices.
//!
//! # Pixel code
//!
//! The top band of the luma plane holds 96 bits (frame number: 32, send time in UTC ms: 64),
//! one bit per 16x16 block, black for 0 and white for 1, row-major. Blocks that large survive a
//! lossy video codec at low bitrates; the reader takes each block's mean and splits at 128.

/// An I420 picture: full-resolution luma, then quarter-resolution U and V.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct I420 {
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
    /// `width * height` luma, then `width/2 * height/2` U, then as much V.
    pub data: Vec<u8>,
}

impl I420 {
    /// A black picture.
    pub fn new(width: usize, height: usize) -> Self {
        let luma = width * height;
        let mut data = vec![0u8; luma + luma / 2];
        data[luma..].fill(128);
        Self {
            width,
            height,
            data,
        }
    }

    /// The luma plane.
    pub fn y(&self) -> &[u8] {
        &self.data[..self.width * self.height]
    }

    fn y_mut(&mut self) -> &mut [u8] {
        let n = self.width * self.height;
        &mut self.data[..n]
    }
}

/// Size of one code block.
const BLOCK: usize = 16;
/// Bits carried: frame number (32) and send time (64).
const BITS: usize = 96;

/// What a synthetic frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The frame's number, from 0.
    pub frame: u32,
    /// When it was made (UTC ms, as the sender's clock said).
    pub sent_ms: u64,
}

/// The moving test pattern.
#[derive(Debug, Clone)]
pub struct TestPattern {
    width: usize,
    height: usize,
    next: u32,
}

impl TestPattern {
    /// A pattern of `width` x `height` (even; wide enough for the code: at least 16 blocks of
    /// 16 pixels across and 6 rows of blocks down, e.g. 320x180).
    pub fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            next: 0,
        }
    }

    /// Changes the picture size (the call stepped its resolution); frame numbers go on.
    pub fn resize(&mut self, width: usize, height: usize) {
        self.width = width;
        self.height = height;
    }

    /// The size frames come at.
    pub fn size(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    /// The next frame, stamped with its number and `now_ms`.
    pub fn next_frame(&mut self, now_ms: u64) -> (I420, Stamp) {
        let stamp = Stamp {
            frame: self.next,
            sent_ms: now_ms,
        };
        self.next = self.next.wrapping_add(1);
        let mut pic = I420::new(self.width, self.height);
        let (w, h) = (self.width, self.height);
        // A diagonal gradient that moves a few pixels a frame, so every frame differs.
        let shift = (stamp.frame as usize * 4) % w.max(1);
        {
            let y = pic.y_mut();
            for row in 0..h {
                for col in 0..w {
                    y[row * w + col] = u8::try_from((col + row + shift) % 256).unwrap_or(0);
                }
            }
        }
        let luma = w * h;
        let (u, v) = pic.data[luma..].split_at_mut(luma / 4);
        let tint = u8::try_from(stamp.frame % 200).unwrap_or(0);
        u.fill(64 + tint / 2);
        v.fill(192 - tint / 2);
        write_stamp(&mut pic, stamp);
        (pic, stamp)
    }
}

fn bit_positions(width: usize) -> impl Iterator<Item = (usize, usize)> {
    let per_row = width / BLOCK;
    (0..BITS).map(move |i| ((i / per_row) * BLOCK, (i % per_row) * BLOCK))
}

fn write_stamp(pic: &mut I420, stamp: Stamp) {
    let mut value: u128 = u128::from(stamp.frame) << 64 | u128::from(stamp.sent_ms);
    let w = pic.width;
    let y = pic.y_mut();
    for (top, left) in bit_positions(w) {
        let bit = (value >> (BITS - 1)) & 1;
        value <<= 1;
        let shade = if bit == 1 { 235 } else { 16 };
        for row in top..top + BLOCK {
            y[row * w + left..row * w + left + BLOCK].fill(shade);
        }
    }
}

/// Reads the stamp a synthetic frame carries (after whatever codec it went through); `None`
/// when the picture is too small to hold one.
pub fn read_stamp(pic: &I420) -> Option<Stamp> {
    let w = pic.width;
    if w / BLOCK == 0 || (BITS.div_ceil(w / BLOCK)) * BLOCK > pic.height {
        return None;
    }
    let y = pic.y();
    let mut value: u128 = 0;
    for (top, left) in bit_positions(w) {
        // The block's inner part: codec ringing at its edges does not count.
        let mut sum = 0u32;
        for row in top + 4..top + BLOCK - 4 {
            sum += y[row * w + left + 4..row * w + left + BLOCK - 4]
                .iter()
                .map(|&p| u32::from(p))
                .sum::<u32>();
        }
        let mean = sum / 64;
        value = value << 1 | u128::from(mean >= 128);
    }
    Some(Stamp {
        frame: u32::try_from(value >> 64).ok()?,
        sent_ms: u64::try_from(value & u128::from(u64::MAX)).ok()?,
    })
}

/// A 440 Hz tone, 48 kHz mono, in 20 ms frames (960 samples), for the microphone's place.
#[derive(Debug, Clone, Default)]
pub struct Tone {
    sample: u64,
}

/// Samples per 20 ms at 48 kHz.
pub const TONE_FRAME: usize = 960;

impl Tone {
    /// The next 20 ms.
    pub fn next_frame(&mut self) -> Vec<i16> {
        (0..TONE_FRAME)
            .map(|_| {
                #[allow(clippy::cast_precision_loss)] // sample counts far below 2^52
                let t = self.sample as f64 / 48_000.0;
                self.sample += 1;
                #[allow(clippy::cast_possible_truncation)] // within i16 by construction
                let s = ((t * 440.0 * std::f64::consts::TAU).sin() * 8_000.0) as i16;
                s
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_round_trips_and_survives_noise() {
        let mut pattern = TestPattern::new(320, 180);
        for now in [0, 1_800_000_123_456, u64::MAX - 7] {
            let (mut pic, stamp) = pattern.next_frame(now);
            assert_eq!(read_stamp(&pic), Some(stamp));
            // Codec-like damage: every pixel off by up to ±40.
            for (i, p) in pic.data.iter_mut().enumerate() {
                let noise = i64::try_from(i * 7919 % 81).unwrap() - 40;
                *p = u8::try_from((i64::from(*p) + noise).clamp(0, 255)).unwrap();
            }
            assert_eq!(read_stamp(&pic), Some(stamp));
        }
        assert_eq!(pattern.next_frame(5).1.frame, 3);
    }

    #[test]
    fn frames_differ_and_tiny_pictures_carry_no_stamp() {
        let mut pattern = TestPattern::new(320, 180);
        let (a, _) = pattern.next_frame(1);
        let (b, _) = pattern.next_frame(1);
        assert_ne!(a.data, b.data);
        assert_eq!(read_stamp(&I420::new(64, 64)), None);
    }

    #[test]
    fn the_tone_is_periodic_and_not_silent() {
        let mut tone = Tone::default();
        let frame = tone.next_frame();
        assert_eq!(frame.len(), TONE_FRAME);
        assert!(frame.iter().any(|&s| s > 7_000) && frame.iter().any(|&s| s < -7_000));
    }
}

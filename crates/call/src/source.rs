//! Where a call's pictures and sound come from: the synthetic test pattern and tone, or (with
//! the `devices` feature) the camera and microphone. The send pipeline asks a source for the
//! next picture at the size the quality ladder chose and for the next 20 ms of sound; the
//! conversions a real device needs (YUYV to I420, scaling, stereo to mono, other sample rates
//! to 48 kHz) live here, as plain functions with tests, whatever the build.

use crate::synthetic::{I420, TONE_FRAME, TestPattern, Tone};

/// Pictures for the video track.
pub trait VideoSource: Send {
    /// The next picture at `width` x `height` (even), or `None` when the camera has no new one
    /// yet (or failed: then it says so through its own channel, and the call sends nothing).
    fn next_picture(&mut self, width: usize, height: usize, now_ms: u64) -> Option<I420>;
}

/// Sound for the audio track: 48 kHz mono.
pub trait AudioSource: Send {
    /// The next 20 ms ([`TONE_FRAME`] samples); silence where the device had nothing.
    fn next_samples(&mut self) -> Vec<i16>;
}

impl VideoSource for TestPattern {
    fn next_picture(&mut self, width: usize, height: usize, now_ms: u64) -> Option<I420> {
        if self.size() != (width, height) {
            self.resize(width, height);
        }
        Some(self.next_frame(now_ms).0)
    }
}

impl AudioSource for Tone {
    fn next_samples(&mut self) -> Vec<i16> {
        self.next_frame()
    }
}

/// No pictures: a camera that could not be opened.
#[derive(Debug, Clone, Copy)]
pub struct NoPictures;

impl VideoSource for NoPictures {
    fn next_picture(&mut self, _: usize, _: usize, _: u64) -> Option<I420> {
        None
    }
}

/// Silence: a microphone that could not be opened.
#[derive(Debug, Clone, Copy)]
pub struct Silence;

impl AudioSource for Silence {
    fn next_samples(&mut self) -> Vec<i16> {
        vec![0; TONE_FRAME]
    }
}

/// What feeds a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MediaInput {
    /// The test pattern and the tone (tests, the demo, machines without devices).
    #[default]
    Synthetic,
    /// The default camera and microphone (`devices` feature).
    #[cfg(feature = "devices")]
    Devices,
}

/// Packed YUYV 4:2:2 (`Y0 U Y1 V` per two pixels) to I420: every luma sample kept, chroma
/// averaged over each pair of rows. `width` and `height` must be even.
pub fn yuyv_to_i420(yuyv: &[u8], width: usize, height: usize) -> Option<I420> {
    if !width.is_multiple_of(2) || !height.is_multiple_of(2) || yuyv.len() < width * height * 2 {
        return None;
    }
    let mut pic = I420::new(width, height);
    let luma = width * height;
    let (luma_plane, chroma) = pic.data.split_at_mut(luma);
    let (u, v) = chroma.split_at_mut(luma / 4);
    let stride = width * 2;
    for row in 0..height {
        let line = &yuyv[row * stride..(row + 1) * stride];
        for (i, px) in line.chunks_exact(4).enumerate() {
            luma_plane[row * width + 2 * i] = px[0];
            luma_plane[row * width + 2 * i + 1] = px[2];
        }
    }
    for row in (0..height).step_by(2) {
        let (a, b) = (
            &yuyv[row * stride..(row + 1) * stride],
            &yuyv[(row + 1) * stride..(row + 2) * stride],
        );
        for i in 0..width / 2 {
            let at = (row / 2) * (width / 2) + i;
            u[at] = avg(a[4 * i + 1], b[4 * i + 1]);
            v[at] = avg(a[4 * i + 3], b[4 * i + 3]);
        }
    }
    Some(pic)
}

fn avg(a: u8, b: u8) -> u8 {
    u8::try_from((u16::from(a) + u16::from(b)).div_ceil(2)).unwrap_or(u8::MAX)
}

/// Scales an I420 picture to `width` x `height` (even) by nearest neighbour: cheap, and the
/// encoder's own filtering hides the blockiness at the small sizes a weak link asks for.
pub fn scale_i420(pic: &I420, width: usize, height: usize) -> I420 {
    if (pic.width, pic.height) == (width, height) {
        return pic.clone();
    }
    let mut out = I420::new(width, height);
    let plane = |src: &[u8], sw: usize, sh: usize, dst: &mut [u8], dw: usize, dh: usize| {
        for row in 0..dh {
            let sr = row * sh / dh;
            for col in 0..dw {
                dst[row * dw + col] = src[sr * sw + col * sw / dw];
            }
        }
    };
    let (sl, dl) = (pic.width * pic.height, width * height);
    let (sy, sc) = pic.data.split_at(sl);
    let (su, sv) = sc.split_at(sl / 4);
    let (dy, dc) = out.data.split_at_mut(dl);
    let (du, dv) = dc.split_at_mut(dl / 4);
    plane(sy, pic.width, pic.height, dy, width, height);
    let (sw, sh, dw, dh) = (pic.width / 2, pic.height / 2, width / 2, height / 2);
    plane(su, sw, sh, du, dw, dh);
    plane(sv, sw, sh, dv, dw, dh);
    out
}

/// Turns interleaved samples of `channels` channels at `rate` Hz into 48 kHz mono: channels
/// averaged, then resampled linearly. `carry` keeps the resampler's position between calls.
pub fn to_48k_mono(samples: &[f32], channels: usize, rate: u32, carry: &mut f64) -> Vec<i16> {
    let channels = channels.max(1);
    let mono: Vec<f32> = samples
        .chunks_exact(channels)
        .map(|c| {
            #[allow(clippy::cast_precision_loss)] // a handful of channels
            let n = channels as f32;
            c.iter().sum::<f32>() / n
        })
        .collect();
    let step = f64::from(rate) / 48_000.0;
    let mut out =
        Vec::with_capacity(mono.len() * 48_000 / usize::try_from(rate.max(1)).unwrap_or(1) + 1);
    #[allow(clippy::cast_precision_loss)] // buffer lengths far below 2^52
    let len = mono.len() as f64;
    while *carry < len {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // 0 <= carry < len
        let i = *carry as usize;
        #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)] // in 0..1
        let frac = (*carry - i as f64) as f32;
        let a = mono[i];
        let b = mono.get(i + 1).copied().unwrap_or(a);
        out.push(pcm16(a + (b - a) * frac));
        *carry += step;
    }
    *carry -= len;
    out
}

fn pcm16(x: f32) -> i16 {
    #[allow(clippy::cast_possible_truncation)] // clamped to the i16 range first
    let s = (x.clamp(-1.0, 1.0) * 32_767.0).round() as i16;
    s
}

/// Takes 20 ms from a buffer of 48 kHz mono samples, padding with silence when it runs short
/// (a device that stalled must not stall the call).
pub fn take_frame(buffer: &mut std::collections::VecDeque<i16>) -> Vec<i16> {
    let n = buffer.len().min(TONE_FRAME);
    let mut frame: Vec<i16> = buffer.drain(..n).collect();
    frame.resize(TONE_FRAME, 0);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_keeps_every_luma_sample_and_averages_chroma_over_two_rows() {
        // 4x2: row 0 Y = 10 20 30 40, U/V = 100/200 then 110/210; row 1 Y = 50.., U/V +2.
        let yuyv = [
            10, 100, 20, 200, 30, 110, 40, 210, //
            50, 102, 60, 202, 70, 112, 80, 212,
        ];
        let pic = yuyv_to_i420(&yuyv, 4, 2).unwrap();
        assert_eq!(pic.y(), [10, 20, 30, 40, 50, 60, 70, 80]);
        assert_eq!(&pic.data[8..10], [101, 111], "U");
        assert_eq!(&pic.data[10..12], [201, 211], "V");
        assert!(yuyv_to_i420(&yuyv[..15], 4, 2).is_none(), "short buffer");
        assert!(yuyv_to_i420(&yuyv, 3, 2).is_none(), "odd width");
    }

    #[test]
    fn scaling_halves_and_keeps_each_plane_in_place() {
        let mut pic = I420::new(4, 4);
        pic.data[..16].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
        pic.data[16..20].copy_from_slice(&[21, 22, 23, 24]);
        pic.data[20..24].copy_from_slice(&[31, 32, 33, 34]);
        let half = scale_i420(&pic, 2, 2);
        assert_eq!(half.data, [1, 3, 9, 11, 21, 31]);
        assert_eq!(scale_i420(&pic, 4, 4), pic);
        let big = scale_i420(&half, 4, 4);
        assert_eq!(&big.data[..4], [1, 1, 3, 3]);
    }

    #[test]
    fn stereo_44k1_becomes_48k_mono_without_drift() {
        // A constant 0.5 in one channel and 0 in the other: mono 0.25 everywhere.
        let mut carry = 0.0;
        let mut total = 0;
        for _ in 0..100 {
            let block = [0.5f32, 0.0].repeat(441);
            let out = to_48k_mono(&block, 2, 44_100, &mut carry);
            assert!(out.iter().all(|&s| (8_190..=8_193).contains(&s)), "{out:?}");
            total += out.len();
        }
        // 100 x 10 ms at 44.1 kHz is one second: 48 000 samples give or take one.
        assert!((47_999..=48_001).contains(&total), "{total}");
        assert_eq!(
            to_48k_mono(&[2.0, -2.0], 1, 48_000, &mut 0.0),
            [32_767, -32_767]
        );
    }

    #[test]
    fn a_short_buffer_is_padded_with_silence() {
        let mut buffer: std::collections::VecDeque<i16> = (1..=100).collect();
        let frame = take_frame(&mut buffer);
        assert_eq!(frame.len(), TONE_FRAME);
        assert_eq!(frame[99], 100);
        assert!(frame[100..].iter().all(|&s| s == 0));
        assert!(buffer.is_empty());
    }
}

//! The codecs a visit uses: H.264 (OpenH264, built from source) for video and Opus for audio.
//!
//! Both sides of a call run these same wrappers, so what is negotiated in SDP is what is
//! encoded here. The wrappers take and give plain buffers ([`I420`] pictures, 48 kHz mono
//! PCM), which keeps them usable without WebRTC: in the encode/decode tests, the benchmarks and
//! the media pipeline alike.

use crate::synthetic::I420;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder as H264Encoder, EncoderConfig, FrameRate, FrameType, RateControlMode,
    UsageType,
};
use openh264::formats::{YUVBuffer, YUVSource};

/// Opus sampling rate for calls.
pub const AUDIO_RATE: u32 = 48_000;
/// Samples in one 20 ms audio frame.
pub const AUDIO_FRAME: usize = 960;
/// Largest Opus packet we produce (RFC 6716 bounds a 20 ms frame well below this).
const MAX_OPUS_PACKET: usize = 1275;

/// Why a codec step failed. The messages name the step, never the media.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The picture's size is not one the encoder accepts (zero, odd, or the buffer is short).
    #[error("video frame is {width}x{height} with {len} bytes: not a valid I420 picture")]
    BadPicture {
        /// Width given.
        width: usize,
        /// Height given.
        height: usize,
        /// Bytes given.
        len: usize,
    },
    /// The H.264 encoder or decoder refused.
    #[error("H.264 {0} failed")]
    H264(&'static str),
    /// The Opus encoder or decoder refused.
    #[error("Opus {step} failed: {code}")]
    Opus {
        /// Which step.
        step: &'static str,
        /// Opus' own description of the error code.
        code: String,
    },
}

fn opus_err(step: &'static str) -> impl Fn(opus::Error) -> CodecError {
    move |e| CodecError::Opus {
        step,
        code: e.description().to_owned(),
    }
}

/// Video encoder settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSettings {
    /// Target bitrate in bits per second.
    pub bitrate_bps: u32,
    /// Frames per second the source produces.
    pub fps: u32,
}

/// One encoded video frame (Annex B byte stream: start codes, then NAL units).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedVideo {
    /// The frame's bytes; empty when the encoder skipped the frame to hold its bitrate.
    pub data: Vec<u8>,
    /// Whether the frame can be decoded on its own (an IDR frame with SPS/PPS).
    pub keyframe: bool,
}

/// H.264 encoder tuned for real-time camera video: rate control by bitrate, frame skipping
/// allowed (a late frame is worse than a dropped one), and no periodic keyframes (the receiver
/// asks for one with a picture loss indication when it needs it).
pub struct VideoEncoder {
    inner: H264Encoder,
    settings: VideoSettings,
}

impl std::fmt::Debug for VideoEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoEncoder")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn h264_encoder(settings: VideoSettings) -> Result<H264Encoder, CodecError> {
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(settings.bitrate_bps))
        .max_frame_rate(FrameRate::from_hz(f32::from(
            u16::try_from(settings.fps).unwrap_or(60),
        )))
        .usage_type(UsageType::CameraVideoRealTime)
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(true);
    H264Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|_| CodecError::H264("encoder setup"))
}

impl VideoEncoder {
    /// An encoder with these settings.
    pub fn new(settings: VideoSettings) -> Result<Self, CodecError> {
        Ok(Self {
            inner: h264_encoder(settings)?,
            settings,
        })
    }

    /// The current settings.
    pub fn settings(&self) -> VideoSettings {
        self.settings
    }

    /// Changes the target bitrate. OpenH264's safe API takes the bitrate at setup, so the
    /// encoder is rebuilt; the next frame is then a keyframe, which is why callers change the
    /// bitrate in steps a few seconds apart rather than on every estimate.
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        if bps == self.settings.bitrate_bps {
            return Ok(());
        }
        let settings = VideoSettings {
            bitrate_bps: bps,
            ..self.settings
        };
        self.inner = h264_encoder(settings)?;
        self.settings = settings;
        Ok(())
    }

    /// Makes the next frame a keyframe (the receiver lost a reference or just joined).
    pub fn request_keyframe(&mut self) {
        self.inner.force_intra_frame();
    }

    /// Encodes one picture.
    pub fn encode(&mut self, pic: &I420) -> Result<EncodedVideo, CodecError> {
        let (w, h) = (pic.width, pic.height);
        if w == 0 || h == 0 || w % 2 == 1 || h % 2 == 1 || pic.data.len() != w * h * 3 / 2 {
            return Err(CodecError::BadPicture {
                width: w,
                height: h,
                len: pic.data.len(),
            });
        }
        let yuv = YUVBuffer::from_vec(pic.data.clone(), w, h);
        let stream = self
            .inner
            .encode(&yuv)
            .map_err(|_| CodecError::H264("encode"))?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        let data = if matches!(stream.frame_type(), FrameType::Skip) {
            Vec::new()
        } else {
            stream.to_vec()
        };
        Ok(EncodedVideo { data, keyframe })
    }
}

/// H.264 decoder giving back [`I420`] pictures.
pub struct VideoDecoder {
    inner: openh264::decoder::Decoder,
}

impl std::fmt::Debug for VideoDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoDecoder").finish_non_exhaustive()
    }
}

impl VideoDecoder {
    /// A fresh decoder; it needs a keyframe before it shows anything.
    pub fn new() -> Result<Self, CodecError> {
        let inner = openh264::decoder::Decoder::with_api_config(
            OpenH264API::from_source(),
            openh264::decoder::DecoderConfig::new(),
        )
        .map_err(|_| CodecError::H264("decoder setup"))?;
        Ok(Self { inner })
    }

    /// Decodes one frame's bytes; `None` while the decoder has nothing to show yet (no
    /// keyframe seen).
    pub fn decode(&mut self, data: &[u8]) -> Result<Option<I420>, CodecError> {
        let Some(yuv) = self
            .inner
            .decode(data)
            .map_err(|_| CodecError::H264("decode"))?
        else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (sy, su, sv) = yuv.strides();
        let mut pic = I420::new(w, h);
        let luma = w * h;
        let (cw, ch) = (w / 2, h / 2);
        // The decoder's planes are padded to its strides; copy row by row into tight planes.
        let (y_out, chroma) = pic.data.split_at_mut(luma);
        let (u_out, v_out) = chroma.split_at_mut(cw * ch);
        copy_plane(yuv.y(), sy, y_out, w, h);
        copy_plane(yuv.u(), su, u_out, cw, ch);
        copy_plane(yuv.v(), sv, v_out, cw, ch);
        Ok(Some(pic))
    }
}

fn copy_plane(src: &[u8], stride: usize, dst: &mut [u8], width: usize, rows: usize) {
    for row in 0..rows {
        let from = &src[row * stride..row * stride + width];
        dst[row * width..(row + 1) * width].copy_from_slice(from);
    }
}

/// Opus encoder for speech: 48 kHz mono, 20 ms frames, in-band FEC on so one lost packet can
/// be rebuilt from the next.
pub struct AudioEncoder {
    inner: opus::Encoder,
}

impl std::fmt::Debug for AudioEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioEncoder").finish_non_exhaustive()
    }
}

impl AudioEncoder {
    /// An encoder at `bitrate_bps` (Opus handles speech well from about 12 kbit/s up).
    pub fn new(bitrate_bps: u32) -> Result<Self, CodecError> {
        let mut inner =
            opus::Encoder::new(AUDIO_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(opus_err("encoder setup"))?;
        inner
            .set_inband_fec(true)
            .map_err(opus_err("enabling FEC"))?;
        // FEC only helps when the encoder expects loss; 10 % is the usual planning figure for
        // rural mobile links.
        inner
            .set_packet_loss_perc(10)
            .map_err(opus_err("setting expected loss"))?;
        let mut this = Self { inner };
        this.set_bitrate(bitrate_bps)?;
        Ok(this)
    }

    /// Changes the target bitrate (takes effect on the next frame; no reset).
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        let bps = i32::try_from(bps).unwrap_or(i32::MAX);
        self.inner
            .set_bitrate(opus::Bitrate::Bits(bps))
            .map_err(opus_err("setting bitrate"))
    }

    /// Encodes one 20 ms frame of [`AUDIO_FRAME`] samples.
    pub fn encode(&mut self, pcm: &[i16]) -> Result<Vec<u8>, CodecError> {
        self.inner
            .encode_vec(pcm, MAX_OPUS_PACKET)
            .map_err(opus_err("encode"))
    }
}

/// Opus decoder with loss concealment.
pub struct AudioDecoder {
    inner: opus::Decoder,
}

impl std::fmt::Debug for AudioDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDecoder").finish_non_exhaustive()
    }
}

impl AudioDecoder {
    /// A fresh decoder.
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            inner: opus::Decoder::new(AUDIO_RATE, opus::Channels::Mono)
                .map_err(opus_err("decoder setup"))?,
        })
    }

    /// Decodes one packet into 20 ms of PCM.
    pub fn decode(&mut self, packet: &[u8]) -> Result<Vec<i16>, CodecError> {
        let mut out = vec![0i16; AUDIO_FRAME * 6];
        let n = self
            .inner
            .decode(packet, &mut out, false)
            .map_err(opus_err("decode"))?;
        out.truncate(n);
        Ok(out)
    }

    /// The frame before `next` was lost: rebuild it from `next`'s FEC data when it has some,
    /// and conceal it otherwise.
    pub fn recover(&mut self, next: Option<&[u8]>) -> Result<Vec<i16>, CodecError> {
        let mut out = vec![0i16; AUDIO_FRAME];
        let n = self
            .inner
            .decode(next.unwrap_or(&[]), &mut out, next.is_some())
            .map_err(opus_err("loss recovery"))?;
        out.truncate(n);
        Ok(out)
    }
}

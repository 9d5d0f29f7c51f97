//! The codecs round-trip synthetic media: the stamp in each test-pattern frame survives H.264
//! at visit bitrates, keyframes are where they should be, and Opus carries the tone.

use outpost_call::codec::{
    AUDIO_FRAME, AudioDecoder, AudioEncoder, CodecError, VideoDecoder, VideoEncoder, VideoSettings,
};
use outpost_call::synthetic::{I420, TestPattern, Tone, read_stamp};

fn settings(bitrate_bps: u32) -> VideoSettings {
    VideoSettings {
        bitrate_bps,
        fps: 15,
    }
}

#[test]
fn stamps_survive_h264_at_low_bitrate() {
    // 150 kbit/s at 320x180 is the floor the visit falls to on a 2G/3G-class link.
    let mut enc = VideoEncoder::new(settings(150_000)).unwrap();
    let mut dec = VideoDecoder::new().unwrap();
    let mut pattern = TestPattern::new(320, 180);
    let mut decoded = 0;
    let mut bytes = 0;
    for i in 0..60u64 {
        let (pic, stamp) = pattern.next_frame(1_700_000_000_000 + i * 66);
        let frame = enc.encode(&pic).unwrap();
        if i == 0 {
            assert!(
                frame.keyframe,
                "the first frame must be decodable on its own"
            );
        }
        if frame.data.is_empty() {
            continue; // skipped by rate control
        }
        bytes += frame.data.len();
        let out = dec
            .decode(&frame.data)
            .unwrap()
            .expect("a picture per frame");
        assert_eq!((out.width, out.height), (320, 180));
        assert_eq!(read_stamp(&out), Some(stamp), "frame {i}");
        decoded += 1;
    }
    assert!(decoded >= 50, "rate control skipped too much: {decoded}/60");
    // Four seconds at 150 kbit/s is 75 kB; allow the first keyframe's overshoot.
    assert!(
        bytes < 120_000,
        "encoder ignored its bitrate: {bytes} bytes"
    );
}

#[test]
fn keyframe_on_request_and_after_bitrate_change() {
    let mut enc = VideoEncoder::new(settings(500_000)).unwrap();
    let mut pattern = TestPattern::new(320, 180);
    let first = enc.encode(&pattern.next_frame(0).0).unwrap();
    assert!(first.keyframe);
    let second = enc.encode(&pattern.next_frame(66).0).unwrap();
    assert!(!second.keyframe, "no periodic keyframes");
    enc.request_keyframe();
    assert!(enc.encode(&pattern.next_frame(132).0).unwrap().keyframe);
    assert!(!enc.encode(&pattern.next_frame(198).0).unwrap().keyframe);
    enc.set_bitrate(250_000).unwrap();
    assert_eq!(enc.settings().bitrate_bps, 250_000);
    assert!(enc.encode(&pattern.next_frame(264).0).unwrap().keyframe);
}

#[test]
fn a_decoder_joining_late_waits_for_a_keyframe() {
    let mut enc = VideoEncoder::new(settings(500_000)).unwrap();
    let mut pattern = TestPattern::new(320, 180);
    let _missed = enc.encode(&pattern.next_frame(0).0).unwrap();
    let p = enc.encode(&pattern.next_frame(66).0).unwrap();
    let mut dec = VideoDecoder::new().unwrap();
    // A P-frame without its reference shows nothing (or fails); it never shows a wrong stamp.
    if let Ok(Some(pic)) = dec.decode(&p.data) {
        panic!(
            "decoded a P-frame with no reference: {:?}",
            read_stamp(&pic)
        );
    }
    enc.request_keyframe();
    let (pic, stamp) = pattern.next_frame(132);
    let k = enc.encode(&pic).unwrap();
    let mut dec = VideoDecoder::new().unwrap();
    let out = dec.decode(&k.data).unwrap().unwrap();
    assert_eq!(read_stamp(&out), Some(stamp));
}

#[test]
fn bad_pictures_are_refused_with_a_typed_error() {
    let mut enc = VideoEncoder::new(settings(300_000)).unwrap();
    let mut pic = I420::new(320, 180);
    pic.data.truncate(100);
    assert!(matches!(
        enc.encode(&pic),
        Err(CodecError::BadPicture { width: 320, .. })
    ));
    let odd = I420 {
        width: 321,
        height: 180,
        data: vec![0; 321 * 180 * 3 / 2],
    };
    assert!(matches!(
        enc.encode(&odd),
        Err(CodecError::BadPicture { .. })
    ));
}

fn energy(pcm: &[i16]) -> f64 {
    pcm.iter()
        .map(|&s| f64::from(s) * f64::from(s))
        .sum::<f64>()
        / f64::from(u32::try_from(pcm.len()).unwrap())
}

#[test]
fn opus_carries_the_tone_and_recovers_a_lost_frame() {
    let mut tone = Tone::default();
    let mut enc = AudioEncoder::new(24_000).unwrap();
    let mut dec = AudioDecoder::new().unwrap();
    let frames: Vec<Vec<i16>> = (0..50).map(|_| tone.next_frame()).collect();
    let packets: Vec<Vec<u8>> = frames.iter().map(|f| enc.encode(f).unwrap()).collect();
    // 24 kbit/s is 60 bytes per 20 ms frame on average.
    let total: usize = packets.iter().map(Vec::len).sum();
    assert!(
        total / packets.len() < 90,
        "{} bytes/frame",
        total / packets.len()
    );
    let mut out_energy = 0.0;
    for (i, p) in packets.iter().enumerate() {
        let pcm = if i == 30 {
            // Packet 30 is lost: rebuild it from 31's FEC.
            dec.recover(Some(&packets[31])).unwrap()
        } else {
            dec.decode(p).unwrap()
        };
        assert_eq!(pcm.len(), AUDIO_FRAME);
        if i >= 10 {
            out_energy += energy(&pcm);
        }
    }
    let in_energy: f64 = frames[10..].iter().map(|f| energy(f)).sum();
    let ratio = out_energy / in_energy;
    assert!((0.5..2.0).contains(&ratio), "tone energy ratio {ratio}");
}

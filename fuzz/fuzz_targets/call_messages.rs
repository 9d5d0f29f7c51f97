//! Fuzz every call decoder fed by the other device (through the relay or the data channel):
//! signals, control messages, chat and file-sharing messages, signaling frames, the share
//! state machine and the RTP frame reassembler. Never a panic; what decodes re-encodes to
//! exactly the same bytes. The first byte picks the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_call::control::Control;
use outpost_call::packet::{Reassembler, RtpIn};
use outpost_call::share::{Message, Share};
use outpost_call::signal::Signal;
use outpost_proto::relay::SignalFrame;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 6 {
        0 => {
            if let Ok(s) = Signal::decode(rest) {
                assert_eq!(s.encode(), rest);
            }
        }
        1 => {
            if let Ok(c) = Control::decode(rest) {
                assert_eq!(c.encode(), rest);
            }
        }
        2 => {
            if let Ok(m) = Message::decode(rest) {
                assert_eq!(m.encode(), rest);
            }
        }
        3 => {
            if let Ok(f) = SignalFrame::decode(rest) {
                assert_eq!(f.encode(), rest);
            }
        }
        4 => {
            // A hostile peer's data channel: any sequence of messages.
            let mut share = Share::new();
            for chunk in rest.split(|b| *b == 0xff) {
                let _ = share.on_message(chunk);
            }
        }
        _ => {
            // Arbitrary RTP payloads in arbitrary order.
            let mut r = Reassembler::new(150);
            for (i, chunk) in rest.chunks(8).enumerate() {
                if chunk.len() < 4 {
                    break;
                }
                let packet = RtpIn {
                    seq: u16::from_be_bytes([chunk[0], chunk[1]]),
                    timestamp: u32::from(chunk[2]) * 3000,
                    payload: &chunk[3..],
                };
                let _ = r.push(packet, i as u64 * 10);
            }
            let _ = r.poll(u64::MAX / 2);
        }
    }
});

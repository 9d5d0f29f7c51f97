//! The camera and the microphone (cargo feature `devices`): the first V4L2 camera in YUYV
//! (the format every UVC webcam offers) and the default input through cpal (ALSA on Linux).
//! Each device runs on a thread of its own that keeps only the newest picture, or the last
//! 200 ms of sound, so a slow or stalled device never holds up the call. Opening either says
//! in words what is wrong; it never falls back to the synthetic source, which a patient could
//! take for the other person.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::source::{AudioSource, VideoSource, scale_i420, take_frame, to_48k_mono, yuyv_to_i420};
use crate::synthetic::I420;

/// Why a device could not be used. Messages name the device kind and the system's reason,
/// never anything from the call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// No camera is connected (or this user may not open it).
    #[error("no camera found: {0}")]
    NoCamera(String),
    /// The camera offers no format Outpost can read.
    #[error("the camera does not offer YUYV pictures (it offers {0})")]
    CameraFormat(String),
    /// The camera failed while capturing.
    #[error("the camera stopped: {0}")]
    Camera(String),
    /// No microphone is connected.
    #[error("no microphone found")]
    NoMicrophone,
    /// The microphone could not be opened or failed.
    #[error("the microphone could not be used: {0}")]
    Microphone(String),
}

/// Lock a mutex even if a device thread panicked holding it (the data is a picture or samples).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs a device's thread and waits (up to 5 s) for it to say whether the device opened; on
/// no answer the thread is told to stop.
fn start_device(
    name: &str,
    stop: &AtomicBool,
    failed: fn(String) -> DeviceError,
    run: impl FnOnce(std::sync::mpsc::Sender<Result<(), DeviceError>>) + Send + 'static,
) -> Result<(), DeviceError> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || run(ready_tx))
        .map_err(|e| failed(e.to_string()))?;
    ready_rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| {
            stop.store(true, Ordering::Relaxed);
            Err(failed("it did not answer within 5 s".into()))
        })
}

/// The camera: the newest picture, taken at its own size and scaled to what the call asks.
pub struct Camera {
    latest: Arc<Mutex<Option<(u64, I420)>>>,
    failed: Arc<Mutex<Option<DeviceError>>>,
    stop: Arc<AtomicBool>,
    shown: u64,
}

impl std::fmt::Debug for Camera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Camera").finish_non_exhaustive()
    }
}

/// Asks the camera for this size; it answers with the nearest it has.
const CAMERA_ASK: (u32, u32) = (640, 360);

impl Camera {
    /// Opens `/dev/video<index>` and starts capturing.
    pub fn open(index: usize) -> Result<Self, DeviceError> {
        let latest = Arc::new(Mutex::new(None));
        let failed = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, f, s) = (latest.clone(), failed.clone(), stop.clone());
        start_device("outpost-camera", &stop, DeviceError::Camera, move |ready| {
            capture(index, &l, &s, &ready, &f);
        })?;
        Ok(Self {
            latest,
            failed,
            stop,
            shown: 0,
        })
    }

    /// What went wrong after it opened, if anything.
    pub fn failure(&self) -> Option<DeviceError> {
        lock(&self.failed).clone()
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl VideoSource for Camera {
    fn next_picture(&mut self, width: usize, height: usize, _now_ms: u64) -> Option<I420> {
        let guard = lock(&self.latest);
        let (n, pic) = guard.as_ref()?;
        if *n == self.shown {
            return None;
        }
        self.shown = *n;
        Some(scale_i420(pic, width, height))
    }
}

fn capture(
    index: usize,
    latest: &Mutex<Option<(u64, I420)>>,
    stop: &AtomicBool,
    ready: &std::sync::mpsc::Sender<Result<(), DeviceError>>,
    failed: &Mutex<Option<DeviceError>>,
) {
    use v4l::io::traits::CaptureStream as _;
    use v4l::video::Capture as _;
    let opened = (|| {
        let dev = v4l::Device::new(index).map_err(|e| DeviceError::NoCamera(e.to_string()))?;
        let asked = v4l::Format::new(CAMERA_ASK.0, CAMERA_ASK.1, v4l::FourCC::new(b"YUYV"));
        let format = dev
            .set_format(&asked)
            .map_err(|e| DeviceError::Camera(e.to_string()))?;
        if &format.fourcc.repr != b"YUYV" {
            return Err(DeviceError::CameraFormat(format.fourcc.to_string()));
        }
        Ok((dev, format))
    })();
    let (dev, format) = match opened {
        Ok(x) => x,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let (w, h) = (format.width as usize & !1, format.height as usize & !1);
    let mut stream =
        match v4l::prelude::MmapStream::with_buffers(&dev, v4l::buffer::Type::VideoCapture, 4) {
            Ok(s) => s,
            Err(e) => {
                let _ = ready.send(Err(DeviceError::Camera(e.to_string())));
                return;
            }
        };
    let _ = ready.send(Ok(()));
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match stream.next() {
            Ok((buf, _)) => {
                if let Some(pic) = yuyv_to_i420(buf, w, h) {
                    n += 1;
                    *lock(latest) = Some((n, pic));
                }
            }
            Err(e) => {
                *lock(failed) = Some(DeviceError::Camera(e.to_string()));
                return;
            }
        }
    }
}

/// The microphone: 48 kHz mono, whatever the device delivers.
pub struct Microphone {
    buffer: Arc<Mutex<VecDeque<i16>>>,
    failed: Arc<Mutex<Option<DeviceError>>>,
    stop: Arc<AtomicBool>,
    /// Callbacks seen (a microphone that never calls back is as good as absent).
    pub callbacks: Arc<AtomicU64>,
}

impl std::fmt::Debug for Microphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microphone").finish_non_exhaustive()
    }
}

/// Most sound kept waiting (200 ms): older samples are dropped, so a stall never turns into
/// a growing delay.
const MAX_BUFFERED: usize = 9_600;

impl Microphone {
    /// Opens the default input device and starts capturing.
    pub fn open() -> Result<Self, DeviceError> {
        let buffer = Arc::new(Mutex::new(VecDeque::new()));
        let failed = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let callbacks = Arc::new(AtomicU64::new(0));
        let (buf, fail, halt, count) = (
            buffer.clone(),
            failed.clone(),
            stop.clone(),
            callbacks.clone(),
        );
        start_device(
            "outpost-microphone",
            &stop,
            DeviceError::Microphone,
            move |ready| {
                // The stream lives on this thread until the call drops the microphone.
                match open_input(buf, fail, count) {
                    Ok(stream) => {
                        let _ = ready.send(Ok(()));
                        while !halt.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        drop(stream);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                    }
                }
            },
        )?;
        Ok(Self {
            buffer,
            failed,
            stop,
            callbacks,
        })
    }

    /// What went wrong after it opened, if anything.
    pub fn failure(&self) -> Option<DeviceError> {
        lock(&self.failed).clone()
    }
}

impl Drop for Microphone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl AudioSource for Microphone {
    fn next_samples(&mut self) -> Vec<i16> {
        take_frame(&mut lock(&self.buffer))
    }
}

fn open_input(
    buffer: Arc<Mutex<VecDeque<i16>>>,
    failed: Arc<Mutex<Option<DeviceError>>>,
    callbacks: Arc<AtomicU64>,
) -> Result<cpal::Stream, DeviceError> {
    use cpal::traits::{DeviceTrait as _, HostTrait as _, StreamTrait as _};
    let mic = |e: cpal::Error| DeviceError::Microphone(e.to_string());
    let device = cpal::default_host()
        .default_input_device()
        .ok_or(DeviceError::NoMicrophone)?;
    let supported = device.default_input_config().map_err(mic)?;
    let config = supported.config();
    let (channels, rate) = (usize::from(config.channels), config.sample_rate);
    let mut carry = 0.0;
    let mut push = move |samples: &[f32]| {
        callbacks.fetch_add(1, Ordering::Relaxed);
        let mono = to_48k_mono(samples, channels, rate, &mut carry);
        let mut b = lock(&buffer);
        b.extend(mono);
        let excess = b.len().saturating_sub(MAX_BUFFERED);
        b.drain(..excess);
    };
    let on_error = move |e: cpal::Error| {
        *lock(&failed) = Some(DeviceError::Microphone(e.to_string()));
    };
    let stream = match supported.sample_format() {
        cpal::SampleFormat::F32 => device.build_input_stream(
            config,
            move |data: &[f32], _: &cpal::InputCallbackInfo| push(data),
            on_error,
            None,
        ),
        cpal::SampleFormat::I16 => device.build_input_stream(
            config,
            move |data: &[i16], _: &cpal::InputCallbackInfo| {
                let f: Vec<f32> = data.iter().map(|&s| f32::from(s) / 32_768.0).collect();
                push(&f);
            },
            on_error,
            None,
        ),
        other => {
            return Err(DeviceError::Microphone(format!(
                "it delivers {other} samples; Outpost reads f32 and i16"
            )));
        }
    }
    .map_err(mic)?;
    stream.play().map_err(mic)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This machine has neither: opening each says so in words, and nothing falls back.
    #[test]
    fn a_machine_without_devices_gets_clear_errors() {
        if std::path::Path::new("/dev/video0").exists() {
            return; // a developer's laptop with a camera: nothing to check here
        }
        let e = Camera::open(0).unwrap_err();
        assert!(matches!(e, DeviceError::NoCamera(_)), "{e:?}");
        assert!(e.to_string().starts_with("no camera found"), "{e}");
        if std::path::Path::new("/proc/asound/cards").exists() {
            return;
        }
        let e = Microphone::open().unwrap_err();
        assert!(
            matches!(e, DeviceError::NoMicrophone | DeviceError::Microphone(_)),
            "{e:?}"
        );
    }
}

//! A call over a real kernel link: two `outpost` processes in separate network namespaces,
//! joined by a veth pair whose both ends get a `tc qdisc tbf` rate cap. 64 kbit/s steps the
//! call down to audio only within 10 s on both sides; lifting the cap brings video back within
//! 30 s. (This kernel has `tbf` but no `netem`: delay and loss are emulated in user space in
//! `crates/call/tests/impair.rs`.) Namespaces need root, as `make test` runs here; elsewhere set
//! `OUTPOST_NO_NETNS=1` to leave this test out knowingly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use outpost_tests::scenario::{Device, Relay, physicians_in_workspace};

/// A network namespace and the veth pair into it; removed on drop.
struct Link {
    ns: String,
    host_if: String,
    ns_if: String,
    host_ip: String,
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Link {
    fn create() -> Self {
        let id = std::process::id() % 10_000;
        let subnet = 100 + id % 150;
        let link = Self {
            ns: format!("outpost-call-{id}"),
            host_if: format!("opc{id}h"),
            ns_if: format!("opc{id}n"),
            host_ip: format!("10.213.{subnet}.1"),
        };
        let ns_ip = format!("10.213.{subnet}.2");
        sh(&["ip", "netns", "add", &link.ns]);
        sh(&[
            "ip",
            "link",
            "add",
            &link.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &link.ns_if,
        ]);
        sh(&["ip", "link", "set", &link.ns_if, "netns", &link.ns]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", link.host_ip),
            "dev",
            &link.host_if,
        ]);
        sh(&["ip", "link", "set", &link.host_if, "up"]);
        let inside = |args: &[&str]| {
            let mut all = vec!["ip", "netns", "exec", &link.ns];
            all.extend_from_slice(args);
            sh(&all);
        };
        inside(&[
            "ip",
            "addr",
            "add",
            &format!("{ns_ip}/24"),
            "dev",
            &link.ns_if,
        ]);
        inside(&["ip", "link", "set", &link.ns_if, "up"]);
        inside(&["ip", "link", "set", "lo", "up"]);
        link
    }

    /// Caps both directions at `kbit` kbit/s (a queue of at most 200 ms, then drops).
    fn cap(&self, kbit: u32) {
        let rate = format!("{kbit}kbit");
        self.qdisc(
            "replace",
            &[
                "root", "tbf", "rate", &rate, "burst", "4kb", "latency", "200ms",
            ],
        );
    }

    fn lift(&self) {
        self.qdisc("del", &["root"]);
    }

    /// `tc qdisc VERB dev END REST` on both ends of the veth pair.
    fn qdisc(&self, verb: &str, rest: &[&str]) {
        for (netns, dev) in [(None, &self.host_if), (Some(&self.ns), &self.ns_if)] {
            let mut args: Vec<&str> = match netns {
                Some(ns) => vec!["ip", "netns", "exec", ns],
                None => Vec::new(),
            };
            args.extend(["tc", "qdisc", verb, "dev", dev]);
            args.extend_from_slice(rest);
            sh(&args);
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

/// A running call process whose stderr lines arrive with the time they were printed.
struct Watched {
    child: Child,
    lines: mpsc::Receiver<(Instant, String)>,
    seen: Vec<(Instant, String)>,
}

impl Watched {
    fn spawn(mut command: Command, who: &'static str) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start outpost");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("  [{who}] {line}");
                let _ = tx.send((Instant::now(), line));
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// When a line containing `text` was printed at or after `since`, waiting up to `within`.
    fn until(&mut self, text: &str, since: Instant, within: Duration) -> Option<Duration> {
        let deadline = Instant::now() + within;
        loop {
            if let Some((t, _)) = self
                .seen
                .iter()
                .find(|(t, l)| *t >= since && l.contains(text))
            {
                return Some(t.saturating_duration_since(since));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => return None,
            }
        }
    }
}

impl Drop for Watched {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

#[test]
fn a_64_kbit_kernel_rate_cap_steps_the_call_to_audio_only_and_back() {
    if std::env::var_os("OUTPOST_NO_NETNS").is_some() {
        eprintln!("OUTPOST_NO_NETNS is set: the kernel-link call test is left out");
        return;
    }
    assert!(
        is_root(),
        "network namespaces need root: run as root (as `make test` does on the CI machine), \
         or set OUTPOST_NO_NETNS=1 to leave this test out"
    );
    let root = tempfile::tempdir().unwrap();
    let (link, _relay, a, b, b_user) = setup(root.path());
    let stats_of = |side: &str| root.path().join(format!("{side}.json"));
    let call_args = |first: &[&'static str], side: &str| -> Vec<String> {
        let mut v: Vec<String> = first.iter().map(|s| (*s).to_owned()).collect();
        v.extend(["--synthetic", "--duration", "55s", "--wait", "60s"].map(str::to_owned));
        v.extend([
            "--stats-json".to_owned(),
            stats_of(side).display().to_string(),
        ]);
        v
    };
    let answer_args = call_args(&["call", "answer"], "b");
    let mut callee = Watched::spawn(
        b.command_in(
            Some(&link.ns),
            &answer_args.iter().map(String::as_str).collect::<Vec<_>>(),
        ),
        "b, in the namespace",
    );
    assert!(
        callee
            .until("Waiting for a call", Instant::now(), Duration::from_mins(1))
            .is_some(),
        "the callee in the namespace reached the relay"
    );
    let mut start_args = call_args(&["call", "start"], "a");
    start_args.extend(["--to".to_owned(), b_user]);
    let mut caller = Watched::spawn(
        a.command(&start_args.iter().map(String::as_str).collect::<Vec<_>>()),
        "a",
    );
    let begun = Instant::now();
    assert!(
        caller
            .until("Connected", begun, Duration::from_secs(20))
            .is_some(),
        "the call connected across the veth pair"
    );
    std::thread::sleep(Duration::from_secs(4));

    let capped = Instant::now();
    link.cap(64);
    let down_a = caller.until(
        "Video paused: the connection is weak",
        capped,
        Duration::from_secs(10),
    );
    let down_b = callee.until(
        "Video paused: the connection is weak",
        capped,
        Duration::from_secs(10),
    );
    eprintln!("under a 64 kbit/s tbf cap: audio only after {down_a:?} (a), {down_b:?} (b)");
    assert!(
        down_a.is_some() && down_b.is_some(),
        "both sides step down to audio only within 10 s"
    );
    std::thread::sleep(Duration::from_secs(5));

    let lifted = Instant::now();
    link.lift();
    let up_a = caller.until("Video is back", lifted, Duration::from_secs(30));
    let up_b = callee.until("Video is back", lifted, Duration::from_secs(30));
    eprintln!("cap lifted: video back after {up_a:?} (a), {up_b:?} (b)");
    assert!(
        up_a.is_some() && up_b.is_some(),
        "video comes back within 30 s on both sides"
    );
    assert!(
        caller
            .until("Call ended", begun, Duration::from_mins(1))
            .is_some()
            && callee
                .until("Call ended", begun, Duration::from_mins(1))
                .is_some(),
        "the call ran to its end on both sides (it never dropped)"
    );
    let ended = caller
        .seen
        .iter()
        .find(|(_, l)| l.contains("Call ended"))
        .unwrap();
    assert!(ended.1.contains("hung_up"), "{}", ended.1);
    let _ = (caller.child.wait(), callee.child.wait());
    for side in ["a", "b"] {
        check_stats(&stats_of(side), side);
    }
}

/// Audio went on through the capped stretch, and the audio-only period is on record.
fn check_stats(path: &std::path::Path, side: &str) {
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("stats written")).unwrap();
    let audio = &s["audio"];
    let (sent, decoded) = (
        audio["frames_sent"].as_u64().unwrap(),
        audio["frames_decoded"].as_u64().unwrap(),
    );
    eprintln!(
        "{side}: audio {decoded} decoded, {sent} sent; {}",
        s["audio_only_periods"]
    );
    // 55 s of 20 ms frames is 2750; audio kept going through the capped stretch.
    assert!(decoded > 2_200, "{side}: audio decoded {decoded}: {s}");
    let periods = s["audio_only_periods"].as_array().unwrap();
    assert!(
        periods
            .iter()
            .any(|p| p["reason"] == "weak_link" && p["end_ms"].is_u64()),
        "{side}: a weak-link audio-only period with its end: {periods:?}"
    );
}

/// The namespace link, a relay on its host end, and two physicians' devices (and the second's
/// user id, to call).
fn setup(root: &std::path::Path) -> (Link, Relay, Device, Device, String) {
    let link = Link::create();
    // The relay listens on the host end of the veth, so the namespace can reach it.
    let relay = Relay::start_on(&root.join("relay"), &format!("{}:0", link.host_ip), &[]);
    let (a, b): (Device, Device) =
        physicians_in_workspace(root, &relay.url, ("a", "Dr Adjei"), ("b", "Dr Bello"));
    let members = b.json(&["workspace", "members"]);
    let b_user = members
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "you")
        .and_then(|m| m["user"].as_str())
        .unwrap()
        .to_owned();
    (link, relay, a, b, b_user)
}

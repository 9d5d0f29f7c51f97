//! Real processes for sync scenarios: a relay (`outpost relay serve`) on loopback that can be
//! stopped, killed and restarted on the same data, and devices driven through the `outpost`
//! command line as a clinic's scripts would.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

/// The built `outpost` binary (`cargo test --workspace` builds it before running tests).
pub fn outpost_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("OUTPOST_BIN") {
        return PathBuf::from(bin);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let debug = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from <target>/<profile>/deps");
    let bin = debug.join("outpost");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p outpost-cli` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

/// A relay process.
#[derive(Debug)]
pub struct Relay {
    child: Option<Child>,
    /// Its data directory.
    pub data: PathBuf,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    listen: String,
    /// More `relay serve` options.
    extra: Vec<String>,
}

impl Relay {
    /// Starts a relay on a free loopback port with its data in `data`.
    pub fn start(data: &Path) -> Self {
        Self::start_with(data, &[])
    }

    /// Starts a relay with more `relay serve` options (a TURN server, say).
    pub fn start_with(data: &Path, extra: &[&str]) -> Self {
        Self::start_on(data, "127.0.0.1:0", extra)
    }

    /// Starts a relay listening on `listen` (an address other namespaces can reach, say).
    pub fn start_on(data: &Path, listen: &str, extra: &[&str]) -> Self {
        let mut relay = Self {
            child: None,
            data: data.to_owned(),
            url: String::new(),
            listen: listen.into(),
            extra: extra.iter().map(|&s| s.to_owned()).collect(),
        };
        relay.spawn();
        relay
    }

    fn spawn(&mut self) {
        let mut child = Command::new(outpost_bin())
            .args(["relay", "serve", "--listen", &self.listen, "--data"])
            .arg(&self.data)
            .args(&self.extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the relay");
        let stdout = child.stdout.take().expect("relay stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the relay's first line");
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        // Restarts reuse the port, so devices keep the URL their invite carried.
        url.trim_start_matches("http://")
            .clone_into(&mut self.listen);
        self.url = url;
        self.child = Some(child);
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, then waits for it to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().expect("a running relay");
        signal(c.id(), "TERM");
        c.wait().expect("the relay exits")
    }

    /// Starts it again on the same address and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop it first");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port may linger a moment after a kill.
            match std::net::TcpListener::bind(&self.listen) {
                Ok(l) => {
                    drop(l);
                    break;
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("port {} stays taken: {e}", self.listen),
            }
        }
        self.spawn();
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Sends a signal by name with `kill`.
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status();
}

/// One device: a profile directory driven through the command line.
#[derive(Debug, Clone)]
pub struct Device {
    /// The profile directory.
    pub dir: PathBuf,
    /// Outside anchors.
    pub anchors: PathBuf,
    /// The passphrase.
    pub passphrase: String,
}

impl Device {
    /// A device in `root/name` (nothing created yet).
    pub fn new(root: &Path, name: &str, passphrase: &str) -> Self {
        Self {
            dir: root.join(name),
            // Where the desktop shell's tests put them too (`<data dir>.anchors`).
            anchors: root.join(format!("{name}.anchors")),
            passphrase: passphrase.to_owned(),
        }
    }

    /// The command, with this device's profile and passphrase.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_in(None, args)
    }

    /// The command run inside network namespace `netns` (`ip netns exec`), or here.
    pub fn command_in(&self, netns: Option<&str>, args: &[&str]) -> Command {
        let mut c = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(outpost_bin());
                c
            }
            None => Command::new(outpost_bin()),
        };
        c.arg("--profile")
            .arg(&self.dir)
            .args(args)
            .env("OUTPOST_PASSPHRASE", &self.passphrase)
            .env("OUTPOST_ANCHOR_DIR", &self.anchors)
            .env_remove("OUTPOST_USER");
        c
    }

    /// Runs a command; returns its output whatever the exit code.
    pub fn try_run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run outpost")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "outpost {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs with `--json` and parses the output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.run(&all)).expect("JSON output")
    }
}

/// Two physicians' devices in one workspace through `relay_url`: `first` founds it and invites
/// `second`, who joins and is admitted at the next syncs. Each is `(directory, display name)`;
/// the passphrase is `"passphrase of <directory>"`.
pub fn physicians_in_workspace(
    root: &Path,
    relay_url: &str,
    first: (&str, &str),
    second: (&str, &str),
) -> (Device, Device) {
    let a = Device::new(root, first.0, &format!("passphrase of {}", first.0));
    let b = Device::new(root, second.0, &format!("passphrase of {}", second.0));
    a.run(&["init", "--name", first.1, "--role", "physician"]);
    b.run(&["init", "--name", second.1, "--role", "physician"]);
    a.run(&[
        "workspace",
        "create",
        "--name",
        "Riverside",
        "--relay",
        relay_url,
    ]);
    let code = a.run(&["workspace", "invite", "--role", "physician"]);
    a.run(&["sync"]);
    b.run(&["workspace", "join", code.trim()]);
    for d in [&a, &b, &a, &b] {
        d.run(&["sync"]);
    }
    (a, b)
}

/// Opens a session for `device` on the relay behind `client` (founding `workspace` first when
/// `found`), as a device does, by signing the relay's challenges. Returns the bearer token.
pub async fn relay_session(
    client: &outpost_core::net::RelayClient,
    workspace: outpost_proto::WorkspaceId,
    device: &outpost_crypto::DeviceIdentity,
    found: bool,
) -> [u8; 32] {
    use outpost_proto::relay::{self, CreateWorkspace, OpenSession};
    use outpost_sync::{Outgoing, Request, Response};
    let identity = device.public().to_bytes();
    let nonce = async || match client
        .send(&Outgoing {
            request: Request::Challenge,
            token: None,
        })
        .await
    {
        Ok(Response::Challenge(c)) => c.nonce,
        other => panic!("no challenge: {other:?}"),
    };
    if found {
        let n = nonce().await;
        let signature = device.sign(&relay::signed_challenge(
            relay::CREATE_CONTEXT,
            &workspace,
            &n,
            &identity,
            &[],
        ));
        client
            .send(&Outgoing {
                request: Request::CreateWorkspace(CreateWorkspace {
                    workspace,
                    identity,
                    nonce: n,
                    signature,
                }),
                token: None,
            })
            .await
            .expect("founding the workspace");
    }
    let n = nonce().await;
    let signature = device.sign(&relay::signed_challenge(
        relay::SESSION_CONTEXT,
        &workspace,
        &n,
        &identity,
        &[],
    ));
    match client
        .send(&Outgoing {
            request: Request::OpenSession(OpenSession {
                workspace,
                identity,
                nonce: n,
                signature,
            }),
            token: None,
        })
        .await
    {
        Ok(Response::Session(s)) => s.token,
        other => panic!("no session: {other:?}"),
    }
}

/// A coturn TURN server on loopback (Debian's `coturn`, installed by `scripts/setup.sh`),
/// checking credentials in the REST format against a shared secret.
#[derive(Debug)]
pub struct Turn {
    child: Child,
    /// `turn:127.0.0.1:PORT?transport=udp`.
    pub url: String,
    /// The file holding the shared secret (for `relay serve --turn-secret-file`).
    pub secret_file: PathBuf,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Turn {
    /// Starts `turnserver` with its files in `dir`; returns once it serves.
    pub fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let secret = "turn-secret-for-tests-only-0123456789";
        let secret_file = dir.join("turn-secret");
        std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
        // A free UDP port (coturn listens on UDP and TCP at it).
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip=127.0.0.1",
                "--relay-ip=127.0.0.1",
                &format!("--listening-port={port}"),
                "--use-auth-secret",
                &format!("--static-auth-secret={secret}"),
                "--realm=outpost.test",
                // Both peers are on this machine: let the relay reach loopback (tests only).
                "--allow-loopback-peers",
                "--no-tls",
                "--no-dtls",
                "--no-cli",
                "--log-file=stdout",
                "--simple-log",
                "--verbose",
            ])
            .arg(format!(
                "--pidfile={}",
                dir.join("turnserver.pid").display()
            ))
            .arg(format!("--userdb={}", dir.join("turndb").display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start turnserver (scripts/setup.sh installs coturn)");
        let stdout = child.stdout.take().expect("turnserver stdout");
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Total General servers") {
                    let _ = ready_tx.send(());
                }
                lines.lock().unwrap().push(line);
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("turnserver started");
        Self {
            child,
            url: format!("turn:127.0.0.1:{port}?transport=udp"),
            secret_file,
            log,
        }
    }

    /// What it logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

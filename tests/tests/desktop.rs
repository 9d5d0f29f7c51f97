//! The real desktop binary in a real window (under Xvfb on a headless machine), driven over
//! WebDriver through tauri-driver and WebKitWebDriver.
//!
//! Needs: a display, `tauri-driver` on PATH, the built UI and app binary. `make test-desktop`
//! provides all three; the binary path comes from `OUTPOST_DESKTOP_BIN`.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};

/// A running tauri-driver, stopped with SIGTERM on drop: SIGKILL would orphan WebKitWebDriver.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(data_dir: &std::path::Path) -> Self {
        let port = free_port();
        let native_port = free_port();
        let child = Command::new("tauri-driver")
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            // The app inherits this environment through WebKitWebDriver.
            .env("OUTPOST_DATA_DIR", data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tauri-driver on PATH (cargo install tauri-driver --locked); `make test-desktop` installs it");
        Self { child, port }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn app_binary() -> PathBuf {
    let path = std::env::var_os("OUTPOST_DESKTOP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| outpost_tests::workspace_root().join("target/debug/outpost-desktop"));
    assert!(
        path.is_file(),
        "desktop binary not found at {}; build it or set OUTPOST_DESKTOP_BIN",
        path.display()
    );
    path
}

async fn connect(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app_binary() }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    // tauri-driver needs a moment to listen.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return client,
            Err(err) if Instant::now() < deadline => {
                let _ = err;
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(err) => panic!("cannot open a WebDriver session on {url}: {err}"),
        }
    }
}

async fn text_of(client: &Client, test_id: &str) -> String {
    let selector = format!("[data-testid='{test_id}']");
    let element = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(&selector))
        .await
        .unwrap_or_else(|e| panic!("{test_id} never appeared: {e}"));
    element.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_window_shows_what_the_real_core_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("clinic-profile");
    let driver = Driver::start(&data_dir);
    let client = connect(&driver).await;

    let result = async {
        let title = text_of(&client, "build-title").await;
        assert!(
            title.starts_with(&format!("Outpost {}", env!("CARGO_PKG_VERSION"))),
            "title {title:?} does not carry the real version"
        );

        client
            .find(Locator::Css("[data-testid='nav-about']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(
            text_of(&client, "app-version").await,
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(
            text_of(&client, "app-data-dir").await,
            data_dir.display().to_string()
        );
        assert_eq!(text_of(&client, "app-profile").await, "notCreated");
        assert!(
            data_dir.is_dir(),
            "the real core created the data directory"
        );

        if let Some(path) = std::env::var_os("OUTPOST_SCREENSHOT") {
            client
                .find(Locator::Css("[data-testid='nav-overview']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
            text_of(&client, "status-version").await;
            // WebKit under Xvfb can hand back the previous paint right after a DOM change; the
            // DOM is already right (checked above), so give the compositor a frame or two.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let png = client.screenshot().await.unwrap();
            std::fs::write(path, png).unwrap();
        }
    }
    .await;
    let _ = client.close().await;
    drop(driver);
    result
}

//! Online updates over a real HTTP server on loopback, served as an attacker who owns the
//! server would serve them: a valid release is offered, downloaded (through a redirect, as
//! release hosting does), verified and installed in place of an AppImage; an altered
//! artifact, a manifest without its signature or by another key, and yesterday's older
//! release are each refused or found up to date, with nothing left behind. The automatic
//! check asks the server at most once a day.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use outpost_core::updates;
use outpost_update::{
    UpdateError, Version,
    online::{Installation, MANIFEST, Offer},
    testing::Signer,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSTALLED: Version = Version(0, 1, 0);

/// What the server answers for a path: a body, or a redirect to another path.
#[derive(Clone)]
enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

/// A minimal HTTP/1.1 file server; counts the requests it answers.
struct Server {
    base: String,
    files: Arc<Mutex<HashMap<String, Answer>>>,
    requests: Arc<AtomicUsize>,
}

impl Server {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let files: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let (f, r, b) = (files.clone(), requests.clone(), base.clone());
        tokio::spawn(async move {
            loop {
                let (mut sock, _) = listener.accept().await.unwrap();
                let (files, requests, base) = (f.clone(), r.clone(), b.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0_u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if sock.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    requests.fetch_add(1, Ordering::SeqCst);
                    let head = String::from_utf8_lossy(&head).to_string();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let answer = files.lock().unwrap().get(&path).cloned();
                    let reply = match answer {
                        Some(Answer::Body(body)) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend(body);
                            r
                        }
                        Some(Answer::Redirect(to)) => format!(
                            "HTTP/1.1 302 Found\r\nLocation: {base}{to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                        .into_bytes(),
                        None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
                    };
                    let _ = sock.write_all(&reply).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self {
            base,
            files,
            requests,
        }
    }

    fn put(&self, path: &str, body: impl Into<Vec<u8>>) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), Answer::Body(body.into()));
    }

    fn redirect(&self, path: &str, to: &str) {
        self.files
            .lock()
            .unwrap()
            .insert(path.to_owned(), Answer::Redirect(to.to_owned()));
    }

    fn remove(&self, path: &str) {
        self.files.lock().unwrap().remove(path);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// The release the server offers this AppImage installation (the test fails without one).
async fn offered(
    server: &Server,
    key: &outpost_update::UpdateKey,
) -> outpost_update::online::Release {
    match updates::check(&server.base, key, INSTALLED, Installation::AppImage).await {
        Ok(Offer::Available(release)) => release,
        other => panic!("no offer: {other:?}"),
    }
}

fn appimage_name(version: &str) -> String {
    format!("outpost_{version}_{}.AppImage", std::env::consts::ARCH)
}

fn artifact() -> Vec<u8> {
    let mut bytes = b"\x7fELF pretend AppImage ".to_vec();
    bytes.extend((0..300_000_u32).map(|i| u8::try_from(i % 253).unwrap()));
    bytes
}

/// Publishes `version` as a release does: the artifact (behind a redirect to storage), its
/// signature in the manifest, and the manifest signed.
fn publish(server: &Server, signer: &Signer, version: &str, bytes: &[u8]) {
    let file = appimage_name(version);
    server.put(&format!("/storage/{file}"), bytes);
    server.redirect(&format!("/{file}"), &format!("/storage/{file}"));
    let manifest = serde_json::json!({
        "version": version,
        "notes": "Growth charts print on one page.",
        "pub_date": "2026-11-28T09:00:00Z",
        "platforms": {
            Installation::AppImage.platform(): {
                "url": format!("{}/{file}", server.base),
                "signature": signer.sign_release(bytes, version, &file),
                "size": bytes.len(),
            }
        }
    })
    .to_string();
    let sig = signer.sign_release(manifest.as_bytes(), version, MANIFEST);
    server.put(&format!("/{MANIFEST}"), manifest);
    server.put(&format!("/{MANIFEST}.sig"), sig);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_release_is_offered_downloaded_verified_and_installed() {
    let server = Server::start().await;
    let project = Signer::new();
    let key = project.key();
    let bytes = artifact();
    publish(&server, &project, "0.2.0", &bytes);

    let release = offered(&server, &key).await;
    assert_eq!(release.version, Version(0, 2, 0));
    assert_eq!(release.notes, "Growth charts print on one page.");

    let downloads = tempfile::tempdir().unwrap();
    let path = updates::download(&release, downloads.path(), &key, INSTALLED)
        .await
        .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // The downloaded file goes in exactly as one from a USB stick: checked again, then
    // renamed over the installed AppImage.
    let laptop = tempfile::tempdir().unwrap();
    let installed = laptop.path().join("Outpost.AppImage");
    std::fs::write(&installed, b"the working 0.1.0").unwrap();
    let done = outpost_update::install_replacing(
        &path,
        &installed,
        &key,
        INSTALLED,
        outpost_update::Downgrade::Refuse,
    )
    .unwrap();
    assert_eq!(done.version, Version(0, 2, 0));
    assert_eq!(std::fs::read(&installed).unwrap(), bytes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_altered_artifact_is_refused_and_nothing_is_left_under_its_name() {
    let server = Server::start().await;
    let project = Signer::new();
    let key = project.key();
    let bytes = artifact();
    publish(&server, &project, "0.2.0", &bytes);
    let release = offered(&server, &key).await;
    // The storage host swaps the file after the manifest was read.
    let mut altered = bytes.clone();
    altered[200_000] ^= 1;
    server.put(&format!("/storage/{}", release.file), altered);
    let downloads = tempfile::tempdir().unwrap();
    let err = updates::download(&release, downloads.path(), &key, INSTALLED)
        .await
        .unwrap_err();
    assert_eq!(err, UpdateError::Tampered);
    assert_eq!(
        std::fs::read_dir(downloads.path()).unwrap().count(),
        0,
        "no partial file, no signature, no artifact"
    );
    // Gone from the server: said as such, still nothing left.
    server.remove(&format!("/storage/{}", release.file));
    let err = updates::download(&release, downloads.path(), &key, INSTALLED)
        .await
        .unwrap_err();
    assert_eq!(err, UpdateError::NotPublished);
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_foreign_or_older_release_list_offers_nothing() {
    let server = Server::start().await;
    let project = Signer::new();
    let key = project.key();
    let check = || updates::check(&server.base, &key, INSTALLED, Installation::AppImage);

    // The manifest without its signature, as Tauri's updater would publish it.
    publish(&server, &project, "0.2.0", &artifact());
    server.remove(&format!("/{MANIFEST}.sig"));
    assert_eq!(check().await, Err(UpdateError::Unsigned));

    // The server taken over and a release signed with the attacker's key.
    let attacker = Signer::new();
    publish(&server, &attacker, "0.3.0", &artifact());
    assert_eq!(check().await, Err(UpdateError::WrongKey));

    // Yesterday's (older) list replayed: nothing to install, and said as behind.
    publish(&server, &project, "0.0.9", &artifact());
    assert_eq!(
        check().await,
        Ok(Offer::Behind {
            latest: Version(0, 0, 9)
        })
    );

    // No server at all (the clinic is offline): said as unreachable.
    let err = updates::check(
        "http://127.0.0.1:9",
        &key,
        INSTALLED,
        Installation::AppImage,
    )
    .await
    .unwrap_err();
    assert!(matches!(err, UpdateError::Unreachable(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_automatic_check_asks_the_server_at_most_once_a_day() {
    let server = Server::start().await;
    let project = Signer::new();
    let key = project.key();
    publish(&server, &project, "0.2.0", &artifact());
    let data = tempfile::tempdir().unwrap();
    let now = 1_800_000_000_i64;
    let due = |at: i64| {
        updates::check_if_due(
            data.path(),
            at,
            &server.base,
            &key,
            INSTALLED,
            Installation::AppImage,
        )
    };

    // Offline at first start: fails, and is not counted.
    let offline = updates::check_if_due(
        data.path(),
        now,
        "http://127.0.0.1:9",
        &key,
        INSTALLED,
        Installation::AppImage,
    )
    .await;
    assert!(offline.is_err());

    assert!(matches!(due(now).await, Ok(Some(Offer::Available(_)))));
    let asked = server.requests();
    assert_eq!(asked, 2, "the manifest and its signature");
    // Restarted an hour later, and again at night: the server is not asked, and the release
    // found this morning is still offered (from the kept list, checked again).
    for later in [now + 3_600, now + 23 * 3_600] {
        let Ok(Some(Offer::Available(kept))) = due(later).await else {
            panic!("the kept offer is gone")
        };
        assert_eq!(kept.version, Version(0, 2, 0));
    }
    assert_eq!(server.requests(), asked);
    // The kept list altered on disk (by someone with the user's files): not offered.
    let kept = data.path().join("update-list").join(MANIFEST);
    let text = std::fs::read_to_string(&kept).unwrap();
    std::fs::write(&kept, text.replace("Growth charts", "Urgent")).unwrap();
    assert_eq!(due(now + 7_200).await, Ok(None));
    // The next day it is.
    assert!(matches!(due(now + 24 * 3_600).await, Ok(Some(_))));
    assert_eq!(server.requests(), asked + 2);
}

/// The release manager's steps in docs/RELEASING.md, with a test key: sign each artifact,
/// write the list with `scripts/release-manifest.py`, sign the list, publish. A laptop then
/// finds and verifies the release; a signature naming another version stops the script.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_made_as_releasing_md_says_is_found_and_verified() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/release-manifest.py"
    );
    let server = Server::start().await;
    let project = Signer::new();
    let key = project.key();
    let release = tempfile::tempdir().unwrap();
    let appimage = appimage_name("0.2.0");
    let deb = format!("outpost_0.2.0_{}.deb", debian_arch());
    let bytes = artifact();
    for name in [&appimage, &deb] {
        std::fs::write(release.path().join(name), &bytes).unwrap();
        std::fs::write(
            release.path().join(format!("{name}.sig")),
            project.sign_release(&bytes, "0.2.0", name),
        )
        .unwrap();
    }
    std::fs::write(
        release.path().join("NOTES.txt"),
        "Growth charts print on one page.\n",
    )
    .unwrap();
    let run = |version: &str| {
        std::process::Command::new("python3")
            .arg(script)
            .args(["--version", version, "--notes"])
            .arg(release.path().join("NOTES.txt"))
            .args(["--base-url", &server.base, "--out"])
            .arg(release.path())
            .arg(release.path().join(&appimage))
            .arg(release.path().join(&deb))
            .output()
            .unwrap()
    };
    // Signatures made for 0.2.0, a list said to be 0.3.0: refused before anything is written.
    let slip = run("0.3.0");
    assert!(!slip.status.success());
    assert!(String::from_utf8_lossy(&slip.stderr).contains("not version:0.3.0"));
    assert!(!release.path().join(MANIFEST).exists());

    let made = run("0.2.0");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let manifest = std::fs::read(release.path().join(MANIFEST)).unwrap();
    server.put(&format!("/{MANIFEST}"), manifest.clone());
    server.put(
        &format!("/{MANIFEST}.sig"),
        project.sign_release(&manifest, "0.2.0", MANIFEST),
    );
    for name in [&appimage, &deb] {
        server.put(&format!("/{name}"), bytes.clone());
    }
    for (installation, file) in [
        (Installation::AppImage, &appimage),
        (Installation::Package, &deb),
    ] {
        let Ok(Offer::Available(found)) =
            updates::check(&server.base, &key, INSTALLED, installation).await
        else {
            panic!("no offer for {installation:?}")
        };
        assert_eq!(&found.file, file);
        assert_eq!(found.notes, "Growth charts print on one page.");
        let downloads = tempfile::tempdir().unwrap();
        let path = updates::download(&found, downloads.path(), &key, INSTALLED)
            .await
            .unwrap();
        assert_eq!(std::fs::read(path).unwrap(), bytes);
    }
}

/// Debian's name for this processor, as a `.deb` carries it.
fn debian_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_host_cannot_send_more_than_the_list_says_or_another_version() {
    let server = Server::start().await;
    let project = Signer::new();
    let key = project.key();
    let bytes = artifact();
    publish(&server, &project, "0.2.0", &bytes);
    let release = offered(&server, &key).await;
    let downloads = tempfile::tempdir().unwrap();
    // A gigabyte of junk where the file should be: the download stops at the signed size.
    let mut padded = bytes.clone();
    padded.extend(std::iter::repeat_n(0_u8, 4096));
    server.put(&format!("/storage/{}", release.file), padded);
    let err = updates::download(&release, downloads.path(), &key, INSTALLED)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, UpdateError::Unreachable(why) if why.contains("larger")),
        "{err:?}"
    );
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);

    // The artifact validly signed, but as 0.3.0 where the list says 0.2.0.
    let mut other = release.clone();
    other.signature = project.sign_release(&bytes, "0.3.0", &release.file);
    server.put(&format!("/storage/{}", release.file), bytes.clone());
    assert_eq!(
        updates::download(&other, downloads.path(), &key, INSTALLED).await,
        Err(UpdateError::NotListedVersion {
            found: Version(0, 3, 0),
            listed: Version(0, 2, 0)
        })
    );
    assert_eq!(std::fs::read_dir(downloads.path()).unwrap().count(), 0);

    // A redirect loop ends.
    server.redirect("/loop", "/loop");
    let err = updates::check(
        &format!("{}/loop", server.base),
        &key,
        INSTALLED,
        Installation::AppImage,
    )
    .await;
    assert!(
        matches!(
            err,
            Err(UpdateError::NotPublished | UpdateError::Unreachable(_))
        ),
        "{err:?}"
    );

    // Left over from an earlier run: an unfinished download and an installed one go.
    std::fs::write(downloads.path().join("old.AppImage.partial"), b"half").unwrap();
    std::fs::write(downloads.path().join("outpost_0.1.5.AppImage"), b"old").unwrap();
    let path = updates::download(&release, downloads.path(), &key, INSTALLED)
        .await
        .unwrap();
    let mut left: Vec<String> = std::fs::read_dir(downloads.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [release.file.clone(), format!("{}.sig", release.file)]
    );
    assert_eq!(std::fs::read(path).unwrap(), bytes);
}

/// This build ships no update key or server: asked by the person, the app says so; at start it
/// stays quiet, and the server is not asked (nothing to verify its answer with).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_without_a_key_or_server_says_so_when_asked_and_is_quiet_at_start() {
    let data = tempfile::tempdir().unwrap();
    let asked = updates::check_for_app(data.path(), true, 1_800_000_000).await;
    assert!(
        matches!(asked, Err(UpdateError::NoServer | UpdateError::NoUpdateKey)),
        "{asked:?}"
    );
    assert_eq!(
        updates::check_for_app(data.path(), false, 1_800_000_000).await,
        Ok(updates::Checked::NotSetUp)
    );
    assert!(
        !data.path().join("update-checked").exists(),
        "no check was counted"
    );
}

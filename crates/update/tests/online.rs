//! The update server's manifest as an attacker who owns the server (or the link) would serve
//! it: edited notes, an edited version, no signature, another key, yesterday's release, a
//! release with nothing for this computer. Each is refused or found "up to date"; only the
//! project's signed manifest offers an update.

use base64::Engine;
use outpost_update::{
    UpdateError, Version,
    online::{Installation, MANIFEST, Offer, read_manifest},
    testing::Signer,
};

const INSTALLED: Version = Version(0, 1, 0);

fn manifest(version: &str, platform: &str, artifact_sig: &str) -> String {
    serde_json::json!({
        "version": version,
        "notes": "Growth charts print on one page.",
        "pub_date": "2026-11-28T09:00:00Z",
        "platforms": {
            platform: {
                "url": format!("https://updates.example/outpost_{version}_amd64.AppImage"),
                "signature": artifact_sig,
            }
        }
    })
    .to_string()
}

fn appimage_platform() -> String {
    Installation::AppImage.platform()
}

#[test]
fn a_signed_manifest_offers_its_release_with_its_notes() {
    let project = Signer::new();
    let artifact_sig = project.sign_release(b"artifact", "0.2.0", "outpost_0.2.0_amd64.AppImage");
    let body = manifest("0.2.0", &appimage_platform(), &artifact_sig);
    let sig = project.sign_release(body.as_bytes(), "0.2.0", MANIFEST);
    let offer = read_manifest(
        body.as_bytes(),
        &sig,
        &project.key(),
        INSTALLED,
        Installation::AppImage,
    )
    .unwrap();
    let Offer::Available(release) = offer else {
        panic!("{offer:?}")
    };
    assert_eq!(release.version, Version(0, 2, 0));
    assert_eq!(release.notes, "Growth charts print on one page.");
    assert_eq!(release.file, "outpost_0.2.0_amd64.AppImage");
    assert_eq!(release.signature, artifact_sig.trim());

    // Tauri's signer puts the .sig text in base64; it reads the same.
    let b64 = base64::engine::general_purpose::STANDARD.encode(&artifact_sig);
    let body = manifest("0.2.0", &appimage_platform(), &b64);
    let sig = project.sign_release(body.as_bytes(), "0.2.0", MANIFEST);
    let Ok(Offer::Available(release)) = read_manifest(
        body.as_bytes(),
        &sig,
        &project.key(),
        INSTALLED,
        Installation::AppImage,
    ) else {
        panic!("base64 signature not read")
    };
    assert_eq!(release.signature, artifact_sig);
}

#[test]
fn an_edited_unsigned_or_foreign_manifest_is_refused() {
    let project = Signer::new();
    let key = project.key();
    let body = manifest("0.2.0", &appimage_platform(), "sig");
    let sig = project.sign_release(body.as_bytes(), "0.2.0", MANIFEST);
    let read = |body: &str, sig: &str| {
        read_manifest(
            body.as_bytes(),
            sig,
            &key,
            INSTALLED,
            Installation::AppImage,
        )
    };

    // The notes changed on the server ("install this at once, call this number").
    let edited = body.replace("Growth charts", "Urgent: call +1 555");
    assert_eq!(read(&edited, &sig), Err(UpdateError::Tampered));
    // The version inside changed, to make an old release look new.
    let bumped = body.replace("\"0.2.0\"", "\"9.0.0\"");
    assert_ne!(bumped, body);
    assert_eq!(read(&bumped, &sig), Err(UpdateError::Tampered));
    // No signature at all: Tauri's own manifests are like this.
    assert_eq!(read(&body, ""), Err(UpdateError::Unsigned));
    // Signed, but by someone else.
    let other = Signer::new().sign_release(body.as_bytes(), "0.2.0", MANIFEST);
    assert_eq!(read(&body, &other), Err(UpdateError::WrongKey));
    // An artifact's signature passed off as the manifest's.
    let artifact = project.sign_release(body.as_bytes(), "0.2.0", "outpost.AppImage");
    assert!(matches!(
        read(&body, &artifact),
        Err(UpdateError::OtherFile { .. })
    ));
    // Signed comment and body disagree (a signer's slip): refused, not guessed.
    let slip = project.sign_release(body.as_bytes(), "0.3.0", MANIFEST);
    assert_eq!(read(&body, &slip), Err(UpdateError::BadManifest));
    // Signed, but not a manifest.
    let junk = "{\"hello\": 1}";
    let junk_sig = project.sign_release(junk.as_bytes(), "0.2.0", MANIFEST);
    assert_eq!(read(junk, &junk_sig), Err(UpdateError::BadManifest));
}

#[test]
fn the_installed_release_is_up_to_date_an_older_list_is_said_and_a_missing_build_too() {
    let project = Signer::new();
    let key = project.key();
    let read = |version: &str| {
        let body = manifest(version, &appimage_platform(), "sig");
        let sig = project.sign_release(body.as_bytes(), version, MANIFEST);
        read_manifest(
            body.as_bytes(),
            &sig,
            &key,
            INSTALLED,
            Installation::AppImage,
        )
    };
    // The installed release is the latest.
    assert_eq!(
        read("0.1.0"),
        Ok(Offer::UpToDate {
            latest: Version(0, 1, 0)
        })
    );
    // Yesterday's list replayed (or a stale mirror): said as such, not "up to date".
    assert_eq!(
        read("0.0.9"),
        Ok(Offer::Behind {
            latest: Version(0, 0, 9)
        })
    );
    // A newer release built only as a .deb, for an AppImage installation.
    let deb_sig = project.sign_release(b"deb", "0.2.0", "outpost_0.2.0_amd64.deb");
    let body = manifest("0.2.0", &Installation::Package.platform(), &deb_sig);
    let sig = project.sign_release(body.as_bytes(), "0.2.0", MANIFEST);
    assert_eq!(
        read_manifest(
            body.as_bytes(),
            &sig,
            &key,
            INSTALLED,
            Installation::AppImage
        ),
        Err(UpdateError::NotForThisMachine(appimage_platform()))
    );
    assert!(matches!(
        read_manifest(
            body.as_bytes(),
            &sig,
            &key,
            INSTALLED,
            Installation::Package
        ),
        Ok(Offer::Available(_))
    ));
}

#[test]
fn a_file_name_that_could_leave_the_download_folder_is_refused() {
    let project = Signer::new();
    for url in [
        "https://updates.example/..",
        "https://updates.example/a/%2E%2E%2Fbin%2Foutpost",
        "https://updates.example/.bashrc",
        "https://updates.example/outpost.AppImage?x=../../y",
    ] {
        let body = serde_json::json!({
            "version": "0.2.0",
            "platforms": { appimage_platform(): { "url": url, "signature": project.sign(b"x", "x") } }
        })
        .to_string();
        let sig = project.sign_release(body.as_bytes(), "0.2.0", MANIFEST);
        assert_eq!(
            read_manifest(
                body.as_bytes(),
                &sig,
                &project.key(),
                INSTALLED,
                Installation::AppImage
            ),
            Err(UpdateError::BadManifest),
            "{url}"
        );
    }
}

#[test]
fn the_signed_release_list_is_never_taken_for_an_update() {
    let project = Signer::new();
    let body = manifest("0.2.0", &appimage_platform(), "sig");
    let sig = project.sign_release(body.as_bytes(), "0.2.0", MANIFEST);
    assert_eq!(
        outpost_update::verify(
            body.as_bytes(),
            MANIFEST,
            &sig,
            &project.key(),
            INSTALLED,
            outpost_update::Downgrade::Refuse
        ),
        Err(UpdateError::ReleaseList)
    );
}

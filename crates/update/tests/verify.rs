//! Updates as an attacker or an accident would present them: tampered bytes, another key, no
//! signature, an edited version, an older release, a signature for another file; each refused
//! with nothing changed, and a valid one installed in one step.

use std::io::Cursor;

use outpost_update::{
    Downgrade, UpdateError, UpdateKey, Version, install_replacing, testing::Signer, verify,
};

const INSTALLED: Version = Version(0, 1, 0);

const FILE: &str = "outpost_0.2.0_amd64.AppImage";

fn artifact() -> Vec<u8> {
    let mut bytes = b"\x7fELF pretend AppImage ".to_vec();
    bytes.extend((0..200_000_u32).map(|i| u8::try_from(i % 251).unwrap()));
    bytes
}

fn check(
    bytes: &[u8],
    name: &str,
    sig: &str,
    key: &UpdateKey,
    downgrade: Downgrade,
) -> Result<Version, UpdateError> {
    verify(Cursor::new(bytes), name, sig, key, INSTALLED, downgrade).map(|v| v.version)
}

#[test]
fn a_valid_update_is_accepted_and_each_kind_of_bad_one_refused() {
    let project = Signer::new();
    let key = project.key();
    let bytes = artifact();
    let sig = project.sign(&bytes, &format!("outpost-update version:0.2.0 file:{FILE}"));
    assert_eq!(
        check(&bytes, FILE, &sig, &key, Downgrade::Refuse),
        Ok(Version(0, 2, 0))
    );

    // One byte changed anywhere in 200 KB.
    let mut tampered = bytes.clone();
    tampered[150_000] ^= 1;
    assert_eq!(
        check(&tampered, FILE, &sig, &key, Downgrade::Refuse),
        Err(UpdateError::Tampered)
    );

    // Signed by someone else's key.
    let other = Signer::new();
    let forged = other.sign(&bytes, &format!("outpost-update version:0.2.0 file:{FILE}"));
    assert_eq!(
        check(&bytes, FILE, &forged, &key, Downgrade::Refuse),
        Err(UpdateError::WrongKey)
    );

    // No signature, or not one.
    assert_eq!(
        check(&bytes, FILE, "", &key, Downgrade::Refuse),
        Err(UpdateError::Unsigned)
    );
    assert_eq!(
        check(
            &bytes,
            FILE,
            "this is a signature, trust me",
            &key,
            Downgrade::Refuse
        ),
        Err(UpdateError::Unsigned)
    );

    // The version edited in the trusted comment: the global signature breaks.
    let edited = sig.replace("version:0.2.0", "version:9.9.9");
    assert_ne!(edited, sig);
    assert_eq!(
        check(&bytes, FILE, &edited, &key, Downgrade::Refuse),
        Err(UpdateError::Tampered)
    );

    // A signature with no version in it (Tauri's default comment, a timestamp).
    let bare = project.sign(&bytes, "timestamp:1790000000");
    assert_eq!(
        check(&bytes, FILE, &bare, &key, Downgrade::Refuse),
        Err(UpdateError::Unnamed)
    );

    // The signed file under another name.
    let renamed = check(
        &bytes,
        "outpost_0.2.0_amd64.deb",
        &sig,
        &key,
        Downgrade::Refuse,
    );
    assert!(
        matches!(renamed, Err(UpdateError::OtherFile { .. })),
        "{renamed:?}"
    );
}

#[test]
fn an_older_release_validly_signed_is_refused_unless_an_admin_allows_it() {
    let project = Signer::new();
    let key = project.key();
    let bytes = artifact();
    let name = "outpost_0.0.9_amd64.AppImage";
    let old = project.sign(&bytes, &format!("outpost-update version:0.0.9 file:{name}"));
    let refused = check(&bytes, name, &old, &key, Downgrade::Refuse).unwrap_err();
    assert_eq!(
        refused,
        UpdateError::NotNewer {
            found: Version(0, 0, 9),
            installed: INSTALLED
        }
    );
    assert!(refused.to_string().contains("administrator"), "{refused}");
    let same = project.sign(&bytes, &format!("outpost-update version:0.1.0 file:{name}"));
    assert!(
        check(&bytes, name, &same, &key, Downgrade::Refuse).is_err(),
        "reinstalling the same version is not an update"
    );
    assert_eq!(
        check(&bytes, name, &old, &key, Downgrade::AllowedByAdmin),
        Ok(Version(0, 0, 9))
    );
}

#[test]
fn an_update_from_a_usb_stick_replaces_the_appimage_only_when_it_verifies() {
    let project = Signer::new();
    let key = project.key();
    let stick = tempfile::tempdir().unwrap();
    let laptop = tempfile::tempdir().unwrap();
    let installed = laptop.path().join("Outpost.AppImage");
    std::fs::write(&installed, b"the working 0.1.0").unwrap();

    let bytes = artifact();
    let update = stick.path().join(FILE);
    std::fs::write(&update, &bytes).unwrap();
    let sig = project.sign(&bytes, &format!("outpost-update version:0.2.0 file:{FILE}"));
    std::fs::write(stick.path().join(format!("{FILE}.sig")), &sig).unwrap();

    // Altered on the stick: refused, and the installed app is untouched, with no leftovers.
    let mut altered = bytes.clone();
    altered[10] ^= 0xff;
    std::fs::write(&update, &altered).unwrap();
    let err =
        install_replacing(&update, &installed, &key, INSTALLED, Downgrade::Refuse).unwrap_err();
    assert_eq!(err, UpdateError::Tampered);
    assert_eq!(std::fs::read(&installed).unwrap(), b"the working 0.1.0");
    assert_eq!(
        std::fs::read_dir(laptop.path()).unwrap().count(),
        1,
        "nothing left beside it"
    );

    // Without its signature file: refused.
    std::fs::write(&update, &bytes).unwrap();
    std::fs::rename(
        stick.path().join(format!("{FILE}.sig")),
        stick.path().join("elsewhere.sig"),
    )
    .unwrap();
    let err =
        install_replacing(&update, &installed, &key, INSTALLED, Downgrade::Refuse).unwrap_err();
    assert_eq!(err, UpdateError::Unsigned);
    std::fs::rename(
        stick.path().join("elsewhere.sig"),
        stick.path().join(format!("{FILE}.sig")),
    )
    .unwrap();

    // A validly signed .deb (or another processor's AppImage) is not put over the AppImage.
    let deb_name = "outpost_0.2.0_amd64.deb";
    let deb = stick.path().join(deb_name);
    std::fs::write(&deb, &bytes).unwrap();
    let deb_sig = project.sign(
        &bytes,
        &format!("outpost-update version:0.2.0 file:{deb_name}"),
    );
    std::fs::write(stick.path().join(format!("{deb_name}.sig")), deb_sig).unwrap();
    let err = install_replacing(&deb, &installed, &key, INSTALLED, Downgrade::Refuse).unwrap_err();
    assert!(matches!(err, UpdateError::NotForThisMachine(_)), "{err:?}");
    assert_eq!(std::fs::read(&installed).unwrap(), b"the working 0.1.0");
    assert!(!outpost_update::appimage_for_this_machine(
        "outpost_0.2.0_riscv64.AppImage"
    ));

    // Checked where it lies, as `outpost update verify` and the app do: nothing changes.
    let checked = outpost_update::verify_file(&update, &key, INSTALLED, Downgrade::Refuse).unwrap();
    assert_eq!(checked.version, Version(0, 2, 0));
    assert_eq!(
        outpost_update::verify_file(
            &stick.path().join("absent.AppImage"),
            &key,
            INSTALLED,
            Downgrade::Refuse
        ),
        Err(UpdateError::Unsigned)
    );

    // The real one: in place, executable.
    let done = install_replacing(&update, &installed, &key, INSTALLED, Downgrade::Refuse).unwrap();
    assert_eq!(done.version, Version(0, 2, 0));
    assert_eq!(std::fs::read(&installed).unwrap(), bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&installed).unwrap().permissions().mode() & 0o111,
            0o111
        );
    }
}

#[test]
fn the_key_is_read_from_a_pub_file_and_a_file_without_one_verifies_nothing() {
    let project = Signer::new();
    let pub_file = format!("# Outpost's update key\n{}", project.pub_file());
    let key = UpdateKey::from_pub_file(&pub_file).unwrap();
    let bytes = artifact();
    let sig = project.sign(&bytes, &format!("outpost-update version:0.2.0 file:{FILE}"));
    assert!(check(&bytes, FILE, &sig, &key, Downgrade::Refuse).is_ok());
    // A file with no key in it verifies nothing.
    assert!(matches!(
        UpdateKey::from_pub_file("# no key yet\n"),
        Err(UpdateError::NoUpdateKey)
    ));
    // The shipped file: a key once the release manager commits one (docs/RELEASING.md);
    // until then every update is refused.
    let shipped = include_str!("../keys/update.pub");
    let has_key = shipped.lines().any(|l| {
        !l.starts_with('#') && !l.starts_with("untrusted comment:") && !l.trim().is_empty()
    });
    assert_eq!(UpdateKey::shipped().is_ok(), has_key);
}

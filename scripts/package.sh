#!/usr/bin/env bash
# Builds the installable app with Tauri's bundler: a .deb with the desktop app, the `outpost`
# command (/usr/bin/outpost), the icon and a desktop entry; and its bill of materials beside it.
# The version is the workspace's (Cargo.toml), the one the app and the CLI report.
#   scripts/package.sh            release build, into $CARGO_TARGET_DIR/release/bundle/
#   scripts/package.sh --debug    the debug build the tests already made (quick; for make test)
# The AppImage needs linuxdeploy, which Tauri's bundler downloads from GitHub: it is built only
# with OUTPOST_APPIMAGE=1, on a machine that can reach GitHub (this workplace cannot).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=release
flags=()
if [ "${1:-}" = "--debug" ]; then profile=debug; flags=(--debug); fi
target=${CARGO_TARGET_DIR:-$PWD/target}

if [ "$profile" = release ]; then cargo build --release --locked -p outpost-cli; else cargo build --locked -p outpost-cli; fi
mkdir -p src-tauri/bundle-files
cp "$target/$profile/outpost" src-tauri/bundle-files/outpost

bundles=deb
if [ "${OUTPOST_APPIMAGE:-}" = 1 ]; then
  bundles=deb,appimage
else
  echo "package: building the .deb (the AppImage needs linuxdeploy from GitHub: OUTPOST_APPIMAGE=1 where it can be reached)"
fi
(cd src-tauri && cargo tauri build "${flags[@]}" --bundles "$bundles" --ci -- --locked)

out="$target/$profile/bundle"
deb=$(ls -t "$out"/deb/*.deb | head -1)
echo "package: $deb"
scripts/sbom.py --check "$out/outpost.cdx.json"

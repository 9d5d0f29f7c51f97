#!/usr/bin/env bash
# Installs what a fresh Debian 12 / Ubuntu 24.04 machine lacks to build, run and test Outpost.
# Idempotent: every step checks first and does nothing when the thing is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

APT_PACKAGES=(
  # Tauri / WebKitGTK desktop shell
  build-essential pkg-config curl file libssl-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev libsoup-3.0-dev
  # desktop end-to-end tests and screenshots
  xvfb xauth webkit2gtk-driver imagemagick fonts-dejavu-core
  # answering the system file dialog (GTK) in the real window: keys typed through XTEST
  xdotool
  # reading the X clipboard and primary selection the shell empties after a recovery key is copied
  xclip
  # UI browser tests
  chromium
  # call media: Opus audio (the H.264 codec builds its bundled source); the camera (V4L2
  # bindings are generated with libclang) and the microphone (ALSA) of the `devices` build
  libopus-dev libclang-dev libasound2-dev
  # calls through a TURN server in tests (the relay hands out coturn REST credentials)
  coturn
  # backups onto a FAT USB stick, tested on a FAT image mounted through FUSE (no vfat here)
  fusefat dosfstools
  # the software bill of materials (scripts/sbom.py)
  python3
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO=none; fi
  if [ "$SUDO" = none ]; then
    echo "Outpost needs these system packages. Run:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# tauri-driver drives the real desktop window through WebKitWebDriver.
if ! command -v tauri-driver >/dev/null 2>&1; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked
fi

# cargo-fuzz runs the decoders' fuzz targets (`make fuzz`).
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "setup: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# Tauri's bundler builds the .deb (`make package`, `make test-package`).
if ! cargo tauri --version >/dev/null 2>&1; then
  echo "setup: installing tauri-cli"
  cargo install tauri-cli --version '^2' --locked
fi

# cargo-deny checks the dependency tree's licences, bans and sources (`make deny`).
if ! cargo deny --version >/dev/null 2>&1; then
  echo "setup: installing cargo-deny"
  cargo install cargo-deny --version '^0.20' --locked
fi

# Node.js 20.19+ for Vite 8.
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null; then
  echo "Outpost's UI build needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# UI dependencies, exactly as locked.
if [ ! -d "$here/ui/node_modules" ] || [ "$here/ui/package-lock.json" -nt "$here/ui/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in ui/"
  (cd "$here/ui" && npm ci --no-audit --no-fund)
fi

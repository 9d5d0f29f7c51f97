#!/usr/bin/env bash
# The package as a clinic installs it: builds the .deb (from the debug build the tests made),
# installs it with dpkg, checks what it put where and that `outpost --version` and the window
# report the workspace's version (WebDriver against /usr/bin/outpost-desktop), then removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi

scripts/package.sh --debug
deb=$(ls -t "$target"/debug/bundle/deb/*.deb | head -1)
version=$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "outpost-desktop"))')

trap '$SUDO dpkg -r outpost >/dev/null 2>&1 || true' EXIT
$SUDO dpkg -i "$deb"
files=$(dpkg -L outpost)
for want in /usr/bin/outpost-desktop /usr/bin/outpost; do
  grep -qx "$want" <<<"$files" || { echo "test-package: $want is not in the package" >&2; exit 1; }
done
grep -q '/usr/share/applications/.*\.desktop$' <<<"$files" || { echo "test-package: no desktop entry" >&2; exit 1; }
grep -q '/usr/share/icons/' <<<"$files" || { echo "test-package: no icon" >&2; exit 1; }
got=$(/usr/bin/outpost --version)
[ "$got" = "outpost $version" ] || { echo "test-package: outpost --version says '$got', not $version" >&2; exit 1; }
echo "test-package: installed $(basename "$deb"): $got"

OUTPOST_DESKTOP_BIN=/usr/bin/outpost-desktop xvfb-run -a -s "-screen 0 1366x768x24" \
  cargo test -p outpost-tests --features desktop-e2e --test desktop --locked -- --ignored the_installed_package

#!/usr/bin/env bash
# `make demo`: a local relay and two app windows already in one care-team workspace (a clinic
# nurse and a remote physician) with demo patients, so a newcomer can watch sync happen on one
# machine. Everything lives in a fresh directory under /tmp; nothing touches your own profile.
set -euo pipefail

TARGET="${CARGO_TARGET_DIR:-$(pwd)/target}"
OUTPOST="$TARGET/debug/outpost"
DESKTOP="$TARGET/debug/outpost-desktop"
DEMO="$(mktemp -d /tmp/outpost-demo.XXXXXX)"
DOC_PASS="physician demo passphrase"
NURSE_PASS="nurse demo passphrase"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

# As a given device: its profile, its outside anchors, its passphrase.
as() {
  local who=$1 pass=$2
  shift 2
  OUTPOST_ANCHOR_DIR="$DEMO/$who.anchors" OUTPOST_PASSPHRASE="$pass" "$OUTPOST" --profile "$DEMO/$who" "$@"
}

"$OUTPOST" relay serve --listen 127.0.0.1:0 --data "$DEMO/relay" > "$DEMO/relay.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$DEMO/relay.log" && break; sleep 0.1; done
RELAY=$(sed -n 's/^listening on //p' "$DEMO/relay.log" | head -1)
echo "relay: $RELAY (data in $DEMO/relay)"

as physician "$DOC_PASS" init --name "Dr. Amina Okafor" --role physician > /dev/null
p1=$(as physician "$DOC_PASS" patient add --given Kwame --family Mensah --birth-date 1961-04-12 --sex male --clinic-id RV-0042)
p2=$(as physician "$DOC_PASS" patient add --given Ama --family Owusu --birth-date 1990-01-01 --sex female --clinic-id RV-0107)
as physician "$DOC_PASS" vitals add --patient "$p1" --kind bp --value 148 --value2 92 > /dev/null
as physician "$DOC_PASS" vitals add --patient "$p1" --kind pulse --value 84 > /dev/null
as physician "$DOC_PASS" vitals add --patient "$p2" --kind temp --value 38.4 > /dev/null
as physician "$DOC_PASS" note write --patient "$p1" --subjective "Headaches for two weeks" \
  --assessment "Hypertension, poorly controlled" --plan "Start amlodipine 5 mg; recheck in 2 weeks" > /dev/null
as physician "$DOC_PASS" workspace create --name "Riverside clinic" --relay "$RELAY" > /dev/null
code=$(as physician "$DOC_PASS" workspace invite --role nurse)
as physician "$DOC_PASS" sync > /dev/null

as nurse "$NURSE_PASS" init --name "Nurse Esi Boateng" --role nurse > /dev/null
as nurse "$NURSE_PASS" workspace join "$code" --device-name "Clinic laptop" > /dev/null
as physician "$DOC_PASS" sync > /dev/null
as nurse "$NURSE_PASS" sync > /dev/null
as physician "$DOC_PASS" sync > /dev/null
as nurse "$NURSE_PASS" sync > /dev/null

cat <<TEXT

Two windows open: the clinic nurse's and the remote physician's, in one workspace.
  Nurse Esi Boateng   passphrase: $NURSE_PASS
  Dr. Amina Okafor    passphrase: $DOC_PASS
Record a vital or edit a patient in one window; within seconds (or with "Sync now" under
"Sync & team") it appears in the other. Stop the relay (kill its process) to see "Offline"
and changes wait; they go out when it returns. Close both windows to end the demo.
TEXT

run_window() {
  OUTPOST_DATA_DIR="$DEMO/$1" OUTPOST_ANCHOR_DIR="$DEMO/$1.anchors" "$DESKTOP" &
  pids+=($!)
}
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "No display: running both windows under Xvfb on :98. Screenshot from another shell:"
  echo "  XAUTHORITY=/tmp/outpost-demo-xauth DISPLAY=:98 import -window root demo.png"
  Xvfb :98 -screen 0 1600x900x24 -auth /tmp/outpost-demo-xauth > /dev/null 2>&1 &
  pids+=($!)
  export DISPLAY=:98
  sleep 1
fi
run_window nurse
run_window physician
# Until both windows are closed.
wait "${pids[-1]}" "${pids[-2]}" 2>/dev/null || true

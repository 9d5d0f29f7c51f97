#!/usr/bin/env python3
"""Writes an Outpost release list (latest.json) for the update server.

Each artifact must already be signed (ARTIFACT.sig beside it, made as docs/RELEASING.md says);
this script checks that each signature's trusted comment names this version and that file, so
a slip is caught here and not on a clinic laptop. The list is Tauri's updater's static format,
with each artifact's signature in base64 as Tauri's signer writes it. The release manager then
signs latest.json itself, with the same key (the command is printed at the end).

usage: release-manifest.py --version 0.2.0 --notes NOTES.txt --base-url URL [--out DIR] ARTIFACT...
"""

import argparse
import base64
import datetime
import json
import os
import re
import sys

ARCHES = {"amd64": "x86_64", "x86_64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}


def platform(name):
    """The manifest key for an artifact: linux-ARCH (AppImage) or linux-ARCH-deb."""
    arch = next((ARCHES[a] for a in ARCHES if re.search(rf"[_.-]{a}[_.-]", name)), None)
    if arch is None:
        sys.exit(f"{name}: no processor (amd64, x86_64, arm64, aarch64) in the file name")
    if name.endswith(".AppImage"):
        return f"linux-{arch}"
    if name.endswith(".deb"):
        return f"linux-{arch}-deb"
    sys.exit(f"{name}: neither an AppImage nor a .deb")


def trusted_comment(sig_text):
    for line in sig_text.splitlines():
        if line.startswith("trusted comment: "):
            return line[len("trusted comment: "):]
    return ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--version", required=True)
    ap.add_argument("--notes", required=True, help="a text file: what is new, as clinics will read it")
    ap.add_argument("--base-url", required=True, help="where the artifacts will be published")
    ap.add_argument("--out", default=".", help="where latest.json is written")
    ap.add_argument("artifacts", nargs="+")
    args = ap.parse_args()
    if not re.fullmatch(r"\d+\.\d+\.\d+", args.version):
        sys.exit(f"--version {args.version}: a release version is MAJOR.MINOR.PATCH")
    with open(args.notes, encoding="utf-8") as f:
        notes = f.read().strip()
    platforms = {}
    for path in args.artifacts:
        name = os.path.basename(path)
        try:
            with open(path + ".sig", encoding="utf-8") as f:
                sig = f.read()
        except OSError:
            sys.exit(f"{name}: no signature ({name}.sig); sign it first (docs/RELEASING.md)")
        words = trusted_comment(sig).split()
        if f"version:{args.version}" not in words or f"file:{name}" not in words:
            sys.exit(f"{name}.sig names {trusted_comment(sig)!r}, not version:{args.version} file:{name}")
        key = platform(name)
        if key in platforms:
            sys.exit(f"{name}: a second artifact for {key}")
        platforms[key] = {
            "signature": base64.b64encode(sig.encode()).decode(),
            "url": f"{args.base_url.rstrip('/')}/{name}",
            # Not Tauri's; Outpost stops a download at the signed size.
            "size": os.path.getsize(path),
        }
    manifest = {
        "version": args.version,
        "notes": notes,
        "pub_date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platforms": platforms,
    }
    out = os.path.join(args.out, "latest.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {out} ({', '.join(sorted(platforms))}); now sign it:")
    print(f'  minisign -S -s outpost-update.key -m {out} -t "outpost-update version:{args.version} file:latest.json" && mv {out}.minisig {out}.sig')


if __name__ == "__main__":
    main()

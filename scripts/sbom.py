#!/usr/bin/env python3
"""A CycloneDX 1.5 software bill of materials for Outpost: every crate in Cargo.lock that the
shipped programs (the desktop app, the `outpost` CLI) build with, and every npm package the UI
bundles (ui/package-lock.json, production dependencies only), each with its version, licence
and package URL.

    scripts/sbom.py OUT.json          write the SBOM
    scripts/sbom.py --check OUT.json  write it, then check it lists everything it should

Made from `cargo metadata` and the lock files, with no tool to install.
"""

import datetime
import json
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ["outpost-desktop", "outpost-cli"]


def cargo_components():
    meta = json.loads(
        subprocess.check_output(
            ["cargo", "metadata", "--format-version", "1", "--locked"], cwd=ROOT
        )
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    roots = [p["id"] for p in meta["packages"] if p["name"] in SHIPPED]
    # What the shipped programs build with: normal and build dependencies, not dev-only ones.
    seen, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k.get("kind") in (None, "build") for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    out = []
    for pid in sorted(seen, key=lambda i: (packages[i]["name"], packages[i]["version"])):
        p = packages[pid]
        c = {
            "type": "application" if p["name"] in SHIPPED else "library",
            "bom-ref": f"pkg:cargo/{p['name']}@{p['version']}",
            "name": p["name"],
            "version": p["version"],
            "purl": f"pkg:cargo/{p['name']}@{p['version']}",
        }
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        if p.get("source") is None:
            c["description"] = "part of Outpost"
        out.append(c)
    return out


def npm_components():
    lock = json.loads((ROOT / "ui" / "package-lock.json").read_text())
    out = []
    for path, p in sorted(lock.get("packages", {}).items()):
        if not path or p.get("dev") or p.get("devOptional"):
            continue
        name = path.split("node_modules/")[-1]
        scoped = name.replace("@", "%40", 1) if name.startswith("@") else name
        c = {
            "type": "library",
            "bom-ref": f"pkg:npm/{scoped}@{p['version']}",
            "name": name,
            "version": p["version"],
            "purl": f"pkg:npm/{scoped}@{p['version']}",
        }
        if p.get("license"):
            c["licenses"] = [{"expression": p["license"]}]
        out.append(c)
    return out


def sbom():
    cargo = cargo_components()
    # The one version of the programs: the workspace's (Cargo.toml), as the app reports it.
    version = next(c["version"] for c in cargo if c["name"] == "outpost-desktop")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "component": {"type": "application", "bom-ref": "outpost", "name": "outpost", "version": version},
        },
        "components": cargo + npm_components(),
    }


def check(bom):
    """Everything the lock files say ships is listed, once, with a version and a package URL."""
    names = {(c["name"], c["version"]) for c in bom["components"]}
    problems = []
    for must in [("outpost-desktop", None), ("outpost-cli", None), ("tauri", None), ("rusqlite", None), ("i18next", None)]:
        if not any(n == must[0] for n, _ in names):
            problems.append(f"{must[0]} is missing")
    refs = [c["bom-ref"] for c in bom["components"]]
    if len(refs) != len(set(refs)):
        problems.append("a component is listed twice")
    for c in bom["components"]:
        if not c.get("version") or not c.get("purl"):
            problems.append(f"{c['name']} has no version or package URL")
    dev_only = [c["name"] for c in bom["components"] if c["name"] in ("vitest", "playwright-core", "fantoccini", "tempfile")]
    if dev_only:
        problems.append(f"test-only packages listed as shipped: {dev_only}")
    return problems


def main():
    args = sys.argv[1:]
    checking = args[:1] == ["--check"]
    if checking:
        args = args[1:]
    if len(args) != 1:
        sys.exit(__doc__)
    bom = sbom()
    Path(args[0]).parent.mkdir(parents=True, exist_ok=True)
    Path(args[0]).write_text(json.dumps(bom, indent=1) + "\n")
    print(f"sbom: {len(bom['components'])} components in {args[0]}")
    if checking:
        problems = check(bom)
        if problems:
            sys.exit("sbom: " + "; ".join(problems))


if __name__ == "__main__":
    main()

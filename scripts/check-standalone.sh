#!/usr/bin/env bash
# Fails when a tracked file refers to a directory beside the repository (the team's private
# `shared` folder): a newcomer's clone has nothing beside it, so the project must stand alone.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern='\.\./(\.\./)*shared'
if git rev-parse --git-dir >/dev/null 2>&1; then
  hits=$(git grep -nIE "$pattern" -- . ':!*.lock' || true)
else
  hits=$(grep -rnIE "$pattern" --exclude-dir=node_modules --exclude-dir=target --exclude='*.lock' . || true)
fi
if [ -n "$hits" ]; then
  echo "These files refer to a folder outside the repository; vendor what they need instead:" >&2
  echo "$hits" >&2
  exit 1
fi
echo "standalone: no file refers outside the repository"

#!/usr/bin/env bash
# npm's advisories for the packages the UI ships (not its build and test tools). Fails on any
# advisory of moderate severity or worse. Where the registry does not answer the audit request
# (this workplace's registry answers installs only), it says so and does not pretend to pass.
set -uo pipefail
cd "$(dirname "$0")/../ui"
out=$(npm audit --omit=dev --audit-level=moderate 2>&1)
status=$?
if [ $status -ne 0 ] && grep -q "audit endpoint returned an error\|ENOAUDIT\|EAI_AGAIN\|ECONNREFUSED" <<<"$out"; then
  echo "npm-audit: the registry did not answer the audit request; not checked here"
  exit 0
fi
echo "$out" | tail -5
exit $status

#!/usr/bin/env bash
# Runs a command as a named stage and prints how long it took, pass or fail.
set -uo pipefail
name=$1; shift
start=$(date +%s)
echo "==> [$name] $*"
"$@"
rc=$?
echo "<== [$name] $( [ $rc = 0 ] && echo ok || echo "FAILED ($rc)" ) in $(( $(date +%s) - start ))s"
exit $rc

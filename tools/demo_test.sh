#!/bin/bash
# make check's run of the demo, in the stock guest: the demo shows every
# fact of its story true; and a demo in which one fact is false (its
# writer watches another volume, so the daemon never tells it of the
# backup) says which and fails, rather than printing a story that did
# not happen.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "TAP version 13"
echo "1..2"
start=$SECONDS
tools/demo --guest >"$log" 2>&1
status=$?
# Its lines are comments here: none may read as a TAP result.
sed 's/^/# /' "$log"
echo "# the demo took $((SECONDS - start)) s (guest boot not included)"
if [ $status = 0 ]; then
	echo "ok 1 - the demo ran and every fact it showed held"
else
	echo "not ok 1 - the demo ran and every fact it showed held (status $status)"
fi

SNAPSET_DEMO_MATCH=LV=demo/elsewhere tools/demo --guest >"$log" 2>&1
status=$?
false_fact=$(grep '^demo: FALSE: ' "$log")
echo "# with the writer watching demo/elsewhere: status $status, ${false_fact:-no FALSE line}"
if [ $status = 1 ] && grep -q '^demo: FALSE: the writer app was told' <<<"$false_fact"; then
	echo "ok 2 - a writer never told fails the demo, which names that fact"
else
	sed 's/^/# /' "$log"
	echo "not ok 2 - a writer never told fails the demo, which names that fact"
fi

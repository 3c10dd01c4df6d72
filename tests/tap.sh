# Sourced by the host test scripts (tests/*_test.sh): the repository's
# root, a temporary directory removed at exit, and `result STATUS NAME`,
# which prints the next TAP line for a command's exit status.
# shellcheck shell=bash disable=SC2034 # root: the sourcing script's
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0

result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n $2"; else echo "not ok $n $2"; fi
}

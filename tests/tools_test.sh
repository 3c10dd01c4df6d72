#!/bin/bash
# Host tests of the test rig's own judges: tools/tap-summary must count
# crashes and unfinished plans as failures, tools/scan-splats must catch
# every kind of kernel report and pass a clean log, and tools/sanitized
# must fail on every kind of sanitizer report (make sanitize-build's
# canary). Prints TAP.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"

# summary_is NAME EXPECTED-LINE EXPECTED-STATUS TRANSCRIPT
summary_is() {
	local got status
	got=$(printf "$4" | "$root/tools/tap-summary" 2>/dev/null)
	status=$?
	[ "$got" = "$2" ] && [ $status = "$3" ]
	result $? "tap-summary: $1"
	[ "$got" = "$2" ] || echo "#   got '$got' status $status"
}

begin='# snapset-test: begin prog'

echo "1..17"
summary_is "all passed" "1 passed, 0 failed, 1 skipped" 0 \
	"$begin\n1..2\nok 1 a\nok 2 b # SKIP why\n# snapset-test: end prog status 0\n"
summary_is "one failed" "1 passed, 1 failed, 0 skipped" 1 \
	"$begin\n1..2\nok 1 a\nnot ok 2 b\n# snapset-test: end prog status 1\n"
summary_is "crash mid-plan counts missing tests" "1 passed, 2 failed, 0 skipped" 1 \
	"$begin\n1..3\nok 1 a\n# snapset-test: end prog status 139\n"
summary_is "crash after the plan counts once" "1 passed, 1 failed, 0 skipped" 1 \
	"$begin\n1..1\nok 1 a\n# snapset-test: end prog status 134\n"
summary_is "transcript cut short" "1 passed, 1 failed, 0 skipped" 1 \
	"$begin\n1..2\nok 1 a\n"
summary_is "single check lines" "1 passed, 1 failed, 0 skipped" 1 \
	"ok - lint a\nnot ok - guest: exited with status 125\n"
summary_is "no test is a failure" "0 passed, 0 failed, 0 skipped" 1 \
	"# nothing ran\n"

splat() {
	printf '[    1.0] boot\n%s\n' "$2" >"$tmp/log"
	! "$root/tools/vm/scan-splats" "$tmp/log" >/dev/null
	result $? "scan-splats: $1"
}
splat "WARN_ON" "[   18.8] WARNING: CPU: 0 PID: 122 at module/main.c:43 snapset_init+0x6/0x1000 [snapset]"
splat "lockdep" "[   20.1] WARNING: possible recursive locking detected"
splat "KASAN" "[   20.1] BUG: KASAN: use-after-free in snapset_release+0x1/0x2"

printf '[ 0.1] snapset: loading out-of-tree module taints kernel.\n[ 0.2] snapset: loaded\n' >"$tmp/log"
"$root/tools/vm/scan-splats" "$tmp/log" >/dev/null
result $? "scan-splats: clean log with taint lines passes"

# caught FAULT: tools/sanitized fails when the canary commits FAULT, its
# stderr thrown away, and shows the report.
canary=$root/build/asan/tests/sanitizer_canary
caught() {
	local out status
	out=$("$root/tools/sanitized" sh -c '"$0" "$1" 2>/dev/null' \
		"$canary" "$1")
	status=$?
	[ $status = 1 ] && grep -q "^# .*$2" <<<"$out" &&
		grep -q '^not ok - sanitizer report from pid' <<<"$out"
	result $? "sanitized: $1 is a failure, its report shown"
	[ $status = 1 ] || echo "#   status $status: $out"
}
if [ -x "$canary" ]; then
	"$root/tools/sanitized" "$canary" >"$tmp/clean" 2>&1
	result $? "sanitized: a clean run passes"
	caught overflow "ERROR: AddressSanitizer: heap-buffer-overflow"
	caught undefined "runtime error: signed integer overflow"
	caught leak "ERROR: LeakSanitizer: detected memory leaks"
	caught child-overflow "ERROR: AddressSanitizer: heap-buffer-overflow"
	ldd "$root/build/asan/snapset" | grep 'libclang_rt\.asan[^ ]* => /' \
		>/dev/null &&
		"$root/tools/sanitized" "$root/build/asan/snapset" --version \
			>/dev/null
	result $? "sanitized: the program make check runs is the sanitized one, and runs"
else
	for _ in $(seq 6); do
		result 0 "sanitized # SKIP no canary: make sanitize-build"
	done
fi

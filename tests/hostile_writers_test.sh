#!/bin/bash
# Hostile writers, in the guest: the daemon runs and a stream of sets
# ends (each `snapset run --persistent LOOP -- true`, the cheapest set
# the daemon tells writers of: no LVM, nothing to release), while four
# hostile clients of its socket (build/selftests/hostile_writer) do
# their worst: one hangs (never answers an event, or never says hello),
# one sends half an ack and closes, one floods garbage, one connects
# and disconnects HOSTILE_CONNECTS times (default 150; `make chaos`
# 500). Two good writers (`snapset writer`) log each event. HOSTILE_SETS
# sets end (default 20; `make chaos` 100), and more if a hostile has not
# been dropped yet; the flood's bytes are drawn from HOSTILE_SEED
# (printed). Checks: each good writer is told each shutdown once,
# within its deadline of the set's end, and is never dropped; the
# daemon lives; its memory and open files stay within bounds that do
# not grow with the counts. Prints TAP and the figures.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
if [ ! -c /dev/snapset ]; then
	echo "1..0 # SKIP needs /dev/snapset: runs in the guest"
	exit 0
fi
sets=${HOSTILE_SETS:-20}
connects=${HOSTILE_CONNECTS:-150}
seed=${HOSTILE_SEED:-$$}
echo "1..6"
echo "# $sets sets, $connects connects, HOSTILE_SEED=$seed"
snapset=$root/build/snapset
hostile=$root/build/selftests/hostile_writer
sock=$tmp/writer.sock
# Short, so that the hanging writer is dropped several times a run.
deadline_ms=5000
pids=()
cleanup() {
	local pid
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	wait
	[ -z "${disk-}" ] || losetup -d "$disk" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
bail() { echo "Bail out! $*"; exit 1; }

modprobe -q loop || true
truncate -s 1M "$tmp/disk"
disk=$(losetup -f --show "$tmp/disk") || bail "no loop device"
# The history's entries are kept in memory: a short one, full early in
# the run, keeps them out of the growth measured.
printf '%s\n' '[daemon]' "socket = $sock" "history_dir = $tmp/history" \
	'history_size = 4' "writer_deadline = $((deadline_ms / 1000))s" \
	>"$tmp/snapset.conf"
"$snapset" daemon --config "$tmp/snapset.conf" 2>"$tmp/daemon.log" &
daemon=$!
pids+=("$daemon")
daemon_ready() {
	[ "$(cat /sys/class/misc/snapset/agent)" = "$daemon" ] && [ -S "$sock" ]
}
settle 60 daemon_ready || bail "the daemon did not start"

# Each good writer logs each event: kind, set name, when it came (µs
# since the epoch) and when the set ended (ISO 8601, from the event).
# Builtins only: the fewer forks, the less the delay measures them.
goods=(good-1 good-2)
for good in "${goods[@]}"; do
	: >"$tmp/$good.log"
	"$snapset" writer --name "$good" --socket "$sock" -- bash -c '
		read -r -d "" event <"$SNAPSET_EVENT_FILE"
		[[ $event =~ \"ended_at\":\ *\"([^\"]*)\" ]]
		echo "$SNAPSET_EVENT $SNAPSET_NAME ${EPOCHREALTIME/./}" \
			"${BASH_REMATCH[1]:--}" >>"$0"' "$tmp/$good.log" \
		2>"$tmp/$good.err" &
	pids+=($!)
done
goods_registered() {
	[ "$("$snapset" status --socket "$sock" 2>/dev/null |
		grep -c '^  good-[12] ')" = 2 ]
}
settle 60 goods_registered || bail "the good writers did not connect"

# sample WHEN: the daemon's VmHWM and VmRSS (kB) and open files, a line
# of $tmp/samples.
sample() {
	echo "$1 $(awk '/^VmHWM|^VmRSS/ { printf "%s ", $2 }' \
		"/proc/$daemon/status")$(ls "/proc/$daemon/fd" | wc -l)" \
		>>"$tmp/samples"
}
sample start

# At the lowest priority: the hostile writers load the daemon with
# what they send, not the CPUs its writers need (under emulation, a
# flood at full speed starves every other process of the guest).
nice -n 19 "$hostile" hang "$sock" >"$tmp/hang.log" 2>&1 &
pids+=($!)
nice -n 19 "$hostile" half "$sock" >"$tmp/half.log" 2>&1 &
pids+=($!)
nice -n 19 "$hostile" flood "$sock" "$seed" >"$tmp/flood.log" 2>&1 &
pids+=($!)
hostiles=("${pids[@]: -3}")
nice -n 19 "$hostile" churn "$sock" "$connects" >"$tmp/churn.log" 2>&1 &
churn=$!
pids+=("$churn")

# Each hostile dropped at least once: the hanging one twice, so that
# both its ways (no hello, no answer) are likely to have been.
hostiles_dropped() {
	[ "$(grep -c '^hang: bye deadline' "$tmp/hang.log")" -ge 2 ] &&
		grep -q '^half: acked half' "$tmp/half.log" &&
		grep -q '^flood: [0-9]* garbage' "$tmp/flood.log"
}
told() { grep -c '^backup-shutdown hostile-' "$tmp/$1.log"; }
goods_told() {
	[ "$(told good-1)" -ge $ended ] && [ "$(told good-2)" -ge $ended ]
}
# Each set ends once the good writers were told of the last: a writer
# slower than the stream would queue its own events, and their delay
# would measure the writer, not the daemon.
ended=0 stream_end=$((SECONDS + 300))
while [ $ended -lt "$sets" ] ||
	{ ! hostiles_dropped && [ $SECONDS -lt $stream_end ]; }; do
	ended=$((ended + 1))
	"$snapset" run --name "hostile-$ended" --persistent "$disk" -- true \
		2>>"$tmp/run.err" || echo "# set $ended: run failed"
	settle 60 goods_told ||
		echo "# the good writers were not told of set $ended"
	[ $((ended % ((sets + 3) / 4))) != 0 ] || sample "set-$ended"
done

wait $churn
churn_status=$?
kill -TERM "${hostiles[@]}"
hostile_status=0
for pid in "${hostiles[@]}"; do wait "$pid" || hostile_status=1; done
cat "$tmp"/{hang,half,flood,churn}.log | grep -v '^[a-z]*: \(bye\|acked\)' |
	grep -v '^flood: [0-9]* garbage' | sed 's/^/# /'
echo "# drops: hang $(grep -c '^hang: bye deadline' "$tmp/hang.log") at" \
	"its deadline, half $(grep -c '^half: acked' "$tmp/half.log")," \
	"flood $(grep -c '^flood: [0-9]* garbage' "$tmp/flood.log") after" \
	"$(awk '/^flood: [0-9]* garbage/ { n += $2 } END { print n + 0 }' \
		"$tmp/flood.log") garbage messages; $ended sets ended"
hostiles_dropped && [ $churn_status = 0 ] && [ $hostile_status = 0 ]
result $? "each hostile writer was dropped, and could always connect again"

# Exactly one shutdown per set for each, no delivery failed, never dropped.
bad=0
for good in "${goods[@]}"; do
	dup=$(grep '^backup-shutdown hostile-' "$tmp/$good.log" |
		awk '{ print $2 }' | sort | uniq -d | head -n 3)
	[ "$(told "$good")" = $ended ] && [ -z "$dup" ] ||
		{ echo "# $good: told $(told "$good") of $ended; twice: $dup"; bad=1; }
done
"$snapset" status --socket "$sock" >"$tmp/status" 2>&1
grep '^  good-' "$tmp/status" | sed 's/^/#/'
grep -q '^  good-.* failed [1-9]' "$tmp/status" && bad=1
if grep 'writer good-[12] (pid [0-9]*): dropped' "$tmp/daemon.log"; then
	bad=1
fi
result $bad "each good writer was told each shutdown once, never dropped"

# Delay from each set's end to the good writer's event, in ms.
for good in "${goods[@]}"; do
	while read -r kind name came ended_at; do
		[ "$kind" = backup-shutdown ] || continue
		echo "$good $name $(((came - $(date -d "$ended_at" +%s%6N)) / 1000))"
	done <"$tmp/$good.log"
done | sort -k3,3n >"$tmp/delays"
awk -v deadline=$deadline_ms '
	{ delay[NR] = $3; if ($3 > deadline) late++ }
	END {
		printf "# delay from a set'\''s end to a good writer'\''s" \
			" event: median %d ms, max %d ms (%s %s), deadline %d" \
			" ms\n", delay[int((NR + 1) / 2)], delay[NR], $1, $2,
			deadline
		exit late || !NR
	}' "$tmp/delays"
result $? "each good writer was served within its deadline of the set's end"

kill -0 "$daemon" 2>/dev/null && daemon_ready && grep -q '^daemon: running' "$tmp/status"
result $? "the daemon lives and answers"

start_fds=$(awk '$1 == "start" { print $4 }' "$tmp/samples")
fds_back() { [ "$(ls "/proc/$daemon/fd" | wc -l)" -le "$start_fds" ]; }
settle 30 fds_back
sample end
sed 's/^\([^ ]*\) \([0-9]*\) \([0-9]*\) \([0-9]*\)/# \1: VmHWM \2 kB, VmRSS \3 kB, \4 files/' \
	"$tmp/samples"
# Bounds that do not depend on the counts. Hostile connections open at
# once are few (four clients, one connection each, plus those churn's
# closes leave for the daemon to read: at most its listen backlog of
# 64), and each costs the daemon an fd and a 64 KiB message buffer:
# 68 files and 68 x 65 KiB, about 4.4 MiB, over the start. The buffers
# come from glibc's heap and are not all given back, so VmRSS may stay
# up to that much above the start, and no higher, at the end.
awk -v start_fds="$start_fds" '
	$1 == "start" { hwm = $2; rss = $3 }
	{ if ($2 - hwm > 4500 || $4 - start_fds > 68) over = 1 }
	$1 == "end" { if ($3 - rss > 4500) over = 1 }
	END { exit over }' "$tmp/samples"
result $? "the daemon's memory grew by less than 4.4 MiB, its files by 68"
fds_back
result $? "the daemon's open files are as many as before the hostile writers"

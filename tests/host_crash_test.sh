#!/bin/bash
# A host crash with sets live and records pending, over two boots of the
# guest that tools/host-crash makes (this script skips anywhere else):
#
#   crash DIR    VGs on loop devices over DIR/*.img (DIR outlives the
#                guest), the daemon, three sets live whose COMMANDs block
#                (one completed, one of two LVs, one in a second VG) and
#                one ended whose record the stopped daemon left pending;
#                an untagged snapshot with data in its COW; then the
#                guest is reset by sysrq, nothing synced.
#   recover DIR  the next boot, the second VG left out: the daemon's
#                start removes each tagged LV once and reports each set
#                lost (log, history, a writer); untagged LVs keep their
#                contents; a second start, the second VG attached, finds
#                its set alone, and nothing else again.
#
# HOST_CRASH_SEED (printed) draws the data written and the order the
# sets are made in. Prints TAP, numbered on across the two boots.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=tools/vm/guest-lvm.sh
. "$root/tools/vm/guest-lvm.sh"
stage=${1-} keep=${2-}
if [ -z "$keep" ] || [ ! -c /dev/snapset ] || ! command -v lvm >/dev/null; then
	echo "1..0 # SKIP two boots of the guest: run by tools/host-crash"
	exit 0
fi
export LVM_SUPPRESS_FD_WARNINGS=1
guest_lvm_env "$tmp/lvm"
snapset=$root/build/snapset
sysfs=/sys/class/misc/snapset
counter() { cat "$sysfs/$1"; }
# The first VG is there at each start; the second only at the second.
vg1=snapsetcrash1 vg2=snapsetcrash2
# The events COMMANDs and the writer send, read in the order they come.
mkfifo "$tmp/events"
exec {events}<>"$tmp/events"
# next_event SECONDS: the next event line, in $event.
next_event() { read -r -t "$1" -u "$events" event; }
failed=0
check() {
	result "$@"
	[ "$1" = 0 ] || failed=1
}

# Sets, their fates and origins: live and not completed, over two LVs;
# live and completed; ended with its record pending; live, in $vg2.
fates=(open completed pending late)
origins=("$vg1/data1:4m $vg1/data2:4m" "$vg1/data1:4m" "$vg1/data2:4m"
	"$vg2/data3:4m")

# COMMAND FATE: completes the set but when open, says so, and blocks; a
# pending one's exits when told.
command_script() {
	cat <<'COMMAND'
fate=$1 events=$2 go=$3
[ "$fate" = open ] || "$SNAPSET" complete || exit 4
echo "ready $fate $SNAPSET_ID" >"$events"
[ "$fate" != pending ] || { read -r _ <"$go"; exit 0; }
exec sleep 3600
COMMAND
}

# An LV's contents, read past any cache.
lv_sum() {
	dd if="/dev/$1" bs=1M iflag=direct status=none | md5sum | cut -d' ' -f1
}

# Every LV: uuid, VG/LV, tags (none: "-").
lv_rows() {
	lvm lvs --noheadings -o lv_uuid,vg_name,lv_name,lv_tags \
		--separator ' ' "$@" 2>/dev/null |
		awk '{ print $1, $2 "/" $3, ($4 == "" ? "-" : $4) }'
}

crash() {
	local seed=${HOST_CRASH_SEED:-$$} i pids=() specs origin pv1 pv2 daemon pending_run
	RANDOM=$seed
	echo "1..7"
	echo "# HOST_CRASH_SEED=$seed"
	echo "$seed" >"$keep/seed"
	truncate -s 64M "$keep/pv1.img" "$keep/pv2.img"
	pv1=$(losetup -f --show "$keep/pv1.img") &&
		pv2=$(losetup -f --show "$keep/pv2.img") &&
		lvm vgcreate -q $vg1 "$pv1" >/dev/null &&
		lvm vgcreate -q $vg2 "$pv2" >/dev/null &&
		lvm lvcreate -q -n data1 -L 8m $vg1 >/dev/null &&
		lvm lvcreate -q -n data2 -L 8m $vg1 >/dev/null &&
		lvm lvcreate -q -n data3 -L 8m $vg2 >/dev/null ||
		{ echo "Bail out! the VGs were not made"; exit 1; }
	# data1's first MiB is copied into kept's COW when rewritten.
	dd if=<(yes "snapset $seed $RANDOM") of=/dev/$vg1/data1 bs=1M count=8 \
		iflag=fullblock oflag=direct status=none &&
		lvm lvcreate -q -s -n kept -L 4m $vg1/data1 >/dev/null &&
		dd if=<(yes "rewritten $RANDOM") of=/dev/$vg1/data1 bs=1M count=1 \
			iflag=fullblock oflag=direct status=none ||
		{ echo "Bail out! data1 and its snapshot kept were not made"; exit 1; }

	printf '%s\n' '[daemon]' "socket = $tmp/writer.sock" \
		"history_dir = $tmp/history" >"$tmp/snapset.conf"
	"$snapset" daemon --config "$tmp/snapset.conf" 2>"$tmp/daemon.log" &
	daemon=$!
	daemon_ready() { [ "$(counter agent)" = "$daemon" ]; }
	settle 60 daemon_ready || { echo "Bail out! the daemon did not start"; exit 1; }
	command_script >"$tmp/command.sh"
	mkfifo "$tmp/go"
	# All at once, in a drawn order: lvm takes them in turn, VG by VG.
	for i in $(shuf -i 0-3 --random-source=<(yes "$seed")); do
		specs=()
		for origin in ${origins[i]}; do
			specs+=(--lvm-snapshot "$origin")
		done
		"$snapset" run --name "crash-${fates[i]}" "${specs[@]}" -- \
			sh "$tmp/command.sh" "${fates[i]}" "$tmp/events" "$tmp/go" \
			2>"$tmp/${fates[i]}.err" &
		pids[i]=$!
	done
	pending_run=${pids[2]}
	for i in 1 2 3 4; do
		next_event 240 || break
		read -r _ fate id <<<"$event"
		echo "$fate $id" >>"$keep/sets"
	done
	[ "$(wc -l <"$keep/sets")" = 4 ] || {
		echo "Bail out! the sets were not all made"
		tail -n 3 "$tmp"/*.err
		exit 1
	}
	# The daemon stalls: the pending set's record waits for it.
	kill -STOP "$daemon"
	echo go >"$tmp/go"
	wait "$pending_run"
	echo "# live sets $(counter sets_live), pending records $(counter pending)"
	[ "$(counter sets_live)" = 3 ] && [ "$(counter pending)" = 1 ]
	result $? "three sets live, one record pending, at the crash"

	lv_rows >"$keep/lvs"
	for lv in $vg1/data1 $vg1/data2 $vg2/data3 $vg1/kept; do
		echo "$lv $(lv_sum "$lv")"
	done >"$keep/sums"
	[ "$(awk '$3 != "-"' "$keep/lvs" | wc -l)" = 5 ] &&
		[ "$(awk '$3 == "-"' "$keep/lvs" | wc -l)" = 4 ]
	result $? "five LVs tagged snapset, four untagged, at the crash"
	echo "$n" >"$keep/tests"
	# What this console says gets out before the reset.
	stty -opost <&1 2>/dev/null
	echo b >/proc/sysrq-trigger
	sleep 60
	echo "Bail out! sysrq b did not reset the guest"
	exit 1
}

# The tagged LVs of @keep/lvs in VG $1, and the ids of their sets.
tagged_in() { awk -v vg="$1/" '$3 != "-" && index($2, vg) == 1' "$keep/lvs"; }
set_of() { grep -o 'snapset:[0-9a-f-]*' <<<"$1" | cut -d: -f2; }

# start_daemon LOG: a daemon whose start-up lvs waits for the writer:
# $vg1's lock is held until the writer is connected (else the writer
# could miss the daemon's first notices).
start_daemon() {
	local lock_dir gate
	lock_dir=$(lvm lvmconfig --typeconfig full global/locking_dir | cut -d'"' -f2)
	mkdir -p "$lock_dir"
	[ -p "$tmp/gate" ] || mkfifo "$tmp/gate"
	flock "$lock_dir/V_$vg1" sh -c 'echo locked >"$0"; read -r _ <"$1"' \
		"$tmp/events" "$tmp/gate" &
	gate=$!
	next_event 60 && [ "$event" = locked ] ||
		{ echo "Bail out! $vg1's lock was not taken"; exit 1; }
	"$snapset" daemon --config "$tmp/snapset.conf" 2>"$1" &
	daemon=$!
	daemon_ready() { [ "$(counter agent)" = "$daemon" ] && [ -S "$tmp/writer.sock" ]; }
	settle 60 daemon_ready || { echo "Bail out! the daemon did not start"; exit 1; }
	if [ -z "${writer-}" ]; then
		"$snapset" writer --name crashwriter --socket "$tmp/writer.sock" -- \
			sh -c 'echo "told $SNAPSET_ID $SNAPSET_COMPLETED $SNAPSET_REASON" \
			>"$0"' "$tmp/events" 2>"$tmp/writer.err" &
		writer=$!
	fi
	writer_ready() {
		"$snapset" status --socket "$tmp/writer.sock" 2>/dev/null |
			grep -q '^  crashwriter '
	}
	settle 60 writer_ready || { echo "Bail out! the writer did not connect"; exit 1; }
	echo open >"$tmp/gate"
	wait "$gate"
}

# wait_told COUNT: the writer is told COUNT shutdowns (in $tmp/told),
# then the daemon stops, once its reports and history are written.
wait_told() {
	local i
	for ((i = 0; i < $1; i++)); do
		next_event 240 || break
		echo "$event" >>"$tmp/told"
	done
	kill -TERM "$daemon"
	wait "$daemon"
}

# removals LOG LV: the lines of LOG that say what became of LV.
removals() { grep -c ": $2: " "$1"; }

recover() {
	local pv1 pv2 lv id bad sets
	n=$(cat "$keep/tests")
	echo "# HOST_CRASH_SEED=$(cat "$keep/seed"), sets: $(tr '\n' ' ' <"$keep/sets")"
	pv1=$(losetup -f --show "$keep/pv1.img") || exit 1
	# As a host's boot activates its VGs.
	lvm vgchange -q -ay $vg1 >/dev/null || exit 1
	[ "$(counter sets_live)" = 0 ] && [ "$(counter pending)" = 0 ] &&
		[ "$(lv_rows $vg1 | sort)" = "$(grep " $vg1/" "$keep/lvs" | sort)" ]
	check $? "after the crash: no set or record, every LV of $vg1 there"

	printf '%s\n' '[daemon]' "socket = $tmp/writer.sock" \
		"history_dir = $tmp/history" >"$tmp/snapset.conf"
	: >"$tmp/told"
	sets=$(tagged_in $vg1 | while read -r _ _ tags; do set_of "$tags"; done | sort -u)
	start_daemon "$tmp/daemon1.log"
	wait_told "$(wc -l <<<"$sets")"
	bad=
	while read -r _ lv _; do
		[ "$(removals "$tmp/daemon1.log" "$lv")" = 1 ] &&
			grep -q ": $lv: removed$" "$tmp/daemon1.log" || bad+=" $lv"
	done < <(tagged_in $vg1)
	[ -z "$(lv_rows $vg1 | awk '$3 != "-"')" ] && [ -z "$bad" ]
	check $? "the first start removed each tagged LV of $vg1 once${bad:+ (not:$bad)}"

	bad=
	for id in $sets; do
		[ "$(grep -ci "^snapset daemon: set $id: ended without BackupComplete (reason lost)" \
			"$tmp/daemon1.log")" = 1 ] &&
			[ "$(grep -ci "^told $id 0 lost$" "$tmp/told")" = 1 ] &&
			[ "$(grep -ci "\"id\": *\"$id\"" "$tmp/history/history.json")" = 1 ] ||
			bad+=" $id"
	done
	[ -z "$bad" ]
	check $? "each of its $(wc -w <<<"$sets") sets reported lost once: log, writer, history${bad:+ (not:$bad)}"

	pv2=$(losetup -f --show "$keep/pv2.img") &&
		lvm vgchange -q -ay $vg2 >/dev/null || exit 1
	start_daemon "$tmp/daemon2.log"
	wait_told 1
	bad=
	while read -r _ lv tags; do
		id=$(set_of "$tags")
		[ "$(removals "$tmp/daemon2.log" "$lv")" = 1 ] &&
			[ "$(grep -ci "^told $id 0 lost$" "$tmp/told")" = 1 ] || bad+=" $lv"
	done < <(tagged_in $vg2)
	# Nothing but the new VG's set: one removal, one shutdown.
	[ "$(grep -c ': removed$\|gone already\|release failed' "$tmp/daemon2.log")" = 1 ] &&
		[ "$(grep -c '(reason lost)' "$tmp/daemon2.log")" = 1 ] &&
		[ "$(wc -l <"$tmp/told")" = "$(wc -l <"$keep/sets")" ] &&
		[ "$(grep -c '"reason": *"lost"' "$tmp/history/history.json")" = \
			"$(wc -l <"$keep/sets")" ]
	[ $? = 0 ] && [ -z "$bad" ] && [ -z "$(lv_rows | awk '$3 != "-"')" ]
	check $? "a second start removed the LV of $vg2's set once, and nothing else${bad:+ (not:$bad)}"

	bad=
	while read -r lv sum; do
		[ "$(lv_sum "$lv")" = "$sum" ] || bad+=" $lv"
	done <"$keep/sums"
	[ "$(lv_rows | sort)" = "$(awk '$3 == "-"' "$keep/lvs" | sort)" ] && [ -z "$bad" ]
	check $? "untagged LVs untouched: the same LVs, the same contents${bad:+ (changed:$bad)}"
	if [ $failed = 1 ]; then
		sed 's/^/# /' "$tmp/daemon1.log" "$tmp/daemon2.log" "$tmp/told"
	fi
	kill "$writer"
	wait "$writer"
	lvm vgchange -q -an $vg1 $vg2 >/dev/null
	losetup -d "$pv1" "$pv2"
	exit $failed
}

case $stage in
crash) crash ;;
recover) recover ;;
*) echo "host_crash_test: $stage: no such stage (crash, recover)" >&2; exit 2 ;;
esac

#!/bin/bash
# The snapset daemon SIGKILLed at random moments while sets end, in the
# guest, on real LVM: sets made by `snapset run --lvm-snapshot` on a VG
# of one loop device end one after another (two at a time), three
# writers answer each shutdown, and a loop restarts the daemon as soon
# as it dies, as systemd would. DAEMON_KILLS kills (default 4) while
# DAEMON_SETS sets end (default 6, about 13 s each under TCG, lvm's
# three commands a set; `make chaos` runs 100 and 200), each
# kill aimed in turn at a set's end (its record just in), the release
# executor's lvremove, a writer answering or an answer given (the
# acknowledgement and the history write follow), its moment drawn with
# DAEMON_SEED (printed). Then, once a daemon has settled everything:
# every record acknowledged (none pending, none live), every snapshot LV
# gone and none removed twice or failed, each writer told each shutdown
# at least once (the daemons' lines, over all restarts) and its COMMAND
# run exactly once per set (libsnapset answers a replay itself), and
# every armed set once in the history. Prints TAP, and the tally of
# what each kill landed on.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=tools/vm/guest-lvm.sh
. "$root/tools/vm/guest-lvm.sh"
guest_kill_test DAEMON 4 6
sets=${DAEMON_SETS:-6}
echo "# $sets sets"
export LVM_SUPPRESS_FD_WARNINGS=1
snapset=$root/build/snapset
vg=snapsetdk$$
sock=$tmp/writer.sock
writers=(dk1 dk2 dk3)
pids=()
# The daemon that runs, and the loop that would restart it, stop.
cleanup() {
	: >"$tmp/stop"
	[ ! -s "$tmp/daemon.pid" ] || kill "$(cat "$tmp/daemon.pid")" 2>/dev/null
	kill_test_cleanup
}
trap cleanup EXIT

kill_test_vg "$vg" 256M 8m || exit 1
vg_made=$SECONDS

printf '%s\n' '[daemon]' "socket = $sock" "history_dir = $tmp/history" \
	'history_size = 100000' >"$tmp/snapset.conf"
# systemd's Restart=always: a new daemon as soon as the last one died,
# all of them logging to one file.
keep_daemon() {
	while [ ! -e "$tmp/stop" ]; do
		"$snapset" daemon --config "$tmp/snapset.conf" \
			2>>"$tmp/daemon.log" &
		echo $! >"$tmp/daemon.pid"
		wait $!
	done
}
# Its shell says nothing of the kills.
keep_daemon 2>/dev/null &
pids+=($!)
daemon=
# A daemon other than the one killed serves: the module's agent.
daemon_ready() {
	local pid
	read -r pid 2>/dev/null <"$tmp/daemon.pid" || return 1
	[ "$pid" != "${killed-}" ] && [ "$(counter agent)" = "$pid" ] &&
		[ -S "$sock" ] && daemon=$pid
}
settle 60 daemon_ready || { echo "Bail out! the daemon did not start"; exit 1; }
daemon_started=$SECONDS

# Each writer logs each event it runs COMMAND for, between the marks
# that say it is answering.
for w in "${writers[@]}"; do
	"$snapset" writer --name "$w" --socket "$sock" -- sh -c ': >"$0.busy"
		echo "$SNAPSET_EVENT $SNAPSET_ID $SNAPSET_NAME" >>"$0.log"
		: >"$0.answered"
		rm "$0.busy"' "$tmp/$w" 2>"$tmp/$w.err" &
	pids+=($!)
done
writers_ready() {
	local status
	status=$("$snapset" status --socket "$sock" 2>/dev/null)
	for w in "${writers[@]}"; do
		grep -q "^  $w " <<<"$status" || return 1
	done
}
settle 60 writers_ready || { echo "Bail out! the writers did not connect"; exit 1; }
subscribers=$(counter subscribers)
"$snapset" watch >"$tmp/watch.log" 2>&1 &
pids+=($!)
watching() { [ "$(counter subscribers)" -gt "$subscribers" ]; }
settle 60 watching || { echo "Bail out! snapset watch did not start"; exit 1; }
ended_before=$(sets_ended) overflows_before=$(counter overflows)
echo "# set up in $SECONDS s: the VG $vg_made s, the daemon" \
	"$((daemon_started - vg_made)) s, the writers and the watcher" \
	"$((SECONDS - daemon_started)) s"
sets_from=$SECONDS

# Two lanes of sets, each run after the other; every other one
# completes. A set lives from its lvcreate to the daemon's lvremove.
lane() {
	local i
	for ((i = $1; i <= sets; i += 2)); do
		"$snapset" run --name "dk-$i" --lvm-snapshot "$vg/data:4m" -- \
			sh -c '[ $0 = 0 ] || "$SNAPSET" complete' $((i % 2)) \
			>/dev/null 2>"$tmp/run-$i.err"
		echo "$i $?" >>"$tmp/runs"
	done
}
lane 1 &
lanes=($!)
lane 2 &
lanes+=($!)
pids+=("${lanes[@]}")
producing() { kill -0 "${lanes[@]}" 2>/dev/null; }

# What a kill is aimed at, and the event it waits for: a set's end (a
# record in), an lvm command of the daemon's (its release executor's
# lvremove, mostly), a writer answering, a writer's answer given (the
# record then acknowledged, the history written); then the moment is
# drawn in a window after it, in ms.
aims=(ended lvm writers answered)
windows=(300 1500 150 100)
# Polled without a program of their own, which would take the CPU
# that lvm needs under TCG.
lvm_running() {
	local children
	read -r children 2>/dev/null </proc/"$daemon"/task/"$daemon"/children
	[ -n "$children" ]
}
answering() { compgen -G "$tmp/*.busy" >/dev/null; }

anchor_reached() {
	case $1 in
	ended) [ "$(sets_ended)" -gt "$ended_at" ] ;;
	lvm) lvm_running ;;
	writers) answering ;;
	answered) compgen -G "$tmp/*.answered" >/dev/null ;;
	esac
}
# What the daemon was doing as it was killed.
landed_on() {
	if answering; then
		echo writers
	elif lvm_running; then
		echo lvm
	elif [ "$(counter pending)" != 0 ]; then
		echo record
	else
		echo idle
	fi
}

first_aim=$((RANDOM % ${#aims[@]}))
for k in $(seq "$kills"); do
	aim=$(((first_aim + k) % ${#aims[@]}))
	ms=$((RANDOM % windows[aim]))
	printf -v moment '%d.%03d' $((ms / 1000)) $((ms % 1000))
	ended_at=$(sets_ended)
	rm -f "$tmp"/*.answered
	settle 120 eval "anchor_reached ${aims[aim]} || ! producing"
	# The kill's moment: random by design, not a wait for an event.
	sleep "$moment"
	producing || break
	landed=$(landed_on)
	killed=$daemon
	kill -KILL "$killed"
	echo "$k ${aims[aim]} $landed $moment pending=$(counter pending)" \
		>>"$tmp/kills"
	settle 60 daemon_ready ||
		{ echo "Bail out! no daemon after kill $k"; exit 1; }
done
wait "${lanes[@]}"
ended_in=$SECONDS

# A daemon has released and told everything, and no lvremove of a
# killed one still runs, or the checks say what is missing.
ours() { grep -c " $1 .* name=dk-[0-9]* " "$tmp/watch.log"; }
settled() {
	[ "$(counter sets_live)" = 0 ] && [ "$(counter pending)" = 0 ] &&
		! pgrep -x lvm >/dev/null &&
		[ "$(ours shutdown)" = $(($(sets_ended) - ended_before)) ]
}
settle 120 settled || echo "# not settled after 120 s"
echo "# the sets ended within $((ended_in - sets_from)) s, all settled" \
	"$((SECONDS - ended_in)) s later"
in_history() { [ "$(history_ids | wc -l)" -ge "$(ours armed)" ]; }
settle 30 in_history
history_ids >"$tmp/history.ids"
"$snapset" list --json >"$tmp/list" 2>&1
listed=$?

echo "# kills landed: $(cut -d' ' -f3 "$tmp/kills" | sort | uniq -c |
	awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }'); of" \
	"$(wc -l <"$tmp/kills") kills" \
	"(aimed: $(cut -d' ' -f2 "$tmp/kills" | sort | uniq -c |
		awk '{ printf "%s%s=%s", sep, $2, $1; sep = " " }'))"
echo "# $(wc -l <"$tmp/runs") runs, $(awk '$2 != 0' "$tmp/runs" | wc -l)" \
	"failed; $(ours armed) sets armed; $(grep -c 'removed$' "$tmp/daemon.log")" \
	"LVs removed, $(grep -c 'gone already$' "$tmp/daemon.log") found gone;" \
	"$(grep -c '^snapset daemon: .*writers told' "$tmp/daemon.log")" \
	"deliveries logged"

sed 's/^/# kill /' "$tmp/kills"
[ "$(wc -l <"$tmp/kills")" = "$kills" ]
result $? "the daemon was killed $kills times while sets ended"

echo "# pending $(counter pending), live sets $(counter sets_live)," \
	"runs failed: $(awk '$2 != 0 { printf " %s", $1 }' "$tmp/runs")"
[ "$(counter pending)" = 0 ] && [ "$(counter sets_live)" = 0 ] &&
	[ $listed = 0 ] && ! grep -q '"id"' "$tmp/list" &&
	awk '$2 != 0 { exit 1 }' "$tmp/runs"
result $? "every record acknowledged, every run succeeded"

# Joins the module's sets (watch), the daemons' lines, the writers'
# logs and the history; prints a comment per broken promise, its
# number first.
for w in "${writers[@]}"; do
	sed "s/^/$w /" "$tmp/$w.log"
done >"$tmp/told.log"
awk -v writers="${writers[*]}" '
FILENAME ~ /watch.log$/ {
	if ($0 !~ / name=dk-[0-9]+ / || $2 != "armed") next
	armed[$4] = 1
	next
}
FILENAME ~ /daemon.log$/ {
	if ($0 ~ /release failed: /) print "# 3: " $0
	else if ($0 ~ /: removed$/) removed[$(NF - 1)]++
	if ($0 !~ /: (complete|ended without BackupComplete) \(.*writers told: /)
		next
	id = substr($5, 2, 36)
	told = $0; sub(/.*writers told: /, "", told)
	n = split(told, names, /, /)
	for (i = 1; i <= n; i++) delivered[id, names[i]]++
	next
}
FILENAME ~ /told.log$/ {
	if ($2 == "backup-shutdown" && $4 ~ /^dk-[0-9]+$/) ran[$3, $1]++
	next
}
{ history[$1]++ }
END {
	for (lv in removed)
		if (removed[lv] > 1)
			print "# 3: " lv " removed " removed[lv] " times"
	nw = split(writers, w, " ")
	for (id in armed) {
		if (history[id] != 1)
			print "# 6: " id " is " history[id] + 0 \
				" times in the history"
		for (i = 1; i <= nw; i++) {
			if (!delivered[id, w[i]])
				print "# 4: " w[i] " was never told " id
			if (ran[id, w[i]] != 1)
				print "# 5: " w[i] " ran COMMAND " \
					ran[id, w[i]] + 0 " times for " id
		}
	}
	for (id in history)
		if (!(id in armed))
			print "# 6: " id " is in the history, never armed"
}' "$tmp/watch.log" "$tmp/daemon.log" "$tmp/told.log" "$tmp/history.ids" \
	>"$tmp/verdict"
broken() { ! grep -m 10 '^# '"$1"':' "$tmp/verdict"; }

left=$(lvm lvs --noheadings -o lv_name,lv_tags "$vg" | tr -s ' ' | tr '\n' ';')
[ "$left" = " data ;" ] || echo "# left in $vg: $left"
[ "$left" = " data ;" ] && broken 3
result $? "every snapshot LV released once, none failed"
broken 4
result $? "each writer was told each shutdown at least once"
broken 5
result $? "each writer ran its COMMAND once per set"
ended=$(($(sets_ended) - ended_before))
[ "$ended" = "$(ours shutdown)" ] && [ "$(ours armed)" = "$sets" ] ||
	echo "# 6: $ended sets ended, $(ours shutdown) shut down," \
		"$(ours armed) armed of $sets" >>"$tmp/verdict"
[ "$(counter overflows)" = "$overflows_before" ] ||
	echo "# 6: the watcher missed events" >>"$tmp/verdict"
broken 6
result $? "every set ended once, and is once in the history"

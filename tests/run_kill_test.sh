#!/bin/bash
# snapset run --lvm-snapshot SIGKILLed at random moments of its life, in
# the guest, on real LVM, with the daemon and one writer connected: run,
# its COMMAND or both are killed while the specs are resolved, between
# lvcreate and arm, while COMMAND reads the snapshot, while it calls
# `snapset complete`, or after it exited. RUN_KILLS runs (default 3,
# about 35 s each under TCG; `make chaos` runs 500), each with its
# victim, the stage it aims at and the moment drawn with RUN_SEED
# (printed). Then, once the daemon has
# released everything: every set ended exactly once, no LV tagged
# snapset is left, nothing holds a device, and the writer heard exactly
# one BackupShutdown per armed set, with the completed flag and the
# reason of what happened. Prints TAP, and the tally of where the kills
# landed.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=tools/vm/guest-lvm.sh
. "$root/tools/vm/guest-lvm.sh"
guest_kill_test RUN 3 5
export LVM_SUPPRESS_FD_WARNINGS=1
snapset=$root/build/snapset
vg=snapsetrun$$
sock=$tmp/writer.sock
# Each run's files: $tmp/N.err (run -v), N.out (its --json summary), and
# COMMAND's markers N.started, N.completing, N.completed, N.exiting.
command_script=$tmp/command.sh
pids=()
lvcreate_running() { pgrep -f "lvcreate .*$vg/data\$" >/dev/null; }
# A run in flight when the test bailed out, its COMMAND and lvcreate (not
# this shell's children), then what every kill test leaves.
cleanup() {
	[ -z "${run-}" ] || kill -KILL "$run" 2>/dev/null
	pkill -KILL -f "^sh $command_script " 2>/dev/null
	settle 60 eval '! lvcreate_running'
	kill_test_cleanup
}
trap cleanup EXIT

kill_test_vg "$vg" 512M 16m || exit 1

printf '%s\n' '[daemon]' "socket = $sock" "history_dir = $tmp/history" \
	'history_size = 100000' >"$tmp/snapset.conf"
"$snapset" daemon --config "$tmp/snapset.conf" 2>"$tmp/daemon.log" &
daemon=$!
pids+=("$daemon")
daemon_ready() { [ "$(counter agent)" = "$daemon" ] && [ -S "$sock" ]; }
settle 60 daemon_ready || { echo "Bail out! the daemon did not start"; exit 1; }
# The writer logs each event: kind, set id, name, completed, reason, signal.
"$snapset" writer --name runkill --socket "$sock" -- sh -c 'echo \
	"$SNAPSET_EVENT $SNAPSET_ID $SNAPSET_NAME $SNAPSET_COMPLETED" \
	"${SNAPSET_REASON:--} $SNAPSET_SIGNAL" >>"$0"' "$tmp/writer.log" \
	2>"$tmp/writer.err" &
pids+=($!)
writer_ready() {
	"$snapset" status --socket "$sock" 2>/dev/null | grep -q '^  runkill '
}
settle 60 writer_ready || { echo "Bail out! the writer did not connect"; exit 1; }
subscribers=$(counter subscribers)
"$snapset" watch >"$tmp/watch.log" 2>&1 &
pids+=($!)
watching() { [ "$(counter subscribers)" -gt "$subscribers" ]; }
settle 60 watching ||
	{ echo "Bail out! snapset watch did not start"; exit 1; }
ended_before=$(sets_ended) overflows_before=$(counter overflows)

# COMMAND: reads the snapshot, completes the set, reads it again; each
# step's marker tells the checks below how far it got.
cat >"$command_script" <<'COMMAND'
marker=$1 snapshot=/dev/$2/data-snapset-${SNAPSET_ID%%-*}
read_snapshot() {
	dd if="$snapshot" of=/dev/null bs=1M iflag=direct status=none
}
: >"$marker.started"
read_snapshot || exit 3
: >"$marker.completing"
"$SNAPSET" complete || exit 4
: >"$marker.completed"
read_snapshot || exit 5
: >"$marker.exiting"
COMMAND

# The stages a kill aims at, in run's order: the event each starts with
# (a line of run -v or a marker of COMMAND), and the window after it
# the kill's moment is drawn in, in ms. Under TCG lvcreate alone takes
# seconds: a kill aimed at it lands while it runs; one aimed at arm
# lands after the LV was made, before run armed the set.
stages=(resolve lvcreate arm copy complete exited)
anchors=(start created made started completing exiting)
windows=(1500 2000 1000 2000 200 300)
anchor_reached() {
	case $1 in
	start) true ;;
	created) grep -q ' created$' "$tmp/$i.err" ;;
	made) grep -q ': snapshot .* made (' "$tmp/$i.err" ;;
	*) [ -e "$tmp/$i.$1" ] ;;
	esac
}
# run's --json summary, its last word: written unless it was killed.
run_over() { [ -s "$tmp/$i.out" ]; }
command_pattern() { echo "sh $command_script $tmp/$i $vg"; }
sandbox_gone() {
	! pgrep -xf "$(command_pattern)" >/dev/null && ! lvcreate_running
}

victims=(run COMMAND both)
# The stages are aimed at in turn from a seeded one, so that a short run
# of a few kills still aims at as many stages.
first_aim=$((RANDOM % ${#stages[@]}))
for i in $(seq "$kills"); do
	aim=$(((first_aim + i) % ${#stages[@]}))
	victim=${victims[RANDOM % 3]}
	# Before COMMAND starts, run is the only victim.
	[ $aim -ge 3 ] || victim=run
	ms=$((RANDOM % windows[aim]))
	printf -v moment '%d.%03d' $((ms / 1000)) $((ms % 1000))
	"$snapset" run -v --json --name "runkill-$i" \
		--lvm-snapshot "$vg/data:8m" -- \
		sh "$command_script" "$tmp/$i" "$vg" \
		>"$tmp/$i.out" 2>"$tmp/$i.err" &
	run=$!
	settle 60 eval "anchor_reached ${anchors[aim]} || run_over"
	# The kill's moment: random by design, not a wait for an event.
	sleep "$moment"
	# Whether COMMAND was there to be killed, for the record.
	command_killed=-
	case $victim in
	run) kill -KILL $run 2>/dev/null ;;
	COMMAND | both)
		pkill -KILL -xf "$(command_pattern)" && command_killed=1 ||
			command_killed=0
		[ "$victim" = COMMAND ] || kill -KILL $run 2>/dev/null
		;;
	esac
	wait $run 2>/dev/null
	run=
	settle 60 sandbox_gone || echo "# run $i: COMMAND or lvcreate still runs"
	marks=-
	for mark in started completing completed exiting; do
		[ -e "$tmp/$i.$mark" ] && marks+=",$mark"
	done
	# What the checks need: how far run and COMMAND got.
	echo "$i $victim ${stages[aim]} over=$(run_over && echo 1 || echo 0)" \
		"outcome=$(sed -n 's/.*"outcome": *"\([a-z]*\)".*/\1/p' \
			"$tmp/$i.out")" \
		"moment=$moment command_killed=$command_killed created=$(grep -c ' created$' "$tmp/$i.err")" \
		"made=$(grep -c ': snapshot .* made (' "$tmp/$i.err")" \
		"armed=$(grep -c '^snapset run: set armed' "$tmp/$i.err")" \
		"ended=$(grep -c 'COMMAND \(exited\|was killed\)' "$tmp/$i.err")" \
		"marks=$marks" >>"$tmp/runs"
done

# The daemon has released and told everything, and the watcher and the
# history caught up with the module, or the checks say what is missing.
tagged_lvs() {
	lvm lvs --noheadings -o lv_name -S lv_tags=snapset "$vg" 2>/dev/null
}
# ours EVENT: how many of the watcher's EVENT lines are of this test's sets.
ours() { grep -c " $1 .* name=runkill-[0-9]* " "$tmp/watch.log"; }
settled() {
	[ "$(counter sets_live)" = 0 ] && [ "$(counter pending)" = 0 ] &&
		[ -z "$(tagged_lvs)" ] &&
		[ "$(ours shutdown)" = $(($(sets_ended) - ended_before)) ]
}
settle 120 settled || echo "# not settled after 120 s"
in_history() { [ "$(history_ids | wc -l)" -ge "$(ours armed)" ]; }
settle 30 in_history
history_ids >"$tmp/history.ids"

# Joins what the module saw (watch), what the writer was told, the
# history and what the harness knows of each run; prints a comment per
# broken promise, its number first, and the tally.
awk -v killed_stage_min=$((kills >= 50 ? 6 : 2)) -v full_size=$((kills >= 50)) '
FILENAME ~ /watch.log$/ {
	for (f = 5; f <= NF; f++) {
		split($f, kv, "=")
		field[kv[1]] = kv[2]
	}
	if (field["name"] !~ /^runkill-[0-9]+$/) { delete field; next }
	id = $4
	if ($2 == "created") set_of[field["name"]] = id
	if ($2 == "armed") armed[id] = 1
	if ($2 == "shutdown") {
		shutdowns[id]++
		completed[id] = field["completed"]
		reason[id] = field["reason"]
		signal[id] = ("signal" in field) ? field["signal"] : 0
	}
	delete field
	next
}
FILENAME ~ /writer.log$/ {
	if ($3 !~ /^runkill-[0-9]+$/ || $1 != "backup-shutdown") next
	told[$2]++
	told_completed[$2] = $4; told_reason[$2] = $5; told_signal[$2] = $6
	next
}
FILENAME ~ /history.ids$/ { in_history[$1]++; next }
{
	run = $1; victim = $2; aim = $3
	for (f = 4; f <= NF; f++) { split($f, kv, "="); r[kv[1]] = kv[2] }
	id = set_of["runkill-" run]
	marks = "," r["marks"] ","
	if (id == "") stage = "resolve"
	else if (!(id in armed)) stage = r["made"] ? "arm" : "lvcreate"
	else if (marks ~ /,exiting,/) stage = "exited"
	else if (marks ~ /,completing,/ && marks !~ /,completed,/)
		stage = "complete"
	else stage = "copy"
	what = "run " run " (" victim " killed, aimed at " aim ", landed at " \
		stage ")"
	# Run finished with no set: it failed, no kill landed.
	if (id == "" && r["over"] == 1) {
		print "# 5: run " run " ended with no set, outcome " \
			r["outcome"]
		delete r; next
	}
	# Run had finished before its kill: the kill missed it.
	if (victim != "COMMAND" && r["over"] == 1) stage = "missed"
	landed[stage]++; victims[victim]++
	commands_killed += (r["command_killed"] == 1)
	if (id == "") { delete r; next }
	if (shutdowns[id] != 1)
		print "# 1: " what ": " id " ended " shutdowns[id] + 0 " times"
	if ((id in armed) != (in_history[id] == 1))
		print "# 1: " what ": " id " is " in_history[id] + 0 \
			" times in the history, armed " (id in armed)
	if (!(id in armed)) {
		if (told[id])
			print "# 4: " what ": " id " was never armed, the" \
				" writer was told " told[id] " shutdowns"
		delete r; next
	}
	sets_completed += completed[id]
	if (told[id] != 1)
		print "# 4: " what ": the writer was told " told[id] + 0 \
			" shutdowns of " id
	else if (told_completed[id] != completed[id] ||
		 told_reason[id] != reason[id] ||
		 told_signal[id] != signal[id])
		print "# 4: " what ": the writer was told completed=" \
			told_completed[id] " reason=" told_reason[id] \
			" signal=" told_signal[id] ", the module says " \
			completed[id] " " reason[id] " " signal[id]
	# What the harness knows: complete returned, or was never called.
	if (marks ~ /,completed,/ && completed[id] != 1)
		print "# 4: " what ": complete returned, the set ended" \
			" incomplete (" reason[id] ")"
	if (completed[id] == 1 && marks !~ /,completing,/)
		print "# 4: " what ": the set completed, COMMAND never" \
			" called complete"
	if (r["over"] == 1) {
		if ((r["outcome"] == "completed") != (completed[id] == 1) ||
		    reason[id] != (completed[id] == 1 ? "close" : "abort"))
			print "# 4: " what ": run said " r["outcome"] \
				", the set ended completed=" completed[id] \
				" reason=" reason[id]
	} else if (victim == "COMMAND") {
		print "# 4: " what ": run did not finish"
	} else if (!(reason[id] == "exit" && signal[id] == 9) &&
		   !(r["ended"] == 1 &&
		     (reason[id] == "close" || reason[id] == "abort"))) {
		print "# 4: " what ": run was killed, the set ended" \
			" reason=" reason[id] " signal=" signal[id]
	}
	delete r
}
END {
	n = split("resolve lvcreate arm copy complete exited", names, " ")
	for (s = 1; s <= n; s++) {
		hit += (landed[names[s]] > 0)
		tally = tally " " names[s] "=" landed[names[s]] + 0
	}
	if (hit < killed_stage_min)
		print "# 5: kills landed at " hit " stages of " n ", fewer than " \
			killed_stage_min
	# A full-size run that never killed a COMMAND, or whose sets never
	# completed, tested less than it says.
	if (full_size && !commands_killed)
		print "# 5: no COMMAND was there to be killed"
	if (full_size && !sets_completed)
		print "# 5: no set completed"
	print "# tally: kills by stage" tally " (missed " landed["missed"] + 0 \
		")" "; victims run=" \
		victims["run"] + 0 " COMMAND=" victims["COMMAND"] + 0 \
		" both=" victims["both"] + 0 " (COMMANDs killed " \
		commands_killed + 0 "); sets completed " sets_completed + 0
}' "$tmp/watch.log" "$tmp/writer.log" "$tmp/history.ids" "$tmp/runs" \
	>"$tmp/verdict"
grep -v '^# [0-9]:' "$tmp/verdict"
broken() { ! grep '^# '"$1"':' "$tmp/verdict"; }
# The runs a broken promise names (the first 5): what run said, and
# what the harness knows of it.
sed -n 's/^# [0-9]: run \([0-9]*\) .*/\1/p' "$tmp/verdict" | sort -un |
	head -n 5 | while read -r run; do
	sed -n "s/^$run /# run $run: /p" "$tmp/runs"
	sed 's/^/#   /' "$tmp/$run.err"
done

ended=$(($(sets_ended) - ended_before))
[ "$ended" = "$(ours created)" ] ||
	echo "# 1: the module ended $ended sets, the watcher saw" \
		"$(ours created) created" >>"$tmp/verdict"
[ "$(counter overflows)" = "$overflows_before" ] ||
	echo "# 1: the watcher missed events" >>"$tmp/verdict"
broken 1
result $? "every set ended exactly once; each armed one is once in the history"

left=$(tagged_lvs | tr -d ' ' | tr '\n' ' ')
[ -z "$left" ] || echo "# LVs tagged snapset left: $left"
[ -z "$left" ] && [ "$(lvm lvs --noheadings -o lv_name "$vg" | tr -d ' ')" = data ]
result $? "every LV run made is gone"

# The VG's own: the PV's loop device holds data's linear mapping only.
held=$(ls /sys/block/"${pv#/dev/}"/holders)
data_holders=$(ls /sys/block/"$held"/holders 2>/dev/null)
mappings=$(dmsetup ls 2>/dev/null | grep -c "^$vg-")
echo "# live sets $(counter sets_live), pending records $(counter pending)," \
	"$vg mappings $mappings, $pv held by $held, data by '$data_holders'"
[ "$(counter sets_live)" = 0 ] && [ "$(counter pending)" = 0 ] &&
	[ "$mappings" = 1 ] && [ "$(wc -w <<<"$held")" = 1 ] &&
	[ -z "$data_holders" ]
result $? "no set, snapshot or loop device is held"

broken 4
result $? "the writer was told one shutdown per armed set, as it ended"
broken 5
result $? "every kill landed on a live run, at different stages"

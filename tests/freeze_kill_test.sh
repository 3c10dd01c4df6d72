#!/bin/bash
# snapset run --freeze SIGKILLed at random moments, in the guest, on
# real LVM: after every kill the frozen filesystem takes writes again
# (the module thaws when the set ends, once lvcreate has), and freezing
# it by hand works (nothing is left holding a freeze). FREEZE_KILLS
# kills (default 6; `make chaos` runs 200), each at a moment drawn with
# FREEZE_SEED (printed): every other one between a run's start and its
# thaw, the rest between its freeze and its thaw, as a run not killed
# is timed first (the moments follow the machine's speed, and one seed
# gives the same fractions); the last one once its lvcreate is seen, so
# that at least one lands while frozen whatever the draws. What comes after the thaw,
# tests/run_kill_test.sh kills. Prints TAP, and the tally: kills, how
# many landed between the freeze and the thaw (lvcreate runs only
# then), how many runs had thawed before theirs, and the longest a
# write waited after a kill. Kills that never met a freeze would prove
# nothing: that fails too.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
# shellcheck source=tools/vm/guest-lvm.sh
. "$root/tools/vm/guest-lvm.sh"
guest_kill_test FREEZE 6 5
modprobe -q ext4
vg=snapsetkill$$
truncate -s 160M "$tmp/pv"
pv=$(losetup -f --show "$tmp/pv") || exit 1
mnt=$tmp/mnt
mkdir "$mnt"
cleanup() {
	fsfreeze -u "$mnt" 2>/dev/null
	umount "$mnt" 2>/dev/null
	lvm vgremove -q -f "$vg" >/dev/null 2>&1
	losetup -d "$pv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
lvm vgcreate -q "$vg" "$pv" >/dev/null &&
	lvm lvcreate -q -n data -L 16m "$vg" >/dev/null &&
	mkfs.ext4 -q "/dev/$vg/data" && mount "/dev/$vg/data" "$mnt" || exit 1

now_ms() { date +%s%3N; }
# A run's lvcreate, which runs only while its filesystem is frozen.
lvcreate_running() { pgrep -f 'lvcreate .*/data$' >/dev/null; }
# A killed run's lvm commands, which outlive it: its lvcreate, and after
# the thaw its snapshot's lvremove, whose suspend of the origin freezes
# it for a moment (a freeze by hand then is EBUSY).
lvm_of_runs_running() { pgrep -f '^lvm lv(create|remove) ' >/dev/null; }

# A run not killed: it must freeze, thaw and succeed; when its lvcreate
# starts (it runs only frozen) and when it thaws bound the kills'
# moments. Its steps go to $tmp, which is not the filesystem it
# freezes: they are said at the thaw, "writes released" last.
run=(build/snapset run -v --lvm-snapshot "$vg/data:8m" --freeze "$mnt"
	--freeze-timeout 60s -- true)
started=$(now_ms) frozen_at=0
"${run[@]}" >/dev/null 2>"$tmp/run.err" &
pid=$!
while kill -0 "$pid" 2>/dev/null &&
	! grep -q "writes released" "$tmp/run.err"; do
	[ "$frozen_at" = 0 ] && lvcreate_running &&
		frozen_at=$(($(now_ms) - started))
	sleep 0.05
done
span=$(($(now_ms) - started + 1))
wait "$pid" && grep -q "writes released" "$tmp/run.err"
result $? "a run not killed froze, thawed and succeeded"
echo "# a run froze after $frozen_at ms and thawed after $span ms"
lvm lvremove -q -y -S lv_tags=snapset "$vg" >/dev/null 2>&1

# The longest a write to $mnt waited after a kill, and the failures.
longest=0 stuck=0 refrozen=0 frozen=0 thawed=0
for i in $(seq "$kills"); do
	"${run[@]}" >/dev/null 2>"$tmp/run.err" &
	pid=$!
	# The kill's moment: random by design, not a wait for an event;
	# drawn in this shell, whose RANDOM the seed set (not a subshell's).
	from=$((i % 2 ? 0 : frozen_at))
	ms=$((from + (RANDOM * 32768 + RANDOM) % (span - from)))
	printf -v moment '%d.%03d' $((ms / 1000)) $((ms % 1000))
	if [ "$i" = "$kills" ]; then
		# The last one surely while frozen: once its lvcreate is seen.
		while kill -0 "$pid" 2>/dev/null && ! lvcreate_running; do
			sleep 0.05
		done
	else
		sleep "$moment"
	fi
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	killed=$(now_ms)
	lvcreate_running && frozen=$((frozen + 1))
	grep -q "writes held" "$tmp/run.err" && thawed=$((thawed + 1))
	# lvcreate outlives run (it must not be killed); the set ends with it.
	if ! timeout 50 sh -c "echo $i >>'$mnt/kills'"; then
		stuck=$((stuck + 1))
		echo "# kill $i: $mnt still frozen 50 s after the kill"
		fsfreeze -u "$mnt" 2>/dev/null
	fi
	waited=$(($(now_ms) - killed))
	[ "$waited" -gt "$longest" ] && longest=$waited
	# Nothing holds a freeze of it: one by hand takes and goes.
	while lvm_of_runs_running; do sleep 0.1; done
	fsfreeze -f "$mnt" && fsfreeze -u "$mnt" || refrozen=$((refrozen + 1))
	# No daemon: the killed runs' LVs are left tagged; clear them now
	# and then, before the VG fills up.
	if [ $((i % 8)) = 0 ] || [ "$i" = "$kills" ]; then
		lvm lvremove -q -y -S lv_tags=snapset "$vg" >/dev/null 2>&1
	fi
done
echo "# tally: $kills kills, $frozen between freeze and thaw," \
	"$thawed after the thaw," \
	"longest write wait after a kill ${longest} ms"
result "$stuck" "after each of $kills kills the filesystem took writes again"
result "$refrozen" "after each kill a freeze by hand took and went"
[ "$(lvm lvs --noheadings -o lv_name "$vg" | tr -d ' ')" = data ]
result $? "only the origin is left in the VG"
[ "$frozen" -gt 0 ]
result $? "at least one of the $kills kills landed while frozen"

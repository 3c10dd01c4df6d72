#!/bin/bash
# snapset run --freeze SIGKILLed at random moments, in the guest, on
# real LVM: after every kill the frozen filesystem takes writes again
# (the module thaws when the set ends, once lvcreate has), and freezing
# it by hand works (nothing is left holding a freeze). FREEZE_KILLS
# kills (default 10; `make chaos` runs 200), at a moment drawn from
# 0 to 3 s of run's life with FREEZE_SEED (printed). Prints TAP, and
# the tally: kills, how many landed between the freeze and the thaw
# (lvcreate runs only then), and the longest a write waited after a kill.
set -uo pipefail

. "$(dirname "$0")/tap.sh"
# shellcheck source=tools/vm/guest-lvm.sh
. "$root/tools/vm/guest-lvm.sh"
guest_kill_test FREEZE 10 3
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

# The longest a write to $mnt waited after a kill, and the failures.
longest=0 stuck=0 refrozen=0 frozen=0
for i in $(seq "$kills"); do
	build/snapset run --lvm-snapshot "$vg/data:8m" --freeze "$mnt" \
		--freeze-timeout 60s -- true >/dev/null 2>&1 &
	run=$!
	# The kill's moment: random by design, not a wait for an event.
	sleep "$(printf '%d.%03d' $((RANDOM % 3)) $((RANDOM % 1000)))"
	kill -KILL "$run" 2>/dev/null
	wait "$run" 2>/dev/null
	killed=$(now_ms)
	pgrep -f 'lvcreate .*/data$' >/dev/null && frozen=$((frozen + 1))
	# lvcreate outlives run (it must not be killed); the set ends with it.
	if ! timeout 50 sh -c "echo $i >>'$mnt/kills'"; then
		stuck=$((stuck + 1))
		echo "# kill $i: $mnt still frozen 50 s after the kill"
		fsfreeze -u "$mnt" 2>/dev/null
	fi
	waited=$(($(now_ms) - killed))
	[ "$waited" -gt "$longest" ] && longest=$waited
	# Nothing holds a freeze of it: one by hand takes and goes.
	fsfreeze -f "$mnt" && fsfreeze -u "$mnt" || refrozen=$((refrozen + 1))
	# No daemon: the killed runs' LVs are left tagged; clear them now
	# and then, before the VG fills up.
	if [ $((i % 8)) = 0 ] || [ "$i" = "$kills" ]; then
		while pgrep -f 'lvcreate .*/data$' >/dev/null; do sleep 0.1; done
		lvm lvremove -q -y -S lv_tags=snapset "$vg" >/dev/null 2>&1
	fi
done
echo "# tally: $kills kills, $frozen between freeze and thaw," \
	"longest write wait after a kill ${longest} ms"
result "$stuck" "after each of $kills kills the filesystem took writes again"
result "$refrozen" "after each kill a freeze by hand took and went"
[ "$(lvm lvs --noheadings -o lv_name "$vg" | tr -d ' ')" = data ]
result $? "only the origin is left in the VG"

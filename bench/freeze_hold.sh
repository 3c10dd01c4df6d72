#!/bin/bash
# The write-hold window of a consistent LVM snapshot set (issue 17):
# `snapset run --freeze` against a script's `fsfreeze -f`, `lvcreate`,
# `fsfreeze -u`, for 1, 2 and 4 LVs of one VG, each with ext4 mounted.
# The runs alternate; each series is printed as bench/report reads it.
# Run in the guest by tools/bench, without a daemon: run removes its
# snapshots itself when COMMAND ends.
#
# Usage: bench/freeze_hold.sh [--smoke]
#   --smoke  one run of each, 1 LV only: that it works (make check)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=tools/vm/guest-lvm.sh
. tools/vm/guest-lvm.sh

vg=hold$$ pv='' mnt=/tmp/bench-hold-$$ counts=(1 2 4) runs=20 size=8m
# What run's lvcreate is told while writes are held (/etc/lvm may be on
# a frozen filesystem); the script's is told the same.
no_backup='backup { backup = 0 archive = 0 }'

usage() {
	sed -n 's/^# \{0,1\}//; 2,/^set /p' "$0" | sed '$d'
}

case ${1-} in
--smoke) counts=(1) runs=1 ;;
-h | --help) usage; exit 0 ;;
'') ;;
*) usage >&2; exit 2 ;;
esac
lvs=${counts[-1]}

# The VG, and lv1..lv$lvs with ext4 mounted on $mnt/1...
vg_make() {
	local i
	guest_lvm_env /tmp/bench-hold-lvm
	truncate -s $((lvs * 32 + 16))M /tmp/bench-hold-pv
	pv=$(losetup -f --show /tmp/bench-hold-pv)
	rm /tmp/bench-hold-pv
	lvm vgcreate -q $vg "$pv" >/dev/null
	for ((i = 1; i <= lvs; i++)); do
		lvm lvcreate -q -L 16m -n lv$i $vg >/dev/null
		mkfs.ext4 -q /dev/mapper/$vg-lv$i
		mkdir -p $mnt/$i
		mount /dev/mapper/$vg-lv$i $mnt/$i
	done
}

# On the way out, failure too: nothing frozen, mounted or left in LVM.
vg_remove() {
	local i
	for ((i = 1; i <= lvs; i++)); do
		fsfreeze -u $mnt/$i 2>/dev/null || true
		umount $mnt/$i 2>/dev/null || true
	done
	lvm vgremove -q -f $vg >/dev/null 2>&1 || true
	[ -z "$pv" ] || losetup -d "$pv"
	rm -rf $mnt
}

# snapset's hold of $1 LVs, in µs: the module's, from before the first
# freeze to after the thaw, as run's --json reports it.
hold_snapset() {
	local n=$1 i args=() out
	for ((i = 1; i <= n; i++)); do
		args+=(--lvm-snapshot "$vg/lv$i:$size" --freeze "$mnt/$i")
	done
	# Four lvcreates under TCG on a busy machine may outlast 10 s.
	if ! out=$(build/snapset run "${args[@]}" --freeze-timeout 60s \
		--json -- true 2>/tmp/bench-hold-run.err); then
		cat /tmp/bench-hold-run.err >&2
		echo "$out" >&2
		return 1
	fi
	sed -n 's/.*"held_ms":\([0-9.eE+-]*\).*/\1/p' <<<"$out" |
		awk '{ printf "%.1f\n", $1 * 1000 }' | grep . ||
		{ echo "run said no hold: $out" >&2; return 1; }
}

# The script's hold of $1 LVs, in µs: from before the first freeze to
# after the last thaw, by bash's own clock (no process of its own); its
# snapshots removed after, with one lvremove.
hold_script() {
	local n=$1 i frozen=0 made=() ok=1 start end
	start=$EPOCHREALTIME
	for ((i = 1; i <= n; i++)); do
		fsfreeze -f $mnt/$i || { ok=0; break; }
		frozen=$i
	done
	# Its "NOT backed up", asked for, is said on failure only, as run does.
	for ((i = 1; ok && i <= n; i++)); do
		lvm lvcreate -y -s --config "$no_backup" -L $size -n snap$i \
			$vg/lv$i >/dev/null 2>/tmp/bench-hold-lvcreate.err ||
			{ cat /tmp/bench-hold-lvcreate.err >&2; ok=0; break; }
		made+=("$vg/snap$i")
	done
	for ((i = 1; i <= frozen; i++)); do
		fsfreeze -u $mnt/$i || ok=0
	done
	end=$EPOCHREALTIME
	if [ ${#made[@]} != 0 ]; then
		lvm lvremove -q -y "${made[@]}" >/dev/null || ok=0
	fi
	[ $ok = 1 ] || return 1
	echo $((${end//[.,]/} - ${start//[.,]/}))
}

# Whether the script can work here: lvcreate suspends the origin, and
# device-mapper's suspend freezes its filesystem through the block device;
# on 6.1 that fails with EBUSY on a filesystem fsfreeze froze (freeze_super
# does not nest), from 6.8 it nests. Asked of dmsetup, not of lvcreate,
# whose failure leaves the VG to be repaired by hand.
script_can() {
	local ok=0
	fsfreeze -f $mnt/1
	if dmsetup suspend $vg-lv1 2>/dev/null; then
		dmsetup resume $vg-lv1
		ok=1
	fi
	fsfreeze -u $mnt/1
	[ $ok = 1 ]
}

# One series as bench/common.c's series_print() prints it: its name, then
# the trials' times in µs.
series_line() {
	local name=$1
	shift
	printf '%s\n' "$@" | sort -g | awk -v name="$name" '
		{ t[NR - 1] = $1 }
		END {
			printf "{\"series\": \"%s\", \"trials\": %d, " \
				"\"p50_us\": %.1f, \"p99_us\": %.1f, " \
				"\"max_us\": %.1f}\n", name, NR,
				t[int((NR - 1) * 50 / 100)],
				t[int((NR - 1) * 99 / 100)], t[NR - 1]
		}'
}

trap vg_remove EXIT
vg_make
script=1
script_can || {
	script=0
	echo "# fsfreeze -f then lvcreate fails on $(uname -r): the" \
		"block device's freeze does not nest in fsfreeze's; snapset" \
		"only" >&2
}
for n in "${counts[@]}"; do
	snapset=() by_script=()
	for ((r = 0; r < runs; r++)); do
		snapset+=("$(hold_snapset "$n")")
		[ $script = 0 ] || by_script+=("$(hold_script "$n")")
	done
	# Each run's, in µs, in order: for a look at the spread.
	echo "# freeze-hold-$n: ${snapset[*]}; fsfreeze-$n: ${by_script[*]}" >&2
	series_line "freeze-hold-$n" "${snapset[@]}"
	[ $script = 0 ] || series_line "fsfreeze-$n" "${by_script[@]}"
done
# Nothing left of either: run removed its snapshots, the script its own.
left=$(lvm lvs --noheadings -o lv_name $vg | awk '$1 !~ /^lv[0-9]$/')
if [ -n "$left" ]; then
	echo "bench freeze_hold: left in $vg:" "$left" >&2
	exit 1
fi

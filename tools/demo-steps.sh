# shellcheck shell=bash
# The machinery of tools/demo, sourced by it in the guest: printing a
# step as a user types it with its output, checking a fact, waiting for
# one, and the guest's plumbing (LVM without udev, its state in tmpfs),
# which the demo does not show.

# Everything the demo makes lives here, the guest's /tmp being tmpfs.
dir=/tmp/demo
conf=$dir/snapset.conf
# A step's output beyond this many lines is cut.
shown_lines=20

act() {
	printf '\n== %s\n' "$1"
}

say() {
	echo "$1"
}

# fail FACT: the demo is over, FACT is false.
fail() {
	echo "demo: FALSE: $1" >&2
	if [ -s "$dir/daemon.log" ]; then
		echo "demo: the daemon's log ends with:" >&2
		tail -n 5 "$dir/daemon.log" | sed 's/^/    /' >&2
	fi
	exit 1
}

# show COMMAND: print it after "$ " and run it; its output, also in $out,
# follows (cut at $shown_lines lines). A failed COMMAND fails the demo.
show() {
	local status lines
	echo "\$ $1"
	# In this shell, not a subshell: a step may wait for a background job.
	eval "$1" >"$dir/.out" 2>&1
	status=$?
	out=$(<"$dir/.out")
	lines=$(grep -c '' <<<"$out")
	[ -z "$out" ] || head -n $shown_lines <<<"$out"
	[ "$lines" -le $shown_lines ] ||
		echo "    ... ($((lines - shown_lines)) more lines)"
	[ $status = 0 ] || fail "\"$1\" succeeds (it exited with status $status)"
}

# show_background NAME COMMAND: COMMAND started in the background, its
# pid in $last_pid; stopped at the end of the demo.
background_pids=()
show_background() {
	echo "\$ $2 &"
	eval "$2 &"
	last_pid=$!
	background_pids+=("$last_pid")
	echo "[$1: pid $last_pid]"
}

# check FACT COMMAND...: FACT holds when COMMAND succeeds.
check() {
	local fact=$1
	shift
	"$@" || fail "$fact"
	echo "  [checked] $fact"
}

# check_line LINE: the last step printed LINE, whole.
check_line() {
	check "$1" grep -qxF -- "$1" <<<"$out"
}

# wait_for FACT SECONDS COMMAND...: FACT holds within SECONDS, polled.
wait_for() {
	local fact=$1 deadline=$((SECONDS + $2))
	shift 2
	until "$@"; do
		[ $SECONDS -lt $deadline ] || fail "$fact (waited $2 s)"
		sleep 0.1
	done
	echo "  [checked] $fact"
}

# Seconds since the $EPOCHREALTIME value $1, to a tenth.
since() {
	awk -v from="$1" -v now="$EPOCHREALTIME" \
		'BEGIN { printf "%.1f", now - from }'
}

# daemon_ready PID: the daemon PID is the agent and listens.
daemon_ready() {
	[ "$(cat /sys/class/misc/snapset/agent)" = "$1" ] &&
		[ -S /run/snapset/writer.sock ]
}

writer_registered() {
	snapset status 2>/dev/null | grep -q '^  app '
}

# daemon_reported NAME [ID]: prints the id of the set NAME (of ID, when
# given) once the daemon reported how it ended, which it does after the
# release and after every writer answered; status 1 after 60 s.
daemon_reported() {
	local deadline=$((SECONDS + 60)) id uuid='[0-9a-f-]{36}'
	while [ $SECONDS -lt $deadline ]; do
		id=$(sed -En "s/^snapset daemon: set $1 \\((${2:-$uuid})\\): (complete|ended without BackupComplete) .*/\\1/p" \
			"$dir/daemon.log" | head -n 1)
		[ -z "$id" ] || { echo "$id"; return 0; }
		sleep 0.1
	done
	return 1
}

# The last `lvs demo` shown lists the origin data alone in VG demo.
only_origin() {
	[ "$(awk '$2 == "demo" { print $1 }' <<<"$out")" = data ]
}

# What the demo's user would have set up beforehand, or a real system
# has: modules, an lvm.conf for a guest without udev, the daemon's
# configuration, the application's hook for its writer.
demo_setup() {
	export PATH=$PWD/build:$PATH
	# lvm warns of every descriptor it inherits: none is the demo's story.
	export LVM_SUPPRESS_FD_WARNINGS=1
	rm -rf "$dir"
	guest_lvm_env "$dir/lvm"
	for module in loop dm-snapshot ext4; do
		modprobe -q $module || fail "modprobe $module works"
	done
	# The daemon writes its metrics in $dir: root's alone.
	mkdir -p "$dir"/{app,snap,backup}
	chmod 0755 "$dir"
	trap demo_cleanup EXIT
	printf '%s\n' '[daemon]' "history_dir = $dir/history" \
		"metrics = $dir/snapset.prom" >"$conf"
	cat >"$dir/app-hook" <<-'HOOK'
		#!/bin/sh
		# The application's side: snapset writer runs this for each event.
		echo "$SNAPSET_EVENT set $SNAPSET_NAME ($SNAPSET_ID)" \
		    "completed=$SNAPSET_COMPLETED reason=$SNAPSET_REASON signal=$SNAPSET_SIGNAL"
	HOOK
	chmod +x "$dir/app-hook"
	echo "demo: in the guest, $(uname -r), $(snapset --version | head -n 1)"
}

# Whatever the demo got to, the guest is left as it was found.
demo_cleanup() {
	local pid
	# SIGTERM: the daemon finishes what it does, run ends its set.
	for pid in "${background_pids[@]}"; do
		kill "$pid" 2>/dev/null
	done
	wait
	umount "$dir/app" 2>/dev/null
	lvm vgremove -q -f demo >/dev/null 2>&1
	[ -z "${pv-}" ] || losetup -d "$pv"
	rm -rf "$dir"
}

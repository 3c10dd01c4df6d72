# Sourced by shell scripts that use LVM in the guest (tools/bench, the
# demo, tests): LVM as the selftests run it there (selftests/snapset's
# lvm_prepare), with no udev, its state in tmpfs and only loop devices
# seen.
# shellcheck shell=bash disable=SC2154 # tmp: from tests/tap.sh

# guest_lvm_env DIR: exports LVM's environment with its configuration in
# DIR (made), and loads the device-mapper targets snapshots need.
guest_lvm_env() {
	export DM_DISABLE_UDEV=1 LVM_SYSTEM_DIR=$1
	modprobe -q loop || true
	modprobe -q dm-snapshot || true
	mkdir -p "$LVM_SYSTEM_DIR"
	# Metadata backups in tmpfs: lvm warns at every change without.
	printf '%s\n' 'backup { archive = 0' \
		"backup_dir = \"$LVM_SYSTEM_DIR/backup\" }" \
		'activation { udev_sync = 0 udev_rules = 0 }' \
		'devices { obtain_device_list_from_udev = 0' \
		'global_filter = [ "a|^/dev/loop[0-9]+$|", "r|.*|" ]' \
		'ignore_suspended_devices = 1 }' >"$LVM_SYSTEM_DIR/lvm.conf"
}

# guest_kill_test NAME DEFAULT PLAN: the start of a seeded kill test
# (tests/*_kill_test.sh): a SKIP outside the guest, else the TAP plan
# PLAN, $kills from ${NAME}_KILLS (DEFAULT), $RANDOM seeded from
# ${NAME}_SEED (printed, so that the kill moments can be repeated) and
# LVM's environment in $tmp/lvm.
guest_kill_test() {
	local kills_var=${1}_KILLS seed_var=${1}_SEED
	if [ ! -c /dev/snapset ] || ! command -v lvm >/dev/null; then
		echo "1..0 # SKIP needs /dev/snapset and lvm: runs in the guest"
		exit 0
	fi
	kills=${!kills_var:-$2}
	seed=${!seed_var:-$$}
	RANDOM=$seed
	echo "1..$3"
	echo "# $kills kills, $seed_var=$seed"
	guest_lvm_env "$tmp/lvm"
}

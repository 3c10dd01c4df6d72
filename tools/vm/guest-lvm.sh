# Sourced by shell scripts that use LVM in the guest (tools/bench, the
# demo, tests): LVM as the selftests run it there (selftests/snapset's
# lvm_prepare), with no udev, its state in tmpfs and only loop devices
# seen.

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

#!/bin/bash
# The bash completion against the real program, module and LVM, in the
# guest: bash's compgen fed by `snapset list` of a set that is live, and
# by lvs of a VG made here. On the host, without /dev/snapset, it skips.
# Prints TAP.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
if [ ! -c /dev/snapset ] || ! command -v lvm >/dev/null; then
	echo "1..0 # SKIP needs /dev/snapset and lvm: runs in the guest"
	exit 0
fi
echo "1..4"

# shellcheck source=tools/vm/guest-lvm.sh
. "$root/tools/vm/guest-lvm.sh"
guest_lvm_env "$tmp/lvm"
mkdir "$tmp/bin"
ln -s "$root/build/snapset" "$tmp/bin/snapset"
PATH=$tmp/bin:$PATH
vg=snapsetcomp$$
truncate -s 16M "$tmp/pv" "$tmp/set"
pv=$(losetup -f --show "$tmp/pv") && set_dev=$(losetup -f --show "$tmp/set") ||
	exit 1
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder"
	lvm vgremove -q -f "$vg" >/dev/null 2>&1
	# The set's end detached its loop device (autoclear).
	losetup -d "$pv" "$set_dev" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# A live set: run holds it until killed, and says when it is armed by
# opening the fifo (COMMAND starts only after the arm).
mkfifo "$tmp/armed"
snapset run --snapshot "$set_dev" -- sh -c "echo >$tmp/armed; exec sleep 600" \
	2>/dev/null &
holder=$!
read -r _ <"$tmp/armed"
id=$(snapset list -o id,devices --noheadings "$set_dev" | cut -d' ' -f1)

# shellcheck source=tests/completion.sh
. "$root/tests/completion.sh"

# offers NAME GOT WANTED: a TAP line; what was offered when it fails.
offers() {
	grep -qx -- "$3" <<<"$2"
	result $? "$1"
	grep -qx -- "$3" <<<"$2" || sed 's/^/#   offered: /' <<<"$2"
}

offers "snapset delete <TAB> offers the live set's id" \
	"$(completions "snapset delete ${id:0:8}")" "${id:-no id}"

lvm vgcreate -q "$vg" "$pv" >/dev/null &&
	lvm lvcreate -q -n origin -L 4m "$vg" >/dev/null
offers "snapset run --lvm-snapshot $vg/<TAB> offers $vg/origin, from lvs" \
	"$(completions "snapset run --lvm-snapshot $vg/")" "$vg/origin"

kill "$holder" && wait "$holder"
holder=
live=$(completions "snapset delete ")
offers "once run ended, its id is offered as pending" \
	"$(completions "snapset delete --pending ")" "$id"
! grep -qx -- "$id" <<<"$live"
result $? "and no longer as live"
snapset delete --pending "$id" >/dev/null

#!/bin/bash
# Host tests of installing: `make install DESTDIR=` stages everything,
# the module included, under DESTDIR and nothing outside it; the DKMS
# source tree `make dkms-source` stages builds with dkms itself.
# dkms builds it for both guest kernels, 6.1 and 6.12. Needs the module
# built (make). Prints TAP.
set -uo pipefail

. "$(dirname "$0")/tap.sh"
kver=$("$root/tools/vm/guest-kernel") || exit 1
version=$(cat "$root/VERSION")

echo "1..5"

stage=$tmp/stage
make -s -C "$root" install DESTDIR="$stage" >"$tmp/install.log" 2>&1
status=$?
[ $status = 0 ] || sed 's/^/#   /' "$tmp/install.log"
result $status "make install DESTDIR= succeeds"

missing=0
for f in usr/sbin/snapset usr/include/snapset/writer.h \
	lib/systemd/system/snapset.service usr/share/doc/snapset/uapi.md; do
	[ -e "$stage/$f" ] || { echo "#   missing $f"; missing=1; }
done
for f in libsnapset.so.1 libsnapset.so libsnapset.a pkgconfig/snapset.pc; do
	[ -n "$(find "$stage" -path "*/lib/*/$f")" ] ||
		{ echo "#   missing $f"; missing=1; }
done
ko=$(find "$stage/lib/modules/$kver" -name snapset.ko 2>/dev/null)
[ -n "$ko" ] || { echo "#   no snapset.ko under lib/modules/$kver"; missing=1; }
result $missing "every file is staged, snapset.ko under lib/modules/$kver"

make -s -C "$root" dkms-source DESTDIR="$stage" >"$tmp/dkms.log" 2>&1
src=$stage/usr/src/snapset-$version
grep -qx "PACKAGE_VERSION=\"$version\"" "$src/dkms.conf" 2>/dev/null &&
	[ -x "$src/module/probes/generate.sh" ] &&
	! find "$src" -name '*.o' -o -name '*.ko' -o -name '*.mod*' \
		-o -name features.h | grep -q .
status=$?
[ $status = 0 ] || sed 's/^/#   /' "$tmp/dkms.log"
result $status "dkms-source stages sources and dkms.conf $version, no build output"

if ! command -v dkms >/dev/null; then
	echo "ok $((n + 1)) dkms builds snapset.ko for 6.1 # SKIP no dkms"
	echo "ok $((n + 2)) dkms builds snapset.ko for 6.12 # SKIP no dkms"
	exit 0
fi
mkdir -p "$tmp/dkms"
dkms_run() {
	dkms "$@" -m snapset -v "$version" \
		--sourcetree "$stage/usr/src" --dkmstree "$tmp/dkms" \
		>>"$tmp/dkms.log" 2>&1
}
dkms_run add
# 6.12's dkms output is compressed as its modules are (snapset.ko.xz).
for series in 6.1 6.12; do
	: >"$tmp/dkms.log"
	kver=$("$root/tools/vm/guest-kernel" $series) &&
		dkms_run build -k "$kver" &&
		built=$(find "$tmp/dkms/snapset/$version/$kver" -name 'snapset.ko*') &&
		[ -n "$built" ] &&
		[ "$(modinfo -F vermagic "$built" | cut -d' ' -f1)" = "$kver" ]
	status=$?
	[ $status = 0 ] || sed 's/^/#   /' "$tmp/dkms.log"
	result $status "dkms builds snapset.ko for $series ($kver)"
done

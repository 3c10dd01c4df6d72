#!/bin/bash
# Host tests of the bash completion (packaging/snapset.bash-completion),
# driven as bash drives it: COMP_WORDS and COMP_CWORD set, the function
# called, COMPREPLY read. Commands and options are compared with what
# build/snapset --help prints; set ids come from a stub `snapset list
# -o state,id` and VG/LV names from a stub lvs, both on PATH. Needs make
# (build/snapset). Prints TAP.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
program=$root/build/snapset
live=5b0f3c1e-8d7a-4b59-9a1f-2c6e0f7d1a33
pending=0e1d2c3b-1111-4222-8333-944455556666

# The stubs: list's columns as the program prints them, every other
# call to the real program; lvs as LVM prints it.
mkdir "$tmp/bin"
cat >"$tmp/bin/snapset" <<EOF
#!/bin/sh
if [ "\$*" = "list -o state,id --noheadings" ]; then
	printf 'live      $live\npending   $pending\n'
	exit 0
fi
exec "$program" "\$@"
EOF
printf '#!/bin/sh\nprintf "  vg0 root\\n  vg0 home\\n  vg1 data\\n"\n' >"$tmp/bin/lvs"
chmod +x "$tmp/bin/snapset" "$tmp/bin/lvs"
PATH=$tmp/bin:$PATH

# shellcheck source=tests/completion.sh
. "$root/tests/completion.sh"

# same NAME GOT WANTED: a TAP line, and what differs.
same() {
	[ "$2" = "$3" ]
	result $? "$1"
	[ "$2" = "$3" ] || diff <(echo "$3") <(echo "$2") | sed 's/^/#   /'
}

commands=$("$program" --help | sed -n '/^Commands:/,$s/^  \([a-z-]*\) .*/\1/p' | sort)

echo "1..11"

complete -p snapset 2>/dev/null | grep -q -- '-F _snapset snapset$'
result $? "the script registers _snapset for snapset"

same "snapset <TAB> offers every command of --help" \
	"$(completions "snapset ")" "$commands"
same "snapset help <TAB> offers every command" \
	"$(completions "snapset help ")" "$commands"

missing=0
for cmd in $commands; do
	wanted=$("$program" "$cmd" --help | grep -o -- '--[a-z][a-z-]*[a-z]' | sort -u)
	got=$(completions "snapset $cmd --")
	[ "$got" = "$wanted" ] || { echo "#   $cmd: got" $got; missing=1; }
done
result $missing "snapset COMMAND --<TAB> offers every long option of COMMAND --help"

same "snapset run --lvm-snapshot <TAB> offers VG/LV from lvs" \
	"$(completions "snapset run --name x --lvm-snapshot ")" \
	"$(printf 'vg0/home\nvg0/root\nvg1/data')"
same "snapset run --lvm-snapshot vg0/<TAB> offers that VG's LVs" \
	"$(completions "snapset run --lvm-snapshot vg0/")" \
	"$(printf 'vg0/home\nvg0/root')"
same "snapset delete <TAB> offers the live sets' ids" \
	"$(completions "snapset delete ")" "$live"
same "snapset delete --pending <TAB> offers the pending records' ids" \
	"$(completions "snapset delete --pending ")" "$pending"

same "snapset list -o <TAB> offers the fields" \
	"$(completions "snapset list -o ")" \
	"$(printf '%s\n' created devices held id name owner state)"
same "snapset list --options id,s<TAB> offers the next field" \
	"$(completions "snapset list --options id,s")" "id,state"

completions "snapset run --lvm-snapshot vg0/root -- ba" | grep -qx bash &&
	! completions "snapset run --timeout " | grep -q .
result $? "a program after --; nothing for a duration"

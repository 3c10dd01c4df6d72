#!/bin/bash
# Host tests of the manual pages (docs/man/*.scd, built by make into
# build/man/): each renders with man(1) without a warning; snapset(8)
# documents every subcommand `snapset --help` lists, in its own
# subsection, and there every long option of `snapset COMMAND --help`;
# snapset.conf(5) and the example configuration (packaging/snapset.conf)
# have every key config.c accepts, under its section.
# The lists come from the program and its source, never from this file.
# Needs make (build/snapset, build/man). Prints TAP.
set -uo pipefail

# shellcheck source=tests/tap.sh
. "$(dirname "$0")/tap.sh"
program=$root/build/snapset
pages=("$root"/build/man/*.[0-9])

# render PAGE: the page as man(1) prints it on an 80-column terminal,
# groff's warnings (all of them) on stderr.
render() {
	MANWIDTH=80 man -l --warnings=w "$1"
}

# section_text TEXT HEADING-REGEX: the lines of a rendered page's
# subsection (3-space indented heading) or section (heading at column 0)
# whose heading matches, up to the next heading, with words that a line
# break split at a hyphen joined again.
section_text() {
	awk -v want="$2" '
		/^[^ ]/ || /^   [^ ]/ { inside = ($0 ~ want) ; next }
		inside' <<<"$1" | sed -e ':a' -e '/-$/{N;s/-\n */-/;ba' -e '}'
}

# long_options TEXT: the --options a help text names, one a line.
long_options() {
	grep -o -- '--[a-z][a-z-]*[a-z]' <<<"$1" | sort -u
}

echo "1..$((${#pages[@]} + 4))"

for page in "${pages[@]}"; do
	warnings=$(render "$page" 2>&1 >/dev/null)
	status=$?
	[ -n "$warnings" ] && sed 's/^/#   /' <<<"$warnings"
	[ $status = 0 ] && [ -z "$warnings" ]
	result $? "$(basename "$page") renders without a warning"
done

manual=$(render "$root/build/man/snapset.8" 2>/dev/null)
usage=$("$program" --help)
commands=$(sed -n '/^Commands:/,$s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$usage")
missing=0
for cmd in $commands; do
	[ -n "$(section_text "$manual" "^   $cmd( |\$)")" ] ||
		{ echo "#   no subsection for $cmd"; missing=1; }
done
[ -n "$commands" ] || { echo "#   snapset --help lists no command"; missing=1; }
result $missing "snapset(8) has a subsection for every command of --help ($(wc -w <<<"$commands"))"

missing=0 checked=0
for cmd in $commands; do
	help=$("$program" "$cmd" --help)
	# help's own help is the program's usage: its options are global.
	[ "$help" = "$usage" ] && continue
	text=$(section_text "$manual" "^   $cmd( |\$)")
	for opt in $(long_options "$help"); do
		checked=$((checked + 1))
		grep -q -- "$opt\\b" <<<"$text" ||
			{ echo "#   $cmd: $opt missing"; missing=1; }
	done
done
result $missing "snapset(8) has every long option of every COMMAND --help, in its subsection ($checked)"

missing=0
global=$(section_text "$manual" '^OPTIONS$')
for opt in $(long_options "$usage"); do
	grep -q -- "$opt\\b" <<<"$global" || { echo "#   $opt missing"; missing=1; }
done
result $missing "snapset(8)'s OPTIONS has every option of snapset --help"

# config_keys: "SECTION KEY" for every key config.c's set_key() takes:
# a section is strcmp(section, "S"), each of its keys strcmp(key, "K")
# below it.
config_keys() {
	sed -n -e 's/.*strcmp(section, "\([a-z_]*\)").*/[\1]/p' \
		-e 's/.*strcmp(key, "\([a-z_]*\)").*/\1/p' \
		"$root/userspace/daemon/config.c" |
		while read -r word; do
			case $word in
			\[*) section=${word:1:-1} ;;
			*) echo "$section $word" ;;
			esac
		done
}

# example_section NAME: the lines of the example configuration's
# [NAME] section.
example_section() {
	awk -v want="[$1]" '/^\[/ { inside = ($0 == want); next } inside' \
		"$root/packaging/snapset.conf"
}

conf=$(render "$root/build/man/snapset.conf.5" 2>/dev/null)
missing=0 checked=0
while read -r section key; do
	checked=$((checked + 1))
	section_text "$conf" "^SECTION \\[$section\\]" | grep -qE "^       $key = " ||
		{ echo "#   snapset.conf(5): [$section] $key missing"; missing=1; }
	example_section "$section" | grep -qE "^#$key =" ||
		{ echo "#   packaging/snapset.conf: [$section] $key missing"; missing=1; }
done < <(config_keys)
[ $checked -gt 0 ] || { echo "#   no key found in config.c"; missing=1; }
result $missing "snapset.conf(5) and the example configuration have every key of config.c, in its section ($checked)"

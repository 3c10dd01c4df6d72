# Sourced by the completion tests: packaging/snapset.bash-completion
# loaded, and completions(), which drives it as bash does.
# shellcheck shell=bash disable=SC2154 # root: from tests/tap.sh

# shellcheck source=packaging/snapset.bash-completion
. "$root/packaging/snapset.bash-completion"

# completions LINE: what completing the last word of LINE offers, sorted,
# one a line (LINE ending in a space completes an empty word): COMP_WORDS
# and COMP_CWORD set, the function called, COMPREPLY read.
completions() {
	read -r -a COMP_WORDS <<<"$1"
	[[ $1 == *" " ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_snapset snapset "${COMP_WORDS[COMP_CWORD]}" \
		"${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

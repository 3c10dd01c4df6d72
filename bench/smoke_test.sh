#!/bin/bash
# make check's run of the benchmarks, in the stock guest: a few trials of
# each series, that they run and print what bench/report reads. Their
# figures are not checked against any target: a timed test on a shared
# machine would fail for the machine's sake (make bench does that).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit
series=$(mktemp) json=$(mktemp)
trap 'rm -f "$series" "$json"' EXIT

# verdict N DESCRIPTION WRONG: test N's TAP line, ok when WRONG is empty;
# else each of WRONG's lines after "# wrong:" first.
verdict() {
	if [ -z "$3" ]; then
		echo "ok $1 - $2"
	else
		while read -r line; do echo "# wrong: $line"; done <<<"$3"
		echo "not ok $1 - $2"
	fi
}

echo "TAP version 13"
echo "1..7"
if tools/bench --smoke --guest 1 >"$series.log" 2>&1; then
	echo "ok 1 - the benchmarks ran"
else
	sed 's/^/# /' "$series.log"
	echo "not ok 1 - the benchmarks ran"
fi
sed -n 's/^bench-series: //p' "$series.log" >"$series"
# bench/freeze_hold.sh says so when this kernel fails the script.
script_holds=1
! grep -q '^# fsfreeze -f then lvcreate fails' "$series.log" || script_holds=0
rm -f "$series.log"
# Each series once, with p50 <= p99 <= max, all above zero.
bad=$(awk -F'[:,}]' '
	/p50_us/ { name = $2; gsub(/[ "]/, "", name); p50 = $6; p99 = $8; max = $10
	  seen[name]++
	  if (!(p50 > 0 && p50 <= p99 && p99 <= max)) print "figures of " name }
	END { n = split("pipe pidfd agent chain chain-readable poll-1s poll-5s", want, " ")
	      for (i = 1; i <= n; i++)
		      if (seen[want[i]] != 1) print "series " want[i] }
' "$series")
verdict 2 "every series, with sound figures" "$bad"
if build/bench/report --no-targets "$json" <"$series" | sed 's/^/# /' &&
	[ -s "$json" ]; then
	echo "ok 3 - the report reads them"
else
	echo "not ok 3 - the report reads them"
fi
# Items 4 and 5: the idle series with its counts and the daemon's
# memory, and the release series (test 2 checked their figures), once.
bad=
for name in idle release lvremove; do
	[ "$(grep -c "\"series\": \"$name\"" "$series")" = 1 ] ||
		bad+=" series-$name"
done
grep -Eq '"series": "idle".*"wakeups": [0-9]+.*"syscalls": [0-9]+.*"rss_kib": [1-9]' \
	"$series" || bad+=" figures-of-idle"
verdict 4 "the daemon at idle, the release of a killed run's LV" "$bad"
# Scale: both counts, every step timed above zero, the memory figures
# there (their values are the machine's at these counts: not checked).
bad=$(awk '
	/"series": "scale-[0-9]/ {
		seen++
		if (!/"device_bytes"/ || !/"record_bytes"/) print "bytes: " $0
		n = split($0, f, /[:,}] */)
		for (i = 1; i < n; i++)
			if (f[i] ~ /_ms"$/ && !(f[i + 1] + 0 > 0)) print f[i] ": " $0
	}
	END { if (seen != 2) print seen + 0 " scale series, not 2" }
' "$series")
verdict 5 "scale: both counts, every step timed" "$bad"
# Fan-out (tools/bench --smoke: 1 and 10 writers): each series once,
# the first writer no later than the last, system calls counted.
bad=
for name in fanout-1 fanout-ref-1 fanout-10 fanout-ref-10; do
	line=$(grep "\"series\": \"$name\"," "$series")
	[ "$(grep -c . <<<"$line")" = 1 ] || { bad+=" $name"; continue; }
	awk -F'[:,}]' '{ for (i = 1; i < NF; i += 2) { k = $i; gsub(/[ "{]/, "", k); v[k] = $(i + 1) } }
		END { exit !(v["first_p50_us"] > 0 && v["first_p50_us"] <= v["p50_us"] &&
			     v["syscalls_per_writer"] > 0) }' <<<"$line" ||
		bad+=" $name"
done
verdict 6 "fan-out series, with times and system calls" "$bad"
# The write hold (tools/bench --smoke: 1 LV, one run): snapset's series
# once, and the script's unless this kernel fails it (6.1: test 2
# checked their figures).
bad=
[ "$(grep -c '"series": "freeze-hold-1"' "$series")" = 1 ] ||
	bad+=" series-freeze-hold-1"
[ "$(grep -c '"series": "fsfreeze-1"' "$series")" = $script_holds ] ||
	bad+=" series-fsfreeze-1"
verdict 7 "writes held by run --freeze, and by a script" "$bad"

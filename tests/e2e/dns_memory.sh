#!/bin/sh
# The passive-DNS table under a flood of distinct names (issue 17): captures
# of 50,000 and 200,000 distinct names (tests/data/dns/record/gen_million.py,
# generated here; the million-name run is bench/dns_million.sh) with a 4 MiB
# cap. The table's counted bytes never pass the cap, the evictions are
# counted (names kept + expired + evicted add up), every message is parsed,
# and the process's peak RSS does not grow with the number of names.
# usage: dns_memory.sh SMTPTLS MEASURE GEN_MILLION SANITIZED
set -eu
bin=$1 measure=$2 gen=$3 sanitized=$4
[ -x /usr/bin/python3 ] || { echo "skipped: no /usr/bin/python3"; exit 77; }
tmp=$(mktemp -d /tmp/smtptls-dnsmem-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
counter() { sqlite3 "$1" "SELECT value FROM run_counters WHERE name = '$2';"; }
for n in 50000 200000; do
	/usr/bin/python3 "$gen" "$tmp/m$n.pcap" --names $n --check 0 > /dev/null
	m=$("$measure" -- "$bin" capture -q -r "$tmp/m$n.pcap" --db "$tmp/m$n.db" --dns-memory 4 \
		2>&1 | grep -o 'maxrss_kib=[0-9]*' | cut -d= -f2)
	eval "rss_$n=$m"
	peak=$(counter "$tmp/m$n.db" pdns.bytes_peak) cap=$(counter "$tmp/m$n.db" pdns.bytes_cap)
	ins=$(counter "$tmp/m$n.db" pdns.inserted) ev=$(counter "$tmp/m$n.db" pdns.evicted)
	exp=$(counter "$tmp/m$n.db" pdns.expired) kept=$(counter "$tmp/m$n.db" pdns.entries)
	msgs=$(counter "$tmp/m$n.db" dns.messages)
	echo "$n names: $msgs messages, $ins entries made, $kept kept, $ev evicted, $exp expired;" \
		"peak $peak bytes counted of $cap; peak RSS $m KiB"
	[ "$msgs" -eq $((2 * n)) ] || { echo "  messages: want $((2 * n))"; fail=1; }
	[ "$peak" -le "$cap" ] || { echo "  the table passed its cap"; fail=1; }
	[ "$ev" -gt 0 ] || { echo "  nothing evicted: the flood did not reach the cap"; fail=1; }
	[ $((kept + ev + exp)) -eq "$ins" ] || { echo "  kept + evicted + expired != made"; fail=1; }
done
# four times the names, the same cap: the process grows by little (not
# under ASan, whose quarantine holds freed memory)
if [ "$sanitized" = false ] && [ $((rss_200000 - rss_50000)) -gt 8192 ]; then
	echo "peak RSS grew by $((rss_200000 - rss_50000)) KiB from 50,000 to 200,000 names"
	fail=1
fi
[ $fail -eq 0 ] && echo "dns_memory: the cap held"
exit $fail

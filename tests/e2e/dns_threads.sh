#!/bin/sh
# The DNS columns are those of one thread whatever the number of workers
# (engine.h): every column of every row of the DNS captures, with one
# worker and with two and three fed by one reader, several times over
# (the workers' timing differs from run to run), with the default window
# and with 60 s.
# usage: dns_threads.sh SMTPTLS DNS_DATA_DIR
set -eu
bin=$1 dir=$2
[ -d "$dir" ] || { echo "skipped: $dir absent"; exit 77; }
tmp=$(mktemp -d /tmp/smtptls-dnsthreads-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rows() { # DB: every column but the ids, in a fixed order
	sqlite3 "$1" "SELECT * FROM sessions ORDER BY client_ip, client_port, ts_start;" | cut -d'|' -f3-
}
fail=0
for pcap in dnsworld.pcap nodns.pcap; do
	for window in 300 60; do
		"$bin" capture -q -r "$dir/$pcap" --db "$tmp/one.db" --dns-window "$window"
		rows "$tmp/one.db" > "$tmp/one.txt"
		[ -s "$tmp/one.txt" ] || { echo "$pcap: no rows"; exit 1; }
		for threads in 2 3 2 3 2; do
			rm -f "$tmp"/many.db*
			"$bin" capture -q -r "$dir/$pcap" --db "$tmp/many.db" --dns-window "$window" \
				--threads "$threads"
			rows "$tmp/many.db" > "$tmp/many.txt"
			if ! cmp -s "$tmp/one.txt" "$tmp/many.txt"; then
				echo "$pcap, window $window, $threads threads: rows differ from one thread"
				diff "$tmp/one.txt" "$tmp/many.txt" | head -20
				fail=1
			fi
		done
		rm -f "$tmp"/one.db*
	done
done
# the workers did wait for the DNS worker at least once somewhere, or the
# test proved nothing about the ordering
"$bin" capture -q -r "$dir/dnsworld.pcap" --db "$tmp/w.db" --threads 2
sqlite3 "$tmp/w.db" "SELECT name, value FROM run_counters WHERE name LIKE 'dns.%';" > "$tmp/c.txt"
grep -q '^dns.messages|402$' "$tmp/c.txt" || { echo "DNS messages not counted"; cat "$tmp/c.txt"; fail=1; }
[ $fail -eq 0 ] && echo "dns_threads: one, two and three workers agree"
exit $fail

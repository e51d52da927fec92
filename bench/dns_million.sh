#!/bin/bash
# The passive-DNS table on a million distinct names (issue 17): makes the
# capture with tests/data/dns/record/gen_million.py (2,000,000 frames, 226 MB,
# not kept), then runs smtptls capture on it with the default cap (64 MiB)
# and with 16 MiB, one thread and two, and prints the table's counters
# (bytes counted, peak, cap, entries kept, evicted, expired), the CPU seconds
# and the peak RSS (bench/measure). The figures are in bench/README.md.
#
#   bench/dns_million.sh [OUT_DIR]   (default bench/out; needs build/)
set -eu
cd "$(dirname "$0")/.."
out=${1:-bench/out}
mkdir -p "$out"
pcap=$out/million.pcap
[ -s "$pcap" ] || /usr/bin/python3 tests/data/dns/record/gen_million.py "$pcap" --check 200
counter() { sqlite3 "$1" "SELECT value FROM run_counters WHERE name = '$2';"; }
printf '%-8s %-7s %10s %10s %10s %9s %9s %8s %8s %8s\n' cap threads messages peak_bytes cap_bytes \
	kept evicted expired cpu_s rss_mib
for cap in 64 16; do
	for threads in 1 2; do
		db=$out/million-$cap-$threads.db
		rm -f "$db" "$db-wal" "$db-shm"
		m=$(build/bench/measure -- build/smtptls capture -r "$pcap" --db "$db" --dns-memory "$cap" \
			--threads "$threads" 2>&1)
		cpu=$(echo "$m" | sed -n 's/.*CPU seconds: \([0-9.]*\) capture.*/\1/p')
		rss=$(echo "$m" | grep -o 'maxrss_kib=[0-9]*' | cut -d= -f2)
		printf '%-8s %-7s %10s %10s %10s %9s %9s %8s %8s %8s\n' "$cap MiB" "$threads" \
			"$(counter "$db" dns.messages)" "$(counter "$db" pdns.bytes_peak)" \
			"$(counter "$db" pdns.bytes_cap)" "$(counter "$db" pdns.entries)" \
			"$(counter "$db" pdns.evicted)" "$(counter "$db" pdns.expired)" "$cpu" \
			$((rss / 1024))
		rm -f "$db" "$db-wal" "$db-shm"
	done
done

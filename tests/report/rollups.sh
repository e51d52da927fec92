#!/bin/bash
# Every number of a report counted from the rollups equals what the full
# scan of the session rows computes (SMTPTLS_REPORT_SCAN=1), compared as
# JSON: recorded captures shifted by hours and days and captured in runs
# newest first (the later runs bring rows of hours already rolled up into
# days), then time filters at odd seconds, whole hours and days, ports,
# servers, time buckets, all rows and --top. Then a database whose older
# session rows were deleted by retention still counts them. Then a capture
# of 18,000 sessions of distinct client and server pairs (bench/gen): the
# writer's groups go to the hour tables before their transaction commits
# (2,048 at most held, rollup.c), and the tables still equal the SQL fold.
# usage: rollups.sh SMTPTLS DATA_DIR GEN
set -u
bin=$1
data=$2
gen=$3
tmp=$(mktemp -d)
trap "rm -rf $tmp" EXIT
. "$(dirname "$0")/lib.sh"

H=3600
D=86400
db=$tmp/all.db
# capture SHIFT: each file of the list shifted by SHIFT seconds, one run each
runs() {
  local shift=$1 f
  shift
  for f in "$@"; do
    shifted "$f" "$shift" "$tmp/s.pcap"
    cap "$db" "$tmp/s.pcap"
  done
}
runs $((9 * D + 2 * H + 7)) offered-not-used.pcap mixed.pcap
runs $((3 * D + 1800)) mixed.pcap cert-expired.pcap
runs $((2 * D + 5 * H + 1)) implicit-465.pcap kx-groups.pcap
runs $((2 * D)) cleartext-auth.pcap legacy-hellos.pcap
runs $((D + 3 * H + 17)) refused-454.pcap cipher-suites.pcap refused-handshake.pcap
runs $D ipv6.pcap starttls-no-hello.pcap resumption12.pcap
runs $((5 * H + 13)) submission-587.pcap hrr.pcap
runs 0 mixed.pcap starttls-tls12.pcap starttls-tls10.pcap cert-ecdsa.pcap netem-loss.pcap \
  failed-handshake.pcap bdat.pcap
stored=$(sql "$db" "SELECT count(*) FROM session_rows")
"$bin" report --db "$db" --format json >"$tmp/all.json"
eq "sessions counted" "$(js "$tmp/all.json" '$.sessions.total')" "$stored"
eq "rollups promoted: every hour" "$(sql "$db" "SELECT promoted > (SELECT max(ts_start)
  FROM session_rows) FROM rollup_state")" 1

# the writer grouped its rows in C (store/rollup_fold.c); a copy whose
# rollups were emptied gets them again by SQL from the session rows when a
# capture opens it (rollup.c; the capture itself is refused: that file is
# in the database): every table holds the same counts (the hour tables are
# heaps: summed per key)
# same_folds DB CAPTURE: DB's rollups (the writer's C fold) equal those of
# a copy folded again by SQL (CAPTURE is one DB holds: its capture is refused)
same_folds() {
  local db=$1 r l keys sums q
  cp "$db" "$tmp/sql.db"
  edited "$tmp/sql.db"
  status "refused capture folds the rows by SQL" 1 "$bin" capture -q -r "$2" --db "$tmp/sql.db"
  for r in codes servers clients; do
    keys=$(sqlite3 -batch "$db" "SELECT group_concat(name, ', ') FROM pragma_table_info('rollup_${r}_day')
      WHERE pk > 0")
    sums=$(sqlite3 -batch "$db" "SELECT group_concat(CASE WHEN name = 'ts_min' OR name = 'worst'
      THEN 'min(' || name || ')' WHEN name IN ('ts_max', 'mangled_kw') THEN 'max(' || name || ')'
      ELSE 'sum(' || name || ')' END, ', ') FROM pragma_table_info('rollup_${r}_day') WHERE pk = 0")
    for l in hour day all; do
      q="SELECT $keys, $sums FROM rollup_${r}_$l GROUP BY $keys ORDER BY $keys"
      eq "C fold = SQL fold: $(basename "$db") rollup_${r}_$l" "$(sqlite3 -batch "$db" "$q" | md5sum)" \
        "$(sqlite3 -batch "$tmp/sql.db" "$q" | md5sum)"
    done
  done
}
same_folds "$db" "$tmp/s.pcap"

check() { # WHAT OPTIONS...: all rows, and the default --top
  local what=$1
  shift
  same_as_scan "$what" "$db" --top 0 "$@"
  same_as_scan "$what (--top 2)" "$db" --top 2 "$@"
}
check "no filter"
check "since, inside an hour" --since 2026-11-22T21:48:00Z
check "until, inside an hour" --until 2026-11-23T21:47:59Z
check "odd seconds over days" --since 2026-11-23T00:00:01Z --until 2026-11-25T02:59:59Z
check "odd seconds over weeks" --since 2026-11-22T21:47:37.5Z --until 2026-12-01T23:48:10Z
check "one whole day" --since 2026-11-24 --until 2026-11-25
check "whole days and hours" --since 2026-11-23T03:00:00Z --until 2026-11-25T05:00:00Z
check "one whole hour" --since 2026-11-22T21:00:00Z --until 2026-11-22T22:00:00Z
check "nothing in range" --since 2027-01-01
check "empty range" --since 2026-11-23 --until 2026-11-23
check "port 25" --port 25
check "ports 465 and 587" --port 465,587
check "port and time" --port 25 --since 2026-11-22T21:47:40Z --until 2026-12-01T23:48:10Z
check "server address" --server 127.0.0.1
check "server name" --server MX1.smtptls.test
check "by hour" --by hour
check "by day, from an odd second" --by day --since 2026-11-22T21:48:05Z
check "by week" --by week --until 2026-12-01T23:48:06Z

# ---- the per-entity columns against plain SQL over the sessions view ---------
# (written here from README's definitions, not from the report's code)
K="(coalesce(tls_outcome, '') = 'established' OR ((coalesce(v.rank, 0) > 0 OR transport <> 'unknown')
  AND coalesce(tls_outcome, '') <> 'incomplete'))"
E="coalesce(tls_outcome, '') = 'established'"
SRV="CASE WHEN server_ip LIKE '%:%' THEN '[' || server_ip || ']' ELSE server_ip END || ':' || server_port"
FROM="FROM sessions s LEFT JOIN tls_versions v ON v.code = s.tls_version_code"
# reference WHAT FILE SECTION KEYCOL "COL..." SQL: the rows' columns against SQL
# returning the same columns, both as JSON arrays ordered by the key
reference() {
  local what=$1 file=$2 section=$3 key=$4 cols=$5 query=$6 c obj=
  for c in $cols; do obj+="${obj:+, }'$c', json_extract(r.value, '\$.$c')"; done
  eq "$what" "$(sqlite3 -batch :memory: "SELECT json_group_array(json(o)) FROM (SELECT json_object($obj) AS o
      FROM json_each(readfile('$file'), '\$.sections.$section.rows') r
      ORDER BY json_extract(r.value, '\$.$key'))")" \
    "$(sqlite3 -batch "$db" "SELECT json_group_array(json(o)) FROM ($query)")"
}
scan_refs() { # JSON WHERE
  local j=$1 w=$2
  reference "$j: servers" "$j" servers server "server sessions encrypted clear unknown mail_clear
    starttls_offered ehlo_replies starttls_refused cleartext_auth both_hellos chose_weak
    declined_fs tls_refused tls_failed cert_sessions cert_expired cert_self_signed
    cert_name_mismatch certificates" "SELECT json_object('server', $SRV, 'sessions', count(*),
      'encrypted', count(CASE WHEN $E THEN 1 END), 'clear', count(CASE WHEN $K AND NOT ($E) THEN 1 END), 'unknown', count(CASE WHEN NOT $K THEN 1 END),
      'mail_clear', CAST(total(plaintext_transactions) AS INTEGER), 'starttls_offered', count(CASE WHEN starttls_offered = 1 THEN 1 END),
      'ehlo_replies', count(CASE WHEN starttls_offered IS NOT NULL THEN 1 END), 'starttls_refused', count(CASE WHEN starttls_sent = 1
      AND starttls_reply IS NOT NULL AND starttls_reply NOT BETWEEN 200 AND 299 THEN 1 END),
      'cleartext_auth', count(CASE WHEN cleartext_auth = 1 THEN 1 END), 'both_hellos', count(CASE WHEN server_chose_weak IS NOT NULL THEN 1 END),
      'chose_weak', count(CASE WHEN server_chose_weak = 1 THEN 1 END), 'declined_fs', count(CASE WHEN server_declined_fs = 1 THEN 1 END),
      'tls_refused', count(CASE WHEN tls_outcome = 'refused' THEN 1 END), 'tls_failed', count(CASE WHEN tls_outcome = 'failed' THEN 1 END),
      'cert_sessions', count(CASE WHEN cert_sha256 IS NOT NULL THEN 1 END), 'cert_expired', count(CASE WHEN cert_expired = 1 THEN 1 END),
      'cert_self_signed', count(CASE WHEN cert_self_signed = 1 THEN 1 END), 'cert_name_mismatch', count(CASE WHEN cert_name_match = 0 THEN 1 END),
      'certificates', count(DISTINCT cert_sha256)) AS o $FROM WHERE $w GROUP BY $SRV ORDER BY $SRV"
  reference "$j: clients" "$j" clients client "client sessions clear mail_clear
    starttls_not_used cleartext_auth servers" "SELECT json_object('client', client_ip,
      'sessions', count(CASE WHEN $K THEN 1 END), 'clear', count(CASE WHEN $K AND NOT ($E) THEN 1 END), 'mail_clear', CAST(total(plaintext_transactions) AS INTEGER),
      'starttls_not_used', count(CASE WHEN starttls_offered = 1 AND starttls_sent = 0 THEN 1 END),
      'cleartext_auth', count(CASE WHEN cleartext_auth = 1 THEN 1 END), 'servers', count(DISTINCT $SRV)) AS o
      $FROM WHERE $w GROUP BY client_ip HAVING count(CASE WHEN $K AND NOT ($E) THEN 1 END) > 0 ORDER BY client_ip"
  reference "$j: client_weak" "$j" client_weak client "client hellos no_tls13 offered_weak
    only_weak no_fs servers" "SELECT json_object('client', client_ip, 'hellos', count(*),
      'no_tls13', count(CASE WHEN client_offered_tls13 = 0 THEN 1 END), 'offered_weak', count(CASE WHEN client_offered_weak = 1 THEN 1 END),
      'only_weak', count(CASE WHEN weak_cipher = 1 AND server_chose_weak = 0 THEN 1 END),
      'no_fs', count(CASE WHEN forward_secrecy = 0 AND server_declined_fs = 0 THEN 1 END),
      'servers', count(DISTINCT $SRV)) AS o $FROM WHERE $w AND client_hello = 1
      GROUP BY client_ip HAVING count(CASE WHEN client_offered_tls13 = 0 THEN 1 END) + count(CASE WHEN client_offered_weak = 1 THEN 1 END)
      + count(CASE WHEN weak_cipher = 1 AND server_chose_weak = 0 THEN 1 END)
      + count(CASE WHEN forward_secrecy = 0 AND server_declined_fs = 0 THEN 1 END) > 0 ORDER BY client_ip"
  local fp
  for fp in ja3 ja4 ja3s; do
    reference "$j: $fp" "$j" $fp fingerprint "fingerprint sessions clients servers" \
      "SELECT json_object('fingerprint', $fp, 'sessions', count(*), 'clients',
        count(DISTINCT client_ip), 'servers', count(DISTINCT $SRV)) AS o $FROM
        WHERE $w AND $fp IS NOT NULL GROUP BY $fp ORDER BY $fp"
  done
  reference "$j: cert_sig_algs" "$j" cert_sig_algs signature "signature sessions certs servers" \
    "SELECT json_object('signature', coalesce(cert_sig_alg, '(unknown)'), 'sessions', count(*),
      'certs', count(DISTINCT cert_sha256), 'servers', count(DISTINCT $SRV)) AS o $FROM
      WHERE $w AND coalesce(v.rank, 0) > 0 AND cert_sha256 IS NOT NULL
      GROUP BY cert_sig_alg ORDER BY coalesce(cert_sig_alg, '(unknown)')"
}
"$bin" report --db "$db" --format json --top 0 >"$tmp/ref.json"
scan_refs "$tmp/ref.json" "1"
"$bin" report --db "$db" --format json --top 0 --port 25 --since 2026-11-22T21:47:40Z \
  --until 2026-11-25T05:00:00Z >"$tmp/ref2.json"
scan_refs "$tmp/ref2.json" "server_port = 25 AND ts_start >= $(date -u -d 2026-11-22T21:47:40Z +%s)
  AND ts_start < $(date -u -d 2026-11-25T05:00:00Z +%s)"

# ---- the DNS sections and the runs' own sections ----------------------------
# the recorded DNS world (dns_link, domains, policy_adoption, policy_evidence
# from the session rows), a day later the same without DNS; then a run marked
# unfinished by hand (its sessions counted from the rows)
dns=$tmp/dns.db
cap_dns() { # FILE SHIFT
  shifted "$data/dns/$1" "$2" "$tmp/d.pcap"
  "$bin" capture -q -r "$tmp/d.pcap" --db "$dns" --dns-window 60 ||
    { echo "FAIL: capture of dns/$1"; fails=$((fails + 1)); }
}
cap_dns dnsworld.pcap 0
cap_dns nodns.pcap $((D + 7))
cap_dns dnsworld.pcap $((2 * D + 3 * H + 11))
"$bin" report --db "$dns" --format json --top 0 >"$tmp/dns.json"
eq "dns: domains listed" "$([ "$(rows "$tmp/dns.json" domains)" -gt 0 ] && echo yes)" yes
eq "dns: the sessions with a domain" "$(js "$tmp/dns.json" \
  '$.sections.dns_link.rows[0].sessions_with_domain')" \
  "$(sql "$dns" "SELECT count(*) FROM session_rows WHERE mx_domain IS NOT NULL")"
same_as_scan "dns: no filter" "$dns" --top 0
same_as_scan "dns: --top 1" "$dns" --top 1
first=$(sql "$dns" "SELECT CAST(min(ts_start) AS INTEGER) + 1 FROM session_rows")
same_as_scan "dns: an odd second on" "$dns" --top 0 --since "$first"
same_as_scan "dns: whole days" "$dns" --top 0 --since "$((first - first % D + D))"
same_as_scan "dns: port 25" "$dns" --top 0 --port 25
srv=$(sql "$dns" "SELECT server_ip FROM session_rows WHERE mx_domain IS NOT NULL LIMIT 1")
same_as_scan "dns: one server" "$dns" --top 0 --server "$srv"
sqlite3 "$dns" "UPDATE runs SET status = 'unfinished' WHERE id = 2"
"$bin" report --db "$dns" --format json --top 0 >"$tmp/dns.json"
eq "unfinished: its sessions" "$(js "$tmp/dns.json" '$.sections.unfinished_runs.rows[0].sessions')" \
  "$(sql "$dns" "SELECT count(*) FROM session_rows WHERE run_id = 2")"
same_as_scan "unfinished runs" "$dns" --top 0
same_as_scan "unfinished runs, a filter" "$dns" --top 0 --since "$first" --port 25

# ---- retention: the session rows go, the counts stay --------------------------
# the totals and the rows of every section but the database's own
# (coverage, runs), without what only session rows give (session ids, the
# plaintext fallback)
numbers() {
  sqlite3 -batch :memory: "SELECT json_extract(readfile('$1'), '\$.sessions');
    SELECT s.key, json_group_array(json_remove(r.value, '\$.session_ids'))
    FROM json_each(readfile('$1'), '\$.sections') s, json_each(s.value, '\$.rows') r
    WHERE s.key NOT IN ('coverage', 'capture', 'capture_counters', 'dns_link', 'unfinished_runs')
      AND coalesce(json_extract(r.value, '\$.kind'), '') <> 'plaintext_fallback'
    GROUP BY s.key ORDER BY s.key;"
}
"$bin" report --db "$db" --format json --top 0 >"$tmp/before.json"
r=$tmp/retain.db
cp "$db" "$r"
# a capture 20 days after the first sessions with --retain 1 (its packets'
# time is the clock for a file): every older row goes, the rollups stay
shifted starttls-tls13.pcap $((20 * D)) "$tmp/late.pcap"
"$bin" capture -q -r "$tmp/late.pcap" --db "$r" --retain 1 || { echo "FAIL: capture --retain"; fails=$((fails + 1)); }
eq "retention: rows left" "$(sql "$r" "SELECT count(*) FROM session_rows")" 1
eq "retention: counted" "$(sql "$r" "SELECT value FROM run_counters
  WHERE name = 'sessions_deleted_by_retention'")" "$stored"
"$bin" report --db "$r" --format json --top 0 --until 2026-12-10 >"$tmp/after.json"
eq "retention: every number of the earlier sessions kept" "$(numbers "$tmp/after.json")" \
  "$(numbers "$tmp/before.json")"
eq "retention: coverage says so" "$(js "$tmp/after.json" '$.sections.coverage.rows[0].sessions_deleted')" yes
has "retention: the session ids say so" "$(js "$tmp/after.json" '$.sections.downgrade.denominator')" \
  'older session rows were deleted'
same_as_scan "retention: the late session" "$r" --top 0 --since 2026-12-10
"$bin" report --db "$r" >"$tmp/after.txt"
has "retention: text says which period" "$(cat "$tmp/after.txt")" '^  older session rows deleted +yes$'
# without --retain nothing goes
cp "$db" "$tmp/keep.db"
"$bin" capture -q -r "$tmp/late.pcap" --db "$tmp/keep.db"
eq "no retention: rows kept" "$(sql "$tmp/keep.db" "SELECT count(*) FROM session_rows")" $((stored + 1))
status "retain: a bad number" 2 "$bin" capture -r "$tmp/late.pcap" --db "$tmp/x.db" --retain x
# many distinct pairs in one transaction: the groups flushed early
"$gen" -o "$tmp/many.pcap" -n 3000 -c 3000 -s 1 "$data/mixed.pcap" >/dev/null ||
  { echo "FAIL: gen"; fails=$((fails + 1)); }
many=$tmp/many.db
cap "$many" "$tmp/many.pcap"
pairs=$(sql "$many" "SELECT count(DISTINCT client_ip || ' ' || server_ip) FROM session_rows")
[ "$pairs" -gt 4096 ] || { echo "FAIL: only $pairs client and server pairs"; fails=$((fails + 1)); }
heap=$(sql "$many" "SELECT count(*) FROM rollup_clients_hour")
[ "$heap" -ge "$pairs" ] || { echo "FAIL: $heap hour rows for $pairs pairs"; fails=$((fails + 1)); }
same_folds "$many" "$tmp/many.pcap"
same_as_scan "many pairs: no filter" "$many" --top 0
same_as_scan "many pairs: --top 3" "$many" --top 3

finish rollups

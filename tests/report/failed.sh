#!/bin/bash
# What counts as encrypted (contract C3, README "What counts as
# encrypted") on a real failed handshake: failed-handshake.pcap holds a
# STARTTLS session whose client refused the server's certificate after the
# ServerHello (a fatal unknown_ca alert), then the same client's retry in
# clear with one message (tests/data/logs/failed-handshake.pcap.log). The
# report counts one session not encrypted because TLS failed, one plaintext
# session, none encrypted, one that attempted TLS; the retry is downgrade
# evidence; the certificate is counted though the handshake failed.
# usage: failed.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

db=$tmp/f.db
cap "$db" failed-handshake.pcap
eq "rows" "$(sql "$db" "SELECT group_concat(transport || ' ' || coalesce(tls_version, '-') || ' '
    || coalesce(tls_outcome, '-') || ' ' || coalesce(tls_alert_name, '-') || ' '
    || coalesce(tls_alert_from, '-') || ' ' || plaintext_transactions, '; ')
    FROM (SELECT * FROM sessions ORDER BY id)")" \
  "starttls TLSv1.2 failed unknown_ca client 0; plaintext - - - - 1"

"$bin" report --db "$db" --format json >"$tmp/r.json"
J=$tmp/r.json
eq "sessions" "$(js "$J" '$.sessions.total')" 2
eq "known" "$(js "$J" '$.sessions.known')" 2
eq "unknown" "$(js "$J" '$.sessions.unknown')" 0
eq "encrypted (TLS completed)" "$(js "$J" '$.sessions.encrypted')" 0
eq "TLS attempted" "$(js "$J" '$.sessions.tls_attempted')" 1
eq "TLS attempted %" "$(js "$J" '$.sessions.tls_attempted_pct')" 50.0
eq "not encrypted" "$(row "$J" encryption scope all not_encrypted)" 2
eq "reason: TLS failed" "$(row "$J" not_encrypted reason tls_failed sessions)" 1
eq "reason: plaintext, offered not used" "$(row "$J" not_encrypted reason offered_not_used sessions)" 1
eq "reason: no ServerHello" "$(row "$J" not_encrypted reason tls_no_server_hello sessions)" 0
eq "outcome failed" "$(row "$J" tls_outcomes outcome failed sessions)" 1
eq "alert" "$(row "$J" tls_alerts alert unknown_ca sent_by)" client
eq "alert's outcome" "$(row "$J" tls_alerts alert unknown_ca outcome)" failed
eq "no version of an encrypted session" "$(rows "$J" tls_versions)" 0
eq "certificate counted" "$(row "$J" certificates item seen sessions)" 1
eq "self-signed" "$(row "$J" certificates item self_signed sessions)" 1
eq "server: clear" "$(row "$J" servers server 127.0.0.1:25 clear)" 2
eq "server: TLS failed" "$(row "$J" servers server 127.0.0.1:25 tls_failed)" 1
eq "mail in clear" "$(row "$J" clear_mail scope all sessions)" 1
eq "fallback to clear" "$(row "$J" downgrade_summary kind plaintext_fallback sessions)" 1
eq "fallback ids" "$(js "$J" '$.sections.downgrade.rows[0].session_ids')" "1->2"

text=$("$bin" report --db "$db")
has "text: TLS completed" "$text" '^TLS completed +0\.0%   0 of 2 known sessions: encrypted$'
has "text: TLS attempted" "$text" '^TLS attempted +50\.0%   1 of 2 known sessions$'
has "text: reason" "$text" '^  TLS failed: a ServerHello, then an alert or a reset +1 +50\.0%$'

finish failed

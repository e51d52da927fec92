#!/bin/bash
# Privacy: no envelope address, no message header, no credential from the
# captures may reach the database; with --anonymize no original IP address
# may either (EHLO address literals and IP SNI included).
# usage: privacy.sh SMTPTLS DATA_DIR CORPUS_DIR
set -u
bin=$1
data=$2
corpus=$3
for tool in tcpdump sqlite3 strings; do
  command -v $tool >/dev/null || { echo "skipped: $tool not installed"; exit 77; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
captures=$(ls "$data"/*.pcap "$data"/*.pcapng)
[ -d "$corpus" ] && captures="$captures $(ls "$corpus"/ndpi/smtp*.pcap* "$corpus"/ndpi/emotet.pcap "$corpus"/arkime/*.pcap)"

# what the captures carry in clear: envelope addresses, Subject lines,
# AUTH exchanges (base64 credentials)
for f in $captures; do
  tcpdump -nn -A -r "$f" 2>/dev/null
done > "$tmp/payload.txt"
grep -oiE '(mail from|rcpt to):[ ]*<[^>]{3,}>' "$tmp/payload.txt" | sed 's/.*<\(.*\)>/\1/' > "$tmp/secrets"
grep -oE 'Subject: [^.]{6,40}' "$tmp/payload.txt" | sed 's/[[:space:]]*$//' >> "$tmp/secrets"
grep -oE 'AUTH PLAIN [A-Za-z0-9+/=]{12,}' "$tmp/payload.txt" | cut -d' ' -f3 >> "$tmp/secrets"
sort -u -o "$tmp/secrets" "$tmp/secrets"
n=$(wc -l < "$tmp/secrets")
want=10 # the recorded captures alone; the public corpus adds more
[ -d "$corpus" ] && want=20
[ "$n" -ge "$want" ] || { echo "FAIL: only $n secrets found in the captures: the extraction broke"; exit 1; }

for f in $captures; do
  "$bin" capture -q -r "$f" --db "$tmp/plain.db" || { echo "FAIL: capture $f"; fails=$((fails + 1)); }
done
rows=$(sqlite3 "$tmp/plain.db" "select count(*) from sessions")
if strings -n 4 "$tmp/plain.db"* | grep -F -f "$tmp/secrets" > "$tmp/leaks"; then
  echo "FAIL: the database holds mail content:"
  head "$tmp/leaks"
  fails=$((fails + 1))
fi

# anonymised: every original address, as stored without the option
sqlite3 "$tmp/plain.db" "select client_ip from sessions union select server_ip from sessions
  union select substr(ehlo_name, 2, length(ehlo_name) - 2) from sessions
    where ehlo_name like '[%]' and ehlo_name not like '[IPv6:%'" | sort -u > "$tmp/addresses"
head -c 32 /dev/urandom > "$tmp/key"
for f in $captures; do
  "$bin" capture -q -r "$f" --db "$tmp/anon.db" --anonymize "$tmp/key" ||
    { echo "FAIL: capture --anonymize $f"; fails=$((fails + 1)); }
done
arows=$(sqlite3 "$tmp/anon.db" "select count(*) from sessions")
[ "$arows" = "$rows" ] || { echo "FAIL: $arows anonymised rows, $rows plain"; fails=$((fails + 1)); }
if strings -n 3 "$tmp/anon.db"* | grep -w -F -f "$tmp/addresses" > "$tmp/leaks"; then
  echo "FAIL: original addresses in the anonymised database:"
  head "$tmp/leaks"
  fails=$((fails + 1))
fi
# the same key maps the same way: a second run gives the same addresses
"$bin" capture -q -r "$data/mixed.pcap" --db "$tmp/anon2.db" --anonymize "$tmp/key"
a=$(sqlite3 "$tmp/anon.db" "select distinct server_ip from sessions where run_id =
      (select id from runs where source like '%mixed.pcap') order by 1")
b=$(sqlite3 "$tmp/anon2.db" "select distinct server_ip from sessions order by 1")
[ -n "$a" ] && [ "$a" = "$b" ] || { echo "FAIL: the same key gave other addresses"; fails=$((fails + 1)); }
echo "privacy: $n secrets and $(wc -l < "$tmp/addresses") addresses checked over $rows sessions, $fails failed"
[ "$fails" -eq 0 ]

#!/bin/bash
# The TLS-depth sections of the report against the truth of the recorded
# captures (tests/data/truth.json): crypto quality, key-exchange groups,
# handshake outcomes and alerts, whose fault weak crypto is (server_blame:
# the server's), what the clients offer, certificates, JA3/JA4/JA3S and the
# per-server posture. Every number of those sections is computed from the
# truth, on two databases:
#   depth  the seven TLS-depth captures, whose truth holds every field;
#   all    all 29 captures; where the older captures' truth leaves a field
#          out it is derived from what tests/data/README.md documents:
#          tls_outcome 'established' for every TLS session of the older
#          captures (each carried its mail or s_client session inside TLS),
#          kx_pq from the group's name (ML-KEM/Kyber are post-quantum),
#          client_max_version from the JA4's version field (the SSLv2-format
#          hello asks for TLS 1.0), the certificate's key, signature,
#          issuer and expiry from another session with the same SHA-256.
# JSON is checked number by number; CSV, text and HTML line by line for the
# tables of shares, and by spot checks for the ranked lists.
# usage: depth.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

depth=(cert-ecdsa.pcap cert-expired.pcap kx-groups.pcap cipher-suites.pcap
  refused-handshake.pcap legacy-hellos.pcap starttls-no-hello.pcap)
all=(starttls-tls13.pcap starttls-tls12.pcap starttls-tls10.pcap starttls-tls11.pcap
  implicit-465.pcap submission-587.pcap offered-not-used.pcap no-starttls.pcap
  refused-454.pcap cleartext-auth.pcap ipv6.pcap multi-message.pcap large-message.pcap
  netem-loss.pcap any-sll2.pcap hrr.pcap resumption.pcap resumption12.pcap bdat.pcap
  vlan.pcap starttls-tls13.pcapng mixed.pcap "${depth[@]}")

# ---- the truth, one row per session, in the sessions table's terms --------

# normalize TRUTH_DB: table n (the truth's fields) and view d (derived ones).
normalize() {
  local f
  sqlite3 -batch "$1" "CREATE TABLE n AS SELECT capture,
      json_extract(v, '\$.client_ip') AS cip,
      CASE WHEN json_extract(v, '\$.server_ip') LIKE '%:%'
        THEN '[' || json_extract(v, '\$.server_ip') || ']'
        ELSE json_extract(v, '\$.server_ip') END || ':' || json_extract(v, '\$.server_port') AS srv,
      json_extract(v, '\$.tls_version') AS ver, json_extract(v, '\$.cipher_name') AS cipher,
      json_extract(v, '\$.kx_group') AS kx, json_extract(v, '\$.kx_pq') AS pq0,
      json_extract(v, '\$.kx_dh_bits') AS dh, json_extract(v, '\$.resumed') AS resumed,
      json_extract(v, '\$.forward_secrecy') AS fs, json_extract(v, '\$.aead') AS aead,
      json_extract(v, '\$.weak_cipher') AS weak, json_extract(v, '\$.server_chose_weak') AS scw,
      json_extract(v, '\$.server_declined_fs') AS sdf,
      json_extract(v, '\$.client_offered_tls13') AS c13,
      json_extract(v, '\$.client_offered_weak') AS cweak,
      json_extract(v, '\$.sslv2_hello') AS sslv2,
      json_type(v, '\$.client_offered_tls13') IS NOT NULL AS hello,
      json_extract(v, '\$.ja3') AS ja3, json_extract(v, '\$.ja4') AS ja4,
      json_extract(v, '\$.ja3s') AS ja3s, json_extract(v, '\$.tls_outcome') AS outcome0,
      json_extract(v, '\$.tls_alert_name') AS alert, json_extract(v, '\$.tls_alert_from') AS alert_from,
      json_extract(v, '\$.cert_sha256') AS sha, json_extract(v, '\$.cert_key_type') AS key_type,
      json_extract(v, '\$.cert_key_bits') AS key_bits, json_extract(v, '\$.cert_sig_alg') AS sig,
      json_extract(v, '\$.cert_issuer_cn') AS issuer_cn,
      json_extract(v, '\$.cert_issuer_org') AS issuer_org,
      json_extract(v, '\$.cert_self_signed') AS self, json_extract(v, '\$.cert_expired') AS expired,
      json_extract(v, '\$.cert_name_match') AS name_match,
      json_extract(v, '\$.server_name') AS banner
    FROM t;"
  # a certificate's own facts are the same wherever it was seen
  for f in key_type key_bits sig issuer_cn issuer_org self expired; do
    sqlite3 -batch "$1" "UPDATE n SET $f = (SELECT max(x.$f) FROM n x WHERE x.sha = n.sha)
      WHERE sha IS NOT NULL AND $f IS NULL;"
  done
  sqlite3 -batch "$1" "CREATE VIEW d AS SELECT *,
      CASE WHEN pq0 IS NOT NULL THEN pq0 WHEN kx IS NULL THEN NULL
        WHEN kx LIKE '%MLKEM%' OR kx LIKE '%Kyber%' THEN 1 ELSE 0 END AS pq,
      CASE WHEN sslv2 = 1 THEN 'TLSv1.0' WHEN hello THEN CASE substr(ja4, 2, 2)
        WHEN '13' THEN 'TLSv1.3' WHEN '12' THEN 'TLSv1.2' WHEN '11' THEN 'TLSv1.1'
        WHEN '10' THEN 'TLSv1.0' WHEN 's3' THEN 'SSLv3' WHEN 's2' THEN 'SSLv2' END END AS cmax,
      coalesce(outcome0, CASE WHEN ver IS NOT NULL THEN 'established' END) AS outcome,
      CASE WHEN kx IS NOT NULL THEN kx WHEN dh IS NOT NULL THEN 'DHE, ' || dh || '-bit prime'
        WHEN resumed = 1 THEN '(none: resumed)' WHEN fs = 0 THEN '(none: RSA key exchange)'
        ELSE '(not recorded)' END AS kx_label,
      CASE WHEN weak = 1 THEN 'weak' WHEN fs = 0 THEN 'no FS' WHEN aead = 0 THEN 'CBC'
        WHEN aead = 1 THEN 'AEAD' END AS quality
    FROM n;"
}

# ---- checks in every format --------------------------------------------------

# re TEXT: TEXT as an extended regular expression matching itself.
re() { sed 's/[][\.*^$()+?{}|/]/\\&/g' <<<"$1"; }
# html TEXT: TEXT as the HTML report escapes it.
html() { sed "s/&/\\&amp;/g; s/</\\&lt;/g; s/>/\\&gt;/g; s/\"/\\&quot;/g; s/'/\\&#39;/g" <<<"$1"; }

# share LABEL SECTION ITEM SESSIONS OF: one line of a table of shares, in
# all four formats.
share() {
  local what p w
  p=$(if [ "$5" -gt 0 ]; then pct "$4" "$5"; fi)
  what=$(row "$J" "$2" item "$3" what)
  eq "$1 $2 $3 sessions" "$(row "$J" "$2" item "$3" sessions)" "$4"
  eq "$1 $2 $3 of" "$(row "$J" "$2" item "$3" of)" "$5"
  eq "$1 $2 $3 %" "$(row "$J" "$2" item "$3" sessions_pct)" "$p"
  has "$1 $2 $3 csv" "$CSV" "^$2,$3,(\"[^\"]*\"|[^,]*),([a-z]+,)?$4,$5,$p,"
  [ "$5" -gt 0 ] || return 0
  w=$(re "$what")
  has "$1 $2 $3 text" "$TXT" "^  $w +([a-z]+ +)?$4 +$5 +$p%"
  w=$(re "$(html "$what")")
  has "$1 $2 $3 html" "$HTML" "<td[^>]*>$w</td>(<td[^>]*>[a-z]+</td>)?<td class=\"n\"[^>]*>$4</td><td class=\"n\"[^>]*>$5</td><td class=\"n\"[^>]*>$p%</td>"
}

# C COND: how many rows of a group COND holds for, 0 rather than NULL.
C() { echo "sum(coalesce($1, 0))"; }

# ranked LABEL SECTION KEYCOL KEY COL WANT: one cell of a ranked list (JSON).
ranked() {
  eq "$1 $2 $4 $5" "$(row "$J" "$2" "$3" "$4" "$5")" "$6"
}

check() {
  local label=$1 db=$2 tr=$3
  local enc hellos judged attempted alerts certs12 certs named
  local g cnt t13 t12 pq o a from k srv out s judged_s w nofs suites ver c no13 cw ow low
  local it spec name nc ns fp f worst ref fail exp self mis distinct
  T() { sql "$tr" "$1"; }
  "$bin" report --db "$db" --format json --top 0 >"$tmp/$label.json"
  J=$tmp/$label.json
  CSV=$("$bin" report --db "$db" --format csv)
  TXT=$("$bin" report --db "$db" --top 0)
  HTML=$("$bin" report --db "$db" --format html --top 0)
  eq "$label: text fits 80 columns" "$(awk 'length > 80' <<<"$TXT" | head -3)" ""

  # crypto quality, of the encrypted sessions: those whose handshake completed
  # (contract C3; legacy-hellos.pcap's SSLv2-format hello got a ServerHello,
  # then the client closed: incomplete, not encrypted)
  enc=$(T "SELECT count(*) FROM d WHERE outcome = 'established'")
  eq "$label encrypted" "$(js "$J" '$.sessions.encrypted')" "$enc"
  share "$label" crypto_quality forward_secrecy "$(T "SELECT count(*) FROM d WHERE outcome = 'established' AND fs = 1")" "$enc"
  share "$label" crypto_quality aead "$(T "SELECT count(*) FROM d WHERE outcome = 'established' AND aead = 1")" "$enc"
  share "$label" crypto_quality weak_cipher "$(T "SELECT count(*) FROM d WHERE outcome = 'established' AND weak = 1")" "$enc"
  share "$label" crypto_quality post_quantum "$(T "SELECT count(*) FROM d WHERE outcome = 'established' AND pq = 1")" "$enc"
  share "$label" crypto_quality not_judged "$(T "SELECT count(*) FROM d WHERE outcome = 'established' AND fs IS NULL")" "$enc"
  has "$label headline FS" "$TXT" "^Forward secret +$(pct "$(T "SELECT count(*) FROM d WHERE outcome = 'established' AND fs = 1")" "$enc")%   $(T "SELECT count(*) FROM d WHERE outcome = 'established' AND fs = 1") of $enc encrypted sessions$"

  # key-exchange groups, TLS 1.2 ones and DH prime sizes included
  eq "$label kx groups listed" "$(rows "$J" kx_groups)" "$(T "SELECT count(DISTINCT kx_label) FROM d WHERE outcome = 'established'")"
  while IFS='|' read -r g cnt t13 t12 pq; do
    ranked "$label" kx_groups group "$g" sessions "$cnt"
    ranked "$label" kx_groups group "$g" sessions_pct "$(pct "$cnt" "$enc")"
    ranked "$label" kx_groups group "$g" tls13 "$t13"
    ranked "$label" kx_groups group "$g" tls12 "$t12"
    ranked "$label" kx_groups group "$g" post_quantum "$pq"
    has "$label kx $g text" "$TXT" "^  $(re "$g") +(yes|no|-) +$t13 +$t12 +$cnt +$(pct "$cnt" "$enc")%$"
  done < <(T "SELECT kx_label, count(*), sum(ver = 'TLSv1.3'), sum(ver <> 'TLSv1.3'),
      CASE WHEN kx IS NOT NULL THEN CASE max(pq) WHEN 1 THEN 'yes' ELSE 'no' END
           WHEN max(dh) IS NOT NULL THEN 'no' ELSE '-' END
    FROM d WHERE outcome = 'established' GROUP BY kx_label")
  ranked "$label" kx_groups group "DHE, 2048-bit prime" dh_bits "$(T "SELECT max(dh) FROM d WHERE dh = 2048")"

  # handshake outcomes, of the sessions that attempted TLS, and the alerts
  attempted=$(T "SELECT count(*) FROM d WHERE outcome IS NOT NULL")
  eq "$label outcomes listed" "$(rows "$J" tls_outcomes)" 6
  for o in established refused failed no_server_hello incomplete no_tls_after_220; do
    local k p w
    k=$(T "SELECT count(*) FROM d WHERE outcome = '$o'")
    p=$(pct "$k" "$attempted")
    ranked "$label" tls_outcomes outcome "$o" sessions "$k"
    ranked "$label" tls_outcomes outcome "$o" sessions_pct "$p"
    has "$label outcome $o csv" "$CSV" "^tls_outcomes,$o,(\"[^\"]*\"|[^,]*),$k,$p$"
    w=$(re "$(row "$J" tls_outcomes outcome "$o" what)")
    has "$label outcome $o text" "$TXT" "^  $w +$k +$p%"
    has "$label outcome $o html" "$HTML" "<td[^>]*>$w</td><td class=\"n\"[^>]*>$k</td><td class=\"n\"[^>]*>$p%</td>"
  done
  alerts=$(T "SELECT count(*) FROM d WHERE alert IS NOT NULL")
  eq "$label alerts listed" "$(rows "$J" tls_alerts)" "$(T "SELECT count(DISTINCT alert || alert_from) FROM d WHERE alert IS NOT NULL")"
  while IFS='|' read -r a from k srv out; do
    ranked "$label" tls_alerts alert "$a" sessions "$k"
    ranked "$label" tls_alerts alert "$a" sessions_pct "$(pct "$k" "$alerts")"
    ranked "$label" tls_alerts alert "$a" sent_by "$from"
    ranked "$label" tls_alerts alert "$a" servers "$srv"
    ranked "$label" tls_alerts alert "$a" outcome "$out"
    has "$label alert $a csv" "$CSV" "^tls_alerts,$a,$from,fatal,$out,$k,$(pct "$k" "$alerts"),$srv$"
    has "$label alert $a text" "$TXT" "^  $a +$from +fatal +$out +$k +$(pct "$k" "$alerts")% +$srv$"
  done < <(T "SELECT alert, alert_from, count(*), count(DISTINCT srv), group_concat(DISTINCT outcome)
    FROM d WHERE alert IS NOT NULL GROUP BY 1, 2")

  # whose fault weak crypto is: the server chooses from the client's offer
  judged=$(T "SELECT count(*) FROM d WHERE scw IS NOT NULL")
  share "$label" blame_summary server_chose_weak "$(T "SELECT count(*) FROM d WHERE scw = 1")" "$judged"
  share "$label" blame_summary server_declined_fs "$(T "SELECT count(*) FROM d WHERE sdf = 1")" "$judged"
  share "$label" blame_summary client_offered_only_weak "$(T "SELECT count(*) FROM d WHERE weak = 1 AND scw = 0")" "$judged"
  share "$label" blame_summary client_offered_no_fs "$(T "SELECT count(*) FROM d WHERE fs = 0 AND sdf = 0")" "$judged"
  ranked "$label" blame_summary item server_chose_weak fault server
  ranked "$label" blame_summary item client_offered_only_weak fault client
  ranked "$label" blame_summary item server_chose_weak servers "$(T "SELECT count(DISTINCT srv) FROM d WHERE scw = 1")"
  ranked "$label" blame_summary item client_offered_no_fs servers "$(T "SELECT count(DISTINCT srv) FROM d WHERE fs = 0 AND sdf = 0")"
  eq "$label servers at fault" "$(rows "$J" server_blame)" "$(T "SELECT count(DISTINCT srv) FROM d WHERE scw = 1 OR sdf = 1")"
  eq "$label worst server first" "$(js "$J" '$.sections.server_blame.rows[0].server')" \
    "$(T "SELECT srv FROM d GROUP BY srv HAVING sum(scw = 1) + sum(sdf = 1) > 0
          ORDER BY sum(scw = 1) DESC, sum(sdf = 1) DESC LIMIT 1")"
  has "$label server's fault labelled" "$TXT" "^The server's fault: "
  while IFS='|' read -r s judged_s w nofs suites; do
    ranked "$label" server_blame server "$s" both_hellos "$judged_s"
    ranked "$label" server_blame server "$s" chose_weak "$w"
    ranked "$label" server_blame server "$s" chose_weak_pct "$(pct "$w" "$judged_s")"
    ranked "$label" server_blame server "$s" declined_fs "$nofs"
    ranked "$label" server_blame server "$s" declined_fs_pct "$(pct "$nofs" "$judged_s")"
    ranked "$label" server_blame server "$s" suites "$suites"
    has "$label blame $s text" "$TXT" "^  $(re "$s") +$judged_s +$w +$(pct "$w" "$judged_s")% +$nofs +$(pct "$nofs" "$judged_s")%$"
    has "$label blame $s html" "$HTML" "<td[^>]*>$(re "$s")</td><td class=\"n\"[^>]*>$judged_s</td><td class=\"n\"[^>]*>$w</td>"
  done < <(T "SELECT srv, sum(scw IS NOT NULL), sum(scw = 1), sum(sdf = 1),
      (SELECT group_concat(cipher || ' 1', ', ') FROM d x WHERE x.srv = d.srv AND (x.scw = 1 OR x.sdf = 1))
    FROM d GROUP BY srv HAVING sum(scw = 1) + sum(sdf = 1) > 0")

  # the client's side: what the first ClientHello offered
  hellos=$(T "SELECT count(*) FROM d WHERE hello")
  share "$label" client_offers offered_tls13 "$(T "SELECT count(*) FROM d WHERE c13 = 1")" "$hellos"
  share "$label" client_offers no_tls13 "$(T "SELECT count(*) FROM d WHERE c13 = 0")" "$hellos"
  share "$label" client_offers max_tls11_or_older "$(T "SELECT count(*) FROM d WHERE cmax IN ('SSLv2', 'SSLv3', 'TLSv1.0', 'TLSv1.1')")" "$hellos"
  share "$label" client_offers offered_weak "$(T "SELECT count(*) FROM d WHERE cweak = 1")" "$hellos"
  share "$label" client_offers sslv2_hello "$(T "SELECT count(*) FROM d WHERE sslv2 = 1")" "$hellos"
  eq "$label versions offered listed" "$(rows "$J" client_versions)" "$(T "SELECT count(DISTINCT cmax) FROM d WHERE hello")"
  while IFS='|' read -r ver k; do
    ranked "$label" client_versions version "$ver" sessions "$k"
    ranked "$label" client_versions version "$ver" sessions_pct "$(pct "$k" "$hellos")"
    has "$label offered $ver text" "$TXT" "^  $(re "$ver") +$k +$(pct "$k" "$hellos")%"
  done < <(T "SELECT cmax, count(*) FROM d WHERE hello GROUP BY 1")
  local RANK="CASE cmax WHEN 'SSLv2' THEN 1 WHEN 'SSLv3' THEN 2 WHEN 'TLSv1.0' THEN 3 WHEN 'TLSv1.1' THEN 4 WHEN 'TLSv1.2' THEN 5 WHEN 'TLSv1.3' THEN 6 END"
  local WEAKC="FROM d WHERE hello GROUP BY cip HAVING $(C "c13 = 0") + $(C "cweak = 1") + $(C "weak = 1 AND scw = 0") + $(C "fs = 0 AND sdf = 0") > 0"
  eq "$label weak clients listed" "$(rows "$J" client_weak)" "$(T "SELECT count(*) FROM (SELECT cip $WEAKC)")"
  eq "$label worst client first" "$(js "$J" '$.sections.client_weak.rows[0].client')" \
    "$(T "SELECT cip $WEAKC ORDER BY $(C "weak = 1 AND scw = 0") DESC, min($RANK), $(C "fs = 0 AND sdf = 0") DESC LIMIT 1")"
  while IFS='|' read -r c k no13 cw ow nofs low; do
    ranked "$label" client_weak client "$c" hellos "$k"
    ranked "$label" client_weak client "$c" no_tls13 "$no13"
    ranked "$label" client_weak client "$c" no_tls13_pct "$(pct "$no13" "$k")"
    ranked "$label" client_weak client "$c" offered_weak "$cw"
    ranked "$label" client_weak client "$c" only_weak "$ow"
    ranked "$label" client_weak client "$c" no_fs "$nofs"
    ranked "$label" client_weak client "$c" lowest_max "$low"
    has "$label weak client $c csv" "$CSV" "^client_weak,$(re "$c"),[^,]*,[^,]*,$k,$no13,$(pct "$no13" "$k"),$low,$cw,$ow,$nofs,"
  done < <(T "SELECT cip, count(*), $(C "c13 = 0"), $(C "cweak = 1"), $(C "weak = 1 AND scw = 0"),
      $(C "fs = 0 AND sdf = 0"), (SELECT x.cmax FROM d x WHERE x.cip = d.cip AND x.hello
        ORDER BY CASE x.cmax WHEN 'SSLv2' THEN 1 WHEN 'SSLv3' THEN 2 WHEN 'TLSv1.0' THEN 3
          WHEN 'TLSv1.1' THEN 4 WHEN 'TLSv1.2' THEN 5 ELSE 6 END LIMIT 1) $WEAKC")

  # certificates (TLS <= 1.2 only), of every session with a ServerHello,
  # however its handshake ended
  certs12=$(T "SELECT count(*) FROM d WHERE ver IS NOT NULL AND ver <> 'TLSv1.3'")
  certs=$(T "SELECT count(*) FROM d WHERE sha IS NOT NULL")
  named=$(T "SELECT count(*) FROM d WHERE name_match IS NOT NULL")
  share "$label" certificates seen "$certs" "$certs12"
  share "$label" certificates expired "$(T "SELECT count(*) FROM d WHERE expired = 1")" "$certs"
  share "$label" certificates self_signed "$(T "SELECT count(*) FROM d WHERE self = 1")" "$certs"
  share "$label" certificates name_mismatch "$(T "SELECT count(*) FROM d WHERE name_match = 0")" "$named"
  for it in "seen|1" "expired|expired = 1" "self_signed|self = 1" "name_mismatch|name_match = 0"; do
    ranked "$label" certificates item "${it%%|*}" servers "$(T "SELECT count(DISTINCT srv) FROM d WHERE sha IS NOT NULL AND ${it#*|}")"
    ranked "$label" certificates item "${it%%|*}" certs "$(T "SELECT count(DISTINCT sha) FROM d WHERE sha IS NOT NULL AND ${it#*|}")"
  done
  for spec in "cert_keys|key|key_type || ' ' || key_bits" "cert_sig_algs|signature|sig" \
    "cert_issuers|issuer|coalesce(issuer_cn, '-') || coalesce(' / ' || issuer_org, '')"; do
    local sec=${spec%%|*} rest=${spec#*|}
    local kcol=${rest%%|*} expr=${rest#*|}
    eq "$label $sec listed" "$(rows "$J" "$sec")" "$(T "SELECT count(DISTINCT $expr) FROM d WHERE sha IS NOT NULL")"
    while IFS='|' read -r name k nc ns; do
      ranked "$label" "$sec" "$kcol" "$name" sessions "$k"
      ranked "$label" "$sec" "$kcol" "$name" sessions_pct "$(pct "$k" "$certs")"
      ranked "$label" "$sec" "$kcol" "$name" certs "$nc"
      ranked "$label" "$sec" "$kcol" "$name" servers "$ns"
      has "$label $sec $name text" "$TXT" "^  $(re "$name") +$k +$(pct "$k" "$certs")% +$nc +$ns$"
    done < <(T "SELECT $expr, count(*), count(DISTINCT sha), count(DISTINCT srv) FROM d
      WHERE sha IS NOT NULL GROUP BY 1")
  done

  # fingerprints: every one, with its sessions, clients and servers
  for fp in ja3 ja4 ja3s; do
    local whole
    whole=$(T "SELECT count(*) FROM d WHERE $fp IS NOT NULL")
    eq "$label $fp listed" "$(rows "$J" "$fp")" "$(T "SELECT count(DISTINCT $fp) FROM d")"
    eq "$label $fp most common" "$(js "$J" "\$.sections.$fp.rows[0].fingerprint")" \
      "$(T "SELECT $fp FROM d WHERE $fp IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")"
    while IFS='|' read -r f k nc ns; do
      ranked "$label" "$fp" fingerprint "$f" sessions "$k"
      ranked "$label" "$fp" fingerprint "$f" sessions_pct "$(pct "$k" "$whole")"
      ranked "$label" "$fp" fingerprint "$f" clients "$nc"
      ranked "$label" "$fp" fingerprint "$f" servers "$ns"
    done < <(T "SELECT $fp, count(*), count(DISTINCT cip), count(DISTINCT srv) FROM d
      WHERE $fp IS NOT NULL GROUP BY 1")
    while IFS='|' read -r f k nc ns; do
      has "$label $fp $f csv" "$CSV" "^$fp,$f,$k,$(pct "$k" "$whole"),$nc,$ns$"
      has "$label $fp $f text" "$TXT" "^  $f +$k +$(pct "$k" "$whole")% +$nc +$ns$"
      has "$label $fp $f html" "$HTML" "<td class=\"w\"[^>]*>$f</td><td class=\"n\"[^>]*>$k</td>"
    done < <(T "SELECT $fp, count(*), count(DISTINCT cip), count(DISTINCT srv) FROM d
      WHERE $fp IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3")
  done

  # per server: the weakest crypto negotiated, its faults, handshakes, certificate
  while IFS='|' read -r s worst w nofs ref fail nc exp self mis distinct; do
    ranked "$label" servers server "$s" worst_crypto "$worst"
    ranked "$label" servers server "$s" chose_weak "$w"
    ranked "$label" servers server "$s" declined_fs "$nofs"
    ranked "$label" servers server "$s" tls_refused "$ref"
    ranked "$label" servers server "$s" tls_failed "$fail"
    ranked "$label" servers server "$s" cert_sessions "$nc"
    ranked "$label" servers server "$s" cert_expired "$exp"
    ranked "$label" servers server "$s" cert_self_signed "$self"
    ranked "$label" servers server "$s" cert_name_mismatch "$mis"
    ranked "$label" servers server "$s" certificates "$distinct"
  done < <(T "SELECT srv, (SELECT x.quality FROM d x WHERE x.srv = d.srv AND x.quality IS NOT NULL
        ORDER BY CASE x.quality WHEN 'weak' THEN 0 WHEN 'no FS' THEN 1 WHEN 'CBC' THEN 2 ELSE 3 END
        LIMIT 1), $(C "scw = 1"), $(C "sdf = 1"), $(C "outcome = 'refused'"),
      $(C "outcome = 'failed'"), $(C "sha IS NOT NULL"), $(C "expired = 1"), $(C "self = 1"),
      $(C "name_match = 0"), count(DISTINCT sha) FROM d GROUP BY srv")
}

# ---- the seven TLS-depth captures, then all 29 --------------------------------

ddb=$tmp/depth.db
cap "$ddb" "${depth[@]}"
truth_table "$tmp/truth-depth.db" "${depth[@]}"
normalize "$tmp/truth-depth.db"
eq "depth sessions" "$(sql "$ddb" 'SELECT count(*) FROM sessions')" \
  "$(sql "$tmp/truth-depth.db" 'SELECT count(*) FROM n')"
check depth "$ddb" "$tmp/truth-depth.db"

# the documented facts themselves, so a wrong derivation cannot hide
J=$tmp/depth.json
TXT=$("$bin" report --db "$ddb")
eq "mx9 chose NULL_SHA from 89 suites" "$(js "$J" '$.sections.server_blame.rows[0].server')" 127.0.0.9:25
eq "mx9's suite" "$(row "$J" server_blame server 127.0.0.9:25 suites)" "TLS_ECDHE_RSA_WITH_NULL_SHA 1"
eq "mx3 declined FS (SSLv2 hello)" "$(row "$J" server_blame server 127.0.0.3:25 declined_fs)" 1
eq "anon DH: the client's doing" "$(row "$J" blame_summary item client_offered_only_weak sessions)" 1
eq "DH 1024" "$(row "$J" kx_groups group 'DHE, 1024-bit prime' sessions)" 1
eq "mx8 expired" "$(row "$J" servers server 127.0.0.8:25 cert_expired)" 1
eq "mx8 name mismatch" "$(row "$J" servers server 127.0.0.8:25 cert_name_mismatch)" 1
eq "mx8 certificate" "$(row "$J" servers server 127.0.0.8:25 certificate)" \
  "expired.smtptls.test (issuer smtptls test CA), RSA 2048, ecdsa-with-SHA256; expired in 1 of 1; name not matching the greeting in 1 of 1"
eq "mx7 worst" "$(row "$J" servers server 127.0.0.7:25 worst_crypto)" AEAD
eq "mx7 refused" "$(row "$J" servers server 127.0.0.7:25 handshakes)" "refused 1"
eq "EC 256 key" "$(row "$J" cert_keys key 'EC 256' sessions)" 1
eq "protocol_version from the server" "$(row "$J" tls_alerts alert protocol_version sent_by)" server
eq "SSLv3 client lowest" "$(row "$J" client_weak client 127.0.0.3 lowest_max)" SSLv3
judged=$(sql "$tmp/truth-depth.db" "SELECT count(*) FROM d WHERE scw IS NOT NULL")
has "server's fault in the headline" "$TXT" "^  server's fault +$(pct 1 "$judged")%   1 of $judged sessions with both hellos seen$"
has "server's fault per server" "$TXT" "^      server's fault: chose a weak suite over a stronger offer in 1 \(of 1"

adb=$tmp/all.db
cap "$adb" "${all[@]}"
truth_table "$tmp/truth-all.db" "${all[@]}"
normalize "$tmp/truth-all.db"
eq "all sessions" "$(sql "$adb" 'SELECT count(*) FROM sessions')" "$(sql "$tmp/truth-all.db" 'SELECT count(*) FROM n')"
check all "$adb" "$tmp/truth-all.db"

# ---- --top limits the fingerprint lists; a filter narrows every section -----------
"$bin" report --db "$adb" --format json --top 2 >"$tmp/top.json"
eq "--top 2: JA3 rows" "$(rows "$tmp/top.json" ja3)" 2
eq "--top 2: JA3 more" "$(js "$tmp/top.json" '$.sections.ja3.more')" \
  "$(( $(sql "$tmp/truth-all.db" 'SELECT count(DISTINCT ja3) FROM n') - 2 ))"
"$bin" report --db "$adb" --format json --server 127.0.0.9 >"$tmp/mx9.json"
eq "--server mx9: encrypted" "$(row "$tmp/mx9.json" crypto_quality item weak_cipher of)" 1
eq "--server mx9: server's fault" "$(row "$tmp/mx9.json" blame_summary item server_chose_weak sessions)" 1
eq "--server mx9: no other server" "$(rows "$tmp/mx9.json" server_blame)" 1

# ---- export still writes every column, the TLS-depth ones included -----------------
"$bin" export --db "$ddb" --format csv >"$tmp/x.csv"
eq "export header = columns" "$(head -1 "$tmp/x.csv")" \
  "$(sql "$ddb" "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('sessions') ORDER BY cid)")"
has "export has the depth columns" "$(head -1 "$tmp/x.csv")" 'server_chose_weak,server_declined_fs,ja3,ja3s,ja4,cert_subject_cn'
"$bin" export --db "$ddb" --format jsonl >"$tmp/x.jsonl"
eq "export jsonl: mx9's weak choice" \
  "$(grep -c '"server_ip":"127.0.0.9".*"server_chose_weak":1' "$tmp/x.jsonl")" 1

finish depth

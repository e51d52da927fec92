#!/bin/bash
# The HTML report as people see it, in headless Chromium driven through the
# DevTools protocol (tests/report/browser.py): two databases, each rendered
# with `report --format html` and measured at 1,400 px and 400 px wide.
#   clean: TLS 1.3 only (STARTTLS, implicit TLS, submission, IPv6, SLL2);
#   weak:  most recorded captures, among them cipher-suites.pcap (a NULL
#          suite, an anonymous one, static RSA), TLS 1.0/1.1, refused
#          handshakes, mail and AUTH in clear.
# Checks at each width: no table wider than its container and no cell
# clipped; the page does not scroll sideways; every link of the contents
# resolves to an element id and every section is listed once; no text
# (chart labels included) under 11 px; the page's Content-Security-Policy
# still stops an inline script while DevTools evaluates the measuring one.
# Then: the clean report has no red card (all green but the neutral count);
# the weak one colours weak suites, NULL ciphers and TLS 1.0 red.
# SMTPTLS_SCREENSHOTS=DIR copies the screenshots there (256-colour PNG):
# tests/report/screenshots/ holds the ones last looked at.
# Skipped (77) without chromium or python3-websocket (Debian packages).
# usage: browser.sh SMTPTLS DATA_DIR
set -u
bin=$(realpath "$1")
data=$2
here=$(cd "$(dirname "$0")" && pwd)
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "skipped: chromium not installed"; exit 77; }
py=""
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import websocket' 2>/dev/null; then py=$p; break; fi
done
[ -n "$py" ] || { echo "skipped: python3-websocket not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/lib.sh"

cap "$tmp/clean.db" starttls-tls13.pcap implicit-465.pcap ipv6.pcap submission-587.pcap \
  any-sll2.pcap
cap "$tmp/weak.db" mixed.pcap cipher-suites.pcap starttls-tls10.pcap starttls-tls11.pcap \
  refused-handshake.pcap legacy-hellos.pcap cleartext-auth.pcap cert-expired.pcap \
  cert-ecdsa.pcap kx-groups.pcap hrr.pcap resumption12.pcap starttls-no-hello.pcap \
  netem-loss.pcap submission-587.pcap bdat.pcap
eq "weak: NULL suite stored" "$(sql "$tmp/weak.db" "SELECT count(*) FROM sessions
  WHERE cipher_name = 'TLS_ECDHE_RSA_WITH_NULL_SHA' AND weak_cipher = 1")" 1
eq "clean: TLS 1.3 only" "$(sql "$tmp/clean.db" "SELECT group_concat(DISTINCT tls_version)
  FROM sessions")" TLSv1.3

palette=""
[ -n "${SMTPTLS_SCREENSHOTS:-}" ] && palette=--palette
for r in clean weak; do
  (cd "$tmp" && "$bin" report --db "$r.db" --format html >"$r.html") # the page names "weak.db"
  eq "$r: html exit" "$?" 0
  if ! "$py" "$here/browser.py" $palette "$browser" "$tmp/$r.html" "$tmp/$r" 1400 400 \
      >"$tmp/$r.json" 2>"$tmp/$r.err"; then
    echo "FAIL: $r: browser.py"; sed 's/^/    /' "$tmp/$r.err" | tail -5
    fails=$((fails + 1))
  fi
done

# q FILE WIDTH EXPR: a Python expression over the measurement m of FILE at WIDTH.
q() {
  "$py" -c 'import json, sys
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m["width"] == int(sys.argv[2]):
        print(eval(sys.argv[3]))' "$1" "$2" "$3"
}

for r in clean weak; do
  for w in 1400 400; do
    j=$tmp/$r.json
    s="$r $w px"
    eq "$s: measured" "$(q "$j" "$w" 'm["evaluate"]')" True
    eq "$s: CSP blocks an inline script" "$(q "$j" "$w" 'm["scriptRan"]')" False
    eq "$s: page does not scroll sideways" "$(q "$j" "$w" 'm["pageScroll"] <= 0')" True
    eq "$s: tables fit their containers" \
      "$(q "$j" "$w" '[t["section"] for t in m["tables"] if t["over"] > 1 or t["right"] > 1]')" "[]"
    eq "$s: no cell clipped" "$(q "$j" "$w" '[(c["section"], c["text"]) for c in m["cells"]]')" "[]"
    eq "$s: tables measured" "$(q "$j" "$w" 'len(m["tables"]) >= 20')" True
    eq "$s: contents links resolve" "$(q "$j" "$w" 'm["missing"]')" "[]"
    eq "$s: every section in the contents" \
      "$(q "$j" "$w" 'sorted(set(m["sections"]) - set(m["toc"]))')" "[]"
    eq "$s: each section once" \
      "$(q "$j" "$w" 'len(m["sections"]) == len(set(m["sections"])) and m["h3"] == len(m["sections"]) - 1')" True
    eq "$s: no text under 11 px" "$(q "$j" "$w" 'm["smallText"][:3]')" "[]"
    eq "$s: screenshot" "$(head -c 8 "$tmp/$r-$w.png" | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
  done
done

# Colours: the computed ones, not only the class names.
red='rgb(207, 58, 48)'
green='rgb(43, 154, 94)'
for w in 1400 400; do
  c=$tmp/clean.json
  eq "clean $w px: no red card" "$(q "$c" "$w" '[x["id"] for x in m["cards"] if "bad" in x["cls"] or x["border"] == "'"$red"'"]')" "[]"
  eq "clean $w px: cards green" "$(q "$c" "$w" 'sorted(set((x["cls"], x["border"]) for x in m["cards"] if x["id"] != "card-sessions"))')" \
    "[('card good', '$green')]"
  eq "clean $w px: nothing rated bad" "$(q "$c" "$w" '[(x["section"], x["key"]) for x in m["rated"] if x["rate"] in ("bad", "warn")]')" "[]"
  eq "clean $w px: TLS 1.3 green" "$(q "$c" "$w" '[(x["key"], x["color"]) for x in m["rated"] if x["section"] == "tls_versions" and x["tag"] == "div"]')" \
    "[('TLSv1.3', '$green')]"
  k=$tmp/weak.json
  # the bar of a row (its table, folded under the chart, has the row too)
  rated() { q "$k" "$w" '[(x["rate"], x["color"], x["fillWidth"] > 0) for x in m["rated"] if x["section"] == "'"$1"'" and x["key"] == "'"$2"'" and x["tag"] == "div"]'; }
  eq "weak $w px: weak class bar red" "$(rated cipher_classes weak)" "[('bad', '$red', True)]"
  eq "weak $w px: NULL suite bar red" "$(rated ciphers TLS_ECDHE_RSA_WITH_NULL_SHA)" "[('bad', '$red', True)]"
  eq "weak $w px: anon suite bar red" "$(rated ciphers TLS_DH_anon_WITH_AES_128_GCM_SHA256)" "[('bad', '$red', True)]"
  eq "weak $w px: TLS 1.0 bar red" "$(rated tls_versions TLSv1.0)" "[('bad', '$red', True)]"
  eq "weak $w px: AEAD class bar green" "$(rated cipher_classes forward_secret_aead)" "[('good', '$green', True)]"
  eq "weak $w px: weak cipher row red" "$(q "$k" "$w" '[(x["tag"], x["color"]) for x in m["rated"] if x["section"] == "crypto_quality" and x["key"] == "weak_cipher"]')" \
    "[('tr', '$red')]"
  eq "weak $w px: weak cipher card red" "$(q "$k" "$w" '[(x["cls"], x["border"]) for x in m["cards"] if x["id"] == "card-weak"]')" \
    "[('card bad', '$red')]"
  eq "weak $w px: server chose weak card red" "$(q "$k" "$w" '[x["cls"] for x in m["cards"] if x["id"] == "card-server-weak"]')" \
    "['card bad']"
done

if [ -n "${SMTPTLS_SCREENSHOTS:-}" ]; then
  mkdir -p "$SMTPTLS_SCREENSHOTS"
  for r in clean weak; do
    cp "$tmp/$r-1400.png" "$tmp/$r-400.png" "$SMTPTLS_SCREENSHOTS"/
  done
fi
finish browser

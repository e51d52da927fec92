#!/bin/bash
# The HTML report in headless Chromium: it renders (a screenshot with
# content), it needs nothing from the network, and strings from the wire
# stay text. The hostile strings arrive the way an attacker would send
# them: no-starttls.pcap with the client's EHLO name overwritten as
# "<script>xx=1</script>" and the server's banner name as
# "<b>x</b><i>y</i>" (same lengths, so the TCP stream stays intact);
# starttls-tls12.pcap's certificate with its subject and issuer CN and
# first DNS name "mx.smtptls.test" overwritten as "<svg onload=1>x" (the
# certificate still parses: nothing verifies its signature); an SNI with an
# <img onerror> and JA3/JA4/JA3S strings with markup are written into the
# database directly.
# Skipped (77) without chromium (Debian package chromium).
# usage: html.sh SMTPTLS DATA_DIR
set -u
bin=$1
data=$2
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "skipped: chromium not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lib.sh"

perl -0777 -pe 's/client07\.smtptls\.test/<script>xx=1<\/script>/g; s/mx2\.smtptls\.test/<b>x<\/b><i>y<\/i>/g' \
  "$data/no-starttls.pcap" >"$tmp/hostile.pcap"
perl -0777 -pe 's/mx\.smtptls\.test/<svg onload=1>x/g' "$data/starttls-tls12.pcap" >"$tmp/hostile-cert.pcap"
db=$tmp/h.db
cap "$db" starttls-tls13.pcap implicit-465.pcap offered-not-used.pcap \
  refused-454.pcap "$tmp/hostile.pcap" "$tmp/hostile-cert.pcap"
# strings from the wire put where no capture has them; the rows are in
# session_rows (sessions is the view that names their codes)
sqlite3 "$db" "UPDATE session_rows SET sni = '\"><img src=x onerror=alert(1)>' WHERE client_port = 57610;"
sqlite3 "$db" "UPDATE session_rows SET ja3 = '<script>ja3=1</script>', ja4 = '<style>*{}</style>',
  ja3s = '<a href=x>s</a>' WHERE client_port = 57612;"
edited "$db"
eq "hostile certificate stored" "$(sql "$db" "SELECT cert_subject_cn || '|' || cert_issuer_cn || '|' ||
  cert_self_signed FROM sessions WHERE client_port = 57612")" '<svg onload=1>x|<svg onload=1>x|1'

eq "hostile EHLO stored" "$(sql "$db" "SELECT count(*) FROM sessions WHERE ehlo_name = '<script>xx=1</script>'")" 1
eq "hostile banner stored" "$(sql "$db" "SELECT count(*) FROM sessions WHERE server_name = '<b>x</b><i>y</i>'")" 1

page=$tmp/report.html
"$bin" report --db "$db" --format html >"$page"
eq "html exit" "$?" 0
html=$(cat "$page")
hasnt "no script element" "$html" '<script'
hasnt "no img element" "$html" '<img'
hasnt "no injected markup" "$html" '<b>x</b>'
has "EHLO name as text" "$html" '&lt;script&gt;xx=1&lt;/script&gt;'
has "banner as text" "$html" '&lt;b&gt;x&lt;/b&gt;&lt;i&gt;y&lt;/i&gt;'
has "SNI as text" "$html" '&quot;&gt;&lt;img src=x onerror=alert\(1\)&gt;'
hasnt "no injected svg" "$html" '<svg onload'
hasnt "no style element" "$html" '<style>\*'
hasnt "no injected link" "$html" '<a href=x'
eq "links only within the page" "$(grep -oE '<a [^>]*>' "$page" | grep -v '^<a href="#[a-z0-9_-]*">$' | head -3)" ""
has "certificate issuer as text" "$html" \
  '&lt;svg onload=1&gt;x \(issuer &lt;svg onload=1&gt;x\), RSA 2048'
has "certificate issuers table" "$html" \
  '<td class="w" data-l="issuer">&lt;svg onload=1&gt;x</td><td class="n" data-l="sessions">1</td>'
has "JA3 as text" "$html" '<td class="w" data-l="fingerprint">&lt;script&gt;ja3=1&lt;/script&gt;</td>'
has "JA4 as text" "$html" '&lt;style&gt;\*\{\}&lt;/style&gt;'
has "JA3S as text" "$html" '&lt;a href=x&gt;s&lt;/a&gt;'
has "no fetching" "$html" "Content-Security-Policy\" content=\"default-src 'none'"
eq "no external address" "$(grep -oE '(https?:)?//[^" ]+' "$page" | grep -v '^http://www.w3.org/2000/svg$' | head -3)" ""
has "headline" "$html" '<div class="big">50\.0%</div>'
has "series chart" "$(grep -c '<svg class="plot" xmlns' "$page")" '^2$'
has "bar charts" "$(grep -c '<div class="bars">' "$page")" '^[5-9]$'

# headless Chromium: the DOM it builds, and a screenshot
run_browser() {
  timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --disable-extensions \
    --user-data-dir="$tmp/profile-$1" "${@:2}" "file://$page" 2>>"$tmp/browser.log"
}
dom=$(run_browser dom --dump-dom)
eq "dump-dom exit" "$?" 0
hasnt "DOM: no script element" "$dom" '<script'
hasnt "DOM: no img element" "$dom" '<img'
has "DOM: EHLO name is text" "$dom" '&lt;script&gt;xx=1&lt;/script&gt;'
hasnt "DOM: no injected svg" "$dom" '<svg onload'
hasnt "DOM: no injected link" "$dom" '<a href="?x'
eq "DOM: links only within the page" "$(grep -oE '<a [^>]*>' <<<"$dom" | grep -v '^<a href="#[a-z0-9_-]*">$' | head -3)" ""
has "DOM: certificate name is text" "$dom" '&lt;svg onload=1&gt;x \(issuer'
has "DOM: JA3 is text" "$dom" '&lt;script&gt;ja3=1&lt;/script&gt;'
has "DOM: title unchanged" "$dom" "<title>smtptls report: $db</title>"
has "DOM: charts" "$dom" '<svg'
has "DOM: servers table" "$dom" '<td data-l="server">127\.0\.0\.2:25</td>'
run_browser shot --screenshot="$tmp/shot.png" --window-size=1200,1600 >/dev/null
eq "screenshot written" "$(head -c 8 "$tmp/shot.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
n=$((n + 1))
if [ "$size" -lt 30000 ]; then
  echo "FAIL: screenshot is $size bytes: blank page?"
  fails=$((fails + 1))
fi
[ -n "${SMTPTLS_KEEP_SCREENSHOT:-}" ] && cp "$tmp/shot.png" "$page" "$SMTPTLS_KEEP_SCREENSHOT"/
[ "$fails" -eq 0 ] || sed 's/^/    browser: /' "$tmp/browser.log" | tail -5

finish html

#!/bin/bash
# Fill in the TLSA data from pki/, make DNSSEC keys, sign the zones bottom-up
# (domains, then test. with their DS records, then the root with test.'s DS),
# and write unbound's trust anchor (the root KSK's DS) and root hints.
# Output: $R/dns/ (zones, keys, root.ds, root.hints).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=${R:-/var/tmp/dnsworld}
D=$R/dns
rm -rf "$D"; mkdir -p "$D/keys"
cd "$D"

spki_sha256() { openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1; }
key_spki_sha256() { openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1; }
cert_sha256() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

fill_tlsa() {  # zonefile: replace @TLSA:kind:name@ tokens
    local f=$1 tok kind name val
    for tok in $(grep -o '@TLSA:[^@]*@' "$f" || true); do
        kind=$(echo "$tok" | cut -d: -f2); name=$(echo "$tok" | cut -d: -f3 | tr -d @)
        case $kind in
            311) val=$(spki_sha256 "$HERE/pki/$name.pem") ;;
            301) val=$(cert_sha256 "$HERE/pki/$name.pem") ;;
            201) val=$(cert_sha256 "$HERE/pki/$name.pem") ;;
            311key) val=$(key_spki_sha256 "$HERE/pki/$name.key") ;;
        esac
        sed -i "s|$tok|$val|" "$f"
    done
}

# sign ZONE ALG [nsec3]: KSK + ZSK, zone file $ZONE.zone -> $ZONE.zone.signed, DS -> $ZONE.ds
sign() {
    local z=$1 alg=$2 nsec3=${3:-} f=$1.zone ksk zsk bits=""
    [ "$z" = . ] && f=root.zone
    [ "$alg" = RSASHA256 ] && bits="-b 2048"
    (cd keys && ldns-keygen -a "$alg" $bits -k "$z" > "../$f.ksk" && ldns-keygen -a "$alg" $bits "$z" > "../$f.zsk")
    ksk=keys/$(cat "$f.ksk"); zsk=keys/$(cat "$f.zsk")
    if [ -n "$nsec3" ]; then
        ldns-signzone -n -a 1 -t 0 -o "$z" "$f" "$ksk" "$zsk"
    else
        ldns-signzone -o "$z" "$f" "$ksk" "$zsk"
    fi
    ldns-key2ds -n -2 "$ksk.key" | sed 's/[[:space:]]\+/ /g' > "$f.ds"
    rm -f "$f.ksk" "$f.zsk"
}

fill_ds() {  # zonefile: replace @DS:name@ by the child's DS rdata
    local f=$1 tok name
    for tok in $(grep -o '@DS:[^@]*@' "$f" || true); do
        name=$(echo "$tok" | cut -d: -f2 | tr -d @)
        sed -i "s|$tok|$(cut -d' ' -f5- "$name.zone.ds")|" "$f"
    done
}

SIGNED_DOMAINS="dane.test daneta.test sts.test both.test plain.test badtlsa.test strip.test notls.test insecure.test"
UNSIGNED="unsigned.test _tcp.mx.insecure.test"
for z in $SIGNED_DOMAINS $UNSIGNED; do
    cp "$HERE/zones/$z.zone" .; fill_tlsa "$z.zone"
done
for z in $SIGNED_DOMAINS; do sign "$z" ECDSAP256SHA256; done
for z in $UNSIGNED; do { echo "\$ORIGIN $z."; cat "$z.zone"; } > "$z.zone.signed"; done   # served unsigned
cp "$HERE/zones/test.zone" .; fill_ds test.zone; sign test ECDSAP256SHA256 nsec3
cp "$HERE/zones/root.zone" .; fill_ds root.zone; sign . RSASHA256
cp root.zone.ds root.ds                            # unbound trust-anchor-file
cat > root.hints <<'EOT'
.                        3600000      NS    a.root.test.
a.root.test.             3600000      A     198.51.100.1
EOT
for f in *.signed; do ldns-read-zone "$f" >/dev/null; done
echo "trust anchor: $(cat root.ds)"

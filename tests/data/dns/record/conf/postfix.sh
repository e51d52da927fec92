#!/bin/bash
# Lay out the four Postfix instances of the DNS world in /var/tmp/dnsworld/pf-NAME
# (etc/ = config_directory, queue/, data/) from conf/.  Does not start them.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
R=/var/tmp/dnsworld
for n in s1 s2 s3 rcv; do
    d=$R/pf-$n
    rm -rf "$d"; mkdir -p "$d/etc" "$d/queue" "$d/data"
    if [ $n = rcv ]; then
        cp "$HERE/postfix-rcv/main.cf" "$d/etc/main.cf"
        cat "$HERE/postfix-rcv/master.cf" "$HERE/postfix-services.cf" > "$d/etc/master.cf"
    else
        cat "$HERE/postfix-sender-common.cf" "$HERE/postfix-$n/main.cf" > "$d/etc/main.cf"
        cat "$HERE/postfix-sender-master.cf" "$HERE/postfix-services.cf" > "$d/etc/master.cf"
    fi
    echo "config_directory = $d/etc" >> "$d/etc/main.cf"
    chown -R postfix "$d/data"
    postfix -c "$d/etc" set-permissions >/dev/null 2>&1 || true
done

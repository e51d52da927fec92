# Helpers sourced by record.sh.  A capture is tcpdump on links-r0 inside
# links-rcv (the mirror port of the link); its evidence log keeps the command
# lines and the new lines of every MTA's own log written while it ran.
RUN=${RUN:-/var/tmp/links-run}
SW=${SW:-/var/tmp/links-sw}
HERE=${HERE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
OUT=${OUT:-$(cd "$HERE/.." && pwd)}
LOGDIR=$OUT/logs
SND=links-snd RCV=links-rcv
mkdir -p "$LOGDIR"

# the MTAs' own logs (label path)
MTA_LOGS=(
  "postfix-receiver(pf-rcv) $RUN/pf-rcv/maillog"
  "postfix-sender(pf-snd) $RUN/pf-snd/maillog"
  "exim-receiver(exim-rcv) $RUN/exim-rcv/log/mainlog"
  "exim-sender(exim-snd) $RUN/exim-snd/log/mainlog"
  "opensmtpd-receiver(os-rcv) $RUN/os-rcv/smtpd.log"
  "opensmtpd-sender(os-snd) $RUN/os-snd/smtpd.log"
  "scripted-server $RUN/scripted.log"
)

# cap_start NAME [BPF]  -- tcpdump on the mirror port, wait until it listens
cap_start() {
    CAP_NAME=$1; local filter=${2:-}
    CAP_LOG=$LOGDIR/$CAP_NAME.log
    CAP_ERR=$(mktemp)
    declare -gA CAP_OFF=()
    local e label path
    for e in "${MTA_LOGS[@]}"; do
        label=${e%% *}; path=${e#* }
        touch "$path"; CAP_OFF[$label]=$(stat -c %s "$path")
    done
    : > "$CAP_LOG"
    echo "### capture $CAP_NAME: ip netns exec $RCV tcpdump -i links-r0 -U -s 262144 -w $CAP_NAME '$filter'  ($(date -u +%FT%T.%3NZ))" >> "$CAP_LOG"
    # shellcheck disable=SC2086
    ip netns exec $RCV tcpdump -i links-r0 -Z root -U -s 262144 -w "$OUT/$CAP_NAME" $filter 2>"$CAP_ERR" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q "listening on" "$CAP_ERR" && break; sleep 0.1; done
    grep -q "listening on" "$CAP_ERR" || { echo "tcpdump did not start" >&2; cat "$CAP_ERR" >&2; return 1; }
}

# idle  -- wait until every sender's queue is empty and no TCP connection is
# open on the link (OpenSMTPD keeps one open 10 s for reuse), at most 180 s
idle() {
    local i
    for i in $(seq 360); do
        sleep 0.5
        ip netns exec $SND postqueue -c "$RUN/pf-snd/etc" -j 2>/dev/null | grep -q . && continue
        [ "$(ip netns exec $SND "$SW/exim/usr/sbin/exim4" -C "$RUN/exim-snd/exim.conf" -bpc 2>/dev/null || echo 0)" = 0 ] || continue
        [ -n "$(find "$RUN/os-snd/spool/smtpd/queue" -type f 2>/dev/null)" ] && continue
        ip netns exec $RCV ss -Htn state established state fin-wait-1 state fin-wait-2 state close-wait \
            state last-ack state syn-recv 2>/dev/null | grep -q . && continue
        return 0
    done
    echo "idle: still busy after 180 s" >&2
}

# cap_stop  -- stop tcpdump a second after the link went idle, keep the logs
cap_stop() {
    idle; sleep 1.5
    kill -INT "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true
    cat "$CAP_ERR" >> "$CAP_LOG"; rm -f "$CAP_ERR"
    sleep 0.5
    local e label path
    for e in "${MTA_LOGS[@]}"; do
        label=${e%% *}; path=${e#* }
        if [ "$(stat -c %s "$path")" -gt "${CAP_OFF[$label]}" ]; then
            echo "### log: $label $path (new lines)" >> "$CAP_LOG"
            tail -c +$((CAP_OFF[$label] + 1)) "$path" | grep -vE '^(debug: |setup_|mta: debug|mta: timeout for session hangon|.*exim user lost privilege)' >> "$CAP_LOG"
        fi
    done
    echo "### end of capture $CAP_NAME ($(date -u +%FT%T.%3NZ))" >> "$CAP_LOG"
}

# note TEXT  -- free text into the evidence log
note() { echo "### note: $*" >> "$CAP_LOG"; }

# client DESCRIPTION CMD...  -- run a client in links-snd, keep its output
client() {
    local what=$1; shift
    printf '### client (%s): %s\n' "$what" "$*" >> "$CAP_LOG"
    ip netns exec $SND "$@" >> "$CAP_LOG" 2>&1
    echo "### client exit status: $?" >> "$CAP_LOG"
}

# message injection (on the sender's loopback, not on the link)
# pf_send RCPT... / os_send RCPT... / ex_send RCPT...   (one message each call)
BODY_NOTE="links test message"
pf_send() {
    printf '### inject into Postfix sender (127.0.0.1:10025): rcpt %s\n' "$*" >> "$CAP_LOG"
    ip netns exec $SND swaks -s 127.0.0.1 -p 10025 -h inject.links.test -f "sender@out1.links.test" \
        --to "$(IFS=,; echo "$*")" --header "Subject: $BODY_NOTE" --body "$BODY_NOTE to $*" >/dev/null 2>&1
}
os_send() {
    printf '### inject into OpenSMTPD sender (127.0.0.1:10027): rcpt %s\n' "$*" >> "$CAP_LOG"
    ip netns exec $SND swaks -s 127.0.0.1 -p 10027 -h inject.links.test -f "sender@out7.links.test" \
        --to "$(IFS=,; echo "$*")" --header "Subject: $BODY_NOTE" --body "$BODY_NOTE to $*" >/dev/null 2>&1
}
ex_send() {  # background delivery (-odb), so several run at once
    printf '### inject into Exim sender (exim -odb): rcpt %s\n' "$*" >> "$CAP_LOG"
    printf 'From: sender@out6.links.test\nTo: %s\nSubject: %s\n\n%s to %s\n' "$*" "$BODY_NOTE" "$BODY_NOTE" "$*" |
        ip netns exec $SND "$SW/exim/usr/sbin/exim4" -C "$RUN/exim-snd/exim.conf" -odb -f sender@out6.links.test -- "$@"
}

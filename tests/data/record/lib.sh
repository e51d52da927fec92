# Helpers sourced by the scenario scripts.  Capture files go to $DATA, the raw
# evidence (client output + the server's own log lines) to $DATA/logs/<capture>.log.
DATA=${DATA:-/work/main/tests/data}
REC=$DATA/record
LOGDIR=$DATA/logs
PFLOG=/var/log/postfix.log
FILTER='tcp port 25 or tcp port 465 or tcp port 587'
mkdir -p "$LOGDIR"

# cap_start NAME [IFACE]   -- start tcpdump and wait until it is listening
cap_start() {
    CAP_NAME=$1; local ifc=${2:-lo}
    CAP_LOG=$LOGDIR/$CAP_NAME.log
    CAP_PF_START=$(wc -l < "$PFLOG")
    CAP_ERR=$(mktemp)
    : > "$CAP_LOG"
    echo "### capture $CAP_NAME: tcpdump -i $ifc -U -w $CAP_NAME '$FILTER'  ($(date -u +%FT%TZ))" >> "$CAP_LOG"
    tcpdump -i "$ifc" -Z root -U -s 262144 -w "$DATA/$CAP_NAME" "$FILTER" 2>"$CAP_ERR" &
    CAP_PID=$!
    for _ in $(seq 100); do grep -q "listening on" "$CAP_ERR" && break; sleep 0.1; done
    grep -q "listening on" "$CAP_ERR" || { echo "tcpdump did not start" >&2; cat "$CAP_ERR" >&2; return 1; }
}

# cap_stop  -- stop tcpdump a second after the last client, save Postfix's lines
cap_stop() {
    sleep 1.5
    kill -INT "$CAP_PID"; wait "$CAP_PID" 2>/dev/null || true
    cat "$CAP_ERR" >> "$CAP_LOG"; rm -f "$CAP_ERR"
    sleep 0.5
    echo "### server log: new lines of $PFLOG (Postfix 3.7, smtpd_tls_loglevel=1, smtpd_client_port_logging=yes)" >> "$CAP_LOG"
    tail -n +$((CAP_PF_START + 1)) "$PFLOG" | grep -E 'postfix/(smtpd|smtps|submission)/?' >> "$CAP_LOG" || true
}

# client DESCRIPTION CMD...  -- run a client, keep its output (stdout+stderr) in the log
client() {
    local what=$1; shift
    printf '### client (%s): %s\n' "$what" "$*" >> "$CAP_LOG"
    "$@" >> "$CAP_LOG" 2>&1
    local rc=$?
    echo "### client exit status: $rc" >> "$CAP_LOG"
    return 0
}

# note TEXT -- free text into the evidence log
note() { echo "### note: $*" >> "$CAP_LOG"; }

# feed LINE... -- print SMTP lines slowly (for openssl s_client -ign_eof), CRLF terminated
feed() {
    sleep 1.5
    for l in "$@"; do
        if [ "$l" = "<pause>" ]; then sleep 1; continue; fi
        printf '%s\r\n' "$l"; sleep 0.4
    done
    sleep 1
}

# one message for feed(): EHLO .. QUIT after STARTTLS (s_client already sent its own EHLO)
msg_lines() {
    local ehlo=$1 from=$2 to=$3 subj=$4
    echo "EHLO $ehlo"; echo "MAIL FROM:<$from>"; echo "RCPT TO:<$to>"; echo "DATA"
    echo "Subject: $subj"; echo "From: <$from>"; echo "To: <$to>"; echo ""; echo "smtptls test message: $subj"; echo "."
    echo "QUIT"
}

FROM=sender@smtptls.test
TO=root@localhost
SWAKS=(swaks -f "$FROM" -t "$TO")

# s_client_msg ADDR:PORT EHLO SUBJECT [openssl s_client options...]
# STARTTLS with openssl s_client, then one message through the TLS session.
s_client_msg() {
    local target=$1 ehlo=$2 subj=$3; shift 3
    mapfile -t lines < <(msg_lines "$ehlo" "$FROM" "$TO" "$subj")
    printf '### lines written slowly to s_client stdin after the handshake (CRLF):\n'; printf '###   %s\n' "${lines[@]}"
    feed "${lines[@]}" | openssl s_client -starttls smtp -connect "$target" -name "$ehlo" -ign_eof -nocommands "$@"
}

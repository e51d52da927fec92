#!/usr/bin/env python3
"""Builds tests/data/damaged/truth.json: for each capture derive.sh made from
a recording in tests/data, what its remaining bytes prove, NULL for the rest.

The recording's own truth (tests/data/truth.json, from the MTAs' and clients'
logs) says what happened; this script decides which of it the damaged
capture still shows. It reads the original capture with tshark (every TCP
segment: direction, frame, payload), applies the damage as a model (which
frames are left, how many payload bytes of each were captured), checks the
model against the damaged file (its frames and captured lengths), and then
keeps a fact only where the bytes that carry it are there:

  server_name   the greeting is captured up to the space after the name
  ehlo_name     the EHLO line is captured up to the end of the name
  starttls_offered  1 if the EHLO reply's STARTTLS line was captured, the
                recording's value if the whole reply was, else NULL
  starttls_reply    the code of the reply to STARTTLS; without the client's
                side only a 220 tells which command it answered
  starttls_sent, cleartext_auth, plaintext_transactions (contract C2)
                the recording's values if every client segment before TLS
                was captured whole (and, mid-stream, from the greeting on);
                else 1 where STARTTLS / AUTH was captured, NULL otherwise
  client_hello  1 if a ClientHello's record and message type were captured
  the ClientHello's facts (sni, ja3, ja4, the offer) only if it was captured
  whole; the ServerHello's (version, suite, group, judgement, ja3s,
                resumed, hello_retry) likewise, and the certificate's if
                its message was captured whole
  tls_outcome   (contract C3) established if a side's record headers show
                its Finished and application data after it (TLS <= 1.2:
                ChangeCipherSpec, encrypted handshake record, application
                data; TLS 1.3: the client's first encrypted record after
                its hello, or the server's last flight record, then more),
                or server data after the client's; a refusal or failure if
                its alert was captured; else incomplete (unknown)

failed-retry.pcap itself was recorded here (record/failed_retry.sh); its
truth comes from record/failed-retry.log (the client's transcript and
Postfix's log), checked against tshark, like tests/data/truth.json's.

Run after derive.sh: python3 make_truth.py (writes truth.json here).
"""
import json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)

# name, original, damage, parameter, extra capture options
DERIVED = [
    ('mixed-s96.pcap', 'mixed.pcap', 'snaplen', 96, []),
    ('mixed-s128.pcap', 'mixed.pcap', 'snaplen', 128, []),
    ('mixed-s200.pcap', 'mixed.pcap', 'snaplen', 200, []),
    ('mixed-client.pcap', 'mixed.pcap', 'side', 'client', []),
    ('mixed-server.pcap', 'mixed.pcap', 'side', 'server', []),
    ('cleartext-auth-client.pcap', 'cleartext-auth.pcap', 'side', 'client', []),
    ('hrr-client.pcap', 'hrr.pcap', 'side', 'client', []),
    ('resumption-server.pcap', 'resumption.pcap', 'side', 'server', []),
    ('resumption12-server.pcap', 'resumption12.pcap', 'side', 'server', []),
    ('refused-handshake-server.pcap', 'refused-handshake.pcap', 'side', 'server', []),
    ('starttls-no-hello-server.pcap', 'starttls-no-hello.pcap', 'side', 'server', []),
    ('starttls-tls13-mid220.pcap', 'starttls-tls13.pcap', 'from', 10, []),
    ('starttls-tls12-midhello.pcap', 'starttls-tls12.pcap', 'from', 11, []),
    ('starttls-tls13-middata.pcap', 'starttls-tls13.pcap', 'from', 14, []),
    ('failed-retry-s96.pcap', 'failed-retry.pcap', 'snaplen', 96, []),
    ('failed-retry-client.pcap', 'failed-retry.pcap', 'side', 'client', []),
    ('failed-retry-server.pcap', 'failed-retry.pcap', 'side', 'server', []),
    ('no-starttls-2525.pcap', 'no-starttls.pcap', 'port', 2525, ['--classify']),
    ('mixed-2525.pcap', 'mixed.pcap', 'port', 2525, ['--classify']),
]

SERVER_PORTS = {25, 465, 587}
CLIENT_TLS = ['sni', 'ja3', 'ja4', 'client_suites', 'client_offered_weak',
              'client_offered_tls13', 'sslv2_hello']
SERVER_TLS = ['tls_version', 'cipher_suite', 'cipher_name', 'ja3s', 'forward_secrecy', 'aead',
              'weak_cipher', 'resumed', 'hello_retry']
BOTH_HELLOS = ['server_chose_weak', 'server_declined_fs']
ALERTS = ['tls_alert_name', 'tls_alert_from']


def tshark(path, fields):
    out = subprocess.run(['tshark', '-r', path, '-T', 'fields', '-E', 'separator=\t'] +
                         sum([['-e', f] for f in fields], []),
                         check=True, capture_output=True, text=True).stdout
    return [line.split('\t') for line in out.splitlines()]


class Segment:
    """A TCP segment with payload of one session, and how much of it the
    damaged capture kept."""
    def __init__(self, frame, to_server, payload, header):
        self.frame, self.to_server, self.data, self.header = frame, to_server, payload, header
        self.kept = len(payload)

    def seen(self):
        return self.data[:self.kept]


def read_sessions(path):
    """client port -> segments in capture order (lo: no loss, no reordering)."""
    rows = tshark(path, ['frame.number', 'tcp.srcport', 'tcp.dstport', 'tcp.len', 'frame.len',
                         'tcp.payload'])
    sessions = {}
    for frame, sport, dport, tlen, flen, payload in rows:
        sport, dport, tlen, flen = int(sport), int(dport), int(tlen), int(flen)
        to_server = dport in SERVER_PORTS
        cport = sport if to_server else dport
        segs = sessions.setdefault(cport, [])
        if tlen:
            segs.append(Segment(int(frame), to_server, bytes.fromhex(payload), flen - tlen))
    return sessions


def apply_damage(sessions, damage, param):
    """Sets each segment's kept bytes; returns the frames left per session
    (None: all)."""
    for segs in sessions.values():
        for s in segs:
            if damage == 'snaplen':
                s.kept = max(0, min(len(s.data), param - s.header))
            elif damage == 'side':
                s.kept = len(s.data) if s.to_server == (param == 'client') else -1
            elif damage == 'from':
                s.kept = len(s.data) if s.frame >= param else -1


def check_model(sessions, damage, param, derived):
    """The damaged file holds the frames and captured lengths the model says."""
    rows = tshark(derived, ['tcp.srcport', 'tcp.dstport', 'tcp.len', 'frame.cap_len', 'frame.len'])
    got = {}
    for sport, dport, tlen, cap, flen in rows:
        sport, dport, tlen, cap, flen = map(int, (sport, dport, tlen, cap, flen))
        if damage == 'port':
            dport, sport = [25 if p == param else p for p in (dport, sport)]
        if tlen:
            key = sport if dport in SERVER_PORTS else dport
            got.setdefault(key, []).append(max(0, tlen - (flen - cap)))
    for cport, segs in sessions.items():
        want = [s.kept for s in segs if s.kept >= 0]
        if got.get(cport, []) != want:
            sys.exit('%s: session %d does not match the model: %s != %s' %
                     (derived, cport, got.get(cport), want))


# ---- TLS records -------------------------------------------------------------

def is_tls_start(data):
    """A record's first byte (ChangeCipherSpec to application data, or an
    SSLv2 length): SMTP lines start with digits and letters."""
    return 20 <= data[0] <= 23 or data[0] >= 0x80


def records(segs, to_server):
    """(segment, type, length, header captured, whole captured) of one side's
    TLS stream, from its first record header on."""
    stream, owners = b'', []
    started = False
    for s in segs:
        if s.to_server != to_server:
            continue
        if not started and not is_tls_start(s.data):
            continue  # SMTP before the hand-off
        started = True
        owners += [(s, i) for i in range(len(s.data))]
        stream += s.data
    out, off = [], 0
    while off + 5 <= len(stream):
        typ, length = stream[off], int.from_bytes(stream[off + 3:off + 5], 'big')
        if stream[off] & 0x80:  # SSLv2 record
            length, typ = ((stream[off] & 0x7f) << 8 | stream[off + 1]) - 3, 0x80
        seg, at = owners[off]
        last_seg, last_at = owners[min(off + 5 + length, len(stream)) - 1]
        head = seg.kept >= 0 and at + (9 if typ in (22, 0x80) else 5) <= seg.kept
        whole = head and all(o[0].kept >= 0 and o[1] < o[0].kept
                             for o in owners[off:off + 5 + length])
        hs_type = stream[off + 5] if off + 5 < len(stream) else None
        # a ServerHello's bytes up to its cipher suite: version, random,
        # session id (the final standard's layout)
        upto = None
        if typ == 22 and hs_type == 2 and off + 5 + 4 + 34 < len(stream):
            upto = off + 5 + 4 + 34 + 1 + stream[off + 5 + 4 + 34] + 2
        cipher_seen = upto is not None and upto <= len(stream) and all(
            o[0].kept >= 0 and o[1] < o[0].kept for o in owners[off:upto])
        out.append({'seg': seg, 'type': typ, 'len': length, 'head': head, 'whole': whole,
                    'hs': hs_type, 'cipher_seen': cipher_seen})
        off += 5 + length
    return out


FINISHED13 = {4865: 53, 4866: 69, 4867: 53, 4868: 53, 4869: 45}


def client_proof(client, tls13):
    """The client's Finished (TLS 1.3: its first encrypted record; TLS 1.2:
    the handshake record after its ChangeCipherSpec), then its data."""
    rest = client[1:]
    if tls13:
        enc = [r for r in rest if r['type'] == 23]
    else:
        ccs = [i for i, r in enumerate(rest) if r['type'] == 20]
        if not ccs or not rest[ccs[0]]['head']:
            return False
        enc = [r for r in rest[ccs[0] + 1:] if r['type'] in (22, 23)]
    return len(enc) >= 2 and enc[0]['head'] and \
        any(r['head'] and r['len'] > 19 for r in enc[1:])


def server_proof(server, truth, tls13):
    """TLS 1.3: the ServerHello (its suite), every flight record up to the
    Finished, then more; TLS 1.2: CCS, the Finished, then data."""
    if tls13:
        flight = [r for r in server if r['type'] == 23]
        fin = FINISHED13.get(truth.get('cipher_suite'))
        first = 1 if truth.get('resumed') else 3
        ends = [i for i, r in enumerate(flight) if r['len'] == fin and i >= first]
        if not server or not server[0]['whole'] or not ends:
            return False
        upto = server[:server.index(flight[ends[0]]) + 1]
        return all(r['head'] for r in upto) and \
            any(r['head'] and r['len'] > 19 for r in flight[ends[0] + 1:])
    seen = [r for r in server if r['head']]
    return any(r['type'] == 20 and i + 1 < len(seen) and seen[i + 1]['type'] == 22 and
               any(x['type'] == 23 for x in seen[i + 2:]) for i, r in enumerate(seen))


def cross_proof(client, server):
    """Server data sent after the client's data (or Finished)."""
    frames = [r['seg'].frame for r in client[1:] if r['type'] == 23 and r['head'] and r['len'] > 19]
    return bool(frames) and any(r['type'] == 23 and r['head'] and r['len'] > 19 and
                                r['seg'].frame > min(frames) for r in server)


def proven(client, server, truth):
    """C3: the handshake's completion shown by the captured record headers."""
    tls13 = truth.get('tls_version') == 'TLSv1.3'
    return client_proof(client, tls13) or server_proof(server, truth, tls13) or \
        cross_proof(client, server)


# ---- the SMTP dialogue ---------------------------------------------------------

def smtp_segments(segs):
    """The segments before the TLS hand-off (the whole dialogue without one)."""
    out = []
    for s in segs:
        if is_tls_start(s.data):
            break
        out.append(s)
    return out


def reply_to(smtp, command):
    """The client's segment starting with command, and the server's
    segments after it up to the client's next one (the reply)."""
    for i, s in enumerate(smtp):
        if s.to_server and s.data.upper().startswith(command):
            reply = []
            for t in smtp[i + 1:]:
                if t.to_server:
                    break
                reply.append(t)
            return s, reply
    return None, []


def dialogue_facts(segs, truth, damage):
    f = {}
    smtp = smtp_segments(segs)
    if not smtp:  # implicit TLS: nothing in clear
        first = [s for s in segs if s.to_server][:1]
        known = first and first[0].kept >= 0
        for k in ('starttls_sent', 'cleartext_auth', 'plaintext_transactions'):
            f[k] = 0 if known else None
        return f
    greet = smtp[0] if not smtp[0].to_server else None
    m = greet and greet.kept > 0 and re.match(rb'220[ -](\S+)[ \r]', greet.seen())
    f['server_name'] = truth.get('server_name') if m else None
    ehlo, ehlo_reply = reply_to(smtp, b'EHLO ')
    m = ehlo and ehlo.kept > 0 and re.match(rb'EHLO (\S+)\r', ehlo.seen(), re.I)
    f['ehlo_name'] = truth.get('ehlo_name') if m else None
    lines = [line for r in ehlo_reply if r.kept >= 0 for line in r.seen().split(b'\n')]
    if not ehlo_reply or ehlo_reply[0].kept < 0:
        f['starttls_offered'] = None
    elif b'250-STARTTLS\r' in lines or b'250 STARTTLS\r' in lines:
        f['starttls_offered'] = 1
    else:
        f['starttls_offered'] = truth.get('starttls_offered') if \
            all(r.kept == len(r.data) for r in ehlo_reply) else None
    cmd, replies = reply_to(smtp, b'STARTTLS')
    reply = replies[0] if replies else None
    code = reply.seen()[:3] if reply is not None and reply.kept >= 3 else b''
    client_seen = cmd is not None and cmd.kept >= 0
    f['starttls_reply'] = int(code) if code and (client_seen or code == b'220') else None
    client = [s for s in smtp if s.to_server]
    whole = all(s.kept == len(s.data) for s in client) and \
        (damage != 'from' or (greet is not None and greet.kept >= 0))
    sent = client_seen and cmd.kept >= 8
    auth = any(s.kept >= 5 and s.seen().upper().startswith(b'AUTH ') for s in client)
    f['starttls_sent'] = (1 if truth.get('starttls_reply') is not None else 0) if whole else \
        (1 if sent else None)
    f['cleartext_auth'] = truth.get('cleartext_auth') if whole else (1 if auth else None)
    f['plaintext_transactions'] = truth.get('plaintext_transactions') if whole else None
    return f


# ---- one session -----------------------------------------------------------------

def damaged_truth(segs, truth, damage, param):
    if damage == 'port':
        t = dict(truth)
        t['server_port'] = param if truth['server_port'] == 25 else truth['server_port']
        return t
    t = {k: truth[k] for k in ('client_ip', 'client_port', 'server_ip', 'server_port',
                                'transport') if k in truth}
    t.update(dialogue_facts(segs, truth, damage))
    if damage == 'side' and param == 'client':
        t['anomalies'] = 'client_only'  # nothing else is wrong with what is left
    client, server = records(segs, True), records(segs, False)
    if truth.get('transport') == 'plaintext':
        t['client_hello'] = 0 if t.get('plaintext_transactions') is not None else None
        return t
    ch = client[0] if client and client[0]['type'] in (22, 0x80) else None
    sh = server[0] if server and server[0]['type'] == 22 and server[0]['hs'] == 2 else None
    t['client_hello'] = 1 if ch and ch['head'] else None
    for k in CLIENT_TLS:
        if k in truth:
            t[k] = truth[k] if ch and ch['whole'] else None
    sh_whole = bool(sh and sh['whole'])
    tls13 = truth.get('tls_version') == 'TLSv1.3'
    cert = [r for r in server if r['type'] == 22 and r['hs'] == 11][:1]
    ske = [r for r in server if r['type'] == 22 and r['hs'] == 12][:1]
    for k in SERVER_TLS:
        if k in truth:
            t[k] = truth[k] if sh_whole else None
    # a ServerHello cut after its cipher suite still shows the suite and what
    # the registry says of it; forward secrecy of a TLS 1.3 suite hangs on
    # the key share, which came later
    cut_suite = bool(sh and not sh_whole and sh['cipher_seen'])
    suite13 = (truth.get('cipher_suite') or 0) >> 8 == 0x13
    if cut_suite:
        for k in ('cipher_suite', 'cipher_name', 'aead', 'weak_cipher'):
            if k in truth:
                t[k] = truth[k]
        if 'forward_secrecy' in truth and not suite13:
            t['forward_secrecy'] = truth['forward_secrecy']
    if 'kx_group' in truth:  # TLS 1.3: the ServerHello's key share; 1.2: ServerKeyExchange
        t['kx_group'] = truth['kx_group'] if (sh_whole if tls13 else ske and ske[0]['whole']) \
            else None
    for k in [k for k in truth if k.startswith('cert_')]:
        t[k] = truth[k] if sh_whole and cert and cert[0]['whole'] else None
    if 'cert_name_match' in t and t.get('server_name') is None:
        t['cert_name_match'] = None  # against the greeting's name, not captured
    for k in BOTH_HELLOS:
        if k in truth:
            t[k] = truth[k] if (sh_whole or cut_suite) and ch and ch['whole'] else None
    if cut_suite and suite13 and 'server_declined_fs' in t:
        t['server_declined_fs'] = None  # forward secrecy unknown
    outcome = truth.get('tls_outcome', 'established')
    alert = [r for r in server + client if r['type'] == 21 and r['whole']]
    if outcome == 'no_tls_after_220':  # shown by a client side seen whole, sending no hello
        whole = all(s.kept == len(s.data) for s in segs if s.to_server)
        t['tls_outcome'] = outcome if whole else 'incomplete'
    elif outcome == 'established':
        t['tls_outcome'] = 'established' if proven(client, server, truth) else 'incomplete'
    else:
        t['tls_outcome'] = outcome if alert else 'incomplete'
        for k in ALERTS:
            if k in truth:
                t[k] = truth[k] if alert else None
    return t


def recorded_truth():
    """failed-retry.pcap's two sessions from the client's transcript and
    Postfix's log, each fact checked against tshark."""
    log = open(os.path.join(HERE, 'record', 'failed-retry.log')).read()
    ports = [int(p) for p in re.findall(r'connection \d: local port (\d+)', log)]
    need = ['TLS handshake failed: CERTIFICATE_VERIFY_FAILED', 'reply: b\'250-STARTTLS\\r\\n\'',
            'reply: b\'220 2.0.0 Ready to start TLS\\r\\n\'', 'SSL alert number 48',
            'lost connection after STARTTLS', 'ehlo=1 starttls=0/1 commands=1/2',
            'ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5', 'message sent in plaintext']
    missing = [n for n in need if n not in log]
    if len(ports) != 2 or missing:
        sys.exit('record/failed-retry.log: not the expected dialogue: %s' % missing)
    pcap = os.path.join(HERE, 'failed-retry.pcap')
    wire = tshark(pcap, ['tcp.srcport', 'tls.handshake.type', 'tls.handshake.version',
                         'tls.alert_message.desc'])
    sh = [v for sp, t, v, a in wire if int(sp) == 25 and t.split(',')[0] == '2']
    alert = [a for sp, t, v, a in wire if int(sp) == ports[0] and a]
    if sh != ['0x0303'] or alert != ['48']:
        sys.exit('failed-retry.pcap: tshark shows ServerHello %s, client alert %s' % (sh, alert))
    common = {'client_ip': '10.77.0.2', 'server_ip': '10.77.0.1', 'server_port': 25,
              'starttls_offered': 1, 'cleartext_auth': 0, 'server_name': 'mx.dissect.test',
              'ehlo_name': 'client-retry.dissect.test'}
    failed = dict(common, client_port=ports[0], transport='starttls', starttls_sent=1,
                  starttls_reply=220, plaintext_transactions=0, client_hello=1,
                  tls_version='TLSv1.2', tls_outcome='failed', tls_alert_name='unknown_ca',
                  tls_alert_from='client')
    retry = dict(common, client_port=ports[1], transport='plaintext', starttls_sent=0,
                 starttls_reply=None, plaintext_transactions=1, plaintext_rcpts=1,
                 client_hello=0, tls_version=None, tls_outcome=None)
    return {'rows': 2, 'sessions': [failed, retry]}


def main():
    originals = json.load(open(os.path.join(DATA, 'truth.json')))['captures']
    originals['failed-retry.pcap'] = recorded_truth()
    out = {'_about': 'Captures derived from the recordings in tests/data (derive.sh: editcap, '
                     'tcpdump, tcprewrite), with what their remaining bytes prove '
                     '(make_truth.py); NULL where the bytes that would show a fact are not '
                     'there. Same shape as tests/data/truth.json.',
           'captures': {}}
    out['captures']['failed-retry.pcap'] = originals['failed-retry.pcap']
    for name, original, damage, param, options in DERIVED:
        sessions = read_sessions(os.path.join(HERE if original == 'failed-retry.pcap' else DATA,
                                              original))
        apply_damage(sessions, damage, param)
        check_model(sessions, damage, param, os.path.join(HERE, name))
        rows = []
        for truth in originals[original]['sessions']:
            segs = sessions[truth['client_port']]
            if damage != 'port' and not any(s.kept > 0 for s in segs):
                continue  # nothing of it left: no row
            rows.append(damaged_truth(segs, truth, damage, param))
        entry = {'rows': len(rows), 'sessions': rows}
        if options:
            entry['options'] = options
        out['captures'][name] = entry
    with open(os.path.join(HERE, 'truth.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()

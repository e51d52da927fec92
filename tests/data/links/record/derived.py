"""The derived captures (made by derive.py from the recorded ones) and the
rules that give their truth: what the remaining bytes prove, NULL for the
rest.  make_truth.py applies these rules to the source capture's truth and
checks them against the derived file (a rule never looks at smtptls).

Columns a rule does not mention keep the source's value; `None` is a NULL
the test requires.  Each capture's truth entry carries the reasons ('_about').
"""
import os

import pcapsess as P

T = 'postfix-relay.pcap'     # 7 sessions: 5 STARTTLS (TLS 1.3 x3, TLS 1.2 x2), 2 plaintext
V6 = 'ipv6-relay.pcap'       # 4 STARTTLS sessions over IPv6
S = 'submission-auth.pcap'   # 587 with AUTH

TUNNEL_WHY = ('every frame of {src} unchanged inside the encapsulation ({encap}); the tunnel adds and '
              'removes nothing of the sessions, so every row and every fact is the source\'s')

DERIVED = {
    'tunnel-gre.pcap': dict(source=T, kind='tunnel', encap='gre',
        what='GRE (RFC 2784/2890) with key 0x457 and sequence numbers, protocol 0x0800: the IPv4 packets '
             'of every frame, outer IPv4 203.0.113.1 -> .2'),
    'tunnel-gre-teb.pcap': dict(source=T, kind='tunnel', encap='gre-teb',
        what='GRE with key 0x2a, protocol 0x6558 (Transparent Ethernet Bridging): whole Ethernet frames'),
    'tunnel-erspan2.pcap': dict(source=T, kind='tunnel', encap='erspan2',
        what='ERSPAN type II (GRE protocol 0x88BE, sequence numbers, ERSPAN header version 1, session 0x2a)'),
    'tunnel-erspan3.pcap': dict(source=T, kind='tunnel', encap='erspan3',
        what='ERSPAN type III (GRE protocol 0x22EB, sequence numbers, 12-byte header version 2 with '
             'timestamp, O bit set: 8-byte platform-specific subheader, Platf ID 3)'),
    'tunnel-vxlan.pcap': dict(source=T, kind='tunnel', encap='vxlan',
        what='VXLAN (UDP 4789, VNI 4242, UDP checksum 0) carrying the Ethernet frames'),
    'tunnel-geneve.pcap': dict(source=T, kind='tunnel', encap='geneve',
        what='Geneve (UDP 6081, VNI 4243, one 8-byte option of the experimental class 0xFFFF, protocol 0x6558)'),
    'tunnel-gtpu.pcap': dict(source=T, kind='tunnel', encap='gtpu',
        what='GTPv1-U G-PDUs (UDP 2152, E flag, 5G PDU Session Container extension header, TEID 0x1001 '
             'uplink for client->server, 0x2001 downlink) carrying the IPv4 packets'),
    'tunnel-4in6.pcap': dict(source=T, kind='tunnel', encap='4in6',
        what='IPv4-in-IPv6 (outer IPv6 2001:db8:ffff::1 <-> ::2, next header 4)'),
    'tunnel-6in4.pcap': dict(source=V6, kind='tunnel', encap='6in4',
        what='6in4 (outer IPv4 203.0.113.1 <-> .2, protocol 41) carrying the IPv6 packets'),
    'tunnel-eompls-cw.pcap': dict(source=T, kind='tunnel', encap='eompls-cw',
        what='Ethernet over MPLS: labels 16004 and 299792 (bottom), the RFC 4385 pseudowire control word '
             '(sequence number set), then the Ethernet frame'),
    'tunnel-eompls.pcap': dict(source=T, kind='tunnel', encap='eompls',
        what='Ethernet over MPLS without the control word: labels 16004 and 299792 (bottom), then the '
             'Ethernet frame (its destination MAC 02:00:5e:.. begins with a 0 nibble, like a control word)'),
    'frag-ipv4.pcap': dict(source=T, kind='frag', family=4,
        match=[dict(client_ip='192.0.2.2', server_ip='198.51.100.10', version=0x0303)],
        what='the TLS 1.2 session 192.0.2.2 -> mx10 (ECDHE-RSA-AES128-GCM, certificate in clear): every '
             'IPv4 packet over 128 bytes of payload split into 128-byte fragments (DF cleared, fresh IP ID, '
             'checksum recomputed), fragments of each datagram shuffled, the last fragment of every third '
             'datagram sent after the next datagram, three datagrams with an extra fragment overlapping two '
             'others with the same bytes, one with a conflicting copy of a fragment after the original '
             '(first copy wins)'),
    'frag-ipv6.pcap': dict(source=V6, kind='frag', family=6,
        match=[dict(client_ip='2001:db8:1::1', server_ip='2001:db8:2::12', version=0x0303)],
        what='the TLS 1.2 session 2001:db8:1::1 -> mx12v6 (DH_anon AES-256-GCM): every IPv6 packet over 128 '
             'bytes of payload split with a Fragment header into 128-byte fragments, shuffled, the last of '
             'every third datagram after the next one; no overlaps (RFC 5722: a receiver drops a datagram '
             'with overlapping fragments)'),
    'snap-64.pcap': dict(source=T, kind='snaplen', snaplen=64,
        what='editcap -s 64: Ethernet, IPv4 and the first 30 of the 32 TCP header bytes (the timestamp '
             'option cut); no payload byte'),
    'snap-96.pcap': dict(source=T, kind='snaplen', snaplen=96, what='editcap -s 96: the first 30 payload bytes'),
    'snap-128.pcap': dict(source=T, kind='snaplen', snaplen=128, what='editcap -s 128: the first 62 payload bytes'),
    'snap-200.pcap': dict(source=T, kind='snaplen', snaplen=200, what='editcap -s 200: the first 134 payload bytes'),
    'c2s-only.pcap': dict(source=T, kind='c2s',
        what="tcpdump -r postfix-relay.pcap 'dst net 198.51.100.0/24': only client->server frames "
             '(asymmetric routing)'),
    's2c-only.pcap': dict(source=T, kind='s2c',
        what="tcpdump -r postfix-relay.pcap 'src net 198.51.100.0/24': only server->client frames"),
    'two-taps-2ms.pcap': dict(source=T, kind='two-taps', offset=-0.0015,
        what='two tap ports, one per direction: the client->server and server->client frames split with '
             'tcpdump, the server->client ones shifted 1.5 ms earlier (editcap -t -0.0015, the second tap\'s '
             'clock behind), merged by time with mergecap: replies appear before the segments they answer, '
             'the SYN-ACK before the SYN'),
    'two-taps-50ms.pcap': dict(source=T, kind='two-taps', offset=-0.050,
        what='as two-taps-2ms.pcap with the server->client tap 50 ms behind'),
    'midstream.pcap': dict(source=T, kind='midstream',
        what='capture started mid-session: in each STARTTLS session every frame before the client\'s '
             'STARTTLS segment is deleted (editcap), so the STARTTLS command and its 220 are the first SMTP '
             'lines seen; the two plaintext sessions stay whole'),
    'auth-login-no-replies.pcap': dict(source=S, kind='auth-noreplies',
        match=[dict(server_port=587, transport_wire='plaintext', auth='LOGIN')],
        what='the two AUTH LOGIN sessions in clear (Postfix out5 and msmtp) with the server\'s replies from '
             'the one to AUTH LOGIN up to the 235 deleted (editcap): the client\'s username and password '
             'lines follow AUTH LOGIN with no 334 between, then MAIL and RCPT'),
}


def select_sessions(conns, spec):
    """The source's connections a derived capture keeps: all, or those whose
    facts (pcapsess.session_facts) match one of spec['match']."""
    if 'match' not in spec:
        return conns
    out = []
    for c in conns:
        f = P.session_facts(c)
        if any(all(f.get(k) == v for k, v in m.items()) for m in spec['match']):
            out.append(c)
    return out


# --- what the remaining bytes show ---------------------------------------------------

class Visible:
    """Per direction of one session: which stream offsets the derived capture
    shows, given each packet's captured length."""

    def __init__(self, conn, caplens):
        self.c = conn
        self.mask = [[], []]
        for d in (0, 1):
            base = conn.base(d)
            for seq, plen, pay, idx, _ in conn.segs[d]:
                vis = caplens.get(idx, 0)
                off = (seq - base) & 0xffffffff
                if vis > 0:
                    self.mask[d].append((off, off + min(vis, plen)))

    def seen(self, d, a, b):
        """Are all bytes [a, b) of direction d visible?"""
        pos = a
        for lo, hi in sorted(self.mask[d]):
            if lo <= pos < hi:
                pos = hi
            if pos >= b:
                return True
        return pos >= b

    def any(self, d):
        return bool(self.mask[d])


def structure(conn):
    """Offsets of what matters in a full session: lines, replies, TLS records."""
    cb, _ = conn.stream(0)
    sb, _ = conn.stream(1)
    f = P.session_facts(conn)
    st = {'cb': cb, 'sb': sb, 'facts': f, 'tls_c': None, 'tls_s': None}
    if conn.sport == 465:
        st['tls_c'] = st['tls_s'] = 0
        return st
    reps = P.replies(sb)
    st['reps'] = reps
    cmds = P.client_commands(cb, any(r[1] == 354 for r in reps))
    idx = [i for i, c in enumerate(cmds) if c[1] == 'STARTTLS']
    if idx and f.get('starttls_reply') and 200 <= f['starttls_reply'] < 300:
        st['tls_c'] = cb.find(b'\n', cmds[idx[0]][0]) + 1
        st['tls_s'] = reps[1 + idx[0]][0]
        cmds = P.client_commands(cb, False, st['tls_c'])
    st['cmds'] = cmds
    return st


def reply_span(st, n):
    """[start, end) of the n-th server reply."""
    reps = st['reps']
    start = reps[n - 1][0] if n > 0 else 0
    return start, reps[n][0]


def record_walk(buf, base, vis, d):
    """TLS records of one direction from offset base, at the boundaries their
    headers' lengths give; a record counts when its header is visible: after
    a cut, the sensor reads the next header a captured segment starts with."""
    out = []
    for off, t, _, body in P.tls_records(buf[base:]):
        if vis.seen(d, base + off, base + off + 5):
            out.append((base + off, t, len(body)))
    return out


def cut_truth(src, st, vis):
    """Rules for a capture cut by the snaplen (and the reasons)."""
    t = dict(src)
    f = st['facts']
    cb, sb = st['cb'], st['sb']
    if not vis.any(0) and not vis.any(1):
        for k in ('starttls_offered', 'starttls_sent', 'starttls_reply', 'tls_version', 'cipher_suite',
                  'cipher_name', 'tls_outcome', 'plaintext_transactions', 'plaintext_rcpts',
                  'cleartext_auth', 'server_name', 'ehlo_name', 'sni'):
            t[k] = None
        t['transport'] = 'unknown'
        return t
    # greeting: the name up to the space after it
    g = sb[:sb.find(b'\n') + 1]
    name_end = g.find(b' ', 4)
    t['server_name'] = src['server_name'] if vis.seen(1, 0, name_end + 1) else None
    # EHLO line to its end
    e = [c for c in st['cmds'] if c[1] in ('EHLO', 'HELO')]
    if e:
        o = e[0][0]
        t['ehlo_name'] = src['ehlo_name'] if vis.seen(0, o, cb.find(b'\n', o) + 1) else None
    # capabilities: the whole EHLO reply, or a STARTTLS line in sight
    a, b = reply_span(st, 1 + st['cmds'].index(e[0])) if e else (0, 0)
    if vis.seen(1, a, b):
        t['starttls_offered'] = src['starttls_offered']
    else:
        lines = []
        p = a
        while p < b:
            q = sb.find(b'\n', p) + 1
            lines.append((p, q, sb[p:q].rstrip(b'\r\n')[4:].upper()))
            p = q
        t['starttls_offered'] = 1 if any(x == b'STARTTLS' and vis.seen(1, p0, q0) for p0, q0, x in lines) else None
    # the client's clear phase: whole, or the counts are unknown
    clear_end = st['tls_c'] if st['tls_c'] is not None else len(cb)
    whole = vis.seen(0, 0, clear_end)
    stl = [c for c in st['cmds'] if c[1] == 'STARTTLS']
    st_seen = bool(stl) and vis.seen(0, stl[0][0], stl[0][0] + 8)
    if stl and st_seen:
        t['starttls_sent'] = 1
        n = st['cmds'].index(stl[0]) + 1
        ra, _ = reply_span(st, n)
        t['starttls_reply'] = src['starttls_reply'] if vis.seen(1, ra, ra + 3) else None
    elif whole:
        t['starttls_sent'], t['starttls_reply'] = 0, None
    else:
        t['starttls_sent'], t['starttls_reply'] = None, None
    auth = [c for c in st['cmds'] if c[1] == 'AUTH']
    if whole:
        pass          # the source's counts stand
    else:
        t['plaintext_transactions'] = t['plaintext_rcpts'] = None
        t['cleartext_auth'] = 1 if auth and vis.seen(0, auth[0][0], auth[0][0] + 4) else None
    # TLS: the ServerHello as far as it is visible, the records by their headers
    if st['tls_c'] is None:
        return t
    rc = record_walk(cb, st['tls_c'], vis, 0)
    rs = record_walk(sb, st['tls_s'], vis, 1)
    if not (rc and rc[0][1] == 22):
        t['transport'] = 'unknown'
    sh = [r for r in rs if r[1] == 22]
    hello = None
    if sh:
        o = sh[0][0]
        ln = sh[0][2]
        body = sb[o + 5:o + 5 + ln]
        h = P.parse_hello(body, True)
        hl = 4 + int.from_bytes(body[1:4], 'big')
        full = vis.seen(1, o, o + 5 + hl)
        # cipher: after version(2), random(32), session id
        sid = body[4 + 34]
        c_at = o + 5 + 4 + 2 + 32 + 1 + sid
        t['cipher_suite'] = h['cipher'] if vis.seen(1, o, c_at + 2) else None
        t['tls_version'] = src['tls_version'] if full else None
        hello = h
    else:
        t['cipher_suite'] = t['tls_version'] = None
    t['cipher_name'] = src.get('cipher_name') if t['cipher_suite'] is not None else None
    # SNI: the whole ClientHello in sight (the extension's place varies)
    if rc and rc[0][1] == 22:
        o, _, ln = rc[0]
        t['sni'] = src.get('sni') if vis.seen(0, o, o + 5 + ln) else None
    c23 = sum(1 for r in rc if r[1] == 23)
    s23 = sum(1 for r in rs if r[1] == 23)
    if sh and c23 >= 2 and s23 >= 2:
        t['tls_outcome'] = 'established'
    elif sh:
        t['tls_outcome'] = 'incomplete'      # ServerHello seen, the rest of the handshake cut away
    else:
        t['tls_outcome'] = None
    return t


def truth(name, spec, source_sessions, out_dir, fail):
    """[truth rows], about-text for one derived capture."""
    kind = spec['kind']
    keep = {(c.client, c.cport) for c in select_sessions([c for c, _ in source_sessions], spec)}
    chosen = [(c, t) for c, t in source_sessions if (c.client, c.cport) in keep]
    why = {}
    rows = []
    if kind in ('tunnel', 'frag', 'two-taps'):
        rows = [pub(t) for _, t in chosen]
        why['all columns'] = (TUNNEL_WHY.format(src=spec['source'], encap=spec.get('encap', kind))
                              if kind == 'tunnel' else
                              'the fragments reassemble to the source packets byte for byte (first copy wins '
                              'where copies conflict), so every fact is the source\'s' if kind == 'frag' else
                              'every frame of the source is there once, only the server->client timestamps moved; '
                              'sequence numbers make each connection one session with the source\'s facts')
    elif kind == 'snaplen':
        pc = P.read_pcap(os.path.join(out_dir, name))
        full = P.read_pcap(os.path.join(out_dir, spec['source']))
        for c, t in chosen:
            caplens = {}
            for i in c.frames:
                d = P.decode(full.records[i][4])
                cut = pc.records[i][2]
                caplens[i] = max(0, min(d['paylen'], cut - d['hdrlen'])) if d['paylen'] else 0
            rows.append(pub(cut_truth(pub(t), structure(c), Visible(c, caplens))))
        why.update(SNAP_WHY)
    elif kind in ('c2s', 's2c'):
        for c, t in chosen:
            rows.append(one_side(pub(t), kind))
        why.update(C2S_WHY if kind == 'c2s' else S2C_WHY)
    elif kind == 'midstream':
        for c, t in chosen:
            r = pub(t)
            if r['transport'] == 'starttls':
                r.update(server_name=None, ehlo_name=None, starttls_offered=None,
                         plaintext_transactions=None, plaintext_rcpts=None, cleartext_auth=None)
            rows.append(r)
        why.update(MID_WHY)
    elif kind == 'auth-noreplies':
        rows = [pub(t) for _, t in chosen]
        why['all columns'] = ('only the 334/334/235 replies are gone; the client\'s lines are all there, so AUTH '
                              'LOGIN (cleartext_auth 1, auth_mechanism LOGIN), then the base64 username and '
                              'password lines, then MAIL and RCPT (counted: plaintext_transactions 1, '
                              'plaintext_rcpts 1) and everything else are the source\'s')
    else:
        raise ValueError(kind)
    check_rows(name, rows, out_dir, fail)
    about = f"{spec['what']}. Source: {spec['source']}. Truth per column: " + \
        '; '.join(f'{k}: {v}' for k, v in why.items())
    return rows, about


def pub(t):
    return {k: v for k, v in t.items() if not k.startswith('_')}


def one_side(t, kind):
    r = dict(t)
    if kind == 'c2s':
        r.update(starttls_offered=None, starttls_reply=None, server_name=None,
                 tls_version=None, cipher_suite=None, cipher_name=None)
        r['client_hello'] = 1 if t['transport'] != 'plaintext' else 0
    else:
        r.update(starttls_sent=None, plaintext_transactions=None, plaintext_rcpts=None,
                 cleartext_auth=None, client_hello=None, ehlo_name=None, sni=None)
        r.pop('auth_mechanism', None)
    return r


SNAP_WHY = {
    'transport': "'unknown' when no payload byte is in the capture (snaplen 64); otherwise the source's: a "
                 'STARTTLS line, its 2xx code and a TLS record header after it prove starttls, SMTP lines with no '
                 'TLS record header at any segment start prove plaintext',
    'server_name': 'the greeting\'s host name when it is visible up to the space after it, else NULL',
    'ehlo_name': 'the EHLO line visible to its end, else NULL',
    'starttls_offered': 'the source value when the whole EHLO reply is visible; 1 when a whole STARTTLS '
                        'capability line is visible; NULL when the reply is cut before showing it (a gap is '
                        'not a 0)',
    'starttls_sent, starttls_reply': 'a visible STARTTLS line proves 1, and its reply code counts when the '
                                     'first 3 bytes of the reply are visible; 0 only when the client\'s whole '
                                     'clear-text stream is visible; else NULL',
    'plaintext_transactions, plaintext_rcpts, cleartext_auth': "the source's counts when every byte the client "
        'sent before TLS (or in the whole plaintext session) is visible; NULL otherwise, because a MAIL, RCPT '
        'or AUTH could hide in the cut part (a visible AUTH still proves cleartext_auth 1)',
    'tls_version': 'needs the whole ServerHello (TLS 1.3 is only in its supported_versions extension, TLS '
                   '1.2 is the absence of one); NULL when cut',
    'cipher_suite, cipher_name': 'visible when the ServerHello is visible through its cipher suite field',
    'sni': 'the whole ClientHello visible, else NULL',
    'tls_outcome': "'established' only when the TLS record headers, followed from one to the next by their "
                   'lengths, show at least two application-data records from each side; here the server\'s first '
                   'flight (ServerHello, then records inside one 1448-byte segment) hides the next header, so the '
                   "handshake's end is not in the capture: 'incomplete' (unknown, shown apart; contract C3) "
                   'when the ServerHello is seen; NULL when no payload is visible',
}
C2S_WHY = {
    'transport': 'STARTTLS sent and a ClientHello right after it prove the server answered 2xx: starttls; '
                 'the plaintext sessions are plaintext',
    'starttls_offered, starttls_reply, server_name': 'server side missing: NULL',
    'tls_version, cipher_suite, cipher_name': 'only the ServerHello says them: NULL',
    'tls_outcome': "'established': the client sent its ClientHello, its Finished and application data after it "
                   '(contract C3, client side only)',
    'starttls_sent, plaintext_transactions, plaintext_rcpts, cleartext_auth, ehlo_name, sni, client_hello':
        "client side facts, all visible: the source's",
}
S2C_WHY = {
    'transport': 'the 220 to STARTTLS followed by a ServerHello: starttls; SMTP replies only: plaintext',
    'starttls_sent, plaintext_transactions, plaintext_rcpts, cleartext_auth, client_hello':
        'client side missing: NULL (contract C2), not 0',
    'ehlo_name, sni': 'sent by the client: NULL',
    'tls_outcome': "'established': ServerHello, then application data from the server after the handshake "
                   '(contract C3, server side only)',
    'starttls_offered, starttls_reply, server_name, tls_version, cipher_suite': "server side facts: the source's",
}
MID_WHY = {
    'transport': 'SMTP-first port, TLS picked up after a 220 to STARTTLS: starttls, never implicit_tls',
    'server_name, ehlo_name, starttls_offered': 'the greeting, EHLO and its reply are before the capture '
                                                'started: NULL (the 220 to STARTTLS is not a greeting)',
    'starttls_sent, starttls_reply': 'the STARTTLS line and its 220 are in the capture: 1, 220',
    'plaintext_transactions, plaintext_rcpts, cleartext_auth': 'what the client sent before the capture '
                                                               'started is unknown: NULL',
    'tls facts': 'the whole handshake is in the capture: the source\'s',
    'plaintext sessions': 'whole, the source\'s',
}


def check_rows(name, rows, out_dir, fail):
    """The derived file must hold exactly these connections (by address and port)."""
    pc = P.read_pcap(os.path.join(out_dir, name))
    keys = set()
    for r in pc.records:
        d = inner_decode(r[4])
        if d is None:
            continue
        if d['dport'] in P.SERVER_PORTS:
            keys.add((d['src'], d['sport']))
        elif d['sport'] in P.SERVER_PORTS:
            keys.add((d['dst'], d['dport']))
    want = {(r['client_ip'], r['client_port']) for r in rows}
    if name.startswith(('tunnel-', 'frag-')):
        return      # inner packets: checked by tshark in make_truth (decode-as), not here
    if keys != want:
        fail(name, f'connections {sorted(keys)} but truth rows {sorted(want)}')


def inner_decode(frame):
    return P.decode(frame)

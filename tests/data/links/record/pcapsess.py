"""Minimal, independent reading of the link captures (pcap, Ethernet) for the
truth builder and the derivations: raw records, TCP connections with their
per-direction byte streams, and what the clear bytes of each session show
(SMTP dialogue, TLS records and hellos).  It is a cross-check of the MTAs'
logs, written without smtptls's code; tshark is the other cross-check.
"""
import struct

SERVER_PORTS = {25, 465, 587, 2525}


# --- pcap records -------------------------------------------------------------

class Pcap:
    def __init__(self, magic, hdr, linktype, snaplen, records):
        self.magic, self.hdr, self.linktype, self.snaplen = magic, hdr, linktype, snaplen
        self.records = records  # [(ts_sec, ts_frac, caplen, wirelen, data)]
        self.endian = '<' if magic[:1] in (b'\xd4', b'\x4d') else '>'
        self.nsec = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')

    def ts(self, r):
        return r[0] + r[1] / (1e9 if self.nsec else 1e6)


def read_pcap(path):
    with open(path, 'rb') as f:
        b = f.read()
    magic = b[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError(f'{path}: not a pcap file')
    _, _, _, _, snaplen, linktype = struct.unpack(e + 'HHiIII', b[4:24])
    recs, p = [], 24
    while p + 16 <= len(b):
        s, fr, cl, wl = struct.unpack(e + 'IIII', b[p:p + 16])
        recs.append((s, fr, cl, wl, b[p + 16:p + 16 + cl]))
        p += 16 + cl
    return Pcap(magic, b[:24], linktype, snaplen, recs)


def write_pcap(path, pc, records, snaplen=None, linktype=None):
    e = pc.endian
    hdr = bytearray(pc.hdr)
    if snaplen is not None:
        hdr[16:20] = struct.pack(e + 'I', snaplen)
    if linktype is not None:
        hdr[20:24] = struct.pack(e + 'I', linktype)
    with open(path, 'wb') as f:
        f.write(hdr)
        for s, fr, cl, wl, data in records:
            f.write(struct.pack(e + 'IIII', s, fr, len(data), wl))
            f.write(data)


# --- decoding (Ethernet, IPv4, IPv6, TCP) --------------------------------------

def ip_text(raw):
    if len(raw) == 4:
        return '.'.join(str(x) for x in raw)
    import ipaddress
    return str(ipaddress.IPv6Address(raw))


def decode(data, wirelen=None):
    """Ethernet frame -> dict(src, dst, sport, dport, seq, flags, hdrlen,
    paylen (on the wire), payload (captured part)) or None."""
    if len(data) < 14:
        return None
    et = struct.unpack('!H', data[12:14])[0]
    p = 14
    while et == 0x8100 and len(data) >= p + 4:
        et = struct.unpack('!H', data[p + 2:p + 4])[0]
        p += 4
    if et == 0x0800:
        if len(data) < p + 20:
            return None
        ihl = (data[p] & 0x0f) * 4
        total = struct.unpack('!H', data[p + 2:p + 4])[0]
        if data[p + 9] != 6:
            return None
        src, dst = data[p + 12:p + 16], data[p + 16:p + 20]
        l4, l4len = p + ihl, total - ihl
    elif et == 0x86dd:
        if len(data) < p + 40:
            return None
        if data[p + 6] != 6:
            return None
        l4len = struct.unpack('!H', data[p + 4:p + 6])[0]
        src, dst = data[p + 8:p + 24], data[p + 24:p + 40]
        l4 = p + 40
    else:
        return None
    if len(data) < l4 + 14:
        # ports and sequence number visible, the rest cut by the snaplen
        if len(data) < l4 + 8:
            return None
        sport, dport, seq = struct.unpack('!HHI', data[l4:l4 + 8])
        return dict(src=ip_text(src), dst=ip_text(dst), sport=sport, dport=dport, seq=seq,
                    flags=None, hdrlen=None, paylen=None, payload=b'', l4=l4)
    sport, dport, seq, ack = struct.unpack('!HHII', data[l4:l4 + 12])
    off = (data[l4 + 12] >> 4) * 4
    flags = data[l4 + 13]
    paylen = l4len - off
    payload = data[l4 + off:l4 + off + paylen]
    return dict(src=ip_text(src), dst=ip_text(dst), sport=sport, dport=dport, seq=seq, ack=ack,
                flags=flags, hdrlen=l4 + off, paylen=paylen, payload=payload, l4=l4)


SYN, FIN, RST = 0x02, 0x01, 0x04


# --- connections ------------------------------------------------------------------

class Conn:
    def __init__(self, client, cport, server, sport, ts):
        self.client, self.cport, self.server, self.sport = client, cport, server, sport
        self.first_ts = ts
        self.isn = [None, None]          # 0: client->server, 1: server->client
        self.segs = [[], []]             # (seq, paylen, captured payload, frame index, ts)
        self.frames = []                 # frame indexes of this connection
        self.rst = [False, False]
        self.fin = [False, False]

    @property
    def key(self):
        return (self.client, self.cport, self.server, self.sport)

    def stream(self, d):
        """(bytes, complete): the direction's byte stream in sequence order,
        duplicates dropped; complete is False if any byte was not captured."""
        segs = sorted(self.segs[d], key=lambda s: ((s[0] - self.base(d)) & 0xffffffff))
        out, pos, complete = bytearray(), 0, True
        for seq, plen, pay, _, _ in segs:
            off = (seq - self.base(d)) & 0xffffffff
            if off + plen <= pos:
                continue
            if off > pos:
                complete = False
                out += b'\0' * (off - pos)
                pos = off
            skip = pos - off
            part = pay[skip:]
            if len(pay) < plen:
                complete = False
                part = part + b'\0' * (plen - len(pay))
            out += part
            pos = off + plen
        return bytes(out), complete

    def base(self, d):
        if self.isn[d] is not None:
            return (self.isn[d] + 1) & 0xffffffff
        return min(s[0] for s in self.segs[d]) if self.segs[d] else 0


def connections(pc, server_ports=SERVER_PORTS):
    conns, by = [], {}
    for i, r in enumerate(pc.records):
        d = decode(r[4])
        if not d:
            continue
        if d['dport'] in server_ports:
            key, dirn = (d['src'], d['sport'], d['dst'], d['dport']), 0
        elif d['sport'] in server_ports:
            key, dirn = (d['dst'], d['dport'], d['src'], d['sport']), 1
        else:
            continue
        c = by.get(key)
        if c is None:
            c = by[key] = Conn(*key, pc.ts(r))
            conns.append(c)
        c.frames.append(i)
        if d['flags'] is not None:
            if d['flags'] & SYN:
                c.isn[dirn] = d['seq']
            if d['flags'] & RST:
                c.rst[dirn] = True
            if d['flags'] & FIN:
                c.fin[dirn] = True
        if d['paylen']:
            c.segs[dirn].append((d['seq'], d['paylen'], d['payload'], i, pc.ts(r)))
    return [c for c in conns if c.segs[0] or c.segs[1]]


# --- what the clear bytes show ------------------------------------------------------

def split_lines(b):
    """[(offset, line without CRLF)] of complete lines."""
    out, p = [], 0
    while True:
        q = b.find(b'\n', p)
        if q < 0:
            return out
        out.append((p, b[p:q].rstrip(b'\r').decode('latin-1')))
        p = q + 1


def replies(server_bytes):
    """[(offset_end, code, [lines])] of complete replies."""
    out, cur = [], []
    for off, l in split_lines(server_bytes):
        cur.append(l)
        if len(l) < 4 or l[3] != '-':
            end = server_bytes.find(b'\n', off) + 1
            code = int(l[:3]) if l[:3].isdigit() else None
            out.append((end, code, cur))
            cur = []
    return out


def client_commands(cb, has_354, tls_at=None):
    """[(offset, verb, line)] of the client's commands in clear (up to tls_at),
    skipping DATA bodies and BDAT chunks of valid syntax."""
    out, p, end = [], 0, len(cb) if tls_at is None else tls_at
    body = False
    while p < end:
        q = cb.find(b'\n', p, end)
        if q < 0:
            break
        line = cb[p:q].rstrip(b'\r').decode('latin-1')
        nxt = q + 1
        if body:
            if line == '.':
                body = False
            p = nxt
            continue
        verb = line.split(' ', 1)[0].upper()
        out.append((p, verb, line))
        if verb == 'DATA' and has_354:
            body = True
        if verb == 'BDAT':
            parts = line.split()
            if (len(parts) == 2 and parts[1].isdigit()) or \
               (len(parts) == 3 and parts[1].isdigit() and parts[2].upper() == 'LAST'):
                nxt += int(parts[1])
        p = nxt
    return out


def tls_records(b):
    """[(offset, type, version, body)] of TLS records; stops at anything else."""
    out, p = [], 0
    while p + 5 <= len(b):
        t, v, n = b[p], struct.unpack('!H', b[p + 1:p + 3])[0], struct.unpack('!H', b[p + 3:p + 5])[0]
        if t not in (20, 21, 22, 23) or (v >> 8) != 3 or p + 5 + n > len(b):
            break
        out.append((p, t, v, b[p + 5:p + 5 + n]))
        p += 5 + n
    return out


def parse_hello(body, server):
    """Facts of the first ClientHello/ServerHello in a handshake record."""
    if len(body) < 4 or body[0] != (2 if server else 1):
        return None
    m = body[4:4 + int.from_bytes(body[1:4], 'big')]
    f = {'legacy_version': struct.unpack('!H', m[:2])[0]}
    p = 34
    if server and (f['legacy_version'] >> 8) == 0x7f:
        # TLS 1.3 drafts <= 21: version, random, cipher, extensions
        f['version'] = f['legacy_version']
        f['cipher'] = struct.unpack('!H', m[p:p + 2])[0]
        f['draft_layout'] = True
        return f
    sid = m[p]; p += 1 + sid
    if server:
        f['cipher'] = struct.unpack('!H', m[p:p + 2])[0]; p += 3
    else:
        n = struct.unpack('!H', m[p:p + 2])[0]; p += 2 + n
        n = m[p]; p += 1 + n
    f['version'] = f['legacy_version']
    if p + 2 <= len(m):
        end = p + 2 + struct.unpack('!H', m[p:p + 2])[0]; p += 2
        while p + 4 <= end:
            et, el = struct.unpack('!HH', m[p:p + 4])
            ev = m[p + 4:p + 4 + el]
            if et == 43 and server and el == 2:
                f['version'] = struct.unpack('!H', ev)[0]
            if et == 0 and not server and len(ev) > 5:
                f['sni'] = ev[5:5 + struct.unpack('!H', ev[3:5])[0]].decode('latin-1')
            p += 4 + el
    return f


def session_facts(c):
    """What the bytes of a complete connection show (recorded captures)."""
    cb, cok = c.stream(0)
    sb, sok = c.stream(1)
    f = {'client_ip': c.client, 'client_port': c.cport, 'server_ip': c.server, 'server_port': c.sport,
         'complete': cok and sok}
    tls_c = tls_s = None
    if c.sport == 465:
        f['transport_wire'] = 'implicit_tls'
        tls_c, tls_s = 0, 0
    else:
        reps = replies(sb)
        f['greeting'] = reps[0][2][0] if reps else None
        f['server_name'] = reps[0][2][0][4:].split(' ')[0] if reps and reps[0][1] == 220 else None
        cmds = client_commands(cb, any(r[1] == 354 for r in reps))
        # STARTTLS: the client's TLS starts after its STARTTLS line, the
        # server's after the reply to it (the n-th reply, counted in order)
        st = [i for i, (_, v, _) in enumerate(cmds) if v == 'STARTTLS']
        f['starttls_sent'] = int(bool(st))
        f['starttls_reply'] = None
        if st:
            i = st[0]
            # replies: greeting + one per command before it (pipelined or not)
            n = 1 + i
            if n < len(reps):
                f['starttls_reply'] = reps[n][1]
                if 200 <= reps[n][1] < 300:
                    tls_c = cb.find(b'\n', cmds[i][0]) + 1
                    tls_s = reps[n][0]
                    cmds = client_commands(cb, False, tls_c)
        ehlo = [(i, v, l) for i, (_, v, l) in enumerate(cmds) if v in ('EHLO', 'HELO')]
        f['ehlo_name'] = ehlo[0][2].split(' ', 1)[1] if ehlo and ' ' in ehlo[0][2] else None
        # the capabilities are in the reply to EHLO (greeting + one reply per command before it)
        f['starttls_offered'] = None
        if ehlo and ehlo[0][1] == 'EHLO' and 1 + ehlo[0][0] < len(reps):
            rep = reps[1 + ehlo[0][0]]
            if rep[1] == 250:
                f['starttls_offered'] = int(any(l[4:].strip().upper() == 'STARTTLS' for l in rep[2][1:]))
        f['mail'] = sum(1 for _, v, _ in cmds if v == 'MAIL')
        f['rcpt'] = sum(1 for _, v, _ in cmds if v == 'RCPT')
        auth = [l for _, v, l in cmds if v == 'AUTH']
        f['auth'] = auth[0].split()[1].upper() if auth else None
        f['bdat'] = sum(1 for _, v, _ in cmds if v == 'BDAT')
        f['transport_wire'] = 'starttls' if tls_c is not None else 'plaintext'
    if tls_c is not None:
        f.update(tls_facts(cb[tls_c:], sb[tls_s:]))
    return f


def tls_facts(cb, sb):
    rc, rs = tls_records(cb), tls_records(sb)
    f = {'client_hello': 0, 'server_hello': 0}
    for _, t, _, body in rc:
        if t == 22:
            h = parse_hello(body, False)
            if h:
                f['client_hello'] = 1
                f['sni'] = h.get('sni')
            break
    for _, t, _, body in rs:
        if t == 22:
            h = parse_hello(body, True)
            if h:
                f['server_hello'] = 1
                f['version'] = h['version']
                f['cipher'] = h['cipher']
                f['draft_layout'] = h.get('draft_layout', False)
            break
    f['alerts_clear'] = [(d, body.hex()) for d, recs in ((0, rc), (1, rs))
                         for _, t, _, body in recs if t == 21 and len(body) == 2]
    # established: application data both ways after the client's handshake
    # (TLS 1.3: the client's first encrypted record is its Finished)
    c23 = [i for i, r in enumerate(rc) if r[1] == 23]
    s23 = [i for i, r in enumerate(rs) if r[1] == 23]
    if f.get('version') == 0x0304:
        f['client_app_data'] = len(c23) >= 2
    else:
        f['client_app_data'] = len(c23) >= 1
    f['server_app_data'] = len(s23) >= (2 if f.get('version') == 0x0304 else 1)
    f['established_wire'] = bool(f['server_hello'] and f['client_app_data'] and f['server_app_data'])
    return f

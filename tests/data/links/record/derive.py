#!/usr/bin/env python3
"""Makes the derived captures of tests/data/links from the recorded ones,
byte-faithfully: the recorded frames (or their IP packets) are copied
unchanged and only wrapped (tunnels), split (IP fragments), cut (editcap -s),
filtered (tcpdump -r), shifted and merged (editcap -t, mergecap) or thinned
(editcap, deleting whole frames).  What each one is and why its truth is
what it is: derived.py and ../README.md.

  python3 tests/data/links/record/derive.py          (after record.sh)
"""
import os, random, struct, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import pcapsess as P  # noqa: E402
from derived import DERIVED, select_sessions  # noqa: E402

OUTER_MAC = bytes.fromhex('02005e100102') + bytes.fromhex('02005e100101')   # dst, src
OUT4 = (bytes([203, 0, 113, 1]), bytes([203, 0, 113, 2]))                   # RFC 5737
OUT6 = (bytes.fromhex('20010db8ffff0000000000000000000' + '1'),
        bytes.fromhex('20010db8ffff0000000000000000000' + '2'))              # RFC 3849


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


class Outer:
    def __init__(self):
        self.ipid = 0x1000

    def ipv4(self, proto, payload, rev=False):
        src, dst = OUT4[::-1] if rev else OUT4
        self.ipid = (self.ipid + 1) & 0xffff
        h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(payload), self.ipid, 0x4000, 64, proto, 0, src, dst)
        h = h[:10] + struct.pack('!H', csum(h)) + h[12:]
        return h + payload

    def ipv6(self, nh, payload, rev=False):
        src, dst = OUT6[::-1] if rev else OUT6
        return struct.pack('!IHBB16s16s', 0x60000000, len(payload), nh, 64, src, dst) + payload

    @staticmethod
    def eth(etype, payload):
        return OUTER_MAC + struct.pack('!H', etype) + payload


def is_c2s(frame):
    d = P.decode(frame)
    return d is not None and d['dport'] in P.SERVER_PORTS


def inner_ip(frame):
    """The IP packet of an Ethernet frame (no VLAN in the recordings)."""
    return frame[14:]


def ip_len_frame(frame):
    """Ethernet frame without trailing padding (tcpdump keeps none here)."""
    return frame


# --- tunnels: one function per encapsulation, the inner bytes unchanged ---------

def wrap_gre(frames, key=0x00000457):
    o, seq, out = Outer(), 0, []
    for f in frames:
        et = struct.unpack('!H', f[12:14])[0]
        seq += 1
        gre = struct.pack('!HHII', 0x3000, et, key, seq)        # K and S bits (RFC 2890)
        out.append(Outer.eth(0x0800, o.ipv4(47, gre + inner_ip(f))))
    return out


def wrap_gre_teb(frames, key=0x0000002a):
    o, out = Outer(), []
    for f in frames:
        gre = struct.pack('!HHI', 0x2000, 0x6558, key)          # K bit, Transparent Ethernet Bridging
        out.append(Outer.eth(0x0800, o.ipv4(47, gre + f)))
    return out


def wrap_erspan2(frames, session=0x2a):
    o, seq, out = Outer(), 0, []
    for i, f in enumerate(frames):
        seq += 1
        gre = struct.pack('!HHI', 0x1000, 0x88be, seq)          # S bit, ERSPAN type II
        vlan, cos, en, t = 0, 0, 0, 0
        w1 = (1 << 28) | (vlan << 16) | (cos << 13) | (en << 11) | (t << 10) | session
        w2 = i & 0xfffff                                         # reserved 12 bits, index 20 bits
        out.append(Outer.eth(0x0800, o.ipv4(47, gre + struct.pack('!II', w1, w2) + f)))
    return out


def wrap_erspan3(frames, ts_100ns, session=0x2b):
    o, seq, out = Outer(), 0, []
    for f, ts in zip(frames, ts_100ns):
        seq += 1
        gre = struct.pack('!HHI', 0x1000, 0x22eb, seq)          # S bit, ERSPAN type III
        w1 = (2 << 28) | (0 << 16) | (0 << 13) | (0 << 11) | (0 << 10) | session   # ver 2, vlan 0, cos 0, bso 0, T 0
        tstamp = ts & 0xffffffff                                 # low 32 bits, in 100 ns units (Gra 01)
        hw = 1
        # SGT 0, P 1 (Ethernet PDU, as Linux's ERSPAN v2 sends), FT 0, Hw ID 1, D 0, Gra 01, O 1
        w3 = (0 << 16) | (1 << 15) | (0 << 10) | (hw << 4) | (0 << 3) | (1 << 1) | 1
        # platform-specific subheader, Platf ID 3: port index 0, upper 32 bits of the timestamp
        plat = struct.pack('!II', (3 << 26) | 0, (ts >> 32) & 0xffffffff)
        out.append(Outer.eth(0x0800, o.ipv4(47, gre + struct.pack('!III', w1, tstamp, w3) + plat + f)))
    return out


def udp4(o, sport, dport, payload, rev=False):
    u = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload   # checksum 0 (IPv4)
    return o.ipv4(17, u, rev)


def flow_port(f):
    d = P.decode(f)
    return 49152 + ((d['sport'] ^ d['dport']) & 0x3fff) if d else 49152


def wrap_vxlan(frames, vni=4242):
    o, out = Outer(), []
    for f in frames:
        vx = struct.pack('!II', 0x08000000, vni << 8)
        out.append(Outer.eth(0x0800, udp4(o, flow_port(f), 4789, vx + f)))
    return out


def wrap_geneve(frames, vni=4243):
    o, out = Outer(), []
    for f in frames:
        opt = struct.pack('!HBB', 0xffff, 0x01, 1) + struct.pack('!I', 0x6c696e6b)   # experimental class, 4 bytes
        optlen = len(opt) // 4
        gh = struct.pack('!BBHI', (0 << 6) | optlen, 0, 0x6558, vni << 8)
        out.append(Outer.eth(0x0800, udp4(o, flow_port(f), 6081, gh + opt + f)))
    return out


def wrap_gtpu(frames):
    """GTPv1-U G-PDUs with the 5G PDU Session Container extension header:
    client->server uplink (gNB 203.0.113.1 -> UPF .2, TEID 0x1001),
    server->client downlink (UPF -> gNB, TEID 0x2001)."""
    o, out, seq = Outer(), [], 0
    for f in frames:
        up = is_c2s(f)
        ip = inner_ip(f)
        seq += 1
        # PDU Session Container: length 1 (4 bytes), PDU type 1 (UL) / 0 (DL), QFI 9
        ext = bytes([1, (1 if up else 0) << 4, 9, 0])
        opt = struct.pack('!HBB', seq & 0xffff, 0, 0x85) + ext
        hdr = struct.pack('!BBHI', 0x34, 0xff, len(opt) + len(ip), 0x1001 if up else 0x2001)
        out.append(Outer.eth(0x0800, udp4(o, 2152, 2152, hdr + opt + ip, rev=not up)))
    return out


def wrap_4in6(frames):
    o = Outer()
    return [Outer.eth(0x86dd, o.ipv6(4, inner_ip(f), rev=not is_c2s(f))) for f in frames]


def wrap_6in4(frames):
    o = Outer()
    return [Outer.eth(0x0800, o.ipv4(41, inner_ip(f), rev=not is_c2s(f))) for f in frames]


def mpls(label, s, ttl=255, tc=0):
    return struct.pack('!I', (label << 12) | (tc << 9) | (s << 8) | ttl)


def wrap_eompls(frames, cw):
    out, seq = [], 0
    for f in frames:
        seq += 1
        stack = mpls(16004, 0) + mpls(299792, 1)                 # transport label, pseudowire label
        ctl = struct.pack('!I', seq & 0xffff) if cw else b''     # RFC 4385: 0000, flags 0, frg 0, len 0, seq
        out.append(Outer.eth(0x8847, stack + ctl + f))
    return out


# --- IP fragments ------------------------------------------------------------------

def frag_ipv4(frames, ts, size=128, seed=4):
    """Every IPv4 packet with more than `size` bytes of payload is split into
    fragments of `size` bytes (DF cleared, a fresh IP ID, header checksum
    recomputed); the fragments of each datagram are shuffled, the last one of
    every third datagram is sent after the next datagram, the 1st, 3rd and 5th
    datagrams get an extra fragment overlapping two others with the same
    bytes, and the 2nd gets a conflicting copy of a fragment *after* the
    original (first copy wins)."""
    rnd = random.Random(seed)
    out, held, ipid, n = [], [], 0x4000, 0
    for f, t in zip(frames, ts):
        ip = f[14:]
        ihl = (ip[0] & 0x0f) * 4
        total = struct.unpack('!H', ip[2:4])[0]
        pay = ip[ihl:total]
        if len(pay) <= size:
            out.append((t, f))
            out.extend(held); held = []
            continue
        ipid += 1
        n += 1
        frags = []
        for off in range(0, len(pay), size):
            part = pay[off:off + size]
            more = off + size < len(pay)
            frags.append((off, part, more))
        if n in (1, 3, 5):  # an overlapping fragment with the same bytes
            off = size // 2
            frags.append((off, pay[off:off + size], off + size < len(pay)))
        rnd.shuffle(frags)
        if n == 2:          # a conflicting copy, after the original
            off, part, more = frags[0]
            frags.append((off, bytes(b ^ 0x5a for b in part), more))
        pkts = []
        for i, (off, part, more) in enumerate(frags):
            h = bytearray(ip[:ihl])
            struct.pack_into('!H', h, 2, ihl + len(part))
            struct.pack_into('!H', h, 4, ipid)
            struct.pack_into('!H', h, 6, (0x2000 if more else 0) | (off // 8))
            struct.pack_into('!H', h, 10, 0)
            struct.pack_into('!H', h, 10, csum(bytes(h)))
            pkts.append((t + i * 1e-6, f[:14] + bytes(h) + part))
        if n % 3 == 0:
            out.extend(pkts[:-1]); out.extend(held); held = [pkts[-1]]
        else:
            out.extend(pkts); out.extend(held); held = []
    out.extend(held)
    return out


def frag_ipv6(frames, ts, size=128, seed=6):
    """IPv6: a Fragment header (44) after the fixed header; fragments shuffled,
    the last of every third datagram after the next one; no overlaps (RFC 5722
    makes a receiver drop a datagram with overlapping fragments)."""
    rnd = random.Random(seed)
    out, held, ident, n = [], [], 0x6000, 0
    for f, t in zip(frames, ts):
        ip = f[14:]
        plen = struct.unpack('!H', ip[4:6])[0]
        nh = ip[6]
        pay = ip[40:40 + plen]
        if len(pay) <= size:
            out.append((t, f))
            out.extend(held); held = []
            continue
        ident += 1
        n += 1
        frags = [(off, pay[off:off + size], off + size < len(pay)) for off in range(0, len(pay), size)]
        rnd.shuffle(frags)
        pkts = []
        for i, (off, part, more) in enumerate(frags):
            h = bytearray(ip[:40])
            struct.pack_into('!H', h, 4, 8 + len(part))
            h[6] = 44
            fh = struct.pack('!BBHI', nh, 0, (off // 8) << 3 | (1 if more else 0), ident)
            pkts.append((t + i * 1e-6, f[:14] + bytes(h) + fh + part))
        if n % 3 == 0:
            out.extend(pkts[:-1]); out.extend(held); held = [pkts[-1]]
        else:
            out.extend(pkts); out.extend(held); held = []
    out.extend(held)
    return out


# --- helpers ---------------------------------------------------------------------------

LOG = []


def note(text):
    LOG.append(text.replace(OUT + '/', '').replace(tempfile.gettempdir() + '/', '$TMP/'))


def run(*a):
    note('$ ' + ' '.join(a))
    subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def ts_parts(t):
    s = int(t)
    return s, int(round((t - s) * 1e6))


def records_from(pc, pairs):
    recs = []
    for t, data in pairs:
        s, us = ts_parts(t)
        if us >= 1000000:
            s, us = s + 1, us - 1000000
        recs.append((s, us, len(data), len(data), data))
    return recs


def keep_frames(src, dst, keep):
    """editcap: delete every frame not in keep (1-based numbers)."""
    pc = P.read_pcap(src)
    drop = [str(i + 1) for i in range(len(pc.records)) if i not in keep]
    note(f'frames of the source deleted ({len(drop)} of {len(pc.records)}): {" ".join(drop)}')
    if not drop:
        run('cp', src, dst)
        return
    with tempfile.TemporaryDirectory() as d:
        cur = src
        for k in range(0, len(drop), 500):       # editcap takes the frames as arguments
            nxt = os.path.join(d, f'part{k}.pcap')
            # frame numbers shift after each pass: delete from the highest down
            run('editcap', '-F', 'pcap', cur, nxt, *drop[::-1][k:k + 500])
            cur = nxt
        run('cp', cur, dst)


def make(name, spec):
    LOG.clear()
    _make(name, spec)
    pc = P.read_pcap(os.path.join(OUT, name))
    with open(os.path.join(OUT, 'logs', name + '.log'), 'w') as f:
        f.write(f"### derived capture {name} from {spec['source']} (record/derive.py, record/derived.py)\n")
        f.write(f"### {spec['what']}\n")
        f.write('\n'.join(LOG) + '\n')
        f.write(f'### result: {len(pc.records)} frames\n')
        f.write(f"### evidence of the sessions themselves: logs/{spec['source']}.log\n")


def _make(name, spec):
    src = os.path.join(OUT, spec['source'])
    dst = os.path.join(OUT, name)
    kind = spec['kind']
    pc = P.read_pcap(src)
    conns = select_sessions(P.connections(pc), spec)
    frames_idx = sorted(i for c in conns for i in c.frames)
    note('sessions kept: ' + ', '.join(f'{c.client}:{c.cport} -> {c.server}:{c.sport}' for c in conns))
    if kind == 'tunnel':
        frames = [pc.records[i][4] for i in frames_idx]
        ts = [pc.ts(pc.records[i]) for i in frames_idx]
        how = spec['encap']
        if how == 'erspan3':
            wrapped = wrap_erspan3(frames, [int(round(t * 1e7)) for t in ts])
        else:
            wrapped = {'gre': wrap_gre, 'gre-teb': wrap_gre_teb, 'erspan2': wrap_erspan2,
                       'vxlan': wrap_vxlan, 'geneve': wrap_geneve, 'gtpu': wrap_gtpu,
                       '4in6': wrap_4in6, '6in4': wrap_6in4,
                       'eompls-cw': lambda fr: wrap_eompls(fr, True),
                       'eompls': lambda fr: wrap_eompls(fr, False)}[how](frames)
        recs = [(r[0], r[1], len(w), len(w), w) for r, w in zip((pc.records[i] for i in frames_idx), wrapped)]
        P.write_pcap(dst, pc, recs, snaplen=262144)
        note(f'{len(frames_idx)} frames of the source wrapped ({how}); timestamps unchanged; '
             f'inner bytes: frame[14:] (the IP packet) for gre, gtpu, 4in6, 6in4; the whole frame otherwise')
    elif kind == 'frag':
        frames = [pc.records[i][4] for i in frames_idx]
        ts = [pc.ts(pc.records[i]) for i in frames_idx]
        pairs = (frag_ipv4 if spec['family'] == 4 else frag_ipv6)(frames, ts)
        P.write_pcap(dst, pc, records_from(pc, pairs))
        note(f'{len(frames)} source frames -> {len(pairs)} frames; in the order written:')
        for t, f in pairs:
            note('  ' + frag_desc(f))
    elif kind == 'snaplen':
        run('editcap', '-F', 'pcap', '-s', str(spec['snaplen']), src, dst)
    elif kind in ('c2s', 's2c'):
        flt = 'dst net 198.51.100.0/24' if kind == 'c2s' else 'src net 198.51.100.0/24'
        run('tcpdump', '-Z', 'root', '-r', src, '-w', dst, flt)
    elif kind == 'two-taps':
        with tempfile.TemporaryDirectory() as d:
            a, b, b2 = (os.path.join(d, x) for x in ('c2s.pcap', 's2c.pcap', 's2c-shifted.pcap'))
            run('tcpdump', '-Z', 'root', '-r', src, '-w', a, 'dst net 198.51.100.0/24')
            run('tcpdump', '-Z', 'root', '-r', src, '-w', b, 'src net 198.51.100.0/24')
            run('editcap', '-F', 'pcap', '-t', str(spec['offset']), b, b2)
            run('mergecap', '-F', 'pcap', '-w', dst, a, b2)
    elif kind in ('midstream', 'auth-noreplies', 'subset'):
        keep = set(frames_idx)
        if kind == 'midstream':
            keep = set()
            for c in conns:
                keep |= set(c.frames[midstream_cut(pc, c):])
        elif kind == 'auth-noreplies':
            for c in conns:
                keep -= auth_reply_frames(pc, c)
        keep_frames(src, dst, keep)
    else:
        raise SystemExit(f'{name}: unknown kind {kind}')


def frag_desc(f):
    if f[12:14] == b'\x08\x00':
        ident, fo = struct.unpack('!HH', f[18:22])
        ln = struct.unpack('!H', f[16:18])[0] - (f[14] & 0x0f) * 4
        return f'IPv4 id 0x{ident:04x} offset {(fo & 0x1fff) * 8} len {ln} MF {fo >> 13 & 1}'
    if f[20] == 44:
        nh, _, fo, ident = struct.unpack('!BBHI', f[54:62])
        ln = struct.unpack('!H', f[18:20])[0] - 8
        return f'IPv6 id 0x{ident:08x} offset {fo & 0xfff8} len {ln} M {fo & 1}'
    return 'whole packet'


def midstream_cut(pc, c):
    """Index (in c.frames) of the client's STARTTLS segment: everything
    before it is dropped, so the 220 to STARTTLS is the first server line."""
    for k, i in enumerate(c.frames):
        d = P.decode(pc.records[i][4])
        if d['dport'] == c.sport and d['payload'].upper().startswith(b'STARTTLS'):
            return k
    return 0          # plaintext sessions stay whole


def auth_reply_frames(pc, c):
    """Frame indexes of the server's replies from the one to AUTH LOGIN up to
    and including the 235."""
    drop, on = set(), False
    for i in c.frames:
        d = P.decode(pc.records[i][4])
        pay = d['payload']
        if d['dport'] == c.sport and pay.upper().startswith(b'AUTH LOGIN'):
            on = True
            continue
        if on and d['sport'] == c.sport and pay:
            drop.add(i)
            if pay.startswith(b'235'):
                break
    return drop


def main():
    names = sys.argv[1:] or list(DERIVED)
    for name in names:
        make(name, DERIVED[name])
        print('made', name)


if __name__ == '__main__':
    main()

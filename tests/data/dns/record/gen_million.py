#!/usr/bin/python3
"""Write a capture with N distinct DNS names (default one million) for the
memory test of the passive-DNS table (issue 17: "Memory of the passive-DNS
table stays under its cap on a capture with a million distinct names").
Generated at test time, never committed (226 MB for a million names).

Each name gets one UDP query from a resolver (192.0.2.25) to an authoritative
server (198.51.100.3) and its answer, 40 us apart:
  i % 4 == 0  MX     n<i>.mem.test       -> 10 mx<i>.mem.test   (a second distinct name)
  i % 4 == 1  A      mx<i-1>.mem.test    -> 203.0.<x>.<y>       (the MX host's address)
  i % 4 == 2  TXT    _mta-sts.n<i>.mem.test -> "v=STSv1; id=<i>;"
  i % 4 == 3  TLSA   _25._tcp.mx<i-3>.mem.test -> 3 1 1 <sha256 of i>
so every answer is of a kind the sensor keeps, and MX->A pairs chain as on a real
link.  TTLs cycle through 1 s .. 68 years (1, 30, 300, 3600, 86400, 604800,
2147483647), so some entries expire during the capture and most do not.

The messages are encoded here with struct for speed (scapy needs ~100 us per
packet); --check K decodes K evenly spaced packets with scapy and compares
every field with what was meant, so the bytes are checked by an independent
DNS implementation.  Names are distinct by construction (the index is in each).

usage: gen_million.py OUT.pcap [--names N] [--check K]
"""
import argparse
import hashlib
import struct
import sys

TTLS = [1, 30, 300, 3600, 86400, 604800, 2147483647]
T0 = 1767225600          # 2026-01-01T00:00:00Z
STEP_US = 40
MAC_R, MAC_A = bytes.fromhex('020000000019'), bytes.fromhex('020000000053')
RES, AUTH = bytes([192, 0, 2, 25]), bytes([198, 51, 100, 3])
T_A, T_MX, T_TXT, T_TLSA = 1, 15, 16, 52


def qname(i):
    k = i % 4
    base = i - k
    return [f'n{base}.mem.test', f'mx{base}.mem.test', f'_mta-sts.n{base}.mem.test',
            f'_25._tcp.mx{base}.mem.test'][k]


def rrtype(i):
    return [T_MX, T_A, T_TXT, T_TLSA][i % 4]


def rdata_of(i):
    k, base = i % 4, i - i % 4
    if k == 0:
        return ('mx', 10, f'mx{base}.mem.test')
    if k == 1:
        return ('a', f'203.0.{(base >> 8) & 255}.{base & 255}')
    if k == 2:
        return ('txt', f'v=STSv1; id={base};')
    return ('tlsa', 3, 1, 1, hashlib.sha256(str(base).encode()).digest())


def enc_name(n):
    out = b''
    for label in n.split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def enc_rdata(rd):
    if rd[0] == 'mx':
        return struct.pack('!H', rd[1]) + enc_name(rd[2])
    if rd[0] == 'a':
        return bytes(int(x) for x in rd[1].split('.'))
    if rd[0] == 'txt':
        s = rd[1].encode()
        return bytes([len(s)]) + s
    return bytes(rd[1:4]) + rd[4]


def dns_msg(i, response):
    qid = i & 0xFFFF
    flags = 0x8400 if response else 0x0100          # QR AA / RD
    q = enc_name(qname(i)) + struct.pack('!HH', rrtype(i), 1)
    if not response:
        return struct.pack('!HHHHHH', qid, flags, 1, 0, 0, 0) + q
    rd = enc_rdata(rdata_of(i))
    ans = b'\xc0\x0c' + struct.pack('!HHIH', rrtype(i), 1, TTLS[i % len(TTLS)], len(rd)) + rd
    return struct.pack('!HHHHHH', qid, flags, 1, 1, 0, 0) + q + ans


def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(i, response):
    payload = dns_msg(i, response)
    sport = 1024 + (i * 7919) % 64000
    src, dst, sp, dp = (AUTH, RES, 53, sport) if response else (RES, AUTH, sport, 53)
    udp = struct.pack('!HHHH', sp, dp, 8 + len(payload), 0) + payload
    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0, src, dst)
    iph = iph[:10] + struct.pack('!H', csum(iph)) + iph[12:]
    eth = (MAC_R + MAC_A if response else MAC_A + MAC_R) + b'\x08\x00'
    return eth + iph + udp


def write(path, n):
    with open(path, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            for resp in (False, True):
                fr = frame(i, resp)
                us = (2 * i + resp) * STEP_US
                f.write(struct.pack('<IIII', T0 + us // 1000000, us % 1000000, len(fr), len(fr)) + fr)


def frames(path):
    """(index, frame bytes) of a pcap file, without decoding anything."""
    with open(path, 'rb') as f:
        f.read(24)
        idx = 0
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            incl = struct.unpack('<IIII', h)[2]
            yield idx, f.read(incl)
            idx += 1


def check(path, n, k):
    from scapy.all import DNS, UDP, Ether
    want = {(n - 1) * j // max(k - 1, 1) for j in range(k)}
    bad = 0
    for idx, raw in frames(path):
        i, resp = divmod(idx, 2)
        if i not in want:
            continue
        d = DNS(bytes(Ether(raw)[UDP].payload))
        q = d.qd[0] if isinstance(d.qd, list) else d.qd
        ok = q.qname.decode().rstrip('.') == qname(i) and q.qtype == rrtype(i) and d.qr == resp
        if resp:
            rr = d.an[0] if isinstance(d.an, list) else d.an
            rd = rdata_of(i)
            ok = ok and rr.ttl == TTLS[i % len(TTLS)] and rr.rrname.decode().rstrip('.') == qname(i)
            if rd[0] == 'mx':
                ok = ok and rr.preference == 10 and rr.exchange.decode().rstrip('.') == rd[2]
            elif rd[0] == 'a':
                ok = ok and rr.rdata == rd[1]
            elif rd[0] == 'txt':
                got = rr.rdata[0] if isinstance(rr.rdata, list) else rr.rdata
                ok = ok and got == rd[1].encode()
            else:
                raw = rr.rdata if isinstance(rr.rdata, bytes) else bytes(rr.rdata)
                ok = ok and raw == bytes(rd[1:4]) + rd[4]
        if not ok:
            bad += 1
            print(f'packet {idx} (name {i}) does not decode as meant: {d.summary()}', file=sys.stderr)
    print(f'checked {len(want)} names with scapy: {bad} wrong')
    return bad == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out')
    ap.add_argument('--names', type=int, default=1000000)
    ap.add_argument('--check', type=int, default=200)
    a = ap.parse_args()
    write(a.out, a.names)
    print(f'{a.out}: {a.names} distinct query names, {2 * a.names} frames, '
          f'{(a.names + 3) // 4} of them MX answers, each naming its own MX host')
    if a.check and not check(a.out, a.names, a.check):
        sys.exit(1)


if __name__ == '__main__':
    main()

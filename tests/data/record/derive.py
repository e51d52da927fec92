#!/usr/bin/python3
"""Derives tests/data/derived/*.pcap from recorded captures: the same frames
as a mirror port or an ISP link would deliver them (inside tunnels, IP
fragmented in random order, the two directions merged from two taps with a
clock offset). Every TCP byte stays as recorded; only what is wrapped
around it, cut into fragments or reordered between the directions changes.
tests/e2e/derived.sh checks that smtptls gives the same rows for each as
for the originals.

usage: tests/data/record/derive.py [OUT_DIR]   (python3-scapy; Debian's python3)
"""
import os
import random
import struct
import sys

from scapy.all import Ether, IP, IPv6, UDP, Raw, rdpcap, wrpcap
from scapy.layers.inet6 import IPv6ExtHdrFragment
from scapy.layers.l2 import GRE
from scapy.layers.vxlan import VXLAN
from scapy.contrib.geneve import GENEVE
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer
from scapy.contrib.mpls import MPLS
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III, ERSPAN_PlatformSpecific

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
# Short sessions: STARTTLS TLS 1.2 with the certificate in clear, plaintext
# with STARTTLS offered, STARTTLS TLS 1.3 over IPv6.
SOURCES = ["starttls-tls12.pcap", "offered-not-used.pcap", "ipv6.pcap"]
SERVER_PORTS = {25, 465, 587}

OUTER_MAC = ("02:00:00:00:00:01", "02:00:00:00:00:02")
OUTER4 = ("192.0.2.10", "192.0.2.20")      # tunnel ends (client side, server side)
OUTER6 = ("2001:db8:7::10", "2001:db8:7::20")


def frames():
    """The sources' frames in time order, each (time, frame, from_client)."""
    out = []
    for name in SOURCES:
        for p in rdpcap(os.path.join(DATA, name)):
            tcp = p.getlayer("TCP")
            out.append((p.time, p, tcp.dport in SERVER_PORTS))
    out.sort(key=lambda x: x[0])
    return out


def inner_ip(frame):
    """The frame's IP packet (what follows its Ethernet header)."""
    return frame.payload


def outer_ip(from_client, proto=None, v6=False):
    a, b = (OUTER6 if v6 else OUTER4)
    src, dst = (a, b) if from_client else (b, a)
    if v6:
        return IPv6(src=src, dst=dst) if proto is None else IPv6(src=src, dst=dst, nh=proto)
    return IP(src=src, dst=dst, id=0) if proto is None else IP(src=src, dst=dst, proto=proto, id=0)


def outer_eth(from_client, v6=False):
    a, b = OUTER_MAC
    src, dst = (a, b) if from_client else (b, a)
    return Ether(src=src, dst=dst, type=0x86DD if v6 else 0x0800)


def ethertype(frame):
    return 0x86DD if frame.type == 0x86DD else 0x0800


# ---- tunnels: each maps (frame, from_client, n) to the frame on the wire ----

def gre(frame, fc, n):
    """GRE with checksum, key and sequence number (RFC 2890) carrying IP."""
    return (outer_eth(fc) / outer_ip(fc) /
            GRE(chksum_present=1, key_present=1, key=0x5eed, seqnum_present=1,
                sequence_number=n, proto=ethertype(frame)) / inner_ip(frame))


def erspan2(frame, fc, n):
    """A switch mirrors both directions to a collector: ERSPAN type II."""
    return (outer_eth(True) / outer_ip(True) /
            GRE(seqnum_present=1, sequence_number=n, proto=0x88BE) /
            ERSPAN_II(ver=1, vlan=10, session_id=7, index=3) / frame)


def erspan3(frame, fc, n):
    """ERSPAN type III with its platform-specific subheader."""
    return (outer_eth(True) / outer_ip(True) /
            GRE(seqnum_present=1, sequence_number=n, proto=0x22EB) /
            ERSPAN_III(vlan=10, session_id=9, timestamp=n * 1000, ft=0, o=1) /
            ERSPAN_PlatformSpecific(platf_id=3, info1=1, info2=2) / frame)


def vxlan(frame, fc, n):
    return (outer_eth(fc) / outer_ip(fc) / UDP(sport=49152 + n % 1000, dport=4789) /
            VXLAN(flags=0x08, vni=4242) / frame)


def geneve(frame, fc, n):
    """Geneve over IPv6 with a 8-byte option, carrying Ethernet."""
    opt = struct.pack("!HBB", 0x0102, 0x03, 1) + b"\x00\x00\x00\x2a"
    return (outer_eth(fc, v6=True) / outer_ip(fc, v6=True) / UDP(sport=50000, dport=6081) /
            GENEVE(proto=0x6558, vni=77, optionlen=2, options=opt) / frame)


def gtpu(frame, fc, n):
    """GTP-U G-PDU with a sequence number and a PDU session container."""
    return (outer_eth(fc) / outer_ip(fc) / UDP(sport=2152, dport=2152) /
            GTP_U_Header(teid=0x1000 + int(fc), E=1, S=1, seq=n, next_ex=0x85) /
            GTPPDUSessionContainer(type=1 if fc else 0, QFI=9) / inner_ip(frame))


def ipip(frame, fc, n):
    """IPv4 in IPv6 and IPv6 in IPv4."""
    v6_inside = frame.type == 0x86DD
    return (outer_eth(fc, v6=not v6_inside) /
            outer_ip(fc, proto=41 if v6_inside else 4, v6=not v6_inside) / inner_ip(frame))


PW_MAC = ("52:54:00:00:00:0c", "52:54:00:00:00:19")


def pw_frame(frame, fc):
    """The frame with MACs a pseudowire would carry (the recordings' loopback
    MACs are all zero, which Wireshark takes for a Xerox address)."""
    src, dst = PW_MAC if fc else PW_MAC[::-1]
    return Ether(src=src, dst=dst, type=frame.type) / frame.payload


def eompls_cw(frame, fc, n):
    """Ethernet over MPLS: two labels, a pseudowire control word (RFC 4448)."""
    cw = struct.pack("!HH", 0, n & 0xFFFF)
    return (Ether(src=OUTER_MAC[0], dst=OUTER_MAC[1], type=0x8847) / MPLS(label=1001, s=0) /
            MPLS(label=2002, s=1) / Raw(cw) / pw_frame(frame, fc))


def eompls(frame, fc, n):
    """Ethernet over MPLS without a control word."""
    return (Ether(src=OUTER_MAC[0], dst=OUTER_MAC[1], type=0x8847) / MPLS(label=1001, s=0) /
            MPLS(label=2002, s=1) / pw_frame(frame, fc))


TUNNELS = {"gre": gre, "erspan2": erspan2, "erspan3": erspan3, "vxlan": vxlan,
           "geneve": geneve, "gtpu": gtpu, "ipip": ipip, "eompls-cw": eompls_cw,
           "eompls": eompls}


# ---- fragments ----------------------------------------------------------------

def fragments_of(ip, size, rng, ident):
    """The IP packet cut into fragments of at most size payload bytes, in
    random order; now and then one is sent twice, or an extra one overlaps
    two others with the same bytes. What comes after the datagram is
    complete never makes a second copy of it (that would be a duplicated
    packet, counted as one)."""
    if isinstance(ip, IPv6):
        head = IPv6(src=ip.src, dst=ip.dst, nh=44, hlim=ip.hlim)
        data, nxt = bytes(ip.payload), ip.nh
    else:
        head = IP(src=ip.src, dst=ip.dst, proto=ip.proto, ttl=ip.ttl, id=ident)
        data, nxt = bytes(ip.payload), None
    if len(data) <= size:
        return [ip]
    pieces = [(off, data[off:off + size]) for off in range(0, len(data), size)]
    if rng.random() < 0.3:
        pieces.append(rng.choice(pieces))
    half = size // 2 & ~7  # offsets count 8-byte units
    if rng.random() < 0.3 and len(data) > half + size:
        pieces.append((half, data[half:half + size]))  # never the last one
    rng.shuffle(pieces)
    out = []
    for off, chunk in pieces:
        more = off + len(chunk) < len(data)
        if nxt is None:
            out.append(head.copy() / Raw(chunk))
            out[-1].flags = "MF" if more else 0
            out[-1].frag = off // 8
        else:
            out.append(head.copy() / IPv6ExtHdrFragment(nh=nxt, offset=off // 8, m=int(more),
                                                          id=ident) / Raw(chunk))
    return out


def fragmented(pkts, size, rng):
    """Each frame's IP packet as fragments, each in an Ethernet frame of its own."""
    out = []
    for n, (t, frame, fc) in enumerate(pkts):
        for k, frag in enumerate(fragments_of(inner_ip(frame), size, rng, 0x4000 + n)):
            eth = Ether(src=frame.src, dst=frame.dst, type=ethertype(frame))
            out.append((t + k * 1e-6, eth / frag, fc))
    return out


# ---- writing ----------------------------------------------------------------------

def write(out_dir, name, pkts):
    wire = []
    for t, p, _ in pkts:
        p.time = t
        wire.append(p)
    wrpcap(os.path.join(out_dir, name + ".pcap"), wire, linktype=1)
    print(f"{name}.pcap: {len(wire)} frames")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(DATA, "derived")
    os.makedirs(out_dir, exist_ok=True)
    src = frames()
    for name, wrap in TUNNELS.items():
        write(out_dir, name, [(t, wrap(f, fc, n), fc) for n, (t, f, fc) in enumerate(src)])
    rng = random.Random(20261122)
    write(out_dir, "fragments", fragmented(src, 96, rng))
    # fragments inside a tunnel: each fragment of the inner packet in VXLAN
    write(out_dir, "vxlan-fragments",
          [(t, vxlan(f, fc, n), fc) for n, (t, f, fc) in enumerate(fragmented(src, 200, rng))])
    # a tunnel inside fragments: GRE whose outer IPv4 packets are fragmented
    gre_frames = [(t, gre(f, fc, n), fc) for n, (t, f, fc) in enumerate(src)]
    write(out_dir, "gre-fragmented", fragmented(gre_frames, 256, rng))
    # two taps, one per direction, one clock 80 ms late
    for late, who in ((True, "client"), (False, "server")):
        skewed = [(t + (0.08 if fc == late else 0), f, fc) for t, f, fc in src]
        skewed.sort(key=lambda x: x[0])
        write(out_dir, f"skew-{who}-late", skewed)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Loss, delay and reordering on loopback without sch_netem (this kernel has no netem).

Packets are steered by nftables to NFQUEUE (see impair_on/impair_off in record.sh);
this program talks nfnetlink_queue directly over an AF_NETLINK socket (no library)
and gives each queued packet a verdict:
  - with probability --loss: NF_DROP (a real loss; the sender's TCP retransmits),
  - with probability --reorder: accepted at once,
  - otherwise held for a uniform random --delay +- --jitter ms, then accepted
    (the netem "delay 3ms 2ms loss 4% reorder 20%" idea: immediate packets overtake
    delayed ones, so the receiver - and tcpdump, which sees lo traffic after the
    OUTPUT hook - gets segments out of order).
Every drop and every immediate (overtaking) packet is logged with its TCP 4-tuple,
seq and payload length.  Stops by itself after --duration seconds.
"""
import argparse, heapq, random, select, signal, socket, struct, sys, time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET, NFQNL_MSG_VERDICT, NFQNL_MSG_CONFIG = 0, 1, 2
NFQA_CFG_CMD, NFQA_CFG_PARAMS = 1, 2
NFQNL_CFG_CMD_BIND, NFQNL_CFG_CMD_UNBIND = 1, 2
NFQNL_COPY_PACKET = 2
NFQA_PACKET_HDR, NFQA_VERDICT_HDR, NFQA_PAYLOAD = 1, 2, 10
NF_DROP, NF_ACCEPT = 0, 1
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2

def attr(t, data):
    l = 4 + len(data)
    return struct.pack('=HH', l, t) + data + b'\0' * ((4 - l % 4) % 4)

def nlmsg(msgtype, flags, queue, attrs, family=socket.AF_UNSPEC):
    body = struct.pack('=BBH', family, 0, socket.htons(queue)) + attrs
    return struct.pack('=IHHII', 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | msgtype, flags, 0, 0) + body

def parse_attrs(buf):
    out, off = {}, 0
    while off + 4 <= len(buf):
        l, t = struct.unpack_from('=HH', buf, off)
        if l < 4:
            break
        out[t & 0x7fff] = buf[off + 4: off + l]
        off += (l + 3) & ~3
    return out

def describe(pkt):
    try:
        v = pkt[0] >> 4
        if v == 4:
            ihl = (pkt[0] & 15) * 4; proto = pkt[9]; tot = struct.unpack_from('!H', pkt, 2)[0]
            src, dst = socket.inet_ntop(socket.AF_INET, pkt[12:16]), socket.inet_ntop(socket.AF_INET, pkt[16:20])
            t = pkt[ihl:]; plen = tot - ihl
        else:
            proto = pkt[6]; plen = struct.unpack_from('!H', pkt, 4)[0]
            src, dst = socket.inet_ntop(socket.AF_INET6, pkt[8:24]), socket.inet_ntop(socket.AF_INET6, pkt[24:40])
            t = pkt[40:]
        if proto != 6:
            return f'{src} -> {dst} proto {proto}'
        sp, dp, seq = struct.unpack_from('!HHI', t, 0)
        doff = (t[12] >> 4) * 4; fl = t[13]
        flags = ''.join(c for c, b in zip('FSRPAU', (1, 2, 4, 8, 16, 32)) if fl & b)
        return f'{src}:{sp} -> {dst}:{dp} [{flags}] seq={seq} len={plen - doff}'
    except Exception as e:
        return f'<unparsed {e}>'

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--queue', type=int, default=0)
    ap.add_argument('--loss', type=float, default=0.04)
    ap.add_argument('--reorder', type=float, default=0.20)
    ap.add_argument('--delay', type=float, default=3.0); ap.add_argument('--jitter', type=float, default=2.0)
    ap.add_argument('--duration', type=float, default=120); ap.add_argument('--seed', type=int)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    s.bind((0, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.send(nlmsg(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, a.queue, attr(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_BIND, 0, socket.AF_INET))))
    s.send(nlmsg(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, a.queue, attr(NFQA_CFG_PARAMS, struct.pack('!IB', 128, NFQNL_COPY_PACKET))))

    def verdict(pid, v, queue=a.queue):
        s.send(nlmsg(NFQNL_MSG_VERDICT, NLM_F_REQUEST, queue, attr(NFQA_VERDICT_HDR, struct.pack('!II', v, pid))))

    held = []  # (due, packet_id)
    stats = dict(seen=0, dropped=0, immediate=0, delayed=0)
    t0 = time.monotonic(); end = [t0 + a.duration]
    signal.signal(signal.SIGTERM, lambda *_: end.__setitem__(0, 0))
    print(f'netimpair: queue {a.queue} loss={a.loss} reorder(immediate)={a.reorder} delay={a.delay}+-{a.jitter}ms', flush=True)
    while time.monotonic() < end[0]:
        now = time.monotonic()
        while held and held[0][0] <= now:
            verdict(heapq.heappop(held)[1], NF_ACCEPT)
        timeout = min(0.05, max(0.0, held[0][0] - now)) if held else 0.05
        try:
            r, _, _ = select.select([s], [], [], timeout)
        except InterruptedError:
            continue
        if not r:
            continue
        buf = s.recv(1 << 20)
        off = 0
        while off + 16 <= len(buf):
            ln, typ, flags, seq, pid = struct.unpack_from('=IHHII', buf, off)
            if ln < 16:
                break
            msg = buf[off + 16: off + ln]; off += (ln + 3) & ~3
            if typ == NLMSG_ERROR:
                err = struct.unpack_from('=i', msg, 0)[0]
                if err:
                    print(f'netlink error {err}', flush=True)
                continue
            if typ != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET):
                continue
            at = parse_attrs(msg[4:])
            pid = struct.unpack_from('!I', at[NFQA_PACKET_HDR], 0)[0]
            what = describe(at.get(NFQA_PAYLOAD, b''))
            stats['seen'] += 1
            x = rnd.random(); t = time.monotonic() - t0
            if x < a.loss:
                stats['dropped'] += 1; verdict(pid, NF_DROP)
                print(f'{t:9.4f} DROP      {what}', flush=True)
            elif x < a.loss + a.reorder:
                stats['immediate'] += 1; verdict(pid, NF_ACCEPT)
                if held:
                    print(f'{t:9.4f} OVERTAKES {what} ({len(held)} held)', flush=True)
            else:
                stats['delayed'] += 1
                d = max(0.0, rnd.uniform(a.delay - a.jitter, a.delay + a.jitter)) / 1000
                heapq.heappush(held, (time.monotonic() + d, pid))
    for _, pid in held:
        verdict(pid, NF_ACCEPT)
    s.send(nlmsg(NFQNL_MSG_CONFIG, NLM_F_REQUEST, a.queue, attr(NFQA_CFG_CMD, struct.pack('!BBH', NFQNL_CFG_CMD_UNBIND, 0, socket.AF_INET))))
    print('netimpair: stats', stats, flush=True)

if __name__ == '__main__':
    main()

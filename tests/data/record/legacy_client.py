#!/usr/bin/env python3
"""SMTP STARTTLS sessions whose TLS part no TLS library here can send (for
legacy-hellos.pcap and starttls-no-hello.pcap).

  --mode sslv2     after the 220 to STARTTLS, an SSLv2-format CLIENT-HELLO
                   (RFC 6101 E.2 / RFC 5246 E.2) asking for TLS 1.0, with TLS
                   suites and SSLv2 cipher specs; the server's records are read
                   and described, then the connection is closed (no key exchange)
  --mode sslv3     a ClientHello with version 3.0 (SSLv3) in an SSLv3 record
  --mode no-hello  STARTTLS, the 220, then nothing: the client closes

Prints the cleartext dialogue (S:/C: lines), what it sent and every record the
server answered with (client-side truth).
"""
import argparse, os, socket, struct, sys, time

# SSLv2 cipher specs: 3 bytes; 0x00xxxx are TLS suites.
V2_SPECS = [0x00002f, 0x000035, 0x00000a, 0x00c013, 0x010080, 0x0700c0, 0x020080]
V3_SUITES = [0x002f, 0x0035, 0x000a, 0x0005, 0x00ff]
ALERTS = {10: 'unexpected_message', 40: 'handshake_failure', 47: 'illegal_parameter',
          70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error'}


def reply(f):
    lines = []
    while True:
        l = f.readline().decode('latin-1').rstrip('\r\n')
        print('S:', l, flush=True)
        lines.append(l)
        if len(l) < 4 or l[3] != '-':
            return lines


def smtp_to_starttls(s, ehlo):
    f = s.makefile('rb')
    reply(f)
    for cmd in (f'EHLO {ehlo}', 'STARTTLS'):
        print('C:', cmd, flush=True)
        s.sendall(cmd.encode() + b'\r\n')
        last = reply(f)
    return last[-1]


def sslv2_client_hello():
    specs = b''.join(struct.pack('>I', c)[1:] for c in V2_SPECS)
    challenge = os.urandom(16)
    body = struct.pack('>BHHHH', 1, 0x0301, len(specs), 0, len(challenge)) + specs + challenge
    print(f'sent: SSLv2-format CLIENT-HELLO, version 0x0301, {len(V2_SPECS)} cipher specs '
          f'{",".join("%06x" % c for c in V2_SPECS)}, no session id, 16-byte challenge', flush=True)
    return struct.pack('>H', 0x8000 | len(body)) + body


def sslv3_client_hello():
    suites = b''.join(struct.pack('>H', c) for c in V3_SUITES)
    hello = struct.pack('>H', 0x0300) + os.urandom(32) + b'\x00' + struct.pack('>H', len(suites)) + suites + b'\x01\x00'
    msg = b'\x01' + struct.pack('>I', len(hello))[1:] + hello
    print(f'sent: ClientHello version 0x0300 (SSLv3) in an SSLv3 record, suites '
          f'{",".join("%04x" % c for c in V3_SUITES)}, no extensions', flush=True)
    return b'\x16\x03\x00' + struct.pack('>H', len(msg)) + msg


def describe_records(data):
    """One line per TLS record the server sent."""
    i = 0
    while i + 5 <= len(data):
        ctype, ver, n = data[i], struct.unpack('>H', data[i + 1:i + 3])[0], struct.unpack('>H', data[i + 3:i + 5])[0]
        body = data[i + 5:i + 5 + n]
        if ctype == 21 and len(body) >= 2:
            print(f'server record: alert level {body[0]} description {body[1]} '
                  f'({ALERTS.get(body[1], "?")}), record version 0x{ver:04x}', flush=True)
        elif ctype == 22:
            j = 0
            while j + 4 <= len(body):
                t, l = body[j], int.from_bytes(body[j + 1:j + 4], 'big')
                extra = ''
                if t == 2:
                    v = struct.unpack('>H', body[j + 4:j + 6])[0]
                    sid = body[j + 38]
                    suite = struct.unpack('>H', body[j + 39 + sid:j + 41 + sid])[0]
                    extra = f' version 0x{v:04x} cipher 0x{suite:04x}'
                print(f'server record: handshake type {t} ({l} bytes){extra}, record version 0x{ver:04x}', flush=True)
                j += 4 + l
        else:
            print(f'server record: content type {ctype}, {n} bytes', flush=True)
        i += 5 + n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', required=True)
    ap.add_argument('--port', type=int, default=25)
    ap.add_argument('--ehlo', required=True)
    ap.add_argument('--mode', choices=['sslv2', 'sslv3', 'no-hello'], required=True)
    a = ap.parse_args()
    s = socket.create_connection((a.host, a.port))
    print(f'session 1 ({a.mode}): local port {s.getsockname()[1]} -> {a.host}:{a.port}', flush=True)
    last = smtp_to_starttls(s, a.ehlo)
    if not last.startswith('220'):
        sys.exit('STARTTLS refused')
    if a.mode == 'no-hello':
        time.sleep(0.5)
        print('closed after the 220, no ClientHello sent', flush=True)
        s.close()
        return
    s.sendall(sslv2_client_hello() if a.mode == 'sslv2' else sslv3_client_hello())
    s.settimeout(3)
    data = b''
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                print('server closed the connection', flush=True)
                break
            data += chunk
    except socket.timeout:
        print('no more data from the server after 3 s; closing', flush=True)
    describe_records(data)
    s.close()


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Scripted SMTP server that answers STARTTLS with a TLS 1.3 *draft* ServerHello.

No maintained TLS library still speaks the TLS 1.3 drafts (OpenSSL 1.1.1 and
GnuTLS dropped them before release), so this server replays what draft servers
sent, while the client is real software (Postfix's smtp client, OpenSSL 3).
After the ClientHello it sends one handshake record with a ServerHello in the
draft's format and nothing else, then reads what the client answers (an alert)
until the client closes.  Sessions without STARTTLS (Postfix's plaintext retry)
are served as a minimal SMTP server that accepts the message.

  --draft 18  ServerHello of draft-18 (0x7f12): version, random, cipher suite,
              extensions -- no legacy_session_id, no compression method
              (draft-ietf-tls-tls13-18 section 4.1.3); key_share is type 40.
  --draft 23  ServerHello of draft-23 (0x7f17): the final layout (legacy_version
              0x0303, session id echoed, compression 0) with supported_versions
              (43) = 0x7f17 and key_share (51).
The cipher suite is TLS_AES_128_GCM_SHA256 (0x1301) in both, the key share an
x25519 public key (random bytes), the random from os.urandom.
Every line and every record is logged with the client's address and port.
"""
import argparse, os, socket, struct, threading, time

def log(out, peer, d, s):
    print(f"{time.strftime('%H:%M:%S')} draft-server {peer[0]}:{peer[1]} {d} {s}", file=out, flush=True)

def read_record(conn):
    hdr = b''
    while len(hdr) < 5:
        b = conn.recv(5 - len(hdr))
        if not b:
            return None
        hdr += b
    n = struct.unpack('!H', hdr[3:5])[0]
    body = b''
    while len(body) < n:
        b = conn.recv(n - len(body))
        if not b:
            return None
        body += b
    return hdr + body

def client_session_id(rec):
    # record(5) + hs type(1) + len(3) + version(2) + random(32) + sid_len(1)
    p = 5 + 4 + 2 + 32
    n = rec[p]
    return rec[p + 1:p + 1 + n]

def server_hello(draft, sid):
    rnd = os.urandom(32)
    ks = os.urandom(32)
    if draft == 18:
        ext = struct.pack('!HHHH', 40, 2 + 2 + 32, 0x001d, 32) + ks
        body = struct.pack('!H', 0x7f12) + rnd + struct.pack('!H', 0x1301) + struct.pack('!H', len(ext)) + ext
    else:
        ext = struct.pack('!HHH', 43, 2, 0x7f17)
        ext += struct.pack('!HHHH', 51, 2 + 2 + 32, 0x001d, 32) + ks
        body = (struct.pack('!H', 0x0303) + rnd + bytes([len(sid)]) + sid + struct.pack('!HB', 0x1301, 0)
                + struct.pack('!H', len(ext)) + ext)
    hs = bytes([2]) + struct.pack('!I', len(body))[1:] + body
    return struct.pack('!BHH', 22, 0x0303, len(hs)) + hs

def serve(conn, peer, a, out):
    f = conn.makefile('rb')
    def send(line):
        log(out, peer, 'S:', line)
        conn.sendall(line.encode() + b'\r\n')
    send(f'220 {a.name} ESMTP scripted-tls13-draft{a.draft}')
    while True:
        raw = f.readline()
        if not raw:
            log(out, peer, '--', 'client closed'); return
        line = raw.decode('latin-1').rstrip('\r\n')
        log(out, peer, 'C:', line)
        verb = line.split(' ', 1)[0].upper()
        if verb == 'EHLO':
            for l in (f'250-{a.name}', '250-PIPELINING', '250-SIZE 10240000', '250-STARTTLS', '250 8BITMIME'):
                send(l)
        elif verb == 'HELO':
            send(f'250 {a.name}')
        elif verb == 'STARTTLS':
            send('220 2.0.0 Ready to start TLS')
            rec = read_record(conn)
            if rec is None:
                log(out, peer, '--', 'closed before a ClientHello'); return
            log(out, peer, 'C:', f'TLS record type {rec[0]} length {len(rec) - 5} (ClientHello {rec[5] == 1})')
            sh = server_hello(a.draft, client_session_id(rec))
            conn.sendall(sh)
            log(out, peer, 'S:', f'TLS ServerHello draft-{a.draft}: {sh.hex()}')
            while True:
                rec = read_record(conn)
                if rec is None:
                    log(out, peer, '--', 'client closed'); return
                log(out, peer, 'C:', f'TLS record {rec.hex()}')
        elif verb == 'MAIL':
            send('250 2.1.0 Ok')
        elif verb == 'RCPT':
            send('250 2.1.5 Ok')
        elif verb == 'DATA':
            send('354 End data with <CR><LF>.<CR><LF>')
            n = 0
            while True:
                d = f.readline()
                if not d:
                    return
                if d in (b'.\r\n', b'.\n'):
                    break
                n += len(d)
            log(out, peer, 'C:', f'<message body, {n} bytes>')
            send('250 2.0.0 Ok: queued')
        elif verb in ('RSET', 'NOOP'):
            send('250 2.0.0 Ok')
        elif verb == 'QUIT':
            send('221 2.0.0 Bye'); return
        else:
            send('502 5.5.2 Error: command not recognized')

def handle(conn, peer, a, out):
    conn.settimeout(30)
    with conn:
        log(out, peer, '--', 'connect')
        try:
            serve(conn, peer, a, out)
        except (OSError, socket.timeout) as e:
            log(out, peer, '--', f'error {e}')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--addr', required=True); ap.add_argument('--port', type=int, default=25)
    ap.add_argument('--name', required=True); ap.add_argument('--draft', type=int, choices=(18, 23), required=True)
    ap.add_argument('--log', required=True); ap.add_argument('--timeout', type=float, default=120)
    a = ap.parse_args()
    out = open(a.log, 'a')
    s = socket.socket(socket.AF_INET6 if ':' in a.addr else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port)); s.listen(16); s.settimeout(a.timeout)
    print(f"{time.strftime('%H:%M:%S')} draft-server listening on {a.addr}:{a.port} (draft-{a.draft})", file=out, flush=True)
    while True:
        try:
            conn, peer = s.accept()
        except socket.timeout:
            break
        threading.Thread(target=handle, args=(conn, peer, a, out), daemon=True).start()
    s.close()

if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Tiny scripted SMTP server: advertises STARTTLS but answers it with 454.

Logs every line it receives and sends, with the client's address and port, to
stdout (that log is the server-side truth for refused-454.pcap).  Bounded: it
serves --max-conns connections or stops after --timeout seconds.
"""
import argparse, socket, sys, time

def log(peer, d, s):
    print(f"{time.strftime('%H:%M:%S')} {peer[0]}:{peer[1]} {d} {s}", flush=True)

def serve(conn, peer, name):
    f = conn.makefile('rb')
    def send(line):
        log(peer, 'S:', line)
        conn.sendall(line.encode() + b'\r\n')
    send(f'220 {name} ESMTP scripted-refuse454')
    while True:
        raw = f.readline()
        if not raw:
            log(peer, '--', 'client closed'); return
        line = raw.decode('latin-1').rstrip('\r\n')
        log(peer, 'C:', line)
        verb = line.split(' ', 1)[0].upper()
        if verb == 'EHLO':
            for l in (f'250-{name}', '250-PIPELINING', '250-SIZE 10240000', '250-STARTTLS', '250-8BITMIME', '250 ENHANCEDSTATUSCODES'):
                send(l)
        elif verb == 'HELO':
            send(f'250 {name}')
        elif verb == 'STARTTLS':
            send('454 4.7.0 TLS not available due to local problem')
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
            log(peer, 'C:', f'<message body, {n} bytes>')
            send('250 2.0.0 Ok: queued')
        elif verb in ('RSET', 'NOOP'):
            send('250 2.0.0 Ok')
        elif verb == 'QUIT':
            send('221 2.0.0 Bye'); return
        else:
            send('502 5.5.2 Error: command not recognized')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--addr', default='127.0.0.5'); ap.add_argument('--port', type=int, default=25)
    ap.add_argument('--name', default='mx5.smtptls.test')
    ap.add_argument('--max-conns', type=int, default=1); ap.add_argument('--timeout', type=float, default=60)
    a = ap.parse_args()
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port)); s.listen(5); s.settimeout(a.timeout)
    print(f'listening on {a.addr}:{a.port}', flush=True)
    for _ in range(a.max_conns):
        try:
            conn, peer = s.accept()
        except socket.timeout:
            print('timeout, exiting', flush=True); break
        conn.settimeout(30)
        with conn:
            log(peer, '--', 'connect')
            try:
                serve(conn, peer, a.name)
            except (OSError, socket.timeout) as e:
                log(peer, '--', f'error {e}')
    s.close()

if __name__ == '__main__':
    main()

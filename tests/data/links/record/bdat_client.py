#!/usr/bin/env python3
"""Plaintext SMTP client that sends a malformed `BDAT 5 X` to a real server.

After EHLO (the server offers CHUNKING) it sends, in one segment (pipelined):
    BDAT 5 X\r\n
    MAIL FROM:<...>\r\n
    RCPT TO:<...>\r\n
`BDAT 5 X` is a syntax error (RFC 3030: BDAT chunk-size [LAST]), so a server
answers it with an error and reads the next line as a command; a parser that
takes it as a 5-byte chunk would swallow "MAIL " instead.  The client then
sends the message with a correct `BDAT n LAST` and QUITs.  Every line sent and
received is printed with the local port (the client's truth).
"""
import argparse, socket

class Closed(Exception):
    pass

def recv_reply(f):
    lines = []
    while True:
        raw = f.readline()
        if not raw:
            print('S: <connection closed by the server>', flush=True)
            raise Closed()
        l = raw.decode('latin-1').rstrip('\r\n')
        print('S:', l, flush=True)
        lines.append(l)
        if len(l) < 4 or l[3] != '-':
            return lines

ap = argparse.ArgumentParser()
ap.add_argument('--host', required=True); ap.add_argument('--port', type=int, default=25)
ap.add_argument('--src', default=None); ap.add_argument('--ehlo', default='out8.links.test')
ap.add_argument('--mode', choices=('first', 'in-transaction'), default='first',
                help='first: the malformed BDAT opens the pipelined block MAIL, RCPT; '
                     'in-transaction: MAIL and RCPT first, then BDAT 5 X, RSET, MAIL, RCPT pipelined')
a = ap.parse_args()
sender, rcpt = 'sender@out8.links.test', 'rcpt@bdat.links.test'
msg = (f'Subject: malformed BDAT test\r\nFrom: <{sender}>\r\nTo: <{rcpt}>\r\n\r\n'
       'links test message after a malformed BDAT\r\n').encode()
s = socket.socket()
if a.src:
    s.bind((a.src, 0))
s.connect((a.host, a.port))
s.settimeout(5)  # a server that stops answering ends the session
print(f'session: local {s.getsockname()[0]}:{s.getsockname()[1]} -> {a.host}:{a.port} mode {a.mode}', flush=True)
f = s.makefile('rb')
def cmd(line):
    print('C:', line, flush=True); s.sendall(line.encode() + b'\r\n'); return recv_reply(f)
sent = {'MAIL': 0, 'RCPT': 0}
try:
    recv_reply(f)
    caps = cmd(f'EHLO {a.ehlo}')
    print('# CHUNKING offered:', any('CHUNKING' in c for c in caps), flush=True)
    if a.mode == 'in-transaction':
        cmd(f'MAIL FROM:<{sender}>'); sent['MAIL'] += 1
        cmd(f'RCPT TO:<{rcpt}>'); sent['RCPT'] += 1
        block = ['BDAT 5 X', 'RSET', f'MAIL FROM:<{sender}>', f'RCPT TO:<{rcpt}>']
    else:
        block = ['BDAT 5 X', f'MAIL FROM:<{sender}>', f'RCPT TO:<{rcpt}>']
    for l in block:
        print('C:', l, flush=True)
        sent['MAIL'] += l.startswith('MAIL'); sent['RCPT'] += l.startswith('RCPT')
    s.sendall(''.join(l + '\r\n' for l in block).encode())
    for _ in block:
        recv_reply(f)
    print('C:', f'BDAT {len(msg)} LAST', f'+ {len(msg)} bytes', flush=True)
    s.sendall(f'BDAT {len(msg)} LAST\r\n'.encode() + msg)
    recv_reply(f)
    cmd('QUIT')
except (Closed, OSError) as e:
    print(f'# session ended: {type(e).__name__}', flush=True)
print(f"# sent in clear: MAIL {sent['MAIL']}, RCPT {sent['RCPT']}", flush=True)
s.close()

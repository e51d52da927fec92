#!/usr/bin/env python3
"""Plaintext SMTP session using CHUNKING (RFC 3030): the message goes in two
BDAT chunks ("BDAT n" then "BDAT m LAST") instead of DATA.  Prints every line."""
import argparse, socket

def recv_reply(f):
    while True:
        l = f.readline().decode('latin-1').rstrip('\r\n')
        print('S:', l)
        if len(l) < 4 or l[3] != '-':
            return l

ap = argparse.ArgumentParser()
ap.add_argument('--host', default='127.0.0.1'); ap.add_argument('--port', type=int, default=25)
ap.add_argument('--ehlo', default='client19.smtptls.test')
a = ap.parse_args()
sender, rcpt = 'sender@smtptls.test', 'root@localhost'
msg = (f'Subject: BDAT test\r\nFrom: <{sender}>\r\nTo: <{rcpt}>\r\n\r\n' +
       ''.join(f'BDAT body line {i:04d} ........................................\r\n' for i in range(40))).encode()
half = len(msg) // 2
s = socket.create_connection((a.host, a.port))
print(f'session 1: local port {s.getsockname()[1]} -> {a.host}:{a.port}; message {len(msg)} bytes in chunks {half} + {len(msg) - half}')
f = s.makefile('rb')
def cmd(line):
    print('C:', line); s.sendall(line.encode() + b'\r\n'); return recv_reply(f)
recv_reply(f)
print('C:', f'EHLO {a.ehlo}'); s.sendall(f'EHLO {a.ehlo}\r\n'.encode())
last = recv_reply(f)
cmd(f'MAIL FROM:<{sender}>')
cmd(f'RCPT TO:<{rcpt}>')
print('C:', f'BDAT {half}', f'+ {half} bytes'); s.sendall(f'BDAT {half}\r\n'.encode() + msg[:half]); recv_reply(f)
print('C:', f'BDAT {len(msg) - half} LAST', f'+ {len(msg) - half} bytes'); s.sendall(f'BDAT {len(msg) - half} LAST\r\n'.encode() + msg[half:]); recv_reply(f)
cmd('QUIT')
s.close()

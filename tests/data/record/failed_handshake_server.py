#!/usr/bin/env python3
"""A scripted SMTP server on 127.0.0.1:25 for failed-handshake.pcap: it offers
STARTTLS, answers 220 to it and starts TLS 1.2 with a self-signed
certificate; a client that does not trust it aborts the handshake. In clear
it takes a message (MAIL, RCPT, DATA) and QUIT. Prints its transcript."""
import socket, ssl, sys, threading

NAME = 'mx66.smtptls.test'

def reply(c, line):
    print('S:', line, flush=True)
    c.sendall(line.encode() + b'\r\n')

def session(c, ctx):
    f = c.makefile('rb')
    reply(c, f'220 {NAME} ESMTP')
    in_data = False
    while True:
        l = f.readline()
        if not l:
            break
        l = l.decode('latin-1').rstrip('\r\n')
        if in_data:
            if l == '.':
                in_data = False
                reply(c, '250 2.0.0 Ok: queued')
            continue
        print('C:', l, flush=True)
        v = l.split(' ')[0].upper()
        if v in ('EHLO', 'HELO'):
            reply(c, f'250-{NAME}')
            reply(c, '250-STARTTLS')
            reply(c, '250 8BITMIME')
        elif v == 'STARTTLS':
            reply(c, '220 2.0.0 Ready to start TLS')
            try:
                t = ctx.wrap_socket(c, server_side=True)
                print('TLS established', t.version(), t.cipher(), flush=True)
                t.close()
            except (ssl.SSLError, OSError) as e:
                print('TLS failed:', e, flush=True)
            return
        elif v in ('MAIL', 'RCPT'):
            reply(c, '250 2.1.0 Ok')
        elif v == 'DATA':
            reply(c, '354 End data with <CR><LF>.<CR><LF>')
            in_data = True
        elif v == 'QUIT':
            reply(c, '221 2.0.0 Bye')
            return
        else:
            reply(c, '502 5.5.2 Error: command not recognized')

def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', 25))
    s.listen(5)
    print('listening', flush=True)
    for _ in range(int(sys.argv[3])):
        c, a = s.accept()
        print('connection from', a, flush=True)
        session(c, ctx)
        c.close()

main()

#!/usr/bin/env python3
"""Two SMTP sessions with three messages each (for multi-message.pcap).

Session 1, plaintext: raw socket, lowercase commands, RFC 2920 PIPELINING
(each "mail from / rcpt to / data" group is sent in a single write after the
server advertised PIPELINING).
Session 2: Python smtplib (lowercase "ehlo", "mail FROM:", "rcpt TO:", "data"),
STARTTLS, then three messages with sendmail() inside TLS.
Prints every line sent and received and the TLS parameters (client-side truth).
"""
import argparse, smtplib, socket, ssl, sys

def recv_reply(f):
    lines = []
    while True:
        l = f.readline().decode('latin-1').rstrip('\r\n')
        print('S:', l)
        lines.append(l)
        if len(l) < 4 or l[3] != '-':
            return lines

def pipelined(host, port, ehlo, sender, rcpt):
    s = socket.create_connection((host, port))
    print(f'session 1 (plaintext, pipelined): local port {s.getsockname()[1]} -> {host}:{port}')
    f = s.makefile('rb')
    def send(data):
        for l in data.decode().split('\r\n')[:-1]:
            print('C:', l)
        s.sendall(data)
    recv_reply(f)
    send(f'ehlo {ehlo}\r\n'.encode())
    caps = recv_reply(f)
    assert any('PIPELINING' in c for c in caps), 'server does not offer PIPELINING'
    for i in range(1, 4):
        send(f'mail from:<{sender}>\r\nrcpt to:<{rcpt}>\r\ndata\r\n'.encode())
        recv_reply(f); recv_reply(f); recv_reply(f)
        body = f'Subject: pipelined plaintext message {i} of 3\r\nFrom: <{sender}>\r\nTo: <{rcpt}>\r\n\r\nplaintext message {i}\r\n.\r\n'
        send(body.encode())
        recv_reply(f)
    send(b'quit\r\n')
    recv_reply(f)
    s.close()

def with_starttls(host, port, ehlo, sender, rcpt):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    print(f'session 2 (smtplib, STARTTLS) -> {host}:{port}', flush=True)
    c = smtplib.SMTP(local_hostname=ehlo)
    c.set_debuglevel(1)
    c.connect(host, port)
    c._host = host  # what SMTP(host) would have set; used as server_hostname (an IP: no SNI sent)
    print(f'local port {c.sock.getsockname()[1]}', flush=True)
    c.ehlo()
    code, msg = c.starttls(context=ctx)
    print('STARTTLS reply:', code, msg.decode())
    print('TLS version:', c.sock.version(), 'cipher:', c.sock.cipher())
    c.ehlo()
    for i in range(1, 4):
        msg = f'Subject: message {i} of 3 after STARTTLS\r\nFrom: <{sender}>\r\nTo: <{rcpt}>\r\n\r\nTLS message {i}\r\n'
        c.sendmail(sender, [rcpt], msg)
    c.quit()

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1'); ap.add_argument('--port', type=int, default=25)
    ap.add_argument('--ehlo', default='client11.smtptls.test')
    ap.add_argument('--from', dest='sender', default='sender@smtptls.test')
    ap.add_argument('--to', default='root@localhost')
    a = ap.parse_args()
    pipelined(a.host, a.port, a.ehlo, a.sender, a.to)
    with_starttls(a.host, a.port, a.ehlo, a.sender, a.to)

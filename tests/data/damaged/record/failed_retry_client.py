#!/usr/bin/env python3
"""The sending side of failed-retry.pcap: what an MTA with opportunistic TLS
does when a handshake fails (Postfix at smtp_tls_security_level=may
delivers the message again without TLS).

Connection 1: EHLO, STARTTLS, then a TLS 1.2 handshake this client aborts:
it verifies the server's certificate against the system's CAs, which did
not sign it, and answers the ServerHello, Certificate, ServerKeyExchange and
ServerHelloDone with a fatal unknown_ca alert, then closes.
Connection 2: EHLO, MAIL, RCPT, DATA in plaintext, QUIT.

usage: failed_retry_client.py HOST EHLO-NAME
Prints the dialogue (smtplib's debug output on stderr) and one line per
connection with its local port and what happened."""
import smtplib
import ssl
import sys

host, name = sys.argv[1], sys.argv[2]
MESSAGE = ('From: sender@dissect.test\r\nTo: rcpt@dissect.test\r\n'
           'Subject: retried in plaintext\r\n\r\nhello\r\n')

ctx = ssl.create_default_context()
ctx.maximum_version = ssl.TLSVersion.TLSv1_2

s = smtplib.SMTP(host, 25, local_hostname=name)
s.set_debuglevel(1)
port = s.sock.getsockname()[1]
s.ehlo()
print('connection 1: local port %d, STARTTLS offered: %s' % (port, s.has_extn('starttls')))
try:
    s.starttls(context=ctx)
    print('connection 1: TLS established (unexpected)')
except ssl.SSLError as e:
    print('connection 1: TLS handshake failed: %s' % e.reason)
    s.sock.close()

s = smtplib.SMTP(host, 25, local_hostname=name)
s.set_debuglevel(1)
port = s.sock.getsockname()[1]
s.ehlo()
s.sendmail('sender@dissect.test', ['rcpt@dissect.test'], MESSAGE)
s.quit()
print('connection 2: local port %d, message sent in plaintext' % port)

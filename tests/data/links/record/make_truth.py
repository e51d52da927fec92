#!/usr/bin/env python3
"""Builds tests/data/links/truth.json from the MTAs' own logs and checks every
fact against the capture twice: with pcapsess.py (an independent reading of
the bytes, no smtptls code) and with tshark.  A fact is written only when the
sources agree; the script exits 1 otherwise.  The derived captures' truth is
built from their source's truth by the rules in derived.py (what the
remaining bytes prove), checked against the derived file's bytes.

  python3 tests/data/links/record/make_truth.py      (after record.sh, derive.py)
"""
import collections, json, os, re, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.dirname(HERE)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(OUT)))
sys.path.insert(0, HERE)
import pcapsess as P  # noqa: E402
import derived as D  # noqa: E402

RECORDED = [
    'postfix-relay.pcap', 'exim-receiver.pcap', 'exim-sender.pcap', 'opensmtpd.pcap',
    'failed-tls-fallback.pcap', 'submission-auth.pcap', 'implicit-tls.pcap', 'ipv6-relay.pcap',
    'bdat-malformed.pcap', 'port-2525.pcap', 'tls13-draft.pcap', 'mix.pcap',
]
CLASSIFY = {'port-2525.pcap'}          # rows only with `capture --classify`

errors = []


def fail(cap, msg):
    errors.append(f'{cap}: {msg}')


# --- registries ----------------------------------------------------------------

def iana_ciphers():
    for d in ('common/data', 'dissect/data'):
        p = os.path.join(ROOT, d, 'tls-cipher-suites.csv')
        if os.path.exists(p):
            t = {}
            for line in open(p):
                if line.startswith('0x'):
                    code, name = line.strip().split(',', 1)
                    t[int(code, 16)] = name
            return t
    raise SystemExit('IANA cipher registry not found')


def openssl_names():
    out = subprocess.run(['openssl', 'ciphers', '-V', 'ALL:COMPLEMENTOFALL:@SECLEVEL=0'],
                         capture_output=True, text=True).stdout
    t = {}
    for line in out.splitlines():
        m = re.match(r'\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)', line)
        if m:
            t[m.group(3)] = int(m.group(1) + m.group(2), 16)
    return t


IANA = iana_ciphers()
OSSL = openssl_names()
VERSIONS = {'TLSv1.3': 0x0304, 'TLSv1.2': 0x0303, 'TLS1.3': 0x0304, 'TLS1.2': 0x0303}
VNAME = {0x0304: 'TLSv1.3', 0x0303: 'TLSv1.2'}


def gnutls_cipher(ver, desc):
    """Exim's X=TLS1.3:ECDHE_X25519__ECDSA_SECP256R1_SHA256__AES_256_GCM:256 -> code."""
    parts = desc.split('__')
    kx, auth, bulk = parts[0], parts[1], parts[2]
    bulk_name = {'AES_256_GCM': 'AES_256_GCM_SHA384', 'AES_128_GCM': 'AES_128_GCM_SHA256',
                 'CHACHA20_POLY1305': 'CHACHA20_POLY1305_SHA256'}[bulk]
    if ver == 'TLS1.3':
        name = 'TLS_' + bulk_name
    else:
        a = 'ECDSA' if auth.startswith('ECDSA') else 'RSA'
        k = 'ECDHE' if kx.startswith('ECDHE') else ('DHE' if kx.startswith('DHE') else 'RSA')
        name = f'TLS_{k}_{a}_WITH_{bulk_name}'
    codes = [c for c, n in IANA.items() if n == name]
    return codes[0]


# --- the recording's configuration (record/*.sh), for facts no log states -------

# receiver address -> (software, banner host name, STARTTLS offered on port 25/587)
RECEIVERS = {
    '198.51.100.10': ('postfix', 'mx10.links.test', 1), '2001:db8:2::10': ('postfix', 'mx10v6.links.test', 1),
    '198.51.100.11': ('postfix', 'mx11.links.test', 0), '198.51.100.12': ('postfix', 'mx12.links.test', 1),
    '2001:db8:2::12': ('postfix', 'mx12v6.links.test', 1), '198.51.100.13': ('postfix', 'mx13.links.test', 1),
    '198.51.100.14': ('postfix', 'mx14.links.test', 1), '198.51.100.15': ('postfix', 'mx15.links.test', 0),
    '198.51.100.16': ('draft', 'mx16.links.test', 1), '198.51.100.17': ('draft', 'mx17.links.test', 1),
    '198.51.100.20': ('exim', 'mx20.links.test', 1), '2001:db8:2::20': ('exim', 'mx20.links.test', 1),
    '198.51.100.21': ('exim', 'mx21.links.test', 1), '198.51.100.22': ('exim', 'mx22.links.test', 0),
    '198.51.100.30': ('opensmtpd', 'mx30.links.test', 1), '198.51.100.31': ('opensmtpd', 'mx31.links.test', 0),
}
# client address -> (software, EHLO name as configured)
SENDERS = {
    '192.0.2.1': ('postfix', 'out1.links.test'), '2001:db8:1::1': ('postfix', 'out1.links.test'),
    '192.0.2.2': ('postfix', 'out2.links.test'), '192.0.2.3': ('postfix', 'out3.links.test'),
    '192.0.2.4': ('postfix', 'out4.links.test'), '192.0.2.5': ('postfix', 'out5.links.test'),
    '192.0.2.6': ('exim', 'out6.links.test'), '2001:db8:1::6': ('exim', 'out6.links.test'),
    '192.0.2.7': ('opensmtpd', 'out7.links.test'), '192.0.2.8': ('bdat_client.py', 'out8.links.test'),
    '192.0.2.9': ('mua', None),
}
# Postfix sender: SNI from the TLS policy table (servername=), by next hop
POSTFIX_SNI = {('198.51.100.10', 25): 'mx10.links.test', ('198.51.100.13', 25): 'mx13.links.test',
               ('198.51.100.20', 25): 'mx20.links.test', ('2001:db8:2::10', 25): 'mx10v6.links.test'}


# --- evidence logs ----------------------------------------------------------------

def sections(path):
    sec, cur = collections.defaultdict(list), 'head'
    for line in open(path, errors='replace'):
        line = line.rstrip('\n')
        m = re.match(r'### log: (\S+) ', line)
        if m:
            cur = m.group(1)
            continue
        if line.startswith('### client ('):
            cur = 'client'
        elif line.startswith('### '):
            if not line.startswith('### client exit'):
                sec['notes'].append(line)
            continue
        sec[cur].append(line)
    return sec


def addr_port(s):
    m = re.match(r'\[?([0-9a-f.:]+?)\]?:(\d+)$', s)
    return m.group(1), int(m.group(2))


def postfix_receiver(lines):
    """client (ip, port) -> record, from Postfix's smtpd lines."""
    recs = {}
    pat = re.compile(r'^\w+ +\d+ [\d:]+ (\S+) postfix/(?:(\w+)/)?smtpd\[\d+\]: (.*)$')
    for line in lines:
        m = pat.match(line)
        if not m:
            continue
        host, svc, msg = m.group(1), m.group(2) or 'smtpd', m.group(3)
        m2 = re.search(r'unknown\[([0-9a-f.:]+)\]:(\d+)', msg)
        if not m2:
            continue
        key = (m2.group(1), int(m2.group(2)))
        if msg.startswith('connect from'):
            recs[key] = {'host': host, 'service': svc, 'tls': None, 'counters': None, 'sasl': None}
            continue
        r = recs.get(key)
        if r is None:
            continue
        m3 = re.match(r'(Anonymous|Untrusted|Trusted) TLS connection established from \S+: (TLSv[\d.]+) with cipher (\S+)', msg)
        if m3:
            r['tls'] = (m3.group(2), m3.group(3))
        m3 = re.search(r'client=\S+, sasl_method=(\w+)', msg)
        if m3:
            r['sasl'] = m3.group(1).upper()
        if msg.startswith('disconnect from'):
            r['counters'] = dict((k, v) for k, v in re.findall(r' (\w+)=([\d/]+)', msg))
    return recs


def exim_receiver(lines):
    recs = {}
    for line in lines:
        m = re.search(r'SMTP connection from (?:\(\S+\) )?\[([0-9a-f.:]+)\]:(\d+) I=\[([0-9a-f.:]+)\]:(\d+) \(TCP', line)
        if m:
            recs[(m.group(1), int(m.group(2)))] = {'iface': (m.group(3), int(m.group(4))), 'helo': None,
                                                   'tls': None, 'tls_error': False, 'msgs': [], 'lines': []}
            continue
        m = re.search(r'\[([0-9a-f.:]+)\]:(\d+) I=', line)
        if not m:
            continue
        r = recs.get((m.group(1), int(m.group(2))))
        if r is None:
            continue
        r['lines'].append(line)
        h = re.search(r'H=\((\S+)\) ', line)
        if h:
            r['helo'] = h.group(1)
        if 'TLS error on connection' in line:
            r['tls_error'] = True
        if ' <= ' in line:
            x = re.search(r' X=(TLS1\.[23]):(\S+):\d+ ', line)
            if x:
                r['tls'] = (x.group(1), x.group(2))
            rc = line.split(' for ', 1)[1].split() if ' for ' in line else []
            r['msgs'].append({'proto': re.search(r' P=(\S+)', line).group(1), 'rcpts': len(rc),
                              'auth': (re.search(r' A=(\w+):', line) or [None, None])[1]})
    return recs


def opensmtpd_receiver(lines):
    """[record] in connection order: listener host, client ip, commands, outcome.
    A "connected to listener" trace line names the session object; the
    "smtp connected" lines that follow give the session ids in the same order."""
    recs, by_ptr, pending = [], {}, []
    for line in lines:
        m = re.match(r'smtp: (0x[0-9a-f]+): connected to listener \S+ \[hostname=(\S+), port=(\d+)', line)
        if m:
            r = {'ptr': m.group(1), 'listener': m.group(2), 'port': int(m.group(3)), 'cmds': [],
                 'replies': [], 'reason': None}
            by_ptr[m.group(1)] = r
            pending.append(r)
            continue
        m = re.match(r'([0-9a-f]{16}) smtp connected address=([0-9a-f.:]+)', line)
        if m and pending:
            r = pending.pop(0)
            r['id'], r['client'] = m.group(1), m.group(2)
            recs.append(r)
            continue
        m = re.match(r'smtp: (0x[0-9a-f]+): (<<<|>>>) (.*)$', line)
        if m and m.group(1) in by_ptr:
            r = by_ptr[m.group(1)]
            (r['cmds'] if m.group(2) == '<<<' else r['replies']).append(m.group(3))
            continue
        m = re.match(r'([0-9a-f]{16}) smtp disconnected reason=(.*)$', line)
        if m:
            for r in recs:
                if r.get('id') == m.group(1):
                    r['reason'] = m.group(2)
                    if by_ptr.get(r['ptr']) is r:
                        del by_ptr[r['ptr']]
    return recs


def draft_server(lines):
    recs = {}
    for line in lines:
        m = re.match(r'[\d:]+ draft-server ([0-9a-f.:]+):(\d+) (\S+) (.*)$', line)
        if m:
            recs.setdefault((m.group(1), int(m.group(2))), []).append((m.group(3), m.group(4)))
    return recs


def postfix_sender(lines):
    """Connections of the Postfix sender, per next hop: [(kind, version, cipher)],
    kind established / failed / plaintext."""
    conns, state = collections.defaultdict(list), {}
    pat = re.compile(r'postfix/smtp\[(\d+)\]: (.*)$')
    last_status = {}
    for line in lines:
        m = pat.search(line)
        if not m:
            continue
        pid, msg = m.group(1), m.group(2)
        m2 = re.match(r'(\w+) TLS connection established to (\S+?)\[\S+\]:(\d+): (TLSv[\d.]+) with cipher (\S+)', msg)
        if m2:
            state[pid] = ('established', m2.group(4), m2.group(5), m2.group(1))
            continue
        m2 = re.match(r'SSL_connect error to (\S+?)\[\S+\]:(\d+)', msg)
        if m2:
            conns[(m2.group(1), int(m2.group(2)))].append(('failed', None, None, None))
            continue
        m2 = re.match(r'(\w+): to=<[^>]+>, relay=(\S+?)\[\S+\]:(\d+), .* status=(\w+) \((.*)\)$', msg)
        if m2:
            qid, hop, port, status, text = m2.group(1), m2.group(2), int(m2.group(3)), m2.group(4), m2.group(5)
            if text.startswith('Cannot start TLS'):
                continue          # the failed handshake is already counted
            if last_status.get(pid) == (qid, hop, port) and pid not in state:
                continue          # further recipients of the same connection
            last_status[pid] = (qid, hop, port)
            conns[(hop, port)].append(state.pop(pid, ('plaintext', None, None, None)))
    return conns


def exim_sender(lines):
    """client port -> delivery; plus the failed TLS attempts per host."""
    by_port, failed = {}, collections.Counter()
    for line in lines:
        m = re.search(r' => \S+ R=\S+ T=(\S+) H=\S+ \[([0-9a-f.:]+)\]:(\d+) I=\[([0-9a-f.:]+)\]:(\d+)(.*)$', line)
        if m:
            x = re.search(r' X=(TLS1\.[23]):(\S+):\d+ ', m.group(6))
            by_port[int(m.group(5))] = {'transport': m.group(1), 'server': (m.group(2), int(m.group(3))),
                                        'tls': (x.group(1), x.group(2)) if x else None,
                                        'chunking': ' K ' in m.group(6) + ' '}
        m = re.search(r'TLS session: .*delivering unencrypted to H=\S+ \[([0-9a-f.:]+)\]', line)
        if m:
            failed[m.group(1)] += 1
    return by_port, failed


def opensmtpd_sender(lines):
    """mta sessions: id -> {dest, tls}."""
    s = collections.OrderedDict()
    for line in lines:
        m = re.match(r'([0-9a-f]{16}) mta connecting address=smtp://([0-9a-f.:]+):(\d+)', line)
        if m:
            s[m.group(1)] = {'dest': (m.group(2), int(m.group(3))), 'tls': None, 'delivered': 0}
        m = re.match(r'([0-9a-f]{16}) mta tls ciphers=(TLSv[\d.]+):(\S+):\d+', line)
        if m and m.group(1) in s:
            s[m.group(1)]['tls'] = (m.group(2), m.group(3))
        m = re.match(r'([0-9a-f]{16}) mta delivery .*result="Ok"', line)
        if m and m.group(1) in s:
            s[m.group(1)]['delivered'] += 1
    return s


def client_transcripts(lines):
    """bdat_client.py sessions: (ip, port) -> (MAIL, RCPT) sent in clear."""
    out, cur = {}, None
    for line in lines:
        m = re.match(r'session: local ([0-9a-f.:]+):(\d+) -> ', line)
        if m:
            cur = (m.group(1), int(m.group(2)))
        m = re.match(r'# sent in clear: MAIL (\d+), RCPT (\d+)', line)
        if m and cur:
            out[cur] = (int(m.group(1)), int(m.group(2)))
    return out


# --- tshark ----------------------------------------------------------------------------

def tshark_streams(path, extra=()):
    args = ['tshark', '-r', path, '-o', 'tcp.reassemble_out_of_order:TRUE', '-d', 'tcp.port==2525,smtp', *extra,
            '-T', 'fields', '-E', 'separator=/t', '-e', 'tcp.srcport', '-e', 'tcp.dstport',
            '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'ip.dst', '-e', 'ipv6.dst', '-e', 'smtp.req.command', '-e', 'tls.handshake.type',
            '-e', 'tls.handshake.version', '-e', 'tls.handshake.extensions.supported_version',
            '-e', 'tls.handshake.ciphersuite', '-e', 'tls.handshake.extensions_server_name']
    out = subprocess.run(args, capture_output=True, text=True).stdout
    st = collections.defaultdict(lambda: {'cmds': [], 'sh': None, 'sni': None})
    for line in out.splitlines():
        parts = line.split('\t')
        if len(parts) != 12:
            continue      # a field with a line break (tshark reading a reordered stream as SMTP)
        sp, dp, s4, s6, d4, d6, cmd, ht, hv, sv, cs, sni = parts
        if not sp or not dp:
            continue
        def inner(*vals):   # the innermost address: not the tunnel's (203.0.113.x, 2001:db8:ffff::x)
            c = [a for v in vals for a in v.split(',') if a and not a.startswith(('203.0.113.', '2001:db8:ffff:'))]
            return c[-1] if c else ''
        if int(dp) in P.SERVER_PORTS:
            key = (inner(s4, s6), int(sp))
        else:
            key = (inner(d4, d6), int(dp))
        s = st[key]
        if cmd:
            s['cmds'] += cmd.split(',')
        types = ht.split(',') if ht else []
        if '2' in types and s['sh'] is None:
            ver = sv.split(',')[-1] if sv else hv.split(',')[types.index('2')] if hv else ''
            s['sh'] = (int(ver, 16) if ver else None, int(cs.split(',')[-1], 16) if cs else None)
        if sni and s['sni'] is None:
            s['sni'] = sni
    return st


# --- truth per session -----------------------------------------------------------------

def base(c):
    return {'client_ip': c.client, 'client_port': c.cport, 'server_ip': c.server, 'server_port': c.sport}


def from_postfix(cap, t, r, w):
    cnt = r['counters'] or {}
    if r['host'] + '.links.test' != RECEIVERS[t['server_ip']][1]:
        fail(cap, f"{t['client_port']}: Postfix host {r['host']} is not {RECEIVERS[t['server_ip']][1]}")
    st = cnt.get('starttls')
    implicit = r['service'] == 'smtps'
    tls = r['tls']
    t['transport'] = 'implicit_tls' if implicit else ('starttls' if tls else 'plaintext')
    if implicit:
        t.update(starttls_offered=None, starttls_reply=None, server_name=None, ehlo_name=None)
    else:
        # the capabilities are only in an EHLO reply: none after HELO
        t['starttls_offered'] = RECEIVERS[t['server_ip']][2] if 'ehlo' in cnt else None
        t['starttls_sent'] = 1 if st else 0
        t['starttls_reply'] = 220 if st == '1' else None
        t['server_name'] = r['host'] + '.links.test'
    if tls:
        t['tls_version'] = tls[0]
        t['cipher_suite'] = OSSL[tls[1]]
        t['tls_outcome'] = 'established'
    else:
        t['tls_outcome'] = None
    clear = not tls
    mail = int(cnt.get('mail', '0').split('/')[-1]) if cnt.get('mail') else 0
    rcpt = int(cnt.get('rcpt', '0').split('/')[-1]) if cnt.get('rcpt') else 0
    t['plaintext_transactions'] = mail if clear else 0
    t['plaintext_rcpts'] = rcpt if clear else 0
    t['cleartext_auth'] = 1 if (clear and cnt.get('auth')) else 0
    if clear and cnt.get('auth'):
        t['auth_mechanism'] = r['sasl'] or w.get('auth')


def from_exim(cap, t, r, w):
    port = r['iface'][1]
    implicit = port == 465
    tls = r['tls']
    t['transport'] = 'implicit_tls' if implicit else ('starttls' if tls else 'plaintext')
    if implicit:
        t.update(starttls_offered=None, starttls_reply=None, server_name=None, ehlo_name=None)
    else:
        helo_only = r['msgs'] and all(m['proto'] == 'smtp' for m in r['msgs'])
        t['starttls_offered'] = None if helo_only else RECEIVERS[t['server_ip']][2]
        t['server_name'] = RECEIVERS[t['server_ip']][1]
        if r['tls_error']:               # certificate cannot be loaded: 454
            t['starttls_sent'], t['starttls_reply'] = 1, 454
        elif tls:
            t['starttls_sent'], t['starttls_reply'] = 1, 220
        else:
            t['starttls_sent'], t['starttls_reply'] = 0, None
        if r['helo']:
            t['ehlo_name'] = r['helo']
    if tls:
        t['tls_version'] = VNAME[VERSIONS[tls[0]]]
        t['cipher_suite'] = gnutls_cipher(*tls)
        t['tls_outcome'] = 'established'
        t['plaintext_transactions'] = t['plaintext_rcpts'] = t['cleartext_auth'] = 0
    else:
        t['tls_outcome'] = None
        t['plaintext_transactions'] = len(r['msgs'])
        t['plaintext_rcpts'] = sum(m['rcpts'] for m in r['msgs'])
        t['cleartext_auth'] = int(any(m['auth'] for m in r['msgs']))


def from_opensmtpd(cap, t, r, w):
    t['server_name'] = r['listener']
    t['starttls_offered'] = int(any(x.strip() in ('250-STARTTLS', '250 STARTTLS') for x in r['replies']))
    ehlo = [x for x in r['cmds'] if x.upper().startswith(('EHLO ', 'HELO '))]
    t['ehlo_name'] = ehlo[0].split(' ', 1)[1] if ehlo else None
    st = 'STARTTLS' in [x.upper() for x in r['cmds']]
    t['starttls_sent'] = int(st)
    t['starttls_reply'] = 220 if st and any(x.startswith('220 2.0.0 Ready to start TLS') for x in r['replies']) else None
    if st and r['reason'] and 'io-error' in r['reason'] and 'SSL' in r['reason']:
        # OpenSMTPD 6.8 under OpenSSL 3: its handshake fails after the ServerHello;
        # version and suite come from that ServerHello (the logs do not name them)
        t['transport'] = 'starttls'
        t['tls_outcome'] = 'failed'
        t['tls_version'] = VNAME.get(w.get('version'))
        t['cipher_suite'] = w.get('cipher')
        t['_note'] = 'tls_version and cipher_suite from the ServerHello (tshark and pcapsess agree)'
        t['plaintext_transactions'] = t['plaintext_rcpts'] = t['cleartext_auth'] = 0
    elif st:
        fail(cap, f"{t['client_port']}: OpenSMTPD session with STARTTLS that did not fail: {r['reason']}")
    else:
        t['transport'] = 'plaintext'
        t['tls_outcome'] = None
        t['plaintext_transactions'] = sum(1 for x in r['cmds'] if x.upper().startswith('MAIL '))
        t['plaintext_rcpts'] = sum(1 for x in r['cmds'] if x.upper().startswith('RCPT '))
        t['cleartext_auth'] = int(any(x.upper().startswith('AUTH ') for x in r['cmds']))


def from_draft(cap, t, ev, w):
    t['server_name'] = RECEIVERS[t['server_ip']][1]
    t['starttls_offered'] = 1
    cmds = [x for d, x in ev if d == 'C:' and not x.startswith(('TLS ', '<'))]
    ehlo = [x for x in cmds if x.upper().startswith('EHLO ')]
    t['ehlo_name'] = ehlo[0].split(' ', 1)[1] if ehlo else None
    sh = [x for d, x in ev if d == 'S:' and x.startswith('TLS ServerHello')]
    if sh:
        hexs = bytes.fromhex(sh[0].split(': ', 1)[1])
        h = P.parse_hello(hexs[5:], True)
        t['transport'] = 'starttls'
        t['starttls_sent'], t['starttls_reply'] = 1, 220
        t['tls_version'] = 'TLSv1.3'           # smtptls names every 0x7fXX draft TLSv1.3
        t['tls_version_code'] = h['version']
        t['cipher_suite'] = h['cipher']
        t['tls_outcome'] = 'failed'            # the client answers the ServerHello with an alert
        t['plaintext_transactions'] = t['plaintext_rcpts'] = t['cleartext_auth'] = 0
    else:
        t['transport'] = 'plaintext'
        t['starttls_sent'], t['starttls_reply'] = 0, None
        t['tls_outcome'] = None
        t['plaintext_transactions'] = sum(1 for x in cmds if x.upper().startswith('MAIL '))
        t['plaintext_rcpts'] = sum(1 for x in cmds if x.upper().startswith('RCPT '))
        t['cleartext_auth'] = 0


def finish(cap, t, c, w, ts):
    """Fill what no server log states from the configuration, then compare
    every fact with the bytes (pcapsess) and tshark."""
    sw, helo = SENDERS.get(t['client_ip'], (None, None))
    if t['transport'] != 'implicit_tls' and 'ehlo_name' not in t:
        t['ehlo_name'] = helo if helo else w.get('ehlo_name')
        t.setdefault('_note', ('ehlo_name from the sender configuration' if helo else
                               'ehlo_name from the client command line') + ', checked against the bytes')
    if t['transport'] != 'plaintext' and w.get('client_hello'):
        if sw == 'postfix':
            t['sni'] = POSTFIX_SNI.get((t['server_ip'], t['server_port'])) if t['server_port'] == 25 else None
        elif sw == 'mua' and t['server_ip'] in ('198.51.100.16', '198.51.100.17'):
            t['sni'] = RECEIVERS[t['server_ip']][1]       # s_client -servername
        else:
            t['sni'] = None                                # Exim and OpenSMTPD send none here
    if t.get('cipher_suite') is not None:
        t['cipher_name'] = IANA.get(t['cipher_suite'])
    # --- the bytes ---
    checks = {
        'transport': w.get('transport_wire'),
        'starttls_sent': w.get('starttls_sent'),
        'starttls_reply': w.get('starttls_reply'),
        'server_name': w.get('server_name'),
        'ehlo_name': w.get('ehlo_name'),
        'plaintext_transactions': w.get('mail', 0) if t['transport'] == 'plaintext' else 0,
        'plaintext_rcpts': w.get('rcpt', 0) if t['transport'] == 'plaintext' else 0,
        'sni': w.get('sni'),
    }
    if t['transport'] != 'implicit_tls':
        checks['starttls_offered'] = w.get('starttls_offered')
    if w.get('server_hello'):
        checks['tls_version'] = VNAME.get(w['version'], 'TLSv1.3' if (w['version'] >> 8) == 0x7f else None)
        checks['cipher_suite'] = w['cipher']
        checks['tls_outcome'] = 'established' if w['established_wire'] else 'failed'
    for k, v in checks.items():
        if k in t and t[k] != v:
            fail(cap, f"{t['client_port']}: {k}: logs say {t[k]!r}, the bytes say {v!r}")
    if t.get('auth_mechanism') and t['auth_mechanism'] != w.get('auth'):
        fail(cap, f"{t['client_port']}: auth {t['auth_mechanism']} vs bytes {w.get('auth')}")
    # --- tshark ---
    s = ts.get((t['client_ip'], t['client_port']))
    if s is None:
        fail(cap, f"{t['client_port']}: tshark has no such stream")
        return
    if t.get('tls_version') and not w.get('draft_layout'):
        want = (VERSIONS[t['tls_version']] if 'tls_version_code' not in t else t['tls_version_code'],
                t['cipher_suite'])
        if s['sh'] != want:
            fail(cap, f"{t['client_port']}: tshark ServerHello {s['sh']} vs {want}")
    if t.get('sni') != s['sni'] and 'sni' in t:
        fail(cap, f"{t['client_port']}: tshark SNI {s['sni']} vs {t.get('sni')}")
    cmds = [x.upper() for x in s['cmds']]
    if t['transport'] == 'plaintext' and cmds.count('MAIL') != t['plaintext_transactions'] \
            and not w.get('bdat'):   # tshark 4.0 does not decode BDAT and loses what follows it
        fail(cap, f"{t['client_port']}: tshark MAIL {cmds.count('MAIL')} vs {t['plaintext_transactions']}")
    if t.get('starttls_sent') and 'STAR' not in cmds and 'STARTTLS' not in cmds:
        fail(cap, f"{t['client_port']}: tshark sees no STARTTLS")


def recorded_truth(cap):
    path = os.path.join(OUT, cap)
    sec = sections(os.path.join(OUT, 'logs', cap + '.log'))
    pf = postfix_receiver(sec.get('postfix-receiver(pf-rcv)', []))
    ex = exim_receiver(sec.get('exim-receiver(exim-rcv)', []))
    osr = opensmtpd_receiver(sec.get('opensmtpd-receiver(os-rcv)', []))
    dr = draft_server(sec.get('scripted-server', []))
    bd = client_transcripts(sec.get('client', []))
    ts = tshark_streams(path)
    pc = P.read_pcap(path)
    big = [i + 1 for i, r in enumerate(pc.records) if r[3] > 1514]
    if big:
        fail(cap, f'frames over 1514 bytes (offloads on?): {big[:5]}')
    conns = P.connections(pc)
    os_used = collections.defaultdict(int)
    sessions = []
    for c in conns:
        w = P.session_facts(c)
        t = base(c)
        key = (c.client, c.cport)
        soft = RECEIVERS.get(c.server, (None,))[0]
        if soft == 'postfix' and key in pf:
            from_postfix(cap, t, pf[key], w)
        elif soft == 'exim' and key in ex:
            from_exim(cap, t, ex[key], w)
        elif soft == 'opensmtpd':
            # OpenSMTPD logs no client port: its sessions from one client
            # address are paired with the connections in order, separately
            # for those that sent STARTTLS and those that did not
            kind = 'STARTTLS' if w.get('starttls_sent') else 'clear'
            cands = [r for r in osr if r['client'] == c.client and r['listener'] == RECEIVERS[c.server][1]
                     and ('STARTTLS' if 'STARTTLS' in [x.upper() for x in r['cmds']] else 'clear') == kind]
            i = os_used[(c.client, c.server, kind)]
            os_used[(c.client, c.server, kind)] += 1
            if i >= len(cands):
                fail(cap, f'{c.cport}: no OpenSMTPD log record')
                continue
            from_opensmtpd(cap, t, cands[i], w)
        elif soft == 'draft' and key in dr:
            from_draft(cap, t, dr[key], w)
        else:
            fail(cap, f'{c.client}:{c.cport} -> {c.server}:{c.sport}: no server log record')
            continue
        if key in bd:       # the scripted client's own count of what it sent in clear
            if (t['plaintext_transactions'], t['plaintext_rcpts']) != bd[key] and soft == 'postfix':
                # Postfix counts accepted commands; the client says what it sent
                t['_note'] = (f"server counted MAIL {t['plaintext_transactions']}, RCPT {t['plaintext_rcpts']}; "
                              f'the client sent MAIL {bd[key][0]}, RCPT {bd[key][1]} in clear')
            t['plaintext_transactions'], t['plaintext_rcpts'] = bd[key]
        finish(cap, t, c, w, ts)
        sessions.append((c, t))
    cross_check_senders(cap, sec, sessions)
    return sessions


def cross_check_senders(cap, sec, sessions):
    """The senders' own logs must tell the same story (multisets per next hop;
    Exim by client port)."""
    pfs = postfix_sender(sec.get('postfix-sender(pf-snd)', []))
    got = collections.defaultdict(list)
    for c, t in sessions:
        if SENDERS.get(t['client_ip'], ('',))[0] == 'postfix':
            kind = t['tls_outcome'] or 'plaintext'
            got[(t['server_ip'], t['server_port'])].append(
                (kind, t.get('tls_version') if kind == 'established' else None,
                 t.get('cipher_suite') if kind == 'established' else None))
    want = {}
    for hop, lst in pfs.items():
        want[hop] = sorted((k, v, OSSL.get(cn) if cn else None) for k, v, cn, _ in lst)
    for hop in set(want) | set(got):
        if sorted(got.get(hop, [])) != want.get(hop, []):
            fail(cap, f'Postfix sender log for {hop}: {want.get(hop)} but the sessions are {sorted(got.get(hop, []))}')
    by_port, exfail = exim_sender(sec.get('exim-sender(exim-snd)', []))
    exf = collections.Counter()
    for c, t in sessions:
        if SENDERS.get(t['client_ip'], ('',))[0] != 'exim':
            continue
        if t['tls_outcome'] == 'failed':
            exf[t['server_ip']] += 1
            continue
        d = by_port.get(t['client_port'])
        if d is None:
            fail(cap, f"{t['client_port']}: not in Exim's sender log")
            continue
        tls = (VNAME[VERSIONS[d['tls'][0]]], gnutls_cipher(*d['tls'])) if d['tls'] else None
        mine = (t['tls_version'], t['cipher_suite']) if t['tls_outcome'] == 'established' else None
        if tls != mine:
            fail(cap, f"{t['client_port']}: Exim sender says {tls}, receiver {mine}")
    if exf != exfail:
        fail(cap, f'Exim failed handshakes: sender log {dict(exfail)}, sessions {dict(exf)}')
    oss = opensmtpd_sender(sec.get('opensmtpd-sender(os-snd)', []))
    for sid, s in oss.items():
        mine = [t for c, t in sessions if SENDERS.get(t['client_ip'], ('',))[0] == 'opensmtpd'
                and (t['server_ip'], t['server_port']) == s['dest']]
        if len(mine) != 1:
            fail(cap, f'OpenSMTPD sender session {sid} to {s["dest"]}: {len(mine)} sessions')
            continue
        tls = (s['tls'][0], OSSL[s['tls'][1]]) if s['tls'] else None
        if tls != ((mine[0]['tls_version'], mine[0]['cipher_suite']) if mine[0]['tls_outcome'] else None):
            fail(cap, f'OpenSMTPD sender session {sid}: {tls} vs {mine[0]}')


def check_whole(name, spec, rows):
    """tshark must find in a wrapped, fragmented or merged capture every
    connection of the truth, with its ServerHello and SNI, and no other."""
    extra = {'eompls-cw': ('-d', 'mpls.label==299792,pwethcw'),
             'eompls': ('-d', 'mpls.label==299792,pwethnocw')}.get(spec.get('encap'), ())
    st = tshark_streams(os.path.join(OUT, name), extra)
    want = {(r['client_ip'], r['client_port']) for r in rows}
    got = {k for k, v in st.items() if v['cmds'] or v['sh'] or v['sni']}
    if got != want:
        fail(name, f'tshark connections {sorted(got)} vs truth {sorted(want)}')
    for r in rows:
        s = st.get((r['client_ip'], r['client_port']))
        if s and r.get('tls_version') and s['sh'] != (VERSIONS[r['tls_version']], r['cipher_suite']):
            fail(name, f"{r['client_port']}: tshark ServerHello {s['sh']}")
        if s and 'sni' in r and s['sni'] != r['sni']:
            fail(name, f"{r['client_port']}: tshark SNI {s['sni']}")


def check_reordered(name, rows):
    """tshark cannot follow TLS when replies come before the segments they
    answer; pcapsess orders each direction by sequence number and must find
    the source's facts."""
    conns = {(c.client, c.cport): c for c in P.connections(P.read_pcap(os.path.join(OUT, name)))}
    if set(conns) != {(r['client_ip'], r['client_port']) for r in rows}:
        fail(name, f'connections {sorted(conns)}')
    for r in rows:
        w = P.session_facts(conns[(r['client_ip'], r['client_port'])])
        for k, v in (('transport', w.get('transport_wire')), ('server_name', w.get('server_name')),
                     ('ehlo_name', w.get('ehlo_name')), ('starttls_reply', w.get('starttls_reply'))):
            if r.get(k) != v:
                fail(name, f"{r['client_port']}: {k} {r.get(k)} vs bytes {v}")
        if r.get('tls_version') and (VNAME.get(w.get('version')), w.get('cipher')) != (r['tls_version'], r['cipher_suite']):
            fail(name, f"{r['client_port']}: ServerHello {w.get('version')} {w.get('cipher')}")


def public(t):
    return {k: v for k, v in t.items() if not k.startswith('_')}


def headline(sessions):
    """The report's headline of a capture's truth: TLS completed of the
    sessions whose outcome is known, and TLS attempted."""
    n = len(sessions)
    completed = sum(1 for t in sessions if t.get('tls_outcome') == 'established')
    attempted = sum(1 for t in sessions if t.get('tls_outcome') is not None)
    unknown = sum(1 for t in sessions if t.get('tls_outcome') == 'incomplete' or t.get('transport') == 'unknown')
    return {'sessions': n, 'known': n - unknown, 'tls_completed': completed, 'tls_attempted': attempted,
            'tls_failed': sum(1 for t in sessions if t.get('tls_outcome') == 'failed'),
            'plaintext': sum(1 for t in sessions if t.get('transport') == 'plaintext')}


def main():
    truth = {
        '_about': ('Ground truth for the real-link captures in tests/data/links (README.md there): one object '
                   "per capture, 'rows' = exact number of session rows, 'sessions' = the facts each row must "
                   'show (a null is a NULL column: the capture cannot show it). Recorded captures: facts from '
                   "the MTAs' own logs (Postfix, Exim, OpenSMTPD, the scripted servers and clients), checked "
                   'against the bytes (record/pcapsess.py) and tshark by record/make_truth.py. Derived captures '
                   '(wrapped, cut, split, filtered from a recorded one): the rules of record/derived.py, what '
                   "the remaining bytes prove; each capture's '_about' says why per column. tls_outcome follows "
                   "contract C3: 'established' only when the handshake completed, 'failed' for a ServerHello "
                   "then an alert or a reset. 'headline' (mix and others) is the report's share from these rows."),
        'captures': {},
    }
    rec = {}
    for cap in RECORDED:
        if not os.path.exists(os.path.join(OUT, cap)):
            fail(cap, 'missing')
            continue
        sess = recorded_truth(cap)
        rec[cap] = sess
        entry = {'rows': len(sess), 'sessions': [public(t) for _, t in sess]}
        entry['headline'] = headline(entry['sessions'])
        if cap in CLASSIFY:
            entry['_options'] = ['--classify']
        truth['captures'][cap] = entry
    for name, spec in D.DERIVED.items():
        src = truth['captures'].get(spec['source'])
        if src is None or not os.path.exists(os.path.join(OUT, name)):
            fail(name, 'missing (run derive.py)')
            continue
        sess, about = D.truth(name, spec, rec[spec['source']], OUT, fail)
        if spec['kind'] in ('tunnel', 'frag'):
            check_whole(name, spec, sess)
        elif spec['kind'] == 'two-taps':
            check_reordered(name, sess)
        entry = {'rows': len(sess), 'sessions': sess, '_about': about}
        entry['headline'] = headline(sess)
        truth['captures'][name] = entry
    with open(os.path.join(OUT, 'truth.json'), 'w') as f:
        json.dump(truth, f, indent=1)
        f.write('\n')
    report = [f"{n}: {e['rows']} rows, headline {e['headline']}" for n, e in truth['captures'].items()]
    report += ['', 'notes (facts no server log states directly):']
    report += [f"{cap} {t['client_ip']}:{t['client_port']}: {t['_note']}"
               for cap, sess in rec.items() for _, t in sess if '_note' in t]
    with open(os.path.join(OUT, 'logs', 'make_truth.out'), 'w') as f:
        f.write('\n'.join(report + ['', 'errors:'] + errors) + '\n')
    print('\n'.join(report))
    if errors:
        print('\n'.join(['', 'CROSS-CHECK FAILURES:'] + errors), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()

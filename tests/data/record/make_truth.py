#!/usr/bin/env python3
"""Build tests/data/truth.json from the recorded evidence and cross-check it with tshark.

Sources, per field (see tests/data/README.md):
  - tls_version / cipher: the server's own log (Postfix "TLS connection established
    ... TLSv1.3 with cipher X") and the client's own output (swaks "TLS started with
    cipher", openssl s_client "Protocol :"/"Cipher is", msmtp "TLS session parameters",
    Python ssl version()/cipher()); both must agree.
  - the cleartext SMTP dialogue (server_name, ehlo_name, starttls_offered,
    starttls_reply, plaintext MAIL count, AUTH before TLS, transport): the client's
    transcript (swaks, msmtp --debug, the Python clients) or the scripted server's
    transcript; for openssl s_client, which prints none of its cleartext dialogue, from
    its command line (-name), the configured Postfix banner and Postfix's
    "disconnect ... starttls=1" counters.
  - addresses and ports: the capture (tshark), checked against Postfix's
    "connect from host[ip]:port" when Postfix was the server.
  - sni, hello_retry, resumed: s_client's New/Reused line where there is one; the
    ClientHello/ServerHello as decoded by tshark otherwise (checked against the
    client's command line).
Every fact is compared with what tshark decodes from the capture; a disagreement is
printed and that field is left out of truth.json.  Exit status 1 if anything disagreed.
"""
import ast, json, os, re, subprocess, sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.dirname(HERE)
LOGS = os.path.join(DATA, 'logs')
SMTP_PORTS = {25, 465, 587}
HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c'

# Banner host name (smtpd_banner = $myhostname ...) of each Postfix smtpd, as set in setup.sh.
BANNER = {'127.0.0.1': 'mx1.smtptls.test', '::1': 'mx1v6.smtptls.test', '127.0.0.2': 'mx2.smtptls.test',
          '127.0.0.3': 'mx3.smtptls.test', '127.0.0.4': 'mx4.smtptls.test', '127.0.0.6': 'mx6.smtptls.test'}

# OpenSSL / IANA cipher names seen here -> (IANA code point, IANA name)
CIPHERS = {
    'TLS_AES_256_GCM_SHA384': (0x1302, 'TLS_AES_256_GCM_SHA384'),
    'TLS_AES_128_GCM_SHA256': (0x1301, 'TLS_AES_128_GCM_SHA256'),
    'TLS_CHACHA20_POLY1305_SHA256': (0x1303, 'TLS_CHACHA20_POLY1305_SHA256'),
    'ECDHE-RSA-AES256-GCM-SHA384': (0xC030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'),
    'ECDHE-RSA-AES128-GCM-SHA256': (0xC02F, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'),
    'ECDHE-RSA-CHACHA20-POLY1305': (0xCCA8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'),
    'ECDHE-RSA-AES256-SHA': (0xC014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'),
    'ECDHE-RSA-AES128-SHA': (0xC013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'),
}
# GnuTLS (msmtp) "(TLS1.3)-(kx)-(sig)-(AES-256-GCM)" for TLS 1.3
GNUTLS13 = {'AES-256-GCM': 'TLS_AES_256_GCM_SHA384', 'AES-128-GCM': 'TLS_AES_128_GCM_SHA256',
            'CHACHA20-POLY1305': 'TLS_CHACHA20_POLY1305_SHA256'}
VERSIONS = {'TLSv1': 'TLSv1.0', 'TLSv1.0': 'TLSv1.0', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3',
            'TLS1.0': 'TLSv1.0', 'TLS1.1': 'TLSv1.1', 'TLS1.2': 'TLSv1.2', 'TLS1.3': 'TLSv1.3'}
WIRE_VERSIONS = {0x0301: 'TLSv1.0', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3'}

RECORDED = ['starttls-tls13.pcap', 'starttls-tls12.pcap', 'starttls-tls10.pcap', 'starttls-tls11.pcap',
            'implicit-465.pcap', 'submission-587.pcap', 'offered-not-used.pcap', 'no-starttls.pcap',
            'refused-454.pcap', 'cleartext-auth.pcap', 'ipv6.pcap', 'multi-message.pcap',
            'large-message.pcap', 'netem-loss.pcap', 'any-sll2.pcap', 'hrr.pcap', 'resumption.pcap',
            'resumption12.pcap', 'bdat.pcap']
DERIVED = OrderedDict([
    ('vlan.pcap', ['starttls-tls12.pcap']),
    ('starttls-tls13.pcapng', ['starttls-tls13.pcap']),
    ('mixed.pcap', ['starttls-tls13.pcap', 'starttls-tls12.pcap', 'implicit-465.pcap', 'offered-not-used.pcap',
                    'no-starttls.pcap', 'refused-454.pcap']),
])
ORDER = ['_about'] + ['client_ip', 'client_port', 'server_ip', 'server_port', 'transport', 'starttls_offered',
         'starttls_reply', 'tls_version', 'cipher_suite', 'cipher_name', 'sni', 'hello_retry', 'resumed',
         'plaintext_transactions', 'cleartext_auth', 'server_name', 'ehlo_name']

problems = []


def problem(cap, msg):
    problems.append(f'{cap}: {msg}')
    print(f'  !! {msg}')


# ---------------------------------------------------------------- tshark side
FIELDS = ['frame.number', 'tcp.stream', 'ip.src', 'ipv6.src', 'ip.dst', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport',
          'tcp.len', 'smtp.req.command', 'smtp.req.parameter', 'smtp.response.code', 'smtp.rsp.parameter',
          'tls.handshake.type', 'tls.handshake.version', 'tls.handshake.extensions.supported_version',
          'tls.handshake.ciphersuite', 'tls.handshake.random', 'tls.handshake.extensions_server_name',
          'tls.handshake.extension.type']


def tshark_sessions(path):
    cmd = ['tshark', '-r', path, '-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'tcp.reassemble_out_of_order:TRUE', '-T', 'json'] + sum((['-e', f] for f in FIELDS), [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    streams = OrderedDict()
    for pkt in json.loads(out):
        layers = pkt['_source']['layers']
        v = {k: layers.get(k, []) for k in FIELDS}
        if not v['tcp.srcport']:
            continue
        one = lambda k: v[k][0] if v[k] else None
        sp, dp = int(one('tcp.srcport')), int(one('tcp.dstport'))
        if sp not in SMTP_PORTS and dp not in SMTP_PORTS:
            continue
        st = streams.setdefault(one('tcp.stream'), {'frames': [], 'payload': False})
        src = one('ip.src') or one('ipv6.src'); dst = one('ip.dst') or one('ipv6.dst')
        to_server = dp in SMTP_PORTS and not (sp in SMTP_PORTS and sp < dp)
        if 'server_port' not in st:
            if to_server:
                st.update(client_ip=src, client_port=sp, server_ip=dst, server_port=dp)
            else:
                st.update(client_ip=dst, client_port=dp, server_ip=src, server_port=sp)
        if int(one('tcp.len') or 0) > 0:
            st['payload'] = True
        st['frames'].append((to_server, v))
    res = []
    for st in streams.values():
        if st['payload']:
            res.append(wire_facts(st))
    return res


def wire_facts(st):
    f = {k: st[k] for k in ('client_ip', 'client_port', 'server_ip', 'server_port')}
    events, tls = [], {'ch': False, 'sni': None, 'sh': [], 'cert': False}
    first_payload = None
    for to_server, v in st['frames']:
        if first_payload is None and v['tcp.len'] and int(v['tcp.len'][0]) > 0:
            first_payload = (to_server, v)
        cmds, params = v['smtp.req.command'], v['smtp.req.parameter']
        if cmds:
            # tshark 4.0 splits "STARTTLS" into command "STAR" + parameter "TLS"
            pi = 0
            for c in cmds:
                c = c.upper()
                if c in ('MAIL', 'RCPT', 'EHLO', 'HELO', 'AUTH', 'BDAT', 'STAR', 'VRFY', 'EXPN') and pi < len(params):
                    p = params[pi]; pi += 1
                else:
                    p = ''
                if c == 'STAR' and p.upper() == 'TLS':
                    c, p = 'STARTTLS', ''
                events.append(('C', c, p))
        codes, rps = v['smtp.response.code'], v['smtp.rsp.parameter']
        # tshark gives one code per reply but one parameter per line of a multi-line reply
        for i in range(max(len(codes), len(rps))):
            code = codes[min(i, len(codes) - 1)] if codes else '0'
            events.append(('S', int(code), rps[i] if i < len(rps) else ''))
        types = v['tls.handshake.type']
        if '1' in types:
            tls['ch'] = True
            tls['sni'] = v['tls.handshake.extensions_server_name'][0] if v['tls.handshake.extensions_server_name'] else None
            if tls['sh']:
                tls['ch2'] = True
        if '2' in types:
            sv = v['tls.handshake.extensions.supported_version']
            ver = int(sv[0], 16) if sv else int(v['tls.handshake.version'][0], 16)
            tls['sh'].append({'version': ver, 'cipher': int(v['tls.handshake.ciphersuite'][0], 16),
                              'random': v['tls.handshake.random'][0].replace(':', ''),
                              'ext': set(int(x) for x in v['tls.handshake.extension.type'])})
        if '11' in types:
            tls['cert'] = True
    # cleartext SMTP dialogue as tshark decodes it
    f['_events'] = events
    srv = [e for e in events if e[0] == 'S']
    if srv and srv[0][1] == 220:
        f['server_name'] = srv[0][2].split()[0] if srv[0][2].split() else None
    ehlo = [i for i, e in enumerate(events) if e[0] == 'C' and e[1] in ('EHLO', 'HELO')]
    if ehlo:
        f['ehlo_name'] = events[ehlo[0]][2]
        rep = []
        for e in events[ehlo[0] + 1:]:
            if e[0] == 'C':
                break
            rep.append(e)
        if rep and events[ehlo[0]][1] == 'EHLO':
            f['starttls_offered'] = int(any(e[2].upper().split()[:1] == ['STARTTLS'] for e in rep if e[2]))
    st_i = [i for i, e in enumerate(events) if e[0] == 'C' and e[1] == 'STARTTLS']
    f['starttls_reply'] = None
    if st_i:
        nxt = [e for e in events[st_i[0] + 1:] if e[0] == 'S']
        f['starttls_reply'] = nxt[0][1] if nxt else 'no reply decoded'
    f['plaintext_transactions'] = sum(1 for e in events if e[0] == 'C' and e[1] == 'MAIL')
    f['cleartext_auth'] = int(any(e[0] == 'C' and e[1] == 'AUTH' for e in events))
    implicit = bool(first_payload and first_payload[0] and '1' in first_payload[1]['tls.handshake.type'])
    final = [s for s in tls['sh'] if s['random'] != HRR_RANDOM]
    if implicit:
        f['transport'] = 'implicit_tls'
        for k in ('server_name', 'ehlo_name', 'starttls_offered'):
            f.pop(k, None)
    elif tls['ch'] and f['starttls_reply'] is not None and 200 <= int(f['starttls_reply']) < 300:
        f['transport'] = 'starttls'
    else:
        f['transport'] = 'plaintext'
    if final:
        s = final[-1]
        f['tls_version'] = WIRE_VERSIONS.get(s['version'], hex(s['version']))
        f['cipher_suite'] = s['cipher']
        f['hello_retry'] = int(any(x['random'] == HRR_RANDOM for x in tls['sh']))
        if f['tls_version'] == 'TLSv1.3':
            f['resumed'] = int(41 in s['ext'])  # pre_shared_key in ServerHello
        else:
            f['resumed'] = int(not tls['cert'])  # abbreviated handshake: no Certificate
    else:
        f['tls_version'] = None
        f['cipher_suite'] = None
    f['sni'] = tls['sni'] if tls['ch'] else None
    return f


# ---------------------------------------------------------------- log side
def read_log(name):
    path = os.path.join(LOGS, name + '.log')
    clients, postfix, scripted = [], [], []
    cur = None
    mode = None
    for line in open(path, encoding='utf-8', errors='replace').read().splitlines():
        m = re.match(r'### client \((.*)\): (.*)$', line)
        if m:
            cur = {'desc': m.group(1), 'cmd': m.group(2), 'lines': []}
            clients.append(cur); mode = 'client'; continue
        if line.startswith('### server log: new lines of'):
            mode = 'postfix'; continue
        if line.startswith('### server log: refuse454'):
            mode = 'scripted'; continue
        if line.startswith('### client exit status'):
            cur['rc'] = int(line.split()[-1]); mode = None; continue
        if line.startswith('### '):
            if mode == 'client' and 'lines written slowly' not in line and not line.startswith('###   '):
                mode = None
            continue
        if mode == 'client':
            cur['lines'].append(line)
        elif mode == 'postfix':
            postfix.append(line)
        elif mode == 'scripted':
            scripted.append(line)
    return clients, postfix, scripted


def postfix_facts(lines):
    by_port = {}
    for l in lines:
        m = re.search(r'postfix/(?:(\S+)/)?smtpd\[\d+\]: .*?(connect|disconnect|TLS connection established) from '
                      r'\S*?\[([^\]]+)\]:(\d+)(.*)$', l)
        if not m:
            continue
        svc, what, ip, port, rest = m.group(1), m.group(2), m.group(3), int(m.group(4)), m.group(5)
        d = by_port.setdefault(port, {'ip': ip, 'service': svc or 'smtpd'})
        if what == 'TLS connection established':
            t = re.match(r': (\S+) with cipher (\S+)', rest)
            d['tls_version'] = VERSIONS[t.group(1)]; d['cipher'] = t.group(2)
        elif what == 'disconnect':
            d['counts'] = {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', rest)}
    return by_port


def scripted_facts(lines):
    by_port = {}
    for l in lines:
        m = re.match(r'\S+ ([\d.]+|[0-9a-f:]+):(\d+) (C:|S:|--) (.*)$', l)
        if not m:
            continue
        by_port.setdefault(int(m.group(2)), []).append((m.group(3)[0], m.group(4)))
    return by_port


def dialogue(events):
    """Facts from a normalised transcript: ('S', line) / ('C', line) / ('TLS', version, cipher)."""
    f = {}
    tls_at = next((i for i, e in enumerate(events) if e[0] == 'TLS'), None)
    clear = events if tls_at is None else events[:tls_at]
    # drop message bodies: client lines after a 354 reply up to the lone "."
    norm, in_data = [], False
    for e in clear:
        if e[0] == 'C' and in_data:
            if e[1] == '.':
                in_data = False
            continue
        if e[0] == 'S' and e[1].startswith('354'):
            in_data = True
        norm.append(e)
    srv = [e[1] for e in norm if e[0] == 'S']
    if srv and srv[0].startswith('220'):
        f['server_name'] = srv[0][4:].split()[0]
    verbs = [(i, e[1].split(' ', 1)) for i, e in enumerate(norm) if e[0] == 'C' and e[1]]
    ehlo = [(i, w) for i, w in verbs if w[0].upper() in ('EHLO', 'HELO')]
    if ehlo:
        i, w = ehlo[0]
        f['ehlo_name'] = w[1] if len(w) > 1 else ''
        rep = []
        for e in norm[i + 1:]:
            if e[0] == 'C':
                break
            rep.append(e[1])
        if rep and w[0].upper() == 'EHLO':
            f['starttls_offered'] = int(any(r[4:].upper().split()[:1] == ['STARTTLS'] for r in rep))
    f['starttls_reply'] = None
    for i, w in verbs:
        if w[0].upper() == 'STARTTLS':
            nxt = [e[1] for e in norm[i + 1:] if e[0] == 'S']
            f['starttls_reply'] = int(nxt[0][:3]) if nxt else None
            break
    f['plaintext_transactions'] = sum(1 for i, w in verbs if w[0].upper() == 'MAIL')
    f['cleartext_auth'] = int(any(w[0].upper() == 'AUTH' for i, w in verbs))
    if tls_at is not None:
        f['tls_version'], f['cipher'] = events[tls_at][1], events[tls_at][2]
        f['transport'] = 'implicit_tls' if not srv else 'starttls'
        if f['transport'] == 'implicit_tls':
            for k in ('server_name', 'ehlo_name', 'starttls_offered'):
                f.pop(k, None)
    else:
        f['transport'] = 'plaintext'
        f['tls_version'] = None
    return f


def swaks_sessions(c):
    ev = []
    for l in c['lines']:
        if l.startswith(('<-  ', '<** ')):
            ev.append(('S', l[4:]))
        elif l.startswith(' -> '):
            ev.append(('C', l[4:]))
        elif l.startswith(('<~  ', '<~* ', ' ~> ')):
            ev.append(('T', l[4:]))
        m = re.match(r'=== TLS started with cipher (\S+?):(\S+?):\d+', l)
        if m:
            ev.append(('TLS', VERSIONS[m.group(1)], m.group(2)))
    f = dialogue(ev)
    m = re.search(r'--tls-sni (\S+)', c['cmd'])
    f['_sni_cmd'] = m.group(1) if m else None
    if f['tls_version']:
        f['resumed'] = 0  # a fresh swaks process has no session to resume
    return [f]


def msmtp_sessions(c):
    ev, lines = [], c['lines']
    for i, l in enumerate(lines):
        if l.startswith('<-- '):
            ev.append(('S', l[4:]))
        elif l.startswith('--> '):
            ev.append(('C', l[4:]))
        elif l.startswith('TLS session parameters:'):
            m = re.match(r'\s*\((TLS[\d.]+)\)-\(.*\)-\(.*\)-\((.*)\)', lines[i + 1])
            ver = VERSIONS[m.group(1)]
            ev.append(('TLS', ver, GNUTLS13.get(m.group(2), m.group(2)) if ver == 'TLSv1.3' else m.group(2)))
    f = dialogue(ev)
    if f['tls_version']:
        f['resumed'] = 0
    return [f]


def python_sessions(c):
    sessions, ev, port = [], None, None
    for l in c['lines']:
        if re.match(r'session \d', l):
            if ev is not None:
                sessions.append((port, ev))
            ev, port = [], None
        m = re.search(r'local port (\d+)', l)
        if m:
            port = int(m.group(1))
        if re.match(r'session \d', l) or m:
            continue
        if ev is None:
            continue
        if l.startswith('S: '):
            ev.append(('S', l[3:]))
        elif l.startswith('C: '):
            ev.append(('C', l[3:]))
        elif l.startswith("send: "):
            data = ast.literal_eval(l[6:])
            data = data.decode() if isinstance(data, bytes) else data
            for x in data.split('\r\n')[:-1]:
                ev.append(('C', x))
        elif l.startswith("reply: b"):
            ev.append(('S', ast.literal_eval(l[7:]).decode().rstrip('\r\n')))
        m = re.match(r"TLS version: (\S+) cipher: \('([^']+)'", l)
        if m:
            ev.append(('TLS', VERSIONS[m.group(1)], m.group(2)))
    if ev is not None:
        sessions.append((port, ev))
    out = []
    for port, ev in sessions:
        f = dialogue(ev)
        f['_port'] = port
        if f['tls_version']:
            f['resumed'] = 0
        out.append(f)
    return out


def s_client_sessions(c):
    text = '\n'.join(c['lines'])
    target = re.search(r's_client_msg (\S+):(\d+) (\S+)', c['cmd'])
    ip = target.group(1)
    f = {'transport': 'starttls', 'ehlo_name': target.group(3), 'server_name': BANNER.get(ip),
         'plaintext_transactions': 0, 'cleartext_auth': 0}
    f['starttls_offered'] = 0 if "Didn't find STARTTLS" in text else 1
    m = re.search(r'^(New|Reused), (\S+), Cipher is (\S+)', text, re.M)
    if m:
        f['starttls_reply'] = 220
        f['resumed'] = int(m.group(1) == 'Reused')
        f['cipher'] = m.group(3)
        p = re.search(r'^\s+Protocol\s+:\s+(\S+)', text, re.M)
        # "New, TLSv1.0, Cipher is X" names the cipher's protocol, not the negotiated one:
        # take "Protocol :" from the SSL-Session block; a TLS 1.3 suite implies TLSv1.3.
        if p:
            f['tls_version'] = VERSIONS[p.group(1)]
        elif m.group(3).startswith('TLS_'):
            f['tls_version'] = 'TLSv1.3'
    m = re.search(r'-servername (\S+)', c['cmd'])
    f['_sni_cmd'] = m.group(1) if m else None
    f['_no_sni'] = '-noservername' in c['cmd']
    return [f]


def client_sessions(c):
    cmd = c['cmd']
    if cmd.startswith('swaks'):
        return swaks_sessions(c)
    if cmd.startswith('s_client_msg'):
        return s_client_sessions(c)
    if 'msmtp' in cmd:
        return msmtp_sessions(c)
    if cmd.startswith('python3'):
        return python_sessions(c)
    raise SystemExit(f'unknown client {cmd}')


# ---------------------------------------------------------------- combine
def build(cap):
    print(f'== {cap}')
    wire = tshark_sessions(os.path.join(DATA, cap))
    clients, pf_lines, scr_lines = read_log(cap)
    csess = [s for c in clients for s in client_sessions(c)]
    pf, scr = postfix_facts(pf_lines), scripted_facts(scr_lines)
    if len(csess) != len(wire):
        problem(cap, f'{len(csess)} client sessions in the log but {len(wire)} TCP sessions with payload')
    rows = []
    for w, c in zip(wire, csess):
        port = w['client_port']
        if c.get('_port') is not None and c['_port'] != port:
            problem(cap, f'client says local port {c["_port"]}, capture has {port}')
        row = OrderedDict((k, w[k]) for k in ('client_ip', 'client_port', 'server_ip', 'server_port'))
        p = pf.get(port)
        if BANNER.get(w['server_ip']) and w['server_ip'] != '127.0.0.5':
            if not p:
                problem(cap, f'no Postfix log lines for client port {port}')
                p = {}
            elif p['ip'] != w['client_ip']:
                problem(cap, f'Postfix saw client {p["ip"]}, capture {w["client_ip"]}')
        else:
            p = {}
        # TLS facts: server log and client output must agree
        tv, ciph = c.get('tls_version'), c.get('cipher')
        if p.get('tls_version') or tv:
            if p and (p.get('tls_version') != tv or p.get('cipher') != ciph):
                problem(cap, f'port {port}: server says {p.get("tls_version")} {p.get("cipher")}, client says {tv} {ciph}')
                tv = ciph = None
        else:
            if p.get('counts', {}).get('starttls') and c.get('starttls_reply') == 220:
                problem(cap, f'port {port}: STARTTLS accepted but no TLS line')
        transport = c['transport']
        if p:
            pt = 'implicit_tls' if (p.get('tls_version') and p['service'] == 'smtps') else (
                'starttls' if p.get('tls_version') else 'plaintext')
            if pt != transport:
                problem(cap, f'port {port}: transport server {pt} vs client {transport}')
            cnt = p.get('counts', {})
            if transport == 'plaintext' and cnt.get('mail', 0) != c['plaintext_transactions']:
                problem(cap, f'port {port}: Postfix counted mail={cnt.get("mail")} vs client {c["plaintext_transactions"]}')
            if transport == 'plaintext' and cnt.get('auth', 0) != c['cleartext_auth']:
                problem(cap, f'port {port}: Postfix counted auth={cnt.get("auth")} vs client {c["cleartext_auth"]}')
            if transport == 'starttls' and cnt.get('starttls') != 1:
                problem(cap, f'port {port}: Postfix counted starttls={cnt.get("starttls")}')
        if port in scr:
            sev = [('S' if d == 'S' else 'C', t) for d, t in scr[port] if d in ('S', 'C')]
            sf = dialogue(sev)
            for k in ('server_name', 'ehlo_name', 'starttls_offered', 'starttls_reply', 'plaintext_transactions',
                      'cleartext_auth', 'transport'):
                if sf.get(k) != c.get(k):
                    problem(cap, f'port {port}: scripted server says {k}={sf.get(k)}, client {c.get(k)}')
        row['transport'] = transport
        if 'starttls_offered' in c:
            row['starttls_offered'] = c['starttls_offered']
        row['starttls_reply'] = c.get('starttls_reply')
        if transport == 'plaintext':
            row['tls_version'] = None; row['cipher_suite'] = None; row['cipher_name'] = None
        elif tv and ciph:
            row['tls_version'] = tv
            row['cipher_suite'], row['cipher_name'] = CIPHERS[ciph]
        # sni: the ClientHello (tshark), checked against the client's command line
        if transport == 'plaintext':
            row['sni'] = None
        else:
            want = c.get('_sni_cmd')
            if want is not None and w['sni'] != want:
                problem(cap, f'port {port}: SNI on the wire {w["sni"]} vs command line {want}')
            elif c.get('_no_sni') and w['sni'] is not None:
                problem(cap, f'port {port}: -noservername but SNI {w["sni"]} on the wire')
            else:
                row['sni'] = w['sni']
            row['hello_retry'] = w.get('hello_retry')
            row['resumed'] = c.get('resumed', w.get('resumed'))
        row['plaintext_transactions'] = c['plaintext_transactions']
        row['cleartext_auth'] = c['cleartext_auth']
        for k in ('server_name', 'ehlo_name'):
            if c.get(k) is not None:
                row[k] = c[k]
        # cross-check every fact with tshark
        for k, v in list(row.items()):
            if k in w and w[k] != v:
                problem(cap, f'port {port}: {k}: truth {v!r} but tshark decodes {w[k]!r}')
                del row[k]
        for k in ('server_name', 'ehlo_name', 'starttls_offered'):
            if k in w and k not in row:
                problem(cap, f'port {port}: tshark shows {k}={w[k]!r} but the logs do not')
        rows.append(row)
        print('  ', json.dumps(row))
    return rows, wire


def check_derived(cap, sources, truth):
    print(f'== {cap} (derived from {", ".join(sources)})')
    wire = tshark_sessions(os.path.join(DATA, cap))
    src_rows = {(r['client_ip'], r['client_port']): r for s in sources for r in truth[s]['sessions']}
    rows = []
    for w in wire:
        r = src_rows.get((w['client_ip'], w['client_port']))
        if r is None:
            problem(cap, f'session {w["client_ip"]}:{w["client_port"]} not in the sources')
            continue
        for k, v in r.items():
            if k in w and w[k] != v:
                problem(cap, f'port {w["client_port"]}: {k}: source truth {v!r}, tshark {w[k]!r}')
        rows.append(r)
    if len(rows) != len(src_rows):
        problem(cap, f'{len(rows)} sessions, sources have {len(src_rows)}')
    print(f'   {len(rows)} sessions match their sources')
    return rows


def main():
    truth = OrderedDict()
    for cap in RECORDED:
        if not os.path.exists(os.path.join(DATA, cap)):
            print(f'== {cap}: missing, skipped'); continue
        rows, wire = build(cap)
        truth[cap] = OrderedDict([('rows', len(wire)), ('sessions', rows)])
    for cap, srcs in DERIVED.items():
        if not os.path.exists(os.path.join(DATA, cap)):
            print(f'== {cap}: missing, skipped'); continue
        rows = check_derived(cap, srcs, truth)
        truth[cap] = OrderedDict([('rows', len(tshark_sessions(os.path.join(DATA, cap)))), ('sessions', rows)])
    doc = OrderedDict([
        ('_about', "Ground truth for the SMTP captures recorded on loopback in this folder (see README.md), in terms "
                   "of the sessions table: one object per capture, 'rows' = exact number of session rows (TCP "
                   "connections with payload on ports 25/465/587), 'sessions' = the facts each row must show, in "
                   "capture order (only the fields listed are checked; a field is left out where the evidence does "
                   "not settle it, e.g. server_name/ehlo_name inside implicit TLS). TLS facts come from the "
                   "server's own log (Postfix) and the client's own output, which agree; the cleartext dialogue "
                   "from the client's or scripted server's transcript; everything was cross-checked with tshark "
                   "(record/make_truth.py). Raw evidence: logs/<capture>.log."),
        ('captures', truth)])
    with open(os.path.join(DATA, 'truth.json'), 'w') as fh:
        json.dump(doc, fh, indent=1)
        fh.write('\n')
    print(f'\nwrote truth.json: {len(truth)} captures, {sum(len(v["sessions"]) for v in truth.values())} sessions')
    if problems:
        print(f'{len(problems)} PROBLEM(S):'); [print(' ', p) for p in problems]
        sys.exit(1)
    print('all facts agree (server log, client output, tshark)')


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""TLS depth truth (issue 4): adds the captures recorded by record_tls.sh to
tests/data/truth.json and adds fingerprint, key exchange, cipher judgement and
certificate facts to the TLS sessions of every capture. Run after
make_truth.py (which rewrites truth.json).

Sources, per field (a field is written only when its sources agree; every
disagreement is printed and the script exits 1):
  - the cleartext part, TLS version and cipher: as make_truth.py (client output,
    Postfix's log, tshark), for the new captures built here with the same helpers.
  - ja3, ja3s: tshark 4.0 (tls.handshake.ja3 / ja3s), first ClientHello and final
    ServerHello of the connection.
  - ja4: tshark has none; computed below from tshark's decoded ClientHello fields
    with an implementation of the FoxIO JA4 specification written apart from the
    C one (checked in tests/unit/test_fingerprint.c against published values).
  - kx_group: the client (s_client "Server Temp Key", Postfix's TLS 1.3
    "key-exchange" words) and tshark (ServerHello key_share group or
    ServerKeyExchange named curve); kx_dh_bits: s_client "DH, N bits" and tshark p_len.
  - forward_secrecy, aead, weak_cipher, client_offered_*, server_chose_weak,
    server_declined_fs: from the IANA names (dissect/data/tls-cipher-suites.csv)
    of the negotiated and offered suites (tshark), with the rules written out
    below, and for the SSLv2 hello the client's own list of what it sent.
  - tls_outcome, tls_alert_name, tls_alert_from: the client's output (s_client
    "SSL alert number", legacy_client.py's record list), Postfix ("TLS connection
    established", "SSL_accept error", "lost connection after STARTTLS") and tshark
    (alerts and their direction).
  - cert_*: the leaf certificate on the wire (tshark), parsed with Python's
    cryptography package, checked against the server's certificate file as the
    recording noted it (logs: "### server certificate", SHA-256 fingerprint);
    cert_expired against the capture's first packet time, cert_name_match: the
    banner's host name against the DNS SANs (or CN) by RFC 6125 6.4.
"""
import datetime, hashlib, ipaddress, json, os, re, subprocess, sys
from collections import OrderedDict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the repository
import make_truth as M  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, ed448, rsa  # noqa: E402
from cryptography.x509.oid import ExtensionOID, NameOID  # noqa: E402

DATA = M.DATA
NEW = ['cert-ecdsa.pcap', 'cert-expired.pcap', 'kx-groups.pcap', 'cipher-suites.pcap',
       'refused-handshake.pcap', 'legacy-hellos.pcap', 'starttls-no-hello.pcap']
M.BANNER.update({'127.0.0.7': 'mx7.smtptls.test', '127.0.0.8': 'mx8.smtptls.test',
                 '127.0.0.9': 'mx9.smtptls.test'})
M.CIPHERS.update({
    'ECDHE-ECDSA-AES256-GCM-SHA384': (0xC02C, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'),
    'DHE-RSA-AES128-GCM-SHA256': (0x009E, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'),
    'AES128-SHA': (0x002F, 'TLS_RSA_WITH_AES_128_CBC_SHA'),
    'ADH-AES128-GCM-SHA256': (0x00A6, 'TLS_DH_anon_WITH_AES_128_GCM_SHA256'),
    'ECDHE-RSA-NULL-SHA': (0xC010, 'TLS_ECDHE_RSA_WITH_NULL_SHA'),
})
GROUPS = {0x001d: 'x25519', 0x0017: 'secp256r1', 0x0018: 'secp384r1', 0x0019: 'secp521r1',
          0x001e: 'x448', 0x0100: 'ffdhe2048', 0x11ec: 'X25519MLKEM768'}
OPENSSL_GROUPS = {'X25519': 'x25519', 'X448': 'x448', 'prime256v1': 'secp256r1',
                  'secp384r1': 'secp384r1', 'secp521r1': 'secp521r1'}
ALERTS = {40: 'handshake_failure', 42: 'bad_certificate', 47: 'illegal_parameter',
          48: 'unknown_ca', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error'}
SIG_ALGS = {'1.2.840.113549.1.1.11': 'sha256WithRSAEncryption', '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
            '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256', '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384'}
GREASE = {0x0a0a + 0x1010 * i for i in range(16)}
problems = []


def problem(cap, msg):
    problems.append(f'{cap}: {msg}')
    print(f'  !! {msg}')


# ---------------------------------------------------------------- the IANA registry, judged
def load_registry():
    names = {}
    for line in open(os.path.join(DATA, '..', '..', 'dissect', 'data', 'tls-cipher-suites.csv')):
        if line.startswith('#') or ',' not in line:
            continue
        code, name = line.strip().split(',')[:2]
        names[int(code, 16)] = name
    return names


IANA = load_registry()


def judge(name):
    """(forward secret, AEAD, weak, signalling) from an IANA suite name."""
    if name.endswith('_SCSV'):
        return 0, 0, 0, 1
    kx, _, bulk = name.partition('_WITH_')
    if not bulk:  # TLS 1.3: TLS_AES_128_GCM_SHA256
        kx, bulk = 'TLS13', name[4:]
    fs = int(kx == 'TLS13' or kx.startswith(('TLS_ECDHE_', 'TLS_DHE_', 'TLS_PSK_DHE')))
    aead = int(any(t in bulk for t in ('GCM', 'CCM', 'CHACHA20_POLY1305', 'AEGIS', 'MGM')))
    weak = int('_anon' in kx or 'EXPORT' in name or bulk.startswith('NULL') or bulk.endswith('_NULL')
               or any(t in bulk for t in ('RC4', 'RC2', 'IDEA', 'DES40', 'DES_CBC', '3DES')))
    return fs, aead, weak, 0


# ---------------------------------------------------------------- tshark: TLS per connection
TF = ['tcp.srcport', 'tcp.dstport', 'frame.time_epoch', 'tls.handshake.type', 'tls.handshake.version',
      'tls.handshake.ciphersuite', 'tls.handshake.extension.type', 'tls.handshake.extensions_server_name',
      'tls.handshake.extensions_alpn_str', 'tls.handshake.extensions.supported_version',
      'tls.handshake.sig_hash_alg', 'tls.handshake.ja3', 'tls.handshake.ja3s',
      'tls.handshake.extensions_key_share_group', 'tls.handshake.server_named_curve', 'tls.handshake.p_len',
      'tls.handshake.certificate', 'tls.alert_message.desc', 'tls.record.content_type',
      'tls.record.opaque_type', '_ws.col.Protocol', 'tls.handshake.random', 'tcp.flags.fin',
      'tcp.flags.reset']


def ints(v, k):
    return [int(x, 16) if str(x).startswith('0x') else int(x) for x in v.get(k, [])]


def ja4(v):
    """FoxIO JA4 from tshark's ClientHello fields (independent of dissect/fingerprint.c)."""
    ciphers = [c for c in ints(v, 'tls.handshake.ciphersuite') if c not in GREASE]
    exts = [e for e in ints(v, 'tls.handshake.extension.type') if e not in GREASE]
    sv = [x for x in ints(v, 'tls.handshake.extensions.supported_version') if x not in GREASE]
    ver = max(sv) if 43 in exts else ints(v, 'tls.handshake.version')[0]
    vtext = {0x0304: '13', 0x0303: '12', 0x0302: '11', 0x0301: '10', 0x0300: 's3'}.get(ver, '00')
    alpn = (v.get('tls.handshake.extensions_alpn_str') or [''])[0]
    if not alpn:
        a = '00'
    elif alpn[0].isascii() and alpn[0].isalnum() and alpn[-1].isascii() and alpn[-1].isalnum():
        a = alpn[0] + alpn[-1]
    else:
        a = '%x%x' % (ord(alpn[0]) >> 4, ord(alpn[-1]) & 15)
    sigs = [s for s in ints(v, 'tls.handshake.sig_hash_alg') if s not in GREASE]
    h = lambda s: hashlib.sha256(s.encode()).hexdigest()[:12] if s else '000000000000'
    b = ','.join('%04x' % c for c in sorted(ciphers))
    c = ','.join('%04x' % e for e in sorted(exts) if e not in (0, 16))
    if sigs:
        c += '_' + ','.join('%04x' % s for s in sigs)
    return 't%s%s%02d%02d%s_%s_%s' % (vtext, 'd' if 0 in exts else 'i', min(len(ciphers), 99),
                                      min(len(exts), 99), a, h(b), h(c))


def tshark_tls(path):
    cmd = ['tshark', '-r', path, '-o', 'tcp.desegment_tcp_streams:TRUE', '-o', 'tcp.reassemble_out_of_order:TRUE',
           '-Y', 'tls || tcp.flags.syn == 1 || tcp.flags.fin == 1 || tcp.flags.reset == 1', '-T', 'json'] + sum((['-e', f] for f in TF), [])
    conns = OrderedDict()
    for p in json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout or '[]'):
        v = p['_source']['layers']
        sp, dp = int(v['tcp.srcport'][0]), int(v['tcp.dstport'][0])
        to_server = dp in M.SMTP_PORTS
        c = conns.setdefault(sp if to_server else dp, {'t0': float(v['frame.time_epoch'][0]), 'alerts': []})
        types = v.get('tls.handshake.type', [])
        if '1' in types and 'ch' not in c:
            c['ch'] = v
        if '2' in types and (v.get('tls.handshake.random') or [''])[-1].replace(':', '') != M.HRR_RANDOM:
            c['sh'] = v
        if '11' in types and v.get('tls.handshake.certificate') and 'cert' not in c:
            c['cert'] = bytes.fromhex(v['tls.handshake.certificate'][0].replace(':', ''))
        if '12' in types:
            c['ske'] = v
        if v.get('_ws.col.Protocol', [''])[0] == 'SSLv2' and to_server:
            c['sslv2'] = True
        for d in ints(v, 'tls.alert_message.desc'):
            c['alerts'].append(('client' if to_server else 'server', d))
        for t in ints(v, 'tls.record.content_type') + ints(v, 'tls.record.opaque_type'):
            if t == 23:
                c.setdefault('appdata', set()).add(to_server)
            if t in (20, 23) and to_server:
                c['client_ccs'] = True
        if v.get('tcp.flags.fin', ['0'])[0] in ('1', 'True') or \
           v.get('tcp.flags.reset', ['0'])[0] in ('1', 'True'):
            c['ended'] = True
    return conns


def wire_depth(c):
    """Facts tshark shows for one connection."""
    f = {}
    if 'ch' in c and not c.get('sslv2'):
        f['ja3'] = (c['ch'].get('tls.handshake.ja3') or [None])[0]
        f['ja4'] = ja4(c['ch'])
    if 'sh' in c:
        f['ja3s'] = (c['sh'].get('tls.handshake.ja3s') or [None])[-1]
        g = ints(c['sh'], 'tls.handshake.extensions_key_share_group')
        if g:
            f['kx_group'] = GROUPS.get(g[0], hex(g[0]))
    if 'ske' in c:
        g = ints(c['ske'], 'tls.handshake.server_named_curve')
        if g:
            f['kx_group'] = GROUPS.get(g[0], hex(g[0]))
        p = ints(c['ske'], 'tls.handshake.p_len')
        if p:
            f['kx_dh_bits'] = p[0] * 8
    if c['alerts']:
        f['tls_alert_from'], d = c['alerts'][0]
        f['tls_alert_name'] = ALERTS.get(d, str(d))
    return f


# ---------------------------------------------------------------- the certificate
def key_of(cert):
    k = cert.public_key()
    if isinstance(k, rsa.RSAPublicKey):
        return 'RSA', k.key_size
    if isinstance(k, ec.EllipticCurvePublicKey):
        return 'EC', k.curve.key_size
    if isinstance(k, ed25519.Ed25519PublicKey):
        return 'Ed25519', 253
    if isinstance(k, ed448.Ed448PublicKey):
        return 'Ed448', 456
    if isinstance(k, dsa.DSAPublicKey):
        return 'DSA', k.key_size
    return None, None


def rfc6125(names, cn, host):
    def one(p, h):
        p, h = p.lower().rstrip('.'), h.lower().rstrip('.')
        if p.startswith('*.'):
            rest = p[1:]
            return '.' in rest[1:] and '.' in h and h.index('.') > 0 and h[h.index('.'):] == rest
        return p == h
    return int(any(one(n, host) for n in (names or [cn])))


def cert_facts(der, t0, banner):
    c = x509.load_der_x509_certificate(der)
    attr = lambda name, oid: [a.value for a in name if a.oid == oid]
    try:
        san = c.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    except x509.ExtensionNotFound:
        san = []
    dns = [g.value for g in san if isinstance(g, x509.DNSName)]
    shown = [g.value if isinstance(g, x509.DNSName) else str(g.value) for g in san
             if isinstance(g, (x509.DNSName, x509.IPAddress))]
    kt, kb = key_of(c)
    cn = (attr(c.subject, NameOID.COMMON_NAME) or [''])[-1]
    f = OrderedDict([
        ('cert_subject_cn', cn or None), ('cert_sans', ','.join(shown) or None),
        ('cert_issuer_cn', (attr(c.issuer, NameOID.COMMON_NAME) or [None])[-1]),
        ('cert_issuer_org', (attr(c.issuer, NameOID.ORGANIZATION_NAME) or [None])[0]),
        ('cert_not_before', int(c.not_valid_before_utc.timestamp())),
        ('cert_not_after', int(c.not_valid_after_utc.timestamp())),
        ('cert_key_type', kt), ('cert_key_bits', kb),
        ('cert_sig_alg', SIG_ALGS.get(c.signature_algorithm_oid.dotted_string)),
        ('cert_self_signed', int(c.issuer.public_bytes() == c.subject.public_bytes())),
        ('cert_expired', int(t0 > c.not_valid_after_utc.timestamp())),
        ('cert_sha256', hashlib.sha256(der).hexdigest())])
    if banner:
        f['cert_name_match'] = rfc6125(dns, cn, banner)
    return f


def noted_fingerprints(cap):
    """SHA-256 fingerprints of the server certificates the recording noted."""
    text = open(os.path.join(M.LOGS, cap + '.log'), encoding='utf-8', errors='replace').read()
    return {m.replace(':', '').lower() for m in re.findall(r'^sha256 Fingerprint=(\S+)', text, re.M)}


# ---------------------------------------------------------------- the clients' own words
def client_depth(c):
    """What a client's output says about the handshake."""
    text = '\n'.join(c['lines'])
    f = {}
    m = re.search(r'Server Temp Key: (\S+?), (?:(\S+?), )?(\d+) bits', text)
    if m and m.group(1) == 'DH':
        f['kx_dh_bits'] = int(m.group(3))
    elif m:
        f['kx_group'] = OPENSSL_GROUPS.get(m.group(2) or m.group(1), m.group(2) or m.group(1))
    m = re.search(r'SSL alert number (\d+)', text) or re.search(r'server record: alert level \d+ description (\d+)', text)
    if m:
        f['alert'] = ALERTS.get(int(m.group(1)), m.group(1))
    m = re.search(r'Verify return code: (\d+) \(([^)]*)\)', text)
    if m:
        f['verify'] = m.group(2)
    if 'sent: SSLv2-format CLIENT-HELLO' in text:
        specs = re.search(r'cipher specs (\S+),', text).group(1).split(',')
        f['sslv2_specs'] = [int(s, 16) for s in specs]
    f['sent_hello'] = 'no ClientHello sent' not in text
    return f


def python_base(c, w):
    """Base row of a legacy_client.py session (not in make_truth.py's model)."""
    ev = [('S', l[3:]) if l.startswith('S: ') else ('C', l[3:]) for l in c['lines'] if l[:3] in ('S: ', 'C: ')]
    d = M.dialogue(ev)
    row = OrderedDict((k, w[k]) for k in ('client_ip', 'client_port', 'server_ip', 'server_port'))
    row['transport'] = 'starttls' if d['starttls_reply'] == 220 else d['transport']
    for k in ('starttls_offered', 'starttls_reply'):
        row[k] = d[k]
    row['plaintext_transactions'] = d['plaintext_transactions']
    row['cleartext_auth'] = d['cleartext_auth']
    row['server_name'], row['ehlo_name'] = d['server_name'], d['ehlo_name']
    m = re.search(r'server record: handshake type 2 .* version 0x(\w+) cipher 0x(\w+)', '\n'.join(c['lines']))
    if m:  # the ServerHello the script received
        row['tls_version'] = M.WIRE_VERSIONS[int(m.group(1), 16)]
        row['cipher_suite'] = int(m.group(2), 16)
        row['cipher_name'] = IANA[row['cipher_suite']]
    for k in ('server_name', 'ehlo_name', 'starttls_offered', 'starttls_reply'):
        if k in w and w[k] != row[k]:
            row.pop(k)
    return row


# ---------------------------------------------------------------- combining
def judgement(row, ch, sslv2_specs):
    """Cipher judgement and the client's offer (from names in the IANA registry)."""
    if sslv2_specs is not None:
        tls = [s & 0xffff for s in sslv2_specs if s >> 16 == 0]
        offered = [IANA[s] for s in tls if s in IANA]
        row['client_suites'] = len(sslv2_specs)
        weak_native = len(tls) < len(sslv2_specs)
        row['client_offered_weak'] = int(weak_native or any(judge(n)[2] for n in offered))
        row['client_offered_tls13'] = 0
        row['sslv2_hello'] = 1
    elif ch is not None:
        codes = [x for x in ints(ch, 'tls.handshake.ciphersuite') if x not in GREASE]
        offered = [IANA[x] for x in codes if x in IANA and not judge(IANA[x])[3]]
        row['client_suites'] = len([x for x in codes if not (x in IANA and judge(IANA[x])[3])])
        row['client_offered_weak'] = int(any(judge(n)[2] for n in offered))
        sv = [x for x in ints(ch, 'tls.handshake.extensions.supported_version') if x not in GREASE]
        row['client_offered_tls13'] = int(0x0304 in sv)
        row['sslv2_hello'] = 0
    else:
        return
    name = row.get('cipher_name')
    if name:
        fs, aead, weak, _ = judge(name)
        if row.get('tls_version') == 'TLSv1.3' and 'kx_group' not in row:
            fs = 0
        row.update(forward_secrecy=fs, aead=aead, weak_cipher=weak)
        row['server_chose_weak'] = int(weak and any(not judge(n)[2] for n in offered))
        row['server_declined_fs'] = int(not fs and any(judge(n)[0] for n in offered))


def outcome(row, conn, cd, pfp):
    """tls_outcome from the client, Postfix and the wire; None if they disagree."""
    est_wire = conn is not None and conn.get('appdata') == {True, False}
    if not cd.get('sent_hello', True) and (conn is None or 'ch' not in conn):
        return 'no_tls_after_220' if 'lost connection after STARTTLS' in pfp else None
    if row.get('tls_version') and pfp.find('TLS connection established') >= 0 and est_wire:
        return 'established'
    if cd.get('alert') and (conn is None or 'sh' not in conn) and 'SSL_accept error' in pfp:
        return 'refused'
    if conn is not None and 'sh' in conn and not conn.get('alerts') and not est_wire:
        # C3 (issue 12): the connection's end in the capture before the
        # client's ChangeCipherSpec/Finished is a failure, not unknown
        return 'failed' if conn.get('ended') and not conn.get('client_ccs') else 'incomplete'
    return None


def depth_row(cap, row, conn, cd, pfp, banner):
    """Adds the depth facts to one row; disagreements are problems."""
    w = wire_depth(conn) if conn else {}
    port = row['client_port']
    for k in ('kx_group', 'kx_dh_bits'):
        if k in cd and k in w and cd[k] != w[k]:
            problem(cap, f'port {port}: {k}: client says {cd[k]}, tshark {w[k]}')
        elif k in cd or k in w:
            row[k] = cd.get(k, w.get(k))
    if 'kx_group' in row:
        row['kx_pq'] = int('MLKEM' in row['kx_group'] or 'Kyber' in row['kx_group'])
    if cd.get('alert'):
        if w.get('tls_alert_name') != cd['alert']:
            problem(cap, f'port {port}: alert: client {cd["alert"]}, tshark {w.get("tls_alert_name")}')
        else:
            row['tls_alert_name'], row['tls_alert_from'] = w['tls_alert_name'], w['tls_alert_from']
    for k in ('ja3', 'ja3s', 'ja4'):
        if w.get(k):
            row[k] = w[k]
    judgement(row, conn.get('ch') if conn else None, cd.get('sslv2_specs'))
    oc = outcome(row, conn, cd, pfp)
    if oc:
        row['tls_outcome'] = oc
    if conn and 'cert' in conn:
        cf = cert_facts(conn['cert'], conn['t0'], banner)
        noted = noted_fingerprints(cap)
        if noted and cf['cert_sha256'] not in noted:
            problem(cap, f'port {port}: the leaf on the wire is not the server certificate noted in the log')
        elif cf['cert_expired'] != int(cd.get('verify') == 'certificate has expired'):
            problem(cap, f'port {port}: expired {cf["cert_expired"]} but s_client says {cd.get("verify")}')
        else:
            row.update(cf)


def postfix_text(cap, port):
    _, pf_lines, _ = M.read_log(cap)
    return '\n'.join(l for l in pf_lines if re.search(r'\]:%d\b' % port, l))


def build_new(cap):
    print(f'== {cap}')
    wire = M.tshark_sessions(os.path.join(DATA, cap))
    conns = tshark_tls(os.path.join(DATA, cap))
    clients, pf_lines, _ = M.read_log(cap)
    pf = M.postfix_facts(pf_lines)
    rows = []
    if len(clients) != len(wire):
        problem(cap, f'{len(clients)} clients but {len(wire)} TCP sessions with payload')
    for w, c in zip(wire, clients):
        port = w['client_port']
        cd = client_depth(c)
        if c['cmd'].startswith('python3'):
            row = python_base(c, w)
        else:
            base = M.client_sessions(c)[0]
            if base.get('cipher') == '(NONE)':  # s_client after a refused handshake
                for k in ('cipher', 'tls_version', 'resumed'):
                    base.pop(k, None)
            row = OrderedDict((k, w[k]) for k in ('client_ip', 'client_port', 'server_ip', 'server_port'))
            row['transport'] = 'starttls'
            for k in ('starttls_offered', 'starttls_reply', 'server_name', 'ehlo_name', 'plaintext_transactions',
                      'cleartext_auth'):
                if k in base:
                    row[k] = base[k]
            p = pf.get(port, {})
            tv, ciph = base.get('tls_version'), base.get('cipher')
            if tv and (p.get('tls_version') != tv or p.get('cipher') != ciph):
                problem(cap, f'port {port}: server says {p.get("tls_version")} {p.get("cipher")}, client {tv} {ciph}')
            elif tv:
                row['tls_version'] = tv
                row['cipher_suite'], row['cipher_name'] = M.CIPHERS[ciph]
                row['resumed'] = base.get('resumed', 0)
            if w['sni'] != base.get('_sni_cmd') and not (base.get('_sni_cmd') is None and w['sni'] is None):
                problem(cap, f'port {port}: SNI {w["sni"]} vs command line {base.get("_sni_cmd")}')
            else:
                row['sni'] = w['sni']
            m = re.search(r'key-exchange (?:ECDHE \((\S+)\)|(X25519|X448))', postfix_text(cap, port))
            if m:
                cd.setdefault('kx_group', OPENSSL_GROUPS.get(m.group(1) or m.group(2), m.group(1) or m.group(2)))
        for k in ('tls_version', 'cipher_suite'):
            if k in row and k in w and w[k] != row[k]:
                problem(cap, f'port {port}: {k}: truth {row[k]} but tshark {w[k]}')
        depth_row(cap, row, conns.get(port), cd, postfix_text(cap, port), M.BANNER.get(w['server_ip']))
        rows.append(row)
        print('  ', json.dumps(row))
    return OrderedDict([('rows', len(wire)), ('sessions', rows)])


def overlay(cap, entry):
    """Adds tshark's fingerprints, key exchange, judgement and certificate to
    the TLS sessions of a capture make_truth.py built."""
    conns = tshark_tls(os.path.join(DATA, cap))
    n = 0
    for row in entry['sessions']:
        conn = conns.get(row['client_port'])
        if not conn or not row.get('cipher_name'):
            continue
        w = wire_depth(conn)
        for k in ('ja3', 'ja3s', 'ja4', 'kx_group', 'kx_dh_bits'):
            if w.get(k):
                row[k] = w[k]
        judgement(row, conn.get('ch'), None)
        if 'cert' in conn:
            cf = cert_facts(conn['cert'], conn['t0'], row.get('server_name'))
            for k in ('cert_subject_cn', 'cert_sha256', 'cert_self_signed', 'cert_key_bits', 'cert_name_match'):
                if k in cf:
                    row[k] = cf[k]
        n += 1
    print(f'== {cap}: depth facts added to {n} TLS sessions')


def main():
    path = os.path.join(DATA, 'truth.json')
    doc = json.load(open(path), object_pairs_hook=OrderedDict)
    caps = doc['captures']
    for cap in list(caps):
        if cap not in NEW:
            overlay(cap, caps[cap])
    for cap in NEW:
        if os.path.exists(os.path.join(DATA, cap)):
            caps[cap] = build_new(cap)
    with open(path, 'w') as fh:
        json.dump(doc, fh, indent=1)
        fh.write('\n')
    print(f'\nwrote truth.json: {len(caps)} captures')
    allp = M.problems + problems
    if allp:
        print(f'{len(allp)} PROBLEM(S):')
        for p in allp:
            print(' ', p)
        sys.exit(1)
    print('all depth facts agree (client output, Postfix, tshark, certificate files)')


if __name__ == '__main__':
    main()

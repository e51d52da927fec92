#!/usr/bin/python3
"""The reports of issue 17 on the DNS world captures (tests/data/dns/README.md):

- the per-recipient-domain table (report --format json, section "domains") against
  expected-domains.json: order, sessions, TLS completed and versions, STARTTLS offered,
  mail in clear, plaintext deliveries to policy domains, TLSA mismatches, and what the
  link showed each domain to publish;
- the TLS-RPT output (report --format tlsrpt): every line an RFC 8460 report valid
  against tests/tlsrpt/rfc8460.schema.json, with the numbers of expected-tlsrpt.json;
- the policy evidence and adoption tables in every format; the schema itself rejects
  broken reports (or validating would prove nothing);
- nodns.pcap and --no-dns: the reports say so instead of empty numbers.

usage: dns_reports.py SMTPTLS TESTS_DIR"""
import copy
import datetime
import json
import os
import subprocess
import sys
import tempfile

try:
    import jsonschema
except ImportError:
    print('skipped: python3-jsonschema is not installed (scripts/setup.sh --test)')
    sys.exit(77)

BIN, TESTS = sys.argv[1], sys.argv[2]
DNS = os.path.join(TESTS, 'data', 'dns')
failures = []


def fail(msg):
    failures.append(msg)
    print('FAIL', msg)


def run(*args):
    return subprocess.run([BIN] + list(args), capture_output=True, text=True, check=True).stdout


def capture(tmp, pcap, *opts):
    db = os.path.join(tmp, pcap + '-'.join(opts) + '.db')
    run('capture', '-q', '-r', os.path.join(DNS, pcap), '--db', db, *opts)
    return db


def versions(text):
    out = {}
    for part in (text or '').split(', '):
        if part:
            name, n = part.rsplit(' ', 1)
            out[name] = int(n)
    return out


YES_NO = {'yes': 1, 'no': 0, None: None}


def check_domains(report):
    want = json.load(open(os.path.join(DNS, 'expected-domains.json')))['domains']
    rows = report['sections']['domains']['rows']
    if [r['domain'] for r in rows] != [w['domain'] for w in want]:
        fail(f'domain order {[r["domain"] for r in rows]} != {[w["domain"] for w in want]}')
    got = {r['domain']: r for r in rows}
    for w in want:
        r = got.get(w['domain'])
        if not r:
            fail(f'{w["domain"]}: no row')
            continue
        pairs = [('sessions', r['sessions'], w['sessions']),
                 ('tls_completed', r['tls_completed'], w['tls_completed']),
                 ('tls_versions', versions(r['tls_versions']), w['tls_versions']),
                 ('starttls_offered', r['starttls_offered'], w['starttls_offered']),
                 ('plaintext_mail', r['plaintext_mail'], w['plaintext_mail_sessions']),
                 ('policy_plaintext', r['policy_plaintext'], w['policy_plaintext']),
                 ('tlsa_mismatch', r['tlsa_mismatch'], w['tlsa_mismatch']),
                 ('mta_sts', YES_NO[r['mta_sts']], w['seen_on_link']['mta_sts']),
                 ('dane', r['dane'], w['seen_on_link']['dane']),
                 ('tlsrpt', YES_NO[r['tlsrpt']], w['seen_on_link']['tlsrpt'])]
        for key, g, e in pairs:
            if g != e:
                fail(f'{w["domain"]} {key}: got {g!r}, want {e!r}')
    return {r['domain']: r['sessions'] for r in rows}


def policy_key(p):
    return p['policy']['policy-type']


def check_tlsrpt(lines, schema, sessions):
    want = json.load(open(os.path.join(DNS, 'expected-tlsrpt.json')))['reports']
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    got = {}
    for line in lines:
        doc = json.loads(line)
        errors = list(checker.iter_errors(doc))
        for e in errors:
            fail(f'schema: {list(e.path)}: {e.message}')
        for k in ('start-datetime', 'end-datetime'):
            if not rfc3339(doc['date-range'][k]):
                fail(f'{k} {doc["date-range"][k]} is no RFC 3339 date-time')
        got[doc['policies'][0]['policy']['policy-domain']] = doc
    for w in want:
        d = w['domain']
        doc = got.pop(d, None)
        if not w['policies']:
            if doc:
                fail(f'{d}: reported, but nothing decisive was seen about it')
            continue
        if not doc:
            fail(f'{d}: no report')
            continue
        gp = {policy_key(p): p for p in doc['policies']}
        reported = 0
        for wp in w['policies']:
            p = gp.pop(policy_key(wp), None)
            if not p:
                fail(f'{d}: no {policy_key(wp)} policy')
                continue
            for k in ('policy-domain', 'mx-host'):
                if p['policy'].get(k) != wp['policy'].get(k):
                    fail(f'{d} {policy_key(wp)} {k}: got {p["policy"].get(k)}, want {wp["policy"].get(k)}')
            if p['summary'] != wp['summary']:
                fail(f'{d} {policy_key(wp)} summary: got {p["summary"]}, want {wp["summary"]}')
            by_type = {}
            for f in p.get('failure-details', []):
                by_type[f['result-type']] = by_type.get(f['result-type'], 0) + f['failed-session-count']
            want_types = {f['result-type']: f['failed-session-count'] for f in wp['failure-details']}
            if by_type != want_types:
                fail(f'{d} {policy_key(wp)} failures: got {by_type}, want {want_types}')
            if policy_key(wp) == 'tlsa' and not p['policy'].get('policy-string'):
                fail(f'{d}: tlsa policy without its records')
            reported += sum(p['summary'].values())
        if gp:
            fail(f'{d}: unexpected policies {list(gp)}')
        if sessions.get(d, 0) - reported != w['unreported_sessions']:
            fail(f'{d}: {sessions.get(d, 0) - reported} sessions unreported, want {w["unreported_sessions"]}')
    if got:
        fail(f'unexpected reports {list(got)}')


def rfc3339(v):
    """The date-time form RFC 8460 asks for (jsonschema checks the format only
    with rfc3339-validator installed)."""
    try:
        datetime.datetime.strptime(v, '%Y-%m-%dT%H:%M:%SZ')
        return True
    except (TypeError, ValueError):
        return False


def check_schema_rejects(schema, good):
    """The schema fails broken reports: validation is a test that can fail."""
    checker = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    breakages = [
        lambda d: d.pop('policies'),
        lambda d: d['policies'][0]['policy'].update({'policy-type': 'dane'}),
        lambda d: d['policies'][0].pop('summary'),
        lambda d: d['policies'][0]['summary'].update({'total-failure-session-count': -1}),
        lambda d: d['date-range'].update({'start-datetime': 'yesterday'}),
        lambda d: d.update({'contact-info': 'nobody'}),
        lambda d: d['policies'][0].update({'failure-details': [{'result-type': 'tls-failed',
                                                                  'failed-session-count': 1}]}),
        lambda d: d['policies'][0].update({'failure-details': [{'result-type': 'tlsa-invalid',
                                                                  'sending-mta-ip': '300.1.2.3',
                                                                  'failed-session-count': 1}]}),
    ]
    for i, brk in enumerate(breakages):
        doc = copy.deepcopy(good)
        brk(doc)
        if checker.is_valid(doc) and (i != 4 or rfc3339(doc['date-range']['start-datetime'])):
            fail(f'the schema accepts broken report #{i}')


def check_formats(db):
    text = run('report', '--db', db)
    for title in ('Recipient domains, worst first', 'Policy adoption',
                  'Downgrade evidence: policy domains'):
        if title not in text:
            fail(f'text report without "{title}"')
    csv = run('report', '--db', db, '--format', 'csv')
    for sec in ('domains,', 'policy_adoption,', 'policy_evidence,', 'dns_link,'):
        if not any(line.startswith(sec) for line in csv.splitlines()):
            fail(f'CSV without {sec}')
    html = run('report', '--db', db, '--format', 'html')
    for frag in ('id="part-domains"', 'notls.test', 'badtlsa.test', 'Policy adoption'):
        if frag not in html:
            fail(f'HTML without {frag}')
    rep = json.loads(run('report', '--db', db, '--format', 'json'))
    ev = {(r['domain'], r['kind']): r for r in rep['sections']['policy_evidence']['rows']}
    want_ev = {('notls.test', 'policy_plaintext'): 3, ('strip.test', 'policy_plaintext'): 1,
               ('badtlsa.test', 'tlsa_mismatch'): 2}
    if {k: v['sessions'] for k, v in ev.items()} != want_ev:
        fail(f'policy evidence {ev}')
    for k, r in ev.items():
        ids = [int(x) for x in r['session_ids'].split(', ')]
        if len(ids) != r['sessions']:
            fail(f'{k}: session ids {r["session_ids"]}')
    ad = {r['item']: (r['sessions'], r['of']) for r in rep['sections']['policy_adoption']['rows']}
    if ad != adoption_from_truth():
        fail(f'policy adoption {ad}, the truth says {adoption_from_truth()}')


def adoption_from_truth():
    rows = json.load(open(os.path.join(DNS, 'truth.json')))['captures']['dnsworld.pcap']['sessions']

    def share(part, whole):
        return (sum(1 for r in rows if whole(r) and part(r)), sum(1 for r in rows if whole(r)))
    sts, dane = (lambda r: r['domain_mta_sts'] == 1), (lambda r: r['domain_dane'] == 'signed')
    return {
        'mta_sts': share(sts, lambda r: r['domain_mta_sts'] is not None),
        'dane': share(dane, lambda r: r['domain_dane'] is not None),
        'tlsrpt': share(lambda r: r['domain_tlsrpt'] == 1, lambda r: r['domain_tlsrpt'] is not None),
        'looked_up_mta_sts': share(lambda r: r['sender_looked_up_mta_sts'] == 1,
                                   lambda r: sts(r) and r['sender_looked_up_mta_sts'] is not None),
        'looked_up_tlsa': share(lambda r: r['sender_looked_up_tlsa'] == 1,
                                lambda r: dane(r) and r['sender_looked_up_tlsa'] is not None),
        'fetched_policy': share(lambda r: r['sender_fetched_policy'] == 1,
                                lambda r: sts(r) and r['sender_fetched_policy'] is not None),
    }


def check_privacy(db):
    """Names only: no address learned from DNS (the authoritative servers', the policy web
    server's, never in an SMTP session), no DNS content (the TLS-RPT record's rua, the STS id's
    record text) in the database."""
    run('report', '--db', db, '--format', 'text')  # checkpointed, the WAL folded in
    data = b''
    for suffix in ('', '-wal'):
        if os.path.exists(db + suffix):
            data += open(db + suffix, 'rb').read()
    if b'mx.dane.test' not in data:
        fail('the database file could not be read for names (the check would prove nothing)')
    for needle in (b'198.51.100.', b'203.0.113.80', b'rua=', b'mailto:', b'v=STSv1', b'v=TLSRPTv1'):
        if needle in data:
            fail(f'the database holds {needle!r} from the DNS or HTTPS on the link')


def check_no_dns(tmp):
    for pcap, opts, status in (('nodns.pcap', (), 'no_dns'),
                               ('dnsworld.pcap', ('--no-dns',), 'not_followed')):
        db = capture(tmp, pcap, *opts)
        rep = json.loads(run('report', '--db', db, '--format', 'json'))
        link = rep['sections']['dns_link']['rows'][0]
        if link['status'] != status:
            fail(f'{pcap} {opts}: dns_link {link}')
        if rep['sections']['domains']['rows'] or rep['sections']['policy_evidence']['rows']:
            fail(f'{pcap} {opts}: domain rows without DNS')
        text = run('report', '--db', db)
        if status == 'no_dns' and 'the link showed no DNS' not in text:
            fail(f'{pcap}: the text report does not say the link showed no DNS')
        if run('report', '--db', db, '--format', 'tlsrpt'):
            fail(f'{pcap} {opts}: TLS-RPT reports without DNS')


def main():
    schema = json.load(open(os.path.join(TESTS, 'tlsrpt', 'rfc8460.schema.json')))
    jsonschema.Draft202012Validator.check_schema(schema)
    with tempfile.TemporaryDirectory(prefix='smtptls-dnsreports-') as tmp:
        db = capture(tmp, 'dnsworld.pcap', '--dns-window', '60')
        sessions = check_domains(json.loads(run('report', '--db', db, '--format', 'json')))
        lines = run('report', '--db', db, '--format', 'tlsrpt').splitlines()
        check_tlsrpt(lines, schema, sessions)
        check_schema_rejects(schema, json.loads(lines[0]))
        one = run('report', '--db', db, '--format', 'tlsrpt', '--domain', 'strip.test').splitlines()
        if len(one) != 1 or json.loads(one[0])['policies'][0]['policy']['policy-domain'] != 'strip.test':
            fail(f'--domain strip.test gave {one}')
        check_formats(db)
        check_privacy(db)
        check_no_dns(tmp)
    print(f'dns_reports: {"MISMATCH" if failures else "all as expected"}')
    return 1 if failures else 0


sys.exit(main())

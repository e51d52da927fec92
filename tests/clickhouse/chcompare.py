#!/usr/bin/env python3
"""chcompare.py SQLITE_DB CLICKHOUSE_HTTP DATABASE [SENSOR]

The sessions of a SQLite database and of a ClickHouse database (through
FINAL: each session once) are the same rows: every column of the SQLite
sessions view but id and run_id (numbered by each database), compared as a
multiset (numbers by value: 1.0 and 1 are one). Exit 1 and the first
difference otherwise."""
import json
import sqlite3
import sys
import urllib.error
import urllib.request

db, url, database = sys.argv[1:4]
sensor = sys.argv[4] if len(sys.argv) > 4 else None
con = sqlite3.connect(db)
cols = [r[1] for r in con.execute("pragma table_info(sessions)") if r[1] not in ("id", "run_id")]


def canon(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


where = " WHERE sensor = '%s'" % sensor if sensor else ""
rows_s = sorted(json.dumps([canon(v) for v in r])
                for r in con.execute("SELECT %s FROM sessions%s" % (", ".join(cols), where)))
q = "SELECT %s FROM %s.sessions FINAL%s FORMAT JSONEachRow" % (", ".join(cols), database, where)
req = urllib.request.Request(url + "/?output_format_json_quote_64bit_integers=0", data=q.encode())
try:
    out = urllib.request.urlopen(req).read().decode()
except urllib.error.HTTPError as e:
    print("ClickHouse:", e.read().decode()[:500])
    sys.exit(1)
rows_c = sorted(json.dumps([canon(json.loads(l)[c]) for c in cols]) for l in out.splitlines() if l)
print("%s: %d sessions in SQLite, %d in ClickHouse" % (database, len(rows_s), len(rows_c)))
if rows_s != rows_c:
    only_s = sorted(set(rows_s) - set(rows_c))[:1]
    only_c = sorted(set(rows_c) - set(rows_s))[:1]
    for a, b in zip(only_s, only_c):
        A, B = json.loads(a), json.loads(b)
        print("first difference:", [(cols[i], A[i], B[i]) for i in range(len(cols)) if A[i] != B[i]][:8])
    print("only in SQLite:", only_s, "only in ClickHouse:", only_c)
    sys.exit(1)

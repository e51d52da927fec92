#!/usr/bin/env python3
"""chreport.py SQLITE.json CLICKHOUSE.json

`report --format json` on SQLite and on ClickHouse, section by section:
every section equal but the capture runs' (capture, capture_counters:
each database's own runs and counters) and the coverage's rollup columns
(ClickHouse keeps no rollups); session ids (fields *ids) are each
database's own numbering and are left out. Prints one line per section;
exit 1 when one differs."""
import json
import sys

ASIDE = {"capture", "capture_counters"}


def strip(v):
    if isinstance(v, dict):
        return {k: (None if k.endswith("ids") else strip(x)) for k, x in v.items()
                if not k.startswith("rollups_")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


a, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = 0
for key in ("sessions", "first", "last", "filters", "by", "top"):
    if a.get(key) != b.get(key):
        print("DIFF top-level %s: %r / %r" % (key, a.get(key), b.get(key)))
        bad += 1
sa, sb = a["sections"], b["sections"]
if list(sa) != list(sb):
    print("DIFF the sections: %s / %s" % (list(sa), list(sb)))
    bad += 1
for name in sa:
    if name in ASIDE:
        print("aside %s" % name)
        continue
    same = strip(sa[name]) == strip(sb.get(name))
    print("%s %s" % ("same " if same else "DIFF ", name))
    if not same:
        print("   SQLite:     %s" % json.dumps(strip(sa[name]))[:400])
        print("   ClickHouse: %s" % json.dumps(strip(sb.get(name)))[:400])
        bad += 1
sys.exit(1 if bad else 0)

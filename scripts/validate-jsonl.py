#!/usr/bin/env python3
"""Validates WireState JSON Lines against docs/schema/<type>.json (JSON Schema 2020-12).

usage: validate-jsonl.py FILE.jsonl...   (or - for standard input)
Prints one line per invalid record and exits 1 if any; prints the record counts by type.
Also checks what a schema cannot: every connection's community_id equals the reference
implementation's (python package communityid) when that package is installed.
"""
import json, pathlib, sys
from collections import Counter

import jsonschema

schema_dir = pathlib.Path(__file__).resolve().parent.parent / "docs" / "schema"
validators = {}
for path in schema_dir.glob("*.json"):
    schema = json.loads(path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validators[path.stem] = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())

try:
    import communityid
    cid = communityid.CommunityID()
except ImportError:
    cid = None

bad = 0
counts = Counter()
checked_ids = 0
files = sys.argv[1:] or ["-"]
for name in files:
    stream = sys.stdin if name == "-" else open(name)
    for n, line in enumerate(stream, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"{name}:{n}: not JSON: {e}")
            bad += 1
            continue
        kind = record.get("type")
        counts[kind] += 1
        v = validators.get(kind)
        if v is None:
            print(f"{name}:{n}: no schema for record type {kind!r}")
            bad += 1
            continue
        for err in v.iter_errors(record):
            print(f"{name}:{n}: {kind}: {'/'.join(map(str, err.absolute_path))}: {err.message}")
            bad += 1
        if kind == "connection" and cid is not None:
            ref = cid.calc(communityid.FlowTuple.make_tcp(record["client_ip"], record["server_ip"],
                                                           record["client_port"], record["server_port"]))
            checked_ids += 1
            if ref != record["community_id"]:
                print(f"{name}:{n}: community_id {record['community_id']} but the reference gives {ref}")
                bad += 1
print("records: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + f"; community ids checked: {checked_ids}")
sys.exit(1 if bad else 0)

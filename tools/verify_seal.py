#!/usr/bin/env python3
"""Independent verifier of a bangfu event log and its audit seals.

Python 3 standard library only, written from the specification in
ARCHITECTURE.md ("Seals and the hash chain") and sharing no code with bangfu:

- recomputes every stream's hash chain:
  hash = SHA-256(prev_hash hex || RFC 8785 JSON of
  {aggregate_type, aggregate_id, sequence, event_type, event_version,
   payload, metadata}), prev_hash of a stream's first event = 64 zeros;
- checks that each stream's events appear in the log in sequence order;
- recomputes a seal's event count, stream count and both Merkle roots
  (RFC 6962 Merkle tree hash over RFC 8785 leaves) at its log position;
- checks the seal's Ed25519 signature (RFC 8032, verification written out
  below from the RFC's reference code: the standard library has no Ed25519).

Input: a SQLite store read directly (--sqlite FILE) or the JSON Lines of
`bangfu audit export-chain` (--export FILE). Exit status: 0 all good,
1 something does not verify, 2 bad usage or input.

  python3 tools/verify_seal.py --sqlite bangfu.db --seal seal.txt [--public-key HEX]
  python3 tools/verify_seal.py --self-test
"""

import argparse
import hashlib
import json
import sqlite3
import sys

GENESIS = "0" * 64

# ---------------------------------------------------------------- RFC 8785


def jcs(value):
    """RFC 8785 canonical JSON of a parsed JSON value."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        if abs(value) > 2**53:
            raise ValueError("integer beyond 2^53 has no exact RFC 8785 form")
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        raise ValueError("non-integral numbers are not produced by bangfu")
    if isinstance(value, str):
        return jcs_string(value)
    if isinstance(value, list):
        return "[" + ",".join(jcs(v) for v in value) + "]"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs_string(k) + ":" + jcs(value[k]) for k in keys) + "}"
    raise ValueError("not a JSON value: %r" % (value,))


def jcs_string(s):
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif o < 0x20:
            out.append("\\u%04x" % o)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# ------------------------------------------------------------ hash chain


def event_hash(prev_hash, e):
    doc = {
        "aggregate_type": e["aggregate_type"],
        "aggregate_id": e["aggregate_id"],
        "sequence": e["sequence"],
        "event_type": e["event_type"],
        "event_version": e["event_version"],
        "payload": e["payload"],
        "metadata": e["metadata"],
    }
    data = prev_hash.encode() + jcs(doc).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def check_chains(events):
    """Problems found recomputing every stream's chain (events in log order)."""
    problems = []
    streams = {}
    for e in events:
        streams.setdefault((e["aggregate_type"], e["aggregate_id"]), []).append(e)
    for key in sorted(streams):
        prev, expected_seq = GENESIS, 1
        for e in sorted(streams[key], key=lambda x: x["sequence"]):
            where = "%s %s #%d" % (key[0], key[1], e["sequence"])
            if e["sequence"] != expected_seq:
                problems.append(where + ": sequence gap")
            if e["prev_hash"] != prev:
                problems.append(where + ": prev_hash does not link")
            if event_hash(e["prev_hash"], e) != e["hash"]:
                problems.append(where + ": hash does not recompute")
            prev, expected_seq = e["hash"], e["sequence"] + 1
    last = {}
    for e in events:
        key = (e["aggregate_type"], e["aggregate_id"])
        if e["sequence"] != last.get(key, 0) + 1:
            problems.append("%s %s #%d: out of order in the log" % (key[0], key[1], e["sequence"]))
        last[key] = e["sequence"]
    return problems


# ---------------------------------------------------------------- Merkle


def leaf(data):
    return hashlib.sha256(b"\x00" + data).digest()


def mth(leaves):
    """RFC 6962 Merkle tree hash of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


def snapshot(events):
    """(events, streams, streams_root hex, log_root hex) of a log prefix."""
    heads = {}
    log_leaves = []
    for e in events:
        heads[(e["aggregate_type"], e["aggregate_id"])] = (e["sequence"], e["hash"])
        log_leaves.append(leaf(jcs([e["position"], e["hash"]]).encode()))
    stream_leaves = [
        leaf(jcs([t, i, v, h]).encode("utf-8"))
        for (t, i), (v, h) in sorted(heads.items(), key=lambda kv: (kv[0][0].encode(), kv[0][1].encode()))
    ]
    return len(events), len(heads), mth(stream_leaves).hex(), mth(log_leaves).hex()


# ------------------------------------------------- Ed25519 (RFC 8032, 6)

P = 2**255 - 19
Q = 2**252 + 27742317777372353535851937790883648493


def _inv(x):
    return pow(x, P - 2, P)


D = -121665 * _inv(121666) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    A, B = (a[1] - a[0]) * (b[1] - b[0]) % P, (a[1] + a[0]) * (b[1] + b[0]) % P
    C, Dd = 2 * a[3] * b[3] * D % P, 2 * a[2] * b[2] % P
    E, F, G, H = B - A, Dd - C, Dd + C, B + A
    return (E * F % P, G * H % P, F * G % P, E * H % P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1)
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    return None if x is None else (x, y, 1, x * y % P)


_GY = 4 * _inv(5) % P
_G = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % P)


def ed25519_verify(public, msg, signature):
    if len(public) != 32 or len(signature) != 64:
        return False
    A, R = _decompress(public), _decompress(signature[:32])
    if A is None or R is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= Q:
        return False
    h = int.from_bytes(hashlib.sha512(signature[:32] + public + msg).digest(), "little") % Q
    return _equal(_mul(s, _G), _add(R, _mul(h, A)))


# ------------------------------------------------------------------ seals

FIELDS = ["bangfu-seal", "sealed_at", "log_position", "events", "streams",
          "streams_root", "log_root", "public_key"]


def parse_seals(text):
    lines = [l.rstrip("\r") for l in text.splitlines() if l.strip() and not l.startswith("#")]
    seals = []
    for i in range(0, len(lines), len(FIELDS) + 1):
        block = lines[i:i + len(FIELDS) + 1]
        seal = {}
        for name, line in zip(FIELDS + ["signature"], block):
            if not line.startswith(name + ": "):
                raise ValueError("expected %s: in %r" % (name, line))
            seal[name] = line[len(name) + 2:]
        if len(seal) != len(FIELDS) + 1:
            raise ValueError("incomplete seal")
        seal["signed"] = "".join(l + "\n" for l in block[:len(FIELDS)]).encode("utf-8")
        seals.append(seal)
    return seals


def check_seal(seal, events, trusted_key):
    problems = []
    key = trusted_key or seal["public_key"]
    if key != seal["public_key"]:
        problems.append("signed by another key")
    elif not ed25519_verify(bytes.fromhex(key), seal["signed"], bytes.fromhex(seal["signature"])):
        problems.append("signature does not verify")
    upto = [i for i, e in enumerate(events) if e["log_position"] == seal["log_position"]]
    if not upto and seal["events"] != "0":
        problems.append("the sealed log position %s is not in the log" % seal["log_position"])
        return problems
    prefix = events[: upto[0] + 1] if upto else []
    n, s, sroot, lroot = snapshot(prefix)
    for name, found in [("events", str(n)), ("streams", str(s)),
                        ("streams_root", sroot), ("log_root", lroot)]:
        if seal[name] != found:
            problems.append("%s: sealed %s, recomputed %s" % (name, seal[name], found))
    return problems


# ------------------------------------------------------------------ input


def read_sqlite(path):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    rows = con.execute(
        "SELECT position, aggregate_type, aggregate_id, sequence, event_type, event_version,"
        " payload, metadata, prev_hash, hash FROM events ORDER BY position").fetchall()
    con.close()
    return [{
        "position": r[0], "log_position": str(r[0]), "aggregate_type": r[1],
        "aggregate_id": r[2], "sequence": r[3], "event_type": r[4], "event_version": r[5],
        "payload": json.loads(r[6]), "metadata": json.loads(r[7]), "prev_hash": r[8], "hash": r[9],
    } for r in rows]


def read_export(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def self_test():
    """The test vectors of ARCHITECTURE.md."""
    a = leaf(jcs([1, "a" * 64]).encode())
    b = leaf(jcs([2, "b" * 64]).encode())
    c = leaf(jcs([3, "c" * 64]).encode())
    s = leaf(jcs(["hardship_file", "HF-1", 3, "d" * 64]).encode())
    assert a.hex() == "448488c04eae0d6c758974a5ec23384209f6c254c7065a8fddbbd6ff0ca568e0"
    assert mth([a, b, c]).hex() == "01a3fa3d62022049aba5c1971a63000e1cc305e3262210a0fd245e5541ddaa9f"
    assert s.hex() == "b62934a4b80dec21723c4b5679870b98d3bc229ca145275fb6106ce032d7ca77"
    e = {"aggregate_type": "hardship_file", "aggregate_id": "HF-1", "sequence": 1,
         "event_type": "FileOpened", "event_version": "1.0",
         "payload": {"FileOpened": {"b": 2, "a": "\u9648"}},
         "metadata": {"event_id": "x", "actor_id": "lin"}}
    assert event_hash(GENESIS, e) == "b141f6eef6dec8be3eae0b48c4d79fd2f2b6f571c05e607d02b0e4d2c917e4d5"
    # RFC 8032, 7.1, TEST 2.
    pk = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    sig = bytes.fromhex(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    assert ed25519_verify(pk, b"\x72", sig)
    assert not ed25519_verify(pk, b"\x73", sig)
    print("self-test passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--sqlite", help="a bangfu SQLite store, read directly")
    src.add_argument("--export", help="JSON Lines of `bangfu audit export-chain`")
    ap.add_argument("--seal", action="append", default=[], help="a seal file (repeatable)")
    ap.add_argument("--public-key", help="the key seals must be signed with (hex)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        self_test()
        return 0
    if not (args.sqlite or args.export):
        ap.error("--sqlite or --export is required")
    try:
        events = read_sqlite(args.sqlite) if args.sqlite else read_export(args.export)
        seals = []
        for path in args.seal:
            with open(path, encoding="utf-8") as f:
                seals.extend((path, s) for s in parse_seals(f.read()))
    except (OSError, ValueError, sqlite3.Error) as e:
        print("input: %s" % e, file=sys.stderr)
        return 2
    problems = check_chains(events)
    for path, seal in seals:
        problems += ["seal %s @ %s: %s" % (path, seal["log_position"], p)
                     for p in check_seal(seal, events, args.public_key)]
    for p in problems:
        print("FAIL " + p)
    if problems:
        return 1
    print("OK %d events, %d seal(s) verified" % (len(events), len(seals)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

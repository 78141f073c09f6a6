#!/usr/bin/env python3
"""Independent reference for Moat's audit log tests.

A deliberately simple, recursive, unoptimised implementation of the Merkle
tree algorithms of RFC 6962 section 2.1 (as restated in RFC 9162 section 2.1),
written from the RFC text and using only the Python standard library.  Its
purpose is to act as an oracle that Moat's Rust implementation is compared
against; it is not meant to be fast.

  MTH({})        = SHA-256()
  MTH({d(0)})    = SHA-256(0x00 || d(0))
  MTH(D[n])      = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
                   where k is the largest power of two smaller than n.

  PATH(m, D[n])  inclusion proof (RFC 6962 2.1.1), m 0-based.
  PROOF(m, D[n]) consistency proof (RFC 6962 2.1.2), via SUBPROOF.

Verification follows RFC 9162 sections 2.1.3.2 (inclusion) and 2.1.4.2
(consistency).

Usage:
  rfc6962.py < query.json > answer.json
      query:  {"leaves": ["<hex>", ...], "roots": [n, ...],
               "inclusion": [[index, size], ...],
               "consistency": [[m, n], ...]}
      answer: {"leaf_hashes": ["<hex>", ...], "roots": ["<hex>", ...],
               "inclusion": [["<hex>", ...], ...],
               "consistency": [["<hex>", ...], ...]}
      Missing query keys are treated as empty lists.
  rfc6962.py --self-test
      Generates proofs for every tree size 1..64 and checks them with the
      verification routines; exits non-zero on any failure.
"""

import hashlib
import json
import sys

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


def sha256(data):
    return hashlib.sha256(data).digest()


def leaf_hash(leaf):
    """SHA-256(0x00 || d)."""
    return sha256(LEAF_PREFIX + leaf)


def node_hash(left, right):
    """SHA-256(0x01 || left || right)."""
    return sha256(NODE_PREFIX + left + right)


def split_point(n):
    """Largest power of two strictly smaller than n (n >= 2)."""
    assert n >= 2
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):
    """Merkle Tree Hash of a list of raw leaf byte strings (RFC 6962 2.1)."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = split_point(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def path(m, leaves):
    """PATH(m, D[n]): audit path for 0-based leaf m (RFC 6962 2.1.1)."""
    n = len(leaves)
    if not 0 <= m < n:
        raise ValueError("leaf index %d out of range for size %d" % (m, n))
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return path(m, leaves[:k]) + [mth(leaves[k:])]
    return path(m - k, leaves[k:]) + [mth(leaves[:k])]


def subproof(m, leaves, b):
    """SUBPROOF(m, D[n], b) (RFC 6962 2.1.2)."""
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = split_point(n)
    if m <= k:
        return subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def proof(m, leaves):
    """PROOF(m, D[n]): consistency proof between sizes m and n.

    RFC 6962 defines it for 0 < m < n; for m == 0 or m == n this returns the
    empty list (nothing needs to be proved).
    """
    n = len(leaves)
    if not 0 <= m <= n:
        raise ValueError("bad consistency sizes %d, %d" % (m, n))
    if m == 0 or m == n:
        return []
    return subproof(m, leaves, True)


# ---------------------------------------------------------------------------
# Verification (RFC 9162 2.1.3.2 and 2.1.4.2), written as in the RFC text.
# ---------------------------------------------------------------------------

def verify_inclusion(leaf_index, tree_size, lhash, inclusion_path, root):
    """RFC 9162 section 2.1.3.2."""
    if leaf_index >= tree_size:
        return False
    fn = leaf_index
    sn = tree_size - 1
    r = lhash
    for p in inclusion_path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                # Right-shift fn and sn equally until LSB(fn) is set or fn is 0.
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, consistency_path, first_hash, second_hash):
    """RFC 9162 section 2.1.4.2 (0 < first <= second)."""
    if first == second:
        return len(consistency_path) == 0 and first_hash == second_hash
    if first == 0 or first > second:
        return False
    if len(consistency_path) == 0:
        return False
    cpath = list(consistency_path)
    # If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        cpath = [first_hash] + cpath
    fn = first - 1
    sn = second - 1
    # If LSB(fn) is set, right-shift both until LSB(fn) is not set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = cpath[0]
    sr = cpath[0]
    for c in cpath[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


# ---------------------------------------------------------------------------

def answer(query):
    leaves = [bytes.fromhex(h) for h in query.get("leaves", [])]
    out = {
        "leaf_hashes": [leaf_hash(d).hex() for d in leaves],
        "roots": [],
        "inclusion": [],
        "consistency": [],
    }
    for n in query.get("roots", []):
        if not 0 <= n <= len(leaves):
            raise ValueError("root size %d exceeds %d leaves" % (n, len(leaves)))
        out["roots"].append(mth(leaves[:n]).hex())
    for index, size in query.get("inclusion", []):
        if size > len(leaves):
            raise ValueError("inclusion size %d exceeds %d leaves" % (size, len(leaves)))
        out["inclusion"].append([h.hex() for h in path(index, leaves[:size])])
    for m, n in query.get("consistency", []):
        if n > len(leaves):
            raise ValueError("consistency size %d exceeds %d leaves" % (n, len(leaves)))
        out["consistency"].append([h.hex() for h in proof(m, leaves[:n])])
    return out


def self_test(max_size=64):
    failures = 0

    def fail(msg):
        nonlocal failures
        failures += 1
        if failures <= 20:
            print("FAIL: " + msg, file=sys.stderr)

    # Known fixed points.
    if sha256(b"").hex() != ("e3b0c44298fc1c149afbf4c8996fb924"
                             "27ae41e4649b934ca495991b7852b855"):
        fail("empty hash")
    if mth([]) != sha256(b""):
        fail("MTH of empty list")

    leaves = [bytes([i]) * (i % 5) + i.to_bytes(2, "big") for i in range(max_size)]
    roots = [mth(leaves[:n]) for n in range(max_size + 1)]
    checks = 0
    for n in range(1, max_size + 1):
        d = leaves[:n]
        # MTH of a split equals node hash of the halves.
        if n >= 2:
            k = split_point(n)
            if not (k < n <= 2 * k and k & (k - 1) == 0):
                fail("split point %d for %d" % (k, n))
        for m in range(n):
            p = path(m, d)
            lh = leaf_hash(d[m])
            if not verify_inclusion(m, n, lh, p, roots[n]):
                fail("inclusion %d/%d" % (m, n))
            # Negative checks: wrong leaf, wrong index, wrong root, truncated path.
            if verify_inclusion(m, n, sha256(b"x" + lh), p, roots[n]):
                fail("inclusion %d/%d accepted a wrong leaf" % (m, n))
            if n > 1 and verify_inclusion((m + 1) % n, n, lh, p, roots[n]) \
                    and d[(m + 1) % n] != d[m]:
                # Another index might coincidentally share the same path shape
                # only if the leaf hashes are equal; they are not here.
                fail("inclusion %d/%d accepted a wrong index" % (m, n))
            if verify_inclusion(m, n, lh, p, roots[n - 1]):
                fail("inclusion %d/%d accepted a wrong root" % (m, n))
            if p and verify_inclusion(m, n, lh, p[:-1], roots[n]):
                fail("inclusion %d/%d accepted a truncated path" % (m, n))
            if verify_inclusion(m, n, lh, p + [roots[0]], roots[n]):
                fail("inclusion %d/%d accepted an extended path" % (m, n))
            checks += 1
        for m in range(1, n + 1):
            c = proof(m, d)
            if m == n and c != []:
                fail("consistency %d/%d should be empty" % (m, n))
            if not verify_consistency(m, n, c, roots[m], roots[n]):
                fail("consistency %d/%d" % (m, n))
            if m < n:
                if verify_consistency(m, n, c, roots[m], roots[n - 1]):
                    fail("consistency %d/%d accepted a wrong second root" % (m, n))
                if verify_consistency(m, n, c, sha256(b"y" + roots[m]), roots[n]):
                    fail("consistency %d/%d accepted a wrong first root" % (m, n))
                if len(c) > 1 and verify_consistency(m, n, c[:-1], roots[m], roots[n]):
                    fail("consistency %d/%d accepted a truncated proof" % (m, n))
                if verify_consistency(m, n, c + [roots[0]], roots[m], roots[n]):
                    fail("consistency %d/%d accepted an extended proof" % (m, n))
            checks += 1
        if proof(0, d) != []:
            fail("consistency 0/%d should be empty" % n)

    # Round trip through the JSON contract.
    q = {"leaves": [x.hex() for x in leaves[:8]], "roots": [0, 1, 8],
         "inclusion": [[0, 1], [7, 8]], "consistency": [[0, 8], [3, 8], [8, 8]]}
    a = json.loads(json.dumps(answer(q)))
    if a["roots"][0] != sha256(b"").hex() or a["roots"][2] != roots[8].hex():
        fail("JSON roots")
    if a["inclusion"][0] != [] or len(a["inclusion"][1]) != 3:
        fail("JSON inclusion")
    if a["consistency"][0] != [] or a["consistency"][2] != [] \
            or not a["consistency"][1]:
        fail("JSON consistency")

    if failures:
        print("self-test: %d failure(s) in %d checks" % (failures, checks),
              file=sys.stderr)
        return 1
    print("self-test: ok (%d checks, sizes 1..%d)" % (checks, max_size))
    return 0


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    if len(argv) > 1:
        print(__doc__, file=sys.stderr)
        return 2
    query = json.load(sys.stdin)
    json.dump(answer(query), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

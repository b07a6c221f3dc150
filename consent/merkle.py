"""Merkle tree hashing and proofs of RFC 9162 §2.1, with SM3 as the hash.

Leaves and nodes are domain-separated (RFC 9162 §2.1.1): ``leaf = SM3(0x00 || entry)``,
``node = SM3(0x01 || left || right)``; the root of the empty tree is ``SM3("")``. A tree
that only grows is kept as its *frontier* (the roots of its perfect subtrees, largest
first), so an append costs O(log n) hashes and no leaf is re-read. Inclusion
(§2.1.3) and consistency (§2.1.4) proofs are generated from the leaf hashes and checked
with the verification algorithms of §2.1.3.2 and §2.1.4.2. Imports ``federation.crypto``.
"""

from __future__ import annotations

from collections.abc import Sequence

from federation.crypto.sm3 import sm3

EMPTY_ROOT = sm3(b"")


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SM3(0x00 || entry)``."""
    return sm3(b"\x00" + entry)


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SM3(0x01 || left || right)``."""
    return sm3(b"\x01" + left + right)


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    k = 1
    while k << 1 < n:
        k <<= 1
    return k


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 9162 §2.1.1 over leaf *hashes*."""
    frontier: list[bytes] = []
    for index, leaf in enumerate(leaves):
        frontier = frontier_append(frontier, index, leaf)
    return frontier_root(frontier)


def frontier_append(frontier: list[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier of the tree of ``size`` + 1 leaves, from the frontier of ``size``."""
    out = list(frontier)
    node, remaining = leaf, size
    while remaining & 1:
        node = node_hash(out.pop(), node)
        remaining >>= 1
    out.append(node)
    return out


def frontier_root(frontier: Sequence[bytes]) -> bytes:
    """The root hash of the tree whose frontier is ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    node = frontier[-1]
    for left in reversed(frontier[:-1]):
        node = node_hash(left, node)
    return node


def inclusion_proof(leaves: Sequence[bytes], index: int, size: int | None = None) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 §2.1.3.1 for leaf ``index`` in the first ``size``."""
    n = len(leaves) if size is None else size
    if not 0 <= index < n <= len(leaves):
        raise ValueError(f"no leaf {index} in a tree of {n}")
    return _path(index, leaves[:n])


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _split(len(d))
    if m < k:
        return [*_path(m, d[:k]), root(d[k:])]
    return [*_path(m - k, d[k:]), root(d[:k])]


def consistency_proof(leaves: Sequence[bytes], old: int, new: int | None = None) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 9162 §2.1.4.1 between sizes ``old`` and ``new``."""
    n = len(leaves) if new is None else new
    if not 0 <= old <= n <= len(leaves):
        raise ValueError(f"no consistency between sizes {old} and {n}")
    if old in (0, n):
        return []
    return _subproof(old, leaves[:n], True)


def _subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [root(d)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, d[:k], complete), root(d[k:])]
    return [*_subproof(m - k, d[k:], False), root(d[:k])]


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` put ``leaf`` at ``index`` under ``expected_root``?"""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of ``new`` leaves an extension of the ``old`` one?"""
    if old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

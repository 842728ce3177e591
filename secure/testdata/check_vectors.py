"""Checks the default suite's test vectors (vectors.json) with an independent
implementation: Python's cryptography for X25519, HKDF-SHA256, AES-CTR and AES-GCM, and
GF(2^128) Shamir written out here from SPEC.md; then replays a whole round (round.json)
from its wire bytes as a server of its own. Exits non-zero on any mismatch."""
import json
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives import serialization

v = json.loads((Path(__file__).parent / "vectors.json").read_text())
X = bytes.fromhex
failed = []


def check(name, got, want):
    if got != want:
        failed.append(name)
        print(f"MISMATCH {name}: {got!r} != {want!r}")


def raw_public(sk_hex):
    pk = X25519PrivateKey.from_private_bytes(X(sk_hex)).public_key()
    return pk.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def x25519(sk_hex, peer_sk_hex):
    sk = X25519PrivateKey.from_private_bytes(X(sk_hex))
    peer = X25519PrivateKey.from_private_bytes(X(peer_sk_hex)).public_key()
    return sk.exchange(peer)


salt = b"secagg-v1" + X(v["session"]) + struct.pack(">Q", v["round"])
check("salt", salt.hex(), v["salt"])


def hkdf(ikm, info, n):
    return HKDF(algorithm=hashes.SHA256(), length=n, salt=salt, info=info).derive(ikm)


def pair_info(purpose, i, j):
    return purpose + struct.pack(">QQ", min(i, j), max(i, j))


def words(key, start, count):
    block, skip = start // 4, start % 4
    iv = (block).to_bytes(16, "big")
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    stream = enc.update(bytes(4 * (count + skip)))[4 * skip:]
    return list(struct.unpack(f"<{count}I", stream))


i, j = v["client_i"], v["client_j"]
check("pk1_i", raw_public(v["sk1_i"]).hex(), v["pk1_i"])
check("pk1_j", raw_public(v["sk1_j"]).hex(), v["pk1_j"])
s1 = x25519(v["sk1_i"], v["sk1_j"])
check("x25519_sk1_i_pk1_j", s1.hex(), v["x25519_sk1_i_pk1_j"])
check("pairwise_info", pair_info(b"secagg-pairwise-mask", i, j).hex(), v["pairwise_info"])
pk = hkdf(s1, pair_info(b"secagg-pairwise-mask", i, j), 16)
check("pairwise_mask_key", pk.hex(), v["pairwise_mask_key"])
check("pairwise_mask_words_0_8", words(pk, 0, 8), v["pairwise_mask_words_0_8"])
check("pairwise_mask_words_1001_1005", words(pk, 1001, 4), v["pairwise_mask_words_1001_1005"])

seed = X(v["self_seed"])
sk = hkdf(seed, b"secagg-self-mask" + struct.pack(">Q", i), 16)
check("self_mask_key", sk.hex(), v["self_mask_key"])
check("self_mask_words_0_8", words(sk, 0, 8), v["self_mask_words_0_8"])
h = hashes.Hash(hashes.SHA256())
h.update(b"secagg-self-seed-commitment" + salt + struct.pack(">Q", i) + seed)
check("self_seed_commitment", h.finalize().hex(), v["self_seed_commitment"])

s2 = x25519(v["sk2_i"], v["sk2_j"])
check("x25519_sk2_i_pk2_j", s2.hex(), v["x25519_sk2_i_pk2_j"])
bk = hkdf(s2, pair_info(b"secagg-share-encryption", i, j), 32)
check("share_box_key", bk.hex(), v["share_box_key"])
ad = b"secagg-share" + X(v["session"]) + struct.pack(">QQQ", v["round"], i, j)
check("box_additional_data", ad.hex(), v["box_additional_data"])
nonce = X(v["box_nonce"])
box = nonce + AESGCM(bk).encrypt(nonce, X(v["box_plaintext"]), ad)
check("box", box.hex(), v["box"])

# Shamir over GF(2^128): x^128 + x^7 + x^2 + x + 1, elements as big-endian integers.
def gf_mul(a, b):
    r = 0
    for bit in range(127, -1, -1):
        r <<= 1
        if r >> 128:
            r ^= (1 << 128) | 0x87
        if (b >> bit) & 1:
            r ^= a
    return r


secret, t = X(v["shamir_secret"]), v["shamir_threshold"]
coeffs = X(v["shamir_coefficients"])
shares = [b""] * len(v["shamir_points"])
for blk in range(len(secret) // 16):
    c = [int.from_bytes(secret[16 * blk:16 * blk + 16], "big")]
    for k in range(t - 1):
        off = (blk * (t - 1) + k) * 16
        c.append(int.from_bytes(coeffs[off:off + 16], "big"))
    for n, x in enumerate(v["shamir_points"]):
        y = 0
        for coef in reversed(c):
            y = gf_mul(y, x) ^ coef
        shares[n] += y.to_bytes(16, "big")
check("shamir_shares", [s.hex() for s in shares], v["shamir_shares"])

if failed:
    sys.exit(f"{len(failed)} vectors differ: {', '.join(failed)}")
print(f"all {v['suite']} vectors agree with Python's cryptography")

# A whole round (round.json): decode every message from the wire format of SPEC.md and
# unmask it as a server of our own, then compare the sum and the mean with Go's.
r = json.loads((Path(__file__).parent / "round.json").read_text())


class Wire:
    def __init__(self, hexstr, mtype):
        self.b, self.p = X(hexstr), 4
        assert self.b[:4] == b"SA" + bytes([1, mtype]), self.b[:4]

    def take(self, n):
        out, self.p = self.b[self.p:self.p + n], self.p + n
        assert len(out) == n
        return out

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def i64(self):
        return struct.unpack("<q", self.take(8))[0]

    def f64(self):
        return struct.unpack("<d", self.take(8))[0]

    def end(self):
        assert self.p == len(self.b), "bytes after the message"


w = Wire(r["setup"], 1)
session, rnd, clients = w.take(16), w.u64(), w.i64()
shares_k, threshold, clip, qrange, bits, max_weight, min_clients = w.i64(), w.i64(), w.f64(), w.u64(), w.i64(), w.f64(), w.i64()
w.end()
threshold = threshold or shares_k // 2 + 1
clip, bits = clip or 8.0, bits or 32
salt = b"secagg-v1" + session + struct.pack(">Q", rnd)
M = 1 << bits

pk1 = {}
for cid, h in r["keys"].items():
    w = Wire(h, 2)
    pk1[int(cid)] = w.take(32)
    w.take(32)
    w.end()
hood = {}
for cid, h in r["share_keys_requests"].items():
    w = Wire(h, 3)
    hood[int(cid)] = [(w.u64(), w.take(32), w.take(32))[0] for _ in range(w.u32())]
    w.end()
commit = {}
for cid, h in r["shares_replies"].items():
    w = Wire(h, 4)
    commit[int(cid)] = w.take(32)
masked = {}
for cid, h in r["masked_vectors"].items():
    w = Wire(h, 6)
    w.u64()
    n = w.u32()
    masked[int(cid)] = list(struct.unpack(f"<{n}I", w.take(4 * n)))
    w.end()
seed_shares, key_shares = {}, {}
for cid, h in r["unmask_replies"].items():
    w = Wire(h, 8)
    for target in (seed_shares, key_shares):
        for _ in range(w.u32()):
            owner, y = w.u64(), w.take(32)
            target.setdefault(owner, []).append((hood[owner].index(int(cid)) + 1, y))
    w.end()


def gf_inv(a):
    r_ = a
    for _ in range(126):
        r_ = gf_mul(gf_mul(r_, r_), a)
    return gf_mul(r_, r_)


def combine(shares):
    out = b""
    for blk in range(2):
        acc = 0
        for i, (xi, yi) in enumerate(shares):
            num, den = 1, 1
            for j, (xj, _) in enumerate(shares):
                if j != i:
                    num, den = gf_mul(num, xj), gf_mul(den, xi ^ xj)
            acc ^= gf_mul(gf_mul(int.from_bytes(yi[16 * blk:16 * blk + 16], "big"), num), gf_inv(den))
        out += acc.to_bytes(16, "big")
    return out


d = r["dimension"]
total = [0] * (d + 1)
for cid, vec in masked.items():
    total = [(a + b) % M for a, b in zip(total, vec)]
for owner in masked:
    seed = combine(seed_shares[owner][:threshold])
    h = hashes.Hash(hashes.SHA256())
    h.update(b"secagg-self-seed-commitment" + salt + struct.pack(">Q", owner) + seed)
    check(f"commitment of client {owner}", h.finalize(), commit[owner])
    mask = words(hkdf(seed, b"secagg-self-mask" + struct.pack(">Q", owner), 16), 0, d + 1)
    total = [(a - b) % M for a, b in zip(total, mask)]
dead = [c for c in hood if c not in masked and c in commit]
for j in dead:
    sk = X25519PrivateKey.from_private_bytes(combine(key_shares[j][:threshold]))
    check(f"pk1 of dropped client {j}", sk.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw), pk1[j])
    for nb in hood[j]:
        if nb in masked:
            shared = sk.exchange(X25519PublicKey.from_public_bytes(pk1[nb]))
            mask = words(hkdf(shared, pair_info(b"secagg-pairwise-mask", nb, j), 16), 0, d + 1)
            sign = -1 if nb > j else 1  # nb added it when its id is the larger
            total = [(a + sign * b) % M for a, b in zip(total, mask)]
check("whole round: unmasked sum", total, r["sum"])
step, n_active = 2 * clip / qrange, len(masked)
mean = [np.float32((s * step - n_active * clip) / (total[0] / qrange)) for s in total[1:]]
check("whole round: mean", [int(np.float32(m).view(np.uint32)) for m in mean], r["mean_float32_bits"])
if failed:
    sys.exit(f"{len(failed)} checks differ: {', '.join(failed)}")
print(f"the whole round ({len(masked)} summed, dropped {dead}) unmasks to Go's sum and mean")

"""Checks the default suite's test vectors (vectors.json) with an independent
implementation: Python's cryptography for X25519, HKDF-SHA256, AES-CTR and AES-GCM, and
GF(2^128) Shamir written out here from SPEC.md. Exits non-zero on any mismatch."""
import json
import struct
import sys
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
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

#!/usr/bin/env python3
"""Computes the group-envelope known answer in `tests/envelope.rs` independently of the Rust
code, from the format in `src/envelope.rs` and `src/group.rs` and the primitives' own
libraries: PyNaCl (libsodium: Ed25519, X25519, XChaCha20-Poly1305) and Python's hashlib/hmac
(HKDF-SHA256, RFC 5869). Run: python3 make_group_envelope.py"""
import hashlib
import hmac
import struct

from nacl.bindings import (crypto_aead_xchacha20poly1305_ietf_encrypt,
                           crypto_scalarmult_base, crypto_sign_seed_keypair,
                           crypto_sign)


def hkdf(salt: bytes, ikm: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt if salt else b"\0" * 32, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


# The author's identity: the signing seed then the agreement secret, as
# DeviceIdentity::generate draws them (bytes 0..32, then 32..64).
seed = bytes(range(32))
agreement_secret = bytes(range(32, 64))
sign_pub, sign_sk = crypto_sign_seed_keypair(seed)
agree_pub = crypto_scalarmult_base(agreement_secret)  # clamps like x25519-dalek
device_id = hashlib.sha256(b"outpost/v1/device-id" + sign_pub + agree_pub).digest()[:16]

# The group key: group 0x11 * 16, epoch 3, secret 0x22 * 32.
group, epoch, secret = b"\x11" * 16, 3, b"\x22" * 32
aead = hkdf(group + struct.pack(">I", epoch), secret, b"outpost/v1/envelope/group-key")

content_type, seq = 1, 42  # a synced record, the author's 42nd
plaintext = b"outpost known-answer plaintext"
header = (bytes([1, 2]) + struct.pack(">H", content_type) + group + struct.pack(">I", epoch)
          + device_id + struct.pack(">Q", seq))
nonce = hkdf(b"", aead, b"outpost/v1/envelope/nonce" + header
             + hashlib.sha256(plaintext).digest())[:24]
ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, header, nonce, aead)
body = header + struct.pack(">I", len(ciphertext)) + nonce + ciphertext
signature = crypto_sign(b"outpost/v1/envelope-signature" + body, sign_sk)[:64]
print((body + signature).hex())

#!/usr/bin/env python3
"""Writes the chunk vectors of SPEC §2 next to this file, from an
implementation of its own (python3-cryptography's AES-GCM, the zstd
command), so the C++ library and the web player's JavaScript are each
checked against bytes neither made. Run again only to add a case:
    python3 tests/vectors/chunk/make.py
Each case: the track key (null: a clear track), the nonce prefix, the chunk's
index, its plaintext and z flag, and the stored bytes with their SHA-256;
"compressed" is the zstd frame that was sealed (z only); "expect" is "ok" or
"tag-mismatch" (stored bytes that must not open as this chunk)."""
import hashlib
import json
import os
import subprocess
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = bytes(range(32))
PREFIX = bytes.fromhex("a1b2c3d4e5f60718")


def aad(index, plain, z):
    return b"digm.chunk/1" + struct.pack(">QQB", index, plain, 1 if z else 0)


def nonce(index):
    return PREFIX + struct.pack(">I", index)


def zstd(data):
    return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, capture_output=True,
                          check=True).stdout


def case(name, plaintext, index=0, key=KEY, z=False, tamper=None, open_as=None):
    payload = zstd(plaintext) if z else plaintext
    stored = AESGCM(key).encrypt(nonce(index), payload, aad(index, len(plaintext), z)) if key else payload
    expect = "ok"
    if tamper is not None:
        stored = bytearray(stored)
        stored[tamper] ^= 1
        stored = bytes(stored)
        expect = "tag-mismatch"
    if open_as is not None:  # the bytes of chunk `index`, presented as another chunk
        index, expect = open_as, "tag-mismatch"
    doc = {
        "key": key.hex() if key else None,
        "nonce_prefix": PREFIX.hex() if key else None,
        "index": index,
        "z": z,
        "plaintext": plaintext.hex(),
        "stored": stored.hex(),
        "hash": hashlib.sha256(stored).hexdigest(),
        "expect": expect,
    }
    if z:
        doc["compressed"] = payload.hex()
    with open(os.path.join(HERE, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


song = b"".join(b"digm chunk %04d la la la\n" % i for i in range(160))  # 4 KiB, compressible
case("clear", b"an unencrypted chunk: stored as it is")
case("clear-z", song, key=None, z=True)
case("sealed-i0", bytes(range(256)) * 2)
case("sealed-i70000", b"the index is in the nonce (u32) and the AAD (u64)" * 3, index=70000)
case("sealed-z-i3", song, index=3, z=True)
case("tampered", bytes(range(256)) * 2, tamper=100)
case("tampered-tag", bytes(range(256)) * 2, tamper=-1)
case("other-index", b"sealed as chunk 5, offered as chunk 6", index=5, open_as=6)

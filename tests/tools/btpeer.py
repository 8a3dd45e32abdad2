#!/usr/bin/python3
"""BitTorrent peers for the tests, on 127.0.0.1 only.

  btpeer.py get TORRENT|MAGNET --save DIR --connect HOST:PORT [--ready FILE]
            [--rate BYTES_PER_S]
      An independent client (python3-libtorrent): downloads the one file from
      the peer at HOST:PORT (no DHT, no trackers, no discovery), writes
      "PORT" (where it now seeds) to FILE, and seeds until SIGTERM.

  btpeer.py liar TORRENT --file FILE --ready FILE
      A peer that claims every piece, gives the torrent's metadata (BEP 9)
      truly, and answers every request with the bytes of FILE with one bit
      of each block flipped. Writes its port to --ready; serves until SIGTERM.

Exit 1 with a message on stderr when the download does not finish in 60 s.
"""
import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

import libtorrent as lt


def quit_on_term():
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


def write_ready(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.rename(tmp, path)


def get(args):
    settings = {
        "listen_interfaces": "127.0.0.1:0",
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        "allow_multiple_connections_per_ip": True,
        "alert_mask": lt.alert.category_t.status_notification | lt.alert.category_t.error_notification,
    }
    if args.rate:
        settings["upload_rate_limit"] = args.rate
    ses = lt.session(settings)
    if args.rate:  # peers on 127.0.0.1 are in the local class, which has no limit of its own
        local = ses.get_peer_class(lt.session.local_peer_class_id)
        local["upload_limit"] = args.rate
        ses.set_peer_class(lt.session.local_peer_class_id, local)
    if args.source.startswith("magnet:"):
        atp = lt.parse_magnet_uri(args.source)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.source)
    atp.save_path = args.save
    h = ses.add_torrent(atp)
    host, port = args.connect.rsplit(":", 1)
    end = time.time() + 60
    next_connect = 0
    while not h.status().is_seeding:
        if time.time() > end:
            s = h.status()
            sys.exit(f"btpeer: no whole download in 60 s ({s.progress:.0%}, {s.num_peers} peers)")
        if time.time() >= next_connect:  # again, in case the peer was not up yet
            h.connect_peer((host, int(port)))
            next_connect = time.time() + 1
        time.sleep(0.1)
    write_ready(args.ready, str(ses.listen_port()))
    while True:
        time.sleep(1)


def recv_exact(conn, n):
    out = b""
    while len(out) < n:
        got = conn.recv(n - len(out))
        if not got:
            raise ConnectionError("closed")
        out += got
    return out


OUR_UT_METADATA = 3


def send_extended(conn, ext_id, payload):
    conn.sendall(struct.pack(">IBB", 2 + len(payload), 20, ext_id) + payload)


def serve_lies(conn, info_hash, pieces, piece_length, data, metadata):
    try:
        hs = recv_exact(conn, 68)
        if hs[1:20] != b"BitTorrent protocol" or hs[28:48] != info_hash:
            return
        reserved = bytearray(8)
        reserved[5] |= 0x10  # the extension protocol (BEP 10)
        conn.sendall(b"\x13BitTorrent protocol" + bytes(reserved) + info_hash + b"-XX0001-liarliarliar")
        bits = bytearray((pieces + 7) // 8)
        for i in range(pieces):
            bits[i // 8] |= 0x80 >> (i % 8)
        conn.sendall(struct.pack(">IB", 1 + len(bits), 5) + bits)  # bitfield
        send_extended(conn, 0, lt.bencode({"m": {"ut_metadata": OUR_UT_METADATA},
                                           "metadata_size": len(metadata)}))
        conn.sendall(struct.pack(">IB", 1, 1))  # unchoke
        their_ut_metadata = None
        while True:
            (length,) = struct.unpack(">I", recv_exact(conn, 4))
            if length == 0:
                continue  # keep-alive
            msg = recv_exact(conn, length)
            if msg[0] == 6 and length == 13:  # request
                index, begin, size = struct.unpack(">III", msg[1:])
                at = index * piece_length + begin
                block = bytearray(data[at:at + size])
                if block:
                    block[len(block) // 2] ^= 1
                conn.sendall(struct.pack(">IBII", 9 + len(block), 7, index, begin) + block)
            elif msg[0] == 20 and msg[1] == 0:  # their extended handshake
                their_ut_metadata = lt.bdecode(msg[2:]).get(b"m", {}).get(b"ut_metadata")
            elif msg[0] == 20 and msg[1] == OUR_UT_METADATA and their_ut_metadata:
                piece = lt.bdecode(msg[2:])[b"piece"]
                part = metadata[piece * 16384:(piece + 1) * 16384]
                send_extended(conn, their_ut_metadata, lt.bencode(
                    {"msg_type": 1, "piece": piece, "total_size": len(metadata)}) + part)
    except (ConnectionError, OSError):
        pass
    finally:
        conn.close()


def liar(args):
    ti = lt.torrent_info(args.source)
    info_hash = ti.info_hashes().v1.to_bytes()
    with open(args.file, "rb") as f:
        data = f.read()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    write_ready(args.ready, str(listener.getsockname()[1]))
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_lies, daemon=True,
                         args=(conn, info_hash, ti.num_pieces(), ti.piece_length(), data,
                               ti.info_section())).start()


def main():
    quit_on_term()
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("get")
    g.add_argument("source")
    g.add_argument("--save", required=True)
    g.add_argument("--connect", required=True)
    g.add_argument("--ready", required=True)
    g.add_argument("--rate", type=int, default=0)
    l = sub.add_parser("liar")
    l.add_argument("source")
    l.add_argument("--file", required=True)
    l.add_argument("--ready", required=True)
    args = p.parse_args()
    get(args) if args.cmd == "get" else liar(args)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Helpers of bench/live.sh: a feeder of timestamped bytes at a real bitrate,
a reader of a listener's output, and many listeners at once on one node.

feed BYTES_PER_S SECONDS    write 32-byte records, each holding the time it
                            was written (ns), at that rate to stdout
read                        read records from stdin; print the latency of
                            each (ns, now - its time), one a line
listeners URL ID N SECONDS  N listeners from N loopback addresses, each
                            long-polling the stream's head and fetching every
                            new chunk, for SECONDS; print sampled latencies
                            (ns) one a line, then "errors E" on stderr
"""
import asyncio
import sys
import time

RECORD = 32


def record(now_ns):
    return b"T%019d" % now_ns + b"." * (RECORD - 21) + b"\n"


def feed(rate, seconds):
    out = sys.stdout.buffer
    per_tick, tick = max(1, rate // RECORD // 100), 0.01  # a write every 10 ms
    start = time.monotonic()
    sent = 0
    while time.monotonic() - start < seconds:
        due = int((time.monotonic() - start) * rate / RECORD)
        n = max(0, min(due - sent, per_tick * 4))
        if n:
            now = time.time_ns()
            out.write(b"".join(record(now) for _ in range(n)))
            out.flush()
            sent += n
        time.sleep(tick)


def parse(buf, sample_every=1):
    """Complete records of buf: (times sampled, bytes consumed)."""
    times = []
    end = len(buf) - len(buf) % RECORD
    for at in range(0, end, RECORD * sample_every):
        times.append(int(buf[at + 1:at + 20]))
    return times, end


def read():
    carry = b""
    stdin = sys.stdin.buffer.raw
    out = sys.stdout
    while True:
        got = stdin.read(65536)
        if not got:
            break
        now = time.time_ns()
        carry += got
        times, used = parse(carry)
        carry = carry[used:]
        out.write("".join("%d\n" % (now - t) for t in times))
    out.flush()


async def get(reader, writer, path):
    writer.write(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length)
    return status, body


async def listener(host, port, stream, index, until, samples, errors):
    source = "127.%d.%d.%d" % (1 + index // 62500, index // 250 % 250, 1 + index % 250)
    try:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    except OSError:
        errors[0] += 1
        return
    base = "/streams/" + stream
    after, carry = None, b""
    try:
        while time.monotonic() < until:
            status, body = await get(reader, writer, base + "/head" +
                                     ("" if after is None else "?after=%d&wait=10" % after))
            if status != 200:
                errors[0] += 1
                return
            size = int(body.split(b'"size":', 1)[1].split(b",", 1)[0].split(b"}", 1)[0])
            if after is None:
                after = size  # join at the live edge: the next chunk on
                continue
            for i in range(after, size):
                status, chunk = await get(reader, writer, base + "/%d" % i)
                if status != 200:
                    errors[0] += 1
                    return
                now = time.time_ns()
                carry += chunk
                times, used = parse(carry, sample_every=8)
                carry = carry[used:]
                samples.extend(now - t for t in times)
            after = size
            if b'"ended":true' in body:
                break
    except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
        errors[0] += 1
    finally:
        writer.close()


async def listeners(url, stream, n, seconds):
    hostport = url.split("//", 1)[1].rstrip("/")
    host, port = hostport.rsplit(":", 1)
    until = time.monotonic() + seconds
    samples, errors = [], [0]
    tasks = [listener(host, int(port), stream, i, until, samples, errors) for i in range(n)]
    await asyncio.gather(*tasks)
    sys.stdout.write("".join("%d\n" % s for s in samples))
    print("errors %d" % errors[0], file=sys.stderr)


def main():
    mode = sys.argv[1]
    if mode == "feed":
        feed(int(sys.argv[2]), float(sys.argv[3]))
    elif mode == "read":
        read()
    elif mode == "listeners":
        asyncio.run(listeners(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()

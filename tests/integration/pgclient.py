#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The raw phiguard protocol client of the shell tests (lib.sh: pgclient,
pgreq, pgreq_as), for what no phiguardctl command sends.

  pgclient.py SOCK req LINE...    one connection, one reply per line
  pgclient.py SOCK pipeline LINE...   all lines in one write, then the replies
  pgclient.py SOCK stream [--conns N] [--window N] [--pause SEC]
      the request lines on stdin, on each of N connections (default 1) at
      once, at most N unanswered at a time (default 1; 0: all written at
      once by a thread of their own), SEC seconds after each reply;
      prints every reply
  pgclient.py SOCK race SLOW FAST  SLOW on one connection, then FAST on
      another; prints whether SLOW was still pending, then both replies
  pgclient.py SOCK claimrace SOCK2 USER FIRST ROUNDS STEP
      ROUNDS rounds of the same CLAIM (step_start FIRST + i * STEP) sent
      on SOCK and SOCK2 at once (both written before either reply is
      read; which goes first alternates); prints "rounds= one= none=
      both=" (how many rounds saw one, no or two accepted claims) and
      the claim latency median and p99 in ms
  pgclient.py SOCK size N          a PREAUTH line of exactly N bytes; its
      reply, then whether the daemon hung up
  pgclient.py SOCK drip|idle|busy N|noread   slow, silent, greedy and
      deaf clients (test_daemon_proto.sh says what each checks)

A reply cut short by the daemon hanging up ends in "<EOF>"."""
import argparse
import socket
import sys
import threading
import time

SOCK, CMD, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]


def conn(timeout=30.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(SOCK)
    return s


def readline(s):
    """One reply, read a byte at a time so that nothing after it is
    consumed (hung_up() then sees the daemon's next move): for the slow,
    silent, greedy and deaf clients."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(1)
        if not chunk:
            return buf.decode(errors="replace") + "<EOF>"
        buf += chunk
    return buf[:-1].decode(errors="replace")


def hung_up(s, wait):
    """True if the daemon closes the connection within wait seconds. A
    reset counts: closing with unread input resets a Unix socket."""
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def reply(f):
    """One reply from a buffered reader (fast: for req and pipeline)."""
    line = f.readline()
    if not line.endswith(b"\n"):
        return line.decode(errors="replace") + "<EOF>"
    return line[:-1].decode(errors="replace")


def req():
    s = conn()
    f = s.makefile("rb")
    for line in ARGS:
        s.sendall(line.encode() + b"\n")
        print(reply(f))


def pipeline():
    s = conn()
    f = s.makefile("rb")
    s.sendall(b"".join(a.encode() + b"\n" for a in ARGS))
    for _ in ARGS:
        print(reply(f))


def stream_one(lines, window, pause, out, lock):
    """Send lines on a connection of its own, at most window unanswered
    (0: no bound), and hand each reply to out. Stops at the daemon's EOF."""
    s = conn(timeout=60)
    f = s.makefile("rb")
    slots = threading.Semaphore(window) if window else None

    def send():
        try:
            for line in lines:
                if slots:
                    slots.acquire()
                s.sendall(line)
        except OSError:
            pass

    threading.Thread(target=send, daemon=True).start()
    for _ in lines:
        text = reply(f)
        out(lock, text)
        if text.endswith("<EOF>"):
            return
        if slots:
            slots.release()
        if pause:
            time.sleep(pause)


def stream():
    p = argparse.ArgumentParser(prog="pgclient.py SOCK stream")
    p.add_argument("--conns", type=int, default=1)
    p.add_argument("--window", type=int, default=1)
    p.add_argument("--pause", type=float, default=0.0)
    opt = p.parse_args(ARGS)
    lines = [line.rstrip(b"\n") + b"\n" for line in sys.stdin.buffer]
    lock = threading.Lock()

    def out(lk, text):
        with lk:
            sys.stdout.write(text + "\n")

    ts = [threading.Thread(target=stream_one,
                           args=(lines, opt.window, opt.pause, out, lock))
          for _ in range(opt.conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def race():
    slow, fast = conn(), conn()
    slow.sendall(ARGS[0].encode() + b"\n")
    time.sleep(0.2)
    fast.sendall(ARGS[1].encode() + b"\n")
    fast_reply = readline(fast)
    # The slow one must still be waiting when the fast one is answered.
    slow.settimeout(0.05)
    try:
        early = "answered-early" if slow.recv(1, socket.MSG_PEEK) else "eof"
    except socket.timeout:
        early = "pending"
    slow.settimeout(30)
    print(early)
    print(fast_reply)
    print(readline(slow))


def claimrace():
    sock2, user, first, rounds, step = ARGS[0], ARGS[1], int(ARGS[2]), \
        int(ARGS[3]), int(ARGS[4])
    a = conn()
    b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    b.settimeout(30.0)
    b.connect(sock2)
    counts = {0: 0, 1: 0, 2: 0}
    lat = []
    for i in range(rounds):
        line = ("v1 CLAIM user=%s step_start=%d report=yes\n"
                % (user, first + i * step)).encode()
        pair = (a, b) if i % 2 == 0 else (b, a)
        t0 = time.monotonic()
        pair[0].sendall(line)
        pair[1].sendall(line)
        ok = 0
        for s in pair:
            r = readline(s)
            lat.append((time.monotonic() - t0) * 1000.0)
            if r.startswith("v1 OK claimed=yes"):
                ok += 1
            elif "code=replay" not in r:
                print("round %d: %s" % (i, r))
        counts[ok] += 1
    lat.sort()
    print("rounds=%d one=%d none=%d both=%d" % (rounds, counts[1],
                                               counts[0], counts[2]))
    print("latency_ms p50=%.2f p99=%.2f" % (lat[len(lat) // 2],
                                          lat[int(len(lat) * 0.99)]))


def size():
    """A request line of exactly N bytes including the newline."""
    n = int(ARGS[0])
    head = b"v1 PREAUTH user=root x="
    s = conn(10)
    s.sendall(head + b"a" * (n - len(head) - 1) + b"\n")
    print(readline(s))
    print("closed" if hung_up(s, 0.5) else "open")


def drip():
    """Dribble bytes that never finish a line; meanwhile another client
    must be served at once. Prints the drip's lifetime and the latency."""
    s = conn(10)
    start = time.monotonic()
    served = None
    closed = None
    while time.monotonic() - start < 10:
        try:
            s.send(b"v")
        except (BrokenPipeError, ConnectionResetError):
            closed = time.monotonic() - start
            break
        if served is None and time.monotonic() - start > 0.6:
            t = time.monotonic()
            o = conn(10)
            o.sendall(b"v1 PREAUTH user=root\n")
            reply = readline(o)
            served = time.monotonic() - t
            print("other:", reply)
        time.sleep(0.2)
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                closed = time.monotonic() - start
                break
        except socket.timeout:
            pass
        except ConnectionResetError:
            closed = time.monotonic() - start
            break
    print("drip closed after %.1f" % closed if closed else "drip not closed")
    print("other served in %.2f" % served if served is not None else "other not served")


def idle():
    """Connect and say nothing: the daemon must hang up on its own."""
    s = conn(10)
    start = time.monotonic()
    closed = hung_up(s, 10)
    print("closed after %.1f" % (time.monotonic() - start) if closed else "open")


def busy():
    """Hold N connections, then one more must be refused with busy."""
    held = [conn(10) for _ in range(int(ARGS[0]))]
    for h in held:  # every one is really accepted and served
        h.sendall(b"v1 PREAUTH user=root\n")
        readline(h)
    extra = conn(10)
    print(readline(extra))
    print("closed" if hung_up(extra, 1) else "open")
    held[0].close()
    time.sleep(0.2)
    again = conn(10)
    again.sendall(b"v1 STATUS\n")
    print(readline(again))


def noread():
    """Send requests for ever without reading a single reply."""
    s = conn(timeout=10)
    chunk = b"v1 PREAUTH user=root\n" * 200
    sent = 0
    try:
        while sent < 64 * 1024 * 1024:
            s.sendall(chunk)
            sent += len(chunk)
        print("never closed")
    except (BrokenPipeError, ConnectionResetError):
        print("closed by daemon")
    except socket.timeout:
        print("daemon stopped reading")


COMMANDS = {f.__name__: f for f in (req, pipeline, stream, race, claimrace,
                                    size, drip, idle, busy, noread)}
COMMANDS[CMD]()

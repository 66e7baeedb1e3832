#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Drive a program on a pseudo-terminal, as a person at a terminal would.

    ptydrive.py [--timeout SECONDS] -- COMMAND [ARG...]  <SCRIPT

SCRIPT has one step a line:
    expect REGEX   wait until the output (since the last match) matches
    send TEXT      type TEXT and Enter
    eof            wait for the program to end
    hangup         end the program (as a closed terminal would) and stop
Everything the program prints goes to stdout as it comes. The exit status
is the program's, or 124 when a step timed out (the output seen since the
last match is named on stderr), or 125 when the program ended before a
step's expected text appeared; after "hangup" it is 0.
"""
import os
import pty
import re
import select
import sys
import time


def main():
    args = sys.argv[1:]
    timeout = 20.0
    if len(args) >= 2 and args[0] == "--timeout":
        timeout = float(args[1])
        args = args[2:]
    if not args or args[0] != "--" or len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = args[1:]
    steps = [line.rstrip("\n").split(" ", 1) for line in sys.stdin if line.strip()]

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)

    buf = ""
    eof = False

    def read_some(deadline):
        nonlocal buf, eof
        left = deadline - time.monotonic()
        if left <= 0 or eof:
            return False
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            data = b""
        if not data:
            eof = True
            return False
        text = data.decode("utf-8", "replace")
        sys.stdout.write(text)
        sys.stdout.flush()
        buf += text
        return True

    for step in steps:
        verb, arg = step[0], (step[1] if len(step) > 1 else "")
        deadline = time.monotonic() + timeout
        if verb == "expect":
            pat = re.compile(arg)
            while True:
                m = pat.search(buf)
                if m:
                    buf = buf[m.end():]
                    break
                if not read_some(deadline):
                    if eof:
                        print(f"\nptydrive: program ended before /{arg}/", file=sys.stderr)
                        return finish(pid, 125)
                    print(f"\nptydrive: no /{arg}/ in {timeout:g} s; seen: {buf!r}",
                          file=sys.stderr)
                    return finish(pid, 124)
        elif verb == "send":
            # Give the program a moment to turn echo off after a prompt.
            time.sleep(0.1)
            os.write(fd, (arg + "\r").encode())
        elif verb == "eof":
            while read_some(deadline) or not eof:
                if time.monotonic() >= deadline:
                    print(f"\nptydrive: program still running after {timeout:g} s",
                          file=sys.stderr)
                    return finish(pid, 124)
        elif verb == "hangup":
            while read_some(time.monotonic() + 0.5):
                pass
            return finish(pid, 0)
        else:
            print(f"ptydrive: unknown step {verb!r}", file=sys.stderr)
            return finish(pid, 2)
    # Drain what is left, then collect the exit status.
    while read_some(time.monotonic() + 2):
        pass
    return finish(pid, None)


def finish(pid, rc):
    if rc is not None:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    _, status = os.waitpid(pid, 0)
    if rc is not None:
        return rc
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())

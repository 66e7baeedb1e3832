#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# A stand-in phiguardd for tests: answers each request line from a script
# file and records every line it received.
#
# usage: fakedaemon.py SOCKET SCRIPT RECORD
# SCRIPT is re-read for every request, so a test changes the answers
# without a restart. Each line is "VERB REPLY": the first line whose VERB
# is the request's verb (or "*") gives the reply, sent as is with "\n".
# Special replies: @hang (never answer), @close (drop the connection),
# @big (a line longer than PG_PROTO_MAX_LINE).
import os
import socketserver
import sys
import time

SOCKET, SCRIPT, RECORD = sys.argv[1:4]


def reply_for(verb):
    with open(SCRIPT, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            key, _, reply = line.partition(" ")
            if key in (verb, "*"):
                return reply
    return "v1 ERR code=unknown-verb"


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with open(RECORD, "a", encoding="utf-8") as rec:
                rec.write(line + "\n")
            parts = line.split(" ")
            reply = reply_for(parts[1] if len(parts) > 1 else "")
            if reply == "@hang":
                time.sleep(60)
                return
            if reply == "@close":
                return
            if reply == "@big":
                reply = "v1 OK allowed=yes role=x scopes=" + "a" * 5000
            self.wfile.write((reply + "\n").encode("utf-8"))
            self.wfile.flush()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if os.path.exists(SOCKET):
    os.unlink(SOCKET)
with Server(SOCKET, Handler) as srv:
    srv.serve_forever()

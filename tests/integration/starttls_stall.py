#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# An LDAP server that stalls inside StartTLS: it accepts the StartTLS
# extended request (RFC 4511 section 4.14) with success, then never says
# a word of TLS, so the client hangs in the handshake itself. slapd
# stopped with SIGSTOP cannot do this: it never answers the request.
#
# usage: starttls_stall.py PORTFILE
# Listens on a free loopback port, written to PORTFILE once listening.
# Every connection is held open, unread, until the client closes it.
import os
import socket
import sys
import threading

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


def ber_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def read_message(conn):
    """One BER LDAPMessage, or None if the client went away."""
    head = conn.recv(2)
    if len(head) < 2 or head[0] != 0x30:
        return None
    n = head[1]
    if n & 0x80:
        n = int.from_bytes(conn.recv(n & 0x7F), "big")
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return body


def message_id(body):
    # messageID INTEGER first: 02 len value
    if body[0] != 0x02:
        return None
    n = body[1]
    return int.from_bytes(body[2:2 + n], "big"), body[2 + n:]


def serve(conn):
    with conn:
        body = read_message(conn)
        parsed = message_id(body) if body else None
        # [APPLICATION 23] ExtendedRequest naming StartTLS
        if parsed is None or not parsed[1].startswith(b"\x77") or \
                STARTTLS_OID not in parsed[1]:
            return
        msgid = parsed[0]
        result = (tlv(0x0A, b"\x00") + tlv(0x04, b"") + tlv(0x04, b"") +
                  tlv(0x8A, STARTTLS_OID))
        reply = tlv(0x30, tlv(0x02, msgid.to_bytes(
            (msgid.bit_length() + 8) // 8, "big")) + tlv(0x78, result))
        conn.sendall(reply)
        # The ClientHello comes and is never answered.
        while conn.recv(4096):
            pass


def main():
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", 0))
    lst.listen(16)
    with open(sys.argv[1] + ".tmp", "w", encoding="ascii") as f:
        f.write("%d\n" % lst.getsockname()[1])
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    while True:
        conn, _ = lst.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


main()

#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# Local HTTPS emulator of one push-MFA provider (Duo Auth API v2 or
# privacyIDEA) for the integration tests; protocol facts from the
# providers' public API documentation (Duo Auth API v2, privacyIDEA's
# /validate endpoints), as pam/push_duo.c and pam/push_privacyidea.c use them.
#
#   push_emulator.py PROVIDER --cert PEM --key KEY --port-file FILE
#       --script SCRIPT.json --log LOG.jsonl [--pidfile F]
#     duo:         --ikey IKEY --skey-file FILE
#     privacyidea: [--service-user U --service-password-file F]
#   push_emulator.py --selftest     the Duo signer against reference 1.4
#
# Listens on 127.0.0.1, a port chosen by the kernel, TLS 1.2+ only; writes
# the port to --port-file (temp + rename) once listening; exits 0 on SIGTERM.
#
# Duo: GET /auth/v2/ping (unsigned), GET /auth/v2/check, POST preauth, POST
# auth (factor=push|auto, device=auto|<id>; async=1 gives a txid, else it
# blocks until the answer or 60 s), GET auth_status?txid= ("waiting" until
# the answer, then the final result once). Every path but ping needs the v2
# signature (reference 1.3: HMAC-SHA512, or SHA-1 if 40 hex digits) and a
# Date / X-Duo-Date within 300 s; 401 codes 40101 missing, 40102 ikey,
# 40103 signature, 40105 date (40105 and 40106 content type: UNCONFIRMED).
# privacyIDEA: /validate/check (form, JSON or query; with transaction_id it
# finalizes), /validate/polltransaction[/ID], POST /auth, and POST
# /validate/triggerchallenge (admin JWT). With a service user, /validate/*
# want the JWT from /auth in PI-Authorization or Authorization, else 401.
# Unknown users: Duo preauth "deny"; privacyIDEA HTTP 400, error 904.
#
# SCRIPT.json is read again for every request:
#   {"users": {"USER": {
#       "enrolled": true,      false: Duo preauth "enroll"; privacyIDEA REJECT
#       "preauth": "auth",     Duo: auth | allow | deny | enroll
#       "push": "approve",     approve | deny | fraud | never, and (ours)
#                              cancel (privacyIDEA "cancelled", Duo deny) and
#                              timeout (Duo status "timeout"; privacyIDEA never)
#       "delay": 1.0,          seconds from the push until it is answered
#       "device": "iPhone 15", Duo devices[].display_name; privacyIDEA message
#       "message": "text",     replaces every status_msg / detail.message
#       "pin": "",             privacyIDEA: the pass that triggers the push
#       "number": "42",        privacyIDEA: presence check, appended to the
#                              message as privacyIDEA does: " Please press: 42"
#       "expiry": 120,         privacyIDEA: challenge lifetime in seconds
#       "finalize": "reject",  privacyIDEA: the finalizing /validate/check
#                              of an approved push answers REJECT (a policy
#                              or the server said no after the phone said
#                              yes), with detail.message "finalize_message"
#       "longpoll": 0}},       Duo: auth_status holds a repeated "waiting"
#                              answer up to this many seconds (long-poll)
#    "fault": {"mode": M, "status": 500, "retry_after": 2, "times": 1,
#              "message": "...", "paths": ["/auth/v2/auth"]}}
# Fault modes: status (that HTTP status, the provider's error envelope, a
# Retry-After header if retry_after is given), garbage (200, not JSON),
# oversize (200, 2 MiB of valid JSON), hang (read the request, never answer
# until the client leaves or 10 minutes pass), close (drop the connection),
# missing-field (200 {"stat":"OK"} / {"result":{"status":true}}). A fault
# hits requests whose path starts with one of "paths" (default: all but
# /_test/); "times" is counted per distinct fault object, so a test that
# rewrites an identical fault adds a key (e.g. "id") to start a new count.
#
# Every request becomes one line of LOG.jsonl, written before the answer:
#   {"t", "method", "path", "params" (pass/passcode/password "<redacted>"),
#    "user", "auth": ok|bad-ikey|bad-signature|bad-date|missing|bad-token|none,
#    "status" (null when no answer is sent), "outcome"}
# Test-only control: POST /_test/answer user=U&action=approve|deny|fraud|
# cancel|timeout answers U's pending pushes now (404 if none is pending);
# GET /_test/state lists the transactions ("pending": the open ones).

import argparse
import base64
import calendar
import email.utils
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOP = threading.Event()
LOCK = threading.Lock()          # guards TXNS, FAULT_COUNT and the log
TXNS = {}                        # transaction id -> Txn
FAULT_COUNT = {}                 # canonical fault JSON -> requests hit
MAX_BODY = 1 << 20
HANG_LIMIT = 600                 # "hang" answers nobody for 10 minutes
DUO_SKEW = 300                   # mockduo's window for Date / X-Duo-Date
DUO_SYNC_TIMEOUT = 60            # Duo gives up on a push after 60 s
PI_EXPIRY = 120                  # privacyIDEA DefaultChallengeValidityTime
PI_GRACE = 300                   # PushChallengeFinalizeGrace
PI_TEXT = "Please confirm the authentication on your mobile device"
REDACT = ("pass", "passcode", "password")
CFG = None                       # parsed command line
JWT_KEY = secrets.token_bytes(32)


class Answer(Exception):
    """Ends a request early with a JSON answer (errors, refusals)."""

    def __init__(self, status, body, outcome, auth=None):
        super().__init__(outcome)
        self.status, self.body, self.outcome, self.auth = status, body, outcome, auth


class Txn:
    def __init__(self, user, u, provider):
        self.id = (str(uuid.uuid4()) if provider == "duo" else
                   "".join(str(secrets.randbelow(10)) for _ in range(20)))
        self.user, self.created = user, time.monotonic()
        self.outcome = str(u.get("push", "approve"))
        never = self.outcome == "never"
        self.decide_at = None if never else self.created + float(u.get("delay", 1.0))
        self.expiry = float(u.get("expiry", PI_EXPIRY))
        self.serial = "PIPU%08X" % (int(hashlib.sha256(user.encode()).hexdigest()[:8], 16))
        self.done = False        # Duo: final result given; privacyIDEA: redeemed
        self.waited = False      # Duo: a "waiting" answer was given already

    def claim(self):
        """True once: the final Duo answer / the privacyIDEA redemption."""
        with LOCK:
            first, self.done = not self.done, True
        return first

    def raw_state(self, now):
        if self.decide_at is not None and now >= self.decide_at:
            return self.outcome
        return "pending"

    def pi_state(self, now):
        """accept | declined | cancelled | pending | expired"""
        st, deadline = self.raw_state(now), self.created + self.expiry
        if st in ("pending", "timeout") or self.decide_at > deadline:
            return "expired" if now > deadline else "pending"
        if st == "approve":
            return "accept" if now <= self.decide_at + PI_GRACE else "expired"
        return "cancelled" if st == "cancel" else "declined"


# ------------------------------------------------------------ Duo signing
def duo_enc(s):
    # quote() keeps exactly A-Z a-z 0-9 _ . - ~ and writes upper-case hex.
    return urllib.parse.quote(s.encode("utf-8"), safe="~")


def duo_canon_params(pairs):
    return "&".join(k + "=" + v for k, v in
                    sorted((duo_enc(k), duo_enc(v)) for k, v in pairs))


def duo_canonical(date, method, host, path, pairs):
    return "\n".join([date, method.upper(), host.lower(), path,
                      duo_canon_params(pairs)])


def duo_sign(skey, canon, alg="sha512"):
    return hmac.new(skey.encode(), canon.encode("utf-8"), alg).hexdigest()


def host_only(host):
    host = host.strip()
    if host.startswith("["):
        host = host[:host.find("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":")[0]
    return host.lower()


def parse_date(value):
    t = email.utils.parsedate_tz(value)
    if t is None:
        return None
    # "-0000" parses with no offset: it means UTC, not local time.
    return calendar.timegm(t[:6] + (0, 0, 0)) - (t[9] or 0)


def duo_fail(status, code, message, outcome, auth=None, detail=None):
    body = {"stat": "FAIL", "code": code, "message": message}
    if detail:
        body["message_detail"] = detail
    return Answer(status, body, outcome, auth)


def duo_verify(h, pairs):
    """Reference 1.10: ikey, date, then the v2 signature. Returns "ok"."""
    scheme, _, cred = (h.headers.get("Authorization") or "").partition(" ")
    try:
        ikey, sep, sig = base64.b64decode(cred.strip(), validate=True).decode("ascii").partition(":")
    except (ValueError, UnicodeError):
        sep = ""
    if scheme.lower() != "basic" or not sep:
        raise duo_fail(401, 40101, "Missing request credentials", "unauthorized", "missing")
    if not hmac.compare_digest(ikey.encode(), CFG.ikey.encode()):
        raise duo_fail(401, 40102, "Invalid integration key in request credentials",
                       "unauthorized", "bad-ikey")
    date = h.headers.get("X-Duo-Date") or h.headers.get("Date")
    if not date:    # 40104 is UNCONFIRMED; 40101 is Duo's documented code
        raise duo_fail(401, 40101, "Missing request credentials", "unauthorized", "bad-date")
    when = parse_date(date)
    if when is None or abs(time.time() - when) > DUO_SKEW:   # 40105 UNCONFIRMED
        raise duo_fail(401, 40105, "Request date is too far from server time",
                       "unauthorized", "bad-date")
    if h.command == "POST" and h.ctype != "application/x-www-form-urlencoded":
        raise duo_fail(401, 40106, "Invalid Content-Type", "unauthorized", "missing")
    canon = duo_canonical(date, h.command, host_only(h.headers.get("Host", "")), h.path_only, pairs)
    sig = sig.strip().lower()
    alg = {40: "sha1", 128: "sha512"}.get(len(sig))
    if alg is None or not hmac.compare_digest(sig.encode(), duo_sign(CFG.skey, canon, alg).encode()):
        raise duo_fail(401, 40103, "Invalid signature in request credentials",
                       "unauthorized", "bad-signature")
    return "ok"


# ------------------------------------------------------------ Duo endpoints
def duo_user(params, script):
    name = params.get("username")
    if name is None:
        raise duo_fail(400, 40002, "Invalid request parameters", "bad-request", detail="username")
    return name, script["users"].get(name)


def duo_msg(u, default):
    return str(u["message"]) if u and "message" in u else default


def duo_device(name, u):
    dev_id = "DP" + hashlib.sha256(name.encode()).hexdigest()[:18].upper()
    display = str(u.get("device", "Duo Mobile (XXX-XXX-0000)"))
    return {"device": dev_id, "type": "phone", "name": display, "display_name": display,
            "number": "XXX-XXX-0000", "capabilities": ["auto", "push", "sms", "phone", "mobile_otp"]}


def duo_ping(h, params, script):
    return {"time": int(time.time())}, "ok"


def duo_preauth(h, params, script):
    name, u = duo_user(params, script)
    if u is None:
        return {"result": "deny", "status_msg": "Unknown user: login denied."}, "deny"
    result = "enroll" if u.get("enrolled", True) is False else str(u.get("preauth", "auth"))
    msgs = {"auth": "Account is active", "allow": "Bypass user: no second factor needed.",
            "deny": "Login denied by administrator policy.",
            "enroll": "Enroll an authentication device to proceed."}
    if result not in msgs:
        raise Answer(500, {"stat": "FAIL", "code": 50000, "message": "bad script preauth"}, "script-error")
    resp = {"result": result, "status_msg": duo_msg(u, msgs[result])}
    if result == "auth":
        resp["devices"] = [duo_device(name, u)]
    elif result == "enroll":
        resp["enroll_portal_url"] = "https://%s/portal?code=%s" % (
            host_only(h.headers.get("Host", "")), secrets.token_hex(8))
    return resp, result


DUO_FINAL = {  # push outcome -> (result, status, status_msg)
    "approve": ("allow", "allow", "Success. Logging you in..."),
    "deny": ("deny", "deny", "Login request denied."),
    "cancel": ("deny", "deny", "Login request denied."),
    "fraud": ("deny", "fraud", "Login request reported as fraudulent."),
    "timeout": ("deny", "timeout", "Login timed out."),
}


def duo_final(tx, u):
    result, status, text = DUO_FINAL.get(tx.outcome, DUO_FINAL["deny"])
    if not tx.claim():
        raise duo_fail(400, 40002, "Invalid request parameters", "bad-request", detail="txid")
    return {"result": result, "status": status, "status_msg": duo_msg(u, text)}, status


def duo_auth(h, params, script):
    name, u = duo_user(params, script)
    if u is None:
        raise duo_fail(400, 40002, "Invalid request parameters", "bad-request", detail="username")
    if params.get("factor") not in ("push", "auto"):   # only push is emulated
        raise duo_fail(400, 40002, "Invalid request parameters", "bad-request", detail="factor")
    if u.get("enrolled", True) is False or params.get("device") not in (
            "auto", duo_device(name, u)["device"]):
        raise duo_fail(400, 40002, "Invalid request parameters", "bad-request", detail="device")
    tx = Txn(name, u, "duo")
    with LOCK:
        TXNS[tx.id] = tx
    if params.get("async") == "1":
        return {"txid": tx.id}, "pushed"
    while not STOP.is_set() and time.monotonic() < tx.created + DUO_SYNC_TIMEOUT:
        if tx.raw_state(time.monotonic()) != "pending":
            return duo_final(tx, u)
        time.sleep(0.05)
    tx.outcome = "timeout"
    return duo_final(tx, u)


def duo_auth_status(h, params, script):
    with LOCK:
        tx = TXNS.get(params.get("txid", ""))
    if tx is None or tx.done:
        raise duo_fail(400, 40002, "Invalid request parameters", "bad-request", detail="txid")
    h.rec["user"] = tx.user
    u = script["users"].get(tx.user) or {}
    hold = float(u.get("longpoll", 0)) if tx.waited else 0
    end = time.monotonic() + hold
    while tx.raw_state(time.monotonic()) == "pending" and time.monotonic() < end and not STOP.is_set():
        time.sleep(0.05)
    if tx.raw_state(time.monotonic()) == "pending":
        tx.waited = True
        return {"result": "waiting", "status": "pushed",
                "status_msg": duo_msg(u, "Pushed a login request to your device...")}, "waiting"
    return duo_final(tx, u)


DUO_ROUTES = {  # path -> (method, signed, handler)
    "/auth/v2/ping": ("GET", False, duo_ping),
    "/auth/v2/check": ("GET", True, duo_ping),
    "/auth/v2/preauth": ("POST", True, duo_preauth),
    "/auth/v2/auth": ("POST", True, duo_auth),
    "/auth/v2/auth_status": ("GET", True, duo_auth_status),
}


def duo_handle(h, pairs, script):
    params = dict(pairs)
    h.rec["user"] = params.get("username")
    route = DUO_ROUTES.get(h.path_only)
    if route is None:
        raise duo_fail(404, 40401, "Resource not found", "not-found")
    if h.command != route[0]:
        raise duo_fail(405, 40501, "Method not allowed", "bad-method")
    if route[1]:
        h.rec["auth"] = duo_verify(h, pairs)
    resp, outcome = route[2](h, params, script)
    return 200, {"stat": "OK", "response": resp}, outcome


# ------------------------------------------------------------ privacyIDEA
def pi_doc(result, detail=None):
    doc = {"jsonrpc": "2.0", "id": 1, "version": "privacyIDEA 3.10", "versionnumber": "3.10",
           "time": time.time(), "result": result}
    if detail is not None:
        doc["detail"] = dict(detail, threadid=threading.get_ident())
    return doc


def pi_error(status, code, message, outcome, auth=None):
    doc = pi_doc({"status": False, "error": {"code": code, "message": "ERR%d: %s" % (code, message)}})
    doc["detail"] = None
    return Answer(status, doc, outcome, auth)


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_make(user):
    head = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64u(json.dumps({"username": user, "realm": "", "role": "admin", "authtype": "password",
                            "nonce": secrets.token_hex(10), "exp": int(time.time()) + 3600}).encode())
    return head + "." + body + "." + b64u(hmac.new(JWT_KEY, (head + "." + body).encode(), "sha256").digest())


def jwt_ok(token):
    parts = token.split(".")
    if len(parts) != 3:
        return False
    want = b64u(hmac.new(JWT_KEY, (parts[0] + "." + parts[1]).encode(), "sha256").digest())
    if not hmac.compare_digest(want.encode(), parts[2].encode("utf-8", "replace")):
        return False
    claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    return claims.get("exp", 0) > time.time()


def pi_require_token(h):
    token = h.headers.get("PI-Authorization") or h.headers.get("Authorization")
    if not token:
        raise pi_error(401, 4033, "Authentication failure. Missing Authorization header.",
                       "unauthorized", "missing")
    if not jwt_ok(token.strip()):   # 4031 chosen from the 4031-4307 range: UNCONFIRMED
        raise pi_error(401, 4031, "Authentication failure. Your token is invalid.",
                       "unauthorized", "bad-token")
    h.rec["auth"] = "ok"


def pi_user(h, params, script):
    name, realm = params.get("user"), params.get("realm")
    if name is None:
        raise pi_error(400, 905, "Missing parameter: 'user'", "bad-request")
    if "@" in name and not realm:
        name = name.rsplit("@", 1)[0]
    h.rec["user"] = name
    u = script["users"].get(name)
    if u is None:
        raise pi_error(400, 904, "The user can not be found in any resolver in this realm!", "unknown-user")
    return name, u


def pi_msg(u, default):
    return str(u["message"]) if "message" in u else default


def pi_challenge(name, u, value=False):
    tx = Txn(name, u, "privacyidea")
    with LOCK:
        TXNS[tx.id] = tx
    text = PI_TEXT + (" (%s)!" % u["device"] if "device" in u else "!")
    text = pi_msg(u, text)
    if "number" in u:
        # privacyIDEA's require_presence policy appends the character the
        # user must pick on the phone this way (its test_api_push_validate).
        text += " Please press: %s" % u["number"]
    chal = {"transaction_id": tx.id, "serial": tx.serial, "type": "push", "client_mode": "poll",
            "message": text, "attributes": {"hideResponseInput": True}}
    detail = {"transaction_id": tx.id, "transaction_ids": [tx.id], "message": text,
              "messages": [text], "multi_challenge": [chal], "serial": tx.serial, "type": "push",
              "client_mode": "poll", "attributes": {"hideResponseInput": True}}
    return pi_doc({"status": True, "value": value, "authentication": "CHALLENGE"}, detail)


def pi_check(h, params, script):
    if CFG.service_user:
        pi_require_token(h)
    name, u = pi_user(h, params, script)
    if "pass" not in params:
        raise pi_error(400, 905, "Missing parameter: 'pass'", "bad-request")
    reject = {"status": True, "value": False, "authentication": "REJECT"}
    tid = params.get("transaction_id")
    if tid:
        with LOCK:
            tx = TXNS.get(tid)
        st = tx.pi_state(time.monotonic()) if tx and tx.user == name and not tx.done else "unknown"
        if st == "accept" and params["pass"] == "" and u.get("finalize") == "reject" and tx.claim():
            return pi_doc(reject, {"message": str(u.get("finalize_message",
                                                        "Response did not match the challenge.")),
                                   "serial": tx.serial, "type": "push"}), "reject-after-accept"
        if st == "accept" and params["pass"] == "" and tx.claim():
            return pi_doc({"status": True, "value": True, "authentication": "ACCEPT"},
                          {"message": pi_msg(u, "Found matching challenge"), "serial": tx.serial,
                           "type": "push"}), "accept"
        if st in ("declined", "cancelled"):
            return pi_doc({"status": True, "value": False, "authentication": "DECLINED"},
                          {"message": pi_msg(u, "Challenge was declined."), "challenge_status": st,
                           "serial": tx.serial, "type": "push"}), st
        return pi_doc(reject, {"message": pi_msg(u, "Response did not match the challenge.")}), \
            "reject-" + st
    if u.get("enrolled", True) is False:
        return pi_doc(reject, {"message": pi_msg(u, "The user has no tokens assigned")}), "no-token"
    if not hmac.compare_digest(params["pass"].encode(), str(u.get("pin", "")).encode()):
        return pi_doc(reject, {"message": pi_msg(u, "wrong otp pin")}), "reject-pin"
    return pi_challenge(name, u), "challenge"


def pi_trigger(h, params, script):
    pi_require_token(h)
    name, u = pi_user(h, params, script)
    if u.get("enrolled", True) is False:
        return pi_doc({"status": True, "value": 0}, {"messages": [], "multi_challenge": [],
                                                     "transaction_ids": []}), "no-token"
    return pi_challenge(name, u, value=1), "challenge"


def pi_poll(h, params, script):
    if CFG.service_user:
        pi_require_token(h)
    tid = params.get("transaction_id") or h.path_only[len("/validate/polltransaction/"):]
    if not tid:
        raise pi_error(400, 905, "Missing parameter: 'transaction_id'", "bad-request")
    with LOCK:
        tx = TXNS.get(tid)
    st = tx.pi_state(time.monotonic()) if tx and not tx.done else "unknown"
    h.rec["user"] = tx.user if tx else None
    auth = {"accept": "ACCEPT", "declined": "DECLINED", "cancelled": "DECLINED"}.get(st, "REJECT")
    shown = st if st in ("accept", "declined", "cancelled") else "pending"
    return pi_doc({"status": True, "value": st == "accept", "authentication": auth},
                  {"challenge_status": shown}), st


def pi_auth(h, params, script):
    user, pw = params.get("username"), params.get("password", "")
    h.rec["user"] = user
    if not (CFG.service_user and user == CFG.service_user and
            hmac.compare_digest(pw.encode(), CFG.service_password.encode())):
        raise pi_error(401, 4031, "Authentication failure. Wrong credentials", "unauthorized", "bad-token")
    h.rec["auth"] = "ok"
    return pi_doc({"status": True, "value": {
        "token": jwt_make(user), "role": "admin", "username": user, "realm": "",
        "log_level": 20, "rights": ["triggerchallenge"], "menus": []}}), "token"


PI_ROUTES = {  # path -> (methods, handler)
    "/auth": (("POST",), pi_auth),
    "/validate/check": (("GET", "POST"), pi_check),
    "/validate/triggerchallenge": (("POST",), pi_trigger),
    "/validate/polltransaction": (("GET",), pi_poll),
}


def pi_handle(h, pairs, script):
    params = dict(pairs)
    h.rec["user"] = params.get("user") or params.get("username")
    path = h.path_only
    if path.startswith("/validate/polltransaction/"):
        path = "/validate/polltransaction"
    route = PI_ROUTES.get(path)
    if route is None:
        raise pi_error(404, 601, "The requested URL was not found on the server.", "not-found")
    if h.command not in route[0]:
        raise pi_error(405, 601, "The method is not allowed for the requested URL.", "bad-method")
    doc, outcome = route[1](h, params, script)
    return 200, doc, outcome


# ------------------------------------------------------------ test control
def test_handle(h, pairs, script):
    params = dict(pairs)
    now = time.monotonic()
    if h.path_only == "/_test/state" and h.command == "GET":
        with LOCK:
            txns = [{"id": t.id, "user": t.user, "age": now - t.created,
                     "state": t.pi_state(now) if CFG.provider == "privacyidea" else t.raw_state(now),
                     "done": t.done} for t in TXNS.values()]
        return 200, {"pending": [t for t in txns if t["state"] == "pending" and not t["done"]],
                     "transactions": txns}, "state"
    if h.path_only == "/_test/answer" and h.command == "POST":
        user, action = params.get("user"), params.get("action")
        h.rec["user"] = user
        if action not in DUO_FINAL:
            return 400, {"ok": False, "error": "action must be one of %s" % "|".join(DUO_FINAL)}, \
                "bad-request"
        n = 0
        with LOCK:
            for t in TXNS.values():
                if t.user == user and not t.done and t.raw_state(now) == "pending":
                    t.outcome, t.decide_at, n = action, now, n + 1
        return (200 if n else 404), {"ok": n > 0, "answered": n}, "answered-%d" % n
    return 404, {"ok": False, "error": "no such test endpoint"}, "not-found"


# ------------------------------------------------------------ faults
def pick_fault(script, path):
    f = script.get("fault")
    if not isinstance(f, dict):
        return None
    paths = f.get("paths")
    paths = [paths] if isinstance(paths, str) else paths
    if not (any(path.startswith(p) for p in paths) if isinstance(paths, list)
            else not path.startswith("/_test/")):
        return None
    key = json.dumps(f, sort_keys=True)
    with LOCK:
        n = FAULT_COUNT.get(key, 0)
        if f.get("times") is not None and n >= int(f["times"]):
            return None
        FAULT_COUNT[key] = n + 1
    return f


def fail_envelope(status, message):
    if CFG.provider == "duo":
        return {"stat": "FAIL", "code": status * 100 + 1, "message": message}
    return pi_error(status, 903, message, "").body


def bad_request(status, why):
    if CFG.provider == "duo":
        return duo_fail(status, status * 100 + 2, "Invalid request parameters", "malformed", detail=why)
    return pi_error(status, 905, why, "malformed")


def oversize_body():
    size = 2 << 20
    if CFG.provider == "duo":
        head = '{"stat":"OK","response":{"result":"waiting","status":"pushed","pad":"'
    else:
        head = '{"jsonrpc":"2.0","id":1,"result":{"status":true,"value":false},"detail":{"pad":"'
    tail = '"}}'
    return (head + "x" * (size - len(head) - len(tail)) + tail).encode()


# ------------------------------------------------------------ HTTP plumbing
def load_script():
    with open(CFG.script, encoding="utf-8") as f:
        script = json.load(f)
    if not isinstance(script, dict):
        raise ValueError("script is not a JSON object")
    users = script.get("users") or {}
    script["users"] = {k: (v if isinstance(v, dict) else {}) for k, v in users.items()}
    return script


def write_log(rec):
    line = json.dumps(rec, sort_keys=True) + "\n"
    with LOCK:
        with open(CFG.log, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()


def parse_form(text):
    return urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                                  encoding="utf-8", errors="strict", max_num_fields=200)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "push-emulator"
    sys_version = ""
    timeout = 30                 # idle keep-alive / slow request bound

    def log_message(self, fmt, *args):
        pass                     # LOG.jsonl is the record

    def send_error(self, code, message=None, explain=None):
        # Only http.server itself calls this (bad request line or headers,
        # unknown method): log those requests too, without any query string.
        path = getattr(self, "path", None)
        self.rec = {"t": time.time(), "method": getattr(self, "command", None),
                    "path": path.split("?")[0] if path else None, "params": {}, "user": None,
                    "auth": "none", "status": code, "outcome": "malformed"}
        self.emit_log()
        self.close_connection = True
        super().send_error(code, message, explain)

    def emit_log(self):
        if not self.rec.get("logged"):
            self.rec["logged"] = True
            write_log({k: v for k, v in self.rec.items() if k != "logged"})

    def reply(self, status, body, ctype="application/json", headers=()):
        self.rec["status"] = status
        self.emit_log()
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            self.close_connection = True   # a client that capped the body

    def read_params(self):
        split = urllib.parse.urlsplit(self.path)
        self.path_only = split.path or "/"
        self.rec["path"] = self.path_only
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise bad_request(411, "chunked bodies are not supported")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise bad_request(400 if length < 0 else 413, "bad Content-Length")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ConnectionError("client went away mid-body")
        self.ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            query = parse_form(split.query) if split.query else []
            form = []
            if self.ctype == "application/x-www-form-urlencoded" and body:
                form = parse_form(body.decode("utf-8"))
            elif self.ctype == "application/json" and body and CFG.provider == "privacyidea":
                doc = json.loads(body)
                if not isinstance(doc, dict):
                    raise ValueError("JSON body is not an object")
                form = [(str(k), v if isinstance(v, str) else "" if v is None else json.dumps(v))
                        for k, v in doc.items()]
        except (ValueError, UnicodeError) as e:
            raise bad_request(400, "malformed parameters: %s" % e)
        # Duo signs the query of a GET and the body of a POST (reference 1.2);
        # privacyIDEA merges query, form and JSON.
        if CFG.provider == "duo" and not self.path_only.startswith("/_test/"):
            return query if self.command != "POST" else form
        return query + form

    def handle_any(self):
        self.rec = {"t": time.time(), "method": self.command, "path": None, "params": {},
                    "user": None, "auth": "none", "status": None, "outcome": None}
        try:
            pairs = self.read_params()
            self.rec["params"] = {k: ("<redacted>" if k.lower() in REDACT else v) for k, v in pairs}
            try:
                script = load_script()
            except (OSError, ValueError) as e:     # a test bug: say so loudly
                print("push_emulator: script %s: %s" % (CFG.script, e), file=sys.stderr)
                raise Answer(500, fail_envelope(500, "emulator script error"), "script-error")
            fault = pick_fault(script, self.path_only)
            if fault is not None:
                return self.do_fault(fault)
            if self.path_only.startswith("/_test/"):
                status, body, outcome = test_handle(self, pairs, script)
            elif CFG.provider == "duo":
                status, body, outcome = duo_handle(self, pairs, script)
            else:
                status, body, outcome = pi_handle(self, pairs, script)
        except Answer as a:
            if a.auth:
                self.rec["auth"] = a.auth
            status, body, outcome = a.status, a.body, a.outcome
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            self.rec["outcome"] = "client-gone"
            return self.emit_log()
        except Exception:
            traceback.print_exc()
            status, body, outcome = 500, fail_envelope(500, "emulator bug"), "emulator-error"
        self.rec["outcome"] = outcome
        self.reply(status, body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def do_fault(self, f):
        mode = f.get("mode")
        self.rec["outcome"] = "fault-%s" % mode
        if mode == "status":
            status = int(f.get("status", 500))
            extra = [("Retry-After", str(f["retry_after"]))] if "retry_after" in f else []
            return self.reply(status, fail_envelope(status, str(f.get("message", "Fault injected"))),
                              headers=extra)
        if mode == "garbage":
            return self.reply(200, b"<html><body>502 Bad Gateway: not JSON</body></html>\n")
        if mode == "oversize":
            return self.reply(200, oversize_body())
        if mode == "missing-field":
            return self.reply(200, {"stat": "OK"} if CFG.provider == "duo" else {"result": {"status": True}})
        if mode not in ("close", "hang"):
            self.rec["outcome"] = "script-error"
            return self.reply(500, fail_envelope(500, "unknown fault mode %r" % mode))
        self.close_connection = True
        self.emit_log()
        if mode == "close":
            self.connection.shutdown(socket.SHUT_RDWR)   # no TLS close_notify either
        elif mode == "hang":
            self.connection.settimeout(0.5)
            end = time.monotonic() + HANG_LIMIT
            while not STOP.is_set() and time.monotonic() < end:
                try:
                    if not self.connection.recv(4096):
                        return                           # the client gave up
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                except OSError:
                    return


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the request's own thread, so a
        # client that never finishes it cannot stall the accept loop.
        request.settimeout(10)
        try:
            conn = self.tls.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            print("push_emulator: TLS handshake: %s" % e, file=sys.stderr)
            return
        try:
            Handler(conn, client_address, self)
        except OSError:
            pass
        finally:
            conn.close()


# ------------------------------------------------------------ self-test
def selftest():
    """Reference 1.4: E1-E5 (SHA-1 and SHA-512) and duo_client_python's vector."""
    date, host = "Tue, 21 Aug 2012 17:29:18 -0000", "api-abcd1234.duosecurity.com"
    skey, ikey = "yWHSMhWucAcp7qvuH3HWTaSaKABs8Gaddiv1NIRo", "DIXYZV6YM8IFYVWBINCA"
    e3 = [("username", "alice"), ("factor", "push"), ("device", "auto"), ("async", "1"),
          ("type", "Login"), ("display_username", "Alice Example"),
          ("pushinfo", "host=bastion01&service=sshd"), ("ipaddr", "192.0.2.10")]
    cases = [
        ("E1", "GET", "/auth/v2/check", [], "8e21b08d3d6065a9b1c8d081d811619c705eb0ad",
         "8ec9ef5a14f275c41cfc0bb734ffc2644336e160d18c177390a1b7a9c9857c64d456ba78eea7a3e4d04fe208914b3756d4ca81ae039c7dc36fe920500eecf8d3"),
        ("E2", "POST", "/auth/v2/preauth", [("username", "alice"), ("ipaddr", "192.0.2.10")],
         "40d2a589038aaf35cf9dfa37af1d8540ea1b7a4c",
         "44c43da8973c702b78e20787fb68e984547ee8a0a0853e2c38c0046f40b595db191b76bb98ec889200111cf3a0576c0ab7583ec0c3e2365d7b6d70a6fcceff86"),
        ("E3", "POST", "/auth/v2/auth", e3, "3a175e217b301f710a09863acf609ef8997694ef",
         "b466d4b2e3278760c0d1ecc47f7307d7889fa2630213eaa196a6d70421f825ab1f7fcb10528c58691ce8b06ff3347af8974fd277c1465d007d05ffbcdd9eb539"),
        ("E4", "POST", "/auth/v2/auth", [("username", "alice"), ("factor", "passcode"), ("passcode", "123456")],
         "af25e60cbdf6c634c65b179bac542872d835dfea",
         "c881ea30c6631a98b5f902c83b37b1af2625296e7b322f361ae28532da3d30237234c114cbbf9939601a42c36c8316488e048845e06527179ff10e437e0167a1"),
        ("E5", "GET", "/auth/v2/auth_status", [("txid", "45f7c92b-f45f-4862-8545-e0f58e78075a")],
         "9794428b6103251f09988282f13563d443ce5ee9",
         "22a40af78256a75f5e905d413a6d0aa6cbd2f1fd7bb92eec10c3358546322b5510f5cfb566ba731a1052b5f3edab25d5462a1ec19138ac86aa9745f112e8bf68"),
    ]
    bad = 0

    def expect(name, got, want):
        nonlocal bad
        if got != want:
            bad += 1
            print("selftest: %s: got %s, want %s" % (name, got, want), file=sys.stderr)

    for name, method, path, pairs, sha1, sha512 in cases:
        canon = duo_canonical(date, method, host, path, pairs)
        expect(name + " sha1", duo_sign(skey, canon, "sha1"), sha1)
        expect(name + " sha512", duo_sign(skey, canon), sha512)
    expect("E3 length", len(duo_canonical(date, "POST", host, "/auth/v2/auth", e3).encode()), 231)
    expect("E1 header", base64.b64encode((ikey + ":" + cases[0][5]).encode()).decode(),
           "RElYWVpWNllNOElGWVZXQklOQ0E6OGVjOWVmNWExNGYyNzVjNDFjZmMwYmI3MzRmZmMyNjQ0MzM2ZTE2MGQxOGMxNzczOTBhMWI3YTljOTg1N2M2NGQ0NTZiYTc4ZWVhN2EzZTRkMDRmZTIwODkxNGIzNzU2ZDRjYTgxYWUwMzljN2RjMzZmZTkyMDUwMGVlY2Y4ZDM=")
    line = ("%E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%ED%82%91%C3%88%EC%85%B0=%E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90"
            "&%E7%91%89%E7%B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%BF%91%E7%A0%93=%E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0"
            "&%E7%91%B0%E9%8C%94%E9%80%9C%E9%BA%AE%E4%83%98%E4%88%81%E8%8B%98%E8%B1%B0%E1%B4%B1%EA%81%82=%E1%9F%99%E0%AE%A8%E9%8D%98%EA%AB%9F%EA%90%AA%E4%A2%BE%EF%AE%96%E6%BF%A9%EB%9F%BF%E3%8B%B3"
            "&%EC%8B%85%E2%B0%9D%E2%98%A0%E3%98%97%E9%9A%B3F%E8%98%85%E2%83%A8%EA%B0%A1%E5%A4%B4=%EF%AE%A9%E4%86%AA%EB%B6%83%E8%90%8B%E2%98%95%E3%B9%AE%E6%94%AD%EA%A2%B5%ED%95%ABU")
    # Decode, shuffle, re-encode: the server side of reference 1.2.
    pairs = [tuple(urllib.parse.unquote(x) for x in kv.split("=")) for kv in line.split("&")]
    expect("unit-test params", duo_canon_params(list(reversed(pairs))), line)
    canon = duo_canonical("Fri, 07 Dec 2012 17:18:00 -0000", "PoSt", host_only("foO.BAr52.cOm"),
                          "/Foo/BaR2/qux", pairs)
    expect("unit-test sha1", duo_sign("gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT", canon, "sha1"),
           "f01811cbbf9561623ab45b893096267fd46a5178")
    expect("unit-test sha512", duo_sign("gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT", canon),
           "0508065035a03b2a1de2f453e629e791d180329e157f65df6b3e0f08299d4321e1c5c7a7c7ee6b9e5fc80d1fb6fbf3ad5eb7c44dd3b3985a02c37aca53ec3698")
    expect("enc", duo_enc("a b*~/@+é"), "a%20b%2A~%2F%40%2B%C3%A9")
    expect("host", host_only("API-abcd1234.DuoSecurity.com:4443"), host)
    expect("date -0000", parse_date(date), 1345570158)
    expect("date +0200", parse_date("Tue, 21 Aug 2012 19:29:18 +0200"), 1345570158)
    print("selftest: %s" % ("ok" if not bad else "%d mismatches" % bad), file=sys.stderr)
    return 1 if bad else 0


# ------------------------------------------------------------ main
def read_secret(path):
    with open(path, encoding="utf-8") as f:
        return f.read().strip()


def main():
    global CFG
    if sys.argv[1:] == ["--selftest"]:
        return selftest()
    ap = argparse.ArgumentParser(description="HTTPS emulator of a push-MFA provider")
    ap.add_argument("provider", choices=("duo", "privacyidea"))
    for opt in ("--cert", "--key", "--port-file", "--script", "--log"):
        ap.add_argument(opt, required=True)
    for opt in ("--pidfile", "--ikey", "--skey-file", "--service-user", "--service-password-file"):
        ap.add_argument(opt)
    CFG = ap.parse_args()
    if CFG.provider == "duo":
        if not (CFG.ikey and CFG.skey_file):
            ap.error("duo needs --ikey and --skey-file")
        CFG.skey = read_secret(CFG.skey_file)
    elif bool(CFG.service_user) != bool(CFG.service_password_file):
        ap.error("--service-user and --service-password-file go together")
    CFG.service_password = read_secret(CFG.service_password_file) if CFG.service_user else ""

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(CFG.cert, CFG.key)
    server = Server(("127.0.0.1", 0), Handler)
    server.tls = tls
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: STOP.set())
    if CFG.pidfile:
        with open(CFG.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    tmp = CFG.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, CFG.port_file)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    while not STOP.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    if CFG.pidfile:
        try:
            os.unlink(CFG.pidfile)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

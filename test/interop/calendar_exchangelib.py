#!/usr/bin/python3
"""Interop suite for calendars and rooms: unmodified exchangelib 4.9 against
a running `actas serve` (driven by calendar_test.go: the common fixture plus
room2, room3, the room lists building1 (room1, room2) and building2 (room3),
and roomsvc, whose ApplicationImpersonation is scoped to RoomMailbox). Same
PASS/FAIL/SKIP/DONE protocol as exchangelib_suite.py.
"""

import datetime
import os
import sys
import time
import traceback
import uuid

import exchangelib
from exchangelib import DELEGATE, IMPERSONATION, Account, Configuration, Credentials
from exchangelib.errors import EWSError
from exchangelib.protocol import BaseProtocol

BaseProtocol.TIMEOUT = 40

ENV = os.environ
EWS_URL = ENV["ACTAS_EWS_URL"]
PW = ENV["ACTAS_PASSWORD"]
SVC = ENV["ACTAS_USER_SVC"]
ROOMSVC = ENV["ACTAS_USER_ROOMSVC"]
ALICE = ENV["ACTAS_USER_ALICE"]
BOB = ENV["ACTAS_USER_BOB"]
CAROL = ENV["ACTAS_USER_CAROL"]
ROOM1 = ENV["ACTAS_USER_ROOM"]
ROOM2 = ENV["ACTAS_USER_ROOM2"]
ROOM3 = ENV["ACTAS_USER_ROOM3"]
LIST1 = ENV["ACTAS_ROOMLIST_1"]
LIST2 = ENV["ACTAS_ROOMLIST_2"]
RUN = uuid.uuid4().hex[:8]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


CASES = []
RESULTS = {}


class Skip(Exception):
    pass


def case(name, needs=()):
    def deco(fn):
        CASES.append((name, fn, needs))
        return fn

    return deco


def one_line(s, limit=900):
    s = " | ".join(x.strip() for x in str(s).strip().splitlines() if x.strip())
    return s if len(s) <= limit else s[:limit] + " ..."


def describe(e):
    return f"{type(e).__module__.split('.')[0]}.{type(e).__name__}: {e}"


def run():
    for name, fn, needs in CASES:
        unmet = [n for n in needs if RESULTS.get(n) != "PASS"]
        t0 = time.monotonic()
        if unmet:
            status, reason = "SKIP", f"needs {', '.join(unmet)}, which did not pass"
        else:
            try:
                fn()
                status, reason = "PASS", ""
            except Skip as e:
                status, reason = "SKIP", str(e)
            except AssertionError as e:
                status, reason = "FAIL", str(e) or "assertion failed"
                log(traceback.format_exc())
            except Exception as e:
                status, reason = "FAIL", describe(e)
                log(traceback.format_exc())
        RESULTS[name] = status
        log(f"-- {name}: {status} in {time.monotonic() - t0:.2f}s")
        print(f"{status} {name}" + (f": {one_line(reason)}" if reason else ""), flush=True)
    print("DONE", flush=True)


_configs = {}


def config(user):
    if user not in _configs:
        _configs[user] = Configuration(service_endpoint=EWS_URL, credentials=Credentials(user, PW))
    return _configs[user]


def impersonate(target, svc=ROOMSVC):
    return Account(primary_smtp_address=target, config=config(svc), access_type=IMPERSONATION)


def own(user):
    return Account(primary_smtp_address=user, config=config(user), access_type=DELEGATE)


# ------------------------------------------------------------------ rooms


@case("room_lists")
def _():
    acc = impersonate(ROOM1)
    lists = list(acc.protocol.get_roomlists())
    got = sorted(l.email_address for l in lists)
    assert got == sorted([LIST1, LIST2]), f"room lists {got}"
    names = {l.email_address: l.name for l in lists}
    assert names[LIST1] == "Building 1 Rooms", f"name {names[LIST1]!r}"


@case("rooms_of_a_list", needs=("room_lists",))
def _():
    acc = own(ALICE)
    rooms = list(acc.protocol.get_rooms(LIST1))
    got = sorted(r.email_address for r in rooms)
    assert got == sorted([ROOM1, ROOM2]), f"rooms of building1: {got}"
    assert all(r.name for r in rooms), f"names {[r.name for r in rooms]}"
    rooms = list(acc.protocol.get_rooms(LIST2))
    assert [r.email_address for r in rooms] == [ROOM3], f"rooms of building2: {rooms}"


@case("rooms_of_a_non_list")
def _():
    acc = own(ALICE)
    try:
        list(acc.protocol.get_rooms(BOB))
    except EWSError as e:
        assert type(e).__name__ == "ErrorNameResolutionNoResults", describe(e)
        return
    raise AssertionError("GetRooms of a user mailbox succeeded")


if __name__ == "__main__":
    log(f"exchangelib {exchangelib.__version__} against {EWS_URL}")
    if ENV.get("ACTAS_INTEROP_TRACE"):
        import logging

        from exchangelib.util import PrettyXmlHandler

        logging.basicConfig(level=logging.DEBUG, handlers=[PrettyXmlHandler()])
    run()

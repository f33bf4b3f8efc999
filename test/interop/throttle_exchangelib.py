#!/usr/bin/python3
"""Throttling interop: unmodified exchangelib 4.9 against `actas serve` where
the service account's throttling policy allows one concurrent request
(driven by throttle_test.go; PASS/FAIL/SKIP/DONE protocol).
"""

import multiprocessing
import os
import sys
import traceback

from exchangelib import IMPERSONATION, Account, Configuration, Credentials, FailFast, FaultTolerance
from exchangelib.errors import ErrorServerBusy

ENV = os.environ
EWS_URL = ENV["ACTAS_EWS_URL"]
PW = ENV["ACTAS_PASSWORD"]
SVC = ENV["ACTAS_USER_SVC"]
ALICE = ENV["ACTAS_USER_ALICE"]
PROCESSES, CALLS = 6, 20


def account(policy):
    cfg = Configuration(service_endpoint=EWS_URL, credentials=Credentials(SVC, PW), retry_policy=policy)
    return Account(primary_smtp_address=ALICE, config=cfg, autodiscover=False, access_type=IMPERSONATION)


def worker(fault_tolerant):
    """One process, one exchangelib protocol: CALLS inbox refreshes. Returns
    (busy errors with their back-off, other errors) as strings. Processes,
    not threads: exchangelib 4.9's decrease_poolsize can deadlock threads
    that share a session pool when the server asks them to back off."""
    acc = account(FaultTolerance(max_wait=120) if fault_tolerant else FailFast())
    busy, other = [], []
    for _ in range(CALLS):
        try:
            acc.inbox.refresh()
        except ErrorServerBusy as e:
            busy.append(e.back_off)
        except Exception as e:  # noqa: BLE001 - every error is a result here
            other.append(f"{type(e).__name__}: {e}")
    return busy, other


def hammer(fault_tolerant):
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        results = pool.map(worker, [fault_tolerant] * PROCESSES)
    busy = [b for r in results for b in r[0]]
    other = [o for r in results for o in r[1]]
    return busy, other


def report(name, fn):
    try:
        fn()
        print(f"PASS {name}", flush=True)
    except AssertionError as e:
        print(f"FAIL {name}: {e}", flush=True)
    except Exception as e:  # noqa: BLE001
        traceback.print_exc(file=sys.stderr)
        print(f"FAIL {name}: {type(e).__name__}: {e}", flush=True)


def failfast_sees_server_busy():
    busy, other = hammer(False)
    assert not other, f"unexpected errors: {other[:3]}"
    assert busy, f"{PROCESSES} processes x {CALLS} calls with a budget of one concurrent request never got ErrorServerBusy"
    assert all(b and b > 0 for b in busy), f"no back-off hint: {busy[:5]}"


def fault_tolerance_backs_off_and_succeeds():
    busy, other = hammer(True)
    assert not busy and not other, f"calls failed despite back-off: {(busy + other)[:3]}"


if __name__ == "__main__":
    report("failfast_sees_server_busy", failfast_sees_server_busy)
    report("fault_tolerance_backs_off_and_succeeds", fault_tolerance_backs_off_and_succeeds)
    print("DONE", flush=True)

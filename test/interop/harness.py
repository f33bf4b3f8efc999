"""The line protocol the interop suites share: each case prints
`PASS name`, `FAIL name: reason` or `SKIP name: reason`, then `DONE`;
interop_test.go turns every line into a Go subtest."""

import sys
import time
import traceback

CASES = []
RESULTS = {}


class Skip(Exception):
    pass


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def case(name, needs=()):
    def deco(fn):
        CASES.append((name, fn, needs))
        return fn

    return deco


def one_line(s, limit=900):
    s = " | ".join(x.strip() for x in str(s).strip().splitlines() if x.strip())
    return s if len(s) <= limit else s[:limit] + " ..."


def describe(e):
    """The client's view of an error: its exception class and message."""
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
            except Exception as e:  # the client's own error is the result
                status, reason = "FAIL", describe(e)
                log(traceback.format_exc())
        RESULTS[name] = status
        log(f"-- {name}: {status} in {time.monotonic() - t0:.2f}s")
        print(f"{status} {name}" + (f": {one_line(reason)}" if reason else ""), flush=True)
    print("DONE", flush=True)

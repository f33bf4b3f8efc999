#!/usr/bin/python3
"""Interop suite for sync and notifications: unmodified exchangelib 4.9
against a running `actas serve` (driven by sync_test.go, same fixture and
environment as exchangelib_suite.py, same PASS/FAIL/SKIP/DONE protocol).

Cases: SyncFolderItems loops over a mailbox changed while it syncs (every
change seen exactly once, the result equals the folder), a move is a Delete
in the old folder and a Create with the same id in the new one,
SyncFolderHierarchy, an invalid SyncState; pull and streaming subscriptions
of an impersonated mailbox see NewMail and Moved; a copy is a CopiedEvent
naming the copy and its source.
"""

import os
import threading
import time
import uuid

from harness import CASES, RESULTS, Skip, case, describe, log, one_line, run  # noqa: F401

import exchangelib
from exchangelib import DELEGATE, IMPERSONATION, Account, Configuration, Credentials, Message, Mailbox
from exchangelib.errors import EWSError
from exchangelib.protocol import BaseProtocol

BaseProtocol.TIMEOUT = 40

ENV = os.environ
EWS_URL = ENV["ACTAS_EWS_URL"]
PW = ENV["ACTAS_PASSWORD"]
SVC = ENV["ACTAS_USER_SVC"]
ALICE = ENV["ACTAS_USER_ALICE"]
BOB = ENV["ACTAS_USER_BOB"]
DAVE = ENV["ACTAS_USER_DAVE"]
RUN = uuid.uuid4().hex[:8]


_configs = {}


def config(user):
    if user not in _configs:
        # Several connections: a streaming request holds one for its whole
        # duration (exchangelib's default pool has a single session).
        _configs[user] = Configuration(service_endpoint=EWS_URL, credentials=Credentials(user, PW), max_connections=4)
    return _configs[user]


def impersonate(target):
    return Account(primary_smtp_address=target, config=config(SVC), access_type=IMPERSONATION)


def own(user):
    return Account(primary_smtp_address=user, config=config(user), access_type=DELEGATE)


class Replica:
    """A client-side copy of one folder kept by SyncFolderItems, failing on
    any change a consistent replica could not apply."""

    def __init__(self, folder):
        self.folder = folder
        self.ids = {}  # id -> subject
        self.state = None
        self.changes = []

    def sync(self, max_changes=None):
        n = 0
        for change, item in self.folder.sync_items(sync_state=self.state, max_changes_returned=max_changes):
            n += 1
            if change == "create":
                assert item.id not in self.ids, f"Create of an item the replica already has: {item.id} {item.subject!r}"
                self.ids[item.id] = item.subject
            elif change == "update":
                assert item.id in self.ids, f"Update of an unknown item {item.id}"
                self.ids[item.id] = item.subject
            elif change == "delete":
                assert item.id in self.ids, f"Delete of an unknown item {item.id}"
                del self.ids[item.id]
            elif change == "read_flag_change":
                item_id, _ = item
                assert item_id.id in self.ids, f"ReadFlagChange of an unknown item {item_id.id}"
                item = item_id
            self.changes.append((change, item.id))
        self.state = self.folder.item_sync_state
        return n


@case("sync_items_while_mail_arrives")
def _():
    alice = impersonate(ALICE)
    inbox = alice.inbox
    rep = Replica(inbox)
    rep.sync(max_changes=50)
    before = len(rep.ids)
    bob = own(BOB)
    subjects = [f"sync {RUN} {i}" for i in range(12)]
    errors = []

    def sender():
        try:
            for s in subjects:
                Message(account=bob, subject=s, body="x", to_recipients=[Mailbox(email_address=ALICE)]).send()
                time.sleep(0.05)
        except Exception as e:  # reported below
            errors.append(e)

    t = threading.Thread(target=sender)
    t.start()
    rounds = 0
    while t.is_alive():
        rep.sync(max_changes=2)
        rounds += 1
        time.sleep(0.02)
    t.join()
    assert not errors, f"sending failed: {describe(errors[0])}"
    rep.sync(max_changes=3)
    got = sorted(s for s in rep.ids.values() if s and s.startswith(f"sync {RUN}"))
    assert got == sorted(subjects), f"replica has {got}, want {sorted(subjects)} (after {rounds} rounds)"
    creates = [i for c, i in rep.changes if c == "create"]
    assert len(creates) == len(set(creates)), "an item was created twice"
    actual = {i.id for i in inbox.all().only("id")}
    assert set(rep.ids) == actual, f"replica {len(rep.ids)} items, inbox {len(actual)} (started with {before})"


@case("sync_items_move_keeps_id", needs=("sync_items_while_mail_arrives",))
def _():
    alice = impersonate(ALICE)
    inbox, deleted = Replica(alice.inbox), Replica(alice.trash)
    inbox.sync()
    deleted.sync()
    item = next(i for i in alice.inbox.filter(subject__startswith=f"sync {RUN}"))
    item.is_read = not item.is_read
    item.save(update_fields=["is_read"])
    inbox.changes, deleted.changes = [], []
    inbox.sync()
    assert inbox.changes == [("read_flag_change", item.id)], f"read flag: {inbox.changes}"
    item.move(alice.trash)
    inbox.changes = []
    inbox.sync()
    deleted.sync()
    assert inbox.changes == [("delete", item.id)], f"inbox after move: {inbox.changes}"
    assert deleted.changes == [("create", item.id)], f"deleted items after move: {deleted.changes} (want a Create with the same id)"


@case("sync_hierarchy")
def _():
    alice = impersonate(ALICE)
    root = alice.msg_folder_root
    changes = list(root.sync_hierarchy())
    names = {f.name for c, f in changes if c == "create"}
    assert "Inbox" in names, f"initial hierarchy: {sorted(names)}"
    state = root.folder_sync_state
    from exchangelib import Folder

    f = Folder(parent=alice.inbox, name=f"synced {RUN}")
    f.save()
    changes = list(root.sync_hierarchy(sync_state=state))
    assert [(c, x.name) for c, x in changes] == [("create", f"synced {RUN}")], f"after create: {changes}"
    state = root.folder_sync_state
    f.delete()
    changes = list(root.sync_hierarchy(sync_state=state))
    assert [c for c, _ in changes] == ["delete"], f"after delete: {changes}"


@case("sync_invalid_state")
def _():
    alice = impersonate(ALICE)
    try:
        list(alice.inbox.sync_items(sync_state="AQlub3QgYSByZWFsIHN0YXRl"))
    except EWSError as e:
        assert type(e).__name__ == "ErrorInvalidSyncStateData", describe(e)
        return
    raise AssertionError("a corrupt SyncState was accepted")


def send_and_move(subject, delay=0.0):
    """bob sends alice a message; then svc (impersonating alice) moves it to
    Deleted Items. Returns the item id (which a move keeps)."""
    time.sleep(delay)
    bob = own(BOB)
    Message(account=bob, subject=subject, body="x", to_recipients=[Mailbox(email_address=ALICE)]).send()
    alice = impersonate(ALICE)
    for _ in range(50):
        found = list(alice.inbox.filter(subject=subject))
        if found:
            found[0].move(alice.trash)
            return found[0].id
        time.sleep(0.1)
    raise AssertionError(f"{subject!r} was not delivered")


def event_names(notification):
    return [type(e).__name__ for e in notification.events]


@case("pull_subscription_newmail_and_moved")
def _():
    alice = impersonate(ALICE)
    sub, watermark = alice.inbox.subscribe_to_pull(timeout=5)
    try:
        item_id = send_and_move(f"pull {RUN}")
        seen, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not {"NewMailEvent", "MovedEvent"} <= set(seen):
            for n in alice.inbox.get_events(sub, watermark):
                seen += event_names(n)
                for e in n.events:
                    if getattr(e, "watermark", None):
                        watermark = e.watermark
                    if type(e).__name__ == "MovedEvent":
                        assert e.item_id.id == item_id and e.old_item_id.id == item_id, "the move changed the id"
            time.sleep(0.1)
        assert {"NewMailEvent", "CreatedEvent", "MovedEvent"} <= set(seen), f"pull events: {seen}"
        # Resuming from the last watermark repeats nothing.
        again = [x for n in alice.inbox.get_events(sub, watermark) for x in event_names(n)]
        assert set(again) <= {"StatusEvent"}, f"events repeated after the last watermark: {again}"
    finally:
        alice.inbox.unsubscribe(sub)


@case("pull_subscription_copied")
def _():
    """svc (impersonating alice) copies an Inbox message to Deleted Items:
    the Inbox's pull subscription gets a CopiedEvent naming the copy and its
    source (not a CreatedEvent)."""
    alice = impersonate(ALICE)
    src = Message(account=alice, folder=alice.inbox, subject=f"copy {RUN}", body="x")
    src.save()
    sub, watermark = alice.inbox.subscribe_to_pull(timeout=5)
    try:
        copied = src.copy(alice.trash)
        copy_id = copied[0] if isinstance(copied, tuple) else getattr(copied, "id", None)
        seen, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and "CopiedEvent" not in [type(e).__name__ for e in seen]:
            for n in alice.inbox.get_events(sub, watermark):
                for e in n.events:
                    seen.append(e)
                    if getattr(e, "watermark", None):
                        watermark = e.watermark
            time.sleep(0.1)
        names = [type(e).__name__ for e in seen if type(e).__name__ != "StatusEvent"]
        assert names == ["CopiedEvent"], f"events for a copy: {names}"
        e = seen[[type(x).__name__ for x in seen].index("CopiedEvent")]
        assert e.old_item_id.id == src.id, "OldItemId is not the source"
        assert e.item_id.id != src.id, "ItemId is the source, not the copy"
        assert copy_id is None or e.item_id.id == copy_id, "ItemId is not the id CopyItem returned"
        assert e.parent_folder_id.id == alice.trash.id, "ParentFolderId is not the target folder"
        assert e.old_parent_folder_id.id == alice.inbox.id, "OldParentFolderId is not the source folder"
    finally:
        alice.inbox.unsubscribe(sub)


@case("streaming_subscription_newmail_and_moved")
def _():
    alice = impersonate(ALICE)
    sub = alice.inbox.subscribe_to_streaming()
    t = threading.Thread(target=send_and_move, args=(f"stream {RUN}", 0.5))
    t.start()
    seen = []
    t0 = time.monotonic()
    for n in alice.inbox.get_streaming_events(sub, connection_timeout=1):
        seen += event_names(n)
        if {"NewMailEvent", "MovedEvent"} <= set(seen):
            break
    t.join()
    assert {"NewMailEvent", "CreatedEvent", "MovedEvent"} <= set(seen), f"streamed events: {seen}"
    log(f"streamed NewMail and Moved within {time.monotonic() - t0:.2f}s of connecting")
    # The client drops the connection; mail arrives meanwhile; reconnecting
    # with the same subscription delivers it.
    send_and_move(f"stream resumed {RUN}")
    seen = []
    for n in alice.inbox.get_streaming_events(sub, connection_timeout=1):
        seen += event_names(n)
        if {"NewMailEvent", "MovedEvent"} <= set(seen):
            break
    assert {"NewMailEvent", "MovedEvent"} <= set(seen), f"events while disconnected were lost: {seen}"
    alice.inbox.unsubscribe(sub)


@case("streaming_server_close_then_resume", needs=("streaming_subscription_newmail_and_moved",))
def _():
    """The server ends the connection at its ConnectionTimeout (one minute);
    mail arrives just before and just after; reconnecting with the same
    subscription delivers the second, and nothing is seen twice."""
    alice = impersonate(ALICE)
    bob = own(BOB)
    sub = alice.inbox.subscribe_to_streaming()
    subjects = [f"around close {i} {RUN}" for i in range(2)]

    def sender():
        time.sleep(57)
        Message(account=bob, subject=subjects[0], body="x", to_recipients=[Mailbox(email_address=ALICE)]).send()
        time.sleep(5)
        Message(account=bob, subject=subjects[1], body="x", to_recipients=[Mailbox(email_address=ALICE)]).send()

    t = threading.Thread(target=sender)
    t.start()
    new_mail = []
    t0 = time.monotonic()
    for n in alice.inbox.get_streaming_events(sub, connection_timeout=1):
        new_mail += [e.item_id.id for e in n.events if type(e).__name__ == "NewMailEvent"]
    first = time.monotonic() - t0
    assert first >= 55, f"the stream ended after {first:.0f}s, before the server's one-minute ConnectionTimeout"
    t.join()
    deadline = time.monotonic() + 20
    for n in alice.inbox.get_streaming_events(sub, connection_timeout=1):
        new_mail += [e.item_id.id for e in n.events if type(e).__name__ == "NewMailEvent"]
        if len(new_mail) >= 2 or time.monotonic() > deadline:
            break
    alice.inbox.unsubscribe(sub)
    assert len(new_mail) == 2 and len(set(new_mail)) == 2, f"NewMail events across the server's close: {new_mail}"
    log(f"first connection closed by the server after {first:.1f}s; nothing lost or repeated")


@case("subscription_delegate_refused")
def _():
    from exchangelib.folders import Inbox, Root

    dave = Account(primary_smtp_address=ALICE, config=config(DAVE), access_type=DELEGATE)
    # dave is Reviewer on alice's Inbox (not on her root, so no folder discovery).
    inbox = Inbox.get_distinguished(root=Root(account=dave, is_distinguished=True))
    try:
        inbox.subscribe_to_streaming()
    except EWSError as e:
        assert type(e).__name__ == "ErrorSubscriptionDelegateAccessNotSupported", describe(e)
        return
    raise AssertionError("a delegate subscribed to alice's inbox")


@case("push_subscription_newmail_and_moved")
def _():
    """The test serves the callback: exchangelib's SendNotification parses
    each POST and writes the reply (OK, then Unsubscribe)."""
    import http.server
    import queue

    from exchangelib.services import SendNotification

    got = queue.Queue()
    state = {"unsubscribe": False}

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            svc = SendNotification(protocol=None)
            try:
                for n in svc.parse(body):
                    got.put(n)
                reply = svc.unsubscribe_payload() if state["unsubscribe"] else svc.ok_payload()
            except Exception as e:  # reported through the queue
                got.put(e)
                reply = svc.ok_payload()
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        alice = impersonate(ALICE)
        sub, _ = alice.inbox.subscribe_to_push(callback_url=f"http://127.0.0.1:{srv.server_port}/ews", status_frequency=1)
        item_id = send_and_move(f"push {RUN}")
        seen, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not {"NewMailEvent", "MovedEvent"} <= set(seen):
            try:
                n = got.get(timeout=1)
            except queue.Empty:
                continue
            if isinstance(n, Exception):
                raise n
            assert n.subscription_id == sub, f"notification for {n.subscription_id}, want {sub}"
            seen += event_names(n)
            for e in n.events:
                if type(e).__name__ == "MovedEvent":
                    assert e.item_id.id == item_id, "the move changed the id"
        assert {"NewMailEvent", "CreatedEvent", "MovedEvent"} <= set(seen), f"pushed events: {seen}"
        # The callback answers Unsubscribe to the next notification; then
        # the subscription is gone.
        state["unsubscribe"] = True
        send_and_move(f"push last {RUN}")
        got.get(timeout=10)
        for _ in range(50):
            try:
                alice.inbox.unsubscribe(sub)
            except EWSError as e:
                assert type(e).__name__ == "ErrorSubscriptionNotFound", describe(e)
                return
            time.sleep(0.1)
        raise AssertionError("the subscription survived the callback's Unsubscribe reply")
    finally:
        srv.shutdown()


if __name__ == "__main__":
    log(f"exchangelib {exchangelib.__version__} against {EWS_URL}")
    if ENV.get("ACTAS_INTEROP_TRACE"):
        import logging

        from exchangelib.util import PrettyXmlHandler

        logging.basicConfig(level=logging.DEBUG, handlers=[PrettyXmlHandler()])
    run()

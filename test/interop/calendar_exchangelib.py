#!/usr/bin/python3
"""Interop suite for calendars and rooms: unmodified exchangelib 4.9 against
a running `actas serve` (driven by calendar_test.go: the common fixture plus
room2, room3, the room lists building1 (room1, room2) and building2 (room3),
and roomsvc, whose ApplicationImpersonation is scoped to RoomMailbox). Same
PASS/FAIL/SKIP/DONE protocol as exchangelib_suite.py.
"""

import datetime
import os
import time
import uuid

from harness import CASES, RESULTS, Skip, case, describe, log, one_line, run  # noqa: F401

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
ERIN = ENV["ACTAS_USER_ERIN"]
ROOM1 = ENV["ACTAS_USER_ROOM"]
ROOM2 = ENV["ACTAS_USER_ROOM2"]
ROOM3 = ENV["ACTAS_USER_ROOM3"]
LIST1 = ENV["ACTAS_ROOMLIST_1"]
LIST2 = ENV["ACTAS_ROOMLIST_2"]
RUN = uuid.uuid4().hex[:8]


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


# ------------------------------------------------------------- calendars

from exchangelib import CalendarItem, EWSDateTime, EWSTimeZone
from exchangelib.recurrence import Recurrence, WeeklyPattern, NumberedPattern  # noqa: F401
from exchangelib.recurrence import DailyPattern, AbsoluteMonthlyPattern, RelativeYearlyPattern

BERLIN = EWSTimeZone("Europe/Berlin")
UTC = EWSTimeZone("UTC")


def berlin(y, mo, d, h=0, mi=0):
    return EWSDateTime(y, mo, d, h, mi, tzinfo=BERLIN)


def utc(y, mo, d, h=0, mi=0):
    return EWSDateTime(y, mo, d, h, mi, tzinfo=UTC)


@case("room_calendar_view_by_impersonation")
def _():
    room = impersonate(ROOM1)
    subj = f"booked {RUN}"
    CalendarItem(account=room, folder=room.calendar, subject=subj, start=utc(2026, 5, 4, 9), end=utc(2026, 5, 4, 10)).save()
    got = [i.subject for i in room.calendar.view(start=utc(2026, 5, 4), end=utc(2026, 5, 5))]
    assert subj in got, f"room's CalendarView: {got}"


@case("room_scoped_account_refused_user_calendar")
def _():
    try:
        list(impersonate(ALICE).calendar.view(start=utc(2026, 5, 4), end=utc(2026, 5, 5)))
    except EWSError as e:
        assert type(e).__name__ == "ErrorImpersonateUserDenied", describe(e)
        return
    raise AssertionError("roomsvc read alice's calendar")


@case("weekly_series_across_dst")
def _():
    # Mondays 09:00-10:00 Berlin, five from 16 March 2026; Europe changes to
    # summer time on 29 March. The third (30 March) is deleted, the fourth
    # (6 April) moved to Tuesday 7 April 14:00-15:30.
    room = impersonate(ROOM2)
    subj = f"weekly {RUN}"
    master = CalendarItem(
        account=room, folder=room.calendar, subject=subj, start=berlin(2026, 3, 16, 9), end=berlin(2026, 3, 16, 10),
        recurrence=Recurrence(pattern=WeeklyPattern(interval=1, weekdays=[1]), start=berlin(2026, 3, 16).date(), number=5),
    )
    master.save()
    master.refresh()
    assert master.type == "RecurringMaster", f"type {master.type}"
    assert master.recurrence is not None and master.recurrence.boundary.number == 5, f"recurrence {master.recurrence}"
    third = master.occurrence(index=3)
    third.refresh()
    assert third.start == berlin(2026, 3, 30, 9), f"third occurrence at {third.start}"
    third.delete()
    fourth = master.occurrence(index=4)
    fourth.refresh()
    fourth.start, fourth.end = berlin(2026, 4, 7, 14), berlin(2026, 4, 7, 15, 30)
    fourth.save(update_fields=["start", "end"])
    items = [i for i in room.calendar.view(start=utc(2026, 3, 1), end=utc(2026, 5, 1)) if i.subject == subj]
    got = [(i.start.astimezone(BERLIN).strftime("%m-%d %H:%M"), i.end.astimezone(BERLIN).strftime("%H:%M"), i.type) for i in items]
    want = [("03-16 09:00", "10:00", "Occurrence"), ("03-23 09:00", "10:00", "Occurrence"),
            ("04-07 14:00", "15:30", "Exception"), ("04-13 09:00", "10:00", "Occurrence")]
    assert got == want, f"expanded {got}, want {want}"
    utc_hours = [i.start.astimezone(UTC).hour for i in items]
    assert utc_hours == [8, 8, 12, 7], f"UTC hours {utc_hours} (09:00 Berlin is 08:00 UTC before 29 March, 07:00 after)"
    master.refresh()
    assert [o.start for o in master.deleted_occurrences or []] == [berlin(2026, 3, 30, 9)], f"deleted {master.deleted_occurrences}"
    assert [o.start for o in master.modified_occurrences or []] == [berlin(2026, 4, 7, 14)], f"modified {master.modified_occurrences}"
    # A plain FindItem returns the master, not occurrences.
    plain = [i for i in room.calendar.all() if i.subject == subj]
    assert len(plain) == 1 and plain[0].type == "RecurringMaster", f"plain FindItem {[(i.subject, i.type) for i in plain]}"


@case("patterns_daily_monthly_yearly")
def _():
    room = impersonate(ROOM3)
    cases = [
        (DailyPattern(interval=2), dict(end=berlin(2026, 6, 7).date()), "2026-06-01 2026-06-03 2026-06-05 2026-06-07"),
        (AbsoluteMonthlyPattern(interval=1, day_of_month=31), dict(number=3), "2026-06-30 2026-07-31 2026-08-31"),
        (RelativeYearlyPattern(weekday=7, week_number=5, month=10), dict(number=2), "2026-10-25 2027-10-31"),
    ]
    for n, (pattern, boundary, want) in enumerate(cases):
        subj = f"pattern {n} {RUN}"
        CalendarItem(account=room, folder=room.calendar, subject=subj, start=berlin(2026, 6, 1, 12), end=berlin(2026, 6, 1, 13),
                     recurrence=Recurrence(pattern=pattern, start=berlin(2026, 6, 1).date(), **boundary)).save()
        got = " ".join(i.start.astimezone(BERLIN).strftime("%Y-%m-%d") for i in room.calendar.view(start=utc(2026, 5, 1), end=utc(2028, 1, 1)) if i.subject == subj)
        assert got == want, f"{pattern}: {got}, want {want}"


@case("calendar_view_limits")
def _():
    room = impersonate(ROOM3)
    subj = f"daily {RUN}"
    CalendarItem(account=room, folder=room.calendar, subject=subj, start=utc(2026, 9, 1, 8), end=utc(2026, 9, 1, 9),
                 recurrence=Recurrence(pattern=DailyPattern(interval=1), start=utc(2026, 9, 1).date())).save()
    view = room.calendar.view(start=utc(2026, 9, 1), end=utc(2026, 10, 1), max_items=5)
    got = [i for i in view if i.subject == subj]
    assert len(got) == 5, f"max_items=5 gave {len(got)}"
    try:
        list(room.calendar.view(start=utc(2026, 1, 1), end=utc(2029, 1, 1)))
    except EWSError as e:
        assert type(e).__name__ == "ErrorCalendarViewRangeTooBig", describe(e)
        return
    raise AssertionError("a three-year CalendarView was accepted")


# ---------------------------------------------------------- availability


@case("server_time_zones")
def _():
    acc = own(ALICE)
    ids = {tz.id for tz in acc.protocol.get_timezones()}
    assert {"W. Europe Standard Time", "Pacific Standard Time", "UTC"} <= ids, f"{len(ids)} zones"
    (berlin_def,) = list(acc.protocol.get_timezones(timezones=[BERLIN], return_full_timezone_data=True))
    from exchangelib.properties import TimeZone
    tz = TimeZone.from_server_timezone(tz_definition=berlin_def, for_year=2026)
    assert tz.bias == -60, f"bias {tz.bias}"
    assert (tz.daylight_time.iso_month, tz.daylight_time.occurrence, tz.daylight_time.bias) == (3, 5, -60), f"daylight {tz.daylight_time}"
    assert (tz.standard_time.iso_month, tz.standard_time.time.hour) == (10, 3), f"standard {tz.standard_time}"


@case("free_busy_three_rooms", needs=("server_time_zones",))
def _():
    # room1: one busy hour; room2: a daily series of three; room3: a
    # tentative half hour. Alice asks for all three (and an unknown
    # address) in one call; Default is FreeBusyTimeOnly, so the detailed
    # view comes back without details.
    subj = f"fb {RUN}"
    r1, r2, r3 = impersonate(ROOM1), impersonate(ROOM2), impersonate(ROOM3)
    CalendarItem(account=r1, folder=r1.calendar, subject=subj, start=berlin(2026, 7, 6, 9), end=berlin(2026, 7, 6, 10)).save()
    CalendarItem(account=r2, folder=r2.calendar, subject=subj, start=berlin(2026, 7, 5, 8), end=berlin(2026, 7, 5, 9),
                 recurrence=Recurrence(pattern=DailyPattern(interval=1), start=berlin(2026, 7, 5).date(), number=3)).save()
    CalendarItem(account=r3, folder=r3.calendar, subject=subj, start=berlin(2026, 7, 6, 11), end=berlin(2026, 7, 6, 11, 30),
                 legacy_free_busy_status="Tentative").save()
    acc = own(ALICE)
    start, end = berlin(2026, 7, 6, 8), berlin(2026, 7, 6, 12)
    views = list(acc.protocol.get_free_busy_info(
        accounts=[(ROOM1, "Room", False), (ROOM2, "Room", False), (f"nobody-{RUN}@contoso.test", "Room", False), (ROOM3, "Room", False)],
        start=start, end=end, merged_free_busy_interval=60, requested_view="DetailedMerged"))
    assert len(views) == 4, f"{len(views)} answers"
    assert type(views[2]).__name__ == "ErrorMailRecipientNotFound", f"unknown address gave {views[2]!r}"
    v1, v2, v3 = views[0], views[1], views[3]
    for v in (v1, v2, v3):
        assert v.view_type == "FreeBusyMerged", f"view type {v.view_type}"
        assert all(e.details is None for e in v.calendar_events or []), "details without permission"
    # Working hours: room1 and room3 have the defaults (Monday-Friday
    # 08:00-17:00 UTC); room2 is set to Monday-Thursday 07:30-16:00 in
    # W. Europe Standard Time (calendar_test.go).
    for v in (v1, v3):
        wh = v.working_hours
        assert wh and (wh[0].start.hour, wh[0].end.hour, len(wh[0].weekdays)) == (8, 17, 5), f"working hours {wh}"
        assert v.working_hours_timezone.bias == 0, f"zone {v.working_hours_timezone}"
    wh, tz = v2.working_hours, v2.working_hours_timezone
    assert wh and (wh[0].start.strftime("%H:%M"), wh[0].end.strftime("%H:%M"), len(wh[0].weekdays)) == ("07:30", "16:00", 4), f"room2 working hours {wh}"
    assert (tz.bias, tz.daylight_time.bias, tz.daylight_time.iso_month, tz.standard_time.iso_month) == (-60, -60, 3, 10), f"room2 zone {tz}"
    def spans(v):
        return [(e.start.strftime("%H:%M"), e.end.strftime("%H:%M"), e.busy_type) for e in v.calendar_events or []]
    assert spans(v1) == [("09:00", "10:00", "Busy")], f"room1 {spans(v1)}"
    assert spans(v2) == [("08:00", "09:00", "Busy")], f"room2 {spans(v2)}"
    assert spans(v3) == [("11:00", "11:30", "Tentative")], f"room3 {spans(v3)}"
    assert (v1.merged, v2.merged, v3.merged) == ("0200", "2000", "0001"), f"merged {v1.merged} {v2.merged} {v3.merged}"


@case("free_busy_of_a_room_list", needs=("free_busy_three_rooms",))
def _():
    # A group's address: its member mailboxes merged (building1 = room1,
    # room2; the bookings of free_busy_three_rooms), MergedOnly as Exchange
    # answers for distribution lists.
    acc = own(ALICE)
    views = list(acc.protocol.get_free_busy_info(
        accounts=[(LIST1, "Room", False)], start=berlin(2026, 7, 6, 8), end=berlin(2026, 7, 6, 12),
        merged_free_busy_interval=60, requested_view="DetailedMerged"))
    v = views[0]
    assert v.view_type == "MergedOnly" and v.merged == "2200", f"building1: {v.view_type} {v.merged}"
    assert not v.calendar_events and not v.working_hours, f"events {v.calendar_events} working hours {v.working_hours}"


# ------------------------------------------------------- resource booking


@case("room_books_meeting_requests")
def _():
    # room1 is AutoAccept with a 60-day booking window (calendar_test.go).
    # Alice invites it three times: accepted, a conflict (declined with the
    # reason) and one beyond the window (declined).
    from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
    alice = own(ALICE)
    base = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=7)
    base = EWSDateTime.from_datetime(base).astimezone(UTC)
    def invite(subject, start, hours=1):
        CalendarItem(account=alice, folder=alice.calendar, subject=f"{subject} {RUN}", start=start, end=start + datetime.timedelta(hours=hours),
                     resources=[ROOM1]).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    invite("ok", base + datetime.timedelta(hours=9))
    invite("clash", base + datetime.timedelta(hours=9, minutes=30))
    invite("far", base + datetime.timedelta(days=90, hours=9))
    room = impersonate(ROOM1)
    booked = list(room.calendar.view(start=base, end=base + datetime.timedelta(days=1)))
    assert len(booked) == 1 and booked[0].start == base + datetime.timedelta(hours=9), f"room calendar {[(b.subject, b.start) for b in booked]}"
    got = {}
    for m in alice.inbox.filter(subject__contains=RUN):
        got[m.subject] = m.text_body or m.body or ""
    assert f"Accepted: ok {RUN}" in got, f"inbox {sorted(got)}"
    assert "already booked" in got.get(f"Declined: clash {RUN}", ""), f"clash reply {got.get(f'Declined: clash {RUN}')!r}"
    assert "booking window" in got.get(f"Declined: far {RUN}", ""), f"far reply {got.get(f'Declined: far {RUN}')!r}"


@case("room_calendar_back_door_checked")
def _():
    # room1 is AutoAccept (calendar_test.go): roomsvc, impersonating it,
    # writes straight into its calendar. A free slot is saved; an
    # overlapping item is refused like a conflicting meeting request
    # (ErrorItemSave, ActasReason Conflict) and nothing is written.
    from exchangelib.errors import ErrorItemSave
    room = impersonate(ROOM1)
    base = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=10)
    base = EWSDateTime.from_datetime(base).astimezone(UTC)
    at = lambda h, m=0: base + datetime.timedelta(hours=h, minutes=m)  # noqa: E731
    CalendarItem(account=room, folder=room.calendar, subject=f"direct {RUN}", start=at(9), end=at(10)).save()
    try:
        CalendarItem(account=room, folder=room.calendar, subject=f"double {RUN}", start=at(9, 30), end=at(10, 30)).save()
    except ErrorItemSave as e:
        assert "already booked" in str(e) and ROOM1 in str(e), f"message {e}"
    else:
        raise AssertionError("a conflicting item was saved straight into room1's calendar")
    CalendarItem(account=room, folder=room.calendar, subject=f"after {RUN}", start=at(10), end=at(11)).save()
    got = sorted((i.subject, i.start) for i in room.calendar.view(start=base, end=base + datetime.timedelta(days=1)) if RUN in (i.subject or ""))
    assert got == [(f"after {RUN}", at(10)), (f"direct {RUN}", at(9))], f"room1 calendar {got}"


# ------------------------------------------------------------- meetings


def _meeting_base(days):
    base = datetime.datetime.now(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + datetime.timedelta(days=days)
    return EWSDateTime.from_datetime(base).astimezone(UTC)


def _find(folder, subject, cls=None, tries=1):
    got = [m for m in folder.filter(subject=subject) if cls is None or isinstance(m, cls)]
    return got


def _responses(item):
    out = {}
    for a in (item.required_attendees or []) + (item.optional_attendees or []) + (item.resources or []):
        out[a.mailbox.email_address.lower()] = a.response_type
    return out


@case("meeting_accept_decline_update_cancel")
def _():
    # Alice invites Carol, Erin and room1 (AutoAccept). Carol accepts from
    # her meeting request, Erin declines from her calendar; Alice's meeting
    # tracks the three answers without its ChangeKey moving. A new time is a
    # full update; a cancellation marks the copies and frees the room.
    from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingCancellation, MeetingRequest, MeetingResponse
    alice, carol, erin = own(ALICE), own(CAROL), own(ERIN)
    base = _meeting_base(9)
    subject = f"Kickoff {RUN}"
    item = CalendarItem(account=alice, folder=alice.calendar, subject=subject, start=base + datetime.timedelta(hours=13),
                        end=base + datetime.timedelta(hours=14), required_attendees=[CAROL],
                        optional_attendees=[ERIN], resources=[ROOM1])
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    ck = item.changekey
    reqs = _find(carol.inbox, subject, MeetingRequest)
    assert len(reqs) == 1, f"carol's requests {reqs}"
    req = reqs[0]
    assert req.meeting_request_type == "NewMeetingRequest", f"type {req.meeting_request_type}"
    assert req.associated_calendar_item_id is not None, "no associated calendar item"
    assert req.start == item.start and req.organizer.email_address == ALICE, f"request {req.start} {req.organizer}"
    req.accept(body="See you there")
    [copy] = list(carol.calendar.filter(subject=subject))
    assert copy.my_response_type == "Accept" and copy.legacy_free_busy_status == "Busy", f"carol's copy {copy.my_response_type} {copy.legacy_free_busy_status}"
    [ecopy] = list(erin.calendar.filter(subject=subject))
    assert ecopy.my_response_type == "NoResponseReceived" and ecopy.legacy_free_busy_status == "Tentative", f"erin's copy {ecopy.my_response_type}"
    ecopy.decline()
    resp = {m.subject: m for m in alice.inbox.filter(subject__contains=RUN) if isinstance(m, MeetingResponse)}
    assert f"Accepted: {subject}" in resp and f"Declined: {subject}" in resp, f"alice's responses {sorted(resp)}"
    assert resp[f"Accepted: {subject}"].response_type == "Accept", resp[f"Accepted: {subject}"].response_type
    item.refresh()
    assert item.changekey == ck, f"change key moved: {ck} -> {item.changekey}"
    tracked = _responses(item)
    assert tracked.get(CAROL.lower()) == "Accept" and tracked.get(ERIN.lower()) == "Decline" and tracked.get(ROOM1.lower()) == "Accept", f"tracking {tracked}"
    assert item.my_response_type == "Organizer", item.my_response_type

    # One hour later: a full update.
    item.start, item.end = item.start + datetime.timedelta(hours=1), item.end + datetime.timedelta(hours=1)
    item.save(update_fields=["start", "end"], send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    [copy] = list(carol.calendar.filter(subject=subject))
    assert copy.start == item.start and copy.my_response_type == "NoResponseReceived", f"carol's copy after the update {copy.start} {copy.my_response_type}"
    kinds = sorted(m.meeting_request_type for m in carol.inbox.filter(subject=subject) if isinstance(m, MeetingRequest))
    assert kinds == ["FullUpdate"], f"carol's inbox requests {kinds}"  # the first was answered and moved to Deleted Items
    room = impersonate(ROOM1)
    booked = [b for b in room.calendar.view(start=base, end=base + datetime.timedelta(days=1))]
    assert len(booked) == 1 and booked[0].start == item.start, f"room after the update {[(b.subject, b.start) for b in booked]}"

    # Cancel.
    item.cancel()
    [copy] = list(carol.calendar.filter(subject__contains=subject))
    assert copy.is_cancelled and copy.subject.startswith("Canceled: "), f"carol's copy {copy.subject} {copy.is_cancelled}"
    assert any(isinstance(m, MeetingCancellation) for m in carol.inbox.filter(subject__contains=RUN)), "no cancellation in carol's inbox"
    booked = list(room.calendar.view(start=base, end=base + datetime.timedelta(days=1)))
    assert booked == [], f"room after the cancellation {[(b.subject, b.start) for b in booked]}"
    try:
        copy.accept()
    except EWSError as e:
        assert type(e).__name__ == "ErrorCalendarIsCancelledForAccept", describe(e)
    else:
        raise AssertionError("accepting a cancelled meeting succeeded")


@case("delegate_receives_meeting_requests")
def _():
    # calendar_test.go makes Carol Bob's calendar delegate
    # (-SharingPermissionFlags Delegate: DeliverMeetingRequests stays
    # DelegatesAndSendInformationToMe). Alice invites Bob: Carol gets the
    # request on Bob's behalf, Bob an informational copy; Carol accepts for
    # Bob, and Alice's response comes from Bob, sent by Carol.
    from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, MeetingRequest, MeetingResponse
    alice, bob, carol = own(ALICE), own(BOB), own(CAROL)
    ds = list(bob.delegates)
    assert [d.user_id.primary_smtp_address for d in ds] == [CAROL], f"bob's delegates {[d.user_id for d in ds]}"
    assert ds[0].receive_copies_of_meeting_messages and ds[0].delegate_permissions.calendar_folder_permission_level == "Editor", f"delegate {ds[0]}"
    base = _meeting_base(10)
    subject = f"Quarterly {RUN}"
    CalendarItem(account=alice, folder=alice.calendar, subject=subject, start=base + datetime.timedelta(hours=9),
                 end=base + datetime.timedelta(hours=10), required_attendees=[BOB]).save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    reqs = _find(carol.inbox, subject, MeetingRequest)
    assert len(reqs) == 1 and reqs[0].is_delegated, f"carol's copies {[(r.subject, r.is_delegated) for r in reqs]}"
    assert reqs[0].received_representing is not None and reqs[0].received_representing.email_address == BOB, f"received representing {reqs[0].received_representing}"
    own_copy = _find(bob.inbox, subject, MeetingRequest)
    assert [r.meeting_request_type for r in own_copy] == ["PrincipalWantsCopy"], f"bob's copy {[r.meeting_request_type for r in own_copy]}"
    reqs[0].accept()
    [copy] = list(bob.calendar.filter(subject=subject))
    assert copy.my_response_type == "Accept", f"bob's calendar {copy.my_response_type}"
    [resp] = [m for m in alice.inbox.filter(subject=f"Accepted: {subject}") if isinstance(m, MeetingResponse)]
    assert resp.author.email_address == BOB and resp.sender.email_address == CAROL, f"response from {resp.author} sender {resp.sender}"


@case("reminders_round_trip")
def _():
    alice = own(ALICE)
    base = _meeting_base(11)
    item = CalendarItem(account=alice, folder=alice.calendar, subject=f"Reminder {RUN}", start=base + datetime.timedelta(hours=8),
                        end=base + datetime.timedelta(hours=9), reminder_is_set=True, reminder_minutes_before_start=45)
    item.save()
    got = alice.calendar.get(id=item.id)
    assert got.reminder_is_set is True and got.reminder_minutes_before_start == 45, f"reminder {got.reminder_is_set} {got.reminder_minutes_before_start}"
    assert got.reminder_due_by == item.start, f"due by {got.reminder_due_by} start {item.start}"
    got.reminder_is_set = False
    got.save(update_fields=["reminder_is_set"])
    got.refresh()
    assert got.reminder_is_set is False and got.reminder_minutes_before_start == 45, f"after the update {got.reminder_is_set} {got.reminder_minutes_before_start}"


if __name__ == "__main__":
    log(f"exchangelib {exchangelib.__version__} against {EWS_URL}")
    if ENV.get("ACTAS_INTEROP_TRACE"):
        import logging

        from exchangelib.util import PrettyXmlHandler

        logging.basicConfig(level=logging.DEBUG, handlers=[PrettyXmlHandler()])
    run()

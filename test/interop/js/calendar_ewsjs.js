#!/usr/bin/env node
// Interop suite for calendars and rooms: unmodified ews-javascript-api
// against a running `actas serve`, driven by ../calendar_test.go (the common
// fixture plus room2, room3, room lists building1 = room1, room2 and
// building2 = room3, and roomsvc impersonating RoomMailbox recipients).
// Same PASS/FAIL/SKIP/DONE protocol as ewsjs_suite.js.
"use strict";

const ews = require("ews-javascript-api");
const { Failure, test, assert, describe, errorCode, run, log } = require("./harness");

const E = process.env;
const EWS_URL = E.ACTAS_EWS_URL;
const PW = E.ACTAS_PASSWORD;
const ROOMSVC = E.ACTAS_USER_ROOMSVC;
const ALICE = E.ACTAS_USER_ALICE;
const BOB = E.ACTAS_USER_BOB;
const ERIN = E.ACTAS_USER_ERIN;
const DAVE = E.ACTAS_USER_DAVE;
const ROOM1 = E.ACTAS_USER_ROOM;
const ROOM2 = E.ACTAS_USER_ROOM2;
const ROOM3 = E.ACTAS_USER_ROOM3;
const LIST1 = E.ACTAS_ROOMLIST_1;
const LIST2 = E.ACTAS_ROOMLIST_2;
const RUN = Math.random().toString(16).slice(2, 10);
const CASE_TIMEOUT_MS = 30000;
const VERSION = ews.ExchangeVersion.Exchange2013;

// The EWS code the client parsed: from a response message, or from a SOAP
// fault (only a 500 carries a parsed one).

function service(user) {
  const s = new ews.ExchangeService(VERSION);
  s.Url = new ews.Uri(EWS_URL);
  s.Credentials = new ews.WebCredentials(user, PW);
  return s;
}

function impersonate(target, as = ROOMSVC) {
  const s = service(as);
  s.ImpersonatedUserId = new ews.ImpersonatedUserId(ews.ConnectingIdType.SmtpAddress, target);
  return s;
}

// ------------------------------------------------------------------ rooms

test("room_lists", async () => {
  const lists = await impersonate(ROOM1).GetRoomLists();
  const got = lists.Items.map((a) => a.Address).sort();
  assert(JSON.stringify(got) === JSON.stringify([LIST1, LIST2].sort()), `room lists ${got}`);
  const b1 = lists.Items.find((a) => a.Address === LIST1);
  assert(b1.Name === "Building 1 Rooms", `name ${b1.Name}`);
});

test("rooms_of_a_list", async () => {
  const s = service(ALICE);
  const rooms = await s.GetRooms(new ews.EmailAddress(LIST1));
  const got = rooms.map((r) => r.Address).sort();
  assert(JSON.stringify(got) === JSON.stringify([ROOM1, ROOM2].sort()), `rooms of building1: ${got}`);
  const r2 = await s.GetRooms(new ews.EmailAddress(LIST2));
  assert(r2.length === 1 && r2[0].Address === ROOM3, `rooms of building2: ${r2.map((r) => r.Address)}`);
});

test("rooms_of_a_non_list", async () => {
  try {
    await service(ALICE).GetRooms(new ews.EmailAddress(BOB));
  } catch (e) {
    assert(errorCode(e) === "ErrorNameResolutionNoResults", describe(e));
    return;
  }
  throw new Failure("GetRooms of a user mailbox succeeded");
});

// ---------------------------------------------------------------- calendars

const WK = ews.WellKnownFolderName;

async function view(s, owner, startIso, endIso, max = 100) {
  const cv = new ews.CalendarView(new ews.DateTime(startIso), new ews.DateTime(endIso), max);
  return (await s.FindAppointments(new ews.FolderId(WK.Calendar, new ews.Mailbox(owner)), cv)).Items;
}

test("weekly_series_across_dst", async () => {
  // Mondays 08:00 UTC (09:00 Berlin) from 16 March 2026, five times, in
  // W. Europe Standard Time; the third deleted, the fourth moved.
  const s = impersonate(ROOM2);
  const subj = `weekly js ${RUN}`;
  const a = new ews.Appointment(s);
  a.Subject = subj;
  a.Start = new ews.DateTime("2026-03-16T08:00:00Z");
  a.End = new ews.DateTime("2026-03-16T09:00:00Z");
  a.StartTimeZone = ews.TimeZoneInfo.FindSystemTimeZoneById("W. Europe Standard Time");
  a.EndTimeZone = a.StartTimeZone;
  const p = new ews.Recurrence.WeeklyPattern(new ews.DateTime("2026-03-16T00:00:00Z"), 1, [ews.DayOfTheWeek.Monday]);
  p.NumberOfOccurrences = 5;
  a.Recurrence = p;
  await a.Save(new ews.FolderId(WK.Calendar, new ews.Mailbox(ROOM2)), ews.SendInvitationsMode.SendToNone);
  const third = await ews.Appointment.BindToOccurrence(s, a.Id, 3);
  await third.Delete(ews.DeleteMode.MoveToDeletedItems);
  const fourth = await ews.Appointment.BindToOccurrence(s, a.Id, 4);
  fourth.Start = new ews.DateTime("2026-04-07T12:00:00Z");
  fourth.End = new ews.DateTime("2026-04-07T13:30:00Z");
  await fourth.Update(ews.ConflictResolutionMode.AlwaysOverwrite, ews.SendInvitationsOrCancellationsMode.SendToNone);
  const items = (await view(s, ROOM2, "2026-03-01T00:00:00Z", "2026-05-01T00:00:00Z")).filter((i) => i.Subject === subj);
  const got = items.map((i) => `${i.Start.ToISOString().slice(0, 16)} ${ews.AppointmentType[i.AppointmentType]}`);
  const want = ["2026-03-16T08:00 Occurrence", "2026-03-23T08:00 Occurrence", "2026-04-07T12:00 Exception", "2026-04-13T07:00 Occurrence"];
  assert(JSON.stringify(got) === JSON.stringify(want), `expanded ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
});

test("room_scoped_account_refused_user_calendar", async () => {
  try {
    await view(impersonate(ALICE), ALICE, "2026-05-04T00:00:00Z", "2026-05-05T00:00:00Z");
  } catch (e) {
    assert(errorCode(e) === "ErrorImpersonateUserDenied", describe(e));
    return;
  }
  throw new Failure("roomsvc read alice's calendar");
});

// ------------------------------------------------------------ availability

test("free_busy_of_rooms", async () => {
  // room1 busy 09:00-10:00 UTC, room3 tentative 11:00-11:30 UTC on 6 July
  // 2026; alice (Default = FreeBusyTimeOnly) asks for both and an unknown
  // address in one GetUserAvailability.
  const subj = `fb js ${RUN}`;
  const mk = async (room, start, end, status) => {
    const a = new ews.Appointment(impersonate(room));
    a.Subject = subj;
    a.Start = new ews.DateTime(start);
    a.End = new ews.DateTime(end);
    if (status !== undefined) a.LegacyFreeBusyStatus = status;
    await a.Save(new ews.FolderId(WK.Calendar, new ews.Mailbox(room)), ews.SendInvitationsMode.SendToNone);
  };
  await mk(ROOM1, "2026-07-06T09:00:00Z", "2026-07-06T10:00:00Z");
  await mk(ROOM3, "2026-07-06T11:00:00Z", "2026-07-06T11:30:00Z", ews.LegacyFreeBusyStatus.Tentative);
  const s = service(ALICE);
  const attendees = [new ews.AttendeeInfo(ROOM1), new ews.AttendeeInfo(`nobody-js-${RUN}@contoso.test`), new ews.AttendeeInfo(ROOM3)];
  const opts = new ews.AvailabilityOptions();
  opts.MergedFreeBusyInterval = 60;
  opts.RequestedFreeBusyView = ews.FreeBusyViewType.DetailedMerged;
  const res = await s.GetUserAvailability(attendees,
    new ews.TimeWindow(new ews.DateTime("2026-07-06T00:00:00Z"), new ews.DateTime("2026-07-07T00:00:00Z")),
    ews.AvailabilityData.FreeBusy, opts);
  const rs = res.AttendeesAvailability.Responses;
  assert(rs.length === 3, `${rs.length} answers`);
  assert(ews.ServiceError[rs[1].ErrorCode] === "ErrorMailRecipientNotFound", `unknown address gave ${ews.ServiceError[rs[1].ErrorCode]}`);
  const spans = (r) => r.CalendarEvents.map((e) => `${e.StartTime.ToISOString().slice(11, 16)}-${e.EndTime.ToISOString().slice(11, 16)} ${ews.LegacyFreeBusyStatus[e.FreeBusyStatus]}`);
  for (const [r, want] of [[rs[0], ["09:00-10:00 Busy"]], [rs[2], ["11:00-11:30 Tentative"]]]) {
    assert(ews.ServiceError[r.ErrorCode] === "NoError", `error ${ews.ServiceError[r.ErrorCode]}`);
    assert(ews.FreeBusyViewType[r.ViewType] === "FreeBusyMerged", `view ${ews.FreeBusyViewType[r.ViewType]}`);
    assert(JSON.stringify(spans(r)) === JSON.stringify(want), `events ${JSON.stringify(spans(r))}, want ${JSON.stringify(want)}`);
    assert(r.CalendarEvents.every((e) => !e.Details), "details without permission");
    assert(r.MergedFreeBusyStatus.length === 24, `merged ${r.MergedFreeBusyStatus.length} intervals`);
    const wh = r.WorkingHours && `${r.WorkingHours.StartTime}-${r.WorkingHours.EndTime} ${r.WorkingHours.DaysOfTheWeek.length}`;
    assert(wh === "PT8H-PT17H 5", `working hours ${wh}`);
  }
  assert(rs[0].MergedFreeBusyStatus[9] === ews.LegacyFreeBusyStatus.Busy, `room1 09:00 is ${rs[0].MergedFreeBusyStatus[9]}`);
});

// -------------------------------------------------------- resource booking

test("room_books_meeting_requests", async () => {
  // room1 is AutoAccept with a 60-day window (calendar_test.go): alice's
  // request is accepted, a clashing one declined with the reason.
  const s = service(ALICE);
  const base = new Date();
  base.setUTCHours(0, 0, 0, 0);
  base.setUTCDate(base.getUTCDate() + 9);
  const at = (h, m = 0) => new ews.DateTime(new Date(base.getTime() + (h * 60 + m) * 60000).toISOString());
  const invite = async (subject, start, end) => {
    const a = new ews.Appointment(s);
    a.Subject = `${subject} js ${RUN}`;
    a.Start = start;
    a.End = end;
    a.Resources.Add(ROOM1);
    await a.Save(new ews.FolderId(WK.Calendar), ews.SendInvitationsMode.SendToAllAndSaveCopy);
  };
  await invite("ok", at(13), at(14));
  await invite("clash", at(13, 30), at(14, 30));
  const booked = await view(impersonate(ROOM1), ROOM1, at(0).ToISOString(), at(24).ToISOString());
  assert(booked.length === 1, `room calendar has ${booked.length} items`);
  const found = await s.FindItems(WK.Inbox, new ews.ItemView(100));
  const subjects = found.Items.map((i) => i.Subject).filter((x) => x && x.includes(`js ${RUN}`));
  assert(subjects.includes(`Accepted: ok js ${RUN}`) && subjects.includes(`Declined: clash js ${RUN}`), `inbox ${JSON.stringify(subjects)}`);
  const declined = found.Items.find((i) => i.Subject === `Declined: clash js ${RUN}`);
  await declined.Load(new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  assert(String(declined.Body.Text).includes("already booked"), `reason ${declined.Body.Text}`);
});

// --------------------------------------------------------------- meetings

test("meeting_accept_decline_update_cancel", async () => {
  // Alice invites Dave and Erin; Dave accepts from his meeting request,
  // Erin declines from her calendar; Alice's meeting tracks both. A new
  // time reaches Dave as a full update, then Alice cancels the meeting.
  const alice = service(ALICE), dave = service(DAVE), erin = service(ERIN);
  const subject = `Kickoff js ${RUN}`;
  const day = ews.DateTime.Now.AddDays(13).ToISOString().slice(0, 10);
  const a = new ews.Appointment(alice);
  a.Subject = subject;
  a.Start = new ews.DateTime(day + "T13:00:00Z");
  a.End = new ews.DateTime(day + "T14:00:00Z");
  a.RequiredAttendees.Add(DAVE);
  a.OptionalAttendees.Add(ERIN);
  await a.Save(new ews.FolderId(WK.Calendar), ews.SendInvitationsMode.SendToAllAndSaveCopy);

  const inbox = async (s) => (await s.FindItems(WK.Inbox, new ews.ItemView(100))).Items.filter((i) => i.Subject && i.Subject.endsWith(subject));
  const daveReqs = (await inbox(dave)).filter((i) => i instanceof ews.MeetingRequest);
  assert(daveReqs.length === 1, `dave's requests ${daveReqs.length}`);
  await daveReqs[0].Accept(true);
  const erinCal = (await view(erin, ERIN, day + "T00:00:00Z", day + "T23:59:00Z")).filter((i) => i.Subject === subject);
  assert(erinCal.length === 1 && erinCal[0].MyResponseType === ews.MeetingResponseType.NoResponseReceived, `erin's copy ${erinCal.map((i) => i.MyResponseType)}`);
  await erinCal[0].Decline(true);

  const daveCal = (await view(dave, DAVE, day + "T00:00:00Z", day + "T23:59:00Z")).filter((i) => i.Subject === subject);
  assert(daveCal.length === 1 && daveCal[0].MyResponseType === ews.MeetingResponseType.Accept, `dave's copy ${daveCal.map((i) => i.MyResponseType)}`);
  await a.Load(new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  const rt = (list, who) => (list.Items.find((x) => x.Address === who) || {}).ResponseType;
  assert(rt(a.RequiredAttendees, DAVE) === ews.MeetingResponseType.Accept && rt(a.OptionalAttendees, ERIN) === ews.MeetingResponseType.Decline,
    `tracking dave ${rt(a.RequiredAttendees, DAVE)} erin ${rt(a.OptionalAttendees, ERIN)}`);
  const responses = (await inbox(alice)).filter((i) => i instanceof ews.MeetingResponse).map((i) => i.Subject).sort();
  assert(JSON.stringify(responses) === JSON.stringify([`Accepted: ${subject}`, `Declined: ${subject}`]), `alice's responses ${responses}`);

  a.Start = new ews.DateTime(day + "T15:00:00Z");
  a.End = new ews.DateTime(day + "T16:00:00Z");
  await a.Update(ews.ConflictResolutionMode.AutoResolve, ews.SendInvitationsOrCancellationsMode.SendToAllAndSaveCopy);
  const update = (await inbox(dave)).filter((i) => i instanceof ews.MeetingRequest);
  assert(update.length === 1, `dave's inbox after the update has ${update.length} requests`);
  await update[0].Load(new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  assert(update[0].MeetingRequestType === ews.MeetingRequestType.FullUpdate, `request type ${update[0].MeetingRequestType}`);

  await a.CancelMeeting("Sorry");
  const after = (await view(dave, DAVE, day + "T00:00:00Z", day + "T23:59:00Z")).filter((i) => i.Subject.endsWith(subject));
  assert(after.length === 1 && after[0].IsCancelled === true, `dave's copy after the cancellation ${after.map((i) => i.Subject + " " + i.IsCancelled)}`);
  assert((await inbox(dave)).some((i) => i instanceof ews.MeetingCancellation), "no cancellation in dave's inbox");
});

// -------------------------------------------------------------- delegates

test("delegates_receive_and_answer_meeting_requests", async () => {
  // Alice makes Erin her delegate (calendar Editor, copies of meeting
  // messages, DelegatesOnly); Bob invites Alice: the request reaches Erin
  // only, Erin accepts it for Alice, and Bob's response is from Alice, sent
  // by Erin. Then Erin is removed.
  const alice = service(ALICE);
  const mbx = new ews.Mailbox(ALICE);
  const du = new ews.DelegateUser(ERIN);
  du.Permissions.CalendarFolderPermissionLevel = ews.DelegateFolderPermissionLevel.Editor;
  du.ReceiveCopiesOfMeetingMessages = true;
  const added = await alice.AddDelegates(mbx, ews.MeetingRequestsDeliveryScope.DelegatesOnly, [du]);
  assert(added.length === 1 && added[0].Result === ews.ServiceResult.Success, `AddDelegates ${added.map((r) => r.ErrorCode)}`);
  const info = await alice.GetDelegates(mbx, true);
  assert(info.MeetingRequestsDeliveryScope === ews.MeetingRequestsDeliveryScope.DelegatesOnly, `scope ${info.MeetingRequestsDeliveryScope}`);
  const mine = info.DelegateUserResponses.map((r) => r.DelegateUser);
  assert(mine.length === 1 && mine[0].UserId.PrimarySmtpAddress === ERIN, `delegates ${mine.map((d) => d.UserId.PrimarySmtpAddress)}`);
  assert(mine[0].Permissions.CalendarFolderPermissionLevel === ews.DelegateFolderPermissionLevel.Editor, `level ${mine[0].Permissions.CalendarFolderPermissionLevel}`);

  const bob = service(BOB);
  const a = new ews.Appointment(bob);
  a.Subject = `Delegated js ${RUN}`;
  const day = ews.DateTime.Now.AddDays(12);
  a.Start = new ews.DateTime(day.ToISOString().slice(0, 10) + "T15:00:00Z");
  a.End = new ews.DateTime(day.ToISOString().slice(0, 10) + "T16:00:00Z");
  a.RequiredAttendees.Add(ALICE);
  await a.Save(new ews.FolderId(WK.Calendar), ews.SendInvitationsMode.SendToAllAndSaveCopy);

  const inboxOf = async (s, owner) => (await s.FindItems(new ews.FolderId(WK.Inbox, new ews.Mailbox(owner)), new ews.ItemView(100))).Items
    .filter((i) => i.Subject && i.Subject.endsWith(`Delegated js ${RUN}`));
  const erin = service(ERIN);
  const erinGot = await inboxOf(erin, ERIN);
  assert(erinGot.length === 1 && erinGot[0] instanceof ews.MeetingRequest, `erin's inbox ${erinGot.map((i) => i.constructor.name)}`);
  const aliceGot = await inboxOf(alice, ALICE);
  assert(aliceGot.length === 0, `DelegatesOnly, yet alice received ${aliceGot.map((i) => i.Subject)}`);
  const req = erinGot[0];
  await req.Load(new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  assert(req.IsDelegated === true, `IsDelegated ${req.IsDelegated}`);
  await req.Accept(true);

  const cal = await view(alice, ALICE, a.Start.ToISOString(), a.End.ToISOString());
  const copy = cal.find((i) => i.Subject === `Delegated js ${RUN}`);
  assert(copy && copy.MyResponseType === ews.MeetingResponseType.Accept, `alice's copy ${copy && copy.MyResponseType}`);
  const resp = (await inboxOf(bob, BOB)).find((i) => i instanceof ews.MeetingResponse);
  assert(resp, "no meeting response in bob's inbox");
  await resp.Load(new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  assert(resp.From.Address === ALICE && resp.Sender.Address === ERIN, `response from ${resp.From.Address} sender ${resp.Sender.Address}`);
  await a.Load(new ews.PropertySet(ews.BasePropertySet.FirstClassProperties));
  const tracked = a.RequiredAttendees.Items.find((x) => x.Address === ALICE);
  assert(tracked && tracked.ResponseType === ews.MeetingResponseType.Accept, `bob's tracking ${tracked && tracked.ResponseType}`);

  const removed = await alice.RemoveDelegates(mbx, [new ews.UserId(ERIN)]);
  assert(removed.length === 1 && removed[0].Result === ews.ServiceResult.Success, `RemoveDelegates ${removed.map((r) => r.ErrorCode)}`);
  const after = await alice.GetDelegates(mbx, false);
  assert(after.DelegateUserResponses.length === 0, `delegates left ${after.DelegateUserResponses.length}`);
});

log(`ews-javascript-api ${require("ews-javascript-api/package.json").version} against ${EWS_URL}`);
if (E.ACTAS_INTEROP_TRACE) {
  ews.EwsLogging.DebugLogEnabled = true;
  console.log = (...a) => (/^(PASS|FAIL|SKIP) |^DONE$/.test(String(a[0])) ? process.stdout.write(a.join(" ") + "\n") : console.error(...a));
}
run(CASE_TIMEOUT_MS).then(
  () => process.exit(0),
  (e) => {
    log(e);
    process.exit(1);
  },
);

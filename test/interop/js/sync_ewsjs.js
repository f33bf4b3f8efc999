#!/usr/bin/env node
// Interop suite for sync and notifications: unmodified ews-javascript-api
// against a running `actas serve` with the common fixture (svc impersonates
// alice and bob): SyncFolderItems paging while bob sends mail, pull,
// streaming and push subscriptions seeing NewMail and Moved (push: with a
// callback served here, and a copy seen as Copied). Driven by
// ../sync_test.go; the line protocol is harness.js's.
"use strict";

const http = require("http");
const ews = require("ews-javascript-api");
const { Failure, test, assert, describe, errorCode, run, log } = require("./harness");

const E = process.env;
const EWS_URL = E.ACTAS_EWS_URL;
const PW = E.ACTAS_PASSWORD;
const SVC = E.ACTAS_USER_SVC;
const ALICE = E.ACTAS_USER_ALICE;
const BOB = E.ACTAS_USER_BOB;
const RUN = Math.random().toString(16).slice(2, 10);
const VERSION = ews.ExchangeVersion.Exchange2013;

// The EWS code the client parsed: from a response message, or from a SOAP
// fault (only a 500 carries a parsed one).

function service(user) {
  const s = new ews.ExchangeService(VERSION);
  s.Url = new ews.Uri(EWS_URL);
  s.Credentials = new ews.WebCredentials(user, PW);
  return s;
}

function impersonate(target, as = SVC) {
  const s = service(as);
  s.ImpersonatedUserId = new ews.ImpersonatedUserId(ews.ConnectingIdType.SmtpAddress, target);
  return s;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const inbox = () => new ews.FolderId(ews.WellKnownFolderName.Inbox);

async function send(subject) {
  const m = new ews.EmailMessage(service(BOB));
  m.Subject = subject;
  m.Body = new ews.MessageBody(ews.BodyType.Text, "x");
  m.ToRecipients.Add(ALICE);
  await m.Send();
}

// bob sends alice a message; svc (impersonating alice) moves it to Deleted
// Items. Returns its id, which the move keeps.
async function sendAndMove(subject) {
  await send(subject);
  const s = impersonate(ALICE);
  for (let i = 0; i < 50; i++) {
    const found = await s.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(100));
    const it = found.Items.find((x) => x.Subject === subject);
    if (it) {
      await it.Move(ews.WellKnownFolderName.DeletedItems);
      return it.Id.UniqueId;
    }
    await sleep(100);
  }
  throw new Failure(`${subject} was not delivered`);
}

// ------------------------------------------------------------------ sync

test("sync_folder_items_while_mail_arrives", async () => {
  const s = impersonate(ALICE);
  const have = new Set();
  let state = null;
  const page = async (max) => {
    const ch = await s.SyncFolderItems(inbox(), ews.PropertySet.IdOnly, null, max, ews.SyncFolderItemsScope.NormalItems, state);
    for (const c of ch.GetEnumerator()) {
      const id = c.ItemId.UniqueId;
      switch (c.ChangeType) {
        case ews.ChangeType.Create:
          assert(!have.has(id), `Create of an item already held: ${id}`);
          have.add(id);
          break;
        case ews.ChangeType.Delete:
          assert(have.has(id), `Delete of an unknown item: ${id}`);
          have.delete(id);
          break;
        default:
          assert(have.has(id), `${ews.ChangeType[c.ChangeType]} of an unknown item: ${id}`);
      }
    }
    state = ch.SyncState;
    return ch.MoreChangesAvailable;
  };
  while (await page(50));
  const sending = (async () => {
    for (let i = 0; i < 6; i++) await send(`jssync ${RUN} ${i}`);
  })();
  let done = false;
  sending.finally(() => (done = true));
  while (!done) {
    await page(2);
    await sleep(20);
  }
  await sending;
  while (await page(3));
  const all = await s.FindItems(ews.WellKnownFolderName.Inbox, new ews.ItemView(1000));
  const actual = new Set(all.Items.map((x) => x.Id.UniqueId));
  assert(actual.size === have.size && [...actual].every((x) => have.has(x)), `replica ${have.size} items, inbox ${actual.size}`);
});

test("sync_invalid_state", async () => {
  try {
    await impersonate(ALICE).SyncFolderItems(inbox(), ews.PropertySet.IdOnly, null, 10, ews.SyncFolderItemsScope.NormalItems, "AQlub3QgYSByZWFsIHN0YXRl");
  } catch (e) {
    assert(errorCode(e) === "ErrorInvalidSyncStateData", describe(e));
    return;
  }
  throw new Failure("a corrupt SyncState was accepted");
});

// ------------------------------------------------------------------ notifications

const T = ews.EventType;
const names = (events) => events.map((e) => T[e.EventType]);

test("pull_subscription_newmail_and_moved", async () => {
  const s = impersonate(ALICE);
  const sub = await s.SubscribeToPullNotifications([inbox()], 5, null, T.NewMail, T.Created, T.Moved);
  const id = await sendAndMove(`jspull ${RUN}`);
  let seen = [];
  for (let i = 0; i < 50 && !(seen.includes("NewMail") && seen.includes("Moved")); i++) {
    const r = await sub.GetEvents();
    seen = seen.concat(names(r.AllEvents));
    const mv = r.ItemEvents.find((e) => e.EventType === T.Moved);
    if (mv) assert(mv.ItemId.UniqueId === id && mv.OldItemId.UniqueId === id, "the move changed the id");
    await sleep(100);
  }
  assert(seen.includes("NewMail") && seen.includes("Created") && seen.includes("Moved"), `pull events: ${seen}`);
  await sub.Unsubscribe();
});

test("streaming_subscription_newmail_and_moved", async () => {
  const s = impersonate(ALICE);
  const sub = await s.SubscribeToStreamingNotifications([inbox()], T.NewMail, T.Created, T.Moved);
  const conn = new ews.StreamingSubscriptionConnection(s, 1);
  conn.AddSubscription(sub);
  let seen = [];
  const errors = [];
  const got = new Promise((resolve) => {
    conn.OnNotificationEvent.push((_, args) => {
      seen = seen.concat(names(args.Events));
      if (seen.includes("NewMail") && seen.includes("Moved")) resolve();
    });
    conn.OnSubscriptionError.push((_, args) => errors.push(args.Exception));
  });
  conn.Open();
  await sleep(500);
  await sendAndMove(`jsstream ${RUN}`);
  await Promise.race([got, sleep(15000)]);
  try {
    conn.Close();
  } catch (e) {
    log("close:", describe(e));
  }
  assert(!errors.length, `subscription error: ${describe(errors[0])}`);
  assert(seen.includes("NewMail") && seen.includes("Moved"), `streamed events: ${seen}`);
});

// The callback of a push subscription: every SendNotification POST is
// parsed with the client's own notification reader (GetEventsResults, as
// its GetEvents does) and answered with a SendNotificationResult whose
// SubscriptionStatus is reply() at that moment.
async function pushListener(service, reply) {
  const posts = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let status = reply();
      try {
        const env = new ews.xml2JsObject().parseXMLNode(new ews.DOMParser().parseFromString(body, "text/xml").documentElement, true);
        const msg = env.Body.SendNotification.ResponseMessages.SendNotificationResponseMessage;
        assert(msg.ResponseClass === "Success", `SendNotification message: ${msg.ResponseClass} ${msg.ResponseCode}`);
        const results = new ews.GetEventsResults();
        results.LoadFromXmlJsObject(msg.Notification, service);
        posts.push({ results, status });
      } catch (e) {
        posts.push({ error: e, body, status });
      }
      res.writeHead(200, { "Content-Type": "text/xml; charset=utf-8" });
      res.end(
        `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>` +
          `<SendNotificationResult xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><SubscriptionStatus>${status}</SubscriptionStatus></SendNotificationResult>` +
          `</soap:Body></soap:Envelope>`,
      );
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { posts, server, url: new ews.Uri(`http://127.0.0.1:${server.address().port}/ews/push`) };
}

test("push_subscription_newmail_moved_copied", async () => {
  const s = impersonate(ALICE);
  let status = "OK";
  const cb = await pushListener(s, () => status);
  try {
    const sub = await s.SubscribeToPushNotifications([inbox()], cb.url, 1, null, T.NewMail, T.Created, T.Moved, T.Copied);
    assert(sub.Id && sub.Watermark, "no subscription id or watermark");
    const events = () => {
      const bad = cb.posts.find((p) => p.error);
      assert(!bad, `unreadable notification: ${bad && describe(bad.error)}: ${bad && bad.body.slice(0, 600)}`);
      return cb.posts.flatMap((p) => p.results.ItemEvents);
    };
    const until = async (what, done) => {
      for (let i = 0; i < 150 && !done(); i++) await sleep(100);
      assert(done(), `${what}: pushed ${names(events())}`);
    };
    const id = await sendAndMove(`jspush ${RUN}`);
    const has = (t) => events().some((e) => e.EventType === t);
    await until("NewMail and Moved", () => has(T.NewMail) && has(T.Moved));
    assert(cb.posts.every((p) => p.results.SubscriptionId === sub.Id), "a notification for another subscription id");
    const nm = events().find((e) => e.EventType === T.NewMail);
    const mv = events().find((e) => e.EventType === T.Moved);
    assert(nm.ItemId.UniqueId === id, "NewMail names another item");
    assert(mv.ItemId.UniqueId === id && mv.OldItemId.UniqueId === id, "the move changed the id");
    // Copy the moved message back into the Inbox: Copied names the copy
    // and, as OldItemId, the source.
    const moved = await ews.Item.Bind(s, new ews.ItemId(id));
    const copy = await moved.Copy(ews.WellKnownFolderName.Inbox);
    await until("Copied", () => has(T.Copied));
    const cp = events().find((e) => e.EventType === T.Copied);
    assert(cp.OldItemId.UniqueId === id, `Copied OldItemId ${cp.OldItemId.UniqueId}, want the source ${id}`);
    assert(cp.ItemId.UniqueId !== id && (!copy || cp.ItemId.UniqueId === copy.Id.UniqueId), "Copied ItemId is not the copy");
    assert(!events().some((e) => e.EventType === T.Created && e.ItemId.UniqueId === cp.ItemId.UniqueId), "the copy was also reported as Created");
    // The callback answers Unsubscribe: the next notification is the last.
    status = "Unsubscribe";
    const before = cb.posts.length;
    await send(`jspush end ${RUN}`);
    await until("a notification after the Unsubscribe answer", () => cb.posts.length > before);
    await send(`jspush after ${RUN}`);
    await sleep(1500);
    assert(cb.posts.length === before + 1, `${cb.posts.length - before - 1} notifications after the callback answered Unsubscribe`);
  } finally {
    cb.server.close();
  }
});

log(`ews-javascript-api ${require("ews-javascript-api/package.json").version} against ${EWS_URL}`);
if (E.ACTAS_INTEROP_TRACE) {
  ews.EwsLogging.DebugLogEnabled = true;
  console.log = (...a) => (/^(PASS|FAIL|SKIP) |^DONE$/.test(String(a[0])) ? process.stdout.write(a.join(" ") + "\n") : console.error(...a));
}
run().then(
  () => process.exit(0),
  (e) => {
    log(e);
    process.exit(1);
  },
);

"""Drives Actas's EWS handler with the unmodified exchangelib client.

Usage: exchangelib_interop.py EWS_URL USER PASSWORD TARGET OTHER
Prints "OK <step>" lines; exits non-zero on the first failure.
"""
import sys
import logging

from exchangelib import (Account, Configuration, Credentials, DELEGATE, IMPERSONATION, Message, Mailbox,
                         FileAttachment, ExtendedProperty, Folder, HTMLBody)
from exchangelib.errors import ErrorAccessDenied, ErrorNonExistentMailbox, ErrorImpersonateUserDenied
from exchangelib.properties import EWSElement
from exchangelib.protocol import BaseProtocol

if "-v" in sys.argv:
    logging.basicConfig(level=logging.DEBUG)
    sys.argv.remove("-v")

ep, user, pw, target, other = sys.argv[1:6]
BaseProtocol.TIMEOUT = 10


def ok(step):
    print("OK", step, flush=True)


class CrmId(ExtendedProperty):
    property_set_id = "c11ff724-aa03-4555-9952-8fa248a11c3e"
    property_name = "CrmId"
    property_type = "String"


Message.register("crm_id", CrmId)

config = Configuration(service_endpoint=ep, credentials=Credentials(user, pw))
acct = Account(primary_smtp_address=target, config=config, autodiscover=False, access_type=IMPERSONATION)
ok("version %s" % acct.version.api_version)
assert acct.version.build.major_version == 15
root = acct.root
ok("root %s" % root.name)
inbox = acct.inbox
ok("inbox %s total=%s" % (inbox.name, inbox.total_count))
folders = list(acct.msg_folder_root.walk())
ok("walk %d folders" % len(folders))

sub = Folder(parent=inbox, name="Interop")
sub.save()
ok("created folder")
sub.name = "Interop 2"
sub.save()
ok("renamed folder")

m = Message(account=acct, folder=acct.drafts, subject="Interop draft", body="Hello from exchangelib",
            to_recipients=[Mailbox(email_address=other)], categories=["Blue"])
m.crm_id = "CRM-42"
m.save()
ok("saved draft %s" % m.id[:12])
m.attach(FileAttachment(name="notes.txt", content=b"attached bytes"))
ok("attached")
fetched = acct.drafts.get(id=m.id)
assert fetched.subject == "Interop draft", fetched.subject
assert fetched.crm_id == "CRM-42", fetched.crm_id
assert fetched.attachments and fetched.attachments[0].name == "notes.txt"
assert fetched.attachments[0].content == b"attached bytes"
ok("fetched draft with extended property and attachment")

fetched.subject = "Interop draft (edited)"
fetched.is_read = False
fetched.save(update_fields=["subject", "is_read"])
ok("updated")
fetched.move(sub)
assert fetched.id == m.id
ok("moved, id kept")
n = sub.filter(subject__contains="edited").count()
assert n == 1, n
ok("filter count")
mime = acct.fetch(ids=[fetched])
mime = list(acct.fetch(ids=[fetched], only_fields=["mime_content"]))[0].mime_content
assert b"Interop draft (edited)" in mime, mime[:200]
ok("mime content")

sent = Message(account=acct, folder=acct.sent, subject="Interop sent", body=HTMLBody("<p>hi</p>"),
               to_recipients=[Mailbox(email_address=other), Mailbox(email_address="someone@example.org")])
sent.send_and_save()
ok("send_and_save")
qs = acct.sent.filter(subject="Interop sent")
assert qs.count() == 1
s = qs.get()
assert s.sender.email_address == target and s.author.email_address == target, (s.sender, s.author)
ok("sent copy from=%s" % s.author.email_address)
outbox = list(acct.outbox.all())
assert any("not delivered" in " ".join(x.categories or []) for x in outbox)
ok("outbox keeps external copy")

page = list(acct.inbox.all().order_by("-datetime_received")[:5])
ok("paged %d" % len(page))
for x in acct.inbox.filter(is_read=False)[:3]:
    pass
ok("is_read filter")

names = acct.protocol.resolve_names([other.split("@")[0]], return_full_contact_data=True)
ok("resolve_names %d" % len(names))

oof = acct.oof_settings
ok("oof %s" % oof.state)

ids = list(acct.protocol.convert_ids([__import__("exchangelib").properties.AlternateId(
    id=m.id, format="EwsId", mailbox=target)], destination_format="EntryId"))
ok("convert_id %s" % type(ids[0]).__name__)

m2 = Message(account=acct, folder=sub, subject="to delete", body="x")
m2.save()
m2.delete()
m3 = Message(account=acct, folder=sub, subject="to trash", body="x")
m3.save()
m3.soft_delete()
m4 = Message(account=acct, folder=sub, subject="to bin", body="x")
m4.save()
m4.move_to_trash()
ok("deletes")
sub.empty()
sub.delete()
ok("folder deleted")
print("DONE")

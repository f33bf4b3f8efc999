package ews

import (
	"strings"

	"github.com/actasmail/actas/internal/mailbox"
)

var (
	encodeID  = mailbox.EncodeID
	decodeID  = mailbox.DecodeID
	buildMIME = mailbox.BuildMIME
	parseMIME = mailbox.ParseMIME
)

// Ids are mailbox.EncodeID/DecodeID's opaque standard-base64 strings; they
// embed the owner's mailbox, so an id alone names the mailbox (delegate
// "implicit access").

func folderID(f *mailbox.Folder) string {
	return encodeID(mailbox.ID{Kind: mailbox.KindFolder, Mailbox: f.Mailbox, Key: f.Key})
}

func itemID(it *mailbox.Item) string {
	if isOccurrence(it) { // issue 4: calendar_recur.go
		return occurrenceID(it)
	}
	return encodeID(mailbox.ID{Kind: mailbox.KindItem, Mailbox: it.Mailbox, Key: it.Key})
}

func attachmentID(it *mailbox.Item, num int64) string {
	return encodeID(mailbox.ID{Kind: mailbox.KindAttachment, Mailbox: it.Mailbox, Key: it.Key, Sub: num})
}

// parseID decodes an id of the wanted kind, with the EWS error for each
// way it can be wrong.
func parseID(s string, kind byte) (mailbox.ID, *ewsErr) {
	s = strings.TrimSpace(s)
	if s == "" {
		return mailbox.ID{}, newErr("ErrorInvalidIdEmpty")
	}
	id, err := decodeID(s)
	if err != nil || id.Mailbox == "" {
		return mailbox.ID{}, newErr("ErrorInvalidIdMalformed")
	}
	if id.Kind != kind {
		switch {
		case kind == mailbox.KindItem && id.Kind == mailbox.KindFolder:
			return id, newErr("ErrorCannotUseFolderIdForItemId")
		case kind == mailbox.KindFolder && id.Kind == mailbox.KindItem:
			return id, newErr("ErrorCannotUseItemIdForFolderId")
		case kind == mailbox.KindAttachment:
			return id, newErr("ErrorInvalidAttachmentId")
		}
		return id, newErr("ErrorInvalidIdMalformed")
	}
	return id, nil
}

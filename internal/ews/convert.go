package ews

import (
	"github.com/actasmail/actas/internal/directory"
	"github.com/actasmail/actas/internal/mailbox"
)

// idFormats are the ConvertId formats. Actas has one id form, so every
// format is the same opaque string; ConvertId checks the id and names its
// mailbox.
var idFormats = map[string]bool{"EwsLegacyId": true, "EwsId": true, "EntryId": true, "HexEntryId": true, "StoreId": true, "OwaId": true}

func opConvertId(rc *reqCtx, op *node, w *xw) error {
	dest := op.attr("DestinationFormat")
	if !idFormats[dest] {
		return &fault{Code: "ErrorSchemaValidation", Msg: "The request failed schema validation: DestinationFormat '" + dest + "' is invalid."}
	}
	beginResponse(w, "ConvertId")
	for _, src := range op.child("SourceIds").kids() {
		if src.Local != "AlternateId" {
			writeErrorMessage(w, "ConvertIdResponseMessage", newErr("ErrorInvalidIdMalformed", "Only AlternateId can be converted by this server."))
			continue
		}
		// exchangelib's version probe sends Id="DUMMY": it gets this
		// per-item error, with ServerVersionInfo in the header.
		id, err := decodeID(src.attr("Id"))
		var owner *directory.Recipient
		if err == nil {
			owner = rc.recipient(id.Mailbox)
		}
		if err != nil || owner == nil || owner.Org != rc.user.Org || (id.Kind != mailbox.KindFolder && id.Kind != mailbox.KindItem && id.Kind != mailbox.KindAttachment) {
			writeErrorMessage(w, "ConvertIdResponseMessage", newErr("ErrorInvalidIdMalformed"))
			continue
		}
		okStart(w, "ConvertIdResponseMessage")
		w.open("m:AlternateId")
		w.attr("xsi:type", "t:AlternateIdType")
		w.attr("Format", dest)
		w.attr("Id", src.attr("Id"))
		w.attr("Mailbox", owner.PrimarySmtpAddress)
		w.emptyEnd()
		w.end("m:ConvertIdResponseMessage")
	}
	endResponse(w, "ConvertId")
	return nil
}

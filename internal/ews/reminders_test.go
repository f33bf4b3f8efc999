package ews

import "testing"

func TestReminders(t *testing.T) {
	w := newMeetingWorld(t)
	create := func(extra string) string {
		r := w.mustOK(w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:SavedItemFolderId>`+distFolder("calendar", nil)+`</m:SavedItemFolderId><m:Items><t:CalendarItem><t:Subject>r</t:Subject>`+
			extra+`<t:Start>`+w.day(1, "08:00")+`</t:Start><t:End>`+w.day(1, "09:00")+`</t:End></t:CalendarItem></m:Items></m:CreateItem>`))
		return find(r.root, "ItemId").attr("Id")
	}
	get := func(id string) (string, string, string) {
		r := w.mustOK(w.call(w.alice, "", `<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:ReminderIsSet"/><t:FieldURI FieldURI="item:ReminderMinutesBeforeStart"/><t:FieldURI FieldURI="item:ReminderDueBy"/></t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id="`+id+`"/></m:ItemIds></m:GetItem>`))
		ci := find(r.root, "CalendarItem")
		return ci.childText("ReminderIsSet"), ci.childText("ReminderMinutesBeforeStart"), ci.childText("ReminderDueBy")
	}
	if set, min, due := get(create("")); set != "true" || min != "15" || due[:16] != w.day(1, "08:00")[:16] {
		t.Fatalf("default reminder: %s %s %s", set, min, due)
	}
	id := create(`<t:ReminderIsSet>false</t:ReminderIsSet><t:ReminderMinutesBeforeStart>30</t:ReminderMinutesBeforeStart>`)
	if set, min, _ := get(id); set != "false" || min != "30" {
		t.Fatalf("reminder as created: %s %s", set, min)
	}
	w.mustOK(w.call(w.alice, "", `<m:UpdateItem ConflictResolution="AlwaysOverwrite" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="`+id+`"/><t:Updates>`+
		`<t:SetItemField><t:FieldURI FieldURI="item:ReminderIsSet"/><t:CalendarItem><t:ReminderIsSet>true</t:ReminderIsSet></t:CalendarItem></t:SetItemField>`+
		`<t:SetItemField><t:FieldURI FieldURI="item:ReminderMinutesBeforeStart"/><t:CalendarItem><t:ReminderMinutesBeforeStart>5</t:ReminderMinutesBeforeStart></t:CalendarItem></t:SetItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`))
	if set, min, _ := get(id); set != "true" || min != "5" {
		t.Fatalf("reminder after the update: %s %s", set, min)
	}
	if r := w.call(w.alice, "", `<m:CreateItem SendMeetingInvitations="SendToNone"><m:Items><t:CalendarItem><t:Subject>x</t:Subject><t:ReminderMinutesBeforeStart>-1</t:ReminderMinutesBeforeStart><t:Start>`+w.day(1, "08:00")+`</t:Start><t:End>`+w.day(1, "09:00")+`</t:End></t:CalendarItem></m:Items></m:CreateItem>`); code(r.messages()[0]) != "ErrorInvalidValueForProperty" {
		t.Fatalf("negative minutes: %s", r.body)
	}
}

package ews

import (
	"strconv"
	"time"

	"github.com/actasmail/actas/internal/mailbox"
)

// Reminders (issue 4): ReminderIsSet, ReminderMinutesBeforeStart and
// ReminderDueBy on any item, kept under reserved Extended keys. A calendar
// item without them has Exchange's defaults (set, 15 minutes before its
// start; due at its start); other items have none. Actas stores reminders
// for clients; it does not raise them.

const (
	remSet     = "actas:rem:set"
	remMinutes = "actas:rem:minutes"
	remDueBy   = "actas:rem:dueby"
)

// applyReminder sets a reminder property; ok is false for other URIs.
func applyReminder(it *mailbox.Item, uri, text string) (*ewsErr, bool) {
	switch uri {
	case "item:ReminderIsSet":
		switch text {
		case "true", "1":
			setExt(it, remSet, "true")
		case "false", "0":
			setExt(it, remSet, "false")
		default:
			return newErr("ErrorInvalidValueForProperty", "'"+text+"' is not a boolean."), true
		}
	case "item:ReminderMinutesBeforeStart":
		n, err := strconv.Atoi(text)
		if err != nil || n < 0 || n > 2629800 {
			return newErr("ErrorInvalidValueForProperty", "ReminderMinutesBeforeStart must be a number of minutes from 0 to 2629800."), true
		}
		setExt(it, remMinutes, strconv.Itoa(n))
	case "item:ReminderDueBy":
		t, ok := parseTime(text)
		if !ok {
			return newErr("ErrorInvalidValueForProperty", "'"+text+"' is not a date and time."), true
		}
		setExt(it, remDueBy, t.UTC().Format(time.RFC3339))
	default:
		return nil, false
	}
	return nil, true
}

// reminderOf returns an item's reminder, defaults included.
func reminderOf(it *mailbox.Item) (set bool, minutes int, dueBy time.Time, hasDue bool) {
	appt := isAppointment(it)
	set = appt
	if v, ok := it.Extended[remSet]; ok {
		set = v == "true"
	}
	if appt {
		minutes = 15
	}
	if v, err := strconv.Atoi(it.Extended[remMinutes]); err == nil {
		minutes = v
	}
	if t, ok := calTime(it, remDueBy); ok {
		return set, minutes, t, true
	}
	if appt {
		dueBy, hasDue = calTime(it, calStart)
	}
	return set, minutes, dueBy, hasDue
}

// writeReminder writes ReminderDueBy, ReminderIsSet and
// ReminderMinutesBeforeStart in schema order (after DateTimeCreated).
func writeReminder(w *xw, it *mailbox.Item, bits uint64) {
	if bits&(ipReminderDueBy|ipReminderIsSet|ipReminderMinutesBeforeStart) == 0 {
		return
	}
	set, minutes, due, hasDue := reminderOf(it)
	if bits&ipReminderDueBy != 0 && hasDue {
		w.elemTime("t:ReminderDueBy", due)
	}
	if bits&ipReminderIsSet != 0 {
		w.elemBool("t:ReminderIsSet", set)
	}
	if bits&ipReminderMinutesBeforeStart != 0 {
		w.elem("t:ReminderMinutesBeforeStart", strconv.Itoa(minutes))
	}
}

package webhook

import "fmt"

// An Event is the type of a webhook event, as it appears in a webhook's On
// list and in the "type" key of a payload.
type Event string

// User webhook events, fired for the webhook's owner.
const (
	// EventNote fires when the owner posts a note (replies, renotes and
	// quotes included). Body: [misskey.NoteBody].
	EventNote Event = "note"
	// EventReply fires when someone replies to the owner's note. Body:
	// [misskey.NoteBody] holding the reply.
	EventReply Event = "reply"
	// EventRenote fires when someone else renotes or quotes the owner's
	// note. Body: [misskey.NoteBody] holding the renote.
	EventRenote Event = "renote"
	// EventMention fires when the owner is mentioned. Body: [misskey.NoteBody].
	EventMention Event = "mention"
	// EventFollow fires when the owner follows someone. Body:
	// [misskey.UserBody] holding the followee as a detailed user, with
	// the owner's relation to them.
	EventFollow Event = "follow"
	// EventFollowed fires when someone follows the owner. Body: [misskey.UserBody]
	// holding the follower as a lite user.
	EventFollowed Event = "followed"
	// EventUnfollow fires when the owner unfollows someone, or a follow is
	// rejected or cut by a block. Body: [misskey.UserBody] holding the other party.
	EventUnfollow Event = "unfollow"
	// EventReaction fires when someone reacts to the owner's note. Misskey
	// lists it but never sends it; its body, [misskey.ReactionBody], has
	// the shape of the Misskey fork that does and of the receivers
	// written for it.
	EventReaction Event = "reaction"
)

// System webhook events, server-wide and configured by moderators. Their
// payloads carry no userId.
const (
	// EventAbuseReport fires when a user files an abuse report. Body:
	// [misskey.AbuseReport].
	EventAbuseReport Event = "abuseReport"
	// EventAbuseReportResolved fires when a moderator resolves an abuse
	// report. Body: [misskey.AbuseReport].
	EventAbuseReportResolved Event = "abuseReportResolved"
	// EventUserCreated fires when a local user signs up. Body: the [misskey.User]
	// itself.
	EventUserCreated Event = "userCreated"
	// EventInactiveModeratorsWarning fires when moderators have been
	// inactive for long. Body: [misskey.InactiveModeratorsWarning].
	EventInactiveModeratorsWarning Event = "inactiveModeratorsWarning"
	// EventInactiveModeratorsInvitationOnlyChanged fires when the server
	// switched to invitation-only because moderators were inactive. Body:
	// an empty object.
	EventInactiveModeratorsInvitationOnlyChanged Event = "inactiveModeratorsInvitationOnlyChanged"
)

var userEvents = [...]Event{
	EventNote, EventReply, EventRenote, EventMention,
	EventFollow, EventFollowed, EventUnfollow, EventReaction,
}

var systemEvents = [...]Event{
	EventAbuseReport, EventAbuseReportResolved, EventUserCreated,
	EventInactiveModeratorsWarning, EventInactiveModeratorsInvitationOnlyChanged,
}

// UserEvents returns the events a user webhook may subscribe to, in
// Misskey's order. The caller owns the returned slice.
func UserEvents() []Event { return append([]Event(nil), userEvents[:]...) }

// SystemEvents returns the events a system webhook may subscribe to, in
// Misskey's order. The caller owns the returned slice.
func SystemEvents() []Event { return append([]Event(nil), systemEvents[:]...) }

// IsUser reports whether e is one of the user webhook events.
func (e Event) IsUser() bool {
	for _, u := range userEvents {
		if e == u {
			return true
		}
	}
	return false
}

// IsSystem reports whether e is one of the system webhook events.
func (e Event) IsSystem() bool {
	for _, s := range systemEvents {
		if e == s {
			return true
		}
	}
	return false
}

// Valid reports whether e is a known event, user or system.
func (e Event) Valid() bool { return e.IsUser() || e.IsSystem() }

// String returns the event's wire name.
func (e Event) String() string { return string(e) }

// ParseEvent returns the Event named s, matched exactly as on the wire
// ("note", "abuseReport", ...). An unknown name yields an error wrapping
// [ErrUnknownEvent].
func ParseEvent(s string) (Event, error) {
	e := Event(s)
	if !e.Valid() {
		return "", fmt.Errorf("webhook: %w %q", ErrUnknownEvent, truncate(s, 64))
	}
	return e, nil
}

// truncate shortens s for inclusion in an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

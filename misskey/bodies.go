package misskey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// This file holds the event bodies: what goes in a payload's "body" key
// for each webhook event. A host may emit these or a body type of its own; the
// webhook package requires neither.

// A NoteBody is the body of the note, reply, renote and mention events.
type NoteBody struct {
	// Note is the note posted: the reply for reply, the renote for renote,
	// holding its parents (see [Note]). Required.
	Note *Note `json:"note"`
}

// A PackedUser is a user as Misskey packs it: a *[User] (misskey-js's
// UserLite) or a *[UserDetailed] (UserDetailedNotMe), which both satisfy
// it. Lite returns the lite fields of either.
type PackedUser interface {
	Lite() *User
	json.Marshaler
}

// Lite returns u. With [UserDetailed.Lite] it makes both a [PackedUser].
func (u *User) Lite() *User { return u }

// A UserBody is the body of the follow, followed and unfollow events.
type UserBody struct {
	// User is the other party: a *UserDetailed for follow and unfollow, a
	// *User for followed, as Misskey sends them. Required. When a body is
	// decoded, User is a *UserDetailed if the object has the detailed
	// keys, else a *User.
	User PackedUser `json:"user"`
}

// A ReactionBody is the body of the reaction event:
// {"note": Note, "reaction": {"id", "user", "reaction"}}. Upstream Misskey
// lists the event but has never sent it; this is the shape of the Misskey
// fork that does send it, which the receivers written for reactions
// decode.
type ReactionBody struct {
	// Note is the owner's note that got the reaction, packed as in the
	// note event. Required.
	Note *Note `json:"note"`
	// Reaction is the reaction and who made it. Required.
	Reaction Reaction `json:"reaction"`
}

// A Reaction is one user's reaction to a note, as the reaction event
// carries it. ID, User and Reaction are required.
type Reaction struct {
	// ID is the reaction's ID. Required.
	ID string `json:"id"`
	// User is who reacted. Required.
	User User `json:"user"`
	// Reaction is the reaction: a Unicode emoji such as "👍" or a custom
	// one such as ":blobcat@.:" (local) or ":blobcat@remote.example:".
	// Required.
	Reaction string `json:"reaction"`
}

// AbuseReportResolution is how a moderator resolved an abuse report.
type AbuseReportResolution string

// Abuse report resolutions. A nil *AbuseReportResolution, sent as null,
// means neither (or not resolved).
const (
	// AbuseReportAccept: the report was found valid and acted upon.
	AbuseReportAccept AbuseReportResolution = "accept"
	// AbuseReportReject: the report was found not valid.
	AbuseReportReject AbuseReportResolution = "reject"
)

// An AbuseReport is the body of the abuseReport and abuseReportResolved
// events.
type AbuseReport struct {
	// ID is the report's ID.
	ID string `json:"id"`
	// TargetUserID is the reported user's ID.
	TargetUserID string `json:"targetUserId"`
	// TargetUser is the reported user, or nil.
	TargetUser *User `json:"targetUser"`
	// TargetUserHost is the reported user's host, nil for a local user.
	TargetUserHost *string `json:"targetUserHost"`
	// ReporterID is the reporter's ID.
	ReporterID string `json:"reporterId"`
	// Reporter is the reporter, or nil.
	Reporter *User `json:"reporter"`
	// ReporterHost is the reporter's host, nil for a local user.
	ReporterHost *string `json:"reporterHost"`
	// AssigneeID is the ID of the moderator who resolved the report, or
	// nil.
	AssigneeID *string `json:"assigneeId"`
	// Assignee is the moderator who resolved the report, or nil.
	Assignee *User `json:"assignee"`
	// Resolved is true once a moderator resolved the report.
	Resolved bool `json:"resolved"`
	// Forwarded is true when the report was forwarded to the target's
	// server.
	Forwarded bool `json:"forwarded"`
	// Comment is the reporter's text.
	Comment string `json:"comment"`
	// ModerationNote is the moderators' note, "" when none.
	ModerationNote string `json:"moderationNote"`
	// ResolvedAs is how the report was resolved, or nil.
	ResolvedAs *AbuseReportResolution `json:"resolvedAs"`
}

// A RemainingTime is how long until the server turns invitation-only
// because its moderators are inactive.
type RemainingTime struct {
	// Time is the remaining time in milliseconds.
	Time int64 `json:"time"`
	// AsHours is Time in whole hours, rounded down.
	AsHours int64 `json:"asHours"`
	// AsDays is Time in whole days, rounded down.
	AsDays int64 `json:"asDays"`
}

// RemainingTimeOf returns d as a RemainingTime, rounded down to whole
// milliseconds, hours and days as Misskey computes them.
func RemainingTimeOf(d time.Duration) RemainingTime {
	ms := d.Milliseconds()
	return RemainingTime{
		Time:    ms,
		AsHours: floorDiv(ms, int64(time.Hour/time.Millisecond)),
		AsDays:  floorDiv(ms, int64(24*time.Hour/time.Millisecond)),
	}
}

// floorDiv returns a/b rounded towards negative infinity, as Math.floor.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// An InactiveModeratorsWarning is the body of the inactiveModeratorsWarning
// event.
type InactiveModeratorsWarning struct {
	RemainingTime RemainingTime `json:"remainingTime"`
}

// InvitationOnlyChanged is the body of the
// inactiveModeratorsInvitationOnlyChanged event: an empty object.
type InvitationOnlyChanged struct{}

// MarshalJSON encodes b; it fails when Note is nil.
func (b NoteBody) MarshalJSON() ([]byte, error) { return b.AppendJSON(make([]byte, 0, 1024)) }

// AppendJSON appends b's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (b NoteBody) AppendJSON(dst []byte) ([]byte, error) {
	if b.Note == nil {
		return nil, invalidf("NoteBody.Note must not be nil")
	}
	p := packer{b: dst}
	p.raw(`{"note":`)
	p.note(b.Note, true, 0)
	p.raw("}")
	return p.result()
}

// MarshalJSON encodes b; it fails when User is nil.
func (b UserBody) MarshalJSON() ([]byte, error) { return b.AppendJSON(make([]byte, 0, 1024)) }

// AppendJSON appends b's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (b UserBody) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.raw(`{"user":`)
	switch u := b.User.(type) {
	case *UserDetailed:
		if u == nil {
			return nil, invalidf("UserBody.User must not be nil")
		}
		p.userDetailed(u)
	case *User:
		if u == nil {
			return nil, invalidf("UserBody.User must not be nil")
		}
		p.user(u)
	case nil:
		return nil, invalidf("UserBody.User must not be nil")
	default:
		j, err := u.MarshalJSON()
		if err != nil {
			return nil, err
		}
		if !json.Valid(j) {
			return nil, invalidf("UserBody.User: %T.MarshalJSON returned invalid JSON", u)
		}
		p.b = append(p.b, j...)
	}
	p.raw("}")
	return p.result()
}

// UnmarshalJSON decodes b, making User a *UserDetailed when the object
// has a createdAt key (every detailed user has one, no lite user has),
// else a *User.
func (b *UserBody) UnmarshalJSON(data []byte) error {
	var raw struct {
		User json.RawMessage `json:"user"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw.User) == 0 || bytes.Equal(raw.User, []byte("null")) {
		b.User = nil
		return nil
	}
	var probe struct {
		CreatedAt json.RawMessage `json:"createdAt"`
	}
	if err := json.Unmarshal(raw.User, &probe); err != nil {
		return fmt.Errorf("misskey: decoding UserBody.User: %w", err)
	}
	if probe.CreatedAt != nil {
		u := new(UserDetailed)
		if err := json.Unmarshal(raw.User, u); err != nil {
			return err
		}
		b.User = u
		return nil
	}
	u := new(User)
	if err := json.Unmarshal(raw.User, u); err != nil {
		return err
	}
	b.User = u
	return nil
}

// MarshalJSON encodes b; it fails when Note is nil or a required field is
// empty.
func (b ReactionBody) MarshalJSON() ([]byte, error) { return b.AppendJSON(make([]byte, 0, 2048)) }

// AppendJSON appends b's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (b ReactionBody) AppendJSON(dst []byte) ([]byte, error) {
	if b.Note == nil {
		return nil, invalidf("ReactionBody.Note must not be nil")
	}
	r := &b.Reaction
	p := packer{b: dst}
	p.required(r.ID == "", "ReactionBody.Reaction.ID", b.Note.ID)
	p.required(r.Reaction == "", "ReactionBody.Reaction.Reaction", r.ID)
	p.raw(`{"note":`)
	p.note(b.Note, true, 0)
	p.raw(`,"reaction":{"id":`)
	p.str(r.ID)
	p.raw(`,"user":`)
	p.user(&r.User)
	p.raw(`,"reaction":`)
	p.str(r.Reaction)
	p.raw("}}")
	return p.result()
}

// MarshalJSON encodes r; it fails when ID, TargetUserID or ReporterID is
// empty or ResolvedAs holds an unknown value.
func (r AbuseReport) MarshalJSON() ([]byte, error) { return r.AppendJSON(make([]byte, 0, 1280)) }

// AppendJSON appends r's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (r AbuseReport) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.required(r.ID == "", "AbuseReport.ID", "")
	p.required(r.TargetUserID == "", "AbuseReport.TargetUserID", r.ID)
	p.required(r.ReporterID == "", "AbuseReport.ReporterID", r.ID)
	p.raw(`{"id":`)
	p.str(r.ID)
	p.raw(`,"targetUserId":`)
	p.str(r.TargetUserID)
	p.raw(`,"targetUser":`)
	p.userOrNull(r.TargetUser)
	p.raw(`,"targetUserHost":`)
	p.strOrNull(r.TargetUserHost)
	p.raw(`,"reporterId":`)
	p.str(r.ReporterID)
	p.raw(`,"reporter":`)
	p.userOrNull(r.Reporter)
	p.raw(`,"reporterHost":`)
	p.strOrNull(r.ReporterHost)
	p.raw(`,"assigneeId":`)
	p.strOrNull(r.AssigneeID)
	p.raw(`,"assignee":`)
	p.userOrNull(r.Assignee)
	p.raw(`,"resolved":`)
	p.bool(r.Resolved)
	p.raw(`,"forwarded":`)
	p.bool(r.Forwarded)
	p.raw(`,"comment":`)
	p.str(r.Comment)
	p.raw(`,"moderationNote":`)
	p.str(r.ModerationNote)
	p.raw(`,"resolvedAs":`)
	if ra := r.ResolvedAs; ra == nil {
		p.raw("null")
	} else {
		p.enum("AbuseReport.ResolvedAs", string(*ra), *ra == AbuseReportAccept || *ra == AbuseReportReject)
	}
	p.raw("}")
	return p.result()
}

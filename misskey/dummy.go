package misskey

import (
	"fmt"
	"time"
)

// DummyText is the text of the dummy notes in [DummyBody]'s bodies, as in
// Misskey's test sends.
const DummyText = "This is a dummy note for testing purposes."

// dummyEpoch is the fixed "now" of the dummy bodies, so that they are the
// same bytes on every call.
var dummyEpoch = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.UTC)

// DummyBody returns the body Misskey's i/webhooks/test sends for the
// event named event (its wire name, such as "note" or "abuseReport": a
// webhook.Event converted with string), built afresh on each call (the
// caller may modify it): dummy users dummy-user-1 to dummy-user-3 and
// dummy notes whose text holds [DummyText], related as in Misskey. Unlike
// Misskey's, the bodies are complete packed objects (every avatarUrl is a
// URL, not null) and do not depend on the clock. The reaction event,
// which Misskey never sends, gets a [ReactionBody] of dummy-user-2 liking
// dummy-note-1. The followee of follow and the other party of unfollow
// carry their [UserRelation] to the webhook's owner, as Misskey packs
// them. The reply and the renote carry their parent, dummy-note-1. The
// inactiveModeratorsWarning body says one day (24
// hours) is left, as Misskey's does, with a time that agrees (Misskey's
// says 100 seconds).
//
// The result is a *[NoteBody], *[UserBody], *[ReactionBody],
// *[AbuseReport], *[User], *[InactiveModeratorsWarning] or
// [InvitationOnlyChanged], by event. An unknown event yields an error
// wrapping [ErrUnknownEvent].
//
// The webhook package's Dispatcher.TestHook sends these bodies.
func DummyBody(event string) (any, error) {
	switch event {
	case "note":
		return &NoteBody{Note: dummyNote()}, nil
	case "reply":
		n := dummyNote()
		n.ID = "dummy-reply-1"
		n.ReplyID = "dummy-note-1"
		n.Reply = dummyNote()
		return &NoteBody{Note: n}, nil
	case "renote":
		n := dummyNote()
		n.ID = "dummy-renote-1"
		n.Text = nil
		n.UserID = "dummy-user-2"
		n.User = dummyUser(2).User
		n.RenoteID = "dummy-note-1"
		n.Renote = dummyNote()
		return &NoteBody{Note: n}, nil
	case "mention":
		n := dummyNote()
		n.ID = "dummy-mention-1"
		n.Text = new("@dummy2 " + DummyText)
		n.Mentions = []string{"dummy-user-2"}
		return &NoteBody{Note: n}, nil
	case "follow":
		u := dummyUser(1)
		u.Relation = &UserRelation{IsFollowing: true, Notify: FollowNotifyNone}
		return &UserBody{User: u}, nil
	case "followed":
		return &UserBody{User: &dummyUser(2).User}, nil
	case "unfollow":
		u := dummyUser(3)
		u.Relation = &UserRelation{Notify: FollowNotifyNone}
		return &UserBody{User: u}, nil
	case "reaction":
		n := dummyNote()
		n.Reactions = map[string]int{"❤": 1}
		n.ReactionCount = 1
		return &ReactionBody{Note: n, Reaction: Reaction{ID: "dummy-reaction-1", User: dummyUser(2).User, Reaction: "❤"}}, nil
	case "abuseReport":
		return dummyAbuseReport(), nil
	case "abuseReportResolved":
		r := dummyAbuseReport()
		r.AssigneeID = new("dummy-user-3")
		r.Assignee = &dummyUser(3).User
		r.Resolved = true
		return r, nil
	case "userCreated":
		return &dummyUser(1).User, nil
	case "inactiveModeratorsWarning":
		return &InactiveModeratorsWarning{RemainingTime: RemainingTimeOf(24 * time.Hour)}, nil
	case "inactiveModeratorsInvitationOnlyChanged":
		return InvitationOnlyChanged{}, nil
	}
	return nil, fmt.Errorf("misskey: no dummy body: %w %q", ErrUnknownEvent, truncate(event, 64))
}

// dummyUser returns dummy-user-n (n is 1, 2 or 3) as Misskey's test sends
// describe them, with an avatar URL.
func dummyUser(n int) *UserDetailed {
	day := 24 * time.Hour
	u := &UserDetailed{
		User: User{
			ID:                fmt.Sprintf("dummy-user-%d", n),
			Name:              new(fmt.Sprintf("DummyUser%d", n)),
			Username:          fmt.Sprintf("dummy%d", n),
			AvatarURL:         fmt.Sprintf("https://example.com/dummy-avatar-%d.png", n),
			AvatarDecorations: []AvatarDecoration{},
			IsCat:             true,
			Emojis:            map[string]string{},
			OnlineStatus:      OnlineStatusActive,
			BadgeRoles:        []BadgeRole{},
		},
		AlsoKnownAs:         []string{},
		CreatedAt:           Time(dummyEpoch),
		Fields:              []Field{},
		VerifiedLinks:       []string{},
		PinnedNoteIDs:       []string{},
		PinnedNotes:         []Note{},
		PublicReactions:     true,
		FollowingVisibility: FollowVisibilityPublic,
		FollowersVisibility: FollowVisibilityPublic,
		ChatScope:           ChatScopeMutual,
		CanChat:             true,
		Roles:               []Role{},
	}
	var updated, fetched time.Duration
	switch n {
	case 1:
		updated, fetched = 7*day, 5*day
		u.FollowersCount, u.FollowingCount, u.NotesCount = 10, 5, 30
	case 2:
		updated, fetched = 30*day, day
		u.FollowersCount, u.FollowingCount, u.NotesCount = 40, 50, 900
	default:
		updated, fetched = 15*day, 2*day
		u.FollowersCount, u.FollowingCount, u.NotesCount = 60, 70, 15900
	}
	u.UpdatedAt = new(Time(dummyEpoch.Add(-updated)))
	u.LastFetchedAt = new(Time(dummyEpoch.Add(-fetched)))
	return u
}

// dummyNote returns dummy-note-1, posted by dummy-user-1.
func dummyNote() *Note {
	return &Note{
		ID:                 "dummy-note-1",
		CreatedAt:          Time(dummyEpoch),
		Text:               new(DummyText),
		UserID:             "dummy-user-1",
		User:               dummyUser(1).User,
		Visibility:         VisibilityPublic,
		Emojis:             map[string]string{},
		LocalOnly:          true,
		ReactionAcceptance: new(ReactionAcceptanceLikeOnly),
		ReactionEmojis:     map[string]string{},
		Reactions:          map[string]int{},
		RenoteCount:        10,
		RepliesCount:       5,
	}
}

// dummyAbuseReport returns a report by dummy-user-2 against dummy-user-1.
func dummyAbuseReport() *AbuseReport {
	return &AbuseReport{
		ID:             "dummy-abuse-report1",
		TargetUserID:   "dummy-user-1",
		TargetUser:     &dummyUser(1).User,
		ReporterID:     "dummy-user-2",
		Reporter:       &dummyUser(2).User,
		Comment:        "This is a dummy report for testing purposes.",
		ModerationNote: "foo",
	}
}

package webhook

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func allEvents() []Event { return append(UserEvents(), SystemEvents()...) }

// decodeDummy returns e's dummy body, encoded by EncodeBody and decoded
// as a generic JSON object.
func decodeDummy(t *testing.T, e Event) map[string]any {
	t.Helper()
	body, err := DummyBody(e)
	require.NoError(t, err)
	b, err := EncodeBody(body)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m), "%s body must be a JSON object", e)
	return m
}

func TestDummyBodyEveryEvent(t *testing.T) {
	t.Parallel()
	require.Len(t, allEvents(), 13)
	for _, e := range allEvents() {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			body, err := DummyBody(e)
			require.NoError(t, err)
			require.NotNil(t, body)
			first, err := EncodeBody(body)
			require.NoError(t, err)
			require.True(t, json.Valid(first))
			require.Equal(t, byte('{'), first[0])

			again, err := DummyBody(e)
			require.NoError(t, err)
			second, err := EncodeBody(again)
			require.NoError(t, err)
			require.Equal(t, string(first), string(second), "dummy bodies must be deterministic")
		})
	}
}

func TestDummyBodyTypes(t *testing.T) {
	t.Parallel()
	want := map[Event]any{
		EventNote:                      (*NoteBody)(nil),
		EventReply:                     (*NoteBody)(nil),
		EventRenote:                    (*NoteBody)(nil),
		EventMention:                   (*NoteBody)(nil),
		EventFollow:                    (*UserBody)(nil),
		EventFollowed:                  (*UserBody)(nil),
		EventUnfollow:                  (*UserBody)(nil),
		EventReaction:                  (*ReactionBody)(nil),
		EventAbuseReport:               (*AbuseReport)(nil),
		EventAbuseReportResolved:       (*AbuseReport)(nil),
		EventUserCreated:               (*User)(nil),
		EventInactiveModeratorsWarning: (*InactiveModeratorsWarning)(nil),
		EventInactiveModeratorsInvitationOnlyChanged: InvitationOnlyChanged{},
	}
	require.Len(t, want, len(allEvents()))
	for e, typ := range want {
		body, err := DummyBody(e)
		require.NoError(t, err)
		require.IsType(t, typ, body, "%s", e)
	}

	// follow and unfollow carry a detailed user, followed a lite one, as
	// Misskey sends them; decoding tells them apart.
	for e, detailed := range map[Event]bool{EventFollow: true, EventFollowed: false, EventUnfollow: true} {
		body, err := DummyBody(e)
		require.NoError(t, err)
		b, err := EncodeBody(body)
		require.NoError(t, err)
		var got UserBody
		require.NoError(t, json.Unmarshal(b, &got))
		_, isDetailed := got.User.(*UserDetailed)
		require.Equal(t, detailed, isDetailed, "%s", e)
		require.Equal(t, body.(*UserBody).User.Lite().ID, got.User.Lite().ID)
	}
}

func TestDummyBodyNotes(t *testing.T) {
	t.Parallel()
	note := func(e Event) map[string]any {
		n, ok := decodeDummy(t, e)["note"].(map[string]any)
		require.True(t, ok, "%s body has a note", e)
		return n
	}

	n := note(EventNote)
	require.Equal(t, DummyText, n["text"])
	require.Equal(t, "dummy-note-1", n["id"])
	require.Equal(t, "dummy-user-1", n["userId"])

	n = note(EventReply)
	require.Equal(t, DummyText, n["text"])
	require.Equal(t, "dummy-note-1", n["replyId"])
	require.Equal(t, DummyText, n["reply"].(map[string]any)["text"])

	n = note(EventRenote)
	require.Nil(t, n["text"], "a pure renote has no text")
	require.Equal(t, "dummy-user-2", n["userId"], "someone else renotes the owner's note")
	require.Equal(t, "dummy-note-1", n["renoteId"])
	require.Equal(t, DummyText, n["renote"].(map[string]any)["text"])

	n = note(EventMention)
	require.Contains(t, n["text"], DummyText)
	require.True(t, strings.HasPrefix(n["text"].(string), "@dummy2 "))
	require.Equal(t, []any{"dummy-user-2"}, n["mentions"])

	n = note(EventReaction)
	require.Equal(t, DummyText, n["text"])
	r := decodeDummy(t, EventReaction)
	require.Equal(t, "❤", r["reaction"])
	require.Equal(t, "dummy-user-2", r["user"].(map[string]any)["id"])
	require.Equal(t, map[string]any{"❤": 1.0}, n["reactions"])
}

func TestDummyBodyUsers(t *testing.T) {
	t.Parallel()
	// Every user object anywhere in any dummy body has an avatar URL (not
	// null as in Misskey's) and belongs to dummy-user-1..3.
	var users int
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, ok := x["username"]; ok {
				users++
				u, err := url.Parse(x["avatarUrl"].(string))
				require.NoError(t, err)
				require.Equal(t, "https", u.Scheme)
				require.NotEmpty(t, u.Host)
				require.Contains(t, []any{"dummy-user-1", "dummy-user-2", "dummy-user-3"}, x["id"])
				require.Equal(t, x["username"], "dummy"+strings.TrimPrefix(x["id"].(string), "dummy-user-"))
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, e := range allEvents() {
		walk(decodeDummy(t, e))
	}
	require.Equal(t, 17, users)

	require.Equal(t, "dummy-user-1", decodeDummy(t, EventFollow)["user"].(map[string]any)["id"])
	require.Equal(t, "dummy-user-2", decodeDummy(t, EventFollowed)["user"].(map[string]any)["id"])
	require.Equal(t, "dummy-user-3", decodeDummy(t, EventUnfollow)["user"].(map[string]any)["id"])
	require.Equal(t, "dummy-user-1", decodeDummy(t, EventUserCreated)["id"])

	report := decodeDummy(t, EventAbuseReportResolved)
	require.Equal(t, true, report["resolved"])
	require.Equal(t, "dummy-user-3", report["assigneeId"])
	require.Nil(t, decodeDummy(t, EventAbuseReport)["assignee"])

	require.Equal(t, map[string]any{"time": 86_400_000.0, "asHours": 24.0, "asDays": 1.0},
		decodeDummy(t, EventInactiveModeratorsWarning)["remainingTime"])
	require.Empty(t, decodeDummy(t, EventInactiveModeratorsInvitationOnlyChanged))
}

func TestDummyBodyFresh(t *testing.T) {
	t.Parallel()
	// The caller may modify a dummy body without changing later ones.
	body, err := DummyBody(EventReply)
	require.NoError(t, err)
	nb := body.(*NoteBody)
	nb.Note.Reply.User.Emojis["x"] = "https://example.com/x.png"
	*nb.Note.Text = "changed"

	again, err := DummyBody(EventReply)
	require.NoError(t, err)
	require.Empty(t, again.(*NoteBody).Note.Reply.User.Emojis)
	require.Equal(t, DummyText, *again.(*NoteBody).Note.Text)
}

func TestDummyBodyUnknownEvent(t *testing.T) {
	t.Parallel()
	for _, e := range []Event{"", "note@foo", "Note", "poll"} {
		body, err := DummyBody(e)
		require.Nil(t, body)
		require.ErrorIs(t, err, ErrUnknownEvent, "%q", e)
		require.True(t, strings.HasPrefix(err.Error(), "webhook: "), err.Error())
	}
}

package misskey_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/stretchr/testify/require"
)

func allEvents() []webhook.Event { return append(webhook.UserEvents(), webhook.SystemEvents()...) }

// decodeDummy returns e's dummy body, encoded by EncodeBody and decoded
// as a generic JSON object.
func decodeDummy(t *testing.T, e webhook.Event) map[string]any {
	t.Helper()
	body, err := misskey.DummyBody(string(e))
	require.NoError(t, err)
	b, err := webhook.EncodeBody(body)
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
			body, err := misskey.DummyBody(string(e))
			require.NoError(t, err)
			require.NotNil(t, body)
			first, err := webhook.EncodeBody(body)
			require.NoError(t, err)
			require.True(t, json.Valid(first))
			require.Equal(t, byte('{'), first[0])

			again, err := misskey.DummyBody(string(e))
			require.NoError(t, err)
			second, err := webhook.EncodeBody(again)
			require.NoError(t, err)
			require.Equal(t, string(first), string(second), "dummy bodies must be deterministic")
		})
	}
}

func TestDummyBodyTypes(t *testing.T) {
	t.Parallel()
	want := map[webhook.Event]any{
		webhook.EventNote:                                    (*misskey.NoteBody)(nil),
		webhook.EventReply:                                   (*misskey.NoteBody)(nil),
		webhook.EventRenote:                                  (*misskey.NoteBody)(nil),
		webhook.EventMention:                                 (*misskey.NoteBody)(nil),
		webhook.EventFollow:                                  (*misskey.UserBody)(nil),
		webhook.EventFollowed:                                (*misskey.UserBody)(nil),
		webhook.EventUnfollow:                                (*misskey.UserBody)(nil),
		webhook.EventReaction:                                (*misskey.ReactionBody)(nil),
		webhook.EventAbuseReport:                             (*misskey.AbuseReport)(nil),
		webhook.EventAbuseReportResolved:                     (*misskey.AbuseReport)(nil),
		webhook.EventUserCreated:                             (*misskey.User)(nil),
		webhook.EventInactiveModeratorsWarning:               (*misskey.InactiveModeratorsWarning)(nil),
		webhook.EventInactiveModeratorsInvitationOnlyChanged: misskey.InvitationOnlyChanged{},
	}
	require.Len(t, want, len(allEvents()))
	for e, typ := range want {
		body, err := misskey.DummyBody(string(e))
		require.NoError(t, err)
		require.IsType(t, typ, body, "%s", e)
	}

	// follow and unfollow carry a detailed user, followed a lite one, as
	// Misskey sends them; decoding tells them apart.
	for e, detailed := range map[webhook.Event]bool{webhook.EventFollow: true, webhook.EventFollowed: false, webhook.EventUnfollow: true} {
		body, err := misskey.DummyBody(string(e))
		require.NoError(t, err)
		b, err := webhook.EncodeBody(body)
		require.NoError(t, err)
		var got misskey.UserBody
		require.NoError(t, json.Unmarshal(b, &got))
		_, isDetailed := got.User.(*misskey.UserDetailed)
		require.Equal(t, detailed, isDetailed, "%s", e)
		require.Equal(t, body.(*misskey.UserBody).User.Lite().ID, got.User.Lite().ID)
	}
}

func TestDummyBodyNotes(t *testing.T) {
	t.Parallel()
	note := func(e webhook.Event) map[string]any {
		n, ok := decodeDummy(t, e)["note"].(map[string]any)
		require.True(t, ok, "%s body has a note", e)
		return n
	}

	n := note(webhook.EventNote)
	require.Equal(t, misskey.DummyText, n["text"])
	require.Equal(t, "dummy-note-1", n["id"])
	require.Equal(t, "dummy-user-1", n["userId"])

	n = note(webhook.EventReply)
	require.Equal(t, misskey.DummyText, n["text"])
	require.Equal(t, "dummy-note-1", n["replyId"])
	require.Equal(t, misskey.DummyText, n["reply"].(map[string]any)["text"])

	n = note(webhook.EventRenote)
	require.Nil(t, n["text"], "a pure renote has no text")
	require.Equal(t, "dummy-user-2", n["userId"], "someone else renotes the owner's note")
	require.Equal(t, "dummy-note-1", n["renoteId"])
	require.Equal(t, misskey.DummyText, n["renote"].(map[string]any)["text"])

	n = note(webhook.EventMention)
	require.Contains(t, n["text"], misskey.DummyText)
	require.True(t, strings.HasPrefix(n["text"].(string), "@dummy2 "))
	require.Equal(t, []any{"dummy-user-2"}, n["mentions"])

	n = note(webhook.EventReaction)
	require.Equal(t, misskey.DummyText, n["text"])
	r := decodeDummy(t, webhook.EventReaction)["reaction"].(map[string]any)
	require.Equal(t, "dummy-reaction-1", r["id"])
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

	require.Equal(t, "dummy-user-1", decodeDummy(t, webhook.EventFollow)["user"].(map[string]any)["id"])
	require.Equal(t, "dummy-user-2", decodeDummy(t, webhook.EventFollowed)["user"].(map[string]any)["id"])
	require.Equal(t, "dummy-user-3", decodeDummy(t, webhook.EventUnfollow)["user"].(map[string]any)["id"])
	require.Equal(t, "dummy-user-1", decodeDummy(t, webhook.EventUserCreated)["id"])

	report := decodeDummy(t, webhook.EventAbuseReportResolved)
	require.Equal(t, true, report["resolved"])
	require.Equal(t, "dummy-user-3", report["assigneeId"])
	require.Nil(t, decodeDummy(t, webhook.EventAbuseReport)["assignee"])

	require.Equal(t, map[string]any{"time": 86_400_000.0, "asHours": 24.0, "asDays": 1.0},
		decodeDummy(t, webhook.EventInactiveModeratorsWarning)["remainingTime"])
	require.Empty(t, decodeDummy(t, webhook.EventInactiveModeratorsInvitationOnlyChanged))
}

func TestDummyBodyFresh(t *testing.T) {
	t.Parallel()
	// The caller may modify a dummy body without changing later ones.
	body, err := misskey.DummyBody(string(webhook.EventReply))
	require.NoError(t, err)
	nb := body.(*misskey.NoteBody)
	nb.Note.Reply.User.Emojis["x"] = "https://example.com/x.png"
	*nb.Note.Text = "changed"

	again, err := misskey.DummyBody(string(webhook.EventReply))
	require.NoError(t, err)
	require.Empty(t, again.(*misskey.NoteBody).Note.Reply.User.Emojis)
	require.Equal(t, misskey.DummyText, *again.(*misskey.NoteBody).Note.Text)
}

func TestDummyBodyUnknownEvent(t *testing.T) {
	t.Parallel()
	for _, e := range []webhook.Event{"", "note@foo", "Note", "poll"} {
		body, err := misskey.DummyBody(string(e))
		require.Nil(t, body)
		require.ErrorIs(t, err, misskey.ErrUnknownEvent, "%q", e)
		require.True(t, strings.HasPrefix(err.Error(), "misskey: "), err.Error())
	}
}

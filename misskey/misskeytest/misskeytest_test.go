package misskeytest_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskey/misskeytest"
)

func dummy(t *testing.T, event string) []byte {
	t.Helper()
	body, err := misskey.DummyBody(event)
	require.NoError(t, err)
	b, err := webhook.EncodeBody(body)
	require.NoError(t, err)
	return b
}

func TestEventsAreWebhooks(t *testing.T) {
	t.Parallel()
	var want []string
	for _, e := range append(webhook.UserEvents(), webhook.SystemEvents()...) {
		want = append(want, string(e))
	}
	require.Equal(t, want, misskeytest.Events())
}

func TestDummyBodiesHaveMisskeysKeys(t *testing.T) {
	t.Parallel()
	for _, e := range misskeytest.Events() {
		require.NoError(t, misskeytest.CheckBody(e, dummy(t, e)), e)
	}
}

// sorted re-encodes b through a map, which sorts its keys: the same keys,
// not in Misskey's order.
func sorted(t *testing.T, b []byte) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func TestCheckBodyRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, event string
		body        []byte
		want        string
	}{
		{"keys out of Misskey's order", "note", sorted(t, dummy(t, "note")), "comes after"},
		{"a note key missing", "note", []byte(strings.Replace(string(dummy(t, "note")), `"cw":null,`, "", 1)), `note: missing key "cw"`},
		{"files left out when empty", "mention", []byte(strings.Replace(string(dummy(t, "mention")), `"files":[],`, "", 1)), `missing key "files"`},
		{"an unknown key", "followed", []byte(strings.Replace(string(dummy(t, "followed")), `"isCat":true,`, `"isCat":true,"isCow":true,`, 1)), `"isCow" is not one Misskey writes`},
		{"isBot left out", "userCreated", []byte(strings.Replace(string(dummy(t, "userCreated")), `"isBot":false,`, "", 1)), `missing key "isBot"`},
		{"a reply without its parent", "reply", []byte(strings.Replace(string(dummy(t, "reply")), `,"reply":{`, `,"poll":{"multiple":false,"expiresAt":null,"choices":[]},"x":{`, 1)), `missing key "reply"`},
		{"a reply event without a reply", "reply", dummy(t, "note"), "must be a reply"},
		{"a renote event without a renote", "renote", dummy(t, "note"), "must be a renote"},
		{"a follow without the relation", "follow", []byte(strings.Replace(string(dummy(t, "follow")), `,"isFollowing":true`, ``, 1)), `missing key "isFollowing"`},
		{"the reaction as a string", "reaction", []byte(`{"note":` + string(mustNote(t)) + `,"reaction":"❤","user":{}}`), "want an object"},
		{"emojis on a local note", "note", []byte(strings.Replace(string(dummy(t, "note")), `"files":[],`, `"emojis":{},"files":[],`, 1)), `"emojis" must not be here`},
		{"a report without a key", "abuseReport", []byte(strings.Replace(string(dummy(t, "abuseReport")), `"forwarded":false,`, "", 1)), `missing key "forwarded"`},
		{"the warning without asDays", "inactiveModeratorsWarning", []byte(`{"remainingTime":{"time":1,"asHours":0}}`), `missing key "asDays"`},
		{"a key in the empty body", "inactiveModeratorsInvitationOnlyChanged", []byte(`{"x":1}`), `"x" is not one`},
		{"tags written empty", "note", []byte(strings.Replace(string(dummy(t, "note")), `"fileIds":[]`, `"tags":[],"fileIds":[]`, 1)), `"tags" is written only when not empty`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := misskeytest.CheckBody(tt.event, tt.body)
			require.ErrorIs(t, err, misskeytest.ErrMismatch)
			require.ErrorContains(t, err, tt.want)
		})
	}
	require.ErrorContains(t, misskeytest.CheckBody("poll", []byte(`{}`)), "unknown event")
	require.Error(t, misskeytest.CheckBody("note", []byte(`{"note":`)))
	require.Error(t, misskeytest.CheckBody("note", []byte(`{"note":{},"note":{}}`)))
}

func mustNote(t *testing.T) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(dummy(t, "note"), &m))
	return m["note"]
}

package misskey_test

import (
	"encoding/json"
	"testing"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskey/misskeytest"
	"github.com/stretchr/testify/require"
)

// misskeyJSDir holds package.json and package-lock.json pinning misskey-js
// and TypeScript, and the tsconfig.json the check runs with.
const misskeyJSDir = "../testdata/misskeyjs"

// TestBodiesSatisfyMisskeyJS type-checks every dummy body and host-built
// bodies with every optional key set, as EncodeBody encodes them, against
// the misskey-js types a receiver would use (see misskeytest.TypeCheck),
// with tsc in strict mode. Bodies broken on purpose must be rejected, so
// that a check that accepts anything cannot pass.
//
// It needs testdata/misskeyjs/node_modules: run
// npm ci --prefix testdata/misskeyjs. Without it the test is skipped, or
// fails when CI=true or FEDIHOOK_MISSKEYJS=1.
func TestBodiesSatisfyMisskeyJS(t *testing.T) {
	t.Parallel()
	var bodies []misskeytest.Body
	encoded := map[webhook.Event][]byte{}
	for _, e := range allEvents() {
		body, err := misskey.DummyBody(string(e))
		require.NoError(t, err)
		b, err := webhook.EncodeBody(body)
		require.NoError(t, err)
		encoded[e] = b
		bodies = append(bodies, misskeytest.Body{Event: string(e), JSON: b})
	}
	full := fullNote()
	detailed := fullUserDetailed()
	detailed.PinnedPageID, detailed.PinnedPage = nil, nil // the test's page is not a whole packed Page
	for e, body := range map[string]any{
		"note":        misskey.NoteBody{Note: &full},
		"follow":      misskey.UserBody{User: &detailed},
		"followed":    misskey.UserBody{User: new(fullUser())},
		"reaction":    misskey.ReactionBody{Note: &full, Reaction: misskey.Reaction{ID: "9x", User: fullUser(), Reaction: "👍"}},
		"abuseReport": fullAbuseReport(),
	} {
		bodies = append(bodies, misskeytest.Body{Event: e, JSON: mustEncode(t, body)})
	}

	broken := []struct {
		why   string
		event webhook.Event
		edit  func(m map[string]any)
	}{
		{"a required Note key is missing", webhook.EventNote, func(m map[string]any) {
			delete(m["note"].(map[string]any), "reactions")
		}},
		{"a UserLite key misskey-js does not know", webhook.EventFollowed, func(m map[string]any) {
			m["user"].(map[string]any)["isCow"] = true
		}},
		{"avatarUrl is null, as in Misskey's own dummy users", webhook.EventFollow, func(m map[string]any) {
			m["user"].(map[string]any)["avatarUrl"] = nil
		}},
		{"an enumerated value misskey-js does not list", webhook.EventUnfollow, func(m map[string]any) {
			m["user"].(map[string]any)["chatScope"] = "friends"
		}},
		{"a nested user lacks a required key", webhook.EventAbuseReport, func(m map[string]any) {
			delete(m["reporter"].(map[string]any), "emojis")
		}},
		{"the reaction is the old string", webhook.EventReaction, func(m map[string]any) {
			m["reaction"] = "❤"
		}},
		{"a reply's parent lacks its user", webhook.EventReply, func(m map[string]any) {
			delete(m["note"].(map[string]any)["reply"].(map[string]any), "user")
		}},
	}
	for _, bc := range broken {
		var m map[string]any
		require.NoError(t, json.Unmarshal(encoded[bc.event], &m))
		bc.edit(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		bodies = append(bodies, misskeytest.Body{Event: string(bc.event), JSON: b, Broken: bc.why})
	}
	misskeytest.RequireTypes(t, misskeyJSDir, bodies)
}

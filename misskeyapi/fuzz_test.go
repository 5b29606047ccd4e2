package misskeyapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskeyapi"
)

// FuzzRequest feeds arbitrary bodies, content types and endpoints to a
// Handler: it must never panic, answer only the statuses Misskey uses,
// and answer JSON (or nothing for 204 and 405), never echoing a secret
// into the log.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct{ ep, ct, body string }{
		{"i/webhooks/create", "application/json", `{"i":"tok-alice","name":"n","url":"https://r.test/","secret":"fuzz-secret","on":["note"]}`},
		{"i/webhooks/update", "application/json", `{"i":"tok-alice","webhookId":"abc","secret":null,"on":["note","note"],"active":true}`},
		{"i/webhooks/test", "application/json", `{"i":"tok-alice","webhookId":"abc","type":"note","override":{"url":"https://x/","secret":"s"}}`},
		{"admin/system-webhook/create", "application/json", `{"i":"tok-root","isActive":true,"name":"n","on":["abuseReport"],"url":"https://r.test/"}`},
		{"admin/system-webhook/list", "application/json", `{"i":"tok-root","on":["userCreated"],"isActive":false}`},
		{"users/show", "application/json", `{"userIds":["a","a"],"detailed":false}`},
		{"meta", "application/json", `{"detail":false}`},
		{"i/webhooks/list", "text/plain", `{"i":"tok-alice"}`},
		{"i/webhooks/list", "application/json", `[{"i":1}]`},
		{"i/webhooks/list", "", ``},
		{"i/webhooks/list", "application/json", `{"i":"tok-alice"} trailing`},
		{"nope", "application/json; charset=utf-8", `{}`},
	} {
		f.Add(seed.ep, seed.ct, seed.body)
	}
	e := newEnv(f, &misskeyapi.Config{Meta: &misskeyapi.Meta{URI: "https://example.tld", Version: "1"},
		LookupUser: func(_ context.Context, q misskeyapi.UserQuery) (*misskey.UserDetailed, error) {
			if q.ID == "9alice" || strings.EqualFold(q.Username, "alice") {
				return detailedUser("9alice", "alice"), nil
			}
			return nil, misskeyapi.ErrUserNotFound
		}}, &webhook.Config{MaxWebhooksPerUser: 10}) // bounded, so that list stays cheap

	f.Fuzz(func(t *testing.T, ep, ct, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/", strings.NewReader(body))
		req.URL.Path = "/api/" + ep
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 403, 404, 413, 415, 429:
		case 204:
			require.Empty(t, rec.Body.Bytes())
			return
		default:
			t.Fatalf("status %d for %q %q %q: %s", rec.Code, ep, ct, body, rec.Body)
		}
		require.True(t, json.Valid(rec.Body.Bytes()), "answer %q", rec.Body)
		require.NotContains(t, e.log.String(), "fuzz-secret")
	})
}

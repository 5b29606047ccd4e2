package misskeyapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskeyapi"
)

// misskeyAPIDir holds the misskey-js end-to-end script, e2e.ts, with
// package.json and package-lock.json pinning misskey-js and TypeScript.
const misskeyAPIDir = "../testdata/misskeyapi"

// delivery is one request the receiver got.
type delivery struct {
	path    string
	secret  string
	payload webhook.Payload
}

// recorder is a webhook receiver on loopback that records what it gets.
type recorder struct {
	mu  sync.Mutex
	got []delivery
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var p webhook.Payload
	_ = json.Unmarshal(b, &p)
	rc.mu.Lock()
	rc.got = append(rc.got, delivery{path: r.URL.Path, secret: r.Header.Get("X-Misskey-Hook-Secret"), payload: p})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *recorder) deliveries() []delivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivery(nil), rc.got...)
}

// TestMisskeyJSDrivesTheAPI starts a Handler over a Dispatcher that
// delivers through the real HTTPTransport, and a receiver, and runs
// testdata/misskeyapi/e2e.ts (compiled with tsc --strict) with node: it
// drives every endpoint with misskey-js's APIClient, errors included, and
// checks the responses' shapes against misskey-js's types. Then the
// receiver must have got the test sends.
//
// It runs when FEDIHOOK_MISSKEYJS is set (.ci/test.sh sets it after
// npm ci --prefix testdata/misskeyapi), and then fails if the packages are
// missing.
func TestMisskeyJSDrivesTheAPI(t *testing.T) {
	if os.Getenv("FEDIHOOK_MISSKEYJS") == "" {
		t.Skip("FEDIHOOK_MISSKEYJS is not set; run: npm ci --prefix testdata/misskeyapi && FEDIHOOK_MISSKEYJS=1 go test")
	}
	root, err := filepath.Abs(misskeyAPIDir)
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "node_modules", "misskey-js", "package.json"))
	require.NoError(t, err, "misskey-js is not installed; run: npm ci --prefix testdata/misskeyapi")
	node, err := exec.LookPath("node")
	require.NoError(t, err)

	rc := &recorder{}
	receiver := httptest.NewServer(rc)
	defer receiver.Close()

	rule, err := webhook.ParseAllowRule("127.0.0.0/8")
	require.NoError(t, err)
	tr, err := webhook.NewHTTPTransport(&webhook.HTTPTransportConfig{AllowNetworks: []webhook.AllowRule{rule}})
	require.NoError(t, err)
	defer tr.CloseIdleConnections()
	d, err := webhook.New(nil, &webhook.Config{Host: "fedi.test", Transport: tr, MaxWebhooksPerUser: 2})
	require.NoError(t, err)
	defer func() { require.NoError(t, d.Shutdown(context.Background())) }()

	api := httptest.NewUnstartedServer(nil)
	origin := "http://" + api.Listener.Addr().String()
	name, icon := "fedi.test", origin+"/icon.png"
	policies := misskeyapi.DefaultRolePolicies()
	policies.WebhookLimit = 2
	h, err := misskeyapi.New(d, &misskeyapi.Config{
		Authenticate: func(_ context.Context, token string) (misskeyapi.Account, error) {
			switch token {
			case "tok-alice":
				return misskeyapi.Account{UserID: "9alice"}, nil
			case "tok-bob":
				return misskeyapi.Account{UserID: "9bob"}, nil
			case "tok-root":
				return misskeyapi.Account{UserID: "9root", Admin: true}, nil
			}
			return misskeyapi.Account{}, misskeyapi.ErrUnknownToken
		},
		Meta: &misskeyapi.Meta{URI: origin, Version: "2026.5.1", Name: &name, IconURL: &icon, Policies: policies},
		LookupUser: func(_ context.Context, q misskeyapi.UserQuery) (*misskey.UserDetailed, error) {
			if (q.ID == "9alice" || strings.EqualFold(q.Username, "alice")) && q.Host == "" {
				return detailedUser("9alice", "alice"), nil
			}
			return nil, misskeyapi.ErrUserNotFound
		},
	})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/", h)
	api.Config.Handler = mux
	api.Start()
	defer api.Close()

	// Compile into a directory of its own under generated/ (ignored by
	// git), from where node finds node_modules; kept when the test fails.
	gen := filepath.Join(root, "generated")
	require.NoError(t, os.MkdirAll(gen, 0o755))
	out, err := os.MkdirTemp(gen, "run-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(out)
		}
	})
	tsc := exec.CommandContext(t.Context(), filepath.Join(root, "node_modules", ".bin", "tsc"), "-p", root, "--outDir", out, "--pretty", "false")
	b, err := tsc.CombinedOutput()
	require.NoError(t, err, "tsc rejects e2e.ts:\n%s", b)

	run := exec.CommandContext(t.Context(), node, filepath.Join(out, "e2e.js"))
	run.Env = append(os.Environ(), "MK_ORIGIN="+origin, "MK_RECEIVER="+receiver.URL)
	b, err = run.CombinedOutput()
	t.Logf("misskey-js against the Handler:\n%s", b)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(strings.TrimSpace(string(b)), "PASS"), "the script did not finish")

	// The test sends reached the receiver, with Misskey's dummy bodies.
	got := rc.deliveries()
	require.Len(t, got, 3, "%+v", got)
	want := []struct {
		path, secret string
		event        webhook.Event
		userID       string
	}{
		{"/user", "s3cret", webhook.EventNote, "9alice"},
		{"/override", "over", webhook.EventMention, "9alice"},
		{"/system", "sys", webhook.EventAbuseReport, ""},
	}
	for i, w := range want {
		require.Equal(t, w.path, got[i].path)
		require.Equal(t, w.secret, got[i].secret)
		require.Equal(t, w.event, got[i].payload.Type)
		require.Equal(t, w.userID, got[i].payload.UserID)
		body, err := misskey.DummyBody(string(w.event))
		require.NoError(t, err)
		wantBody, err := webhook.EncodeBody(body)
		require.NoError(t, err)
		require.JSONEq(t, string(wantBody), string(got[i].payload.Body))
	}
}

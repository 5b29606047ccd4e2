package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type got struct {
	hookID string
	typ    webhook.Event
	body   json.RawMessage
}

func post(t *testing.T, base, path string, in any) (int, []byte) {
	t.Helper()
	b, err := json.Marshal(in)
	require.NoError(t, err)
	resp, err := http.Post(base+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func TestFediserverEmitsInTheSameTransaction(t *testing.T) {
	received := make(chan got, 64)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err == nil {
			received <- got{p.HookID, p.Type, p.Body}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()

	dbPath := filepath.Join(t.TempDir(), "fedi.db")
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-host", "fedi.example", "-allow-network", "127.0.0.0/8"}, ready)
	}()
	var base string
	select {
	case addr := <-ready:
		base = "http://" + addr
	case err := <-done:
		t.Fatalf("server did not start: %v", err)
	}

	hook := func(user string, on ...webhook.Event) string {
		status, out := post(t, base, "/api/i/webhooks/create", map[string]any{"userId": user, "name": user + "'s bot", "url": rcv.URL, "secret": "s", "on": on})
		require.Equal(t, 200, status, string(out))
		var w webhook.Webhook
		require.NoError(t, json.Unmarshal(out, &w))
		return w.ID
	}
	alice := hook("9alice", webhook.EventNote, webhook.EventFollow, webhook.EventReply)
	bob := hook("9bob", webhook.EventMention, webhook.EventFollowed)

	// Failures roll back: nothing is enqueued for them.
	status, _ := post(t, base, "/api/notes/create", map[string]any{"userId": "9nobody", "text": "hi"})
	require.Equal(t, 400, status)
	status, _ = post(t, base, "/api/notes/create", map[string]any{"userId": "9alice", "text": "@bob hi", "replyId": "missing"})
	require.Equal(t, 400, status, "the note insert and its emits roll back together")

	status, out := post(t, base, "/api/notes/create", map[string]any{"userId": "9alice", "text": "hello @bob"})
	require.Equal(t, 200, status, string(out))
	var created struct {
		CreatedNote misskey.Note `json:"createdNote"`
	}
	require.NoError(t, json.Unmarshal(out, &created))
	status, _ = post(t, base, "/api/notes/create", map[string]any{"userId": "9bob", "text": "welcome!", "replyId": created.CreatedNote.ID})
	require.Equal(t, 200, status)
	status, _ = post(t, base, "/api/following/create", map[string]any{"followerId": "9alice", "userId": "9bob"})
	require.Equal(t, 200, status)
	status, _ = post(t, base, "/api/following/create", map[string]any{"followerId": "9alice", "userId": "9bob"})
	require.Equal(t, 409, status, "a second follow fails and emits nothing")

	want := []string{
		alice + " follow", alice + " note", alice + " reply",
		bob + " followed", bob + " mention",
	}
	var gotList []string
	timeout := time.After(30 * time.Second) // a failure bound, not synchronisation
	for len(gotList) < len(want) {
		select {
		case g := <-received:
			gotList = append(gotList, g.hookID+" "+string(g.typ))
		case <-timeout:
			t.Fatalf("got %v, want %v", gotList, want)
		}
	}
	sort.Strings(gotList)
	require.Equal(t, want, gotList)

	cancel()
	require.NoError(t, <-done)

	// Exactly those deliveries were ever enqueued, all delivered.
	db, err := sql.Open("sqlite", "file:"+dbPath)
	require.NoError(t, err)
	defer db.Close()
	var n, pending int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM webhook_deliveries`).Scan(&n))
	require.Equal(t, len(want), n)
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM webhook_deliveries WHERE state = ?`, int(webhook.StatePending)).Scan(&pending))
	require.Zero(t, pending)
	select {
	case g := <-received:
		t.Fatalf("unexpected delivery %v", g)
	default:
	}
}

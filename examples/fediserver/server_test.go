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
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskey/misskeytest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type got struct {
	hookID string
	typ    webhook.Event
	body   json.RawMessage
	// path, secret and payload are the request's path and
	// X-Misskey-Hook-Secret, and the whole payload.
	path, secret string
	payload      webhook.Payload
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

// fedi is a running fediserver with a receiver for its webhooks.
type fedi struct {
	base     string
	dbPath   string
	rcvURL   string
	received chan got
	stop     func() error
}

// startFedi runs the server on a fresh database until stop is called, with
// users alice, bob and carol signing in with tok-alice, tok-bob and
// tok-carol, and root, an administrator, with tok-root; extra flags
// follow.
func startFedi(t *testing.T, extra ...string) *fedi {
	t.Helper()
	f := &fedi{received: make(chan got, 64), dbPath: filepath.Join(t.TempDir(), "fedi.db")}
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p webhook.Payload
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &p); err == nil {
			f.received <- got{hookID: p.HookID, typ: p.Type, body: p.Body, path: r.URL.Path,
				secret: r.Header.Get("X-Misskey-Hook-Secret"), payload: p}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		args := []string{"-addr", "127.0.0.1:0", "-db", f.dbPath, "-allow-network", "127.0.0.0/8",
			"-user", "alice:tok-alice", "-user", "bob:tok-bob", "-user", "carol:tok-carol", "-admin", "root:tok-root"}
		done <- run(ctx, append(args, extra...), ready)
	}()
	select {
	case addr := <-ready:
		f.base = "http://" + addr
	case err := <-done:
		cancel()
		t.Fatalf("server did not start: %v", err)
	}
	stopped := false
	f.stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = f.stop() })
	f.rcvURL = rcv.URL
	return f
}

// hook creates a webhook of user for events on, to the receiver.
func (f *fedi) hook(t *testing.T, user string, on ...webhook.Event) string {
	t.Helper()
	status, out := post(t, f.base, "/api/i/webhooks/create", map[string]any{"i": "tok-" + strings.TrimPrefix(user, "9"), "name": user + "'s bot", "url": f.rcvURL, "secret": "s", "on": on})
	require.Equal(t, 200, status, string(out))
	var w webhook.Webhook
	require.NoError(t, json.Unmarshal(out, &w))
	return w.ID
}

// wait returns the next n deliveries.
func (f *fedi) wait(t *testing.T, n int) []got {
	t.Helper()
	var all []got
	timeout := time.After(30 * time.Second) // a failure bound, not synchronisation
	for len(all) < n {
		select {
		case g := <-f.received:
			all = append(all, g)
		case <-timeout:
			t.Fatalf("got %d deliveries, want %d: %v", len(all), n, all)
		}
	}
	return all
}

func TestFediserverEmitsInTheSameTransaction(t *testing.T) {
	f := startFedi(t)
	base, dbPath := f.base, f.dbPath
	hook := func(user string, on ...webhook.Event) string { return f.hook(t, user, on...) }
	alice := hook("9alice", webhook.EventNote, webhook.EventFollow, webhook.EventReply)
	bob := hook("9bob", webhook.EventMention, webhook.EventFollowed)

	// Failures roll back: nothing is enqueued for them.
	status, out := post(t, base, "/api/notes/create", map[string]any{"i": "tok-nobody", "text": "hi"})
	require.Equal(t, 401, status)
	require.Contains(t, string(out), `"code":"AUTHENTICATION_FAILED"`)
	status, out = post(t, base, "/api/notes/create", map[string]any{"i": "tok-alice", "text": "@bob hi", "replyId": "missing"})
	require.Equal(t, 400, status, "the note and its emits are refused together")
	require.Contains(t, string(out), `"code":"NO_SUCH_REPLY_TARGET"`)

	status, out = post(t, base, "/api/notes/create", map[string]any{"i": "tok-alice", "text": "hello @bob"})
	require.Equal(t, 200, status, string(out))
	var created struct {
		CreatedNote misskey.Note `json:"createdNote"`
	}
	require.NoError(t, json.Unmarshal(out, &created))
	status, _ = post(t, base, "/api/notes/create", map[string]any{"i": "tok-bob", "text": "welcome!", "replyId": created.CreatedNote.ID})
	require.Equal(t, 200, status)
	status, out = post(t, base, "/api/following/create", map[string]any{"i": "tok-alice", "userId": "9bob"})
	require.Equal(t, 200, status)
	require.Contains(t, string(out), `"username":"bob"`, "Misskey answers the followee")
	status, out = post(t, base, "/api/following/create", map[string]any{"i": "tok-alice", "userId": "9bob"})
	require.Equal(t, 400, status, "a second follow fails and emits nothing")
	require.Contains(t, string(out), `"code":"ALREADY_FOLLOWING"`)

	want := []string{
		alice + " follow", alice + " note", alice + " reply",
		bob + " followed", bob + " mention",
	}
	var gotList []string
	for _, g := range f.wait(t, len(want)) {
		gotList = append(gotList, g.hookID+" "+string(g.typ))
	}
	sort.Strings(gotList)
	require.Equal(t, want, gotList)

	require.NoError(t, f.stop())

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
	case g := <-f.received:
		t.Fatalf("unexpected delivery %v", g)
	default:
	}
}

// TestFediserverBodiesHaveMisskeysKeys drives every handler that emits a
// user event and checks each body against the keys Misskey's packers write
// (misskeytest's lists, read from Misskey's source), and that parents
// travel with their notes, from the server's own database.
func TestFediserverBodiesHaveMisskeysKeys(t *testing.T) {
	f := startFedi(t)
	all := webhook.UserEvents()
	hooks := map[string]string{} // hook ID -> user
	for _, u := range []string{"9alice", "9bob", "9carol"} {
		hooks[f.hook(t, u, all...)] = u
	}
	create := func(in map[string]any) misskey.Note {
		t.Helper()
		status, out := post(t, f.base, "/api/notes/create", in)
		require.Equal(t, 200, status, string(out))
		var created struct {
			CreatedNote misskey.Note `json:"createdNote"`
		}
		require.NoError(t, json.Unmarshal(out, &created))
		return created.CreatedNote
	}
	hello := create(map[string]any{"i": "tok-alice", "text": "hello @bob"})
	reply := create(map[string]any{"i": "tok-bob", "text": "welcome!", "replyId": hello.ID})
	renote := create(map[string]any{"i": "tok-carol", "renoteId": hello.ID})
	quote := create(map[string]any{"i": "tok-carol", "text": "look", "renoteId": reply.ID})
	for _, step := range []struct {
		path   string
		in     map[string]any
		status int
	}{
		{"/api/notes/reactions/create", map[string]any{"i": "tok-bob", "noteId": hello.ID, "reaction": "❤"}, 204},
		{"/api/following/create", map[string]any{"i": "tok-alice", "userId": "9bob"}, 200},
		{"/api/following/delete", map[string]any{"i": "tok-alice", "userId": "9bob"}, 200},
	} {
		status, out := post(t, f.base, step.path, step.in)
		require.Equal(t, step.status, status, "%s: %s", step.path, out)
	}

	// Who gets what, as Misskey sends it.
	want := []string{
		"9alice note", "9bob mention", // hello @bob
		"9bob note", "9alice reply", // bob replies
		"9carol note", "9alice renote", // carol renotes alice's note
		"9carol note", "9bob renote", // and quotes bob's reply
		"9alice reaction",
		"9alice follow", "9bob followed",
		"9alice unfollow",
	}
	deliveries := f.wait(t, len(want))
	var gotList []string
	bodies := map[string]json.RawMessage{} // "user event note-or-user id" -> body
	var typed []misskeytest.Body
	for _, g := range deliveries {
		typed = append(typed, misskeytest.Body{Event: string(g.typ), JSON: g.body})
		user := hooks[g.hookID]
		gotList = append(gotList, user+" "+string(g.typ))
		require.NoError(t, misskeytest.CheckBody(string(g.typ), g.body), "%s %s", user, g.typ)
		var b struct {
			Note struct {
				ID string `json:"id"`
			} `json:"note"`
		}
		require.NoError(t, json.Unmarshal(g.body, &b))
		bodies[user+" "+string(g.typ)+" "+b.Note.ID] = g.body
	}
	sort.Strings(gotList)
	sort.Strings(want)
	require.Equal(t, want, gotList)
	misskeytest.RequireTypes(t, "../../testdata/misskeyjs", typed)

	// Parents travel: the reply holds alice's note, the renote too, and
	// the quote holds bob's reply, which holds alice's note in turn.
	var nb misskey.NoteBody
	require.NoError(t, json.Unmarshal(bodies["9alice reply "+reply.ID], &nb))
	require.Equal(t, hello.ID, nb.Note.Reply.ID)
	require.Equal(t, "hello @bob", *nb.Note.Reply.Text)
	require.NoError(t, json.Unmarshal(bodies["9bob note "+reply.ID], &nb), "the note event of a reply has its parent too")
	require.Equal(t, hello.ID, nb.Note.Reply.ID)
	require.NoError(t, json.Unmarshal(bodies["9alice renote "+renote.ID], &nb))
	require.Nil(t, nb.Note.Text, "a pure renote has no text")
	require.Equal(t, hello.ID, nb.Note.Renote.ID)
	require.NoError(t, json.Unmarshal(bodies["9bob renote "+quote.ID], &nb))
	require.Equal(t, reply.ID, nb.Note.Renote.ID)
	require.Equal(t, hello.ID, nb.Note.Renote.Reply.ID)
	require.NoError(t, json.Unmarshal(bodies["9bob mention "+hello.ID], &nb))
	require.Equal(t, []string{"9bob"}, nb.Note.Mentions)

	var rb misskey.ReactionBody
	require.NoError(t, json.Unmarshal(bodies["9alice reaction "+hello.ID], &rb))
	require.Equal(t, "❤", rb.Reaction.Reaction)
	require.Equal(t, "9bob", rb.Reaction.User.ID)
	require.NotEmpty(t, rb.Reaction.ID)
	require.Equal(t, map[string]int{"❤": 1}, rb.Note.Reactions)
	require.Equal(t, 1, rb.Note.ReactionCount)

	var ub misskey.UserBody
	require.NoError(t, json.Unmarshal(bodies["9alice follow "], &ub))
	followee := ub.User.(*misskey.UserDetailed)
	require.Equal(t, "9bob", followee.ID)
	require.True(t, followee.Relation.IsFollowing)
	require.False(t, followee.Relation.IsFollowed, "bob does not follow alice")
	require.NoError(t, json.Unmarshal(bodies["9alice unfollow "], &ub))
	require.False(t, ub.User.(*misskey.UserDetailed).Relation.IsFollowing)
	require.NoError(t, json.Unmarshal(bodies["9bob followed "], &ub))
	require.IsType(t, &misskey.User{}, ub.User)
	require.Equal(t, "9alice", ub.User.Lite().ID)

	// Bad input emits nothing.
	for _, step := range []struct {
		path string
		in   map[string]any
	}{
		{"/api/notes/reactions/create", map[string]any{"i": "tok-bob", "noteId": hello.ID, "reaction": "👍"}}, // one per user
		{"/api/notes/reactions/create", map[string]any{"i": "tok-bob", "noteId": "missing", "reaction": "👍"}},
		{"/api/following/delete", map[string]any{"i": "tok-alice", "userId": "9bob"}},
		{"/api/notes/create", map[string]any{"i": "tok-bob", "renoteId": "missing"}},
	} {
		status, out := post(t, f.base, step.path, step.in)
		require.NotEqual(t, 200, status, "%s %v: %s", step.path, step.in, out)
	}
	require.NoError(t, f.stop())
	select {
	case g := <-f.received:
		t.Fatalf("unexpected delivery %v", g)
	default:
	}
}

package verify_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
	"github.com/fedihook/webhook/webhooktest"
)

// standardWebhooksDir holds package.json and package-lock.json pinning
// the npm packages standardwebhooks and svix, and verify.mjs, which runs
// their Webhook.verify over requests given as JSON lines.
const standardWebhooksDir = "../testdata/standardwebhooks"

// A npmCase is one request for the npm verifiers, with the verdict
// expected from them and from VerifySignature alike.
type npmCase struct {
	name   string
	secret string
	header http.Header
	body   []byte
	ok     bool
}

// TestStandardWebhooksNPMVerifies signs requests with a real Dispatcher
// (through webhooktest's Transport, on the system clock, since the npm
// libraries check timestamps against the real time with a fixed 5
// minute tolerance) and has the npm packages standardwebhooks and svix,
// which receivers run, verify them: they must accept the genuine ones,
// rotation included, and reject tampered or stale ones, as
// VerifySignature does.
//
// It needs testdata/standardwebhooks/node_modules: run
// npm ci --prefix testdata/standardwebhooks. Without it the test is
// skipped, or fails when CI=true or FEDIHOOK_MISSKEYJS=1.
func TestStandardWebhooksNPMVerifies(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs(standardWebhooksDir)
	require.NoError(t, err)
	msg := "the standardwebhooks npm package is not installed; run: npm ci --prefix testdata/standardwebhooks"
	_, modErr := os.Stat(filepath.Join(root, "node_modules", "standardwebhooks", "package.json"))
	node, nodeErr := exec.LookPath("node")
	if modErr != nil || nodeErr != nil {
		if nodeErr != nil {
			msg = "node is not on the PATH; install Node.js, then run: npm ci --prefix testdata/standardwebhooks"
		}
		if os.Getenv("CI") == "true" || os.Getenv("FEDIHOOK_MISSKEYJS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}

	cases := npmCases(t)
	for _, lib := range []string{"standardwebhooks", "svix"} {
		t.Run(lib, func(t *testing.T) {
			t.Parallel()
			verdicts := runNPMVerifier(t, node, root, lib, cases)
			for i, c := range cases {
				if c.ok {
					require.Equal(t, "ok", verdicts[i], "%s: %s must accept it", c.name, lib)
				} else {
					require.True(t, strings.HasPrefix(verdicts[i], "fail"), "%s: %s must reject it, said %q", c.name, lib, verdicts[i])
				}
			}
		})
	}
	// Our verifier agrees on every case.
	for _, c := range cases {
		err := verify.VerifySignature(c.header, c.body, time.Now(), 0, c.secret)
		if c.ok {
			require.NoError(t, err, c.name)
		} else {
			require.Error(t, err, c.name)
		}
	}
}

// npmCases returns the requests to verify: signed by a real Dispatcher,
// then some of them tampered with.
func npmCases(t *testing.T) []npmCase {
	t.Helper()
	ctx := t.Context()
	tr := webhooktest.NewTransport()
	systemSecret := webhook.NewSigningSecret()
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", Transport: tr, SigningSecret: systemSecret})
	require.NoError(t, err)
	t.Cleanup(func() { _ = d.Shutdown(context.Background()) })

	plain, current, previous := webhook.NewSigningSecret(), webhook.NewSigningSecret(), webhook.NewSigningSecret()
	create := func(w *webhook.Webhook) *webhook.Webhook {
		w.Name, w.URL, w.Secret, w.Active = "npm check", "https://receiver.test/"+w.UserID, "plain", true
		h, err := d.CreateHook(ctx, w)
		require.NoError(t, err)
		return h
	}
	signed := create(&webhook.Webhook{UserID: "alice", On: []webhook.Event{webhook.EventNote}, SigningSecret: plain})
	rotating := create(&webhook.Webhook{UserID: "bob", On: []webhook.Event{webhook.EventNote}, SigningSecret: current,
		PreviousSigningSecrets: []webhook.PreviousSecret{{Secret: previous, Expires: time.Now().Add(time.Hour)}}})
	system := create(&webhook.Webhook{On: []webhook.Event{webhook.EventUserCreated}})

	note, err := misskey.DummyBody(string(webhook.EventNote))
	require.NoError(t, err)
	// A host's own body, with what JSON.stringify and encoding/json
	// might write differently: non-ASCII, U+2028, HTML characters,
	// escapes.
	own := map[string]any{"text": "héllo 🎉 \u2028 <b>&amp;</b> \"q\" \\ \t", "n": 1.5e-7}
	user, err := misskey.DummyBody(string(webhook.EventUserCreated))
	require.NoError(t, err)
	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, note))
	require.NoError(t, d.Emit(ctx, "alice", webhook.EventNote, own))
	require.NoError(t, d.Emit(ctx, "bob", webhook.EventNote, note))
	require.NoError(t, d.EmitSystem(ctx, webhook.EventUserCreated, user))
	_, err = d.Drain(ctx)
	require.NoError(t, err)

	toAlice := tr.To(signed.ID)
	require.Len(t, toAlice, 2)
	toBob := tr.To(rotating.ID)
	require.Len(t, toBob, 1)
	require.Len(t, strings.Fields(toBob[0].Header.Get(webhook.HeaderWebhookSignature)), 2, "two signatures while rotating")
	toSystem := tr.To(system.ID)
	require.Len(t, toSystem, 1)

	get := func(r webhooktest.Received) (http.Header, []byte) { return r.Header.Clone(), bytes.Clone(r.Body) }
	var cases []npmCase
	add := func(name, secret string, h http.Header, body []byte, ok bool) {
		cases = append(cases, npmCase{name: name, secret: secret, header: h, body: body, ok: ok})
	}

	h, b := get(toAlice[0])
	add("dummy note", plain, h, b, true)
	h, b = get(toAlice[1])
	add("host's own body with non-ASCII and escapes", plain, h, b, true)
	h, b = get(toBob[0])
	add("rotation, by the current secret", current, h, b, true)
	add("rotation, by the previous secret", previous, h, b, true)
	add("rotation, by another secret", plain, h, b, false)
	h, b = get(toSystem[0])
	add("system event, Config.SigningSecret", systemSecret, h, b, true)

	h, b = get(toAlice[0])
	b[bytes.IndexByte(b, ':')+2] ^= 1
	add("tampered: one byte of the body", plain, h, b, false)
	h, b = get(toAlice[0])
	add("tampered: a trailing newline", plain, h, append(b, '\n'), false)
	h, b = get(toAlice[0])
	add("wrong secret", current, h, b, false)
	h, b = get(toAlice[0])
	h.Set(webhook.HeaderWebhookID, h.Get(webhook.HeaderWebhookID)+"0")
	add("tampered: webhook-id", plain, h, b, false)
	h, b = get(toAlice[0])
	ts, err := strconv.ParseInt(h.Get(webhook.HeaderWebhookTimestamp), 10, 64)
	require.NoError(t, err)
	h.Set(webhook.HeaderWebhookTimestamp, strconv.FormatInt(ts-1, 10))
	add("tampered: webhook-timestamp", plain, h, b, false)
	h, b = get(toBob[0])
	h.Set(webhook.HeaderWebhookSignature, strings.Fields(h.Get(webhook.HeaderWebhookSignature))[0][:30])
	add("truncated signature", current, h, b, false)
	h, b = get(toAlice[0])
	h.Del(webhook.HeaderWebhookSignature)
	add("no signature", plain, h, b, false)

	// Signed right, but ten minutes ago: stale for both.
	key, err := webhook.ParseSigningSecret(plain)
	require.NoError(t, err)
	h, b = get(toAlice[0])
	old := time.Now().Add(-10 * time.Minute).Unix()
	h.Set(webhook.HeaderWebhookTimestamp, strconv.FormatInt(old, 10))
	h.Set(webhook.HeaderWebhookSignature, webhook.Sign(key, h.Get(webhook.HeaderWebhookID), old, b))
	add("stale timestamp", plain, h, b, false)
	// The self-check of the stale case: the same, two minutes ago.
	h = h.Clone()
	recent := time.Now().Add(-2 * time.Minute).Unix()
	h.Set(webhook.HeaderWebhookTimestamp, strconv.FormatInt(recent, 10))
	h.Set(webhook.HeaderWebhookSignature, webhook.Sign(key, h.Get(webhook.HeaderWebhookID), recent, b))
	add("re-signed two minutes ago", plain, h, b, true)
	return cases
}

// runNPMVerifier runs verify.mjs with lib over cases and returns its
// verdicts, one per case.
func runNPMVerifier(t *testing.T, node, root, lib string, cases []npmCase) []string {
	t.Helper()
	var in bytes.Buffer
	enc := json.NewEncoder(&in)
	for _, c := range cases {
		require.True(t, utf8.Valid(c.body), "%s: the body travels as a JSON string", c.name)
		headers := map[string]string{}
		for k, v := range c.header {
			headers[strings.ToLower(k)] = strings.Join(v, ", ")
		}
		require.NoError(t, enc.Encode(map[string]any{"secret": c.secret, "headers": headers, "body": string(c.body)}))
	}
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(root, "verify.mjs"), lib)
	cmd.Dir = root
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node verify.mjs %s: %s", lib, stderr.String())
	var verdicts []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		verdicts = append(verdicts, sc.Text())
	}
	require.NoError(t, sc.Err())
	require.Len(t, verdicts, len(cases), "one verdict per request:\n%s", out)
	return verdicts
}

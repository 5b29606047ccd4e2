package verify_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
)

// fuzzSecond is a second candidate secret of FuzzVerifySignature.
const fuzzSecond = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZn" // 33 bytes

// In FuzzVerifySignature's signature header, sigByFirst and sigBySecond
// stand for the right signature by the first or second secret, so that
// the fuzzer explores accepted requests as well as rejected ones.
const (
	sigByFirst  = "$1"
	sigBySecond = "$2"
)

// FuzzVerifySignature checks that VerifySignature never panics, returns
// only its sentinel errors, and accepts a request exactly when one of its
// v1 entries is what webhook.Sign computes with one of the secrets.
func FuzzVerifySignature(f *testing.F) {
	ts := strconv.Itoa(vectorTS)
	for _, seed := range []struct{ id, ts, sig, body string }{
		{vectorID, ts, vectorSig, vectorBody},
		{vectorID, ts, vectorSig, vectorBody + " "},
		{vectorID, ts, "v1,", vectorBody},
		{vectorID, ts, vectorSig[:20], vectorBody},
		{vectorID, ts, "v1,AAAA " + vectorSig, vectorBody},
		{vectorID, ts, "v2,x v1a,y v1," + vectorSig[3:], vectorBody},
		{vectorID, ts, sigByFirst, `{"a":1}`},
		{vectorID, ts, "v1,bad " + sigBySecond, `{"a":1}`},
		{vectorID, ts, sigByFirst + " " + sigBySecond, ""},
		{"", ts, vectorSig, vectorBody},
		{vectorID, "", vectorSig, vectorBody},
		{vectorID, ts, "", vectorBody},
		{vectorID, "0" + ts, vectorSig, vectorBody},
		{vectorID, "-1", sigByFirst, vectorBody},
		{vectorID, "9223372036854775807", sigByFirst, vectorBody},
		{vectorID, "9223372036854775808", sigByFirst, vectorBody},
		{"a.b", "1", sigByFirst, "\xff\x00"},
		{"id with spaces", ts, "  v1,  " + sigByFirst + "  ", "{}"},
	} {
		f.Add(seed.id, seed.ts, seed.sig, []byte(seed.body))
	}
	first, err := webhook.ParseSigningSecret(vectorSecret)
	require.NoError(f, err)
	second, err := webhook.ParseSigningSecret(fuzzSecond)
	require.NoError(f, err)
	keys := [][]byte{first, second}

	f.Fuzz(func(t *testing.T, id, tsText, sig string, body []byte) {
		ts, tsErr := strconv.ParseInt(tsText, 10, 64)
		if tsErr == nil {
			sig = strings.ReplaceAll(sig, sigByFirst, webhook.Sign(first, id, ts, body))
			sig = strings.ReplaceAll(sig, sigBySecond, webhook.Sign(second, id, ts, body))
		}
		h := signedHeader(id, tsText, sig)
		err := verify.VerifySignature(h, body, time.Unix(vectorTS, 0), verify.NoTolerance, vectorSecret, fuzzSecond)

		// The oracle: some entry equals a signature made by webhook.Sign.
		match := false
		if tsErr == nil && id != "" {
			for entry := range strings.SplitSeq(sig, " ") {
				for _, key := range keys {
					match = match || entry == webhook.Sign(key, id, ts, body)
				}
			}
		}
		switch {
		case err == nil:
			require.True(t, match, "accepted, but no entry is a signature by either secret")
			require.Equal(t, tsText, strconv.FormatInt(ts, 10), "accepted a timestamp in a non-canonical form")
		case errors.Is(err, verify.ErrBadSignature):
			require.False(t, match, "rejected a right signature: %v", err)
		case errors.Is(err, verify.ErrMissingHeader), errors.Is(err, verify.ErrMalformedHeader):
		default:
			t.Fatalf("unexpected error %v", err)
		}
		if err != nil {
			require.True(t, strings.HasPrefix(err.Error(), "webhook: verify: "), err.Error())
		}

		// With the default tolerance, at a fixed time: no panic, and only
		// timestamps within 5 minutes of it may pass.
		now := time.Unix(vectorTS, 0)
		err = verify.VerifySignature(h, body, now, 0, vectorSecret, fuzzSecond)
		if err == nil {
			require.LessOrEqual(t, max(ts-vectorTS, vectorTS-ts), int64(verify.DefaultTolerance/time.Second))
		}
	})
}

// FuzzParsePayload checks that ParsePayload never panics, that every
// error matches ErrMalformedPayload, and that an accepted payload's
// fields are those encoding/json finds in the same bytes and survive a
// round trip through json.Marshal.
func FuzzParsePayload(f *testing.F) {
	for _, s := range []string{
		userPayload,
		systemPayload,
		`{}`,
		``,
		`[]`,
		`null`,
		`{"server":"s","hookId":"h","userId":"u","eventId":"e","createdAt":1,"type":"note","body":{},"type":"note"}`,
		`{"server":"s","hookId":"h","eventId":"e","createdAt":1e3,"type":"userCreated","body":{}}`,
		`{"server":"s","hookId":"h","eventId":"e","createdAt":1,"type":"userCreated","body":{}} {}`,
		`{"ser\u0076er":"s","hookId":"\ud800","eventId":"e\u0000","createdAt":-0,"type":"userCreated","body":{"x":[1,2,{"y":null}]}}`,
		`{"Server":"s","hookId":"h","eventId":"e","createdAt":1,"type":"userCreated","body":{}}`,
		`{"server":"s","hookId":"h","userId":"u","eventId":"e","createdAt":1,"type":"reaction","body":{"note":{}},"x":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`,
	} {
		f.Add([]byte(s))
	}
	// What a Dispatcher writes, for a user and a system webhook.
	for _, user := range []string{"9alice", ""} {
		e := webhook.EventMention
		if user == "" {
			e = webhook.EventAbuseReportResolved
		}
		body, err := misskey.DummyBody(string(e))
		require.NoError(f, err)
		b, err := webhook.EncodeBody(body)
		require.NoError(f, err)
		f.Add(webhook.AppendPayload(nil, &webhook.Delivery{ID: uuid.New(), HookID: "9hook", UserID: user, Type: e,
			Server: "https://example.tld", CreatedAt: time.UnixMilli(1735787045123), Body: b}))
	}

	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := verify.ParsePayload(in)
		if err != nil {
			require.Nil(t, p)
			require.ErrorIs(t, err, verify.ErrMalformedPayload)
			return
		}
		// encoding/json sees the same required fields in the same bytes.
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(in, &m), "accepted what encoding/json rejects")
		str := func(k string) string {
			var s string
			require.NoError(t, json.Unmarshal(m[k], &s), k)
			return s
		}
		require.Equal(t, str("server"), p.Server)
		require.Equal(t, str("hookId"), p.HookID)
		require.Equal(t, str("eventId"), p.EventID)
		require.Equal(t, str("type"), string(p.Type))
		createdAt, err := strconv.ParseInt(string(m["createdAt"]), 10, 64)
		require.NoError(t, err)
		require.Equal(t, createdAt, p.CreatedAt)
		require.Equal(t, string(m["body"]), string(p.Body), "the body's raw bytes")
		require.True(t, p.Type.Valid())
		require.NotEmpty(t, p.Server)
		require.NotEmpty(t, p.HookID)
		require.NotEmpty(t, p.EventID)
		if p.Type.IsUser() {
			require.Equal(t, str("userId"), p.UserID)
			require.NotEmpty(t, p.UserID)
		} else {
			require.NotContains(t, m, "userId")
			require.Empty(t, p.UserID)
		}

		// Re-encoded, it parses to the same fields.
		b, err := json.Marshal(p)
		require.NoError(t, err)
		q, err := verify.ParsePayload(b)
		require.NoError(t, err, "%s", b)
		require.Equal(t, p.Server, q.Server)
		require.Equal(t, p.HookID, q.HookID)
		require.Equal(t, p.UserID, q.UserID)
		require.Equal(t, p.EventID, q.EventID)
		require.Equal(t, p.CreatedAt, q.CreatedAt)
		require.Equal(t, p.Type, q.Type)
		var compact bytes.Buffer
		require.NoError(t, json.Compact(&compact, p.Body))
		require.JSONEq(t, compact.String(), string(q.Body))
	})
}

package verify_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/verify"
)

// The test vector published with the Standard Webhooks specification.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

// vectorTime is the vector's timestamp as a time.
var vectorTime = time.Unix(vectorTS, 0)

// signedHeader returns the Standard Webhooks headers with the given
// values; an empty value leaves its header out.
func signedHeader(id, ts, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set(webhook.HeaderWebhookID, id)
	}
	if ts != "" {
		h.Set(webhook.HeaderWebhookTimestamp, ts)
	}
	if sig != "" {
		h.Set(webhook.HeaderWebhookSignature, sig)
	}
	return h
}

func vectorHeader() http.Header {
	return signedHeader(vectorID, strconv.Itoa(vectorTS), vectorSig)
}

func TestVerifySignatureAcceptsPublishedVector(t *testing.T) {
	t.Parallel()
	// Years later, with the tolerance disabled.
	require.NoError(t, verify.VerifySignature(vectorHeader(), []byte(vectorBody),
		time.Now(), verify.NoTolerance, vectorSecret))
	// At the time it was signed, and within the tolerance either way.
	for _, now := range []time.Time{
		vectorTime,
		vectorTime.Add(verify.DefaultTolerance),
		vectorTime.Add(-verify.DefaultTolerance),
	} {
		require.NoError(t, verify.VerifySignature(vectorHeader(), []byte(vectorBody), now, 0, vectorSecret), now)
	}
	// Header names are case-insensitive, as the spec writes them.
	h := http.Header{}
	h.Add("webhook-id", vectorID)
	h.Add("WEBHOOK-TIMESTAMP", strconv.Itoa(vectorTS))
	h.Add("webhook-signature", vectorSig)
	require.NoError(t, verify.VerifySignature(h, []byte(vectorBody), vectorTime, 0, vectorSecret))
}

func TestVerifySignatureRejects(t *testing.T) {
	t.Parallel()
	ts := strconv.Itoa(vectorTS)
	otherSecret := "whsec_" + strings.Repeat("QUFB", 8) // 24 bytes of "A"
	for _, tc := range []struct {
		name      string
		h         http.Header
		body      string
		now       time.Time
		tolerance time.Duration
		secrets   []string
		want      error
		msg       string // substring of the error, if set
	}{
		{name: "changed byte in body", h: vectorHeader(), body: `{"test": 2432232315}`, want: verify.ErrBadSignature},
		{name: "added space in body", h: vectorHeader(), body: vectorBody + " ", want: verify.ErrBadSignature},
		{name: "empty body", h: vectorHeader(), body: "", want: verify.ErrBadSignature},
		{name: "changed id", h: signedHeader(vectorID+"x", ts, vectorSig), want: verify.ErrBadSignature},
		{name: "changed timestamp", h: signedHeader(vectorID, strconv.Itoa(vectorTS+1), vectorSig), want: verify.ErrBadSignature},
		{name: "other secret", h: vectorHeader(), secrets: []string{otherSecret}, want: verify.ErrBadSignature},
		{name: "changed signature byte", h: signedHeader(vectorID, ts, strings.Replace(vectorSig, "g0h", "g0i", 1)), want: verify.ErrBadSignature},
		{name: "partial v1,", h: signedHeader(vectorID, ts, "v1,"), want: verify.ErrBadSignature},
		{name: "truncated base64", h: signedHeader(vectorID, ts, vectorSig[:len(vectorSig)-1]), want: verify.ErrBadSignature},
		{name: "half the base64", h: signedHeader(vectorID, ts, vectorSig[:24]), want: verify.ErrBadSignature},
		{name: "extra base64", h: signedHeader(vectorID, ts, vectorSig+"A"), want: verify.ErrBadSignature},
		{name: "v1 alone", h: signedHeader(vectorID, ts, "v1"), want: verify.ErrBadSignature, msg: "no v1 signature"},
		{name: "other version only", h: signedHeader(vectorID, ts, "v1a,"+vectorSig[3:]), want: verify.ErrBadSignature, msg: "no v1 signature"},
		{name: "right signature under another version", h: signedHeader(vectorID, ts, "v2,"+vectorSig[3:]), want: verify.ErrBadSignature},
		{name: "signature with no version", h: signedHeader(vectorID, ts, vectorSig[3:]), want: verify.ErrBadSignature},
		{name: "upper-case version", h: signedHeader(vectorID, ts, "V1,"+vectorSig[3:]), want: verify.ErrBadSignature},
		{name: "comma-separated list", h: signedHeader(vectorID, ts, "v1,AAAA,"+vectorSig), want: verify.ErrBadSignature},
		{name: "blank signature", h: signedHeader(vectorID, ts, "   "), want: verify.ErrMissingHeader, msg: "webhook-signature"},
		{name: "missing webhook-id", h: signedHeader("", ts, vectorSig), want: verify.ErrMissingHeader, msg: "missing header webhook-id"},
		{name: "missing webhook-timestamp", h: signedHeader(vectorID, "", vectorSig), want: verify.ErrMissingHeader, msg: "missing header webhook-timestamp"},
		{name: "missing webhook-signature", h: signedHeader(vectorID, ts, ""), want: verify.ErrMissingHeader, msg: "missing header webhook-signature"},
		{name: "no headers", h: http.Header{}, want: verify.ErrMissingHeader},
		{name: "timestamp not a number", h: signedHeader(vectorID, "yesterday", vectorSig), want: verify.ErrMalformedHeader, msg: "webhook-timestamp"},
		{name: "timestamp with fraction", h: signedHeader(vectorID, ts+".5", vectorSig), want: verify.ErrMalformedHeader},
		{name: "timestamp in milliseconds overflowing", h: signedHeader(vectorID, "99999999999999999999", vectorSig), want: verify.ErrMalformedHeader},
		{name: "timestamp with sign", h: signedHeader(vectorID, "+"+ts, vectorSig), want: verify.ErrMalformedHeader},
		{name: "negative timestamp", h: signedHeader(vectorID, "-"+ts, vectorSig), want: verify.ErrMalformedHeader},
		{name: "timestamp with leading zero", h: signedHeader(vectorID, "0"+ts, vectorSig), want: verify.ErrMalformedHeader},
		{name: "timestamp with trailing garbage", h: signedHeader(vectorID, ts+"abc", vectorSig), want: verify.ErrMalformedHeader},
		{name: "stale timestamp", h: vectorHeader(), now: vectorTime.Add(verify.DefaultTolerance + time.Second),
			want: verify.ErrStaleTimestamp, msg: "stale timestamp: 5m1s old, over the tolerance of 5m0s"},
		{name: "stale by an hour, tolerance 1m", h: vectorHeader(), now: vectorTime.Add(time.Hour), tolerance: time.Minute,
			want: verify.ErrStaleTimestamp, msg: "1h0m0s old"},
		{name: "timestamp in the future", h: vectorHeader(), now: vectorTime.Add(-verify.DefaultTolerance - time.Second),
			want: verify.ErrStaleTimestamp, msg: "5m1s in the future"},
		{name: "stale years later with default tolerance", h: vectorHeader(), now: time.Now(), want: verify.ErrStaleTimestamp},
		{name: "stale and badly signed: the timestamp is checked first", h: vectorHeader(), body: "{}", now: time.Now(),
			want: verify.ErrStaleTimestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := vectorBody
			if tc.body != "" || strings.HasPrefix(tc.name, "empty body") {
				body = tc.body
			}
			now := tc.now
			if now.IsZero() {
				now = vectorTime
			}
			secrets := tc.secrets
			if secrets == nil {
				secrets = []string{vectorSecret}
			}
			err := verify.VerifySignature(tc.h, []byte(body), now, tc.tolerance, secrets...)
			require.ErrorIs(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "webhook: verify: "), err.Error())
			if tc.msg != "" {
				require.ErrorContains(t, err, tc.msg)
			}
			for _, s := range secrets {
				require.NotContains(t, err.Error(), s[len("whsec_"):])
			}
		})
	}
}

func TestVerifySignatureList(t *testing.T) {
	t.Parallel()
	ts := strconv.Itoa(vectorTS)
	bad := "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	for _, sig := range []string{
		bad + " " + vectorSig,                     // only the second entry is valid
		"v2,whatever " + vectorSig,                // an unknown version first
		"v1a,xyz v1, " + bad + " " + vectorSig,    // junk before it
		vectorSig + " " + bad,                     // valid first
		bad + "  " + vectorSig,                    // two spaces
		"v1,AAAA v1,g0hM9SsE v1,/// " + vectorSig, // partial and truncated ones first
	} {
		require.NoError(t, verify.VerifySignature(signedHeader(vectorID, ts, sig), []byte(vectorBody), vectorTime, 0, vectorSecret), sig)
	}
	// The list may come as several header lines too.
	h := signedHeader(vectorID, ts, bad)
	h.Add(webhook.HeaderWebhookSignature, vectorSig)
	require.NoError(t, verify.VerifySignature(h, []byte(vectorBody), vectorTime, 0, vectorSecret))

	err := verify.VerifySignature(signedHeader(vectorID, ts, bad+" "+bad), []byte(vectorBody), vectorTime, 0, vectorSecret)
	require.ErrorIs(t, err, verify.ErrBadSignature)
}

// A receiver lists the new and the old secret while the sender rotates;
// a request signed by either, or by both, verifies.
func TestVerifySignatureRotation(t *testing.T) {
	t.Parallel()
	oldSecret, newSecret, unknown := vectorSecret, webhook.NewSigningSecret(), webhook.NewSigningSecret()
	oldKey, err := webhook.ParseSigningSecret(oldSecret)
	require.NoError(t, err)
	newKey, err := webhook.ParseSigningSecret(newSecret)
	require.NoError(t, err)
	body := []byte(`{"hello":"world"}`)
	ts := strconv.Itoa(vectorTS)
	byOld := webhook.Sign(oldKey, vectorID, vectorTS, body)
	byNew := webhook.Sign(newKey, vectorID, vectorTS, body)

	for _, tc := range []struct {
		sig     string
		secrets []string
		ok      bool
	}{
		{byNew + " " + byOld, []string{newSecret, oldSecret}, true},
		{byNew + " " + byOld, []string{oldSecret, newSecret}, true},
		{byNew + " " + byOld, []string{newSecret}, true},
		{byNew + " " + byOld, []string{oldSecret}, true},
		{byOld, []string{newSecret, oldSecret}, true},
		{byNew, []string{oldSecret, newSecret}, true},
		{byNew, []string{oldSecret}, false},
		{byOld, []string{newSecret}, false},
		{byNew + " " + byOld, []string{unknown}, false},
		{byNew + " " + byOld, []string{unknown, unknown}, false},
	} {
		err := verify.VerifySignature(signedHeader(vectorID, ts, tc.sig), body, vectorTime, 0, tc.secrets...)
		if tc.ok {
			require.NoError(t, err)
		} else {
			require.ErrorIs(t, err, verify.ErrBadSignature)
		}
	}
}

func TestVerifySignatureBadArguments(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		tolerance time.Duration
		secrets   []string
		msg       string
	}{
		{"no secret", 0, nil, "VerifySignature needs at least one signing secret"},
		{"secret without prefix", 0, []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, `signing secret[0]: signing secret must start with "whsec_"`},
		{"second secret too short", 0, []string{vectorSecret, "whsec_QUFB"}, "signing secret[1]: signing secret must hold 24 to 64 bytes, got 3"},
		{"secret not base64", 0, []string{"whsec_!!!!"}, "signing secret[0]: signing secret is not standard padded base64"},
		{"negative tolerance", -time.Second, []string{vectorSecret}, "tolerance must be > 0, 0 for DefaultTolerance or NoTolerance, got -1s"},
		{"tolerance of -2ns", -2, []string{vectorSecret}, "tolerance must be > 0, 0 for DefaultTolerance or NoTolerance, got -2ns"},
	} {
		err := verify.VerifySignature(vectorHeader(), []byte(vectorBody), vectorTime, tc.tolerance, tc.secrets...)
		require.ErrorIs(t, err, webhook.ErrInvalid, tc.name)
		require.ErrorContains(t, err, "webhook: verify: "+tc.msg, tc.name)
		require.NotContains(t, err.Error(), "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", tc.name)
	}
}

package verify_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/verify"
)

// benchRequest returns the body of a signed note delivery as a
// Dispatcher sends it (about 700 bytes), and a function that runs a
// Middleware's checks on it: secret, signature and payload.
func benchRequest(b *testing.B) ([]byte, func() error) {
	secret := webhook.NewSigningSecret()
	key, err := webhook.ParseSigningSecret(secret)
	require.NoError(b, err)
	body, err := misskey.DummyBody(string(webhook.EventNote))
	require.NoError(b, err)
	enc, err := webhook.EncodeBody(body)
	require.NoError(b, err)
	now := time.Unix(1_750_000_000, 0)
	payload := []byte(`{"server":"https://example.tld","hookId":"9hook","userId":"9alice","eventId":"0b6a4a3e-6f42-4b0e-9c1e-4f6d1c2b3a4d","createdAt":1750000000000,"type":"note","body":` + string(enc) + `}`)
	h := signedHeader("0b6a4a3e-6f42-4b0e-9c1e-4f6d1c2b3a4d", strconv.FormatInt(now.Unix(), 10),
		webhook.Sign(key, "0b6a4a3e-6f42-4b0e-9c1e-4f6d1c2b3a4d", now.Unix(), payload))
	h.Set(verify.HeaderHookSecret, "plain")
	m, err := verify.New(&verify.Config{Secret: "plain", SigningSecrets: []string{secret}, Now: func() time.Time { return now }})
	require.NoError(b, err)
	return payload, func() error { _, err := m.Check(h, payload); return err }
}

func BenchmarkCheck(b *testing.B) {
	payload, check := benchRequest(b)
	require.NoError(b, check())
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if err := check(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePayload(b *testing.B) {
	payload, _ := benchRequest(b)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verify.ParsePayload(payload); err != nil {
			b.Fatal(err)
		}
	}
}

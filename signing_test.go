package webhook_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

// The test vector published with the Standard Webhooks specification.
const (
	vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTS     = 1614265330
	vectorBody   = `{"test": 2432232314}`
	vectorSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignReproducesPublishedVector(t *testing.T) {
	t.Parallel()
	key, err := webhook.ParseSigningSecret(vectorSecret)
	require.NoError(t, err)
	require.Equal(t, vectorSig, webhook.Sign(key, vectorID, vectorTS, []byte(vectorBody)))
	require.NotEqual(t, vectorSig, webhook.Sign(key, vectorID, vectorTS+1, []byte(vectorBody)))
	require.NotEqual(t, vectorSig, webhook.Sign(key, vectorID, vectorTS, []byte(`{"test": 2432232315}`)))
}

func TestParseSigningSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // error substring, "" = valid
	}{
		{vectorSecret, ""},
		{webhook.NewSigningSecret(), ""},
		{"whsec_" + strings.Repeat("A", 88), "24 to 64 bytes, got 66"},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with"},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS", "base64"},
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw==", "base64"},
		{"whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", "24 to 64 bytes, got 20"},
		{"whsec_-_-_", "base64"},
	} {
		_, err := webhook.ParseSigningSecret(tc.in)
		if tc.want == "" {
			require.NoError(t, err, tc.in)
			continue
		}
		require.ErrorIs(t, err, webhook.ErrInvalid)
		require.ErrorContains(t, err, tc.want)
		if len(tc.in) > 10 {
			require.NotContains(t, err.Error(), tc.in[6:])
		}
	}
	s := webhook.NewSigningSecret()
	require.NotEqual(t, s, webhook.NewSigningSecret())
	key, err := webhook.ParseSigningSecret(s)
	require.NoError(t, err)
	require.Len(t, key, 32)
}

func TestSignedDelivery(t *testing.T) {
	t.Parallel()
	d, tr, clk := newTestDispatcher(t, nil)
	old := webhook.NewSigningSecret()
	h, err := d.CreateHook(ctx, &webhook.Webhook{UserID: "u", Name: "n", On: []webhook.Event{webhook.EventNote},
		URL: "https://r.example/", Secret: "plain", Active: true, SigningSecret: vectorSecret,
		PreviousSigningSecrets: []webhook.PreviousSecret{{Secret: old, Expires: clk.Now().Add(time.Hour)}}})
	require.NoError(t, err)
	unsigned := webhooktest.CreateHook(t, d, "u", webhook.EventNote)

	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("signed")))
	webhooktest.Flush(t, d)
	r := tr.RequireReceived(t, h.ID, webhook.EventNote, nil)
	require.Equal(t, "plain", r.Header.Get("X-Misskey-Hook-Secret"), "Misskey's header keeps working beside it")
	require.Equal(t, r.Payload.EventID, r.Header.Get("webhook-id"))
	require.Equal(t, strconv.FormatInt(clk.Now().Unix(), 10), r.Header.Get("webhook-timestamp"))
	sigs := strings.Split(r.Header.Get("webhook-signature"), " ")
	require.Len(t, sigs, 2, "one signature per valid secret")
	for i, secret := range []string{vectorSecret, old} {
		key, err := webhook.ParseSigningSecret(secret)
		require.NoError(t, err)
		require.Equal(t, webhook.Sign(key, r.Payload.EventID, clk.Now().Unix(), r.Body), sigs[i], "over the exact bytes sent")
	}
	u := tr.RequireReceived(t, unsigned.ID, webhook.EventNote, nil)
	require.Empty(t, u.Header.Get("webhook-signature"))
	require.Empty(t, u.Header.Get("webhook-id"))

	// Each attempt takes its own timestamp; the expired secret drops out.
	tr.Reset()
	tr.Script(h.URL, webhooktest.Reply{Status: 500})
	require.NoError(t, d.Emit(ctx, "u", webhook.EventNote, noteBody("again")))
	clk.Advance(2 * time.Hour)
	webhooktest.Flush(t, d)
	clk.Advance(time.Hour)
	webhooktest.Flush(t, d)
	got := tr.To(h.ID)
	require.Len(t, got, 2)
	require.Equal(t, got[0].Header.Get("webhook-id"), got[1].Header.Get("webhook-id"))
	require.NotEqual(t, got[0].Header.Get("webhook-timestamp"), got[1].Header.Get("webhook-timestamp"))
	require.Len(t, strings.Split(got[1].Header.Get("webhook-signature"), " "), 1)
}

func TestDefaultSigningSecret(t *testing.T) {
	t.Parallel()
	d, tr, _ := newTestDispatcher(t, &webhook.Config{SigningSecret: vectorSecret})
	h := webhooktest.CreateHook(t, d, "", webhook.EventUserCreated)
	require.NoError(t, d.EmitSystem(ctx, webhook.EventUserCreated, map[string]any{"id": "9x"}))
	webhooktest.Flush(t, d)
	r := tr.RequireReceived(t, h.ID, webhook.EventUserCreated, nil)
	key, _ := webhook.ParseSigningSecret(vectorSecret)
	ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
	require.NoError(t, err)
	require.Equal(t, webhook.Sign(key, r.Payload.EventID, ts, r.Body), r.Header.Get("webhook-signature"))

	_, err = webhook.New(nil, &webhook.Config{Host: "x.example", SigningSecret: "nope"})
	require.ErrorIs(t, err, webhook.ErrInvalid)
	require.ErrorContains(t, err, "Config.SigningSecret")
}

func TestSigningValidation(t *testing.T) {
	t.Parallel()
	w := validHook()
	w.SigningSecret = "whsec_short"
	require.ErrorContains(t, w.Validate(), "Webhook.SigningSecret")
	w.SigningSecret = ""
	w.PreviousSigningSecrets = []webhook.PreviousSecret{{Secret: vectorSecret, Expires: time.Now()}}
	require.ErrorContains(t, w.Validate(), "needs a current")
	w.SigningSecret = vectorSecret
	w.PreviousSigningSecrets[0].Expires = time.Time{}
	require.ErrorContains(t, w.Validate(), "Expires must be set")
	w.PreviousSigningSecrets[0] = webhook.PreviousSecret{Secret: "x", Expires: time.Now()}
	require.ErrorContains(t, w.Validate(), "PreviousSigningSecrets[0]")
	require.ErrorIs(t, w.Validate(), webhook.ErrInvalid)
}

func BenchmarkSign(b *testing.B) {
	key, _ := webhook.ParseSigningSecret(vectorSecret)
	body := []byte(strings.Repeat("x", 1024))
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = webhook.AppendSignature(buf[:0], key, "3f1c0b7e-8d8a-4b8e-9a53-6c7d9e0f1a2b", vectorTS, body)
	}
}

package webhook_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webhooktest"
)

func TestTestHook(t *testing.T) {
	t.Parallel()
	d, tr, _ := newTestDispatcher(t, nil)
	h := webhooktest.CreateHook(t, d, "u", webhook.EventNote)
	h.Active = false
	require.NoError(t, d.UpdateHook(ctx, h))

	// Inactive and not subscribed to mention: a test send goes anyway.
	res, err := d.TestHook(ctx, h.ID, webhook.EventMention, nil)
	require.NoError(t, err)
	require.NoError(t, res.Err)
	require.Equal(t, http.StatusNoContent, res.Status)
	r := tr.RequireReceived(t, h.ID, webhook.EventMention, nil)
	require.Equal(t, res.EventID.String(), r.Payload.EventID)
	require.Equal(t, "secret", r.Header.Get("X-Misskey-Hook-Secret"))
	require.Contains(t, string(r.Payload.Body), "This is a dummy note for testing purposes.")

	// One attempt only, and the outcome comes back.
	require.Empty(t, res.Response)
	tr.Script("https://override.test/x", webhooktest.Reply{Status: 503, Body: strings.Repeat("busy ", 1000)})
	res, err = d.TestHook(ctx, h.ID, webhook.EventFollow, &webhook.TestOverride{URL: "https://override.test/x", Secret: "other"})
	require.NoError(t, err)
	require.Equal(t, 503, res.Status)
	require.Equal(t, strings.Repeat("busy ", 1000)[:webhook.MaxResponseRecord], string(res.Response), "the first bytes of the answer")
	var de *webhook.DeliveryError
	require.ErrorAs(t, res.Err, &de)
	require.Equal(t, 503, de.Status)
	reqs := tr.Requests()
	require.Equal(t, "https://override.test/x", reqs[len(reqs)-1].URL)
	require.Equal(t, "other", reqs[len(reqs)-1].Header.Get("X-Misskey-Hook-Secret"))
	require.Zero(t, webhooktest.Flush(t, d), "no retry is queued")

	_, err = d.TestHook(ctx, "nope", webhook.EventNote, nil)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	_, err = d.TestHook(ctx, h.ID, webhook.EventAbuseReport, nil)
	require.ErrorIs(t, err, webhook.ErrInvalid)
	_, err = d.TestHook(ctx, h.ID, webhook.EventNote, &webhook.TestOverride{URL: "gopher://x"})
	require.ErrorIs(t, err, webhook.ErrInvalid)

	sys := webhooktest.CreateHook(t, d, "", webhook.EventAbuseReport)
	res, err = d.TestHook(ctx, sys.ID, webhook.EventUserCreated, nil)
	require.NoError(t, err)
	require.NoError(t, res.Err)
	r = tr.RequireReceived(t, sys.ID, webhook.EventUserCreated, nil)
	require.Empty(t, r.Payload.UserID)
}

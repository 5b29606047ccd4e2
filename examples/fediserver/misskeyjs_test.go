package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
)

// TestMisskeyJSManagesWebhooks runs testdata/misskeyapi/e2e.ts, the
// end-to-end script of misskeyapi, against fediserver itself: misskey-js's
// APIClient, unchanged, creates, lists, shows, updates, tests and deletes
// user and system webhooks, gets Misskey's errors as APIError, and reads
// meta and users/show as receivers do. The receiver must get the test
// sends.
//
// It runs when FEDIHOOK_MISSKEYJS is set (.ci/test.sh sets it after
// npm ci --prefix testdata/misskeyapi).
func TestMisskeyJSManagesWebhooks(t *testing.T) {
	if os.Getenv("FEDIHOOK_MISSKEYJS") == "" {
		t.Skip("FEDIHOOK_MISSKEYJS is not set; run: npm ci --prefix testdata/misskeyapi && FEDIHOOK_MISSKEYJS=1 go test")
	}
	root, err := filepath.Abs("../../testdata/misskeyapi")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "node_modules", "misskey-js", "package.json"))
	require.NoError(t, err, "misskey-js is not installed; run: npm ci --prefix testdata/misskeyapi")
	node, err := exec.LookPath("node")
	require.NoError(t, err)

	f := startFedi(t, "-max-webhooks", "2")
	base := f.base
	gen := filepath.Join(root, "generated")
	require.NoError(t, os.MkdirAll(gen, 0o755))
	out, err := os.MkdirTemp(gen, "fediserver-")
	require.NoError(t, err)
	t.Cleanup(func() {
		if !t.Failed() {
			_ = os.RemoveAll(out)
		}
	})
	b, err := exec.CommandContext(t.Context(), filepath.Join(root, "node_modules", ".bin", "tsc"),
		"-p", root, "--outDir", out, "--pretty", "false").CombinedOutput()
	require.NoError(t, err, "tsc rejects e2e.ts:\n%s", b)
	run := exec.CommandContext(t.Context(), node, filepath.Join(out, "e2e.js"))
	run.Env = append(os.Environ(), "MK_ORIGIN="+base, "MK_RECEIVER="+f.rcvURL)
	b, err = run.CombinedOutput()
	t.Logf("misskey-js against fediserver:\n%s", b)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(strings.TrimSpace(string(b)), "PASS"), "the script did not finish")

	got := f.wait(t, 3)
	var paths, secrets []string
	for _, g := range got {
		paths, secrets = append(paths, g.path), append(secrets, g.secret)
	}
	require.Equal(t, []string{"/user", "/override", "/system"}, paths)
	require.Equal(t, []string{"s3cret", "over", "sys"}, secrets)
	require.Equal(t, webhook.EventNote, got[0].typ)
	require.Equal(t, "9alice", got[0].payload.UserID)
	require.Equal(t, base, got[0].payload.Server, "the payload names the server receivers call back")
	require.Equal(t, webhook.EventMention, got[1].typ)
	require.Equal(t, webhook.EventAbuseReport, got[2].typ)
	require.Empty(t, got[2].payload.UserID)
	require.NoError(t, f.stop())
}

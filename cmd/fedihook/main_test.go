package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// bench re-executes its binary, this test binary in its tests, as
	// its receiver and contenders.
	if os.Getenv(benchChildEnv) != "" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}

// runCmd runs fedihook with args and stdin, and returns the exit code and
// what it printed.
func runCmd(ctx context.Context, stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRunUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		args       []string
		code       int
		wantOut    string // in stdout
		wantErr    string // in stderr
		quietOut   bool   // nothing on stdout
		quietError bool   // nothing on stderr
	}{
		{name: "no command", args: nil, code: 2, wantErr: "fedihook <command>", quietOut: true},
		{name: "help", args: []string{"help"}, code: 0, wantOut: "send ", quietError: true},
		{name: "-h", args: []string{"-h"}, code: 0, wantOut: "fedihook <command>", quietError: true},
		{name: "help send", args: []string{"help", "send"}, code: 0, wantOut: "--allow-network CIDR", quietError: true},
		{name: "send -h", args: []string{"send", "-h"}, code: 0, wantOut: "--backoff-base DURATION", quietError: true},
		{name: "send --help", args: []string{"send", "--help"}, code: 0, wantOut: "Usage: fedihook send", quietError: true},
		{name: "help unknown", args: []string{"help", "frobnicate"}, code: 2, wantErr: `unknown command "frobnicate"`, quietOut: true},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, wantErr: `unknown command "frobnicate"`, quietOut: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, out, errOut := runCmd(t.Context(), "", tt.args...)
			require.Equal(t, tt.code, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
			require.Contains(t, out, tt.wantOut)
			require.Contains(t, errOut, tt.wantErr)
			if tt.quietOut {
				require.Empty(t, out)
			}
			if tt.quietError {
				require.Empty(t, errOut)
			}
		})
	}
}

func TestUsageListsEveryCommand(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	usage(&b)
	for name, c := range commands {
		if c.hidden {
			require.NotContains(t, b.String(), name+" ")
			require.NotContains(t, b.String(), c.summary)
			continue
		}
		require.Contains(t, b.String(), name)
		require.Contains(t, b.String(), c.summary)
	}
}

func TestHelpHidesHiddenCommands(t *testing.T) {
	t.Parallel()
	for name, c := range commands {
		if !c.hidden {
			continue
		}
		code, out, errOut := runCmd(t.Context(), "", "help", name)
		require.Equal(t, exitUsage, code, "help %s", name)
		require.Empty(t, out)
		require.Contains(t, errOut, "unknown command")
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	for name, c := range commands {
		var out, errOut bytes.Buffer
		code := c.run(t.Context(), []string{"-h"}, strings.NewReader(""), &out, &errOut)
		require.Equal(t, exitOK, code, "%s -h", name)
		require.Contains(t, out.String(), "fedihook "+name, "%s -h", name)
		require.Empty(t, errOut.String(), "%s -h", name)
	}
}

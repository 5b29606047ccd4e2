package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook/misskeyapi"
)

func TestSignInFlags(t *testing.T) {
	t.Parallel()
	s := newSignIns()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(signInFlag{s: s}, "user", "")
	fs.Var(signInFlag{s: s, admin: true}, "admin", "")
	require.NoError(t, fs.Parse([]string{"-user", "alice:tok-alice", "-user", "dave:tok:with:colons", "-admin", "root:tok-root"}))

	u, ok := s.Lookup("tok-alice")
	require.True(t, ok)
	require.Equal(t, signIn{UserID: "9alice", Username: "alice"}, u)
	u, ok = s.Lookup("tok:with:colons")
	require.True(t, ok)
	require.Equal(t, "9dave", u.UserID)
	_, ok = s.Lookup("tok-nobody")
	require.False(t, ok)

	acct, err := s.Authenticate(t.Context(), "tok-root")
	require.NoError(t, err)
	require.Equal(t, misskeyapi.Account{UserID: "9root", Admin: true}, acct)
	_, err = s.Authenticate(t.Context(), "tok-nobody")
	require.ErrorIs(t, err, misskeyapi.ErrUnknownToken)
	require.Equal(t, "alice, dave, root (admin)", s.usernames())

	for _, bad := range []string{"alice", "Alice:t", ":t", "alice:", "alice:t t", "bob:tok-alice"} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		fs.Var(signInFlag{s: s}, "user", "")
		require.Error(t, fs.Parse([]string{"-user", bad}), bad)
	}
}

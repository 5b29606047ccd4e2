package verify_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook/verify"
)

func TestCheckSecret(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Value"
	long := strings.Repeat("x", 1024)
	for _, tc := range []struct {
		name   string
		values []string // nil: no header
		secret string
		want   error // nil: accepted
	}{
		{"equal", []string{secret}, secret, nil},
		{"empty secret sent and expected", []string{""}, "", nil},
		{"long secret", []string{long}, long, nil},
		{"non-ASCII", []string{"ひみつ"}, "ひみつ", nil},
		{"missing header", nil, secret, verify.ErrMissingHeader},
		{"missing header, empty secret expected", nil, "", verify.ErrMissingHeader},
		{"empty header", []string{""}, secret, verify.ErrBadSecret},
		{"different", []string{"s3cret-value"}, secret, verify.ErrBadSecret},
		{"prefix", []string{secret[:len(secret)-1]}, secret, verify.ErrBadSecret},
		{"longer", []string{secret + "x"}, secret, verify.ErrBadSecret},
		{"with a space", []string{secret + " "}, secret, verify.ErrBadSecret},
		{"long, one byte off", []string{long[:1023] + "y"}, long, verify.ErrBadSecret},
		{"sent when none is expected", []string{secret}, "", verify.ErrBadSecret},
		{"twice, both right", []string{secret, secret}, secret, verify.ErrBadSecret},
		{"twice, second right", []string{"guess", secret}, secret, verify.ErrBadSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			for _, v := range tc.values {
				h.Add("x-misskey-hook-secret", v)
			}
			err := verify.CheckSecret(h, tc.secret)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			if tc.secret != "" {
				require.NotContains(t, err.Error(), tc.secret)
			}
			for _, v := range tc.values {
				if v != "" {
					require.NotContains(t, err.Error(), v)
				}
			}
		})
	}
	err := verify.CheckSecret(http.Header{}, secret)
	require.EqualError(t, err, "webhook: verify: missing header X-Misskey-Hook-Secret")
}

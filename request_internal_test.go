package webhook

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// forgetter is a Transport that says whether it forgets its requests.
type forgetter bool

func (forgetter) Send(context.Context, *Request) (*Response, error) {
	return &Response{StatusCode: 204}, nil
}
func (f forgetter) ForgetsRequests() bool { return bool(f) }

// TestRequestReuseFollowsTheContract checks that the Dispatcher reuses
// request storage with exactly the Transports that say they forget their
// requests, whatever their type.
func TestRequestReuseFollowsTheContract(t *testing.T) {
	t.Parallel()
	httpT, err := NewHTTPTransport(nil)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		tr   Transport
		want bool
	}{
		{"the default", nil, true},
		{"an HTTPTransport", httpT, true},
		{"a Transport that forgets", forgetter(true), true},
		{"a Transport that keeps", forgetter(false), false},
		{"a TransportFunc", TransportFunc(forgetter(true).Send), false},
	} {
		d, err := New(nil, &Config{Host: "example.tld", Transport: tc.tr})
		require.NoError(t, err, tc.name)
		o := d.newOutgoing()
		require.Equal(t, tc.want, o.pooled, tc.name)
		o.release()
		require.NoError(t, d.Shutdown(context.Background()))
	}
}

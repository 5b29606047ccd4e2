package storetest_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/storetest"
)

// TestMemoryStoreShared runs the two-handle cases on a MemoryStore, which
// lives in one process: both handles are the same store. (Its Run and
// RunOperations conformance runs in the webhook package's tests.)
func TestMemoryStoreShared(t *testing.T) {
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T) (a, b webhook.Store) {
		s, err := webhook.NewMemoryStore(nil)
		require.NoError(t, err)
		return s, s
	})
}

package webhook_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) webhook.Store {
		s, err := webhook.NewMemoryStore(nil)
		require.NoError(t, err)
		return s
	})
}

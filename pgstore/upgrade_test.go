package pgstore_test

import (
	"context"
	_ "embed"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/pgstore"
)

// schemaV2 is the schema of pgstore's version 2, as users' databases
// have it, kept apart from the shipped migrations.
//
//go:embed testdata/schema_v2.sql
var schemaV2 string

// v2Delivery is a row of version 2's fedihook_deliveries.
type v2Delivery struct {
	id                uuid.UUID
	hook              string
	created, next     time.Time
	state             int16
	attempts          int
	lease             int64
	leased            bool
	availableAt       time.Time
	lastAt            *time.Time
	lastStatus        int
	lastError         string
	finishedAt        *time.Time
	ordered           bool
	body              string
	attemptStatuses   []int // the rows of fedihook_attempts, oldest first
	lastAttemptAnswer string
}

func tp(t time.Time) *time.Time { return &t }

// TestMigrateFromV2 builds a database of version 2 from its own SQL,
// fills it with webhooks and deliveries in every state, upgrades it, and
// checks through the Store that every webhook, every delivery and its
// history came through, and that the queue works on from there.
func TestMigrateFromV2(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := newSchema(t)
	pool := newPool(t, nil)
	q := func(name string) string { return pgx.Identifier{schema, name}.Sanitize() }
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err)
	}
	exec(`CREATE SCHEMA ` + pgx.Identifier{schema}.Sanitize())
	exec(strings.ReplaceAll(schemaV2, "${s}", pgx.Identifier{schema}.Sanitize()+"."))
	exec(`CREATE TABLE ` + q("fedihook_schema_migrations") + ` (version integer PRIMARY KEY, name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`)
	exec(`INSERT INTO ` + q("fedihook_schema_migrations") + ` (version, name) VALUES (1, '0001_init'), (2, '0002_operations')`)

	now := t0
	// Webhooks: alice's has failed since an hour ago, and its latest
	// attempt before a prune was 10 hours ago; bob's is ordered; the
	// system one is inactive.
	exec(`INSERT INTO `+q("fedihook_hooks")+` (id, user_id, name, events, url, secret, active, signing_secret,
		previous_secrets, previous_expires, latest_sent_at, latest_status, ordered, failing_since) VALUES
		('h1', 'alice', 'one', '{note,reply}', 'https://a.example/h', 's1', true, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
			'{old}', ARRAY[$1::timestamptz], $2, 200, false, $3),
		('h2', 'bob', 'two', '{note}', 'https://b.example/h', 's2', true, '', '{}', '{}', NULL, NULL, true, NULL),
		('sys', '', 'system', '{abuseReport}', 'https://c.example/h', 's3', false, '', '{}', '{}', NULL, NULL, false, NULL)`,
		now.Add(24*time.Hour), now.Add(-10*time.Hour), now.Add(-time.Hour))
	ds := []v2Delivery{
		{id: uuid.New(), hook: "h1", created: now.Add(-10 * time.Minute), next: now.Add(time.Minute), state: 1, attempts: 2,
			lease: 2, availableAt: now.Add(time.Minute), lastAt: tp(now.Add(-5 * time.Minute)), lastStatus: 503,
			lastError: "status 503 Service Unavailable", body: `{"n":1}`, attemptStatuses: []int{500, 503}},
		{id: uuid.New(), hook: "h1", created: now.Add(-9 * time.Minute), next: now.Add(-time.Minute), state: 1,
			lease: 3, leased: true, availableAt: now.Add(30 * time.Second), body: `{"n":2}`},
		{id: uuid.New(), hook: "h1", created: now.Add(-3 * time.Hour), next: now.Add(-3 * time.Hour), state: 2, attempts: 1,
			lease: 1, availableAt: now.Add(-3 * time.Hour), lastAt: tp(now.Add(-2 * time.Hour)), lastStatus: 200,
			finishedAt: tp(now.Add(-2 * time.Hour)), body: `{"n":3}`, attemptStatuses: []int{200}, lastAttemptAnswer: "ok"},
		{id: uuid.New(), hook: "h1", created: now.Add(-4 * time.Hour), next: now.Add(-4 * time.Hour), state: 3, attempts: 3,
			lease: 3, availableAt: now.Add(-4 * time.Hour), lastAt: tp(now.Add(-3 * time.Hour)), lastStatus: 400,
			lastError: "status 400 Bad Request", finishedAt: tp(now.Add(-3 * time.Hour)), body: `{"n":4}`,
			attemptStatuses: []int{500, 500, 400}},
		{id: uuid.New(), hook: "h2", created: now.Add(-2 * time.Minute), next: now.Add(-2 * time.Minute), state: 1,
			availableAt: now.Add(-2 * time.Minute), ordered: true, body: `{"n":5}`},
		{id: uuid.New(), hook: "h2", created: now.Add(-3 * time.Minute), next: now.Add(-3 * time.Minute), state: 1,
			availableAt: now.Add(-3 * time.Minute), ordered: true, body: `{"n":6}`},
		{id: uuid.New(), hook: "h1", created: now.Add(-10 * 24 * time.Hour), next: now.Add(-10 * 24 * time.Hour), state: 2,
			attempts: 1, lease: 1, availableAt: now.Add(-10 * 24 * time.Hour), lastAt: tp(now.Add(-10 * 24 * time.Hour)),
			lastStatus: 204, finishedAt: tp(now.Add(-10 * 24 * time.Hour)), body: `{"n":7}`, attemptStatuses: []int{204}},
	}
	for _, d := range ds { // in this order: seq follows it
		exec(`INSERT INTO `+q("fedihook_deliveries")+` (id, hook_id, user_id, type, server, created_at, body, state,
			attempts, next_attempt_at, available_at, lease, leased, last_attempt_at, last_status, last_error, finished_at, ordered)
			SELECT $1, $2, user_id, 'note', 'https://example.tld', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15
			FROM `+q("fedihook_hooks")+` WHERE id = $2`,
			[16]byte(d.id), d.hook, d.created, []byte(d.body), d.state, d.attempts, d.next, d.availableAt, d.lease, d.leased,
			d.lastAt, d.lastStatus, d.lastError, d.finishedAt, d.ordered)
		for i, st := range d.attemptStatuses {
			resp := ""
			if i == len(d.attemptStatuses)-1 {
				resp = d.lastAttemptAnswer
			}
			exec(`INSERT INTO `+q("fedihook_attempts")+` (delivery_id, at, duration_us, status, error, response, retry)
				VALUES ($1, $2, 1500, $3, '', $4, $5)`,
				[16]byte(d.id), d.created.Add(time.Duration(i+1)*time.Second), st, []byte(resp), i < len(d.attemptStatuses)-1)
		}
	}

	s, err := pgstore.New(pool, &pgstore.Config{Schema: schema})
	require.NoError(t, err)
	require.NoError(t, s.Migrate(ctx))
	var version int
	require.NoError(t, pool.QueryRow(ctx, `SELECT max(version) FROM `+q("fedihook_schema_migrations")).Scan(&version))
	require.Equal(t, pgstore.SchemaVersion, version)

	// Every webhook, with its status: alice's latest attempt is her
	// newest delivery's (5 minutes ago), newer than the pruned one.
	h1, err := s.GetHook(ctx, "h1")
	require.NoError(t, err)
	require.Equal(t, []webhook.Event{webhook.EventNote, webhook.EventReply}, h1.On)
	require.Equal(t, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", h1.SigningSecret)
	require.Len(t, h1.PreviousSigningSecrets, 1)
	require.NotNil(t, h1.FailingSince)
	require.True(t, now.Add(-time.Hour).Equal(*h1.FailingSince))
	require.NotNil(t, h1.LatestSentAt)
	require.True(t, now.Add(-5*time.Minute).Equal(*h1.LatestSentAt), "LatestSentAt %v", *h1.LatestSentAt)
	require.Equal(t, 503, *h1.LatestStatus)
	h2, err := s.GetHook(ctx, "h2")
	require.NoError(t, err)
	require.True(t, h2.Ordered)
	require.Nil(t, h2.LatestSentAt)
	sys, err := s.ListHooks(ctx, "")
	require.NoError(t, err)
	require.Len(t, sys, 1)
	require.False(t, sys[0].Active)
	m, err := s.MatchHooks(ctx, "alice", webhook.EventReply)
	require.NoError(t, err)
	require.Len(t, m, 1)

	// Every delivery, as it was, with its history.
	for _, d := range ds {
		got, err := s.GetDelivery(ctx, d.id)
		require.NoError(t, err)
		require.Equal(t, d.hook, got.HookID)
		require.Equal(t, d.body, string(got.Body))
		require.Equal(t, webhook.EventNote, got.Type)
		require.True(t, d.created.Equal(got.CreatedAt))
		require.Equal(t, webhook.State(d.state), got.State)
		require.Equal(t, d.attempts, got.Attempts)
		require.True(t, d.next.Equal(got.NextAttemptAt), "NextAttemptAt %v, want %v", got.NextAttemptAt, d.next)
		require.Equal(t, d.lastStatus, got.LastStatus)
		require.Equal(t, d.lastError, got.LastError)
		if d.lastAt != nil {
			require.True(t, d.lastAt.Equal(got.LastAttemptAt))
		}
		as, err := s.ListAttempts(ctx, d.id)
		require.NoError(t, err)
		require.Len(t, as, len(d.attemptStatuses))
		for i, a := range as {
			require.Equal(t, d.attemptStatuses[i], a.Status)
		}
		if d.lastAttemptAnswer != "" {
			require.Equal(t, d.lastAttemptAnswer, string(as[len(as)-1].Response))
		}
	}
	page, err := s.ListDeliveries(ctx, webhook.DeliveryQuery{HookID: "h1"})
	require.NoError(t, err)
	var listed []uuid.UUID
	for _, d := range page.Deliveries {
		listed = append(listed, d.ID)
	}
	require.Equal(t, []uuid.UUID{ds[1].id, ds[0].id, ds[2].id, ds[3].id, ds[6].id}, listed, "newest first")

	// The queue goes on: bob's ordered head is the first enqueued (d5,
	// though d6 is due earlier); the delivery leased until 30 s from now
	// is not claimable before, then with a new lease, and the old lease
	// is refused.
	cs, err := s.Claim(ctx, now, 10, time.Minute)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{ds[4].id}, claimIDs(cs))
	require.Equal(t, "https://b.example/h", cs[0].Hook.URL)
	require.NoError(t, s.Settle(ctx, []webhook.Result{{ID: ds[4].id, HookID: "h2", Lease: cs[0].Lease,
		State: webhook.StateDelivered, Attempt: webhook.Attempt{At: now, Status: 200}}}))
	cs, err = s.Claim(ctx, now.Add(31*time.Second), 10, time.Minute)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{ds[5].id, ds[1].id}, claimIDs(cs))
	for _, c := range cs {
		if c.Delivery.ID == ds[1].id {
			require.Greater(t, c.Lease, ds[1].lease)
			require.NotNil(t, c.Hook.FailingSince)
		}
	}
	err = s.Settle(ctx, []webhook.Result{{ID: ds[1].id, HookID: "h1", Lease: ds[1].lease,
		State: webhook.StateDelivered, Attempt: webhook.Attempt{At: now, Status: 200}}})
	require.ErrorIs(t, err, webhook.ErrLeaseLost, "the lease of before the upgrade is spent")

	// New deliveries of the ordered webhook queue after the old ones.
	w2, err := s.GetHook(ctx, "h2")
	require.NoError(t, err)
	fresh := testDelivery(w2, now.Add(-time.Hour), []byte(`{"n":8}`))
	require.NoError(t, s.Enqueue(ctx, []*webhook.Delivery{fresh}))
	cs, err = s.Claim(ctx, now.Add(2*time.Minute), 10, time.Minute)
	require.NoError(t, err)
	require.Contains(t, claimIDs(cs), ds[5].id, "d6's lease lapsed: the head again")
	require.NotContains(t, claimIDs(cs), fresh.ID, "behind d6")

	// A redelivered old delivery keeps its history; Prune drops the one
	// finished 10 days ago, with its attempts and body.
	require.NoError(t, s.Redeliver(ctx, ds[2].id, now))
	as, err := s.ListAttempts(ctx, ds[2].id)
	require.NoError(t, err)
	require.Len(t, as, 1)
	n, err := s.Prune(ctx, now)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	_, err = s.GetDelivery(ctx, ds[6].id)
	require.ErrorIs(t, err, webhook.ErrNotFound)
	var left int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+q("fedihook_attempts")+` WHERE delivery_id = $1`,
		[16]byte(ds[6].id)).Scan(&left))
	require.Zero(t, left)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+q("fedihook_events")).Scan(&left))
	require.Equal(t, len(ds)-1+1, left, "one event a delivery of version 2, the pruned one's gone, the new one's added")
}

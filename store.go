package webhook

import (
	"context"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// A State is where a delivery stands in its life.
type State uint8

// Delivery states.
const (
	// StatePending: waiting for its next attempt, or in flight under a
	// lease.
	StatePending State = iota + 1
	// StateDelivered: an attempt got a 2xx answer.
	StateDelivered
	// StateFailed: the Dispatcher gave up (a final answer, a blocked
	// address, or no attempt left). Kept so an operator can see it.
	StateFailed
)

// String returns "pending", "delivered" or "failed".
func (s State) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateDelivered:
		return "delivered"
	case StateFailed:
		return "failed"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// A Delivery is one webhook's copy of an emitted event: what is POSTed,
// and where it stands. Deliveries made by one Emit share their Body bytes;
// nobody may modify them.
type Delivery struct {
	// ID is the payload's eventId, a random (version 4) UUID.
	ID uuid.UUID
	// HookID is the webhook's ID.
	HookID string
	// UserID is the webhook owner's ID, empty for system webhooks.
	UserID string
	// Type is the event type.
	Type Event
	// Server is the emitting server's origin, as in the payload.
	Server string
	// CreatedAt is the payload's createdAt, at millisecond precision.
	CreatedAt time.Time
	// Body is the encoded event body, a JSON object.
	Body []byte

	// The fields below belong to the Store: Enqueue takes State
	// StatePending, Attempts 0 and NextAttemptAt as given, and Settle
	// updates them.

	// State is the delivery's state.
	State State
	// Attempts is the number of attempts made so far.
	Attempts int
	// NextAttemptAt is when the next attempt is due (pending deliveries).
	NextAttemptAt time.Time
	// LastStatus is the HTTP status of the latest attempt, 0 if it got none.
	LastStatus int
	// LastError describes the latest failed attempt, empty after success.
	LastError string
	// LastAttemptAt is when the latest attempt started, zero before the
	// first.
	LastAttemptAt time.Time
}

// A Claim is a delivery handed to one worker under a lease: until the
// lease expires no other Claim returns the same delivery.
type Claim struct {
	// Delivery is a copy of the delivery as claimed.
	Delivery Delivery
	// Hook is the webhook's current record. It is read-only. Its
	// FailingSince must be current; LatestSentAt and LatestStatus may be
	// left out.
	Hook *Webhook
	// Lease identifies this claim; Settle accepts a result only with the
	// lease of the delivery's latest claim.
	Lease int64

	// payload is the delivery's payload as AppendPayload writes it, when
	// the store keeps it (a MemoryStore does, for an event emitted to one
	// webhook); nil otherwise. Nothing modifies it.
	payload []byte
}

// An Attempt records one delivery attempt.
type Attempt struct {
	// At is when the attempt started.
	At time.Time
	// Duration is how long it took.
	Duration time.Duration
	// Status is the HTTP status, 0 when there was none.
	Status int
	// Error describes the failure, empty on success. It never holds the
	// secret.
	Error string
	// Response holds the first bytes of the receiver's answer, at most
	// MaxResponseRecord of them.
	Response []byte
	// Retry reports whether another attempt was scheduled after this one.
	Retry bool
}

// MaxResponseRecord is how many bytes of a response an [Attempt] keeps.
const MaxResponseRecord = 1024

// A Result settles a claimed delivery after an attempt.
type Result struct {
	// ID is the delivery's ID.
	ID uuid.UUID
	// HookID is the delivery's webhook, whose LatestSentAt and
	// LatestStatus the Store sets from Attempt.
	HookID string
	// Lease is the Claim's lease.
	Lease int64
	// State is the delivery's new state: StateDelivered, StateFailed, or
	// StatePending to retry at NextAttemptAt.
	State State
	// NextAttemptAt is when a pending delivery is due again.
	NextAttemptAt time.Time
	// Attempt is the attempt made; ignored when Release is set.
	Attempt Attempt
	// Release gives the claim back without an attempt (the Dispatcher
	// does that to a delivery over a fairness limit, and at Shutdown to
	// the claims no worker took): the delivery stays pending, due at
	// NextAttemptAt, and neither its attempt count, its history nor the
	// webhook's status changes. State and Attempt are ignored.
	Release bool
}

// A HookStore is the webhook registry. Methods return [ErrNotFound] (or
// an error wrapping it) for a missing webhook.
type HookStore interface {
	// CreateHook adds w, whose ID is set and which has been validated.
	// When limit > 0 and w's user already has limit webhooks, it returns
	// ErrTooManyWebhooks; the check and the insert are atomic. An existing
	// ID yields ErrConflict.
	CreateHook(ctx context.Context, w *Webhook, limit int) error
	// GetHook returns a copy of the webhook with the given ID.
	GetHook(ctx context.Context, id string) (*Webhook, error)
	// ListHooks returns copies of the webhooks of userID ("" lists the
	// system webhooks), in ascending order of ID.
	ListHooks(ctx context.Context, userID string) ([]*Webhook, error)
	// UpdateHook replaces Name, On, URL, Secret, Active, SigningSecret and
	// PreviousSigningSecrets of the webhook with w's ID; other fields
	// (Ordered among them) are left as stored.
	UpdateHook(ctx context.Context, w *Webhook) error
	// DeleteHook removes the webhook and every delivery of it.
	DeleteHook(ctx context.Context, id string) error
	// DisableHook sets the webhook with the given ID inactive, leaving
	// every other field as stored, in one conditional operation: only if
	// it is active, its URL is still url (the address whose answers or
	// failures disable it) and, when failingBefore is not zero, its
	// FailingSince is set and not after failingBefore. An owner's
	// concurrent update is so never undone, and a webhook whose URL its
	// owner changed, or that has recovered, stays active. It returns the
	// webhook as it was just before, or nil when it changed nothing (a
	// missing webhook included).
	DisableHook(ctx context.Context, id, url string, failingBefore time.Time) (*Webhook, error)
}

// An Outbox is what Emit writes through: it finds the webhooks an event
// goes to and enqueues their deliveries. A Store is one; a store bound to
// the caller's database transaction is another (see [Dispatcher.EmitVia]).
type Outbox interface {
	// MatchHooks returns the active webhooks of userID ("" for system
	// webhooks) whose On holds e. The caller must not modify them.
	MatchHooks(ctx context.Context, userID string, e Event) ([]*Webhook, error)
	// Enqueue adds deliveries, atomically: all or none. Each has State
	// StatePending and Attempts 0. Deliveries of one Emit share Body.
	Enqueue(ctx context.Context, ds []*Delivery) error
}

// An Emission is one Emit's deliveries as an [EventEnqueuer] takes them:
// one event, one body, and the webhooks it goes to, each with its own
// eventId. The deliveries it stands for are pending, with no attempt.
type Emission struct {
	// Type is the event type.
	Type Event
	// Server is the emitting server's origin, as in the payload.
	Server string
	// CreatedAt is the payload's createdAt, at millisecond precision.
	CreatedAt time.Time
	// NextAttemptAt is when the deliveries are due.
	NextAttemptAt time.Time
	// Body is the encoded event body, a JSON object, shared by every
	// delivery. Nobody modifies it; the store may keep it.
	Body []byte
	// Hooks are the webhooks the event goes to, as MatchHooks returned
	// them. The store must neither modify nor keep them.
	Hooks []*Webhook
	// IDs holds the eventIds: IDs[i] is that of the delivery to Hooks[i].
	// The store must not keep the slice.
	IDs []uuid.UUID
	// Cached reports that Hooks came from the Outbox's
	// [CachedMatcher.MatchHooksCached], unchecked: the store checks, as
	// it enqueues, that they are still current.
	Cached bool

	// payload is, for an event to one webhook emitted to a store that
	// keeps payloads (see payloadKeeper), its delivery's payload as
	// AppendPayload writes it, Body a part of it; nil otherwise.
	payload []byte
}

// Deliveries returns the pending deliveries em stands for, one per
// webhook in the order of Hooks, sharing its Body.
func (em *Emission) Deliveries() []*Delivery {
	ds := make([]Delivery, len(em.Hooks))
	ptrs := make([]*Delivery, len(em.Hooks))
	for i := range em.Hooks {
		ds[i] = em.delivery(i)
		ptrs[i] = &ds[i]
	}
	return ptrs
}

func (em *Emission) delivery(i int) Delivery {
	h := em.Hooks[i]
	return Delivery{ID: em.IDs[i], HookID: h.ID, UserID: h.UserID, Type: em.Type, Server: em.Server,
		CreatedAt: em.CreatedAt, Body: em.Body, State: StatePending, NextAttemptAt: em.NextAttemptAt}
}

// Claim returns, for an [EnqueueClaimer], the claim of em's delivery to
// Hooks[i], enqueued already leased with lease: its Delivery pending,
// with no attempt, its times in UTC, sharing em's Body; its Hook
// Hooks[i], or a copy with failingSince (the webhook's current
// FailingSince, nil for none) when that differs from Hooks[i]'s.
func (em *Emission) Claim(i int, lease int64, failingSince *time.Time) Claim {
	d := em.delivery(i)
	d.CreatedAt, d.NextAttemptAt = d.CreatedAt.UTC(), d.NextAttemptAt.UTC()
	h := em.Hooks[i]
	if was := h.FailingSince; (was == nil) != (failingSince == nil) || was != nil && !was.Equal(*failingSince) {
		h = h.Clone()
		h.FailingSince = nil
		if failingSince != nil {
			at := *failingSince
			h.FailingSince = &at
		}
	}
	return Claim{Delivery: d, Hook: h, Lease: lease}
}

// A payloadKeeper is a store that keeps the payload of a delivery whose
// event went to one webhook, given in Emission.payload, and hands it out
// in Claim.payload: the Dispatcher then encodes the body into the payload
// at once, and its attempts send it as it is. The payload of an event to
// several webhooks is built at each attempt instead, so that the store
// keeps its body once.
type payloadKeeper interface {
	keepsPayloads() bool
}

// An EventIDMinter is an [Outbox] that makes the eventIds of the
// deliveries emitted through it, rather than take the random ones Emit
// draws otherwise: a store whose index of eventIds costs less when they
// come in an order it knows (sqlitestore's) has them. Emit calls
// MintEventIDs when its Outbox has it (a wrapper of an Outbox forwards
// it).
type EventIDMinter interface {
	// MintEventIDs fills ids with new eventIds. Each must be a version 4
	// UUID (Misskey's are random ones) whose 122 free bits nobody without
	// the store's secret can tell from random, and none may ever be given
	// again, by this store or any other over the same data. It cannot
	// fail: a store that cannot mint draws random ones.
	MintEventIDs(ids []uuid.UUID)
}

// An EventEnqueuer is an [Outbox] that takes an emitted event whole,
// rather than a [Delivery] per webhook built only to be copied, so that it
// can store the body once per event. Emit uses EnqueueEvent when its
// Outbox has it (a wrapper of an Outbox forwards it), and Enqueue
// otherwise; both must give the same deliveries.
type EventEnqueuer interface {
	Outbox
	// EnqueueEvent adds the deliveries of em, atomically: all or none, as
	// Enqueue does, with the same errors.
	EnqueueEvent(ctx context.Context, em *Emission) error
}

// A CachedMatcher is an [EventEnqueuer] that keeps the webhooks in
// memory and can match them there without first checking that no change
// committed elsewhere (another process, say) made its copy stale: it
// checks instead as it enqueues, in the same transaction, so that Emit
// pays no database round trip of its own to find the webhooks. Emit and
// EmitSystem, and EmitVia given the Dispatcher's store, use it when the
// store is one.
type CachedMatcher interface {
	EventEnqueuer
	// MatchHooksCached is MatchHooks from memory. It may return webhooks
	// that a committed change has made stale, but never a stale empty
	// result: with no webhook to enqueue for, nothing would check it, so
	// an empty answer is as fresh as MatchHooks's. EnqueueEvent (and
	// EnqueueAndClaim, if the store is an [EnqueueClaimer]) of an
	// Emission of its webhooks, with Cached set, enqueue nothing and
	// return an error wrapping [ErrHooksChanged] unless no change was
	// committed since they were current.
	MatchHooksCached(ctx context.Context, userID string, e Event) ([]*Webhook, error)
}

// An EnqueueClaimer is an [EventEnqueuer] that can claim an emitted
// event's deliveries as it enqueues them, in the same commit, sparing the
// claim that would otherwise follow at once. A started Dispatcher whose
// store is one uses it for Emit and EmitSystem while its workers have
// room and its claims have found nothing more due (an older due delivery
// is never passed over), and claims as usual otherwise; not for EmitVia
// with another Outbox, whose transaction may yet roll back.
type EnqueueClaimer interface {
	EventEnqueuer
	// EnqueueAndClaim enqueues em as EnqueueEvent does and, atomically
	// with it, claims its first max deliveries to webhooks that are not
	// Ordered (in the order of em.Hooks), leased at now for lease as
	// Claim leases them; it returns those claims, in that order. A
	// claim's Hook is its em.Hooks entry, or a copy with a current
	// FailingSince when that differs; its Delivery is pending, with no
	// attempt, due at em.NextAttemptAt. On error, nothing is enqueued and
	// there are no claims.
	EnqueueAndClaim(ctx context.Context, em *Emission, now time.Time, max int, lease time.Duration) ([]Claim, error)
}

// A Queue hands due deliveries to workers and takes back their results.
type Queue interface {
	// Claim leases up to max pending deliveries due at now (NextAttemptAt
	// <= now) whose lease is free or expired, earliest due first, for the
	// duration lease. Deliveries of deleted webhooks are never returned.
	// Of an Ordered webhook, only the earliest enqueued pending delivery
	// may be claimed: none while it is leased or not yet due.
	Claim(ctx context.Context, now time.Time, max int, lease time.Duration) ([]Claim, error)
	// Settle applies results: the delivery's state, attempt count, next
	// attempt time, last status, error and attempt time, its attempt
	// history, and the webhook's LatestSentAt and LatestStatus
	// (Attempt.Status, or 1 when it is 0) and FailingSince (cleared by a
	// delivered result, set to Attempt.At by a failed one when unset). A result whose
	// lease is no longer the delivery's is skipped, and reported by an
	// error wrapping ErrLeaseLost after the others are applied; one for a
	// delivery that no longer exists is skipped silently. Settle must not
	// keep rs once it has returned: the Dispatcher reuses it.
	//
	// What a batch guarantees: the results of one call are applied in
	// their order (a later result of a webhook sees an earlier one's
	// effect on FailingSince; of two results with one lease, the first
	// is applied and the second refused), and once Settle has returned
	// nil or an error wrapping only ErrLeaseLost, every result it did not
	// refuse is durable. On any other error, it is not known which were
	// applied: their leases lapse and the deliveries are claimed again,
	// so an attempt may be made twice, never lost.
	Settle(ctx context.Context, rs []Result) error
	// GetDelivery returns a copy of the delivery with the given ID, or
	// ErrNotFound.
	GetDelivery(ctx context.Context, id uuid.UUID) (*Delivery, error)
}

// A SettleClaimer is a Store that settles results and claims more in
// one call, for stores that pay per statement or per commit (pgstore does
// both in one round trip and one transaction). A started Dispatcher
// whose store is one settles its workers' results in batches, from one
// goroutine, and lets the next claim ride along.
type SettleClaimer interface {
	// SettleAndClaim settles rs as Settle does, then claims up to max
	// deliveries (none when max is 0) as Claim does, seeing the results
	// just settled (an ordered webhook's next delivery may be claimed).
	// The claims are returned with an error that wraps only
	// ErrLeaseLost; with any other error there are none, and the results
	// are as after a failed Settle.
	SettleAndClaim(ctx context.Context, rs []Result, now time.Time, max int, lease time.Duration) ([]Claim, error)
}

// A Store keeps webhooks and their deliveries. Its methods are safe for
// concurrent use. [NewMemoryStore] is the default; sqlitestore and pgstore
// are durable ones. Every Store passes the storetest conformance suite.
type Store interface {
	HookStore
	Outbox
	Queue
}

// A Notifier is a Store that can tell a Dispatcher when deliveries were
// enqueued by another process, so idle workers start without waiting for
// the next poll. The Dispatcher runs Listen in a goroutine it owns.
type Notifier interface {
	// Listen calls wake whenever deliveries may have become due, until ctx
	// is done; it then returns nil. It calls wake once as soon as it is
	// listening (and again after any reconnection), for what was enqueued
	// before it was. It returns early only on an error it cannot recover
	// from, after which the Dispatcher polls.
	Listen(ctx context.Context, wake func()) error
}

// A DeliveryQuery selects a webhook's deliveries, newest first.
type DeliveryQuery struct {
	// HookID is the webhook. Required.
	HookID string
	// State keeps only deliveries in that state; 0 keeps all.
	State State
	// Cursor continues after the previous page's Next; "" starts at the
	// newest delivery.
	Cursor string
	// Limit is the largest page. Defaults to 50; at most 500.
	Limit int
}

// A DeliveryPage is one page of [History.ListDeliveries].
type DeliveryPage struct {
	// Deliveries, newest (by CreatedAt, then ID) first.
	Deliveries []*Delivery
	// Next is the cursor of the following page, "" on the last.
	Next string
}

// History is a Store that keeps every delivery's attempts, for operators:
// "did my webhook fire, and what did the receiver say". Finished
// deliveries and their attempts are kept by the store's retention rule.
type History interface {
	// ListDeliveries returns a page of the deliveries of a webhook.
	ListDeliveries(ctx context.Context, q DeliveryQuery) (*DeliveryPage, error)
	// ListAttempts returns a delivery's attempts, oldest first, or
	// ErrNotFound.
	ListAttempts(ctx context.Context, id uuid.UUID) ([]Attempt, error)
}

// A Redeliverer is a Store that can send deliveries again.
type Redeliverer interface {
	// Redeliver starts a new attempt series of a delivery, whatever its
	// state: it becomes pending, due at now, with Attempts 0, and keeps
	// its ID, body and createdAt (and its attempt history). A delivery
	// under a live lease is not touched: the error wraps ErrLeaseLost.
	Redeliver(ctx context.Context, id uuid.UUID, now time.Time) error
	// RecoverFailed redelivers, as Redeliver, up to limit failed
	// deliveries of hookID whose last attempt was at or after since,
	// oldest first, and returns how many.
	RecoverFailed(ctx context.Context, hookID string, since, now time.Time, limit int) (int, error)
}

// QueueStats describes a Store's queue, for metrics.
type QueueStats struct {
	// Pending is how many deliveries are pending, in flight included.
	Pending int64
	// OldestDue is the due time of the earliest pending delivery, zero
	// when there is none.
	OldestDue time.Time
}

// A StatsReporter is a Store that can describe its queue.
type StatsReporter interface {
	QueueStats(ctx context.Context) (QueueStats, error)
}

// A VolatileStore is a Store whose deliveries do not outlive the process,
// as the MemoryStore's: Shutdown counts what such a store still holds
// pending (see [UndeliveredError]). A wrapper of a Store forwards it.
type VolatileStore interface {
	StatsReporter
	// Volatile reports whether the store's deliveries are lost when the
	// process exits.
	Volatile() bool
}

// A Pruner is a Store that deletes finished deliveries past its retention
// (the durable stores keep them 7 days by default). A started Dispatcher
// calls Prune every Config.PruneInterval.
type Pruner interface {
	// Prune deletes the delivered and failed deliveries older than the
	// store's retention at now, and returns how many.
	Prune(ctx context.Context, now time.Time) (int64, error)
}

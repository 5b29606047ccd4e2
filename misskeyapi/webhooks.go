package misskeyapi

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/fedihook/webhook"
)

// A UserWebhook is Misskey's packed user webhook, the response of
// i/webhooks/create, list and show.
type UserWebhook struct {
	ID           string          `json:"id"`
	UserID       string          `json:"userId"`
	Name         string          `json:"name"`
	On           []webhook.Event `json:"on"`
	URL          string          `json:"url"`
	Secret       string          `json:"secret"`
	Active       bool            `json:"active"`
	LatestSentAt *string         `json:"latestSentAt"`
	LatestStatus *int            `json:"latestStatus"`
}

// A SystemWebhook is Misskey's packed system webhook, the response of
// admin/system-webhook/create, list, show and update.
type SystemWebhook struct {
	ID       string `json:"id"`
	IsActive bool   `json:"isActive"`
	// UpdatedAt is the creation time held in the webhook's ID (fedihook's
	// record keeps no update time); the Unix epoch for an ID that holds
	// none.
	UpdatedAt    string          `json:"updatedAt"`
	LatestSentAt *string         `json:"latestSentAt"`
	LatestStatus *int            `json:"latestStatus"`
	Name         string          `json:"name"`
	On           []webhook.Event `json:"on"`
	URL          string          `json:"url"`
	Secret       string          `json:"secret"`
}

// PackUserWebhook returns w as Misskey's endpoints answer it.
func PackUserWebhook(w *webhook.Webhook) *UserWebhook {
	return &UserWebhook{ID: w.ID, UserID: w.UserID, Name: w.Name, On: events(w.On), URL: w.URL, Secret: w.Secret,
		Active: w.Active, LatestSentAt: isoPtr(w.LatestSentAt), LatestStatus: w.LatestStatus}
}

// PackSystemWebhook returns the system webhook w as Misskey's endpoints
// answer it.
func PackSystemWebhook(w *webhook.Webhook) *SystemWebhook {
	return &SystemWebhook{ID: w.ID, IsActive: w.Active, UpdatedAt: ISOTime(idTime(w.ID)),
		LatestSentAt: isoPtr(w.LatestSentAt), LatestStatus: w.LatestStatus,
		Name: w.Name, On: events(w.On), URL: w.URL, Secret: w.Secret}
}

func events(on []webhook.Event) []webhook.Event {
	if on == nil {
		return []webhook.Event{}
	}
	return on
}

// ISOTime formats t as JavaScript's Date.prototype.toISOString does, the
// way Misskey writes dates: UTC, milliseconds, "Z".
func ISOTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func isoPtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := ISOTime(*t)
	return &s
}

// idTime returns the creation time held in an ID of Misskey's "aid" or
// "aidx" form (as webhook.NewID makes): 8 base-36 digits of milliseconds
// since 2000. Other IDs yield the Unix epoch.
func idTime(id string) time.Time {
	if len(id) < 10 {
		return time.UnixMilli(0)
	}
	var ms int64
	for i := 0; i < 8; i++ {
		d := strings.IndexByte("0123456789abcdefghijklmnopqrstuvwxyz", id[i])
		if d < 0 {
			return time.UnixMilli(0)
		}
		ms = ms*36 + int64(d)
	}
	return time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(ms) * time.Millisecond)
}

func isUserEvent(e webhook.Event) bool   { return e.IsUser() }
func isSystemEvent(e webhook.Event) bool { return e.IsSystem() }

// register adds Misskey's endpoints.
func (h *Handler) register() {
	cred := EndpointOptions{RequireCredential: true}
	mod := EndpointOptions{RequireModerator: true}
	h.Handle("i/webhooks/create", cred, h.createUserHook)
	h.Handle("i/webhooks/list", cred, h.listUserHooks)
	h.Handle("i/webhooks/show", cred, h.showUserHook)
	h.Handle("i/webhooks/update", cred, h.updateUserHook)
	h.Handle("i/webhooks/delete", cred, h.deleteUserHook)
	h.Handle("i/webhooks/test", cred, h.testUserHook)
	h.Handle("admin/system-webhook/create", mod, h.createSystemHook)
	h.Handle("admin/system-webhook/list", mod, h.listSystemHooks)
	h.Handle("admin/system-webhook/show", mod, h.showSystemHook)
	h.Handle("admin/system-webhook/update", mod, h.updateSystemHook)
	h.Handle("admin/system-webhook/delete", mod, h.deleteSystemHook)
	h.Handle("admin/system-webhook/test", mod, h.testSystemHook)
	if h.cfg.Meta != nil {
		h.Handle("meta", EndpointOptions{AllowGet: true, BoolParams: []string{"detail"}}, h.meta)
	}
	if h.cfg.LookupUser != nil {
		h.Handle("users/show", EndpointOptions{}, h.showUser)
	}
}

// invalid turns a validation error of the library (webhook.ErrInvalid)
// into INVALID_PARAM about param.
func invalid(param string, err error) *Error {
	return invalidParam(param, strings.TrimPrefix(err.Error(), "webhook: "))
}

// checkURLSecret checks url and secret beyond Misskey's schema, as
// fedihook's record requires (an absolute http(s) URL; a secret that
// survives an HTTP header).
func checkURLSecret(base, url string, urlSet bool, secret string, secretSet bool) *Error {
	if urlSet {
		if err := webhook.ValidateURL(url); err != nil {
			return invalid(base+"/properties/url", err)
		}
	}
	if secretSet {
		if err := webhook.ValidateSecret(secret); err != nil {
			return invalid(base+"/properties/secret", err)
		}
	}
	return nil
}

// storeError maps the Dispatcher's errors; notFound answers ErrNotFound.
func storeError(err error, notFound *Error) error {
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		return notFound
	case errors.Is(err, webhook.ErrTooManyWebhooks):
		return ErrTooManyWebhooks
	case errors.Is(err, webhook.ErrInvalid):
		return invalid("#", err)
	}
	return err
}

// userHook returns the caller's webhook id, or notFound: another user's
// webhook, or a system webhook, does not exist for the caller.
func (h *Handler) userHook(ctx context.Context, c *Call, id string, notFound *Error) (*webhook.Webhook, error) {
	w, err := h.d.GetHook(ctx, id)
	if err != nil {
		return nil, storeError(err, notFound)
	}
	if w.IsSystem() || w.UserID != c.Account.UserID {
		return nil, notFound
	}
	return w, nil
}

// systemHook returns the system webhook id, or notFound (a user's
// webhook is no system webhook).
func (h *Handler) systemHook(ctx context.Context, id string, notFound *Error) (*webhook.Webhook, error) {
	w, err := h.d.GetHook(ctx, id)
	if err != nil {
		return nil, storeError(err, notFound)
	}
	if !w.IsSystem() {
		return nil, notFound
	}
	return w, nil
}

// i/webhooks/create {name, url, secret?, on}
func (h *Handler) createUserHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("name", "url", "on")
	name, _ := r.str("name", 1, webhook.MaxNameLength)
	url, _ := r.str("url", 1, webhook.MaxURLLength)
	secret, secretSet := r.str("secret", 0, webhook.MaxSecretLength)
	on, _ := r.events("on", isUserEvent)
	if r.err != nil {
		return nil, r.err
	}
	if e := checkURLSecret("#", url, true, secret, secretSet); e != nil {
		return nil, e
	}
	w, err := h.d.CreateHook(ctx, &webhook.Webhook{UserID: c.Account.UserID, Name: name, URL: url, Secret: secret,
		On: on, Active: true})
	if err != nil {
		return nil, storeError(err, ErrNoSuchWebhookShow)
	}
	return PackUserWebhook(w), nil
}

// i/webhooks/list {}
func (h *Handler) listUserHooks(ctx context.Context, c *Call) (any, error) {
	hooks, err := h.d.ListHooks(ctx, c.Account.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]*UserWebhook, 0, len(hooks))
	for _, w := range hooks {
		out = append(out, PackUserWebhook(w))
	}
	return out, nil
}

// i/webhooks/show {webhookId}
func (h *Handler) showUserHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("webhookId")
	id, _ := r.id("webhookId")
	if r.err != nil {
		return nil, r.err
	}
	w, err := h.userHook(ctx, c, id, ErrNoSuchWebhookShow)
	if err != nil {
		return nil, err
	}
	return PackUserWebhook(w), nil
}

// i/webhooks/update {webhookId, name?, url?, secret? (null clears), on?, active?}
func (h *Handler) updateUserHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("webhookId")
	id, _ := r.id("webhookId")
	name, nameSet := r.str("name", 1, webhook.MaxNameLength)
	url, urlSet := r.str("url", 1, webhook.MaxURLLength)
	secret, secretSet, _ := r.nullableStr("secret", 0, webhook.MaxSecretLength, true)
	on, onSet := r.events("on", isUserEvent)
	active, activeSet := r.boolean("active")
	if r.err != nil {
		return nil, r.err
	}
	if e := checkURLSecret("#", url, urlSet, secret, secretSet); e != nil {
		return nil, e
	}
	w, err := h.userHook(ctx, c, id, ErrNoSuchWebhookUpdate)
	if err != nil {
		return nil, err
	}
	if nameSet {
		w.Name = name
	}
	if urlSet {
		w.URL = url
	}
	if secretSet {
		w.Secret = secret // null is "", as in Misskey
	}
	if onSet {
		w.On = on
	}
	if activeSet {
		w.Active = active
	}
	if err := h.d.UpdateHook(ctx, w); err != nil {
		return nil, storeError(err, ErrNoSuchWebhookUpdate)
	}
	return nil, nil
}

// i/webhooks/delete {webhookId}
func (h *Handler) deleteUserHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("webhookId")
	id, _ := r.id("webhookId")
	if r.err != nil {
		return nil, r.err
	}
	if _, err := h.userHook(ctx, c, id, ErrNoSuchWebhookDelete); err != nil {
		return nil, err
	}
	if err := h.d.DeleteHook(ctx, id); err != nil {
		return nil, storeError(err, ErrNoSuchWebhookDelete)
	}
	return nil, nil
}

// testParams reads {webhookId, type, override?: {url?, secret?}}.
func testParams(c *Call, allowed func(webhook.Event) bool) (id string, e webhook.Event, url, secret *string, err *Error) {
	r := newReader(c.Params)
	r.require("webhookId", "type")
	id, _ = r.id("webhookId")
	e, _ = r.event("type", allowed)
	if o, ok := r.object("override"); ok {
		if u, ok := o.str("url", 0, -1); ok {
			url = &u
		}
		if s, ok := o.str("secret", 0, -1); ok {
			secret = &s
		}
		if o.err != nil {
			return "", "", nil, nil, o.err
		}
	}
	return id, e, url, secret, r.err
}

// test sends one test delivery of e to w, to override's URL and secret
// where given, as Misskey's WebhookTestService does; the delivery's
// outcome is the receiver's business, as in Misskey, which only enqueues
// it.
func (h *Handler) test(ctx context.Context, c *Call, key string, w *webhook.Webhook, e webhook.Event, url, secret *string) (any, error) {
	if ok, wait := h.limiter.Allow(key + "\x00" + c.Account.UserID); !ok {
		reset := h.cfg.Clock.Now().Add(wait)
		return nil, ErrRateLimitExceeded.with(map[string]any{"resetMs": reset.UnixMilli()})
	}
	var o *webhook.TestOverride
	if url != nil || secret != nil {
		o = &webhook.TestOverride{URL: w.URL, Secret: w.Secret}
		if url != nil {
			o.URL = *url
		}
		if secret != nil {
			o.Secret = *secret
		}
		if e := checkURLSecret("#/properties/override", o.URL, url != nil, o.Secret, secret != nil); e != nil {
			return nil, e
		}
	}
	res, err := h.d.TestHook(ctx, w.ID, e, o)
	if err != nil {
		return nil, storeError(err, ErrNoSuchWebhookTest)
	}
	if res.Err != nil {
		h.cfg.Logger.Info("misskeyapi: test delivery failed", "endpoint", key, "hook", w.ID, "event", e, "err", res.Err)
	}
	return nil, nil
}

// i/webhooks/test {webhookId, type, override?}
func (h *Handler) testUserHook(ctx context.Context, c *Call) (any, error) {
	id, e, url, secret, perr := testParams(c, isUserEvent)
	if perr != nil {
		return nil, perr
	}
	w, err := h.userHook(ctx, c, id, ErrNoSuchWebhookTest)
	if err != nil {
		return nil, err
	}
	return h.test(ctx, c, "i/webhooks/test", w, e, url, secret)
}

// systemParams reads the {isActive, name, on, url, secret?} of
// admin/system-webhook/create and update, with required first.
func systemParams(r *reader) *webhook.Webhook {
	active, _ := r.boolean("isActive")
	name, _ := r.str("name", 1, webhook.MaxSystemNameLength)
	on, _ := r.events("on", isSystemEvent)
	url, _ := r.str("url", 1, webhook.MaxURLLength)
	secret, _ := r.str("secret", 0, webhook.MaxSecretLength) // absent is "", Misskey's default
	return &webhook.Webhook{Name: name, On: on, URL: url, Secret: secret, Active: active}
}

// admin/system-webhook/create {isActive, name, on, url, secret?}
func (h *Handler) createSystemHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("isActive", "name", "on", "url")
	in := systemParams(r)
	if r.err != nil {
		return nil, r.err
	}
	if e := checkURLSecret("#", in.URL, true, in.Secret, true); e != nil {
		return nil, e
	}
	w, err := h.d.CreateHook(ctx, in)
	if err != nil {
		return nil, storeError(err, ErrNoSuchSystemWebhook)
	}
	return PackSystemWebhook(w), nil
}

// admin/system-webhook/list {isActive?, on?}: sorted by ID, as Misskey's.
func (h *Handler) listSystemHooks(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	active, activeSet := r.boolean("isActive")
	on, onSet := r.events("on", isSystemEvent)
	if r.err != nil {
		return nil, r.err
	}
	hooks, err := h.d.ListHooks(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]*SystemWebhook, 0, len(hooks))
	for _, w := range hooks {
		if activeSet && w.Active != active {
			continue
		}
		if onSet && len(on) > 0 && !slices.ContainsFunc(on, w.Subscribes) {
			continue
		}
		out = append(out, PackSystemWebhook(w))
	}
	slices.SortFunc(out, func(a, b *SystemWebhook) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// admin/system-webhook/show {id}
func (h *Handler) showSystemHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("id")
	id, _ := r.id("id")
	if r.err != nil {
		return nil, r.err
	}
	w, err := h.systemHook(ctx, id, ErrNoSuchSystemWebhook)
	if err != nil {
		return nil, err
	}
	return PackSystemWebhook(w), nil
}

// admin/system-webhook/update {id, isActive, name, on, url, secret?}: an
// absent secret is "", as in Misskey.
func (h *Handler) updateSystemHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("id", "isActive", "name", "on", "url")
	id, _ := r.id("id")
	in := systemParams(r)
	if r.err != nil {
		return nil, r.err
	}
	if e := checkURLSecret("#", in.URL, true, in.Secret, true); e != nil {
		return nil, e
	}
	w, err := h.systemHook(ctx, id, ErrNoSuchSystemWebhook)
	if err != nil {
		return nil, err
	}
	w.Name, w.On, w.URL, w.Secret, w.Active = in.Name, in.On, in.URL, in.Secret, in.Active
	if err := h.d.UpdateHook(ctx, w); err != nil {
		return nil, storeError(err, ErrNoSuchSystemWebhook)
	}
	if w, err = h.systemHook(ctx, id, ErrNoSuchSystemWebhook); err != nil {
		return nil, err
	}
	return PackSystemWebhook(w), nil
}

// admin/system-webhook/delete {id}
func (h *Handler) deleteSystemHook(ctx context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	r.require("id")
	id, _ := r.id("id")
	if r.err != nil {
		return nil, r.err
	}
	if _, err := h.systemHook(ctx, id, ErrNoSuchSystemWebhook); err != nil {
		return nil, err
	}
	if err := h.d.DeleteHook(ctx, id); err != nil {
		return nil, storeError(err, ErrNoSuchSystemWebhook)
	}
	return nil, nil
}

// admin/system-webhook/test {webhookId, type, override?}
func (h *Handler) testSystemHook(ctx context.Context, c *Call) (any, error) {
	id, e, url, secret, perr := testParams(c, isSystemEvent)
	if perr != nil {
		return nil, perr
	}
	w, err := h.systemHook(ctx, id, ErrNoSuchWebhookTest)
	if err != nil {
		return nil, err
	}
	return h.test(ctx, c, "admin/system-webhook/test", w, e, url, secret)
}

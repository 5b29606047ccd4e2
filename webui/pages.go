package webui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fedihook/webhook"
)

// logPageSize is how many deliveries one page of a webhook's log shows.
const logPageSize = 20

// bodyExcerpt is how much of a delivery's body its page shows.
const bodyExcerpt = 8 << 10

// mayManage reports whether u may see and change w: their own user
// webhooks, and the system webhooks if they are an operator.
func mayManage(u User, w *webhook.Webhook) bool {
	if w.IsSystem() {
		return u.Operator
	}
	return u.ID != "" && w.UserID == u.ID
}

// hook loads the webhook of the request's {id}, answering "not found"
// (never "forbidden") when it is not the user's to manage.
func (h *Handler) hook(c *call) (*webhook.Webhook, bool) {
	w, err := h.d.GetHook(c.r.Context(), c.r.PathValue("id"))
	if errors.Is(err, webhook.ErrNotFound) || (err == nil && !mayManage(c.user, w)) {
		h.fail(c.w, c.r, http.StatusNotFound, "noHook")
		return nil, false
	}
	if err != nil {
		h.internal(c, "loading a webhook", err)
		return nil, false
	}
	return w, true
}

// notice is the confirmation a redirect after a form asked for.
func (h *Handler) notice(c *call) string {
	q := c.r.URL.Query()
	switch d := q.Get("done"); d {
	case "saved", "deleted", "redelivered", "recoveredNone":
		return c.tr.T("done_" + d)
	case "recovered":
		n, _ := strconv.Atoi(q.Get("n"))
		if n >= RecoverLimit {
			return c.tr.T("done_recoveredMore", n)
		}
		return c.tr.T("done_recovered", n)
	}
	return ""
}

// listData is the data of the list of webhooks.
type listData struct {
	System bool
	Hooks  []*webhook.Webhook
	NewURL string
}

func (h *Handler) listPage(c *call) {
	if c.user.ID == "" { // an operator without webhooks of their own
		h.redirect(c, "/system", "", 0)
		return
	}
	h.list(c, false)
}

func (h *Handler) systemPage(c *call) {
	if !c.user.Operator {
		h.fail(c.w, c.r, http.StatusNotFound, "notFound")
		return
	}
	h.list(c, true)
}

func (h *Handler) list(c *call, system bool) {
	owner, title, newURL := c.user.ID, "myHooks", "/new"
	if system {
		owner, title, newURL = "", "systemHooks", "/system/new"
	}
	hooks, err := h.d.ListHooks(c.r.Context(), owner)
	if err != nil {
		h.internal(c, "listing webhooks", err)
		return
	}
	p := h.newPage(c, c.tr.T(title), &listData{System: system, Hooks: hooks, NewURL: newURL})
	p.Notice = h.notice(c)
	h.show(c, "list", p)
}

// formData is the data of the create and edit forms.
type formData struct {
	System bool
	Edit   bool
	Hook   *webhook.Webhook // the webhook edited
	Action string
	// ID is the new webhook's ID, chosen when the form is shown, so that
	// posting it twice (a reload) creates it once.
	ID     string
	Name   string
	URL    string
	Secret string
	Active bool
	On     map[webhook.Event]bool
	Events []webhook.Event
	// HasSecret says the edited webhook has a secret.
	HasSecret bool
}

func eventsOf(system bool) []webhook.Event {
	if system {
		return webhook.SystemEvents()
	}
	return webhook.UserEvents()
}

func (h *Handler) newForm(c *call) {
	system := strings.HasPrefix(c.r.URL.Path, "/system/")
	if (system && !c.user.Operator) || (!system && c.user.ID == "") {
		h.fail(c.w, c.r, http.StatusNotFound, "notFound")
		return
	}
	f := &formData{System: system, Action: c.r.URL.Path, ID: webhook.NewID(h.clock.Now()), Active: true,
		On: map[webhook.Event]bool{}, Events: eventsOf(system)}
	h.show(c, "form", h.newPage(c, c.tr.T("newHook"), f))
}

// readForm reads a posted webhook form into f and lists what is wrong
// with it, in sentences.
func readForm(c *call, f *formData) []string {
	var errs []string
	pf := c.r.PostForm
	f.Name = strings.TrimSpace(pf.Get("name"))
	f.URL = strings.TrimSpace(pf.Get("url"))
	f.Secret = strings.TrimSpace(pf.Get("secret"))
	f.Active = pf.Get("active") != ""
	f.On = map[webhook.Event]bool{}
	if n := utf8.RuneCountInString(f.Name); n == 0 {
		errs = append(errs, c.tr.T("err_nameRequired"))
	} else if n > webhook.MaxNameLength || !utf8.ValidString(f.Name) {
		errs = append(errs, c.tr.T("err_nameTooLong", webhook.MaxNameLength))
	}
	if err := webhook.ValidateURL(f.URL); err != nil {
		errs = append(errs, c.tr.T("err_url"))
	}
	if err := webhook.ValidateSecret(f.Secret); err != nil {
		errs = append(errs, c.tr.T("err_secret", webhook.MaxSecretLength))
	}
	for _, v := range pf["on"] {
		e := webhook.Event(v)
		if !slices.Contains(f.Events, e) {
			errs = append(errs, c.tr.T("err_event"))
			break
		}
		f.On[e] = true
	}
	if len(f.On) == 0 {
		errs = append(errs, c.tr.T("err_noEvents"))
	}
	return errs
}

// on lists the events checked in f, in the events' order.
func (f *formData) on() []webhook.Event {
	var on []webhook.Event
	for _, e := range f.Events {
		if f.On[e] {
			on = append(on, e)
		}
	}
	return on
}

// idShape is the shape of the IDs webhook.NewID makes.
var idShape = regexp.MustCompile(`^[0-9a-z]{16}$`)

func (h *Handler) create(c *call) {
	system := strings.HasPrefix(c.r.URL.Path, "/system/")
	if (system && !c.user.Operator) || (!system && c.user.ID == "") {
		h.fail(c.w, c.r, http.StatusNotFound, "notFound")
		return
	}
	f := &formData{System: system, Action: c.r.URL.Path, Events: eventsOf(system)}
	f.ID = c.r.PostForm.Get("id")
	if !idShape.MatchString(f.ID) {
		f.ID = webhook.NewID(h.clock.Now())
	}
	p := h.newPage(c, c.tr.T("newHook"), f)
	if p.Errors = readForm(c, f); len(p.Errors) > 0 {
		h.render(c.w, http.StatusUnprocessableEntity, "form", p)
		return
	}
	owner := c.user.ID
	if system {
		owner = ""
	}
	signing := webhook.NewSigningSecret()
	w, err := h.d.CreateHook(c.r.Context(), &webhook.Webhook{ID: f.ID, UserID: owner, Name: f.Name, URL: f.URL,
		Secret: f.Secret, On: f.on(), Active: f.Active, SigningSecret: signing})
	switch {
	case errors.Is(err, webhook.ErrConflict):
		// The form was posted before: the webhook exists, its signing
		// secret was shown then.
		if old, gerr := h.d.GetHook(c.r.Context(), f.ID); gerr == nil && mayManage(c.user, old) {
			http.Redirect(c.w, c.r, p.HookURL(f.ID), http.StatusSeeOther)
			return
		}
		f.ID = webhook.NewID(h.clock.Now())
		p.Errors = []string{c.tr.T("err_retry")}
	case errors.Is(err, webhook.ErrTooManyWebhooks):
		p.Errors = []string{c.tr.T("err_tooMany")}
	case errors.Is(err, webhook.ErrInvalid):
		p.Errors = []string{c.tr.T("err_invalid", strings.TrimPrefix(err.Error(), "webhook: "))}
	case err != nil:
		h.internal(c, "creating a webhook", err)
		return
	}
	if err != nil {
		h.render(c.w, http.StatusUnprocessableEntity, "form", p)
		return
	}
	h.show(c, "created", h.newPage(c, c.tr.T("created"), &createdData{Hook: w, SigningSecret: signing}))
}

// createdData is the data of the page shown once after creation.
type createdData struct {
	Hook          *webhook.Webhook
	SigningSecret string
}

func (h *Handler) editPage(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	f := &formData{System: w.IsSystem(), Edit: true, Hook: w, Action: editPath(w), Name: w.Name, URL: w.URL,
		Active: w.Active, On: map[webhook.Event]bool{}, Events: eventsOf(w.IsSystem()), HasSecret: w.Secret != ""}
	for _, e := range w.On {
		f.On[e] = true
	}
	h.show(c, "form", h.newPage(c, c.tr.T("editHook", w.Name), f))
}

// editPath is the address of w's edit form, relative to Prefix, with the
// ID escaped: the request's decoded path would send the form of an ID
// holding "/", "?" or "#" elsewhere.
func editPath(w *webhook.Webhook) string { return "/hooks/" + pathID(w.ID) + "/edit" }

func (h *Handler) save(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	f := &formData{System: w.IsSystem(), Edit: true, Hook: w, Action: editPath(w),
		Events: eventsOf(w.IsSystem()), HasSecret: w.Secret != ""}
	p := h.newPage(c, c.tr.T("editHook", w.Name), f)
	p.Errors = readForm(c, f)
	secret := w.Secret
	switch {
	case c.r.PostForm.Get("clearSecret") != "":
		secret = ""
	case f.Secret != "":
		secret = f.Secret
	}
	f.Secret = "" // never sent back
	if len(p.Errors) > 0 {
		h.render(c.w, http.StatusUnprocessableEntity, "form", p)
		return
	}
	up := w.Clone()
	up.Name, up.URL, up.Secret, up.On, up.Active = f.Name, f.URL, secret, f.on(), f.Active
	err := h.d.UpdateHook(c.r.Context(), up)
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		h.fail(c.w, c.r, http.StatusNotFound, "noHook")
	case errors.Is(err, webhook.ErrInvalid):
		p.Errors = []string{c.tr.T("err_invalid", strings.TrimPrefix(err.Error(), "webhook: "))}
		h.render(c.w, http.StatusUnprocessableEntity, "form", p)
	case err != nil:
		h.internal(c, "saving a webhook", err)
	default:
		h.redirect(c, "/hooks/"+pathID(w.ID), "saved", 0)
	}
}

func (h *Handler) deletePage(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	h.show(c, "delete", h.newPage(c, c.tr.T("deleteHook", w.Name), w))
}

func (h *Handler) deleteHook(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	if err := h.d.DeleteHook(c.r.Context(), w.ID); err != nil && !errors.Is(err, webhook.ErrNotFound) {
		h.internal(c, "deleting a webhook", err)
		return
	}
	back := "/"
	if w.IsSystem() {
		back = "/system"
	}
	h.redirect(c, back, "deleted", 0)
}

// hookData is the data of a webhook's page.
type hookData struct {
	Hook       *webhook.Webhook
	System     bool
	TestEvents []webhook.Event
	TestEvent  webhook.Event
	Chart      *chart
	Log        *deliveryLog
	// Test is the outcome of a test just sent.
	Test *testOutcome
	// Revealed holds the secrets after "Reveal secrets".
	Revealed *revealed
	// NewSigningSecret is the signing secret "Rotate" just made.
	NewSigningSecret string
	RecoverSince     []sinceOption
	RecoverLimit     int
	// RotationOverlap is Config.RotationOverlap, in words.
	RotationOverlap string
}

// A deliveryLog is one page of a webhook's deliveries.
type deliveryLog struct {
	Supported  bool
	Deliveries []*webhook.Delivery
	State      string
	States     []string
	Cursor     string
	Next       string
}

// A testOutcome is what a test send got.
type testOutcome struct {
	Event    webhook.Event
	OK       bool
	Status   int
	Duration time.Duration
	Response []byte
	Error    string
}

// revealed holds a webhook's secrets, shown on request.
type revealed struct {
	Secret   string
	Signing  string
	Previous []webhook.PreviousSecret
}

type sinceOption struct {
	Value string
	Label string
}

func (h *Handler) hookPage(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	h.showHook(c, w, nil, "")
}

// showHook renders a webhook's page; fill adds what a form just did.
func (h *Handler) showHook(c *call, w *webhook.Webhook, fill func(*hookData), notice string) {
	ctx := c.r.Context()
	d := &hookData{Hook: w, System: w.IsSystem(), TestEvents: eventsOf(w.IsSystem()),
		RecoverLimit: RecoverLimit, RotationOverlap: c.tr.duration(h.cfg.RotationOverlap)}
	d.TestEvent = d.TestEvents[0]
	if len(w.On) > 0 {
		d.TestEvent = w.On[0]
	}
	if fill != nil {
		fill(d)
	}
	p := h.newPage(c, w.Name, d)
	p.Notice = notice
	if p.Notice == "" {
		p.Notice = h.notice(c)
	}
	for _, s := range []struct {
		v   string
		key string
	}{{"1h", "since_1h"}, {"24h", "since_24h"}, {"168h", "since_7d"}} {
		d.RecoverSince = append(d.RecoverSince, sinceOption{s.v, c.tr.T(s.key)})
	}

	// The delivery log: a page of it, filtered by state.
	q := c.r.URL.Query()
	lg := &deliveryLog{Supported: true, States: []string{"", "pending", "delivered", "failed"}}
	d.Log = lg
	query := webhook.DeliveryQuery{HookID: w.ID, Limit: logPageSize}
	if st, ok := parseState(q.Get("state")); ok && c.r.Method == http.MethodGet {
		query.State, lg.State = st, q.Get("state")
		query.Cursor, lg.Cursor = q.Get("cursor"), q.Get("cursor")
	}
	page, err := h.d.ListDeliveries(ctx, query)
	if errors.Is(err, webhook.ErrInvalid) && query.Cursor != "" {
		p.Error = c.tr.T("err_cursor")
		query.Cursor, lg.Cursor = "", ""
		page, err = h.d.ListDeliveries(ctx, query)
	}
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		lg.Supported = false
	case err != nil:
		h.internal(c, "listing deliveries", err)
		return
	default:
		lg.Deliveries, lg.Next = page.Deliveries, page.Next
		ch, err := h.chart(ctx, w.ID, c.tr)
		if err != nil {
			h.internal(c, "drawing a chart", err)
			return
		}
		d.Chart = ch
	}
	h.show(c, "hook", p)
}

// parseState reads the log's state filter; "" is every state.
func parseState(s string) (webhook.State, bool) {
	switch s {
	case "":
		return 0, true
	case "pending":
		return webhook.StatePending, true
	case "delivered":
		return webhook.StateDelivered, true
	case "failed":
		return webhook.StateFailed, true
	}
	return 0, false
}

func (h *Handler) test(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	e := webhook.Event(c.r.PostForm.Get("event"))
	if !slices.Contains(eventsOf(w.IsSystem()), e) {
		h.fail(c.w, c.r, http.StatusBadRequest, "err_event")
		return
	}
	if ok, _ := h.tests.Allow(c.user.ID); !ok {
		h.fail(c.w, c.r, http.StatusTooManyRequests, "tooManyTests")
		return
	}
	res, err := h.d.TestHook(c.r.Context(), w.ID, e, nil)
	switch {
	case errors.Is(err, webhook.ErrNotFound):
		h.fail(c.w, c.r, http.StatusNotFound, "noHook")
		return
	case errors.Is(err, webhook.ErrClosed):
		h.fail(c.w, c.r, http.StatusServiceUnavailable, "closed")
		return
	case err != nil:
		h.internal(c, "sending a test", err)
		return
	}
	out := &testOutcome{Event: e, OK: res.Err == nil, Status: res.Status, Duration: res.Duration, Response: res.Response}
	if res.Err != nil && res.Status == 0 {
		out.Error = failureText(res.Err)
	}
	h.showHook(c, w, func(d *hookData) { d.Test, d.TestEvent = out, e }, "")
}

// failureText is why an attempt got no answer, without the "webhook:"
// prefix and the hook and attempt the page already shows.
func failureText(err error) string {
	var de *webhook.DeliveryError
	if errors.As(err, &de) && de.Err != nil {
		err = de.Err
	}
	if errors.Is(err, webhook.ErrBlockedAddress) {
		return webhook.ErrBlockedAddress.Error()
	}
	return strings.TrimPrefix(err.Error(), "webhook: ")
}

func (h *Handler) reveal(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	now := h.clock.Now()
	rv := &revealed{Secret: w.Secret, Signing: w.SigningSecret}
	for _, p := range w.PreviousSigningSecrets {
		if now.Before(p.Expires) {
			rv.Previous = append(rv.Previous, p)
		}
	}
	h.showHook(c, w, func(d *hookData) { d.Revealed = rv }, "")
}

func (h *Handler) rotate(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	now := h.clock.Now()
	up := w.Clone()
	up.PreviousSigningSecrets = nil
	for _, p := range w.PreviousSigningSecrets {
		if now.Before(p.Expires) {
			up.PreviousSigningSecrets = append(up.PreviousSigningSecrets, p)
		}
	}
	if w.SigningSecret != "" {
		up.PreviousSigningSecrets = append(up.PreviousSigningSecrets,
			webhook.PreviousSecret{Secret: w.SigningSecret, Expires: now.Add(h.cfg.RotationOverlap)})
	}
	up.SigningSecret = webhook.NewSigningSecret()
	if err := h.d.UpdateHook(c.r.Context(), up); err != nil {
		if errors.Is(err, webhook.ErrNotFound) {
			h.fail(c.w, c.r, http.StatusNotFound, "noHook")
			return
		}
		h.internal(c, "rotating a signing secret", err)
		return
	}
	notice := c.tr.T("rotatedNoFormer")
	if w.SigningSecret != "" {
		notice = c.tr.T("rotated", h.formatTime(now.Add(h.cfg.RotationOverlap)))
	}
	h.showHook(c, up, func(d *hookData) { d.NewSigningSecret = up.SigningSecret }, notice)
}

func (h *Handler) recoverFailed(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	var since time.Duration
	switch c.r.PostForm.Get("since") {
	case "1h":
		since = time.Hour
	case "24h":
		since = 24 * time.Hour
	case "168h":
		since = 7 * 24 * time.Hour
	default:
		h.fail(c.w, c.r, http.StatusBadRequest, "badForm")
		return
	}
	n, err := h.d.RecoverFailed(c.r.Context(), w.ID, h.clock.Now().Add(-since), RecoverLimit)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		h.fail(c.w, c.r, http.StatusNotImplemented, "noRedelivery")
		return
	case err != nil:
		h.internal(c, "recovering failed deliveries", err)
		return
	}
	if n == 0 {
		h.redirect(c, "/hooks/"+pathID(w.ID), "recoveredNone", 0)
		return
	}
	h.redirect(c, "/hooks/"+pathID(w.ID), "recovered", n)
}

// deliveryData is the data of a delivery's page.
type deliveryData struct {
	Hook      *webhook.Webhook
	Delivery  *webhook.Delivery
	Attempts  []webhook.Attempt
	History   bool
	Body      string
	Truncated bool
}

// delivery loads the delivery of the request's {delivery}, which must be
// one of the webhook's.
func (h *Handler) delivery(c *call, w *webhook.Webhook) (*webhook.Delivery, bool) {
	id, err := uuid.Parse(c.r.PathValue("delivery"))
	if err != nil {
		h.fail(c.w, c.r, http.StatusNotFound, "noDelivery")
		return nil, false
	}
	del, err := h.d.Store().GetDelivery(c.r.Context(), id)
	if errors.Is(err, webhook.ErrNotFound) || (err == nil && del.HookID != w.ID) {
		h.fail(c.w, c.r, http.StatusNotFound, "noDelivery")
		return nil, false
	}
	if err != nil {
		h.internal(c, "loading a delivery", err)
		return nil, false
	}
	return del, true
}

func (h *Handler) deliveryPage(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	del, ok := h.delivery(c, w)
	if !ok {
		return
	}
	d := &deliveryData{Hook: w, Delivery: del, History: true}
	atts, err := h.d.ListAttempts(c.r.Context(), del.ID)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		d.History = false
	case errors.Is(err, webhook.ErrNotFound):
		h.fail(c.w, c.r, http.StatusNotFound, "noDelivery")
		return
	case err != nil:
		h.internal(c, "listing attempts", err)
		return
	}
	d.Attempts = atts
	body := del.Body
	var pretty bytes.Buffer
	if len(body) <= 4*bodyExcerpt && json.Indent(&pretty, body, "", "  ") == nil {
		body = pretty.Bytes()
	}
	if len(body) > bodyExcerpt {
		body, d.Truncated = body[:bodyExcerpt], true
	}
	d.Body = strings.ToValidUTF8(string(body), "\uFFFD")
	pg := h.newPage(c, c.tr.T("deliveryTitle", del.Type), d)
	pg.Notice = h.notice(c)
	h.show(c, "delivery", pg)
}

func (h *Handler) redeliver(c *call) {
	w, ok := h.hook(c)
	if !ok {
		return
	}
	del, ok := h.delivery(c, w)
	if !ok {
		return
	}
	err := h.d.Redeliver(c.r.Context(), del.ID)
	switch {
	case errors.Is(err, webhook.ErrLeaseLost):
		h.fail(c.w, c.r, http.StatusConflict, "err_inFlight")
	case errors.Is(err, webhook.ErrNotFound):
		h.fail(c.w, c.r, http.StatusNotFound, "noDelivery")
	case errors.Is(err, errors.ErrUnsupported):
		h.fail(c.w, c.r, http.StatusNotImplemented, "noRedelivery")
	case err != nil:
		h.internal(c, "redelivering", err)
	default:
		h.redirect(c, "/hooks/"+pathID(w.ID)+"/deliveries/"+del.ID.String(), "redelivered", 0)
	}
}

// queueData is the data of the queue health page.
type queueData struct {
	Supported  bool
	Stats      webhook.QueueStats
	Lag        time.Duration
	Meter      *meter
	Failing    []failingHook
	UsersShown bool
}

// A failingHook is a row of the queue page's failing webhooks: what an
// operator needs to judge, without the URL's path (where receivers such
// as Discord keep their tokens) or secrets.
type failingHook struct {
	Hook   *webhook.Webhook
	System bool
}

func (h *Handler) queuePage(c *call) {
	if !c.user.Operator {
		h.fail(c.w, c.r, http.StatusNotFound, "notFound")
		return
	}
	ctx := c.r.Context()
	d := &queueData{}
	if sr, ok := h.d.Store().(webhook.StatsReporter); ok {
		st, err := sr.QueueStats(ctx)
		if err != nil {
			h.internal(c, "reading queue stats", err)
			return
		}
		d.Supported, d.Stats = true, st
		if !st.OldestDue.IsZero() {
			d.Lag = max(h.clock.Now().Sub(st.OldestDue), 0)
		}
		d.Meter = newMeter(d.Lag, c.tr)
	}
	failing, err := h.failing(ctx)
	if err != nil {
		h.internal(c, "listing failing webhooks", err)
		return
	}
	d.Failing, d.UsersShown = failing, h.cfg.UserIDs != nil
	h.show(c, "queue", h.newPage(c, c.tr.T("queueHealth"), d))
}

// failing lists the failing webhooks, longest failing first: the system
// ones, and the users' when Config.UserIDs is set.
func (h *Handler) failing(ctx context.Context) ([]failingHook, error) {
	owners := []string{""}
	if h.cfg.UserIDs != nil {
		ids, err := h.cfg.UserIDs(ctx)
		if err != nil {
			return nil, err
		}
		owners = append(owners, ids...)
	}
	var out []failingHook
	for i, o := range owners {
		if o == "" && i > 0 {
			continue // the system webhooks are listed already
		}
		hooks, err := h.d.ListHooks(ctx, o)
		if err != nil {
			return nil, err
		}
		for _, w := range hooks {
			if w.FailingSince != nil {
				out = append(out, failingHook{Hook: w, System: w.IsSystem()})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b failingHook) int {
		return a.Hook.FailingSince.Compare(*b.Hook.FailingSince)
	})
	return out, nil
}

// pathID escapes a webhook ID for a path.
func pathID(id string) string { return url.PathEscape(id) }

package misskeyapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/internal/ratewindow"
	"github.com/fedihook/webhook/misskey"
)

// Defaults of [Config].
const (
	// DefaultPrefix is the path the Handler is mounted at.
	DefaultPrefix = "/api/"
	// DefaultMaxBodyBytes is the largest request body read, Misskey's
	// bodyLimit for its JSON endpoints (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultTestLimit is how many test sends (i/webhooks/test and
	// admin/system-webhook/test, counted apart) an account may make per
	// DefaultTestWindow, Misskey's rate limit for them.
	DefaultTestLimit = 60
	// DefaultTestWindow is the window of DefaultTestLimit.
	DefaultTestWindow = 15 * time.Minute
)

// An Account is who a credential belongs to, as Config.Authenticate
// resolves it.
type Account struct {
	// UserID is the user's ID: the owner of the webhooks it manages
	// through i/webhooks/*. It must not be empty.
	UserID string
	// Moderator lets the account manage system webhooks
	// (admin/system-webhook/*), as Misskey's moderator role does.
	Moderator bool
	// Admin is Misskey's administrator role; it implies Moderator.
	Admin bool
	// Suspended refuses every endpoint that needs a credential with
	// YOUR_ACCOUNT_SUSPENDED, as Misskey does.
	Suspended bool
}

// IsModerator reports whether a may use the admin endpoints.
func (a *Account) IsModerator() bool { return a.Moderator || a.Admin }

// Config configures a [Handler]. Authenticate is required; every other
// field's zero value means its documented default.
type Config struct {
	// Authenticate resolves a credential (the "i" parameter, or the
	// token of an "Authorization: Bearer" header) to an account. It
	// returns an error matching ErrUnknownToken for a credential that
	// names no account (the client gets AUTHENTICATION_FAILED); any other
	// error is answered INTERNAL_ERROR and logged. Required.
	Authenticate func(ctx context.Context, token string) (Account, error)
	// Meta, if set, is served at meta (see [Meta] for the receivers that
	// call it). Nil answers meta with UNKNOWN_API_ENDPOINT.
	Meta *Meta
	// LookupUser, if set, serves users/show (see [UserQuery] for the
	// receivers that call it). Nil answers users/show with
	// UNKNOWN_API_ENDPOINT.
	LookupUser func(ctx context.Context, q UserQuery) (*misskey.UserDetailed, error)
	// Prefix is the path the Handler is mounted at; endpoint names follow
	// it. Defaults to DefaultPrefix, "/api/".
	Prefix string
	// MaxBodyBytes is the largest request body read; a larger one is
	// answered 413. Defaults to DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TestLimit is how many test sends an account may make per
	// TestWindow, per endpoint; more are answered RATE_LIMIT_EXCEEDED.
	// Defaults to DefaultTestLimit; -1 means no limit.
	TestLimit int
	// TestWindow is the window of TestLimit. Defaults to
	// DefaultTestWindow.
	TestWindow time.Duration
	// Clock tells the time for TestLimit. Defaults to webhook.SystemClock.
	Clock webhook.Clock
	// NoCORS turns off the CORS headers. By default, as Misskey's API,
	// the Handler lets any origin call it (Access-Control-Allow-Origin: *,
	// without credentials) and answers preflight requests: credentials
	// travel in the body or the Authorization header, never in cookies,
	// so a page of another origin can do nothing its user's token does
	// not allow.
	NoCORS bool
	// Logger receives the internal errors (with the id the client is
	// shown). Request parameters, which hold secrets, are never logged.
	// Defaults to slog.Default().
	Logger *slog.Logger
}

// A Call is one request to an endpoint, after its credential was checked.
type Call struct {
	// Account is the caller, nil when the request had no credential.
	Account *Account
	// Params are the request's JSON parameters, the credential "i"
	// included.
	Params map[string]json.RawMessage
	// Request is the HTTP request.
	Request *http.Request
}

// Decode decodes the parameters into v (a pointer to a struct with json
// tags), ignoring unknown ones as Misskey does. A value of the wrong type
// yields INVALID_PARAM naming it, ready to return from an [EndpointFunc].
func (c *Call) Decode(v any) error {
	b, err := json.Marshal(c.Params)
	if err != nil {
		return invalidParam("#", "must be object")
	}
	if err := json.Unmarshal(b, v); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && te.Field != "" {
			return invalidParam("#/properties/"+strings.ReplaceAll(te.Field, ".", "/properties/")+"/type", "must be "+jsonType(te.Type.Kind().String()))
		}
		return invalidParam("#", "must be object")
	}
	return nil
}

// jsonType names a Go kind as JSON Schema's types.
func jsonType(kind string) string {
	switch {
	case kind == "string":
		return kind
	case kind == "bool":
		return "boolean"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "integer"
	case strings.HasPrefix(kind, "float"):
		return "number"
	case kind == "slice", kind == "array":
		return "array"
	}
	return "object"
}

// An EndpointFunc serves an endpoint. It returns the response value (nil
// for Misskey's 204 No Content), or an *[Error] to answer, or any other
// error, answered INTERNAL_ERROR and logged.
type EndpointFunc func(ctx context.Context, c *Call) (any, error)

// EndpointOptions say who may call an endpoint.
type EndpointOptions struct {
	// RequireCredential refuses calls without one (CREDENTIAL_REQUIRED).
	RequireCredential bool
	// RequireModerator refuses callers who are not moderators
	// (ROLE_PERMISSION_DENIED); it implies RequireCredential.
	RequireModerator bool
	// AllowGet serves GET too, with the parameters in the query string;
	// otherwise GET is answered 405, as Misskey does.
	AllowGet bool
	// BoolParams are the parameters a GET query casts to booleans.
	BoolParams []string
}

type endpoint struct {
	EndpointOptions
	fn EndpointFunc
}

// A Handler serves Misskey's API for webhooks; mount it at Config.Prefix
// ("/api/"). See the package documentation for its endpoints. It is safe
// for concurrent use.
type Handler struct {
	d         *webhook.Dispatcher
	cfg       Config
	endpoints map[string]*endpoint
	limiter   *ratewindow.Limiter
}

// New returns a Handler managing d's webhooks.
func New(d *webhook.Dispatcher, cfg *Config) (*Handler, error) {
	if d == nil {
		return nil, errors.New("misskeyapi: New needs a Dispatcher")
	}
	if cfg == nil || cfg.Authenticate == nil {
		return nil, errors.New("misskeyapi: Config.Authenticate is required")
	}
	c := *cfg
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/") {
		return nil, fmt.Errorf("misskeyapi: Config.Prefix must start and end with a slash, got %q", c.Prefix)
	}
	switch {
	case c.MaxBodyBytes == 0:
		c.MaxBodyBytes = DefaultMaxBodyBytes
	case c.MaxBodyBytes < 0:
		return nil, fmt.Errorf("misskeyapi: Config.MaxBodyBytes must be >= 0, got %d", c.MaxBodyBytes)
	}
	switch {
	case c.TestLimit == 0:
		c.TestLimit = DefaultTestLimit
	case c.TestLimit < -1:
		return nil, fmt.Errorf("misskeyapi: Config.TestLimit must be >= -1, got %d", c.TestLimit)
	}
	switch {
	case c.TestWindow == 0:
		c.TestWindow = DefaultTestWindow
	case c.TestWindow < 0:
		return nil, fmt.Errorf("misskeyapi: Config.TestWindow must be >= 0, got %v", c.TestWindow)
	}
	if c.Clock == nil {
		c.Clock = webhook.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Meta != nil {
		m := *c.Meta
		c.Meta = &m
	}
	h := &Handler{d: d, cfg: c, endpoints: map[string]*endpoint{},
		limiter: ratewindow.New(c.TestLimit, c.TestWindow, c.Clock.Now)}
	h.register()
	return h, nil
}

// Handle adds the host's own endpoint name (such as "notes/create"),
// served with the Handler's decoding, credentials and errors. It replaces
// an endpoint of the same name. Call it before serving.
func (h *Handler) Handle(name string, opts EndpointOptions, fn EndpointFunc) {
	if opts.RequireModerator {
		opts.RequireCredential = true
	}
	h.endpoints[name] = &endpoint{EndpointOptions: opts, fn: fn}
}

// fastify's answers to requests it refuses before Misskey sees them.
const (
	bodyTooLarge    = `{"statusCode":413,"code":"FST_ERR_CTP_BODY_TOO_LARGE","error":"Payload Too Large","message":"Request body is too large"}`
	badMediaType    = `{"statusCode":415,"code":"FST_ERR_CTP_INVALID_MEDIA_TYPE","error":"Unsupported Media Type","message":"Unsupported Media Type"}`
	invalidJSONBody = `{"statusCode":400,"code":"FST_ERR_CTP_INVALID_JSON_BODY","error":"Bad Request","message":"Body is not valid JSON but content-type is set to 'application/json'"}`
	emptyJSONBody   = `{"statusCode":400,"code":"FST_ERR_CTP_EMPTY_JSON_BODY","error":"Bad Request","message":"Body cannot be empty when content-type is set to 'application/json'"}`
)

// ServeHTTP serves one API request as Misskey's ApiServerService and
// ApiCallService do.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "private, max-age=0, must-revalidate")
	if !h.cfg.NoCORS {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			w.Header().Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
			if hs := r.Header.Get("Access-Control-Request-Headers"); hs != "" {
				w.Header().Set("Access-Control-Allow-Headers", hs)
			}
			w.Header().Add("Vary", "Access-Control-Request-Headers")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	name, ok := strings.CutPrefix(r.URL.Path, h.cfg.Prefix)
	ep := h.endpoints[name]
	if !ok || ep == nil {
		WriteError(w, ErrUnknownEndpoint)
		return
	}
	var (
		params    map[string]json.RawMessage
		notObject bool
	)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if !ep.AllowGet {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		var e *Error
		if params, e = queryParams(r, ep.BoolParams); e != nil {
			WriteError(w, e)
			return
		}
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		var status int
		var fail string
		params, notObject, status, fail = h.readBody(w, r)
		if status != 0 {
			writeRaw(w, status, fail)
			return
		}
	default:
		w.Header().Set("Allow", "GET, HEAD, POST, PUT, PATCH, DELETE")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}

	ctx := r.Context()
	acct, e := h.authenticate(ctx, r, params, name)
	if e != nil {
		WriteError(w, e)
		return
	}
	if ep.RequireCredential || ep.RequireModerator {
		switch {
		case acct == nil:
			WriteError(w, ErrCredentialRequired)
			return
		case acct.Suspended:
			WriteError(w, ErrAccountSuspended)
			return
		}
	}
	if ep.RequireModerator && !acct.IsModerator() {
		WriteError(w, ErrNotModerator)
		return
	}
	if notObject {
		WriteError(w, invalidParam("#/type", "must be object"))
		return
	}
	res, err := ep.fn(ctx, &Call{Account: acct, Params: params, Request: r})
	if err != nil {
		WriteError(w, h.apiError(name, err))
		return
	}
	if res == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	b, err := json.Marshal(res)
	if err != nil {
		WriteError(w, h.internal(name, fmt.Errorf("misskeyapi: encoding the response: %w", err)))
		return
	}
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && name == "meta" && acct == nil {
		w.Header().Set("Cache-Control", "public, max-age=60")
	}
	writeBytes(w, http.StatusOK, b)
}

// readBody reads and parses a request body as fastify does for Misskey:
// JSON (an object, or notObject), no body at all, or a refusal (status
// and body to answer).
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (params map[string]json.RawMessage, notObject bool, status int, fail string) {
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return nil, false, http.StatusRequestEntityTooLarge, bodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, false, http.StatusRequestEntityTooLarge, bodyTooLarge
		}
		return nil, false, http.StatusBadRequest, invalidJSONBody
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if len(body) == 0 {
			return map[string]json.RawMessage{}, false, 0, ""
		}
		return nil, false, http.StatusUnsupportedMediaType, badMediaType
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return nil, false, http.StatusUnsupportedMediaType, badMediaType
	case mt == "text/plain":
		// fastify hands Misskey the text, which fails the schema.
		return map[string]json.RawMessage{}, true, 0, ""
	case mt != "application/json":
		return nil, false, http.StatusUnsupportedMediaType, badMediaType
	}
	params, notObject, ok := parseJSON(body)
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return nil, false, http.StatusBadRequest, emptyJSONBody
	case !ok:
		return nil, false, http.StatusBadRequest, invalidJSONBody
	}
	return params, notObject, 0, ""
}

// parseJSON parses a request body: an object's members, or notObject for
// any other JSON value; ok is false when body is not JSON.
func parseJSON(body []byte) (params map[string]json.RawMessage, notObject, ok bool) {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		if err := json.Unmarshal(body, &params); err != nil {
			return nil, false, false
		}
		if params == nil {
			params = map[string]json.RawMessage{}
		}
		return params, false, true
	}
	if !json.Valid(body) {
		return nil, false, false
	}
	// null, as fastify's parser returns it, is no body at all.
	if string(bytes.TrimSpace(body)) == "null" {
		return map[string]json.RawMessage{}, false, true
	}
	return map[string]json.RawMessage{}, true, true
}

// queryParams turns a GET query into parameters: strings, except those
// declared boolean, which Misskey casts with JSON.parse.
func queryParams(r *http.Request, bools []string) (map[string]json.RawMessage, *Error) {
	params := map[string]json.RawMessage{}
	for k, vs := range r.URL.Query() {
		v := vs[0]
		b, _ := json.Marshal(v)
		for _, name := range bools {
			if k != name {
				continue
			}
			if v != "true" && v != "false" {
				return nil, errInvalidCast.with(map[string]any{"param": k, "reason": "cannot cast to boolean"})
			}
			b = []byte(v)
		}
		params[k] = b
	}
	return params, nil
}

// authenticate resolves the request's credential: the Authorization
// Bearer token, else "i". No credential is a nil Account.
func (h *Handler) authenticate(ctx context.Context, r *http.Request, params map[string]json.RawMessage, name string) (*Account, *Error) {
	var token string
	if auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = auth
	} else if raw, ok := params["i"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &token); err != nil {
			return nil, ErrInvalidParam.with(map[string]any{"param": "i", "reason": "must be string"})
		}
	} else {
		return nil, nil
	}
	acct, err := h.cfg.Authenticate(ctx, token)
	switch {
	case errors.Is(err, ErrUnknownToken):
		return nil, ErrAuthenticationFailed
	case err != nil:
		return nil, h.internal(name, err)
	case acct.UserID == "":
		return nil, h.internal(name, errors.New("misskeyapi: Config.Authenticate returned an account without a UserID"))
	}
	return &acct, nil
}

// apiError turns an endpoint's error into the Error to answer.
func (h *Handler) apiError(name string, err error) *Error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	return h.internal(name, err)
}

// internal logs err under a fresh id and returns INTERNAL_ERROR with that
// id, as Misskey does (without the message, which may hold details the
// client should not see).
func (h *Handler) internal(name string, err error) *Error {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	h.cfg.Logger.Error("misskeyapi: internal error", "endpoint", name, "id", id, "err", err)
	return ErrInternal.with(map[string]any{"id": id})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(map[string]any{"error": ErrInternal})
	}
	writeBytes(w, status, b)
}

func writeBytes(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeRaw(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

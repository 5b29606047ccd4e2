package misskeyapi

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sentinel errors the host's functions return.
var (
	// ErrUnknownToken is returned by Config.Authenticate for a credential
	// that names no account; the client gets AUTHENTICATION_FAILED.
	ErrUnknownToken = errors.New("misskeyapi: unknown token")
	// ErrUserNotFound is returned by Config.LookupUser for a user that
	// does not exist (or must not be shown); the client gets NO_SUCH_USER.
	ErrUserNotFound = errors.New("misskeyapi: user not found")
)

// An Error is an error as Misskey's API writes it: the HTTP status and
// the body {"error": {"message", "code", "id", "kind", "info"?}}. The
// codes and ids are Misskey's own, so that clients (misskey-js's
// APIError) recognise them. Error values are what a Handler answers; a
// host may also write one with [WriteError] from its own endpoints.
type Error struct {
	// Status is the HTTP status.
	Status int `json:"-"`
	// Message is the human-readable text.
	Message string `json:"message"`
	// Code is the machine-readable code, such as "NO_SUCH_WEBHOOK".
	Code string `json:"code"`
	// ID is the UUID Misskey gives this error at this place.
	ID string `json:"id"`
	// Kind is "client", "server" or "permission".
	Kind string `json:"kind"`
	// Info is extra detail, such as the parameter an INVALID_PARAM is
	// about; nil leaves it out.
	Info map[string]any `json:"info,omitempty"`
}

// Error returns "misskeyapi: CODE: message".
func (e *Error) Error() string { return fmt.Sprintf("misskeyapi: %s: %s", e.Code, e.Message) }

// with returns a copy of e carrying info.
func (e *Error) with(info map[string]any) *Error {
	c := *e
	c.Info = info
	return &c
}

// Misskey's errors, each with the status, code and id Misskey's backend
// gives it (ApiCallService, endpoint-base and the endpoints' meta). They
// are values to compare codes and ids with; a Handler answers copies.
var (
	// ErrInvalidParam is a request parameter that fails the endpoint's
	// schema; Info holds "param" (the schema path) and "reason".
	ErrInvalidParam = &Error{Status: http.StatusBadRequest, Message: "Invalid param.", Code: "INVALID_PARAM",
		ID: "3d81ceae-475f-4600-b2a8-2bc116157532", Kind: "client"}
	// errInvalidCast is the INVALID_PARAM of a GET query parameter that
	// is not of its declared type.
	errInvalidCast = &Error{Status: http.StatusBadRequest, Message: "Invalid param.", Code: "INVALID_PARAM",
		ID: "0b5f1631-7c1a-41a6-b399-cce335f34d85", Kind: "client"}
	// ErrCredentialRequired answers an endpoint that needs a credential
	// called without one.
	ErrCredentialRequired = &Error{Status: http.StatusUnauthorized, Message: "Credential required.", Code: "CREDENTIAL_REQUIRED",
		ID: "1384574d-a912-4b81-8601-c7b1c4085df1", Kind: "client"}
	// ErrAuthenticationFailed answers a credential that names no account.
	ErrAuthenticationFailed = &Error{Status: http.StatusUnauthorized, Message: "Authentication failed. Please ensure your token is correct.",
		Code: "AUTHENTICATION_FAILED", ID: "b0a7f5f8-dc2f-4171-b91f-de88ad238e14", Kind: "client"}
	// ErrAccountSuspended answers a suspended account.
	ErrAccountSuspended = &Error{Status: http.StatusForbidden, Message: "Your account has been suspended.", Code: "YOUR_ACCOUNT_SUSPENDED",
		ID: "a8c724b3-6e9c-4b46-b1a8-bc3ed6258370", Kind: "permission"}
	// ErrNotModerator answers an admin endpoint called by an account that
	// is neither moderator nor administrator.
	ErrNotModerator = &Error{Status: http.StatusForbidden, Message: "You are not assigned to a moderator role.", Code: "ROLE_PERMISSION_DENIED",
		ID: "d33d5333-db36-423d-a8f9-1a2b9549da41", Kind: "permission"}
	// ErrRateLimitExceeded answers a test send over the limit.
	ErrRateLimitExceeded = &Error{Status: http.StatusTooManyRequests, Message: "Rate limit exceeded. Please try again later.",
		Code: "RATE_LIMIT_EXCEEDED", ID: "d5826d14-3982-4d2e-8011-b9e9f02499ef", Kind: "client"}
	// ErrInternal answers a failure of the store or of a host function;
	// Info holds only a random id that is also logged.
	ErrInternal = &Error{Status: http.StatusInternalServerError, Message: "Internal error occurred. Please contact us if the error persists.",
		Code: "INTERNAL_ERROR", ID: "5d37dbcb-891e-41ca-a3d6-e690c97775ac", Kind: "server"}
	// ErrUnknownEndpoint answers a path that is no endpoint (or an
	// optional endpoint the host did not configure).
	ErrUnknownEndpoint = &Error{Status: http.StatusNotFound, Message: "Unknown API endpoint.", Code: "UNKNOWN_API_ENDPOINT",
		ID: "2ca3b769-540a-4f08-9dd5-b5a825b6d0f1", Kind: "client"}

	// ErrTooManyWebhooks answers i/webhooks/create past the per-user
	// limit (webhook.Config.MaxWebhooksPerUser).
	ErrTooManyWebhooks = &Error{Status: http.StatusBadRequest, Message: "You cannot create webhook any more.", Code: "TOO_MANY_WEBHOOKS",
		ID: "87a9bb19-111e-4e37-81d3-a3e7426453b0", Kind: "client"}
	// ErrNoSuchWebhookShow is i/webhooks/show's NO_SUCH_WEBHOOK.
	ErrNoSuchWebhookShow = noSuchWebhook("50f614d9-3047-4f7e-90d8-ad6b2d5fb098")
	// ErrNoSuchWebhookUpdate is i/webhooks/update's NO_SUCH_WEBHOOK.
	ErrNoSuchWebhookUpdate = noSuchWebhook("fb0fea69-da18-45b1-828d-bd4fd1612518")
	// ErrNoSuchWebhookDelete is i/webhooks/delete's NO_SUCH_WEBHOOK.
	ErrNoSuchWebhookDelete = noSuchWebhook("bae73e5a-5522-4965-ae19-3a8688e71d82")
	// ErrNoSuchWebhookTest is the NO_SUCH_WEBHOOK of i/webhooks/test and
	// admin/system-webhook/test (Misskey gives both the same id).
	ErrNoSuchWebhookTest = noSuchWebhook("0c52149c-e913-18f8-5dc7-74870bfe0cf9")
	// ErrNoSuchSystemWebhook is admin/system-webhook/show's error, also
	// answered by update and delete (where Misskey fails with
	// INTERNAL_ERROR).
	ErrNoSuchSystemWebhook = &Error{Status: http.StatusNotFound, Message: "No such SystemWebhook.", Code: "NO_SUCH_SYSTEM_WEBHOOK",
		ID: "38dd1ffe-04b4-6ff5-d8ba-4e6a6ae22c9d", Kind: "server"}
	// ErrNoSuchUser is users/show's NO_SUCH_USER.
	ErrNoSuchUser = &Error{Status: http.StatusNotFound, Message: "No such user.", Code: "NO_SUCH_USER",
		ID: "4362f8dc-731f-4ad8-a694-be5a88922a24", Kind: "client"}
)

func noSuchWebhook(id string) *Error {
	return &Error{Status: http.StatusBadRequest, Message: "No such webhook.", Code: "NO_SUCH_WEBHOOK", ID: id, Kind: "client"}
}

// InvalidParam returns INVALID_PARAM about the schema path param, as Ajv
// reports it ("#/properties/name/maxLength"), for reason ("must NOT have
// more than 100 characters"): a host endpoint's answer to a bad parameter.
func InvalidParam(param, reason string) *Error { return invalidParam(param, reason) }

func invalidParam(param, reason string) *Error {
	return ErrInvalidParam.with(map[string]any{"param": param, "reason": reason})
}

// WriteError writes e as Misskey does: its status, the WWW-Authenticate
// header Misskey adds to client and authentication errors, and the JSON
// body {"error": {...}}.
func WriteError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	switch {
	case e.Status == http.StatusUnauthorized:
		if e.Code == ErrAuthenticationFailed.Code {
			h.Set("WWW-Authenticate", `Bearer realm="Misskey", error="invalid_token", error_description="`+e.Message+`"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="Misskey"`)
		}
	case e.Code == ErrRateLimitExceeded.Code:
		if ms, ok := e.Info["resetMs"].(int64); ok {
			secs := max((time.Until(time.UnixMilli(ms))+time.Second-1)/time.Second, 0)
			h.Set("Retry-After", strconv.Itoa(int(secs)))
		}
	case e.Kind == "client":
		h.Set("WWW-Authenticate", `Bearer realm="Misskey", error="invalid_request", error_description="`+e.Message+`"`)
	}
	writeJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

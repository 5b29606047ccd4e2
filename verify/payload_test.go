package verify_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/verify"
)

const (
	userPayload   = `{"server":"https://example.tld","hookId":"9hook","userId":"9alice","eventId":"0b6a4a3e-6f42-4b0e-9c1e-4f6d1c2b3a4d","createdAt":1735787045000,"type":"note","body":{"note":{"id":"9note","text":"hi"}}}`
	systemPayload = `{"server":"https://example.tld","hookId":"9sys","eventId":"5c1f0a52-0000-4000-8000-000000000001","createdAt":1735787045001,"type":"inactiveModeratorsInvitationOnlyChanged","body":{}}`
)

func TestParsePayloadAccepts(t *testing.T) {
	t.Parallel()
	p, err := verify.ParsePayload([]byte(userPayload))
	require.NoError(t, err)
	require.Equal(t, &webhook.Payload{
		Server: "https://example.tld", HookID: "9hook", UserID: "9alice",
		EventID: "0b6a4a3e-6f42-4b0e-9c1e-4f6d1c2b3a4d", CreatedAt: 1735787045000,
		Type: webhook.EventNote, Body: json.RawMessage(`{"note":{"id":"9note","text":"hi"}}`),
	}, p)
	var body struct {
		Note struct{ Text string } `json:"note"`
	}
	require.NoError(t, p.DecodeBody(&body))
	require.Equal(t, "hi", body.Note.Text)

	p, err = verify.ParsePayload([]byte(systemPayload))
	require.NoError(t, err, "a system payload has no userId")
	require.Empty(t, p.UserID)
	require.Equal(t, webhook.EventInactiveModeratorsInvitationOnlyChanged, p.Type)
	require.Equal(t, `{}`, string(p.Body))

	for _, in := range []string{
		// Whitespace anywhere JSON allows it; the body's bytes are kept.
		" \n{ \"server\" : \"https://e\" ,\"hookId\":\"h\",\"userId\":\"u\",\"eventId\":\"e\",\"createdAt\": 0,\"type\":\"follow\",\"body\": { \"user\" : {} } }\n",
		// Keys in any order, and keys a later Misskey might add.
		`{"body":{},"type":"userCreated","createdAt":-1,"eventId":"e","hookId":"h","server":"s","extra":[1,{"a":null}],"userId2":null}`,
		// Escapes in strings.
		`{"server":"https:\/\/e","hookId":"\u0068","userId":"\ud83d\ude00","eventId":"e","createdAt":1,"type":"n\u006fte","body":{}}`,
	} {
		_, err := verify.ParsePayload([]byte(in))
		require.NoError(t, err, in)
	}
	p, err = verify.ParsePayload([]byte(`{"server":"s","hookId":"h","userId":"u","eventId":"e","createdAt":1,"type":"note","body": {"a" : 1} }`))
	require.NoError(t, err)
	require.Equal(t, `{"a" : 1}`, string(p.Body), "the body's raw bytes, not re-encoded")
}

func TestParsePayloadRejects(t *testing.T) {
	t.Parallel()
	// edit returns userPayload changed by f.
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(userPayload), &m))
		f(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return string(b)
	}
	set := func(k string, v any) string { return edit(func(m map[string]any) { m[k] = v }) }
	del := func(k string) string { return edit(func(m map[string]any) { delete(m, k) }) }

	type tc struct {
		name, in, msg string
	}
	cases := []tc{
		{"empty", ``, "not JSON"},
		{"not JSON", `server=x`, "not JSON"},
		{"array", `[` + userPayload + `]`, "not a JSON object"},
		{"string", `"{}"`, "not a JSON object"},
		{"null", `null`, "not a JSON object"},
		{"truncated", userPayload[:len(userPayload)-1], "not JSON"},
		{"trailing comma", strings.TrimSuffix(userPayload, "}") + ",}", "not JSON"},
		{"two objects", userPayload + userPayload, "data after the object"},
		{"trailing garbage", userPayload + "x", "data after the object"},
		{"duplicate key", strings.Replace(userPayload, `"type":"note"`, `"type":"note","type":"note"`, 1), `key "type" appears twice`},
		{"duplicate unknown key", strings.Replace(userPayload, `{"server"`, `{"x":1,"x":2,"server"`, 1), `key "x" appears twice`},
		{"unknown type", set("type", "poke"), `"type": unknown event "poke"`},
		{"type in wrong case", set("type", "Note"), `"type": unknown event "Note"`},
		{"empty type", set("type", ""), `"type" must not be empty`},
		{"user payload without userId", del("userId"), `missing "userId", required for the user event "note"`},
		{"system payload with userId", strings.Replace(systemPayload, `"hookId":"9sys"`, `"hookId":"9sys","userId":"u"`, 1), `"userId" present in the system event`},
		{"system payload with null userId", strings.Replace(systemPayload, `"hookId":"9sys"`, `"hookId":"9sys","userId":null`, 1), `"userId" must be a string`},
		{"empty userId", set("userId", ""), `"userId" must not be empty`},
		{"createdAt a float", set("createdAt", 1.5), `"createdAt" must be an integer`},
		{"createdAt with exponent", strings.Replace(userPayload, "1735787045000", "1.735787045e12", 1), `"createdAt" must be an integer`},
		{"createdAt a string", set("createdAt", "1735787045000"), `"createdAt" must be an integer`},
		{"createdAt an ISO date", set("createdAt", "2025-01-02T03:04:05Z"), `"createdAt" must be an integer`},
		{"createdAt overflowing", strings.Replace(userPayload, "1735787045000", "99999999999999999999", 1), `"createdAt" must be an integer`},
		{"body an array", set("body", []any{}), `"body" must be an object`},
		{"body a string", set("body", "{}"), `"body" must be an object`},
		{"body null", set("body", nil), `"body" must be an object`},
		{"server not a string", set("server", 1), `"server" must be a string`},
		{"hookId null", set("hookId", nil), `"hookId" must be a string`},
		{"eventId an object", set("eventId", map[string]any{}), `"eventId" must be a string`},
		{"type a number", set("type", 1), `"type" must be a string`},
		{"userId a number", set("userId", 9), `"userId" must be a string`},
		{"empty hookId", set("hookId", ""), `"hookId" must not be empty`},
	}
	for _, k := range []string{"server", "hookId", "eventId", "createdAt", "type", "body"} {
		cases = append(cases, tc{"missing " + k, del(k), `missing "` + k + `"`})
		cases = append(cases, tc{"system payload missing " + k,
			strings.Replace(systemPayload, `"`+k+`":`, `"x`+k+`":`, 1), `missing "` + k + `"`})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := verify.ParsePayload([]byte(c.in))
			require.Nil(t, p)
			require.ErrorIs(t, err, verify.ErrMalformedPayload)
			require.ErrorContains(t, err, "webhook: verify: malformed payload: "+c.msg)
		})
	}
	_, err := verify.ParsePayload([]byte(set("type", "poke")))
	require.ErrorIs(t, err, webhook.ErrUnknownEvent)
	_, err = verify.ParsePayload([]byte(set("type", strings.Repeat("x", 1000))))
	require.Less(t, len(err.Error()), 200, "a long type is cut short in the error")
}

package misskeyapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskeyapi"
)

// Serve Misskey's webhook API at /api/ with a fixed token table, and
// create a webhook as misskey-js's APIClient does.
func Example() {
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld", MaxWebhooksPerUser: 3})
	if err != nil {
		panic(err)
	}
	tokens := map[string]misskeyapi.Account{"tok-alice": {UserID: "9alice"}}
	h, err := misskeyapi.New(d, &misskeyapi.Config{
		Authenticate: func(_ context.Context, token string) (misskeyapi.Account, error) {
			if a, ok := tokens[token]; ok {
				return a, nil
			}
			return misskeyapi.Account{}, misskeyapi.ErrUnknownToken
		},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", h)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, body := range []string{
		`{"i":"tok-alice","name":"bridge","url":"https://bridge.example/hook","on":["note"]}`,
		`{"i":"tok-nobody","name":"bridge","url":"https://bridge.example/hook","on":["note"]}`,
	} {
		resp, err := http.Post(srv.URL+"/api/i/webhooks/create", "application/json", strings.NewReader(body))
		if err != nil {
			panic(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.Contains(string(b), `"userId":"9alice"`), strings.Contains(string(b), "AUTHENTICATION_FAILED"))
	}
	// Output:
	// 200 true false
	// 401 false true
}

package webui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/webui"
)

// The host mounts the pages under a path of its choice and tells them who
// is signed in, from its own session (here a header, for brevity).
func Example() {
	d, err := webhook.New(nil, &webhook.Config{Host: "example.tld"})
	if err != nil {
		panic(err)
	}
	ui, err := webui.New(d, func(r *http.Request) (webui.User, bool) {
		id := r.Header.Get("X-Example-User") // the host's session lookup
		return webui.User{ID: id}, id != ""
	}, &webui.Config{Prefix: "/settings/webhooks", LoginURL: "/login"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/settings/webhooks/", ui)

	get := func(user string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/settings/webhooks/", nil)
		if user != "" {
			r.Header.Set("X-Example-User", user)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}
	fmt.Println(get("alice").Code)
	anon := get("")
	fmt.Println(anon.Code, anon.Header().Get("Location"))
	// Output:
	// 200
	// 303 /login?next=%2Fsettings%2Fwebhooks%2F
}

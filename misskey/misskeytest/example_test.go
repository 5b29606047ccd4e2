package misskeytest_test

import (
	"fmt"

	"github.com/fedihook/webhook/misskey/misskeytest"
)

// A followed body whose user lacks keys every Misskey UserLite has.
func ExampleCheckBody() {
	body := []byte(`{"user":{"id":"9alice","name":null,"username":"alice","host":null,` +
		`"avatarUrl":"https://social.example/avatar/9alice","avatarBlurhash":null,"avatarDecorations":[],` +
		`"emojis":{},"onlineStatus":"unknown"}}`)
	fmt.Println(misskeytest.CheckBody("followed", body))
	// Output:
	// misskeytest: body does not have Misskey's keys: followed body: user: missing key "isBot"; user: missing key "isCat"; user: missing key "badgeRoles"
}

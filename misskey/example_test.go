package misskey_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
)

// A reply holds the note it replies to; the body carries both, as
// Misskey's does: replyId, and the parent packed without detail.
func ExampleNoteBody() {
	at := misskey.Time(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	alice := misskey.User{ID: "9alice", Username: "alice", AvatarURL: "https://social.example/avatar/9alice"}
	bob := misskey.User{ID: "9bob", Username: "bob", AvatarURL: "https://social.example/avatar/9bob"}
	parent := &misskey.Note{ID: "9n1", CreatedAt: at, Text: new("hello"), User: alice, Visibility: misskey.VisibilityPublic}
	reply := &misskey.Note{ID: "9n2", CreatedAt: at, Text: new("welcome!"), User: bob, Visibility: misskey.VisibilityPublic,
		Reply: parent}

	b, err := webhook.EncodeBody(misskey.NoteBody{Note: reply})
	if err != nil {
		panic(err)
	}
	var body struct {
		Note struct {
			ReplyID string                     `json:"replyId"`
			Files   []any                      `json:"files"`
			CW      *string                    `json:"cw"`
			Reply   map[string]json.RawMessage `json:"reply"`
		} `json:"note"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		panic(err)
	}
	_, detailed := body.Note.Reply["clippedCount"]
	fmt.Println("replyId:", body.Note.ReplyID, "files:", body.Note.Files, "cw:", body.Note.CW)
	fmt.Println("reply:", string(body.Note.Reply["text"]), "packed with detail:", detailed)

	// A field Misskey always fills is required.
	reply.CreatedAt = misskey.Time{}
	_, err = webhook.EncodeBody(misskey.NoteBody{Note: reply})
	fmt.Println(errors.Is(err, webhook.ErrInvalid), err)
	// Output:
	// replyId: 9n1 files: [] cw: <nil>
	// reply: "hello" packed with detail: false
	// true webhook: encoding event body: invalid: misskey: Note.CreatedAt is required (in "9n2")
}

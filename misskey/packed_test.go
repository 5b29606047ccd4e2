package misskey_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/fedihook/webhook/misskey/misskeytest"
	"github.com/stretchr/testify/require"
)

var packedTime = time.Date(2024, time.January, 2, 3, 4, 5, 678_000_000, time.UTC)

// fullUser is a remote user with every field of a UserLite set.
func fullUser() misskey.User {
	return misskey.User{
		ID:             "9pqrs0001",
		Name:           new(`Alice "<Admin>" & co`),
		Username:       "alice",
		Host:           new("remote.example"),
		AvatarURL:      "https://remote.example/avatar.png",
		AvatarBlurhash: new("eQF$:x~q"),
		AvatarDecorations: []misskey.AvatarDecoration{
			{ID: "deco1", Angle: 0.25, FlipH: true, URL: "https://remote.example/deco.png", OffsetX: -0.125, OffsetY: 1e-7},
		},
		IsBot:                        true,
		IsCat:                        true,
		RequireSigninToViewContents:  true,
		MakeNotesFollowersOnlyBefore: new(int64(-86400)),
		MakeNotesHiddenBefore:        new(int64(1704164645)),
		Instance: &misskey.Instance{
			Name:            new("Remote"),
			SoftwareName:    new("misskey"),
			SoftwareVersion: new("2025.9.0"),
			IconURL:         new("https://remote.example/icon.png"),
			FaviconURL:      new("https://remote.example/favicon.ico"),
			ThemeColor:      new("#86b300"),
		},
		Emojis:       map[string]string{"blobcat": "https://remote.example/blobcat.png", "awoo": "https://remote.example/awoo.png"},
		OnlineStatus: misskey.OnlineStatusOnline,
		BadgeRoles:   []misskey.BadgeRole{{Name: "Staff", IconURL: new("https://remote.example/staff.png"), DisplayOrder: 2}},
	}
}

// minUser is a local user with only the required fields set.
func minUser(id string) misskey.User {
	return misskey.User{ID: id, Username: "u" + id, AvatarURL: "https://local.example/identicon/" + id}
}

// minNote is a note with only the required fields set.
func minNote(id string) misskey.Note {
	return misskey.Note{ID: id, CreatedAt: misskey.Time(packedTime), User: minUser("9u" + id), Visibility: misskey.VisibilityPublic}
}

// smallNote is a remote note without parents.
func smallNote(id string) misskey.Note {
	return misskey.Note{
		ID:             id,
		CreatedAt:      misskey.Time(packedTime),
		Text:           new("hello"),
		UserID:         "9pqrs0001",
		User:           fullUser(),
		Visibility:     misskey.VisibilityHome,
		ReactionEmojis: map[string]string{},
		Reactions:      map[string]int{},
		Emojis:         map[string]string{},
		FileIDs:        []string{},
		Files:          []misskey.DriveFile{},
	}
}

// fullNote is a note with every field set: a quote that replies, in a
// channel, with a file and a poll.
func fullNote() misskey.Note {
	reply, renote := smallNote("9note0002"), smallNote("9note0003")
	renote.ClippedCount = 4
	return misskey.Note{
		ID:                 "9note0001",
		CreatedAt:          misskey.Time(packedTime),
		UserID:             "9pqrs0001",
		User:               fullUser(),
		Text:               new("Hello, world! <b>not html</b> & \"quotes\"\nline two \u2028 ✨ :blobcat:"),
		CW:                 new("spoilers"),
		Visibility:         misskey.VisibilitySpecified,
		LocalOnly:          true,
		ReactionAcceptance: new(misskey.ReactionAcceptanceNonSensitiveOnly),
		VisibleUserIDs:     []string{"9pqrs0002", "9pqrs0003"},
		RenoteCount:        2,
		RepliesCount:       1,
		ReactionCount:      6,
		Reactions:          map[string]int{"👍": 3, ":blobcat@remote.example:": 2, "❤": 1},
		ReactionEmojis:     map[string]string{"blobcat@remote.example": "https://remote.example/blobcat.png"},
		Emojis:             map[string]string{"blobcat": "https://remote.example/blobcat.png"},
		Tags:               []string{"cats", "misskey"},
		FileIDs:            []string{"9file0001"},
		Files: []misskey.DriveFile{{
			ID:           "9file0001",
			CreatedAt:    misskey.Time(packedTime),
			Name:         "cat.png",
			Type:         "image/png",
			MD5:          "d41d8cd98f00b204e9800998ecf8427e",
			Size:         12345,
			IsSensitive:  true,
			Blurhash:     new("LEHV6n"),
			Properties:   misskey.DriveFileProperties{Width: 640, Height: 480, Orientation: 1, AvgColor: "rgb(1,2,3)"},
			URL:          "https://remote.example/files/cat.png",
			ThumbnailURL: new("https://remote.example/files/thumb-cat.webp"),
			Comment:      new("a cat"),
			FolderID:     new("9fold0001"),
			UserID:       new("9pqrs0001"),
			User:         new(fullUser()),
		}},
		ReplyID:   reply.ID,
		RenoteID:  renote.ID,
		ChannelID: "9chan0001",
		Channel: &misskey.Channel{
			ID: "9chan0001", Name: "Cats", Color: "#ff0000", IsSensitive: true,
			AllowRenoteToExternal: true, UserID: new("9pqrs0001"),
		},
		Mentions:     []string{"9pqrs0002"},
		URI:          "https://remote.example/notes/9note0001",
		URL:          "https://remote.example/@alice/9note0001",
		ClippedCount: 3,
		Reply:        &reply,
		Renote:       &renote,
		Poll: &misskey.Poll{
			Multiple:  true,
			ExpiresAt: new(misskey.Time(packedTime.Add(24 * time.Hour))),
			Choices:   []misskey.PollChoice{{Text: "yes", Votes: 3, IsVoted: true}, {Text: "no", Votes: 1}},
		},
	}
}

func fullUserDetailed() misskey.UserDetailed {
	return misskey.UserDetailed{
		User:                fullUser(),
		URL:                 new("https://remote.example/@alice"),
		URI:                 new("https://remote.example/users/9pqrs0001"),
		MovedTo:             new("9pqrs0009"),
		AlsoKnownAs:         []string{"9pqrs0008"},
		CreatedAt:           misskey.Time(packedTime),
		UpdatedAt:           new(misskey.Time(packedTime.Add(time.Hour))),
		LastFetchedAt:       new(misskey.Time(packedTime.Add(2 * time.Hour))),
		BannerURL:           new("https://remote.example/banner.png"),
		BannerBlurhash:      new("LKO2?U"),
		IsLocked:            true,
		IsSilenced:          true,
		IsSuspended:         true,
		Description:         new("I like cats."),
		Location:            new("Tokyo"),
		Birthday:            new("2000-01-02"),
		Lang:                new("ja-JP"),
		Fields:              []misskey.Field{{Name: "Web", Value: "https://alice.example"}},
		VerifiedLinks:       []string{"https://alice.example"},
		FollowersCount:      100,
		FollowingCount:      50,
		NotesCount:          1234,
		PinnedNoteIDs:       []string{"9note0002"},
		PinnedNotes:         []misskey.Note{smallNote("9note0002")},
		PinnedPageID:        new("9page0001"),
		PinnedPage:          json.RawMessage(`{"id":"9page0001","title":"About"}`),
		PublicReactions:     true,
		FollowersVisibility: misskey.FollowVisibilityPrivate,
		FollowingVisibility: misskey.FollowVisibilityFollowers,
		ChatScope:           misskey.ChatScopeFollowing,
		CanChat:             true,
		Roles: []misskey.Role{{
			ID: "9role0001", Name: "Staff", Color: new("#00ff00"), IconURL: new("https://remote.example/staff.png"),
			Description: "staff", IsModerator: true, IsAdministrator: true, DisplayOrder: 1,
		}},
		Memo:           new("met at a conference"),
		ModerationNote: new("watch"),
		Relation: &misskey.UserRelation{
			IsFollowing: true, IsFollowed: true, HasPendingFollowRequestFromYou: true, HasPendingFollowRequestToYou: true,
			IsBlocking: true, IsBlocked: true, IsMuted: true, IsRenoteMuted: true, Notify: misskey.FollowNotifyNormal,
			WithReplies: true, FollowedMessage: new("thanks for the follow"),
		},
	}
}

func minUserDetailed(id string) misskey.UserDetailed {
	return misskey.UserDetailed{
		User: minUser(id), CreatedAt: misskey.Time(packedTime),
		FollowersVisibility: misskey.FollowVisibilityPublic, FollowingVisibility: misskey.FollowVisibilityPublic,
		ChatScope: misskey.ChatScopeMutual,
	}
}

func fullAbuseReport() misskey.AbuseReport {
	return misskey.AbuseReport{
		ID: "9rep0001", TargetUserID: "9pqrs0001", TargetUser: new(fullUser()), TargetUserHost: new("remote.example"),
		ReporterID: "9pqrs0002", Reporter: new(fullUser()), ReporterHost: new("other.example"),
		AssigneeID: new("9pqrs0003"), Assignee: new(fullUser()), Resolved: true, Forwarded: true,
		Comment: "spam", ModerationNote: "handled", ResolvedAs: new(misskey.AbuseReportReject),
	}
}

// keysOf returns the keys of the JSON object b, in order.
func keysOf(t *testing.T, b []byte) []string {
	t.Helper()
	var keys []string
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		keys = append(keys, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return keys
}

// object returns the JSON object at key k of b.
func object(t *testing.T, b []byte, path ...string) []byte {
	t.Helper()
	for _, k := range path {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &m))
		v, ok := m[k]
		require.True(t, ok, "no key %q", k)
		b = v
	}
	return b
}

func mustEncode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := webhook.EncodeBody(v)
	require.NoError(t, err)
	return b
}

// The keys in Misskey's order, as its packers write them (see the
// misskeytest package for the sources): a minimal value gets every key
// the packer always writes, as null, [] or {} where empty.
func TestPackedMinimalValuesAreComplete(t *testing.T) {
	t.Parallel()
	lite := []string{"id", "name", "username", "host", "avatarUrl", "avatarBlurhash", "avatarDecorations",
		"isBot", "isCat", "emojis", "onlineStatus", "badgeRoles"}
	u := minUser("9a")
	b := mustEncode(t, u)
	require.Equal(t, lite, keysOf(t, b))
	require.Equal(t, `{"id":"9a","name":null,"username":"u9a","host":null,"avatarUrl":"https://local.example/identicon/9a","avatarBlurhash":null,"avatarDecorations":[],"isBot":false,"isCat":false,"emojis":{},"onlineStatus":"unknown","badgeRoles":[]}`, string(b))

	// A remote user has no badgeRoles unless set, as Misskey's default.
	u.Host = new("remote.example")
	require.Equal(t, lite[:len(lite)-1], keysOf(t, mustEncode(t, u)))

	b = mustEncode(t, misskey.NoteBody{Note: new(minNote("9n"))})
	require.Equal(t, []string{"note"}, keysOf(t, b))
	require.Equal(t, `{"note":{"id":"9n","createdAt":"2024-01-02T03:04:05.678Z","userId":"9u9n","user":{"id":"9u9n","name":null,"username":"u9u9n","host":null,"avatarUrl":"https://local.example/identicon/9u9n","avatarBlurhash":null,"avatarDecorations":[],"isBot":false,"isCat":false,"emojis":{},"onlineStatus":"unknown","badgeRoles":[]},"text":null,"cw":null,"visibility":"public","localOnly":false,"reactionAcceptance":null,"renoteCount":0,"repliesCount":0,"reactionCount":0,"reactions":{},"reactionEmojis":{},"fileIds":[],"files":[],"replyId":null,"renoteId":null,"clippedCount":0}}`, string(b))

	d := minUserDetailed("9d")
	require.Equal(t, append(append([]string{}, lite...), "url", "uri", "movedTo", "alsoKnownAs", "createdAt", "updatedAt",
		"lastFetchedAt", "bannerUrl", "bannerBlurhash", "isLocked", "isSilenced", "isSuspended", "description",
		"location", "birthday", "lang", "fields", "verifiedLinks", "followersCount", "followingCount", "notesCount",
		"pinnedNoteIds", "pinnedNotes", "pinnedPageId", "pinnedPage", "publicReactions", "followersVisibility",
		"followingVisibility", "chatScope", "canChat", "roles", "memo"), keysOf(t, mustEncode(t, d)))
	require.Contains(t, string(mustEncode(t, d)), `"alsoKnownAs":null,`)
	d.Relation = &misskey.UserRelation{}
	require.Equal(t, []string{"memo", "isFollowing", "isFollowed", "hasPendingFollowRequestFromYou",
		"hasPendingFollowRequestToYou", "isBlocking", "isBlocked", "isMuted", "isRenoteMuted", "notify", "withReplies"},
		keysOf(t, mustEncode(t, d))[len(lite)+31:])
	require.Contains(t, string(mustEncode(t, d)), `"notify":"none","withReplies":false}`)
	d.Relation.IsFollowing = true
	require.Contains(t, string(mustEncode(t, d)), `"withReplies":false,"followedMessage":null}`)

	b = mustEncode(t, misskey.AbuseReport{ID: "9r", TargetUserID: "9t", ReporterID: "9p"})
	require.Equal(t, `{"id":"9r","targetUserId":"9t","targetUser":null,"targetUserHost":null,"reporterId":"9p","reporter":null,"reporterHost":null,"assigneeId":null,"assignee":null,"resolved":false,"forwarded":false,"comment":"","moderationNote":"","resolvedAs":null}`, string(b))

	b = mustEncode(t, misskey.ReactionBody{Note: new(minNote("9n")), Reaction: misskey.Reaction{ID: "9x", User: minUser("9r"), Reaction: "👍"}})
	require.Equal(t, []string{"note", "reaction"}, keysOf(t, b))
	require.Equal(t, []string{"id", "user", "reaction"}, keysOf(t, object(t, b, "reaction")))

	b = mustEncode(t, misskey.Poll{})
	require.Equal(t, `{"multiple":false,"expiresAt":null,"choices":[]}`, string(b))
	require.Equal(t, `{"remainingTime":{"time":0,"asHours":0,"asDays":0}}`, string(mustEncode(t, misskey.InactiveModeratorsWarning{})))
	require.Equal(t, `{}`, string(mustEncode(t, misskey.InvitationOnlyChanged{})))
}

func TestPackedFullValues(t *testing.T) {
	t.Parallel()
	n := fullNote()
	b := mustEncode(t, misskey.NoteBody{Note: &n})
	note := object(t, b, "note")
	require.Equal(t, []string{"id", "createdAt", "userId", "user", "text", "cw", "visibility", "localOnly",
		"reactionAcceptance", "visibleUserIds", "renoteCount", "repliesCount", "reactionCount", "reactions",
		"reactionEmojis", "emojis", "tags", "fileIds", "files", "replyId", "renoteId", "channelId", "channel",
		"mentions", "uri", "url", "clippedCount", "reply", "renote", "poll"}, keysOf(t, note))
	// The reply's parent is packed without detail, the renoted note with.
	reply, renote := keysOf(t, object(t, note, "reply")), keysOf(t, object(t, note, "renote"))
	require.NotContains(t, reply, "clippedCount")
	require.Equal(t, "clippedCount", renote[len(renote)-1])
	// Reactions in jsonb order: shorter keys first.
	require.Contains(t, string(note), `"reactions":{"❤":1,"👍":3,":blobcat@remote.example:":2}`)
	require.Equal(t, []string{"id", "createdAt", "name", "type", "md5", "size", "isSensitive", "blurhash",
		"properties", "url", "thumbnailUrl", "comment", "folderId", "folder", "userId", "user"},
		keysOf(t, bytes.TrimSuffix(bytes.TrimPrefix(object(t, note, "files"), []byte("[")), []byte("]"))))
	require.Contains(t, string(note), `"poll":{"multiple":true,"expiresAt":"2024-01-03T03:04:05.678Z","choices":[{"text":"yes","votes":3,"isVoted":true},{"text":"no","votes":1,"isVoted":false}]}`)
	require.Contains(t, string(note), `"avatarDecorations":[{"id":"deco1","angle":0.25,"flipH":true,"offsetX":-0.125,"offsetY":1e-7,"url":"https://remote.example/deco.png"}]`)
	require.Contains(t, string(note), `"isBot":true,"isCat":true,"requireSigninToViewContents":true,"makeNotesFollowersOnlyBefore":-86400,"makeNotesHiddenBefore":1704164645,"instance":{`)

	d := fullUserDetailed()
	k := keysOf(t, mustEncode(t, d))
	require.Equal(t, []string{"roles", "memo", "moderationNote", "isFollowing", "isFollowed", "hasPendingFollowRequestFromYou",
		"hasPendingFollowRequestToYou", "isBlocking", "isBlocked", "isMuted", "isRenoteMuted", "notify", "withReplies",
		"followedMessage"}, k[len(k)-14:])
}

// Derived IDs: a note's userId, replyId, renoteId and channelId come from
// the objects they name when left empty.
func TestPackedDerivedIDs(t *testing.T) {
	t.Parallel()
	parent := minNote("9p")
	n := minNote("9n")
	n.Reply, n.Renote = &parent, &parent
	n.Channel = &misskey.Channel{ID: "9c"}
	b := mustEncode(t, n)
	require.Contains(t, string(b), `"userId":"9u9n",`)
	require.Contains(t, string(b), `"replyId":"9p","renoteId":"9p","channelId":"9c","channel":{`)
}

func TestPackedRoundTrip(t *testing.T) {
	t.Parallel()
	roundTrip := func(t *testing.T, in, out any) {
		t.Helper()
		b, err := json.Marshal(in)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, out))
		require.Equal(t, in, reflect.ValueOf(out).Elem().Interface())
	}
	t.Run("User", func(t *testing.T) { t.Parallel(); roundTrip(t, fullUser(), new(misskey.User)) })
	t.Run("UserDetailed", func(t *testing.T) { t.Parallel(); roundTrip(t, fullUserDetailed(), new(misskey.UserDetailed)) })
	t.Run("UserDetailed without relation", func(t *testing.T) {
		t.Parallel()
		u := fullUserDetailed()
		u.Relation = nil
		roundTrip(t, u, new(misskey.UserDetailed))
	})
	t.Run("Note", func(t *testing.T) { t.Parallel(); roundTrip(t, fullNote(), new(misskey.Note)) })
	t.Run("AbuseReport", func(t *testing.T) { t.Parallel(); roundTrip(t, fullAbuseReport(), new(misskey.AbuseReport)) })
	t.Run("ReactionBody", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, misskey.ReactionBody{Note: new(fullNote()), Reaction: misskey.Reaction{ID: "9x", User: fullUser(), Reaction: ":blobcat:"}}, new(misskey.ReactionBody))
	})
	t.Run("UserBody detailed", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, misskey.UserBody{User: new(fullUserDetailed())}, new(misskey.UserBody))
	})
	t.Run("UserBody lite", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, misskey.UserBody{User: new(fullUser())}, new(misskey.UserBody))
	})
	t.Run("UserBody null", func(t *testing.T) {
		t.Parallel()
		b := misskey.UserBody{User: new(fullUser())}
		require.NoError(t, json.Unmarshal([]byte(`{"user":null}`), &b))
		require.Nil(t, b.User)
	})
}

func TestPackedNilSlicesInNestedValues(t *testing.T) {
	t.Parallel()
	// A renote inside a pinned note inside a detailed user inside a body,
	// none with collections set: every collection Misskey always writes
	// still comes out as [] or {}.
	inner := minNote("9i")
	pinned := minNote("9p")
	pinned.Renote = &inner
	u := minUserDetailed("9d")
	u.PinnedNotes = []misskey.Note{pinned}
	b := mustEncode(t, &misskey.UserBody{User: &u})
	require.NotContains(t, string(b), ":null,\"emojis\"")
	require.Contains(t, string(b), `"renoteId":"9i","clippedCount":0,"renote":{"id":"9i",`)
	require.Contains(t, string(b), `"reactions":{},"reactionEmojis":{},"fileIds":[],"files":[],"replyId":null,"renoteId":null,"clippedCount":0}}],"pinnedPageId":null`)
}

func TestPackedStringEscaping(t *testing.T) {
	t.Parallel()
	// As JSON.stringify: no HTML escaping, U+2028 left as is, quotes,
	// backslashes and control characters escaped, bad UTF-8 replaced.
	// (json.Marshal would escape <, >, & and U+2028 afterwards; EncodeBody
	// does not.)
	u := minUser("9a")
	u.Username = "a<b>&\"c\\\n\t\x01\u2028é\xff"
	b, err := webhook.EncodeBody(u)
	require.NoError(t, err)
	require.Contains(t, string(b), `"username":"a<b>&\"c\\\n\t\u0001`+"\u2028é"+`\ufffd"`)
}

func TestPackedFloats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   float64
		want string // as JavaScript's String(in)
	}{
		{0.25, "0.25"},
		{-90, "-90"},
		{1e-7, "1e-7"},
		{0.000001, "0.000001"},
		{1.5e-10, "1.5e-10"},
		{123456789.5, "123456789.5"},
		{1e21, "1e+21"},
		{1.25e300, "1.25e+300"},
		{math.Copysign(0, -1), ""}, // -0 is left out as 0 is
	}
	for _, tt := range tests {
		b, err := json.Marshal(misskey.AvatarDecoration{Angle: tt.in})
		require.NoError(t, err)
		if tt.want == "" {
			require.JSONEq(t, `{"id":"","url":""}`, string(b))
			continue
		}
		require.Equal(t, `{"id":"","angle":`+tt.want+`,"url":""}`, string(mustPacked(t, tt.in)), "%v", tt.in)
		require.Contains(t, string(b), `"angle":`+tt.want, "%v", tt.in)
	}
	u := minUser("9a")
	u.AvatarDecorations = []misskey.AvatarDecoration{{Angle: math.NaN()}}
	_, err := json.Marshal(u)
	require.ErrorIs(t, err, misskey.ErrInvalid)
	require.ErrorContains(t, err, "AvatarDecoration.Angle must be a finite number")
}

// mustPacked encodes an AvatarDecoration with the given angle through the
// packer, as it is when inside a User.
func mustPacked(t *testing.T, angle float64) []byte {
	t.Helper()
	u := minUser("9a")
	u.AvatarDecorations = []misskey.AvatarDecoration{{Angle: angle}}
	b, err := u.AppendJSON(nil)
	require.NoError(t, err)
	_, b, ok := bytes.Cut(b, []byte(`"avatarDecorations":[`))
	require.True(t, ok)
	b, _, ok = bytes.Cut(b, []byte("]"))
	require.True(t, ok)
	return b
}

func TestPackedErrors(t *testing.T) {
	t.Parallel()
	note := func(edit func(n *misskey.Note)) misskey.NoteBody {
		n := minNote("9n")
		edit(&n)
		return misskey.NoteBody{Note: &n}
	}
	detailed := func(edit func(u *misskey.UserDetailed)) misskey.UserBody {
		u := minUserDetailed("9d")
		edit(&u)
		return misskey.UserBody{User: &u}
	}
	self := minNote("9self")
	self.Renote = &self
	tests := []struct {
		name  string
		v     any
		field string
	}{
		{"note without id", note(func(n *misskey.Note) { n.ID = "" }), "Note.ID is required"},
		{"note without createdAt", note(func(n *misskey.Note) { n.CreatedAt = misskey.Time{} }), "Note.CreatedAt is required"},
		{"note without user", note(func(n *misskey.Note) { n.User = misskey.User{} }), "User.ID is required"},
		{"user without avatar", note(func(n *misskey.Note) { n.User.AvatarURL = "" }), "User.AvatarURL is required"},
		{"user without username", note(func(n *misskey.Note) { n.User.Username = "" }), "User.Username is required"},
		{"note without visibility", note(func(n *misskey.Note) { n.Visibility = "" }), "Note.Visibility"},
		{"userId not the user's", note(func(n *misskey.Note) { n.UserID = "9other" }), "Note.UserID"},
		{"reply without its parent", note(func(n *misskey.Note) { n.ReplyID = "9p" }), "Note.Reply (the parent of a reply"},
		{"renote without the renoted note", note(func(n *misskey.Note) { n.RenoteID = "9p" }), "Note.Renote (the renoted note"},
		{"replyId not the parent's", note(func(n *misskey.Note) { p := minNote("9p"); n.ReplyID, n.Reply = "9q", &p }), "Note.ReplyID"},
		{"renote of itself", misskey.NoteBody{Note: &self}, "nests more than"},
		{"renoted note without id", note(func(n *misskey.Note) { p := minNote(""); n.Renote = &p }), "Note.ID is required"},
		{"channel id without channel", note(func(n *misskey.Note) { n.ChannelID = "9c" }), "Note.Channel is required"},
		{"file without url", note(func(n *misskey.Note) {
			n.Files = []misskey.DriveFile{{ID: "9f", CreatedAt: misskey.Time(packedTime)}}
		}), "DriveFile.URL is required"},
		{"renote with bad visibility", note(func(n *misskey.Note) { p := minNote("9p"); p.Visibility = "friends"; n.Renote = &p }), "Note.Visibility"},
		{"bad reaction acceptance", note(func(n *misskey.Note) { n.ReactionAcceptance = new(misskey.ReactionAcceptance("all")) }), "Note.ReactionAcceptance"},
		{"bad online status", misskey.UserBody{User: &misskey.User{ID: "9a", Username: "a", AvatarURL: "https://x/a", OnlineStatus: "away"}}, "User.OnlineStatus"},
		{"detailed without createdAt", detailed(func(u *misskey.UserDetailed) { u.CreatedAt = misskey.Time{} }), "UserDetailed.CreatedAt is required"},
		{"detailed without chat scope", detailed(func(u *misskey.UserDetailed) { u.ChatScope = "" }), "UserDetailed.ChatScope"},
		{"detailed without following visibility", detailed(func(u *misskey.UserDetailed) { u.FollowingVisibility = "" }), "UserDetailed.FollowingVisibility"},
		{"bad notify", detailed(func(u *misskey.UserDetailed) { u.Relation = &misskey.UserRelation{Notify: "loud"} }), "UserRelation.Notify"},
		{"bad pinned page", detailed(func(u *misskey.UserDetailed) { u.PinnedPage = json.RawMessage("{") }), "UserDetailed.PinnedPage"},
		{"pinned note without its parent", detailed(func(u *misskey.UserDetailed) {
			n := minNote("9n")
			n.ReplyID = "9p"
			u.PinnedNotes = []misskey.Note{n}
		}), "Note.Reply"},
		{"bad resolution", misskey.AbuseReport{ID: "9r", TargetUserID: "9t", ReporterID: "9p", ResolvedAs: new(misskey.AbuseReportResolution("maybe"))}, "AbuseReport.ResolvedAs"},
		{"report without target", misskey.AbuseReport{ID: "9r", ReporterID: "9p"}, "AbuseReport.TargetUserID is required"},
		{"nil note", misskey.NoteBody{}, "NoteBody.Note"},
		{"nil user", misskey.UserBody{}, "UserBody.User"},
		{"nil detailed user", misskey.UserBody{User: (*misskey.UserDetailed)(nil)}, "UserBody.User"},
		{"reaction without note", misskey.ReactionBody{Reaction: misskey.Reaction{ID: "9x", User: minUser("9a"), Reaction: "👍"}}, "ReactionBody.Note"},
		{"reaction without id", misskey.ReactionBody{Note: new(minNote("9n")), Reaction: misskey.Reaction{User: minUser("9a"), Reaction: "👍"}}, "ReactionBody.Reaction.ID is required"},
		{"reaction without reaction", misskey.ReactionBody{Note: new(minNote("9n")), Reaction: misskey.Reaction{ID: "9x", User: minUser("9a")}}, "ReactionBody.Reaction.Reaction is required"},
		{"reaction without user", misskey.ReactionBody{Note: new(minNote("9n")), Reaction: misskey.Reaction{ID: "9x", Reaction: "👍"}}, "User.ID is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.EncodeBody(tt.v)
			require.ErrorIs(t, err, misskey.ErrInvalid)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			require.ErrorContains(t, err, tt.field)
			require.Regexp(t, `^webhook: `, err.Error())
			_, err = json.Marshal(tt.v)
			require.ErrorIs(t, err, misskey.ErrInvalid, "MarshalJSON fails the same way")
		})
	}
}

func TestTimeJSON(t *testing.T) {
	t.Parallel()
	jst := time.FixedZone("JST", 9*60*60)
	tests := []struct {
		in   time.Time
		want string
	}{
		{packedTime, "2024-01-02T03:04:05.678Z"},
		{time.Date(2024, 1, 2, 12, 4, 5, 678_999_999, jst), "2024-01-02T03:04:05.678Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05.000Z"},
		{time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC), "1969-12-31T23:59:59.999Z"},
		{time.Time{}, "0001-01-01T00:00:00.000Z"},
		{time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC), "0000-03-01T00:00:00.000Z"},
		{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), "-000001-01-01T00:00:00.000Z"},
		{time.Date(10000, 1, 1, 0, 0, 0, 1_000_000, time.UTC), "+010000-01-01T00:00:00.001Z"},
	}
	for _, tt := range tests {
		b, err := json.Marshal(misskey.Time(tt.in))
		require.NoError(t, err)
		require.Equal(t, `"`+tt.want+`"`, string(b))
		require.Equal(t, tt.want, misskey.Time(tt.in).String())

		var got misskey.Time
		require.NoError(t, json.Unmarshal(b, &got))
		require.True(t, tt.in.Truncate(time.Millisecond).Equal(time.Time(got)), "%s decoded as %s", tt.want, time.Time(got))
	}

	var got misskey.Time
	require.NoError(t, json.Unmarshal([]byte(`"2024-01-02T12:04:05.6789+09:00"`), &got))
	require.True(t, time.Time(got).Equal(packedTime.Add(900*time.Microsecond)))
	require.NoError(t, json.Unmarshal([]byte(`null`), &got), "null leaves it unchanged")
	require.True(t, time.Time(got).Equal(packedTime.Add(900*time.Microsecond)))
	for _, bad := range []string{`"2024-01-02"`, `"yesterday"`, `1704164645678`, `"+0x0000-01-01T00:00:00.000Z"`} {
		require.Error(t, json.Unmarshal([]byte(bad), &got), bad)
	}
}

func TestRemainingTimeOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want misskey.RemainingTime
	}{
		{0, misskey.RemainingTime{}},
		{24 * time.Hour, misskey.RemainingTime{Time: 86_400_000, AsHours: 24, AsDays: 1}},
		{47*time.Hour + 59*time.Minute + 999*time.Microsecond, misskey.RemainingTime{Time: 172_740_000, AsHours: 47, AsDays: 1}},
		{-time.Minute, misskey.RemainingTime{Time: -60_000, AsHours: -1, AsDays: -1}},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, misskey.RemainingTimeOf(tt.in), "%v", tt.in)
	}
}

func TestPackedUserLite(t *testing.T) {
	t.Parallel()
	d := fullUserDetailed()
	var pu misskey.PackedUser = &d
	require.Same(t, &d.User, pu.Lite())
	u := fullUser()
	pu = &u
	require.Same(t, &u, pu.Lite())
}

func BenchmarkEncodeNoteBody(b *testing.B) {
	body := &misskey.NoteBody{Note: new(fullNote())}
	out, err := webhook.EncodeBody(body)
	require.NoError(b, err)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.EncodeBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeUserBody(b *testing.B) {
	body := &misskey.UserBody{User: new(fullUserDetailed())}
	out, err := webhook.EncodeBody(body)
	require.NoError(b, err)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := webhook.EncodeBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendNoteBody measures the hand-written encoder alone: what
// EncodeBody would cost if it used appendJSON instead of encoding/json,
// which validates and copies MarshalJSON's output a second time.
func BenchmarkAppendNoteBody(b *testing.B) {
	body := &misskey.NoteBody{Note: new(fullNote())}
	out, err := body.AppendJSON(nil)
	require.NoError(b, err)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := body.AppendJSON(make([]byte, 0, 1024)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendUserBody is BenchmarkAppendNoteBody for a detailed user.
func BenchmarkAppendUserBody(b *testing.B) {
	body := &misskey.UserBody{User: new(fullUserDetailed())}
	out, err := body.AppendJSON(nil)
	require.NoError(b, err)
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := body.AppendJSON(make([]byte, 0, 1024)); err != nil {
			b.Fatal(err)
		}
	}
}

// The packed objects and bodies take EncodeBody's fast path.
var (
	_ webhook.JSONAppender = misskey.User{}
	_ webhook.JSONAppender = misskey.UserDetailed{}
	_ webhook.JSONAppender = misskey.Note{}
	_ webhook.JSONAppender = misskey.Poll{}
	_ webhook.JSONAppender = misskey.NoteBody{}
	_ webhook.JSONAppender = misskey.UserBody{}
	_ webhook.JSONAppender = misskey.ReactionBody{}
	_ webhook.JSONAppender = misskey.AbuseReport{}
)

// Host-built bodies, minimal and full, have the keys Misskey's packers
// write (as misskeytest lists them from Misskey's source), as the dummy
// bodies do.
func TestPackedBodiesHaveMisskeysKeys(t *testing.T) {
	t.Parallel()
	full, small := fullNote(), minNote("9n")
	reply := minNote("9r")
	reply.Reply = new(minNote("9p"))
	renote := minNote("9q")
	renote.Renote = new(fullNote())
	local := fullNote()
	local.User = minUser("9l")
	local.UserID = ""
	local.Files[0].User = nil
	detailed, minDetailed := fullUserDetailed(), minUserDetailed("9d")
	minDetailed.Relation = &misskey.UserRelation{}
	remoteLite := minUser("9x")
	remoteLite.Host = new("remote.example")
	tests := []struct {
		event string
		body  any
	}{
		{"note", misskey.NoteBody{Note: &small}},
		{"note", misskey.NoteBody{Note: &full}},
		{"note", misskey.NoteBody{Note: &local}},
		{"reply", misskey.NoteBody{Note: &full}},
		{"reply", misskey.NoteBody{Note: &reply}},
		{"renote", misskey.NoteBody{Note: &renote}},
		{"mention", misskey.NoteBody{Note: &full}},
		{"follow", misskey.UserBody{User: &detailed}},
		{"unfollow", misskey.UserBody{User: &minDetailed}},
		{"followed", misskey.UserBody{User: new(fullUser())}},
		{"followed", misskey.UserBody{User: &remoteLite}},
		{"reaction", misskey.ReactionBody{Note: &full, Reaction: misskey.Reaction{ID: "9x", User: fullUser(), Reaction: "👍"}}},
		{"abuseReport", fullAbuseReport()},
		{"abuseReportResolved", misskey.AbuseReport{ID: "9r", TargetUserID: "9t", ReporterID: "9p"}},
		{"userCreated", minUser("9u")},
		{"inactiveModeratorsWarning", misskey.InactiveModeratorsWarning{RemainingTime: misskey.RemainingTimeOf(time.Hour)}},
		{"inactiveModeratorsInvitationOnlyChanged", misskey.InvitationOnlyChanged{}},
	}
	for _, tt := range tests {
		require.NoError(t, misskeytest.CheckBody(tt.event, mustEncode(t, tt.body)), "%s %T", tt.event, tt.body)
	}
}

package misskey_test

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/fedihook/webhook"
	"github.com/fedihook/webhook/misskey"
	"github.com/stretchr/testify/require"
)

var packedTime = time.Date(2024, time.January, 2, 3, 4, 5, 678_000_000, time.UTC)

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
		IsBot: true,
		IsCat: true,
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
	}
}

func fullNote() misskey.Note {
	reply, renote := smallNote("9note0002"), smallNote("9note0003")
	return misskey.Note{
		ID:             "9note0001",
		CreatedAt:      misskey.Time(packedTime),
		Text:           new("Hello, world! <b>not html</b> & \"quotes\"\nline two \u2028 ✨ :blobcat:"),
		CW:             new("spoilers"),
		UserID:         "9pqrs0001",
		User:           fullUser(),
		ReplyID:        reply.ID,
		RenoteID:       renote.ID,
		Reply:          &reply,
		Renote:         &renote,
		Visibility:     misskey.VisibilitySpecified,
		Mentions:       []string{"9pqrs0002"},
		VisibleUserIDs: []string{"9pqrs0002", "9pqrs0003"},
		FileIDs:        []string{"9file0001"},
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
		Tags: []string{"cats", "misskey"},
		Poll: &misskey.Poll{
			ExpiresAt: new(misskey.Time(packedTime.Add(24 * time.Hour))),
			Multiple:  true,
			Choices:   []misskey.PollChoice{{IsVoted: true, Text: "yes", Votes: 3}, {Text: "no", Votes: 1}},
		},
		Emojis:    map[string]string{"blobcat": "https://remote.example/blobcat.png"},
		ChannelID: "9chan0001",
		Channel: &misskey.Channel{
			ID: "9chan0001", Name: "Cats", Color: "#ff0000", IsSensitive: true,
			AllowRenoteToExternal: true, UserID: new("9pqrs0001"),
		},
		LocalOnly:          true,
		ReactionAcceptance: new(misskey.ReactionAcceptanceNonSensitiveOnly),
		ReactionEmojis:     map[string]string{"blobcat@remote.example": "https://remote.example/blobcat.png"},
		Reactions:          map[string]int{"👍": 3, ":blobcat@remote.example:": 2, "❤": 1},
		ReactionCount:      6,
		RenoteCount:        2,
		RepliesCount:       1,
		URI:                "https://remote.example/notes/9note0001",
		URL:                "https://remote.example/@alice/9note0001",
	}
}

func fullUserDetailed() misskey.UserDetailed {
	return misskey.UserDetailed{
		User:                fullUser(),
		URL:                 new("https://remote.example/@alice"),
		URI:                 new("https://remote.example/users/9pqrs0001"),
		MovedTo:             new("https://elsewhere.example/users/alice"),
		AlsoKnownAs:         []string{"https://old.example/users/alice"},
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
		FollowingVisibility: misskey.FollowVisibilityFollowers,
		FollowersVisibility: misskey.FollowVisibilityPrivate,
		ChatScope:           misskey.ChatScopeFollowing,
		CanChat:             true,
		Roles: []misskey.Role{{
			ID: "9role0001", Name: "Staff", Color: new("#00ff00"), IconURL: new("https://remote.example/staff.png"),
			Description: "staff", IsModerator: true, IsAdministrator: true, DisplayOrder: 1,
		}},
		Memo: new("met at a conference"),
	}
}

// marshalMap encodes v with encoding/json and decodes the result as a map.
func marshalMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// reflectMap encodes the struct v by its field tags alone, bypassing its
// own MarshalJSON (fields of other types still use theirs), with the
// fields of embedded structs flattened. It is the reference that the
// hand-written encoders must agree with.
func reflectMap(t *testing.T, v any) map[string]any {
	t.Helper()
	rv := reflect.ValueOf(v)
	var fields []reflect.StructField
	var values []reflect.Value
	out := map[string]any{}
	for i := range rv.NumField() {
		f := rv.Type().Field(i)
		if f.Anonymous {
			for k, x := range reflectMap(t, rv.Field(i).Interface()) {
				out[k] = x
			}
			continue
		}
		fields = append(fields, f)
		values = append(values, rv.Field(i))
	}
	nv := reflect.New(reflect.StructOf(fields)).Elem()
	for i, x := range values {
		nv.Field(i).Set(x)
	}
	for k, x := range marshalMap(t, nv.Interface()) {
		out[k] = x
	}
	return out
}

var camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// requireCamelKeys checks that every key of v's objects is camelCase,
// except in maps keyed by emoji or reaction names.
func requireCamelKeys(t *testing.T, v any, path string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			require.Regexp(t, camelCase, k, "key at %s", path)
			switch k {
			case "emojis", "reactionEmojis", "reactions":
				continue
			}
			requireCamelKeys(t, e, path+"."+k)
		}
	case []any:
		for _, e := range x {
			requireCamelKeys(t, e, path+"[]")
		}
	}
}

func TestPackedAgreesWithStructTags(t *testing.T) {
	t.Parallel()
	for name, v := range map[string]any{
		"User":          fullUser(),
		"UserDetailed":  fullUserDetailed(),
		"Note":          fullNote(),
		"Poll":          *fullNote().Poll,
		"NoteBody":      misskey.NoteBody{Note: new(fullNote())},
		"ReactionBody":  misskey.ReactionBody{Note: new(fullNote()), Reaction: "👍", User: new(fullUser())},
		"AbuseReport":   fullAbuseReport(),
		"UserBody lite": misskey.UserBody{User: new(fullUser())},
		"UserBody":      misskey.UserBody{User: new(fullUserDetailed())},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := marshalMap(t, v)
			require.Equal(t, reflectMap(t, v), got)
			requireCamelKeys(t, got, name)
		})
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
	t.Run("Note", func(t *testing.T) { t.Parallel(); roundTrip(t, fullNote(), new(misskey.Note)) })
	t.Run("AbuseReport", func(t *testing.T) { t.Parallel(); roundTrip(t, fullAbuseReport(), new(misskey.AbuseReport)) })
	t.Run("ReactionBody", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, misskey.ReactionBody{Note: new(fullNote()), Reaction: ":blobcat:", User: new(fullUser())}, new(misskey.ReactionBody))
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

func TestPackedZeroValues(t *testing.T) {
	t.Parallel()
	// JSON of each zero value (with the required enums set), as a key ->
	// expected value table: required collections [] or {}, nullable keys
	// null, optional keys absent.
	liteZero := map[string]any{
		"id": "", "name": nil, "username": "", "host": nil, "avatarUrl": "", "avatarBlurhash": nil,
		"avatarDecorations": []any{}, "emojis": map[string]any{}, "onlineStatus": "unknown",
	}
	detailedZero := map[string]any{
		"url": nil, "uri": nil, "movedTo": nil, "alsoKnownAs": nil,
		"createdAt": "0001-01-01T00:00:00.000Z", "updatedAt": nil, "lastFetchedAt": nil,
		"bannerUrl": nil, "bannerBlurhash": nil, "isLocked": false, "isSilenced": false, "isSuspended": false,
		"description": nil, "location": nil, "birthday": nil, "lang": nil,
		"fields": []any{}, "verifiedLinks": []any{},
		"followersCount": 0.0, "followingCount": 0.0, "notesCount": 0.0,
		"pinnedNoteIds": []any{}, "pinnedNotes": []any{}, "pinnedPageId": nil, "pinnedPage": nil,
		"publicReactions": false, "followingVisibility": "public", "followersVisibility": "public",
		"chatScope": "none", "canChat": false, "roles": []any{}, "memo": nil,
	}
	for k, v := range liteZero {
		detailedZero[k] = v
	}
	noteZero := map[string]any{
		"id": "", "createdAt": "0001-01-01T00:00:00.000Z", "text": nil, "userId": "", "user": liteZero,
		"visibility": "followers", "reactionAcceptance": nil, "reactionEmojis": map[string]any{},
		"reactions": map[string]any{}, "reactionCount": 0.0, "renoteCount": 0.0, "repliesCount": 0.0,
	}
	tests := []struct {
		name string
		v    any
		want map[string]any
	}{
		{"User", misskey.User{}, liteZero},
		{"UserDetailed", misskey.UserDetailed{
			FollowingVisibility: misskey.FollowVisibilityPublic, FollowersVisibility: misskey.FollowVisibilityPublic, ChatScope: misskey.ChatScopeNone,
		}, detailedZero},
		{"Note", misskey.Note{Visibility: misskey.VisibilityFollowers}, noteZero},
		{"Poll", misskey.Poll{}, map[string]any{"multiple": false, "choices": []any{}}},
		{"DriveFile", misskey.DriveFile{}, map[string]any{
			"id": "", "createdAt": "0001-01-01T00:00:00.000Z", "name": "", "type": "", "md5": "", "size": 0.0,
			"isSensitive": false, "blurhash": nil, "properties": map[string]any{}, "url": "",
			"thumbnailUrl": nil, "comment": nil, "folderId": nil, "userId": nil,
		}},
		{"AvatarDecoration", misskey.AvatarDecoration{}, map[string]any{"id": "", "url": ""}},
		{"AbuseReport", misskey.AbuseReport{}, map[string]any{
			"id": "", "targetUserId": "", "targetUser": nil, "targetUserHost": nil, "reporterId": "",
			"reporter": nil, "reporterHost": nil, "assigneeId": nil, "assignee": nil, "resolved": false,
			"forwarded": false, "comment": "", "moderationNote": "", "resolvedAs": nil,
		}},
		{"NoteBody", misskey.NoteBody{Note: &misskey.Note{Visibility: misskey.VisibilityFollowers}}, map[string]any{"note": noteZero}},
		{"UserBody", misskey.UserBody{User: &misskey.User{}}, map[string]any{"user": liteZero}},
		{"InactiveModeratorsWarning", misskey.InactiveModeratorsWarning{}, map[string]any{
			"remainingTime": map[string]any{"time": 0.0, "asHours": 0.0, "asDays": 0.0},
		}},
		{"InvitationOnlyChanged", misskey.InvitationOnlyChanged{}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, marshalMap(t, tt.v))
			// Through a pointer, as bodies usually are, and through
			// EncodeBody: the same.
			p := reflect.New(reflect.TypeOf(tt.v))
			p.Elem().Set(reflect.ValueOf(tt.v))
			require.Equal(t, tt.want, marshalMap(t, p.Interface()))
			b, err := webhook.EncodeBody(tt.v)
			require.NoError(t, err)
			var m map[string]any
			require.NoError(t, json.Unmarshal(b, &m))
			require.Equal(t, tt.want, m)
		})
	}
}

func TestPackedNilSlicesInNestedValues(t *testing.T) {
	t.Parallel()
	// A note inside a detailed user inside a body, none with collections
	// set: every required collection still comes out as [] or {}.
	u := misskey.UserDetailed{
		FollowingVisibility: misskey.FollowVisibilityPublic, FollowersVisibility: misskey.FollowVisibilityPublic, ChatScope: misskey.ChatScopeMutual,
		PinnedNotes: []misskey.Note{{Visibility: misskey.VisibilityPublic, Renote: &misskey.Note{Visibility: misskey.VisibilityPublic}}},
	}
	b, err := webhook.EncodeBody(&misskey.UserBody{User: &u})
	require.NoError(t, err)
	require.NotContains(t, string(b), "null,\"emojis\"")
	require.Contains(t, string(b), `"pinnedNotes":[{"id":"","createdAt":"0001-01-01T00:00:00.000Z","text":null,"userId":"","user":{"id":"","name":null,"username":"","host":null,"avatarUrl":"","avatarBlurhash":null,"avatarDecorations":[],"emojis":{},"onlineStatus":"unknown"},"renote":{`)
	require.Contains(t, string(b), `"reactionEmojis":{},"reactions":{},"reactionCount":0,"renoteCount":0,"repliesCount":0}],"pinnedPageId":null`)
}

func TestPackedStringEscaping(t *testing.T) {
	t.Parallel()
	// As JSON.stringify: no HTML escaping, U+2028 left as is, quotes,
	// backslashes and control characters escaped, bad UTF-8 replaced.
	// (json.Marshal would escape <, >, & and U+2028 afterwards; EncodeBody
	// does not.)
	b, err := webhook.EncodeBody(misskey.User{Username: "a<b>&\"c\\\n\t\x01\u2028é\xff"})
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
	_, err := json.Marshal(misskey.User{AvatarDecorations: []misskey.AvatarDecoration{{Angle: math.NaN()}}})
	require.ErrorIs(t, err, misskey.ErrInvalid)
	require.ErrorContains(t, err, "AvatarDecoration.Angle must be a finite number")
}

// mustPacked encodes an AvatarDecoration with the given angle through the
// packer, as it is when inside a User.
func mustPacked(t *testing.T, angle float64) []byte {
	t.Helper()
	u, err := misskey.User{AvatarDecorations: []misskey.AvatarDecoration{{Angle: angle}}}.AppendJSON(nil)
	require.NoError(t, err)
	_, b, ok := bytes.Cut(u, []byte(`"avatarDecorations":[`))
	require.True(t, ok)
	b, _, ok = bytes.Cut(b, []byte("]"))
	require.True(t, ok)
	return b
}

func TestPackedEnumErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		v     any
		field string
	}{
		{"note without visibility", misskey.NoteBody{Note: &misskey.Note{}}, "Note.Visibility"},
		{"renote with bad visibility", &misskey.Note{Visibility: misskey.VisibilityPublic, Renote: &misskey.Note{Visibility: "friends"}}, "Note.Visibility"},
		{"bad reaction acceptance", misskey.Note{Visibility: misskey.VisibilityPublic, ReactionAcceptance: new(misskey.ReactionAcceptance("all"))}, "Note.ReactionAcceptance"},
		{"bad online status", misskey.User{OnlineStatus: "away"}, "User.OnlineStatus"},
		{"detailed without chat scope", misskey.UserBody{User: &misskey.UserDetailed{FollowingVisibility: "public", FollowersVisibility: "public"}}, "UserDetailed.ChatScope"},
		{"detailed without following visibility", misskey.UserDetailed{FollowersVisibility: "public", ChatScope: "none"}, "UserDetailed.FollowingVisibility"},
		{"bad resolution", misskey.AbuseReport{ResolvedAs: new(misskey.AbuseReportResolution("maybe"))}, "AbuseReport.ResolvedAs"},
		{"bad pinned page", misskey.UserDetailed{FollowingVisibility: "public", FollowersVisibility: "public", ChatScope: "none", PinnedPage: json.RawMessage("{")}, "UserDetailed.PinnedPage"},
		{"nil note", misskey.NoteBody{}, "NoteBody.Note"},
		{"nil user", misskey.UserBody{}, "UserBody.User"},
		{"nil detailed user", misskey.UserBody{User: (*misskey.UserDetailed)(nil)}, "UserBody.User"},
		{"nil reaction user", misskey.ReactionBody{Note: &misskey.Note{Visibility: misskey.VisibilityPublic}}, "ReactionBody.User"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.EncodeBody(tt.v)
			require.ErrorIs(t, err, misskey.ErrInvalid)
			require.ErrorIs(t, err, webhook.ErrInvalid)
			require.ErrorContains(t, err, tt.field)
			require.Regexp(t, `^webhook: `, err.Error())
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

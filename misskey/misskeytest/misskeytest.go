// Package misskeytest checks webhook bodies against the keys Misskey's
// own packers write, for the tests of a host that builds its own bodies
// (with package misskey or without) and of this module.
//
// [CheckBody] parses a body and compares every object in it, recursively,
// with the object kind Misskey sends there: the keys the packer always
// writes must all be present, keys it writes only under a condition must
// be present or absent under that condition, no other key may appear,
// and the keys must come in the packer's order. It does not check values
// beyond what decides a condition (a user's host, a note's visibility and
// parents) and the JSON type of a few keys.
//
// # Sources
//
// The key lists are read from Misskey's backend (misskey-dev/misskey,
// packages/backend/src), in the 2025 releases that misskey-js 2025.12.2
// types:
//
//   - Note: core/entities/NoteEntityService.ts, pack (its detail option
//     adds clippedCount, reply packed without detail, renote packed with
//     detail, and poll).
//   - UserLite and UserDetailedNotMe: core/entities/UserEntityService.ts,
//     pack with schema UserLite and UserDetailedNotMe; the relation keys
//     come when the user is packed for someone else, as for follow and
//     unfollow.
//   - DriveFile: core/entities/DriveFileEntityService.ts, pack (a note's
//     files are packed without detail or user: folder, userId and user
//     are null).
//   - The events and their packing options: core/NoteCreateService.ts
//     (note, reply, renote and mention: notes packed with detail),
//     core/UserFollowingService.ts (follow and unfollow: the other party
//     as UserDetailedNotMe for the webhook's owner; followed: the follower
//     as UserLite), core/SystemWebhookService.ts and
//     core/AbuseReportNotificationService.ts (AbuseReportPayload),
//     core/SignupService.ts (userCreated: UserLite) and
//     queue/processors/CheckModeratorsActivityProcessorService.ts.
//   - reaction, which upstream Misskey never sends: the body of the fork
//     that does, {"note": Note, "reaction": {"id", "user": UserLite,
//     "reaction"}}.
//
// Where fedihook leaves out a key Misskey writes for webhooks, the list
// says so: reactionAndUserPairCache, a cache of who reacted with what
// that Misskey's note, reply and renote webhooks carry (the mention
// webhook does not), is accepted but not required.
package misskeytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrMismatch is wrapped by every error of CheckBody about a body that
// does not have Misskey's keys.
var ErrMismatch = errors.New("misskeytest: body does not have Misskey's keys")

// CheckBody checks body, the JSON "body" of a webhook payload of the event
// named event ("note", "abuseReport", ...), against the keys Misskey's
// packers write for that event. It returns nil, or an error wrapping
// [ErrMismatch] that lists each difference with its path, such as
// "note.user: missing key \"badgeRoles\"". An unknown event or invalid
// JSON is an error too.
func CheckBody(event string, body []byte) error {
	v, err := parse(body)
	if err != nil {
		return fmt.Errorf("misskeytest: %s body: %w", event, err)
	}
	c := &checker{}
	switch event {
	case "note", "reply", "renote", "mention":
		o := c.object("", v, "note")
		if n := c.object("note", o.get("note"), ""); n != nil {
			c.note("note", n, true)
			switch {
			case event == "reply" && isNull(n.get("replyId")):
				c.errorf("note", "a reply event's note must be a reply (replyId set)")
			case event == "renote" && isNull(n.get("renoteId")):
				c.errorf("note", "a renote event's note must be a renote (renoteId set)")
			}
		}
	case "follow", "unfollow":
		o := c.object("", v, "user")
		if u := c.object("user", o.get("user"), ""); u != nil {
			c.userDetailed("user", u, true)
		}
	case "followed":
		o := c.object("", v, "user")
		if u := c.object("user", o.get("user"), ""); u != nil {
			c.userLite("user", u)
		}
	case "reaction":
		o := c.object("", v, "note", "reaction")
		if n := c.object("note", o.get("note"), ""); n != nil {
			c.note("note", n, true)
		}
		if r := c.object("reaction", o.get("reaction"), "id", "user", "reaction"); r != nil {
			if u := c.object("reaction.user", r.get("user"), ""); u != nil {
				c.userLite("reaction.user", u)
			}
		}
	case "abuseReport", "abuseReportResolved":
		o := c.object("", v, "id", "targetUserId", "targetUser", "targetUserHost", "reporterId", "reporter",
			"reporterHost", "assigneeId", "assignee", "resolved", "forwarded", "comment", "moderationNote", "resolvedAs")
		for _, k := range []string{"targetUser", "reporter", "assignee"} {
			if o != nil && !isNull(o.get(k)) {
				if u := c.object(k, o.get(k), ""); u != nil {
					c.userLite(k, u)
				}
			}
		}
	case "userCreated":
		if u := c.object("", v, ""); u != nil {
			c.userLite("", u)
		}
	case "inactiveModeratorsWarning":
		o := c.object("", v, "remainingTime")
		if o != nil {
			c.object("remainingTime", o.get("remainingTime"), "time", "asHours", "asDays")
		}
	case "inactiveModeratorsInvitationOnlyChanged":
		c.object("", v)
	default:
		return fmt.Errorf("misskeytest: unknown event %q", event)
	}
	if len(c.problems) > 0 {
		return fmt.Errorf("%w: %s body: %s", ErrMismatch, event, strings.Join(c.problems, "; "))
	}
	return nil
}

// An obj is a JSON object with its keys in order.
type obj struct {
	keys []string
	vals map[string]any
}

func (o *obj) get(k string) any {
	if o == nil {
		return nil
	}
	return o.vals[k]
}

func (o *obj) has(k string) bool {
	if o == nil {
		return false
	}
	_, ok := o.vals[k]
	return ok
}

// parse decodes b into *obj, []any and scalars, keeping the keys' order.
func parse(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := parseValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err == nil {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func parseValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &obj{vals: map[string]any{}}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			k := kt.(string)
			if _, dup := o.vals[k]; dup {
				return nil, fmt.Errorf("key %q appears twice", k)
			}
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			o.keys = append(o.keys, k)
			o.vals[k] = v
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := parseValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	if tok == nil {
		return null{}, nil
	}
	return tok, nil
}

// null is a JSON null, told apart from a missing key.
type null struct{}

func isNull(v any) bool { _, ok := v.(null); return ok }

type checker struct {
	problems []string
}

func (c *checker) errorf(path, format string, args ...any) {
	if path == "" {
		path = "body"
	}
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// object checks that v is an object; with keys given, that it has exactly
// those keys in that order.
func (c *checker) object(path string, v any, keys ...string) *obj {
	o, ok := v.(*obj)
	if !ok {
		c.errorf(path, "want an object, got %s", kind(v))
		return nil
	}
	if len(keys) == 1 && keys[0] == "" {
		return o
	}
	var spec []key
	for _, k := range keys {
		spec = append(spec, key{k, always})
	}
	c.keys(path, o, spec)
	return o
}

func kind(v any) string {
	switch v.(type) {
	case *obj:
		return "an object"
	case []any:
		return "an array"
	case null:
		return "null"
	case nil:
		return "nothing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// A rule says whether a key must, may or must not be present.
type rule int

const (
	always rule = iota
	optional
	never
)

type key struct {
	name string
	rule rule
}

// keys checks o's keys against spec, which lists every key the object may
// have in the packer's order.
func (c *checker) keys(path string, o *obj, spec []key) {
	pos := map[string]int{}
	for i, k := range spec {
		pos[k.name] = i
	}
	last := -1
	for _, k := range o.keys {
		i, known := pos[k]
		switch {
		case !known:
			c.errorf(path, "key %q is not one Misskey writes here", k)
			continue
		case spec[i].rule == never:
			c.errorf(path, "key %q must not be here", k)
		case i < last:
			c.errorf(path, "key %q comes after %q; Misskey writes it before", k, spec[last].name)
		}
		last = max(last, i)
	}
	for _, k := range spec {
		if k.rule == always && !o.has(k.name) {
			c.errorf(path, "missing key %q", k.name)
		}
	}
}

// when returns yes if cond, else never.
func when(cond bool, yes rule) rule { return either(cond, yes, never) }

func either(cond bool, yes, no rule) rule {
	if cond {
		return yes
	}
	return no
}

func (c *checker) array(path string, v any) []any {
	a, ok := v.([]any)
	if !ok {
		c.errorf(path, "want an array, got %s", kind(v))
	}
	return a
}

// userLite checks a UserLite (UserEntityService.pack, schema UserLite).
func (c *checker) userLite(path string, u *obj) {
	c.keys(path, u, c.liteSpec(u))
	c.liteParts(path, u)
}

func (c *checker) liteSpec(u *obj) []key {
	local := isNull(u.get("host"))
	return []key{
		{"id", always}, {"name", always}, {"username", always}, {"host", always}, {"avatarUrl", always},
		{"avatarBlurhash", always}, {"avatarDecorations", always}, {"isBot", always}, {"isCat", always},
		{"requireSigninToViewContents", optional}, {"makeNotesFollowersOnlyBefore", optional},
		{"makeNotesHiddenBefore", optional}, {"instance", when(!local, optional)},
		{"emojis", always}, {"onlineStatus", always},
		// Local users always; remote ones when the server shows their badges.
		{"badgeRoles", either(local, always, optional)},
	}
}

func (c *checker) liteParts(path string, u *obj) {
	if s, ok := u.get("avatarUrl").(string); u.has("avatarUrl") && (!ok || s == "") {
		c.errorf(path, "avatarUrl must be a URL string")
	}
	for i, d := range c.array(path+".avatarDecorations", u.get("avatarDecorations")) {
		p := fmt.Sprintf("%s.avatarDecorations[%d]", path, i)
		if o := c.object(p, d, ""); o != nil {
			c.keys(p, o, []key{{"id", always}, {"angle", optional}, {"flipH", optional},
				{"offsetX", optional}, {"offsetY", optional}, {"url", always}})
		}
	}
	if u.has("instance") {
		c.object(path+".instance", u.get("instance"), "name", "softwareName", "softwareVersion", "iconUrl", "faviconUrl", "themeColor")
	}
	c.object(path+".emojis", u.get("emojis"), "")
	if u.has("badgeRoles") {
		for i, r := range c.array(path+".badgeRoles", u.get("badgeRoles")) {
			c.object(fmt.Sprintf("%s.badgeRoles[%d]", path, i), r, "name", "iconUrl", "displayOrder")
		}
	}
}

// userDetailed checks a UserDetailedNotMe (UserEntityService.pack, schema
// UserDetailedNotMe), with the viewer's relation keys when relation.
func (c *checker) userDetailed(path string, u *obj, relation bool) {
	spec := c.liteSpec(u)
	for _, k := range []string{"url", "uri", "movedTo", "alsoKnownAs", "createdAt", "updatedAt", "lastFetchedAt",
		"bannerUrl", "bannerBlurhash", "isLocked", "isSilenced", "isSuspended", "description", "location",
		"birthday", "lang", "fields", "verifiedLinks", "followersCount", "followingCount", "notesCount",
		"pinnedNoteIds", "pinnedNotes", "pinnedPageId", "pinnedPage", "publicReactions", "followersVisibility",
		"followingVisibility", "chatScope", "canChat", "roles", "memo"} {
		spec = append(spec, key{k, always})
	}
	spec = append(spec, key{"moderationNote", optional})
	rel := when(relation, always)
	for _, k := range []string{"isFollowing", "isFollowed", "hasPendingFollowRequestFromYou",
		"hasPendingFollowRequestToYou", "isBlocking", "isBlocked", "isMuted", "isRenoteMuted", "notify", "withReplies"} {
		spec = append(spec, key{k, rel})
	}
	following, _ := u.get("isFollowing").(bool)
	spec = append(spec, key{"followedMessage", when(relation && following, always)})
	c.keys(path, u, spec)
	c.liteParts(path, u)
	for i, f := range c.array(path+".fields", u.get("fields")) {
		c.object(fmt.Sprintf("%s.fields[%d]", path, i), f, "name", "value")
	}
	c.array(path+".verifiedLinks", u.get("verifiedLinks"))
	c.array(path+".pinnedNoteIds", u.get("pinnedNoteIds"))
	for i, n := range c.array(path+".pinnedNotes", u.get("pinnedNotes")) {
		p := fmt.Sprintf("%s.pinnedNotes[%d]", path, i)
		if o := c.object(p, n, ""); o != nil {
			c.note(p, o, true)
		}
	}
	for i, r := range c.array(path+".roles", u.get("roles")) {
		c.object(fmt.Sprintf("%s.roles[%d]", path, i), r, "id", "name", "color", "iconUrl", "description",
			"isModerator", "isAdministrator", "displayOrder")
	}
}

// note checks a Note (NoteEntityService.pack, with or without detail).
func (c *checker) note(path string, n *obj, detail bool) {
	user, _ := n.get("user").(*obj)
	remote := user != nil && !isNull(user.get("host"))
	specified := n.get("visibility") == "specified"
	hasReply := n.has("replyId") && !isNull(n.get("replyId"))
	hasRenote := n.has("renoteId") && !isNull(n.get("renoteId"))
	hasChannel := n.has("channelId")
	c.keys(path, n, []key{
		{"id", always}, {"createdAt", always}, {"userId", always}, {"user", always}, {"text", always},
		{"cw", always}, {"visibility", always}, {"localOnly", always}, {"reactionAcceptance", always},
		{"visibleUserIds", when(specified, always)},
		{"renoteCount", always}, {"repliesCount", always}, {"reactionCount", always}, {"reactions", always},
		{"reactionEmojis", always},
		{"reactionAndUserPairCache", optional}, // in note, reply and renote webhooks; see the package doc
		{"emojis", when(remote, always)}, {"tags", optional}, {"fileIds", always}, {"files", always},
		{"replyId", always}, {"renoteId", always},
		{"channelId", optional}, {"channel", when(hasChannel, always)},
		{"mentions", optional}, {"uri", optional}, {"url", optional},
		{"clippedCount", when(detail, always)},
		{"reply", when(detail && hasReply, always)},
		{"renote", when(detail && hasRenote, always)},
		{"poll", when(detail, optional)},
		{"myReaction", when(detail, optional)},
	})
	if user != nil {
		c.userLite(path+".user", user)
	}
	for _, k := range []string{"tags", "mentions"} {
		if n.has(k) && len(c.array(path+"."+k, n.get(k))) == 0 {
			c.errorf(path, "key %q is written only when not empty", k)
		}
	}
	c.object(path+".reactions", n.get("reactions"), "")
	c.object(path+".reactionEmojis", n.get("reactionEmojis"), "")
	c.array(path+".fileIds", n.get("fileIds"))
	for i, f := range c.array(path+".files", n.get("files")) {
		c.object(fmt.Sprintf("%s.files[%d]", path, i), f, "id", "createdAt", "name", "type", "md5", "size",
			"isSensitive", "blurhash", "properties", "url", "thumbnailUrl", "comment", "folderId", "folder",
			"userId", "user")
	}
	if n.has("channel") {
		c.object(path+".channel", n.get("channel"), "id", "name", "color", "isSensitive", "allowRenoteToExternal", "userId")
	}
	if detail && n.has("poll") {
		if p := c.object(path+".poll", n.get("poll"), "multiple", "expiresAt", "choices"); p != nil {
			for i, ch := range c.array(path+".poll.choices", p.get("choices")) {
				c.object(fmt.Sprintf("%s.poll.choices[%d]", path, i), ch, "text", "votes", "isVoted")
			}
		}
	}
	if detail && hasReply && n.has("reply") {
		if r := c.object(path+".reply", n.get("reply"), ""); r != nil {
			c.note(path+".reply", r, false)
			if r.get("id") != n.get("replyId") {
				c.errorf(path, "reply.id is not replyId")
			}
		}
	}
	if detail && hasRenote && n.has("renote") {
		if r := c.object(path+".renote", n.get("renote"), ""); r != nil {
			c.note(path+".renote", r, true)
			if r.get("id") != n.get("renoteId") {
				c.errorf(path, "renote.id is not renoteId")
			}
		}
	}
	if user != nil && n.get("userId") != user.get("id") {
		c.errorf(path, "userId is not user.id")
	}
}

// Events lists the events CheckBody knows, the 8 user and 5 system
// events, in Misskey's order.
func Events() []string {
	return slices.Clone(events)
}

var events = []string{"note", "reply", "renote", "mention", "follow", "followed", "unfollow", "reaction",
	"abuseReport", "abuseReportResolved", "userCreated", "inactiveModeratorsWarning",
	"inactiveModeratorsInvitationOnlyChanged"}

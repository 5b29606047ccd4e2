package misskey

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/fedihook/webhook/internal/jsonenc"
)

// MarshalJSON encodes u as Misskey's UserLite. It fails with an error
// matching [ErrInvalid] when a required field is empty or OnlineStatus is
// not one of its constants.
func (u User) MarshalJSON() ([]byte, error) { return u.AppendJSON(make([]byte, 0, 384)) }

// AppendJSON appends u's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (u User) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.user(&u)
	return p.result()
}

// MarshalJSON encodes u as Misskey's UserDetailedNotMe. It fails with an
// error matching [ErrInvalid] when a required field is empty or an
// enumerated field holds a value not among its constants.
func (u UserDetailed) MarshalJSON() ([]byte, error) { return u.AppendJSON(make([]byte, 0, 1536)) }

// AppendJSON appends u's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (u UserDetailed) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.userDetailed(&u)
	return p.result()
}

// UnmarshalJSON decodes u, with Relation set when the object has the
// relation keys (isFollowing and the others).
func (u *UserDetailed) UnmarshalJSON(data []byte) error {
	type plain UserDetailed // the same fields, without this method
	var probe struct {
		IsFollowing *bool `json:"isFollowing"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return err
	}
	if err := json.Unmarshal(data, (*plain)(u)); err != nil {
		return err
	}
	u.Relation = nil
	if probe.IsFollowing != nil {
		u.Relation = new(UserRelation)
		return json.Unmarshal(data, u.Relation)
	}
	return nil
}

// MarshalJSON encodes n as Misskey's Note, packed with detail as webhooks
// carry notes. It fails with an error matching [ErrInvalid] when a
// required field of n or of a note or user inside it is empty, or an
// enumerated field holds a value not among its constants.
func (n Note) MarshalJSON() ([]byte, error) { return n.AppendJSON(make([]byte, 0, 1536)) }

// AppendJSON appends n's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (n Note) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.note(&n, true, 0)
	return p.result()
}

// MarshalJSON encodes p with Choices sent as [] when nil.
func (p Poll) MarshalJSON() ([]byte, error) { return p.AppendJSON(make([]byte, 0, 128)) }

// AppendJSON appends p's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (p Poll) AppendJSON(dst []byte) ([]byte, error) {
	pk := packer{b: dst}
	pk.poll(&p)
	return pk.result()
}

// A jsonAppender appends its JSON encoding to dst, as MarshalJSON returns
// it: the shape of webhook.JSONAppender, which this package cannot name
// (the webhook package imports this one). The packed types and bodies
// implement it; their output is valid JSON by construction, so
// webhook.EncodeBody skips encoding/json's second pass over MarshalJSON's
// output, which costs more than the encoding.
type jsonAppender interface {
	AppendJSON(dst []byte) ([]byte, error)
}

var (
	_ jsonAppender = User{}
	_ jsonAppender = UserDetailed{}
	_ jsonAppender = Note{}
	_ jsonAppender = Poll{}
	_ jsonAppender = NoteBody{}
	_ jsonAppender = UserBody{}
	_ jsonAppender = ReactionBody{}
	_ jsonAppender = AbuseReport{}
)

// maxNoteDepth bounds how deep renotes of renotes nest, so that a note
// that renotes itself fails instead of recursing for ever.
const maxNoteDepth = 64

// A packer appends Misskey's packed JSON to b by hand, without reflection,
// keeping the first error. Strings are escaped as JSON.stringify does.
// Maps are written in sorted key order, but for a note's reactions, which
// come in the order PostgreSQL's jsonb keeps them (shorter keys first),
// as Misskey reads them from its database.
type packer struct {
	b   []byte
	err error
}

func (p *packer) result() ([]byte, error) {
	if p.err != nil {
		return nil, p.err
	}
	return p.b, nil
}

func (p *packer) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *packer) raw(s string) { p.b = append(p.b, s...) }
func (p *packer) str(s string) { p.b = jsonenc.AppendString(p.b, s) }
func (p *packer) int(n int64)  { p.b = strconv.AppendInt(p.b, n, 10) }
func (p *packer) time(t Time)  { p.b = appendISOTime(p.b, time.Time(t)) }

func (p *packer) bool(v bool) {
	if v {
		p.raw("true")
	} else {
		p.raw("false")
	}
}

func (p *packer) strOrNull(s *string) {
	if s == nil {
		p.raw("null")
		return
	}
	p.str(*s)
}

func (p *packer) timeOrNull(t *Time) {
	if t == nil {
		p.raw("null")
		return
	}
	p.time(*t)
}

// float appends f as JavaScript's Number.prototype.toString writes it.
func (p *packer) float(field string, f float64) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		p.fail(invalidf("%s must be a finite number, got %v", field, f))
		p.raw("0")
		return
	case f == 0:
		p.raw("0")
		return
	}
	if a := math.Abs(f); a >= 1e-6 && a < 1e21 {
		p.b = strconv.AppendFloat(p.b, f, 'f', -1, 64)
		return
	}
	p.b = strconv.AppendFloat(p.b, f, 'e', -1, 64)
	// Go writes at least two exponent digits (1e-07), JavaScript one.
	if n := len(p.b); p.b[n-4] == 'e' && p.b[n-2] == '0' {
		p.b[n-2] = p.b[n-1]
		p.b = p.b[:n-1]
	}
}

// strings appends ss as an array, [] when nil.
func (p *packer) strings(ss []string) {
	p.raw("[")
	for i, s := range ss {
		if i > 0 {
			p.raw(",")
		}
		p.str(s)
	}
	p.raw("]")
}

// stringsOrNull appends ss as an array, null when nil.
func (p *packer) stringsOrNull(ss []string) {
	if ss == nil {
		p.raw("null")
		return
	}
	p.strings(ss)
}

// sortedKeys returns m's keys in order, in buf when they fit.
func sortedKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// stringMap appends m as an object, {} when nil.
func (p *packer) stringMap(m map[string]string) {
	p.raw("{")
	var buf [8]string
	for i, k := range sortedKeys(m, buf[:]) {
		if i > 0 {
			p.raw(",")
		}
		p.str(k)
		p.raw(":")
		p.str(m[k])
	}
	p.raw("}")
}

// jsonbKeys returns m's keys in the order of a PostgreSQL jsonb object's:
// shorter first, then bytewise.
func jsonbKeys[V any](m map[string]V, buf []string) []string {
	keys := buf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return cmp.Compare(a, b)
	})
	return keys
}

// reactions appends m as an object in jsonb key order, {} when nil.
func (p *packer) reactions(m map[string]int) {
	p.raw("{")
	var buf [8]string
	for i, k := range jsonbKeys(m, buf[:]) {
		if i > 0 {
			p.raw(",")
		}
		p.str(k)
		p.raw(":")
		p.int(int64(m[k]))
	}
	p.raw("}")
}

// enum appends v after checking that it is one of valid.
func (p *packer) enum(field, v string, ok bool) {
	if !ok {
		p.fail(invalidf("%s must be one of its constants, got %q", field, truncate(v, 64)))
	}
	p.str(v)
}

// required fails with "<field> is required" when empty is true; of names
// the object (its ID) when known, to find it in a nested body.
func (p *packer) required(empty bool, field, of string) {
	if !empty {
		return
	}
	if of != "" {
		p.fail(invalidf("%s is required (in %q)", field, truncate(of, 64)))
		return
	}
	p.fail(invalidf("%s is required", field))
}

func (p *packer) user(u *User) {
	p.raw("{")
	p.userFields(u)
	p.raw("}")
}

// userFields appends u's keys, in UserEntityService.pack's order, without
// the enclosing braces.
func (p *packer) userFields(u *User) {
	p.required(u.ID == "", "User.ID", u.Username)
	p.required(u.Username == "", "User.Username", u.ID)
	p.required(u.AvatarURL == "", "User.AvatarURL", u.ID)
	p.raw(`"id":`)
	p.str(u.ID)
	p.raw(`,"name":`)
	p.strOrNull(u.Name)
	p.raw(`,"username":`)
	p.str(u.Username)
	p.raw(`,"host":`)
	p.strOrNull(u.Host)
	p.raw(`,"avatarUrl":`)
	p.str(u.AvatarURL)
	p.raw(`,"avatarBlurhash":`)
	p.strOrNull(u.AvatarBlurhash)
	p.raw(`,"avatarDecorations":[`)
	for i := range u.AvatarDecorations {
		if i > 0 {
			p.raw(",")
		}
		p.avatarDecoration(&u.AvatarDecorations[i])
	}
	p.raw(`],"isBot":`)
	p.bool(u.IsBot)
	p.raw(`,"isCat":`)
	p.bool(u.IsCat)
	if u.RequireSigninToViewContents {
		p.raw(`,"requireSigninToViewContents":true`)
	}
	if u.MakeNotesFollowersOnlyBefore != nil {
		p.raw(`,"makeNotesFollowersOnlyBefore":`)
		p.int(*u.MakeNotesFollowersOnlyBefore)
	}
	if u.MakeNotesHiddenBefore != nil {
		p.raw(`,"makeNotesHiddenBefore":`)
		p.int(*u.MakeNotesHiddenBefore)
	}
	if u.Instance != nil {
		p.raw(`,"instance":`)
		p.instance(u.Instance)
	}
	p.raw(`,"emojis":`)
	p.stringMap(u.Emojis)
	p.raw(`,"onlineStatus":`)
	switch s := u.OnlineStatus; s {
	case "":
		p.raw(`"unknown"`)
	default:
		p.enum("User.OnlineStatus", string(s), s == OnlineStatusUnknown || s == OnlineStatusOnline ||
			s == OnlineStatusActive || s == OnlineStatusOffline)
	}
	if u.Host == nil || u.BadgeRoles != nil {
		p.raw(`,"badgeRoles":[`)
		for i := range u.BadgeRoles {
			r := &u.BadgeRoles[i]
			if i > 0 {
				p.raw(",")
			}
			p.raw(`{"name":`)
			p.str(r.Name)
			p.raw(`,"iconUrl":`)
			p.strOrNull(r.IconURL)
			p.raw(`,"displayOrder":`)
			p.int(int64(r.DisplayOrder))
			p.raw("}")
		}
		p.raw("]")
	}
}

func (p *packer) avatarDecoration(d *AvatarDecoration) {
	p.raw(`{"id":`)
	p.str(d.ID)
	if d.Angle != 0 {
		p.raw(`,"angle":`)
		p.float("AvatarDecoration.Angle", d.Angle)
	}
	if d.FlipH {
		p.raw(`,"flipH":true`)
	}
	if d.OffsetX != 0 {
		p.raw(`,"offsetX":`)
		p.float("AvatarDecoration.OffsetX", d.OffsetX)
	}
	if d.OffsetY != 0 {
		p.raw(`,"offsetY":`)
		p.float("AvatarDecoration.OffsetY", d.OffsetY)
	}
	p.raw(`,"url":`)
	p.str(d.URL)
	p.raw("}")
}

func (p *packer) instance(in *Instance) {
	p.raw(`{"name":`)
	p.strOrNull(in.Name)
	p.raw(`,"softwareName":`)
	p.strOrNull(in.SoftwareName)
	p.raw(`,"softwareVersion":`)
	p.strOrNull(in.SoftwareVersion)
	p.raw(`,"iconUrl":`)
	p.strOrNull(in.IconURL)
	p.raw(`,"faviconUrl":`)
	p.strOrNull(in.FaviconURL)
	p.raw(`,"themeColor":`)
	p.strOrNull(in.ThemeColor)
	p.raw("}")
}

func validFollowVisibility(v FollowVisibility) bool {
	return v == FollowVisibilityPublic || v == FollowVisibilityFollowers || v == FollowVisibilityPrivate
}

func (p *packer) userDetailed(u *UserDetailed) {
	p.required(u.CreatedAt.IsZero(), "UserDetailed.CreatedAt", u.ID)
	p.raw("{")
	p.userFields(&u.User)
	p.raw(`,"url":`)
	p.strOrNull(u.URL)
	p.raw(`,"uri":`)
	p.strOrNull(u.URI)
	p.raw(`,"movedTo":`)
	p.strOrNull(u.MovedTo)
	p.raw(`,"alsoKnownAs":`)
	p.stringsOrNull(u.AlsoKnownAs)
	p.raw(`,"createdAt":`)
	p.time(u.CreatedAt)
	p.raw(`,"updatedAt":`)
	p.timeOrNull(u.UpdatedAt)
	p.raw(`,"lastFetchedAt":`)
	p.timeOrNull(u.LastFetchedAt)
	p.raw(`,"bannerUrl":`)
	p.strOrNull(u.BannerURL)
	p.raw(`,"bannerBlurhash":`)
	p.strOrNull(u.BannerBlurhash)
	p.raw(`,"isLocked":`)
	p.bool(u.IsLocked)
	p.raw(`,"isSilenced":`)
	p.bool(u.IsSilenced)
	p.raw(`,"isSuspended":`)
	p.bool(u.IsSuspended)
	p.raw(`,"description":`)
	p.strOrNull(u.Description)
	p.raw(`,"location":`)
	p.strOrNull(u.Location)
	p.raw(`,"birthday":`)
	p.strOrNull(u.Birthday)
	p.raw(`,"lang":`)
	p.strOrNull(u.Lang)
	p.raw(`,"fields":[`)
	for i := range u.Fields {
		if i > 0 {
			p.raw(",")
		}
		p.raw(`{"name":`)
		p.str(u.Fields[i].Name)
		p.raw(`,"value":`)
		p.str(u.Fields[i].Value)
		p.raw("}")
	}
	p.raw(`],"verifiedLinks":`)
	p.strings(u.VerifiedLinks)
	p.raw(`,"followersCount":`)
	p.int(int64(u.FollowersCount))
	p.raw(`,"followingCount":`)
	p.int(int64(u.FollowingCount))
	p.raw(`,"notesCount":`)
	p.int(int64(u.NotesCount))
	p.raw(`,"pinnedNoteIds":`)
	p.strings(u.PinnedNoteIDs)
	p.raw(`,"pinnedNotes":[`)
	for i := range u.PinnedNotes {
		if i > 0 {
			p.raw(",")
		}
		p.note(&u.PinnedNotes[i], true, 0)
	}
	p.raw(`],"pinnedPageId":`)
	p.strOrNull(u.PinnedPageID)
	p.raw(`,"pinnedPage":`)
	p.rawJSON("UserDetailed.PinnedPage", u.PinnedPage)
	p.raw(`,"publicReactions":`)
	p.bool(u.PublicReactions)
	p.raw(`,"followersVisibility":`)
	p.enum("UserDetailed.FollowersVisibility", string(u.FollowersVisibility), validFollowVisibility(u.FollowersVisibility))
	p.raw(`,"followingVisibility":`)
	p.enum("UserDetailed.FollowingVisibility", string(u.FollowingVisibility), validFollowVisibility(u.FollowingVisibility))
	p.raw(`,"chatScope":`)
	s := u.ChatScope
	p.enum("UserDetailed.ChatScope", string(s), s == ChatScopeEveryone || s == ChatScopeFollowing ||
		s == ChatScopeFollowers || s == ChatScopeMutual || s == ChatScopeNone)
	p.raw(`,"canChat":`)
	p.bool(u.CanChat)
	p.raw(`,"roles":[`)
	for i := range u.Roles {
		if i > 0 {
			p.raw(",")
		}
		p.role(&u.Roles[i])
	}
	p.raw(`],"memo":`)
	p.strOrNull(u.Memo)
	if u.ModerationNote != nil {
		p.raw(`,"moderationNote":`)
		p.str(*u.ModerationNote)
	}
	if r := u.Relation; r != nil {
		p.relation(r)
	}
	p.raw("}")
}

// relation appends r's keys, each after a comma.
func (p *packer) relation(r *UserRelation) {
	p.raw(`,"isFollowing":`)
	p.bool(r.IsFollowing)
	p.raw(`,"isFollowed":`)
	p.bool(r.IsFollowed)
	p.raw(`,"hasPendingFollowRequestFromYou":`)
	p.bool(r.HasPendingFollowRequestFromYou)
	p.raw(`,"hasPendingFollowRequestToYou":`)
	p.bool(r.HasPendingFollowRequestToYou)
	p.raw(`,"isBlocking":`)
	p.bool(r.IsBlocking)
	p.raw(`,"isBlocked":`)
	p.bool(r.IsBlocked)
	p.raw(`,"isMuted":`)
	p.bool(r.IsMuted)
	p.raw(`,"isRenoteMuted":`)
	p.bool(r.IsRenoteMuted)
	p.raw(`,"notify":`)
	switch r.Notify {
	case "":
		p.raw(`"none"`)
	default:
		p.enum("UserRelation.Notify", string(r.Notify), r.Notify == FollowNotifyNormal || r.Notify == FollowNotifyNone)
	}
	p.raw(`,"withReplies":`)
	p.bool(r.WithReplies)
	if r.IsFollowing {
		p.raw(`,"followedMessage":`)
		p.strOrNull(r.FollowedMessage)
	}
}

// rawJSON appends already-encoded JSON, null when nil.
func (p *packer) rawJSON(field string, j json.RawMessage) {
	switch {
	case j == nil:
		p.raw("null")
	case !json.Valid(j):
		p.fail(invalidf("%s is not valid JSON", field))
		p.raw("null")
	default:
		p.b = append(p.b, j...)
	}
}

func (p *packer) role(r *Role) {
	p.raw(`{"id":`)
	p.str(r.ID)
	p.raw(`,"name":`)
	p.str(r.Name)
	p.raw(`,"color":`)
	p.strOrNull(r.Color)
	p.raw(`,"iconUrl":`)
	p.strOrNull(r.IconURL)
	p.raw(`,"description":`)
	p.str(r.Description)
	p.raw(`,"isModerator":`)
	p.bool(r.IsModerator)
	p.raw(`,"isAdministrator":`)
	p.bool(r.IsAdministrator)
	p.raw(`,"displayOrder":`)
	p.int(int64(r.DisplayOrder))
	p.raw("}")
}

// note appends n in NoteEntityService.pack's order. With detail (as
// webhooks pack notes, and renoted notes inside them) it adds
// clippedCount, the parents and the poll; without (a reply's parent) it
// does not. depth counts the renotes above n.
func (p *packer) note(n *Note, detail bool, depth int) {
	if depth > maxNoteDepth {
		p.fail(invalidf("Note.Renote nests more than %d deep (in %q)", maxNoteDepth, truncate(n.ID, 64)))
		p.raw("null")
		return
	}
	p.required(n.ID == "", "Note.ID", "")
	p.required(n.CreatedAt.IsZero(), "Note.CreatedAt", n.ID)
	userID := n.UserID
	if userID == "" {
		userID = n.User.ID
	} else if userID != n.User.ID && n.User.ID != "" {
		p.fail(invalidf("Note.UserID %q is not Note.User.ID %q (in %q)", truncate(userID, 64), truncate(n.User.ID, 64), truncate(n.ID, 64)))
	}
	replyID := p.parentID("Reply", n.ReplyID, n.Reply, n.ID)
	renoteID := p.parentID("Renote", n.RenoteID, n.Renote, n.ID)
	p.raw(`{"id":`)
	p.str(n.ID)
	p.raw(`,"createdAt":`)
	p.time(n.CreatedAt)
	p.raw(`,"userId":`)
	p.str(userID)
	p.raw(`,"user":`)
	p.user(&n.User)
	p.raw(`,"text":`)
	p.strOrNull(n.Text)
	p.raw(`,"cw":`)
	p.strOrNull(n.CW)
	p.raw(`,"visibility":`)
	v := n.Visibility
	p.enum("Note.Visibility", string(v), v == VisibilityPublic || v == VisibilityHome ||
		v == VisibilityFollowers || v == VisibilitySpecified)
	p.raw(`,"localOnly":`)
	p.bool(n.LocalOnly)
	p.raw(`,"reactionAcceptance":`)
	if ra := n.ReactionAcceptance; ra == nil {
		p.raw("null")
	} else {
		p.enum("Note.ReactionAcceptance", string(*ra), *ra == ReactionAcceptanceLikeOnly ||
			*ra == ReactionAcceptanceLikeOnlyForRemote || *ra == ReactionAcceptanceNonSensitiveOnly ||
			*ra == ReactionAcceptanceNonSensitiveOnlyForLocalLikeOnlyForRemote)
	}
	if v == VisibilitySpecified {
		p.raw(`,"visibleUserIds":`)
		p.strings(n.VisibleUserIDs)
	}
	p.raw(`,"renoteCount":`)
	p.int(int64(n.RenoteCount))
	p.raw(`,"repliesCount":`)
	p.int(int64(n.RepliesCount))
	p.raw(`,"reactionCount":`)
	p.int(int64(n.ReactionCount))
	p.raw(`,"reactions":`)
	p.reactions(n.Reactions)
	p.raw(`,"reactionEmojis":`)
	p.stringMap(n.ReactionEmojis)
	if n.User.Host != nil {
		p.raw(`,"emojis":`)
		p.stringMap(n.Emojis)
	}
	if len(n.Tags) > 0 {
		p.raw(`,"tags":`)
		p.strings(n.Tags)
	}
	p.raw(`,"fileIds":`)
	p.strings(n.FileIDs)
	p.raw(`,"files":[`)
	for i := range n.Files {
		if i > 0 {
			p.raw(",")
		}
		p.driveFile(&n.Files[i])
	}
	p.raw(`],"replyId":`)
	p.idOrNull(replyID)
	p.raw(`,"renoteId":`)
	p.idOrNull(renoteID)
	channelID := n.ChannelID
	if c := n.Channel; c != nil {
		if channelID == "" {
			channelID = c.ID
		} else if c.ID != channelID {
			p.fail(invalidf("Note.ChannelID %q is not Note.Channel.ID %q (in %q)", truncate(channelID, 64), truncate(c.ID, 64), truncate(n.ID, 64)))
		}
	} else if channelID != "" {
		p.fail(invalidf("Note.Channel is required when Note.ChannelID is set (in %q)", truncate(n.ID, 64)))
	}
	if channelID != "" {
		p.raw(`,"channelId":`)
		p.str(channelID)
	}
	if c := n.Channel; c != nil {
		p.raw(`,"channel":{"id":`)
		p.str(c.ID)
		p.raw(`,"name":`)
		p.str(c.Name)
		p.raw(`,"color":`)
		p.str(c.Color)
		p.raw(`,"isSensitive":`)
		p.bool(c.IsSensitive)
		p.raw(`,"allowRenoteToExternal":`)
		p.bool(c.AllowRenoteToExternal)
		p.raw(`,"userId":`)
		p.strOrNull(c.UserID)
		p.raw("}")
	}
	if len(n.Mentions) > 0 {
		p.raw(`,"mentions":`)
		p.strings(n.Mentions)
	}
	if n.URI != "" {
		p.raw(`,"uri":`)
		p.str(n.URI)
	}
	if n.URL != "" {
		p.raw(`,"url":`)
		p.str(n.URL)
	}
	if detail {
		p.raw(`,"clippedCount":`)
		p.int(int64(n.ClippedCount))
		if replyID != "" || n.Reply != nil {
			p.required(n.Reply == nil, "Note.Reply (the parent of a reply, which Misskey always sends)", n.ID)
			if n.Reply != nil {
				p.raw(`,"reply":`)
				p.note(n.Reply, false, depth+1)
			}
		}
		if renoteID != "" || n.Renote != nil {
			p.required(n.Renote == nil, "Note.Renote (the renoted note, which Misskey always sends)", n.ID)
			if n.Renote != nil {
				p.raw(`,"renote":`)
				p.note(n.Renote, true, depth+1)
			}
		}
		if n.Poll != nil {
			p.raw(`,"poll":`)
			p.poll(n.Poll)
		}
	}
	p.raw("}")
}

// parentID returns the ID of n's parent (the note replied to or
// renoted): id, or parent's ID when id is empty. It fails when both are
// set and differ.
func (p *packer) parentID(field, id string, parent *Note, of string) string {
	if parent == nil {
		return id
	}
	if id == "" {
		return parent.ID
	}
	if id != parent.ID {
		p.fail(invalidf("Note.%sID %q is not Note.%s.ID %q (in %q)", field, truncate(id, 64), field, truncate(parent.ID, 64), truncate(of, 64)))
	}
	return id
}

// idOrNull appends id as a string, null when empty.
func (p *packer) idOrNull(id string) {
	if id == "" {
		p.raw("null")
		return
	}
	p.str(id)
}

func (p *packer) driveFile(f *DriveFile) {
	p.required(f.ID == "", "DriveFile.ID", "")
	p.required(f.CreatedAt.IsZero(), "DriveFile.CreatedAt", f.ID)
	p.required(f.URL == "", "DriveFile.URL", f.ID)
	p.raw(`{"id":`)
	p.str(f.ID)
	p.raw(`,"createdAt":`)
	p.time(f.CreatedAt)
	p.raw(`,"name":`)
	p.str(f.Name)
	p.raw(`,"type":`)
	p.str(f.Type)
	p.raw(`,"md5":`)
	p.str(f.MD5)
	p.raw(`,"size":`)
	p.int(f.Size)
	p.raw(`,"isSensitive":`)
	p.bool(f.IsSensitive)
	p.raw(`,"blurhash":`)
	p.strOrNull(f.Blurhash)
	p.raw(`,"properties":{`)
	sep := ""
	if pr := &f.Properties; pr.Width != 0 {
		p.raw(`"width":`)
		p.int(int64(pr.Width))
		sep = ","
	}
	if pr := &f.Properties; pr.Height != 0 {
		p.raw(sep + `"height":`)
		p.int(int64(pr.Height))
		sep = ","
	}
	if pr := &f.Properties; pr.Orientation != 0 {
		p.raw(sep + `"orientation":`)
		p.int(int64(pr.Orientation))
		sep = ","
	}
	if pr := &f.Properties; pr.AvgColor != "" {
		p.raw(sep + `"avgColor":`)
		p.str(pr.AvgColor)
	}
	p.raw(`},"url":`)
	p.str(f.URL)
	p.raw(`,"thumbnailUrl":`)
	p.strOrNull(f.ThumbnailURL)
	p.raw(`,"comment":`)
	p.strOrNull(f.Comment)
	p.raw(`,"folderId":`)
	p.strOrNull(f.FolderID)
	p.raw(`,"folder":null,"userId":`)
	p.strOrNull(f.UserID)
	p.raw(`,"user":`)
	p.userOrNull(f.User)
	p.raw("}")
}

func (p *packer) userOrNull(u *User) {
	if u == nil {
		p.raw("null")
		return
	}
	p.user(u)
}

// poll appends pl as NoteEntityService's populatePoll writes it.
func (p *packer) poll(pl *Poll) {
	p.raw(`{"multiple":`)
	p.bool(pl.Multiple)
	p.raw(`,"expiresAt":`)
	p.timeOrNull(pl.ExpiresAt)
	p.raw(`,"choices":[`)
	for i := range pl.Choices {
		c := &pl.Choices[i]
		if i > 0 {
			p.raw(",")
		}
		p.raw(`{"text":`)
		p.str(c.Text)
		p.raw(`,"votes":`)
		p.int(int64(c.Votes))
		p.raw(`,"isVoted":`)
		p.bool(c.IsVoted)
		p.raw("}")
	}
	p.raw("]}")
}

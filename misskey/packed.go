package misskey

import (
	"github.com/fedihook/webhook/internal/jsonenc"

	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// This file holds the objects Misskey puts in webhook bodies, in the shape
// of Misskey's packed JSON (its "UserLite", "UserDetailedNotMe" and "Note"
// schemas, as typed by the misskey-js package).
//
// Conventions, the same for every type here:
//   - A required key is always sent. A nil slice or map on a required key
//     is sent as [] or {}.
//   - A key Misskey may send as null is a pointer (or json.RawMessage); nil
//     is sent as null. Go 1.26's new(expr) makes one: Name: new("Alice").
//   - An optional key is left out when its field is empty (nil, "", 0,
//     false); it is never sent as a zero value that means something else.
//   - Dates are [Time] values, sent as JavaScript's Date.toISOString does.
//
// Decoding uses the struct tags, so receivers can unmarshal a body into
// these types with encoding/json.

// A Time is an instant that marshals to JSON as JavaScript's
// Date.prototype.toISOString writes it, in UTC with milliseconds:
// "2024-01-02T03:04:05.678Z". Finer precision is truncated. Convert with
// misskey.Time(t) and time.Time(mt).
type Time time.Time

// OnlineStatus tells how recently a user was active.
type OnlineStatus string

// Online statuses. The zero value is sent as OnlineStatusUnknown.
const (
	OnlineStatusUnknown OnlineStatus = "unknown" // hidden or not known
	OnlineStatusOnline  OnlineStatus = "online"  // active in the last minutes
	OnlineStatusActive  OnlineStatus = "active"  // active in the last days
	OnlineStatusOffline OnlineStatus = "offline" // not active for longer
)

// Visibility is who can see a note.
type Visibility string

// Note visibilities. A Note must have one of them; the zero value is an
// encoding error rather than a guess.
const (
	VisibilityPublic    Visibility = "public"    // everyone, on public timelines
	VisibilityHome      Visibility = "home"      // everyone, kept off public timelines
	VisibilityFollowers Visibility = "followers" // the author's followers
	VisibilitySpecified Visibility = "specified" // the users in VisibleUserIDs
)

// ReactionAcceptance restricts the reactions a note accepts. A nil
// *ReactionAcceptance (sent as null) means no restriction.
type ReactionAcceptance string

// Reaction acceptances.
const (
	// ReactionAcceptanceLikeOnly accepts only the like reaction.
	ReactionAcceptanceLikeOnly ReactionAcceptance = "likeOnly"
	// ReactionAcceptanceLikeOnlyForRemote accepts only likes from remote users.
	ReactionAcceptanceLikeOnlyForRemote ReactionAcceptance = "likeOnlyForRemote"
	// ReactionAcceptanceNonSensitiveOnly accepts only non-sensitive emojis.
	ReactionAcceptanceNonSensitiveOnly ReactionAcceptance = "nonSensitiveOnly"
	// ReactionAcceptanceNonSensitiveOnlyForLocalLikeOnlyForRemote accepts
	// non-sensitive emojis from local users and likes from remote ones.
	ReactionAcceptanceNonSensitiveOnlyForLocalLikeOnlyForRemote ReactionAcceptance = "nonSensitiveOnlyForLocalLikeOnlyForRemote"
)

// FollowVisibility is who can see a user's followings or followers list.
type FollowVisibility string

// Follow list visibilities. A UserDetailed must have one of them in both
// FollowingVisibility and FollowersVisibility; the zero value is an
// encoding error.
const (
	FollowVisibilityPublic    FollowVisibility = "public"    // everyone
	FollowVisibilityFollowers FollowVisibility = "followers" // the user's followers
	FollowVisibilityPrivate   FollowVisibility = "private"   // the user alone
)

// ChatScope is who may start a chat with a user.
type ChatScope string

// Chat scopes. A UserDetailed must have one of them; the zero value is an
// encoding error.
const (
	ChatScopeEveryone  ChatScope = "everyone"  // anyone
	ChatScopeFollowing ChatScope = "following" // users the user follows
	ChatScopeFollowers ChatScope = "followers" // the user's followers
	ChatScopeMutual    ChatScope = "mutual"    // mutual followers
	ChatScopeNone      ChatScope = "none"      // nobody
)

// An Instance describes the server a remote user lives on. Every field is
// nullable.
type Instance struct {
	Name            *string `json:"name"`
	SoftwareName    *string `json:"softwareName"`
	SoftwareVersion *string `json:"softwareVersion"`
	IconURL         *string `json:"iconUrl"`
	FaviconURL      *string `json:"faviconUrl"`
	ThemeColor      *string `json:"themeColor"`
}

// A BadgeRole is a role a user shows as a badge next to their name.
type BadgeRole struct {
	Name         string  `json:"name"`
	IconURL      *string `json:"iconUrl"`
	DisplayOrder int     `json:"displayOrder"`
}

// An AvatarDecoration is an image drawn over a user's avatar.
type AvatarDecoration struct {
	ID      string  `json:"id"`
	Angle   float64 `json:"angle,omitempty"`
	FlipH   bool    `json:"flipH,omitempty"`
	URL     string  `json:"url"`
	OffsetX float64 `json:"offsetX,omitempty"`
	OffsetY float64 `json:"offsetY,omitempty"`
}

// A User is a user as Misskey packs it in notes and in most webhook bodies:
// misskey-js's UserLite.
type User struct {
	// ID is the user's ID. Required.
	ID string `json:"id"`
	// Name is the display name, nil when the user set none.
	Name *string `json:"name"`
	// Username is the user name without "@" or host. Required.
	Username string `json:"username"`
	// Host is the user's server for a remote user, nil for a local one.
	Host *string `json:"host"`
	// AvatarURL is the avatar image's URL. Required.
	AvatarURL string `json:"avatarUrl"`
	// AvatarBlurhash is the avatar's blurhash, or nil.
	AvatarBlurhash *string `json:"avatarBlurhash"`
	// AvatarDecorations is sent as [] when nil.
	AvatarDecorations []AvatarDecoration `json:"avatarDecorations"`
	// IsBot is sent only when true.
	IsBot bool `json:"isBot,omitempty"`
	// IsCat is sent only when true.
	IsCat bool `json:"isCat,omitempty"`
	// Instance describes a remote user's server; nil leaves it out.
	Instance *Instance `json:"instance,omitempty"`
	// Emojis maps custom emoji names used in the user's name to image
	// URLs. Sent as {} when nil.
	Emojis map[string]string `json:"emojis"`
	// OnlineStatus is sent as "unknown" when empty.
	OnlineStatus OnlineStatus `json:"onlineStatus"`
	// BadgeRoles is left out when empty.
	BadgeRoles []BadgeRole `json:"badgeRoles,omitempty"`
}

// A Field is a name and value pair shown on a user's profile.
type Field struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// A Role is a role a user holds, as Misskey packs it in a user's roles:
// misskey-js's RoleLite.
type Role struct {
	ID              string  `json:"id"`
	Name            string  `json:"name"`
	Color           *string `json:"color"`
	IconURL         *string `json:"iconUrl"`
	Description     string  `json:"description"`
	IsModerator     bool    `json:"isModerator"`
	IsAdministrator bool    `json:"isAdministrator"`
	DisplayOrder    int     `json:"displayOrder"`
}

// A UserDetailed is a user with their profile, as Misskey packs it for
// follow and unfollow webhooks: misskey-js's UserDetailedNotMe. Its JSON
// is flat: the lite fields of the embedded User come first.
type UserDetailed struct {
	User

	// URL is the user's profile page on their server, nil for local users.
	URL *string `json:"url"`
	// URI is the user's ActivityPub id, nil for local users.
	URI *string `json:"uri"`
	// MovedTo is the URI of the account the user moved to, or nil.
	MovedTo *string `json:"movedTo"`
	// AlsoKnownAs lists the user's alias URIs; nil is sent as null.
	AlsoKnownAs []string `json:"alsoKnownAs"`
	// CreatedAt is when the user signed up. Required.
	CreatedAt Time `json:"createdAt"`
	// UpdatedAt is when the profile last changed, or nil.
	UpdatedAt *Time `json:"updatedAt"`
	// LastFetchedAt is when a remote user was last fetched, or nil.
	LastFetchedAt *Time `json:"lastFetchedAt"`
	// BannerURL is the banner image's URL, or nil.
	BannerURL *string `json:"bannerUrl"`
	// BannerBlurhash is the banner's blurhash, or nil.
	BannerBlurhash *string `json:"bannerBlurhash"`
	// IsLocked is true when follow requests need approval.
	IsLocked bool `json:"isLocked"`
	// IsSilenced is true when the user is silenced by moderators.
	IsSilenced bool `json:"isSilenced"`
	// IsSuspended is true when the user is suspended.
	IsSuspended bool `json:"isSuspended"`
	// Description is the profile text, or nil.
	Description *string `json:"description"`
	// Location is the profile's location, or nil.
	Location *string `json:"location"`
	// Birthday is "YYYY-MM-DD", or nil.
	Birthday *string `json:"birthday"`
	// Lang is the user's language tag, or nil.
	Lang *string `json:"lang"`
	// Fields are the profile's name and value pairs; sent as [] when nil.
	Fields []Field `json:"fields"`
	// VerifiedLinks lists profile links verified by rel=me; sent as []
	// when nil.
	VerifiedLinks []string `json:"verifiedLinks"`
	// FollowersCount is the number of followers.
	FollowersCount int `json:"followersCount"`
	// FollowingCount is the number of users followed.
	FollowingCount int `json:"followingCount"`
	// NotesCount is the number of notes.
	NotesCount int `json:"notesCount"`
	// PinnedNoteIDs lists the pinned notes' IDs; sent as [] when nil.
	PinnedNoteIDs []string `json:"pinnedNoteIds"`
	// PinnedNotes holds the pinned notes; sent as [] when nil.
	PinnedNotes []Note `json:"pinnedNotes"`
	// PinnedPageID is the pinned page's ID, or nil.
	PinnedPageID *string `json:"pinnedPageId"`
	// PinnedPage is the pinned page as Misskey packs it (a "Page"),
	// already encoded; nil is sent as null.
	PinnedPage json.RawMessage `json:"pinnedPage"`
	// PublicReactions is true when the user's reactions are public.
	PublicReactions bool `json:"publicReactions"`
	// FollowingVisibility is who can see whom the user follows. Required.
	FollowingVisibility FollowVisibility `json:"followingVisibility"`
	// FollowersVisibility is who can see the user's followers. Required.
	FollowersVisibility FollowVisibility `json:"followersVisibility"`
	// ChatScope is who may chat with the user. Required.
	ChatScope ChatScope `json:"chatScope"`
	// CanChat is true when the user may use chat.
	CanChat bool `json:"canChat"`
	// Roles are the user's public roles; sent as [] when nil.
	Roles []Role `json:"roles"`
	// Memo is the viewer's private memo about the user, or nil.
	Memo *string `json:"memo"`
}

// DriveFileProperties describes a drive file's media. Each field is left
// out when zero.
type DriveFileProperties struct {
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Orientation int    `json:"orientation,omitempty"`
	AvgColor    string `json:"avgColor,omitempty"`
}

// A DriveFile is a file attached to a note.
type DriveFile struct {
	ID           string              `json:"id"`
	CreatedAt    Time                `json:"createdAt"`
	Name         string              `json:"name"`
	Type         string              `json:"type"`
	MD5          string              `json:"md5"`
	Size         int64               `json:"size"`
	IsSensitive  bool                `json:"isSensitive"`
	Blurhash     *string             `json:"blurhash"`
	Properties   DriveFileProperties `json:"properties"`
	URL          string              `json:"url"`
	ThumbnailURL *string             `json:"thumbnailUrl"`
	Comment      *string             `json:"comment"`
	FolderID     *string             `json:"folderId"`
	UserID       *string             `json:"userId"`
	// User is the file's owner; nil leaves it out.
	User *User `json:"user,omitempty"`
}

// A PollChoice is one choice of a poll.
type PollChoice struct {
	IsVoted bool   `json:"isVoted"`
	Text    string `json:"text"`
	Votes   int    `json:"votes"`
}

// A Poll is a note's poll.
type Poll struct {
	// ExpiresAt is when voting ends; nil (no end) leaves it out.
	ExpiresAt *Time `json:"expiresAt,omitempty"`
	// Multiple is true when a voter may pick several choices.
	Multiple bool `json:"multiple"`
	// Choices is sent as [] when nil.
	Choices []PollChoice `json:"choices"`
}

// A Channel is the channel a note was posted to, as packed in the note.
type Channel struct {
	ID                    string  `json:"id"`
	Name                  string  `json:"name"`
	Color                 string  `json:"color"`
	IsSensitive           bool    `json:"isSensitive"`
	AllowRenoteToExternal bool    `json:"allowRenoteToExternal"`
	UserID                *string `json:"userId"`
}

// A Note is a note (a post) as Misskey packs it: misskey-js's Note.
type Note struct {
	// ID is the note's ID. Required.
	ID string `json:"id"`
	// CreatedAt is when the note was posted. Required.
	CreatedAt Time `json:"createdAt"`
	// Text is the note's text, nil for a pure renote or a files-only note.
	Text *string `json:"text"`
	// CW is the content warning; nil leaves it out.
	CW *string `json:"cw,omitempty"`
	// UserID is the author's ID. Required.
	UserID string `json:"userId"`
	// User is the author. Required.
	User User `json:"user"`
	// ReplyID is the ID of the note replied to; "" leaves it out.
	ReplyID string `json:"replyId,omitempty"`
	// RenoteID is the ID of the note renoted or quoted; "" leaves it out.
	RenoteID string `json:"renoteId,omitempty"`
	// Reply is the note replied to; nil leaves it out.
	Reply *Note `json:"reply,omitempty"`
	// Renote is the note renoted or quoted; nil leaves it out.
	Renote *Note `json:"renote,omitempty"`
	// Visibility is who can see the note. Required.
	Visibility Visibility `json:"visibility"`
	// Mentions lists the IDs of mentioned users; left out when empty.
	Mentions []string `json:"mentions,omitempty"`
	// VisibleUserIDs lists who can see a "specified" note; left out when
	// empty.
	VisibleUserIDs []string `json:"visibleUserIds,omitempty"`
	// FileIDs lists the attached files' IDs; left out when empty.
	FileIDs []string `json:"fileIds,omitempty"`
	// Files holds the attached files; left out when empty.
	Files []DriveFile `json:"files,omitempty"`
	// Tags lists the note's hashtags; left out when empty.
	Tags []string `json:"tags,omitempty"`
	// Poll is the note's poll; nil leaves it out.
	Poll *Poll `json:"poll,omitempty"`
	// Emojis maps custom emoji names in the text to image URLs; left out
	// when empty.
	Emojis map[string]string `json:"emojis,omitempty"`
	// ChannelID is the channel's ID; "" leaves it out.
	ChannelID string `json:"channelId,omitempty"`
	// Channel is the channel; nil leaves it out.
	Channel *Channel `json:"channel,omitempty"`
	// LocalOnly is true when the note does not federate; sent only when
	// true.
	LocalOnly bool `json:"localOnly,omitempty"`
	// ReactionAcceptance restricts reactions; nil (no restriction) is sent
	// as null.
	ReactionAcceptance *ReactionAcceptance `json:"reactionAcceptance"`
	// ReactionEmojis maps custom emojis used in reactions to image URLs;
	// sent as {} when nil.
	ReactionEmojis map[string]string `json:"reactionEmojis"`
	// Reactions counts each reaction; sent as {} when nil.
	Reactions map[string]int `json:"reactions"`
	// ReactionCount is the number of reactions.
	ReactionCount int `json:"reactionCount"`
	// RenoteCount is the number of renotes.
	RenoteCount int `json:"renoteCount"`
	// RepliesCount is the number of replies.
	RepliesCount int `json:"repliesCount"`
	// URI is a remote note's ActivityPub id; "" leaves it out.
	URI string `json:"uri,omitempty"`
	// URL is a remote note's web page; "" leaves it out.
	URL string `json:"url,omitempty"`
}

// MarshalJSON encodes t as JavaScript's Date.prototype.toISOString does.
func (t Time) MarshalJSON() ([]byte, error) {
	return appendISOTime(make([]byte, 0, 26), time.Time(t)), nil
}

// UnmarshalJSON decodes an ISO 8601 date and time with a zone offset, as
// toISOString writes it, including its six-digit signed years. A JSON null
// leaves t unchanged.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("misskey: decoding time: %w", err)
	}
	v, err := parseISOTime(s)
	if err != nil {
		return err
	}
	*t = Time(v)
	return nil
}

// String returns t as toISOString writes it, without quotes.
func (t Time) String() string {
	b := appendISOTime(make([]byte, 0, 26), time.Time(t))
	return string(b[1 : len(b)-1])
}

func parseISOTime(s string) (time.Time, error) {
	year, rest := 0, s
	extended := len(s) > 7 && (s[0] == '+' || s[0] == '-')
	if extended {
		y, err := strconv.Atoi(s[1:7])
		if err != nil {
			return time.Time{}, fmt.Errorf("misskey: decoding time %q: bad year", truncate(s, 40))
		}
		year, rest = y, "2000"+s[7:]
		if s[0] == '-' {
			year = -y
		}
	}
	v, err := time.Parse(time.RFC3339Nano, rest)
	if err != nil {
		return time.Time{}, fmt.Errorf("misskey: decoding time: %w", err)
	}
	if extended {
		v = time.Date(year, v.Month(), v.Day(), v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), v.Location())
	}
	return v, nil
}

// appendISOTime appends t, quoted, as toISOString writes it: UTC,
// milliseconds, a four-digit year from 0 to 9999 and a signed six-digit
// one outside.
func appendISOTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	dst = append(dst, '"')
	switch {
	case year >= 0 && year <= 9999:
		dst = appendDigits(dst, year, 4)
	case year < 0:
		dst = appendDigits(append(dst, '-'), -year, 6)
	default:
		dst = appendDigits(append(dst, '+'), year, 6)
	}
	dst = appendDigits(append(dst, '-'), int(month), 2)
	dst = appendDigits(append(dst, '-'), day, 2)
	dst = appendDigits(append(dst, 'T'), hour, 2)
	dst = appendDigits(append(dst, ':'), minute, 2)
	dst = appendDigits(append(dst, ':'), sec, 2)
	dst = appendDigits(append(dst, '.'), t.Nanosecond()/1e6, 3)
	return append(dst, 'Z', '"')
}

// appendDigits appends n >= 0 in decimal, zero-padded to width digits.
func appendDigits(dst []byte, n, width int) []byte {
	var buf [20]byte
	i := len(buf)
	for n >= 10 || width > 1 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	i--
	buf[i] = byte('0' + n)
	return append(dst, buf[i:]...)
}

// MarshalJSON encodes u as Misskey's UserLite. It fails when OnlineStatus
// is not one of the OnlineStatus constants (or empty).
func (u User) MarshalJSON() ([]byte, error) { return u.AppendJSON(make([]byte, 0, 384)) }

// AppendJSON appends u's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (u User) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.user(&u)
	return p.result()
}

// MarshalJSON encodes u as Misskey's UserDetailedNotMe. It fails when an
// enumerated field holds a value not among its constants.
func (u UserDetailed) MarshalJSON() ([]byte, error) { return u.AppendJSON(make([]byte, 0, 1024)) }

// AppendJSON appends u's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (u UserDetailed) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.userDetailed(&u)
	return p.result()
}

// MarshalJSON encodes n as Misskey's Note. It fails when Visibility, or
// the one of a nested note, is not one of the Visibility constants.
func (n Note) MarshalJSON() ([]byte, error) { return n.AppendJSON(make([]byte, 0, 1024)) }

// AppendJSON appends n's encoding, as MarshalJSON returns it, to dst:
// the fast path of webhook.EncodeBody (see webhook.JSONAppender).
func (n Note) AppendJSON(dst []byte) ([]byte, error) {
	p := packer{b: dst}
	p.note(&n)
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

// A packer appends Misskey's packed JSON to b by hand, without reflection,
// keeping the first error. Strings are escaped as JSON.stringify does;
// maps are written in sorted key order.
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

// intMap appends m as an object, {} when nil.
func (p *packer) intMap(m map[string]int) {
	p.raw("{")
	var buf [8]string
	for i, k := range sortedKeys(m, buf[:]) {
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

func (p *packer) user(u *User) {
	p.raw("{")
	p.userFields(u)
	p.raw("}")
}

// userFields appends u's keys without the enclosing braces.
func (p *packer) userFields(u *User) {
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
	p.raw("]")
	if u.IsBot {
		p.raw(`,"isBot":true`)
	}
	if u.IsCat {
		p.raw(`,"isCat":true`)
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
	if len(u.BadgeRoles) > 0 {
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
	p.raw(`,"url":`)
	p.str(d.URL)
	if d.OffsetX != 0 {
		p.raw(`,"offsetX":`)
		p.float("AvatarDecoration.OffsetX", d.OffsetX)
	}
	if d.OffsetY != 0 {
		p.raw(`,"offsetY":`)
		p.float("AvatarDecoration.OffsetY", d.OffsetY)
	}
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
		p.note(&u.PinnedNotes[i])
	}
	p.raw(`],"pinnedPageId":`)
	p.strOrNull(u.PinnedPageID)
	p.raw(`,"pinnedPage":`)
	switch {
	case u.PinnedPage == nil:
		p.raw("null")
	case !json.Valid(u.PinnedPage):
		p.fail(invalidf("UserDetailed.PinnedPage is not valid JSON"))
		p.raw("null")
	default:
		p.b = append(p.b, u.PinnedPage...)
	}
	p.raw(`,"publicReactions":`)
	p.bool(u.PublicReactions)
	p.raw(`,"followingVisibility":`)
	p.enum("UserDetailed.FollowingVisibility", string(u.FollowingVisibility), validFollowVisibility(u.FollowingVisibility))
	p.raw(`,"followersVisibility":`)
	p.enum("UserDetailed.FollowersVisibility", string(u.FollowersVisibility), validFollowVisibility(u.FollowersVisibility))
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
	p.raw("}")
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

func (p *packer) note(n *Note) {
	p.raw(`{"id":`)
	p.str(n.ID)
	p.raw(`,"createdAt":`)
	p.time(n.CreatedAt)
	p.raw(`,"text":`)
	p.strOrNull(n.Text)
	if n.CW != nil {
		p.raw(`,"cw":`)
		p.str(*n.CW)
	}
	p.raw(`,"userId":`)
	p.str(n.UserID)
	p.raw(`,"user":`)
	p.user(&n.User)
	if n.ReplyID != "" {
		p.raw(`,"replyId":`)
		p.str(n.ReplyID)
	}
	if n.RenoteID != "" {
		p.raw(`,"renoteId":`)
		p.str(n.RenoteID)
	}
	if n.Reply != nil {
		p.raw(`,"reply":`)
		p.note(n.Reply)
	}
	if n.Renote != nil {
		p.raw(`,"renote":`)
		p.note(n.Renote)
	}
	p.raw(`,"visibility":`)
	v := n.Visibility
	p.enum("Note.Visibility", string(v), v == VisibilityPublic || v == VisibilityHome ||
		v == VisibilityFollowers || v == VisibilitySpecified)
	if len(n.Mentions) > 0 {
		p.raw(`,"mentions":`)
		p.strings(n.Mentions)
	}
	if len(n.VisibleUserIDs) > 0 {
		p.raw(`,"visibleUserIds":`)
		p.strings(n.VisibleUserIDs)
	}
	if len(n.FileIDs) > 0 {
		p.raw(`,"fileIds":`)
		p.strings(n.FileIDs)
	}
	if len(n.Files) > 0 {
		p.raw(`,"files":[`)
		for i := range n.Files {
			if i > 0 {
				p.raw(",")
			}
			p.driveFile(&n.Files[i])
		}
		p.raw("]")
	}
	if len(n.Tags) > 0 {
		p.raw(`,"tags":`)
		p.strings(n.Tags)
	}
	if n.Poll != nil {
		p.raw(`,"poll":`)
		p.poll(n.Poll)
	}
	if len(n.Emojis) > 0 {
		p.raw(`,"emojis":`)
		p.stringMap(n.Emojis)
	}
	if n.ChannelID != "" {
		p.raw(`,"channelId":`)
		p.str(n.ChannelID)
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
	if n.LocalOnly {
		p.raw(`,"localOnly":true`)
	}
	p.raw(`,"reactionAcceptance":`)
	if ra := n.ReactionAcceptance; ra == nil {
		p.raw("null")
	} else {
		p.enum("Note.ReactionAcceptance", string(*ra), *ra == ReactionAcceptanceLikeOnly ||
			*ra == ReactionAcceptanceLikeOnlyForRemote || *ra == ReactionAcceptanceNonSensitiveOnly ||
			*ra == ReactionAcceptanceNonSensitiveOnlyForLocalLikeOnlyForRemote)
	}
	p.raw(`,"reactionEmojis":`)
	p.stringMap(n.ReactionEmojis)
	p.raw(`,"reactions":`)
	p.intMap(n.Reactions)
	p.raw(`,"reactionCount":`)
	p.int(int64(n.ReactionCount))
	p.raw(`,"renoteCount":`)
	p.int(int64(n.RenoteCount))
	p.raw(`,"repliesCount":`)
	p.int(int64(n.RepliesCount))
	if n.URI != "" {
		p.raw(`,"uri":`)
		p.str(n.URI)
	}
	if n.URL != "" {
		p.raw(`,"url":`)
		p.str(n.URL)
	}
	p.raw("}")
}

func (p *packer) driveFile(f *DriveFile) {
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
	if pr := &f.Properties; pr.Width != 0 || pr.Height != 0 || pr.Orientation != 0 || pr.AvgColor != "" {
		if pr.Width != 0 {
			p.raw(`"width":`)
			p.int(int64(pr.Width))
			sep = ","
		}
		if pr.Height != 0 {
			p.raw(sep + `"height":`)
			p.int(int64(pr.Height))
			sep = ","
		}
		if pr.Orientation != 0 {
			p.raw(sep + `"orientation":`)
			p.int(int64(pr.Orientation))
			sep = ","
		}
		if pr.AvgColor != "" {
			p.raw(sep + `"avgColor":`)
			p.str(pr.AvgColor)
		}
	}
	p.raw(`},"url":`)
	p.str(f.URL)
	p.raw(`,"thumbnailUrl":`)
	p.strOrNull(f.ThumbnailURL)
	p.raw(`,"comment":`)
	p.strOrNull(f.Comment)
	p.raw(`,"folderId":`)
	p.strOrNull(f.FolderID)
	p.raw(`,"userId":`)
	p.strOrNull(f.UserID)
	if f.User != nil {
		p.raw(`,"user":`)
		p.user(f.User)
	}
	p.raw("}")
}

func (p *packer) poll(pl *Poll) {
	p.raw("{")
	if pl.ExpiresAt != nil {
		p.raw(`"expiresAt":`)
		p.time(*pl.ExpiresAt)
		p.raw(",")
	}
	p.raw(`"multiple":`)
	p.bool(pl.Multiple)
	p.raw(`,"choices":[`)
	for i := range pl.Choices {
		c := &pl.Choices[i]
		if i > 0 {
			p.raw(",")
		}
		p.raw(`{"isVoted":`)
		p.bool(c.IsVoted)
		p.raw(`,"text":`)
		p.str(c.Text)
		p.raw(`,"votes":`)
		p.int(int64(c.Votes))
		p.raw("}")
	}
	p.raw("]}")
}

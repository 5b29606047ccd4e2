package misskey

import "encoding/json"

// This file holds the objects Misskey puts in webhook bodies, in the shape
// its packers write them (UserEntityService.pack and NoteEntityService.pack
// in Misskey's backend, typed by misskey-js as UserLite, UserDetailedNotMe
// and Note).
//
// Conventions, the same for every type here:
//   - A key Misskey's packer always writes is always sent, in the packer's
//     order. A nil slice or map there is sent as [] or {}; a nil pointer
//     (or json.RawMessage) as null. Go 1.26's new(expr) makes a pointer:
//     Name: new("Alice").
//   - A key the packer writes only under a condition (its value undefined
//     otherwise) is sent under the same condition; each field says which.
//   - A field Misskey always fills (an ID, a creation time, a note's
//     author) is required: left empty, encoding fails with an error that
//     matches [ErrInvalid] and names the field.
//   - Dates are [Time] values, sent as JavaScript's Date.toISOString does.
//
// Decoding uses the struct tags, so receivers can unmarshal a body into
// these types with encoding/json.

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

// An AvatarDecoration is an image drawn over a user's avatar. Misskey
// writes angle, flipH, offsetX and offsetY only when they are not zero.
type AvatarDecoration struct {
	ID      string  `json:"id"`
	Angle   float64 `json:"angle,omitempty"`
	FlipH   bool    `json:"flipH,omitempty"`
	OffsetX float64 `json:"offsetX,omitempty"`
	OffsetY float64 `json:"offsetY,omitempty"`
	URL     string  `json:"url"`
}

// A User is a user as Misskey packs it in notes and in most webhook bodies:
// misskey-js's UserLite. ID, Username and AvatarURL are required.
type User struct {
	// ID is the user's ID. Required.
	ID string `json:"id"`
	// Name is the display name, nil when the user set none.
	Name *string `json:"name"`
	// Username is the user name without "@" or host. Required.
	Username string `json:"username"`
	// Host is the user's server for a remote user, nil for a local one.
	Host *string `json:"host"`
	// AvatarURL is the avatar image's URL (Misskey's identicon when the
	// user has no avatar). Required.
	AvatarURL string `json:"avatarUrl"`
	// AvatarBlurhash is the avatar's blurhash, or nil.
	AvatarBlurhash *string `json:"avatarBlurhash"`
	// AvatarDecorations is sent as [] when nil.
	AvatarDecorations []AvatarDecoration `json:"avatarDecorations"`
	// IsBot is true for a bot account.
	IsBot bool `json:"isBot"`
	// IsCat is true for a cat.
	IsCat bool `json:"isCat"`
	// RequireSigninToViewContents is sent only when true, as Misskey does.
	RequireSigninToViewContents bool `json:"requireSigninToViewContents,omitempty"`
	// MakeNotesFollowersOnlyBefore is the user's setting to show older
	// notes to followers only (UNIX seconds if positive, seconds ago if
	// not); nil leaves it out.
	MakeNotesFollowersOnlyBefore *int64 `json:"makeNotesFollowersOnlyBefore,omitempty"`
	// MakeNotesHiddenBefore is the same setting to hide older notes; nil
	// leaves it out.
	MakeNotesHiddenBefore *int64 `json:"makeNotesHiddenBefore,omitempty"`
	// Instance describes a remote user's server; nil (a local user, or an
	// unknown server) leaves it out.
	Instance *Instance `json:"instance,omitempty"`
	// Emojis maps custom emoji names used in the user's name to image
	// URLs. Sent as {} when nil.
	Emojis map[string]string `json:"emojis"`
	// OnlineStatus is sent as "unknown" when empty.
	OnlineStatus OnlineStatus `json:"onlineStatus"`
	// BadgeRoles are the roles shown as badges. Misskey sends them for
	// every local user ([] when nil) and for remote users only when the
	// server shows remote badges: for a remote user, nil leaves the key
	// out.
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

// FollowNotify is whether a follower is notified of a user's notes.
type FollowNotify string

// Follow notification settings. The zero value is sent as FollowNotifyNone.
const (
	FollowNotifyNormal FollowNotify = "normal" // notified of every note
	FollowNotifyNone   FollowNotify = "none"   // not notified
)

// A UserRelation is how the viewer relates to a detailed user. Misskey
// packs it into the user (flat, after memo) when the user is packed for
// someone else: in the follow and unfollow webhooks, for the webhook's
// owner.
type UserRelation struct {
	// IsFollowing is true when the viewer follows the user.
	IsFollowing bool `json:"isFollowing"`
	// IsFollowed is true when the user follows the viewer.
	IsFollowed bool `json:"isFollowed"`
	// HasPendingFollowRequestFromYou is true when the viewer asked to
	// follow the user and waits.
	HasPendingFollowRequestFromYou bool `json:"hasPendingFollowRequestFromYou"`
	// HasPendingFollowRequestToYou is true when the user asked to follow
	// the viewer and waits.
	HasPendingFollowRequestToYou bool `json:"hasPendingFollowRequestToYou"`
	// IsBlocking is true when the viewer blocks the user.
	IsBlocking bool `json:"isBlocking"`
	// IsBlocked is true when the user blocks the viewer.
	IsBlocked bool `json:"isBlocked"`
	// IsMuted is true when the viewer mutes the user.
	IsMuted bool `json:"isMuted"`
	// IsRenoteMuted is true when the viewer mutes the user's renotes.
	IsRenoteMuted bool `json:"isRenoteMuted"`
	// Notify is the viewer's notification setting for the user's notes;
	// sent as "none" when empty.
	Notify FollowNotify `json:"notify"`
	// WithReplies is true when the viewer sees the user's replies.
	WithReplies bool `json:"withReplies"`
	// FollowedMessage is the user's message to followers, sent (null
	// when nil) only when IsFollowing.
	FollowedMessage *string `json:"followedMessage,omitempty"`
}

// A UserDetailed is a user with their profile, as Misskey packs it for
// follow and unfollow webhooks: misskey-js's UserDetailedNotMe. Its JSON
// is flat: the lite fields of the embedded User come first, then the
// profile, then the Relation's keys. CreatedAt, FollowingVisibility,
// FollowersVisibility and ChatScope are required.
type UserDetailed struct {
	User

	// URL is the user's profile page on their server, nil for local users.
	URL *string `json:"url"`
	// URI is the user's ActivityPub id, nil for local users.
	URI *string `json:"uri"`
	// MovedTo is the ID of the account the user moved to, or nil.
	MovedTo *string `json:"movedTo"`
	// AlsoKnownAs lists the IDs of the user's aliases; nil is sent as null.
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
	// FollowersCount is the number of followers (0 when the viewer may
	// not see it).
	FollowersCount int `json:"followersCount"`
	// FollowingCount is the number of users followed (0 when the viewer
	// may not see it).
	FollowingCount int `json:"followingCount"`
	// NotesCount is the number of notes.
	NotesCount int `json:"notesCount"`
	// PinnedNoteIDs lists the pinned notes' IDs; sent as [] when nil.
	PinnedNoteIDs []string `json:"pinnedNoteIds"`
	// PinnedNotes holds the pinned notes, packed as a webhook's notes are
	// (with their parents); sent as [] when nil.
	PinnedNotes []Note `json:"pinnedNotes"`
	// PinnedPageID is the pinned page's ID, or nil.
	PinnedPageID *string `json:"pinnedPageId"`
	// PinnedPage is the pinned page as Misskey packs it (a "Page"),
	// already encoded; nil is sent as null.
	PinnedPage json.RawMessage `json:"pinnedPage"`
	// PublicReactions is true when the user's reactions are public.
	PublicReactions bool `json:"publicReactions"`
	// FollowersVisibility is who can see the user's followers. Required.
	FollowersVisibility FollowVisibility `json:"followersVisibility"`
	// FollowingVisibility is who can see whom the user follows. Required.
	FollowingVisibility FollowVisibility `json:"followingVisibility"`
	// ChatScope is who may chat with the user. Required.
	ChatScope ChatScope `json:"chatScope"`
	// CanChat is true when the user may use chat.
	CanChat bool `json:"canChat"`
	// Roles are the user's public roles; sent as [] when nil.
	Roles []Role `json:"roles"`
	// Memo is the viewer's private memo about the user, or nil.
	Memo *string `json:"memo"`
	// ModerationNote is the moderators' note on the user, sent only to a
	// moderator viewer; nil leaves it out.
	ModerationNote *string `json:"moderationNote,omitempty"`
	// Relation is how the viewer relates to the user; nil leaves its keys
	// out. Misskey sends it in the follow and unfollow webhooks (the
	// viewer is the webhook's owner).
	Relation *UserRelation `json:"-"`
}

// DriveFileProperties describes a drive file's media. Each field is left
// out when zero.
type DriveFileProperties struct {
	Width       int    `json:"width,omitempty"`
	Height      int    `json:"height,omitempty"`
	Orientation int    `json:"orientation,omitempty"`
	AvgColor    string `json:"avgColor,omitempty"`
}

// A DriveFile is a file attached to a note, as Misskey packs a note's
// files: with "folder": null, as Misskey never packs the folder there.
// ID, CreatedAt and URL are required.
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
	// UserID is the owner's ID, nil as in notes.
	UserID *string `json:"userId"`
	// User is the owner, nil (sent as null) as in notes.
	User *User `json:"user"`
}

// A PollChoice is one choice of a poll.
type PollChoice struct {
	Text    string `json:"text"`
	Votes   int    `json:"votes"`
	IsVoted bool   `json:"isVoted"`
}

// A Poll is a note's poll.
type Poll struct {
	// Multiple is true when a voter may pick several choices.
	Multiple bool `json:"multiple"`
	// ExpiresAt is when voting ends; nil (no end) is sent as null.
	ExpiresAt *Time `json:"expiresAt"`
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

// A Note is a note (a post) as Misskey packs it for webhooks: misskey-js's
// Note, packed "with detail". ID, CreatedAt, User and Visibility are
// required.
//
// A note travels with its parents, as in Misskey: a reply holds the note
// it replies to in Reply, a renote or quote the renoted note in Renote.
// They are required when ReplyID or RenoteID is set, and ReplyID and
// RenoteID default to their IDs. The parent of a reply is packed without
// detail (no clippedCount, poll or parents of its own); a renoted note
// with detail, so its own parents travel too.
type Note struct {
	// ID is the note's ID. Required.
	ID string `json:"id"`
	// CreatedAt is when the note was posted. Required.
	CreatedAt Time `json:"createdAt"`
	// UserID is the author's ID; "" means User.ID.
	UserID string `json:"userId"`
	// User is the author. Required.
	User User `json:"user"`
	// Text is the note's text, nil for a pure renote or a files-only note.
	Text *string `json:"text"`
	// CW is the content warning, or nil.
	CW *string `json:"cw"`
	// Visibility is who can see the note. Required.
	Visibility Visibility `json:"visibility"`
	// LocalOnly is true when the note does not federate.
	LocalOnly bool `json:"localOnly"`
	// ReactionAcceptance restricts reactions; nil (no restriction) is sent
	// as null.
	ReactionAcceptance *ReactionAcceptance `json:"reactionAcceptance"`
	// VisibleUserIDs lists who can see a note of VisibilitySpecified; sent
	// ([] when nil) for such notes only.
	VisibleUserIDs []string `json:"visibleUserIds,omitempty"`
	// RenoteCount is the number of renotes.
	RenoteCount int `json:"renoteCount"`
	// RepliesCount is the number of replies.
	RepliesCount int `json:"repliesCount"`
	// ReactionCount is the number of reactions.
	ReactionCount int `json:"reactionCount"`
	// Reactions counts each reaction; sent as {} when nil.
	Reactions map[string]int `json:"reactions"`
	// ReactionEmojis maps remote custom emojis used in reactions to image
	// URLs; sent as {} when nil.
	ReactionEmojis map[string]string `json:"reactionEmojis"`
	// Emojis maps custom emoji names in a remote note's text to image
	// URLs. Misskey sends it ({} when nil) for notes of remote users
	// (User.Host set) only.
	Emojis map[string]string `json:"emojis,omitempty"`
	// Tags lists the note's hashtags; left out when empty.
	Tags []string `json:"tags,omitempty"`
	// FileIDs lists the attached files' IDs; sent as [] when nil.
	FileIDs []string `json:"fileIds"`
	// Files holds the attached files; sent as [] when nil.
	Files []DriveFile `json:"files"`
	// ReplyID is the ID of the note replied to; "" means Reply's ID, or
	// null when Reply is nil.
	ReplyID string `json:"replyId"`
	// RenoteID is the ID of the note renoted or quoted; "" means Renote's
	// ID, or null when Renote is nil.
	RenoteID string `json:"renoteId"`
	// ChannelID is the channel's ID; "" means Channel's ID, and the key is
	// left out when there is no channel.
	ChannelID string `json:"channelId,omitempty"`
	// Channel is the channel; required when ChannelID is set.
	Channel *Channel `json:"channel,omitempty"`
	// Mentions lists the IDs of mentioned users; left out when empty.
	Mentions []string `json:"mentions,omitempty"`
	// URI is a remote note's ActivityPub id; "" leaves it out.
	URI string `json:"uri,omitempty"`
	// URL is a remote note's web page; "" leaves it out.
	URL string `json:"url,omitempty"`
	// ClippedCount is the number of clips holding the note; sent with
	// detail only.
	ClippedCount int `json:"clippedCount,omitempty"`
	// Reply is the note replied to, packed without detail. Required when
	// the note is a reply (ReplyID set).
	Reply *Note `json:"reply,omitempty"`
	// Renote is the note renoted or quoted, packed with detail. Required
	// when the note is a renote or quote (RenoteID set).
	Renote *Note `json:"renote,omitempty"`
	// Poll is the note's poll, sent with detail only; nil leaves it out.
	Poll *Poll `json:"poll,omitempty"`
}

package misskeyapi

import "context"

// Meta is what the meta endpoint answers: Misskey's MetaDetailed (the
// MetaLite fields and the detailed ones), or MetaLite when asked with
// {"detail": false}. The host fills what it knows; nil slices are sent as
// [], and URI and Version are required.
//
// Receivers call meta on the server named in a payload's "server": Discord
// bridges for Misskey webhooks post to {server}/api/meta on every event to
// title their messages with the server's name and icon (they read uri,
// name and iconUrl); clients read version to know what the server speaks.
type Meta struct {
	// URI is the server's origin, such as "https://example.tld".
	URI string `json:"uri"`
	// Version is the server software's version. Misskey clients compare
	// it with Misskey's versions, so a server mimicking Misskey gives the
	// Misskey version whose API it follows.
	Version string `json:"version"`
	// Name is the server's name.
	Name *string `json:"name"`
	// ShortName is the server's short name.
	ShortName *string `json:"shortName"`
	// IconURL is the server's icon.
	IconURL *string `json:"iconUrl"`
	// Description describes the server.
	Description     *string  `json:"description"`
	MaintainerName  *string  `json:"maintainerName"`
	MaintainerEmail *string  `json:"maintainerEmail"`
	Langs           []string `json:"langs"`
	ThemeColor      *string  `json:"themeColor"`
	BannerURL       *string  `json:"bannerUrl"`
	// MascotImageURL defaults to Misskey's "/assets/ai.png".
	MascotImageURL         string   `json:"mascotImageUrl"`
	BackgroundImageURL     *string  `json:"backgroundImageUrl"`
	LogoImageURL           *string  `json:"logoImageUrl"`
	ServerErrorImageURL    *string  `json:"serverErrorImageUrl"`
	InfoImageURL           *string  `json:"infoImageUrl"`
	NotFoundImageURL       *string  `json:"notFoundImageUrl"`
	TosURL                 *string  `json:"tosUrl"`
	PrivacyPolicyURL       *string  `json:"privacyPolicyUrl"`
	ImpressumURL           *string  `json:"impressumUrl"`
	InquiryURL             *string  `json:"inquiryUrl"`
	RepositoryURL          *string  `json:"repositoryUrl"`
	FeedbackURL            *string  `json:"feedbackUrl"`
	ServerRules            []string `json:"serverRules"`
	DisableRegistration    bool     `json:"disableRegistration"`
	EmailRequiredForSignup bool     `json:"emailRequiredForSignup"`
	// MaxNoteTextLength defaults to Misskey's 3000.
	MaxNoteTextLength int `json:"maxNoteTextLength"`
	// MaxFileSize is in bytes; defaults to Misskey's 262144000.
	MaxFileSize int64 `json:"maxFileSize"`
	// Federation is "all", "specified" or "none"; defaults to "all".
	Federation string `json:"federation"`
	// NoteSearchableScope is "local" or "global"; defaults to "global".
	NoteSearchableScope string `json:"noteSearchableScope"`
	// Policies are the default role policies; nil means
	// [DefaultRolePolicies]. Its WebhookLimit should be the Dispatcher's
	// Config.MaxWebhooksPerUser.
	Policies *RolePolicies `json:"policies"`
	// MediaProxy defaults to URI + "/proxy".
	MediaProxy string `json:"mediaProxy"`

	// The detailed fields (sent unless {"detail": false}).

	// ProxyAccountName is the proxy account's username, if any.
	ProxyAccountName *string `json:"-"`
	// RequireSetup says the server still waits for its first admin.
	RequireSetup bool `json:"-"`
}

// RolePolicies are Misskey's role policies, as meta reports the defaults.
type RolePolicies struct {
	GtlAvailable               bool     `json:"gtlAvailable"`
	LtlAvailable               bool     `json:"ltlAvailable"`
	CanPublicNote              bool     `json:"canPublicNote"`
	MentionLimit               int      `json:"mentionLimit"`
	CanInvite                  bool     `json:"canInvite"`
	InviteLimit                int      `json:"inviteLimit"`
	InviteLimitCycle           int      `json:"inviteLimitCycle"`
	InviteExpirationTime       int      `json:"inviteExpirationTime"`
	CanManageCustomEmojis      bool     `json:"canManageCustomEmojis"`
	CanManageAvatarDecorations bool     `json:"canManageAvatarDecorations"`
	CanSearchNotes             bool     `json:"canSearchNotes"`
	CanSearchUsers             bool     `json:"canSearchUsers"`
	CanUseTranslator           bool     `json:"canUseTranslator"`
	CanHideAds                 bool     `json:"canHideAds"`
	CanCreateChannel           bool     `json:"canCreateChannel"`
	DriveCapacityMb            int      `json:"driveCapacityMb"`
	MaxFileSizeMb              int      `json:"maxFileSizeMb"`
	UploadableFileTypes        []string `json:"uploadableFileTypes"`
	AlwaysMarkNsfw             bool     `json:"alwaysMarkNsfw"`
	CanUpdateBioMedia          bool     `json:"canUpdateBioMedia"`
	PinLimit                   int      `json:"pinLimit"`
	AntennaLimit               int      `json:"antennaLimit"`
	WordMuteLimit              int      `json:"wordMuteLimit"`
	// WebhookLimit is how many webhooks a user may have: the
	// Dispatcher's Config.MaxWebhooksPerUser.
	WebhookLimit           int     `json:"webhookLimit"`
	ClipLimit              int     `json:"clipLimit"`
	NoteEachClipsLimit     int     `json:"noteEachClipsLimit"`
	UserListLimit          int     `json:"userListLimit"`
	UserEachUserListsLimit int     `json:"userEachUserListsLimit"`
	RateLimitFactor        float64 `json:"rateLimitFactor"`
	AvatarDecorationLimit  int     `json:"avatarDecorationLimit"`
	CanImportAntennas      bool    `json:"canImportAntennas"`
	CanImportBlocking      bool    `json:"canImportBlocking"`
	CanImportFollowing     bool    `json:"canImportFollowing"`
	CanImportMuting        bool    `json:"canImportMuting"`
	CanImportUserLists     bool    `json:"canImportUserLists"`
	// ChatAvailability is "available", "readonly" or "unavailable".
	ChatAvailability   string `json:"chatAvailability"`
	NoteDraftLimit     int    `json:"noteDraftLimit"`
	ScheduledNoteLimit int    `json:"scheduledNoteLimit"`
	WatermarkAvailable bool   `json:"watermarkAvailable"`
}

// DefaultRolePolicies returns Misskey's default role policies.
func DefaultRolePolicies() *RolePolicies {
	return &RolePolicies{
		GtlAvailable: true, LtlAvailable: true, CanPublicNote: true, MentionLimit: 20,
		InviteLimitCycle: 60 * 24 * 7, CanSearchUsers: true, CanUseTranslator: true, CanCreateChannel: true,
		DriveCapacityMb: 100, MaxFileSizeMb: 30,
		UploadableFileTypes: []string{"text/*", "application/json", "image/*", "video/*", "audio/*"},
		CanUpdateBioMedia:   true, PinLimit: 5, AntennaLimit: 5, WordMuteLimit: 200, WebhookLimit: 3,
		ClipLimit: 10, NoteEachClipsLimit: 200, UserListLimit: 10, UserEachUserListsLimit: 50,
		RateLimitFactor: 1, AvatarDecorationLimit: 1, CanImportAntennas: true, CanImportBlocking: true,
		CanImportFollowing: true, CanImportMuting: true, CanImportUserLists: true,
		ChatAvailability: "available", NoteDraftLimit: 10, ScheduledNoteLimit: 1, WatermarkAvailable: true,
	}
}

// metaLite is Meta with the MetaLite fields the host does not set.
type metaLite struct {
	*Meta
	DefaultDarkTheme             *string       `json:"defaultDarkTheme"`
	DefaultLightTheme            *string       `json:"defaultLightTheme"`
	ClientOptions                clientOptions `json:"clientOptions"`
	ProvidesTarball              bool          `json:"providesTarball"`
	EnableHcaptcha               bool          `json:"enableHcaptcha"`
	HcaptchaSiteKey              *string       `json:"hcaptchaSiteKey"`
	EnableMcaptcha               bool          `json:"enableMcaptcha"`
	McaptchaSiteKey              *string       `json:"mcaptchaSiteKey"`
	McaptchaInstanceURL          *string       `json:"mcaptchaInstanceUrl"`
	EnableRecaptcha              bool          `json:"enableRecaptcha"`
	RecaptchaSiteKey             *string       `json:"recaptchaSiteKey"`
	EnableTurnstile              bool          `json:"enableTurnstile"`
	TurnstileSiteKey             *string       `json:"turnstileSiteKey"`
	EnableTestcaptcha            bool          `json:"enableTestcaptcha"`
	GoogleAnalyticsMeasurementID *string       `json:"googleAnalyticsMeasurementId"`
	SwPublickey                  *string       `json:"swPublickey"`
	Ads                          []struct{}    `json:"ads"`
	NotesPerOneAd                int           `json:"notesPerOneAd"`
	EnableEmail                  bool          `json:"enableEmail"`
	EnableServiceWorker          bool          `json:"enableServiceWorker"`
	TranslatorAvailable          bool          `json:"translatorAvailable"`
	SentryForFrontend            *struct{}     `json:"sentryForFrontend"`
	EnableURLPreview             bool          `json:"enableUrlPreview"`
}

type clientOptions struct {
	EntrancePageStyle        string `json:"entrancePageStyle"`
	ShowTimelineForVisitor   bool   `json:"showTimelineForVisitor"`
	ShowActivitiesForVisitor bool   `json:"showActivitiesForVisitor"`
}

// metaDetailed adds MetaDetailedOnly's fields.
type metaDetailed struct {
	metaLite
	Features                  features `json:"features"`
	ProxyAccountName          *string  `json:"proxyAccountName"`
	RequireSetup              bool     `json:"requireSetup"`
	CacheRemoteFiles          bool     `json:"cacheRemoteFiles"`
	CacheRemoteSensitiveFiles bool     `json:"cacheRemoteSensitiveFiles"`
}

type features struct {
	Registration           bool `json:"registration"`
	EmailRequiredForSignup bool `json:"emailRequiredForSignup"`
	LocalTimeline          bool `json:"localTimeline"`
	GlobalTimeline         bool `json:"globalTimeline"`
	Hcaptcha               bool `json:"hcaptcha"`
	Turnstile              bool `json:"turnstile"`
	Recaptcha              bool `json:"recaptcha"`
	ObjectStorage          bool `json:"objectStorage"`
	ServiceWorker          bool `json:"serviceWorker"`
	Miauth                 bool `json:"miauth"`
}

// normalized returns a copy of m with its defaults filled in.
func (m *Meta) normalized() *Meta {
	c := *m
	if c.Langs == nil {
		c.Langs = []string{}
	}
	if c.ServerRules == nil {
		c.ServerRules = []string{}
	}
	if c.MascotImageURL == "" {
		c.MascotImageURL = "/assets/ai.png"
	}
	if c.MaxNoteTextLength == 0 {
		c.MaxNoteTextLength = 3000
	}
	if c.MaxFileSize == 0 {
		c.MaxFileSize = 262144000
	}
	if c.Federation == "" {
		c.Federation = "all"
	}
	if c.NoteSearchableScope == "" {
		c.NoteSearchableScope = "global"
	}
	if c.Policies == nil {
		c.Policies = DefaultRolePolicies()
	}
	p := *c.Policies
	if p.UploadableFileTypes == nil {
		p.UploadableFileTypes = []string{}
	}
	c.Policies = &p
	if c.MediaProxy == "" {
		c.MediaProxy = c.URI + "/proxy"
	}
	return &c
}

// meta {detail?: boolean = true}
func (h *Handler) meta(_ context.Context, c *Call) (any, error) {
	r := newReader(c.Params)
	detail, set := r.boolean("detail")
	if r.err != nil {
		return nil, r.err
	}
	m := h.cfg.Meta.normalized()
	lite := metaLite{Meta: m, ClientOptions: clientOptions{EntrancePageStyle: "classic", ShowTimelineForVisitor: true,
		ShowActivitiesForVisitor: true}, Ads: []struct{}{}, NotesPerOneAd: 0}
	if set && !detail {
		return lite, nil
	}
	return metaDetailed{metaLite: lite,
		Features:         features{Registration: !m.DisableRegistration, EmailRequiredForSignup: m.EmailRequiredForSignup},
		ProxyAccountName: m.ProxyAccountName, RequireSetup: m.RequireSetup}, nil
}

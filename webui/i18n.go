package webui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A catalog holds the sentences of one language.
type catalog struct {
	lang string
	msgs map[string]string
}

// T returns the sentence key, formatted with args. A key missing from the
// language falls back to English, then to the key itself.
func (c *catalog) T(key string, args ...any) string {
	s, ok := c.msgs[key]
	if !ok {
		if s, ok = english.msgs[key]; !ok {
			s = key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// duration says d in words: "24 hours", "90 minutes".
func (c *catalog) duration(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return c.T("hours", int(d/time.Hour))
	case d >= time.Minute && d%time.Minute == 0:
		return c.T("minutes", int(d/time.Minute))
	}
	return d.String()
}

// negotiate picks the language of a request from its Accept-Language
// header: Japanese when the browser prefers it to English, else English.
func negotiate(header string) *catalog {
	best, bestQ := english, 0.0
	for _, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		var c *catalog
		switch base {
		case "ja":
			c = japanese
		case "en":
			c = english
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = c, q
		}
	}
	return best
}

var english = &catalog{lang: "en", msgs: map[string]string{
	"app":           "Webhooks",
	"nav":           "Webhook pages",
	"myHooks":       "My webhooks",
	"systemHooks":   "System webhooks",
	"queueHealth":   "Queue health",
	"newHook":       "New webhook",
	"newSystem":     "New system webhook",
	"editHook":      "Edit %s",
	"deleteHook":    "Delete %s",
	"created":       "Webhook created",
	"errorTitle":    "Something is wrong",
	"deliveryTitle": "Delivery of %s",

	"notFound":     "There is no such page.",
	"noHook":       "There is no such webhook. It may have been deleted.",
	"noDelivery":   "There is no such delivery. It may have been deleted with its webhook, or removed after its retention time.",
	"signIn":       "Sign in to manage your webhooks.",
	"forged":       "This form has expired or was not sent from this site. Go back, reload the page and try again.",
	"badForm":      "The form could not be read. Reload the page and try again.",
	"internal":     "Something went wrong on the server. Try again in a moment; if it keeps happening, tell the server's operators.",
	"closed":       "The server is shutting down. Try again in a moment.",
	"tooManyTests": "Too many test sends. Wait a few minutes, then try again.",
	"noRedelivery": "This server's store cannot send deliveries again.",

	"err_nameRequired": "Give the webhook a name.",
	"err_nameTooLong":  "The name can be at most %d characters.",
	"err_url":          "The URL must be a full http:// or https:// address, such as https://example.com/hook, without a user name or password in it.",
	"err_secret":       "The secret must not start or end with a space, hold control characters, or be longer than %d bytes.",
	"err_event":        "One of the chosen events is not one this webhook can take.",
	"err_noEvents":     "Choose at least one event.",
	"err_tooMany":      "You have as many webhooks as this server allows. Delete one to create another.",
	"err_invalid":      "The webhook could not be saved: %s.",
	"err_retry":        "The form was sent twice at the same moment. Send it once more.",
	"err_cursor":       "That page of the log does not exist any more; here are the newest deliveries.",
	"err_inFlight":     "This delivery is being sent right now. Wait for the attempt to end, then try again.",

	"done_saved":         "Saved.",
	"done_deleted":       "The webhook was deleted.",
	"done_redelivered":   "The delivery will be sent again in a moment.",
	"done_recovered":     "%d failed deliveries will be sent again in a moment.",
	"done_recoveredMore": "%d failed deliveries will be sent again in a moment. There may be more: press the button again once they are sent.",
	"done_recoveredNone": "There was no failed delivery in that time.",
	"rotated":            "A new signing secret is in use. The former one still signs requests until %s.",
	"rotatedNoFormer":    "The webhook now has a signing secret.",

	"name":            "Name",
	"url":             "URL",
	"secret":          "Secret",
	"secretHelp":      "Sent as the X-Misskey-Hook-Secret header. Optional.",
	"secretKeep":      "Leave empty to keep the current secret.",
	"clearSecret":     "Remove the secret",
	"events":          "Events",
	"active":          "Active",
	"inactive":        "Inactive",
	"create":          "Create",
	"save":            "Save",
	"delete":          "Delete",
	"cancel":          "Cancel",
	"edit":            "Edit",
	"sendTest":        "Send test",
	"redeliver":       "Redeliver",
	"recover":         "Recover failed",
	"reveal":          "Reveal secrets",
	"rotate":          "Rotate signing secret",
	"filter":          "Filter",
	"older":           "Older deliveries",
	"newest":          "Newest deliveries",
	"event":           "Event",
	"state":           "State",
	"since":           "Since",
	"since_1h":        "the last hour",
	"since_24h":       "the last 24 hours",
	"since_7d":        "the last 7 days",
	"allStates":       "all",
	"state_pending":   "pending",
	"state_delivered": "delivered",
	"state_failed":    "failed",

	"noHooks":        "No webhooks yet.",
	"colName":        "Name",
	"colStatus":      "Status",
	"colLatest":      "Latest answer",
	"colFailing":     "Failing since",
	"colEvents":      "Events",
	"colOwner":       "Owner",
	"colHost":        "Host",
	"colCreated":     "Created",
	"colAttempts":    "Attempts",
	"colError":       "Error",
	"colTime":        "Time",
	"colDuration":    "Duration",
	"colResult":      "Status or error",
	"colResponse":    "Response",
	"colRetried":     "Retried",
	"yes":            "yes",
	"no":             "no",
	"noAnswer":       "no answer",
	"never":          "never",
	"healthy":        "healthy",
	"system":         "system",
	"createdSecret":  "Its signing secret is shown only now. Receivers that check Standard Webhooks signatures (webhook-signature header) need it; keep it somewhere safe.",
	"goToHook":       "Go to the webhook",
	"signingSecret":  "Signing secret",
	"previousSecret": "Former signing secret, valid until %s",
	"noSecret":       "(none)",
	"secretsTitle":   "Secrets",
	"secretsHelp":    "Secrets are not shown unless you ask.",
	"rotateHelp":     "Makes a new signing secret. The current one keeps signing requests beside it for %s, so receivers can be updated without missing a request.",
	"newSigning":     "New signing secret, shown only now:",
	"testTitle":      "Send a test",
	"testResult":     "Test result",
	"testHelp":       "Sends one delivery of the chosen event with a sample body, even when the webhook is inactive. It is not retried and does not appear in the log.",
	"testOK":         "The receiver accepted the test %s: it answered %s after %s.",
	"testStatus":     "The receiver refused the test %s: it answered %s after %s.",
	"testFailed":     "The test %s could not be delivered after %s: %s.",
	"firstBytes":     "First bytes of the answer",
	"chartTitle":     "The last 24 hours",
	"chart_label":    "Deliveries created in the last 24 hours, by hour: %d delivered, %d pending, %d failed.",
	"chart_bar":      "%s–%s: %d delivered, %d pending, %d failed",
	"chartTruncated": "The webhook had more deliveries than the chart reads; it shows the newest.",
	"now":            "now",
	"logTitle":       "Delivery log",
	"noDeliveries":   "No deliveries.",
	"noHistory":      "This server's store keeps no delivery log.",
	"recoverTitle":   "Recover failed deliveries",
	"recoverHelp":    "Sends again, as new attempts, the deliveries that gave up in the chosen time (at most %d at a time).",
	"dangerTitle":    "Delete",
	"deleteLink":     "Delete this webhook…",
	"deleteConfirm":  "Delete the webhook %s? Its pending deliveries will not be sent, and its delivery log is deleted with it. This cannot be undone.",
	"attemptsTitle":  "Attempts",
	"noAttempts":     "No attempt yet.",
	"nextAttempt":    "Next attempt",
	"eventId":        "Event ID",
	"bodyTitle":      "Body",
	"bodyTruncated":  "The body is longer; this is its beginning.",
	"redeliverHelp":  "Sends this delivery again now, with the same event ID and body, as a new series of attempts.",
	"backToHook":     "Back to %s",
	"pending":        "Pending deliveries",
	"oldestDue":      "Oldest due",
	"lag":            "Wait of the oldest due delivery",
	"lag_healthy":    "healthy",
	"lag_slow":       "slow",
	"lag_stuck":      "stuck",
	"lag_label":      "The oldest due delivery has waited %s: %s.",
	"noStats":        "This server's store does not report its queue.",
	"failingTitle":   "Failing webhooks",
	"noFailing":      "No webhook is failing.",
	"usersHidden":    "Only system webhooks are listed: the server does not list its users here.",
	"failingHelp":    "Webhooks whose latest attempts failed, longest failing first. Only the host of a user's URL is shown.",
	"signedInAs":     "Signed in as %s",
	"operator":       "operator",
	"hours":          "%d hours",
	"minutes":        "%d minutes",
}}

var japanese = &catalog{lang: "ja", msgs: map[string]string{
	"app":           "Webhook",
	"nav":           "Webhookのページ",
	"myHooks":       "自分のWebhook",
	"systemHooks":   "システムWebhook",
	"queueHealth":   "キューの状態",
	"newHook":       "Webhookを作成",
	"newSystem":     "システムWebhookを作成",
	"editHook":      "%sを編集",
	"deleteHook":    "%sを削除",
	"created":       "Webhookを作成しました",
	"errorTitle":    "問題が発生しました",
	"deliveryTitle": "%sの配信",

	"notFound":     "そのページはありません。",
	"noHook":       "そのWebhookはありません。削除された可能性があります。",
	"noDelivery":   "その配信はありません。Webhookと一緒に削除されたか、保存期間を過ぎて消された可能性があります。",
	"signIn":       "Webhookを管理するにはサインインしてください。",
	"forged":       "このフォームは期限切れか、このサイトから送信されたものではありません。戻ってページを再読み込みし、もう一度お試しください。",
	"badForm":      "フォームを読み取れませんでした。ページを再読み込みして、もう一度お試しください。",
	"internal":     "サーバーで問題が発生しました。しばらくしてからもう一度お試しください。続く場合はサーバーの管理者に連絡してください。",
	"closed":       "サーバーは停止処理中です。しばらくしてからもう一度お試しください。",
	"tooManyTests": "テスト送信が多すぎます。数分待ってからもう一度お試しください。",
	"noRedelivery": "このサーバーのストアは再配信に対応していません。",

	"err_nameRequired": "Webhookの名前を入力してください。",
	"err_nameTooLong":  "名前は%d文字以内にしてください。",
	"err_url":          "URLは https://example.com/hook のような http:// または https:// で始まる完全なアドレスにしてください。ユーザー名やパスワードは含められません。",
	"err_secret":       "シークレットの先頭や末尾に空白、制御文字は使えません。長さは%dバイト以内です。",
	"err_event":        "選ばれたイベントの中に、このWebhookでは使えないものがあります。",
	"err_noEvents":     "イベントを1つ以上選んでください。",
	"err_tooMany":      "このサーバーで作成できるWebhookの上限に達しています。作成するには1つ削除してください。",
	"err_invalid":      "Webhookを保存できませんでした: %s。",
	"err_retry":        "フォームが同時に2回送信されました。もう一度送信してください。",
	"err_cursor":       "ログのそのページはもうありません。最新の配信を表示しています。",
	"err_inFlight":     "この配信は現在送信中です。試行が終わってからもう一度お試しください。",

	"done_saved":         "保存しました。",
	"done_deleted":       "Webhookを削除しました。",
	"done_redelivered":   "まもなく再配信されます。",
	"done_recovered":     "失敗した配信%d件をまもなく再送します。",
	"done_recoveredMore": "失敗した配信%d件をまもなく再送します。まだ残っている可能性があります。送信後にもう一度ボタンを押してください。",
	"done_recoveredNone": "その期間に失敗した配信はありません。",
	"rotated":            "新しい署名シークレットを使い始めました。以前のシークレットも%sまでは署名に使われます。",
	"rotatedNoFormer":    "Webhookに署名シークレットを設定しました。",

	"name":            "名前",
	"url":             "URL",
	"secret":          "シークレット",
	"create":          "作成",
	"save":            "保存",
	"delete":          "削除",
	"sendTest":        "テスト送信",
	"redeliver":       "再配信",
	"secretHelp":      "X-Misskey-Hook-Secret ヘッダーで送られます。省略できます。",
	"secretKeep":      "空のままにすると現在のシークレットを使い続けます。",
	"clearSecret":     "シークレットを削除する",
	"events":          "イベント",
	"active":          "有効",
	"inactive":        "無効",
	"cancel":          "キャンセル",
	"edit":            "編集",
	"recover":         "失敗分を再送",
	"reveal":          "シークレットを表示",
	"rotate":          "署名シークレットを更新",
	"filter":          "絞り込む",
	"older":           "古い配信",
	"newest":          "最新の配信",
	"event":           "イベント",
	"state":           "状態",
	"since":           "期間",
	"since_1h":        "直近1時間",
	"since_24h":       "直近24時間",
	"since_7d":        "直近7日間",
	"allStates":       "すべて",
	"state_pending":   "待機中",
	"state_delivered": "配信済み",
	"state_failed":    "失敗",

	"noHooks":        "Webhookはまだありません。",
	"colName":        "名前",
	"colStatus":      "状態",
	"colLatest":      "最新の応答",
	"colFailing":     "失敗し始めた日時",
	"colEvents":      "イベント",
	"colOwner":       "所有者",
	"colHost":        "ホスト",
	"colCreated":     "作成日時",
	"colAttempts":    "試行回数",
	"colError":       "エラー",
	"colTime":        "日時",
	"colDuration":    "所要時間",
	"colResult":      "ステータスまたはエラー",
	"colResponse":    "応答",
	"colRetried":     "再試行",
	"yes":            "はい",
	"no":             "いいえ",
	"noAnswer":       "応答なし",
	"never":          "なし",
	"healthy":        "正常",
	"system":         "システム",
	"createdSecret":  "署名シークレットは今だけ表示されます。Standard Webhooks の署名（webhook-signature ヘッダー）を検証する受信側で必要です。安全な場所に保管してください。",
	"goToHook":       "Webhookへ移動",
	"signingSecret":  "署名シークレット",
	"previousSecret": "以前の署名シークレット（%sまで有効）",
	"noSecret":       "（なし）",
	"secretsTitle":   "シークレット",
	"secretsHelp":    "シークレットは求められた時だけ表示されます。",
	"rotateHelp":     "新しい署名シークレットを作ります。現在のシークレットも%sの間は併せて署名に使われるので、受信側を取りこぼしなく更新できます。",
	"newSigning":     "新しい署名シークレット（今だけ表示されます）:",
	"testTitle":      "テスト送信",
	"testResult":     "テスト結果",
	"testHelp":       "選んだイベントをサンプルの本文で1回送ります。Webhookが無効でも送られます。再試行はされず、ログにも残りません。",
	"testOK":         "受信側はテスト（%[1]s）を受け付けました: %[3]sで%[2]sと応答しました。",
	"testStatus":     "受信側はテスト（%[1]s）を拒否しました: %[3]sで%[2]sと応答しました。",
	"testFailed":     "テスト（%[1]s）は配信できませんでした（%[2]s）: %[3]s。",
	"firstBytes":     "応答の先頭部分",
	"chartTitle":     "直近24時間",
	"chart_label":    "直近24時間に作成された配信（1時間ごと）: 配信済み%d件、待機中%d件、失敗%d件。",
	"chart_bar":      "%s〜%s: 配信済み%d件、待機中%d件、失敗%d件",
	"chartTruncated": "グラフが読み込める件数より多くの配信がありました。最新のものを表示しています。",
	"now":            "現在",
	"logTitle":       "配信ログ",
	"noDeliveries":   "配信はありません。",
	"noHistory":      "このサーバーのストアは配信ログを保存しません。",
	"recoverTitle":   "失敗した配信の再送",
	"recoverHelp":    "選んだ期間に諦められた配信を、新しい試行として再送します（1回に最大%d件）。",
	"dangerTitle":    "削除",
	"deleteLink":     "このWebhookを削除…",
	"deleteConfirm":  "Webhook「%s」を削除しますか？待機中の配信は送られず、配信ログも一緒に削除されます。元に戻せません。",
	"attemptsTitle":  "試行",
	"noAttempts":     "まだ試行していません。",
	"nextAttempt":    "次の試行",
	"eventId":        "イベントID",
	"bodyTitle":      "本文",
	"bodyTruncated":  "本文はもっと長く、これはその先頭です。",
	"redeliverHelp":  "同じイベントIDと本文で、この配信を今すぐ新しい試行として送り直します。",
	"backToHook":     "%sに戻る",
	"pending":        "待機中の配信",
	"oldestDue":      "最も古い配信予定",
	"lag":            "最も古い配信予定の待ち時間",
	"lag_healthy":    "正常",
	"lag_slow":       "遅延",
	"lag_stuck":      "停滞",
	"lag_label":      "最も古い配信予定は%s待っています: %s。",
	"noStats":        "このサーバーのストアはキューの状態を報告しません。",
	"failingTitle":   "失敗しているWebhook",
	"noFailing":      "失敗しているWebhookはありません。",
	"usersHidden":    "システムWebhookのみ表示しています。このサーバーはここでユーザーを一覧しません。",
	"failingHelp":    "最新の試行が失敗しているWebhookです。失敗の長い順に並びます。ユーザーのURLはホストのみ表示します。",
	"signedInAs":     "%sとしてサインイン中",
	"operator":       "管理者",
	"hours":          "%d時間",
	"minutes":        "%d分",
}}

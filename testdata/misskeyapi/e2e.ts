// e2e.ts drives a server speaking Misskey's webhook API with misskey-js's
// own APIClient, unchanged, through every endpoint, errors included, and
// checks each response's shape against misskey-js's types. It is compiled
// with tsc --strict and run by misskeyapi/misskeyjs_test.go, which starts
// the server (MK_ORIGIN) with the accounts below and a receiver
// (MK_RECEIVER) and then checks that the receiver got the test sends.
//
// Accounts: tok-alice (alice), tok-bob (bob), tok-root (an administrator).
// The server allows 2 webhooks per user.
import * as Misskey from 'misskey-js';
import type { entities } from 'misskey-js';

const origin = mustEnv('MK_ORIGIN');
const receiver = mustEnv('MK_RECEIVER');

function mustEnv(name: string): string {
	const v = process.env[name];
	if (v == null || v === '') throw new Error(`${name} is not set`);
	return v;
}

const alice = new Misskey.api.APIClient({ origin, credential: 'tok-alice' });
const bob = new Misskey.api.APIClient({ origin, credential: 'tok-bob' });
const root = new Misskey.api.APIClient({ origin, credential: 'tok-root' });
const anonymous = new Misskey.api.APIClient({ origin });
const stranger = new Misskey.api.APIClient({ origin, credential: 'tok-nobody' });

// A Kind says what a key holds; the shapes below list every key of a
// misskey-js type ("satisfies Record<keyof T, Kind>" makes tsc fail when
// misskey-js has a key the shape lacks, or the shape one misskey-js lacks),
// and check() compares a response with its shape at run time.
type Kind = 'string' | 'number' | 'boolean' | 'array' | 'object'
	| 'string|null' | 'number|null' | 'object|null' | 'optional';

const userWebhookShape = {
	id: 'string', userId: 'string', name: 'string', on: 'array', url: 'string', secret: 'string',
	active: 'boolean', latestSentAt: 'string|null', latestStatus: 'number|null',
} as const satisfies Record<keyof entities.UserWebhook, Kind>;

const systemWebhookShape = {
	id: 'string', isActive: 'boolean', updatedAt: 'string', latestSentAt: 'string|null', latestStatus: 'number|null',
	name: 'string', on: 'array', url: 'string', secret: 'string',
} as const satisfies Record<keyof entities.SystemWebhook, Kind>;

const metaLiteShape = {
	maintainerName: 'string|null', maintainerEmail: 'string|null', version: 'string', providesTarball: 'boolean',
	name: 'string|null', shortName: 'string|null', uri: 'string', description: 'string|null', langs: 'array',
	tosUrl: 'string|null', repositoryUrl: 'string|null', feedbackUrl: 'string|null',
	defaultDarkTheme: 'string|null', defaultLightTheme: 'string|null', clientOptions: 'object',
	disableRegistration: 'boolean', emailRequiredForSignup: 'boolean',
	enableHcaptcha: 'boolean', hcaptchaSiteKey: 'string|null', enableMcaptcha: 'boolean', mcaptchaSiteKey: 'string|null',
	mcaptchaInstanceUrl: 'string|null', enableRecaptcha: 'boolean', recaptchaSiteKey: 'string|null',
	enableTurnstile: 'boolean', turnstileSiteKey: 'string|null', enableTestcaptcha: 'boolean',
	googleAnalyticsMeasurementId: 'string|null', swPublickey: 'string|null', mascotImageUrl: 'string',
	bannerUrl: 'string|null', serverErrorImageUrl: 'string|null', infoImageUrl: 'string|null',
	notFoundImageUrl: 'string|null', iconUrl: 'string|null', maxNoteTextLength: 'number', ads: 'array',
	notesPerOneAd: 'number', enableEmail: 'boolean', enableServiceWorker: 'boolean', translatorAvailable: 'boolean',
	sentryForFrontend: 'object|null', mediaProxy: 'string', enableUrlPreview: 'boolean',
	backgroundImageUrl: 'string|null', impressumUrl: 'string|null', logoImageUrl: 'string|null',
	privacyPolicyUrl: 'string|null', inquiryUrl: 'string|null', serverRules: 'array', themeColor: 'string|null',
	policies: 'object', noteSearchableScope: 'string', maxFileSize: 'number', federation: 'string',
} as const satisfies Record<keyof entities.MetaLite, Kind>;

const metaDetailedShape = {
	...metaLiteShape,
	features: 'optional', proxyAccountName: 'string|null', requireSetup: 'boolean',
	cacheRemoteFiles: 'boolean', cacheRemoteSensitiveFiles: 'boolean',
} as const satisfies Record<keyof entities.MetaDetailed, Kind>;

const rolePoliciesKeys = Misskey.rolePolicies satisfies readonly (keyof entities.RolePolicies)[];

const userLiteShape = {
	id: 'string', name: 'string|null', username: 'string', host: 'string|null', avatarUrl: 'string',
	avatarBlurhash: 'string|null', avatarDecorations: 'array', isBot: 'optional', isCat: 'optional',
	requireSigninToViewContents: 'optional', makeNotesFollowersOnlyBefore: 'optional',
	makeNotesHiddenBefore: 'optional', instance: 'optional', emojis: 'object', onlineStatus: 'string',
	badgeRoles: 'optional',
} as const satisfies Record<keyof entities.UserLite, Kind>;

function kindOf(v: unknown): string {
	if (v === null) return 'null';
	if (Array.isArray(v)) return 'array';
	return typeof v;
}

// check fails unless v has exactly shape's keys (optional ones may be
// missing), each of its kind.
function check(what: string, v: unknown, shape: Record<string, Kind>): void {
	if (kindOf(v) !== 'object') throw new Error(`${what}: not an object: ${JSON.stringify(v)}`);
	const o = v as Record<string, unknown>;
	for (const k of Object.keys(o)) {
		if (!(k in shape)) throw new Error(`${what}: key ${k} is not in misskey-js's type`);
	}
	for (const [k, kind] of Object.entries(shape)) {
		if (kind === 'optional') continue;
		if (!(k in o)) throw new Error(`${what}: misses key ${k}`);
		const got = kindOf(o[k]);
		if (!kind.split('|').includes(got)) throw new Error(`${what}: ${k} is ${got}, misskey-js says ${kind}`);
	}
}

function equal(what: string, got: unknown, want: unknown): void {
	const g = JSON.stringify(got);
	const w = JSON.stringify(want);
	if (g !== w) throw new Error(`${what}: got ${g}, want ${w}`);
}

// fails runs p and requires that it rejects with misskey-js's APIError
// of that code (and id, when given).
async function fails(what: string, p: Promise<unknown>, code: string, id?: string): Promise<Misskey.api.APIError> {
	let res: unknown;
	try {
		res = await p;
	} catch (e) {
		if (!Misskey.api.isAPIError(e as Record<PropertyKey, unknown>)) {
			throw new Error(`${what}: rejected with something not an APIError: ${String(e)}`);
		}
		const err = e as Misskey.api.APIError;
		if (err.code !== code) throw new Error(`${what}: APIError ${err.code} (${err.message}), want ${code}`);
		if (id !== undefined && err.id !== id) throw new Error(`${what}: APIError id ${err.id}, want ${id}`);
		if (typeof err.message !== 'string' || err.message === '') throw new Error(`${what}: APIError without message`);
		console.log(`ok  ${what}: ${err.code}`);
		return err;
	}
	throw new Error(`${what}: succeeded with ${JSON.stringify(res)}, want ${code}`);
}

const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

async function userWebhooks(): Promise<void> {
	const created: entities.UserWebhook = await alice.request('i/webhooks/create', {
		name: 'discord bridge', url: `${receiver}/user`, secret: 's3cret', on: ['note', 'follow'],
	});
	check('i/webhooks/create', created, userWebhookShape);
	equal('create: userId', created.userId, '9alice');
	equal('create: on', created.on, ['note', 'follow']);
	equal('create: active', created.active, true);
	equal('create: latestSentAt', created.latestSentAt, null);
	console.log('ok  i/webhooks/create');

	const list = await alice.request('i/webhooks/list', {});
	if (!Array.isArray(list)) throw new Error('i/webhooks/list: not an array');
	list.forEach((w, i) => check(`i/webhooks/list[${i}]`, w, userWebhookShape));
	equal('i/webhooks/list', list.map(w => w.id), [created.id]);
	equal("bob's list", await bob.request('i/webhooks/list', {}), []);
	console.log('ok  i/webhooks/list');

	const shown = await alice.request('i/webhooks/show', { webhookId: created.id });
	check('i/webhooks/show', shown, userWebhookShape);
	equal('i/webhooks/show', shown, created);
	console.log('ok  i/webhooks/show');

	const updated = await alice.request('i/webhooks/update', {
		webhookId: created.id, name: 'renamed', on: ['note', 'mention', 'reply'], active: true,
	});
	equal('i/webhooks/update answers 204, which misskey-js resolves to null', updated, null);
	const after = await alice.request('i/webhooks/show', { webhookId: created.id });
	equal('update: name', after.name, 'renamed');
	equal('update: on', after.on, ['note', 'mention', 'reply']);
	equal('update: secret kept', after.secret, 's3cret');
	console.log('ok  i/webhooks/update');

	equal('i/webhooks/test', await alice.request('i/webhooks/test', { webhookId: created.id, type: 'note' }), null);
	equal('i/webhooks/test with override', await alice.request('i/webhooks/test', {
		webhookId: created.id, type: 'mention', override: { url: `${receiver}/override`, secret: 'over' },
	}), null);
	console.log('ok  i/webhooks/test');

	// One user never sees, changes, tests or deletes another's webhook.
	await fails("bob shows alice's webhook", bob.request('i/webhooks/show', { webhookId: created.id }),
		'NO_SUCH_WEBHOOK', '50f614d9-3047-4f7e-90d8-ad6b2d5fb098');
	await fails("bob updates alice's webhook", bob.request('i/webhooks/update', { webhookId: created.id, active: false }),
		'NO_SUCH_WEBHOOK', 'fb0fea69-da18-45b1-828d-bd4fd1612518');
	await fails("bob tests alice's webhook", bob.request('i/webhooks/test', { webhookId: created.id, type: 'note' }),
		'NO_SUCH_WEBHOOK', '0c52149c-e913-18f8-5dc7-74870bfe0cf9');
	await fails("bob deletes alice's webhook", bob.request('i/webhooks/delete', { webhookId: created.id }),
		'NO_SUCH_WEBHOOK', 'bae73e5a-5522-4965-ae19-3a8688e71d82');

	// Credentials.
	await fails('no credential', anonymous.request('i/webhooks/list', {}),
		'CREDENTIAL_REQUIRED', '1384574d-a912-4b81-8601-c7b1c4085df1');
	await fails('unknown token', stranger.request('i/webhooks/list', {}),
		'AUTHENTICATION_FAILED', 'b0a7f5f8-dc2f-4171-b91f-de88ad238e14');
	await fails('token passed per request', alice.request('i/webhooks/list', {}, 'tok-nobody'),
		'AUTHENTICATION_FAILED', 'b0a7f5f8-dc2f-4171-b91f-de88ad238e14');

	// Parameters, checked as Misskey's schema does.
	const bad = await fails('name too long', alice.request('i/webhooks/create', {
		name: 'x'.repeat(101), url: `${receiver}/user`, on: ['note'],
	}), 'INVALID_PARAM', '3d81ceae-475f-4600-b2a8-2bc116157532');
	equal('INVALID_PARAM info', bad.info, { param: '#/properties/name/maxLength', reason: 'must NOT have more than 100 characters' });
	// @ts-expect-error: misskey-js's types refuse a system event on a user webhook; the server must too.
	const wrongKind = alice.request('i/webhooks/create', { name: 'x', url: `${receiver}/user`, on: ['abuseReport'] });
	await fails('a system event on a user webhook', wrongKind, 'INVALID_PARAM');

	// The per-user limit (2 on this server).
	const second = await alice.request('i/webhooks/create', { name: 'second', url: `${receiver}/user`, on: [] });
	check('second webhook', second, userWebhookShape);
	equal('secret defaults to empty', second.secret, '');
	await fails('third webhook', alice.request('i/webhooks/create', { name: 'third', url: `${receiver}/user`, on: [] }),
		'TOO_MANY_WEBHOOKS', '87a9bb19-111e-4e37-81d3-a3e7426453b0');

	equal('i/webhooks/delete', await alice.request('i/webhooks/delete', { webhookId: second.id }), null);
	await fails('deleted webhook', alice.request('i/webhooks/show', { webhookId: second.id }), 'NO_SUCH_WEBHOOK');
	console.log('ok  i/webhooks/delete');
}

async function systemWebhooks(): Promise<void> {
	await fails('alice creates a system webhook', alice.request('admin/system-webhook/create', {
		isActive: true, name: 'x', on: ['abuseReport'], url: `${receiver}/system`,
	}), 'ROLE_PERMISSION_DENIED', 'd33d5333-db36-423d-a8f9-1a2b9549da41');
	await fails('anonymous lists system webhooks', anonymous.request('admin/system-webhook/list', {}), 'CREDENTIAL_REQUIRED');

	const created: entities.SystemWebhook = await root.request('admin/system-webhook/create', {
		isActive: true, name: 'moderators', on: ['abuseReport', 'userCreated'], url: `${receiver}/system`, secret: 'sys',
	});
	check('admin/system-webhook/create', created, systemWebhookShape);
	if (!isoDate.test(created.updatedAt)) throw new Error(`updatedAt ${created.updatedAt} is not toISOString's`);
	console.log('ok  admin/system-webhook/create');

	const list = await root.request('admin/system-webhook/list', {});
	list.forEach((w, i) => check(`admin/system-webhook/list[${i}]`, w, systemWebhookShape));
	equal('admin/system-webhook/list', list.map(w => w.id), [created.id]);
	equal('list filtered by on', await root.request('admin/system-webhook/list', { on: ['inactiveModeratorsWarning'] }), []);
	console.log('ok  admin/system-webhook/list');

	const shown = await root.request('admin/system-webhook/show', { id: created.id });
	check('admin/system-webhook/show', shown, systemWebhookShape);
	equal('admin/system-webhook/show', shown, created);
	await fails('show a user id', root.request('admin/system-webhook/show', { id: 'nosuchid' }),
		'NO_SUCH_SYSTEM_WEBHOOK', '38dd1ffe-04b4-6ff5-d8ba-4e6a6ae22c9d');
	console.log('ok  admin/system-webhook/show');

	const updated = await root.request('admin/system-webhook/update', {
		id: created.id, isActive: true, name: 'mods', on: ['abuseReport'], url: `${receiver}/system`, secret: 'sys',
	});
	check('admin/system-webhook/update', updated, systemWebhookShape);
	equal('update: name', updated.name, 'mods');
	equal('update: on', updated.on, ['abuseReport']);
	console.log('ok  admin/system-webhook/update');

	equal('admin/system-webhook/test', await root.request('admin/system-webhook/test', {
		webhookId: created.id, type: 'abuseReport',
	}), null);
	await fails('system test of an unknown webhook', root.request('admin/system-webhook/test', {
		webhookId: 'nosuchid', type: 'abuseReport',
	}), 'NO_SUCH_WEBHOOK', '0c52149c-e913-18f8-5dc7-74870bfe0cf9');
	console.log('ok  admin/system-webhook/test');

	// A second one to delete, so the first stays for the receiver's check.
	const extra = await root.request('admin/system-webhook/create', {
		isActive: false, name: 'extra', on: [], url: `${receiver}/system`,
	});
	equal('admin/system-webhook/delete', await root.request('admin/system-webhook/delete', { id: extra.id }), null);
	await fails('deleted system webhook', root.request('admin/system-webhook/show', { id: extra.id }), 'NO_SUCH_SYSTEM_WEBHOOK');
	console.log('ok  admin/system-webhook/delete');
}

async function callbacks(): Promise<void> {
	// What a Discord bridge does on every event: read the server's name,
	// icon and URI from meta, without a credential.
	const meta = await anonymous.request('meta', { detail: true });
	check('meta', meta, metaDetailedShape);
	const policies = (meta as entities.MetaDetailed).policies;
	for (const k of rolePoliciesKeys) {
		if (!(k in policies)) throw new Error(`meta: policies misses ${k}`);
	}
	equal('meta.policies.webhookLimit', policies.webhookLimit, 2);
	if (meta.uri !== origin) throw new Error(`meta.uri ${meta.uri}, want ${origin}`);
	const lite = await anonymous.request('meta', { detail: false });
	check('meta (lite)', lite, metaLiteShape);
	console.log(`ok  meta: ${meta.name} ${meta.uri} ${meta.iconUrl} ${meta.version}`);

	// What it does for abuse reports: look the users up.
	const user = await anonymous.request('users/show', { userId: '9alice' });
	if (Array.isArray(user) || user.username !== 'alice') throw new Error(`users/show: ${JSON.stringify(user)}`);
	if (!('createdAt' in user) || !isoDate.test(user.createdAt)) throw new Error('users/show: not a UserDetailed');
	const byName = await anonymous.request('users/show', { username: 'ALICE', detailed: false });
	check('users/show (lite)', byName, userLiteShape);
	await fails('users/show of nobody', anonymous.request('users/show', { userId: '9nobody' }),
		'NO_SUCH_USER', '4362f8dc-731f-4ad8-a694-be5a88922a24');
	console.log('ok  users/show');
}

// Self-checks: check() must refuse a key misskey-js lacks, a missing key
// and a value of the wrong kind, or the checks above prove nothing.
function refuses(what: string, f: () => void): void {
	try {
		f();
	} catch {
		return;
	}
	throw new Error(`self-check: check() accepted ${what}`);
}
const sample = {
	id: 'a', userId: 'u', name: 'n', on: [], url: 'u', secret: '', active: true, latestSentAt: null, latestStatus: null,
};
check('self-check sample', sample, userWebhookShape);
refuses('an extra key', () => check('extra', { ...sample, signingSecret: 'x' }, userWebhookShape));
const { latestStatus: _dropped, ...missing } = sample;
refuses('a missing key', () => check('missing', missing, userWebhookShape));
refuses('a wrong kind', () => check('kind', { ...sample, active: 'yes' }, userWebhookShape));

await userWebhooks();
await systemWebhooks();
await callbacks();
console.log('PASS');

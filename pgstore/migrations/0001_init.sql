-- The webhook registry, and the delivery queue with its history.
--
-- ${s} is replaced by the quoted schema and a dot ("fedihook".), or by
-- nothing when the tables live in the first schema of the search_path.

CREATE TABLE ${s}fedihook_hooks (
	id             text PRIMARY KEY,
	user_id        text NOT NULL, -- '' for system webhooks
	name           text NOT NULL,
	events         text[] NOT NULL, -- in the order given
	url            text NOT NULL,
	secret         text NOT NULL,
	active         boolean NOT NULL,
	signing_secret text NOT NULL DEFAULT '',
	-- PreviousSigningSecrets, as two arrays of one length.
	previous_secrets text[] NOT NULL DEFAULT '{}',
	previous_expires timestamptz[] NOT NULL DEFAULT '{}',
	-- The latest attempt as of the deliveries pruned so far: Settle
	-- records each attempt in its delivery's row only, so that busy
	-- webhooks are not one hot row; a webhook's latest attempt is the
	-- newer of these and its deliveries' latest.
	latest_sent_at timestamptz,
	latest_status  integer,
	created_at     timestamptz NOT NULL DEFAULT now()
);

-- ListHooks, the per-user limit, and MatchHooks ("active hooks of user U
-- subscribed to E" reads the few rows of one user).
CREATE INDEX fedihook_hooks_user_idx ON ${s}fedihook_hooks (user_id, id);

CREATE TABLE ${s}fedihook_deliveries (
	id              uuid PRIMARY KEY, -- the payload's eventId
	hook_id         text NOT NULL REFERENCES ${s}fedihook_hooks (id) ON DELETE CASCADE,
	user_id         text NOT NULL,
	type            text NOT NULL,
	server          text NOT NULL,
	created_at      timestamptz NOT NULL,
	body            bytea NOT NULL,
	state           smallint NOT NULL CHECK (state IN (1, 2, 3)), -- pending, delivered, failed
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	-- When the row may next be claimed: next_attempt_at while it is not
	-- leased, the lease's expiry while it is.
	available_at    timestamptz NOT NULL,
	lease           bigint NOT NULL DEFAULT 0, -- claims so far; the latest claim's lease
	leased          boolean NOT NULL DEFAULT false,
	last_attempt_at timestamptz, -- when the latest attempt started
	last_status     integer NOT NULL DEFAULT 0,
	last_error      text NOT NULL DEFAULT '',
	finished_at     timestamptz -- set when state leaves pending
);

-- Claim: the next due, unleased (or expired) pending deliveries.
CREATE INDEX fedihook_deliveries_due_idx ON ${s}fedihook_deliveries (available_at) WHERE state = 1;
-- A webhook's latest attempt (see fedihook_hooks.latest_*), and
-- DeleteHook's cascade.
CREATE INDEX fedihook_deliveries_hook_idx ON ${s}fedihook_deliveries (hook_id, last_attempt_at);
-- Prune.
CREATE INDEX fedihook_deliveries_finished_idx ON ${s}fedihook_deliveries (finished_at) WHERE state <> 1;

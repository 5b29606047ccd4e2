-- Version 2: Standard Webhooks signing secrets (Webhook.SigningSecret and
-- Webhook.PreviousSigningSecrets). The previous secrets are a JSON array of
-- {"secret", "expires"} objects, '' when there are none.
ALTER TABLE webhook_hooks ADD COLUMN signing_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE webhook_hooks ADD COLUMN previous_signing_secrets TEXT NOT NULL DEFAULT '';

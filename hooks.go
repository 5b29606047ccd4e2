package webhook

import "context"

// CreateHook validates w, gives it an ID if it has none, and adds it,
// enforcing Config.MaxWebhooksPerUser for user webhooks. Active is taken
// as given: set it to true for a webhook that should receive deliveries
// (Misskey's default). It returns the stored webhook.
func (d *Dispatcher) CreateHook(ctx context.Context, w *Webhook) (*Webhook, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	if w == nil {
		return nil, invalidf("CreateHook needs a Webhook, got nil")
	}
	c := w.Clone()
	if c.ID == "" {
		c.ID = NewID(d.clock.Now())
	}
	c.LatestSentAt, c.LatestStatus = nil, nil
	if err := c.Validate(); err != nil {
		return nil, err
	}
	limit := d.cfg.MaxWebhooksPerUser
	if c.IsSystem() {
		limit = 0
	}
	if err := d.store.CreateHook(ctx, c, limit); err != nil {
		return nil, err
	}
	return c, nil
}

// UpdateHook validates w and replaces the Name, On, URL, Secret, Active,
// SigningSecret and PreviousSigningSecrets of the webhook with w's ID. Its
// owner cannot change.
func (d *Dispatcher) UpdateHook(ctx context.Context, w *Webhook) error {
	if err := d.ready(); err != nil {
		return err
	}
	if w == nil {
		return invalidf("UpdateHook needs a Webhook, got nil")
	}
	if err := validateID("Webhook.ID", w.ID, false); err != nil {
		return err
	}
	old, err := d.store.GetHook(ctx, w.ID)
	if err != nil {
		return err
	}
	c := w.Clone()
	c.UserID = old.UserID
	if err := c.Validate(); err != nil {
		return err
	}
	return d.store.UpdateHook(ctx, c)
}

// GetHook returns the webhook with the given ID, or an error matching
// ErrNotFound.
func (d *Dispatcher) GetHook(ctx context.Context, id string) (*Webhook, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	return d.store.GetHook(ctx, id)
}

// ListHooks returns userID's webhooks ("" for the system webhooks).
func (d *Dispatcher) ListHooks(ctx context.Context, userID string) ([]*Webhook, error) {
	if err := d.ready(); err != nil {
		return nil, err
	}
	return d.store.ListHooks(ctx, userID)
}

// DeleteHook removes a webhook and its pending deliveries.
func (d *Dispatcher) DeleteHook(ctx context.Context, id string) error {
	if err := d.ready(); err != nil {
		return err
	}
	return d.store.DeleteHook(ctx, id)
}

package sync

import (
	"context"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/tenant"
)

// statusCache answers "where is this action's build?" for many waiting
// actions at once: when more actions wait than a full listing has pages, one
// paged listing serves them all, at most once per poll interval; otherwise
// each reads its own action. A first sync of 200 actions so costs a few
// listings a round instead of 200 reads.
type statusCache struct {
	r       *run
	mu      gosync.Mutex
	waiting int
	at      time.Time
	byID    map[string]*tenant.Action
	pages   int // of the last listing
}

func newStatusCache(r *run) *statusCache {
	return &statusCache{r: r, pages: 1}
}

func (c *statusCache) enter() { c.mu.Lock(); c.waiting++; c.mu.Unlock() }
func (c *statusCache) leave() { c.mu.Lock(); c.waiting--; c.mu.Unlock() }

// status returns the action's draft status and deployed version as seen
// after since (the action's last write): a listing older than that says
// nothing of the new draft, so the answer is "pending" until a newer one.
func (c *statusCache) status(ctx context.Context, id string, since time.Time) (*tenant.Action, error) {
	c.mu.Lock()
	batch := c.waiting > c.pages
	if batch && time.Since(c.at) >= c.r.opts.Poll {
		if err := c.refresh(ctx); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	a, ok := c.byID[id]
	stale := c.at.Before(since)
	c.mu.Unlock()
	if batch && ok && stale {
		return &tenant.Action{ID: id, Status: tenant.StatusPending}, nil
	}
	if !batch || !ok || a.Status == tenant.StatusFailed {
		return c.r.reader.Action(ctx, id) // one read, with a failed build's errors
	}
	return a, nil
}

// refresh lists every action; callers hold c.mu.
func (c *statusCache) refresh(ctx context.Context) error {
	actions, err := c.r.reader.Scan(ctx)
	if err != nil {
		return err
	}
	byID := make(map[string]*tenant.Action, len(actions))
	for _, a := range actions {
		byID[a.ID] = a
	}
	c.byID, c.pages, c.at = byID, max(1, (len(actions)+live.PageSize-1)/live.PageSize), time.Now()
	return nil
}

package sync

import (
	"context"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/live"
)

// statusCache answers "where is this action's build?" for many waiting
// actions at once: when more actions wait than a full listing has pages, one
// paged List serves them all, at most once per poll interval; otherwise each
// reads its own action. A first sync of 200 actions so costs a few listings
// a round instead of 200 reads.
type statusCache struct {
	e       *Engine
	mu      gosync.Mutex
	waiting int
	at      time.Time
	byID    map[string]*draftState
	pages   int // of the last listing
}

func newStatusCache(e *Engine) *statusCache {
	return &statusCache{e: e, pages: 1}
}

func (c *statusCache) enter() { c.mu.Lock(); c.waiting++; c.mu.Unlock() }
func (c *statusCache) leave() { c.mu.Lock(); c.waiting--; c.mu.Unlock() }

// status returns the action's draft status and deployed version as seen
// after since (the action's last write): a listing older than that says
// nothing of the new draft, so the answer is "pending" until a newer one.
func (c *statusCache) status(ctx context.Context, id string, since time.Time) (*draftState, error) {
	c.mu.Lock()
	batch := c.waiting > c.pages
	if batch && time.Since(c.at) >= c.e.opts.Poll {
		if err := c.refresh(ctx); err != nil {
			c.mu.Unlock()
			return nil, err
		}
	}
	d, ok := c.byID[id]
	stale := c.at.Before(since)
	c.mu.Unlock()
	if batch && ok && stale {
		return &draftState{Status: "pending"}, nil
	}
	if !batch || !ok || d.Status == "failed" {
		return c.e.readDraft(ctx, id) // one read, with a failed build's errors
	}
	return d, nil
}

// refresh lists every action; callers hold c.mu.
func (c *statusCache) refresh(ctx context.Context) error {
	actions, pages, err := live.ListActions(ctx, c.e.api, nil)
	if err != nil {
		return err
	}
	byID := make(map[string]*draftState, len(actions))
	for _, a := range actions {
		d := &draftState{Status: a.Status}
		if a.Deployed != nil {
			d.Deployed = &versionRef{ID: a.Deployed.ID}
		}
		byID[a.ID] = d
	}
	c.byID, c.pages, c.at = byID, pages, time.Now()
	return nil
}

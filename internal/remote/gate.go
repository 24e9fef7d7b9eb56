package remote

import (
	"context"
	"runtime"
	gosync "sync"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/node"
)

// Gate is a tested deploy's check (sync.Gate): it runs cases on the
// tenant's built drafts, at most Parallel at once (0: one per CPU) over
// all its calls, so that a hundred actions tested together do not send a
// hundred tests at once. Do not copy it after first use.
type Gate struct {
	API      API
	Parallel int

	once  gosync.Once
	slots chan struct{}
}

// Test runs cases on the drafts ids names, by action, and reports how each
// ended; a case that sets secrets is skipped (Runner.Skip).
func (g *Gate) Test(ctx context.Context, cases *actiontest.Suite, ids map[string]string) *actiontest.Report {
	g.once.Do(func() {
		n := g.Parallel
		if n <= 0 {
			n = runtime.GOMAXPROCS(0)
		}
		g.slots = make(chan struct{}, n)
	})
	r := bounded{Runner: &Runner{API: g.API, ID: IDs(ids)}, slots: g.slots}
	return cases.Run(ctx, r, actiontest.RunOptions{Parallel: g.Parallel})
}

// bounded is a Runner that holds one of the gate's slots while it runs.
type bounded struct {
	*Runner
	slots chan struct{}
}

func (b bounded) Run(ctx context.Context, event map[string]any, actions ...node.Action) (*node.Result, error) {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-b.slots }()
	return b.Runner.Run(ctx, event, actions...)
}

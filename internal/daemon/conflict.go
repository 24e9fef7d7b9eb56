package daemon

import (
	"fmt"
	"slices"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/sync"
)

// conflictRounds is how many times this daemon's writes must be found
// undone by another writer, while it follows one commit, before it stops
// writing.
const conflictRounds = 3

// conflict watches for another writer undoing this daemon's writes: a
// second actionsync of the same owner following another commit (a stale
// replica, a second deployment, a CI job on a branch). Each undoes the
// other on every drift check, for ever; so when the actions this daemon
// wrote are found rewritten from another commit conflictRounds times while
// it follows one commit (a reconcile that finds nothing undone does not
// reset the count: the other writer may check less often), it stops writing
// and says which commit each holds. The other writer, no longer undone, goes
// on. A new commit of its own, or a resume, lets it write again. A change in
// the dashboard keeps the stamp it found, so it is drift, not a conflict.
type conflict struct {
	rev     string          // the commit this daemon last applied
	wrote   map[string]bool // the actions it wrote then
	rounds  int             // reconciles that found them undone
	other   string          // the commit that undid them, last seen
	stopped bool
}

// observe looks at a plan before it is applied and reports whether this
// daemon should stop writing, and the commit of the other writer.
func (c *conflict) observe(p *sync.Plan) (undoneBy string, stop bool) {
	if p.Revision != c.rev {
		*c = conflict{}
		return "", false
	}
	for _, s := range p.Changes.Steps {
		if !c.wrote[s.Action] {
			continue
		}
		if st, ok := p.Provenance(s.Action); ok && st.Owner == p.Owner && st.Commit != "" && st.Commit != p.Revision {
			undoneBy = st.Commit
		}
	}
	if undoneBy == "" {
		return "", c.stopped
	}
	c.rounds, c.other = c.rounds+1, undoneBy
	c.stopped = c.stopped || c.rounds >= conflictRounds
	return undoneBy, c.stopped
}

// applied records what an apply wrote.
func (c *conflict) applied(p *sync.Plan, res *sync.Result) {
	if c.rev != p.Revision {
		c.rev, c.wrote = p.Revision, map[string]bool{}
	}
	for _, r := range res.Applied {
		if r.Err == nil && !slices.Contains([]diff.Kind{diff.Bind, diff.Delete}, r.Kind) {
			c.wrote[r.Subject] = true
		}
	}
}

func (c *conflict) String() string {
	return fmt.Sprintf("another writer keeps undoing this daemon's writes: it holds commit %s, this daemon holds %s; writing stopped until a new commit or a resume (SIGUSR1)", c.other, c.rev)
}

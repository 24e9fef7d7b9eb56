package sync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/tenant"
	"github.com/auth0/go-auth0/management"
)

// Bounds of the time between two looks at the tenant while builds run.
const (
	maxGap     = 30 * time.Second
	gapGrowth  = 1.5
	gapOfBuild = 10 // the shortest gap is a tenth of the typical build
)

// watcher answers every wait of one round ("is this draft built?", "is
// this version deployed?") with one listing of the tenant a round, so that
// a hundred waits cost what one does. Rounds follow the builds: a build
// this engine started is first looked at once the typical build time seen
// so far has passed since its write; before any build is seen done, and
// after a look that finds one not done, the gap grows by half each round.
// The listing is a read, and the transport lets writes go first.
type watcher struct {
	r    *run
	kick chan struct{} // 1 slot: a new wait, look at the schedule again
	done chan struct{} // closed when loop returns

	mu    gosync.Mutex
	waits []*wait
	last  time.Time // the start of the last round
}

// wait is one waiter's question, asked of each listing that started after
// its write was answered (since): an older listing says nothing of it.
type wait struct {
	id       string
	since    time.Time
	build    bool // a build this engine started: its time is learnt
	deadline time.Time
	// check answers from the action as listed: done, or an error that ends
	// the wait, or neither (look again).
	check  func(*tenant.Action) (bool, error)
	result chan error // 1 slot

	// The schedule, guarded by watcher.mu: the next look, the gap after a
	// look that finds it not done, and whether the schedule follows the
	// typical build time yet.
	due   time.Time
	gap   time.Duration
	tuned bool
}

func newWatcher(r *run) *watcher {
	return &watcher{r: r, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// await waits until check says done, fails, or the build timeout passes.
func (w *watcher) await(ctx context.Context, id string, since time.Time, build bool, check func(*tenant.Action) (bool, error)) error {
	wt := &wait{id: id, since: since, build: build, check: check, deadline: since.Add(w.r.opts.BuildTimeout), result: make(chan error, 1)}
	w.add(wt)
	select {
	case err := <-wt.result:
		return err
	case <-ctx.Done():
		w.remove(wt)
		return ctx.Err()
	}
}

func (w *watcher) add(wt *wait) {
	w.mu.Lock()
	est, known := w.r.times.typical()
	minGap := w.minGap()
	switch {
	case wt.build && known:
		wt.due, wt.gap, wt.tuned = wt.since.Add(est), minGap, true
	case len(w.waits) > 0:
		// Join the others' schedule: one listing serves them all.
		first := slices.MinFunc(w.waits, func(a, b *wait) int { return a.due.Compare(b.due) })
		wt.due, wt.gap = first.due, first.gap
	default:
		wt.due, wt.gap = wt.since.Add(minGap), minGap
	}
	w.waits = append(w.waits, wt)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *watcher) remove(wt *wait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = slices.DeleteFunc(w.waits, func(x *wait) bool { return x == wt })
}

// minGap is the shortest time between two rounds: a tenth of the typical
// build, and never less than Options.Poll.
func (w *watcher) minGap() time.Duration {
	est, known := w.r.times.typical()
	if !known {
		return w.r.opts.Poll
	}
	return min(max(w.r.opts.Poll, est/gapOfBuild), maxGap)
}

// loop runs rounds until ctx ends.
func (w *watcher) loop(ctx context.Context) {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next, ok := w.next()
		if ok {
			timer.Reset(time.Until(next))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
			continue
		case <-timer.C:
		}
		w.round(ctx)
	}
}

// next is the time of the next round: the earliest look due, but a
// shortest gap after the last round.
func (w *watcher) next() (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.waits) == 0 {
		return time.Time{}, false
	}
	first := slices.MinFunc(w.waits, func(a, b *wait) int { return a.due.Compare(b.due) })
	return later(first.due, w.last.Add(w.minGap())), true
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// round lists the tenant once and answers every wait whose write the
// listing can see.
func (w *watcher) round(ctx context.Context) {
	start := time.Now()
	var listed []*tenant.Action
	err := w.r.call(ctx, func() (err error) { listed, err = w.r.reader.Scan(ctx); return err })
	if ctx.Err() != nil {
		return
	}
	byID := make(map[string]*tenant.Action, len(listed))
	for _, a := range listed {
		byID[a.ID] = a
	}
	w.mu.Lock()
	waits := slices.Clone(w.waits)
	w.last = start
	w.mu.Unlock()
	var settled []*wait
	for _, wt := range waits {
		if !wt.since.Before(start) {
			continue
		}
		done, werr := w.answer(ctx, wt, byID[wt.id], err)
		switch {
		case werr != nil:
			wt.result <- werr
		case done:
			if wt.build {
				w.r.times.add(start.Sub(wt.since))
			}
			wt.result <- nil
		case start.After(wt.deadline):
			wt.result <- errTimeout(w.r.opts.BuildTimeout)
		default:
			continue
		}
		settled = append(settled, wt)
	}
	w.reschedule(start, settled)
}

// answer asks wt's question of the action as listed, reading the action
// alone where the listing cannot say: it is missing (created or deleted
// while the listing paged), or its build failed (the errors are read with
// the action).
func (w *watcher) answer(ctx context.Context, wt *wait, a *tenant.Action, listErr error) (bool, error) {
	if listErr != nil {
		return false, fmt.Errorf("list actions: %w", listErr)
	}
	if a != nil && a.Status != tenant.StatusFailed {
		return wt.check(a)
	}
	err := w.r.call(ctx, func() (err error) { a, err = w.r.reader.Action(ctx, wt.id); return err })
	var me management.Error
	switch {
	case errors.As(err, &me) && me.Status() == http.StatusNotFound:
		return false, stale("action %s was deleted by another writer", wt.id)
	case err != nil:
		return false, err
	}
	return wt.check(a)
}

// reschedule drops the settled waits and sets the next look of the others
// that the round saw: a build, once a typical build time is known, at that
// time after its write; any other wait that was due, a gap later, the gap
// growing.
func (w *watcher) reschedule(start time.Time, settled []*wait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.waits = slices.DeleteFunc(w.waits, func(x *wait) bool { return slices.Contains(settled, x) })
	est, known := w.r.times.typical()
	minGap := w.minGap()
	for _, wt := range w.waits {
		switch {
		case !wt.since.Before(start):
		case wt.build && known && !wt.tuned:
			wt.due, wt.gap, wt.tuned = later(wt.since.Add(est), start.Add(minGap)), minGap, true
		case !wt.due.After(start):
			wt.due = start.Add(wt.gap)
			wt.gap = min(time.Duration(float64(wt.gap)*gapGrowth), maxGap)
		}
	}
}

// buildTimes keeps the build times an engine has seen, across its runs,
// so that the daemon's next commit starts with what the last one learnt.
type buildTimes struct {
	mu   gosync.Mutex
	seen []time.Duration // the latest, at most keepTimes
}

const keepTimes = 32

func (b *buildTimes) add(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seen = append(b.seen, d)
	if len(b.seen) > keepTimes {
		b.seen = b.seen[len(b.seen)-keepTimes:]
	}
}

// typical is the median build time seen, as measured from the write's
// answer to the first listing that showed the build done.
func (b *buildTimes) typical() (time.Duration, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.seen) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(b.seen))
	return s[len(s)/2], true
}

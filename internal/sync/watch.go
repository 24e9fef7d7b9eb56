package sync

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	gosync "sync"
	"time"

	"github.com/actionsync/actionsync/internal/tenant"
)

// Bounds of the time between two looks at the tenant while builds run.
const (
	maxGap     = 30 * time.Second
	gapGrowth  = 1.5
	gapOfBuild = 10 // the shortest gap is a tenth of the typical build
)

// watcher answers every wait of one round ("is this draft built?", "is
// this version deployed?") with one listing of the tenant a round, so that
// a hundred waits cost what one does. Rounds follow the builds: once a
// typical build time is known, a build is first looked at that long after
// its write, then a gap later, the gap growing by half each time. Before
// any build is seen done, the builds wait together on one schedule that
// backs off the same way. The listing is a read, and the transport lets
// writes go first.
type watcher struct {
	r    *run
	kick chan struct{} // 1 slot: a new wait, look at the schedule again
	done chan struct{} // closed when loop returns

	mu    gosync.Mutex
	waits []*wait
	last  time.Time // the end of the last round
	// The schedule of the builds that wait with no typical time known.
	cohortDue time.Time
	cohortGap time.Duration
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

	// The schedule, guarded by watcher.mu: tuned waits have their own next
	// look and gap; the others follow the cohort's.
	tuned bool
	due   time.Time
	gap   time.Duration
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
	switch {
	case !wt.build:
		// A deploy to confirm: soon.
		wt.tuned, wt.due, wt.gap = true, wt.since.Add(w.minGap()), w.minGap()
	case known:
		wt.tuned, wt.due, wt.gap = true, wt.since.Add(est), w.minGap()
	case !slices.ContainsFunc(w.waits, func(x *wait) bool { return !x.tuned }):
		w.cohortDue, w.cohortGap = wt.since.Add(w.r.opts.Poll), w.r.opts.Poll
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
	var first time.Time
	for _, wt := range w.waits {
		due := wt.due
		if !wt.tuned {
			due = w.cohortDue
		}
		if first.IsZero() || due.Before(first) {
			first = due
		}
	}
	return later(first, w.last.Add(w.minGap())), !first.IsZero()
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
	var start time.Time
	var listed []*tenant.Action
	err := w.r.call(ctx, func() (err error) {
		start = time.Now()
		listed, err = w.r.reader.Scan(ctx)
		return err
	})
	if ctx.Err() != nil {
		return
	}
	end := time.Now()
	byID := make(map[string]*tenant.Action, len(listed))
	for _, a := range listed {
		byID[a.ID] = a
	}
	w.mu.Lock()
	waits := slices.Clone(w.waits)
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
				// From the write's answer to the end of the listing that
				// showed it: a bound from above, never an early look.
				w.r.times.add(end.Sub(wt.since))
			}
			wt.result <- nil
		case start.After(wt.deadline):
			wt.result <- errTimeout(w.r.opts.BuildTimeout)
		default:
			continue
		}
		settled = append(settled, wt)
	}
	w.reschedule(start, end, settled)
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
	switch {
	case isStatus(err, http.StatusNotFound):
		return false, stale("action %s was deleted by another writer", wt.id)
	case err != nil:
		return false, err
	}
	return wt.check(a)
}

// reschedule drops the settled waits and sets the next looks: once a
// typical build time is known, each build not yet tuned to it is looked at
// that long after its write; a tuned wait the round found not done, and
// the cohort, a gap later, the gap growing.
func (w *watcher) reschedule(start, end time.Time, settled []*wait) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.last = end
	w.waits = slices.DeleteFunc(w.waits, func(x *wait) bool { return slices.Contains(settled, x) })
	est, known := w.r.times.typical()
	minGap := w.minGap()
	cohortDue := !w.cohortDue.After(start)
	for _, wt := range w.waits {
		switch {
		case !wt.tuned && known:
			wt.tuned, wt.due, wt.gap = true, later(wt.since.Add(est), end.Add(minGap)), minGap
		case wt.tuned && wt.since.Before(start) && !wt.due.After(start):
			wt.due, wt.gap = end.Add(wt.gap), grow(wt.gap)
		}
	}
	if cohortDue {
		w.cohortDue, w.cohortGap = end.Add(w.cohortGap), grow(w.cohortGap)
	}
}

func grow(gap time.Duration) time.Duration {
	return min(time.Duration(float64(gap)*gapGrowth), maxGap)
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

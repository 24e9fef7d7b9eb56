package daemon_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"github.com/actionsync/actionsync/internal/stamp"
)

// TestConflictStopsWriting: two daemons of one owner follow two commits
// into one tenant, each undoing the other on every drift check. The first
// to find its writes undone three times in a row stops writing and says, in
// /readyz and a metric, which commit each holds; the other, no longer
// undone, goes on; the tenant settles. A resume lets the stopped one write
// again.
func TestConflictStopsWriting(t *testing.T) {
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: 10 * time.Millisecond, Node: "-"})
	oa, ob := newOrigin(t), newOrigin(t)
	ca, cb := oa.commit(actionFiles(codeA)), ob.commit(actionFiles(codeB))
	oa.push()
	ob.push()
	a := startOn(t, srv, oa, time.Hour, 100*time.Millisecond, 10*time.Millisecond)
	waitFor(t, "the first daemon's commit live", func() bool { return stamp.Body(deployedCode(srv.API)) == codeA })
	b := startOn(t, srv, ob, time.Hour, 100*time.Millisecond, 10*time.Millisecond)

	var stopped, other *harness
	waitFor(t, "one daemon stopped by the conflict", func() bool {
		for _, h := range []*harness{a, b} {
			if code, body := h.get("/readyz"); code == 503 && strings.Contains(body, "another writer keeps undoing") {
				stopped = h
			}
		}
		return stopped != nil
	})
	holds, otherCommit := ca.String(), cb.String()
	other = b
	if stopped == b {
		holds, otherCommit, other = cb.String(), ca.String(), a
	}
	_, body := stopped.get("/readyz")
	if !strings.Contains(body, "it holds commit "+otherCommit) || !strings.Contains(body, "this daemon holds "+holds) {
		t.Errorf("/readyz = %q, want both commits named", body)
	}
	if m := stopped.metric(`actionsync_conflict{commit="` + holds + `",other_commit="` + otherCommit + `"} 1`); m == "" {
		t.Errorf("no conflict metric on the stopped daemon")
	}
	if m := other.metric(`actionsync_writes_undone_total{other_commit="` + holds + `"}`); m == "" {
		t.Errorf("the other daemon counted no undone writes")
	}

	// The tenant settles: a few drift checks of both make no write. (Both
	// may stop, if a failed apply made the other count an undo twice; then
	// the tenant keeps what was written last.)
	want := codeB
	if other == a {
		want = codeA
	}
	if code, _ := other.get("/readyz"); code == 200 {
		waitFor(t, "the tenant on the other's commit", func() bool { return stamp.Body(deployedCode(srv.API)) == want })
	}
	srv.ResetRequests()
	n0, m0 := reconciles(t, stopped), reconciles(t, other)
	waitFor(t, "five drift checks of each daemon", func() bool {
		return reconciles(t, stopped) >= n0+5 && reconciles(t, other) >= m0+5
	})
	if w := writeRoutes(srv); len(w) != 0 {
		t.Errorf("writes after the conflict settled: %q", w)
	}

	stopped.d.Resume()
	waitFor(t, "the resumed daemon ready again", func() bool {
		_, body := stopped.get("/readyz")
		return !strings.Contains(body, "another writer")
	})
}

// reconciles is the daemon's count of successful reconciles.
func reconciles(t *testing.T, h *harness) int {
	t.Helper()
	line := h.metric(`actionsync_reconcile_total{result="success"}`)
	n, _ := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
	return n
}

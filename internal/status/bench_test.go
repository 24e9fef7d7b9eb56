package status_test

import (
	"fmt"
	"testing"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/status"
)

// BenchmarkLookBack200: the tenant runs the oldest of 200 commits of a
// repo of 20 actions, so a status loads and compares every commit to name
// it: the longest look back there is.
func BenchmarkLookBack200(b *testing.B) {
	f := newFixture(b)
	repo := map[string]string{"triggers.yaml": "post-login: []\n"}
	for i := range 20 {
		repo[fmt.Sprintf("actions/a%02d/action.yaml", i)] = "trigger:\n  id: post-login\n"
		repo[fmt.Sprintf("actions/a%02d/index.js", i)] = code(fmt.Sprint("a", i))
	}
	oldest := f.repo.Commit(repo)
	f.sync()
	for i := range 199 {
		f.repo.Commit(map[string]string{"actions/a00/index.js": code(fmt.Sprint("commit ", i))})
	}
	src := source.Worktree(f.repo.Dir)
	for b.Loop() {
		rep, err := status.Check(b.Context(), live.NewClient(f.srv.API), src, status.Options{History: src})
		if err != nil || rep.Actions[0].MatchesCommit != oldest {
			b.Fatalf("%v: %+v", err, rep.Actions[0])
		}
	}
}

package diff_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/stamp"
	"github.com/actionsync/actionsync/internal/tenant"
)

// handMade is the live twin of a, made in the dashboard: no stamp.
func handMade(a *manifest.Action, id string) *tenant.Action {
	l := synced(a, id)
	l.Code, l.Deployed.Code = a.Code, a.Code
	return l
}

// ownedBy is the live twin of a, written by another owner.
func ownedBy(owner string, a *manifest.Action, id string) *tenant.Action {
	l := synced(a, id)
	l.Code = stamp.For(a, owner, "c9", key).Code(a.Code)
	l.Deployed.Code = l.Code
	return l
}

func TestAdopt(t *testing.T) {
	a := desiredAction("a", codeV1, apiKeySrc)
	for _, tc := range []struct {
		name       string
		live       *tenant.Action
		opts       diff.Options
		want       []stepSummary
		wantReason string
		err        error
	}{
		{
			name:       "a hand-made action is adopted, its secrets set from their sources",
			live:       handMade(a, "1"),
			want:       []stepSummary{{diff.Adopt, "a", "secrets,owner secrets=API_KEY"}},
			wantReason: "made outside actionsync (no stamp): adopt it, one update and deploy that add this owner's stamp",
		},
		{
			name: "a draft ahead of its deployed version is replaced by the commit, which holds the deployed one",
			live: func() *tenant.Action {
				l := handMade(a, "1")
				l.Code = codeV2
				return l
			}(),
			want:       []stepSummary{{diff.Adopt, "a", "code,secrets,owner secrets=API_KEY"}},
			wantReason: "made outside actionsync (no stamp): adopt it, one update and deploy that add this owner's stamp; its pending draft is replaced",
		},
		{
			name: "a commit that changes the action says so",
			live: func() *tenant.Action {
				l := handMade(desiredAction("a", codeV2, apiKeySrc), "1")
				l.Dependencies, l.Deployed.Dependencies = nil, nil
				return l
			}(),
			want:       []stepSummary{{diff.Adopt, "a", "code,dependencies,secrets,owner secrets=API_KEY"}},
			wantReason: "made outside actionsync (no stamp): adopt it, one update and deploy that add this owner's stamp; the commit also changes its code, dependencies",
		},
		{
			name: "a never-deployed hand-made action",
			live: func() *tenant.Action {
				l := handMade(a, "1")
				l.Deployed = nil
				return l
			}(),
			want:       []stepSummary{{diff.Adopt, "a", "secrets,owner secrets=API_KEY"}},
			wantReason: "made outside actionsync (no stamp): adopt it, one update and deploy that add this owner's stamp; it was never deployed",
		},
		{
			name: "another owner's action is refused",
			live: ownedBy("team-b", a, "1"),
			err:  diff.ErrForeign,
		},
		{
			name:       "unless --adopt-foreign",
			live:       ownedBy("team-b", a, "1"),
			opts:       diff.Options{AdoptForeign: true},
			want:       []stepSummary{{diff.Adopt, "a", "owner"}},
			wantReason: "written by owner team-b: adopt it, one update and deploy that add this owner's stamp",
		},
		{
			name: "a draft edited in the dashboard without the stamp is still this owner's",
			live: func() *tenant.Action {
				l := synced(a, "1")
				l.Code = codeV2
				return l
			}(),
			want:       []stepSummary{{diff.Update, "a", "code,secrets,owner secrets=API_KEY"}},
			wantReason: "the draft differs: code, secrets, owner",
		},
		{
			name: "an action replaced in the dashboard, stamp and all, is this owner's by its versions: a rollback",
			live: func() *tenant.Action {
				l := handMade(desiredAction("a", codeV2, apiKeySrc), "1")
				l.Deployed.Number = 2
				l.Versions = []tenant.Version{*l.Deployed, {ID: "old", Number: 1, Code: stamped(a), Runtime: "node22", Dependencies: lodash}}
				return l
			}(),
			want:       []stepSummary{{diff.Rollback, "a", "old secrets=API_KEY"}},
			wantReason: "the commit equals version 1",
		},
		{
			name: "a Marketplace integration cannot be held by a repo",
			live: func() *tenant.Action {
				l := handMade(a, "1")
				l.Integration = true
				return l
			}(),
			err: errors.New("is a Marketplace integration"),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.SecretKey = key
			p, err := diff.Compute(repo([]*manifest.Action{a}), &tenant.State{Actions: []*tenant.Action{tc.live}}, tc.opts)
			switch {
			case tc.err == nil && err != nil:
				t.Fatal(err)
			case tc.err != nil && !errors.Is(err, tc.err) && (err == nil || !strings.Contains(err.Error(), tc.err.Error())):
				t.Fatalf("error = %v, want %v", err, tc.err)
			case tc.err != nil:
				return
			}
			if got := summarize(p); !slices.Equal(got, tc.want) {
				t.Errorf("steps:\n got %v\nwant %v", got, tc.want)
			}
			if p.Steps[0].Reason != tc.wantReason {
				t.Errorf("reason:\n got %q\nwant %q", p.Steps[0].Reason, tc.wantReason)
			}
		})
	}
}

func TestForeignErrorNamesBothOwners(t *testing.T) {
	a := desiredAction("a", codeV1)
	_, err := diff.Compute(repo([]*manifest.Action{a}), &tenant.State{Actions: []*tenant.Action{ownedBy("team-b", a, "1")}},
		diff.Options{SecretKey: key, Owner: "team-a"})
	var fe *diff.ForeignError
	if !errors.As(err, &fe) || fe.Owner != "team-b" || fe.Want != "team-a" ||
		!strings.Contains(err.Error(), "owner team-b") || !strings.Contains(err.Error(), "owner team-a") {
		t.Errorf("error = %v, want a ForeignError naming team-b and team-a", err)
	}
}

// TestUnmanagedAreKept: --prune deletes only this owner's actions; the
// others are listed with the reason, and a managed trigger keeps their
// bindings where they are.
func TestUnmanagedAreKept(t *testing.T) {
	a := desiredAction("a", codeV1)
	integ := handMade(desiredAction("market", codeV1), "7")
	integ.Integration = true
	live := &tenant.State{
		Actions: []*tenant.Action{synced(a, "1"), handMade(desiredAction("hand", codeV1), "2"),
			ownedBy("team-b", desiredAction("theirs", codeV1), "3"), synced(desiredAction("old", codeV1), "4"), integ},
		Bindings: map[string][]tenant.Binding{"post-login": liveBindings("hand", "old", "a", "market", "theirs")},
	}
	p, err := diff.Compute(repo([]*manifest.Action{a}, bindings("post-login", "a")), live, diff.Options{SecretKey: key, Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []stepSummary{{diff.Bind, "post-login", "unbind old"}, {diff.Delete, "old", ""}}
	if got := summarize(p); !slices.Equal(got, want) {
		t.Errorf("steps:\n got %v\nwant %v", got, want)
	}
	var order []string
	for _, b := range p.Steps[0].Bindings {
		order = append(order, b.Action)
	}
	if want := []string{"hand", "a", "market", "theirs"}; !slices.Equal(order, want) {
		t.Errorf("order = %v, want %v: the others kept where they were", order, want)
	}
	var un []string
	for _, u := range p.Unmanaged {
		un = append(un, u.Action+": "+u.Reason)
	}
	wantUn := []string{
		"hand: made outside actionsync (no stamp): never deleted nor unbound; add it to the repo to adopt it",
		"market: a Marketplace integration: never deleted",
		"theirs: written by owner team-b, not actionsync: never deleted nor unbound",
	}
	if !slices.Equal(un, wantUn) {
		t.Errorf("unmanaged:\n got %q\nwant %q", un, wantUn)
	}
}

// TestTwoOwnersShareATrigger: each owner's order, planned from the live
// order the other left, is the live order: neither rewrites the list after
// the other, whichever ran first.
func TestTwoOwnersShareATrigger(t *testing.T) {
	a1, a2, b1 := desiredAction("a1", codeV1), desiredAction("a2", codeV1), desiredAction("b1", codeV1)
	repoA := repo([]*manifest.Action{a1, a2}, bindings("post-login", "a1", "a2"))
	repoA.Config.Owner = "team-a"
	repoB := repo([]*manifest.Action{b1}, bindings("post-login", "b1"))
	repoB.Config.Owner = "team-b"
	actions := []*tenant.Action{ownedBy("team-a", a1, "1"), ownedBy("team-a", a2, "2"), ownedBy("team-b", b1, "3")}
	for _, first := range []*manifest.Repo{repoA, repoB} {
		live := &tenant.State{Actions: actions, Bindings: map[string][]tenant.Binding{}}
		second := repoB
		if first == repoB {
			second = repoA
		}
		var orders [][]diff.Binding
		for _, r := range []*manifest.Repo{first, second, first, second} {
			order := diff.DesiredBindings(r.Triggers[0], r, live, r.Config.Owner)
			live.Bindings["post-login"] = nil
			for _, b := range order {
				live.Bindings["post-login"] = append(live.Bindings["post-login"], tenant.Binding(b))
			}
			orders = append(orders, order)
		}
		for i := 2; i < len(orders); i++ {
			if !slices.Equal(orders[i], orders[1]) {
				t.Errorf("first %s: round %d wrote %v after %v", first.Config.Owner, i, orders[i], orders[1])
			}
		}
		if len(orders[1]) != 3 {
			t.Errorf("first %s: the shared order %v lacks a binding", first.Config.Owner, orders[1])
		}
	}
}

func TestActionLimit(t *testing.T) {
	live := &tenant.State{}
	for i := range 99 {
		live.Actions = append(live.Actions, synced(desiredAction("live-"+strings.Repeat("x", i+1), codeV1), "id"))
	}
	for _, tc := range []struct {
		name   string
		create int
		delete bool
		max    int
		err    error
	}{
		{"up to the limit", 1, false, 0, nil},
		{"past the limit", 2, false, 0, diff.ErrTooManyActions},
		{"a raised limit", 2, false, 101, nil},
		{"deletes make room", 2, true, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var actions []*manifest.Action
			for i := range tc.create {
				actions = append(actions, desiredAction("new-"+strings.Repeat("y", i+1), codeV1))
			}
			if !tc.delete {
				for _, l := range live.Actions {
					actions = append(actions, desiredAction(l.Name, codeV1))
				}
			} else {
				for _, l := range live.Actions[1:] {
					actions = append(actions, desiredAction(l.Name, codeV1))
				}
			}
			_, err := diff.Compute(repo(actions), live, diff.Options{SecretKey: key, MaxActions: tc.max, Prune: true})
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), "leaves 101 actions") || err != nil && !strings.Contains(err.Error(), "limit of 100") {
				t.Errorf("error = %v, want the count and the limit", err)
			}
		})
	}
}

// TestGoneVersions: when the version a revert would return to is past the
// 50 Auth0 keeps, the plan is an update and says why.
func TestGoneVersions(t *testing.T) {
	a := desiredAction("a", codeV1)
	l := synced(desiredAction("a", codeV2), "1")
	l.Deployed.Number = 60
	for n := 60; n > 10; n-- {
		l.Versions = append(l.Versions, tenant.Version{ID: "v", Number: n, Code: stamped(desiredAction("a", codeV2)), Runtime: "node22", Dependencies: lodash})
	}
	p, err := diff.Compute(repo([]*manifest.Action{a}), &tenant.State{Actions: []*tenant.Action{l}}, diff.Options{SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Steps[0]
	if want := "the draft differs: code; no kept version equals the commit, and versions 1 to 10 are gone (Auth0 keeps the newest 50), so it is built anew"; s.Kind != diff.Update || s.Reason != want {
		t.Errorf("step %s: %q, want update: %q", s.Kind, s.Reason, want)
	}
}

// TestBindingLimitCountsOthers: the list a bind would write keeps the
// bindings the repo does not manage, so 15 of the repo's beside 6 of
// another owner's are past Auth0's 20: an error before any step, naming
// the trigger and both counts; 14 beside 6 are fine.
func TestBindingLimitCountsOthers(t *testing.T) {
	for _, tc := range []struct {
		mine int
		err  bool
	}{{14, false}, {15, true}} {
		var actions []*manifest.Action
		var names []string
		live := &tenant.State{Bindings: map[string][]tenant.Binding{}}
		for i := range tc.mine {
			a := desiredAction(fmt.Sprintf("mine-%02d", i), codeV1)
			actions, names = append(actions, a), append(names, a.Name)
			live.Actions = append(live.Actions, synced(a, a.Name))
		}
		for i := range 6 {
			o := desiredAction(fmt.Sprintf("theirs-%d", i), codeV1)
			live.Actions = append(live.Actions, ownedBy("team-b", o, o.Name))
			live.Bindings["post-login"] = append(live.Bindings["post-login"], tenant.Binding{Action: o.Name, DisplayName: o.Name})
		}
		_, err := diff.Compute(repo(actions, bindings("post-login", names...)), live, diff.Options{SecretKey: key})
		switch {
		case !tc.err && err != nil:
			t.Errorf("%d of mine beside 6: %v", tc.mine, err)
		case tc.err && (!errors.Is(err, diff.ErrTooManyBindings) || !strings.Contains(err.Error(), "post-login would hold 21 bindings, 15 of triggers.yaml and 6")):
			t.Errorf("%d of mine beside 6: %v, want ErrTooManyBindings", tc.mine, err)
		}
	}
}

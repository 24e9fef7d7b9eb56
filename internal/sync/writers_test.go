package sync_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/sync"
	"github.com/auth0/go-auth0"
	"github.com/auth0/go-auth0/management"
)

// otherWriter is the real client, beside which a second writer acts on the
// same tenant, through the real client too, just before the engine's
// creates or just after its updates.
type otherWriter struct {
	live.Client
	mu           gosync.Mutex
	beforeCreate func(ctx context.Context, c live.Client, a *management.Action)
	afterUpdate  func(ctx context.Context, c live.Client, id string)
	afterBind    func(ctx context.Context, c live.Client, trigger string)
}

func (w *otherWriter) UpdateBindings(ctx context.Context, trigger string, bs []*management.ActionBinding, opts ...management.RequestOption) error {
	err := w.Client.UpdateBindings(ctx, trigger, bs, opts...)
	if err == nil && w.afterBind != nil {
		w.mu.Lock()
		w.afterBind(ctx, w.Client, trigger)
		w.mu.Unlock()
	}
	return err
}

func (w *otherWriter) Create(ctx context.Context, a *management.Action, opts ...management.RequestOption) error {
	if w.beforeCreate != nil {
		w.mu.Lock()
		w.beforeCreate(ctx, w.Client, a)
		w.mu.Unlock()
	}
	return w.Client.Create(ctx, a, opts...)
}

func (w *otherWriter) Update(ctx context.Context, id string, a *management.Action, opts ...management.RequestOption) error {
	err := w.Client.Update(ctx, id, a, opts...)
	if err == nil && w.afterUpdate != nil {
		w.mu.Lock()
		w.afterUpdate(ctx, w.Client, id)
		w.mu.Unlock()
	}
	return err
}

// engineWith is the fixture's engine on api, with a build timeout short
// enough that waiting one out fails the test's run rather than slowing it.
func (f *fixture) engineWith(api sync.API) *sync.Engine {
	return sync.NewWith(api, sourceOf(f), sync.Options{
		Poll: 5 * time.Millisecond, BuildTimeout: 5 * time.Second,
		SecretKey: []byte("fixture-secret-key"), Manifest: f.env.opts(),
	})
}

// order is the post-login bindings of the tenant, by action name.
func order(t *testing.T, f *fixture) []string {
	t.Helper()
	bl, err := f.api.Action.Bindings(t.Context(), "post-login", management.PerPage(100))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bl.Bindings {
		out = append(out, b.GetAction().GetName())
	}
	return out
}

// sevenBound is a repo of 8 post-login actions, 7 bound in an order that
// is not the names'.
func sevenBound() (map[string]string, []string) {
	files := manyActions(8)
	want := []string{"action-006", "action-002", "action-004", "action-000", "action-005", "action-001", "action-003"}
	files["triggers.yaml"] = "post-login:\n  - " + strings.Join(want, "\n  - ") + "\n"
	return files, want
}

// TestTwoEnginesAtOnce: two engines sync the same commit into one fresh
// tenant at the same time. Both create every action, and for each one of
// them is answered 409; that step plans again from a fresh read instead of
// forcing its stale plan. Both succeed, and every binding is there, in the
// commit's order.
func TestTwoEnginesAtOnce(t *testing.T) {
	files, want := sevenBound()
	for trial := range 5 {
		t.Run(fmt.Sprintf("trial %d", trial), func(t *testing.T) {
			f := newFixture(t, files, localtenant.Options{BuildDelay: 100 * time.Millisecond})
			var wg gosync.WaitGroup
			results := make([]*sync.Result, 2)
			errs := make([]error, 2)
			for i := range 2 {
				wg.Go(func() { results[i], errs[i] = planAndApply(t.Context(), f.engineWith(live.NewClient(f.api))) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("writer %d: %v", i, err)
				}
			}
			if got := order(t, f); !slices.Equal(got, want) {
				t.Errorf("post-login = %v, want %v", got, want)
			}
			for i, res := range results {
				if res != nil {
					t.Logf("writer %d: %d steps, planned again %d times", i, len(res.Applied), res.Replans)
				}
			}
			assertSteady(t, f)
		})
	}
}

// TestCreateConflictPlansAgain: a create answered 409 (another writer made
// the action since the plan read the tenant) is planned again from a fresh
// read, and the run converges.
func TestCreateConflictPlansAgain(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{})
	w := &otherWriter{Client: live.NewClient(f.api)}
	once := false
	w.beforeCreate = func(ctx context.Context, c live.Client, a *management.Action) {
		if once || a.GetName() != "enrich-profile" {
			return
		}
		once = true
		theirs := &management.Action{Name: a.Name, SupportedTriggers: a.SupportedTriggers, Code: a.Code, Dependencies: a.Dependencies, Runtime: a.Runtime, Secrets: a.Secrets}
		if err := c.Create(ctx, theirs); err != nil {
			t.Error(err)
		}
	}
	res, err := planAndApply(t.Context(), f.engineWith(w))
	if err != nil {
		t.Fatal(err)
	}
	if res.Replans != 1 {
		t.Errorf("replans = %d, want 1", res.Replans)
	}
	assertSteady(t, f)
}

// replacer is another writer that replaces deny-blocked-ips' draft with
// its own code right after this run's update, times times (every time when
// times is negative).
func replacer(t *testing.T, f *fixture, times int) *otherWriter {
	w := &otherWriter{Client: live.NewClient(f.api)}
	w.afterUpdate = func(ctx context.Context, c live.Client, id string) {
		if times == 0 {
			return
		}
		times--
		theirs := &management.Action{Name: auth0.String("deny-blocked-ips"), SupportedTriggers: []management.ActionTrigger{{ID: auth0.String("post-login"), Version: auth0.String("v3")}},
			Code: auth0.String("exports.onExecutePostLogin = async () => {}; // theirs\n")}
		if err := c.Update(ctx, id, theirs); err != nil {
			t.Error(err)
		}
	}
	return w
}

// editDeny commits a new code of deny-blocked-ips: this run's.
func editDeny(f *fixture) {
	f.repo.write(map[string]string{"actions/deny-blocked-ips/index.js": "exports.onExecutePostLogin = async (event, api) => { api.access.deny('ours'); };\n"})
	f.repo.commit("ours")
}

// TestReplacedDraftPlansAgain: another writer replaces the draft this run
// waits on. The wait ends at once, and the run plans again and writes the
// commit's code, rather than deploying theirs or waiting out the build
// timeout.
func TestReplacedDraftPlansAgain(t *testing.T) {
	f := synced(t)
	editDeny(f)
	res, err := planAndApply(t.Context(), f.engineWith(replacer(t, f, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Replans != 1 {
		t.Errorf("replans = %d, want 1", res.Replans)
	}
	if code := deployedCodeOf(t, f, "deny-blocked-ips"); !strings.Contains(code, "'ours'") {
		t.Errorf("deployed code:\n%s\nwant the commit's", code)
	}
	assertSteady(t, f)
}

// TestReplansAreBounded: a writer that replaces the draft every time wins
// after MaxReplans plans, and the run says the tenant kept changing.
func TestReplansAreBounded(t *testing.T) {
	f := synced(t)
	editDeny(f)
	res, err := planAndApply(t.Context(), f.engineWith(replacer(t, f, -1)))
	if !errors.Is(err, sync.ErrStale) {
		t.Fatalf("error = %v, want ErrStale", err)
	}
	if res.Replans != sync.MaxReplans {
		t.Errorf("replans = %d, want %d", res.Replans, sync.MaxReplans)
	}
}

// TestBindingsFromFreshRead: an action whose build fails is bound by
// another writer while this run waits; the bindings this run writes keep
// it, where the commit puts it, instead of the plan's stale list dropping
// it.
func TestBindingsFromFreshRead(t *testing.T) {
	f := synced(t)
	f.repo.write(map[string]string{
		"actions/require-mfa-for-admins/action.yaml": "trigger:\n  id: post-login\n  version: v3\ndependencies:\n  - name: left-pad\n    version: 1.3.0\n",
		"triggers.yaml": "post-login:\n  - require-mfa-for-admins\n  - deny-blocked-ips\n  - name: enrich-profile\n    display_name: Enrich profile\ncredentials-exchange:\n  - add-token-claims\n",
	})
	f.repo.commit("mfa first, with a dependency the registry lacks")
	// Before this run, mfa is not bound at all.
	ref := func(name string) *management.ActionBinding {
		return &management.ActionBinding{Ref: &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(name)}}
	}
	if err := f.api.Action.UpdateBindings(t.Context(), "post-login", []*management.ActionBinding{ref("deny-blocked-ips"), ref("enrich-profile")}); err != nil {
		t.Fatal(err)
	}
	w := &otherWriter{Client: live.NewClient(f.api)}
	w.afterUpdate = func(ctx context.Context, c live.Client, id string) {
		if err := c.UpdateBindings(ctx, "post-login", []*management.ActionBinding{ref("deny-blocked-ips"), ref("enrich-profile"), ref("require-mfa-for-admins")}); err != nil {
			t.Error(err)
		}
	}
	_, err := planAndApply(t.Context(), f.engineWith(w))
	if !errors.Is(err, sync.ErrBuildFailed) || errors.Is(err, sync.ErrStale) {
		t.Fatalf("error = %v, want the build failure alone", err)
	}
	if got, want := order(t, f), []string{"require-mfa-for-admins", "deny-blocked-ips", "enrich-profile"}; !slices.Equal(got, want) {
		t.Errorf("post-login = %v, want %v", got, want)
	}
}

// TestPermanentCreateAnswerIsNotRetried: a create the tenant refuses for
// good (403 too_many_entities past its action limit) is sent once.
func TestPermanentCreateAnswerIsNotRetried(t *testing.T) {
	f := newFixture(t, exampleFiles(t), localtenant.Options{MaxActions: 2})
	_, calls, err := f.reconcile(sync.Options{})
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("error = %v, want the 403s", err)
	}
	if n := len(slices.DeleteFunc(calls, func(c string) bool { return c != createCall })); n != 4 {
		t.Errorf("%d creates sent for 4 actions, 2 of them past the limit; want 4", n)
	}
}

func deployedCodeOf(t *testing.T, f *fixture, name string) string {
	t.Helper()
	l, err := f.api.Action.List(t.Context(), management.Parameter("actionName", name))
	if err != nil || len(l.Actions) != 1 {
		t.Fatalf("list %s: %v", name, err)
	}
	return l.Actions[0].GetDeployedVersion().GetCode()
}

// TestReplacedBindingsPlanAgain: another writer that read post-login's
// bindings before this run's write replaces them just after it, with its
// stale list. The bindings are read back after the write, the run plans
// again from a fresh read and writes them once more: no binding is lost and
// the run does not report success on a list it no longer holds.
func TestReplacedBindingsPlanAgain(t *testing.T) {
	f := synced(t)
	before := order(t, f)
	f.repo.write(map[string]string{"triggers.yaml": "post-login:\n  - enrich-profile\n  - require-mfa-for-admins\n  - deny-blocked-ips\ncredentials-exchange:\n  - add-token-claims\n"})
	f.repo.commit("reorder post-login")
	w := &otherWriter{Client: live.NewClient(f.api)}
	replaced := false
	w.afterBind = func(ctx context.Context, c live.Client, trigger string) {
		if replaced {
			return
		}
		replaced = true
		bs := make([]*management.ActionBinding, len(before))
		for i, name := range before {
			bs[i] = &management.ActionBinding{Ref: &management.ActionBindingReference{Type: auth0.String(management.ActionBindingReferenceByName), Value: auth0.String(name)}}
		}
		if err := c.UpdateBindings(ctx, trigger, bs); err != nil {
			t.Error(err)
		}
	}
	f.srv.ResetRequests()
	res, err := planAndApply(t.Context(), f.engineWith(w))
	if err != nil {
		t.Fatal(err)
	}
	if res.Replans != 1 {
		t.Errorf("planned again %d times, want 1", res.Replans)
	}
	// The calls on post-login's bindings, in order: the plan's read, the
	// read just before the write, the write, the other writer's, the read
	// back; then the same again from the new plan, whose read back agrees.
	var got []string
	for _, r := range f.srv.Requests() {
		if strings.HasSuffix(r.Path, "/triggers/post-login/bindings") {
			got = append(got, r.Method)
		}
	}
	wantCalls := []string{"GET", "GET", "PATCH", "PATCH", "GET", "GET", "GET", "PATCH", "GET"}
	if !slices.Equal(got, wantCalls) {
		t.Errorf("post-login bindings calls = %v, want %v", got, wantCalls)
	}
	want := []string{"enrich-profile", "require-mfa-for-admins", "deny-blocked-ips"}
	if got := order(t, f); !slices.Equal(got, want) {
		t.Errorf("post-login = %v, want %v", got, want)
	}
	assertSteady(t, f)
}

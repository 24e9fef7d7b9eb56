package main_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
)

// sevenBoundRepo writes a repo of 8 post-login actions, 7 of them bound in
// an order that is not the names', and returns it with that order.
func sevenBoundRepo(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	order := []string{"g", "b", "e", "a", "f", "c", "d"}
	for _, name := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		os.MkdirAll(filepath.Join(dir, "actions", name), 0o755)
		os.WriteFile(filepath.Join(dir, "actions", name, "action.yaml"), []byte("trigger:\n  id: post-login\n  version: v3\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "actions", name, "index.js"), []byte("exports.onExecutePostLogin = async () => {}; // "+name+"\n"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "triggers.yaml"), []byte("post-login:\n  - "+strings.Join(order, "\n  - ")+"\n"), 0o644)
	return dir, order
}

// boundTo reads a trigger's bindings from the tenant, by action name.
func boundTo(t *testing.T, url, trigger string) []string {
	t.Helper()
	var l struct {
		Bindings []struct {
			Action struct{ Name string } `json:"action"`
		} `json:"bindings"`
	}
	getJSON(t, url+"/api/v2/actions/triggers/"+trigger+"/bindings", &l)
	var out []string
	for _, b := range l.Bindings {
		out = append(out, b.Action.Name)
	}
	return out
}

// getJSON reads url from a local tenant into v.
func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer any")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestTwoOnceRunsAtOnce runs two `--once` processes of the same repo at the
// same moment against one fresh tenant, five times. Each run that finds
// the tenant changed under it plans again from a fresh read: both exit 0,
// neither waits out a build timeout, and every binding ends in the
// commit's order.
func TestTwoOnceRunsAtOnce(t *testing.T) {
	repo, want := sevenBoundRepo(t)
	for trial := range 5 {
		t.Run(fmt.Sprintf("trial %d", trial), func(t *testing.T) {
			_, url, env := serveTenant(t, localtenant.Options{BuildDelay: 200 * time.Millisecond, Node: "-"}, nil)
			var wg gosync.WaitGroup
			results := make([]result, 2)
			took := make([]time.Duration, 2)
			for i := range 2 {
				wg.Go(func() {
					start := time.Now()
					results[i] = run(t, t.TempDir(), env, "--once", "--repo", repo)
					took[i] = time.Since(start)
				})
			}
			wg.Wait()
			for i, r := range results {
				if r.code != 0 {
					t.Errorf("run %d: exit %d\n%s\n%s", i, r.code, r.stdout, r.stderr)
				}
				// A failure bound, not a benchmark: a run that waited for a
				// version another writer replaced took 5 minutes.
				if took[i] > time.Minute {
					t.Errorf("run %d took %v", i, took[i])
				}
				t.Logf("run %d: %v, %s", i, took[i].Round(time.Millisecond), strings.TrimSpace(strings.SplitN(r.stdout, "\n", 2)[0]))
			}
			if got := boundTo(t, url, "post-login"); !slices.Equal(got, want) {
				t.Errorf("post-login = %v, want %v", got, want)
			}
			if r := run(t, t.TempDir(), env, "--dry-run", "--repo", repo); r.code != 0 {
				t.Errorf("a dry run after both: exit %d, want 0 (in sync)\n%s", r.code, r.stdout)
			}
		})
	}
}

// ownerRepo writes a repo of owner whose actions, all post-login, are
// bound in the order given.
func ownerRepo(t *testing.T, owner string, order ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range order {
		os.MkdirAll(filepath.Join(dir, "actions", name), 0o755)
		os.WriteFile(filepath.Join(dir, "actions", name, "action.yaml"), []byte("trigger:\n  id: post-login\n  version: v3\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "actions", name, "index.js"), []byte("exports.onExecutePostLogin = async () => {}; // "+name+"\n"), 0o644)
	}
	os.WriteFile(filepath.Join(dir, "actionsync.yaml"), []byte("owner: "+owner+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "triggers.yaml"), []byte("post-login:\n  - "+strings.Join(order, "\n  - ")+"\n"), 0o644)
	return dir
}

// TestTwoOwnersAtOnce runs two `--once` processes of two owners' repos that
// share post-login, at the same moment, against a tenant 100 ms away,
// four times. The bindings API has no compare-and-swap, so each run reads
// its bindings write back: the run whose list the other replaced plans
// again instead of exiting 0 with its bindings lost. Both exit 0, every
// binding of both is there in its repo's order, and each bindings write is
// read back.
func TestTwoOwnersAtOnce(t *testing.T) {
	orders := map[string][]string{"team-a": {"a3", "a1", "a4", "a2"}, "team-b": {"b2", "b3", "b1"}}
	repos := map[string]string{}
	for owner, order := range orders {
		repos[owner] = ownerRepo(t, owner, order...)
	}
	for trial := range 4 {
		t.Run(fmt.Sprintf("trial %d", trial), func(t *testing.T) {
			lt, url, env := serveTenant(t, localtenant.Options{BuildDelay: 200 * time.Millisecond, Latency: 100 * time.Millisecond, Node: "-"}, nil)
			var wg gosync.WaitGroup
			results := map[string]*result{}
			for owner := range repos {
				results[owner] = new(result)
			}
			for owner, repo := range repos {
				wg.Go(func() { *results[owner] = run(t, t.TempDir(), env, "--once", "--repo", repo) })
			}
			wg.Wait()
			replans := 0
			for owner, r := range results {
				if r.code != 0 {
					t.Errorf("%s: exit %d\n%s\n%s", owner, r.code, r.stdout, r.stderr)
				}
				replans += strings.Count(r.stderr, "planning again from a fresh read")
			}
			requests := lt.Requests()
			got := boundTo(t, url, "post-login")
			for owner, order := range orders {
				mine := slices.DeleteFunc(slices.Clone(got), func(name string) bool { return !slices.Contains(order, name) })
				if !slices.Equal(mine, order) {
					t.Errorf("post-login = %v: %s's bindings are %v, want %v", got, owner, mine, order)
				}
			}
			// The calls on post-login's bindings: each run's write, one more
			// for each plan made again, and after every write a read back.
			var calls []string
			for _, r := range requests {
				if strings.HasSuffix(r.Path, "/triggers/post-login/bindings") {
					calls = append(calls, r.Method)
				}
			}
			patches := strings.Count(strings.Join(calls, " "), "PATCH")
			if patches != 2+replans {
				t.Errorf("%d bindings writes with %d plans made again, want %d: %v", patches, replans, 2+replans, calls)
			}
			if len(calls) == 0 || calls[len(calls)-1] != "GET" {
				t.Errorf("the last bindings write was not read back: %v", calls)
			}
			t.Logf("post-login = %v; planned again %d times; calls %v", got, replans, calls)
			for owner, repo := range repos {
				if r := run(t, t.TempDir(), env, "--dry-run", "--repo", repo); r.code != 0 {
					t.Errorf("%s: a dry run after both: exit %d, want 0 (in sync)\n%s", owner, r.code, r.stdout)
				}
			}
		})
	}
}

// besideB syncs owner B's repo (action b1, unbound) into a fresh tenant,
// then owner A's (a1 bound to post-login) through meddle, which may answer
// a request of A's run itself (and say so), as the tenant and a second
// writer would. It returns A's run's calls on post-login's bindings, by
// method, and the bindings at the end.
func besideB(t *testing.T, meddle func(lt *localtenant.Tenant, w http.ResponseWriter, r *http.Request) bool) ([]string, []string) {
	t.Helper()
	var armed atomic.Bool
	lt, url, env := serveTenant(t, localtenant.Options{BuildDelay: 20 * time.Millisecond, Node: "-"}, func(lt *localtenant.Tenant, w http.ResponseWriter, r *http.Request) bool {
		return armed.Load() && meddle(lt, w, r)
	})
	b := ownerRepo(t, "team-b", "b1")
	os.WriteFile(filepath.Join(b, "triggers.yaml"), []byte("post-login: []\n"), 0o644)
	if r := run(t, t.TempDir(), env, "--once", "--repo", b); r.code != 0 {
		t.Fatalf("team-b: exit %d\n%s", r.code, r.stderr)
	}
	armed.Store(true)
	lt.ResetRequests()
	if r := run(t, t.TempDir(), env, "--once", "--repo", ownerRepo(t, "team-a", "a1")); r.code != 0 {
		t.Fatalf("team-a: exit %d\n%s", r.code, r.stderr)
	}
	var calls []string
	for _, q := range lt.Requests() {
		if strings.HasSuffix(q.Path, "/triggers/post-login/bindings") {
			calls = append(calls, q.Method)
		}
	}
	armed.Store(false)
	return calls, boundTo(t, url, "post-login")
}

// bindB is B's write of its list, read before A's write: b1 alone.
func bindB(lt *localtenant.Tenant, path string) {
	other := httptest.NewRequest(http.MethodPatch, path, strings.NewReader(`{"bindings":[{"ref":{"type":"action_name","value":"b1"}}]}`))
	other.Header.Set("Authorization", "Bearer any")
	other.Header.Set("Content-Type", "application/json")
	lt.ServeHTTP(httptest.NewRecorder(), other)
}

func isPostLoginBindings(r *http.Request, method string) bool {
	return r.Method == method && strings.HasSuffix(r.URL.Path, "/triggers/post-login/bindings")
}

// TestRateLimitedBindingsReadAgain: owner A's bindings write is refused
// with 429 just as owner B binds its own action. The transport does not
// send A's list again after the wait, as it was read before B's write:
// the engine reads the bindings again, plans again, and writes a list
// that keeps B's binding.
func TestRateLimitedBindingsReadAgain(t *testing.T) {
	var refused atomic.Bool
	calls, bound := besideB(t, func(lt *localtenant.Tenant, w http.ResponseWriter, r *http.Request) bool {
		if !isPostLoginBindings(r, http.MethodPatch) || !refused.CompareAndSwap(false, true) {
			return false
		}
		bindB(lt, r.URL.Path)
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"statusCode":429,"error":"Too Many Requests","message":"Global limit has been reached","errorCode":"too_many_requests"}`, http.StatusTooManyRequests)
		return true
	})
	// The plan's read, the read before the write (refused: B's write is
	// logged in its place), the read again, the write, the read back.
	if want := []string{"GET", "GET", "PATCH", "GET", "PATCH", "GET"}; !slices.Equal(calls, want) {
		t.Errorf("post-login bindings calls = %v, want %v", calls, want)
	}
	if !slices.Equal(bound, []string{"b1", "a1"}) {
		t.Errorf("post-login = %v, want [b1 a1]: B's binding kept where it was", bound)
	}
}

// TestHeldBindingsWriteReadsAgain: owner A reads post-login's bindings, and
// the tenant's answer says its rate budget is spent for 2 s; meanwhile
// owner B binds its action. A's write, held past a second after its read,
// is not sent with the list read before B's write: A reads again and
// writes a list that keeps B's binding.
func TestHeldBindingsWriteReadsAgain(t *testing.T) {
	var reads atomic.Int32
	calls, bound := besideB(t, func(lt *localtenant.Tenant, w http.ResponseWriter, r *http.Request) bool {
		if !isPostLoginBindings(r, http.MethodGet) || reads.Add(1) != 2 {
			return false
		}
		// A's read before its write: the budget is spent until the reset,
		// and B writes its list meanwhile.
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(3*time.Second).Unix(), 10))
		lt.ServeHTTP(w, r)
		go func() {
			time.Sleep(200 * time.Millisecond)
			bindB(lt, r.URL.Path)
		}()
		return true
	})
	// The plan's read, the read before the write, B's write, A's read
	// again (its write, held, never sent), A's write, the read back.
	if want := []string{"GET", "GET", "PATCH", "GET", "PATCH", "GET"}; !slices.Equal(calls, want) {
		t.Errorf("post-login bindings calls = %v, want %v", calls, want)
	}
	if !slices.Equal(bound, []string{"b1", "a1"}) {
		t.Errorf("post-login = %v, want [b1 a1]: B's binding kept", bound)
	}
}

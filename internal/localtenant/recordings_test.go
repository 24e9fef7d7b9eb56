package localtenant_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/localtenant"
	"github.com/actionsync/actionsync/internal/localtenant/tenanttest"
	"gopkg.in/yaml.v3"
)

// recording is the part of a go-vcr cassette the replay needs.
type recording struct {
	Interactions []struct {
		Request struct {
			Method string `yaml:"method"`
			URL    string `yaml:"url"`
			Body   string `yaml:"body"`
		} `yaml:"request"`
		Response struct {
			Code int    `yaml:"code"`
			Body string `yaml:"body"`
		} `yaml:"response"`
	} `yaml:"interactions"`
}

func recordingsDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/auth0/go-auth0").Output()
	if err != nil {
		t.Fatalf("find the go-auth0 module: %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "test", "data", "recordings")
}

// allowedDiff lists the only places where the local tenant's answer may
// differ in shape from the recording, and why.
var allowedDiff = map[string]string{
	// The recorded test run failed inside Auth0's runtime before the code ran
	// (its event lacked fields Auth0 reads); the local harness runs the same
	// code to completion, so there is no error object, and it adds what the
	// run did.
	"TestActionManager_Test.yaml 4 $.payload.error":        "recorded run errored",
	"TestActionManager_Test.yaml 4 $.payload.logs":         "local run reports logs",
	"TestActionManager_Test.yaml 4 $.payload.api_calls":    "local run reports api calls",
	"TestActionManager_Test.yaml 4 $.payload.execution_id": "local run is stored as an execution",
}

// TestRecordedResponses replays the requests of every real recording that
// ships with go-auth0 against the local tenant and compares status codes and
// response shapes: the same keys with the same JSON types, at every depth.
// Ids are mapped from the recording to the local tenant as they appear;
// times and values may differ.
func TestRecordedResponses(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(recordingsDir(t), "TestActionManager_*.yaml"))
	if len(files) < 10 {
		t.Fatalf("found %d recordings, want the go-auth0 set", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { replay(t, f) })
	}
}

func replay(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var rec recording
	if err := yaml.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	const delay = 4 * time.Second
	clock := tenanttest.NewClock()
	srv := tenanttest.Start(t, localtenant.Options{BuildDelay: delay, Now: clock.Now})
	token := fetchToken(t, srv)
	ids := map[string]string{}
	var sinceBuild time.Duration
	for i, in := range rec.Interactions {
		want := decodeJSON(t, in.Response.Body)
		// Move the clock so the build is where the recording saw it.
		target := map[string]time.Duration{"building": delay / 2, "built": delay}[topStatus(want)]
		if in.Request.Method == "GET" && target > sinceBuild {
			clock.Advance(target - sinceBuild)
			sinceBuild = target
		}
		code, body := send(t, srv, token, in.Request.Method, mapIDs(in.Request.URL, ids), mapIDs(in.Request.Body, ids))
		if code != in.Response.Code {
			t.Fatalf("interaction %d %s %s: status %d, recorded %d (%s)", i, in.Request.Method, in.Request.URL, code, in.Response.Code, body)
		}
		if strings.Contains(in.Request.Method, "P") && strings.HasSuffix(in.Request.URL, "/actions") || in.Request.Method == "PATCH" {
			sinceBuild = 0
		}
		got := decodeJSON(t, string(body))
		learnIDs(want, got, ids)
		for _, d := range shapeDiff("$", want, got) {
			key := fmt.Sprintf("%s %d %s", filepath.Base(file), i, d.path)
			if _, ok := allowedDiff[key]; !ok {
				t.Errorf("interaction %d %s %s: %s", i, in.Request.Method, in.Request.URL, d)
			}
		}
	}
}

func fetchToken(t testing.TB, srv *tenanttest.Server) string {
	t.Helper()
	resp, err := srv.HTTP.PostForm(srv.URL+"/oauth/token", map[string][]string{
		"grant_type": {"client_credentials"}, "client_id": {tenanttest.ClientID}, "client_secret": {tenanttest.ClientSecret},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	return tok.AccessToken
}

func send(t testing.TB, srv *tenanttest.Server, token, method, rawURL, body string) (int, []byte) {
	t.Helper()
	path := rawURL[strings.Index(rawURL, "/api/v2/"):]
	var rd io.Reader
	if body != "" && strings.TrimSpace(body) != "null" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	if strings.TrimSpace(s) == "" {
		return nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
	return v
}

func topStatus(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["status"].(string)
	return s
}

func mapIDs(s string, ids map[string]string) string {
	for from, to := range ids {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// learnIDs maps every "id" in the recording to the local id at the same place.
func learnIDs(want, got any, ids map[string]string) {
	switch w := want.(type) {
	case map[string]any:
		g, _ := got.(map[string]any)
		for k, wv := range w {
			if ws, ok := wv.(string); ok && k == "id" {
				if gs, ok := g[k].(string); ok {
					ids[ws] = gs
				}
			}
			learnIDs(wv, g[k], ids)
		}
	case []any:
		g, _ := got.([]any)
		for i := range min(len(w), len(g)) {
			learnIDs(w[i], g[i], ids)
		}
	}
}

type diff struct{ path, what string }

func (d diff) String() string { return d.path + ": " + d.what }

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

// shapeDiff lists where got differs from want in keys or JSON types. Arrays
// are compared element by element as far as both go, and must be empty or
// not together.
func shapeDiff(path string, want, got any) []diff {
	if jsonType(want) != jsonType(got) {
		return []diff{{path, fmt.Sprintf("type %s, recorded %s", jsonType(got), jsonType(want))}}
	}
	var out []diff
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		keys := make([]string, 0, len(w)+len(g))
		for k := range w {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			wv, inW := w[k]
			gv, inG := g[k]
			switch {
			case !inG:
				out = append(out, diff{path + "." + k, "missing"})
			case !inW:
				out = append(out, diff{path + "." + k, "not in the recording"})
			default:
				out = append(out, shapeDiff(path+"."+k, wv, gv)...)
			}
		}
	case []any:
		g := got.([]any)
		if (len(w) == 0) != (len(g) == 0) {
			return []diff{{path, fmt.Sprintf("%d elements, recorded %d", len(g), len(w))}}
		}
		for i := range min(len(w), len(g)) {
			out = append(out, shapeDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
	}
	return out
}

// TestShapeDiff makes sure the comparison the replay rests on can fail.
func TestShapeDiff(t *testing.T) {
	dec := func(s string) any { return decodeJSON(t, s) }
	for _, tc := range []struct {
		name, want, got string
		diffs           []string
	}{
		{"same", `{"a":1,"b":["x"]}`, `{"a":2,"b":["y","z"]}`, nil},
		{"missing key", `{"a":1,"b":2}`, `{"a":1}`, []string{"$.b: missing"}},
		{"extra key", `{"a":1}`, `{"a":1,"c":true}`, []string{"$.c: not in the recording"}},
		{"type", `{"a":{"b":"s"}}`, `{"a":{"b":1}}`, []string{"$.a.b: type number, recorded string"}},
		{"empty array", `{"a":[1]}`, `{"a":[]}`, []string{"$.a: 0 elements, recorded 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, d := range shapeDiff("$", dec(tc.want), dec(tc.got)) {
				got = append(got, d.String())
			}
			if !slices.Equal(got, tc.diffs) {
				t.Errorf("diffs = %q, want %q", got, tc.diffs)
			}
		})
	}
}

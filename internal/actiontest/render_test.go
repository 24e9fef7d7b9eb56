package actiontest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/node"
)

// steady returns a copy of rep with fixed durations, so its renderings can
// be golden files.
func steady(rep *actiontest.Report) *actiontest.Report {
	out := &actiontest.Report{Results: slices.Clone(rep.Results), Duration: 1500 * time.Millisecond}
	for i := range out.Results {
		out.Results[i].Duration = 12 * time.Millisecond
	}
	return out
}

// renderings renders rep in every format.
func renderings(tb testing.TB, rep *actiontest.Report) map[string]string {
	tb.Helper()
	out := map[string]string{}
	for ext, render := range map[string]func(*bytes.Buffer) error{
		"txt":  func(b *bytes.Buffer) error { return rep.Text(b) },
		"md":   func(b *bytes.Buffer) error { return rep.Markdown(b, 0) },
		"json": func(b *bytes.Buffer) error { return rep.JSON(b) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			tb.Fatalf("render %s: %v", ext, err)
		}
		out[ext] = b.String()
	}
	return out
}

func golden(tb testing.TB, path, got string) {
	tb.Helper()
	if *update {
		os.WriteFile(path, []byte(got), 0o644)
	}
	want, _ := os.ReadFile(path)
	if got != string(want) {
		tb.Errorf("%s differs (go test ./internal/actiontest -update rewrites it); got:\n%s", path, got)
	}
}

// TestReportGolden renders the report of testdata/run as text, markdown
// and JSON.
func TestReportGolden(t *testing.T) {
	for ext, got := range renderings(t, steady(reportOf(t))) {
		golden(t, filepath.Join("testdata", "report."+ext), got)
	}
}

func TestJSONSchema(t *testing.T) {
	var b bytes.Buffer
	reportOf(t).JSON(&b)
	var doc struct {
		FormatVersion int `json:"format_version"`
		Summary       struct {
			Total, Passed, Failed, Errors int
		} `json:"summary"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.FormatVersion != 1 || doc.Summary.Total != 22 || doc.Summary.Passed+doc.Summary.Failed+doc.Summary.Errors != 22 {
		t.Errorf("head: %+v", doc)
	}
	for _, r := range doc.Results {
		for _, key := range []string{"name", "kind", "trigger", "file", "line", "status", "calls", "logs", "duration_ms"} {
			if _, ok := r[key]; !ok {
				t.Errorf("result %v lacks %q", r["name"], key)
			}
		}
	}
}

// TestSecretsNeverRendered: the leaky action logs, throws and passes its
// secrets to api; no rendering, and no field of the report, shows them.
func TestSecretsNeverRendered(t *testing.T) {
	rep := reportOf(t)
	outputs := renderings(t, rep)
	outputs["fields"] = fmt.Sprintf("%+v", rep.Results)
	leaky := []string{secretValues["LEAKY_API_KEY"], secretValues["LEAKY_OTHER"], "override-value-9f8e"}
	for name, out := range outputs {
		for _, v := range leaky {
			if strings.Contains(out, v) {
				t.Errorf("%s shows a secret value %q", name, v)
			}
		}
	}
	r := result(t, rep, "leaky", "fails and masks an override")
	if len(r.Logs) == 0 || r.Logs[0].Text != "the key is *** and the other ***" {
		t.Errorf("leaky's logs: %+v, want the values masked", r.Logs)
	}
}

// nasty is a report whose names and output try to break out of every
// rendering.
func nasty() *actiontest.Report {
	c := &actiontest.Case{
		Name: "<script>alert(1)</script> | [x](https://evil.example) `tick` **b** @team\nnext line",
		File: "actions/x|y/tests/a.yaml", Line: 3, Action: "x|y`z", Trigger: "post-login",
	}
	flow := &actiontest.Case{Name: "</summary><img src=x onerror=alert(1)>", File: "triggers/post-login.tests.yaml", Line: 1, Trigger: "post-login"}
	return &actiontest.Report{Duration: time.Second, Results: []actiontest.Result{{
		Case: c, Status: actiontest.StatusFail, Duration: time.Millisecond,
		Reason: "call 1: got api.x(\"</details>\"), want api.y(\"```\")",
		Logs:   []node.Log{{Action: "x|y`z", Level: "log", Text: "```\n<b>bold</b>\x1b[31mred\u202eevil"}},
	}, {
		Case: flow, Status: actiontest.StatusError, Reason: "could not run: <b>", Duration: time.Millisecond,
	}}}
}

func TestRenderingsEscape(t *testing.T) {
	out := renderings(t, nasty())
	golden(t, "testdata/escape.md", out["md"])
	golden(t, "testdata/escape.txt", out["txt"])
	md := out["md"]
	outside := regexp.MustCompile("(?s)````?text\n.*?\n````?\n").ReplaceAllString(md, "")
	for _, bad := range []string{"<script", "<img", "<b>", `</details>"`, "\x1b", "\u202e", "@team"} {
		if strings.Contains(outside, bad) {
			t.Errorf("markdown shows %q outside a code fence", bad)
		}
	}
	if link := regexp.MustCompile(`[^\\]\]\(`); link.MatchString(outside) {
		t.Errorf("markdown makes a link of a name: %s", link.FindString(outside))
	}
	for _, row := range strings.Split(md, "\n") {
		if strings.HasPrefix(row, "| ") && strings.Count(strings.ReplaceAll(row, `\|`, ""), "|") != 5 {
			t.Errorf("a table row with the wrong number of cells: %s", row)
		}
	}
	if !strings.Contains(md, "````text\n") {
		t.Error("a log holding ``` is not fenced by a longer fence")
	}
	if strings.ContainsAny(out["txt"], "\x1b\u202e") {
		t.Errorf("text passes control characters through:\n%q", out["txt"])
	}
}

func TestMarkdownLimit(t *testing.T) {
	rep := reportOf(t)
	var full bytes.Buffer
	rep.Markdown(&full, 0)
	if full.Len() > actiontest.MarkdownLimit || strings.Contains(full.String(), "cut here") {
		t.Errorf("the whole report: %d bytes", full.Len())
	}
	for _, limit := range []int{80, 400, 2000, full.Len() - 1} {
		var b bytes.Buffer
		rep.Markdown(&b, limit)
		if b.Len() > limit || !strings.Contains(b.String(), "cut here") {
			t.Errorf("limit %d: %d bytes, cut line %v", limit, b.Len(), strings.Contains(b.String(), "cut here"))
		}
	}
}

package cli

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/actionsync/actionsync/internal/diff"
)

// testPlans are two environments: dev with a plan whose code diff is long,
// prod that could not be planned, with an error that holds Markdown.
func testPlans() envPlans {
	dev := &diff.Plan{FormatVersion: 1, Revision: "abc", Unmanaged: []diff.Unmanaged{}, Steps: []diff.Step{{
		Kind: diff.Update, Action: "greet", Trigger: "post-login", Reason: "code differs",
		CodeDiff: "--- a\n+++ b\n" + strings.Repeat("+x\n", 40000),
	}}}
	return envPlans{
		{Env: "dev", Ref: "main", Plan: dev},
		{Env: "prod", Ref: "release", Err: errors.New("read the tenant: 503 | ```\n</details> <b>")},
	}
}

// TestEnvPlansMarkdown: one comment within GitHub's limit, a table, then a
// section per environment with its own heading; an error cannot break out
// of its code block.
func TestEnvPlansMarkdown(t *testing.T) {
	var b strings.Builder
	if err := testPlans().Markdown(&b, 0); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	if len(md) > diff.MarkdownLimit {
		t.Errorf("%d characters, over the limit", len(md))
	}
	for _, want := range []string{
		"| `dev` | `main` | Plan: 0 to create, 0 to adopt, 1 to update",
		"| `prod` | `release` | could not be planned |",
		"## Environment `dev`, following `main`\n\n### actionsync plan for `abc`",
		"The plan is cut here",
		"## Environment `prod`, following `release`\n\n**Could not be planned:**\n\n````\nread the tenant: 503 | ```\n</details> <b>\n````\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
}

func TestEnvPlansJSONAndText(t *testing.T) {
	var b strings.Builder
	if err := testPlans().JSON(&b); err != nil {
		t.Fatal(err)
	}
	var got struct {
		FormatVersion int `json:"format_version"`
		Environments  map[string]struct {
			Ref   string
			Plan  *diff.Plan
			Error string
		}
	}
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatal(err)
	}
	dev, prod := got.Environments["dev"], got.Environments["prod"]
	if got.FormatVersion != 1 || dev.Ref != "main" || len(dev.Plan.Steps) != 1 || prod.Plan != nil || !strings.HasPrefix(prod.Error, "read the tenant") {
		t.Errorf("json: %+v", got)
	}
	b.Reset()
	if err := testPlans().Text(&b); err != nil {
		t.Fatal(err)
	}
	if txt := b.String(); !strings.HasPrefix(txt, "== Environment \"dev\" (branch \"main\") ==\nCommit \"abc\"\n") || !strings.Contains(txt, "\n== Environment \"prod\" (branch \"release\") ==\nError: read the tenant") {
		t.Errorf("text:\n%.300s", txt)
	}
	if failed, pending := testPlans().counts(); failed != 1 || pending != 1 {
		t.Errorf("counts = %d failed, %d pending", failed, pending)
	}
}

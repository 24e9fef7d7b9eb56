package diff_test

import (
	"bufio"
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/tenant"
)

// hostilePlan is a plan of every kind of step whose names, reasons and code
// come from the fuzzer: an update with a code diff, a create, a bind whose
// display name is free text, a delete and an unmanaged action.
func hostilePlan(t *testing.T, name, reason, code string) *diff.Plan {
	t.Helper()
	edited := desiredAction(name, code)
	live := synced(desiredAction(name, "x\n"), "1")
	desired := repo([]*manifest.Action{edited, desiredAction(reason, code, apiKeySrc)},
		&manifest.Trigger{ID: "post-login", Bindings: []manifest.Binding{{Action: name, DisplayName: reason}}})
	p, err := diff.Compute(desired, &tenant.State{
		Actions:  []*tenant.Action{live},
		Bindings: map[string][]tenant.Binding{"post-login": {{Action: reason, DisplayName: name}}},
	}, diff.Options{SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	p.Steps = append(p.Steps,
		diff.Step{Kind: diff.Delete, Action: reason, Trigger: name, Reason: reason},
		diff.Step{Kind: diff.Bind, Trigger: reason, Reason: name, Bindings: []diff.Binding{{Action: code, DisplayName: reason}}},
		diff.Step{Kind: diff.ModuleUpdate, Module: name, Reason: reason, Moves: []string{reason, code}, CodeDiff: code},
		diff.Step{Kind: diff.Update, Action: reason, Trigger: name, Reason: code,
			Modules: []diff.Pin{{Module: name, Version: 2}}, PreviousModules: []diff.Pin{{Module: reason, Version: 1}}})
	p.Unmanaged = append(p.Unmanaged, diff.Unmanaged{Action: name, Reason: reason}, diff.Unmanaged{Module: reason, Reason: name})
	return p
}

// FuzzRenderings renders plans made of hostile names, reasons and code: the
// text stays free of control and format characters and keeps one header a
// step; the Markdown keeps one table row of four cells a step (fewer, whole
// ones, when the comment is cut to its limit), no raw HTML but its own
// tags outside code fences, and no @mention outside code.
func FuzzRenderings(f *testing.F) {
	for _, seed := range [][3]string{
		{"enrich-profile", "the draft differs: code", codeV1},
		{"\x1b[31mred\x1b[0m", "a\nfake log line", "var s = '\x1b]8;;http://evil\x1b\\\\';\n"},
		{"a|b<script>alert(1)</script>", "</summary></details><img src=x onerror=alert(1)>", "```\n<b>bold</b>\n````\n"},
		{"admin\u202etxt.js", "`code` *em* [link](http://evil) ![img](http://evil)", "\u2066\u2069\t\tindented\r\n"},
		{"", " ", "\xff\xfe not UTF-8"},
		{"@octo-org/security", "cc @octocat", "// @admins\n"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	addGoldenSeeds(f)
	f.Fuzz(func(t *testing.T, name, reason, code string) {
		p := hostilePlan(t, name, reason, code)
		var text, md bytes.Buffer
		if err := p.Text(&text); err != nil {
			t.Fatal(err)
		}
		if err := p.Markdown(&md, 0); err != nil {
			t.Fatal(err)
		}
		checkText(t, text.String(), len(p.Steps))
		checkMarkdown(t, md.String(), len(p.Steps))
	})
}

// addGoldenSeeds seeds the fuzzer with the lines of the golden renderings.
func addGoldenSeeds(f *testing.F) {
	b, err := os.ReadFile("testdata/plan.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f.Add(sc.Text(), sc.Text(), sc.Text()+"\n")
	}
}

var textHeader = regexp.MustCompile(`(?m)^[-+~<^=*] (module-)?(create|adopt|update|rollback|deploy|bind|delete) +`)

func checkText(t *testing.T, out string, steps int) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("text output is not UTF-8:\n%q", out)
	}
	for _, r := range out {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)) {
			t.Fatalf("text output holds %U:\n%q", r, out)
		}
	}
	if n := len(textHeader.FindAllString(out, -1)); n != steps {
		t.Fatalf("text output has %d step headers, want %d:\n%s", n, steps, out)
	}
}

// codeSpans are what Markdown shows as code in a line, where GitHub links
// no mention; mention is a mention GitHub would link in the rest.
var (
	codeSpans = regexp.MustCompile("<code>.*?</code>|`[^`]*`")
	mention   = regexp.MustCompile(`@[A-Za-z0-9]`)
)

// markdownTags are the only HTML the Markdown rendering writes itself.
var markdownTags = strings.NewReplacer("<details>", "", "</details>", "", "<summary>", "", "</summary>", "", "<code>", "", "</code>", "")

func checkMarkdown(t *testing.T, out string, steps int) {
	t.Helper()
	rows, inTable, fence := 0, false, ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case fence != "":
			if strings.TrimRight(line, "`") == "" && len(line) >= len(fence) {
				fence = ""
			}
			continue
		case strings.HasPrefix(line, "```"):
			fence = line[:len(line)-len(strings.TrimLeft(line, "`"))]
			continue
		case line == "|---|---|---|---|":
			inTable = true
			continue
		case inTable && strings.HasPrefix(line, "| "):
			rows++
			if n := cells(line); n != 4 {
				t.Fatalf("table row with %d cells, want 4:\n%s\n\n%s", n, line, out)
			}
		default:
			inTable = false
		}
		if rest := markdownTags.Replace(strings.TrimPrefix(line, "> ")); strings.ContainsAny(rest, "<>") { // "> " quotes the cut notice
			t.Fatalf("raw HTML outside a code fence:\n%s\n\n%s", line, out)
		}
		if strings.IndexFunc(line, unicode.IsControl) >= 0 {
			t.Fatalf("a control character outside a code fence: %q", line)
		}
		if m := mention.FindString(codeSpans.ReplaceAllString(line, "")); m != "" {
			t.Fatalf("an @mention outside code (%q):\n%s", m, line)
		}
	}
	if fence != "" {
		t.Fatalf("a code fence left open:\n%s", out)
	}
	cut := strings.Contains(out, "The plan is cut here")
	if rows != steps && !(cut && rows < steps) {
		t.Fatalf("%d table rows, want %d:\n%s", rows, steps, out)
	}
	if len(out) > diff.MarkdownLimit {
		t.Fatalf("%d characters, over the limit", len(out))
	}
}

// cells counts the cells of a table row: the pipes not escaped, less one.
func cells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n - 1
}

package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/actionsync/actionsync/internal/actiontest"
	"github.com/actionsync/actionsync/internal/diff"
	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/sync"
)

// report is what renders as text, markdown or JSON: a plan, a test report.
type report interface {
	Text(w io.Writer) error
	Markdown(w io.Writer, limit int) error
	JSON(w io.Writer) error
}

var (
	_ report = (*diff.Plan)(nil)
	_ report = (*actiontest.Report)(nil)
)

// render writes r as --output says (markdown within GitHub's comment limit).
func render(r report, output string, w io.Writer) error {
	switch output {
	case "markdown":
		return r.Markdown(w, 0)
	case "json":
		return r.JSON(w)
	}
	return r.Text(w)
}

// renderResult writes what --once did: the summary schema of docs/PLAN.md
// as JSON, or a few lines of text, followed under --test by the test
// report (as text, or as a markdown section for --output markdown).
func renderResult(res *sync.Result, output string, w io.Writer) error {
	if output == "json" {
		return writeJSON(w, res)
	}
	if _, err := io.WriteString(w, summary(res)); err != nil || res.Tests == nil || len(res.Tests.Results) == 0 {
		return err
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return err
	}
	return render(res.Tests, output, w)
}

// textual is a command's result that renders as text, or as JSON in its
// documented schema (its own encoding).
type textual interface {
	Text(w io.Writer) error
}

// renderReport writes r as text or, for output "json", as JSON.
func renderReport(r textual, output string, w io.Writer) error {
	if output == "json" {
		return writeJSON(w, r)
	}
	return r.Text(w)
}

// writeJSON writes v indented, with <, > and & as they are.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func summary(res *sync.Result) string {
	if res.Plan.Empty() {
		return fmt.Sprintf("In sync at %s: nothing to do (%d reads).\n", res.Revision, res.Reads)
	}
	var ok, failed []string
	for _, r := range res.Applied {
		line := fmt.Sprintf("%s %s", r.Kind, diff.TextName(r.Subject))
		if r.Version > 0 {
			line += fmt.Sprintf(" (version %d)", r.Version)
		}
		if r.Err != nil {
			failed = append(failed, line+": "+r.Err.Error())
		} else {
			ok = append(ok, line)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Applied %s: %d done, %d failed.\n", res.Revision, len(ok), len(failed))
	for _, l := range ok {
		b.WriteString("  ok     " + l + "\n")
	}
	for _, l := range failed {
		b.WriteString("  FAILED " + manifest.Escape(strings.ReplaceAll(l, "\n", " ")) + "\n")
	}
	return b.String()
}

// escapeLines escapes each line of an error for a terminal, keeping its
// lines: a repo's errors come one a line.
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = manifest.Escape(l)
	}
	return strings.Join(lines, "\n")
}

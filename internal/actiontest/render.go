package actiontest

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/node"
)

// MarkdownLimit is GitHub's limit on a comment's length, the default bound
// of Markdown.
const MarkdownLimit = 65535

// FormatVersion is the version of the JSON report's schema (docs/TESTS.md).
const FormatVersion = 1

// markdownLogLines bounds the log lines one case shows in markdown; the
// JSON report has them all.
const markdownLogLines = 40

var labels = map[Status]string{StatusPass: "PASS ", StatusFail: "FAIL ", StatusError: "ERROR", StatusSkip: "SKIP "}

var icons = map[Status]string{StatusPass: "✅ pass", StatusFail: "❌ fail", StatusError: "⚠️ error", StatusSkip: "⏭️ skip"}

// Text writes the report for a terminal: a line per case, with the reason
// and the logs under each that did not pass, then the summary. Names are
// quoted and control characters escaped.
func (r *Report) Text(w io.Writer) error {
	var b strings.Builder
	for _, res := range r.Results {
		c := res.Case
		fmt.Fprintf(&b, "%s %s %s (%s)\n", labels[res.Status], textSubject(c), strconv.Quote(c.Name), ms(res.Duration))
		if res.Status == StatusPass {
			continue
		}
		fmt.Fprintf(&b, "      %s:%d\n", quoteIfOdd(c.File), c.Line)
		for _, l := range res.details() {
			b.WriteString("      " + l + "\n")
		}
	}
	fmt.Fprintf(&b, "\n%s (%s)\n", r.Summary(), ms(r.Duration))
	_, err := io.WriteString(w, b.String())
	return err
}

func textSubject(c *Case) string {
	if c.Flow() {
		return "flow " + quoteIfOdd(c.Trigger)
	}
	return quoteIfOdd(c.Action)
}

// quoteIfOdd quotes a name that holds anything but printable characters.
func quoteIfOdd(s string) string {
	if strconv.CanBackquote(s) && !strings.ContainsAny(s, " `") && sanitize(s) == s {
		return s
	}
	return strconv.Quote(s)
}

// Markdown writes the report as a section of a pull-request comment: the
// summary, a table of the cases (errors, then failures, then skips, then passes), then
// a collapsible section per case that did not pass. Every name and message
// is escaped; code's output appears only inside code fences. It stays under
// limit bytes (MarkdownLimit when 0), cut with a line that says so.
func (r *Report) Markdown(w io.Writer, limit int) error {
	if limit <= 0 {
		limit = MarkdownLimit
	}
	cut := fmt.Sprintf("\n> **The report is cut here to fit a comment (%d characters); the full report is in `actionsync test --output json`.**\n", limit)
	var b strings.Builder
	for _, part := range r.markdownParts() {
		if b.Len()+len(part)+len(cut) > limit {
			if b.Len() == 0 {
				b.WriteString(truncate(part, limit-len(cut)))
			}
			b.WriteString(truncate(cut, limit-b.Len()))
			break
		}
		b.WriteString(part)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// markdownParts are the pieces Markdown cuts between: the heading, each
// table row, each section.
func (r *Report) markdownParts() []string {
	parts := []string{"### actionsync test\n\n**" + r.Summary() + ".**\n"}
	if len(r.Results) == 0 {
		return parts
	}
	parts = append(parts, "\n| result | case | action or flow | where |\n|---|---|---|---|\n")
	results := r.ordered()
	for _, res := range results {
		c := res.Case
		parts = append(parts, fmt.Sprintf("| %s | %s | %s | %s |\n", icons[res.Status], mdText(c.Name), mdCode(c.Subject()), mdCode(fmt.Sprintf("%s:%d", c.File, c.Line))))
	}
	for _, res := range results {
		if res.Status != StatusPass {
			parts = append(parts, res.markdownSection())
		}
	}
	return parts
}

func (res Result) markdownSection() string {
	lines := res.details()
	if extra := len(lines) - markdownLogLines; extra > 0 {
		lines = append(lines[:markdownLogLines:markdownLogLines], fmt.Sprintf("(%d more lines in the JSON report)", extra))
	}
	body := strings.Join(lines, "\n")
	fence := "```"
	for strings.Contains(body, fence) {
		fence += "`"
	}
	summary := htmlText(res.Case.Subject() + ": " + res.Case.Name)
	return fmt.Sprintf("\n<details><summary>%s %s</summary>\n\n%stext\n%s\n%s\n\n</details>\n", icons[res.Status], summary, fence, body, fence)
}

// oneLine folds s onto one line, control characters escaped, and breaks
// @mentions, which would notify people from a pull request's comment.
func oneLine(s string) string {
	return strings.ReplaceAll(strings.Join(strings.Fields(sanitize(s)), " "), "@", "@\u200b")
}

// mdText escapes s for a markdown table cell: no HTML, no emphasis, no
// link, no cell break, on one line.
func mdText(s string) string {
	var b strings.Builder
	for _, r := range oneLine(s) {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case strings.ContainsRune("\\`*_[]|~!#", r):
			b.WriteString("\\" + string(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// htmlText escapes s for raw HTML such as <summary>, where markdown is not
// read: every character markdown or HTML gives a meaning to becomes a
// character reference.
func htmlText(s string) string {
	var b strings.Builder
	for _, r := range html.EscapeString(oneLine(s)) {
		if strings.ContainsRune("`*_[]|~!#()\\", r) {
			fmt.Fprintf(&b, "&#%d;", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdCode shows s as inline code in a table cell.
func mdCode(s string) string {
	s = strings.ReplaceAll(strings.Join(strings.Fields(sanitize(s)), " "), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// JSON writes the report in the documented schema (docs/TESTS.md).
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r.jsonReport())
}

// MarshalJSON encodes the report in the schema JSON writes, so that it can
// be a field of a larger document (the --once --test summary).
func (r *Report) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r.jsonReport()); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

func (r *Report) jsonReport() jsonReport {
	out := jsonReport{
		FormatVersion: FormatVersion,
		Summary: jsonSummary{Total: len(r.Results), Passed: r.Count(StatusPass),
			Failed: r.Count(StatusFail), Errors: r.Count(StatusError), Skipped: r.Count(StatusSkip)},
		DurationMS: r.Duration.Milliseconds(),
		Results:    make([]jsonResult, len(r.Results)),
	}
	for i, res := range r.Results {
		out.Results[i] = res.json()
	}
	return out
}

type jsonReport struct {
	FormatVersion int          `json:"format_version"`
	Summary       jsonSummary  `json:"summary"`
	DurationMS    int64        `json:"duration_ms"`
	Results       []jsonResult `json:"results"`
}

type jsonSummary struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errors  int `json:"errors"`
	Skipped int `json:"skipped"`
}

type jsonResult struct {
	Name       string      `json:"name"`
	Kind       string      `json:"kind"`
	Action     string      `json:"action,omitempty"`
	Trigger    string      `json:"trigger"`
	File       string      `json:"file"`
	Line       int         `json:"line"`
	Status     Status      `json:"status"`
	Reason     string      `json:"reason,omitempty"`
	Calls      []jsonCall  `json:"calls"`
	Thrown     *node.Error `json:"thrown,omitempty"`
	TimedOut   bool        `json:"timed_out,omitempty"`
	DeniedBy   string      `json:"denied_by,omitempty"`
	Executions []string    `json:"executions,omitempty"`
	Logs       []node.Log  `json:"logs"`
	DurationMS int64       `json:"duration_ms"`
}

type jsonCall struct {
	Action string          `json:"action"`
	Method string          `json:"method"`
	Args   json.RawMessage `json:"args"`
}

func (res Result) json() jsonResult {
	c := res.Case
	out := jsonResult{Name: c.Name, Kind: "action", Action: c.Action, Trigger: c.Trigger, File: c.File, Line: c.Line,
		Status: res.Status, Reason: res.Reason, Calls: []jsonCall{}, Thrown: res.Thrown, TimedOut: res.TimedOut,
		DeniedBy: res.DeniedBy, Executions: res.Executions, Logs: res.Logs, DurationMS: res.Duration.Milliseconds()}
	if c.Flow() {
		out.Kind = "flow"
	}
	for _, call := range res.Calls {
		out.Calls = append(out.Calls, jsonCall{Action: call.Action, Method: "api." + call.Method, Args: call.Args})
	}
	if out.Logs == nil {
		out.Logs = []node.Log{}
	}
	return out
}

package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/actionsync/actionsync/internal/manifest"
)

// MarkdownLimit is GitHub's limit on a comment's length.
const MarkdownLimit = 65535

var symbols = map[Kind]string{Create: "+", Adopt: "*", Update: "~", Rollback: "<", Deploy: "^", Bind: "=", Delete: "-",
	ModuleCreate: "+", ModuleAdopt: "*", ModuleUpdate: "~", ModuleRollback: "<", ModuleDelete: "-"}

// Summary counts the steps of each kind, in a sentence; the modules' only
// when the plan has module steps.
func (p *Plan) Summary() string {
	if p.Empty() {
		return "No changes: the tenant matches the commit."
	}
	n := map[Kind]int{}
	modules := false
	for _, s := range p.Steps {
		n[s.Kind]++
		modules = modules || s.Kind.IsModule()
	}
	out := fmt.Sprintf("Plan: %d to create, %d to adopt, %d to update, %d to roll back, %d to deploy, %d binding changes, %d to delete",
		n[Create], n[Adopt], n[Update], n[Rollback], n[Deploy], n[Bind], n[Delete])
	if modules {
		out += fmt.Sprintf("; modules: %d to create, %d to adopt, %d to update and publish, %d to roll back, %d to delete",
			n[ModuleCreate], n[ModuleAdopt], n[ModuleUpdate], n[ModuleRollback], n[ModuleDelete])
	}
	return out + "."
}

// subject names the step's action and trigger, its module, or its trigger,
// each name shown by name.
func (s Step) subject(name func(string) string) string {
	switch {
	case s.Kind == Bind:
		return "trigger " + name(s.Trigger)
	case s.Kind.IsModule():
		return "module " + name(s.Module)
	}
	return name(s.Action) + " (" + name(s.Trigger) + ")"
}

// subject names the action, or the module, left alone.
func (u Unmanaged) subject(name func(string) string) string {
	if u.Module != "" {
		return "module " + name(u.Module)
	}
	return name(u.Action)
}

// moduleLines show the pins an action step makes, and the actions a
// module step moves, each name shown by name.
func (s Step) moduleLines(name func(string) string) []string {
	var out []string
	if len(s.Modules) > 0 || len(s.PreviousModules) > 0 {
		out = append(out, "modules: "+pinList(s.Modules, name)+" (was "+pinList(s.PreviousModules, name)+")")
	}
	if len(s.Moves) > 0 {
		moves := make([]string, len(s.Moves))
		for i, m := range s.Moves {
			moves[i] = name(m)
		}
		out = append(out, "moves actions: "+strings.Join(moves, ", "))
	}
	return out
}

func pinList(ps []Pin, name func(string) string) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		// "module v2", not Pin's module@2: an "@" reads as a mention in a
		// pull request's comment.
		parts[i] = name(p.Module) + " (the new version)"
		if p.Version > 0 {
			parts[i] = fmt.Sprintf("%s v%d", name(p.Module), p.Version)
		}
	}
	return strings.Join(parts, ", ")
}

func (s Step) why() string {
	switch s.Kind {
	case Rollback:
		return s.Reason + ": roll back to it, no build"
	case ModuleRollback:
		return s.Reason + ": the draft returns to it, and the actions pin it; no publish"
	}
	return s.Reason
}

// secretLines shows changed secrets by name only.
func (s Step) secretLines() []string {
	out := make([]string, len(s.Secrets))
	for i, name := range s.Secrets {
		if s.Kind == Create || s.Kind == Adopt || s.Kind == ModuleCreate || s.Kind == ModuleAdopt {
			out[i] = TextName(name) + ": (set)"
		} else {
			out[i] = TextName(name) + ": (changed)"
		}
	}
	return out
}

// orderLines shows a bind step's new order and the old one, each name
// shown by name.
func (s Step) orderLines(name func(string) string) []string {
	var out []string
	for i, b := range s.Bindings {
		out = append(out, fmt.Sprintf("%d. %s (%s)", i+1, name(b.Action), name(b.DisplayName)))
	}
	if len(s.Bindings) == 0 {
		out = append(out, "(no bindings)")
	}
	prev := make([]string, len(s.Previous))
	for i, b := range s.Previous {
		prev[i] = name(b.Action)
	}
	return append(out, "was: ["+strings.Join(prev, ", ")+"]")
}

// Text writes the plan for a terminal. Names that are not plain printable
// text are Go-quoted, and reasons and code have their control and format
// characters escaped: nothing in a plan can move the cursor, colour the
// terminal, fake a log line or reorder text with a bidi override.
func (p *Plan) Text(w io.Writer) error {
	var b strings.Builder
	if p.Revision != "" {
		b.WriteString("Commit " + strconv.Quote(p.Revision) + "\n")
	}
	b.WriteString(p.Summary() + "\n")
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "\n%s %-8s %s: %s\n", symbols[s.Kind], s.Kind, s.subject(TextName), manifest.Escape(s.why()))
		for _, l := range s.secretLines() {
			b.WriteString("    secret " + l + "\n")
		}
		for _, l := range s.moduleLines(TextName) {
			b.WriteString("    " + l + "\n")
		}
		if s.Kind == Bind {
			for _, l := range s.orderLines(TextName) {
				b.WriteString("    " + l + "\n")
			}
		}
		if s.CodeDiff != "" && s.Kind != Create && s.Kind != ModuleCreate {
			for _, l := range codeLines(s.CodeDiff) {
				b.WriteString("    " + l + "\n")
			}
		}
	}
	if len(p.Unmanaged) > 0 {
		b.WriteString("\nLeft alone:\n")
		for _, u := range p.Unmanaged {
			fmt.Fprintf(&b, "  %s: %s\n", u.subject(TextName), manifest.Escape(u.Reason))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TextName shows a name as it is when it is plain printable text, and
// Go-quoted otherwise, so that a name cannot pass for something else on a
// terminal (or in a log line).
func TextName(s string) string {
	if plainName(s) {
		return s
	}
	return strconv.Quote(s)
}

func plainName(s string) bool {
	if s == "" || strings.TrimSpace(s) != s || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}

// codeLines splits a diff into lines, each with its control and format
// characters escaped but tabs, which indent code.
func codeLines(diff string) []string {
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	for i, l := range lines {
		parts := strings.Split(l, "\t")
		for j := range parts {
			parts[j] = manifest.Escape(parts[j])
		}
		lines[i] = strings.Join(parts, "\t")
	}
	return lines
}

// JSON writes the plan in the documented schema (docs/PLAN.md).
func (p *Plan) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(p)
}

// Markdown writes the plan as a pull-request comment: a summary table, then a
// collapsible section per step with its code diff. It stays under limit
// characters (MarkdownLimit when 0), cutting with a line that says so.
func (p *Plan) Markdown(w io.Writer, limit int) error {
	if limit <= 0 {
		limit = MarkdownLimit
	}
	head, sections := p.markdownParts()
	cut := fmt.Sprintf("\n> **The plan is cut here to fit a comment (%d characters); the full plan is in `actionsync --dry-run --output json`.**\n", limit)
	var b strings.Builder
	for _, part := range append([]string{head}, sections...) {
		if b.Len()+len(part)+len(cut) > limit {
			if b.Len() == 0 {
				b.WriteString(truncate(part, limit-len(cut)))
			}
			b.WriteString(cut)
			break
		}
		b.WriteString(part)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// truncate cuts s to at most n bytes, at the end of a line, so that a cut
// table keeps whole rows.
func truncate(s string, n int) string {
	if n < 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	return s[:strings.LastIndexByte(s[:n], '\n')+1]
}

func (p *Plan) markdownParts() (string, []string) {
	var h strings.Builder
	h.WriteString("### actionsync plan")
	if p.Revision != "" {
		h.WriteString(" for " + mdCode(TextName(p.Revision)))
	}
	h.WriteString("\n\n" + p.Summary() + "\n")
	if !p.Empty() {
		h.WriteString("\n| | step | action / trigger | why |\n|---|---|---|---|\n")
		for _, s := range p.Steps {
			fmt.Fprintf(&h, "| `%s` | %s | %s | %s |\n", symbols[s.Kind], s.Kind, mdCode(s.subject(TextName)), mdText(s.why()))
		}
	}
	if len(p.Unmanaged) > 0 {
		h.WriteString("\n**Left alone:** ")
		for i, u := range p.Unmanaged {
			if i > 0 {
				h.WriteString("; ")
			}
			fmt.Fprintf(&h, "%s (%s)", mdCode(u.subject(TextName)), mdText(u.Reason))
		}
		h.WriteString("\n")
	}
	var sections []string
	for _, s := range p.Steps {
		if sec := s.markdownSection(); sec != "" {
			sections = append(sections, sec)
		}
	}
	return h.String(), sections
}

func (s Step) markdownSection() string {
	var body strings.Builder
	for _, l := range s.secretLines() {
		body.WriteString("- secret " + mdCode(l) + "\n")
	}
	for _, l := range s.moduleLines(func(n string) string { return mdText(TextName(n)) }) {
		body.WriteString("- " + l + "\n")
	}
	if s.Kind == Bind {
		for _, l := range s.orderLines(func(n string) string { return mdText(TextName(n)) }) {
			body.WriteString("- " + l + "\n")
		}
	}
	if s.CodeDiff != "" {
		code := strings.Join(codeLines(s.CodeDiff), "\n") + "\n"
		fence := "```"
		for strings.Contains(code, fence) {
			fence += "`"
		}
		if body.Len() > 0 {
			body.WriteString("\n")
		}
		body.WriteString(fence + "diff\n" + code + fence + "\n")
	}
	if body.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("\n<details><summary><code>%s</code>: %s</summary>\n\n%s\n</details>\n", mdHTML(s.subject(TextName)), s.Kind, body.String())
}

// MarkdownCode shows a name as inline code in Markdown (a table cell, a
// heading), quoted first if it is not plain printable text, so that nothing
// in it renders, links or breaks the line: what the plan uses for names, for
// other renderings that show names beside it.
func MarkdownCode(name string) string { return mdCode(TextName(name)) }

// mdCode shows text (a name, already through TextName) as code: a code
// span when it holds nothing Markdown or HTML would read, else an HTML
// <code> element with everything escaped.
func mdCode(s string) string {
	if !strings.ContainsAny(s, "`|<>&\n") {
		return "`" + s + "`"
	}
	return "<code>" + mdHTML(s) + "</code>"
}

// mdHTML escapes text for the inside of an HTML element in Markdown: HTML's
// own characters, and those Markdown would read there (emphasis, links,
// code, a table's pipes), as character references.
var mdHTML = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;",
	"|", "&#124;", "`", "&#96;", "*", "&#42;", "_", "&#95;", "[", "&#91;", "]", "&#93;", `\`, "&#92;", "~", "&#126;",
).Replace

// mdText escapes free text (a reason, which may hold names) for a table
// cell or a list item: control characters shown as escapes, no raw HTML, no
// pipe that would end the cell, no emphasis, link or code span, and no
// @mention: a zero-width space after each "@" keeps a name such as
// @org/team from notifying anyone when the plan is posted. (Names shown as
// code need none: GitHub links no mention inside code.)
func mdText(s string) string {
	return mdTextReplacer.Replace(manifest.Escape(s))
}

var mdTextReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;", "|", `\|`,
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "~", `\~`,
	"@", "@&#8203;",
)

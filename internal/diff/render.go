package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
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

func (s Step) subject() string {
	switch {
	case s.Kind == Bind:
		return "trigger " + s.Trigger
	case s.Kind.IsModule():
		return "module " + s.Module
	}
	return s.Action + " (" + s.Trigger + ")"
}

func (u Unmanaged) subject() string {
	if u.Module != "" {
		return "module " + u.Module
	}
	return u.Action
}

// moduleLines show the pins an action step makes, and the actions a
// module step moves.
func (s Step) moduleLines() []string {
	var out []string
	if len(s.Modules) > 0 || len(s.PreviousModules) > 0 {
		out = append(out, "modules: "+pinList(s.Modules)+" (was "+pinList(s.PreviousModules)+")")
	}
	if len(s.Moves) > 0 {
		out = append(out, "moves actions: "+strings.Join(s.Moves, ", "))
	}
	return out
}

func pinList(ps []Pin) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.String()
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
			out[i] = name + ": (set)"
		} else {
			out[i] = name + ": (changed)"
		}
	}
	return out
}

func (s Step) orderLines() []string {
	var out []string
	for i, b := range s.Bindings {
		out = append(out, fmt.Sprintf("%d. %s (%s)", i+1, b.Action, b.DisplayName))
	}
	if len(s.Bindings) == 0 {
		out = append(out, "(no bindings)")
	}
	prev := make([]string, len(s.Previous))
	for i, b := range s.Previous {
		prev[i] = b.Action
	}
	return append(out, "was: ["+strings.Join(prev, ", ")+"]")
}

// Text writes the plan for a terminal.
func (p *Plan) Text(w io.Writer) error {
	var b strings.Builder
	if p.Revision != "" {
		b.WriteString("Commit " + strconv.Quote(p.Revision) + "\n")
	}
	b.WriteString(p.Summary() + "\n")
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "\n%s %-8s %s: %s\n", symbols[s.Kind], s.Kind, s.subject(), s.why())
		for _, l := range s.secretLines() {
			b.WriteString("    secret " + l + "\n")
		}
		for _, l := range s.moduleLines() {
			b.WriteString("    " + l + "\n")
		}
		if s.Kind == Bind {
			for _, l := range s.orderLines() {
				b.WriteString("    " + l + "\n")
			}
		}
		if s.CodeDiff != "" && s.Kind != Create && s.Kind != ModuleCreate {
			for _, l := range strings.SplitAfter(strings.TrimSuffix(s.CodeDiff, "\n"), "\n") {
				b.WriteString("    " + strings.TrimSuffix(l, "\n") + "\n")
			}
		}
	}
	if len(p.Unmanaged) > 0 {
		b.WriteString("\nLeft alone:\n")
		for _, u := range p.Unmanaged {
			fmt.Fprintf(&b, "  %s: %s\n", u.subject(), u.Reason)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
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

func truncate(s string, n int) string {
	if n < 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

func (p *Plan) markdownParts() (string, []string) {
	var h strings.Builder
	h.WriteString("### actionsync plan")
	if p.Revision != "" {
		h.WriteString(" for " + mdCode(p.Revision))
	}
	h.WriteString("\n\n" + p.Summary() + "\n")
	if !p.Empty() {
		h.WriteString("\n| | step | action / trigger | why |\n|---|---|---|---|\n")
		for _, s := range p.Steps {
			fmt.Fprintf(&h, "| `%s` | %s | `%s` | %s |\n", symbols[s.Kind], s.Kind, s.subject(), mdEscape(s.why()))
		}
	}
	if len(p.Unmanaged) > 0 {
		h.WriteString("\n**Left alone:** ")
		for i, u := range p.Unmanaged {
			if i > 0 {
				h.WriteString("; ")
			}
			fmt.Fprintf(&h, "`%s` (%s)", u.subject(), mdEscape(u.Reason))
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
		body.WriteString("- secret `" + l + "`\n")
	}
	for _, l := range s.moduleLines() {
		body.WriteString("- " + mdEscape(l) + "\n")
	}
	if s.Kind == Bind {
		for _, l := range s.orderLines() {
			body.WriteString("- " + mdEscape(l) + "\n")
		}
	}
	if s.CodeDiff != "" {
		fence := "```"
		for strings.Contains(s.CodeDiff, fence) {
			fence += "`"
		}
		if body.Len() > 0 {
			body.WriteString("\n")
		}
		body.WriteString(fence + "diff\n" + s.CodeDiff + fence + "\n")
	}
	if body.Len() == 0 {
		return ""
	}
	return fmt.Sprintf("\n<details><summary><code>%s</code>: %s</summary>\n\n%s\n</details>\n", s.subject(), s.Kind, body.String())
}

// mdCode shows s as inline code, fenced by more backticks than it holds,
// with its line breaks folded, so that nothing in it renders as Markdown.
func mdCode(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + " " + s + " " + fence
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;").Replace(s)
}

package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/actionsync/actionsync/internal/daemon"
	"github.com/actionsync/actionsync/internal/diff"
)

// envPlan is one environment's part of `--dry-run --env all`: its plan, or
// why there is none.
type envPlan struct {
	Env  string
	Ref  string
	Plan *diff.Plan
	Err  error
}

// envPlans render as one report with a section per environment, in
// actionsync.yaml's order.
type envPlans []envPlan

var _ report = envPlans(nil)

// dryRunAll plans every environment, each against its own tenant, and
// prints one report: exit 1 when any environment could not be planned, 2
// when any has changes pending, 0 otherwise.
func (c *syncCommand) dryRunAll(ctx context.Context, targets []target, m *daemon.Metrics, log *slog.Logger, out streams) (int, error) {
	plans := make(envPlans, len(targets))
	for i, t := range targets {
		plans[i] = envPlan{Env: t.name, Ref: t.ref, Err: t.err}
		if t.err != nil {
			continue
		}
		eng, err := c.newEngine(ctx, t, m.Observer(t.name), log)
		if err == nil {
			p, perr := eng.Plan(ctx)
			if err = perr; err == nil {
				plans[i].Plan = p.Changes
			}
		}
		plans[i].Err = err
	}
	if err := render(plans, c.output, out.stdout); err != nil {
		return exitError, err
	}
	failed, pending := plans.counts()
	switch {
	case failed > 0:
		return exitError, fmt.Errorf("%d of %d environments could not be planned (their sections say why)", failed, len(plans))
	case pending > 0:
		return exitPending, nil
	}
	return exitOK, nil
}

func (ps envPlans) counts() (failed, pending int) {
	for _, p := range ps {
		switch {
		case p.Err != nil:
			failed++
		case !p.Plan.Empty():
			pending++
		}
	}
	return failed, pending
}

func (p envPlan) summary() string {
	if p.Err != nil {
		return "could not be planned"
	}
	return p.Plan.Summary()
}

// Text writes a section per environment, each headed by its name.
func (ps envPlans) Text(w io.Writer) error {
	for i, p := range ps {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "== Environment %s (branch %s) ==\n", strconv.Quote(p.Env), strconv.Quote(p.Ref))
		if p.Err != nil {
			if _, err := fmt.Fprintf(w, "Error: %v\n", p.Err); err != nil {
				return err
			}
			continue
		}
		if err := p.Plan.Text(w); err != nil {
			return err
		}
	}
	return nil
}

// Markdown writes one PR comment: a table of the environments, then a
// section per environment with its own heading and plan, each plan cut to
// its share of limit.
func (ps envPlans) Markdown(w io.Writer, limit int) error {
	if limit <= 0 {
		limit = diff.MarkdownLimit
	}
	var b strings.Builder
	fmt.Fprintf(&b, "## actionsync: %d environments\n\n| environment | branch | plan |\n|---|---|---|\n", len(ps))
	for _, p := range ps {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", diff.MarkdownCode(p.Env), diff.MarkdownCode(p.Ref), p.summary())
	}
	share := (limit - b.Len()) / max(len(ps), 1)
	for _, p := range ps {
		var sec strings.Builder
		fmt.Fprintf(&sec, "\n## Environment %s, following %s\n\n", diff.MarkdownCode(p.Env), diff.MarkdownCode(p.Ref))
		if p.Err != nil {
			sec.WriteString("**Could not be planned:**\n\n" + fenced(p.Err.Error()))
		} else if err := p.Plan.Markdown(&sec, share-sec.Len()); err != nil {
			return err
		}
		b.WriteString(sec.String())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// JSON writes {"format_version", "environments": {NAME: {"ref", "plan" |
// "error"}}}, each plan in docs/PLAN.md's schema.
func (ps envPlans) JSON(w io.Writer) error {
	type section struct {
		Ref   string          `json:"ref"`
		Plan  json.RawMessage `json:"plan,omitempty"`
		Error string          `json:"error,omitempty"`
	}
	out := struct {
		FormatVersion int                `json:"format_version"`
		Environments  map[string]section `json:"environments"`
	}{FormatVersion: 1, Environments: map[string]section{}}
	for _, p := range ps {
		s := section{Ref: p.Ref}
		if p.Err != nil {
			s.Error = p.Err.Error()
		} else {
			var b strings.Builder
			if err := p.Plan.JSON(&b); err != nil {
				return err
			}
			s.Plan = json.RawMessage(b.String())
		}
		out.Environments[p.Env] = s
	}
	return writeJSON(w, out)
}

// fenced shows text as a code block that nothing in it can close.
func fenced(text string) string {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	return fence + "\n" + strings.TrimRight(text, "\n") + "\n" + fence + "\n"
}

// Package cli is actionsync's command line: a table of commands, each a
// small type with its own flags (each flag with an ACTIONSYNC_* environment
// twin), all validated before anything starts.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// command is one subcommand of actionsync.
type command interface {
	// flags binds the command's flags to fs.
	flags(fs *flag.FlagSet)
	// validate checks every flag (and the environment the command reads)
	// before anything starts, and reports every problem at once.
	validate() error
	// run runs the command and returns its exit code; an error is printed
	// and means exit 1.
	run(ctx context.Context, out streams) (int, error)
}

// positional is a command that takes arguments after its flags.
type positional interface {
	setArgs(args []string)
}

// streams are where a command writes: its result to stdout, its logs and
// errors to stderr.
type streams struct {
	stdout, stderr io.Writer
}

// entry is one row of the command table.
type entry struct {
	name     string
	synopsis string
	new      func() command
}

// defaultCommand runs when the first argument is a flag or absent.
const defaultCommand = "sync"

// table lists the commands in the order help shows them.
func table() []entry {
	return []entry{
		{"sync", "make the tenant match the commit: --dry-run previews, --once applies and exits, otherwise a daemon (the default command)", func() command { return &syncCommand{} }},
		{"test", "run the repo's action and flow test cases under Node.js on this machine, with no tenant, or with --remote on the tenant's drafts (ACTION... selects)", func() command { return &testCommand{} }},
		{"status", "which commit the tenant runs: per action its live version and the commit it matches; exit 0 all match, 2 anything differs", func() command { return &statusCommand{} }},
		{"export", "write the tenant's actions in the repo format, to start a repo from a tenant", func() command { return &exportCommand{} }},
		{"local-tenant", "serve a local Auth0 tenant (the Actions API) for demos, tests and other tools", func() command { return &localTenantCommand{} }},
	}
}

// Run runs actionsync with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	code, err := dispatch(ctx, args, streams{stdout, stderr})
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "actionsync: %s\n", escapeLines(err.Error()))
		return exitError
	}
	return code
}

func dispatch(ctx context.Context, args []string, out streams) (int, error) {
	name := defaultCommand
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if name == "help" {
		return help(args, out.stdout)
	}
	e, ok := lookup(name)
	if !ok {
		return exitError, fmt.Errorf("unknown command %q (see actionsync help)", name)
	}
	cmd := e.new()
	fs := newFlagSet(e, out.stderr)
	cmd.flags(fs)
	rest, err := parse(fs, args, osGetenv)
	if err != nil {
		return exitError, err
	}
	if p, ok := cmd.(positional); ok {
		p.setArgs(rest)
	} else if len(rest) > 0 {
		return exitError, fmt.Errorf("%s: unexpected argument %q", e.name, rest[0])
	}
	if err := cmd.validate(); err != nil {
		return exitError, err
	}
	return cmd.run(ctx, out)
}

func lookup(name string) (entry, bool) {
	for _, e := range table() {
		if e.name == name {
			return e, true
		}
	}
	return entry{}, false
}

// help lists the commands, or with a command name, that command's flags.
func help(args []string, w io.Writer) (int, error) {
	if len(args) > 0 {
		e, ok := lookup(args[0])
		if !ok {
			return exitError, fmt.Errorf("unknown command %q (see actionsync help)", args[0])
		}
		fs := newFlagSet(e, w)
		e.new().flags(fs)
		fs.Usage()
		return exitOK, nil
	}
	fmt.Fprintln(w, "usage: actionsync [COMMAND] [flags]")
	fmt.Fprintln(w, "\ncommands:")
	for _, e := range table() {
		fmt.Fprintf(w, "  %-13s %s\n", e.name, e.synopsis)
	}
	fmt.Fprintln(w, "\nactionsync COMMAND --help lists a command's flags; every flag has an ACTIONSYNC_* environment twin.")
	return exitOK, nil
}

// newLogger logs text to a terminal and JSON otherwise, unless format says.
func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

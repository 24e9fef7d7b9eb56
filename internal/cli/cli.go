package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
)

// Run runs actionsync with args (without the program name) and returns the
// process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	log := newLogger(stderr, "")
	var err error
	if len(args) > 0 && args[0] == "local-tenant" {
		err = runLocalTenant(ctx, args[1:], stderr, log)
	} else {
		var code int
		code, err = runSync(ctx, args, stdout, stderr)
		if err == nil {
			return code
		}
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "actionsync: %v\n", err)
		return exitError
	}
	return exitOK
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

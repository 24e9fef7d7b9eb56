package cli

import (
	"context"
	"errors"
	"flag"

	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/status"
)

// statusCommand is `actionsync status`: which commit the tenant runs.
type statusCommand struct {
	repo   repoFlags
	log    logFlags
	output string
	env    auth0Env
}

func (c *statusCommand) flags(fs *flag.FlagSet) {
	c.repo.bind(fs)
	c.log.bind(fs)
	fs.StringVar(&c.output, "output", "text", "text or json")
}

func (c *statusCommand) validate() error {
	c.env = readAuth0Env(osGetenv)
	return errors.Join(c.repo.validate(), c.log.validate(), c.env.validate(), c.env.checkBuiltin(false),
		oneOf("output", c.output, "text", "json"))
}

// run reports: exit 0 when the tenant matches the commit, 2 when anything
// differs.
func (c *statusCommand) run(ctx context.Context, out streams) (int, error) {
	log := newLogger(out.stderr, c.log.format)
	conn, err := connect(c.env, connOptions{readOnly: true, log: log})
	if err != nil {
		return exitError, err
	}
	src := c.repo.source()
	hist, _ := src.(status.History)
	rep, err := status.Check(ctx, live.NewClient(conn.api), src, status.Options{History: hist})
	if err != nil {
		return exitError, err
	}
	switch err := renderReport(rep, c.output, out.stdout); {
	case err != nil:
		return exitError, err
	case rep.InSync:
		return exitOK, nil
	}
	return exitPending, nil
}

package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/actionsync/actionsync/internal/export"
	"github.com/actionsync/actionsync/internal/live"
	"github.com/actionsync/actionsync/internal/manifest"
)

// exportCommand is `actionsync export`: it writes the tenant's actions in
// the repo format.
type exportCommand struct {
	out, owner, output string
	force              bool
	log                logFlags
	env                auth0Env
	envName            string
	repo               repoFlags // with --env: where actionsync.yaml is
}

func (c *exportCommand) flags(fs *flag.FlagSet) {
	c.log.bind(fs)
	c.repo.bind(fs)
	bindEnv(fs, &c.envName, ", read from --repo; the export writes it, with its secrets as placeholders named per environment")
	fs.StringVar(&c.out, "out", "", "the directory to write the repo to: absent or empty, unless --force")
	fs.BoolVar(&c.force, "force", false, "write into a directory that is not empty, replacing the files the export writes")
	fs.StringVar(&c.owner, "owner", "", "write actionsync.yaml naming this owner (unset: no actionsync.yaml, so the default owner, actionsync)")
	fs.StringVar(&c.output, "output", "text", "the report: text or json")
}

func (c *exportCommand) validate() error {
	c.env = readAuth0Env(osGetenv)
	errs := []error{c.log.validate(), oneOf("output", c.output, "text", "json"), validEnv(c.envName, false)}
	switch {
	case c.envName != "":
		errs = append(errs, c.repo.validate())
	case c.repo.repo != "":
		errs = append(errs, errors.New("--repo is read for --env only: without it the export reads AUTH0_DOMAIN's tenant"))
	default:
		errs = append(errs, c.env.validate(), c.env.checkBuiltin(false))
	}
	if c.out == "" {
		errs = append(errs, errors.New("--out is required"))
	} else {
		errs = append(errs, export.CheckDir(c.out, c.force))
	}
	if c.owner != "" {
		errs = append(errs, manifest.ValidOwner(c.owner))
	}
	return errors.Join(errs...)
}

func (c *exportCommand) run(ctx context.Context, out streams) (int, error) {
	defer c.repo.close()
	log := newLogger(out.stderr, c.log.format)
	t := target{auth: c.env}
	if c.envName != "" {
		var err error
		if t, err = c.repo.target(ctx, c.envName, c.env); err != nil {
			return exitError, err
		}
	}
	conn, err := connect(t.auth, connOptions{readOnly: true, log: log})
	if err != nil {
		return exitError, err
	}
	st, err := export.Read(ctx, live.NewClient(conn.api))
	if err != nil {
		return exitError, err
	}
	rep, err := export.Write(c.out, st, export.Options{Owner: c.owner, Force: c.force, Environment: t.settings})
	if err != nil {
		return exitError, err
	}
	if err := renderReport(rep, c.output, out.stdout); err != nil {
		return exitError, err
	}
	if len(rep.Problems) > 0 {
		return exitError, fmt.Errorf("exported to %s, but the repo does not load yet: %d problems to fix before syncing", c.out, len(rep.Problems))
	}
	return exitOK, nil
}

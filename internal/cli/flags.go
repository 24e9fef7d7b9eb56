package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/actionsync/actionsync/internal/manifest"
	"github.com/actionsync/actionsync/internal/source"
	"github.com/actionsync/actionsync/internal/sync"
)

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1
	exitPending = 2 // --dry-run only: changes would be made
)

var osGetenv = os.Getenv

// envName is the ACTIONSYNC_* twin of a flag: --build-delay is
// ACTIONSYNC_BUILD_DELAY.
func envName(flagName string) string {
	return "ACTIONSYNC_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args into fs after taking defaults from the environment
// twins; a flag on the command line wins over its twin. Flags may come
// before, between or after the positional arguments it returns.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string) ([]string, error) {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("$%s: %w", envName(f.Name), e)
			}
		}
	})
	var positional []string
	for err == nil {
		if err = fs.Parse(args); err != nil || fs.NArg() == 0 {
			break
		}
		positional, args = append(positional, fs.Arg(0)), fs.Args()[1:]
	}
	return positional, err
}

func newFlagSet(e entry, w io.Writer) *flag.FlagSet {
	name := "actionsync " + e.name
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	fs.Usage = func() {
		fmt.Fprintf(w, "usage: %s [flags]\n\n%s\n\nflags:\n", name, e.synopsis)
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = " (default " + f.DefValue + ")"
			}
			fmt.Fprintf(w, "  --%s, $%s\n    \t%s%s\n", f.Name, envName(f.Name), f.Usage, def)
		})
	}
	return fs
}

// oneOf checks that a flag's value is one of want.
func oneOf(flagName, got string, want ...string) error {
	for _, w := range want {
		if got == w {
			return nil
		}
	}
	return fmt.Errorf("--%s %q: want %s", flagName, got, strings.Join(want, ", "))
}

// repoFlags say where the repo is: a local path, or a Git URL with the
// credentials to reach it.
type repoFlags struct {
	repo, branch, path                            string
	tokenFile, gitUsername, sshKeyFile, knownHost string
	// opened are the Git remotes source has made: each holds the commit it
	// fetched on disk until closed.
	opened []io.Closer
}

func (c *repoFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.repo, "repo", "", "the repo to sync: a local path, or a Git URL (https://, ssh://, git@host:path, file://; http:// on loopback only)")
	fs.StringVar(&c.branch, "branch", "main", "the branch of a Git URL to follow")
	fs.StringVar(&c.path, "path", "", "the subfolder of the repo that holds actions/ and triggers.yaml")
	fs.StringVar(&c.tokenFile, "git-token-file", "", "file holding an HTTPS token for the Git remote (re-read on every fetch)")
	fs.StringVar(&c.gitUsername, "git-username", "", "username that goes with --git-token-file (default x-access-token)")
	fs.StringVar(&c.sshKeyFile, "ssh-key-file", "", "file holding an SSH private key for the Git remote")
	fs.StringVar(&c.knownHost, "known-hosts-file", "", "known_hosts file pinning the SSH server's key (required with --ssh-key-file)")
}

// private are the files and directories of this machine a repo's
// from_file may not read: the Git credentials; the repo's checkout when it
// is local, and the Git work tree that holds it (their .git/config may hold
// a token; any .git is refused anyway, see manifest); the built-in
// tenant's directory; the usual homes of credentials ($KUBECONFIG,
// $XDG_CONFIG_HOME, homeCredentials, ...); and more (the other credential
// files of the command).
func (c *repoFlags) private(more ...string) []string {
	out := append([]string{c.tokenFile, c.sshKeyFile, builtinDir}, more...)
	if !c.isURL() {
		out = append(out, c.repo, workTreeOf(c.repo))
	}
	out = append(out, filepath.SplitList(os.Getenv("KUBECONFIG"))...)
	out = append(out, os.Getenv("XDG_CONFIG_HOME"), os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"), os.Getenv("AWS_SHARED_CREDENTIALS_FILE"))
	if home, err := os.UserHomeDir(); err == nil {
		for _, p := range homeCredentials {
			out = append(out, filepath.Join(home, p))
		}
	}
	return slices.DeleteFunc(out, func(p string) bool { return p == "" })
}

// homeCredentials are where tools keep credentials in a home directory.
var homeCredentials = []string{".kube", ".ssh", ".git-credentials", ".gitconfig", ".netrc", ".config", ".docker", ".npmrc", ".aws", ".azure", ".gnupg", ".pypirc"}

// workTreeOf is the Git work tree that holds dir (the nearest directory
// from dir up with a .git), or "".
func workTreeOf(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r // climb from where the repo is, not from a link's path
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Lstat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

func (c *repoFlags) validate() error {
	var errs []error
	if c.repo == "" {
		errs = append(errs, errors.New("--repo is required"))
	}
	if c.sshKeyFile != "" && c.knownHost == "" {
		errs = append(errs, errors.New("--ssh-key-file needs --known-hosts-file: the server's key must be pinned"))
	}
	if fi, err := os.Stat(c.repo); c.repo != "" && !c.isURL() && (err != nil || !fi.IsDir()) {
		errs = append(errs, fmt.Errorf("--repo %s: not a directory, nor a Git URL", c.repo))
	}
	if c.isURL() {
		errs = append(errs, checkRepoURL(c.repo))
	}
	return errors.Join(errs...)
}

// checkRepoURL accepts the ways to reach a Git remote that authenticate
// the server or stay on the machine: https, ssh (ssh:// or git@host:path),
// file, and plain http on loopback alone (a local test server). Anything
// else (ftp://, git://, http to another host) is refused rather than taken
// for one of them. Errors never show the URL's password.
func checkRepoURL(repo string) error {
	if strings.HasPrefix(repo, "git@") {
		return nil
	}
	u, err := url.Parse(repo)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return fmt.Errorf("--repo %s: %w", redactURL(repo), uerr.Err)
	}
	shown := u.Redacted()
	switch {
	case u.Scheme == "file":
		return nil
	case u.Scheme != "https" && u.Scheme != "ssh" && u.Scheme != "http":
		return fmt.Errorf("--repo %s: scheme %q: want https://, ssh://, git@host:path, file://, or http:// on loopback", shown, u.Scheme)
	case u.Host == "":
		return fmt.Errorf("--repo %s: no host", shown)
	case u.Scheme == "http" && !manifest.LoopbackHost(u.Hostname()):
		return fmt.Errorf("--repo %s: plain HTTP is accepted for loopback addresses only; use https://", shown)
	}
	return nil
}

// redactURL hides the password of a URL url.Parse refuses, as
// url.URL.Redacted does of those it reads.
func redactURL(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority, path, _ := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	if user, _, hasPassword := strings.Cut(authority[:at], ":"); hasPassword {
		authority = user + ":xxxxx" + authority[at:]
	}
	return scheme + "://" + authority + "/" + path
}

// isURL tells a Git URL from a local path.
func (c *repoFlags) isURL() bool {
	return strings.Contains(c.repo, "://") || strings.HasPrefix(c.repo, "git@")
}

// source is the commit source --repo names; a command that calls it
// defers close.
func (c *repoFlags) source() sync.Source {
	if c.isURL() {
		r := &source.Remote{URL: c.repo, Branch: c.branch, Sub: c.path, Auth: source.Auth{
			TokenFile: c.tokenFile, Username: c.gitUsername, SSHKeyFile: c.sshKeyFile, KnownHostsFile: c.knownHost,
		}}
		c.opened = append(c.opened, r)
		return r
	}
	return source.Worktree(filepath.Join(c.repo, c.path))
}

// close releases what every source made so far holds (a fetched commit
// on disk).
func (c *repoFlags) close() {
	for _, o := range c.opened {
		o.Close()
	}
	c.opened = nil
}

// logFlags choose the log format.
type logFlags struct{ format string }

func (c *logFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "log-format", "", "text or json (default: text on a terminal, json otherwise)")
}

func (c *logFlags) validate() error {
	if c.format == "" {
		return nil
	}
	return oneOf("log-format", c.format, "text", "json")
}

package cli

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// flagSets are the flags of every command in the table.
func flagSets() map[string]*flag.FlagSet {
	out := map[string]*flag.FlagSet{}
	for _, e := range table() {
		fs := newFlagSet(e, io.Discard)
		e.new().flags(fs)
		out[e.name] = fs
	}
	return out
}

func syncFlags(c *syncCommand) *flag.FlagSet {
	e, _ := lookup("sync")
	fs := newFlagSet(e, io.Discard)
	c.flags(fs)
	return fs
}

// TestREADMEListsEveryFlag: the README documents each command's flags,
// each with its ACTIONSYNC_* twin, in the command's own section.
func TestREADMEListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, fs := range flagSets() {
		_, section, ok := strings.Cut(string(readme), "### `actionsync "+name+"`\n")
		if !ok {
			t.Errorf("the README has no section for %s", name)
			continue
		}
		section, _, _ = strings.Cut(section, "\n#")
		fs.VisitAll(func(f *flag.Flag) {
			want := "--" + f.Name + ", $" + envName(f.Name)
			if !strings.Contains(section, want) {
				t.Errorf("%s: its README section lacks %q", name, want)
			}
		})
	}
}

// TestExamplesUseRealFlags: the Kubernetes example passes only flags that
// exist.
func TestExamplesUseRealFlags(t *testing.T) {
	b, err := os.ReadFile("../../examples/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `yaml:"args"`
					} `yaml:"containers"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	if err := yaml.NewDecoder(strings.NewReader(string(b))).Decode(&dep); err != nil {
		t.Fatal(err)
	}
	args := dep.Spec.Template.Spec.Containers[0].Args
	if len(args) == 0 {
		t.Fatal("no args in the example")
	}
	if err := syncFlags(&syncCommand{}).Parse(args); err != nil {
		t.Errorf("the example's args do not parse: %v", err)
	}
}

func TestEnvTwins(t *testing.T) {
	var c syncCommand
	fs := syncFlags(&c)
	env := map[string]string{"ACTIONSYNC_INTERVAL": "45s", "ACTIONSYNC_PRUNE": "true", "ACTIONSYNC_OUTPUT": "json"}
	if err := parse(fs, []string{"--output", "markdown"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.daemon.interval.String() != "45s" || !c.engine.prune || c.output != "markdown" {
		t.Errorf("interval %v prune %v output %q; want the twins, with the flag winning", c.daemon.interval, c.engine.prune, c.output)
	}
}

package cli

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func syncFlags(c *syncCommand) *flag.FlagSet {
	e, _ := lookup("sync")
	fs := newFlagSet(e, io.Discard)
	c.flags(fs)
	return fs
}

var update = flag.Bool("update", false, "rewrite the README's command sections from the flags")

// TestREADMEListsEveryFlag: the README has a section per command, and its
// flag listing is the command's own (rewritten with -update), each flag
// with its ACTIONSYNC_* twin; the command list is actionsync help's.
func TestREADMEListsEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	var help strings.Builder
	dispatch(t.Context(), []string{"help"}, streams{&help, io.Discard})
	text = replaceBlock(t, text, "## Commands and flags\n", help.String())
	for _, e := range table() {
		var usage strings.Builder
		fs := newFlagSet(e, &usage)
		e.new().flags(fs)
		fs.Usage()
		_, listing, _ := strings.Cut(usage.String(), "flags:\n")
		text = replaceBlock(t, text, "### `actionsync "+e.name+"`\n", listing)
	}
	if *update {
		if err := os.WriteFile("../../README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if text != string(readme) {
		t.Error("the README's commands and flags differ from the code's (go test ./internal/cli -update rewrites them)")
	}
}

// replaceBlock replaces the first fenced block after heading with body.
func replaceBlock(t *testing.T, text, heading, body string) string {
	t.Helper()
	before, section, ok := strings.Cut(text, heading)
	if !ok {
		t.Errorf("the README has no %q", strings.TrimSpace(heading))
		return text
	}
	pre, rest, ok1 := strings.Cut(section, "```\n")
	_, post, ok2 := strings.Cut(rest, "```\n")
	if !ok1 || !ok2 || strings.Contains(pre, "\n#") {
		t.Errorf("no code block under %q", strings.TrimSpace(heading))
		return text
	}
	return before + heading + pre + "```\n" + body + "```\n" + post
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
	if _, err := parse(fs, []string{"--output", "markdown"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.daemon.interval.String() != "45s" || !c.engine.prune || c.output != "markdown" {
		t.Errorf("interval %v prune %v output %q; want the twins, with the flag winning", c.daemon.interval, c.engine.prune, c.output)
	}
}

package ctl

import (
	"bytes"
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
)

// TestEveryCommandHasHelp runs -h, --help and `help <command>` of idvctl and
// of every command and dlq subcommand, as a user types them, and checks what
// they read: exit 0, the help on stdout (nothing on stderr), a purpose line,
// a Usage line, every flag the command accepts, and two examples of it.
func TestEveryCommandHasHelp(t *testing.T) {
	type target struct {
		help *helpText
		args [][]string
	}
	var targets []target
	for _, c := range commands {
		if c.name == "dlq" || c.name == "subscriber" {
			continue // below, with their subcommands
		}
		h := commandHelp(t, c.name)
		targets = append(targets, target{h, [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}, {"--json", c.name, "-h"}}})
	}
	for _, sc := range dlqSubcommands {
		sub := strings.TrimPrefix(sc.help.name, "dlq ")
		targets = append(targets, target{sc.help, [][]string{{"dlq", sub, "-h"}, {"dlq", sub, "--help"}}})
	}
	for _, sc := range subscriberSubcommands {
		sub := strings.TrimPrefix(sc.help.name, "subscriber ")
		targets = append(targets, target{sc.help, [][]string{{"subscriber", sub, "-h"}, {"subscriber", sub, "--help"}}})
	}
	if len(targets) < 8 {
		t.Fatalf("only %d commands found", len(targets))
	}
	for _, tg := range targets {
		for _, args := range tg.args {
			t.Run(strings.Join(args, " "), func(t *testing.T) {
				e, out := runHelp(t, args)
				checkHelp(t, out, *tg.help)
				fs := e.lastFlagSet(tg.help.name)
				if fs == nil {
					t.Fatalf("no flag set for %q", tg.help.name)
				}
				fs.VisitAll(func(f *flag.Flag) {
					if !strings.Contains(out, "  -"+f.Name+" ") && !strings.Contains(out, "  -"+f.Name+"\n") {
						t.Errorf("help lacks flag -%s:\n%s", f.Name, out)
					}
				})
			})
		}
	}
}

// TestDLQHelpHasEverySubcommandsFlags: `idvctl dlq -h` used to list the
// subcommands without their flags.
func TestDLQHelpHasEverySubcommandsFlags(t *testing.T) {
	for _, args := range [][]string{{"dlq", "-h"}, {"dlq", "--help"}, {"help", "dlq"}} {
		_, out := runHelp(t, args)
		checkHelp(t, out, dlqHelp)
		for _, sc := range dlqSubcommands {
			checkHelp(t, out[strings.Index(out, "idvctl "+sc.help.name+": "):], *sc.help)
		}
		for _, f := range []string{"-stage", "-name", "-since", "-all", "-body", "-dry-run", "-keep", "-yes", "-json"} {
			if !strings.Contains(out, "  "+f) {
				t.Errorf("%s: lacks %s", strings.Join(args, " "), f)
			}
		}
	}
}

func TestTopLevelHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		_, out := runHelp(t, args)
		first, _, _ := strings.Cut(out, "\n")
		if !strings.HasPrefix(first, "idvctl: ") || len(first) < 40 {
			t.Errorf("%v: purpose line %q", args, first)
		}
		for _, want := range []string{"\nUsage: idvctl ", "\nCommands:\n", "  dlq ", "  send ", "  -config string", "  -timeout duration", "(default 10s)", "\nExamples:\n  idvctl ", "exit codes: 0 ok"} {
			if !strings.Contains(out, want) {
				t.Errorf("%v: lacks %q:\n%s", args, want, out)
			}
		}
	}
	_, out := runHelp(t, []string{"--version"})
	if !strings.HasPrefix(out, "idvctl ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("--version: %q", out)
	}
}

// TestBadFlagPointsToHelp: a wrong flag is exit 2 with the usage line on stderr.
func TestBadFlagPointsToHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"dlq", "list", "--nope"}, &out, &errb, config.Env{}); code != ExitUsage {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(errb.String(), "usage: idvctl dlq list ") || !strings.Contains(errb.String(), "idvctl dlq list -h for more") || out.Len() > 0 {
		t.Errorf("stdout %q, stderr %q", out.String(), errb.String())
	}
}

func runHelp(t *testing.T, args []string) (*Env, string) {
	t.Helper()
	var out, errb bytes.Buffer
	var env *Env
	testHookEnv = func(e *Env) { env = e }
	defer func() { testHookEnv = nil }()
	if code := Main(context.Background(), args, &out, &errb, config.Env{}); code != ExitOK {
		t.Fatalf("%v: exit %d, want 0; stderr:\n%s", args, code, errb.String())
	}
	if errb.Len() > 0 {
		t.Errorf("%v wrote to stderr: %s", args, errb.String())
	}
	return env, out.String()
}

func checkHelp(t *testing.T, out string, h helpText) {
	t.Helper()
	first, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(first, "idvctl "+h.name+": ") || len(first) < len("idvctl "+h.name+": ")+20 {
		t.Errorf("%s: purpose line %q", h.name, first)
	}
	if !strings.Contains(out, "\nUsage: idvctl "+h.name) {
		t.Errorf("%s: no Usage line:\n%s", h.name, out)
	}
	_, ex, ok := strings.Cut(out, "\nExamples:\n")
	n := 0
	for _, line := range strings.Split(ex, "\n") {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		if strings.HasPrefix(line, "  idvctl ") && strings.Contains(line, h.name+" ") && strings.Contains(line, " # ") {
			n++
		}
		if cmd, _, _ := strings.Cut(line, " # "); strings.Contains(cmd, " | ") {
			t.Errorf("%s: an example reads like a shell pipe: %q", h.name, line)
		}
	}
	if !ok || n < 2 {
		t.Errorf("%s: %d examples, want 2:\n%s", h.name, n, out)
	}
}

// commandHelp finds a top-level command's help text by running its -h.
func commandHelp(t *testing.T, name string) *helpText {
	t.Helper()
	e, _ := runHelp(t, []string{name, "-h"})
	for _, h := range e.help {
		if h.name == name {
			return &h
		}
	}
	t.Fatalf("command %s: no help text registered", name)
	return nil
}

// lastFlagSet is the flag set the command named name registered.
func (e *Env) lastFlagSet(name string) *flag.FlagSet {
	for fs, h := range e.help {
		if h.name == name {
			return fs
		}
	}
	return nil
}

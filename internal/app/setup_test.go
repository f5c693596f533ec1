package app_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
)

func TestSetupExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(dir, "good.yaml")
	_ = os.WriteFile(bad, []byte("jetstream: {replicas: 9}\nsources: [{name: p, vendor: acme, auth: {type: persona, secrets: [s]}}]\n"), 0o600)
	_ = os.WriteFile(good, []byte("sources: [{name: p, vendor: persona, auth: {type: persona, secrets: [s]}}]\n"), 0o600)
	t.Setenv("IDVBUS_CONFIG", "")
	cases := []struct {
		name     string
		args     []string
		allowDev bool
		exit     int // app.ExitCode of Setup's error
		stderr   []string
	}{
		{"invalid config: one line per problem", []string{"--config", bad}, true, 2,
			[]string{"svc: config: jetstream.replicas: 9 is not between 1 and 5", `svc: config: sources[0].vendor: "acme" is not one of`}},
		{"check-config", []string{"--config", good, "--check-config"}, false, 0, []string{"svc: config ok"}},
		{"no config for a service", nil, false, 2, []string{"no config given"}},
		{"dev setup check", []string{"--check-config"}, true, 0, []string{"config ok"}},
		{"unknown flag", []string{"--nope"}, true, 2, []string{"flag provided but not defined", "usage: svc [--config PATH]", "svc --help for more"}},
		{"stray argument", []string{"--config", good, "start"}, true, 2, []string{`svc: unexpected argument "start"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			_, err := app.Setup(app.Command{Name: "svc", AllowDev: tc.allowDev, Services: config.AllServices}, tc.args, &stdout, &stderr)
			if exit := app.ExitCode(err); exit != tc.exit {
				t.Fatalf("exit %d, want %d; stderr:\n%s", exit, tc.exit, stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

// TestServiceHelpAndVersion runs --help, -h and --version of every service
// binary the way main does and checks what an operator reads: exit 0, the
// text on stdout, a purpose line, a Usage line, every flag with its
// default, and two examples.
func TestServiceHelpAndVersion(t *testing.T) {
	t.Setenv("IDVBUS_CONFIG", "")
	for _, c := range []app.Command{app.IngestCommand, app.NormalizerCommand, app.NotifierCommand, app.AllInOneCommand} {
		for _, arg := range []string{"--help", "-h"} {
			t.Run(c.Name+arg, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				st, err := app.Setup(c, []string{arg}, &stdout, &stderr)
				if exit := app.ExitCode(err); exit != 0 || st.Log != nil {
					t.Fatalf("exit %d (logger %v), want 0; stderr:\n%s", exit, st.Log != nil, stderr.String())
				}
				out := stdout.String()
				first, _, _ := strings.Cut(out, "\n")
				if !strings.HasPrefix(first, c.Name+" ") || len(first) < 30 {
					t.Errorf("first line is not a purpose: %q", first)
				}
				for _, want := range []string{
					"\nUsage: " + c.Name + " [--config PATH]", "\nFlags:\n",
					"-config", "-check-config", "-version", "\nExamples:\n",
				} {
					if !strings.Contains(out, want) {
						t.Errorf("help lacks %q:\n%s", want, out)
					}
				}
				_, examples, _ := strings.Cut(out, "\nExamples:\n")
				n := 0
				for _, line := range strings.Split(examples, "\n") {
					if strings.HasPrefix(line, "  ") && strings.Contains(line, c.Name+" ") && strings.Contains(line, " # ") {
						n++
					}
				}
				if n < 2 {
					t.Errorf("%d examples of %s, want 2:\n%s", n, c.Name, examples)
				}
				if stderr.Len() > 0 {
					t.Errorf("help wrote to stderr: %s", stderr.String())
				}
			})
		}
		t.Run(c.Name+"--version", func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			st, err := app.Setup(c, []string{"--version"}, &stdout, &stderr)
			if exit := app.ExitCode(err); exit != 0 || st.Log != nil {
				t.Fatalf("exit %d, want 0; stderr:\n%s", exit, stderr.String())
			}
			if line := stdout.String(); !strings.HasPrefix(line, c.Name+" ") || !strings.Contains(line, "commit ") || !strings.Contains(line, "go1.") {
				t.Errorf("--version printed %q", line)
			}
		})
	}
}

// TestSetupRunsSubcommand: a binary with subcommands runs the one named
// first (with the rest of the arguments), exits with its code, and lists
// them in --help; the all-in-one lists config print.
func TestSetupRunsSubcommand(t *testing.T) {
	var got []string
	c := app.Command{Name: "svc", Purpose: "svc does things.", Subcommands: []app.Subcommand{{
		Name: "config", Args: "print", Summary: "print the config",
		Run: func(args []string, stdout, _ io.Writer) int { got = args; return 3 },
	}}}
	var stdout, stderr bytes.Buffer
	if _, err := app.Setup(c, []string{"config", "print", "--x"}, &stdout, &stderr); app.ExitCode(err) != 3 || strings.Join(got, " ") != "print --x" {
		t.Fatalf("exit %d, args %q", app.ExitCode(err), got)
	}
	for _, c := range []app.Command{c, app.AllInOneCommand} {
		stdout.Reset()
		if _, err := app.Setup(c, []string{"--help"}, &stdout, &stderr); app.ExitCode(err) != 0 || !strings.Contains(stdout.String(), "\n  config print") {
			t.Fatalf("%s: exit %d, help:\n%s", c.Name, app.ExitCode(err), stdout.String())
		}
	}
}

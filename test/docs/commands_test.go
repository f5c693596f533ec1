// Package docs_test keeps the shipped docs true to the code: every command
// shown in a shell block of the README, deploy/README.md and docs/*.md, and
// in the comments of the compose files, is checked against what it names —
// idvctl commands through idvctl's own parser (ctl.DryRun: command, flags,
// arguments, config), idvbus and the services through their own flag parsing
// and config validation (--check-config), make targets against the Makefile,
// go run/test paths, compose files, services and variables, and every
// IDVBUS_ and IDV_ variable a doc names. Nothing needs a server or Docker.
package docs_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ctl"
)

// root is the repository, from this package's directory.
const root = "../.."

// snippet is one command line of a doc, with where it comes from.
type snippet struct {
	where string // file:line
	text  string
	block int // lines of one code block (or one compose file) share a number
}

// shellLines returns the lines of the ```sh (or bash, shell) blocks of a
// Markdown file, continuation lines joined.
func shellLines(t *testing.T, rel string, block *int) []snippet {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	var out []snippet
	in := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, pending, start := 0, "", 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			lang := strings.TrimPrefix(trimmed, "```")
			if !in {
				in = lang == "sh" || lang == "bash" || lang == "shell"
				if in {
					*block++
				}
			} else {
				in = false
			}
			continue
		}
		if !in {
			continue
		}
		if pending == "" {
			start = n
		}
		if strings.HasSuffix(line, "\\") {
			pending += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		out = append(out, snippet{where: rel + ":" + strconv.Itoa(start), text: pending + line, block: *block})
		pending = ""
	}
	return out
}

// composeCommentLines returns the commands in a compose file's comments:
// indented comment lines whose text starts with a command this test knows.
func composeCommentLines(t *testing.T, rel string, block *int) []snippet {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		t.Fatal(err)
	}
	*block++
	var out []snippet
	for i, line := range strings.Split(string(data), "\n") {
		_, comment, ok := strings.Cut(line, "#")
		// Commands are indented in the comment ("#   make images"); prose
		// is not ("# idvctl without Go").
		if !ok || !strings.HasPrefix(comment, "  ") {
			continue
		}
		text := strings.TrimSpace(comment)
		for _, p := range []string{"make ", "docker-compose ", "docker compose ", "idvctl ", "bin/idvctl ", "go run "} {
			if strings.HasPrefix(text, p) {
				out = append(out, snippet{where: rel + ":" + strconv.Itoa(i+1), text: text, block: *block})
				break
			}
		}
	}
	return out
}

// docFiles are the Markdown files whose shell blocks are checked.
func docFiles(t *testing.T) []string {
	files := []string{"README.md", "deploy/README.md", "deploy/nats/README.md"}
	more, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		rel, _ := filepath.Rel(root, f)
		files = append(files, rel)
	}
	return files
}

// composeFiles are the compose files whose comments are checked.
var composeFiles = []string{"docker-compose.yml", "deploy/cluster/docker-compose.yml"}

// allSnippets gathers every command line the docs show.
func allSnippets(t *testing.T) []snippet {
	var out []snippet
	block := 0
	for _, f := range docFiles(t) {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			continue
		}
		out = append(out, shellLines(t, f, &block)...)
	}
	for _, f := range composeFiles {
		out = append(out, composeCommentLines(t, f, &block)...)
	}
	return out
}

// shellWords splits one simple shell command into words, honouring single
// and double quotes; it also splits command lists (&&, ||, ;, |, &) into
// separate commands. A "#" at the start of a word starts a comment.
func shellWords(line string) [][]string {
	var cmds [][]string
	var words []string
	var cur strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	endCmd := func() {
		flush()
		if len(words) > 0 {
			cmds = append(cmds, words)
		}
		words = nil
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'' || c == '"':
			j := strings.IndexByte(line[i+1:], c)
			if j < 0 {
				j = len(line) - i - 1
			}
			cur.WriteString(line[i+1 : i+1+j])
			inWord = true
			i += j + 1
		case c == ' ' || c == '\t':
			flush()
		case c == '#' && !inWord:
			endCmd()
			return cmds
		case c == ';' || c == '|' || c == '&':
			endCmd()
			if i+1 < len(line) && (line[i+1] == c) {
				i++
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	endCmd()
	return cmds
}

var assignment = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

// expand replaces $NAME and ${NAME} by the block's variables; unknown ones
// stay as they are.
func expand(w string, vars map[string]string) string {
	return regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`).ReplaceAllStringFunc(w, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// placeholder reports a word that stands for something the reader fills
// in (<command>, SEQ…): such lines are synopses, not commands.
func placeholder(words []string) bool {
	for _, w := range words {
		if strings.ContainsAny(w, "<>…") {
			return true
		}
	}
	return false
}

// TestDocCommandsMatchTheCode is the docs test: see the package comment.
func TestDocCommandsMatchTheCode(t *testing.T) {
	targets := makeTargets(t)
	checked := map[string]int{}
	vars := map[string]string{} // the current block's shell variables and exports
	block := -1
	for _, s := range allSnippets(t) {
		if s.block != block {
			block, vars = s.block, map[string]string{}
		}
		for _, words := range shellWords(s.text) {
			env := map[string]string{}
			for k, v := range vars {
				env[k] = v
			}
			// Leading assignments: for this command only, or exported.
			if words[0] == "export" {
				for _, w := range words[1:] {
					if m := assignment.FindStringSubmatch(w); m != nil {
						vars[m[1]] = expand(m[2], vars)
						checkVariable(t, s, m[1], m[2])
					}
				}
				continue
			}
			for len(words) > 0 {
				m := assignment.FindStringSubmatch(words[0])
				if m == nil {
					break
				}
				env[m[1]] = expand(m[2], vars)
				checkVariable(t, s, m[1], m[2])
				words = words[1:]
			}
			if len(words) == 0 { // NAME=value alone: a shell variable
				for k, v := range env {
					vars[k] = v
				}
				continue
			}
			for i := range words {
				words[i] = expand(words[i], vars)
			}
			if placeholder(words) {
				continue
			}
			if kind := checkCommand(t, s, words, env, targets); kind != "" {
				checked[kind]++
			}
		}
	}
	// The docs show all of these; finding none means the parser broke.
	for _, kind := range []string{"idvctl", "idvbus", "make", "go run", "docker-compose"} {
		if checked[kind] == 0 {
			t.Errorf("no %s command found in the docs: the test is broken", kind)
		}
	}
	t.Logf("checked: %v", checked)
}

// checkCommand checks one command and returns its kind ("" for commands this
// test does not know, such as curl).
func checkCommand(t *testing.T, s snippet, words []string, env map[string]string, targets map[string]bool) string {
	t.Helper()
	switch w := words[0]; {
	case w == "idvctl" || w == "bin/idvctl" || w == "./bin/idvctl":
		runIdvctl(t, s, words[1:], env)
		return "idvctl"
	case w == "idvbus" || w == "bin/idvbus" || w == "./bin/idvbus":
		checkService(t, s, "idvbus", words[1:], env)
		return "idvbus"
	case w == "make":
		for _, a := range words[1:] {
			if strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
				continue
			}
			if !targets[a] {
				t.Errorf("%s: %q: the Makefile has no target %q", s.where, s.text, a)
			}
		}
		return "make"
	case w == "go" && len(words) > 2 && (words[1] == "run" || words[1] == "test"):
		pkg := words[2]
		if !strings.HasPrefix(pkg, "./") {
			return ""
		}
		dir := filepath.Join(root, pkg)
		if gos, _ := filepath.Glob(filepath.Join(dir, "*.go")); len(gos) == 0 {
			t.Errorf("%s: %q: no Go package at %s", s.where, s.text, pkg)
			return "go run"
		}
		if words[1] == "run" {
			switch strings.TrimPrefix(pkg, "./") {
			case "cmd/idvctl":
				runIdvctl(t, s, words[3:], env)
			case "cmd/idvbus", "cmd/ingest", "cmd/normalizer", "cmd/notifier":
				checkService(t, s, strings.TrimPrefix(pkg, "./cmd/"), words[3:], env)
			}
		}
		return "go run"
	case w == "docker-compose" || (w == "docker" && len(words) > 1 && words[1] == "compose"):
		if w == "docker" {
			words = words[1:]
		}
		checkCompose(t, s, words[1:], env)
		return "docker-compose"
	}
	return ""
}

// runIdvctl passes an idvctl command line through idvctl's own parser.
func runIdvctl(t *testing.T, s snippet, args []string, env map[string]string) {
	t.Helper()
	cenv := map[string]string{}
	for k, v := range env {
		cenv[k] = v
	}
	if p := cenv["IDVBUS_CONFIG"]; p != "" && !filepath.IsAbs(p) {
		cenv["IDVBUS_CONFIG"] = filepath.Join(root, p)
	}
	args = append([]string(nil), args...)
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--config":
			args[i+1] = filepath.Join(root, args[i+1])
		case "--file":
			// The reader's own capture: stand in an empty JSON object.
			if args[i+1] != "-" {
				if _, err := os.Stat(filepath.Join(root, args[i+1])); err != nil {
					f := filepath.Join(t.TempDir(), filepath.Base(args[i+1]))
					if err := os.WriteFile(f, []byte("{}"), 0o600); err != nil {
						t.Fatal(err)
					}
					args[i+1] = f
				}
			}
		}
	}
	var out, errb bytes.Buffer
	if code := ctl.DryRun(context.Background(), args, &out, &errb, cenv); code != ctl.ExitOK {
		t.Errorf("%s: %q: idvctl refuses it (exit %d): %s", s.where, s.text, code, strings.TrimSpace(errb.String()))
	}
}

// checkService runs a service's own start-up parsing with --check-config:
// its flags exist, and the config (file, IDVBUS_ variables) validates.
func checkService(t *testing.T, s snippet, prog string, args []string, env map[string]string) {
	t.Helper()
	args = append([]string(nil), args...)
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "--config" {
			args[i+1] = filepath.Join(root, args[i+1])
		}
	}
	t.Run(strings.ReplaceAll(s.where, "/", "_"), func(t *testing.T) {
		clearIDVBUS(t)
		for k, v := range env {
			t.Setenv(k, v)
		}
		var out, errb bytes.Buffer
		if len(args) > 0 && args[0] == "config" { // idvbus config print: runs offline
			if code := app.ConfigCommand(prog, args[1:], prog == "idvbus", config.OSEnv(), &out, &errb); code != 0 {
				t.Errorf("%s: %q: %s refuses it (exit %d): %s", s.where, s.text, prog, code, strings.TrimSpace(errb.String()))
			}
			return
		}
		services := map[string]config.Services{"idvbus": config.AllServices, "ingest": {Ingest: true},
			"normalizer": {Normalizer: true}, "notifier": {Notifier: true}}[prog]
		_, err := app.Setup(app.Command{Name: prog, Services: services, AllowDev: prog == "idvbus"}, append(args, "--check-config"), &out, &errb)
		if !errors.Is(err, app.ErrChecked) {
			t.Errorf("%s: %q: %s refuses it (%v): %s", s.where, s.text, prog, err, strings.TrimSpace(errb.String()))
		}
	})
}

// clearIDVBUS unsets the IDVBUS_ variables of the test's own environment
// for the rest of t, so a check sees only what the doc sets.
func clearIDVBUS(t *testing.T) {
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "IDVBUS_") {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
	}
}

// makeTargets reads the Makefile's targets.
func makeTargets(t *testing.T) map[string]bool {
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z0-9_.-]+(?: [a-zA-Z0-9_.-]+)*):(?:[^=]|$)`).FindAllStringSubmatch(string(data), -1) {
		for _, name := range strings.Fields(m[1]) {
			targets[name] = true
		}
	}
	return targets
}

// Package ctl is idvctl, the operator's and developer's command line: it sends
// signed sample webhooks to a running ingest, watches the normalized events,
// shows a verification's state, inspects and replays dead letters, and replays
// stored raw webhooks through the normalizer. cmd/idvctl only calls [Main].
//
// Every command writes its results to stdout (one JSON object per line with
// --json, for scripts) and its progress and errors to stderr, and ends with
// one of the Exit codes below.
package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
)

// Exit codes: what a script can rely on.
const (
	// ExitOK: the command did what was asked.
	ExitOK = 0
	// ExitFailure: it could not (NATS unreachable, a write not confirmed,
	// ingest unavailable); trying again later may work.
	ExitFailure = 1
	// ExitUsage: bad command line or config; nothing was done.
	ExitUsage = 2
	// ExitNotFound: what was named (a verification, a dead letter) does not exist.
	ExitNotFound = 3
	// ExitRefused: the other side refused it for good (ingest answered 4xx).
	ExitRefused = 4
	// ExitPartial: a bulk operation did part of its work; the output says
	// which items failed.
	ExitPartial = 5
)

// command is one idvctl subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, e *Env, args []string) int
}

// commands lists the subcommands in the order help shows them.
var commands []command

// register adds a subcommand; each command's file registers itself in init.
func register(c command) { commands = append(commands, c) }

// Env is what every command gets: the global flags, the output streams and a
// lazily opened connection to NATS.
type Env struct {
	Stdout, Stderr io.Writer
	// JSON asks for one JSON object per line on stdout instead of text.
	JSON bool
	// Quiet suppresses progress lines on stderr.
	Quiet bool
	// Verbose says on stderr which config is used and why.
	Verbose bool
	// Timeout bounds each NATS or HTTP request (not a whole command).
	Timeout time.Duration

	configPath string
	natsURL    string
	env        config.Env
	cfg        *config.Config
	nc         *nats.Conn
	b          *bus.Bus
	// dryRun stops a command where it would first connect ([DryRun]).
	dryRun bool
	// help holds each command flag set's help text, for Parse.
	help map[*flag.FlagSet]helpText
}

// Main runs idvctl with args (without the program name) and returns the exit
// code. env is the process environment (IDVBUS_CONFIG, IDVBUS_* overrides).
// Help (idvctl help, -h, --help, and <command> -h) goes to stdout and exits 0.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) int {
	e := &Env{Stdout: stdout, Stderr: stderr, env: env, help: map[*flag.FlagSet]helpText{}}
	defer e.Close()
	return e.main(ctx, args)
}

// DryRun checks a command line as [Main] would run it: the command, its
// flags and arguments, and the config it would load, but stops where Main
// would first talk to NATS or the ingest, and returns ExitOK there. A
// command that needs neither (send --list, help) runs as usual. The docs
// test passes every idvctl command shown in the README through it, so the
// docs cannot drift from the CLI.
func DryRun(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) int {
	e := &Env{Stdout: stdout, Stderr: stderr, env: env, dryRun: true, help: map[*flag.FlagSet]helpText{}}
	defer e.Close()
	if code := e.main(ctx, args); code != exitDryRun {
		return code
	}
	return ExitOK
}

// exitDryRun is what a command returns under [DryRun] where it would
// have started its I/O.
const exitDryRun = -1

// testHookEnv, when set by a test, sees the Env of each run.
var testHookEnv func(*Env)

func (e *Env) main(ctx context.Context, args []string) int {
	if testHookEnv != nil {
		testHookEnv(e)
	}
	fs := flag.NewFlagSet("idvctl", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	e.globalFlags(fs)
	version := fs.Bool("version", false, "print the version, commit, build date and Go version, and exit")
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(e.Stdout, fs)
			return ExitOK
		}
		fmt.Fprintln(e.Stderr, "usage: idvctl [global flags] <command> [args]  (idvctl help lists the commands)")
		return ExitUsage
	}
	if *version {
		fmt.Fprintln(e.Stdout, buildinfo.Get().Line("idvctl"))
		return ExitOK
	}
	if fs.NArg() == 0 {
		usage(e.Stderr, fs)
		return ExitUsage
	}
	name, rest := fs.Arg(0), fs.Args()[1:]
	if name == "help" {
		if len(rest) == 0 {
			usage(e.Stdout, fs)
			return ExitOK
		}
		name, rest = rest[0], []string{"-h"} // idvctl help <command>
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, e, rest)
		}
	}
	fmt.Fprintf(e.Stderr, "idvctl: unknown command %q (idvctl help lists them)\n", name)
	return ExitUsage
}

// globalFlags defines the flags every command accepts, before or after its name.
func (e *Env) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.configPath, "config", e.configPath, "config file (default $IDVBUS_CONFIG; none: the development setup)")
	fs.StringVar(&e.natsURL, "nats", e.natsURL, "NATS server URL(s), comma-separated (default: the config's nats.url, or the all-in-one's 127.0.0.1:4222)")
	fs.BoolVar(&e.JSON, "json", e.JSON, "print one JSON object per line on stdout")
	fs.BoolVar(&e.Quiet, "quiet", e.Quiet, "no progress lines on stderr")
	fs.BoolVar(&e.Verbose, "verbose", e.Verbose, "say on stderr which config is used and why")
	if e.Timeout == 0 {
		e.Timeout = 10 * time.Second
	}
	fs.DurationVar(&e.Timeout, "timeout", e.Timeout, "bound on each NATS or HTTP request")
}

// helpText is what `idvctl <command> -h` prints: a one-line purpose, the
// usage, details, the flags with their defaults and examples.
type helpText struct {
	name, args, purpose, details string
	// examples are whole command lines, each followed by "   # what it does".
	examples []string
}

// write prints h with the flags of fs.
func (h helpText) write(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "idvctl %s: %s\n\nUsage: %s\n", h.name, h.purpose, h.usageLine())
	if h.details != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(h.details, "\n"))
	}
	if fs != nil {
		fmt.Fprintln(w, "\nFlags (global flags too may come before or after the command):")
		out := fs.Output()
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(out)
	}
	fmt.Fprintln(w, "\nExamples:")
	for _, ex := range h.examples {
		fmt.Fprintf(w, "  %s\n", ex)
	}
}

func (h helpText) usageLine() string {
	return strings.TrimSpace("idvctl " + h.name + " " + h.args)
}

// FlagSet returns a flag set for one command that also accepts the global
// flags, so `idvctl dlq list --json` works as well as `idvctl --json dlq list`.
// [Env.Parse] prints h on -h.
func (e *Env) FlagSet(h helpText) *flag.FlagSet {
	fs := flag.NewFlagSet("idvctl "+h.name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	e.globalFlags(fs)
	fs.Usage = func() {} // Parse prints the help or the short usage
	e.help[fs] = h
	return fs
}

// Parse parses a command's flags; ok false means the command must return code.
// Flags may come before or after positional arguments.
func (e *Env) Parse(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			h := e.help[fs]
			if errors.Is(err, flag.ErrHelp) {
				h.write(e.Stdout, fs)
				return nil, ExitOK, false
			}
			fmt.Fprintf(e.Stderr, "usage: %s\n(idvctl %s -h for more)\n", h.usageLine(), h.name)
			return nil, ExitUsage, false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// Usagef reports a usage problem and returns [ExitUsage].
func (e *Env) Usagef(format string, a ...any) int {
	fmt.Fprintf(e.Stderr, "idvctl: "+format+"\n", a...)
	return ExitUsage
}

// Errorf reports a failure on stderr and returns code.
func (e *Env) Errorf(code int, format string, a ...any) int {
	fmt.Fprintf(e.Stderr, "idvctl: "+format+"\n", a...)
	return code
}

// Config loads the whole config once: --config, else $IDVBUS_CONFIG, else
// the development setup (what `idvbus` runs with no config). --nats
// overrides nats.url. send needs this (the sources and their secrets).
func (e *Env) Config() (config.Config, error) {
	if e.cfg != nil {
		return *e.cfg, nil
	}
	l, err := app.LoadConfig(e.configPath, e.env, true)
	if err != nil {
		return config.Config{}, chosenBy(l, err)
	}
	e.verbosef("%s", l.Describe())
	e.cfg = e.withNATSURL(l.Config)
	return *e.cfg, nil
}

// configSource names where the config comes from, for messages: the file
// (--config or $IDVBUS_CONFIG) or the development setup.
func (e *Env) configSource() string {
	src := "the development setup (no config)"
	switch {
	case e.configPath != "":
		src = "the config " + e.configPath
	case e.env["IDVBUS_CONFIG"] != "":
		src = "the config " + e.env["IDVBUS_CONFIG"] + " ($IDVBUS_CONFIG)"
	}
	for k := range e.env {
		if strings.HasPrefix(k, config.EnvPrefix+"SOURCES_") {
			return src + " with IDVBUS_SOURCES_… overrides"
		}
	}
	return src
}

// connectionConfig is what the commands that only talk to NATS need: from a
// config file just its nats and jetstream sections (config.LoadConnection),
// so an operator needs no vendor or subscriber secret to inspect the bus.
func (e *Env) connectionConfig() (config.Config, error) {
	l := config.Loaded{File: e.configPath, Chosen: "--config"}
	if l.File == "" {
		l.File, l.Chosen = e.env["IDVBUS_CONFIG"], "IDVBUS_CONFIG"
	}
	if e.cfg != nil || l.File == "" {
		return e.Config()
	}
	cfg, _, err := config.LoadConnection(l.File, e.env)
	if err != nil {
		return config.Config{}, chosenBy(l, err)
	}
	e.verbosef("%s: its nats and jetstream sections", l.Describe())
	return *e.withNATSURL(cfg), nil
}

// chosenBy adds to a config error which file it is about and why that file
// was read, so an IDVBUS_CONFIG exported long ago is not a mystery.
func chosenBy(l config.Loaded, err error) error {
	if l.File == "" || l.Chosen == "" {
		return err
	}
	return fmt.Errorf("%w\n(%s)", err, l.Describe())
}

// verbosef writes a line on stderr with --verbose.
func (e *Env) verbosef(format string, a ...any) {
	if e.Verbose {
		fmt.Fprintf(e.Stderr, "idvctl: "+format+"\n", a...)
	}
}

// withNATSURL applies --nats, and points an empty nats.url at the
// all-in-one's embedded server, where idvctl is most often pointed.
func (e *Env) withNATSURL(cfg config.Config) *config.Config {
	if e.natsURL != "" {
		cfg.NATS.URL = e.natsURL
	}
	if cfg.NATS.URL == "" {
		cfg.NATS.URL = "nats://" + cfg.NATS.Embedded.Listen
	}
	return &cfg
}

// Bus connects to NATS once and returns the topology handle. It never
// creates or changes streams: idvctl works on what the services set up.
func (e *Env) Bus() (*bus.Bus, error) {
	if e.b != nil {
		return e.b, nil
	}
	cfg, err := e.connectionConfig()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errConfig, err)
	}
	n := cfg.NATS
	if n.ConnectTimeout == 0 || n.ConnectTimeout > e.Timeout {
		n.ConnectTimeout = e.Timeout
	}
	nc, err := bus.Connect(n, "idvctl", zap.NewNop(), nats.RetryOnFailedConnect(false))
	if err != nil {
		// bus.Connect's error names the URL and the cause.
		return nil, fmt.Errorf("%w — is idvbus running? --nats URL (or the config's nats.url) says where", err)
	}
	b, err := bus.New(nc, cfg.JetStream, zap.NewNop())
	if err != nil {
		nc.Close()
		return nil, err
	}
	e.nc, e.b = nc, b
	return b, nil
}

// BusOrExit is [Env.Bus] for commands: it reports a failure and returns the
// exit code to return (0 when connected).
func (e *Env) BusOrExit() (*bus.Bus, int) {
	if e.dryRun {
		if _, err := e.connectionConfig(); err != nil {
			return nil, e.Errorf(ExitUsage, "%v", err)
		}
		return nil, exitDryRun
	}
	b, err := e.Bus()
	if err != nil {
		code := ExitFailure
		if errors.Is(err, errConfig) {
			code = ExitUsage
		}
		return nil, e.Errorf(code, "%v", err)
	}
	return b, ExitOK
}

// errConfig marks errors of the config, which are usage errors.
var errConfig = errors.New("config")

// Close closes the NATS connection, if one was opened.
func (e *Env) Close() {
	if e.nc != nil {
		e.nc.Close()
		e.nc, e.b = nil, nil
	}
}

// Out prints one result: v as one JSON line with --json, else text.
func (e *Env) Out(text string, v any) {
	if e.JSON {
		line, err := json.Marshal(v)
		if err != nil {
			fmt.Fprintf(e.Stderr, "idvctl: encode output: %v\n", err)
			return
		}
		fmt.Fprintf(e.Stdout, "%s\n", line)
		return
	}
	fmt.Fprintln(e.Stdout, text)
}

// Progress returns a reporter for a long operation over total items (0:
// unknown): it writes "label: done/total" to stderr at most once a second,
// and a last line from done(). Nothing is written with --quiet.
func (e *Env) Progress(label string, total int) (step func(n int), done func()) {
	if e.Quiet {
		return func(int) {}, func() {}
	}
	var count int
	last := time.Now()
	line := func() {
		if total > 0 {
			fmt.Fprintf(e.Stderr, "%s: %d/%d\n", label, count, total)
		} else {
			fmt.Fprintf(e.Stderr, "%s: %d\n", label, count)
		}
	}
	return func(n int) {
			count += n
			if time.Since(last) >= time.Second {
				last = time.Now()
				line()
			}
		}, func() {
			line()
		}
}

// usage is idvctl's own help: purpose, usage, commands, global flags, exit codes, examples.
func usage(w io.Writer, global *flag.FlagSet) {
	fmt.Fprintln(w, "idvctl: idvbus's command line for operators and developers: send sample webhooks, watch events, inspect state, dead letters and replays.")
	fmt.Fprintln(w, "\nUsage: idvctl [global flags] <command> [args]")
	fmt.Fprintln(w, "\nCommands:")
	cs := append([]command(nil), commands...)
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-8s %-34s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprintln(w, "  help     [command]                          this text, or one command's (same as <command> -h)")
	fmt.Fprintln(w, "\nGlobal flags (before or after the command):")
	out := global.Output()
	global.SetOutput(w)
	global.PrintDefaults()
	global.SetOutput(out)
	fmt.Fprintln(w, "\nexit codes: 0 ok, 1 failed (retry may help), 2 usage or config, 3 not found, 4 refused, 5 partly done")
	fmt.Fprintln(w, "\nExamples:")
	fmt.Fprintln(w, "  idvctl send persona inquiry.approved   # a signed sample webhook to the all-in-one")
	fmt.Fprintln(w, "  idvctl --config idvbus.yaml status     # the bus at a glance, with the services' config")
	fmt.Fprintln(w, "\n`idvctl <command> -h` describes one command.")
}

// pointInTime reads the value of a --since or --until flag: a duration back
// from now (10m, 24h) or an RFC 3339 time.
func pointInTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration back from now must be positive", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: neither a duration back from now (10m, 24h) nor an RFC 3339 time", s)
	}
	return t, nil
}

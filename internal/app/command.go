package app

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/idvbus/idvbus/internal/config"
)

// Command describes one of the service binaries for [Setup]: what its
// --help says and whether it may fall back to the development setup.
type Command struct {
	// Name is the binary's name: ingest, normalizer, notifier, idvbus.
	Name string
	// Purpose is the one line --help starts with.
	Purpose string
	// Details, when set, follow the usage line (a few lines of text).
	Details string
	// Examples are whole command lines, each with what it does after " # ".
	Examples []string
	// AllowDev: with no config the binary starts the development setup.
	AllowDev bool
	// Services are what the binary runs: what the config must provide for it.
	Services config.Services
	// Subcommands are run instead of the service when args[0] names one
	// (e.g. a future `idvbus config print`); --help lists them.
	Subcommands []Subcommand
}

// Subcommand is one `<binary> <name> ...` that does something other than
// running the service, then exits.
type Subcommand struct {
	Name, Args, Summary string
	// Run gets the arguments after the name and returns the exit code.
	Run func(args []string, stdout, stderr io.Writer) int
}

// The service binaries. Their --help is what an operator reads first, so
// every one says what it runs, its usage, its flags and two examples.
var (
	IngestCommand = Command{
		Name:    "ingest",
		Purpose: "ingest receives identity-verification vendors' webhooks, checks their signatures and stores them in JetStream (IDV_RAW).",
		Details: `Webhooks are POST /webhooks/<source> on ingest.listen (:8080), which also
answers a bare /healthz and /readyz for load balancers; /metrics and the
detailed /readyz are on the ops listener, ingest.ops_listen (127.0.0.1:8084).
It needs a config (sources and their secrets) and an external NATS JetStream.`,
		Examples: []string{
			"ingest --config /etc/idvbus/idvbus.yaml   # run against the config's nats.url",
			"ingest --config idvbus.yaml --check-config   # validate the config and exit",
		},
		Services: config.Services{Ingest: true},
	}
	NormalizerCommand = Command{
		Name:    "normalizer",
		Purpose: "normalizer turns the raw webhooks of IDV_RAW into normalized CloudEvents in IDV_EVENTS, dead-lettering what it cannot parse.",
		Details: `/healthz, /readyz and /metrics are on normalizer.listen (:8081). Several may
run on one durable consumer: one is pinned and works, the others stand by.`,
		Examples: []string{
			"normalizer --config /etc/idvbus/idvbus.yaml   # run against the config's nats.url",
			"IDVBUS_NORMALIZER_WORKERS=32 normalizer --config idvbus.yaml   # override one setting",
		},
		Services: config.Services{Normalizer: true},
	}
	NotifierCommand = Command{
		Name:    "notifier",
		Purpose: "notifier delivers the events of IDV_EVENTS to each configured subscriber as signed webhooks (Standard Webhooks), retrying and dead-lettering.",
		Details: `/healthz, /readyz and /metrics are on notifier.listen (:8082). Several may
run with the same subscribers: they share each subscriber's durable consumer.`,
		Examples: []string{
			"notifier --config /etc/idvbus/idvbus.yaml   # run against the config's nats.url",
			"notifier --config idvbus.yaml --check-config   # validate the subscribers and exit",
		},
		Services: config.Services{Notifier: true},
	}
	AllInOneCommand = Command{
		Name:    "idvbus",
		Purpose: "idvbus runs all of idvbus in one process: an embedded JetStream server, ingest, the normalizer and the notifier.",
		Details: `Webhooks are POST /webhooks/<source> on ingest.listen; /metrics and the
detailed /readyz of all three services are on ingest.ops_listen
(127.0.0.1:8084). With no config (no --config, no IDVBUS_CONFIG) it starts the
development setup: one source per vendor with PUBLIC development secrets,
ingest on 127.0.0.1:8080 and data under ./data.`,
		Examples: []string{
			"idvbus   # the development setup, webhooks on http://127.0.0.1:8080/webhooks/<vendor>",
			"idvbus --config idvbus.yaml   # a real setup (secrets from ${VARS} in the file)",
			"idvbus config print --config idvbus.yaml   # the effective config, each value's origin, secrets masked",
		},
		AllowDev: true,
		Services: config.AllServices,
		Subcommands: []Subcommand{{
			Name: "config", Args: "print [--config PATH] [--json]",
			Summary: "print the effective config, where each value came from, secrets masked",
			Run: func(args []string, stdout, stderr io.Writer) int {
				return ConfigCommand("idvbus", args, true, config.OSEnv(), stdout, stderr)
			},
		}},
	}
)

// flags are the flags every service binary takes.
type flags struct {
	config         string
	check, version bool
}

func (c Command) flagSet(stderr io.Writer, f *flags) *flag.FlagSet {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The flag package prints a parse error; Setup adds the short usage
	// after it on stderr, or the whole help on stdout for -h.
	fs.Usage = func() {}
	help := "config file (default $IDVBUS_CONFIG)"
	if c.AllowDev {
		help = "config file (default $IDVBUS_CONFIG; none: the development setup)"
	}
	fs.StringVar(&f.config, "config", "", help)
	fs.BoolVar(&f.check, "check-config", false, "validate the config as a start would, print its warnings, and exit")
	fs.BoolVar(&f.version, "version", false, "print the version, commit, build date and Go version, and exit")
	return fs
}

// writeShortUsage is what follows a command line error on stderr.
func (c Command) writeShortUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n(%s --help for more)\n", c.usageLine(), c.Name)
}

func (c Command) usageLine() string {
	line := c.Name + " [--config PATH] [--check-config] [--version]"
	if len(c.Subcommands) > 0 {
		line += "\n       " + c.Name + " <subcommand> [args]"
	}
	return line
}

// WriteHelp writes the binary's --help: purpose, usage, details,
// subcommands, flags with their defaults, examples.
func (c Command) WriteHelp(w io.Writer) {
	var f flags
	fs := c.flagSet(w, &f)
	fmt.Fprintf(w, "%s\n\nUsage: %s\n", c.Purpose, c.usageLine())
	if c.Details != "" {
		fmt.Fprintf(w, "\n%s\n", c.Details)
	}
	if len(c.Subcommands) > 0 {
		fmt.Fprintln(w, "\nSubcommands:")
		for _, s := range c.Subcommands {
			fmt.Fprintf(w, "  %-24s %s\n", strings.TrimSpace(s.Name+" "+s.Args), s.Summary)
		}
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nEvery setting can also be given as an IDVBUS_* variable (README, Configuration).")
	fmt.Fprintln(w, "\nExamples:")
	for _, e := range c.Examples {
		fmt.Fprintf(w, "  %s\n", e)
	}
}

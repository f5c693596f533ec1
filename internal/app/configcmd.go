package app

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/idvbus/idvbus/internal/config"
)

// ConfigCommand runs `prog config print [--config PATH] [--json]` (args
// without "config") and returns the exit code: it prints the effective
// config, which file it came from and why, its warnings, and where each
// value came from, with every secret masked ([config.Print]). With no config
// it prints the development setup when allowDev, as a start would run it.
// 0: printed; 2: a usage or config error (printed on stderr as a start
// prints it).
func ConfigCommand(prog string, args []string, allowDev bool, env config.Env, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "print" {
		fmt.Fprintf(stderr, "usage: %s config print [--config PATH] [--json]\n", prog)
		return 2
	}
	fs := flag.NewFlagSet(prog+" config print", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "config file (default $IDVBUS_CONFIG)")
	asJSON := fs.Bool("json", false, "print one JSON document: every setting with its value, origin and variable")
	if err := fs.Parse(args[1:]); err != nil {
		return ExitCode(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s config print: unexpected argument %q\n", prog, fs.Arg(0))
		return 2
	}
	l, err := LoadConfig(*configPath, env, allowDev)
	if err != nil {
		PrintConfigError(stderr, prog, err)
		return 2
	}
	l.Warnings = append(l.Warnings, StartWarnings(l.Config)...)
	if err := config.Print(stdout, l, *asJSON); err != nil {
		fmt.Fprintf(stderr, "%s config print: %v\n", prog, err)
		return 1
	}
	return 0
}

// StartWarnings lists, for `config print`, what a valid config lacks for
// some binary to start with it (an empty file is valid for a normalizer, but
// ingest and idvbus refuse it): the printed config says so instead of
// looking fine.
func StartWarnings(cfg config.Config) []string {
	var w []string
	if err := cfg.ValidateServices(config.Services{Ingest: true}); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			w = append(w, "ingest and idvbus would not start: "+line)
		}
	}
	return w
}

package ctl

import (
	"context"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
)

func init() {
	register(command{name: "config", args: "print",
		summary: "the effective config, where each value came from, secrets masked", run: runConfig})
}

var configHelp = helpText{
	name: "config", args: "print [--config PATH] [--json]",
	purpose: "print the effective config, where each value came from, with every secret masked",
	details: configDetails,
	examples: []string{
		"idvctl config print   # what the all-in-one would run with here (the development setup without a config)",
		"idvctl --config /etc/idvbus/idvbus.yaml config print --json   # a deployment's, with each setting's origin and variable",
	},
}

const configDetails = `Prints the config the services would run with: --config, else
$IDVBUS_CONFIG, else the development setup, with the IDVBUS_ variables of
this environment applied (not --nats, which only points idvctl elsewhere).
The first line says which file and why; each value's comment says where it
came from (default, development setup, file, env IDVBUS_...). Every secret is
masked. --json prints one JSON object: config, file, chosen, warnings and
settings (key, value, origin, env). Exit 2 for a config error.`

func runConfig(_ context.Context, e *Env, args []string) int {
	fs := e.FlagSet(configHelp)
	pos, code, ok := e.Parse(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 || pos[0] != "print" {
		return e.Usagef("usage: idvctl config print [--config PATH] [--json]")
	}
	l, err := app.LoadConfig(e.configPath, e.env, true)
	if err != nil {
		return e.Errorf(ExitUsage, "%v", chosenBy(l, err))
	}
	l.Warnings = append(l.Warnings, app.StartWarnings(l.Config)...)
	if err := config.Print(e.Stdout, l, e.JSON); err != nil {
		return e.Errorf(ExitFailure, "config print: %v", err)
	}
	return ExitOK
}

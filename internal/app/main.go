package app

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/internal/config"
)

// Started is what [Setup] hands a binary that is to run.
type Started struct {
	// Loaded is the validated config, which file it came from and why.
	config.Loaded
	Log *zap.Logger
}

// Dev reports whether the development setup runs (no config was given).
func (s Started) Dev() bool { return s.File == "" }

// ErrChecked is returned by [Setup] after --check-config found the config
// good: the binary exits with 0.
var ErrChecked = errors.New("config checked")

// ErrVersion is returned by [Setup] after --version printed the build: the
// binary exits with 0.
var ErrVersion = errors.New("version printed")

// exitCode is [Setup]'s error after a subcommand ran: its exit code.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit code %d", int(c)) }

// ExitCode is the exit code for an error of [Setup]: 0 for [ErrChecked],
// [ErrVersion] and --help, a subcommand's own code, else 2 (a usage or
// config error, already printed).
func ExitCode(err error) int {
	var code exitCode
	switch {
	case err == nil || errors.Is(err, ErrChecked) || errors.Is(err, ErrVersion) || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	return 2
}

// Setup is the common start of every service binary c describes. When
// args[0] names one of c's subcommands it runs that and returns its exit
// code (as an error for [ExitCode]). Else it parses --config,
// --check-config, --version and --help from args: --help writes c's help on
// stdout and returns flag.ErrHelp, --version writes the build on stdout and
// returns [ErrVersion]. Then it loads the config (the development setup when
// c.AllowDev and no config is given) and checks it with [CheckConfig] for the
// services the binary runs, builds the logger (on stderr), and logs which
// config it loaded and why, then the config's warnings. --check-config does
// exactly the same checks, prints the warnings and "config ok" on stderr and
// returns [ErrChecked]. A usage or config error is printed on stderr, one
// line per problem, and returned: the binary exits with [ExitCode].
func Setup(c Command, args []string, stdout, stderr io.Writer) (Started, error) {
	prog := c.Name
	if len(args) > 0 {
		for _, s := range c.Subcommands {
			if args[0] == s.Name {
				return Started{}, exitCode(s.Run(args[1:], stdout, stderr))
			}
		}
	}
	var f flags
	fs := c.flagSet(stderr, &f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.WriteHelp(stdout)
		} else {
			c.writeShortUsage(stderr)
		}
		return Started{}, err
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		c.writeShortUsage(stderr)
		return Started{}, err
	}
	if f.version {
		fmt.Fprintln(stdout, buildinfo.Get().Line(prog))
		return Started{}, ErrVersion
	}
	configPath, check := &f.config, &f.check
	services, allowDev := c.Services, c.AllowDev
	l, err := CheckConfig(*configPath, config.OSEnv(), services, allowDev)
	if err != nil {
		PrintConfigError(stderr, prog, err)
		return Started{}, err
	}
	if *check {
		for _, w := range l.Warnings {
			fmt.Fprintf(stderr, "%s: config warning: %s\n", prog, w)
		}
		fmt.Fprintf(stderr, "%s: config ok: %s\n", prog, l.Describe())
		return Started{}, ErrChecked
	}
	log, err := NewLoggerTo(l.Config.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return Started{}, err
	}
	log.Info(prog+" starting", zap.String("version", buildinfo.Get().Version), zap.String("commit", buildinfo.Get().Commit))
	if l.File == "" {
		log.Warn(prog + " runs the development setup: no --config and no IDVBUS_CONFIG")
	} else {
		log.Info(prog+" loaded "+l.Describe(), zap.String("config_file", l.File), zap.String("chosen_by", l.Chosen))
	}
	for _, w := range l.Warnings {
		log.Warn("config: " + w)
	}
	return Started{Loaded: l, Log: log}, nil
}

// CheckConfig is the whole config check of a start (and of --check-config):
// [LoadConfig], then what the services the process runs need beyond a valid
// file ([config.Config.ValidateServices]).
func CheckConfig(path string, env config.Env, services config.Services, allowDev bool) (config.Loaded, error) {
	l, err := LoadConfig(path, env, allowDev)
	if err != nil {
		return l, err
	}
	if err := l.Config.ValidateServices(services); err != nil {
		if l.File != "" {
			err = fmt.Errorf("config %s: %w", l.File, err)
		}
		return l, err
	}
	return l, nil
}

// Exit logs err (if any) and ends the process with [Stopped]'s code.
func Exit(prog string, log *zap.Logger, err error) {
	os.Exit(Stopped(prog, log, err))
}

// Stopped logs how the binary stopped and returns its exit code: 0 after a
// clean stop, 1 after a failure.
func Stopped(prog string, log *zap.Logger, err error) int {
	code := 0
	if err != nil {
		log.Error(prog+" stopped with an error", zap.Error(err))
		code = 1
	} else {
		log.Info(prog + " stopped")
	}
	_ = log.Sync()
	return code
}

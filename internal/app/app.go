// Package app wires idvbus's packages into the runnable services. The binaries
// in cmd/ only parse flags and call it, so everything here is reachable by tests.
package app

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/idvbus/idvbus/internal/config"
)

// ErrNoConfig is returned by [LoadConfig] when no config is given and the
// caller does not fall back to the development setup.
var ErrNoConfig = errors.New("no config given: pass --config PATH or set IDVBUS_CONFIG")

// LoadConfig loads the config at path (or $IDVBUS_CONFIG when path is empty).
// With neither, it returns the development setup if allowDev, else [ErrNoConfig].
// dev reports whether the development setup was chosen.
func LoadConfig(path string, env config.Env, allowDev bool) (cfg config.Config, warnings []string, dev bool, err error) {
	if path == "" {
		path = env["IDVBUS_CONFIG"]
	}
	if path != "" {
		cfg, warnings, err = config.Load(path, env)
		return cfg, warnings, false, err
	}
	if !allowDev {
		return config.Config{}, nil, false, ErrNoConfig
	}
	cfg, warnings, err = config.Finish(config.Development(), env)
	return cfg, warnings, true, err
}

// PrintConfigError writes a config error, one line per problem, each prefixed
// with the program's name.
func PrintConfigError(w io.Writer, prog string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s: config: %s\n", prog, line)
	}
}

// NewLogger builds the process logger. It never logs bodies or secrets by
// itself; callers must not put them in fields either.
func NewLogger(cfg config.Log) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if cfg.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
		zc.DisableStacktrace = true
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	return zc.Build()
}

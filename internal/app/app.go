// Package app wires idvbus's packages into the runnable services. The binaries
// in cmd/ only parse flags and call it, so everything here is reachable by tests.
package app

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
)

// ErrNoConfig is returned by [LoadConfig] when no config is given and the
// caller does not fall back to the development setup.
var ErrNoConfig = errors.New("no config given: pass --config PATH or set IDVBUS_CONFIG")

// LoadConfig loads the config at path (from --config) or, when path is
// empty, at $IDVBUS_CONFIG. With neither, it returns the development setup if
// allowDev, else [ErrNoConfig]. The result says which it chose and why
// ([config.Loaded.Describe]) and where each setting came from.
func LoadConfig(path string, env config.Env, allowDev bool) (config.Loaded, error) {
	chosen := "--config"
	if path == "" {
		path, chosen = env["IDVBUS_CONFIG"], "IDVBUS_CONFIG"
	}
	if path != "" {
		l, err := config.LoadFile(path, env)
		l.Chosen = chosen
		return l, err
	}
	if !allowDev {
		return config.Loaded{}, ErrNoConfig
	}
	return config.LoadDevelopment(env)
}

// PrintConfigError writes a config error, one line per problem, each prefixed
// with the program's name.
func PrintConfigError(w io.Writer, prog string, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s: config: %s\n", prog, line)
	}
}

// NewLogger builds the process logger, writing to stderr. It never logs
// bodies or secrets by itself; callers must not put them in fields either.
func NewLogger(cfg config.Log) (*zap.Logger, error) {
	return NewLoggerTo(cfg, os.Stderr)
}

// NewLoggerTo is [NewLogger] writing to w: zap's production settings (JSON,
// sampling) or, with format console, its development ones, without stack
// traces in either.
func NewLoggerTo(cfg config.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(cfg.Level)
	if err != nil {
		return nil, err
	}
	zc := zap.NewProductionConfig()
	if cfg.Format == "console" {
		zc = zap.NewDevelopmentConfig()
		zc.EncoderConfig.EncodeLevel = zapcore.CapitalColorLevelEncoder
	}
	zc.EncoderConfig.TimeKey = "time"
	zc.EncoderConfig.EncodeTime = zapcore.ISO8601TimeEncoder
	enc := zapcore.NewJSONEncoder(zc.EncoderConfig)
	if zc.Encoding == "console" {
		enc = zapcore.NewConsoleEncoder(zc.EncoderConfig)
	}
	ws := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewCore(enc, ws, zap.NewAtomicLevelAt(level))
	if s := zc.Sampling; s != nil {
		// zap's sampler keys on the message alone; ingest's refusal lines are
		// sampled per source and reason by ingest itself, and go around it.
		core = &refusalBypass{Core: zapcore.NewSamplerWithOptions(core, time.Second, s.Initial, s.Thereafter), raw: core}
	}
	// No stack traces (zap's production default adds one to every Error): an
	// error is logged once, where it is handled, with a message that says what
	// failed (a config error, NATS unreachable); the stack of that log call
	// tells an operator nothing and buries the message.
	opts := []zap.Option{zap.AddCaller(), zap.ErrorOutput(ws)}
	if zc.Development {
		opts = append(opts, zap.Development())
	}
	return zap.New(core, opts...), nil
}

// refusalBypass samples every entry except those of ingest's refusal logger
// ([ingest.RefusalLoggerName]), which it writes unsampled.
type refusalBypass struct {
	zapcore.Core // sampled
	raw          zapcore.Core
}

func (c *refusalBypass) With(fields []zapcore.Field) zapcore.Core {
	return &refusalBypass{Core: c.Core.With(fields), raw: c.raw.With(fields)}
}

func (c *refusalBypass) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if ent.LoggerName == ingest.RefusalLoggerName || strings.HasSuffix(ent.LoggerName, "."+ingest.RefusalLoggerName) {
		return c.raw.Check(ent, ce)
	}
	return c.Core.Check(ent, ce)
}

package app

import (
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/ingest"
)

// The process logger's sampler (100 per message per second, then every
// 100th) must not drop ingest's refusal lines, which ingest samples itself.
func TestRefusalLinesBypassTheSampler(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(&refusalBypass{Core: zapcore.NewSamplerWithOptions(core, 1<<62, 100, 1<<30), raw: core})
	refusals := log.Named("ingest").Named(ingest.RefusalLoggerName)
	other := log.Named("ingest")
	for range 1000 {
		refusals.Warn("webhook refused: authentication failed")
		other.Warn("something else")
	}
	if n := logs.FilterLoggerName("ingest." + ingest.RefusalLoggerName).Len(); n != 1000 {
		t.Errorf("%d refusal lines written, want all 1000", n)
	}
	if n := logs.FilterLoggerName("ingest").Len(); n != 100 {
		t.Errorf("%d other lines written, want 100 (sampled)", n)
	}
}

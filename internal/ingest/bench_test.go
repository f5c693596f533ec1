package ingest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/ingest"
	"github.com/idvbus/idvbus/internal/tracing"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// nopStore acknowledges every write at once, to isolate ingest's own cost.
type nopStore struct{}

func (nopStore) PublishRaw(context.Context, bus.RawMessage) (bus.Stored, error) {
	return bus.Stored{Seq: 1}, nil
}
func (nopStore) Ready(context.Context) error { return nil }

// BenchmarkHandlerPersona is the CPU and allocation cost of one Persona webhook
// in the handler (routing, body read, HMAC check, dedup key, answer) without
// network or JetStream.
// The logger is production's JSON encoder at info level, writing nowhere.
func BenchmarkHandlerPersona(b *testing.B) { benchHandlerPersona(b, nil, nil) }

// benchHandlerPersona serves signed Persona webhooks (1024 distinct ones, in
// turn) through the handler of a service with production's logger and
// metrics and tracer tr (nil: tracing off), so the benchmarks with and
// without tracing differ in nothing else. reset, if set, runs before each
// round of 1024.
func benchHandlerPersona(b *testing.B, tr *tracing.Tracer, reset func()) {
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	log := zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
	svc, err := ingest.New(ingest.Options{Config: config.Default().Ingest, Store: nopStore{}, Ready: nopStore{},
		Sources: []config.Source{{Name: "persona", Vendor: "persona", Auth: webhookauth.Config{Type: "persona", Secrets: []string{secret}}}},
		Log:     log, Metrics: ingest.NewMetrics(), Tracer: tr})
	if err != nil {
		b.Fatal(err)
	}
	h := svc.Handler()
	bodies := make([][]byte, 1024)
	sigs := make([]string, len(bodies))
	for i := range bodies {
		bodies[i] = body(fmt.Sprintf("evt_bench_%d", i))
		sigs[i] = signedRequest(bodies[i]).Header.Get("Persona-Signature")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(bodies)
		if j == 0 && reset != nil {
			reset()
		}
		r := httptest.NewRequest(http.MethodPost, "/webhooks/persona", bytesReader(bodies[j]))
		r.Header.Set("Persona-Signature", sigs[j])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("got %d", w.Code)
		}
	}
}

package app_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
)

// BenchmarkAllInOneIngest measures POST /webhooks/persona end to end against
// the all-in-one (embedded JetStream, file storage, R1, default sync_interval):
// HTTP over loopback, signature check, PubAck. Parallel senders follow
// -cpu/GOMAXPROCS × SetParallelism(8). Reports p50/p99 latency per request.
func BenchmarkAllInOneIngest(b *testing.B) {
	cfg := devConfig(b, b.TempDir())
	base, _ := runAllInOne(b, cfg, zap.NewNop())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var (
		seq  atomic.Int64
		mu   sync.Mutex
		lats []time.Duration
	)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		local := make([]time.Duration, 0, 1024)
		for pb.Next() {
			body := personaBody(fmt.Sprintf("evt_bench_%d_%d", b.N, seq.Add(1)))
			t0 := time.Now()
			code, status := sendPersona(b, client, base, body)
			local = append(local, time.Since(t0))
			if code != 200 || status != "accepted" {
				b.Errorf("got %d %s", code, status)
			}
		}
		mu.Lock()
		lats = append(lats, local...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds()), "p99-µs")
	}
}

package app_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
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

// BenchmarkEndToEndDelivery measures the whole pipeline on the all-in-one
// (embedded JetStream, file storage, R1): a signed Persona approval POSTed to
// ingest, stored, normalized, and delivered as a signed webhook to a
// subscriber on loopback that answers 204. Webhooks are sent at a fixed rate
// (sub-benchmark name, per second) by 16 senders, each for its own
// verification; the latency of one is from the start of its POST to the
// moment the subscriber received it. Reports p50/p99/max; b.N is the number
// of webhooks.
func BenchmarkEndToEndDelivery(b *testing.B) {
	for _, perSecond := range []int{100, 500, 1000, 2000} {
		b.Run(fmt.Sprintf("rate=%d", perSecond), func(b *testing.B) { benchEndToEnd(b, perSecond) })
	}
}

func benchEndToEnd(b *testing.B, perSecond int) {
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
		all     = make(chan struct{})
		want    atomic.Int64
	)
	rcv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e struct{ Subject string }
		_ = json.NewDecoder(r.Body).Decode(&e)
		now := time.Now()
		mu.Lock()
		if _, ok := arrived[e.Subject]; !ok {
			arrived[e.Subject] = now
			if int64(len(arrived)) == want.Load() {
				close(all)
			}
		}
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = rcv.Serve(ln) }()
	defer rcv.Close()

	cfg := config.Development()
	cfg.NATS.Embedded.StoreDir = b.TempDir()
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.MonitorListen = ""
	sub := testSubscriber("http://" + ln.Addr().String() + "/idv")
	sub.Concurrency = 32
	cfg.Subscribers = []config.Subscriber{sub}
	cfg, _, err = config.Finish(cfg, config.Env{})
	if err != nil {
		b.Fatal(err)
	}
	base, _ := runAllInOne(b, cfg, zap.NewNop())
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

	want.Store(int64(b.N))
	sent := make([]time.Time, b.N)
	interval := time.Second / time.Duration(perSecond)
	start := time.Now()
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := personaDecision(fmt.Sprintf("evt_e2e_%d", i), fmt.Sprintf("inq_e2e_%d", i), "approved")
				sent[i] = time.Now()
				if code, status := sendPersona(b, client, base, body); code != 200 || status != "accepted" {
					b.Errorf("webhook %d: %d %s", i, code, status)
				}
			}
		}()
	}
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		next <- i
	}
	close(next)
	wg.Wait()
	select {
	case <-all:
	case <-time.After(2 * time.Minute):
		mu.Lock()
		n := len(arrived)
		mu.Unlock()
		b.Fatalf("only %d of %d delivered", n, b.N)
	}
	b.StopTimer()
	lats := make([]time.Duration, 0, b.N)
	mu.Lock()
	for i := range b.N {
		lats = append(lats, arrived[fmt.Sprintf("inq_e2e_%d", i)].Sub(sent[i]))
	}
	mu.Unlock()
	slices.Sort(lats)
	b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lats[len(lats)-1].Microseconds())/1000, "max-ms")
}

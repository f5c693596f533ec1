// Command ingestload measures ingest: it sends correctly signed Persona
// webhooks, each with a new event id, to a running ingest (the all-in-one by
// default) and reports throughput, outcomes and latency percentiles.
//
//	go run ./tools/ingestload -c 16 -d 20s
//
// It only targets loopback addresses, stops after -n requests or -d, whichever
// comes first, and signs with the development Persona secret unless -secret is given.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idvbus/idvbus/internal/buildinfo"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:8080/webhooks/persona", "webhook URL (loopback only)")
	secret := flag.String("secret", config.DevPersonaSecret, "Persona webhook secret")
	conc := flag.Int("c", 16, "concurrent senders")
	total := flag.Int("n", 200000, "stop after this many requests")
	dur := flag.Duration("d", 20*time.Second, "stop after this long")
	size := flag.Int("size", 1500, "approximate body size in bytes (a Persona inquiry event is 1-3 KiB)")
	version := buildinfo.VersionFlag(flag.CommandLine, "ingestload", os.Stdout)
	flag.Parse()
	if version() {
		return
	}
	if err := run(*target, *secret, *conc, *total, *dur, *size); err != nil {
		fmt.Fprintln(os.Stderr, "ingestload:", err)
		os.Exit(1)
	}
}

func run(target, secret string, conc, total int, dur time.Duration, size int) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing non-loopback target %q", u.Hostname())
	}
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc},
	}
	auth := webhookauth.Config{Type: webhookauth.TypePersona, Secrets: []string{secret}}
	padding := strings.Repeat("x", max(size-400, 0))
	runID := time.Now().UnixNano()

	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	var (
		next     atomic.Int64
		mu       sync.Mutex
		lats     = make([]time.Duration, 0, min(total, 1<<20))
		outcomes = map[string]int{}
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localOut := map[string]int{}
			for ctx.Err() == nil {
				i := next.Add(1)
				if i > int64(total) {
					break
				}
				body := fmt.Appendf(nil, `{"data":{"type":"event","id":"evt_load_%d_%d","attributes":{"name":"inquiry.approved","created-at":%q,"payload":{"data":{"type":"inquiry","id":"inq_load_%d","attributes":{"status":"approved","reference-id":"user-%d","note":%q}}}}}}`,
					runID, i, time.Now().UTC().Format(time.RFC3339Nano), i, i, padding)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if err := webhookauth.Sign(auth, req.Header, body, time.Now()); err != nil {
					localOut["sign error"]++
					continue
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						localOut["transport error"]++
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				localOut[fmt.Sprint(resp.StatusCode)]++
			}
			mu.Lock()
			lats = append(lats, local...)
			for k, v := range localOut {
				outcomes[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lats)
	pct := func(p float64) time.Duration {
		if len(lats) == 0 {
			return 0
		}
		return lats[min(int(p*float64(len(lats))), len(lats)-1)]
	}
	fmt.Printf("target      %s\nsenders     %d (GOMAXPROCS %d, %d CPUs)\nbody        ~%d bytes\n", target, conc, runtime.GOMAXPROCS(0), runtime.NumCPU(), size)
	fmt.Printf("requests    %d in %s = %.0f req/s\n", len(lats), elapsed.Round(time.Millisecond), float64(len(lats))/elapsed.Seconds())
	fmt.Printf("outcomes    %v\n", outcomes)
	fmt.Printf("latency     p50 %s  p90 %s  p99 %s  max %s\n", pct(.50), pct(.90), pct(.99), pct(1))
	if outcomes["200"] != len(lats) {
		return fmt.Errorf("not every request was answered 200")
	}
	return nil
}

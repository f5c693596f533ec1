// Command ingestflood measures how ingest holds up under the memory attack of
// issue 16: -c connections each send a Persona webhook with a forged
// signature (fresh timestamp, random v1), declare a body of -size bytes and
// send all of it but the last byte, then hold the connection. Meanwhile it
// sends one genuine webhook of another source (the development Incode source,
// static-header auth) every -every from another loopback address, and
// reports their latency and answers; with -pid it samples the target
// process's VmRSS (/proc/<pid>/status) and reports the baseline and the peak.
//
//	go run ./tools/ingestflood -url http://127.0.0.1:18680 -pid $(pgrep -n idvbus) -c 1000 -d 20s
//
// It only targets loopback addresses and is bounded: at most 5,000
// connections, at most 2 minutes. The flood comes from -flood-ip (127.0.0.2
// by default: Linux routes all of 127.0.0.0/8 to lo), the genuine webhooks
// from 127.0.0.1, so that a per-address bound can tell them apart as it would
// tell an attacker from a vendor.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idvbus/idvbus/internal/config"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8080", "ingest base URL (loopback only)")
	conns := flag.Int("c", 1000, "forged connections (at most 5000)")
	size := flag.Int("size", 1<<20, "declared body size; all but the last byte is sent")
	dur := flag.Duration("d", 20*time.Second, "how long to hold the flood (at most 2m)")
	every := flag.Duration("every", 50*time.Millisecond, "interval between genuine webhooks")
	pid := flag.Int("pid", 0, "the ingest process, for VmRSS (0: not measured)")
	floodIP := flag.String("flood-ip", "127.0.0.2", "loopback address the flood comes from")
	flag.Parse()
	if err := run(*base, *conns, *size, *dur, *every, *pid, *floodIP); err != nil {
		fmt.Fprintln(os.Stderr, "ingestflood:", err)
		os.Exit(1)
	}
}

func run(base string, conns, size int, dur, every time.Duration, pid int, floodIP string) error {
	u, err := url.Parse(base)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback target %q", u.Hostname())
	}
	if fip := net.ParseIP(floodIP); fip == nil || !fip.IsLoopback() {
		return fmt.Errorf("refusing non-loopback flood address %q", floodIP)
	}
	if conns < 1 || conns > 5000 || dur <= 0 || dur > 2*time.Minute || size < 2 {
		return fmt.Errorf("out of bounds: -c 1..5000, -d up to 2m, -size at least 2")
	}
	addr := u.Host

	rss := &rssSampler{pid: pid}
	baseline := rss.sample()
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	go rss.run(ctx)

	// The genuine sender starts first, to see the latency before and during the flood.
	gen := &genuine{base: base}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); gen.run(ctx, every) }()

	var answered sync.Map // status -> *atomic.Int64
	var openErrs, open atomic.Int64
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := forge(ctx, addr, floodIP, size, &open)
			if err != nil {
				openErrs.Add(1)
				return
			}
			v, _ := answered.LoadOrStore(code, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}()
	}
	wg.Wait()

	fmt.Printf("flood: %d connections from %s, %d-byte bodies declared, %d sent each, held %s\n", conns, floodIP, size, size-1, dur)
	fmt.Printf("  answers while held:")
	answered.Range(func(k, v any) bool { fmt.Printf(" %v×%d", k, v.(*atomic.Int64).Load()); return true })
	fmt.Printf("; %d connect/write errors\n", openErrs.Load())
	gen.report()
	if pid > 0 {
		fmt.Printf("ingest VmRSS: baseline %.1f MiB, peak %.1f MiB\n", mib(baseline), mib(rss.peak.Load()))
	}
	return nil
}

// forge sends one forged webhook without its last byte and waits for an
// answer until ctx ends. It returns the answer's status, "closed" if the
// server closed the connection before an answer could be read, or "none" if
// it answered nothing while the flood was held.
func forge(ctx context.Context, addr, fromIP string, size int, open *atomic.Int64) (string, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fromIP)}, Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	open.Add(1)
	defer c.Close()
	mac := make([]byte, 32)
	_, _ = rand.Read(mac)
	head := fmt.Sprintf("POST /webhooks/persona HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Persona-Signature: t=%d,v1=%s\r\nContent-Length: %d\r\n\r\n", addr, time.Now().Unix(), hex.EncodeToString(mac), size)
	answer := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			// Closed (often reset: the unread body) before an answer could be read.
			answer <- "closed"
			return
		}
		resp.Body.Close()
		answer <- strconv.Itoa(resp.StatusCode)
	}()
	body := bytes.Repeat([]byte{'x'}, size-1)
	body[0] = '{'
	if _, err := io.WriteString(c, head); err == nil {
		_, _ = c.Write(body) // fails once the server answered and closed: that is fine
	}
	select {
	case a := <-answer:
		return a, nil
	case <-ctx.Done():
		_ = c.Close()
		return "none", nil
	}
}

// genuine sends correctly authenticated Incode webhooks one at a time.
type genuine struct {
	base      string
	mu        sync.Mutex
	latencies []time.Duration
	codes     map[int]int
	errs      int
}

func (g *genuine) run(ctx context.Context, every time.Duration) {
	g.codes = map[int]int{}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		body := fmt.Sprintf(`{"interviewId":"flood-%d-%d","onboardingStatus":"ONBOARDING_FINISHED","clientId":"c"}`, time.Now().UnixNano(), i)
		req, _ := http.NewRequest(http.MethodPost, g.base+"/webhooks/incode", strings.NewReader(body))
		req.Header.Set("X-Webhook-Token", config.DevIncodeToken)
		start := time.Now()
		resp, err := client.Do(req)
		d := time.Since(start)
		g.mu.Lock()
		if err != nil {
			g.errs++
		} else {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			g.codes[resp.StatusCode]++
			g.latencies = append(g.latencies, d)
		}
		g.mu.Unlock()
	}
}

func (g *genuine) report() {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := slices.Clone(g.latencies)
	slices.Sort(l)
	pct := func(p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return l[min(len(l)-1, int(float64(len(l))*p))]
	}
	fmt.Printf("genuine (incode, from 127.0.0.1): %d answered %v, %d errors; latency p50 %s p90 %s p99 %s max %s\n",
		len(l), g.codes, g.errs, pct(.5), pct(.9), pct(.99), pct(1))
}

// rssSampler polls a process's VmRSS every 50 ms and keeps the peak.
type rssSampler struct {
	pid  int
	peak atomic.Int64
}

func (r *rssSampler) run(ctx context.Context) {
	if r.pid <= 0 {
		return
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		if v := r.sample(); v > r.peak.Load() {
			r.peak.Store(v)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample returns VmRSS in bytes, 0 if unknown.
func (r *rssSampler) sample() int64 {
	if r.pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", r.pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

package chaos_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natstest"
)

// scenario is one run: a stack, a load and the faults injected during it.
type scenario struct {
	name     string
	stack    string // "all-in-one" or "split"
	rate     float64
	workers  int
	duration time.Duration
	ordered  bool
	// jobs bounds the verifications (the ordering scenario sends a fixed
	// set, the same as its run without faults).
	jobs int
	// start, when set, starts the stack instead of stack's kind.
	start func(t *testing.T) *stack
	// inject runs while the load runs and returns the faults it caused.
	inject func(t *testing.T, s *stack, sk *sink, l *vendor) []fault
}

// every returns the times, from now, of n faults spread evenly over d.
func every(n int, d time.Duration) []time.Time {
	start := time.Now()
	out := make([]time.Time, n)
	for i := range n {
		out[i] = start.Add(time.Duration(i+1) * d / time.Duration(n+1))
	}
	return out
}

// waitUntil waits for a point of the fault schedule.
func waitUntil(at time.Time) { time.Sleep(time.Until(at)) }

// killRestart kills p with SIGKILL and starts it again at once, as a
// supervisor would; recovery is measured from the moment p was gone (so no
// answer of the killed process counts as "after").
func killRestart(t *testing.T, p *proc) fault {
	t.Helper()
	p.kill(t)
	f := fault{what: "kill -9 " + p.name, at: time.Now()}
	p.start(t)
	f.ready = time.Since(f.at)
	return f
}

func runScenario(t *testing.T, sc scenario) {
	t.Helper()
	requireChaos(t)
	t0 := time.Now()
	var want map[string]event
	if sc.ordered {
		want = baseline(t, sc)
	}
	sk := startSink(t, portSink)
	var s *stack
	switch {
	case sc.start != nil:
		s = sc.start(t)
	case sc.stack == "all-in-one":
		s = startAllInOne(t, portsAllInOne, portSink)
	case sc.stack == "split":
		s = startSplit(t, portsSplit, portSink, 2)
	default:
		t.Fatalf("unknown stack %q", sc.stack)
	}
	l := newVendor(s.ingestURL, sc.name, sc.rate, sc.workers)
	l.ordered, l.jobs = sc.ordered, sc.jobs
	// The load runs in the background, the faults in the test's goroutine
	// (they may fail it); a failed test stops the load through ctx.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	loaded := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		l.run(ctx, sc.duration)
		loaded <- time.Since(start)
	}()
	var faults []fault
	if sc.inject != nil {
		faults = sc.inject(t, s, sk, l)
	}
	sendTime := <-loaded
	r := &result{Name: sc.name, Stack: sc.stack, Rate: sc.rate, Duration: sc.duration}
	r.WebhooksPerV = 1
	if sc.ordered {
		r.WebhooksPerV = len(steps)
	}
	reconcile(t, s, l, sk, faults, want, r)
	r.AcceptedRate = float64(r.Accepted) / sendTime.Seconds()
	r.Faults = describeFaults(faults)
	r.Elapsed = time.Since(t0)
	results = append(results, *r)
	t.Logf("%s: %d accepted (%.0f/s), %d answered 503, %d connection errors, raw %d, events %d, delivered %d (+%d redeliveries), duplicate ids %d, duplicate normalizations %d, lost raw/events/deliveries %d/%d/%d, final state differs %d, statuses skipped %d, events differing %d, faults: %s, resumes %s, longest pause normalized/delivered %s/%s, slowest webhook %s, log leaks %d, took %s",
		r.Name, r.Accepted, r.AcceptedRate, r.Answered503, r.ConnErrors, r.RawStored, r.Events, r.Delivered, r.Redeliveries,
		r.DupIDs, r.DupNormalized, r.LostRaw, r.LostEvents, r.LostDelivered, r.FinalMismatch, r.Skipped, r.Mismatched, r.Faults, resumeList(r.Resumes), r.NormPause.Round(10*time.Millisecond), r.DeliverPause.Round(10*time.Millisecond), r.Slowest.Round(10*time.Millisecond), r.LogLeaks,
		r.Elapsed.Round(time.Second))
}

// baseline runs the ordering scenario's webhooks through a fresh all-in-one
// without any fault and returns the events it stored: the set the run with
// faults must end with.
func baseline(t *testing.T, sc scenario) map[string]event {
	t.Helper()
	sk := startSink(t, portSinkBase)
	s := startAllInOne(t, portsBaseline, portSinkBase)
	l := newVendor(s.ingestURL, sc.name, 1000, sc.workers)
	l.ordered, l.jobs = true, sc.jobs
	l.run(t.Context(), time.Hour) // bounded by jobs
	want := len(l.accepted())
	var events map[string]event
	natstest.Eventually(t, settleTimeout, "the run without faults to deliver every event", func() bool {
		if sk.unique() < want {
			return false
		}
		events = readEvents(t, s.natsURL)
		return len(events) >= want
	})
	s.proc(t, "idvbus").term(t, 30*time.Second)
	sk.down()
	if n := l.startedVerifications(); n != sc.jobs || want != sc.jobs*len(steps) {
		t.Fatalf("run without faults: %d verifications, %d webhooks accepted; want %d and %d", n, want, sc.jobs, sc.jobs*len(steps))
	}
	return events
}

func describeFaults(fs []fault) string {
	counts := map[string]int{}
	var order []string
	for _, f := range fs {
		if counts[f.what] == 0 {
			order = append(order, f.what)
		}
		counts[f.what]++
	}
	var parts []string
	for _, w := range order {
		parts = append(parts, fmt.Sprintf("%s ×%d", w, counts[w]))
	}
	return strings.Join(parts, ", ")
}

func resumeList(rs []resume) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%s: ready %.2fs, normalized %.2fs, delivered %.2fs", r.What, r.Ready.Seconds(), r.Norm.Seconds(), r.Deliver.Seconds()))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// TestKillAllInOne: kill -9 of the all-in-one (its embedded JetStream with
// it) under load, restarted at once each time.
func TestKillAllInOne(t *testing.T) {
	kills := pick(2, 10)
	d := pick(15*time.Second, 60*time.Second)
	runScenario(t, scenario{name: "kill-all-in-one", stack: "all-in-one",
		rate: pick(100.0, 300.0), workers: pick(16, 48), duration: d,
		inject: func(t *testing.T, s *stack, _ *sink, _ *vendor) []fault {
			var fs []fault
			for _, at := range every(kills, d) {
				waitUntil(at)
				fs = append(fs, killRestart(t, s.proc(t, "idvbus")))
			}
			return fs
		}})
}

// TestKillEachService: kill -9, in turn, of ingest, the active normalizer
// (a standby runs), the notifier and nats-server, each restarted at once.
func TestKillEachService(t *testing.T) {
	rounds := pick(1, 3)
	d := pick(30*time.Second, 90*time.Second)
	runScenario(t, scenario{name: "kill-each-service", stack: "split",
		rate: pick(100.0, 300.0), workers: pick(16, 48), duration: d,
		inject: func(t *testing.T, s *stack, _ *sink, _ *vendor) []fault {
			var fs []fault
			at := every(4*rounds, d)
			for i := range rounds {
				waitUntil(at[4*i])
				fs = append(fs, killRestart(t, s.proc(t, "ingest")))
				waitUntil(at[4*i+1])
				fs = append(fs, killRestart(t, activeNormalizer(t, s)))
				waitUntil(at[4*i+2])
				fs = append(fs, killRestart(t, s.proc(t, "notifier")))
				waitUntil(at[4*i+3])
				fs = append(fs, killRestart(t, s.proc(t, "nats-server")))
			}
			return fs
		}})
}

// TestSubscriberOutage: the subscriber's port refuses connections for a
// while; every event is delivered once it is back.
func TestSubscriberOutage(t *testing.T) {
	outage := pick(8*time.Second, 20*time.Second)
	d := outage + pick(10*time.Second, 20*time.Second)
	runScenario(t, scenario{name: "subscriber-outage", stack: "all-in-one",
		rate: pick(100.0, 300.0), workers: pick(16, 48), duration: d,
		inject: func(t *testing.T, _ *stack, sk *sink, _ *vendor) []fault {
			waitUntil(every(1, d-outage)[0])
			sk.down()
			time.Sleep(outage) // the fault's length, not a wait for an event
			f := fault{what: fmt.Sprintf("subscriber down %s", outage), at: time.Now()}
			sk.up(t)
			return []fault{f}
		}})
}

// TestFullStore: IDV_RAW is given a max_bytes just above what it holds, with
// discard new, so JetStream refuses the next writes as a full store does:
// ingest must answer 503 (never 200) until space is freed, then accept again.
func TestFullStore(t *testing.T) {
	d := pick(20*time.Second, 40*time.Second)
	hold := pick(3*time.Second, 10*time.Second)
	runScenario(t, scenario{name: "full-store", stack: "all-in-one",
		rate: pick(100.0, 300.0), workers: pick(16, 48), duration: d,
		inject: func(t *testing.T, s *stack, _ *sink, l *vendor) []fault {
			waitUntil(every(1, d/2)[0])
			js := jsClient(t, s.natsURL)
			ctx := t.Context()
			st, err := js.Stream(ctx, bus.StreamRaw)
			if err != nil {
				t.Fatal(err)
			}
			info, err := st.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			orig := info.Config
			full := orig
			full.MaxBytes = int64(info.State.Bytes) + 64<<10 // room for ~60 more webhooks
			full.Discard = jetstream.DiscardNew
			if _, err := js.UpdateStream(ctx, full); err != nil {
				t.Fatalf("limit %s: %v", bus.StreamRaw, err)
			}
			_, before, _, _ := l.counts()
			natstest.Eventually(t, 60*time.Second, "ingest answering 503 on the full store", func() bool {
				_, n, _, _ := l.counts()
				return n > before
			})
			time.Sleep(hold) // the store stays full this long
			f := fault{what: "full store freed", at: time.Now()}
			if _, err := js.UpdateStream(ctx, orig); err != nil {
				t.Fatalf("free %s: %v", bus.StreamRaw, err)
			}
			return []fault{f}
		}})
}

// TestFrozenNormalizer: SIGSTOP of the active normalizer while a standby
// runs, SIGCONT later: no CloudEvent twice, nothing lost. Recovery is
// measured from the freeze: the standby must take over while it lasts.
func TestFrozenNormalizer(t *testing.T) {
	freeze := pick(8*time.Second, 20*time.Second)
	d := freeze + pick(12*time.Second, 20*time.Second)
	runScenario(t, scenario{name: "frozen-normalizer", stack: "split",
		rate: pick(100.0, 300.0), workers: pick(16, 48), duration: d,
		inject: func(t *testing.T, s *stack, _ *sink, _ *vendor) []fault {
			waitUntil(every(1, d-freeze)[0])
			p := activeNormalizer(t, s)
			f := fault{what: fmt.Sprintf("SIGSTOP %s %s", p.name, freeze), at: time.Now()}
			p.signal(t, syscall.SIGSTOP)
			time.Sleep(freeze) // the freeze's length
			p.signal(t, syscall.SIGCONT)
			return []fault{f}
		}})
}

// TestOrderingUnderKills: four webhooks per verification, each sent after
// the previous one was answered 200, with kill -9 of the all-in-one in
// between: the events equal those of the same webhooks without faults.
func TestOrderingUnderKills(t *testing.T) {
	kills := pick(2, 6)
	rate := pick(15.0, 40.0)
	d := pick(15*time.Second, 45*time.Second)
	runScenario(t, scenario{name: "ordering-under-kills", stack: "all-in-one",
		rate: rate, workers: pick(32, 96), duration: d, ordered: true, jobs: int(rate * d.Seconds()),
		inject: func(t *testing.T, s *stack, _ *sink, _ *vendor) []fault {
			var fs []fault
			for _, at := range every(kills, d) {
				waitUntil(at)
				fs = append(fs, killRestart(t, s.proc(t, "idvbus")))
			}
			return fs
		}})
}

func jsClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// activeNormalizer returns the stand-alone normalizer that is consuming:
// the one whose idvbus_normalizer_messages_total grows while load runs.
func activeNormalizer(t *testing.T, s *stack) *proc {
	t.Helper()
	before := map[*proc]float64{}
	for _, p := range s.normalizers {
		before[p] = normalized(p)
	}
	var active *proc
	natstest.Eventually(t, 30*time.Second, "a normalizer consuming", func() bool {
		for _, p := range s.normalizers {
			if normalized(p) > before[p] {
				active = p
				return true
			}
		}
		return false
	})
	return active
}

// normalized sums idvbus_normalizer_messages_total from p's /metrics (-1
// when it does not answer).
func normalized(p *proc) float64 {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(strings.TrimSuffix(p.ready, "/readyz") + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "idvbus_normalizer_messages_total") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			v, _ := strconv.ParseFloat(line[i+1:], 64)
			sum += v
		}
	}
	return sum
}

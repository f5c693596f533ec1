package container_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/apptest"
	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natscontainer"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// Test-sized settings of the cluster test. The phases are counted in
// accepted webhooks, not in time, so a slow machine sends fewer per second
// but never fewer in total.
const (
	clusterSenders = 4
	// clusterPhase is how many webhooks must be accepted before the kill,
	// between the kill and the restart, and after the restart.
	clusterPhase = 100
	// clusterPublishTimeout is ingest.publish_timeout: a webhook whose PubAck
	// takes longer is answered 503, so it bounds how long after the election a
	// request that started during it can still be answered 503.
	clusterPublishTimeout = 2 * time.Second
	// electionGrace is added to the election window's end for the ingest's
	// reconnect (ReconnectWait 1 s + jitter up to 1 s) and scheduling on a
	// loaded machine.
	electionGrace = 3 * time.Second
	// clusterPhaseTimeout bounds each phase; JetStream elects a new leader
	// within seconds, so a phase this long means it did not.
	clusterPhaseTimeout = 45 * time.Second
)

var clusterSubscriberSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("cluster-test-subscriber-secret-0123"))

// TestClusterKeepsEveryAcceptedWebhookWhenTheLeaderDies runs the services the
// way deploy/ describes them, against a three-node JetStream cluster with R3
// streams: two ingests, two normalizers (one pinned, one standing by), two
// notifiers sharing the subscriber's durable consumer, all in this process
// with nats.url listing the three nodes. Vendors send without pause while
// the node leading IDV_RAW is killed (SIGKILL, as a crash) and later started
// again. It checks what a user relies on:
//   - every webhook answered 200 is in IDV_RAW exactly once, normalized into
//     exactly one event, and delivered to the subscriber;
//   - 503 (the vendor retries) is answered only between the kill and the
//     end of the election, never before or after;
//   - the restarted node catches up: in the end all three nodes hold the same
//     streams.
func TestClusterKeepsEveryAcceptedWebhookWhenTheLeaderDies(t *testing.T) {
	t0 := time.Now()
	cl := natscontainer.StartCluster(t, 3)
	tCluster := time.Since(t0)

	rcv := newClusterReceiver(t)
	cfg := clusterConfig(t, cl.URL(), rcv.srv.URL)
	ingests := []string{
		apptest.Run(t, "ingest-1", app.Ingest, cfg, nil, serviceLog(t, "ingest-1"), 60*time.Second).Webhooks,
		apptest.Run(t, "ingest-2", app.Ingest, cfg, nil, serviceLog(t, "ingest-2"), 60*time.Second).Webhooks,
	}
	apptest.Run(t, "normalizer-1", app.Normalizer, cfg, nil, serviceLog(t, "normalizer-1"), 60*time.Second)
	apptest.Run(t, "normalizer-2", app.Normalizer, cfg, nil, serviceLog(t, "normalizer-2"), 60*time.Second)
	apptest.Run(t, "notifier-1", app.Notifier, cfg, nil, serviceLog(t, "notifier-1"), 60*time.Second)
	apptest.Run(t, "notifier-2", app.Notifier, cfg, nil, serviceLog(t, "notifier-2"), 60*time.Second)
	tServices := time.Since(t0) - tCluster

	v := newVendors(ingests)
	v.start(clusterSenders)
	defer v.stop()
	ctx := t.Context()

	// Phase 1: the cluster is healthy.
	v.waitAccepted(t, clusterPhase, "accepted webhooks before the kill")
	victimName := waitStreamLeader(t, cl, bus.StreamRaw, "")
	victim := cl.Server(victimName)
	meta, _ := cl.MetaLeader(ctx)
	t.Logf("killing %s: leader of %s (meta leader: %s)", victimName, bus.StreamRaw, meta)

	// Phase 2: the leader is gone.
	tKill := time.Now()
	if err := victim.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	newLeader := waitStreamLeader(t, cl, bus.StreamRaw, victimName)
	tElected := time.Now()
	base := v.acceptedCount()
	v.waitAccepted(t, base+clusterPhase, "accepted webhooks with one node down")
	first200 := v.first200After(tKill)
	windowEnd := maxTime(tElected, first200).Add(clusterPublishTimeout + electionGrace)
	t.Logf("new %s leader %s reported after %s", bus.StreamRaw, newLeader, tElected.Sub(tKill).Round(time.Millisecond))

	// Phase 3: the node comes back and catches up while sending goes on.
	tRestart := time.Now()
	if err := victim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	target := streamLastSeq(t, cl.Server(newLeader), bus.StreamRaw)
	natstest.Eventually(t, clusterPhaseTimeout, victimName+" catching up with "+bus.StreamRaw, func() bool {
		seq, ok := nodeStream(ctx, victim, bus.StreamRaw)
		return ok && seq.LastSeq >= target
	})
	tCaughtUp := time.Since(tRestart)
	base = v.acceptedCount()
	v.waitAccepted(t, base+clusterPhase, "accepted webhooks after the restart")
	v.stop()
	tSent := time.Now()

	// Everything accepted reaches the subscriber.
	acked := v.acceptedIDs()
	natstest.Eventually(t, clusterPhaseTimeout, "every accepted webhook delivered", func() bool {
		return rcv.deliveredAll(acked)
	})
	tDelivered := time.Since(tSent)

	// Stored once, normalized once.
	raw := map[string]int{}
	for _, m := range natstest.ReadStream(t, cl.URL(), bus.StreamRaw) {
		raw[m.Header.Get(bus.HeaderMsgID)]++
	}
	events := map[string]int{}
	for _, m := range natstest.ReadStream(t, cl.URL(), bus.StreamEvents) {
		events[m.Header.Get("ce-subject")]++
		if n := events[m.Header.Get("ce-subject")]; n > 1 {
			t.Errorf("verification %s has %d events in %s, want 1", m.Header.Get("ce-subject"), n, bus.StreamEvents)
		}
	}
	for _, id := range acked {
		if raw["persona:"+id] != 1 {
			t.Errorf("accepted webhook %s is stored %d times in %s, want once", id, raw["persona:"+id], bus.StreamRaw)
		}
		if events["inq_"+id] != 1 {
			t.Errorf("accepted webhook %s produced %d events, want 1", id, events["inq_"+id])
		}
	}
	if len(raw) != len(acked) {
		// A webhook answered 503 may still have been stored; its vendor retry
		// is then answered "duplicate" and it is in acked. Anything else
		// stored was never acknowledged and never retried, which the senders
		// here do not do.
		t.Errorf("%s holds %d webhooks, %d were accepted", bus.StreamRaw, len(raw), len(acked))
	}

	// 503 only while the election was under way.
	unavailable := v.unavailableTimes()
	var last503 time.Duration
	for _, at := range unavailable {
		last503 = max(last503, at.Sub(tKill))
		if at.Before(tKill) || at.After(windowEnd) {
			t.Errorf("503 at %s relative to the kill, outside the election window [0, %s]",
				at.Sub(tKill).Round(time.Millisecond), windowEnd.Sub(tKill).Round(time.Millisecond))
		}
	}
	if other := v.unexpected(); len(other) > 0 {
		t.Errorf("%d answers other than 200/503, first: %s", len(other), other[0])
	}

	// The restarted node holds what the others hold.
	for _, stream := range []string{bus.StreamRaw, bus.StreamEvents} {
		natstest.Eventually(t, clusterPhaseTimeout, "all nodes agreeing on "+stream, func() bool {
			var want *streamState
			for _, s := range cl.Servers {
				st, ok := nodeStream(ctx, s, stream)
				if !ok || (want != nil && st != *want) {
					return false
				}
				want = &st
			}
			return true
		})
	}

	redelivered := rcv.redeliveries()
	t.Logf("timings: cluster %s, services %s, new leader reported %s after the kill, %d answers 503 (last %s after the kill; allowed until %s), catch-up %s, delivery drain %s, total %s",
		tCluster.Round(time.Millisecond), tServices.Round(time.Millisecond),
		tElected.Sub(tKill).Round(time.Millisecond), len(unavailable), last503.Round(time.Millisecond), windowEnd.Sub(tKill).Round(time.Millisecond),
		tCaughtUp.Round(time.Millisecond), tDelivered.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	t.Logf("webhooks accepted %d, stored %d, events %d, subscriber requests %d (same webhook-id again: %d, allowed: delivery is at least once)",
		len(acked), len(raw), len(events), rcv.requests(), redelivered)
}

// clusterConfig is the config every service of the test shares: the three
// nodes, R3, one Persona source and one subscriber.
func clusterConfig(t *testing.T, natsURL, subscriberURL string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.NATS.URL = natsURL
	cfg.JetStream.Replicas = 3
	cfg.Ingest.PublishTimeout = clusterPublishTimeout
	cfg.Ingest.RetryAfter = time.Second
	cfg.Normalizer.PinnedTTL = 5 * time.Second
	cfg.Normalizer.ShutdownTimeout = 2 * time.Second
	cfg.Notifier.AckWait = 5 * time.Second
	cfg.Notifier.ShutdownTimeout = 2 * time.Second
	cfg.Sources = []config.Source{{Name: "persona", Vendor: "persona",
		Auth: webhookauth.Config{Type: "persona", Secrets: []string{secret}}}}
	cfg.Subscribers = []config.Subscriber{{Name: "onboarding", URL: subscriberURL,
		Secrets: []string{clusterSubscriberSecret}, Start: "all"}}
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serviceLog is a service's logger: warnings and errors only, named.
func serviceLog(t *testing.T, name string) *zap.Logger {
	return zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)).Named(name)
}

// vendors send signed Persona approvals, each of its own verification, and
// retry each one on 503 until it is answered 200, as a vendor does.
type vendors struct {
	ingests []string
	client  *http.Client
	quit    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once

	mu       sync.Mutex
	accepted []string // event ids, in the order they were answered 200
	okAt     []time.Time
	unavail  []time.Time
	other    []string
	progress chan struct{}
}

func newVendors(ingests []string) *vendors {
	return &vendors{ingests: ingests, client: &http.Client{Timeout: 10 * time.Second},
		quit: make(chan struct{}), progress: make(chan struct{}, 1)}
}

func (v *vendors) start(n int) {
	for s := range n {
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-v.quit:
					return
				default:
				}
				v.send(fmt.Sprintf("cl_%d_%d", s, i), v.ingests[(s+i)%len(v.ingests)])
			}
		}()
	}
}

// send posts one webhook until it is answered 200. It gives up only when the
// test stops the senders and the webhook was never answered 200 (then it is
// not in accepted and not checked, as a vendor's later retry would not be).
func (v *vendors) send(id, base string) {
	body := []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":"inquiry.approved","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":"inq_%s","attributes":{"status":"approved","reference-id":"user-%s"}}}}}}`, id, id, id))
	for {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/persona", bytes.NewReader(body))
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(secret, time.Now(), body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := v.client.Do(req)
		now := time.Now()
		code, status := 0, ""
		if err == nil {
			var a struct{ Status string }
			_ = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			code, status = resp.StatusCode, a.Status
		}
		v.mu.Lock()
		switch {
		case code == http.StatusOK && (status == "accepted" || status == "duplicate"):
			v.accepted = append(v.accepted, id)
			v.okAt = append(v.okAt, now)
			v.mu.Unlock()
			select {
			case v.progress <- struct{}{}:
			default:
			}
			return
		case code == http.StatusServiceUnavailable:
			v.unavail = append(v.unavail, now)
		default:
			v.other = append(v.other, fmt.Sprintf("%s: %d %q %v", id, code, status, err))
		}
		v.mu.Unlock()
		select {
		case <-v.quit:
			return
		case <-time.After(100 * time.Millisecond): // the vendor's retry pause (real ones wait far longer)
		}
	}
}

func (v *vendors) stop() {
	v.once.Do(func() { close(v.quit) })
	v.wg.Wait()
}

func (v *vendors) acceptedCount() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.accepted)
}

func (v *vendors) acceptedIDs() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.accepted...)
}

func (v *vendors) unavailableTimes() []time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Time(nil), v.unavail...)
}

func (v *vendors) unexpected() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.other...)
}

// first200After is when the first webhook was answered 200 after t (zero if
// none was).
func (v *vendors) first200After(t time.Time) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, at := range v.okAt {
		if at.After(t) {
			return at
		}
	}
	return time.Time{}
}

// waitAccepted waits until n webhooks were answered 200.
func (v *vendors) waitAccepted(t *testing.T, n int, what string) {
	t.Helper()
	deadline := time.After(clusterPhaseTimeout)
	for v.acceptedCount() < n {
		select {
		case <-v.progress:
		case <-deadline:
			t.Fatalf("timed out after %s waiting for %d %s (have %d; %d answers 503, other: %v)",
				clusterPhaseTimeout, n, what, v.acceptedCount(), len(v.unavailableTimes()), v.unexpected())
		}
	}
}

// clusterReceiver is the subscriber: it records the webhook-id and the
// verification of every request and answers 204.
type clusterReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	ids map[string]int // webhook-id -> requests
	got map[string]bool
}

func newClusterReceiver(t *testing.T) *clusterReceiver {
	r := &clusterReceiver{ids: map[string]int{}, got: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var ev struct{ Subject string }
		_ = json.Unmarshal(body, &ev)
		r.mu.Lock()
		r.ids[req.Header.Get("webhook-id")]++
		r.got[ev.Subject] = true
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// deliveredAll reports whether the approval of every event id was delivered.
func (r *clusterReceiver) deliveredAll(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if !r.got["inq_"+id] {
			return false
		}
	}
	return true
}

func (r *clusterReceiver) requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.ids {
		n += c
	}
	return n
}

func (r *clusterReceiver) redeliveries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.ids {
		n += c - 1
	}
	return n
}

// streamState is a node's view of one stream.
type streamState struct {
	Messages uint64 `json:"messages"`
	LastSeq  uint64 `json:"last_seq"`
}

// nodeStream reads stream's state as node s holds it (/jsz), false if s
// does not answer or does not hold the stream yet.
func nodeStream(ctx context.Context, s *natscontainer.Server, stream string) (streamState, bool) {
	var jsz struct {
		Accounts []struct {
			Streams []struct {
				Name  string      `json:"name"`
				State streamState `json:"state"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := s.Monitor(ctx, "/jsz?accounts=true&streams=true", &jsz); err != nil {
		return streamState{}, false
	}
	for _, a := range jsz.Accounts {
		for _, st := range a.Streams {
			if st.Name == stream {
				return st.State, true
			}
		}
	}
	return streamState{}, false
}

func streamLastSeq(t *testing.T, s *natscontainer.Server, stream string) uint64 {
	t.Helper()
	st, ok := nodeStream(t.Context(), s, stream)
	if !ok {
		t.Fatalf("%s does not report %s", s.Name(), stream)
	}
	return st.LastSeq
}

// waitStreamLeader waits until the reachable nodes report a leader of stream
// other than not, and returns its name.
func waitStreamLeader(t *testing.T, cl *natscontainer.Cluster, stream, not string) string {
	t.Helper()
	var leader string
	natstest.Eventually(t, clusterPhaseTimeout, "a leader of "+stream, func() bool {
		l, err := cl.StreamLeader(t.Context(), stream)
		leader = l
		return err == nil && l != "" && l != not
	})
	return leader
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

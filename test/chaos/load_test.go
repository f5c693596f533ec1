package chaos_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

// vendorRetryPause is how long a sender waits before retrying a webhook
// answered 503 or not answered at all (real vendors wait longer; a short
// pause makes recovery visible to the second).
const vendorRetryPause = 200 * time.Millisecond

// drainTimeout bounds how long the senders go on retrying the webhooks they
// started once sending new ones stopped.
const drainTimeout = 90 * time.Second

// steps are the Persona events of one verification, in the order a vendor
// sends them, each with an event time one minute after the previous one.
var steps = []struct{ name, status string }{
	{"inquiry.created", "created"},
	{"inquiry.started", "pending"},
	{"inquiry.completed", "completed"},
	{"inquiry.approved", "approved"},
}

// sent is what the vendor knows of one webhook.
type sent struct {
	verification string
	firstSent    time.Time
	acceptedAt   time.Time // zero: never answered 200
}

// vendor sends signed Persona webhooks to ingest at a bounded rate: each
// job is one verification, whose webhooks (1, or the 4 steps) are sent in
// order, each retried on 503 or a connection error until it is answered
// 200, as a vendor does, before the next is sent.
type vendor struct {
	target  string // ingest base URL
	prefix  string // makes ids unique per scenario
	rate    float64
	jobs    int // at most this many verifications; 0: as many as the duration allows
	ordered bool
	workers int

	client  *http.Client
	skipped atomic.Int64 // ticks with every worker busy (the service was down)

	mu       sync.Mutex
	recs     map[string]*sent // persona event id -> record
	forged   map[string]int   // forged webhook's event id -> the answer's status code
	n503     int
	nConnErr int
	other    []string
	started  int
}

func newVendor(target, prefix string, rate float64, workers int) *vendor {
	return &vendor{target: target, prefix: prefix, rate: rate, workers: workers,
		client: &http.Client{Timeout: 10 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: workers}},
		recs: map[string]*sent{}, forged: map[string]int{}}
}

// webhooks returns the event ids and bodies of verification v. The bodies
// depend only on prefix and v, so another run with the same prefix sends the
// same bytes (and gets the same msg ids and CloudEvent ids).
func (l *vendor) webhooks(v int) (verification string, ids []string, bodies [][]byte) {
	verification = fmt.Sprintf("inq_%s_%d", l.prefix, v)
	list := steps[len(steps)-1:]
	if l.ordered {
		list = steps
	}
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for k, s := range list {
		id := fmt.Sprintf("evt_%s_%d_%d", l.prefix, v, k)
		body := fmt.Appendf(nil, `{"data":{"type":"event","id":%q,"attributes":{"name":%q,"created-at":%q,"payload":{"data":{"type":"inquiry","id":%q,"attributes":{"status":%q,"reference-id":"user-%d","note":"%s %s"}}}}}}`,
			id, s.name, base.Add(time.Duration(k)*time.Minute).Format(time.RFC3339Nano), verification, s.status, v,
			bodyMarker, strings.Repeat("x", 400))
		ids, bodies = append(ids, id), append(bodies, body)
	}
	return verification, ids, bodies
}

// run sends new verifications for d (or until l.jobs were started: see
// below), then
// lets the senders finish the ones they started, for at most drainTimeout.
// When ctx ends, everything stops at once.
func (l *vendor) run(ctx context.Context, d time.Duration) {
	jobs := make(chan int)
	giveUp := make(chan struct{})
	var wg sync.WaitGroup
	for range l.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range jobs {
				l.job(ctx, v, giveUp)
			}
		}()
	}
	tick := time.NewTicker(time.Duration(float64(time.Second) / l.rate))
	// With a fixed set of jobs, every one is sent (the ordering scenario
	// compares with a run of the same set): d then only paces the schedule,
	// and sending stops at the latest after 4×d.
	limit := d
	if l.jobs > 0 {
		limit = 4 * d
	}
	stop := time.After(limit)
	next := 0
dispatch:
	for l.jobs == 0 || next < l.jobs {
		select {
		case <-ctx.Done():
			break dispatch
		case <-stop:
			break dispatch
		case <-tick.C:
			select {
			case jobs <- next:
				next++
			default:
				l.skipped.Add(1)
			}
		}
	}
	tick.Stop()
	close(jobs)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(drainTimeout):
		close(giveUp)
		<-done
	}
}

// job sends verification v's webhooks in order.
func (l *vendor) job(ctx context.Context, v int, giveUp <-chan struct{}) {
	verification, ids, bodies := l.webhooks(v)
	l.mu.Lock()
	l.started++
	l.mu.Unlock()
	for i := range ids {
		if !l.send(ctx, verification, ids[i], bodies[i], giveUp) {
			return // the rest would arrive out of order: a vendor waits too
		}
	}
	if v%forgeEvery == 0 {
		l.forge(v)
	}
}

// forgeEvery: one verification in this many is followed by a forged copy.
const forgeEvery = 10

// forge sends, once, a webhook that fails authentication: a new event id
// signed with the wrong secret, or with a stale timestamp, or unsigned. It
// must be answered 401 and never stored.
func (l *vendor) forge(v int) {
	_, _, bodies := l.webhooks(v)
	last := len(bodies) - 1
	id := fmt.Sprintf("evt_%s_%d_forged_%d", l.prefix, v, last)
	body := bytes.Replace(bodies[last], []byte(fmt.Sprintf("evt_%s_%d_%d", l.prefix, v, last)), []byte(id), 1)
	req, _ := http.NewRequest(http.MethodPost, l.target+"/webhooks/persona", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	switch v / forgeEvery % 3 {
	case 0:
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(personaSecret+"-wrong", time.Now(), body))
	case 1:
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(personaSecret, time.Now().Add(-time.Hour), body))
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return // the service is down: nothing to check
	}
	resp.Body.Close()
	l.mu.Lock()
	l.forged[id] = resp.StatusCode
	l.mu.Unlock()
}

// send posts one webhook until it is answered 200; false if it never was.
func (l *vendor) send(ctx context.Context, verification, id string, body []byte, giveUp <-chan struct{}) bool {
	rec := &sent{verification: verification, firstSent: time.Now()}
	l.mu.Lock()
	l.recs[id] = rec
	l.mu.Unlock()
	for {
		req, _ := http.NewRequest(http.MethodPost, l.target+"/webhooks/persona", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(personaSecret, time.Now(), body))
		resp, err := l.client.Do(req)
		code, status := 0, ""
		if err == nil {
			var a struct{ Status string }
			_ = json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
			code, status = resp.StatusCode, a.Status
		}
		now := time.Now()
		l.mu.Lock()
		switch {
		case code == http.StatusOK && (status == "accepted" || status == "duplicate"):
			rec.acceptedAt = now
			l.mu.Unlock()
			return true
		case code == http.StatusServiceUnavailable:
			l.n503++
		case err != nil:
			l.nConnErr++
		default:
			// 4xx/5xx other than 503: a bug to report, not to retry.
			l.other = append(l.other, fmt.Sprintf("%s: %d %q", id, code, status))
			l.mu.Unlock()
			return false
		}
		l.mu.Unlock()
		select {
		case <-giveUp:
			return false
		case <-ctx.Done(): // the test ended (failed)
			return false
		case <-time.After(vendorRetryPause):
		}
	}
}

// accepted returns the records of the webhooks answered 200, by event id.
func (l *vendor) accepted() map[string]sent {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]sent{}
	for id, r := range l.recs {
		if !r.acceptedAt.IsZero() {
			out[id] = *r
		}
	}
	return out
}

// forgeries returns the forged webhooks' answers by event id.
func (l *vendor) forgeries() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.forged {
		out[k] = v
	}
	return out
}

// counts returns the number of webhooks sent, 503s, connection errors and
// other answers.
func (l *vendor) counts() (webhooks, n503, connErr int, other []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs), l.n503, l.nConnErr, append([]string(nil), l.other...)
}

// unacceptedAfter is how many webhooks sent were never answered 200.
func (l *vendor) unaccepted() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for id, r := range l.recs {
		if r.acceptedAt.IsZero() {
			out = append(out, id)
		}
	}
	return out
}

// startedVerifications is how many verifications were started.
func (l *vendor) startedVerifications() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.started
}

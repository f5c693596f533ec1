package deploy_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/apptest"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// exposed is what one scrape of /metrics shows: each sample name (a
// histogram's _bucket, _sum and _count separately) with its label names and
// the label values seen, and each family's help text.
type exposed struct {
	labels map[string]map[string][]string // sample name -> label -> values
	help   map[string]string              // sample name -> its family's help
}

func scrape(t *testing.T, base string) exposed {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	e := exposed{labels: map[string]map[string][]string{}, help: map[string]string{}}
	add := func(name string, f *dto.MetricFamily, m *dto.Metric, extra ...string) {
		ls := e.labels[name]
		if ls == nil {
			ls = map[string][]string{}
			e.labels[name] = ls
		}
		for _, p := range m.GetLabel() {
			if !slices.Contains(ls[p.GetName()], p.GetValue()) {
				ls[p.GetName()] = append(ls[p.GetName()], p.GetValue())
			}
		}
		for _, l := range extra {
			if _, ok := ls[l]; !ok {
				ls[l] = nil
			}
		}
		e.help[name] = f.GetHelp()
	}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM:
				add(name+"_bucket", f, m, "le")
				add(name+"_sum", f, m)
				add(name+"_count", f, m)
			case dto.MetricType_SUMMARY:
				add(name, f, m, "quantile")
				add(name+"_sum", f, m)
				add(name+"_count", f, m)
			default:
				add(name, f, m)
			}
		}
	}
	return e
}

// value returns the value of the sample name{labels} in a fresh scrape, or -1.
func gaugeValue(t *testing.T, base, name string, labels map[string]string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return -1
	}
	for _, m := range families[name].GetMetric() {
		got := map[string]string{}
		for _, p := range m.GetLabel() {
			got[p.GetName()] = p.GetValue()
		}
		match := true
		for k, v := range labels {
			match = match && got[k] == v
		}
		if match {
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// Names the checked files may use that no idvbus process exposes: they come
// from Prometheus itself (up) or from blackbox_exporter (probe_success).
var externalMetrics = map[string]bool{"up": true, "probe_success": true}

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = map[string]bool{"job": true, "instance": true}

// knownValues are label values the code produces but the test's traffic does
// not: a publish that fails (internal/ingest/metrics.go, publish).
var knownValues = map[string][]string{"idvbus_ingest_publish_duration_seconds_count/result": {"error"}}

var wordAlternatives = regexp.MustCompile(`^[a-z_]+(\|[a-z_]+)*$`)

// checkQuery reports every metric q selects that the services do not expose,
// every label it matches or groups by that those metrics lack, and every
// literal label value that is neither seen nor documented in the metric's help.
func checkQuery(what string, q promQuery, e exposed) []string {
	var problems []string
	var all []string // labels of every metric q selects
	for _, s := range q.selectors {
		if s.metric == "" {
			problems = append(problems, what+": a selector without a metric name")
			continue
		}
		if externalMetrics[s.metric] {
			for _, m := range s.matchers {
				if !targetLabels[m.name] {
					problems = append(problems, fmt.Sprintf("%s: %s{%s}: not a target label", what, s.metric, m.name))
				}
			}
			continue
		}
		labels, ok := e.labels[s.metric]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s is not exposed", what, s.metric))
			continue
		}
		for l := range labels {
			all = append(all, l)
		}
		for _, m := range s.matchers {
			if targetLabels[m.name] {
				continue
			}
			seen, ok := labels[m.name]
			if !ok {
				problems = append(problems, fmt.Sprintf("%s: %s has no label %q", what, s.metric, m.name))
				continue
			}
			if strings.Contains(m.value, "$") || !wordAlternatives.MatchString(m.value) {
				continue // a variable or a real regex: nothing literal to check
			}
			for _, v := range strings.Split(m.value, "|") {
				if !slices.Contains(seen, v) && !slices.Contains(knownValues[s.metric+"/"+m.name], v) &&
					!regexp.MustCompile(`\b`+v+`\b`).MatchString(e.help[s.metric]) {
					problems = append(problems, fmt.Sprintf("%s: %s{%s=%q}: value neither exposed nor documented in its help", what, s.metric, m.name, v))
				}
			}
		}
	}
	for _, l := range q.grouping {
		if !targetLabels[l] && !slices.Contains(all, l) {
			problems = append(problems, fmt.Sprintf("%s: groups by %q, a label none of its metrics has", what, l))
		}
	}
	return problems
}

// referenced returns every metric name the rules and the dashboard use,
// with the queries to check.
func referenced(t *testing.T) (names []string, queries map[string]promQuery) {
	t.Helper()
	queries = dashboardQueries(t, loadDashboard(t))
	for _, r := range loadRules(t) {
		q, err := analyzePromQL(r.Expr)
		if err != nil {
			t.Fatalf("%s: %v", r.Alert, err)
		}
		queries["alert "+r.Alert] = q
	}
	for _, q := range queries {
		for _, m := range q.metrics() {
			if !externalMetrics[m] && !slices.Contains(names, m) {
				names = append(names, m)
			}
		}
	}
	sort.Strings(names)
	return names, queries
}

// TestRulesAndDashboardUseExposedMetrics runs the all-in-one (ingest,
// normalizer, notifier on one registry) with one subscriber, sends webhooks
// that make every labelled series exist (accepted, refused, stale,
// duplicate, unmapped, dead-lettered at both stages, a retried and a
// postponed delivery), scrapes /metrics and checks that every metric and
// label the alert rules and the dashboard use is there.
func TestRulesAndDashboardUseExposedMetrics(t *testing.T) {
	names, queries := referenced(t)
	for _, prefix := range []string{"idvbus_ingest_", "idvbus_normalizer_", "idvbus_notifier_", "idvbus_dlq_", "process_", "go_"} {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) }) {
			t.Errorf("nothing watches %s*", prefix)
		}
	}

	st := startStack(t)
	st.scenario(t)
	var e exposed
	var missing []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		e = scrape(t, st.ops)
		missing = missing[:0]
		for _, n := range names {
			if _, ok := e.labels[n]; !ok {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("used by the rules or the dashboard, not on /metrics after the scenario: %v", missing)
	}
	keys := make([]string, 0, len(queries))
	for k := range queries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, p := range checkQuery(k, queries[k], e) {
			t.Error(p)
		}
	}
	// The DLQ gauge counts what the scenario dead-lettered, per stage.
	for _, want := range []map[string]string{{"stage": "normalize", "name": "persona"}, {"stage": "notify", "name": "onboarding"}} {
		if v := gaugeValue(t, st.ops, "idvbus_dlq_messages", want); v != 1 {
			t.Errorf("idvbus_dlq_messages%v = %v, want 1", want, v)
		}
	}
}

// TestCheckQueryFindsMistakes: the comparison reports a metric, a label and a
// label value the services do not have.
func TestCheckQueryFindsMistakes(t *testing.T) {
	e := exposed{
		labels: map[string]map[string][]string{"idvbus_a_total": {"source": {"persona"}, "outcome": {"accepted"}}},
		help:   map[string]string{"idvbus_a_total": "by outcome (accepted, unavailable)"},
	}
	for expr, want := range map[string]int{
		`sum by (source) (rate(idvbus_a_total{outcome=~"accepted|unavailable", job=~"$job"}[5m]))`: 0,
		`rate(idvbus_b_total[5m])`:                            1,
		`sum by (vendor) (rate(idvbus_a_total[5m]))`:          1,
		`rate(idvbus_a_total{subscriber="x"}[5m])`:            1,
		`rate(idvbus_a_total{outcome="unavailble"}[5m])`:      1, //nolint:misspell // a mistyped label value is the mistake under test
		`up{job="idvbus"} == 0 and probe_success{module="x"}`: 1,
	} {
		q, err := analyzePromQL(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := checkQuery("q", q, e); len(got) != want {
			t.Errorf("%s: %d problems %v, want %d", expr, len(got), got, want)
		}
	}
}

// stack is the all-in-one on an embedded JetStream, and a receiving service.
type stack struct {
	base    string // the webhook port
	ops     string // the ops port: /metrics
	cfg     config.Config
	rcv     *httptest.Server
	release chan struct{} // closed (once) to answer the held first delivery
	once    sync.Once
	mu      sync.Mutex
	got     []string // bodies of the deliveries answered 2xx or 400
	first   chan struct{}
}

const subscriberSecret = "whsec_b2JzZXJ2YWJpbGl0eS10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5"

func startStack(t *testing.T) *stack {
	t.Helper()
	st := &stack{release: make(chan struct{}), first: make(chan struct{})}
	var n int
	st.rcv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if bytes.Contains(body, []byte("inq_obs_rejected")) {
			w.WriteHeader(http.StatusBadRequest) // dead-lettered at once
			return
		}
		st.mu.Lock()
		n++
		first := n == 1
		st.mu.Unlock()
		if first {
			close(st.first)
			select { // held until the second event waits behind it
			case <-st.release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusInternalServerError) // retried; opens the circuit
			return
		}
		st.mu.Lock()
		st.got = append(st.got, string(body))
		st.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(st.rcv.Close)

	cfg := config.Development()
	cfg.NATS.Embedded.StoreDir = t.TempDir()
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.MonitorListen = ""
	cfg.Subscribers = []config.Subscriber{{
		Name: "onboarding", URL: st.rcv.URL, Secrets: []string{subscriberSecret}, Concurrency: 2,
		Retry:   config.Retry{Schedule: []time.Duration{100 * time.Millisecond}, MaxAttempts: 5, MaxAge: time.Hour},
		Breaker: config.CircuitBreaker{Failures: 1, Cooldown: 300 * time.Millisecond},
	}}
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	st.cfg = cfg
	ep := apptest.RunAllInOne(t, cfg, zaptest.NewLogger(t), 30*time.Second)
	st.base, st.ops = ep.Webhooks, ep.Ops
	t.Cleanup(st.free) // runs first: frees a held request
	return st
}

// free answers the held first delivery.
func (st *stack) free() { st.once.Do(func() { close(st.release) }) }

func persona(eventID, inquiry, name, status, at string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":%q,"created-at":%q,"payload":{"data":{"type":"inquiry","id":%q,"attributes":{"status":%q,"reference-id":"user-obs"}}}}}}`,
		eventID, name, at, inquiry, status))
}

// post sends body to source, signed with secret (the source's own when
// empty), and returns the status code.
func (st *stack) post(t *testing.T, source string, body []byte, personaSecret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, st.base+"/webhooks/"+source, bytes.NewReader(body))
	if personaSecret != "" {
		req.Header.Set("Persona-Signature", webhookauth.SignPersona(personaSecret, time.Now(), body))
	} else {
		i := slices.IndexFunc(st.cfg.Sources, func(s config.Source) bool { return s.Name == source })
		if err := webhookauth.Sign(st.cfg.Sources[i].Auth, req.Header, body, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// scenario drives traffic that creates every labelled series the rules and
// the dashboard use.
func (st *stack) scenario(t *testing.T) {
	t.Helper()
	expect := func(what string, code, want int) {
		t.Helper()
		if code != want {
			t.Fatalf("%s: %d, want %d", what, code, want)
		}
	}
	// Two decisions of one verification: the first delivery is held, the
	// second waits behind it (same verification); the first then fails
	// with 500, which opens the circuit (breaker.failures 1), so the second
	// is postponed without an attempt; both are delivered after the cooldown.
	expect("needs_review", st.post(t, "persona", persona("evt_obs_1", "inq_obs", "inquiry.marked-for-review", "needs_review", "2026-11-22T10:00:00.000Z"), ""), 200)
	select {
	case <-st.first:
	case <-time.After(30 * time.Second):
		t.Fatal("no delivery of the first decision")
	}
	expect("approved", st.post(t, "persona", persona("evt_obs_2", "inq_obs", "inquiry.approved", "approved", "2026-11-22T10:01:00.000Z"), ""), 200)
	natstest.Eventually(t, 30*time.Second, "both decisions held by the notifier", func() bool {
		return gaugeValue(t, st.ops, "idvbus_notifier_ack_pending_events", map[string]string{"subscriber": "onboarding"}) == 2
	})
	st.free()
	natstest.Eventually(t, 30*time.Second, "both decisions delivered", func() bool {
		st.mu.Lock()
		defer st.mu.Unlock()
		return len(st.got) == 2
	})
	// Stale (older than the approval), unmapped (an unknown status), and a
	// decision the subscriber rejects (dead-lettered at the notify stage).
	expect("stale", st.post(t, "persona", persona("evt_obs_3", "inq_obs", "inquiry.started", "pending", "2026-11-22T09:59:00.000Z"), ""), 200)
	expect("unmapped", st.post(t, "persona", persona("evt_obs_4", "inq_obs", "inquiry.transitioned", "frobnicated", "2026-11-22T10:02:00.000Z"), ""), 200)
	expect("rejected", st.post(t, "persona", persona("evt_obs_5", "inq_obs_rejected", "inquiry.declined", "declined", "2026-11-22T10:00:00.000Z"), ""), 200)
	// Authenticated but unparseable: stored, then dead-lettered by the normalizer.
	expect("unparseable", st.post(t, "persona", []byte(`{"data":{"type":"event","id":"evt_obs_bad"}}`), ""), 200)
	// A rotated secret: refused as signature_mismatch.
	expect("wrong secret", st.post(t, "persona", persona("evt_obs_6", "inq_obs", "inquiry.approved", "approved", "2026-11-22T10:00:00.000Z"), "wbhsec_not_ours"), 401)
	// The same Incode event twice with different bytes: two raw webhooks
	// (the dedup key is the body hash), one vendor event: a normalizer duplicate.
	expect("incode", st.post(t, "incode", []byte(`{"interviewId":"i-obs","onboardingStatus":"ONBOARDING_FINISHED"}`), ""), 200)
	expect("incode again", st.post(t, "incode", []byte(`{"interviewId": "i-obs", "onboardingStatus": "ONBOARDING_FINISHED"}`), ""), 200)
}

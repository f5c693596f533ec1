package chaos_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Loopback ports of the suite (18700-18799; nothing else of idvbus's
// defaults). Scenarios run one after the other, each stack on its block.
const (
	portsAllInOne = 18700 // nats, monitor, ingest; +9 ingest's ops listener
	portsBaseline = 18710 // the fault-free run of the ordering scenario
	portsSplit    = 18720 // nats, monitor, ingest, notifier, normalizers...
	portsCluster  = 18740 // (nats is in Docker) ingest, notifier, normalizers...
	portSink      = 18790
	portSinkBase  = 18791 // the baseline run's subscriber
)

// Per run, random: the log scan looks for them, so they must be values no
// log could contain by chance.
var (
	personaSecret = "chaos-persona-" + randHex(16)
	subSecret     = "whsec_" + base64.StdEncoding.EncodeToString([]byte(randHex(16)))
	// bodyMarker is put into every webhook body: no log line may hold it.
	bodyMarker = "chaosmarker" + randHex(8)
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Service settings of the suite; docs/reliability.md lists them with the run.
// The recovery settings are the product's defaults, so the figures are what
// a default deployment gets.
const (
	// publishTimeout: a webhook JetStream does not confirm within 2 s is
	// answered 503 (shorter than the default 5 s, so a fault resolves within
	// a scenario).
	publishTimeout = 2 * time.Second
	// pinnedTTL: a standby normalizer takes over 3 s after the active one
	// stopped pulling (the default).
	pinnedTTL = 3 * time.Second
	// normalizerAckWait: a webhook held by a dead normalizer is redelivered
	// after 3 s; a live one keeps it with in-progress acks (the default).
	normalizerAckWait = 3 * time.Second
	// notifierAckWait: a delivery held by a dead notifier is retried after
	// 5 s (the default).
	notifierAckWait = 5 * time.Second
)

// opsOffset puts ingest's ops listener (/metrics, the detailed /readyz) on
// base+9, the last port of a stack's block of ten (normalizers count up
// from base+4).
const opsOffset = 9

// configYAML is the config every service of a stack shares; natsURL empty
// means the all-in-one's embedded server on natsPort.
func configYAML(dir, natsURL string, natsPort, ingestPort, opsPort, notifierPort, sinkPort int) string {
	return fmt.Sprintf(`nats:
  url: %q
  embedded: {listen: "127.0.0.1:%d", monitor_listen: "127.0.0.1:%d", store_dir: %q}
jetstream: {replicas: %s}
ingest: {listen: "127.0.0.1:%d", ops_listen: "127.0.0.1:%d", publish_timeout: %s, retry_after: 1s, shutdown_timeout: 5s}
normalizer: {listen: "127.0.0.1:0", pinned_ttl: %s, ack_wait: %s, shutdown_timeout: 2s}
notifier: {listen: "127.0.0.1:%d", ack_wait: %s, shutdown_timeout: 2s}
log: {level: info, format: json}
sources:
  - name: persona
    vendor: persona
    auth: {type: persona, secrets: [%q]}
subscribers:
  - name: chaos
    url: "http://127.0.0.1:%d/hook"
    secrets: [%q]
    start: all
    filter: {types: [io.idvbus.verification.updated.v1]}
    timeout: 5s
    concurrency: 16
    # Retries within seconds, not Svix's minutes, so an outage of the
    # subscriber resolves inside the scenario; never dead-lettered.
    retry: {schedule: [1s, 2s, 2s], jitter: -1, max_attempts: 1000, max_age: 1h}
    breaker: {failures: 5, cooldown: 2s}
`, natsURL, natsPort, natsPort+1, filepath.Join(dir, "nats"), replicasFor(natsURL), ingestPort, opsPort, publishTimeout,
		pinnedTTL, normalizerAckWait, notifierPort, notifierAckWait, personaSecret, sinkPort, subSecret)
}

func replicasFor(natsURL string) string {
	if strings.Count(natsURL, ",") >= 2 {
		return "3"
	}
	return "1"
}

// stack is one running idvbus: its processes, where to send webhooks and
// where its JetStream is.
type stack struct {
	dir       string
	natsURL   string
	ingestURL string
	procs     []*proc
	byName    map[string]*proc
	// normalizers are the stand-alone normalizer processes, if any.
	normalizers []*proc
}

func (s *stack) add(p *proc) *proc {
	s.procs = append(s.procs, p)
	s.byName[p.name] = p
	return p
}

// proc returns the named process.
func (s *stack) proc(t *testing.T, name string) *proc {
	t.Helper()
	p := s.byName[name]
	if p == nil {
		t.Fatalf("no process %s", name)
	}
	return p
}

func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	path := filepath.Join(dir, "idvbus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// startAllInOne runs the idvbus binary (embedded JetStream and the three
// services in one process) on ports base, base+1 (monitor), base+2 (ingest).
func startAllInOne(t *testing.T, base, sinkPort int) *stack {
	t.Helper()
	dir := t.TempDir()
	cfg := writeConfig(t, dir, configYAML(dir, "", base, base+2, base+opsOffset, base+3, sinkPort))
	s := &stack{dir: dir, natsURL: fmt.Sprintf("nats://127.0.0.1:%d", base),
		ingestURL: fmt.Sprintf("http://127.0.0.1:%d", base+2), byName: map[string]*proc{}}
	// Ready on the ops port, whose /metrics (every service's here) the scenarios read.
	s.add(newProc(t, dir, "idvbus", "idvbus", []string{"--config", cfg}, nil,
		fmt.Sprintf("http://127.0.0.1:%d/readyz", base+opsOffset))).start(t)
	return s
}

// startSplit runs nats-server and the stand-alone services: one ingest, n
// normalizers (one consumes, the others stand by) and one notifier.
func startSplit(t *testing.T, base, sinkPort, normalizers int) *stack {
	t.Helper()
	dir := t.TempDir()
	natsConf := filepath.Join(dir, "nats.conf")
	conf := fmt.Sprintf("server_name: chaos\nlisten: \"127.0.0.1:%d\"\nhttp: \"127.0.0.1:%d\"\nmax_payload: 2MB\njetstream {\n  store_dir: %q\n  max_memory_store: 64MB\n  max_file_store: 2GB\n}\n",
		base, base+1, filepath.Join(dir, "nats"))
	if err := os.WriteFile(natsConf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &stack{dir: dir, natsURL: fmt.Sprintf("nats://127.0.0.1:%d", base),
		ingestURL: fmt.Sprintf("http://127.0.0.1:%d", base+2), byName: map[string]*proc{}}
	s.add(newProc(t, dir, "nats-server", "nats-server", []string{"-c", natsConf}, nil,
		fmt.Sprintf("http://127.0.0.1:%d/healthz", base+1))).start(t)
	s.startServices(t, base, sinkPort, normalizers)
	return s
}

// startServices runs ingest, the normalizers and the notifier against s.natsURL.
func (s *stack) startServices(t *testing.T, base, sinkPort, normalizers int) {
	t.Helper()
	cfg := writeConfig(t, s.dir, configYAML(s.dir, s.natsURL, 0, base+2, base+opsOffset, base+3, sinkPort))
	args := []string{"--config", cfg}
	s.add(newProc(t, s.dir, "ingest", "ingest", args, nil,
		fmt.Sprintf("http://127.0.0.1:%d/readyz", base+opsOffset))).start(t)
	for i := range normalizers {
		port := base + 4 + i
		p := s.add(newProc(t, s.dir, fmt.Sprintf("normalizer-%d", i+1), "normalizer", args,
			[]string{fmt.Sprintf("IDVBUS_NORMALIZER_LISTEN=127.0.0.1:%d", port)},
			fmt.Sprintf("http://127.0.0.1:%d/readyz", port)))
		p.start(t)
		s.normalizers = append(s.normalizers, p)
	}
	s.add(newProc(t, s.dir, "notifier", "notifier", args, nil,
		fmt.Sprintf("http://127.0.0.1:%d/readyz", base+3))).start(t)
}

// logFiles are the paths of every process's log.
func (s *stack) logFiles() []string {
	var out []string
	for _, p := range s.procs {
		out = append(out, p.logPath)
	}
	return out
}

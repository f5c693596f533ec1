// Package container_test runs the real ingest binary against a real
// nats-server process in a container built locally (internal/natscontainer).
// Without Docker these tests skip, unless IDVBUS_REQUIRE_DOCKER=1 (CI).
package container_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natscontainer"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

const secret = "wbhsec_container_test"

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// ingestBinary builds cmd/ingest once per test binary.
func ingestBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "idvbus-ingest-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "ingest")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/idvbus/idvbus/cmd/ingest").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/ingest: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// ingestProc is a running ingest process.
type ingestProc struct {
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startIngest runs the ingest binary against natsURL with one Persona source.
func startIngest(t *testing.T, natsURL string) *ingestProc {
	t.Helper()
	port, opsPort := freePort(t), freePort(t)
	cfgPath := filepath.Join(t.TempDir(), "idvbus.yaml")
	cfg := fmt.Sprintf(`
nats: {url: %q}
ingest: {listen: "127.0.0.1:%d", ops_listen: "127.0.0.1:%d", publish_timeout: 2s, retry_after: 1s, shutdown_timeout: 10s}
log: {level: info, format: json}
sources:
  - name: persona
    vendor: persona
    auth: {type: persona, secrets: ["${TEST_PERSONA_SECRET}"]}
`, natsURL, port, opsPort)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &ingestProc{base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(ingestBinary(t), "--config", cfgPath)
	p.cmd.Env = append(os.Environ(), "TEST_PERSONA_SECRET="+secret)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("ingest log:\n%s", p.logs.String())
		}
	})
	natstest.Eventually(t, 30*time.Second, "ingest /readyz", func() bool {
		resp, err := http.Get(p.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// stop sends SIGTERM and waits for a clean exit.
func (p *ingestProc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("ingest exited with %v after SIGTERM", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ingest still running 20 s after SIGTERM")
	}
}

func personaBody(id string) []byte {
	return []byte(fmt.Sprintf(`{"data":{"type":"event","id":%q,"attributes":{"name":"inquiry.completed","created-at":"2026-11-22T10:00:00.000Z","payload":{"data":{"type":"inquiry","id":"inq_%s","attributes":{"status":"completed"}}}}}}`, id, id))
}

func post(client *http.Client, base string, body []byte) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/persona", bytes.NewReader(body))
	req.Header.Set("Persona-Signature", webhookauth.SignPersona(secret, time.Now(), body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var a struct{ Status string }
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.Status, nil
}

// storedIDs reads IDV_RAW and counts each Nats-Msg-Id, checking bodies.
func storedIDs(t *testing.T, url string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	for _, m := range natstest.ReadStream(t, url, bus.StreamRaw) {
		id := m.Header.Get("Nats-Msg-Id")
		if want := "persona:" + string(bytes.Split(bytes.Split(m.Data, []byte(`"id":"`))[1], []byte(`"`))[0]); id != want {
			t.Errorf("seq %d: Nats-Msg-Id %q does not match its body (%q)", m.Sequence, id, want)
		}
		ids[id]++
	}
	return ids
}

func TestIngestBinaryAgainstRealNATS(t *testing.T) {
	srv := natscontainer.Start(t)
	p := startIngest(t, srv.URL())
	body := personaBody("evt_container_1")
	if code, status, err := post(http.DefaultClient, p.base, body); err != nil || code != 200 || status != "accepted" {
		t.Fatalf("first: %d %s %v", code, status, err)
	}
	if code, status, _ := post(http.DefaultClient, p.base, body); code != 200 || status != "duplicate" {
		t.Fatalf("repeat: %d %s", code, status)
	}
	req, _ := http.NewRequest(http.MethodPost, p.base+"/webhooks/persona", bytes.NewReader(body))
	req.Header.Set("Persona-Signature", webhookauth.SignPersona("wrong", time.Now(), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
	if ids := storedIDs(t, srv.URL()); len(ids) != 1 || ids["persona:evt_container_1"] != 1 {
		t.Fatalf("stored %v, want exactly persona:evt_container_1 once", ids)
	}
	p.stop(t)
}

// TestNoAcknowledgedWebhookLostAcrossServerRestarts: vendors send without
// pause while the NATS server is stopped gracefully and later killed, each
// time started again. Every webhook answered 200 must be in IDV_RAW exactly
// once; a vendor retries on 503 until answered 200, so in the end every
// event is stored.
func TestNoAcknowledgedWebhookLostAcrossServerRestarts(t *testing.T) {
	srv := natscontainer.Start(t)
	p := startIngest(t, srv.URL())
	const senders, perSender = 4, 150
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu          sync.Mutex
		acked       = map[string]bool{}
		unavailable int
		unexpected  []string
		sent        sync.WaitGroup
		progress    = make(chan struct{}, senders*perSender)
	)
	deadline := time.Now().Add(3 * time.Minute)
	for s := 0; s < senders; s++ {
		sent.Add(1)
		go func() {
			defer sent.Done()
			for i := 0; i < perSender; i++ {
				id := fmt.Sprintf("evt_restart_%d_%d", s, i)
				body := personaBody(id)
				for { // the vendor's retry loop
					code, status, err := post(client, p.base, body)
					mu.Lock()
					switch {
					case err == nil && code == 200 && (status == "accepted" || status == "duplicate"):
						acked["persona:"+id] = true
					case err == nil && code == 503:
						unavailable++
					default:
						unexpected = append(unexpected, fmt.Sprintf("%s: %d %q %v", id, code, status, err))
					}
					done := acked["persona:"+id]
					mu.Unlock()
					if done || time.Now().After(deadline) {
						break
					}
					time.Sleep(50 * time.Millisecond) // retry pause (a vendor waits far longer)
				}
				progress <- struct{}{}
			}
		}()
	}
	waitFor := func(n int) {
		for i := 0; i < n; i++ {
			<-progress
		}
	}
	ctx := context.Background()
	waitFor(100) // traffic is flowing
	if err := srv.Stop(ctx, 10*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	time.Sleep(time.Second) // an outage, seen by the senders as 503s
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	waitFor(150)
	if err := srv.Kill(ctx); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("start after kill: %v", err)
	}
	sent.Wait()

	if len(unexpected) > 0 {
		t.Errorf("%d unexpected answers, e.g. %s", len(unexpected), unexpected[0])
	}
	if unavailable == 0 {
		t.Error("no request saw the outage (503): the restart did not happen under traffic")
	}
	stored := storedIDs(t, srv.URL())
	for id := range acked {
		if stored[id] != 1 {
			t.Errorf("%s was answered 200 but is stored %d times", id, stored[id])
		}
	}
	if len(acked) != senders*perSender || len(stored) != senders*perSender {
		t.Errorf("acked %d, stored %d distinct, want %d each", len(acked), len(stored), senders*perSender)
	}
	t.Logf("%d webhooks, all acknowledged and stored once; %d answers were 503 during the restarts", len(acked), unavailable)
	p.stop(t)
}

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/webhookauth"
)

// devConfig is the no-config development setup, moved to a temporary store and
// random loopback ports.
func devConfig(t testing.TB, storeDir string) config.Config {
	cfg := config.Development()
	cfg.NATS.Embedded.StoreDir = storeDir
	cfg.NATS.Embedded.Listen = "127.0.0.1:0"
	cfg.NATS.Embedded.MonitorListen = ""
	cfg, _, err := config.Finish(cfg, config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runAllInOne starts the all-in-one; the returned stop shuts it down and
// returns its error.
func runAllInOne(t testing.TB, cfg config.Config, log *zap.Logger) (base string, stop func() error) {
	t.Helper()
	ls, base, ops := loopbackListeners(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.AllInOne(ctx, cfg, ls, log) }()
	waitReady(t, ops, 20*time.Second)
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() { cancel(); result = <-done })
		return result
	}
	t.Cleanup(func() { _ = stop() })
	return base, stop
}

func sendPersona(t testing.TB, client *http.Client, base string, body []byte) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/persona", bytes.NewReader(body))
	req.Header.Set("Persona-Signature", webhookauth.SignPersona(config.DevPersonaSecret, time.Now(), body))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Status string }
	_ = json.NewDecoder(resp.Body).Decode(&a)
	return resp.StatusCode, a.Status
}

// TestAllInOneKeepsWebhooksAcrossRestart: what the all-in-one acknowledged is
// still there (a re-send is a duplicate) after a clean stop and start on the same store.
func TestAllInOneKeepsWebhooksAcrossRestart(t *testing.T) {
	store := t.TempDir()
	cfg := devConfig(t, store)
	base, stop := runAllInOne(t, cfg, zaptest.NewLogger(t))
	body := personaBody("evt_restart")
	if code, status := sendPersona(t, http.DefaultClient, base, body); code != 200 || status != "accepted" {
		t.Fatalf("first send: %d %s", code, status)
	}
	if err := stop(); err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	base, _ = runAllInOne(t, cfg, zaptest.NewLogger(t))
	if code, status := sendPersona(t, http.DefaultClient, base, body); code != 200 || status != "duplicate" {
		t.Fatalf("after restart: %d %s, want 200 duplicate (the first copy survived)", code, status)
	}
}

func TestAllInOneEveryDevSourceAuthenticates(t *testing.T) {
	cfg := devConfig(t, t.TempDir())
	base, _ := runAllInOne(t, cfg, zaptest.NewLogger(t))
	bodies := map[string]string{
		"persona": `{"data":{"type":"event","id":"evt_dev","attributes":{"name":"inquiry.created"}}}`,
		"idwise":  `{"event":"Finished Journey","body":{"eventId":"e-dev","journeyId":"j"}}`,
		"incode":  `{"interviewId":"i-dev","onboardingStatus":"ONBOARDING_FINISHED"}`,
		"credas":  `{"UpdateType":1,"Payload":"{\"EntityId\":\"e\"}"}`,
	}
	for _, src := range cfg.Sources {
		body := []byte(bodies[src.Name])
		if code := postSigned(t, base, src, body); code != 200 {
			t.Errorf("%s: %d", src.Name, code)
		}
		// Unsigned: refused.
		resp, err := http.Post(base+"/webhooks/"+src.Name, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s unsigned: %d, want 401", src.Name, resp.StatusCode)
		}
	}
}

// loopbackListeners are a webhook and an ops listener on loopback ports,
// with their base URLs.
func loopbackListeners(t testing.TB) (ls app.Listeners, webhooks, ops string) {
	t.Helper()
	for _, ln := range []*net.Listener{&ls.Webhooks, &ls.Ops} {
		var err error
		if *ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	return ls, "http://" + ls.Webhooks.Addr().String(), "http://" + ls.Ops.Addr().String()
}

// waitReady polls base/readyz until it answers 200.
func waitReady(t testing.TB, base string, timeout time.Duration) {
	t.Helper()
	natstest.Eventually(t, timeout, base+"/readyz 200", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// postSigned POSTs body to the source's webhook route, signed as its auth
// policy wants, and returns the status.
func postSigned(t testing.TB, base string, src config.Source, body []byte) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/"+src.Name, bytes.NewReader(body))
	if err := webhookauth.Sign(src.Auth, req.Header, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

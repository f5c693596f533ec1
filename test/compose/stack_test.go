package compose_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// envRequireDocker, set to "1" (as CI does), fails the test where it would
// otherwise skip for lack of Docker or docker-compose.
const envRequireDocker = "IDVBUS_REQUIRE_DOCKER"

// services are the long-running services of docker-compose.yml, each with a
// healthcheck (idvctl is a one-off tool behind a profile).
var services = []string{"nats", "ingest", "normalizer", "notifier", "demo-subscriber"}

// stack is one docker-compose project of the repository's docker-compose.yml,
// with its own name and host ports so it runs beside a user's stack or
// another test run.
type stack struct {
	t       *testing.T
	root    string
	compose []string // "docker-compose" or "docker", "compose"
	project string
	env     []string
	ports   map[string]int // IDV_*_PORT variable -> host port
}

// requireCompose returns the compose command, or skips (fails with
// IDVBUS_REQUIRE_DOCKER=1) when Docker or compose is missing.
func requireCompose(t *testing.T) []string {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv(envRequireDocker) == "1" {
			t.Fatalf("compose smoke test: "+format+" (%s=1)", append(args, envRequireDocker)...)
		}
		t.Skipf("compose smoke test: "+format, args...)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		unavailable("no Docker engine: %v: %s", err, bytes.TrimSpace(out))
	}
	if err := exec.CommandContext(ctx, "docker-compose", "version").Run(); err == nil {
		return []string{"docker-compose"}
	}
	if err := exec.CommandContext(ctx, "docker", "compose", "version").Run(); err == nil {
		return []string{"docker", "compose"}
	}
	unavailable("neither docker-compose nor docker compose is installed")
	return nil
}

// newStack picks a unique project name and free loopback ports. It registers
// the teardown (logs on failure, then down -v) before anything is started, so
// a failure at any later step leaves nothing behind.
func newStack(t *testing.T, root string, compose []string) *stack {
	t.Helper()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	s := &stack{t: t, root: root, compose: compose, project: "idvbustest" + hex.EncodeToString(suffix), ports: map[string]int{}}
	s.env = append(os.Environ(), "IDV_TAG="+imageTag)
	for _, name := range []string{"IDV_NATS_PORT", "IDV_NATS_MONITOR_PORT", "IDV_INGEST_PORT", "IDV_INGEST_OPS_PORT",
		"IDV_NORMALIZER_PORT", "IDV_NOTIFIER_PORT", "IDV_DEMO_PORT"} {
		s.ports[name] = freePort(t)
		s.env = append(s.env, fmt.Sprintf("%s=%d", name, s.ports[name]))
	}
	t.Cleanup(s.teardown)
	return s
}

// freePort returns a loopback port that was free a moment ago. Another
// process may take it before compose binds it; the test then fails at `up`
// with "port is already allocated", not silently.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *stack) url(portVar, path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", s.ports[portVar], path)
}

// run runs one compose command in the repository root and returns its
// combined output.
func (s *stack) run(ctx context.Context, args ...string) (string, error) {
	full := append(append(append([]string{}, s.compose[1:]...), "-p", s.project), args...)
	cmd := exec.CommandContext(ctx, s.compose[0], full...)
	cmd.Dir = s.root
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", strings.Join(s.compose, " "), strings.Join(args, " "), err)
	}
	return string(out), nil
}

// teardown prints the services' logs if the test failed, then removes the
// project's containers, network and volumes whatever happened.
func (s *stack) teardown() {
	// t.Context() is already canceled when cleanups run.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if s.t.Failed() {
		if out, err := s.run(ctx, "ps"); err == nil {
			s.t.Logf("docker-compose ps:\n%s", out)
		}
		out, err := s.run(ctx, "logs", "--no-color", "--tail", "200")
		s.t.Logf("service logs (%v):\n%s", err, out)
	}
	if out, err := s.run(ctx, "down", "-v", "--remove-orphans", "-t", "5"); err != nil {
		s.t.Errorf("down: %v\n%s", err, out)
	}
}

// waitHealthy polls `docker inspect` until every service's container reports
// healthy, failing early if one has stopped.
func (s *stack) waitHealthy(ctx context.Context, timeout time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for {
		last = s.health(ctx)
		if last == "" {
			return
		}
		if strings.Contains(last, "exited") || strings.Contains(last, "dead") {
			s.t.Fatalf("a service stopped while starting: %s", last)
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("not healthy within %s: %s", timeout, last)
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("waiting for health: %v (%s)", ctx.Err(), last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// health returns "" when every service is healthy, else what is not.
func (s *stack) health(ctx context.Context) string {
	var notReady []string
	for _, svc := range services {
		id, err := s.run(ctx, "ps", "-q", svc)
		id = strings.TrimSpace(id)
		if err != nil || id == "" {
			notReady = append(notReady, svc+": no container")
			continue
		}
		out, err := exec.CommandContext(ctx, "docker", "inspect", "-f",
			"{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}no-healthcheck{{end}}", id).Output()
		state := strings.TrimSpace(string(out))
		if err != nil {
			state = err.Error()
		}
		if state != "running healthy" {
			notReady = append(notReady, svc+": "+state)
		}
	}
	return strings.Join(notReady, ", ")
}

// received is what the demo subscriber lists at GET /received.
type received struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	VerificationID string `json:"verification_id"`
	Vendor         string `json:"vendor"`
	Status         string `json:"status"`
}

func (s *stack) received(ctx context.Context) ([]received, error) {
	var out []received
	return out, s.getJSON(ctx, s.url("IDV_DEMO_PORT", "/received"), &out)
}

// dlqMessages is the number of messages in IDV_DLQ, from NATS monitoring.
func (s *stack) dlqMessages(ctx context.Context) (uint64, error) {
	var jsz struct {
		Accounts []struct {
			Streams []struct {
				Name  string `json:"name"`
				State struct {
					Messages uint64 `json:"messages"`
				} `json:"state"`
			} `json:"stream_detail"`
		} `json:"account_details"`
	}
	if err := s.getJSON(ctx, s.url("IDV_NATS_MONITOR_PORT", "/jsz?streams=true"), &jsz); err != nil {
		return 0, err
	}
	for _, a := range jsz.Accounts {
		for _, st := range a.Streams {
			if st.Name == "IDV_DLQ" {
				return st.State.Messages, nil
			}
		}
	}
	return 0, errors.New("no IDV_DLQ stream")
}

func (s *stack) getJSON(ctx context.Context, url string, v any) error {
	return s.do(ctx, http.MethodGet, url, v)
}

// do sends a bodiless request and decodes a JSON answer into v (if not nil).
func (s *stack) do(ctx context.Context, method, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s", method, url, resp.Status)
	}
	if v == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// eventually polls cond every 250 ms until it returns nil or timeout passes.
func eventually(ctx context.Context, t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Package compose_test is the smoke test of docker-compose.yml: it builds the
// images with `make images`, starts the stack under its own project name and
// host ports, waits until every service is healthy, sends a signed vendor
// webhook with idvctl and checks that the demo subscriber received the signed
// decision; then it breaks the subscriber and checks that the event reaches
// the dead letters on the demo's short retry schedule. The stack is always
// removed with `down -v`, and the services' logs are printed on failure.
package compose_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// imageTag is the tag the test builds and runs: the one `make images` and
// docker-compose.yml use by default, so the test runs what a user runs.
const imageTag = "local"

func TestComposeStack(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images and starts containers")
	}
	compose := requireCompose(t)
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(t.Context(), 12*time.Minute)
	defer cancel()

	start := time.Now()
	mk := exec.CommandContext(ctx, "make", "-C", root, "images", "TAG="+imageTag)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make images: %v\n%s", err, out)
	}
	t.Logf("make images: %s", time.Since(start).Round(100*time.Millisecond))

	idvctl := filepath.Join(t.TempDir(), "idvctl")
	build := exec.CommandContext(ctx, "go", "build", "-o", idvctl, "./cmd/idvctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build idvctl: %v\n%s", err, out)
	}

	s := newStack(t, root, compose)
	start = time.Now()
	if out, err := s.run(ctx, "up", "-d"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s.waitHealthy(ctx, 3*time.Minute)
	t.Logf("up -d to every service healthy: %s", time.Since(start).Round(100*time.Millisecond))

	// A decision travels vendor -> ingest -> normalizer -> notifier -> the
	// demo subscriber, which accepts it only with a valid signature.
	approved := "inq_compose_" + randomHex(t)
	s.send(ctx, idvctl, "inquiry.approved", approved)
	eventually(ctx, t, 60*time.Second, "demo subscriber receives the approval", func() error {
		got, err := s.received(ctx)
		if err != nil {
			return err
		}
		for _, r := range got {
			if r.VerificationID == approved {
				if r.Status != "approved" || r.Vendor != "persona" || r.Type != "io.idvbus.verification.updated.v1" {
					return fmt.Errorf("received %+v", r)
				}
				return nil
			}
		}
		return fmt.Errorf("not among %d received", len(got))
	})

	// Broken subscriber: the event is retried at 1, 2 and 5 s and then
	// dead-lettered (deploy/compose/idvbus.yaml), never delivered.
	before, err := s.dlqMessages(ctx)
	if err != nil {
		t.Fatalf("IDV_DLQ: %v", err)
	}
	if err := s.do(ctx, http.MethodPost, s.url("IDV_DEMO_PORT", "/fail?status=500"), nil); err != nil {
		t.Fatalf("break the demo subscriber: %v", err)
	}
	declined := "inq_compose_" + randomHex(t)
	s.send(ctx, idvctl, "inquiry.declined", declined)
	eventually(ctx, t, 60*time.Second, "the declined event is dead-lettered", func() error {
		n, err := s.dlqMessages(ctx)
		if err != nil {
			return err
		}
		if n <= before {
			return fmt.Errorf("IDV_DLQ holds %d messages, as before", n)
		}
		return nil
	})
	got, err := s.received(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range got {
		if r.VerificationID == declined {
			t.Fatalf("the broken subscriber recorded %+v", r)
		}
	}

	// The operator sees the dead letter, fixes the subscriber and replays it:
	// the decision arrives, signed, and the dead letter is gone.
	list := s.idvctl(ctx, idvctl, "dlq", "list", "--stage", "notify", "--name", "demo", "--json")
	if !strings.Contains(list, declined) {
		t.Fatalf("idvctl dlq list shows no notify dead letter of demo:\n%s", list)
	}
	if err := s.do(ctx, http.MethodDelete, s.url("IDV_DEMO_PORT", "/fail"), nil); err != nil {
		t.Fatalf("fix the demo subscriber: %v", err)
	}
	s.idvctl(ctx, idvctl, "dlq", "replay", "--all", "--stage", "notify", "--name", "demo")
	eventually(ctx, t, 60*time.Second, "the replayed decision reaches the fixed subscriber", func() error {
		got, err := s.received(ctx)
		if err != nil {
			return err
		}
		for _, r := range got {
			if r.VerificationID == declined && r.Status == "declined" {
				return nil
			}
		}
		return fmt.Errorf("not among %d received", len(got))
	})
	if n, err := s.dlqMessages(ctx); err != nil || n != before {
		t.Fatalf("IDV_DLQ holds %d messages after the replay (err %v), want %d as before", n, err, before)
	}
}

// idvctl runs idvctl against the stack's config and NATS port and returns its
// stdout; a non-zero exit fails the test.
func (s *stack) idvctl(ctx context.Context, idvctl string, args ...string) string {
	s.t.Helper()
	args = append([]string{"--config", filepath.Join(s.root, "deploy", "compose", "idvbus.yaml"),
		"--nats", fmt.Sprintf("nats://127.0.0.1:%d", s.ports["IDV_NATS_PORT"])}, args...)
	cmd := exec.CommandContext(ctx, idvctl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("idvctl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args[4:], " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// send makes the ingest receive the Persona sample event for verificationID,
// signed with the config's development secret, via idvctl send.
func (s *stack) send(ctx context.Context, idvctl, event, verificationID string) {
	s.t.Helper()
	cmd := exec.CommandContext(ctx, idvctl, "--config", filepath.Join(s.root, "deploy", "compose", "idvbus.yaml"),
		"send", "persona", event, "--ingest", s.url("IDV_INGEST_PORT", ""), "--id", verificationID)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		s.t.Fatalf("idvctl send persona %s: %v\nstdout: %s\nstderr: %s", event, err, stdout.String(), stderr.String())
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

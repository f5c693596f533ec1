package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/config"
)

// A service's config whose secrets come from variables this shell does not
// have: the full load refuses it, LoadConnection reads what a bus client
// needs and nothing else.
func TestLoadConnectionNeedsNoVendorSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idvbus.yaml")
	yaml := `nats:
  url: "nats://n1:4222,nats://n2:4222"
  user: ${NATS_USER:-ops}
jetstream: {replicas: 3, duplicate_window: 30m}
ingest: {listen: ":9999"}
sources:
  - name: persona
    vendor: persona
    auth: {type: persona, secrets: ["${PERSONA_WEBHOOK_SECRET}"]}
subscribers:
  - name: onboarding
    url: https://onboarding.internal/idv
    secrets: ["${ONBOARDING_WHSEC}"]
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	env := config.Env{
		"IDVBUS_NATS_PASSWORD":        "s3cret",
		"IDVBUS_JETSTREAM_STORAGE":    "memory",
		"IDVBUS_SOURCES_PERSONA_NAME": "ignored: not a connection setting",
	}
	if _, _, err := config.Load(path, env); err == nil || !strings.Contains(err.Error(), "PERSONA_WEBHOOK_SECRET is not set") {
		t.Fatalf("full load: %v, want the unset secret named", err)
	}
	cfg, _, err := config.LoadConnection(path, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.URL != "nats://n1:4222,nats://n2:4222" || cfg.NATS.User != "ops" || cfg.NATS.Password != "s3cret" {
		t.Errorf("nats %+v", cfg.NATS)
	}
	if cfg.JetStream.Replicas != 3 || cfg.JetStream.DuplicateWindow != 30*time.Minute || cfg.JetStream.Storage != "memory" {
		t.Errorf("jetstream %+v", cfg.JetStream)
	}
	if len(cfg.Sources) != 0 || len(cfg.Subscribers) != 0 || cfg.Ingest.Listen != config.Default().Ingest.Listen {
		t.Errorf("read beyond nats and jetstream: sources %d, subscribers %d, ingest.listen %q",
			len(cfg.Sources), len(cfg.Subscribers), cfg.Ingest.Listen)
	}
	// Its own sections are still validated.
	if err := os.WriteFile(path, []byte("jetstream: {replicas: 0}\nnats: {url: x}\nsources: [{name: BAD}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := config.LoadConnection(path, config.Env{}); err == nil || !strings.Contains(err.Error(), "jetstream.replicas") {
		t.Fatalf("invalid replicas: %v", err)
	}
}

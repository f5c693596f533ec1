package app_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/listen"
)

// TestAllInOneLogsOneReadyLine: once set up, the all-in-one says in one line
// where to send a webhook and what to try, with the flags its non-default
// addresses need.
func TestAllInOneLogsOneReadyLine(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	base, _ := runAllInOne(t, devConfig(t, t.TempDir()), zap.New(core))
	deadline := time.Now().Add(30 * time.Second)
	for logs.FilterMessageSnippet("idvbus ready").Len() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no ready line")
		}
		time.Sleep(20 * time.Millisecond)
	}
	ready := logs.FilterMessageSnippet("idvbus ready").All()
	if len(ready) != 1 {
		t.Fatalf("%d ready lines", len(ready))
	}
	f := ready[0].ContextMap()
	try, _ := f["try"].(string)
	nats, _ := f["nats"].(string)
	if f["webhooks"] != base+"/webhooks/<source>" || !strings.HasPrefix(nats, "nats://127.0.0.1:") ||
		try != "go run ./cmd/idvctl send persona inquiry.approved --ingest "+base+" --nats "+nats {
		t.Errorf("ready line %q %v", ready[0].Message, f)
	}
	if !strings.Contains(ready[0].Message, base+"/webhooks/<source>") || !strings.Contains(ready[0].Message, try) {
		t.Errorf("the message itself must say it: %q", ready[0].Message)
	}
}

// TestAllInOneBusyIngestPortNamesTheSetting: a taken ingest port stops
// start-up at once with the setting, its variable and the likely cause.
func TestAllInOneBusyIngestPortNamesTheSetting(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := devConfig(t, t.TempDir())
	cfg.Ingest.Listen = taken.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = app.AllInOne(ctx, cfg, app.Listeners{}, zap.NewNop())
	want := "ingest.listen (IDVBUS_INGEST_LISTEN): " + cfg.Ingest.Listen + " is already in use — is another idvbus running?"
	if !errors.Is(err, listen.ErrInUse) || !strings.HasPrefix(err.Error(), want) || ctx.Err() != nil {
		t.Fatalf("AllInOne: %v; want at once an error starting %q", err, want)
	}
}

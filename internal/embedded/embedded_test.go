package embedded_test

import (
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/embedded"
)

// TestStartFailsFastOnBusyPort: a port another server holds is a clear error
// at once, not a minute-long hang (nats-server reports it through Fatalf).
func TestStartFailsFastOnBusyPort(t *testing.T) {
	cfg := config.Embedded{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), MaxMemory: 64 << 20, MaxStore: 1 << 30}
	first, err := embedded.Start(cfg, 1<<20, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer first.Shutdown()
	busy := cfg
	busy.Listen = strings.TrimPrefix(first.ClientURL(), "nats://")
	busy.StoreDir = t.TempDir()
	start := time.Now()
	second, err := embedded.Start(busy, 1<<20, zaptest.NewLogger(t))
	if err == nil {
		second.Shutdown()
		t.Fatal("a second server started on a busy port")
	}
	if time.Since(start) > 10*time.Second || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

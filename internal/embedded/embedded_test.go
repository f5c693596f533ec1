package embedded_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/embedded"
	"github.com/idvbus/idvbus/internal/listen"
)

func testConfig(t *testing.T) config.Embedded {
	return config.Embedded{Listen: "127.0.0.1:0", StoreDir: t.TempDir(), MaxMemory: 64 << 20, MaxStore: 1 << 30}
}

// TestStartFailsFastOnBusyPort: a port another server holds is a clear error
// at once, naming the setting and its variable, not a minute-long hang
// (nats-server reports it through Fatalf).
func TestStartFailsFastOnBusyPort(t *testing.T) {
	cfg := testConfig(t)
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
	want := "nats.embedded.listen (IDVBUS_NATS_EMBEDDED_LISTEN): " + busy.Listen + " is already in use"
	if time.Since(start) > 30*time.Second || !errors.Is(err, listen.ErrInUse) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("after %s: %v; want it to start %q", time.Since(start), err, want)
	}
}

// TestStartFailsFastOnBusyMonitorPort: the same for the monitoring port.
func TestStartFailsFastOnBusyMonitorPort(t *testing.T) {
	taken, err := listen.TCP("test", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t)
	cfg.MonitorListen = taken.Addr().String()
	srv, err := embedded.Start(cfg, 1<<20, zaptest.NewLogger(t))
	if err == nil {
		srv.Shutdown()
		t.Fatal("started with a busy monitoring port")
	}
	want := "nats.embedded.monitor_listen (IDVBUS_NATS_EMBEDDED_MONITOR_LISTEN): " + cfg.MonitorListen + " is already in use"
	if !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %v; want it to start %q", err, want)
	}
}

// TestSecondStartOnSameStoreFails: two servers on one store directory, even
// on different ports, fail the second at once with the holder's pid; once the
// first stopped, a start succeeds.
func TestSecondStartOnSameStoreFails(t *testing.T) {
	cfg := testConfig(t)
	first, err := embedded.Start(cfg, 1<<20, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = embedded.Start(cfg, 1<<20, zaptest.NewLogger(t))
	want := fmt.Sprintf("data directory %s is in use by process %d", cfg.StoreDir, os.Getpid())
	if err == nil || !errors.Is(err, embedded.ErrStoreInUse) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("second start: %v; want it to start %q", err, want)
	}
	first.Shutdown()
	again, err := embedded.Start(cfg, 1<<20, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("start after the first stopped: %v", err)
	}
	again.Shutdown()
}

// helperEnv makes the test binary a process that holds a store (see
// TestHelperHoldStore).
const helperEnv = "EMBEDDED_TEST_HOLD_STORE"

// TestStoreIsFreedWhenHolderIsKilled: a process killed with SIGKILL (no
// clean-up) does not leave the store locked.
func TestStoreIsFreedWhenHolderIsKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process")
	}
	cfg := testConfig(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldStore$")
	cmd.Env = append(os.Environ(), helperEnv+"="+cfg.StoreDir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// The helper prints "holding" once its server runs; the scan has no
	// deadline of its own, the test's -timeout bounds it.
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "holding" {
	}
	if sc.Text() != "holding" {
		t.Fatalf("the helper process did not start its server: %q", sc.Text())
	}
	_, err = embedded.Start(cfg, 1<<20, zap.NewNop())
	want := "data directory " + cfg.StoreDir + " is in use by process " + strconv.Itoa(cmd.Process.Pid)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("start while another process holds the store: %v; want it to start %q", err, want)
	}
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	srv, err := embedded.Start(cfg, 1<<20, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("start after the holder was killed: %v", err)
	}
	srv.Shutdown()
}

// TestHelperHoldStore is not a test: run by TestStoreIsFreedWhenHolderIsKilled
// as a separate process, it starts a server on the store it is given and
// waits to be killed.
func TestHelperHoldStore(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	cfg := config.Embedded{Listen: "127.0.0.1:0", StoreDir: dir, MaxMemory: 64 << 20, MaxStore: 1 << 30}
	srv, err := embedded.Start(cfg, 1<<20, zap.NewNop())
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer srv.Shutdown()
	fmt.Println("holding")
	select {}
}

// Package chaos_test is idvbus's fault suite (issue 16): it builds the real
// binaries, runs them as child processes on loopback, sends signed webhooks
// at a bounded rate and injects faults that a unit test cannot fake — kill -9
// of each service and of nats-server, SIGSTOP of the active normalizer, a
// subscriber that is down, a full IDV_RAW, a partitioned cluster node — then
// reconciles what was answered 200 with what IDV_RAW, IDV_EVENTS and the
// subscriber hold.
//
// It runs only when asked:
//
//	IDVBUS_CHAOS=short go test -count=1 -timeout 20m ./test/chaos/   (make chaos-short, CI)
//	IDVBUS_CHAOS=full  go test -count=1 -timeout 60m ./test/chaos/   (make chaos)
//
// The full form also writes docs/reliability.md with the figures of the run.
// Ports are fixed in 18700-18799 (loopback only); the partition scenario
// needs Docker and skips without it like the container tests.
package chaos_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// EnvChaos selects the form: "short" or "full"; unset, the suite skips.
const EnvChaos = "IDVBUS_CHAOS"

var (
	mode   string // "short", "full" or ""
	binDir string // the built binaries
	// results collects one row per scenario for the report.
	results []result
)

func TestMain(m *testing.M) {
	mode = os.Getenv(EnvChaos)
	if mode != "short" && mode != "full" {
		if mode != "" {
			fmt.Fprintf(os.Stderr, "chaos: %s=%q: want short or full\n", EnvChaos, mode)
			os.Exit(2)
		}
		// Not asked for: every test skips (see requireChaos).
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "idvbus-chaos-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	binDir = dir
	start := time.Now()
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "chaos: build:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "chaos: binaries built in %s\n", time.Since(start).Round(time.Millisecond))
	code := m.Run()
	if code == 0 && mode == "full" && len(results) > 0 {
		if err := writeReport(filepath.Join(repoRoot(), "docs", "reliability.md"), results); err != nil {
			fmt.Fprintln(os.Stderr, "chaos: report:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildBinaries builds the four services and nats-server from the pinned
// module (go.mod's tool), the way `make images` does, into dir.
func buildBinaries(dir string) error {
	cmd := exec.Command("go", "build", "-o", dir+string(os.PathSeparator),
		"./cmd/idvbus", "./cmd/ingest", "./cmd/normalizer", "./cmd/notifier",
		"github.com/nats-io/nats-server/v2")
	cmd.Dir = repoRoot()
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// repoRoot is the module root: this file is test/chaos/main_test.go.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// requireChaos skips the test unless IDVBUS_CHAOS asks for the suite.
func requireChaos(t *testing.T) {
	t.Helper()
	if mode == "" {
		t.Skipf("fault suite: set %s=short or %s=full (make chaos-short, make chaos)", EnvChaos, EnvChaos)
	}
}

// pick returns the short or the full form's value.
func pick[T any](short, full T) T {
	if mode == "full" {
		return full
	}
	return short
}

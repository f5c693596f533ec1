package ctl

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no command (tail's consumer, the NATS connection) and
// no in-process stack leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

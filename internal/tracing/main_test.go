package tracing_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them (the
// span batcher must stop with its provider).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

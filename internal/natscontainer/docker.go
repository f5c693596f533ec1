package natscontainer

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// EnvRequireDocker is the variable that, set to "1", turns "Docker is unavailable" from a skip into
// a test failure. CI sets it so that container tests can never be skipped
// silently.
const EnvRequireDocker = "IDVBUS_REQUIRE_DOCKER"

// dockerHealthTimeout bounds the availability probe: a reachable engine answers
// a ping in milliseconds; a socket path that exists but hangs must not stall
// every container test until the test binary times out.
const dockerHealthTimeout = 15 * time.Second

// The Docker engine is probed once per test binary.
var (
	dockerOnce sync.Once
	dockerErr  error
)

// probeDocker does what testcontainers.SkipIfProviderIsNotHealthy does, but
// returns the error instead of skipping: that helper takes *testing.T (Start
// takes testing.TB) and cannot fail instead of skip.
//
// An explicit DOCKER_HOST is checked first and on its own: testcontainers
// quietly falls back to /var/run/docker.sock when DOCKER_HOST does not answer,
// so a test would run against an engine other than the one configured.
func probeDocker(ctx context.Context, logger tclog.Logger) (err error) {
	defer func() {
		// The provider constructor panics on some broken environments
		// (SkipIfProviderIsNotHealthy recovers for the same reason).
		if r := recover(); r != nil {
			err = fmt.Errorf("docker provider panicked: %v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, dockerHealthTimeout)
	defer cancel()

	if host := os.Getenv("DOCKER_HOST"); host != "" {
		cli, err := client.New(client.FromEnv)
		if err != nil {
			return fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
		}
		defer cli.Close()
		if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
			return fmt.Errorf("DOCKER_HOST=%s: %w", host, err)
		}
	}

	p, err := testcontainers.ProviderDocker.GetProvider(testcontainers.WithLogger(logger))
	if err != nil {
		return err
	}
	defer p.Close()
	return p.Health(ctx)
}

// requireDocker skips tb when no Docker engine is reachable, or fails it when
// IDVBUS_REQUIRE_DOCKER=1.
func requireDocker(tb testing.TB) {
	tb.Helper()
	dockerOnce.Do(func() { dockerErr = probeDocker(tb.Context(), tclog.TestLogger(tb)) })
	err := dockerErr
	if err == nil {
		return
	}
	if os.Getenv(EnvRequireDocker) == "1" {
		tb.Fatalf("natscontainer: Docker is unavailable and %s=1: %v", EnvRequireDocker, err)
	}
	tb.Skipf("natscontainer: Docker is unavailable, skipping container test (set %s=1 to fail instead): %v",
		EnvRequireDocker, err)
}

// freeLoopbackPorts returns n distinct TCP ports on 127.0.0.1 that were free a
// moment ago: all n listeners are held open together so that no port is
// returned twice. Another process may take a port before Docker binds it;
// Start retries on that.
func freeLoopbackPorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

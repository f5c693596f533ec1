// Package natscontainer runs nats-server with JetStream in a Docker container,
// for tests that need what an in-process server cannot give: a server process
// that is stopped, killed and restarted under a client, with its store on disk.
//
// The image (Image, built from deploy/nats) is FROM scratch and built locally
// from the nats-server version pinned in go.mod; nothing is pulled from a
// registry. Start skips the test when no Docker engine is reachable, unless
// IDVBUS_REQUIRE_DOCKER=1, which turns the skip into a failure.
//
// [StartCluster] runs several such containers as one JetStream cluster on a
// Docker network of their own, for tests that stop or kill a node under load.
//
// The client and monitoring ports are published on 127.0.0.1 at ports chosen
// once, when the container is created, so URL stays valid across Stop/Start,
// Kill/Start and Restart: a client under test reconnects to the same address.
// This needs a Docker engine on the local machine (not a remote DOCKER_HOST).
//
// Without a registry, testcontainers needs TESTCONTAINERS_RYUK_DISABLED=true
// (the literal word; "1" is ignored): Ryuk's image cannot be pulled. Cleanup
// does not depend on Ryuk: Start registers the container's removal with
// tb.Cleanup.
package natscontainer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

const (
	clientPort  = "4222/tcp"
	clusterPort = "6222/tcp"
	monitorPort = "8222/tcp"

	// healthzPath answers 200 once JetStream is enabled. The plain /healthz
	// would also wait for every stream to be current, which a cluster node
	// started alone can never reach; the readiness of the data is what the
	// tests assert themselves.
	healthzPath = "/healthz?js-enabled-only=true"

	confPath = "/etc/nats/nats.conf"

	// portAttempts: how often Start picks new host ports when Docker could not
	// bind the chosen ones (another process took them in between).
	portAttempts = 3

	// defaultStopTimeout is what Restart gives nats-server to shut down on
	// SIGTERM before Docker kills it; Docker's own default.
	defaultStopTimeout = 10 * time.Second

	// logTailLines is how much of the server log a failed test prints.
	logTailLines = 60
)

var loopback = netip.MustParseAddr("127.0.0.1")

// Server is a nats-server container. Its methods are safe to call from the
// test goroutine; they are not meant for concurrent use.
type Server struct {
	ctr         *testcontainers.DockerContainer
	name        string // server_name given with WithServerName, or ""
	clientPort  int
	monitorPort int
}

// Start runs a nats-server container from Image (building the image first if
// it is missing or stale), waits until JetStream is enabled, and registers the
// container's removal with tb.Cleanup. It skips tb when Docker is unavailable,
// or fails it if IDVBUS_REQUIRE_DOCKER=1; any other problem fails tb.
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	requireDocker(tb)
	cfg := newConfig(opts)
	ctx := tb.Context()

	start := time.Now()
	if err := ensureImage(ctx, tb); err != nil {
		tb.Fatalf("natscontainer: image %s: %v", Image, err)
	}
	tb.Logf("natscontainer: image %s ready after %s", Image, time.Since(start).Round(time.Millisecond))

	var err error
	for attempt := 1; attempt <= portAttempts; attempt++ {
		start = time.Now()
		var s *Server
		s, err = run(ctx, tb, cfg)
		if err == nil {
			tb.Logf("natscontainer: %s healthy at %s after %s", Image, s.URL(), time.Since(start).Round(time.Millisecond))
			return s
		}
		if !isPortConflict(err) {
			break
		}
		tb.Logf("natscontainer: host port taken before Docker bound it (attempt %d/%d): %v", attempt, portAttempts, err)
	}
	tb.Fatalf("natscontainer: start %s: %v%s", Image, err, hint(err))
	return nil
}

// run creates and starts one container with freshly chosen host ports.
func run(ctx context.Context, tb testing.TB, cfg config) (*Server, error) {
	ports, err := freeLoopbackPorts(2)
	if err != nil {
		return nil, err
	}
	s := &Server{name: cfg.serverName, clientPort: ports[0], monitorPort: ports[1]}

	customizers := []testcontainers.ContainerCustomizer{
		testcontainers.WithLogger(tclog.TestLogger(tb)),
		testcontainers.WithExposedPorts(clientPort, clusterPort, monitorPort),
		testcontainers.WithCmd(append([]string{"--config", confPath}, cfg.args...)...),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			// Fixed host ports, not ephemeral ones: Docker may hand out a
			// different ephemeral port when a stopped container starts again,
			// and the client under test must find the server at the same URL.
			hc.PortBindings = network.PortMap{
				network.MustParsePort(clientPort):  {{HostIP: loopback, HostPort: strconv.Itoa(s.clientPort)}},
				network.MustParsePort(monitorPort): {{HostIP: loopback, HostPort: strconv.Itoa(s.monitorPort)}},
				network.MustParsePort(clusterPort): {{HostIP: loopback}},
			}
		}),
		testcontainers.WithWaitStrategy(&loopbackStrategy{
			wait.ForHTTP(healthzPath).WithPort(monitorPort).WithStartupTimeout(cfg.startupTimeout),
		}),
	}
	if cfg.conf != nil {
		customizers = append(customizers, testcontainers.WithFiles(testcontainers.ContainerFile{
			Reader:            bytes.NewReader(cfg.conf),
			ContainerFilePath: confPath,
			FileMode:          0o644,
		}))
	}
	if cfg.serverName != "" {
		customizers = append(customizers, testcontainers.WithEnv(map[string]string{"NATS_SERVER_NAME": cfg.serverName}))
	}
	if cfg.containerName != "" {
		customizers = append(customizers, testcontainers.WithName(cfg.containerName))
	}
	if cfg.network != "" {
		customizers = append(customizers, tcnetwork.WithNetworkName(cfg.aliases, cfg.network))
	}

	ctr, err := testcontainers.Run(ctx, Image, customizers...)
	// Registered before the error check: a container that was created but did
	// not become healthy must be removed too.
	testcontainers.CleanupContainer(tb, ctr)
	if err != nil {
		if ctr != nil {
			if tail := logTail(ctx, ctr); tail != "" {
				err = fmt.Errorf("%w\nserver log (tail):\n%s", err, tail)
			}
		}
		return nil, err
	}
	s.ctr = ctr

	// Runs before the container's removal (cleanups run last-in first-out).
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("natscontainer: server log of %s (tail):\n%s", s.URL(), logTail(context.WithoutCancel(ctx), ctr))
		}
	})
	return s, nil
}

// URL is the client URL, nats://127.0.0.1:<port>. It does not change when the
// server is stopped, killed or restarted.
func (s *Server) URL() string {
	return "nats://127.0.0.1:" + strconv.Itoa(s.clientPort)
}

// MonitorURL is the base URL of the HTTP monitoring endpoint
// (http://127.0.0.1:<port>; append /healthz, /varz, /jsz). Stable like URL.
func (s *Server) MonitorURL() string {
	return "http://127.0.0.1:" + strconv.Itoa(s.monitorPort)
}

// Name is the server_name given with [WithServerName], or "" when the image's
// default is used.
func (s *Server) Name() string { return s.name }

// Container exposes the underlying container, for what this package does not
// wrap (container IP, networks, logs).
func (s *Server) Container() *testcontainers.DockerContainer {
	return s.ctr
}

// Stop stops the server gracefully: SIGTERM, on which nats-server shuts down
// and closes its JetStream store, then SIGKILL if it is still running after
// timeout.
// Docker counts the timeout in whole seconds, so it is rounded up; a negative
// timeout waits indefinitely. The container and its filesystem, including the
// JetStream store, are kept for Start.
func (s *Server) Stop(ctx context.Context, timeout time.Duration) error {
	d := timeout.Truncate(time.Second)
	switch {
	case timeout < 0:
		d = -time.Second
	case d < timeout:
		d += time.Second
	}
	if err := s.ctr.Stop(ctx, &d); err != nil {
		return fmt.Errorf("natscontainer: stop: %w", err)
	}
	return nil
}

// Kill sends SIGKILL, as a crash would: nats-server gets no chance to flush
// or sync. It returns once the container is no longer running. Acknowledged
// messages survive a process kill (they are in the page cache of the host's
// kernel), not a host crash; see sync_interval in deploy/nats/nats.conf.
func (s *Server) Kill(ctx context.Context) error {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("natscontainer: kill: docker client: %w", err)
	}
	defer cli.Close()
	id := s.ctr.GetContainerID()
	if _, err := cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil {
		return fmt.Errorf("natscontainer: kill: %w", err)
	}
	res := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
	select {
	case <-res.Result:
		return nil
	case err := <-res.Error:
		return fmt.Errorf("natscontainer: kill: wait for exit: %w", err)
	}
}

// Start starts the stopped or killed container again, with the same
// filesystem and host ports, and waits until JetStream is enabled. Stream
// recovery may still be completing; tests poll for the state they expect.
func (s *Server) Start(ctx context.Context) error {
	if err := s.ctr.Start(ctx); err != nil {
		return fmt.Errorf("natscontainer: start: %w\nserver log (tail):\n%s", err, logTail(ctx, s.ctr))
	}
	return nil
}

// Restart stops the server gracefully (10 s before SIGKILL) and starts it again.
func (s *Server) Restart(ctx context.Context) error {
	if err := s.Stop(ctx, defaultStopTimeout); err != nil {
		return err
	}
	return s.Start(ctx)
}

// loopbackStrategy runs a wait strategy against 127.0.0.1, where Start
// publishes the ports, instead of the host testcontainers guesses. On machines
// where /.dockerenv exists testcontainers believes it runs inside a container
// and dials the default gateway unless TESTCONTAINERS_HOST_OVERRIDE is set;
// the readiness probe must check the address the tests will use.
//
// It must be used as a pointer: testcontainers wraps strategies in
// wait.ForAll, whose String method calls reflect.Value.IsNil on each one and
// panics on a struct value.
type loopbackStrategy struct {
	*wait.HTTPStrategy
}

func (s *loopbackStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	return s.HTTPStrategy.WaitUntilReady(ctx, loopbackTarget{target})
}

type loopbackTarget struct {
	wait.StrategyTarget
}

func (loopbackTarget) Host(context.Context) (string, error) {
	return loopback.String(), nil
}

// logTail returns the last lines of the container's log, or why it cannot.
func logTail(ctx context.Context, ctr testcontainers.Container) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil && len(b) == 0 {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return strings.Join(lines, "\n")
}

// isPortConflict reports whether Docker failed to bind a chosen host port.
func isPortConflict(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "address already in use") || strings.Contains(msg, "port is already allocated")
}

// hint adds the fix for the failures this machine is known for.
func hint(err error) string {
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "reaper") || strings.Contains(msg, "ryuk"):
		return "\nhint: no registry is reachable, so Ryuk cannot be pulled; set TESTCONTAINERS_RYUK_DISABLED=true (the word, not 1)"
	case strings.Contains(msg, "pull") || strings.Contains(msg, "registry"):
		return "\nhint: " + Image + " must be built locally; set " + EnvRebuildImages + "=1 to rebuild it"
	}
	return ""
}

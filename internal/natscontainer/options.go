package natscontainer

import "time"

// Option customises the container [Start] runs.
type Option func(*config)

type config struct {
	args           []string
	conf           []byte
	containerName  string
	serverName     string
	network        string
	aliases        []string
	startupTimeout time.Duration
}

// defaultStartupTimeout bounds the wait for /healthz after a (re)start. A
// scratch nats-server is ready in well under a second; a minute absorbs a
// loaded CI machine and a JetStream store that has to be recovered.
const defaultStartupTimeout = 60 * time.Second

func newConfig(opts []Option) config {
	c := config{startupTimeout: defaultStartupTimeout}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithArgs appends command-line flags after `--config /etc/nats/nats.conf`;
// flags override the file (e.g. "--cluster_name", "c1", "--routes", "...").
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithConfig replaces the image's /etc/nats/nats.conf with conf for this
// container. The file must keep the monitoring endpoint on port 8222 and
// JetStream enabled, because readiness is /healthz?js-enabled-only=true on 8222,
// and the client listener on 4222, because that is the port published.
func WithConfig(conf string) Option {
	return func(c *config) { c.conf = []byte(conf) }
}

// WithContainerName gives the container a fixed Docker name instead of a random
// one. Docker names are global to the engine: two test binaries running at
// once must not use the same name.
func WithContainerName(name string) Option {
	return func(c *config) { c.containerName = name }
}

// WithServerName sets the nats-server server_name (NATS_SERVER_NAME, default
// "idvbus-nats"). Every node of a JetStream cluster needs a distinct one.
func WithServerName(name string) Option {
	return func(c *config) { c.serverName = name }
}

// WithNetwork attaches the container to an existing user-defined Docker network
// under the given aliases, so that other containers on it (the nodes of a
// cluster) reach it as alias:6222 or alias:4222. The client and monitoring
// ports stay published on 127.0.0.1 as without a network.
func WithNetwork(network string, aliases ...string) Option {
	return func(c *config) {
		c.network = network
		c.aliases = aliases
	}
}

// WithStartupTimeout bounds how long Start (and every later (*Server).Start)
// waits for the server to report healthy. Default 60 s.
func WithStartupTimeout(d time.Duration) Option {
	return func(c *config) { c.startupTimeout = d }
}

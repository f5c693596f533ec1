// Package config loads idvbus's one configuration file.
//
// A config is built in this order, later steps winning:
//  1. the defaults ([Default]);
//  2. the YAML file, with `${VAR}` (and `${VAR:-fallback}`) expanded from the
//     environment inside values, so secrets never need to be written in the file;
//  3. `IDVBUS_...` environment variables, one per setting (see [ApplyEnv]).
//
// [Config.Validate] then reports every problem, one line each, naming the field.
// The keys are part of the external contract (docs/contract.md); more may be added.
// [Keys] lists them from the Config struct; [LoadFile] records where each
// value came from and [Print] shows it (`idvbus config print`).
//
// docs/config.md and schemas/config.schema.json are generated from the
// struct's fields and their doc comments:
//
//go:generate go run ./gen
package config

import (
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
	"github.com/idvbus/idvbus/sdk/idv"
)

// Config is the whole configuration file. Each service reads the sections it needs.
type Config struct {
	NATS        NATS         `yaml:"nats"`
	JetStream   JetStream    `yaml:"jetstream"`
	Ingest      Ingest       `yaml:"ingest"`
	Normalizer  Normalizer   `yaml:"normalizer"`
	Notifier    Notifier     `yaml:"notifier"`
	Log         Log          `yaml:"log"`
	Tracing     Tracing      `yaml:"tracing"`
	Sources     []Source     `yaml:"sources"`
	Subscribers []Subscriber `yaml:"subscribers"`
}

// NATS says how to reach NATS JetStream.
type NATS struct {
	// URL is a comma-separated list of server URLs. For idvbus, empty means
	// "start the embedded server"; for the stand-alone services empty means
	// nats://127.0.0.1:4222.
	URL string `yaml:"url"`
	// Name is the client connection name shown in NATS monitoring (default: the binary's name).
	Name string `yaml:"name,omitempty"`
	// User and Password authenticate with a user name and password (both or
	// neither); use only one of user/password, token, nkey_seed_file, creds_file.
	User string `yaml:"user,omitempty"`
	// Password is the password of User.
	Password string `yaml:"password,omitempty"`
	// Token authenticates with a token.
	Token string `yaml:"token,omitempty"`
	// NkeySeedFile is the path of a file holding an NKey seed to authenticate with.
	NkeySeedFile string `yaml:"nkey_seed_file,omitempty"`
	// CredsFile is the path of a .creds file (a JWT and its NKey seed).
	CredsFile string   `yaml:"creds_file,omitempty"`
	TLS       TLS      `yaml:"tls"`
	Embedded  Embedded `yaml:"embedded"`
	// ConnectTimeout bounds one connection attempt; reconnection goes on forever.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
}

// TLS configures the client side of a TLS connection to NATS. Setting any file
// turns TLS on; cert_file and key_file go together (mutual TLS).
type TLS struct {
	// CAFile is the PEM file of the CAs the server's certificate is checked against.
	CAFile string `yaml:"ca_file,omitempty"`
	// CertFile is the PEM file of the client certificate (mutual TLS).
	CertFile string `yaml:"cert_file,omitempty"`
	// KeyFile is the PEM file of the client certificate's private key.
	KeyFile string `yaml:"key_file,omitempty"`
}

// Enabled reports whether any TLS setting is present.
func (t TLS) Enabled() bool { return t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" }

// Embedded configures the JetStream server idvbus runs in its own process.
type Embedded struct {
	// Listen is the client address. Loopback by default: the embedded server has
	// no authentication, so it must not be reachable from other machines.
	Listen string `yaml:"listen"`
	// MonitorListen is the address of NATS's HTTP monitoring (/varz, /jsz...);
	// empty turns it off. Loopback by default, like the client port.
	MonitorListen string `yaml:"monitor_listen"`
	// StoreDir holds JetStream's files.
	StoreDir string `yaml:"store_dir"`
	// SyncAlways makes JetStream fsync every write before acknowledging it.
	// Off by default (NATS syncs every 2 min; a process crash loses nothing,
	// a power loss of this single machine can lose the last writes). On, it
	// survives power loss at a throughput cost (docs/benchmarks.md).
	SyncAlways bool `yaml:"sync_always"`
	// MaxMemory caps JetStream's memory use in bytes; without a cap the
	// server claims a share of the whole machine.
	MaxMemory int64 `yaml:"max_memory"`
	// MaxStore caps JetStream's disk use in bytes.
	MaxStore int64 `yaml:"max_store"`
}

// JetStream sizes the streams and the KV bucket (see internal/bus).
type JetStream struct {
	// Replicas is how many NATS servers keep a copy of each stream: 1 on one
	// machine, 3 on a cluster (survives the loss of one server).
	Replicas int `yaml:"replicas"`
	// Storage is "file" (default) or "memory" (tests only: a restart loses everything).
	Storage string `yaml:"storage"`
	// RawMaxAge is how long raw webhooks are kept (0 = forever).
	RawMaxAge time.Duration `yaml:"raw_max_age"`
	// EventsMaxAge is how long normalized events are kept (0 = forever).
	EventsMaxAge time.Duration `yaml:"events_max_age"`
	// DLQMaxAge is how long dead letters are kept (0 = until an operator purges them).
	DLQMaxAge time.Duration `yaml:"dlq_max_age"`
	// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// ManageTopology makes every service create or update the streams and the KV
	// bucket at start. Set it to false where the services' NATS user may not
	// manage streams: they then only check that everything exists.
	ManageTopology bool `yaml:"manage_topology"`
}

// Ingest configures the HTTP ingest service.
type Ingest struct {
	// Listen is the public webhook port: POST /webhooks/{source} and, for
	// load balancers, a bare /healthz and /readyz (a status code and one
	// word, never a reason). It answers 404 on /metrics.
	Listen string `yaml:"listen"`
	// OpsListen is the operators' port: /metrics, the detailed /readyz (with
	// the reason when not ready) and /healthz. Loopback by default; in a
	// container or pod it must listen on every interface (":8084") for
	// Prometheus, but never be published to the internet. The all-in-one
	// idvbus serves the normalizer's and notifier's metrics here too.
	OpsListen string `yaml:"ops_listen"`
	// MaxBodyBytes is the largest webhook body accepted; a larger one gets 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxInflightBodyBytes caps the body bytes all requests may be reading,
	// and holding until their PubAck, at once; a request that would exceed
	// it gets 503 with Retry-After before its body is read. It bounds memory
	// before authentication (an HMAC signature needs the whole body). Default
	// 64 MiB, sized for a 512 MiB container; at least max_body_bytes.
	MaxInflightBodyBytes int64 `yaml:"max_inflight_body_bytes"`
	// MaxInflightBodyBytesPerIP is max_inflight_body_bytes for one client
	// address (default 8 MiB), so that one sender cannot take the whole
	// budget; behind a reverse proxy it needs trusted_proxies. Between
	// max_body_bytes and max_inflight_body_bytes.
	MaxInflightBodyBytesPerIP int64 `yaml:"max_inflight_body_bytes_per_ip"`
	// ReadHeaderTimeout bounds reading a request's headers (slow clients).
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds a request from its headers to the end of the
	// answer; it must exceed publish_timeout.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// IdleTimeout closes a keep-alive connection idle this long.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// PublishTimeout bounds the wait for JetStream's PubAck; past it the vendor gets 503.
	PublishTimeout time.Duration `yaml:"publish_timeout"`
	// RetryAfter is the Retry-After sent with a 503.
	RetryAfter time.Duration `yaml:"retry_after"`
	// ShutdownTimeout bounds how long in-flight requests may finish on shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// TrustedProxies are the CIDRs of reverse proxies whose X-Forwarded-For is
	// believed when finding the client address for allow_ips. Empty: the TCP peer.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// Normalizer configures the normalizer (internal/normalize).
type Normalizer struct {
	// Listen is the HTTP address of the stand-alone normalizer's /healthz,
	// /readyz and /metrics. The all-in-one idvbus serves them on ingest.ops_listen.
	Listen string `yaml:"listen"`
	// Workers process verifications in parallel; webhooks of one
	// verification are processed one at a time, in stream order.
	Workers int `yaml:"workers"`
	// MaxAckPending bounds the raw webhooks in flight (JetStream's
	// max_ack_pending of the durable consumer).
	MaxAckPending int `yaml:"max_ack_pending"`
	// AckWait is how long JetStream waits for an ack before redelivering. A
	// running normalizer keeps the webhooks it holds alive (in progress every
	// third of this) however long they take, so this only bounds how soon a
	// crashed normalizer's webhooks are redelivered.
	AckWait time.Duration `yaml:"ack_wait"`
	// MaxDeliveries: a webhook still failing with a retryable error at this
	// delivery is dead-lettered. Webhooks that cannot be parsed are
	// dead-lettered at once.
	MaxDeliveries int `yaml:"max_deliveries"`
	// Backoff are the delays before redelivery after a retryable error: the
	// n-th retry waits Backoff[n-1], the last value repeating. Their sum must
	// stay below jetstream.duplicate_window (see docs/decisions.md D10).
	Backoff []time.Duration `yaml:"backoff"`
	// ShutdownTimeout bounds how long in-flight webhooks may finish on shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// PinnedTTL: one normalizer process at a time consumes (a pinned
	// priority group, so one verification's webhooks stay in order); it
	// renews its pin with every pull (at least every third of this, busy or
	// idle). When it dies without a clean stop, a standby takes over after
	// this long. A clean stop hands over at once, and so does a restart of
	// the same Instance.
	PinnedTTL time.Duration `yaml:"pinned_ttl"`
	// Instance names this normalizer process for the pin: a process that
	// starts with the name of the one holding the pin is its restart (the
	// holder is dead) and takes the pin back at once instead of after
	// PinnedTTL. Empty means the host name, which a restarted container or
	// pod keeps; give each process on one host its own name.
	Instance string `yaml:"instance"`
}

// Log configures the zap logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or console
}

// Source is one webhook endpoint: POST /webhooks/{name}.
type Source struct {
	// Name is the source's name in its URL (/webhooks/{name}), its events'
	// source and its IDVBUS_SOURCES_<NAME>_ variables: [a-z0-9_-]{1,64}.
	Name string `yaml:"name"`
	// Vendor is the IDV vendor that sends the webhooks: persona, incode,
	// credas, idwise, sumsub or stripe (docs/vendors.md).
	Vendor string `yaml:"vendor"`
	// DecisionPolicy is "vendor" (default) or "auto"; used by the normalizer.
	DecisionPolicy string `yaml:"decision_policy"`
	// AllowUnauthenticated must be true for auth.type none to be accepted.
	AllowUnauthenticated bool               `yaml:"allow_unauthenticated"`
	Auth                 webhookauth.Config `yaml:"auth"`
	// Results overrides the vendor's table of numeric result codes (Credas
	// only): check name or "default" → code → unified result, e.g.
	// {right_to_work: {"4": failed}}.
	Results map[string]map[string]string `yaml:"results,omitempty"`
}

// Notifier configures the notifier service (internal/notify); what is per
// subscriber is in [Subscriber].
type Notifier struct {
	// Listen is the HTTP address of the stand-alone notifier's /healthz,
	// /readyz and /metrics. The all-in-one idvbus serves them on ingest.ops_listen.
	Listen string `yaml:"listen"`
	// AckWait is how long JetStream waits for a delivery's outcome before
	// giving the event to another notifier process. A running notifier keeps
	// the events it holds alive however long an attempt or a rate limit takes,
	// so this only bounds how soon a crashed notifier's events are redelivered.
	AckWait time.Duration `yaml:"ack_wait"`
	// ShutdownTimeout bounds how long attempts in flight may finish on shutdown.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Subscriber is one outgoing-webhook receiver (delivered by the notifier).
type Subscriber struct {
	// Name names the subscriber in its durable consumer (notify-<name>),
	// metrics and IDVBUS_SUBSCRIBERS_<NAME>_ variables: [a-z0-9_-]{1,64}.
	Name string `yaml:"name"`
	// URL is where the events are POSTed: http or https.
	URL string `yaml:"url"`
	// Secrets are Standard Webhooks secrets: whsec_ and the padded standard
	// base64 of 24 to 64 random bytes, as the spec and its libraries require.
	// Each request carries one signature per secret, so a receiver can rotate
	// without downtime.
	Secrets []string         `yaml:"secrets"`
	Filter  SubscriberFilter `yaml:"filter"`
	// Format is "structured" (the CloudEvent as JSON, the default) or "binary"
	// (the data as body, attributes in ce-* headers).
	Format string `yaml:"format"`
	// Timeout bounds one delivery attempt (connect, send, answer).
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many deliveries to this subscriber may be in flight
	// at once, per notifier process.
	Concurrency int `yaml:"concurrency"`
	// Rate caps the delivery attempts per unit of time: "20/s", "600/m",
	// "1000/h", or a bare number per second; empty or 0 means no limit.
	Rate string `yaml:"rate"`
	// Start says where a new subscriber starts: "new" (events stored from its
	// first start on, the default), "all" (every event still in IDV_EVENTS)
	// or an RFC 3339 time. It only applies when the durable consumer is
	// created; later changes have no effect.
	Start string `yaml:"start"`
	// MaxAckPending bounds the events handed out and not yet finished,
	// including those waiting for a retry (JetStream's max_ack_pending of the
	// durable consumer notify-<name>). When it is reached, new events wait.
	MaxAckPending int            `yaml:"max_ack_pending"`
	Retry         Retry          `yaml:"retry"`
	Breaker       CircuitBreaker `yaml:"breaker"`
}

// Retry is a subscriber's retry policy after a retryable failure (408, 429,
// 5xx, 3xx, timeout, connection error).
type Retry struct {
	// Schedule are the delays between attempts: the n-th retry waits
	// Schedule[n-1], the last value repeating, each varied by Jitter and
	// never shorter than the subscriber's Retry-After.
	Schedule []time.Duration `yaml:"schedule"`
	// Jitter varies each delay by up to this fraction either way (up to 1),
	// so retries of many events do not arrive together. 0 means the default
	// (0.2); a negative value turns jitter off.
	Jitter float64 `yaml:"jitter"`
	// MaxAttempts counts every attempt, the first included. When it is
	// reached, the event is dead-lettered.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxAge: an event is dead-lettered once it is this old (since it was
	// stored in IDV_EVENTS) and its next attempt would come later.
	MaxAge time.Duration `yaml:"max_age"`
}

// CircuitBreaker pauses deliveries to a subscriber that keeps failing, so
// events wait instead of using up their attempts.
type CircuitBreaker struct {
	// Failures is how many retryable failures in a row open the circuit.
	// 0 means the default (5); a negative value turns the breaker off.
	Failures int `yaml:"failures"`
	// Cooldown is how long the circuit stays open before one probe delivery
	// is let through; a successful probe closes it, a failed one reopens it.
	Cooldown time.Duration `yaml:"cooldown"`
}

// SubscriberFilter selects the events a subscriber receives; see
// [idv.Filter] for the rules. The default is the three decisions.
type SubscriberFilter = idv.Filter

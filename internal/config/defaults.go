package config

import "time"

// Defaults. Each value is part of the documented behaviour (README, docs/contract.md).
const (
	// DefaultNATSURL is where the stand-alone services look for NATS when
	// nats.url is empty: the NATS default port on this machine, which is also
	// where `idvbus` exposes its embedded server.
	DefaultNATSURL = "nats://127.0.0.1:4222"
	// DefaultEmbeddedListen keeps the unauthenticated embedded server on loopback.
	DefaultEmbeddedListen = "127.0.0.1:4222"
	// DefaultOpsListen is ingest's (and the all-in-one's) ops listener:
	// /metrics and the detailed /readyz, on loopback.
	DefaultOpsListen = "127.0.0.1:8084"
	// DefaultMaxBodyBytes (1 MiB) fits every documented IDV webhook (they carry
	// ids and statuses, not document images) with a wide margin.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxInflightBodyBytes (64 MiB) is what bodies being read may take
	// at once: an eighth of a 512 MiB container, leaving the rest to the Go
	// runtime, the NATS client's buffers and, in the all-in-one, the embedded
	// JetStream. Webhooks are small (a few KiB), so it admits thousands of
	// genuine ones at once, but only 64 bodies of the maximum size.
	DefaultMaxInflightBodyBytes = 64 << 20
	// DefaultMaxInflightBodyBytesPerIP (8 MiB, an eighth of the total) keeps
	// one client address from taking the whole budget: a flood from one
	// address leaves seven eighths to every other sender. Behind a reverse
	// proxy it needs ingest.trusted_proxies, else every client shares the
	// proxy's address.
	DefaultMaxInflightBodyBytesPerIP = 8 << 20
	// DefaultRawMaxAge keeps raw webhooks 30 days: long past any vendor's retry
	// horizon (Veriff retries for 7 days), so a mapping fix can be replayed.
	DefaultRawMaxAge = 30 * 24 * time.Hour
	// DefaultDuplicateWindow: JetStream holds the ids of the last hour in memory;
	// older redeliveries are caught by the normalizer's per-verification memory.
	DefaultDuplicateWindow = time.Hour
)

// Default returns the configuration used where the file and the environment say nothing.
func Default() Config {
	return Config{
		NATS: NATS{
			ConnectTimeout: 5 * time.Second,
			Embedded: Embedded{
				Listen:        DefaultEmbeddedListen,
				MonitorListen: "127.0.0.1:8222",
				StoreDir:      "./data/nats",
				MaxMemory:     256 << 20, // streams are file-backed; memory is only for caches
				MaxStore:      16 << 30,
			},
		},
		JetStream: JetStream{
			Replicas:        1,
			Storage:         "file",
			RawMaxAge:       DefaultRawMaxAge,
			EventsMaxAge:    DefaultRawMaxAge,
			DLQMaxAge:       0,
			DuplicateWindow: DefaultDuplicateWindow,
			ManageTopology:  true,
		},
		Ingest: Ingest{
			Listen: ":8080",
			// Metrics and readiness reasons are for operators: this machine
			// only unless the config opens it (containers: ":8084").
			OpsListen:                 DefaultOpsListen,
			MaxBodyBytes:              DefaultMaxBodyBytes,
			MaxInflightBodyBytes:      DefaultMaxInflightBodyBytes,
			MaxInflightBodyBytesPerIP: DefaultMaxInflightBodyBytesPerIP,
			// A webhook is small: 5 s for headers and 30 s for a body are generous
			// for a vendor and short enough to shed slow-loris clients.
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       30 * time.Second,
			// The write timeout must cover the PubAck wait plus the answer.
			WriteTimeout:    30 * time.Second,
			IdleTimeout:     120 * time.Second,
			PublishTimeout:  5 * time.Second,
			RetryAfter:      5 * time.Second,
			ShutdownTimeout: 20 * time.Second,
		},
		Normalizer: Normalizer{
			Listen:        ":8081",
			Workers:       16,
			MaxAckPending: 1024,
			// A live normalizer marks what it holds in progress every third
			// of this, so it never loses a webhook however slow the work is;
			// a crashed one's webhooks are redelivered within 3 s, as soon
			// as a standby has the pin (pinned_ttl).
			AckWait:       3 * time.Second,
			MaxDeliveries: 10,
			// 1 s, 5 s, 30 s, 2 min, then every 5 min: rides out a NATS
			// restart quickly; ten deliveries span about 30 min, well inside
			// the default 1 h duplicate window.
			Backoff:         []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute},
			ShutdownTimeout: 20 * time.Second,
			// The active normalizer renews its pin with every pull, at least
			// every second; 3 s without one means it is dead (or frozen), and
			// a standby takes over. A restart on the same instance takes the
			// pin back at once (normalizer.instance).
			PinnedTTL: 3 * time.Second,
		},
		Notifier: Notifier{
			Listen: ":8082",
			// A crashed notifier's deliveries are retried (by another
			// process or its restart) within 5 s; a running one keeps its
			// events alive every third of this (see Notifier.AckWait).
			AckWait:         5 * time.Second,
			ShutdownTimeout: 20 * time.Second,
		},
		Log:     Log{Level: "info", Format: "json"},
		Tracing: DefaultTracing(),
	}
}

// Subscriber defaults (README "Subscribers"; the why of each value).
const (
	// DefaultSubscriberTimeout: Standard Webhooks asks receivers to answer
	// within 15-30 s; 15 s keeps a hung receiver from holding a worker long.
	DefaultSubscriberTimeout = 15 * time.Second
	// DefaultSubscriberConcurrency: 8 requests in flight per process keeps a
	// healthy receiver busy without opening a flood of connections to it.
	DefaultSubscriberConcurrency = 8
	// DefaultSubscriberMaxAckPending: events waiting for a retry hold a slot
	// for hours, so the window is wide: a few failing events must not stop
	// the delivery of the others.
	DefaultSubscriberMaxAckPending = 10000
	// DefaultRetryJitter spreads retries of many events by up to ±20 %.
	DefaultRetryJitter = 0.2
	// DefaultRetryMaxAttempts: the first attempt and one per schedule entry.
	DefaultRetryMaxAttempts = 8
	// DefaultRetryMaxAge: the schedule spans about 28 h; three days leave
	// room for a circuit that stayed open over a weekend before an event
	// is dead-lettered (and can be replayed from IDV_DLQ).
	DefaultRetryMaxAge = 72 * time.Hour
	// DefaultBreakerFailures in a row open a subscriber's circuit.
	DefaultBreakerFailures = 5
	// DefaultBreakerCooldown is how long an open circuit waits before a probe.
	DefaultBreakerCooldown = 30 * time.Second
)

// DefaultRetrySchedule is Svix's proven schedule after the first attempt:
// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (about 28 h in all), which rides
// out a deploy within minutes and an outage within a day.
func DefaultRetrySchedule() []time.Duration {
	return []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
}

// setDefaults fills what a source may leave out.
func (s *Source) setDefaults() {
	if s.DecisionPolicy == "" {
		s.DecisionPolicy = "vendor"
	}
}

// setDefaults fills what a subscriber may leave out.
func (s *Subscriber) setDefaults() {
	if s.Format == "" {
		s.Format = "structured"
	}
	s.Filter = s.Filter.Normalized()
	if s.Timeout == 0 {
		s.Timeout = DefaultSubscriberTimeout
	}
	if s.Concurrency == 0 {
		s.Concurrency = DefaultSubscriberConcurrency
	}
	if s.Start == "" {
		s.Start = "new"
	}
	if s.MaxAckPending == 0 {
		s.MaxAckPending = DefaultSubscriberMaxAckPending
	}
	if s.Retry.Schedule == nil {
		s.Retry.Schedule = DefaultRetrySchedule()
	}
	if s.Retry.Jitter == 0 {
		s.Retry.Jitter = DefaultRetryJitter
	}
	if s.Retry.MaxAttempts == 0 {
		s.Retry.MaxAttempts = DefaultRetryMaxAttempts
	}
	if s.Retry.MaxAge == 0 {
		s.Retry.MaxAge = DefaultRetryMaxAge
	}
	if s.Breaker.Failures == 0 {
		s.Breaker.Failures = DefaultBreakerFailures
	}
	if s.Breaker.Cooldown == 0 {
		s.Breaker.Cooldown = DefaultBreakerCooldown
	}
}

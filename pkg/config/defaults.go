package config

import "time"

// Defaults. Each value is part of the documented behaviour (README, CONTRACT.md).
const (
	// DefaultNATSURL is where the stand-alone services look for NATS when
	// nats.url is empty: the NATS default port on this machine, which is also
	// where `idvbus` exposes its embedded server.
	DefaultNATSURL = "nats://127.0.0.1:4222"
	// DefaultEmbeddedListen keeps the unauthenticated embedded server on loopback.
	DefaultEmbeddedListen = "127.0.0.1:4222"
	// DefaultMaxBodyBytes (1 MiB) fits every documented IDV webhook (they carry
	// ids and statuses, not document images) with a wide margin.
	DefaultMaxBodyBytes = 1 << 20
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
			Listen:       ":8080",
			MaxBodyBytes: DefaultMaxBodyBytes,
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
			AckWait:       30 * time.Second,
			MaxDeliveries: 10,
			// 1 s, 5 s, 30 s, 2 min, then every 5 min: rides out a NATS
			// restart quickly; ten deliveries span about 30 min, well inside
			// the default 1 h duplicate window.
			Backoff:         []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 5 * time.Minute},
			ShutdownTimeout: 20 * time.Second,
			PinnedTTL:       30 * time.Second,
		},
		Log: Log{Level: "info", Format: "json"},
	}
}

// setSourceDefaults fills what a source may leave out.
func (s *Source) setDefaults() {
	if s.DecisionPolicy == "" {
		s.DecisionPolicy = "vendor"
	}
}

// setSubscriberDefaults fills what a subscriber may leave out.
func (s *Subscriber) setDefaults() {
	if s.Format == "" {
		s.Format = "structured"
	}
	if s.Filter.Statuses == nil && len(s.Filter.Types) == 0 && len(s.Filter.Checks) == 0 {
		s.Filter.Statuses = []string{"approved", "declined", "needs_review"}
	}
}

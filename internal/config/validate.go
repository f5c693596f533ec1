package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/idvbus/idvbus/internal/vendors"
	"github.com/idvbus/idvbus/internal/vendors/report"
	"github.com/idvbus/idvbus/internal/webhookauth"
	"github.com/idvbus/idvbus/sdk/idv"
)

// NamePattern is what a source or subscriber name must match: it appears in
// URLs, NATS subjects and consumer names, which allow no dots, spaces or wildcards.
var NamePattern = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// MaxBodyLimit caps ingest.max_body_bytes: JetStream advises against messages
// above 8 MB, and no IDV webhook comes near it.
const MaxBodyLimit = 8 << 20

// Subscriber limits.
const (
	// MinSubscriberSecretBytes: the Standard Webhooks spec asks for secrets of
	// 24 to 64 random bytes; a shorter HMAC key is easier to guess.
	MinSubscriberSecretBytes = 24
	MaxSubscriberSecretBytes = 64
	// MinSubscriberTimeout and MaxSubscriberTimeout bound one attempt: below
	// 1 s a healthy receiver behind TLS times out; above 5 min a hung one
	// holds a delivery slot for longer than any receiver should take.
	MinSubscriberTimeout = time.Second
	MaxSubscriberTimeout = 5 * time.Minute
	// MaxSubscriberConcurrency caps the requests in flight to one subscriber
	// per process: more is a flood of connections, not throughput.
	MaxSubscriberConcurrency = 1024
	// MaxSubscriberMaxAckPending caps the events JetStream tracks as pending
	// for one consumer; a larger value is most likely a typo, and each pending
	// event costs server memory.
	MaxSubscriberMaxAckPending = 1_000_000
	// MinBreakerCooldown keeps an open circuit from probing a failing
	// subscriber in a tight loop.
	MinBreakerCooldown = 100 * time.Millisecond
)

type durationField struct {
	name string
	d    time.Duration
}

// problems collects one line per invalid field.
type problems []string

func (p *problems) add(field, format string, args ...any) {
	*p = append(*p, field+": "+fmt.Sprintf(format, args...))
}

// Validate reports every invalid setting, one line each ("field: problem"),
// joined with newlines; nil when the config can be used.
func (c Config) Validate() error {
	var p problems
	c.NATS.validate(&p)
	c.JetStream.validate(&p)
	c.Ingest.validate(&p)
	c.Normalizer.validate(c.JetStream.DuplicateWindow, &p)
	c.Notifier.validate(&p)
	c.Log.validate(&p)
	c.Tracing.validate(&p)
	names := itemNames{kind: "source", list: "sources"}
	for i, s := range c.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		names.check(field, s.Name, &p)
		s.validate(field, &p)
	}
	names = itemNames{kind: "subscriber", list: "subscribers"}
	for i, s := range c.Subscribers {
		field := fmt.Sprintf("subscribers[%d]", i)
		names.check(field, s.Name, &p)
		s.validate(field, c.JetStream.EventsMaxAge, &p)
	}
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "\n"))
}

// itemNames finds names of one list (sources or subscribers) that are used
// twice, or that differ but share their IDVBUS_ variables: "id-wise" and
// "id_wise" would both be set by IDVBUS_SOURCES_ID_WISE_..., so an override
// meant for one would silently change both.
type itemNames struct {
	kind, list string
	seen       map[string]string // envItemName → the first name that has it
}

func (n *itemNames) check(field, name string, p *problems) {
	if name == "" {
		return
	}
	if n.seen == nil {
		n.seen = map[string]string{}
	}
	key := envItemName(name)
	switch first, ok := n.seen[key]; {
	case !ok:
		n.seen[key] = name
	case first == name:
		p.add(field+".name", "%q is used by another %s", name, n.kind)
	default:
		p.add(field+".name", "%q and %s %q share their environment variables (%s%s_%s_...): rename one",
			name, n.kind, first, EnvPrefix, strings.ToUpper(n.list), key)
	}
}

func (n NATS) validate(p *problems) {
	for _, u := range splitURLs(n.URL) {
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" {
			p.add("nats.url", "%q is not a URL such as nats://host:4222", redactURLs(u))
			continue
		}
		switch pu.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			p.add("nats.url", "scheme %q is not one of nats, tls, ws, wss", pu.Scheme)
		}
	}
	if n.User != "" && n.Password == "" {
		p.add("nats.password", "required with nats.user")
	}
	if n.Password != "" && n.User == "" {
		p.add("nats.user", "required with nats.password")
	}
	methods := 0
	for _, set := range []bool{n.User != "", n.Token != "", n.NkeySeedFile != "", n.CredsFile != ""} {
		if set {
			methods++
		}
	}
	if methods > 1 {
		p.add("nats", "set only one of user/password, token, nkey_seed_file, creds_file")
	}
	checkFile(p, "nats.nkey_seed_file", n.NkeySeedFile)
	checkFile(p, "nats.creds_file", n.CredsFile)
	checkFile(p, "nats.tls.ca_file", n.TLS.CAFile)
	checkFile(p, "nats.tls.cert_file", n.TLS.CertFile)
	checkFile(p, "nats.tls.key_file", n.TLS.KeyFile)
	if (n.TLS.CertFile == "") != (n.TLS.KeyFile == "") {
		p.add("nats.tls", "cert_file and key_file go together")
	}
	if n.ConnectTimeout <= 0 {
		p.add("nats.connect_timeout", "must be positive")
	}
	if n.URL == "" {
		if _, _, err := net.SplitHostPort(n.Embedded.Listen); err != nil {
			p.add("nats.embedded.listen", "%q is not host:port", n.Embedded.Listen)
		}
		if n.Embedded.MonitorListen != "" {
			if _, _, err := net.SplitHostPort(n.Embedded.MonitorListen); err != nil {
				p.add("nats.embedded.monitor_listen", "%q is not host:port", n.Embedded.MonitorListen)
			}
		}
		if n.Embedded.StoreDir == "" {
			p.add("nats.embedded.store_dir", "must not be empty")
		}
		if n.Embedded.MaxMemory < 0 || n.Embedded.MaxStore < 0 {
			p.add("nats.embedded", "max_memory and max_store must not be negative")
		}
	}
}

// splitURLs splits a comma-separated server list.
func splitURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func checkFile(p *problems, field, path string) {
	if path == "" {
		return
	}
	if _, err := os.Stat(path); err != nil {
		p.add(field, "cannot read %q: %v", path, errors.Unwrap(err))
	}
}

func (j JetStream) validate(p *problems) {
	if j.Replicas < 1 || j.Replicas > 5 {
		p.add("jetstream.replicas", "%d is not between 1 and 5", j.Replicas)
	}
	if j.Storage != "file" && j.Storage != "memory" {
		p.add("jetstream.storage", "%q is not one of file, memory", j.Storage)
	}
	for _, f := range []durationField{
		{"jetstream.raw_max_age", j.RawMaxAge}, {"jetstream.events_max_age", j.EventsMaxAge},
		{"jetstream.dlq_max_age", j.DLQMaxAge},
	} {
		if f.d < 0 {
			p.add(f.name, "must not be negative (0 keeps messages forever)")
		}
	}
	if j.DuplicateWindow <= 0 {
		p.add("jetstream.duplicate_window", "must be positive")
	}
	if j.RawMaxAge > 0 && j.DuplicateWindow > j.RawMaxAge {
		p.add("jetstream.duplicate_window", "%s is longer than jetstream.raw_max_age %s", j.DuplicateWindow, j.RawMaxAge)
	}
}

func (in Ingest) validate(p *problems) {
	if _, _, err := net.SplitHostPort(in.Listen); err != nil {
		p.add("ingest.listen", "%q is not host:port (e.g. :8080)", in.Listen)
	}
	if _, _, err := net.SplitHostPort(in.OpsListen); err != nil {
		p.add("ingest.ops_listen", "%q is not host:port (e.g. 127.0.0.1:8084)", in.OpsListen)
	} else if in.OpsListen == in.Listen {
		p.add("ingest.ops_listen", "%q is ingest.listen too: the webhook port must not serve /metrics", in.OpsListen)
	}
	if in.MaxBodyBytes <= 0 || in.MaxBodyBytes > MaxBodyLimit {
		p.add("ingest.max_body_bytes", "%d is not between 1 and %d", in.MaxBodyBytes, MaxBodyLimit)
	}
	// A budget below max_body_bytes would refuse the largest allowed body forever.
	if in.MaxInflightBodyBytes < in.MaxBodyBytes {
		p.add("ingest.max_inflight_body_bytes", "%d is less than ingest.max_body_bytes %d", in.MaxInflightBodyBytes, in.MaxBodyBytes)
	}
	if in.MaxInflightBodyBytesPerIP < in.MaxBodyBytes || in.MaxInflightBodyBytesPerIP > in.MaxInflightBodyBytes {
		p.add("ingest.max_inflight_body_bytes_per_ip", "%d is not between ingest.max_body_bytes %d and ingest.max_inflight_body_bytes %d",
			in.MaxInflightBodyBytesPerIP, in.MaxBodyBytes, in.MaxInflightBodyBytes)
	}
	for _, f := range []durationField{
		{"ingest.read_header_timeout", in.ReadHeaderTimeout}, {"ingest.read_timeout", in.ReadTimeout},
		{"ingest.write_timeout", in.WriteTimeout}, {"ingest.idle_timeout", in.IdleTimeout},
		{"ingest.publish_timeout", in.PublishTimeout}, {"ingest.retry_after", in.RetryAfter},
		{"ingest.shutdown_timeout", in.ShutdownTimeout},
	} {
		if f.d <= 0 {
			p.add(f.name, "must be positive")
		}
	}
	if in.WriteTimeout > 0 && in.PublishTimeout >= in.WriteTimeout {
		p.add("ingest.publish_timeout", "%s must be shorter than ingest.write_timeout %s, or the vendor never sees the 503", in.PublishTimeout, in.WriteTimeout)
	}
	for i, c := range in.TrustedProxies {
		if _, err := webhookauth.ParseAllowIPs([]string{c}); err != nil {
			p.add(fmt.Sprintf("ingest.trusted_proxies[%d]", i), "%q is not an IP or CIDR", c)
		}
	}
}

func (n Normalizer) validate(dupWindow time.Duration, p *problems) {
	if n.Listen == "" {
		p.add("normalizer.listen", "must be set")
	}
	if n.Workers < 1 || n.Workers > 4096 {
		p.add("normalizer.workers", "%d is not between 1 and 4096", n.Workers)
	}
	if n.MaxAckPending < 1 {
		p.add("normalizer.max_ack_pending", "must be at least 1")
	}
	if n.AckWait < time.Second {
		p.add("normalizer.ack_wait", "%s is shorter than 1s", n.AckWait)
	}
	if n.MaxDeliveries < 1 {
		p.add("normalizer.max_deliveries", "must be at least 1")
	}
	if len(n.Backoff) == 0 {
		p.add("normalizer.backoff", "at least one delay is required")
	}
	var total time.Duration
	for i := 1; i < n.MaxDeliveries && len(n.Backoff) > 0; i++ {
		total += n.Backoff[min(i, len(n.Backoff))-1]
	}
	for i, d := range n.Backoff {
		if d <= 0 {
			p.add(fmt.Sprintf("normalizer.backoff[%d]", i), "must be positive")
		}
	}
	if dupWindow > 0 && total >= dupWindow {
		p.add("normalizer.backoff", "%d deliveries span %s, not less than jetstream.duplicate_window %s", n.MaxDeliveries, total, dupWindow)
	}
	if n.ShutdownTimeout <= 0 {
		p.add("normalizer.shutdown_timeout", "must be positive")
	}
	if n.PinnedTTL < time.Second {
		p.add("normalizer.pinned_ttl", "%s is shorter than 1s", n.PinnedTTL)
	}
}

func (n Notifier) validate(p *problems) {
	if n.Listen == "" {
		p.add("notifier.listen", "must be set")
	}
	if n.AckWait < time.Second {
		p.add("notifier.ack_wait", "%s is shorter than 1s", n.AckWait)
	}
	if n.ShutdownTimeout <= 0 {
		p.add("notifier.shutdown_timeout", "must be positive")
	}
}

func (l Log) validate(p *problems) {
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		p.add("log.level", "%q is not one of debug, info, warn, error", l.Level)
	}
	if l.Format != "json" && l.Format != "console" {
		p.add("log.format", "%q is not one of json, console", l.Format)
	}
}

func (s Source) validate(field string, p *problems) {
	if !NamePattern.MatchString(s.Name) {
		p.add(field+".name", "%q must match %s", s.Name, NamePattern)
	}
	if _, ok := vendors.Lookup(s.Vendor); !ok {
		p.add(field+".vendor", "%q is not one of %s", s.Vendor, strings.Join(vendors.Names(), ", "))
	}
	if s.DecisionPolicy != "vendor" && s.DecisionPolicy != "auto" {
		p.add(field+".decision_policy", "%q is not one of vendor, auto", s.DecisionPolicy)
	}
	if opts, err := s.ParserOptions(); err != nil {
		p.add(field+".results", "%v", err)
	} else if _, err := vendors.NewParser(s.Vendor, opts); err != nil && !errors.Is(err, report.ErrNoParser) {
		p.add(field+".results", "%v", err)
	}
	if _, err := webhookauth.New(s.Auth, s.AllowUnauthenticated); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			*p = append(*p, field+".auth."+line)
		}
	}
}

// validate checks a subscriber whose defaults are applied. eventsMaxAge is
// jetstream.events_max_age: retries must end before their event leaves IDV_EVENTS.
func (s Subscriber) validate(field string, eventsMaxAge time.Duration, p *problems) {
	if !NamePattern.MatchString(s.Name) {
		p.add(field+".name", "%q must match %s", s.Name, NamePattern)
	}
	if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add(field+".url", "%q is not an http(s) URL", s.URL)
	}
	if len(s.Secrets) == 0 {
		p.add(field+".secrets", "at least one secret is required")
	}
	for i, sec := range s.Secrets {
		// Never quote the secret: this line ends up in logs.
		f := fmt.Sprintf("%s.secrets[%d]", field, i)
		if !strings.HasPrefix(sec, "whsec_") || len(sec) <= len("whsec_") {
			p.add(f, "must be a Standard Webhooks secret whsec_<base64>")
		} else if key, err := webhookauth.DecodeStandardSecret(sec); err != nil {
			p.add(f, "must be a Standard Webhooks secret whsec_<base64>: the part after whsec_ is not padded standard base64 (what Standard Webhooks libraries accept)")
		} else if len(key) < MinSubscriberSecretBytes || len(key) > MaxSubscriberSecretBytes {
			p.add(f, "decodes to %d bytes; Standard Webhooks secrets have %d to %d (e.g. whsec_ followed by the output of openssl rand -base64 32)", len(key), MinSubscriberSecretBytes, MaxSubscriberSecretBytes)
		}
	}
	s.validateFilter(field+".filter", p)
	if s.Format != "structured" && s.Format != "binary" {
		p.add(field+".format", "%q is not one of structured, binary", s.Format)
	}
	if s.Timeout < MinSubscriberTimeout || s.Timeout > MaxSubscriberTimeout {
		p.add(field+".timeout", "%s is not between %s and %s", s.Timeout, MinSubscriberTimeout, MaxSubscriberTimeout)
	}
	if s.Concurrency < 1 || s.Concurrency > MaxSubscriberConcurrency {
		p.add(field+".concurrency", "%d is not between 1 and %d", s.Concurrency, MaxSubscriberConcurrency)
	}
	switch {
	case s.MaxAckPending < s.Concurrency:
		p.add(field+".max_ack_pending", "%d is less than concurrency %d", s.MaxAckPending, s.Concurrency)
	case s.MaxAckPending > MaxSubscriberMaxAckPending:
		p.add(field+".max_ack_pending", "%d is more than %d", s.MaxAckPending, MaxSubscriberMaxAckPending)
	}
	if _, err := s.RateLimit(); err != nil {
		p.add(field+".rate", "%v", err)
	}
	if _, _, err := s.StartAt(); err != nil {
		p.add(field+".start", "%v", err)
	}
	s.Retry.validate(field+".retry", eventsMaxAge, p)
	if s.Breaker.Failures > 0 && s.Breaker.Cooldown < MinBreakerCooldown {
		p.add(field+".breaker.cooldown", "%s is shorter than %s", s.Breaker.Cooldown, MinBreakerCooldown)
	}
}

// validateFilter reports the filter's own problems (see [idv.Filter.Validate])
// and vendors that are not registered.
func (s Subscriber) validateFilter(field string, p *problems) {
	if err := s.Filter.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			*p = append(*p, field+"."+line)
		}
	}
	for _, v := range s.Filter.Vendors {
		// Names that cannot be a vendor name were reported above.
		if _, ok := vendors.Lookup(v); !ok && NamePattern.MatchString(v) {
			p.add(field+".vendors", "%q is not one of %s", v, strings.Join(vendors.Names(), ", "))
		}
	}
}

func (r Retry) validate(field string, eventsMaxAge time.Duration, p *problems) {
	if len(r.Schedule) == 0 {
		p.add(field+".schedule", "at least one delay is required")
	}
	for i, d := range r.Schedule {
		if d <= 0 {
			p.add(fmt.Sprintf("%s.schedule[%d]", field, i), "must be positive")
		}
	}
	switch {
	case math.IsNaN(r.Jitter):
		p.add(field+".jitter", "must be a number")
	case r.Jitter > 1:
		p.add(field+".jitter", "%g is more than 1 (a negative value turns jitter off)", r.Jitter)
	}
	if r.MaxAttempts < 1 {
		p.add(field+".max_attempts", "must be at least 1")
	}
	switch {
	case r.MaxAge <= 0:
		p.add(field+".max_age", "must be positive")
	case eventsMaxAge > 0 && r.MaxAge > eventsMaxAge:
		p.add(field+".max_age", "%s is longer than jetstream.events_max_age %s: events would leave the stream before their retries end", r.MaxAge, eventsMaxAge)
	}
}

// warnings lists legal but risky settings, for a log line at start.
func (c Config) warnings() []string {
	var w []string
	for _, s := range c.Sources {
		if _, err := vendors.NewParser(s.Vendor, report.Options{}); errors.Is(err, report.ErrNoParser) {
			w = append(w, fmt.Sprintf("source %q: vendor %s has no normalizer yet; its webhooks are stored and dead-lettered (IDV_DLQ)", s.Name, s.Vendor))
		}
		if s.Auth.Type == webhookauth.TypeNone {
			w = append(w, fmt.Sprintf("source %q accepts unauthenticated webhooks (auth.type none)", s.Name))
		}
	}
	if c.NATS.URL == "" {
		if host, _, err := net.SplitHostPort(c.NATS.Embedded.Listen); err == nil {
			if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
				w = append(w, fmt.Sprintf("the embedded NATS server listens on %s without authentication", c.NATS.Embedded.Listen))
			}
		}
	}
	if c.JetStream.Storage == "memory" {
		w = append(w, "jetstream.storage is memory: a restart of NATS loses every stored webhook")
	}
	return w
}

// ParserOptions returns the source's vendor parser options.
func (s Source) ParserOptions() (report.Options, error) {
	if len(s.Results) == 0 {
		return report.Options{}, nil
	}
	opts := report.Options{Results: make(map[string]map[string]idv.Result, len(s.Results))}
	for check, table := range s.Results {
		m := make(map[string]idv.Result, len(table))
		for code, r := range table {
			if !idv.Result(r).Valid() {
				return report.Options{}, fmt.Errorf("%s: %q is not a result (%v)", check, r, idv.Results())
			}
			m[code] = idv.Result(r)
		}
		opts.Results[check] = m
	}
	return opts, nil
}

// Services names the services one process runs, for the checks that only
// they need (see [Config.ValidateServices]).
type Services struct{ Ingest, Normalizer, Notifier bool }

// AllServices is what the all-in-one idvbus runs.
var AllServices = Services{Ingest: true, Normalizer: true, Notifier: true}

// ValidateServices reports what a valid config lacks for the services s, one
// line per problem: ingest needs at least one source (a file with none is
// valid for a normalizer or a notifier alone). Every start runs it after
// [Config.Validate], and so does --check-config.
func (c Config) ValidateServices(s Services) error {
	var p problems
	if s.Ingest && len(c.Sources) == 0 {
		p.add("sources", "at least one source is required to receive webhooks (see the README, Configuration)")
	}
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "\n"))
}

package config_test

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/config"
	"github.com/idvbus/idvbus/internal/webhookauth"
	"github.com/idvbus/idvbus/sdk/idv"
)

// testSecret is a valid Standard Webhooks secret of 32 bytes (0x00..0x1f).
const testSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// subscriberYAML is a config with one valid subscriber "onboarding" whose
// flow mapping ends with extra (", key: value..."), after top (other
// sections). The subscriber has testSecret unless extra sets secrets.
func subscriberYAML(top, extra string) string {
	if !strings.Contains(extra, "secrets:") {
		extra = ", secrets: [" + testSecret + "]" + extra
	}
	return top + "\nsubscribers:\n  - {name: onboarding, url: 'http://127.0.0.1:9000/idv'" + extra + "}\n"
}

func TestTestSecretsHaveTheRightLength(t *testing.T) {
	for secret, want := range map[string]int{testSecret: 32, contractEnv["ONBOARDING_WHSEC"]: 24} {
		if k, err := webhookauth.DecodeStandardSecret(secret); err != nil || len(k) != want {
			t.Errorf("%s decodes to %d bytes (%v), want %d", secret, len(k), err, want)
		}
	}
}

func TestNotifierAndSubscriberDefaults(t *testing.T) {
	cfg, warnings, err := load(t, subscriberYAML("", ""), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q", warnings)
	}
	if n := cfg.Notifier; n.Listen != ":8082" || n.AckWait != 5*time.Second || n.ShutdownTimeout != 20*time.Second {
		t.Errorf("notifier defaults: %+v", n)
	}
	want := config.Subscriber{
		Name:          "onboarding",
		URL:           "http://127.0.0.1:9000/idv",
		Secrets:       []string{testSecret},
		Filter:        config.SubscriberFilter{Statuses: []idv.Status{"approved", "declined", "needs_review"}},
		Format:        "structured",
		Timeout:       15 * time.Second,
		Concurrency:   8,
		Start:         "new",
		MaxAckPending: 10000,
		Retry: config.Retry{
			Schedule:    config.DefaultRetrySchedule(),
			Jitter:      0.2,
			MaxAttempts: 8,
			MaxAge:      72 * time.Hour,
		},
		Breaker: config.CircuitBreaker{Failures: 5, Cooldown: 30 * time.Second},
	}
	if got := cfg.Subscribers[0]; !reflect.DeepEqual(got, want) {
		t.Errorf("subscriber defaults:\n got %+v\nwant %+v", got, want)
	}
	// The default schedule is the one documented: 7 retries after the first
	// attempt, so max_attempts 8 uses all of it, and it ends within max_age.
	var total time.Duration
	for _, d := range config.DefaultRetrySchedule() {
		total += d
	}
	if n := len(config.DefaultRetrySchedule()); n+1 != config.DefaultRetryMaxAttempts {
		t.Errorf("schedule has %d delays, max_attempts %d", n, config.DefaultRetryMaxAttempts)
	}
	if maxSpan := time.Duration(float64(total) * (1 + config.DefaultRetryJitter)); maxSpan >= config.DefaultRetryMaxAge {
		t.Errorf("schedule with jitter spans up to %s, not within max_age %s", maxSpan, config.DefaultRetryMaxAge)
	}
	deliverNew, at, err := cfg.Subscribers[0].StartAt()
	if err != nil || !deliverNew || !at.IsZero() {
		t.Errorf("StartAt() = %v, %v, %v", deliverNew, at, err)
	}
	if r, err := cfg.Subscribers[0].RateLimit(); err != nil || r != 0 {
		t.Errorf("RateLimit() = %v, %v; want no limit", r, err)
	}
}

// TestSubscriberSettingsKept: values given in the file are not replaced by
// defaults, including the ones that turn a feature off.
func TestSubscriberSettingsKept(t *testing.T) {
	cfg, _, err := load(t, subscriberYAML("jetstream: {events_max_age: 0s}", `, format: binary, timeout: 5m, concurrency: 1, max_ack_pending: 1,
      rate: 600/m, start: '2025-01-31T00:00:00Z', filter: {vendors: [persona, idwise, persona], checks: [document]},
      retry: {schedule: [1s], jitter: -1, max_attempts: 1, max_age: 10000h}, breaker: {failures: -1, cooldown: 1ms}`), config.Env{})
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Subscribers[0]
	want := config.Subscriber{
		Name: "onboarding", URL: "http://127.0.0.1:9000/idv", Secrets: []string{testSecret},
		Filter:  config.SubscriberFilter{Vendors: []string{"idwise", "persona"}, Checks: []idv.Check{"document"}},
		Format:  "binary",
		Timeout: 5 * time.Minute, Concurrency: 1, MaxAckPending: 1, Rate: "600/m", Start: "2025-01-31T00:00:00Z",
		Retry:   config.Retry{Schedule: []time.Duration{time.Second}, Jitter: -1, MaxAttempts: 1, MaxAge: 10000 * time.Hour},
		Breaker: config.CircuitBreaker{Failures: -1, Cooldown: time.Millisecond},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("subscriber:\n got %+v\nwant %+v", s, want)
	}
	if got := s.Filter.Subjects(); !reflect.DeepEqual(got, []string{"idv.events.idwise.check.document", "idv.events.persona.check.document"}) {
		t.Errorf("subjects %q", got)
	}
}

// TestSubscriberValidationErrors: each invalid setting gives exactly one line,
// naming the field.
func TestSubscriberValidationErrors(t *testing.T) {
	const (
		short16 = "AAECAwQFBgcICQoLDA0ODw=="         // 16 bytes
		short23 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRY=" // 23 bytes
	)
	cases := []struct {
		name, top, extra, want string
	}{
		{"notifier listen", "notifier: {listen: ''}", "", "notifier.listen: must be set"},
		{"notifier ack wait", "notifier: {ack_wait: 500ms}", "", "notifier.ack_wait: 500ms is shorter than 1s"},
		{"notifier shutdown", "notifier: {shutdown_timeout: 0s}", "", "notifier.shutdown_timeout: must be positive"},

		{"secret without prefix", "", ", secrets: [plain]", "subscribers[0].secrets[0]: must be a Standard Webhooks secret whsec_<base64>"},
		{"secret not base64", "", ", secrets: ['whsec_not*base64!']",
			"subscribers[0].secrets[0]: must be a Standard Webhooks secret whsec_<base64>: the part after whsec_ is not padded standard base64 (what Standard Webhooks libraries accept)"},
		{"unpadded secret", "", ", secrets: [whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8]",
			"subscribers[0].secrets[0]: must be a Standard Webhooks secret whsec_<base64>: the part after whsec_ is not padded standard base64 (what Standard Webhooks libraries accept)"},
		{"url-safe secret", "", ", secrets: [whsec_-__7__v_-__7__v_-__7__v_-__7__v__v7-_v7-_v4=]",
			"subscribers[0].secrets[0]: must be a Standard Webhooks secret whsec_<base64>: the part after whsec_ is not padded standard base64 (what Standard Webhooks libraries accept)"},
		{"secret of 65 bytes", "", ", secrets: [whsec_" + strings.Repeat("AAAA", 21) + "AAA=]",
			"subscribers[0].secrets[0]: decodes to 65 bytes; Standard Webhooks secrets have 24 to 64 (e.g. whsec_ followed by the output of openssl rand -base64 32)"},
		{"secret of 16 bytes", "", ", secrets: [whsec_" + short16 + "]",
			"subscribers[0].secrets[0]: decodes to 16 bytes; Standard Webhooks secrets have 24 to 64 (e.g. whsec_ followed by the output of openssl rand -base64 32)"},
		{"secret of 23 bytes", "", ", secrets: [" + testSecret + ", whsec_" + short23 + "]",
			"subscribers[0].secrets[1]: decodes to 23 bytes; Standard Webhooks secrets have 24 to 64 (e.g. whsec_ followed by the output of openssl rand -base64 32)"},
		{"no secrets", "", ", secrets: []", "subscribers[0].secrets: at least one secret is required"},

		{"filter status", "", ", filter: {statuses: [approvd]}",
			`subscribers[0].filter.statuses: "approvd" is not a status ([created in_progress submitted passed failed resubmission_requested needs_review approved declined expired abandoned])`},
		{"filter check", "", ", filter: {checks: [retina]}",
			`subscribers[0].filter.checks: "retina" is not a check ([document selfie liveness face_match name_check database watchlist pep adverse_media address government_validation right_to_work right_to_rent share_code supporting_document safe_harbour aml_monitoring other])`},
		{"filter type", "", ", filter: {types: [verification]}",
			`subscribers[0].filter.types: "verification" is not one of io.idvbus.verification.updated.v1, io.idvbus.check.completed.v1`},
		{"filter statuses without their type", "", ", filter: {types: [io.idvbus.check.completed.v1], statuses: [approved]}",
			"subscribers[0].filter.statuses: has no effect: types does not include io.idvbus.verification.updated.v1"},
		{"filter checks without their type", "", ", filter: {types: [io.idvbus.verification.updated.v1], checks: [document]}",
			"subscribers[0].filter.checks: has no effect: types does not include io.idvbus.check.completed.v1"},
		{"filter unknown vendor", "", ", filter: {vendors: [acme]}",
			`subscribers[0].filter.vendors: "acme" is not one of credas, idwise, incode, persona, stripe, sumsub`},
		{"filter vendor that is no name", "", ", filter: {vendors: [Persona]}",
			`subscribers[0].filter.vendors: "Persona" is not a vendor name`},

		{"format", "", ", format: xml", `subscribers[0].format: "xml" is not one of structured, binary`},
		{"timeout too short", "", ", timeout: 500ms", "subscribers[0].timeout: 500ms is not between 1s and 5m0s"},
		{"timeout too long", "", ", timeout: 6m", "subscribers[0].timeout: 6m0s is not between 1s and 5m0s"},
		{"negative timeout", "", ", timeout: -1s", "subscribers[0].timeout: -1s is not between 1s and 5m0s"},
		{"negative concurrency", "", ", concurrency: -1", "subscribers[0].concurrency: -1 is not between 1 and 1024"},
		{"concurrency too high", "", ", concurrency: 1025, max_ack_pending: 2000", "subscribers[0].concurrency: 1025 is not between 1 and 1024"},
		{"max ack pending below concurrency", "", ", concurrency: 16, max_ack_pending: 15", "subscribers[0].max_ack_pending: 15 is less than concurrency 16"},
		{"max ack pending too high", "", ", max_ack_pending: 1000001", "subscribers[0].max_ack_pending: 1000001 is more than 1000000"},
		{"rate", "", ", rate: fast",
			`subscribers[0].rate: "fast" is not a rate: use N/s, N/m (or N/min), N/h, a bare N per second, or 0 or empty for no limit`},
		{"negative rate", "", ", rate: -5/m",
			`subscribers[0].rate: "-5/m" is negative: use N/s, N/m (or N/min), N/h, a bare N per second, or 0 or empty for no limit`},
		{"rate unit", "", ", rate: 5/d",
			`subscribers[0].rate: "5/d" is not a rate: unit "d" is not s, m, min or h; use N/s, N/m (or N/min), N/h, a bare N per second, or 0 or empty for no limit`},
		{"start", "", ", start: yesterday",
			`subscribers[0].start: "yesterday" is not new, all or an RFC 3339 time such as 2025-01-31T00:00:00Z`},

		{"empty schedule", "", ", retry: {schedule: []}", "subscribers[0].retry.schedule: at least one delay is required"},
		{"zero delay", "", ", retry: {schedule: [1s, 0s]}", "subscribers[0].retry.schedule[1]: must be positive"},
		{"jitter", "", ", retry: {jitter: 1.5}", "subscribers[0].retry.jitter: 1.5 is more than 1 (a negative value turns jitter off)"},
		{"jitter nan", "", ", retry: {jitter: .nan}", "subscribers[0].retry.jitter: must be a number"},
		{"max attempts", "", ", retry: {max_attempts: -1}", "subscribers[0].retry.max_attempts: must be at least 1"},
		{"max age", "", ", retry: {max_age: -1h}", "subscribers[0].retry.max_age: must be positive"},
		{"max age beyond the events stream", "", ", retry: {max_age: 800h}",
			"subscribers[0].retry.max_age: 800h0m0s is longer than jetstream.events_max_age 720h0m0s: events would leave the stream before their retries end"},
		{"events stream shorter than the default max age", "jetstream: {events_max_age: 24h}", "",
			"subscribers[0].retry.max_age: 72h0m0s is longer than jetstream.events_max_age 24h0m0s: events would leave the stream before their retries end"},
		{"breaker cooldown", "", ", breaker: {cooldown: 10ms}", "subscribers[0].breaker.cooldown: 10ms is shorter than 100ms"},
		{"negative breaker cooldown", "", ", breaker: {failures: 3, cooldown: -1s}", "subscribers[0].breaker.cooldown: -1s is shorter than 100ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yaml := subscriberYAML(tc.top, tc.extra)
			_, _, err := load(t, yaml, config.Env{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if err.Error() != tc.want {
				t.Fatalf("error:\n%v\nwant exactly:\n%s", err, tc.want)
			}
			for _, secret := range []string{"not*base64", short16, short23} {
				if strings.Contains(yaml, secret) && strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes the secret")
				}
			}
		})
	}
}

// TestSubscriberEdgeValuesAreValid: the limits themselves, and the values
// that turn a feature off, are accepted.
func TestSubscriberEdgeValuesAreValid(t *testing.T) {
	for _, tc := range []struct{ name, top, extra string }{
		{"24-byte secret", "", ", secrets: [" + contractEnv["ONBOARDING_WHSEC"] + "]"},
		{"64-byte secret", "", ", secrets: [whsec_" + strings.Repeat("AAAA", 21) + "AA==]"},
		{"timeout limits", "", ", timeout: 1s"},
		{"timeout upper limit", "", ", timeout: 5m"},
		{"concurrency limits", "", ", concurrency: 1024, max_ack_pending: 1024"},
		{"max ack pending limit", "", ", max_ack_pending: 1000000"},
		{"jitter 1", "", ", retry: {jitter: 1}"},
		{"jitter off", "", ", retry: {jitter: -1}"},
		{"max age equal to the stream's", "jetstream: {events_max_age: 72h}", ""},
		{"events kept forever", "jetstream: {events_max_age: 0s}", ", retry: {max_age: 100000h}"},
		{"breaker off", "", ", breaker: {failures: -1, cooldown: 1ns}"},
		{"breaker cooldown limit", "", ", breaker: {cooldown: 100ms}"},
		{"fractional rate", "", ", rate: '0.5'"},
		{"start all", "", ", start: all"},
		{"start time", "", ", start: '2025-01-31T10:00:00+02:00'"},
		{"every event", "", ", filter: {types: [io.idvbus.verification.updated.v1, io.idvbus.check.completed.v1]}"},
		{"registered vendors", "", ", filter: {vendors: [credas, idwise, incode, persona, stripe, sumsub]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := load(t, subscriberYAML(tc.top, tc.extra), config.Env{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSubscriberProblemsAreSeparateLines(t *testing.T) {
	_, _, err := load(t, subscriberYAML("", ", timeout: 1h, rate: x, filter: {statuses: [a, b]}, retry: {max_attempts: -1}"), config.Env{})
	if err == nil {
		t.Fatal("want errors")
	}
	lines := strings.Split(err.Error(), "\n")
	want := []string{"subscribers[0].filter.statuses", "subscribers[0].filter.statuses", "subscribers[0].timeout",
		"subscribers[0].rate", "subscribers[0].retry.max_attempts"}
	if len(lines) != len(want) {
		t.Fatalf("want %d lines, got:\n%v", len(want), err)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]+": ") {
			t.Errorf("line %d = %q, want field %s", i, l, want[i])
		}
	}
}

func TestRateLimit(t *testing.T) {
	for _, tc := range []struct {
		rate string
		want float64
	}{
		{"", 0}, {"0", 0}, {"0.0", 0}, {" 0 ", 0},
		{"20", 20}, {"0.5", 0.5}, {"1e3", 1000},
		{"20/s", 20}, {"0.5/s", 0.5}, {"600/m", 10}, {"600/min", 10}, {"90/m", 1.5},
		{"3600/h", 1}, {"1/h", 1.0 / 3600}, {" 5 / s ", 5},
	} {
		got, err := config.Subscriber{Rate: tc.rate}.RateLimit()
		if err != nil || got != tc.want {
			t.Errorf("RateLimit(%q) = %v, %v; want %v", tc.rate, got, err, tc.want)
		}
	}
	for _, rate := range []string{"-1", "-0.5", "-5/m", "fast", "10/d", "10/sec", "10/", "/s", "0/s", "0/h",
		"NaN", "Inf", "+Inf/s", "1e400", "20 per second", "20/s/m", "s/20"} {
		got, err := config.Subscriber{Rate: rate}.RateLimit()
		if err == nil {
			t.Errorf("RateLimit(%q) = %v, want an error", rate, got)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "0 or empty for no limit") || !strings.Contains(msg, rate) {
			t.Errorf("RateLimit(%q) error %q does not name the rate and the accepted forms", rate, msg)
		}
		if got != 0 || math.IsNaN(got) {
			t.Errorf("RateLimit(%q) = %v with an error", rate, got)
		}
	}
}

func TestStartAt(t *testing.T) {
	jan31 := time.Date(2025, 1, 31, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		start      string
		deliverNew bool
		at         time.Time
	}{
		{"new", true, time.Time{}},
		{"", true, time.Time{}}, // the default, before defaults are applied
		{"all", false, time.Time{}},
		{"2025-01-31T08:00:00Z", false, jan31},
		{"2025-01-31T10:00:00+02:00", false, jan31},
		{"2025-01-31T08:00:00.5Z", false, jan31.Add(500 * time.Millisecond)},
	} {
		deliverNew, at, err := config.Subscriber{Start: tc.start}.StartAt()
		if err != nil || deliverNew != tc.deliverNew || !at.Equal(tc.at) {
			t.Errorf("StartAt(%q) = %v, %v, %v; want %v, %v", tc.start, deliverNew, at, err, tc.deliverNew, tc.at)
		}
	}
	for _, start := range []string{"New", "ALL", "everything", "2025-01-31", "2025-01-31 08:00:00Z", "1738310400", "2025-01-31T08:00:00"} {
		if deliverNew, at, err := (config.Subscriber{Start: start}).StartAt(); err == nil || deliverNew || !at.IsZero() {
			t.Errorf("StartAt(%q) = %v, %v, %v; want an error", start, deliverNew, at, err)
		}
	}
}

func TestNotifierEnvOverrides(t *testing.T) {
	yaml := subscriberYAML("", "") + "  - {name: kyc-ops, url: 'https://ops.example/hook', secrets: [" + testSecret + "]}\n"
	cfg, warnings, err := load(t, yaml, config.Env{
		"IDVBUS_NOTIFIER_LISTEN":                           "127.0.0.1:9999",
		"IDVBUS_NOTIFIER_ACK_WAIT":                         "1m",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_MAX_ATTEMPTS": "3",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_SCHEDULE":     "1s, 2s",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_JITTER":       "0.5",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_MAX_AGE":      "1h",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_FILTER_STATUSES":    "approved",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_FILTER_VENDORS":     "persona,idwise",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_RATE":               "10/s",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_BREAKER_FAILURES":   "-1",
		"IDVBUS_SUBSCRIBERS_ONBOARDING_SECRETS":            contractEnv["ONBOARDING_WHSEC"] + "," + testSecret,
		"IDVBUS_SUBSCRIBERS_KYC_OPS_CONCURRENCY":           "2",
		"IDVBUS_SUBSCRIBERS_KYC_OPS_FORMAT":                "binary",
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 0 {
		t.Errorf("warnings: %q (every variable names a setting)", warnings)
	}
	if cfg.Notifier.Listen != "127.0.0.1:9999" || cfg.Notifier.AckWait != time.Minute {
		t.Errorf("notifier: %+v", cfg.Notifier)
	}
	s := cfg.Subscribers[0]
	wantRetry := config.Retry{Schedule: []time.Duration{time.Second, 2 * time.Second}, Jitter: 0.5, MaxAttempts: 3, MaxAge: time.Hour}
	if !reflect.DeepEqual(s.Retry, wantRetry) {
		t.Errorf("retry = %+v, want %+v", s.Retry, wantRetry)
	}
	// The filter from the environment is normalized like one from the file.
	if want := (config.SubscriberFilter{Vendors: []string{"idwise", "persona"}, Statuses: []idv.Status{"approved"}}); !reflect.DeepEqual(s.Filter, want) {
		t.Errorf("filter = %+v, want %+v", s.Filter, want)
	}
	if s.Rate != "10/s" || s.Breaker.Failures != -1 || s.Breaker.Cooldown != 30*time.Second || len(s.Secrets) != 2 || s.Secrets[1] != testSecret {
		t.Errorf("subscriber: %+v", s)
	}
	if k := cfg.Subscribers[1]; k.Concurrency != 2 || k.Format != "binary" || k.Timeout != 15*time.Second {
		t.Errorf("kyc-ops (dash in the name): %+v", k)
	}
}

func TestNotifierEnvErrors(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_JITTER", "lots",
			`subscribers[0].retry.jitter (IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_JITTER): "lots" is not a number`},
		{"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_SCHEDULE", "1s,soon",
			`subscribers[0].retry.schedule (IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_SCHEDULE): time: invalid duration "soon"`},
		{"IDVBUS_SUBSCRIBERS_ONBOARDING_CONCURRENCY", "eight",
			`subscribers[0].concurrency (IDVBUS_SUBSCRIBERS_ONBOARDING_CONCURRENCY): "eight" is not an integer`},
		// Parsed, then refused by validation like the same value in the file.
		{"IDVBUS_SUBSCRIBERS_ONBOARDING_RETRY_JITTER", "2",
			"subscribers[0].retry.jitter: 2 is more than 1 (a negative value turns jitter off)"},
		{"IDVBUS_SUBSCRIBERS_ONBOARDING_FILTER_STATUSES", "approved,maybe",
			`subscribers[0].filter.statuses: "maybe" is not a status ([created in_progress submitted passed failed resubmission_requested needs_review approved declined expired abandoned])`},
	} {
		_, _, err := load(t, subscriberYAML("", ""), config.Env{tc.name: tc.value})
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s=%s: error\n%v\nwant\n%s", tc.name, tc.value, err, tc.want)
		}
	}
}

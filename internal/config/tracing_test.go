package config_test

import (
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
)

// TestTracingOffByDefault: no file, no variable: tracing is off, and the
// development setup leaves it off too.
func TestTracingOffByDefault(t *testing.T) {
	for _, cfg := range []config.Config{config.Default(), config.Development()} {
		if cfg.Tracing.Enabled() || cfg.Tracing.TracesURL() != "" || cfg.Tracing.SampleRatio != 1 {
			t.Fatalf("tracing %+v, want off with ratio 1", cfg.Tracing)
		}
	}
}

// TestTracingFromFileAndEnv: the keys read from YAML, `${VAR}` (the way to
// follow OTEL_EXPORTER_OTLP_ENDPOINT) and IDVBUS_TRACING_* variables.
func TestTracingFromFileAndEnv(t *testing.T) {
	cfg, err := config.Parse([]byte("tracing: {endpoint: \"${OTEL_EXPORTER_OTLP_ENDPOINT:-}\", sample_ratio: 0.25}\n"),
		config.Env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err = config.Finish(cfg, config.Env{"IDVBUS_TRACING_SERVICE_NAME": "kyc"})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Tracing{Endpoint: "http://otel-collector:4318", SampleRatio: 0.25, ServiceName: "kyc"}
	if cfg.Tracing != want || cfg.Tracing.TracesURL() != "http://otel-collector:4318/v1/traces" {
		t.Fatalf("tracing %+v (%s)", cfg.Tracing, cfg.Tracing.TracesURL())
	}
	// The standard variable alone turns nothing on.
	cfg, _, err = config.Finish(config.Default(), config.Env{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel-collector:4318"})
	if err != nil || cfg.Tracing.Enabled() {
		t.Fatalf("tracing %+v, err %v: OTEL_EXPORTER_OTLP_ENDPOINT alone must not turn tracing on", cfg.Tracing, err)
	}
	cfg, _, err = config.Finish(config.Default(), config.Env{"IDVBUS_TRACING_ENDPOINT": "https://collector.internal:4318/otlp",
		"IDVBUS_TRACING_SAMPLE_RATIO": "0"})
	if err != nil || cfg.Tracing.TracesURL() != "https://collector.internal:4318/otlp/v1/traces" || cfg.Tracing.SampleRatio != 0 {
		t.Fatalf("tracing %+v, err %v", cfg.Tracing, err)
	}
}

func TestTracingValidation(t *testing.T) {
	cases := []struct {
		env  config.Env
		want string // "" = valid
	}{
		{config.Env{"IDVBUS_TRACING_ENDPOINT": "http://127.0.0.1:4318"}, ""},
		{config.Env{"IDVBUS_TRACING_SAMPLE_RATIO": "1"}, ""},
		{config.Env{"IDVBUS_TRACING_ENDPOINT": "otel-collector:4318"}, "tracing.endpoint: \"otel-collector:4318\" is not an http(s) URL"},
		{config.Env{"IDVBUS_TRACING_ENDPOINT": "grpc://otel-collector:4317"}, "tracing.endpoint"},
		{config.Env{"IDVBUS_TRACING_ENDPOINT": "http://"}, "tracing.endpoint"},
		{config.Env{"IDVBUS_TRACING_ENDPOINT": "http://user:s3cret@otel:4318"}, "tracing.endpoint: must not carry credentials"},
		{config.Env{"IDVBUS_TRACING_ENDPOINT": "http://otel:4318?x=1"}, "tracing.endpoint: must have no query"},
		{config.Env{"IDVBUS_TRACING_SAMPLE_RATIO": "1.5"}, "tracing.sample_ratio: 1.5 is not between 0 and 1"},
		{config.Env{"IDVBUS_TRACING_SAMPLE_RATIO": "-0.1"}, "tracing.sample_ratio"},
		{config.Env{"IDVBUS_TRACING_SAMPLE_RATIO": "NaN"}, "tracing.sample_ratio"},
		{config.Env{"IDVBUS_TRACING_SERVICE_NAME": strings.Repeat("x", 129)}, "tracing.service_name"},
	}
	for _, tc := range cases {
		_, _, err := config.Finish(config.Development(), tc.env)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v: error %v, want %q", tc.env, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("the error shows the credential: %v", err)
		}
	}
}

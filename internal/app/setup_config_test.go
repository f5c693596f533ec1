package app_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
)

// writeConfig writes a config file and returns its path.
func writeConfig(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "idvbus.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const oneSource = "ingest: {listen: '127.0.0.1:18310'}\nsources: [{name: p, vendor: persona, auth: {type: persona, secrets: [s]}}]\n"

// An empty file passed --check-config, then the start failed ("no sources
// configured", with a stack trace): the check and the start now refuse it
// alike, for the binaries that run ingest, with the same lines.
func TestCheckConfigRefusesWhatAStartRefuses(t *testing.T) {
	t.Setenv("IDVBUS_CONFIG", "")
	empty := writeConfig(t, "")
	for _, tc := range []struct {
		services config.Services
		refused  bool
	}{
		{config.Services{Ingest: true}, true},
		{config.AllServices, true},
		{config.Services{Normalizer: true}, false},
		{config.Services{Notifier: true}, false},
	} {
		var check, start bytes.Buffer
		_, checkErr := app.Setup(app.Command{Name: "svc", Services: tc.services, AllowDev: false}, []string{"--config", empty, "--check-config"}, io.Discard, &check)
		st, startErr := app.Setup(app.Command{Name: "svc", Services: tc.services, AllowDev: false}, []string{"--config", empty}, io.Discard, &start)
		if !tc.refused {
			if app.ExitCode(checkErr) != 0 || startErr != nil {
				t.Errorf("%+v: an empty file is enough: check %v, start %v\n%s%s", tc.services, checkErr, startErr, check.String(), start.String())
			}
			_ = st.Log.Sync()
			continue
		}
		want := "svc: config: config " + empty + ": sources: at least one source is required"
		if app.ExitCode(checkErr) != 2 || app.ExitCode(startErr) != 2 {
			t.Errorf("%+v: exit codes check %d, start %d, want 2", tc.services, app.ExitCode(checkErr), app.ExitCode(startErr))
		}
		if !strings.Contains(check.String(), want) || check.String() != start.String() {
			t.Errorf("%+v: --check-config said\n%s\nthe start said\n%s\nwant both: %s", tc.services, check.String(), start.String(), want)
		}
		if strings.Contains(check.String(), "config ok") {
			t.Errorf("--check-config said ok:\n%s", check.String())
		}
	}
}

func TestCheckConfigPrintsTheWarnings(t *testing.T) {
	t.Setenv("IDVBUS_CONFIG", "")
	t.Setenv("IDVBUS_INGEST_LISTN", ":18311") // misspelt
	path := writeConfig(t, oneSource)
	var stderr bytes.Buffer
	_, err := app.Setup(app.Command{Name: "svc", Services: config.AllServices, AllowDev: false}, []string{"--config", path, "--check-config"}, io.Discard, &stderr)
	if app.ExitCode(err) != 0 {
		t.Fatalf("exit %d: %s", app.ExitCode(err), stderr.String())
	}
	for _, want := range []string{
		"svc: config warning: environment variable IDVBUS_INGEST_LISTN names no setting; ignored (did you mean IDVBUS_INGEST_LISTEN?)",
		"svc: config ok: config file " + path + " (from --config)",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}

// Every start says which config it loaded and why: the issue was a config
// exported in IDVBUS_CONFIG long before, used without a word.
func TestStartLogsWhichConfigAndWhy(t *testing.T) {
	path := writeConfig(t, oneSource)
	dataDir := t.TempDir()
	for _, tc := range []struct {
		name, envConfig string
		args            []string
		want            string
	}{
		{"flag", writeConfig(t, "{}"), []string{"--config", path}, `svc loaded config file ` + path + ` (from --config)`},
		{"environment", path, nil, `svc loaded config file ` + path + ` (from IDVBUS_CONFIG)`},
		{"development setup", "", nil, "svc runs the development setup: no --config and no IDVBUS_CONFIG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("IDVBUS_CONFIG", tc.envConfig)
			t.Setenv("IDVBUS_NATS_EMBEDDED_STORE_DIR", dataDir)
			var stderr bytes.Buffer
			st, err := app.Setup(app.Command{Name: "svc", Services: config.AllServices, AllowDev: true}, tc.args, io.Discard, &stderr)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr.String())
			}
			_ = st.Log.Sync()
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("the log lacks %q:\n%s", tc.want, stderr.String())
			}
		})
	}
}

// A config error found only when the service starts (an unreadable nkey
// seed) is one log line with the problem, without a Go stack trace.
func TestARunTimeConfigErrorIsLoggedWithoutAStackTrace(t *testing.T) {
	t.Setenv("IDVBUS_CONFIG", "")
	seed := filepath.Join(t.TempDir(), "user.nk")
	if err := os.WriteFile(seed, []byte("not a seed"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "console"} {
		path := writeConfig(t, oneSource+"log: {format: "+format+"}\nnats: {url: 'nats://127.0.0.1:18312', nkey_seed_file: "+seed+"}\n")
		var stderr bytes.Buffer
		st, err := app.Setup(app.Command{Name: "svc", Services: config.Services{Ingest: true}, AllowDev: false}, []string{"--config", path}, io.Discard, &stderr)
		if err != nil {
			t.Fatalf("%v\n%s", err, stderr.String())
		}
		runErr := app.IngestService(context.Background(), st.Config, st.Log)
		if code := app.Stopped("svc", st.Log, runErr); code != 1 {
			t.Fatalf("%s: exit %d after %v", format, code, runErr)
		}
		out := stderr.String()
		if !strings.Contains(out, "svc stopped with an error") || !strings.Contains(out, "nats.nkey_seed_file") {
			t.Errorf("%s: the log lacks the error:\n%s", format, out)
		}
		for _, trace := range []string{"stacktrace", "goroutine ", "runtime/", "app.Stopped"} {
			if strings.Contains(out, trace) {
				t.Errorf("%s: the log has a stack trace (%q):\n%s", format, trace, out)
			}
		}
	}
}

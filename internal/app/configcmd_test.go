package app_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
)

func TestConfigPrint(t *testing.T) {
	path := writeConfig(t, oneSource)
	devSecrets := []string{config.DevPersonaSecret, config.DevIDWisePassword, config.DevIncodeToken, config.DevCredasToken}
	for _, tc := range []struct {
		name string
		args []string
		env  config.Env
		want []string
	}{
		{"development setup", []string{"print"}, config.Env{},
			[]string{"# no config file (no --config, no IDVBUS_CONFIG): the development setup",
				"listen: 127.0.0.1:8080 # development setup", "secrets: ['***'] # development setup"}},
		{"flag", []string{"print", "--config", path}, config.Env{"IDVBUS_LOG_LEVEL": "debug"},
			[]string{"# config file " + path + " (from --config)", "level: debug # env IDVBUS_LOG_LEVEL",
				"listen: 127.0.0.1:18310 # file", "raw_max_age: 720h # default"}},
		{"environment", []string{"print"}, config.Env{"IDVBUS_CONFIG": path},
			[]string{"# config file " + path + " (from IDVBUS_CONFIG)"}},
		{"json", []string{"print", "--json"}, config.Env{"IDVBUS_CONFIG": path},
			[]string{`"chosen":"IDVBUS_CONFIG"`, `{"key":"ingest.listen","value":"127.0.0.1:18310","origin":"file","env":"IDVBUS_INGEST_LISTEN"}`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := app.ConfigCommand("idvbus", tc.args, true, tc.env, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, stdout.String())
				}
			}
			for _, s := range devSecrets {
				if strings.Contains(stdout.String(), s) {
					t.Errorf("output shows the secret %q", s)
				}
			}
			if strings.HasSuffix(tc.name, "json") && !json.Valid(stdout.Bytes()) {
				t.Errorf("not JSON:\n%s", stdout.String())
			}
		})
	}
}

// An empty file is a valid config (for a normalizer), which ingest and
// idvbus refuse: config print says so.
func TestConfigPrintSaysWhatWouldNotStart(t *testing.T) {
	empty := writeConfig(t, "")
	var stdout, stderr bytes.Buffer
	if code := app.ConfigCommand("idvbus", []string{"print", "--config", empty}, true, config.Env{}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "# warning: ingest and idvbus would not start: sources: at least one source is required"; !strings.Contains(stdout.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, stdout.String())
	}
	stdout.Reset()
	if code := app.ConfigCommand("idvbus", []string{"print", "--config", writeConfig(t, oneSource)}, true, config.Env{}, &stdout, &stderr); code != 0 || strings.Contains(stdout.String(), "would not start") {
		t.Errorf("exit %d, a config with a source got the warning:\n%s", code, stdout.String())
	}
}

func TestConfigPrintErrors(t *testing.T) {
	bad := writeConfig(t, "jetstream: {replicas: 9}\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"print", "--config", bad}, "idvbus: config: jetstream.replicas: 9 is not between 1 and 5"},
		{[]string{"show"}, "usage: idvbus config print [--config PATH] [--json]"},
		{[]string{"print", "extra"}, `unexpected argument "extra"`},
	} {
		var stdout, stderr bytes.Buffer
		if code := app.ConfigCommand("idvbus", tc.args, true, config.Env{}, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		if !strings.Contains(stderr.String(), tc.want) || stdout.Len() > 0 {
			t.Errorf("%v: stderr lacks %q (stdout %q):\n%s", tc.args, tc.want, stdout.String(), stderr.String())
		}
	}
}

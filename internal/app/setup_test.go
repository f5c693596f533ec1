package app_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/app"
	"github.com/idvbus/idvbus/internal/config"
)

func TestSetupExitCodesAndMessages(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(dir, "good.yaml")
	_ = os.WriteFile(bad, []byte("jetstream: {replicas: 9}\nsources: [{name: p, vendor: acme, auth: {type: persona, secrets: [s]}}]\n"), 0o600)
	_ = os.WriteFile(good, []byte("sources: [{name: p, vendor: persona, auth: {type: persona, secrets: [s]}}]\n"), 0o600)
	t.Setenv("IDVBUS_CONFIG", "")
	cases := []struct {
		name     string
		args     []string
		allowDev bool
		exit     int // app.ExitCode of Setup's error
		stderr   []string
	}{
		{"invalid config: one line per problem", []string{"--config", bad}, true, 2,
			[]string{"svc: config: jetstream.replicas: 9 is not between 1 and 5", `svc: config: sources[0].vendor: "acme" is not one of`}},
		{"check-config", []string{"--config", good, "--check-config"}, false, 0, []string{"svc: config ok"}},
		{"no config for a service", nil, false, 2, []string{"no config given"}},
		{"dev setup check", []string{"--check-config"}, true, 0, []string{"config ok"}},
		{"unknown flag", []string{"--nope"}, true, 2, []string{"flag provided but not defined"}},
		{"stray argument", []string{"--config", good, "start"}, true, 2, []string{`svc: unexpected argument "start"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, err := app.Setup("svc", tc.args, config.AllServices, tc.allowDev, &stderr)
			if exit := app.ExitCode(err); exit != tc.exit {
				t.Fatalf("exit %d, want %d; stderr:\n%s", exit, tc.exit, stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
		})
	}
}

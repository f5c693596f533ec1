package ctl

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
)

func TestConfigPrintAndVerbose(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	const secret = "wbhsec_ctl_SECRET"
	if err := writeFile(good, "nats: {url: 'nats://127.0.0.1:18320'}\nsources: [{name: p, vendor: persona, auth: {type: persona, secrets: ['"+secret+"']}}]\n"); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(bad, "jetstream: {replicas: 9}\n"); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := idvctl(t, config.Env{"IDVBUS_CONFIG": good}, "config", "print")
	if code != ExitOK || !strings.Contains(stdout, "# config file "+good+" (from IDVBUS_CONFIG)") ||
		!strings.Contains(stdout, "url: nats://127.0.0.1:18320 # file") || strings.Contains(stdout, secret) {
		t.Errorf("config print: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = idvctl(t, config.Env{}, "config", "print", "--json", "--config", good)
	if code != ExitOK || !strings.Contains(stdout, `"chosen":"--config"`) || strings.Contains(stdout, secret) {
		t.Errorf("config print --json: exit %d\n%s", code, stdout)
	}

	// --verbose says which config a command uses and why (nothing listens on
	// the port: the command fails, after saying it).
	_, _, stderr = idvctl(t, config.Env{"IDVBUS_CONFIG": good}, "--verbose", "--timeout", "2s", "status")
	if want := "idvctl: config file " + good + " (from IDVBUS_CONFIG): its nats and jetstream sections"; !strings.Contains(stderr, want) {
		t.Errorf("status --verbose: stderr lacks %q:\n%s", want, stderr)
	}
	_, _, stderr = idvctl(t, config.Env{}, "--verbose", "--timeout", "2s", "--nats", "nats://127.0.0.1:18321", "status")
	if want := "idvctl: no config file (no --config, no IDVBUS_CONFIG): the development setup"; !strings.Contains(stderr, want) {
		t.Errorf("status --verbose without config: stderr lacks %q:\n%s", want, stderr)
	}

	// A config error says which file and why it was read, verbose or not.
	code, _, stderr = idvctl(t, config.Env{"IDVBUS_CONFIG": bad}, "status")
	if code != ExitUsage || !strings.Contains(stderr, "jetstream.replicas: 9 is not between 1 and 5") ||
		!strings.Contains(stderr, "(config file "+bad+" (from IDVBUS_CONFIG))") {
		t.Errorf("status with a bad config: exit %d\n%s", code, stderr)
	}
	code, _, stderr = idvctl(t, config.Env{}, "config", "print", "--config", bad)
	if code != ExitUsage || !strings.Contains(stderr, "(config file "+bad+" (from --config))") {
		t.Errorf("config print with a bad config: exit %d\n%s", code, stderr)
	}
}

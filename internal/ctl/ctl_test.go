package ctl

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/config"
)

func TestUnknownCommandIsAUsageError(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"frobnicate"}, &out, &errb, config.Env{}); code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Fatalf("stderr %q", errb.String())
	}
}

func TestHelpListsExitCodes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"help"}, &out, &errb, config.Env{}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), "exit codes: 0 ok") {
		t.Fatalf("help: %q", out.String())
	}
}

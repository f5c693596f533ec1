package listen_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/idvbus/idvbus/internal/listen"
)

// TestBusyAddressNamesSettingAndVariable: a second listener on a taken port
// says which setting and which variable move it, and why it failed.
func TestBusyAddressNamesSettingAndVariable(t *testing.T) {
	first, err := listen.TCP("ingest.listen", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	addr := first.Addr().String()
	second, err := listen.TCP("ingest.listen", addr)
	if err == nil {
		second.Close()
		t.Fatal("a second listener on a busy port")
	}
	want := "ingest.listen (IDVBUS_INGEST_LISTEN): " + addr + " is already in use — is another idvbus running?"
	if !strings.HasPrefix(err.Error(), want) || !errors.Is(err, listen.ErrInUse) {
		t.Fatalf("error = %q, want it to start %q and be ErrInUse", err, want)
	}
}

// TestOtherFailuresKeepTheirCause: an address that is not in use but cannot be
// listened on still names the setting, with the system's reason.
func TestOtherFailuresKeepTheirCause(t *testing.T) {
	_, err := listen.TCP("normalizer.listen", "127.0.0.1:notaport")
	if err == nil {
		t.Fatal("listened on a bad address")
	}
	if !strings.HasPrefix(err.Error(), "normalizer.listen (IDVBUS_NORMALIZER_LISTEN): ") || errors.Is(err, listen.ErrInUse) ||
		!strings.Contains(err.Error(), "notaport") {
		t.Fatalf("error = %q", err)
	}
}

// TestErrorReadsMessagesOfOtherLibraries: nats-server reports a busy port
// only as text; it is worded the same way.
func TestErrorReadsMessagesOfOtherLibraries(t *testing.T) {
	err := listen.Error("nats.embedded.monitor_listen", "127.0.0.1:8222",
		errors.New(`Can't start monitoring: can't listen to the monitor port: listen tcp 127.0.0.1:8222: bind: address already in use`))
	if !errors.Is(err, listen.ErrInUse) || !strings.HasPrefix(err.Error(), "nats.embedded.monitor_listen (IDVBUS_NATS_EMBEDDED_MONITOR_LISTEN): 127.0.0.1:8222 is already in use") {
		t.Fatalf("error = %q", err)
	}
}

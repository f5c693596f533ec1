// Package listen opens the TCP listeners of the idvbus services and words
// their failures for the person starting them: every error names the config
// key of the address and the IDVBUS_ variable that moves it, and an address in
// use says so plainly, with the likely cause.
package listen

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/idvbus/idvbus/internal/config"
)

// TCP listens on addr, the value of the setting key (a YAML path such as
// "ingest.listen"). Its error is [Error]'s.
func TCP(key, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, Error(key, addr, err)
	}
	return ln, nil
}

// ErrInUse is matched (errors.Is) by the error [Error] returns for an address
// another process already listens on.
var ErrInUse = errors.New("already in use")

// Error words a failure to listen on addr, the value of the setting key, e.g.
//
//	ingest.listen (IDVBUS_INGEST_LISTEN): 127.0.0.1:8080 is already in use — is another idvbus running? Stop it, or move this one with ingest.listen or IDVBUS_INGEST_LISTEN
//
// err may come from net.Listen (EADDRINUSE) or, for listeners another library
// opens (the embedded nats-server), only as text; both are recognised.
func Error(key, addr string, err error) error {
	name := config.EnvName(key)
	if errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use") {
		return fmt.Errorf("%s (%s): %s is %w — is another idvbus running? Stop it, or move this one with %s or %s",
			key, name, addr, ErrInUse, key, name)
	}
	return fmt.Errorf("%s (%s): %w", key, name, err)
}

// Command healthcheck is the probe of idvbus's FROM-scratch images, which have
// no shell, curl or wget for a Docker HEALTHCHECK to run. It GETs one URL and
// exits 0 if the answer is 2xx within the timeout, 1 otherwise (Docker reads
// any non-zero exit as unhealthy). It prints nothing on success and one line
// on failure, which Docker keeps in `docker inspect`'s health log.
//
//	healthcheck [-timeout 2s] URL
//
// It only ever talks to the URL it is given (in the images: the container's
// own loopback), follows no redirects and reads at most 4 KiB of the answer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/idvbus/idvbus/internal/buildinfo"
)

func main() {
	timeout := flag.Duration("timeout", 2*time.Second, "bound on the whole request")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: healthcheck [-timeout 2s] URL")
		flag.PrintDefaults()
	}
	version := buildinfo.VersionFlag(flag.CommandLine, "healthcheck", os.Stdout)
	flag.Parse()
	if version() {
		return
	}
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := check(ctx, http.DefaultTransport, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(1)
	}
}

// errNotOK is returned for an answer outside 2xx.
var errNotOK = errors.New("not 2xx")

// check GETs url once and returns nil only for a 2xx answer. A redirect is
// not followed: a probe that lands somewhere else proves nothing.
func check(ctx context.Context, rt http.RoundTripper, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	// A short excerpt of the body (e.g. /readyz's reason) helps whoever reads
	// the health log; the services' probes carry no secrets or personal data.
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s: %s: %w: %.200s", url, resp.Status, errNotOK, excerpt)
	}
	return nil
}

package app

import (
	"net"
	"strings"

	"go.uber.org/zap"

	"github.com/idvbus/idvbus/internal/config"
)

// The addresses idvctl assumes without flags or config (the development
// setup's): the ready line adds --nats or --ingest only when idvbus runs
// elsewhere.
const (
	defaultCtlNATS   = "nats://127.0.0.1:4222"
	defaultCtlIngest = "http://127.0.0.1:8080"
)

// logReady writes the all-in-one's one "ready" line: where to send a webhook,
// where NATS is, and what to try next.
func logReady(log *zap.Logger, cfg config.Config, natsURL string, addr net.Addr) {
	base := httpBase(addr)
	try := "go run ./cmd/idvctl send --list"
	for _, s := range cfg.Sources {
		if s.Vendor == "persona" {
			try = "go run ./cmd/idvctl send " + s.Name + " inquiry.approved"
			break
		}
	}
	if base != defaultCtlIngest {
		try += " --ingest " + base
	}
	if natsURL != defaultCtlNATS {
		try += " --nats " + natsURL
	}
	log.Info("idvbus ready: POST webhooks to "+base+"/webhooks/<source>; try: "+try+" (README)",
		zap.String("webhooks", base+"/webhooks/<source>"), zap.Strings("sources", sourceNames(cfg.Sources)),
		zap.String("nats", natsURL), zap.String("try", try))
}

// httpBase is the URL a local client reaches addr at: a wildcard host
// (":8080", "0.0.0.0") becomes 127.0.0.1.
func httpBase(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return "http://" + host + ":" + port
}

// Command receive-webhooks is a receiving service: the smallest correct
// endpoint for idvbus's outgoing webhooks. It verifies each request's
// Standard Webhooks signature with the reference library (any language has
// one: https://www.standardwebhooks.com), answers 2xx at once, skips an event
// it has seen (webhook-id is the CloudEvent id: stable across retries) and
// prints the decision.
//
//	go run ./examples/receive-webhooks [-listen 127.0.0.1:9000]
//
// The secret comes from $WEBHOOK_SECRET; without it, the public development
// secret of examples/receive-webhooks/idvbus.yaml is used.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/idvbus/idvbus/internal/buildinfo"
)

// devSecret is the subscriber secret of idvbus.yaml next to this file:
// public, for trying things out only.
const devSecret = "whsec_aWR2YnVzLWRldi1zdWJzY3JpYmVyLXNlY3JldC0zMmI="

// event is the part of a structured CloudEvent this service uses.
type event struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Subject string `json:"subject"` // the vendor's verification id
	Data    struct {
		Vendor      string `json:"vendor"`
		ReferenceID string `json:"reference_id"` // your own user id, where the vendor sends it
		Status      string `json:"status"`
		Revision    int    `json:"revision"` // order a verification's decisions by this
		DecidedBy   string `json:"decided_by"`
	} `json:"data"`
}

func main() {
	listen := flag.String("listen", "127.0.0.1:9000", "address to listen on")
	version := buildinfo.VersionFlag(flag.CommandLine, "receive-webhooks", os.Stdout)
	flag.Parse()
	if version() {
		return
	}
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		secret = devSecret
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		log.Fatal(err)
	}
	var (
		mu   sync.Mutex
		seen = map[string]bool{} // a real service keeps this in its database
	)
	http.HandleFunc("POST /idv", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		// Checks webhook-signature over webhook-id, webhook-timestamp and
		// the raw body, and that the timestamp is within 5 minutes.
		if err := wh.Verify(body, r.Header); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e event
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "not a CloudEvent", http.StatusBadRequest) // 4xx: idvbus dead-letters it
			return
		}
		mu.Lock()
		dup := seen[e.ID]
		seen[e.ID] = true
		mu.Unlock()
		if !dup {
			fmt.Printf("%s %s/%s: %s (revision %d, decided by %s, reference %q)\n",
				e.Type, e.Data.Vendor, e.Subject, e.Data.Status, e.Data.Revision, e.Data.DecidedBy, e.Data.ReferenceID)
		}
		w.WriteHeader(http.StatusNoContent) // 2xx: done; anything else is retried or dead-lettered
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatalf("-listen %s: %v — is another receiving service (or the compose stack's demo-subscriber) on that port? -listen moves this one (and the subscriber's url in idvbus.yaml with it)", *listen, err)
	}
	log.Printf("receiving on http://%s/idv", *listen)
	log.Fatal(http.Serve(ln, nil))
}

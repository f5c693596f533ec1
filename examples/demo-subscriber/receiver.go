package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// maxBody bounds what is read of a delivery; idvbus's events are a few KB.
const maxBody = 1 << 20

// maxReceived bounds the in-memory list, so a long demo cannot grow it forever.
const maxReceived = 10000

// event is the part of a structured CloudEvent the demo shows.
type event struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Subject string `json:"subject"` // the vendor's verification id
	Data    struct {
		Vendor    string `json:"vendor"`
		Status    string `json:"status"`
		Revision  int    `json:"revision"` // order a verification's decisions by this
		DecidedBy string `json:"decided_by"`
	} `json:"data"`
}

// Received is one accepted event as GET /received lists it.
type Received struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	VerificationID string    `json:"verification_id"`
	Vendor         string    `json:"vendor"`
	Status         string    `json:"status"`
	Revision       int       `json:"revision"`
	Deliveries     int       `json:"deliveries"` // >1: idvbus redelivered it (same webhook-id)
	ReceivedAt     time.Time `json:"received_at"`
}

// receiver is the demo subscriber's HTTP handler. It answers 204 to a
// correctly signed CloudEvent (recording it once per event id), 401 to a bad
// signature, 400 to a body that is not a CloudEvent, and the status set by
// POST /fail to every delivery while it is set.
type receiver struct {
	wh  *standardwebhooks.Webhook
	out io.Writer
	mux *http.ServeMux

	mu       sync.Mutex
	failWith int            // 0: normal
	received []Received     // in arrival order
	index    map[string]int // position in received, by event id
}

func newReceiver(secret string, out io.Writer) (*receiver, error) {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	r := &receiver{wh: wh, out: out, mux: http.NewServeMux(), index: map[string]int{}}
	r.mux.HandleFunc("POST /idv", r.deliver)
	r.mux.HandleFunc("GET /received", r.list)
	r.mux.HandleFunc("POST /fail", r.setFail)
	r.mux.HandleFunc("DELETE /fail", r.clearFail)
	r.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return r, nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) { r.mux.ServeHTTP(w, req) }

func (r *receiver) deliver(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	failWith := r.failWith
	r.mu.Unlock()
	if failWith != 0 {
		fmt.Fprintf(r.out, "answering %d to %s (failing on purpose: DELETE /fail to stop)\n", failWith, req.Header.Get("webhook-id"))
		http.Error(w, "failing on purpose", failWith)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody))
	if err != nil {
		http.Error(w, "read error", http.StatusBadRequest)
		return
	}
	// webhook-signature over webhook-id, webhook-timestamp and the raw body;
	// the timestamp within 5 minutes.
	if err := r.wh.Verify(body, req.Header); err != nil {
		fmt.Fprintf(r.out, "refused a delivery: bad signature\n")
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var e event
	if err := json.Unmarshal(body, &e); err != nil || e.ID == "" {
		http.Error(w, "not a CloudEvent", http.StatusBadRequest) // 4xx: idvbus dead-letters it
		return
	}
	r.mu.Lock()
	i, dup := r.index[e.ID]
	if dup {
		r.received[i].Deliveries++
	} else if len(r.received) < maxReceived {
		r.received = append(r.received, Received{
			ID: e.ID, Type: e.Type, VerificationID: e.Subject, Vendor: e.Data.Vendor,
			Status: e.Data.Status, Revision: e.Data.Revision, Deliveries: 1, ReceivedAt: time.Now().UTC(),
		})
		r.index[e.ID] = len(r.received) - 1
	}
	r.mu.Unlock()
	if !dup {
		// No reference_id or other personal data: ids, status and who decided.
		fmt.Fprintf(r.out, "%s %s/%s: %s (revision %d, decided by %s)\n",
			e.Type, e.Data.Vendor, e.Subject, e.Data.Status, e.Data.Revision, e.Data.DecidedBy)
	}
	w.WriteHeader(http.StatusNoContent) // 2xx: done; anything else is retried or dead-lettered
}

func (r *receiver) list(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	out := append([]Received{}, r.received...)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// setFail makes every later delivery answer ?status= (default 500): 5xx and
// 429 are retried by idvbus on the subscriber's schedule, 410 disables the
// subscriber until idvctl subscriber resume, other 4xx are dead-lettered at
// once.
func (r *receiver) setFail(w http.ResponseWriter, req *http.Request) {
	status := http.StatusInternalServerError
	if s := req.URL.Query().Get("status"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 300 || n > 599 {
			http.Error(w, "status must be 300-599", http.StatusBadRequest)
			return
		}
		status = n
	}
	r.mu.Lock()
	r.failWith = status
	r.mu.Unlock()
	fmt.Fprintf(r.out, "failing every delivery with %d from now on\n", status)
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) clearFail(w http.ResponseWriter, _ *http.Request) {
	r.mu.Lock()
	r.failWith = 0
	r.mu.Unlock()
	fmt.Fprintf(r.out, "accepting deliveries again\n")
	w.WriteHeader(http.StatusNoContent)
}

package chaos_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// sink plays the subscriber: it verifies each request's Standard Webhooks
// signature with the official library (not idvbus's own code), records the
// webhook-id, when it first came and what the event says, and answers 204.
// It can be taken down (its port refuses connections) and brought back.
type sink struct {
	addr string
	wh   *standardwebhooks.Webhook

	mu       sync.Mutex
	srv      *http.Server
	requests map[string]int       // webhook-id -> requests
	first    map[string]time.Time // webhook-id -> first request
	events   map[string]sinkEvent // webhook-id -> the event
	badSig   int
	badBody  int
}

// sinkEvent is what the suite compares of a delivered event.
type sinkEvent struct {
	ID, Subject, Status, Previous string
	Revision                      int
	RawSeq                        uint64
}

func startSink(t *testing.T, port int) *sink {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(subSecret)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{addr: fmt.Sprintf("127.0.0.1:%d", port), wh: wh, requests: map[string]int{},
		first: map[string]time.Time{}, events: map[string]sinkEvent{}}
	s.up(t)
	t.Cleanup(s.down)
	return s
}

// up starts listening (again) on the sink's port.
func (s *sink) up(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	// The port was just closed by down: binding again may need a moment.
	deadline := time.Now().Add(10 * time.Second)
	for ln, err = net.Listen("tcp", s.addr); err != nil; ln, err = net.Listen("tcp", s.addr) {
		if time.Now().After(deadline) {
			t.Fatalf("sink: listen %s: %v", s.addr, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
	srv := &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 5 * time.Second}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("sink: %v", err)
		}
	}()
}

// down closes the listener and every connection: the subscriber is gone.
func (s *sink) down() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	now := time.Now()
	if err := s.wh.Verify(body, r.Header); err != nil {
		s.mu.Lock()
		s.badSig++
		s.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ce struct {
		ID      string `json:"id"`
		Subject string `json:"subject"`
		Data    struct {
			Status   string `json:"status"`
			Previous string `json:"previous_status"`
			Revision int    `json:"revision"`
			Raw      struct {
				Seq uint64 `json:"seq"`
			} `json:"raw"`
		} `json:"data"`
	}
	id := r.Header.Get("webhook-id")
	if err := json.Unmarshal(body, &ce); err != nil || ce.ID != id {
		s.mu.Lock()
		s.badBody++
		s.mu.Unlock()
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.requests[id]++
	if _, ok := s.first[id]; !ok {
		s.first[id] = now
		s.events[id] = sinkEvent{ID: ce.ID, Subject: ce.Subject, Status: ce.Data.Status,
			Previous: ce.Data.Previous, Revision: ce.Data.Revision, RawSeq: ce.Data.Raw.Seq}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// unique is how many distinct webhook-ids were delivered.
func (s *sink) unique() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.first)
}

// snapshot copies what the sink recorded.
func (s *sink) snapshot() (requests map[string]int, first map[string]time.Time, events map[string]sinkEvent, badSig, badBody int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	requests, first, events = map[string]int{}, map[string]time.Time{}, map[string]sinkEvent{}
	for k, v := range s.requests {
		requests[k] = v
	}
	for k, v := range s.first {
		first[k] = v
	}
	for k, v := range s.events {
		events[k] = v
	}
	return requests, first, events, s.badSig, s.badBody
}

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const testEvent = `{"specversion":"1.0","id":"ev-1","type":"io.idvbus.verification.updated.v1","subject":"inq_1",` +
	`"data":{"vendor":"persona","status":"approved","revision":1,"decided_by":"vendor","reference_id":"user-42"}}`

// post sends body to h's /idv signed with secret, as idvbus's notifier does.
func post(t *testing.T, h http.Handler, secret, id, body string) int {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sig, err := wh.Sign(id, now, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/idv", strings.NewReader(body))
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

func received(t *testing.T, h http.Handler) []Received {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/received", nil))
	var out []Received
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("GET /received: %v: %s", err, rec.Body)
	}
	return out
}

func do(t *testing.T, h http.Handler, method, target string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code
}

func TestReceiver(t *testing.T) {
	var out bytes.Buffer
	r, err := newReceiver(devSecret, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got := post(t, r, "whsec_"+"c29tZW9uZSBlbHNlJ3Mgc2VjcmV0IDMyIGJ5dGVzIQ==", "ev-1", testEvent); got != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d, want 401", got)
	}
	if got := post(t, r, devSecret, "x", "not json"); got != http.StatusBadRequest {
		t.Fatalf("not a CloudEvent: %d, want 400", got)
	}
	if n := len(received(t, r)); n != 0 {
		t.Fatalf("%d received after refusals, want 0", n)
	}

	for range 2 { // a redelivery is recorded once
		if got := post(t, r, devSecret, "ev-1", testEvent); got != http.StatusNoContent {
			t.Fatalf("signed event: %d, want 204", got)
		}
	}
	got := received(t, r)
	if len(got) != 1 || got[0].ID != "ev-1" || got[0].Status != "approved" || got[0].VerificationID != "inq_1" ||
		got[0].Vendor != "persona" || got[0].Deliveries != 2 {
		t.Fatalf("received = %+v", got)
	}
	if strings.Count(out.String(), "persona/inq_1: approved") != 1 {
		t.Fatalf("output should print the decision once:\n%s", out.String())
	}
	if strings.Contains(out.String(), "user-42") {
		t.Fatalf("output carries the reference id (personal data):\n%s", out.String())
	}

	// Broken on purpose: every delivery gets the status, nothing is recorded.
	if code := do(t, r, http.MethodPost, "/fail?status=503"); code != http.StatusNoContent {
		t.Fatalf("POST /fail: %d", code)
	}
	if code := post(t, r, devSecret, "ev-2", strings.Replace(testEvent, "ev-1", "ev-2", 1)); code != http.StatusServiceUnavailable {
		t.Fatalf("while failing: %d, want 503", code)
	}
	if code := do(t, r, http.MethodPost, "/fail?status=200"); code != http.StatusBadRequest {
		t.Fatalf("POST /fail?status=200: %d, want 400", code)
	}
	if code := do(t, r, http.MethodDelete, "/fail"); code != http.StatusNoContent {
		t.Fatalf("DELETE /fail: %d", code)
	}
	if code := post(t, r, devSecret, "ev-2", strings.Replace(testEvent, "ev-1", "ev-2", 1)); code != http.StatusNoContent {
		t.Fatalf("after fixing: %d, want 204", code)
	}
	if got := received(t, r); len(got) != 2 || got[1].ID != "ev-2" || got[1].Deliveries != 1 {
		t.Fatalf("received = %+v", got)
	}
}

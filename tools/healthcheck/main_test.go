package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		case "/slow":
			<-r.Context().Done()
		default:
			http.Error(w, "starting", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	for _, tc := range []struct {
		path  string
		ok    bool
		notOK bool // the answer came but was not 2xx
	}{
		{"/ok", true, false},
		{"/readyz", false, true},
		{"/redirect", false, true}, // never followed
		{"/slow", false, false},    // timeout
	} {
		t.Run(tc.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err := check(ctx, http.DefaultTransport, srv.URL+tc.path)
			if (err == nil) != tc.ok {
				t.Fatalf("check(%s) = %v, want ok=%v", tc.path, err, tc.ok)
			}
			if got := errors.Is(err, errNotOK); got != tc.notOK {
				t.Fatalf("check(%s) = %v, errNotOK %v, want %v", tc.path, err, got, tc.notOK)
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		closed := httptest.NewServer(http.NotFoundHandler())
		url := closed.URL
		closed.Close()
		if err := check(t.Context(), http.DefaultTransport, url); err == nil {
			t.Fatal("check of a closed port succeeded")
		}
	})
}

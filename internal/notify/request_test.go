package notify

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/webhookauth"
)

func TestClassify(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		status     int
		retryAfter string
		class      string
		wait       time.Duration
		detail     string
	}{
		{200, "", ClassSuccess, 0, ""},
		{202, "", ClassSuccess, 0, ""},
		{204, "", ClassSuccess, 0, ""},
		{299, "", ClassSuccess, 0, ""},
		{301, "", ClassRedirect, 0, "HTTP 301 Moved Permanently"},
		{302, "", ClassRedirect, 0, "HTTP 302 Found"},
		{304, "", ClassRedirect, 0, "HTTP 304 Not Modified"},
		{307, "", ClassRedirect, 0, "HTTP 307 Temporary Redirect"},
		{400, "", ClassRejected, 0, "HTTP 400 Bad Request"},
		{401, "", ClassRejected, 0, "HTTP 401 Unauthorized"},
		{404, "", ClassRejected, 0, "HTTP 404 Not Found"},
		{410, "", ClassRejected, 0, "HTTP 410 Gone"},
		{422, "", ClassRejected, 0, "HTTP 422 Unprocessable Entity"},
		{499, "", ClassRejected, 0, "HTTP 499 status"},
		{408, "", ClassRequestTimeout, 0, "HTTP 408 Request Timeout"},
		{429, "", ClassRateLimited, 0, "HTTP 429 Too Many Requests"},
		{429, "7", ClassRateLimited, 7 * time.Second, "HTTP 429 Too Many Requests"},
		{500, "", ClassServerError, 0, "HTTP 500 Internal Server Error"},
		{502, "", ClassServerError, 0, "HTTP 502 Bad Gateway"},
		{503, "120", ClassServerError, 2 * time.Minute, "HTTP 503 Service Unavailable"},
		{599, "", ClassServerError, 0, "HTTP 599 status"},
		{100, "", ClassServerError, 0, "HTTP 100 Continue"},
		{600, "", ClassServerError, 0, "HTTP 600 status"},
	}
	for _, c := range cases {
		o := classify(c.status, c.retryAfter, now)
		if o.class != c.class || o.status != c.status || o.retryAfter != c.wait || o.detail != c.detail {
			t.Errorf("classify(%d, %q) = %+v, want class %s, wait %s, detail %q", c.status, c.retryAfter, o, c.class, c.wait, c.detail)
		}
		if o.delivered() != (c.class == ClassSuccess) || o.rejected() != (c.class == ClassRejected) {
			t.Errorf("classify(%d): delivered %v rejected %v", c.status, o.delivered(), o.rejected())
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{"120", 2 * time.Minute},
		{"86400", 24 * time.Hour},
		{"86401", 24 * time.Hour},                // capped
		{"9223372036", 24 * time.Hour},           // capped, no overflow
		{"99999999999999999999", 24 * time.Hour}, // beyond int64: the largest (RFC 9111)
		{"-99999999999999999999", 0},
		{"-5", 0}, // negative
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(90 * time.Second).Format(time.RFC850), 90 * time.Second}, // obsolete HTTP date forms
		{now.Add(90 * time.Second).Format(time.ANSIC), 90 * time.Second},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), 24 * time.Hour}, // capped
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},                // past
		{now.Format(http.TimeFormat), 0},                                  // now
		{"soon", 0},
		{"1.5", 0},
		{"10s", 0},
		{"2026-01-02T03:05:00Z", 0}, // not an HTTP date
	}
	for _, c := range cases {
		if got := parseRetryAfter(c.in, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// An attempt's error never carries the subscriber's URL, which may hold
// credentials: it ends up in logs and in the Idv-Error of dead letters.
func TestErrDetailHidesURL(t *testing.T) {
	const password = "pa55-w0rd-xyz"
	srv := httptest.NewServer(http.NotFoundHandler())
	closed := strings.Replace(srv.URL, "http://", "http://hook-user:"+password+"@", 1) + "/hook?token=" + password
	srv.Close()

	cases := []struct {
		name string
		err  func(t *testing.T) error
		want string // "" when any text without the secret will do
	}{
		{"connection refused", func(t *testing.T) error {
			resp, err := http.Post(closed, "application/json", nil)
			if err == nil {
				_ = resp.Body.Close()
				t.Fatal("no error from a closed server")
			}
			return err
		}, "connection refused"},
		{"dns", func(*testing.T) error {
			return &url.Error{Op: "Post", URL: "http://hook-user:" + password + "@nowhere.invalid/hook",
				Err: &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nowhere.invalid", IsNotFound: true}}}
		}, "dns: no such host"},
		{"other", func(*testing.T) error {
			return &url.Error{Op: "Post", URL: closed, Err: errors.New("tls: handshake failure")}
		}, "tls: handshake failure"},
		{"wrapped", func(*testing.T) error {
			return &url.Error{Op: "Post", URL: closed, Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("broken pipe")}}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err(t)
			got := errDetail(err)
			if strings.Contains(got, password) || strings.Contains(got, "hook-user") {
				t.Errorf("errDetail(%v) = %q: it carries the URL's credentials", err, got)
			}
			if c.want != "" && got != c.want {
				t.Errorf("errDetail = %q, want %q", got, c.want)
			}
			if got == "" {
				t.Error("errDetail is empty")
			}
		})
	}

	// The whole attempt, as the notifier makes it.
	signer, err := webhookauth.NewStandardSigner([]string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))})
	if err != nil {
		t.Fatal(err)
	}
	client := newClient(1, time.Second)
	for _, u := range []string{closed, "http://hook-user:" + password + "@[::1"} {
		o := send(context.Background(), client, u, signer, "evt-1", []byte("{}"), http.Header{}, time.Second, time.Now())
		if o.class != ClassConnectionError || o.detail == "" {
			t.Errorf("send(%q) = %+v, want a connection error", u, o)
		}
		if strings.Contains(o.detail, password) || strings.Contains(o.detail, "hook-user") {
			t.Errorf("send(%q): detail %q carries the URL's credentials", u, o.detail)
		}
	}
}

// FuzzParseRetryAfter: whatever a subscriber sends as Retry-After, the pause
// is between 0 and the cap, and never panics.
func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"", "0", "1", "120", "-5", "99999999999999999999", "soon", "1.5",
		now.Add(time.Minute).Format(http.TimeFormat), now.Add(-time.Minute).Format(http.TimeFormat)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %s, outside [0, %s]", v, d, maxRetryAfter)
		}
	})
}

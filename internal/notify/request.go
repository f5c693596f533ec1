package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/idvbus/idvbus/internal/webhookauth"
	"github.com/idvbus/idvbus/sdk/idv"
)

// UserAgent identifies the notifier's requests.
const UserAgent = "idvbus-notifier/1"

// maxResponseRead is how much of an answer's body is read (and discarded) so
// the connection can be reused; a receiver's body is never stored or logged.
const maxResponseRead = 64 << 10

// encode writes e as an HTTP request body and headers in the subscriber's
// format, through the CloudEvents HTTP binding: structured (the event as
// JSON, application/cloudevents+json) or binary (the data as body, the
// attributes as ce-* headers).
func encode(ctx context.Context, e *cloudevents.Event, format string) ([]byte, http.Header, error) {
	if format == FormatBinary {
		ctx = binding.WithForceBinary(ctx)
	} else {
		ctx = binding.WithForceStructured(ctx)
	}
	req := &http.Request{Header: http.Header{}}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(e), req); err != nil {
		return nil, nil, err
	}
	if format == FormatBinary {
		// sdk-go writes attribute values as they are; the HTTP binding
		// (3.1.3.2) wants them percent-encoded (a verification id with a
		// space, "%", a quote or non-ASCII).
		for k, vs := range req.Header {
			if len(k) > len(idv.HeaderPrefix) && strings.EqualFold(k[:len(idv.HeaderPrefix)], idv.HeaderPrefix) {
				for i, v := range vs {
					vs[i] = idv.EncodeHeaderValue(v)
				}
			}
		}
	}
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, nil, err
		}
	}
	return body, req.Header, nil
}

// Formats of a subscriber's requests (config subscribers[].format).
const (
	FormatStructured = "structured"
	FormatBinary     = "binary"
)

// outcome is what one attempt got.
type outcome struct {
	status     int           // HTTP status; 0 without an answer
	class      string        // the outcome label of idvbus_notifier_attempts_total
	detail     string        // what went wrong, for logs and Idv-Error; "" on success
	retryAfter time.Duration // the subscriber's Retry-After, if any
}

// Outcome classes. success ends the delivery; rejected dead-letters at once;
// every other class is retried (docs/contract.md, "Outgoing webhooks").
const (
	ClassSuccess         = "success"
	ClassRedirect        = "redirect" // 3xx: not followed (the URL is configured, not discovered)
	ClassRejected        = "rejected" // 4xx other than 408 and 429
	ClassRequestTimeout  = "request_timeout"
	ClassRateLimited     = "rate_limited"
	ClassServerError     = "server_error"
	ClassTimeout         = "timeout"
	ClassConnectionError = "connection_error"
)

func (o outcome) delivered() bool { return o.class == ClassSuccess }
func (o outcome) rejected() bool  { return o.class == ClassRejected }

// send makes one signed attempt: a POST of body with hdr and fresh Standard
// Webhooks headers (webhook-id = the CloudEvent id, webhook-timestamp = now).
func send(ctx context.Context, c *http.Client, u string, signer *webhookauth.StandardSigner, id string, body []byte, hdr http.Header, timeout time.Duration, now time.Time) outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return outcome{class: ClassConnectionError, detail: "invalid request: " + errDetail(err)}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	ts, sig := signer.Sign(id, now, body)
	req.Header.Set(webhookauth.StandardWebhookID, id)
	req.Header.Set(webhookauth.StandardWebhookTimestamp, ts)
	req.Header.Set(webhookauth.StandardWebhookSignature, sig)
	req.Header.Set("User-Agent", UserAgent)
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return outcome{class: ClassTimeout, detail: fmt.Sprintf("no answer within %s", timeout)}
		}
		return outcome{class: ClassConnectionError, detail: errDetail(err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseRead))
	_ = resp.Body.Close()
	return classify(resp.StatusCode, resp.Header.Get("Retry-After"), now)
}

// classify maps an HTTP answer to an outcome.
func classify(status int, retryAfter string, now time.Time) outcome {
	o := outcome{status: status, retryAfter: parseRetryAfter(retryAfter, now)}
	text := http.StatusText(status)
	if text == "" {
		text = "status"
	}
	switch {
	case status >= 200 && status < 300:
		o.class = ClassSuccess
		return o
	case status >= 300 && status < 400:
		o.class = ClassRedirect
	case status == http.StatusRequestTimeout:
		o.class = ClassRequestTimeout
	case status == http.StatusTooManyRequests:
		o.class = ClassRateLimited
	case status >= 400 && status < 500:
		o.class = ClassRejected
	default: // 5xx, and anything else a server should not answer
		o.class = ClassServerError
	}
	o.detail = fmt.Sprintf("HTTP %d %s", status, text)
	return o
}

// parseRetryAfter reads a Retry-After value: delta-seconds or an HTTP date.
// It returns 0 when absent, unparsable or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		// An overflowing value counts as the largest (RFC 9111, 1.2.2).
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter caps what a subscriber can ask for: beyond a day, the
// retry schedule and max age decide.
const maxRetryAfter = 24 * time.Hour

// errDetail describes a transport error without the URL (which may carry
// credentials).
func errDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "dns: " + dnsErr.Err
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// newClient returns the HTTP client of one subscriber: redirects are not
// followed (a 3xx is a failure, as Standard Webhooks says), proxies come from
// the environment (HTTPS_PROXY, e.g. an egress proxy that blocks internal
// addresses), and idle connections are kept for the subscriber's concurrency.
func newClient(concurrency int, timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = concurrency
	t.MaxIdleConnsPerHost = concurrency
	t.ResponseHeaderTimeout = timeout
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

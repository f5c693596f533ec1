package chaos_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// writeReport writes docs/reliability.md from the rows of a full run: the
// machine, the conditions and one row per scenario. The file is generated;
// edit this function, not the file.
func writeReport(path string, rows []result) error {
	var b bytes.Buffer
	model := "unknown"
	if cpu, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(cpu), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	nproc := strings.TrimSpace(run("nproc"))
	load := strings.TrimSpace(run("cat", "/proc/loadavg"))
	fmt.Fprintf(&b, `# Reliability: the fault suite's figures

_Written by `+"`make chaos`"+` (test/chaos, IDVBUS_CHAOS=full) on %s. Do not edit by hand: run it again._

**Machine:** %s CPUs (`+"`nproc`"+`), %s, %s, %s/%s; load average at the end of the run: %s.
The machine is shared: other builds and tests ran at the same time, so rates are what the
loaded machine reached, not ingest's capacity (docs/benchmarks.md has that).

**Conditions:** every process is the real binary (`+"`go build`"+`), run as a child process on
loopback; nats-server is built from the pinned module. Senders sign Persona webhooks (~0.8 KiB)
and send new verifications at the target rate, each webhook retried every %s on 503 or a
connection error until it is answered 200, as a vendor does; a verification's webhooks (1, or
4 for the ordering scenario) are sent one after the other. The subscriber is an HTTP server in
the suite that verifies every Standard Webhooks signature with the official library. Service
settings shorter than the defaults, so that faults resolve within a scenario:
`+"`ingest.publish_timeout` %s, `normalizer.pinned_ttl` %s, `normalizer.ack_wait` %s, `notifier.ack_wait` %s"+`,
subscriber retry every 1-2 s, breaker cooldown 2 s.

**Reconciliation** (each scenario): every webhook answered 200 is in IDV_RAW exactly once;
IDV_EVENTS holds exactly the expected events (one approval per webhook; for the ordering
scenario, the events of the same webhooks sent to a fresh all-in-one without faults, compared
by CloudEvent id, status, previous status and revision) and no CloudEvent id twice; every
stored event reached the subscriber (requests with a webhook-id already seen are counted as
redeliveries); no child's log line holds a secret or the marker put into every body.

**Resume** is measured from the kill (kills), the start of the freeze or partition (a standby
or the other nodes must carry on), or the end of the outage or the full store, to the moment
the first webhook answered 200 after that point was stored as an event (normalized) and
delivered; the cell gives the median / the maximum over the scenario's faults.

| scenario | stack | faults | target rate | accepted (rate) | 503 | conn. errors | raw stored | events | duplicate ids | lost | delivered (+ redeliveries) | resume: normalized | resume: delivered | log leaks | took |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`, time.Now().UTC().Format("2006-01-02 15:04 MST"), nproc, model, runtime.Version(), runtime.GOOS, runtime.GOARCH, load,
		vendorRetryPause, publishTimeout, pinnedTTL, normalizerAckWait, notifierAckWait)
	for _, r := range rows {
		var norm, deliv []time.Duration
		for _, x := range r.Resumes {
			norm, deliv = append(norm, x.Norm), append(deliv, x.Deliver)
		}
		rate := fmt.Sprintf("%.0f webhooks/s for %s", r.Rate*float64(r.WebhooksPerV), r.Duration)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d (%.0f/s) | %d | %d | %d | %d | %d | %d | %d (+%d) | %s | %s | %d | %s |\n",
			r.Name, r.Stack, r.Faults, rate, r.Accepted, r.AcceptedRate, r.Answered503, r.ConnErrors, r.RawStored, r.Events,
			r.DupIDs+r.DupNormalized, r.LostRaw+r.LostEvents+r.LostDelivered+r.Mismatched, r.Delivered, r.Redeliveries,
			durs(norm), durs(deliv), r.LogLeaks, r.Elapsed.Round(time.Second))
	}
	b.WriteString("\n## Resume per fault\n\n| scenario | fault | normalized after | delivered after |\n|---|---|---|---|\n")
	for _, r := range rows {
		for _, x := range r.Resumes {
			fmt.Fprintf(&b, "| %s | %s | %.2f s | %.2f s |\n", r.Name, x.What, x.Norm.Seconds(), x.Deliver.Seconds())
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func run(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return string(out)
}

package chaos_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeReport writes docs/reliability.md from the rows of a full run: the
// machine, the conditions and one row per scenario. The file is generated;
// edit this function, not the file.
func writeReport(path string, rows []result) error {
	rows = slices.Clone(rows)
	slices.SortStableFunc(rows, func(a, b result) int { return rank(a.Name) - rank(b.Name) })
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
settings: `+"`ingest.publish_timeout` %s"+` (shorter than the default, so that a fault resolves within a
scenario); the recovery settings are the defaults: `+"`normalizer.pinned_ttl` %s, `normalizer.ack_wait` %s, `notifier.ack_wait` %s"+`;
subscriber retry every 1-2 s, breaker cooldown 2 s.

**Scenarios** (test/chaos; the short form, `+"`"+`make chaos-short`+"`"+`, runs the same at about a third
of the rate and length):
- `+"`"+`kill-all-in-one`+"`"+`: kill -9 of the `+"`"+`idvbus`+"`"+` all-in-one (its embedded JetStream with it) under load.
- `+"`"+`kill-each-service`+"`"+`: nats-server, `+"`"+`ingest`+"`"+`, two `+"`"+`normalizer`+"`"+`s (one pinned, one standing by) and
  `+"`"+`notifier`+"`"+` as separate processes; kill -9 in turn of ingest, the active normalizer, the notifier
  and nats-server (store kept).
- `+"`"+`subscriber-outage`+"`"+`: the subscriber's port refuses connections for a while.
- `+"`"+`full-store`+"`"+`: IDV_RAW gets `+"`"+`max_bytes`+"`"+` just above what it holds, with discard-new (the
  harness changes the stream through the JetStream API), so JetStream refuses writes as a full
  store does; ingest must answer 503, never 200, and accept again once the limit is lifted.
- `+"`"+`frozen-normalizer`+"`"+`: SIGSTOP of the active normalizer while the standby runs, SIGCONT later.
- `+"`"+`ordering-under-kills`+"`"+`: four webhooks per verification (created, started, completed, approved;
  each sent once the previous one was answered 200) with kill -9 of the all-in-one in between.
- `+"`"+`partition-cluster-node`+"`"+`: the services against a three-node JetStream cluster in Docker (R3);
  the node leading IDV_RAW is cut off its network (`+"`"+`docker network disconnect`+"`"+`) and connected
  again.

**Reconciliation** (each scenario): every webhook answered 200 is in IDV_RAW exactly once;
IDV_EVENTS holds exactly the expected events (one approval per webhook; for the ordering
scenario, the events of the same webhooks sent to a fresh all-in-one without faults, compared
by CloudEvent id, status, previous status and revision) and no CloudEvent id twice; every
stored event reached the subscriber (requests with a webhook-id already seen are counted as
redeliveries); one verification in 10 is followed by a forged copy (wrong secret, stale
timestamp or no signature) that must be answered 401 and never stored; no child's log line
holds a secret or the marker put into every body. **Duplicates** counts CloudEvent ids stored
twice plus events outside the expected set; **lost** counts webhooks answered 200 missing from
IDV_RAW, expected events missing and stored events never delivered. For the ordering
scenario, the final status of a verification differing from the run without faults is a
failure; statuses the run without faults emitted and this one did not (**skipped**), and
events whose previous status or revision differ as a consequence, are counted: see
"Findings" below. **Slowest webhook** is the longest time from a webhook's first send to the
first delivery of its event.

**Resume** is measured from the kill (kills), the start of the freeze or partition (a standby
or the other nodes must carry on), or the end of the outage or the full store, to the moment
a webhook first sent after that point was stored as an event (normalized), and delivered
(earliest of each; a sender retries every 200 ms, which bounds the precision); the cell gives the median / the maximum over the scenario's faults. **Longest
pause** is the longest interval in the scenario between two consecutive events stored (or
first deliveries): how long the pipeline produced nothing while vendors kept sending.

| scenario | stack | faults | target rate | accepted (rate) | 503 | conn. errors | forged: sent / stored | raw stored | events | duplicates | lost | ordering: final state differs / statuses skipped / events differing | delivered (+ redeliveries) | resume: normalized | resume: delivered | longest pause: normalized / delivered | slowest webhook | log leaks | took |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
`, time.Now().UTC().Format("2006-01-02 15:04 MST"), nproc, model, runtime.Version(), runtime.GOOS, runtime.GOARCH, load,
		vendorRetryPause, publishTimeout, pinnedTTL, normalizerAckWait, notifierAckWait)
	for _, r := range rows {
		var norm, deliv []time.Duration
		for _, x := range r.Resumes {
			norm, deliv = append(norm, x.Norm), append(deliv, x.Deliver)
		}
		ordering := "–"
		if r.WebhooksPerV > 1 {
			ordering = fmt.Sprintf("%d / %d / %d", r.FinalMismatch, r.Skipped, r.Mismatched)
		}
		rate := fmt.Sprintf("%.0f webhooks/s for %s", r.Rate*float64(r.WebhooksPerV), r.Duration)
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d (%.0f/s) | %d | %d | %d / %d | %d | %d | %d | %d | %s | %d (+%d) | %s | %s | %.1f / %.1f s | %.1f s | %d | %s |\n",
			r.Name, r.Stack, r.Faults, rate, r.Accepted, r.AcceptedRate, r.Answered503, r.ConnErrors, r.Forged, r.ForgedStored,
			r.RawStored, r.Events, r.DupIDs+r.DupNormalized, r.LostRaw+r.LostEvents+r.LostDelivered, ordering,
			r.Delivered, r.Redeliveries, durs(norm), durs(deliv), r.NormPause.Seconds(), r.DeliverPause.Seconds(), r.Slowest.Seconds(), r.LogLeaks, r.Elapsed.Round(time.Second))
	}
	skipped, differing := 0, 0
	for _, r := range rows {
		skipped, differing = skipped+r.Skipped, differing+r.Mismatched
	}
	fmt.Fprintf(&b, findings, skipped, differing)
	b.WriteString("\n## Resume per fault\n\n_Restarted_: how long the killed process took to answer `/readyz` 200 again (the suite restarts it at once, as a supervisor would).\n\n| scenario | fault | restarted | normalized after | delivered after |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		for _, x := range r.Resumes {
			ready := "–"
			if x.Ready > 0 {
				ready = fmt.Sprintf("%.2f s", x.Ready.Seconds())
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %.2f s | %.2f s |\n", r.Name, x.What, ready, x.Norm.Seconds(), x.Deliver.Seconds())
		}
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// findings explains what the figures show; it is kept next to the code
// that measures them and rewritten with the report. Its verbs are the
// run's skipped statuses and differing events.
const findings = `
## Findings

- **Nothing answered 200 was lost and no CloudEvent id was stored twice** in any scenario
  (the suite fails otherwise); forged webhooks were answered 401 and never stored; no log
  line held a secret or a body fragment.
- **Statuses skipped after a crash (ordering scenario; this run: %d skipped, %d events
  differing).** It happens only when a kill hits a webhook in flight, so a run may show none.
  A webhook that a normalizer had
  received but not acknowledged when it (or the all-in-one) was killed is redelivered by
  JetStream only after the consumer's ack wait (` + "`normalizer.ack_wait`" + `, 3 s, the
  default). The vendor meanwhile got its 200 and sent the verification's next webhooks, which
  the restarted (or standby) normalizer applies at once. The held webhook then arrives with an
  older vendor time and is stale (contract rule 3): it changes no status and emits nothing. The
  final status is the same as without faults (rule 5; checked), but that intermediate status
  is never emitted and later revisions are one lower, which contract rule 6 ("in-order
  arrival emits every status") does not allow. Not fixed here: a fix belongs in the
  normalizer's consumption (the branch working on restart and takeover), e.g. holding a
  verification's newer webhooks while an older one of it is still pending.
- **The slowest webhooks** in the kill and freeze scenarios are the ones held by the killed or
  frozen process: they wait for the ack wait (or for SIGCONT), while new webhooks resume
  within the times below. A standby normalizer takes over after ` + "`normalizer.pinned_ttl`" + `.
- **Partition:** while the cut-off node led IDV_RAW, ingest answers 503 until the other two
  elect a new leader (docs/decisions.md D25); a service connected to the cut-off node
  reconnects to another. Normalization pauses for the "longest pause" above. The test log's
  partition timeline (leaders of the streams and of the normalizer's consumer, its ack
  pending, every 2 s) shows the new leaders within a few seconds, and then webhooks handed to
  the normalizer staying unacknowledged (ack pending rising) for a while; in some runs the
  pause lasted as long as the partition. Not explained yet: the resume column (measured from
  the start of the partition, when the first webhooks still went through) understates it.
- **Full store:** every webhook sent while IDV_RAW refused writes was answered 503 and none
  200; the vendors' retries were accepted once the limit was lifted.
`

// scenarioOrder is the order of the report's rows (the tests run in file order).
var scenarioOrder = []string{"kill-all-in-one", "kill-each-service", "subscriber-outage", "full-store",
	"frozen-normalizer", "ordering-under-kills", "partition-cluster-node"}

func rank(name string) int {
	if i := slices.Index(scenarioOrder, name); i >= 0 {
		return i
	}
	return len(scenarioOrder)
}

func run(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return string(out)
}

// TestReportRenders checks the generated report without running the suite:
// every row and fault appears, and no format verb is left unfilled.
func TestReportRenders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "reliability.md")
	rows := []result{{Name: "kill-all-in-one", Stack: "all-in-one", Faults: "kill -9 idvbus ×2", Rate: 300,
		WebhooksPerV: 1, Duration: time.Minute, Accepted: 100, AcceptedRate: 99,
		Resumes: []resume{{What: "kill -9 idvbus", Ready: time.Second, Norm: 2 * time.Second, Deliver: 3 * time.Second}}}}
	if err := writeReport(path, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{"| kill-all-in-one | all-in-one | kill -9 idvbus ×2 | 300 webhooks/s for 1m0s | 100 (99/s) |",
		"| kill-all-in-one | kill -9 idvbus | 1.00 s | 2.00 s | 3.00 s |", "`nproc`"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "%!") {
		t.Errorf("report has an unfilled format verb:\n%s", out)
	}
}

package chaos_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natscontainer"
	"github.com/idvbus/idvbus/internal/natstest"
	"github.com/idvbus/idvbus/internal/normalize"
)

// TestPartitionClusterNode: the services (ingest, two normalizers, a
// notifier, as child processes) run against a three-node JetStream cluster
// in Docker with R3 streams; the node leading IDV_RAW is cut off its network
// (docker network disconnect: no route to the other nodes, and its published
// client port stops answering) and connected again later. The other two keep
// a quorum; nothing answered 200 may be lost or doubled. It skips without
// Docker (fails with IDVBUS_REQUIRE_DOCKER=1, as in CI).
func TestPartitionClusterNode(t *testing.T) {
	requireChaos(t)
	partition := pick(10*time.Second, 20*time.Second)
	d := partition + pick(15*time.Second, 25*time.Second)
	var cl *natscontainer.Cluster
	runScenario(t, scenario{name: "partition-cluster-node", stack: "3-node cluster (Docker), R3",
		rate: pick(50.0, 150.0), workers: pick(16, 48), duration: d,
		start: func(t *testing.T) *stack {
			cl = natscontainer.StartCluster(t, 3)
			s := &stack{dir: t.TempDir(), natsURL: cl.URL(),
				ingestURL: fmt.Sprintf("http://127.0.0.1:%d", portsCluster+2), byName: map[string]*proc{}}
			s.startServices(t, portsCluster, portSink, 2)
			return s
		},
		inject: func(t *testing.T, _ *stack, _ *sink, _ *vendor) []fault {
			waitUntil(every(1, d-partition)[0])
			var leader string
			natstest.Eventually(t, 60*time.Second, "a leader of "+bus.StreamRaw, func() bool {
				l, err := cl.StreamLeader(t.Context(), bus.StreamRaw)
				leader = l
				return err == nil && l != ""
			})
			node := cl.Server(leader)
			id := node.Container().GetContainerID()
			network := strings.Fields(docker(t, "inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", id))
			if len(network) != 1 {
				t.Fatalf("node %s is on networks %v, want one", leader, network)
			}
			f := fault{what: fmt.Sprintf("partition of the %s leader %s", bus.StreamRaw, partition), at: time.Now()}
			docker(t, "network", "disconnect", network[0], id)
			watchCluster(t, cl.URL(), partition)
			docker(t, "network", "connect", "--alias", leader, network[0], id)
			return []fault{f}
		}})
}

// watchCluster logs, every 2 s for d, who leads the streams and the
// normalizer's consumer and how far that consumer is, as seen through any
// reachable node: the timeline of the partition in the test log.
func watchCluster(t *testing.T, url string, d time.Duration) {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Logf("watch: %v", err)
		time.Sleep(d)
		return
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	end := time.Now().Add(d)
	start := time.Now()
	for time.Now().Before(end) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		var parts []string
		for _, name := range []string{bus.StreamRaw, bus.StreamEvents, "KV_" + bus.BucketState} {
			leader := "?"
			if st, err := js.Stream(ctx, name); err == nil && st.CachedInfo().Cluster != nil {
				leader = st.CachedInfo().Cluster.Leader
			}
			parts = append(parts, name+" "+leader)
		}
		if c, err := js.Consumer(ctx, bus.StreamRaw, normalize.Durable); err == nil {
			ci := c.CachedInfo()
			leader := "?"
			if ci.Cluster != nil {
				leader = ci.Cluster.Leader
			}
			parts = append(parts, fmt.Sprintf("consumer %s %s: pending %d, ack pending %d, waiting %d",
				normalize.Durable, leader, ci.NumPending, ci.NumAckPending, ci.NumWaiting))
		} else {
			parts = append(parts, "consumer: "+err.Error())
		}
		cancel()
		t.Logf("partition +%.0fs: %s", time.Since(start).Seconds(), strings.Join(parts, "; "))
		next := time.Now().Add(2 * time.Second)
		if next.After(end) {
			next = end
		}
		time.Sleep(time.Until(next)) // the sampling interval
	}
}

// docker runs the docker CLI (the command the issue names for a partition).
func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

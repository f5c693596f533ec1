package chaos_test

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natscontainer"
	"github.com/idvbus/idvbus/internal/natstest"
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
			time.Sleep(partition) // the partition's length
			docker(t, "network", "connect", "--alias", leader, network[0], id)
			return []fault{f}
		}})
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

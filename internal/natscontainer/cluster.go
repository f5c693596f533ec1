package natscontainer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	tcnetwork "github.com/testcontainers/testcontainers-go/network"
)

// clusterConfTemplate is the nats.conf of a cluster node. It is the image's
// nats.conf plus a cluster block; %s is the list of routes. The store is
// capped low because a test cluster holds little and three nodes share the
// host.
//
// no_advertise: the nodes know each other by Docker network addresses, which
// the host cannot reach. Without it a client would learn those addresses from
// the INFO gossip and waste its reconnect attempts on them; with it, clients
// use exactly the URLs they were given (the published loopback ports).
const clusterConfTemplate = `
server_name: $NATS_SERVER_NAME
listen: 0.0.0.0:4222
http: 0.0.0.0:8222
max_payload: 4MB
jetstream {
  store_dir: /data
  max_memory_store: 64MB
  max_file_store: 1GB
}
cluster {
  name: idvbus
  listen: 0.0.0.0:6222
  no_advertise: true
  routes: [%s]
}
`

// Cluster is a JetStream cluster of nats-server containers on a Docker network
// of its own. Node i is named n<i+1>, both as server_name and as its network
// alias, and the nodes route to each other by alias on port 6222.
type Cluster struct {
	// Servers are the nodes, in name order (n1, n2, ...).
	Servers []*Server
}

// StartCluster starts an n-node JetStream cluster (n >= 1; use 3 for R3
// streams), waits until every node has JetStream enabled and the nodes have
// elected a meta leader, and registers the removal of the containers and the
// network with tb.Cleanup. opts apply to every node; WithConfig,
// WithServerName and WithNetwork are set by StartCluster and must not be
// given. It skips like [Start] without Docker.
func StartCluster(tb testing.TB, n int, opts ...Option) *Cluster {
	tb.Helper()
	requireDocker(tb)
	if n < 1 {
		tb.Fatalf("natscontainer: a cluster needs at least one node, got %d", n)
	}
	ctx := tb.Context()
	nw, err := tcnetwork.New(ctx)
	if err != nil {
		tb.Fatalf("natscontainer: create network: %v", err)
	}
	// Registered before the containers' cleanups, so it runs after them
	// (last-in first-out): a network with containers attached cannot be removed.
	tb.Cleanup(func() {
		if err := nw.Remove(context.WithoutCancel(ctx)); err != nil {
			tb.Logf("natscontainer: remove network %s: %v", nw.Name, err)
		}
	})

	routes := make([]string, n)
	for i := range n {
		routes[i] = fmt.Sprintf("nats://%s:6222", nodeName(i))
	}
	conf := fmt.Sprintf(clusterConfTemplate, strings.Join(routes, ", "))

	start := time.Now()
	c := &Cluster{}
	for i := range n {
		name := nodeName(i)
		nodeOpts := append(append([]Option(nil), opts...),
			WithConfig(conf), WithServerName(name), WithNetwork(nw.Name, name))
		c.Servers = append(c.Servers, Start(tb, nodeOpts...))
	}
	deadline := time.Now().Add(newConfig(opts).startupTimeout)
	for {
		leader, err := c.MetaLeader(ctx)
		if err == nil && leader != "" {
			tb.Logf("natscontainer: %d-node cluster up, meta leader %s, after %s", n, leader, time.Since(start).Round(time.Millisecond))
			return c
		}
		if time.Now().After(deadline) {
			tb.Fatalf("natscontainer: no JetStream meta leader elected within %s (last error: %v)", newConfig(opts).startupTimeout, err)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("natscontainer: waiting for a meta leader: %v", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func nodeName(i int) string { return fmt.Sprintf("n%d", i+1) }

// URL is the comma-separated list of every node's client URL, the form
// nats.url takes: a client connects to any node and fails over to the others.
func (c *Cluster) URL() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// Server returns the node with the given server name (n1, n2, ...), or nil.
func (c *Cluster) Server(name string) *Server {
	for _, s := range c.Servers {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// MetaLeader asks the nodes' monitoring endpoints (/jsz) which server leads
// the JetStream meta group, and returns its name. Nodes that are down are
// skipped; "" with a nil error means no reachable node knows a leader.
func (c *Cluster) MetaLeader(ctx context.Context) (string, error) {
	var lastErr error
	for _, s := range c.Servers {
		var jsz struct {
			Meta *struct {
				Leader string `json:"leader"`
			} `json:"meta_cluster"`
		}
		if err := s.Monitor(ctx, "/jsz", &jsz); err != nil {
			lastErr = err
			continue
		}
		if jsz.Meta != nil && jsz.Meta.Leader != "" {
			return jsz.Meta.Leader, nil
		}
	}
	return "", lastErr
}

// StreamLeader returns the name of the server leading stream's Raft group in
// the global account, as reported by the reachable nodes' /jsz; "" with a nil
// error means no reachable node reports a leader (an election is under way).
func (c *Cluster) StreamLeader(ctx context.Context, stream string) (string, error) {
	var lastErr error
	for _, s := range c.Servers {
		var jsz struct {
			Accounts []struct {
				Streams []struct {
					Name    string `json:"name"`
					Cluster *struct {
						Leader string `json:"leader"`
					} `json:"cluster"`
				} `json:"stream_detail"`
			} `json:"account_details"`
		}
		if err := s.Monitor(ctx, "/jsz?accounts=true&streams=true", &jsz); err != nil {
			lastErr = err
			continue
		}
		for _, a := range jsz.Accounts {
			for _, st := range a.Streams {
				if st.Name == stream && st.Cluster != nil && st.Cluster.Leader != "" {
					return st.Cluster.Leader, nil
				}
			}
		}
	}
	return "", lastErr
}

// Monitor GETs path (e.g. "/jsz?streams=true") on the server's monitoring
// endpoint and decodes the JSON answer into v; a non-200 answer is an error.
func (s *Server) Monitor(ctx context.Context, path string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.MonitorURL()+path, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("natscontainer: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("natscontainer: GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("natscontainer: GET %s: %w", path, err)
	}
	return nil
}

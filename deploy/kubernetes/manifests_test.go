// Package kubernetes_test checks the manifests without a cluster (there is
// no kubectl here): every file parses, the kustomization lists them, the NATS
// config in the ConfigMap is accepted by the nats-server version we ship and
// matches deploy/cluster's accounts, the idvbus config is accepted by
// internal/config with exactly the variables the Deployments provide, and the
// probes, ports, replicas and security settings are the ones deploy/README.md
// describes.
//
//	go test ./deploy/kubernetes -run TestNATSAccountsMatchCluster -update
//
// copies deploy/cluster/nats/accounts.conf into nats.yaml's ConfigMap.
package kubernetes_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/idvbus/idvbus/internal/config"
)

var update = flag.Bool("update", false, "copy deploy/cluster/nats/accounts.conf into nats.yaml")

// object holds the fields of a manifest that the tests check; the rest is
// ignored.
type object struct {
	APIVersion string                `yaml:"apiVersion"`
	Kind       string                `yaml:"kind"`
	Metadata   struct{ Name string } `yaml:"metadata"`
	Data       map[string]string     `yaml:"data"`
	StringData map[string]string     `yaml:"stringData"`
	Resources  []string              `yaml:"resources"` // Kustomization
	Spec       struct {
		Replicas       *int           `yaml:"replicas"`
		ServiceName    string         `yaml:"serviceName"`
		ClusterIP      string         `yaml:"clusterIP"`
		Selector       map[string]any `yaml:"selector"`
		MaxUnavailable any            `yaml:"maxUnavailable"`
		MinAvailable   any            `yaml:"minAvailable"`
		Template       struct {
			Metadata struct{ Labels, Annotations map[string]string } `yaml:"metadata"`
			Spec     podSpec                                         `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct{ Name string } `yaml:"metadata"`
			Spec     struct {
				Resources struct{ Requests map[string]string } `yaml:"resources"`
			} `yaml:"spec"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot   *bool                 `yaml:"runAsNonRoot"`
		RunAsUser      *int64                `yaml:"runAsUser"`
		SeccompProfile struct{ Type string } `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name      string
		ConfigMap *struct{ Name string } `yaml:"configMap"`
		Secret    *struct {
			SecretName string `yaml:"secretName"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name  string
	Image string
	Args  []string
	Ports []struct {
		Name          string
		ContainerPort int `yaml:"containerPort"`
	}
	Env []struct {
		Name      string
		Value     string
		ValueFrom *struct {
			SecretKeyRef *struct{ Name, Key string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	}
	EnvFrom []struct {
		SecretRef *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Resources struct {
		Requests map[string]string
		Limits   map[string]string
	}
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct{ Drop []string }
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	StartupProbe   *probe `yaml:"startupProbe"`
}

type probe struct {
	HTTPGet struct {
		Path string
		Port string
	} `yaml:"httpGet"`
}

// manifests parses every YAML file of the directory, keyed by "Kind/name"
// (the kustomization by its file name).
func manifests(t *testing.T) (map[string]object, []string) {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	objs := map[string]object{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		for i := 0; ; i++ {
			var o object
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", f, i, err)
			}
			if o.APIVersion == "" || o.Kind == "" {
				t.Errorf("%s: document %d has no apiVersion or kind", f, i)
				continue
			}
			key := o.Kind + "/" + o.Metadata.Name
			if o.Kind == "Kustomization" {
				key = o.Kind
			} else if o.Metadata.Name == "" {
				t.Errorf("%s: %s without metadata.name", f, o.Kind)
			}
			if _, dup := objs[key]; dup {
				t.Errorf("%s: %s defined twice", f, key)
			}
			objs[key] = o
		}
	}
	return objs, files
}

func get(t *testing.T, objs map[string]object, key string) object {
	t.Helper()
	o, ok := objs[key]
	if !ok {
		t.Fatalf("no %s in the manifests", key)
	}
	return o
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	objs, files := manifests(t)
	k := get(t, objs, "Kustomization")
	for _, f := range files {
		if f == "kustomization.yaml" || f == "secrets.example.yaml" {
			continue
		}
		if !slices.Contains(k.Resources, f) {
			t.Errorf("kustomization.yaml does not list %s", f)
		}
	}
	for _, r := range k.Resources {
		if _, err := os.Stat(r); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	if slices.Contains(k.Resources, "secrets.example.yaml") {
		t.Error("secrets.example.yaml (placeholder secrets) must not be applied by the kustomization")
	}
}

// TestNATSAccountsMatchCluster: the ConfigMap carries deploy/cluster's
// accounts.conf unchanged, so the permissions tested there are the ones
// deployed here.
func TestNATSAccountsMatchCluster(t *testing.T) {
	want, err := os.ReadFile("../cluster/nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	objs, _ := manifests(t)
	got := get(t, objs, "ConfigMap/nats-config").Data["accounts.conf"]
	if got == string(want) {
		return
	}
	if !*update {
		t.Fatal("nats.yaml's accounts.conf differs from deploy/cluster/nats/accounts.conf; run: go test ./deploy/kubernetes -run TestNATSAccountsMatchCluster -update")
	}
	raw, err := os.ReadFile("nats.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const key = "  accounts.conf: |\n"
	start := bytes.Index(raw, []byte(key))
	end := bytes.Index(raw[start:], []byte("\n---\n"))
	if start < 0 || end < 0 {
		t.Fatal("nats.yaml: accounts.conf must be the last key of the ConfigMap, followed by ---")
	}
	var b bytes.Buffer
	b.Write(raw[:start+len(key)])
	for _, line := range strings.SplitAfter(strings.TrimSuffix(string(want), "\n"), "\n") {
		if strings.TrimSpace(line) != "" {
			b.WriteString("    ")
		}
		b.WriteString(strings.TrimRight(line, " \n") + "\n")
	}
	b.Write(raw[start+end+1:])
	if err := os.WriteFile("nats.yaml", b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log("nats.yaml updated")
}

// envVar matches a whole-value variable in a NATS config line ("key: $VAR").
var envVar = regexp.MustCompile(`:\s*\$([A-Z][A-Z0-9_]*)\b`)

// TestNATSConfigIsAccepted parses the ConfigMap's nats.conf with the
// nats-server version go.mod pins, TLS files and all, in the environment the
// StatefulSet gives it, and checks it against the StatefulSet and Services.
func TestNATSConfigIsAccepted(t *testing.T) {
	objs, _ := manifests(t)
	cm := get(t, objs, "ConfigMap/nats-config")
	sts := get(t, objs, "StatefulSet/nats")
	ctr := sts.Spec.Template.Spec.Containers[0]

	// The environment the StatefulSet provides, with test values; every
	// variable the files read must be in it.
	env := map[string]bool{}
	for _, e := range ctr.Env {
		env[e.Name] = true
	}
	for _, file := range []string{"nats.conf", "accounts.conf"} {
		for _, m := range envVar.FindAllStringSubmatch(cm.Data[file], -1) {
			if !env[m[1]] {
				t.Errorf("%s reads $%s, which the StatefulSet does not set", file, m[1])
			}
			t.Setenv(m[1], "test-"+strings.ToLower(m[1]))
		}
	}
	t.Setenv("NATS_SERVER_NAME", "nats-0")
	t.Setenv("CLUSTER_ADVERTISE", "nats-0.nats-headless:6222")

	// The TLS files the Secret nats-tls provides, generated; the paths are
	// the mount's.
	dir := t.TempDir()
	tlsDir := mountPath(t, ctr, "tls")
	writeTLS(t, dir)
	conf := strings.ReplaceAll(cm.Data["nats.conf"], tlsDir+"/", dir+"/")
	if conf == cm.Data["nats.conf"] {
		t.Fatalf("nats.conf does not use the TLS mount %s", tlsDir)
	}
	for name, data := range map[string]string{"nats.conf": conf, "accounts.conf": cm.Data["accounts.conf"]} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := server.ProcessConfigFile(filepath.Join(dir, "nats.conf"))
	if err != nil {
		t.Fatalf("nats.conf: %v", err)
	}

	if opts.ServerName != "nats-0" || !opts.JetStream {
		t.Errorf("server_name %q, jetstream %v", opts.ServerName, opts.JetStream)
	}
	if opts.TLSConfig == nil || opts.Cluster.TLSConfig == nil {
		t.Error("TLS must be on for clients and routes")
	}
	if !opts.Cluster.NoAdvertise || opts.Cluster.Advertise != "nats-0.nats-headless:6222" {
		t.Errorf("cluster: no_advertise %v, advertise %q", opts.Cluster.NoAdvertise, opts.Cluster.Advertise)
	}
	replicas := *sts.Spec.Replicas
	if replicas != 3 || len(opts.Routes) != replicas {
		t.Errorf("%d replicas, %d routes; want 3 and 3", replicas, len(opts.Routes))
	}
	for i, r := range opts.Routes {
		if want := fmt.Sprintf("nats-%d.%s:6222", i, sts.Spec.ServiceName); r.Host != want {
			t.Errorf("route %d: %s, want %s (StatefulSet pod DNS)", i, r.Host, want)
		}
	}
	if opts.MaxPayload < 2<<20 {
		t.Errorf("max_payload %d cannot hold a maximal webhook (D4)", opts.MaxPayload)
	}
	if mountPath(t, ctr, "data") != opts.StoreDir {
		t.Errorf("store_dir %s is not the PVC's mount", opts.StoreDir)
	}
	if pvc := sts.Spec.VolumeClaimTemplates; len(pvc) != 1 || pvc[0].Metadata.Name != "data" ||
		bytesOf(t, pvc[0].Spec.Resources.Requests["storage"]) <= opts.JetStreamMaxStore {
		t.Errorf("the PVC must be larger than max_file_store (%d)", opts.JetStreamMaxStore)
	}
	if len(opts.Accounts) < 2 || opts.SystemAccount != "SYS" {
		t.Errorf("accounts: %d, system account %q", len(opts.Accounts), opts.SystemAccount)
	}

	headless := get(t, objs, "Service/"+sts.Spec.ServiceName)
	if headless.Spec.ClusterIP != "None" {
		t.Errorf("Service %s must be headless", sts.Spec.ServiceName)
	}
	pdb := get(t, objs, "PodDisruptionBudget/nats")
	if fmt.Sprint(pdb.Spec.MaxUnavailable) != "1" {
		t.Errorf("nats PDB maxUnavailable %v, want 1 (R3 keeps a quorum of two)", pdb.Spec.MaxUnavailable)
	}
	selects(t, "PodDisruptionBudget/nats", pdb.Spec.Selector, sts.Spec.Template.Metadata.Labels)
	selects(t, "Service/"+sts.Spec.ServiceName, headless.Spec.Selector, sts.Spec.Template.Metadata.Labels)
	for path, p := range map[string]*probe{"startup": ctr.StartupProbe, "liveness": ctr.LivenessProbe, "readiness": ctr.ReadinessProbe} {
		if p == nil || !strings.HasPrefix(p.HTTPGet.Path, "/healthz") || p.HTTPGet.Port != "monitor" {
			t.Errorf("nats %s probe: want /healthz… on the monitor port, got %+v", path, p)
		}
	}
}

// TestServicesDeployments checks each Deployment against the idvbus config
// it runs with: the config loads with exactly the variables the Deployment
// provides, the probes hit /readyz and /healthz on the service's listen port,
// Prometheus is pointed at the ops port (ingest's ops_listen, never its
// webhook port), replicas and security settings are as documented.
func TestServicesDeployments(t *testing.T) {
	objs, _ := manifests(t)
	yml := get(t, objs, "ConfigMap/idvbus-config").Data["idvbus.yaml"]
	secrets := get(t, objs, "Secret/idvbus-secrets").StringData
	users := get(t, objs, "Secret/nats-users").StringData
	sts := get(t, objs, "StatefulSet/nats")

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "idvbus.yaml")
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, []byte("test"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name     string
		listen   func(config.Config) string
		ops      func(config.Config) string // where /metrics is
		replicas func(int) bool
		want     string
	}{
		{"ingest", func(c config.Config) string { return c.Ingest.Listen }, func(c config.Config) string { return c.Ingest.OpsListen },
			func(n int) bool { return n >= 2 }, "at least 2"},
		{"normalizer", func(c config.Config) string { return c.Normalizer.Listen }, func(c config.Config) string { return c.Normalizer.Listen },
			func(n int) bool { return n == 2 }, "2 (one active, one standby)"},
		{"notifier", func(c config.Config) string { return c.Notifier.Listen }, func(c config.Config) string { return c.Notifier.Listen },
			func(n int) bool { return n >= 2 }, "at least 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := get(t, objs, "Deployment/"+tc.name)
			pod := d.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			ctr := pod.Containers[0]
			if d.Spec.Replicas == nil || !tc.replicas(*d.Spec.Replicas) {
				t.Errorf("replicas %s, want %s", intOrUnset(d.Spec.Replicas), tc.want)
			}
			selects(t, "Deployment/"+tc.name, d.Spec.Selector, d.Spec.Template.Metadata.Labels)

			// The environment the Deployment gives: every key of the
			// Secrets it imports, and its own variables.
			env := config.Env{"IDVBUS_NATS_TLS_CA_FILE": caFile}
			for _, ef := range ctr.EnvFrom {
				if ef.SecretRef == nil || ef.SecretRef.Name != "idvbus-secrets" {
					t.Fatalf("envFrom %+v: only the Secret idvbus-secrets is expected", ef)
				}
				for k := range secrets {
					env[k] = testSecret(k)
				}
			}
			for _, e := range ctr.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					ref := e.ValueFrom.SecretKeyRef
					if ref.Name != "nats-users" {
						t.Errorf("env %s: Secret %s is not in secrets.example.yaml", e.Name, ref.Name)
					} else if _, ok := users[ref.Key]; !ok {
						t.Errorf("env %s: nats-users has no key %s", e.Name, ref.Key)
					}
					env[e.Name] = "test-password"
				case e.ValueFrom != nil:
					env[e.Name] = "1" // downward API
				default:
					env[e.Name] = e.Value
				}
			}
			delete(env, "GOMEMLIMIT")
			if env["IDVBUS_NATS_USER"] != tc.name {
				t.Errorf("IDVBUS_NATS_USER %q, want the service's own NATS user %q", env["IDVBUS_NATS_USER"], tc.name)
			}
			cfg, warnings, err := config.Load(cfgPath, env)
			if err != nil {
				t.Fatalf("idvbus.yaml with the Deployment's environment: %v", err)
			}
			if len(warnings) > 0 {
				t.Errorf("config warnings: %v", warnings)
			}

			// The real ca_file path is where the Deployment mounts the CA.
			var raw struct {
				NATS struct {
					URL string
					TLS struct {
						CAFile string `yaml:"ca_file"`
					}
				}
			}
			if err := yaml.Unmarshal([]byte(yml), &raw); err != nil {
				t.Fatal(err)
			}
			if mountPath(t, ctr, "nats-ca") != filepath.Dir(raw.NATS.TLS.CAFile) {
				t.Errorf("nats.tls.ca_file %s is not in the nats-ca mount", raw.NATS.TLS.CAFile)
			}
			if cfg.JetStream.Replicas != *sts.Spec.Replicas {
				t.Errorf("jetstream.replicas %d, the cluster has %d nodes", cfg.JetStream.Replicas, *sts.Spec.Replicas)
			}
			for i := range *sts.Spec.Replicas {
				if host := fmt.Sprintf("nats-%d.%s:4222", i, sts.Spec.ServiceName); !strings.Contains(raw.NATS.URL, host) {
					t.Errorf("nats.url does not list %s", host)
				}
			}

			port := ""
			ports := map[string]bool{}
			for _, p := range ctr.Ports {
				ports[fmt.Sprint(p.ContainerPort)] = true
				if p.Name == "http" {
					port = fmt.Sprint(p.ContainerPort)
				}
			}
			if !strings.HasSuffix(tc.listen(cfg), ":"+port) {
				t.Errorf("container port %s, but the service listens on %s", port, tc.listen(cfg))
			}
			ann := d.Spec.Template.Metadata.Annotations
			if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" {
				t.Errorf("pod annotations %v: want prometheus.io/scrape \"true\" and path /metrics", ann)
			}
			if mp := ann["prometheus.io/port"]; !ports[mp] || !strings.HasSuffix(tc.ops(cfg), ":"+mp) || strings.HasPrefix(tc.ops(cfg), "127.") {
				t.Errorf("prometheus.io/port %q: want a container port where the ops listener (%s) listens on every interface", mp, tc.ops(cfg))
			}
			if tc.name == "ingest" && strings.HasSuffix(cfg.Ingest.Listen, ":"+ann["prometheus.io/port"]) {
				t.Errorf("Prometheus scrapes the webhook port %s", cfg.Ingest.Listen)
			}
			if p := ctr.ReadinessProbe; p == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port != "http" {
				t.Errorf("readiness probe %+v, want /readyz on http", p)
			}
			if p := ctr.LivenessProbe; p == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port != "http" {
				t.Errorf("liveness probe %+v, want /healthz on http", p)
			}
			if !slices.Equal(ctr.Args, []string{"--config", mountPath(t, ctr, "config") + "/idvbus.yaml"}) {
				t.Errorf("args %v do not name the mounted config", ctr.Args)
			}
		})
	}
}

// TestPodsRunUnprivileged: every pod runs as a non-root user with no
// privilege, a read-only root filesystem and resource bounds (the images are
// FROM scratch: nothing in them needs more).
func TestPodsRunUnprivileged(t *testing.T) {
	objs, _ := manifests(t)
	n := 0
	for key, o := range objs {
		if o.Kind != "Deployment" && o.Kind != "StatefulSet" {
			continue
		}
		n++
		pod := o.Spec.Template.Spec
		if sc := pod.SecurityContext; sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 ||
			sc.SeccompProfile.Type != "RuntimeDefault" {
			t.Errorf("%s: pod must set runAsNonRoot, a non-zero runAsUser and the RuntimeDefault seccomp profile", key)
		}
		for _, c := range pod.Containers {
			sc := c.SecurityContext
			if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
				sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
				!slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) {
				t.Errorf("%s/%s: want allowPrivilegeEscalation false, readOnlyRootFilesystem true, drop ALL", key, c.Name)
			}
			if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
				t.Errorf("%s/%s: want cpu and memory requests and a memory limit", key, c.Name)
			}
			if !strings.HasPrefix(c.Image, "idvbus/") {
				t.Errorf("%s/%s: image %s is not one of idvbus's", key, c.Name, c.Image)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d workloads, want 4 (nats, ingest, normalizer, notifier)", n)
	}
}

// TestNotifierMayUseEverySubscribersConsumer: each subscriber configured in
// the manifests or in deploy/cluster has its consumer in the notifier's NATS
// permissions, or the notifier could not create or pull it.
func TestNotifierMayUseEverySubscribersConsumer(t *testing.T) {
	accounts, err := os.ReadFile("../cluster/nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range envVar.FindAllStringSubmatch(string(accounts), -1) {
		t.Setenv(m[1], "test")
	}
	opts, err := server.ProcessConfigFile("../cluster/nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	var allow []string
	for _, u := range opts.Users {
		if u.Username == "notifier" && u.Permissions != nil && u.Permissions.Publish != nil {
			allow = u.Permissions.Publish.Allow
		}
	}
	objs, _ := manifests(t)
	k8s := []byte(get(t, objs, "ConfigMap/idvbus-config").Data["idvbus.yaml"])
	clusterYAML, err := os.ReadFile("../cluster/idvbus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string][]byte{"kubernetes": k8s, "deploy/cluster": clusterYAML} {
		var cfg struct{ Subscribers []struct{ Name string } }
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Subscribers) == 0 {
			t.Errorf("%s: no subscriber to check", name)
		}
		for _, s := range cfg.Subscribers {
			c := "notify-" + s.Name
			for _, want := range []string{"$JS.API.CONSUMER.CREATE.IDV_EVENTS." + c, "$JS.API.CONSUMER.INFO.IDV_EVENTS." + c,
				"$JS.API.CONSUMER.MSG.NEXT.IDV_EVENTS." + c, "$JS.ACK.IDV_EVENTS." + c + ".>"} {
				if !slices.Contains(allow, want) {
					t.Errorf("%s: subscriber %s: the notifier may not publish %s", name, s.Name, want)
				}
			}
		}
	}
}

func intOrUnset(p *int) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func mountPath(t *testing.T, c container, volume string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return m.MountPath
		}
	}
	t.Fatalf("container %s does not mount volume %s", c.Name, volume)
	return ""
}

// selects checks that a selector (matchLabels or a Service's plain map)
// matches labels.
func selects(t *testing.T, what string, sel map[string]any, labels map[string]string) {
	t.Helper()
	m := sel
	if ml, ok := sel["matchLabels"].(map[string]any); ok {
		m = ml
	}
	if len(m) == 0 {
		t.Errorf("%s: empty selector", what)
	}
	for k, v := range m {
		if labels[k] != fmt.Sprint(v) {
			t.Errorf("%s: selector %s=%v does not match the pods' labels %v", what, k, v, labels)
		}
	}
}

// bytesOf reads a Kubernetes quantity in Gi or Mi.
func bytesOf(t *testing.T, q string) int64 {
	t.Helper()
	var n int64
	switch {
	case strings.HasSuffix(q, "Gi"):
		_, err := fmt.Sscanf(q, "%dGi", &n)
		if err == nil {
			return n << 30
		}
	case strings.HasSuffix(q, "Mi"):
		_, err := fmt.Sscanf(q, "%dMi", &n)
		if err == nil {
			return n << 20
		}
	}
	t.Fatalf("quantity %q: only Gi and Mi are read here", q)
	return 0
}

// testSecret is a value the config accepts for the variable name: subscriber
// secrets must be Standard Webhooks secrets.
func testSecret(name string) string {
	if strings.HasSuffix(name, "WHSEC") {
		return "whsec_" + base64.StdEncoding.EncodeToString([]byte("kubernetes-manifest-test-secret"))
	}
	return "test-" + strings.ToLower(name)
}

// writeTLS writes a CA and a server certificate signed by it as ca.crt,
// tls.crt and tls.key: the cert-manager layout of the Secret nats-tls.
func writeTLS(t *testing.T, dir string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idvbus test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"},
		DNSNames:  []string{"nats", "nats-headless", "*.nats-headless"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	caCert, _ := x509.ParseCertificate(caDER)
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.crt": {Type: "CERTIFICATE", Bytes: caDER}, "tls.crt": {Type: "CERTIFICATE", Bytes: leafDER},
		"tls.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

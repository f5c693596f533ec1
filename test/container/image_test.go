package container_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcnetwork "github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/idvbus/idvbus/internal/bus"
	"github.com/idvbus/idvbus/internal/natscontainer"
	"github.com/idvbus/idvbus/internal/natstest"
)

// TestIngestImageFromScratch builds the ingest image exactly as `make images`
// does (deploy/ingest/Dockerfile, a CGO_ENABLED=0 binary, FROM scratch, non-root)
// and runs it next to the nats image on a private network, with the config
// mounted read-only and its secret from the environment.
func TestIngestImageFromScratch(t *testing.T) {
	nw, err := tcnetwork.New(t.Context())
	if err != nil {
		t.Fatalf("network: %v", err)
	}
	testcontainers.CleanupNetwork(t, nw)
	srv := natscontainer.Start(t, natscontainer.WithNetwork(nw.Name, "nats"))

	buildCtx := t.TempDir()
	root := repoRoot(t)
	// The ingest binary and the image's HEALTHCHECK probe, as `make images` builds them.
	build := exec.Command("go", "build", "-trimpath", "-o", buildCtx+string(filepath.Separator), "./cmd/ingest", "./tools/healthcheck")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	copyFile(t, filepath.Join(root, "deploy", "ingest", "Dockerfile"), filepath.Join(buildCtx, "Dockerfile"))
	ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		ca = nil // the image only needs it for TLS to NATS; an empty bundle still builds
	}
	if err := os.WriteFile(filepath.Join(buildCtx, "ca-certificates.crt"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	const cfg = `
nats: {url: "nats://nats:4222"}
sources:
  - name: credas
    vendor: credas
    auth: {type: header, header: webhookAuth, secrets: ["${CREDAS_TOKEN}"]}
`
	ctr, err := testcontainers.Run(t.Context(), "",
		testcontainers.WithDockerfile(testcontainers.FromDockerfile{Context: buildCtx, Repo: "idvbus/ingest", Tag: "containertest"}),
		tcnetwork.WithNetwork(nil, nw),
		testcontainers.WithEnv(map[string]string{"CREDAS_TOKEN": "tok-container"}),
		testcontainers.WithFiles(testcontainers.ContainerFile{Reader: strings.NewReader(cfg), ContainerFilePath: "/etc/idvbus/idvbus.yaml", FileMode: 0o444}),
		testcontainers.WithExposedPorts("8080/tcp"),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/readyz").WithPort("8080/tcp").WithStartupTimeout(60*time.Second)),
	)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatalf("ingest container: %v", err)
	}
	base, err := ctr.PortEndpoint(t.Context(), "8080/tcp", "http")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"UpdateType":8,"Payload":"{\"EntityId\":\"e-img\"}"}`
	for _, tc := range []struct {
		token string
		want  int
	}{{"wrong", 401}, {"tok-container", 200}} {
		req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/credas", strings.NewReader(body))
		req.Header.Set("webhookAuth", tc.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("token %q: %d, want %d", tc.token, resp.StatusCode, tc.want)
		}
	}
	if msgs := natstest.ReadStream(t, srv.URL(), bus.StreamRaw); len(msgs) != 1 || string(msgs[0].Data) != body {
		t.Fatalf("IDV_RAW holds %d messages, want the one accepted body", len(msgs))
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}

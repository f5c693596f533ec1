package natscontainer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Image is the nats-server image the tests run, built from deploy/nats.
const Image = imageRepo + ":" + imageTag

const (
	imageRepo = "idvbus/nats"
	imageTag  = "local"

	// natsServerModule is built at the version go.mod pins, so the container
	// runs the same server as the in-process tests.
	natsServerModule = "github.com/nats-io/nats-server/v2"

	// contextLabel holds a digest of what the image was built from (Dockerfile,
	// nats.conf, tools/healthcheck, nats-server version). An image whose label differs is stale and
	// is rebuilt, so an edit to deploy/nats reaches the tests without anyone
	// remembering to delete the old image.
	contextLabel = "io.idvbus.nats.context-digest"

	// healthcheckPkg is the image's HEALTHCHECK probe (scratch has no shell).
	healthcheckPkg = "./tools/healthcheck"
)

// EnvRebuildImages is the variable that, set to "1", rebuilds the image even if a current one exists.
const EnvRebuildImages = "IDVBUS_REBUILD_IMAGES"

// The image is made ready once per test binary. A failed attempt is not
// remembered, so the next test tries again rather than inheriting the error.
var (
	imageMu    sync.Mutex
	imageReady bool
)

// ensureImage makes sure Image exists and matches deploy/nats, building it if
// needed.
func ensureImage(ctx context.Context, tb testing.TB) error {
	tb.Helper()
	imageMu.Lock()
	defer imageMu.Unlock()
	if imageReady {
		return nil
	}

	root, err := repoRoot()
	if err != nil {
		return err
	}
	src := filepath.Join(root, "deploy", "nats")
	dockerfile, err := os.ReadFile(filepath.Join(src, "Dockerfile"))
	if err != nil {
		return fmt.Errorf("read Dockerfile: %w", err)
	}
	natsConf, err := os.ReadFile(filepath.Join(src, "nats.conf"))
	if err != nil {
		return fmt.Errorf("read nats.conf: %w", err)
	}
	healthcheck, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(healthcheckPkg), "main.go"))
	if err != nil {
		return fmt.Errorf("read healthcheck: %w", err)
	}
	version, err := natsServerVersion(ctx, root)
	if err != nil {
		return err
	}
	digest := contextDigest(dockerfile, natsConf, healthcheck, version)

	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return fmt.Errorf("docker client: %w", err)
	}
	defer cli.Close()

	oldID := ""
	switch res, err := cli.ImageInspect(ctx, Image); {
	case errdefs.IsNotFound(err):
		tb.Logf("natscontainer: image %s not found, building it", Image)
	case err != nil:
		return fmt.Errorf("inspect image %s: %w", Image, err)
	default:
		oldID = res.ID
		var got string
		if res.Config != nil {
			got = res.Config.Labels[contextLabel]
		}
		switch {
		case os.Getenv(EnvRebuildImages) == "1":
			tb.Logf("natscontainer: %s=1, rebuilding %s", EnvRebuildImages, Image)
		case got == digest:
			imageReady = true
			return nil
		default:
			// Stale, or built outside the tests (make images) without the
			// label: nothing proves it matches deploy/nats, so build it.
			tb.Logf("natscontainer: %s is stale (deploy/nats or the nats-server version changed), rebuilding", Image)
		}
	}

	if err := buildImage(ctx, tb, root, dockerfile, natsConf, version, digest); err != nil {
		return err
	}
	imageReady = true

	// The old image is now untagged; remove it so rebuilds do not pile up.
	// It fails harmlessly while a container of another test binary uses it.
	if oldID != "" {
		if res, err := cli.ImageInspect(ctx, Image); err == nil && res.ID != oldID {
			_, _ = cli.ImageRemove(ctx, oldID, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
	return nil
}

// buildImage builds a static nats-server into a fresh build context next to the
// Dockerfile and nats.conf, and builds Image from it. Nothing is pulled: the
// Dockerfile is FROM scratch.
func buildImage(ctx context.Context, tb testing.TB, root string, dockerfile, natsConf []byte, version, digest string) error {
	tb.Helper()
	dir, err := os.MkdirTemp("", "idvbus-nats-image-")
	if err != nil {
		return fmt.Errorf("build context: %w", err)
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	// One build for both binaries; -o DIR/ names them nats-server and healthcheck.
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w",
		"-o", dir+string(filepath.Separator), natsServerModule, healthcheckPkg)
	cmd.Dir = root
	// CGO_ENABLED=0: a cgo binary needs the dynamic loader, which scratch lacks.
	// GOOS=linux: the binary runs in a Linux container whatever the host is.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s %s: %w\n%s", natsServerModule, healthcheckPkg, err, out)
	}
	goBuild := time.Since(start)

	for name, data := range map[string][]byte{"Dockerfile": dockerfile, "nats.conf": natsConf} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("build context: %w", err)
		}
	}

	p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(tclog.TestLogger(tb)))
	if err != nil {
		return fmt.Errorf("docker provider: %w", err)
	}
	defer p.Close()

	start = time.Now()
	var buildLog bytes.Buffer
	_, err = p.BuildImage(ctx, &testcontainers.ContainerRequest{FromDockerfile: testcontainers.FromDockerfile{
		Context:        dir,
		Repo:           imageRepo,
		Tag:            imageTag,
		KeepImage:      true,
		BuildLogWriter: &buildLog,
		BuildOptionsModifier: func(o *client.ImageBuildOptions) {
			o.Labels = map[string]string{contextLabel: digest}
		},
	}})
	if err != nil {
		return fmt.Errorf("docker build %s: %w\n%s", Image, err, buildLog.String())
	}
	tb.Logf("natscontainer: built %s (nats-server %s): go build %s, docker build %s",
		Image, version, goBuild.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	return nil
}

// natsServerVersion reports the nats-server module version (or its
// replacement) that go.mod selects.
func natsServerVersion(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m",
		"-f", "{{with .Replace}}{{.Path}}@{{.Version}}{{else}}{{.Version}}{{end}}", natsServerModule)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go list -m %s: %w\n%s", natsServerModule, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// contextDigest is the SHA-256 of the image's inputs, concatenated in this
// order. `make images` computes the same with sha256sum and labels its nats
// image with it, so the tests reuse that image instead of rebuilding it.
func contextDigest(dockerfile, natsConf, healthcheck []byte, version string) string {
	h := sha256.New()
	for _, part := range [][]byte{dockerfile, natsConf, healthcheck, []byte(version + "\n")} {
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// repoRoot walks up from the working directory (a test runs in its package
// directory) to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("repo root: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repo root: no go.mod above the working directory")
		}
		dir = parent
	}
}

package chaos_test

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds a child's start until it answers ready: generous, for a
// loaded 2-core machine (an all-in-one recovering its store after kill -9
// replays its JetStream files first).
const startTimeout = 60 * time.Second

// proc is one child process (a service binary or nats-server) that the suite
// can kill -9, freeze (SIGSTOP) and start again with the same arguments and
// environment. Its stdout and stderr go to one log file, appended to across
// restarts, which the log scan reads.
type proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	// ready is the URL that answers 200 once the process is ready.
	ready string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// newProc describes a child; env is added to a minimal environment without
// any IDVBUS_ variable of the test's own (they would reach the config).
func newProc(t *testing.T, dir, name, bin string, args, env []string, ready string) *proc {
	t.Helper()
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	p := &proc{name: name, bin: filepath.Join(binDir, bin), args: args,
		env: append(base, env...), logPath: filepath.Join(dir, name+".log"), ready: ready}
	t.Cleanup(func() { p.kill(t) })
	return p
}

// start starts the process and waits until its ready URL answers 200.
func (p *proc) start(t *testing.T) {
	t.Helper()
	p.startNoWait(t)
	p.waitReady(t)
}

func (p *proc) startNoWait(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		t.Fatalf("%s: already running", p.name)
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("%s: start: %v", p.name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
}

// waitReady polls the ready URL until it answers 200.
func (p *proc) waitReady(t *testing.T) {
	t.Helper()
	if p.ready == "" {
		return
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	for {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		select {
		case <-done:
			t.Fatalf("%s exited before it was ready; log:\n%s", p.name, tail(p.logPath, 20))
		default:
		}
		if resp, err := client.Get(p.ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s; log:\n%s", p.name, startTimeout, tail(p.logPath, 20))
		}
		time.Sleep(50 * time.Millisecond) // poll interval, not a wait for an event
	}
}

// kill sends SIGKILL (a crash: no shutdown code runs) and waits for the exit.
// Killing a process that is not running does nothing.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// term sends SIGTERM (a clean stop) and waits for the exit; after timeout it
// kills the process and fails the test: a service must stop within its
// shutdown timeouts.
func (p *proc) term(t *testing.T, timeout time.Duration) {
	t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		t.Errorf("%s did not stop within %s of SIGTERM", p.name, timeout)
	}
}

// signal sends sig (SIGSTOP, SIGCONT) to the running process.
func (p *proc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		t.Fatalf("%s: not running", p.name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
}

// tail returns the last n lines of a file, for a failure message.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

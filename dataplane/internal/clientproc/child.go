package clientproc

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// RunChild, in a child process started by [Start], runs its scenario from
// scenarios (after setup, if not nil) and exits: 0 when the scenario
// returns nil, 1 when it fails, 2 for an unknown scenario or bad parameters.
// In any other process it returns at once. Call it first thing in TestMain
// or in an init function.
func RunChild[P any](scenarios map[string]func(P) error, setup func()) {
	name := os.Getenv(envScenario)
	if name == "" {
		return
	}
	os.Exit(runChild(name, scenarios, setup))
}

func runChild[P any](name string, scenarios map[string]func(P) error, setup func()) int {
	var p P
	if err := json.Unmarshal([]byte(os.Getenv(envParams)), &p); err != nil {
		fmt.Fprintln(os.Stderr, "bad params:", err)
		return 2
	}
	run, ok := scenarios[name]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown scenario", name)
		return 2
	}
	if setup != nil {
		setup()
	}
	go readParent()
	if err := run(p); err != nil {
		fmt.Fprintf(os.Stderr, "scenario %s: %v\n", name, err)
		return 1
	}
	return 0
}

// Emit reports an event to the parent test (see [Proc.Expect]).
func Emit(event string, v any) {
	b, _ := json.Marshal(v)
	fmt.Printf("%s%s %s\n", eventPrefix, event, b)
}

var parent = struct {
	mu    sync.Mutex
	heard map[string]chan struct{}
	said  map[string]bool
	eof   chan struct{}
}{heard: map[string]chan struct{}{}, said: map[string]bool{}, eof: make(chan struct{})}

func heardLocked(line string) chan struct{} {
	ch, ok := parent.heard[line]
	if !ok {
		ch = make(chan struct{})
		parent.heard[line] = ch
	}
	return ch
}

func readParent() {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		parent.mu.Lock()
		if !parent.said[line] {
			parent.said[line] = true
			close(heardLocked(line))
		}
		parent.mu.Unlock()
	}
	close(parent.eof)
}

// Heard is closed once the parent has said line ([Proc.Say]).
func Heard(line string) <-chan struct{} {
	parent.mu.Lock()
	defer parent.mu.Unlock()
	return heardLocked(line)
}

// WaitParent blocks until the parent closes the child's stdin
// ([Proc.CloseStdin], [Proc.Kill], [Proc.Finish]).
func WaitParent() { <-parent.eof }

// Until polls cond every 10 ms for up to d.
func Until(d time.Duration, what string, cond func() bool) error {
	timeout := time.After(d)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-timeout:
			return fmt.Errorf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
	return nil
}

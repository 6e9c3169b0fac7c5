package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

// stateFile is the per-instance record that lets a new Provisioner (after
// `orbit serve` restarted) find and adopt a node that is still running.
const stateFile = "instance.json"

// state is what instance.json holds. The file is written atomically
// (temp file + rename) with mode 0600: it carries the admin token, which the
// provisioner needs to health-check an adopted node before any Apply.
type state struct {
	// Running: the instance should run (Apply), false after Stop.
	Running bool `json:"running"`
	// PID of the node last started; 0 when none.
	PID            int       `json:"pid"`
	GRPCPort       int       `json:"grpcPort"`
	AdminPort      int       `json:"adminPort"`
	Generation     int64     `json:"generation"`
	Flush          string    `json:"flush"`
	RetentionHours int       `json:"retentionHours"`
	MaxTopics      int       `json:"maxTopics"`
	MaxGroups      int       `json:"maxGroups"`
	MaxTPS         int       `json:"maxTps"`
	AdminToken     string    `json:"adminToken"`
	Restarts       int       `json:"restarts"`
	StartedAt      time.Time `json:"startedAt"`
}

var validID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// checkID keeps instance IDs usable as a single path element.
func checkID(id string) error {
	if !validID.MatchString(id) {
		return fmt.Errorf("invalid instance id %q", id)
	}
	return nil
}

func readState(dir string) (state, error) {
	var st state
	raw, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("read %s: %w", filepath.Join(dir, stateFile), err)
	}
	return st, nil
}

func writeState(dir string, st state) error {
	raw, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFile+".tmp*")
	if err != nil {
		return fmt.Errorf("write instance state: %w", err)
	}
	_, werr := tmp.Write(append(raw, '\n'))
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write instance state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write instance state: %w", err)
	}
	return nil
}

func stateExists(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, stateFile))
	return !errors.Is(err, fs.ErrNotExist)
}

package instances

import (
	"errors"
	"fmt"
)

// Sentinel errors; match with errors.Is. The REST layer maps each to one
// status. Bad input is an *iam.ValidationError (400) naming the JSON field.
var (
	// ErrNotFound: no such instance in the caller's account (404). Another
	// account's instance is reported the same way.
	ErrNotFound = errors.New("instance not found")
	// ErrQuotaExceeded: the account has as many instances as it may (422).
	ErrQuotaExceeded = errors.New("instance quota exceeded")
	// ErrWrongState: the instance's status does not allow the change (409).
	// The error returned is a *StateError that matches it.
	ErrWrongState = errors.New("instance is in the wrong state")
)

// StateError says which operation the instance's status refused.
type StateError struct {
	Op     string // "start", "stop", "update", ...
	Status Status
}

func (e *StateError) Error() string {
	return fmt.Sprintf("cannot %s an instance that is %s", e.Op, e.Status)
}

// Is makes errors.Is(err, ErrWrongState) match.
func (e *StateError) Is(target error) bool { return target == ErrWrongState }

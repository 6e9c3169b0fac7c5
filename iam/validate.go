package iam

import (
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/orbitmq/orbit/iam/password"
)

// Field names in ValidationError match the REST API's JSON fields.
const (
	fieldEmail       = "email"
	fieldPassword    = "password"
	fieldName        = "name"
	fieldAccountName = "accountName"
	fieldRole        = "role"
	fieldExpiresAt   = "expiresAt"
)

const (
	maxNameLen  = 100
	maxEmailLen = 254 // RFC 5321 path limit
	// maxPasswordBytes is password.MaxLength runes of up to 4 UTF-8 bytes.
	maxPasswordBytes = 4 * password.MaxLength
)

// Paging bounds for List calls.
const (
	DefaultListLimit = 50
	MaxListLimit     = 200
)

func invalid(field, msg string) error { return &ValidationError{Field: field, Message: msg} }

// normalizeEmail lower-cases and trims an address for storage and lookup.
func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// checkEmail validates a normalised address: a bare addr-spec with a dotted
// domain. net/mail alone would also accept "Bob <bob@x>" and "bob@localhost".
func checkEmail(email string) error {
	if email == "" {
		return invalid(fieldEmail, "is required")
	}
	if len(email) > maxEmailLen {
		return invalid(fieldEmail, "is too long")
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return invalid(fieldEmail, "is not a valid email address")
	}
	_, domain, _ := strings.Cut(email, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return invalid(fieldEmail, "is not a valid email address")
	}
	return nil
}

// checkName validates a trimmed display name of 1..100 characters.
func checkName(field, name string) error {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		return invalid(field, "is required")
	case n > maxNameLen:
		return invalid(field, "must be at most 100 characters")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return invalid(field, "must not contain control characters")
		}
	}
	return nil
}

func checkPassword(pw, email string) error {
	if err := password.Check(pw, email); err != nil {
		return invalid(fieldPassword, err.Error())
	}
	return nil
}

func checkRole(r Role) error {
	if !r.Valid() {
		return invalid(fieldRole, "must be one of owner, admin, developer, viewer")
	}
	return nil
}

func clampList(opt ListOptions) ListOptions {
	if opt.Limit <= 0 {
		opt.Limit = DefaultListLimit
	}
	if opt.Limit > MaxListLimit {
		opt.Limit = MaxListLimit
	}
	return opt
}

package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/crypt"
	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// httpError is an error that knows its response.
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, msg string) error {
	return &httpError{status: http.StatusBadRequest, code: code, msg: msg}
}

// fail answers a failed request. Every error of package crypt names the
// record and field, never a value, so err may be logged as it is.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var access *crypt.AccessError
	var field *crypt.FieldError
	switch {
	case errors.As(err, &he):
		writeError(w, he.status, he.code, he.msg)

	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no such contact in this tenant")

	case errors.Is(err, crypt.ErrNoAccess):
		// The role table, enforced by keys: this process holds no KEK for
		// the class, so it cannot compute its index values or encrypt it.
		classes := "a class it needs"
		if errors.As(err, &access) {
			classes = "class " + strings.Join(access.Classes, ", ")
		} else if errors.As(err, &field) {
			classes = "class " + field.Class
		}
		writeError(w, http.StatusForbidden, "no_access",
			"this service runs as role "+string(s.cfg.Role)+" and holds no key for "+classes)

	case errors.Is(err, crypt.ErrAlreadyEncrypted) && errors.As(err, &field):
		writeError(w, http.StatusBadRequest, "invalid_field",
			field.Field+" looks like a fieldcrypt ciphertext (it starts with \"fc1:\"); such values are refused")

	case errors.Is(err, keyring.ErrKEKUnavailable):
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "KEK unavailable", slog.String("path", r.URL.Path), slog.Any("err", err))
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "kek_unavailable", "the key service is unreachable; retry later")

	case errors.Is(err, crypt.ErrKeyDestroyed), errors.Is(err, keyring.ErrScopeShredded):
		// A read meets a destroyed key or a shredded tenant's tombstone; a
		// search or a write meets the tombstone (and creates nothing).
		writeError(w, http.StatusGone, "keys_destroyed", "this tenant's or record's keys were destroyed: its data is permanently unreadable")

	case errors.Is(err, keyring.ErrRollback):
		// The keyset store holds an older copy of a keyset than this
		// process or the rollback anchor has seen, or lost one: a writer
		// of the CRM database put back a backup (undoing a shred, a key
		// destruction or a rotation) or deleted it. Nothing is served from
		// it; an operator must look. The answer names no keyset.
		s.log.LogAttrs(r.Context(), slog.LevelError, "keyset rollback refused",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "keys_rolled_back",
			"this tenant's keys in the database are older than keys already seen (restored or deleted): they are refused until an operator restores them")

	case errors.Is(err, crypt.ErrDecrypt), errors.Is(err, crypt.ErrKeyNotFound), errors.Is(err, crypt.ErrMalformed),
		errors.Is(err, crypt.ErrNotEncrypted), errors.Is(err, crypt.ErrKeyDisabled),
		errors.Is(err, keyring.ErrCorruptKeyset), errors.Is(err, keyring.ErrKEKNotAllowed):
		// Tampered, moved between rows or tenants, or under a retired key.
		s.log.LogAttrs(r.Context(), slog.LevelError, "stored data does not decrypt",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "undecryptable",
			"the stored record does not decrypt for this tenant and ID (tampered with, moved, or under a retired key)")

	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		writeError(w, 499, "canceled", "request canceled")

	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("path", r.URL.Path), slog.Any("err", err))
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// errorBody is every error response: {"error": {"code": ..., "message": ...}}.
// code is stable and meant for programs; message is for people. Neither
// ever holds a field value or key material.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store") // responses hold personal data
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing left to tell it
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here; allowed: "+allow)
	}
}

// decodeJSON reads the JSON object of a request body into v, refusing
// unknown fields, trailing data, bodies over maxBody and bodies that are
// not UTF-8.
//
// encoding/json replaces each invalid UTF-8 byte of a string with U+FFFD,
// so a name sent in Latin-1 would be stored altered, and no check of the
// decoded strings could tell: the body is checked before decoding, as
// JSON text must be UTF-8 (RFC 8259, section 8.1).
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &httpError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			msg: "send the body as application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &httpError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			msg: fmt.Sprintf("request body is larger than %d bytes", maxBody)}
	case err != nil:
		return badRequest("invalid_json", "request body could not be read")
	case !utf8.Valid(body):
		return badRequest("invalid_json", "request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		if dec.Decode(new(json.RawMessage)) != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return badRequest("invalid_json", "request body is empty; want a JSON object")
	}
	// encoding/json's messages name fields and types, not values.
	return badRequest("invalid_json", "request body: "+err.Error())
}

var (
	tenantPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	idPattern     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// pathTenant returns the {tenant} of the request's path, checked.
func pathTenant(r *http.Request) (string, error) {
	t := r.PathValue("tenant")
	if !tenantPattern.MatchString(t) {
		return "", badRequest("invalid_tenant", "tenant must be 1 to 63 characters of a-z, 0-9, '-' and '_', starting with a letter or digit")
	}
	return t, nil
}

// pathIDs returns the {tenant} and {id} of the request's path, checked.
func pathIDs(r *http.Request) (tenant, id string, err error) {
	if tenant, err = pathTenant(r); err != nil {
		return "", "", err
	}
	id = r.PathValue("id")
	if !idPattern.MatchString(id) {
		return "", "", badRequest("invalid_id", "contact ID must be 1 to 64 characters of A-Z, a-z, 0-9, '-' and '_'")
	}
	return tenant, id, nil
}

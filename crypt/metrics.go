package crypt

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/fieldcrypt/fieldcrypt/keyring"
)

// failureCounter counts failed Encrypt and Decrypt calls by operation, class
// and reason. Only failures touch it, so the hot path pays nothing.
func newFailureCounter(mp metric.MeterProvider) metric.Int64Counter {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	c, err := mp.Meter("github.com/fieldcrypt/fieldcrypt/crypt").Int64Counter("fieldcrypt.crypt.failures",
		metric.WithDescription("Failed field encryptions and decryptions, by operation, class and reason."),
		metric.WithUnit("{failure}"))
	if err != nil {
		otel.Handle(err)
	}
	return c
}

// reasons maps sentinels to the reason attribute of the failure metric.
var reasons = []struct {
	err    error
	reason string
}{
	{ErrDecrypt, "decrypt"},
	{ErrMalformed, "malformed"},
	{ErrNotEncrypted, "not_encrypted"},
	{ErrAlreadyEncrypted, "already_encrypted"},
	{ErrKeyNotFound, "key_not_found"},
	{ErrKeyDisabled, "key_disabled"},
	{ErrKeyDestroyed, "key_destroyed"},
	{ErrNoAccess, "no_access"},
	{keyring.ErrKEKUnavailable, "kek_unavailable"},
	{ErrMissingScope, "missing_scope"},
	{ErrMissingIdentity, "missing_identity"},
}

func (e *Encryptor) countFailure(ctx context.Context, op string, err error) {
	if err == nil || e.failures == nil {
		return
	}
	reason := "other"
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			reason = r.reason
			break
		}
	}
	class := ""
	var fe *FieldError
	var ae *AccessError
	switch {
	case errors.As(err, &fe):
		class = fe.Class
	case errors.As(err, &ae) && len(ae.Classes) > 0:
		class = ae.Classes[0]
	}
	e.failures.Add(ctx, 1, metric.WithAttributes(
		attribute.String("op", op), attribute.String("class", class), attribute.String("reason", reason)))
}

package awskms_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

// FuzzKeyARN feeds arbitrary KEK URIs to KeyARN: it never panics; a URI it
// accepts is URI(arn) exactly, for a kms ARN with a region and a 12-digit
// account naming a key or an alias; and one it refuses is a *kms.Error of
// CodeInvalidArgument naming the URI.
func FuzzKeyARN(f *testing.F) {
	for _, s := range []string{
		"aws-kms://arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"aws-kms://arn:aws:kms:eu-west-1:111122223333:alias/pii", "aws-kms://arn:aws-cn:kms:cn-north-1:111122223333:alias/a/b",
		"aws-kms://arn:aws:kms::111122223333:key/k", "aws-kms://arn:aws:s3:eu-west-1:111122223333:key/k",
		"aws-kms://arn:aws:kms:eu-west-1:11112222333:key/k", "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/",
		"aws-kms://arn:aws:kms:eu-west-1:111122223333:key/a:b", "aws-kms://arn:aws:kms:eu-west-1:111122223333:other/x",
		"aws-kms://key/k1", "aws-kms://alias/pii", "aws-kms://", "", "arn:aws:kms:eu-west-1:111122223333:key/k",
		"aws-kms://arn:aws:kms:eu-west-1:١١١١٢٢٢٢٣٣٣٣:key/k", "aws-kms://arn:::::",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		arn, err := awskms.KeyARN(uri)
		if err != nil {
			var ke *kms.Error
			if !errors.As(err, &ke) || ke.Code != kms.CodeInvalidArgument || ke.KeyURI != uri || ke.Backend != awskms.Scheme {
				t.Fatalf("KeyARN(%q) err = %#v, want a *kms.Error of CodeInvalidArgument naming the URI", uri, err)
			}
			return
		}
		if awskms.URI(arn) != uri {
			t.Fatalf("KeyARN(%q) = %q, whose URI is %q", uri, arn, awskms.URI(arn))
		}
		parts := strings.SplitN(arn, ":", 6)
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "kms" || parts[3] == "" || len(parts[4]) != 12 ||
			!strings.HasPrefix(parts[5], "key/") && !strings.HasPrefix(parts[5], "alias/") {
			t.Fatalf("KeyARN(%q) accepted %q", uri, arn)
		}
		for _, c := range parts[4] {
			if c < '0' || c > '9' {
				t.Fatalf("KeyARN(%q) accepted account %q", uri, parts[4])
			}
		}
	})
}

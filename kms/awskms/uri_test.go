package awskms_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fieldcrypt/fieldcrypt/kms"
	"github.com/fieldcrypt/fieldcrypt/kms/awskms"
)

func TestKeyARN(t *testing.T) {
	const key = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	for _, tc := range []struct {
		uri  string
		want string // "" when the URI is invalid
	}{
		{"aws-kms://" + key, key},
		{"aws-kms://arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab", "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333:alias/fieldcrypt-pii", "arn:aws:kms:eu-west-1:111122223333:alias/fieldcrypt-pii"},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333:alias/team/pii", "arn:aws:kms:eu-west-1:111122223333:alias/team/pii"},
		{"aws-kms://arn:aws-cn:kms:cn-north-1:111122223333:key/k1", "arn:aws-cn:kms:cn-north-1:111122223333:key/k1"},
		{"aws-kms://arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k1", "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k1"},

		{"", ""},
		{key, ""},                // no scheme
		{"gcp-kms://" + key, ""}, // other scheme
		{"aws-kms://", ""},       // nothing
		{"aws-kms://1234abcd-12ab-34cd-56ef-1234567890ab", ""}, // bare key ID
		{"aws-kms://alias/fieldcrypt-pii", ""},                 // bare alias name
		{"aws-kms://arn:aws:s3:eu-west-1:111122223333:key/k1", ""},
		{"aws-kms://arn:aws:kms::111122223333:key/k1", ""},
		{"aws-kms://arn:aws:kms:eu-west-1::key/k1", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:1111222233:key/k1", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:11112222333x:key/k1", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333:key/", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333:key/a/b", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333:alias/", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333:grant/g1", ""},
		{"aws-kms://arn:aws:kms:eu-west-1:111122223333", ""},
	} {
		t.Run(tc.uri, func(t *testing.T) {
			got, err := awskms.KeyARN(tc.uri)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("KeyARN(%q) = %q, nil; want error", tc.uri, got)
				}
				if code := kms.CodeOf(err); code != kms.CodeInvalidArgument {
					t.Errorf("KeyARN(%q) code = %v, want %v", tc.uri, code, kms.CodeInvalidArgument)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("KeyARN(%q) = %q, %v; want %q, nil", tc.uri, got, err, tc.want)
			}
			if uri := awskms.URI(got); uri != tc.uri {
				t.Errorf("URI(%q) = %q, want %q", got, uri, tc.uri)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	const uri = "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/k1"
	if _, err := awskms.New(nil, uri, nil); kms.CodeOf(err) != kms.CodeInvalidArgument {
		t.Errorf("New(nil client) err = %v, want %v", err, kms.CodeInvalidArgument)
	}
	if _, err := awskms.New(nil, "aws-kms://key/k1", nil); kms.CodeOf(err) != kms.CodeInvalidArgument {
		t.Errorf("New(bad URI) err = %v, want %v", err, kms.CodeInvalidArgument)
	}
	opener := kms.NewOpener()
	opener.Register(awskms.Scheme, awskms.OpenFunc(&awskms.Options{MaxAttempts: -1}))
	_, err := opener.Open(context.Background(), uri)
	if kms.CodeOf(err) != kms.CodeInvalidArgument {
		t.Errorf("Open(MaxAttempts -1) err = %v, want %v", err, kms.CodeInvalidArgument)
	}
	if err != nil && !strings.Contains(err.Error(), uri) {
		t.Errorf("Open(MaxAttempts -1) err = %q, want it to name %s", err, uri)
	}
	if _, err := awskms.NewClient(context.Background(), "", nil); kms.CodeOf(err) != kms.CodeInvalidArgument {
		t.Errorf("NewClient(no region) err = %v, want %v", err, kms.CodeInvalidArgument)
	}
}

func TestSecretsNotPrinted(t *testing.T) {
	const secret, token = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY", "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"
	opts := &awskms.Options{Credentials: awskms.StaticCredentials("AKIDEXAMPLE", secret, token)}
	kek, err := awskms.OpenFunc(opts)(context.Background(), "aws-kms://arn:aws:kms:eu-west-1:111122223333:key/k1")
	if err != nil {
		t.Fatalf("OpenFunc() err = %v", err)
	}
	for _, v := range []any{opts, *opts, opts.Credentials, kek} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, secret) || strings.Contains(s, token) {
				t.Errorf("Sprintf(%q, %T) reveals a credential: %s", verb, v, s)
			}
		}
	}
}

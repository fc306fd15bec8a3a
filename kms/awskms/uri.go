package awskms

import (
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Scheme is the URI scheme of this backend.
const Scheme = "aws-kms"

// keyRef is a parsed aws-kms:// URI.
type keyRef struct {
	uri    string // the URI as given
	arn    string // the key or alias ARN, sent to AWS as KeyId
	region string // the region in the ARN
	alias  bool   // the ARN names an alias, not a key
}

// URI returns the aws-kms:// URI of a key or alias ARN.
func URI(keyARN string) string { return Scheme + "://" + keyARN }

// KeyARN returns the key or alias ARN that an aws-kms:// URI names, after
// checking its form. Errors are [*kms.Error] with CodeInvalidArgument.
func KeyARN(uri string) (string, error) {
	ref, err := parseURI(uri)
	if err != nil {
		return "", err
	}
	return ref.arn, nil
}

// parseURI accepts aws-kms://arn:<partition>:kms:<region>:<account>:key/<id>
// and aws-kms://arn:<partition>:kms:<region>:<account>:alias/<name>.
func parseURI(uri string) (keyRef, error) {
	fail := func(msg string) (keyRef, error) {
		return keyRef{}, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: uri,
			Err: errors.New(msg + " (want aws-kms://arn:aws:kms:<region>:<account>:key/<key id> or :alias/<name>)")}
	}
	s, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok {
		return fail("URI does not start with " + Scheme + "://")
	}
	if !arn.IsARN(s) {
		return fail("URI does not hold an ARN; bare key IDs and alias names are not accepted because they name no region")
	}
	a, err := arn.Parse(s)
	if err != nil {
		return fail(fmt.Sprintf("malformed ARN: %v", err))
	}
	switch {
	case a.Service != "kms":
		return fail(fmt.Sprintf("ARN names service %q, not kms", a.Service))
	case a.Region == "":
		return fail("ARN has no region")
	case !isAccountID(a.AccountID):
		return fail(fmt.Sprintf("ARN account %q is not a 12-digit AWS account ID", a.AccountID))
	}
	ref := keyRef{uri: uri, arn: s, region: a.Region}
	if id, ok := strings.CutPrefix(a.Resource, "key/"); ok {
		if id == "" || strings.ContainsAny(id, "/:") {
			return fail(fmt.Sprintf("malformed key ID %q", id))
		}
		return ref, nil
	}
	if name, ok := strings.CutPrefix(a.Resource, "alias/"); ok {
		if name == "" || strings.Contains(name, ":") {
			return fail(fmt.Sprintf("malformed alias name %q", name))
		}
		ref.alias = true
		return ref, nil
	}
	return fail(fmt.Sprintf("ARN resource %q is neither key/<id> nor alias/<name>", a.Resource))
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

package vault

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/fieldcrypt/fieldcrypt/kms"
)

// Scheme is the URI scheme of this backend.
const Scheme = "hcvault"

// keyNameRE is the key names Transit accepts (the framework's
// GenericNameRegex): word characters, with '-', '.' and '@' inside.
var keyNameRE = regexp.MustCompile(`^\w(?:[\w\-.@]*\w)?$`)

// mountSegmentRE is one segment of a mount path.
var mountSegmentRE = regexp.MustCompile(`^[\w\-.@]+$`)

// keyRef names one Transit key: the mount of the secrets engine and the
// key's name.
type keyRef struct {
	mount string // without leading or trailing slash, such as "transit" or "secret/transit"
	name  string
}

func (k keyRef) uri() string           { return Scheme + "://" + k.mount + "/keys/" + k.name }
func (k keyRef) path(op string) string { return k.mount + "/" + op + "/" + k.name }

// ParseURI splits a KEK URI of the form hcvault://<mount>/keys/<name> into
// the Transit mount path and the key name. The mount may contain slashes
// (hcvault://secret/transit/keys/pii has mount "secret/transit"). A URI of
// another form is an [*kms.Error] with [kms.CodeInvalidArgument].
func ParseURI(uri string) (mount, name string, err error) {
	ref, err := parseURI(uri)
	if err != nil {
		return "", "", err
	}
	return ref.mount, ref.name, nil
}

func parseURI(uri string) (keyRef, error) {
	bad := func(format string, args ...any) (keyRef, error) {
		return keyRef{}, &kms.Error{Code: kms.CodeInvalidArgument, Op: "open", Backend: Scheme, KeyURI: uri,
			Err: fmt.Errorf("bad KEK URI (want %s://<mount>/keys/<name>): "+format, append([]any{Scheme}, args...)...)}
	}
	rest, ok := strings.CutPrefix(uri, Scheme+"://")
	if !ok {
		return bad("scheme is not %s", Scheme)
	}
	if strings.ContainsAny(rest, "?#") {
		return bad("query and fragment are not allowed")
	}
	i := strings.LastIndex(rest, "/keys/")
	if i < 0 {
		return bad("no /keys/ segment")
	}
	ref := keyRef{mount: rest[:i], name: rest[i+len("/keys/"):]}
	if ref.mount == "" {
		return bad("empty mount")
	}
	for seg := range strings.SplitSeq(ref.mount, "/") {
		if seg == "." || seg == ".." || !mountSegmentRE.MatchString(seg) {
			return bad("mount %q has an empty or invalid segment", ref.mount)
		}
	}
	if !keyNameRE.MatchString(ref.name) {
		return bad("key name %q is empty or invalid", ref.name)
	}
	return ref, nil
}

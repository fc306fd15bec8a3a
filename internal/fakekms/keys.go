package fakekms

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
)

// cryptoKey is a symmetric ENCRYPT_DECRYPT CryptoKey.
type cryptoKey struct {
	name     string
	versions []*keyVersion // versions[i] is version i+1
	primary  int           // the primary version's number
}

type keyVersion struct {
	number  int
	enabled bool
	aead    cipher.AEAD // AES-256-GCM
}

func (k *cryptoKey) version(n int) (*keyVersion, bool) {
	if n < 1 || n > len(k.versions) {
		return nil, false
	}
	return k.versions[n-1], true
}

func (k *cryptoKey) versionName(n int) string {
	return k.name + "/cryptoKeyVersions/" + strconv.Itoa(n)
}

func (k *cryptoKey) addVersion() error {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("fakekms: generate key: %w", err)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return fmt.Errorf("fakekms: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("fakekms: %w", err)
	}
	n := len(k.versions) + 1
	k.versions = append(k.versions, &keyVersion{number: n, enabled: true, aead: aead})
	k.primary = n
	return nil
}

// CreateKey creates the CryptoKey name
// (projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>; the key ring need
// not be created first) with one enabled version, 1, as its primary.
func (s *Server) CreateKey(name string) error {
	if _, _, err := parseName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[name]; ok {
		return fmt.Errorf("fakekms: CryptoKey %s already exists", name)
	}
	k := &cryptoKey{name: name}
	if err := k.addVersion(); err != nil {
		return err
	}
	s.keys[name] = k
	return nil
}

// RotateKey adds a version to the CryptoKey name and makes it the primary, as
// Cloud KMS's automatic or manual rotation does. It returns the new version's
// number. Earlier versions stay enabled.
func (s *Server) RotateKey(name string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[name]
	if !ok {
		return 0, fmt.Errorf("fakekms: no CryptoKey %s", name)
	}
	if err := k.addVersion(); err != nil {
		return 0, err
	}
	return k.primary, nil
}

// DisableVersion disables a version of the CryptoKey name: it can neither
// encrypt nor decrypt (FailedPrecondition) until EnableVersion.
func (s *Server) DisableVersion(name string, version int) error {
	return s.setEnabled(name, version, false)
}

// EnableVersion enables a version that DisableVersion disabled.
func (s *Server) EnableVersion(name string, version int) error {
	return s.setEnabled(name, version, true)
}

func (s *Server) setEnabled(name string, version int, enabled bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[name]
	if !ok {
		return fmt.Errorf("fakekms: no CryptoKey %s", name)
	}
	v, ok := k.version(version)
	if !ok {
		return fmt.Errorf("fakekms: CryptoKey %s has no version %d", name, version)
	}
	v.enabled = enabled
	return nil
}

// Primary returns the number of the primary version of the CryptoKey name.
func (s *Server) Primary(name string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keys[name]
	if !ok {
		return 0, fmt.Errorf("fakekms: no CryptoKey %s", name)
	}
	return k.primary, nil
}

// parseName splits a CryptoKey or CryptoKeyVersion resource name into the
// CryptoKey name and the version number (0 for a CryptoKey name).
func parseName(name string) (key string, version int, err error) {
	segs := strings.Split(name, "/")
	literal := []string{"projects", "locations", "keyRings", "cryptoKeys", "cryptoKeyVersions"}
	if len(segs) != 8 && len(segs) != 10 {
		return "", 0, fmt.Errorf("fakekms: resource name %q is not a CryptoKey or CryptoKeyVersion name", name)
	}
	for i := 0; i < len(segs); i += 2 {
		if segs[i] != literal[i/2] || segs[i+1] == "" {
			return "", 0, fmt.Errorf("fakekms: resource name %q is not a CryptoKey or CryptoKeyVersion name", name)
		}
	}
	key = strings.Join(segs[:8], "/")
	if len(segs) == 10 {
		version, err = strconv.Atoi(segs[9])
		if err != nil || version < 1 {
			return "", 0, fmt.Errorf("fakekms: resource name %q has a malformed version", name)
		}
	}
	return key, version, nil
}

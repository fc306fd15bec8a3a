package fakekms_test

// These tests check the fake Cloud KMS itself, through the real client
// library over a real gRPC connection on the loopback interface, against what
// Google documents for Encrypt and Decrypt.

import (
	"bytes"
	"hash/crc32"
	"strings"
	"testing"

	cloudkms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/fieldcrypt/fieldcrypt/internal/fakekms"
)

const keyName = "projects/p/locations/global/keyRings/r/cryptoKeys/k"

func setup(t *testing.T) (*fakekms.Server, *cloudkms.KeyManagementClient) {
	t.Helper()
	srv, err := fakekms.Start()
	if err != nil {
		t.Fatalf("Start() err = %v", err)
	}
	t.Cleanup(srv.Close)
	if err := srv.CreateKey(keyName); err != nil {
		t.Fatalf("CreateKey() err = %v", err)
	}
	client, err := cloudkms.NewKeyManagementClient(t.Context(),
		option.WithEndpoint(srv.Addr()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
	if err != nil {
		t.Fatalf("NewKeyManagementClient() err = %v", err)
	}
	t.Cleanup(func() { client.Close() })
	return srv, client
}

var noRetry = gax.WithRetry(nil)

func sum(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))))
}

func code(err error) codes.Code { return status.Code(err) }

func TestEncryptDecryptChecksums(t *testing.T) {
	_, client := setup(t)
	ctx := t.Context()
	pt, aad := []byte("plaintext"), []byte("aad")

	resp, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName, Plaintext: pt, AdditionalAuthenticatedData: aad,
		PlaintextCrc32C: sum(pt), AdditionalAuthenticatedDataCrc32C: sum(aad)})
	if err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	if !resp.GetVerifiedPlaintextCrc32C() || !resp.GetVerifiedAdditionalAuthenticatedDataCrc32C() {
		t.Errorf("Encrypt() with checksums: verified flags = %v, %v; want true, true",
			resp.GetVerifiedPlaintextCrc32C(), resp.GetVerifiedAdditionalAuthenticatedDataCrc32C())
	}
	if resp.GetName() != keyName+"/cryptoKeyVersions/1" {
		t.Errorf("Encrypt() name = %q, want version 1 of %s", resp.GetName(), keyName)
	}
	if resp.GetCiphertextCrc32C().GetValue() != sum(resp.GetCiphertext()).GetValue() {
		t.Errorf("Encrypt() ciphertext_crc32c does not match the ciphertext")
	}

	bare, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName, Plaintext: pt})
	if err != nil {
		t.Fatalf("Encrypt() without checksums err = %v", err)
	}
	if bare.GetVerifiedPlaintextCrc32C() || bare.GetVerifiedAdditionalAuthenticatedDataCrc32C() {
		t.Errorf("Encrypt() without checksums: verified flags set, want false")
	}

	dec, err := client.Decrypt(ctx, &kmspb.DecryptRequest{Name: keyName, Ciphertext: resp.GetCiphertext(),
		AdditionalAuthenticatedData: aad, CiphertextCrc32C: sum(resp.GetCiphertext()), AdditionalAuthenticatedDataCrc32C: sum(aad)})
	if err != nil {
		t.Fatalf("Decrypt() err = %v", err)
	}
	if !bytes.Equal(dec.GetPlaintext(), pt) || dec.GetPlaintextCrc32C().GetValue() != sum(pt).GetValue() || !dec.GetUsedPrimary() {
		t.Errorf("Decrypt() = %q (crc %d, used primary %v), want %q with its checksum from the primary",
			dec.GetPlaintext(), dec.GetPlaintextCrc32C().GetValue(), dec.GetUsedPrimary(), pt)
	}
}

func TestMismatchedChecksumIsInvalidArgument(t *testing.T) {
	_, client := setup(t)
	ctx := t.Context()
	pt, aad := []byte("plaintext"), []byte("aad")
	wrong := wrapperspb.Int64(sum(pt).GetValue() ^ 1)
	enc, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName, Plaintext: pt, AdditionalAuthenticatedData: aad})
	if err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	for _, tc := range []struct {
		field string
		call  func() error
	}{
		{"plaintext_crc32c", func() error {
			_, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName, Plaintext: pt, PlaintextCrc32C: wrong})
			return err
		}},
		{"additional_authenticated_data_crc32c", func() error {
			_, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName, Plaintext: pt, AdditionalAuthenticatedData: aad, AdditionalAuthenticatedDataCrc32C: wrong})
			return err
		}},
		{"ciphertext_crc32c", func() error {
			_, err := client.Decrypt(ctx, &kmspb.DecryptRequest{Name: keyName, Ciphertext: enc.GetCiphertext(), AdditionalAuthenticatedData: aad, CiphertextCrc32C: wrong})
			return err
		}},
	} {
		t.Run(tc.field, func(t *testing.T) {
			err := tc.call()
			if code(err) != codes.InvalidArgument {
				t.Fatalf("call with a wrong %s: err = %v, want InvalidArgument", tc.field, err)
			}
			st, _ := status.FromError(err)
			var field string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
					field = br.GetFieldViolations()[0].GetField()
				}
			}
			if field != tc.field {
				t.Errorf("BadRequest detail names field %q, want %q", field, tc.field)
			}
		})
	}
}

func TestStatusCodes(t *testing.T) {
	srv, client := setup(t)
	ctx := t.Context()
	pt := []byte("plaintext")
	enc, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName, Plaintext: pt})
	if err != nil {
		t.Fatalf("Encrypt() err = %v", err)
	}
	ct := enc.GetCiphertext()
	encrypt := func(name string, pt []byte) func() error {
		return func() error {
			_, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: name, Plaintext: pt}, noRetry)
			return err
		}
	}
	decrypt := func(name string, ct []byte) func() error {
		return func() error {
			_, err := client.Decrypt(ctx, &kmspb.DecryptRequest{Name: name, Ciphertext: ct}, noRetry)
			return err
		}
	}
	flipped := bytes.Clone(ct)
	flipped[len(flipped)-1] ^= 1
	for _, tc := range []struct {
		name  string
		setup func()
		call  func() error
		want  codes.Code
	}{
		{"unknown key", nil, encrypt(keyName+"x", pt), codes.NotFound},
		{"malformed name", nil, encrypt("projects/p/keyRings/r", pt), codes.InvalidArgument},
		{"decrypt with a version name", nil, decrypt(keyName+"/cryptoKeyVersions/1", ct), codes.InvalidArgument},
		{"empty plaintext", nil, encrypt(keyName, nil), codes.InvalidArgument},
		{"plaintext over 64 KiB", nil, encrypt(keyName, make([]byte, 64*1024+1)), codes.InvalidArgument},
		{"tampered ciphertext", nil, decrypt(keyName, flipped), codes.InvalidArgument},
		{"garbage ciphertext", nil, decrypt(keyName, []byte("garbage")), codes.InvalidArgument},
		{"denied", func() { srv.Deny(keyName) }, encrypt(keyName, pt), codes.PermissionDenied},
		{"denied unknown key", func() { srv.Deny(keyName + "x") }, encrypt(keyName+"x", pt), codes.PermissionDenied},
		{"disabled version", func() { srv.DisableVersion(keyName, 1) }, decrypt(keyName, ct), codes.FailedPrecondition},
		{"unavailable", func() { srv.FailWith(codes.Unavailable, 1) }, decrypt(keyName, ct), codes.Unavailable},
		{"throttled", func() { srv.FailWith(codes.ResourceExhausted, 1) }, decrypt(keyName, ct), codes.ResourceExhausted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup()
				t.Cleanup(func() {
					srv.Allow(keyName)
					srv.Allow(keyName + "x")
					srv.EnableVersion(keyName, 1)
					srv.ClearFaults()
				})
			}
			if err := tc.call(); code(err) != tc.want {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := client.GetCryptoKey(ctx, &kmspb.GetCryptoKeyRequest{Name: keyName}); code(err) != codes.Unimplemented {
		t.Errorf("GetCryptoKey() err = %v, want Unimplemented", err)
	}
}

func TestRotateKeyAndEncryptWithVersion(t *testing.T) {
	srv, client := setup(t)
	ctx := t.Context()
	pt := []byte("plaintext")
	if v, err := srv.RotateKey(keyName); err != nil || v != 2 {
		t.Fatalf("RotateKey() = %d, %v; want 2, nil", v, err)
	}
	if p, err := srv.Primary(keyName); err != nil || p != 2 {
		t.Errorf("Primary() = %d, %v; want 2, nil", p, err)
	}
	old, err := client.Encrypt(ctx, &kmspb.EncryptRequest{Name: keyName + "/cryptoKeyVersions/1", Plaintext: pt})
	if err != nil {
		t.Fatalf("Encrypt(version 1) err = %v", err)
	}
	if v, err := fakekms.VersionOf(old.GetCiphertext()); err != nil || v != 1 || !strings.HasSuffix(old.GetName(), "/cryptoKeyVersions/1") {
		t.Errorf("Encrypt(version 1) made version %d (%v), named %q", v, err, old.GetName())
	}
	dec, err := client.Decrypt(ctx, &kmspb.DecryptRequest{Name: keyName, Ciphertext: old.GetCiphertext()})
	if err != nil {
		t.Fatalf("Decrypt(version 1 ciphertext) err = %v", err)
	}
	if dec.GetUsedPrimary() {
		t.Errorf("Decrypt(version 1 ciphertext) used_primary = true, want false")
	}
	if err := srv.CreateKey(keyName); err == nil {
		t.Errorf("CreateKey(existing) err = nil, want error")
	}
	if _, err := fakekms.VersionOf([]byte("short")); err == nil {
		t.Errorf("VersionOf(garbage) err = nil, want error")
	}
}

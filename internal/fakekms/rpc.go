package fakekms

import (
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"strings"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// maxDataLen is Cloud KMS's limit on the plaintext and on the additional
// authenticated data of a SOFTWARE key: 64 KiB each.
const maxDataLen = 64 * 1024

// service implements kmspb.KeyManagementServiceServer for a Server. Every
// method but Encrypt and Decrypt answers Unimplemented.
type service struct {
	kmspb.UnimplementedKeyManagementServiceServer
	s *Server
}

// Encrypt implements KeyManagementService.Encrypt.
func (svc *service) Encrypt(ctx context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	s := svc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	code, fault := s.takeFaults()
	if code != codes.OK {
		return nil, status.Errorf(code, "fakekms: injected failure %v", code)
	}
	keyName, version, err := parseName(req.GetName())
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "Resource name [%s] does not represent a valid CryptoKey or CryptoKeyVersion.", req.GetName())
	}
	if s.denied[keyName] {
		return nil, permissionDenied("useToEncrypt", req.GetName())
	}
	k, ok := s.keys[keyName]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", keyName)
	}

	plaintext, aad := req.GetPlaintext(), req.GetAdditionalAuthenticatedData()
	switch fault {
	case CorruptRequest:
		plaintext = flipped(plaintext)
	case CorruptRequestAAD:
		aad = flipped(aad)
	}
	if err := s.verifyChecksum("plaintext", plaintext, req.GetPlaintextCrc32C()); err != nil {
		return nil, err
	}
	if err := s.verifyChecksum("additional_authenticated_data", aad, req.GetAdditionalAuthenticatedDataCrc32C()); err != nil {
		return nil, err
	}
	switch {
	case len(plaintext) == 0:
		return nil, status.Error(codes.InvalidArgument, "Plaintext is required.")
	case len(plaintext) > maxDataLen:
		return nil, status.Errorf(codes.InvalidArgument, "The plaintext must be no larger than %d bytes.", maxDataLen)
	case len(aad) > maxDataLen:
		return nil, status.Errorf(codes.InvalidArgument, "The additional authenticated data must be no larger than %d bytes.", maxDataLen)
	}

	if version == 0 {
		version = k.primary
	}
	v, ok := k.version(version)
	if !ok {
		return nil, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found.", k.versionName(version))
	}
	if !v.enabled {
		return nil, notEnabled(k.versionName(version))
	}
	ct, err := seal(v, plaintext, aad)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	resp := &kmspb.EncryptResponse{
		Name:                    k.versionName(v.number),
		Ciphertext:              ct,
		CiphertextCrc32C:        checksum(ct),
		VerifiedPlaintextCrc32C: req.GetPlaintextCrc32C() != nil,
		VerifiedAdditionalAuthenticatedDataCrc32C: req.GetAdditionalAuthenticatedDataCrc32C() != nil,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	switch fault {
	case CorruptResponse:
		resp.Ciphertext = flipped(resp.Ciphertext)
	case WrongResponseChecksum:
		resp.CiphertextCrc32C = wrongChecksum(resp.CiphertextCrc32C)
	case DropVerifiedPlaintext:
		resp.VerifiedPlaintextCrc32C = false
	case DropVerifiedAAD:
		resp.VerifiedAdditionalAuthenticatedDataCrc32C = false
	case WrongKeyName:
		resp.Name = strings.Replace(resp.Name, "/cryptoKeys/", "/cryptoKeys/other-", 1)
	}
	return resp, nil
}

// Decrypt implements KeyManagementService.Decrypt.
func (svc *service) Decrypt(ctx context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	s := svc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	code, fault := s.takeFaults()
	if code != codes.OK {
		return nil, status.Errorf(code, "fakekms: injected failure %v", code)
	}
	keyName, version, err := parseName(req.GetName())
	if err != nil || version != 0 {
		return nil, status.Errorf(codes.InvalidArgument, "Resource name [%s] does not represent a valid CryptoKey.", req.GetName())
	}
	if s.denied[keyName] {
		return nil, permissionDenied("useToDecrypt", keyName)
	}
	k, ok := s.keys[keyName]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "CryptoKey %s not found.", keyName)
	}

	ciphertext, aad := req.GetCiphertext(), req.GetAdditionalAuthenticatedData()
	switch fault {
	case CorruptRequest:
		ciphertext = flipped(ciphertext)
	case CorruptRequestAAD:
		aad = flipped(aad)
	}
	if err := s.verifyChecksum("ciphertext", ciphertext, req.GetCiphertextCrc32C()); err != nil {
		return nil, err
	}
	if err := s.verifyChecksum("additional_authenticated_data", aad, req.GetAdditionalAuthenticatedDataCrc32C()); err != nil {
		return nil, err
	}
	if len(ciphertext) == 0 {
		return nil, status.Error(codes.InvalidArgument, "Ciphertext is required.")
	}
	n, err := versionOf(ciphertext)
	if err != nil {
		return nil, invalidCiphertext()
	}
	v, ok := k.version(n)
	if !ok {
		return nil, invalidCiphertext()
	}
	if !v.enabled {
		return nil, notEnabled(k.versionName(n))
	}
	plaintext, err := open(v, ciphertext, aad)
	if err != nil {
		return nil, invalidCiphertext()
	}
	resp := &kmspb.DecryptResponse{
		Plaintext:       plaintext,
		PlaintextCrc32C: checksum(plaintext),
		UsedPrimary:     n == k.primary,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	switch fault {
	case CorruptResponse:
		resp.Plaintext = flipped(resp.Plaintext)
	case WrongResponseChecksum:
		resp.PlaintextCrc32C = wrongChecksum(resp.PlaintextCrc32C)
	}
	return resp, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func checksum(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, castagnoli)))
}

// verifyChecksum checks data against the checksum the request sent for it,
// when it sent one, the way Cloud KMS does. s.mu must be held.
func (s *Server) verifyChecksum(field string, data []byte, sum *wrapperspb.Int64Value) error {
	if sum == nil || sum.GetValue() == int64(crc32.Checksum(data, castagnoli)) {
		return nil
	}
	st := status.New(codes.InvalidArgument,
		fmt.Sprintf("The checksum in field %s_crc32c did not match the data in field %s.", field, field))
	if s.omitDetails {
		return st.Err()
	}
	detailed, err := st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{
		Field:       field + "_crc32c",
		Description: "checksum mismatch: the data was corrupted in transit",
	}}})
	if err != nil {
		return st.Err()
	}
	return detailed.Err()
}

func permissionDenied(permission, resource string) error {
	return status.Errorf(codes.PermissionDenied,
		"Permission 'cloudkms.cryptoKeyVersions.%s' denied on resource '%s' (or it may not exist).", permission, resource)
}

func notEnabled(versionName string) error {
	return status.Errorf(codes.FailedPrecondition, "%s is not enabled, current state is: DISABLED.", versionName)
}

func invalidCiphertext() error {
	return status.Error(codes.InvalidArgument, "Decryption failed: the ciphertext is invalid.")
}

// flipped returns a copy of b with one bit of its middle byte flipped; an
// empty b is returned as is.
func flipped(b []byte) []byte {
	if len(b) == 0 {
		return b
	}
	out := bytes.Clone(b)
	out[len(out)/2] ^= 0x04
	return out
}

func wrongChecksum(sum *wrapperspb.Int64Value) *wrapperspb.Int64Value {
	return wrapperspb.Int64(sum.GetValue() ^ 0x1)
}

package fakekms

import "google.golang.org/grpc/codes"

// Fault is a corruption of a call in transit, injected with [Server.Inject].
type Fault int

// The faults. Those that touch a field only Encrypt has (the verified_* flags,
// the version name) leave a Decrypt call unchanged.
const (
	// NoFault leaves calls alone.
	NoFault Fault = iota
	// CorruptRequest flips a bit of the plaintext (Encrypt) or ciphertext
	// (Decrypt) as received, before the server checks it against its
	// checksum: the server answers InvalidArgument, as Cloud KMS does.
	CorruptRequest
	// CorruptRequestAAD flips a bit of the additional authenticated data as
	// received, when there is any.
	CorruptRequestAAD
	// CorruptResponse flips a bit of the returned ciphertext or plaintext
	// after its checksum was computed.
	CorruptResponse
	// WrongResponseChecksum returns a ciphertext_crc32c or plaintext_crc32c
	// that does not match the data.
	WrongResponseChecksum
	// DropVerifiedPlaintext answers Encrypt with verified_plaintext_crc32c
	// false, as if the request's checksum had been lost on the way.
	DropVerifiedPlaintext
	// DropVerifiedAAD answers Encrypt with
	// verified_additional_authenticated_data_crc32c false.
	DropVerifiedAAD
	// WrongKeyName answers Encrypt with the name of a version of another key.
	WrongKeyName
)

// Inject applies fault f to the next n Encrypt or Decrypt calls (each call
// consumes one), or to every call until ClearFaults when n is negative. It
// replaces any fault injected before.
func (s *Server) Inject(f Fault, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = f, n
}

// FailWith makes the next n Encrypt or Decrypt calls fail with code, before
// any other check, or every call until ClearFaults when n is negative. Use it
// for Unavailable, ResourceExhausted, DeadlineExceeded and other conditions
// of the service itself.
func (s *Server) FailWith(code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failCode, s.failLeft = code, n
}

// ClearFaults removes injected faults and failures.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fault, s.faultLeft = NoFault, 0
	s.failCode, s.failLeft = codes.OK, 0
}

// takeFaults counts a call and returns the failure code and the fault that
// apply to it, consuming one. s.mu must be held.
func (s *Server) takeFaults() (codes.Code, Fault) {
	s.calls++
	if s.failLeft != 0 {
		if s.failLeft > 0 {
			s.failLeft--
		}
		return s.failCode, NoFault // a failed call consumes no fault
	}
	if s.faultLeft != 0 {
		if s.faultLeft > 0 {
			s.faultLeft--
		}
		return codes.OK, s.fault
	}
	return codes.OK, NoFault
}

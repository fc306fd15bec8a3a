package fakekms

import (
	"fmt"
	"net"
	"sync"

	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// Server is a running fake Cloud KMS. It is safe for concurrent use: a test
// may create keys, rotate them and inject faults while clients call it.
type Server struct {
	lis   net.Listener
	grpc  *grpc.Server
	done  chan struct{}
	conns *connCounter

	mu     sync.Mutex
	keys   map[string]*cryptoKey // by CryptoKey resource name
	denied map[string]bool       // CryptoKey names whose use is denied
	calls  int                   // Encrypt and Decrypt calls received

	omitDetails bool // checksum errors carry no BadRequest detail

	fault     Fault      // injected corruption
	faultLeft int        // calls it still applies to; negative: until cleared
	failCode  codes.Code // injected status code
	failLeft  int        // calls it still applies to; negative: until cleared
}

// Start starts a server on a free TCP port of 127.0.0.1. Stop it with Close.
func Start() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakekms: listen: %w", err)
	}
	conns := &connCounter{}
	s := &Server{
		lis:    lis,
		conns:  conns,
		grpc:   grpc.NewServer(grpc.StatsHandler(conns)),
		done:   make(chan struct{}),
		keys:   make(map[string]*cryptoKey),
		denied: make(map[string]bool),
	}
	kmspb.RegisterKeyManagementServiceServer(s.grpc, &service{s: s})
	go func() {
		defer close(s.done)
		_ = s.grpc.Serve(lis) // returns when Close stops the server
	}()
	return s, nil
}

// Addr is the host:port the server listens on, for option.WithEndpoint.
func (s *Server) Addr() string { return s.lis.Addr().String() }

// Close stops the server at once, dropping open connections, and waits for
// it to finish. Calls after Close fail with Unavailable. Close is idempotent.
func (s *Server) Close() {
	s.grpc.Stop()
	<-s.done
}

// Calls returns how many Encrypt and Decrypt calls the server has received,
// including those that failed.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Deny makes every use of the CryptoKey name fail with PermissionDenied, as
// when the caller lacks roles/cloudkms.cryptoKeyEncrypterDecrypter on it. The
// key need not exist: like IAM, the check comes first.
func (s *Server) Deny(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.denied[name] = true
}

// Allow undoes Deny.
func (s *Server) Allow(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.denied, name)
}

// OmitErrorDetails makes checksum-mismatch errors carry their message alone,
// without the BadRequest detail naming the field, so that a test can check a
// client that must recognise them by message.
func (s *Server) OmitErrorDetails(omit bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.omitDetails = omit
}

package fakekms

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc/stats"
)

// connCounter is a gRPC stats handler that counts the server's open client
// connections, so that a test can see a client close its connection.
type connCounter struct{ open atomic.Int64 }

func (c *connCounter) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (c *connCounter) HandleRPC(context.Context, stats.RPCStats)                       {}
func (c *connCounter) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	return ctx
}

func (c *connCounter) HandleConn(_ context.Context, s stats.ConnStats) {
	switch s.(type) {
	case *stats.ConnBegin:
		c.open.Add(1)
	case *stats.ConnEnd:
		c.open.Add(-1)
	}
}

// OpenConns returns how many client connections the server holds open now.
// A client that closes its connection is seen here once the server has
// noticed the end of the connection, shortly after the client's Close
// returns.
func (s *Server) OpenConns() int { return int(s.conns.open.Load()) }

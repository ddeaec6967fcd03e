// Package enginetest drives a whole engine from the sinks' tests: it hands requests to the
// engine's handler as a client sends them, without a socket, so that a test's time goes to the
// sink and its destination. It is meant for tests only.
package enginetest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/ingestd/ingestd/core"
)

// Post hands request r, n NDJSON events {"source":"enginetest","event":{"request":r,"n":i}}
// for i from 0, to e's handler with token and stream as its credentials, and ends the test
// unless the engine accepts it. Events are named by (request, n) so that a test can tell which
// arrived and how often.
func Post(tb testing.TB, e *core.Engine, token, stream string, r, n int) {
	tb.Helper()
	var body strings.Builder
	for i := range n {
		fmt.Fprintf(&body, `{"source":"enginetest","event":{"request":%d,"n":%d}}`+"\n", r, i)
	}
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(core.IngestPath)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Stream-Id", stream)
	req.Header.SetContentType("application/x-ndjson")
	req.SetBodyString(body.String())
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	e.Handler(&ctx)
	if ctx.Response.StatusCode() != http.StatusOK {
		tb.Fatalf("request %d: %d %s", r, ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

package all

import (
	"slices"
	"testing"

	"github.com/ingestd/ingestd/sinks"
)

func TestEverySinkRegistered(t *testing.T) {
	for _, typ := range []string{"elasticsearch", "file", "http", "kafka", "nats", "s3", "snowflake_streaming", "splunk_hec", "stdout", "syslog"} {
		if _, ok := sinks.Lookup(typ); !ok {
			t.Errorf("type %q is not registered", typ)
		}
		if !slices.Contains(sinks.Types(), typ) {
			t.Errorf("Types() %v lacks %q", sinks.Types(), typ)
		}
	}
}

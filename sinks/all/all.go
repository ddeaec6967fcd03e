// Package all compiles every sink type into a binary. Importing it for its side effects runs
// each sink package's init, which registers the type with package sinks, so cmd/ingestd needs
// this one import however many sink types exist. A new sink package is added here.
package all

import (
	_ "github.com/ingestd/ingestd/sinks/elasticsearch" // type "elasticsearch"
	_ "github.com/ingestd/ingestd/sinks/file"          // type "file"
	_ "github.com/ingestd/ingestd/sinks/http"          // type "http"
	_ "github.com/ingestd/ingestd/sinks/kafka"         // type "kafka"
	_ "github.com/ingestd/ingestd/sinks/nats"          // type "nats"
	_ "github.com/ingestd/ingestd/sinks/s3"            // type "s3"
	_ "github.com/ingestd/ingestd/sinks/snowflake"     // type "snowflake_streaming"
	_ "github.com/ingestd/ingestd/sinks/splunkhec"     // type "splunk_hec"
	_ "github.com/ingestd/ingestd/sinks/stdout"        // type "stdout"
	_ "github.com/ingestd/ingestd/sinks/syslog"        // type "syslog"
)

package config

import (
	"github.com/ingestd/ingestd/core/processor"
	"github.com/ingestd/ingestd/core/processor/enrich"
	"github.com/ingestd/ingestd/core/processor/filter"
	"github.com/ingestd/ingestd/core/processor/mask"
	parsestep "github.com/ingestd/ingestd/core/processor/parse"
)

// processorTypes maps each `type:` of a stream's processors to its options' constructor.
var processorTypes = map[string]func() processor.Options{
	"enrich": func() processor.Options { return enrich.NewOptions() },
	"filter": func() processor.Options { return filter.NewOptions() },
	"mask":   func() processor.Options { return mask.NewOptions() },
	"parse":  func() processor.Options { return parsestep.NewOptions() },
}

// Package filter is the `filter` processor: it drops the events that match a condition, and
// names the reason they are counted under.
package filter

import (
	"github.com/ingestd/ingestd/core/condition"
	"github.com/ingestd/ingestd/core/processor"
)

// DefaultReason is the reason dropped events are counted under when the step names none.
const DefaultReason = "filtered"

// Options configures a filter step.
type Options struct {
	When   string `yaml:"when"`   // required: events matching it are dropped
	Reason string `yaml:"reason"` // the `reason` label of ingestd_events_dropped_total
}

// NewOptions returns the defaults.
func NewOptions() *Options { return &Options{Reason: DefaultReason} }

// Compile checks the condition and the reason.
func (o *Options) Compile(*processor.Env) (processor.Processor, []processor.FieldError) {
	var errs []processor.FieldError
	var cond *condition.Cond
	if o.When == "" {
		errs = append(errs, processor.FieldError{Key: "when", Msg: "required: the condition of the events to drop"})
	} else {
		var err error
		if cond, err = condition.Compile(o.When); err != nil {
			errs = append(errs, processor.FieldError{Key: "when", Msg: err.Error()})
		}
	}
	if !processor.ValidLabel(o.Reason) {
		errs = append(errs, processor.FieldError{Key: "reason", Msg: "must be 1 to 64 characters from a-z 0-9 _ - (it becomes a metric label)"})
	}
	if errs != nil {
		return nil, errs
	}
	return &Filter{cond: cond, reason: o.Reason}, nil
}

// Filter is a compiled filter step; it keeps no per-event state, so it is its own State.
type Filter struct {
	cond   *condition.Cond
	reason string
}

// NewState returns f: evaluating a condition needs no scratch space of its own.
func (f *Filter) NewState() processor.State { return f }

// DropReason is the reason the events f drops are counted under.
func (f *Filter) DropReason() string { return f.reason }

// Condition returns the condition of the events the filter drops.
func (f *Filter) Condition() *condition.Cond { return f.cond }

// Process drops event when it matches the condition.
func (f *Filter) Process(_, event []byte, _ *processor.Facts) ([]byte, processor.Outcome) {
	if f.cond.Eval(event) {
		return nil, processor.Drop
	}
	return event, processor.Unchanged
}

package hnsadapter

import (
	"fmt"
	"time"

	"github.com/go-logr/logr"
)

// Defaults applied by NewReconciler to zero-valued Options fields.
const (
	DefaultConcurrency    = 4
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = 5 * time.Minute
	DefaultFullSyncPeriod = 5 * time.Minute
)

// Options configure a Reconciler. The zero value of every field but
// NetworkName is valid and means the documented default.
type Options struct {
	// NetworkName is the HNS network the plan's endpoints live on
	// (lbpolicy.Node.NetworkName). Required.
	NetworkName string

	// Concurrency is the maximum number of HNS calls in flight. Default 4
	// (DefaultConcurrency). HNS calls take milliseconds to seconds each,
	// and HNS serialises some of them internally: more is not always
	// faster. (Apart from calls, a sync that looks at many objects
	// spreads the parts of its own work that only read over GOMAXPROCS
	// goroutines.)
	Concurrency int

	// ClaimNetwork makes the Reconciler, at its first successful Sync,
	// also own every load balancer none of whose endpoints lies on another
	// network (references to endpoints that no longer exist count for no
	// network) and every remote endpoint on the managed network, as
	// kube-proxy's start-up cleanup does: the ones the plan does not want
	// are then deleted. That first Sync makes one more call, a list of the
	// endpoints of every network. Use it when no other agent programs load
	// balancers on the managed network.
	//
	// Default false: only objects the Reconciler creates, those it adopts
	// at start-up because the plan wants them, and those its ownership
	// record names (OwnershipFile) are owned. Without a record, objects a
	// previous run left that the plan at restart no longer wants are then
	// left alone (they may be another agent's), and a frontend one holds
	// stays a conflict.
	ClaimNetwork bool

	// OwnershipFile, if set, is the file where the Reconciler keeps a
	// record of what it owns: the IDs of its load balancers and endpoints,
	// each with its identity key (a load balancer's key, an endpoint's
	// IP), and the creates HNS answered without saying whether they took
	// effect. HNS objects carry no tag, so without it ownership dies with
	// the process. With it, a restarted Reconciler owns again what it
	// owned, what the new plan no longer wants included (a Service deleted
	// while the proxy was down loses its load balancers), besides what it
	// adopts by key. An ID in the record is owned again only if HNS still
	// holds an object with that ID and the key recorded with it.
	//
	// After each sync that changed what it holds (not after those that
	// changed nothing), the changes are appended to a journal beside it
	// (the same path with ".journal") and flushed to disk, so that a sync
	// of one change writes a line, not the record of every object. At the
	// first such sync of a process, and whenever the journal has grown
	// past the record's size, the record is rewritten instead: to a
	// temporary file in the same directory, flushed to disk, renamed over
	// it, and a new journal started. A crash leaves the old record or the
	// new one, and a journal whose last line may be cut short (the lines
	// before it are used). A missing record (the first start), an
	// unreadable one, or one of another network or format version is
	// logged and not used: the Reconciler adopts by key, as without the
	// option, and writes a new record. The directory must exist; give each
	// Reconciler its own file.
	//
	// Default "": no record.
	OwnershipFile string

	// InitialBackoff is the delay before an object whose HNS call failed
	// is tried again; it doubles with each further failure up to
	// MaxBackoff. Defaults 1s (DefaultInitialBackoff) and 5m
	// (DefaultMaxBackoff).
	InitialBackoff, MaxBackoff time.Duration

	// FullSyncPeriod is how often SyncChanges makes a full sync instead:
	// it lists HNS and compares the whole plan, repairing what changed
	// behind the Reconciler's back (load balancers deleted out of band, as
	// an HNS restart does, kubernetes#135802). Default 5m
	// (DefaultFullSyncPeriod): each full sync lists every load balancer,
	// which costs HNS seconds at 10,000 of them. Sync is always full.
	FullSyncPeriod time.Duration

	// Now is the clock backoff, LastSuccess and Metrics' durations are
	// measured with. Default time.Now. The goroutines making HNS calls
	// call it too: it must be safe for concurrent use.
	Now func() time.Time

	// Metrics, if set, receives each sync's statistics and each HNS
	// call's operation, outcome and duration (see Metrics). Default nil:
	// none.
	Metrics Metrics

	// Logger receives the Reconciler's logs: one V(2) line per HNS call,
	// V(1) a summary per sync, errors at Error level. Default
	// logr.Discard().
	Logger logr.Logger
}

// OptionError is an invalid Options field.
type OptionError struct {
	// Field is the Options field, e.g. "NetworkName".
	Field string
	// Message says what is wrong and how to fix it.
	Message string
}

func (e *OptionError) Error() string {
	return fmt.Sprintf("hnsadapter: Options.%s: %s", e.Field, e.Message)
}

// withDefaults validates o and returns it with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.NetworkName == "" {
		return o, &OptionError{Field: "NetworkName", Message: "required: the HNS network the plan's endpoints live on (Node.networkName)"}
	}
	if o.Concurrency < 0 {
		return o, &OptionError{Field: "Concurrency", Message: fmt.Sprintf("%d is negative: want 0 (default %d) or more", o.Concurrency, DefaultConcurrency)}
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.InitialBackoff < 0 {
		return o, &OptionError{Field: "InitialBackoff", Message: fmt.Sprintf("%v is negative: want 0 (default %v) or more", o.InitialBackoff, DefaultInitialBackoff)}
	}
	if o.MaxBackoff < 0 {
		return o, &OptionError{Field: "MaxBackoff", Message: fmt.Sprintf("%v is negative: want 0 (default %v) or more", o.MaxBackoff, DefaultMaxBackoff)}
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.InitialBackoff {
		return o, &OptionError{Field: "MaxBackoff", Message: fmt.Sprintf("%v is less than InitialBackoff %v", o.MaxBackoff, o.InitialBackoff)}
	}
	if o.FullSyncPeriod < 0 {
		return o, &OptionError{Field: "FullSyncPeriod", Message: fmt.Sprintf("%v is negative: want 0 (default %v) or more", o.FullSyncPeriod, DefaultFullSyncPeriod)}
	}
	if o.FullSyncPeriod == 0 {
		o.FullSyncPeriod = DefaultFullSyncPeriod
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
	return o, nil
}

package hnsadapter

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/go-logr/logr"
	"github.com/hnslb/hnslb/hnsadapter/hns"
	"github.com/hnslb/hnslb/lbpolicy"
)

// lbWorker makes the calls of load-balancer tasks, on the workers of a
// sync. It holds only what workers may touch: the call wrapper (safe for
// concurrent use) and what in-place updates were seen to do on this HNS,
// which the workers of a sync share at once (after the first verified
// update the others trust HNS's answers; after the first ignored one they
// replace instead). Everything else a task did it returns in an
// lbOutcome, which the sync records once the workers are done.
type lbWorker struct {
	calls   *calls
	updates *inPlaceUpdates
}

// lbOutcome is what a task did, for the sync to record.
type lbOutcome struct {
	created, updated, deleted bool
	// gone is a load balancer the task deleted; missing one HNS said it
	// did not have (a list must confirm it before it is disowned). now is
	// the one HNS holds for the key afterwards, when the task made or
	// changed it.
	gone, missing string
	now           *hns.HostComputeLoadBalancer
	// trusted: now is HNS's answer to an update, not read back.
	trusted bool
	// facts are what the worker found out about now.
	facts answerFacts
	// relist, when set, says why the next sync must list HNS: HNS
	// answered as if it held other objects than the view.
	relist fullReason
	// unsure is what a create sent that HNS answered without saying
	// whether it took effect: the next full sync's list decides.
	unsure *hns.HostComputeLoadBalancer
	err    *ObjectError
}

// runLBTask makes t's calls, on a worker of parallel, and works out
// what the sync records about the answer while it is fresh in the
// worker's cache: its key, whether its endpoint IDs are the ones sent and
// in key order. The sync records many outcomes one after the other, and
// reading every ID again would be a cache miss each.
func runLBTask(ctx context.Context, w lbWorker, t *lbTask) lbOutcome {
	o := w.run(ctx, t)
	if o.now != nil {
		o.facts.key, o.facts.keyOK = LoadBalancerKey(o.now)
		// An answer with the very strings sent compares without reading
		// them, and has their order.
		o.facts.asSent = t.want != nil && slices.Equal(o.now.HostComputeEndpoints, t.want.HostComputeEndpoints)
		o.facts.ordered = o.facts.asSent && t.wantOrdered || !o.facts.asSent && inKeyOrder(o.now.HostComputeEndpoints)
	}
	return o
}

// answerFacts are what a worker found out about a load balancer HNS
// answered with, while its endpoint IDs were fresh in the worker's cache.
type answerFacts struct {
	// key is its identity key, if keyOK.
	key   lbpolicy.Key
	keyOK bool
	// ordered: the endpoint IDs are in key order (inKeyOrder).
	ordered bool
	// asSent: they are the IDs the task sent.
	asSent bool
}

// run makes one task's calls.
func (w lbWorker) run(ctx context.Context, t *lbTask) lbOutcome {
	switch t.action {
	case actionCreate:
		return w.create(ctx, t)
	case actionDelete:
		switch err := w.calls.deleteLoadBalancer(ctx, t.old.Id); {
		case err == nil:
			return lbOutcome{deleted: true, gone: t.old.Id}
		case hns.IsNotFound(err):
			return lbOutcome{deleted: true, missing: t.old.Id}
		default:
			return lbOutcome{err: &ObjectError{Object: t.object(), Op: hns.OpDeleteLoadBalancer, Err: err}}
		}
	}
	if !w.updates.usable() {
		return w.replace(ctx, t)
	}
	return w.update(ctx, t)
}

func (w lbWorker) create(ctx context.Context, t *lbTask) lbOutcome {
	got, err := w.calls.createLoadBalancer(ctx, t.want)
	if err != nil {
		o := lbOutcome{err: &ObjectError{Object: t.object(), Op: hns.OpCreateLoadBalancer, Err: err}}
		if hns.IsInvalidReference(err) || hns.IsAlreadyExists(err) {
			// HNS holds an endpoint the view lacks, or lacks one it
			// holds: only a full sync's lists say which.
			o.relist = fullContradicted
		}
		if unsureCreate(err) {
			o.unsure = t.want
		}
		return o
	}
	if got == nil || got.Id == "" {
		// Created under an ID HNS did not say: the next full sync lists it
		// and takes it as its own.
		return lbOutcome{relist: fullNoID, unsure: t.want, err: &ObjectError{Object: t.object(), Op: hns.OpCreateLoadBalancer,
			Err: &MissingIDError{Op: hns.OpCreateLoadBalancer}}}
	}
	return lbOutcome{created: true, now: held(got, t.want)}
}

// held returns what HNS holds after answering a create or update of want
// with got: got, or want with got's ID when got lacks content.
func held(got, want *hns.HostComputeLoadBalancer) *hns.HostComputeLoadBalancer {
	if len(got.PortMappings) > 0 {
		return got
	}
	lb := *want
	lb.Id = got.Id
	return &lb
}

// replace deletes the old load balancer, then creates the wanted one.
func (w lbWorker) replace(ctx context.Context, t *lbTask) lbOutcome {
	var gone, missing string
	switch err := w.calls.deleteLoadBalancer(ctx, t.old.Id); {
	case err == nil:
		gone = t.old.Id
	case hns.IsNotFound(err):
		missing = t.old.Id
	default:
		return lbOutcome{err: &ObjectError{Object: t.object(), Op: hns.OpDeleteLoadBalancer, Err: err}}
	}
	o := w.create(ctx, t)
	o.gone, o.missing = gone, missing
	o.updated, o.created = o.created, false // a replacement counts as an update
	return o
}

// update updates in place and verifies the result. HNS 15.4 answers an
// update with success but keeps the old backends (kubernetes#131466), so
// the Reconciler checks the backends in HNS's answer and, until one update
// on this HNS has been seen to take effect, also reads the load balancer
// back (one GetLoadBalancer) and compares all of it; from then on it trusts
// the answer, until a full sync's list shows a load balancer other than an
// update answered (distrust). If HNS ignored the update, or does not
// implement it, the Reconciler falls back to delete and create, now and
// for every later change: a false alarm costs calls, never correctness.
func (w lbWorker) update(ctx context.Context, t *lbTask) lbOutcome {
	got, err := w.calls.updateLoadBalancer(ctx, t.old.Id, t.want)
	switch {
	case hns.IsNotImplemented(err):
		w.updates.markBroken("HNS does not implement load-balancer updates")
		return w.replace(ctx, t)
	case hns.IsNotFound(err):
		// Deleted out of band: create it.
		o := w.create(ctx, t)
		o.missing = t.old.Id
		return o
	case err != nil:
		// HNS may hold the old content or the new: the view keeps the
		// old, so the next sync compares and updates again.
		return lbOutcome{err: &ObjectError{Object: t.object(), Op: hns.OpUpdateLoadBalancer, Err: err}}
	}
	if got == nil || !sameIDSet(got.HostComputeEndpoints, t.want.HostComputeEndpoints) {
		w.updates.markBroken("HNS answered an update with other backends than sent")
		return w.replace(ctx, t)
	}
	trusted := w.updates.verified.Load()
	if !trusted {
		cur, err := w.calls.getLoadBalancer(ctx, t.old.Id)
		if err != nil {
			return lbOutcome{err: &ObjectError{Object: t.object(), Op: hns.OpGetLoadBalancer, Err: err}}
		}
		if cur == nil || !sameLoadBalancer(cur, t.want) {
			w.updates.markBroken("HNS reported an update as done but kept the old content (kubernetes#131466)")
			return w.replace(ctx, t)
		}
		w.updates.verified.Store(true)
	}
	now := held(got, t.want)
	if now.Id == "" {
		copied := *now
		copied.Id = t.old.Id
		now = &copied
	}
	return lbOutcome{updated: true, now: now, trusted: trusted}
}

// inPlaceUpdates is what the Reconciler learned about in-place
// load-balancer updates on this HNS. The workers of a sync share it: safe
// for concurrent use once lookup has set supported and version, which it
// does before any sync's calls.
type inPlaceUpdates struct {
	// supported: HNS's version has in-place updates.
	supported bool
	version   lbpolicy.Version
	log       logr.Logger

	// verified: an in-place update on this HNS was seen to take effect;
	// later updates are trusted without reading back.
	verified atomic.Bool
	// broken: this HNS ignored an in-place update (HNS 15.4,
	// kubernetes#131466) or does not implement it; changed load balancers
	// are deleted and created instead.
	broken atomic.Bool
}

// usable reports whether changed load balancers are updated in place.
func (u *inPlaceUpdates) usable() bool { return u.supported && !u.broken.Load() }

// distrust makes the next updates be read back again, until one is seen
// to take effect: a list showed a load balancer other than an update
// answered.
func (u *inPlaceUpdates) distrust(id string) {
	if u.verified.Swap(false) {
		u.log.Info("HNS holds a load balancer other than an update of it answered: reading updates back again",
			"loadBalancer", id, "hnsVersion", u.version.String())
	}
}

// markBroken stops in-place updates for good, for why.
func (u *inPlaceUpdates) markBroken(why string) {
	if !u.broken.Swap(true) {
		u.log.Info("Not updating load balancers in place any more: replacing them with delete and create",
			"reason", why, "hnsVersion", u.version.String())
	}
}

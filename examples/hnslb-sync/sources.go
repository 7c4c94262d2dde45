package main

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"

	"github.com/hnslb/hnslb/examples/internal/cluster"
	"github.com/hnslb/hnslb/lbpolicy"
)

// state is one step of state mode: the whole cluster.
type state struct {
	name string
	objs *cluster.Objects
}

// stateSource plans each state from scratch with lbpolicy.Compute; the
// Reconciler applies it with Sync.
type stateSource struct {
	steps []state
	node  lbpolicy.Node
}

func (s *stateSource) len() int { return len(s.steps) }

func (s *stateSource) start(node lbpolicy.Node) error {
	s.node = node
	return nil
}

func (s *stateSource) next(i int) (stepInput, error) {
	st := s.steps[i]
	plan, err := lbpolicy.Compute(s.node, st.objs.Services, st.objs.EndpointSlices)
	if err != nil {
		return stepInput{}, fmt.Errorf("step %d (%s): %w", i+1, st.name, err)
	}
	return stepInput{name: st.name, plan: plan, slices: st.objs.EndpointSlices}, nil
}

// eventSource feeds batches of watch events to an lbpolicy.Tracker; the
// Reconciler applies each Snapshot's Changes and Plan with SyncChanges.
type eventSource struct {
	batches [][]cluster.Event
	tracker *lbpolicy.Tracker
	// held are the objects the cluster holds, by "Kind namespace/name":
	// what MODIFIED passes as the old object, and what a restarted agent's
	// informers list.
	held map[string]heldObject
}

type heldObject struct {
	service *corev1.Service
	slice   *discovery.EndpointSlice
}

func newEventSource(events []cluster.Event, batch int) *eventSource {
	s := &eventSource{held: map[string]heldObject{}}
	for evs := range slices.Chunk(events, batch) {
		s.batches = append(s.batches, evs)
	}
	return s
}

func (s *eventSource) len() int { return len(s.batches) }

// start makes a new Tracker and hands it the objects the cluster holds, as
// a restarted agent's informers list them (in key order).
func (s *eventSource) start(node lbpolicy.Node) error {
	t, err := lbpolicy.NewTracker(node)
	if err != nil {
		return err
	}
	for _, key := range s.keys() {
		o := s.held[key]
		if o.service != nil {
			t.OnServiceAdd(o.service)
		} else {
			t.OnEndpointSliceAdd(o.slice)
		}
	}
	s.tracker = t
	return nil
}

func (s *eventSource) keys() []string {
	keys := make([]string, 0, len(s.held))
	for k := range s.held {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *eventSource) next(i int) (stepInput, error) {
	batch := s.batches[i]
	in := stepInput{}
	for _, ev := range batch {
		s.apply(ev)
		if len(batch) > 1 {
			in.events = append(in.events, fmt.Sprintf("%d: %s", ev.Document, ev.String()))
		}
	}
	if first, last := batch[0], batch[len(batch)-1]; len(batch) == 1 {
		in.name = fmt.Sprintf("event %d: %s", first.Document, first.String())
	} else {
		in.name = fmt.Sprintf("events %d-%d", first.Document, last.Document)
	}
	for _, key := range s.keys() {
		if sl := s.held[key].slice; sl != nil {
			in.slices = append(in.slices, sl)
		}
	}
	snap := s.tracker.Snapshot()
	in.changes = &snap.Changes
	in.plan = snap.Plan()
	return in, nil
}

// apply hands one event to the Tracker: MODIFIED with the object last seen
// as the old one (nil if none), DELETED by the object's namespace/name.
func (s *eventSource) apply(ev cluster.Event) {
	key := ev.Object()
	old := s.held[key]
	t := s.tracker
	switch {
	case ev.Service != nil:
		switch ev.Type {
		case cluster.Added:
			t.OnServiceAdd(ev.Service)
		case cluster.Modified:
			t.OnServiceUpdate(old.service, ev.Service)
		case cluster.Deleted:
			t.OnServiceDelete(ev.Service.Namespace, ev.Service.Name)
		}
		if ev.Type != cluster.Deleted {
			s.held[key] = heldObject{service: ev.Service}
		}
	case ev.EndpointSlice != nil:
		switch ev.Type {
		case cluster.Added:
			t.OnEndpointSliceAdd(ev.EndpointSlice)
		case cluster.Modified:
			t.OnEndpointSliceUpdate(old.slice, ev.EndpointSlice)
		case cluster.Deleted:
			t.OnEndpointSliceDelete(ev.EndpointSlice.Namespace, ev.EndpointSlice.Name)
		}
		if ev.Type != cluster.Deleted {
			s.held[key] = heldObject{slice: ev.EndpointSlice}
		}
	}
	if ev.Type == cluster.Deleted {
		delete(s.held, key)
	}
}

package lbpolicy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	discovery "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/hnslb/hnslb/lbpolicy"
)

// The Tracker's contract is "a Snapshot's Plan is Compute on the same
// objects, byte for byte, after every event; its Changes are exactly the
// difference between two plans". trackerHarness drives a Tracker and a
// model (plain maps of the current objects) with the same events and
// checks both after each.

type eventOp int

const (
	opServiceAdd eventOp = iota
	opServiceUpdate
	opServiceDelete
	opSliceAdd
	opSliceUpdate
	opSliceDelete
	opSetNode
	opBad // an object the Tracker must reject without changing anything
)

type trackerEvent struct {
	op   eventOp
	obj  any // the object, or what a delete is given
	old  any // for updates
	node lbpolicy.Node
	key  types.NamespacedName // for deletes: what the model deletes
}

func (e trackerEvent) String() string {
	switch e.op {
	case opServiceAdd, opServiceUpdate:
		s := e.obj.(*corev1.Service)
		j, _ := json.Marshal(s.Spec)
		return fmt.Sprintf("service add/update(%d) %s/%s %s", e.op, s.Namespace, s.Name, j)
	case opSliceAdd, opSliceUpdate:
		s := e.obj.(*discovery.EndpointSlice)
		return fmt.Sprintf("slice add/update(%d) %s/%s label %q", e.op, s.Namespace, s.Name, s.Labels[discovery.LabelServiceName])
	case opServiceDelete:
		return fmt.Sprintf("service delete %s via %T", e.key, e.obj)
	case opSliceDelete:
		return fmt.Sprintf("slice delete %s via %T", e.key, e.obj)
	case opSetNode:
		return fmt.Sprintf("set node %s %v", e.node.NetworkType, e.node.NodeIPs)
	}
	return fmt.Sprintf("bad object %T", e.obj)
}

type trackerHarness struct {
	t        testing.TB
	tr       *lbpolicy.Tracker
	node     lbpolicy.Node
	services map[types.NamespacedName]*corev1.Service
	slices   map[types.NamespacedName]*discovery.EndpointSlice

	// Events go alternately through the typed methods and through the
	// informer handlers, which report unusable objects here.
	svcHandler, sliceHandler lbpolicy.EventHandler
	reports                  []error
	events                   int

	// The previous checked plan and Changes baseline.
	prev     lbpolicy.Plan
	prevJSON []byte
	// Snapshots whose plans checkChanges left unbuilt, with the plan
	// Compute gave then; checkUnbuilt builds and checks them.
	unbuilt []unbuiltSnapshot
	log     []string       // recent events, for failure messages
	seen    map[string]int // reasons and kinds seen in checked plans
}

type unbuiltSnapshot struct {
	s        lbpolicy.Snapshot
	wantJSON []byte
	log      string
}

// deletedFinalStateUnknown has the shape of client-go's
// cache.DeletedFinalStateUnknown, which EventHandler recognizes.
type deletedFinalStateUnknown struct {
	Key string
	Obj interface{}
}

// resourceEventHandler is client-go's cache.ResourceEventHandler, which an
// informer's AddEventHandler takes: EventHandler must satisfy it.
type resourceEventHandler interface {
	OnAdd(obj interface{}, isInInitialList bool)
	OnUpdate(oldObj, newObj interface{})
	OnDelete(obj interface{})
}

var _ resourceEventHandler = lbpolicy.EventHandler{}

func newHarness(t testing.TB, node lbpolicy.Node) *trackerHarness {
	t.Helper()
	tr, err := lbpolicy.NewTracker(node)
	if err != nil {
		t.Fatalf("NewTracker: %v", err)
	}
	h := &trackerHarness{
		t: t, tr: tr, node: node,
		services: map[types.NamespacedName]*corev1.Service{},
		slices:   map[types.NamespacedName]*discovery.EndpointSlice{},
		seen:     map[string]int{},
	}
	report := func(err error) { h.reports = append(h.reports, err) }
	h.svcHandler, h.sliceHandler = tr.ServiceEventHandler(report), tr.EndpointSliceEventHandler(report)
	h.prev = lbpolicy.Plan{}
	h.prevJSON, _ = json.Marshal(h.prev)
	return h
}

func nameOf(o metav1.Object) types.NamespacedName {
	return types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// apply delivers e to the Tracker and the model.
func (h *trackerHarness) apply(e trackerEvent) {
	h.t.Helper()
	h.log = append(h.log, e.String())
	if len(h.log) > 12 {
		h.log = h.log[1:]
	}
	h.events++
	viaHandler := h.events%2 == 0
	switch e.op {
	case opServiceAdd, opServiceUpdate:
		s := e.obj.(*corev1.Service)
		old, _ := e.old.(*corev1.Service)
		switch {
		case viaHandler && e.op == opServiceAdd:
			h.svcHandler.OnAdd(s, false)
		case viaHandler:
			h.svcHandler.OnUpdate(e.old, s)
		case e.op == opServiceAdd:
			h.tr.OnServiceAdd(s)
		default:
			h.tr.OnServiceUpdate(old, s)
		}
		h.services[nameOf(s)] = s
	case opServiceDelete:
		if viaHandler {
			h.svcHandler.OnDelete(e.obj)
		} else {
			h.tr.OnServiceDelete(e.key.Namespace, e.key.Name)
		}
		delete(h.services, e.key)
	case opSliceAdd, opSliceUpdate:
		s := e.obj.(*discovery.EndpointSlice)
		old, _ := e.old.(*discovery.EndpointSlice)
		switch {
		case viaHandler && e.op == opSliceAdd:
			h.sliceHandler.OnAdd(s, false)
		case viaHandler:
			h.sliceHandler.OnUpdate(e.old, s)
		case e.op == opSliceAdd:
			h.tr.OnEndpointSliceAdd(s)
		default:
			h.tr.OnEndpointSliceUpdate(old, s)
		}
		h.slices[nameOf(s)] = s
	case opSliceDelete:
		if viaHandler {
			h.sliceHandler.OnDelete(e.obj)
		} else {
			h.tr.OnEndpointSliceDelete(e.key.Namespace, e.key.Name)
		}
		delete(h.slices, e.key)
	case opSetNode:
		err := h.tr.SetNode(e.node)
		if verr := e.node.Validate(); verr == nil {
			h.node = e.node
		} else if err == nil {
			h.t.Fatalf("SetNode accepted an invalid node: %v", verr)
		}
		return
	case opBad:
		h.applyBad(e.obj)
		return
	}
	if len(h.reports) > 0 {
		h.t.Fatalf("%s: %v", e, h.reports)
	}
}

// applyBad hands an unusable object to every handler method, each of
// which must report it once, and nil objects to the typed methods, which
// must ignore them; check then finds nothing changed.
func (h *trackerHarness) applyBad(obj any) {
	h.t.Helper()
	for _, call := range []func(){
		func() { h.svcHandler.OnAdd(obj, false) },
		func() { h.svcHandler.OnUpdate(nil, obj) },
		func() { h.svcHandler.OnDelete(obj) },
		func() { h.sliceHandler.OnAdd(obj, true) },
		func() { h.sliceHandler.OnUpdate(nil, obj) },
		func() { h.sliceHandler.OnDelete(obj) },
	} {
		h.reports = nil
		call()
		if len(h.reports) != 1 || !errors.Is(h.reports[0], lbpolicy.ErrUnexpectedObject) {
			h.t.Fatalf("bad object %#v: reported %v, want one ErrUnexpectedObject", obj, h.reports)
		}
	}
	h.reports = nil
	h.tr.OnServiceAdd(nil)
	h.tr.OnServiceUpdate(nil, nil)
	h.tr.OnEndpointSliceAdd(nil)
	h.tr.OnEndpointSliceUpdate(nil, nil)
}

// want is Compute on the model.
func (h *trackerHarness) want() lbpolicy.Plan {
	h.t.Helper()
	svcs := make([]*corev1.Service, 0, len(h.services))
	for _, s := range h.services {
		svcs = append(svcs, s)
	}
	sls := make([]*discovery.EndpointSlice, 0, len(h.slices))
	for _, s := range h.slices {
		sls = append(sls, s)
	}
	p, err := lbpolicy.Compute(h.node, svcs, sls)
	if err != nil {
		h.t.Fatalf("Compute: %v", err)
	}
	return p
}

// check takes a Snapshot and compares its Plan with Compute, and its
// Changes with the difference from the previous check, and checks that
// nothing returned earlier was modified.
func (h *trackerHarness) check() {
	h.t.Helper()
	s := h.tr.Snapshot()
	got := s.Plan()
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(h.want())
	if !bytes.Equal(gotJSON, wantJSON) {
		h.t.Fatalf("Snapshot.Plan differs from Compute after\n  %s\n%s", strings.Join(h.log, "\n  "), jsonDiff(wantJSON, gotJSON))
	}
	if again, _ := json.Marshal(h.prev); !bytes.Equal(again, h.prevJSON) {
		h.t.Fatalf("a plan returned earlier was modified:\n%s", jsonDiff(h.prevJSON, again))
	}
	h.checkChanges(s.Changes, got, gotJSON)
	again := h.tr.Snapshot()
	if !again.Changes.Empty() {
		h.t.Fatalf("Changes right after a Snapshot are not empty: %+v", again.Changes)
	}
	if againJSON, _ := json.Marshal(again.Plan()); !bytes.Equal(againJSON, gotJSON) {
		h.t.Fatalf("the plan of a Snapshot without changes differs:\n%s", jsonDiff(gotJSON, againJSON))
	}
	h.prev, h.prevJSON = got, gotJSON
	for _, d := range got.Diagnostics {
		h.seen[string(d.Reason)]++
		if k := conflictRule(d); k != "" {
			h.seen[k]++
		}
	}
	for _, lb := range got.LoadBalancers {
		h.seen[string(lb.Kind)]++
	}
}

var conflictWinner = regexp.MustCompile(`^(\w+) frontend \S+ is already planned for Service ([^/ ]+)/([^: ]+):\S* \((\w+)\)`)

// conflictRule says which part of the frontend rule decided a
// FrontendConflict whose loser's Service sorts before the winner's by
// namespace/name (so that the name order alone would have chosen the
// other): "conflict by rank" when the kinds differ, "conflict by age" when
// they are alike; "" otherwise.
func conflictRule(d lbpolicy.Diagnostic) string {
	m := conflictWinner.FindStringSubmatch(d.Message)
	if d.Reason != lbpolicy.ReasonFrontendConflict || m == nil {
		return ""
	}
	loser, _, _ := strings.Cut(strings.TrimPrefix(d.Object, "Service "), ":")
	lns, lname, _ := strings.Cut(loser, "/")
	if lns > m[2] || lns == m[2] && lname >= m[3] {
		return ""
	}
	if m[1] != m[4] {
		return "conflict by rank"
	}
	return "conflict by age"
}

// checkChanges compares ch, a Snapshot's Changes, with the difference
// between the previous check's plan and next (whose JSON is nextJSON).
func (h *trackerHarness) checkChanges(ch lbpolicy.Changes, next lbpolicy.Plan, nextJSON []byte) {
	h.t.Helper()
	if diff := cmp.Diff(planChanges(h.prev, next), ch, addrCmp, cmpopts.EquateEmpty()); diff != "" {
		h.t.Fatalf("Changes (-want +got) after\n  %s\n%s", strings.Join(h.log, "\n  "), diff)
	}
	if diff := cmp.Diff(ch, lbpolicy.Diff(&h.prev, &next), addrCmp, cmpopts.EquateEmpty()); diff != "" {
		h.t.Fatalf("Diff(previous plan, plan) differs from Changes (-Changes +Diff) after\n  %s\n%s", strings.Join(h.log, "\n  "), diff)
	}
	applied, _ := json.Marshal(ch.Apply(h.prev))
	if !bytes.Equal(applied, nextJSON) {
		h.t.Fatalf("Changes.Apply(previous plan) is not the plan:\n%s", jsonDiff(nextJSON, applied))
	}
}

// checkLazily takes a Snapshot and checks its Changes against Compute,
// leaving its plan unbuilt: later Snapshots then build theirs from a
// chain of changes, and checkUnbuilt builds this one out of order.
func (h *trackerHarness) checkLazily() {
	h.t.Helper()
	s := h.tr.Snapshot()
	want := h.want()
	wantJSON, _ := json.Marshal(want)
	h.checkChanges(s.Changes, want, wantJSON)
	h.unbuilt = append(h.unbuilt, unbuiltSnapshot{s: s, wantJSON: wantJSON, log: strings.Join(h.log, "\n  ")})
	h.prev, h.prevJSON = want, wantJSON
}

// checkUnbuilt builds the plans checkLazily left, newest first, and
// compares each with what Compute gave at its time.
func (h *trackerHarness) checkUnbuilt() {
	h.t.Helper()
	for i := len(h.unbuilt) - 1; i >= 0; i-- {
		u := h.unbuilt[i]
		if got, _ := json.Marshal(u.s.Plan()); !bytes.Equal(got, u.wantJSON) {
			h.t.Fatalf("the plan of an earlier Snapshot, built late, differs from Compute's then, after\n  %s\n%s", u.log, jsonDiff(u.wantJSON, got))
		}
	}
	h.unbuilt = nil
}

// planChanges is the difference between two plans, computed naively.
func planChanges(prev, next lbpolicy.Plan) lbpolicy.Changes {
	var ch lbpolicy.Changes
	prevLB := map[lbpolicy.Key]lbpolicy.LoadBalancer{}
	for _, lb := range prev.LoadBalancers {
		prevLB[lb.Key()] = lb
	}
	nextLB := map[lbpolicy.Key]bool{}
	for _, lb := range next.LoadBalancers {
		nextLB[lb.Key()] = true
		old, ok := prevLB[lb.Key()]
		switch {
		case !ok:
			ch.AddedLoadBalancers = append(ch.AddedLoadBalancers, lb)
		case !reflect.DeepEqual(old, lb):
			ch.UpdatedLoadBalancers = append(ch.UpdatedLoadBalancers, lb)
		}
	}
	for _, lb := range prev.LoadBalancers {
		if !nextLB[lb.Key()] {
			ch.RemovedLoadBalancers = append(ch.RemovedLoadBalancers, lb.Key())
		}
	}
	prevEP := map[netip.Addr]lbpolicy.Endpoint{}
	for _, e := range prev.Endpoints {
		prevEP[e.IP] = e
	}
	nextEP := map[netip.Addr]bool{}
	for _, e := range next.Endpoints {
		nextEP[e.IP] = true
		old, ok := prevEP[e.IP]
		switch {
		case !ok:
			ch.AddedEndpoints = append(ch.AddedEndpoints, e)
		case old != e:
			ch.UpdatedEndpoints = append(ch.UpdatedEndpoints, e)
		}
	}
	for _, e := range prev.Endpoints {
		if !nextEP[e.IP] {
			ch.RemovedEndpoints = append(ch.RemovedEndpoints, e.IP)
		}
	}
	prevD := map[lbpolicy.Diagnostic]bool{}
	for _, d := range prev.Diagnostics {
		prevD[d] = true
	}
	nextD := map[lbpolicy.Diagnostic]bool{}
	for _, d := range next.Diagnostics {
		nextD[d] = true
		if !prevD[d] {
			ch.AddedDiagnostics = append(ch.AddedDiagnostics, d)
		}
	}
	for _, d := range prev.Diagnostics {
		if !nextD[d] {
			ch.RemovedDiagnostics = append(ch.RemovedDiagnostics, d)
		}
	}
	return ch
}

// jsonDiff shows where two plans' JSON differ, one entry per line.
func jsonDiff(want, got []byte) string {
	split := func(b []byte) []string {
		return strings.Split(strings.NewReplacer(`},{`, "},\n{", `],"`, "],\n\"").Replace(string(b)), "\n")
	}
	return cmp.Diff(split(want), split(got))
}

// Event generation. Objects come from fuzzCluster (small pools of names
// and addresses, so that keys, frontends and endpoint IPs collide often),
// or are small edits of the objects held.

var trackerNodes = []lbpolicy.Node{
	fuzzNodes[0], // Overlay, DSR, health-check VIPs
	fuzzNodes[1], // dual-stack L2Bridge, health-check VIPs
	fuzzNodes[2], // L2Bridge on HNS 10.3
	with(overlay(), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true }),
	with(dualStack(overlay()), func(n *lbpolicy.Node) { n.SourceVIPs = []string{"10.244.1.2", "fd00:244:1::2"} }),
	with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.Name = "win-2"; n.Zone = "zone-b" }),
}

// take returns the next n bytes (fewer when they run out).
func (c *choices) take(n int) []byte {
	n = min(n, len(c.data))
	out := c.data[:n]
	c.data = c.data[n:]
	return out
}

func (c *choices) empty() bool { return len(c.data) == 0 }

func sortedNames[V any](m map[types.NamespacedName]V) []types.NamespacedName {
	out := make([]types.NamespacedName, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// deletion returns one of the forms a delete may take for key, given the
// last known object (nil if none).
func deletion(c *choices, key types.NamespacedName, last metav1.Object) any {
	switch c.n(5) {
	case 0:
		if last != nil {
			return last
		}
	case 1:
		return deletedFinalStateUnknown{Key: key.Namespace + "/" + key.Name}
	case 2:
		if last != nil {
			return deletedFinalStateUnknown{Obj: last}
		}
	case 3:
		return &deletedFinalStateUnknown{Key: key.Namespace + "/" + key.Name, Obj: last}
	}
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
}

// Pools for genService and genSlice: valid objects, mostly, whose
// frontends, ClusterIPs and backend IPs collide often. On the Overlay
// nodes 10.244.1.0/24 is local, 10.244.2.0/24 and 10.244.3.0/24 are remote
// subnets, 10.244.1.2 is the source VIP and 10.0.0.5 a remote node.
var (
	genClusterIPs = []string{"10.96.0.10", "10.96.0.11", "10.96.0.12", "10.244.2.7", "10.244.1.2", "10.0.0.5"}
	genV6IPs      = []string{"fd00:96::10", "fd00:96::11", "fd00:244:2::7"}
	// External and ingress IPs, two of them ClusterIPs: the hijack that
	// compareFrontendClaims's rank rule stops.
	genExternal = []string{"192.0.2.50", "198.51.100.7", "2001:db8::7", "10.244.3.9", "10.96.0.10", "10.96.0.11"}
	// Creation timestamps: none (sorts as the newest), and a few, two of
	// them equal, so that age and, on a tie, namespace/name decide.
	genCreated = []metav1.Time{{}, metav1.Unix(1700000000, 0), metav1.Unix(1700000100, 0), metav1.Unix(1700000100, 0), metav1.Unix(1600000000, 500)}
	genPorts   = []corev1.ServicePort{
		{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80},
		{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53},
		{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9090},
		{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080},
		{Name: "", Protocol: corev1.ProtocolTCP, Port: 80},
		{Name: "sctp", Protocol: corev1.ProtocolSCTP, Port: 80},
	}
	genBackends = []string{"10.244.1.5", "10.244.1.6", "10.244.2.7", "10.244.3.9", "10.0.0.5", "10.96.0.10", "10.9.9.9", "10.244.1.2"}
	genV6Back   = []string{"fd00:244:1::5", "fd00:244:2::7", "fd00:96::10"}
)

func genService(c *choices) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: pick(c, "default", "default", "default", "kube-system"), Name: pick(c, "a", "b", "c", "d")}}
	s.CreationTimestamp = pick(c, genCreated...)
	s.Spec.Type = pick(c, corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeClusterIP)
	s.Spec.ClusterIPs = []string{pick(c, genClusterIPs...)}
	if c.n(3) == 0 {
		s.Spec.ClusterIPs = append(s.Spec.ClusterIPs, pick(c, genV6IPs...))
	}
	if c.n(10) == 0 {
		s.Spec.ClusterIPs = []string{pick(c, "None", "", "10.96.0.300")}
	}
	s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
	for i := 0; i < 1+c.n(2); i++ {
		p := pick(c, genPorts...)
		if s.Spec.Type != corev1.ServiceTypeClusterIP {
			p.NodePort = pick(c, int32(0), 30080, 30053, 30080)
		}
		s.Spec.Ports = append(s.Spec.Ports, p)
	}
	if c.n(4) == 0 {
		s.Spec.ExternalIPs = []string{pick(c, genExternal...)}
	}
	if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
		s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: pick(c, genExternal...)}}
		if c.n(2) == 0 {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = pick(c, int32(0), 32000)
		}
	}
	if c.n(6) == 0 {
		s.Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
	}
	if c.n(6) == 0 {
		s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
	}
	if c.n(6) == 0 {
		s.Annotations = map[string]string{lbpolicy.AnnotationPreserveDestination: "true"}
	}
	if c.n(12) == 0 {
		s.Labels = map[string]string{lbpolicy.LabelServiceProxyName: "other"}
	}
	return s
}

func genSlice(c *choices) *discovery.EndpointSlice {
	svc := pick(c, "a", "b", "c", "d")
	s := &discovery.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: pick(c, "default", "default", "default", "kube-system"), Name: pick(c, "s0", "s1", "s2", svc+"-x"),
			Labels: map[string]string{discovery.LabelServiceName: svc},
		},
		AddressType: pick(c, discovery.AddressTypeIPv4, discovery.AddressTypeIPv4, discovery.AddressTypeIPv6),
	}
	if c.n(12) == 0 {
		s.Labels = pick(c, nil, map[string]string{discovery.LabelServiceName: ""})
	}
	for i := 0; i < 1+c.n(2); i++ {
		sp := pick(c, genPorts[:5]...)
		p := discovery.EndpointPort{Name: ptr(sp.Name), Protocol: ptr(sp.Protocol), Port: ptr(pick(c, int32(8080), 9090, 5353, 8080))}
		switch c.n(12) {
		case 0:
			p.Port = nil
		case 1:
			p.Protocol = nil
		}
		s.Ports = append(s.Ports, p)
	}
	for i := 0; i < 1+c.n(4); i++ {
		a := pick(c, genBackends...)
		if s.AddressType == discovery.AddressTypeIPv6 {
			a = pick(c, genV6Back...)
		}
		if c.n(16) == 0 {
			a = pick(c, "10.244.1.300", "fd00:244:1::5")
		}
		e := discovery.Endpoint{Addresses: []string{a}, NodeName: pick(c, ptr(thisNode), ptr("win-2"), ptr("win-2"), nil)}
		switch c.n(6) {
		case 0:
			e.Conditions = discovery.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)}
		case 1:
			e.Conditions = discovery.EndpointConditions{Ready: ptr(false)}
		}
		if c.n(5) == 0 {
			e.Hints = &discovery.EndpointHints{ForZones: []discovery.ForZone{{Name: pick(c, "zone-a", "zone-b")}}}
		}
		s.Endpoints = append(s.Endpoints, e)
	}
	return s
}

// nextEvent returns a random event from c for the harness's state.
func (h *trackerHarness) nextEvent(c *choices) trackerEvent {
	service := func(s *corev1.Service) trackerEvent {
		if old, ok := h.services[nameOf(s)]; ok && c.n(2) == 0 {
			// An update keeps the creationTimestamp: only a delete and a
			// new add (a replacing Service) changes it.
			s.CreationTimestamp = old.CreationTimestamp
			return trackerEvent{op: opServiceUpdate, obj: s, old: old}
		}
		return trackerEvent{op: opServiceAdd, obj: s}
	}
	slice := func(s *discovery.EndpointSlice) trackerEvent {
		if old, ok := h.slices[nameOf(s)]; ok && c.n(2) == 0 {
			return trackerEvent{op: opSliceUpdate, obj: s, old: old}
		}
		return trackerEvent{op: opSliceAdd, obj: s}
	}
	switch op := c.n(20); {
	case op < 4: // a new or replacing Service
		return service(genService(c))
	case op < 6: // an edit of a held Service
		names := sortedNames(h.services)
		if len(names) == 0 {
			return service(genService(c))
		}
		old := h.services[names[c.n(len(names))]]
		s := old.DeepCopy()
		switch c.n(6) {
		case 0:
			s.Spec.Type = pick(c, corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer)
		case 1:
			if s.Spec.ExternalTrafficPolicy == "" {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			} else {
				s.Spec.ExternalTrafficPolicy = ""
			}
		case 2:
			if len(s.Spec.Ports) > 0 {
				s.Spec.Ports[0].Port = pick[int32](c, 80, 53, 9090, 443)
			}
		case 3:
			s.Spec.ClusterIPs = []string{pick(c, genClusterIPs...)}
			s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
		case 4:
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: pick(c, genExternal...)}}
		case 5: // an external IP that may be another Service's ClusterIP
			s.Spec.ExternalIPs = []string{pick(c, genClusterIPs[:3]...)}
		}
		return trackerEvent{op: opServiceUpdate, obj: s, old: old}
	case op < 8:
		names := sortedNames(h.services)
		key := types.NamespacedName{Namespace: "default", Name: "absent"}
		var last metav1.Object
		if len(names) > 0 && c.n(8) != 0 {
			key = names[c.n(len(names))]
			last = h.services[key]
		}
		return trackerEvent{op: opServiceDelete, obj: deletion(c, key, last), key: key}
	case op < 12: // a new or replacing slice, often moving between Services
		return slice(genSlice(c))
	case op < 15: // an edit of a held slice
		names := sortedNames(h.slices)
		if len(names) == 0 {
			return slice(genSlice(c))
		}
		old := h.slices[names[c.n(len(names))]]
		s := old.DeepCopy()
		switch c.n(4) {
		case 0: // move to another Service
			if s.Labels == nil {
				s.Labels = map[string]string{}
			}
			s.Labels[discovery.LabelServiceName] = pick(c, "a", "b", "c", "d", "")
		case 1:
			if len(s.Endpoints) > 0 {
				e := &s.Endpoints[c.n(len(s.Endpoints))]
				e.Conditions.Ready = pick(c, nil, ptr(true), ptr(false))
				e.Conditions.Terminating = pick(c, nil, ptr(true), ptr(false))
			}
		case 2:
			if len(s.Endpoints) > 0 {
				i := c.n(len(s.Endpoints))
				s.Endpoints = append(s.Endpoints[:i], s.Endpoints[i+1:]...)
			}
		case 3:
			s.Endpoints = append(s.Endpoints, discovery.Endpoint{
				Addresses: []string{pick(c, genBackends...)},
				NodeName:  pick(c, ptr(thisNode), ptr("win-2")),
			})
		}
		return trackerEvent{op: opSliceUpdate, obj: s, old: old}
	case op < 17:
		names := sortedNames(h.slices)
		key := types.NamespacedName{Namespace: "default", Name: "absent"}
		var last metav1.Object
		if len(names) > 0 && c.n(8) != 0 {
			key = names[c.n(len(names))]
			last = h.slices[key]
		}
		return trackerEvent{op: opSliceDelete, obj: deletion(c, key, last), key: key}
	case op < 18: // anything FuzzCompute's generator makes, odd objects included
		_, svcs, sls := fuzzCluster(c.take(24 + c.n(40)))
		if c.n(2) == 0 {
			return service(svcs[c.n(len(svcs))])
		}
		return slice(sls[c.n(len(sls))])
	case op < 19:
		if c.n(4) == 0 {
			return trackerEvent{op: opSetNode, node: lbpolicy.Node{Name: "x"}} // invalid: rejected
		}
		return trackerEvent{op: opSetNode, node: trackerNodes[c.n(len(trackerNodes))]}
	default:
		return trackerEvent{op: opBad, obj: pick[any](c, nil, (*corev1.Service)(nil), (*discovery.EndpointSlice)(nil),
			deletedFinalStateUnknown{}, deletedFinalStateUnknown{Key: "a/b/c"}, (*deletedFinalStateUnknown)(nil),
			(*metav1.PartialObjectMetadata)(nil), "default/a", corev1.Service{})}
	}
}

// runEvents plays the events data encodes, checking every checkEvery
// events and at the end. When checkEvery is more than 1, two checks in
// three leave the Snapshot's plan unbuilt, and those plans are built and
// checked at the end.
func runEvents(t testing.TB, data []byte, checkEvery int, seen map[string]int) int {
	c := &choices{data: data}
	h := newHarness(t, trackerNodes[c.n(len(trackerNodes))])
	h.check() // the empty cluster
	steps := 0
	for !c.empty() {
		h.apply(h.nextEvent(c))
		steps++
		switch {
		case steps%checkEvery != 0:
		case checkEvery > 1 && steps/checkEvery%3 != 0:
			h.checkLazily()
		default:
			h.check()
		}
	}
	h.check()
	h.checkUnbuilt()
	for k, n := range h.seen {
		seen[k] += n
	}
	return steps
}

// TestTrackerMatchesCompute is the property test: random event sequences
// on every kind of node, Plan compared with Compute after every event (and
// in a second run only every few events, so that the Tracker's cached plan
// and pending changes span several events).
func TestTrackerMatchesCompute(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 10
	}
	total := 0
	seen := map[string]int{}
	for seed := 0; seed < seeds; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 42))
		data := make([]byte, 6000)
		for i := range data {
			data[i] = byte(r.UintN(256))
		}
		for _, every := range []int{1, 5} {
			total += runEvents(t, data, every, seen)
		}
	}
	t.Logf("%d events checked; seen in plans: %v", total, seen)
	// The generator must reach the interesting paths, or the test proves
	// little.
	for _, want := range []string{string(lbpolicy.ReasonFrontendConflict), string(lbpolicy.ReasonEndpointAddressInUse),
		string(lbpolicy.ReasonNoEndpoints), string(lbpolicy.ReasonMixedInternalPorts), string(lbpolicy.ReasonInvalidEndpointSlice),
		string(lbpolicy.ReasonOverlaySingleStack), string(lbpolicy.KindClusterIP), string(lbpolicy.KindNodePort),
		string(lbpolicy.KindExternalIP), string(lbpolicy.KindIngress), string(lbpolicy.KindHealthCheck),
		"conflict by rank", "conflict by age"} {
		if seen[want] == 0 {
			t.Errorf("no checked plan had %s", want)
		}
	}
}

// FuzzTracker drives the Tracker with event sequences decoded from bytes,
// checking after every event, then again after every third, mostly
// without building plans (see runEvents).
func FuzzTracker(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
	f.Add(bytes.Repeat([]byte{9, 1, 3, 2, 7, 0, 4, 1}, 30))
	f.Add(bytes.Repeat([]byte{0, 11, 3, 1, 15, 2, 6, 9, 18, 1}, 40))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 4000 {
			data = data[:4000]
		}
		runEvents(t, data, 1, map[string]int{})
		runEvents(t, data, 3, map[string]int{})
	})
}

// TestTrackerGeneratedCluster loads a generated cluster through events in
// a random order and then edits it, checking against Compute.
func TestTrackerGeneratedCluster(t *testing.T) {
	shape := clusterShape{Services: 150, Endpoints: 1500, Nodes: 20, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 5)
	for _, node := range []lbpolicy.Node{genNode(shape), with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true })} {
		h := newHarness(t, node)
		r := rand.New(rand.NewPCG(9, 9))
		var load []trackerEvent
		for _, s := range svcs {
			load = append(load, trackerEvent{op: opServiceAdd, obj: s})
		}
		for _, s := range sls {
			load = append(load, trackerEvent{op: opSliceAdd, obj: s})
		}
		r.Shuffle(len(load), func(i, j int) { load[i], load[j] = load[j], load[i] })
		for i, e := range load {
			h.apply(e)
			if i%97 == 0 {
				h.check()
			}
		}
		h.check()
		if len(h.prev.LoadBalancers) < 150 {
			t.Fatalf("only %d load balancers", len(h.prev.LoadBalancers))
		}
		// Edits like a live cluster's: endpoints come and go, Services change.
		steps := 200
		if testing.Short() {
			steps = 50
		}
		for step := 0; step < steps; step++ {
			h.apply(liveEvent(r, h, shape))
			h.check()
		}
	}
}

// liveEvent is a realistic edit of a generated cluster.
func liveEvent(r *rand.Rand, h *trackerHarness, shape clusterShape) trackerEvent {
	sliceNames := sortedNames(h.slices)
	svcNames := sortedNames(h.services)
	switch k := r.IntN(10); {
	case k < 5 && len(sliceNames) > 0:
		old := h.slices[sliceNames[r.IntN(len(sliceNames))]]
		return trackerEvent{op: opSliceUpdate, obj: mutateSlice(r, old, shape), old: old}
	case k < 7 && len(svcNames) > 0:
		old := h.services[svcNames[r.IntN(len(svcNames))]]
		s := old.DeepCopy()
		switch r.IntN(3) {
		case 0:
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: fmt.Sprintf("198.51.100.%d", 1+r.IntN(5))}}
		case 1:
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		case 2:
			s.Spec.ClusterIPs = []string{fmt.Sprintf("10.96.0.%d", 1+r.IntN(20))} // collide
			s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
		}
		return trackerEvent{op: opServiceUpdate, obj: s, old: old}
	case k < 8 && len(svcNames) > 0:
		key := svcNames[r.IntN(len(svcNames))]
		return trackerEvent{op: opServiceDelete, obj: deletedFinalStateUnknown{Key: key.Namespace + "/" + key.Name}, key: key}
	case k < 9:
		i := r.IntN(shape.Services * 2)
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%02d", i%50), Name: fmt.Sprintf("svc-%05d", i)},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{fmt.Sprintf("10.97.%d.%d", i/250, 1+i%250)},
				Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, NodePort: int32(31000 + r.IntN(10))}}},
		}
		s.Spec.ClusterIP = s.Spec.ClusterIPs[0]
		return trackerEvent{op: opServiceAdd, obj: s}
	default:
		if len(sliceNames) == 0 {
			return liveEvent(r, h, shape)
		}
		old := h.slices[sliceNames[r.IntN(len(sliceNames))]]
		s := old.DeepCopy()
		s.Labels = map[string]string{discovery.LabelServiceName: fmt.Sprintf("svc-%05d", r.IntN(shape.Services))}
		return trackerEvent{op: opSliceUpdate, obj: s, old: old}
	}
}

// mutateSlice changes one endpoint of a copy of s: its readiness, its
// address or its presence.
func mutateSlice(r *rand.Rand, s *discovery.EndpointSlice, shape clusterShape) *discovery.EndpointSlice {
	s = s.DeepCopy()
	if len(s.Endpoints) == 0 {
		return s
	}
	i := r.IntN(len(s.Endpoints))
	e := &s.Endpoints[i]
	switch r.IntN(3) {
	case 0:
		ready := e.Conditions.Ready == nil || *e.Conditions.Ready
		e.Conditions = discovery.EndpointConditions{Ready: ptr(!ready), Serving: ptr(true), Terminating: ptr(ready)}
	case 1:
		node := r.IntN(shape.Nodes + 1)
		if s.AddressType == discovery.AddressTypeIPv6 {
			e.Addresses = []string{fmt.Sprintf("fd00:244::%x", 0x10000+r.IntN(1000))}
		} else {
			e.Addresses = []string{fmt.Sprintf("10.%d.%d.%d", 64+node/256, node%256, 10+r.IntN(240))}
		}
		e.NodeName = ptr(fmt.Sprintf("win-%d", node+1))
	case 2:
		s.Endpoints = append(s.Endpoints[:i], s.Endpoints[i+1:]...)
	}
	return s
}

// TestTrackerConcurrent delivers events from several goroutines while
// another takes Snapshots and a third builds some of their plans; run
// with -race. Each plan built must be what the Changes collected up to its
// Snapshot add up to, and the end state must be Compute's.
func TestTrackerConcurrent(t *testing.T) {
	shape := clusterShape{Services: 120, Endpoints: 1200, Nodes: 10, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 3)
	node := genNode(shape)
	tr, err := lbpolicy.NewTracker(node)
	if err != nil {
		t.Fatal(err)
	}
	const workers = 4
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := w; i < len(svcs); i += workers {
				tr.OnServiceAdd(svcs[i])
			}
			for i := w; i < len(sls); i += workers {
				tr.OnEndpointSliceAdd(sls[i])
				// Churn that ends where it started.
				tr.OnEndpointSliceUpdate(sls[i], mutateSlice(r, sls[i], shape))
				tr.OnEndpointSliceUpdate(nil, sls[i])
			}
		}()
	}
	type taken struct {
		s           lbpolicy.Snapshot
		appliedJSON []byte
	}
	snapshots := make(chan taken, 16)
	done := make(chan struct{})
	var applied lbpolicy.Plan
	var readers sync.WaitGroup
	readers.Add(2)
	go func() {
		defer readers.Done()
		defer close(snapshots)
		for {
			s := tr.Snapshot()
			applied = s.Changes.Apply(applied)
			appliedJSON, _ := json.Marshal(applied)
			snapshots <- taken{s, appliedJSON}
			select {
			case <-done:
				return
			default:
			}
		}
	}()
	go func() {
		defer readers.Done()
		n := 0
		for tk := range snapshots {
			if n++; n%3 == 0 {
				continue // left unbuilt: a later plan builds over it
			}
			if got, _ := json.Marshal(tk.s.Plan()); !bytes.Equal(got, tk.appliedJSON) {
				t.Errorf("a Snapshot's plan differs from the Changes applied so far:\n%s", jsonDiff(tk.appliedJSON, got))
			}
		}
	}()
	wg.Wait()
	close(done)
	readers.Wait()
	s := tr.Snapshot()
	applied = s.Changes.Apply(applied)

	want, _ := lbpolicy.Compute(node, svcs, sls)
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(s.Plan())
	if !bytes.Equal(wantJSON, gotJSON) {
		t.Fatalf("Plan after concurrent events differs from Compute:\n%s", jsonDiff(wantJSON, gotJSON))
	}
	appliedJSON, _ := json.Marshal(applied)
	if !bytes.Equal(wantJSON, appliedJSON) {
		t.Fatalf("accumulated Changes differ from the plan:\n%s", jsonDiff(wantJSON, appliedJSON))
	}
}

// TestTrackerTombstones covers every form a delete may take, and that a
// tombstone with an unknown final state deletes by key.
func TestTrackerTombstones(t *testing.T) {
	web := service("web", clusterIPs("10.96.0.10"))
	sl := v4slice("web", 8080, ep{ip: "10.244.1.10", node: thisNode})
	for _, tc := range []struct {
		name string
		del  func(tr *lbpolicy.Tracker, h lbpolicy.EventHandler)
	}{
		{"typed", func(tr *lbpolicy.Tracker, _ lbpolicy.EventHandler) { tr.OnServiceDelete("default", "web") }},
		{"object", func(_ *lbpolicy.Tracker, h lbpolicy.EventHandler) { h.OnDelete(web) }},
		{"tombstone without object", func(_ *lbpolicy.Tracker, h lbpolicy.EventHandler) {
			h.OnDelete(deletedFinalStateUnknown{Key: "default/web"})
		}},
		{"tombstone pointer", func(_ *lbpolicy.Tracker, h lbpolicy.EventHandler) {
			h.OnDelete(&deletedFinalStateUnknown{Key: "default/web", Obj: web})
		}},
		{"tombstone with object only", func(_ *lbpolicy.Tracker, h lbpolicy.EventHandler) {
			h.OnDelete(deletedFinalStateUnknown{Obj: web})
		}},
		{"metadata", func(_ *lbpolicy.Tracker, h lbpolicy.EventHandler) {
			h.OnDelete(&metav1.PartialObjectMetadata{ObjectMeta: web.ObjectMeta})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := lbpolicy.NewTracker(l2bridge())
			report := func(err error) { t.Fatal(err) }
			svcHandler, sliceHandler := tr.ServiceEventHandler(report), tr.EndpointSliceEventHandler(report)
			svcHandler.OnAdd(web, true)
			sliceHandler.OnAdd(sl, true)
			if n := len(tr.Snapshot().Plan().LoadBalancers); n != 1 {
				t.Fatalf("%d load balancers before the delete", n)
			}
			tc.del(tr, svcHandler)
			s := tr.Snapshot()
			if n := len(s.Plan().LoadBalancers); n != 0 {
				t.Fatalf("%d load balancers after the delete", n)
			}
			if diff := cmp.Diff([]lbpolicy.Key{{Family: lbpolicy.IPv4, VIP: addr("10.96.0.10"), Protocol: tcp, Port: 80}}, s.Changes.RemovedLoadBalancers, addrCmp); diff != "" {
				t.Error(diff)
			}
			// The slice was kept: the Service comes back with its backends.
			svcHandler.OnAdd(web, false)
			if n := len(tr.Snapshot().Changes.AddedLoadBalancers); n != 1 {
				t.Errorf("re-added Service: %d load balancers added, want 1", n)
			}
			// Slices are deleted by key alone too.
			sliceHandler.OnDelete(deletedFinalStateUnknown{Key: "default/web-v4"})
			if n := len(tr.Snapshot().Changes.RemovedLoadBalancers); n != 1 {
				t.Errorf("slice deleted: %d load balancers removed, want 1", n)
			}
		})
	}
}

func TestTrackerRejects(t *testing.T) {
	if _, err := lbpolicy.NewTracker(lbpolicy.Node{}); !errors.Is(err, lbpolicy.ErrInvalidNode) {
		t.Errorf("NewTracker with an invalid node: %v", err)
	}
	tr, _ := lbpolicy.NewTracker(l2bridge())
	var reports []error
	report := func(err error) { reports = append(reports, err) }
	svcHandler, sliceHandler := tr.ServiceEventHandler(report), tr.EndpointSliceEventHandler(report)
	svcHandler.OnAdd(v4slice("web", 80), false)
	sliceHandler.OnAdd(service("web"), false)
	svcHandler.OnDelete(v4slice("web", 80))
	sliceHandler.OnDelete(service("web"))
	svcHandler.OnDelete(deletedFinalStateUnknown{Key: "/"})
	svcHandler.OnDelete(deletedFinalStateUnknown{Obj: deletedFinalStateUnknown{Key: "default/web"}})
	if len(reports) != 6 {
		t.Errorf("%d reports, want 6: %v", len(reports), reports)
	}
	for _, err := range reports {
		if !errors.Is(err, lbpolicy.ErrUnexpectedObject) {
			t.Errorf("error %v, want ErrUnexpectedObject", err)
		}
	}
	// Nil objects are ignored; a handler without a report callback
	// drops what it cannot use.
	tr.OnServiceAdd(nil)
	tr.OnServiceUpdate(service("web"), nil)
	tr.OnEndpointSliceAdd(nil)
	tr.OnEndpointSliceUpdate(v4slice("web", 80), nil)
	tr.ServiceEventHandler(nil).OnAdd(nil, false)
	tr.EndpointSliceEventHandler(nil).OnDelete("default/web")
	if err := tr.SetNode(lbpolicy.Node{Name: "x"}); !errors.Is(err, lbpolicy.ErrInvalidNode) {
		t.Errorf("SetNode with an invalid node: %v", err)
	}
	if p := tr.Snapshot().Plan(); len(p.LoadBalancers)+len(p.Endpoints)+len(p.Diagnostics) != 0 {
		t.Errorf("rejected events changed the plan: %+v", p)
	}
	if p := (lbpolicy.Snapshot{}).Plan(); p.LoadBalancers == nil || len(p.LoadBalancers)+len(p.Endpoints)+len(p.Diagnostics) != 0 {
		t.Errorf("the zero Snapshot's plan: %+v", p)
	}
}

// TestTrackerChangesAcrossNodeChange checks that a node change reports
// exactly what changed.
func TestTrackerChangesAcrossNodeChange(t *testing.T) {
	shape := clusterShape{Services: 50, Endpoints: 500, Nodes: 10, ETPLocal: 0.2, TwoPorts: 0.3, DualStack: 0.3}
	svcs, sls := genCluster(shape, 11)
	h := newHarness(t, genNode(shape))
	for _, s := range svcs {
		h.apply(trackerEvent{op: opServiceAdd, obj: s})
	}
	for _, s := range sls {
		h.apply(trackerEvent{op: opSliceAdd, obj: s})
	}
	h.check()
	for _, n := range []lbpolicy.Node{
		with(genNode(shape), func(n *lbpolicy.Node) { n.EnableDSR = false }),
		with(dualStack(l2bridge()), func(n *lbpolicy.Node) { n.ForwardHealthCheckVIP = true }),
		genNode(shape),
		genNode(shape),
	} {
		h.apply(trackerEvent{op: opSetNode, node: n})
		h.check()
	}
	if !slices.ContainsFunc(h.prev.LoadBalancers, func(lb lbpolicy.LoadBalancer) bool { return lb.Flags&dsr != 0 }) {
		t.Error("no DSR load balancer after the node came back")
	}
}

// TestTrackerRenames covers updates whose old object has another
// namespace/name (informers never send them; the Tracker treats them as a
// delete and an add) and resyncs that hand over the held object again.
func TestTrackerRenames(t *testing.T) {
	h := newHarness(t, overlay())
	a := service("a", clusterIPs("10.96.0.10"))
	b := service("b", clusterIPs("10.96.0.10"))
	slA := v4slice("a", 8080, ep{ip: "10.244.2.20", node: "win-2"})
	slB := v4slice("b", 8080, ep{ip: "10.244.3.30", node: "win-3"})
	h.apply(trackerEvent{op: opServiceAdd, obj: a})
	h.apply(trackerEvent{op: opSliceAdd, obj: slA})
	h.apply(trackerEvent{op: opSliceAdd, obj: slB})
	h.check()
	h.apply(trackerEvent{op: opServiceUpdate, old: a, obj: b})
	delete(h.services, nameOf(a))
	h.check()
	h.apply(trackerEvent{op: opSliceUpdate, old: slB, obj: epSlice("b", "b-renamed", discovery.AddressTypeIPv4, map[string]int32{"http": 8080}, ep{ip: "10.244.3.30", node: "win-3"})})
	delete(h.slices, nameOf(slB))
	h.check()
	// Resyncs: the same objects again change nothing.
	h.apply(trackerEvent{op: opServiceUpdate, old: b, obj: b})
	h.apply(trackerEvent{op: opSliceUpdate, old: slA, obj: slA})
	h.check()
	if len(h.prev.LoadBalancers) != 1 || h.prev.LoadBalancers[0].Service != "default/b" {
		t.Errorf("want default/b's ClusterIP load balancer, got %v", lbSummary(h.prev))
	}
}

// TestTrackerSnapshotBeforePendingEvents: events after a Snapshot wait for
// the next one to be planned; meanwhile the earlier Snapshot's plan and
// lookups are still its own, and the next Snapshot has every event.
func TestTrackerSnapshotBeforePendingEvents(t *testing.T) {
	node := overlay()
	web := service("web", clusterIPs("10.96.0.10"), svcType(corev1.ServiceTypeNodePort), ports(tcpPort("http", 80, 30080)))
	sl1 := v4slice("web", 8080, ep{ip: "10.244.2.20", node: "win-2"})
	sl2 := v4slice("web", 8080, ep{ip: "10.244.3.30", node: "win-3"})
	sl3 := v4slice("web", 8080, ep{ip: "10.244.3.31", node: "win-3"})
	tr, err := lbpolicy.NewTracker(node)
	if err != nil {
		t.Fatal(err)
	}
	tr.OnServiceAdd(web)
	tr.OnEndpointSliceAdd(sl1)
	first := tr.Snapshot()
	// The same Service changed twice, and a new one, before any Snapshot.
	tr.OnEndpointSliceUpdate(sl1, sl2)
	tr.OnEndpointSliceUpdate(sl2, sl3)
	other := service("other", clusterIPs("10.96.0.11"), ports(tcpPort("http", 80, 0)))
	tr.OnServiceAdd(other)

	want := mustCompute(t, node, []*corev1.Service{web}, sl1)
	if diff := cmp.Diff(want, first.Plan(), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("the first Snapshot's plan, with events pending (-Compute +Snapshot):\n%s", diff)
	}
	for _, lb := range want.LoadBalancers {
		if got, ok := first.LoadBalancer(lb.Key()); !ok || !reflect.DeepEqual(*got, lb) {
			t.Errorf("first.LoadBalancer(%v) = %v, %v; want %v", lb.Key(), got, ok, lb)
		}
	}
	if _, ok := first.Endpoint(addr("10.244.3.31")); ok {
		t.Errorf("the first Snapshot has the endpoint of a later event")
	}

	second := tr.Snapshot()
	want2 := mustCompute(t, node, []*corev1.Service{web, other}, sl3)
	if diff := cmp.Diff(want2, second.Plan(), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("the second Snapshot's plan (-Compute +Snapshot):\n%s", diff)
	}
	if diff := cmp.Diff(want2, second.Changes.Apply(first.Plan()), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("the first plan with the second Snapshot's changes applied (-Compute +applied):\n%s", diff)
	}
}
